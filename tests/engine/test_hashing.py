"""Kubernetes' safe encoding, Flagger's spec hash and config checksums (`engine.hashing`)."""

from __future__ import annotations

import hashlib
import json
import re

import pytest

from engine.hashing import canonical_json, compute_hash, config_checksum, derived_uuid, safe_encode

SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def test_safe_encode_maps_digits_like_kubernetes() -> None:
    # rand.SafeEncodeString: alphanums[int(r) % len(alphanums)]; '0' is 48, 48 % 27 = 21 -> '4'
    assert safe_encode("0123456789") == "456789bcdf"


@pytest.mark.parametrize("text", ["", "a", "hello world", "3735928559", "ÿ~!"])
def test_safe_encode_stays_in_the_alphabet(text: str) -> None:
    encoded = safe_encode(text)
    assert len(encoded) == len(text)
    assert set(encoded) <= set(SAFE_ALPHABET)
    assert not set(encoded) & set("aeiou013")


def test_compute_hash_has_flaggers_shape_and_is_stable() -> None:
    template = {"metadata": {"labels": {"app": "podinfo"}}, "spec": {"containers": [{"name": "c", "image": "x:1"}]}}
    h = compute_hash(template)
    assert re.fullmatch(r"[456789bcdf]{1,10}", h)
    # 0de416c: 32 bits of SHA-256 of the canonical JSON (Flagger: FNV-1a 32 of Go's pretty-print), decimal, SafeEncoded
    digest = hashlib.sha256(canonical_json(template).encode()).digest()
    assert h == safe_encode(str(int.from_bytes(digest[:4], "big")))
    assert compute_hash(json.loads(json.dumps(template, sort_keys=True))) == h  # key order does not matter
    assert compute_hash({**template, "spec": {"containers": [{"name": "c", "image": "x:2"}]}}) != h


def test_canonical_json_escapes_html_like_go() -> None:
    assert canonical_json({"b": "<&>", "a": 1}) == '{"a":1,"b":"\\u003c\\u0026\\u003e"}'


@pytest.mark.parametrize(
    "data",
    [{"a": "1", "b": "2"}, {"z": "last", "a": "first"}, {"key": "<html>&"}, {"ü": "ß"}],
    ids=["simple", "unsorted", "html", "unicode"],
)
def test_config_checksum_is_sha256_prefix_of_the_json(data: dict[str, str]) -> None:
    checksum = config_checksum(data)
    assert re.fullmatch(r"[0-9a-f]{16}", checksum)
    assert checksum == hashlib.sha256(canonical_json(data).encode()).hexdigest()[:16]


def test_config_checksum_known_value() -> None:
    assert config_checksum({"a": "1", "b": "2"}) == hashlib.sha256(b'{"a":"1","b":"2"}').hexdigest()[:16]


UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


def test_derived_uuid_is_uuid_shaped_and_deterministic() -> None:
    first = derived_uuid("flagger-id", "uid-1", "hash", "promote")
    assert UUID_RE.fullmatch(first)
    assert derived_uuid("flagger-id", "uid-1", "hash", "promote") == first
    assert derived_uuid("flagger-id", "uid-1", "hash", "create") != first
    assert derived_uuid("flagger-id", "uid-2", "hash", "promote") != first
    # part boundaries matter: ("ab", "c") is not ("a", "bc")
    assert derived_uuid("ab", "c") != derived_uuid("a", "bc")


def test_a_keyed_config_checksum_is_hmac_sha256_of_the_same_json() -> None:
    import hmac

    data = {"pin": "NDcxMQ=="}
    keyed = config_checksum(data, b"k" * 32)
    expected = hmac.new(b"k" * 32, canonical_json(data).encode(), hashlib.sha256).hexdigest()[:16]
    assert keyed == expected and len(keyed) == len(config_checksum(data)) and keyed != config_checksum(data)
    assert config_checksum(data, b"") == config_checksum(data)  # no key: Flagger's checksum
