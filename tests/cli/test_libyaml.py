"""libyaml's fast path reads and writes exactly what ruamel does (cronjob/shared/libyaml.py): the same documents
for every text it accepts, the same bytes for every document it writes, and ruamel for everything else."""

from __future__ import annotations

import io
import math
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cronjob.git.layout import _ordered, _yaml, dump
from cronjob.shared import libyaml
from cronjob.shared.errors import InputError
from cronjob.shared.reader import LIMITS, parse_yaml

ROOT = Path(__file__).resolve().parents[2]
TRICKY = ["yes", "no", "on", "off", "null", "~", "true", "False", "0777", "0o17", "0x1F", "1e3", "1.5", ".inf",
          "-.inf", ".nan", "1_000", "2026-01-01", "2026-01-01T10:00:00Z", "<<", "=", "-", "---", "...", "1:20", "+1",
          ".5", "5.", "a b", "", "it's", "#x", "a #b", "- x", "? x", "x: y", "@x", "`x", "%x", "!x", "&x", "*x",
          "{x}", "[x]", "|", ">", "line\nbreak", "trailing\n", " lead", "trail ", '"q"']  # fmt: skip
TEXT = st.one_of(st.sampled_from(TRICKY), st.text(alphabet=" \n'\"#:-?,[]{}&*!|>%@`~=<.0123456789aeExnTtruy_+/\\"))
SCALARS = st.one_of(
    TEXT,
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
)
DATA = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4))


def ruamel_dump(document: dict[str, Any]) -> str:
    out = io.StringIO()
    _yaml().dump(_ordered(document, top=True), out)
    return out.getvalue()


def ruamel_read(text: str) -> Any:
    """The reader without its fast path: ruamel's documents, or its error line."""
    original, libyaml.documents = libyaml.documents, lambda *_: None
    try:
        return parse_yaml(text, "x")
    except InputError as err:
        return err.line
    finally:
        libyaml.documents = original


def fast_read(text: str) -> Any:
    return libyaml.documents(text, LIMITS.max_depth, LIMITS.max_nodes, LIMITS.max_int_chars)


def same(a: Any, b: Any) -> bool:
    """Equal, with types (1 is not 1.0 nor True) and key order; NaN equals NaN."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(TEXT, DATA, min_size=1, max_size=5))
def test_libyaml_writes_the_bytes_ruamel_writes(document: dict[str, Any]) -> None:
    fast = libyaml.dump(_ordered(document, top=True))
    assert fast is not None  # all of this is plain data: the fast path takes it
    assert fast == ruamel_dump(document)


@settings(max_examples=400, deadline=None)
@given(DATA, st.sampled_from([None, False, True]), st.sampled_from([20, 80, 4096]))
def test_libyaml_reads_what_ruamel_reads(data: Any, flow: bool | None, width: int) -> None:
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style, yaml.width = flow, width
    out = io.StringIO()
    yaml.dump({"k": data}, out)
    fast = fast_read(out.getvalue())
    if fast is not None:
        assert same(fast, ruamel_read(out.getvalue()))


def test_every_fixture_reads_the_same_and_mutated_ones_too() -> None:
    texts = [p.read_text() for p in sorted((ROOT / "fixtures").rglob("*.yaml"))]
    taken = 0
    for text in texts:
        fast = fast_read(text)
        if fast is not None:
            taken += 1
            assert same(fast, ruamel_read(text))
    assert taken > len(texts) // 2
    rng = random.Random(14)  # a differential fuzz: a few characters changed, the two parsers must still agree
    for _ in range(1500):
        chars = list(rng.choice(texts))
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(chars))
            chars[at : at + rng.randint(0, 1)] = rng.choice("\n :-?'\"#{}[],|>&*!%@`abc01. \\")
        text = "".join(chars)
        fast = fast_read(text)
        if fast is not None:
            assert same(fast, ruamel_read(text)), text


@pytest.mark.parametrize(
    "text",
    [
        "a: &x 1\nb: *x\n",  # anchors and aliases: the reader counts what an alias repeats
        "a: !!str 1\n",  # tags
        "%YAML 1.1\n---\na: yes\n",  # directives change what a scalar means
        "? [a]\n: 1\n",  # a complex key
        "a: 1\na: 2\n",  # a duplicate key
        "<<: {a: 1}\n",  # a merge key
        "a: é\n",  # non-ASCII
        "a:\tb\n",  # a tab
        "a: b\r\n",  # a carriage return
        "a: |#\n  x\n",  # libyaml reads a comment here, ruamel an error
        "a: " + "1" * 101 + "\n",  # an integer longer than the reader converts
        "a: " + "[" * 101 + "]" * 101 + "\n",  # deeper than the limit
    ],
)
def test_what_is_not_ordinary_is_left_to_ruamel(text: str) -> None:
    assert fast_read(text) is None


def test_what_libyaml_cannot_write_exactly_is_left_to_ruamel() -> None:
    shared: list[Any] = [1]
    for document in ({"a": "é"}, {"a": "x" * 1001}, {"a": (1, 2)}, {"a": shared, "b": shared}, {1: "a"}):
        assert libyaml.dump(document) is None
        assert dump(document).decode().endswith(ruamel_dump(document))
