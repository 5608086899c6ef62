"""Deterministic fingerprints: revision hashes, config checksums and derived identifiers.

Flagger hashes Go's pretty-print of the pod template with FNV-1a (32 bit) and encodes the decimal value
with Kubernetes' `rand.SafeEncodeString`. cronary cannot reproduce Go's pretty-print from YAML, so its values
differ anyway; it takes 32 bits of SHA-256 (C speed, where a pure-Python FNV loop costs ~300 µs per
template) over the canonical JSON of the template and encodes them the same way, so hashes keep Flagger's
shape (`5f56684589`-like) and are stable across runs, machines and Python versions. Where Flagger
draws a random UUID (the primary's `flagger-id`), cronary derives one from its inputs.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import json.encoder
from collections.abc import Callable, Iterable, Mapping
from typing import Any

_SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"

# `json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)` makes a JSONEncoder and
# then the C encoder on every call; `_dumps` makes that same C encoder with the same arguments directly, so
# the text is the same, without the Python set-up around it. It first encodes without json's circular
# reference check (a sixth of the encoding time): an acyclic value, which is every manifest, gives the same
# text; a cyclic one recurses until RecursionError, and is then encoded again with the check, which raises
# json.dumps' own ValueError (a value merely too deep raises RecursionError both times, as json.dumps does).
# Without the C accelerator it is json.dumps' own encoder.
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
_MAKE_ENCODER: Callable[..., Any] | None = json.encoder.c_make_encoder
_ENCODE_STRING = json.encoder.encode_basestring
_ENCODE_UNCHECKED = (
    _MAKE_ENCODER(None, _ENCODER.default, _ENCODE_STRING, None, ":", ",", True, False, True)
    if _MAKE_ENCODER is not None
    else None
)  # markers (None: no circular check), default, string encoder, indent, separators, sort_keys, skipkeys, allow_nan


def _dumps(value: Any) -> str:
    if _MAKE_ENCODER is None or _ENCODE_UNCHECKED is None:
        return _ENCODER.encode(value)
    try:
        return "".join(_ENCODE_UNCHECKED(value, 0))
    except RecursionError:
        pass
    checked: Callable[[Any, int], Iterable[str]] = _MAKE_ENCODER(
        {}, _ENCODER.default, _ENCODE_STRING, None, ":", ",", True, False, True
    )
    return "".join(checked(value, 0))


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no spaces, escaping <, > and & like Go's encoder (so config checksums
    equal Flagger's): the same value gives the same text whatever its key order."""
    text = _dumps(value)
    # `in` finds a character with memchr; replace would count occurrences char by char, even of none
    if "<" in text:
        text = text.replace("<", "\\u003c")
    if ">" in text:
        text = text.replace(">", "\\u003e")
    if "&" in text:
        text = text.replace("&", "\\u0026")
    return text


_SAFE_TABLE = {code: _SAFE_ALPHABET[code % len(_SAFE_ALPHABET)] for code in range(128)}


def safe_encode(text: str) -> str:
    """Kubernetes `rand.SafeEncodeString`: map every byte into an alphabet without vowels."""
    if text.isascii():
        return text.translate(_SAFE_TABLE)
    return "".join(_SAFE_ALPHABET[ord(ch) % len(_SAFE_ALPHABET)] for ch in text)


def compute_hash(value: Any) -> str:
    """Flagger-shaped hash of any JSON value (the pod template, the webhook checksum input)."""
    digest = hashlib.sha256(canonical_json(value).encode()).digest()
    return safe_encode(str(int.from_bytes(digest[:4], "big")))


def pod_template_hash(template: Mapping[str, Any]) -> str:
    return compute_hash(template)


def config_checksum(data: Mapping[str, Any] | None, key: bytes = b"") -> str:
    """Flagger's config checksum: the first 8 bytes of SHA-256 of the JSON of `.data`, in hex. With a `key`, the
    first 8 bytes of HMAC-SHA256 under that key instead: the same length, but of no use for guessing the data."""
    payload = canonical_json(dict(data or {})).encode()
    if key:
        return hmac.new(key, payload, hashlib.sha256).hexdigest()[:16]
    return hashlib.sha256(payload).hexdigest()[:16]


def derived_uuid(*parts: str) -> str:
    """A UUID-shaped value (version 5 layout) derived from its inputs instead of drawn at random."""
    d = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
    # version nibble 5; variant bits 10xx, so the 17th hex digit becomes 8, 9, a or b
    return f"{d[:8]}-{d[8:12]}-5{d[13:16]}-{_VARIANT[d[16]]}{d[17:20]}-{d[20:32]}"


_VARIANT = {digit: format((int(digit, 16) & 0x3) | 0x8, "x") for digit in "0123456789abcdef"}
