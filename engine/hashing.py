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
import json
from typing import Any, Mapping

_SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no spaces, escaping <, > and & like Go's encoder (so config checksums
    equal Flagger's): the same value gives the same text whatever its key order."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


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


def config_checksum(data: Mapping[str, Any] | None) -> str:
    """Flagger's config checksum: the first 8 bytes of SHA-256 of the JSON of `.data`, in hex."""
    return hashlib.sha256(canonical_json(dict(data or {})).encode()).hexdigest()[:16]


def derived_uuid(*parts: str) -> str:
    """A UUID-shaped value (version 5 layout) derived from its inputs instead of drawn at random."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
    hexs = digest[:12] + "5" + digest[13:16] + format((int(digest[16], 16) & 0x3) | 0x8, "x") + digest[17:32]
    return f"{hexs[:8]}-{hexs[8:12]}-{hexs[12:16]}-{hexs[16:20]}-{hexs[20:32]}"
