"""libyaml (through PyYAML's C extension) for the common case of reading and writing YAML, ruamel.yaml's results.

Why: GitOps mode at fleet scale reads and writes thousands of small YAML files per pass, and ruamel.yaml's
pure-Python parser and emitter cost milliseconds per Kubernetes object (docs/performance.md, "GitOps mode at
fleet scale"). PyYAML, already installed with the Kubernetes client, carries libyaml's C parser and emitter.

Only libyaml's *events* are used for reading; the documents are built here with ruamel's YAML 1.2 resolver and
constructors (memoised per scalar text), so a document reads exactly as `cronjob.shared.reader` reads it.
Anything out of the ordinary — non-ASCII text, tabs, carriage returns, control characters, directives, tags,
anchors or aliases, complex or duplicate keys, merge keys, over-long integers, anything near a limit of the
reader, anything libyaml refuses — makes `documents` answer None, and the caller reads the file with the full
reader, which gives its exact result or its exact error. Writing works the same way: libyaml's emitter with
ruamel's resolver deciding what must be quoted and ruamel's float spelling gives byte for byte what
`cronjob.git.layout.dump` wrote with ruamel (tests/cli/test_libyaml.py compares both on every fixture and on
generated data); a value of another type makes `dump` answer None and the caller uses ruamel.
"""

from __future__ import annotations

import io
import re
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.emitter import Emitter
from ruamel.yaml.error import YAMLError as RuamelError
from ruamel.yaml.nodes import ScalarNode as RuamelScalar

try:  # PyYAML built without libyaml (or absent): everything goes the ruamel way
    import yaml as _pyyaml
    from yaml._yaml import CEmitter, CParser
except ImportError:  # pragma: no cover - PyYAML's wheels ship libyaml
    _pyyaml = None  # type: ignore[assignment]

__all__ = ["AVAILABLE", "documents", "dump"]

AVAILABLE = _pyyaml is not None
_UNUSUAL = re.compile(r"[^\x20-\x7e\n]")  # what the fast path leaves to ruamel: non-ASCII, tabs, CR, controls
# where libyaml and ruamel disagree: `|#` (a comment to libyaml, an error to ruamel), and a block scalar whose
# first lines hold only spaces (ruamel refuses some that libyaml reads)
_DISPUTED = re.compile(r"[|>][-+0-9]*#|[|>][-+0-9]* *(#[^\n]*)?\n +\n")
_YAML = "tag:yaml.org,2002:"
_STR, _INT, _FLOAT, _BOOL, _NULL = (f"{_YAML}{t}" for t in ("str", "int", "float", "bool", "null"))
_AS_TEXT = {f"{_YAML}timestamp", f"{_YAML}value"}
_RUAMEL = YAML(typ="safe", pure=True)
_RESOLVER = _RUAMEL.resolver
_CONSTRUCTOR = _RUAMEL.constructor
_CONSTRUCT = {_INT: _CONSTRUCTOR.construct_yaml_int, _FLOAT: _CONSTRUCTOR.construct_yaml_float}
_CONSTRUCT[_BOOL] = _CONSTRUCTOR.construct_yaml_bool
_CONSTRUCT[_NULL] = _CONSTRUCTOR.construct_yaml_null
_FALLBACK = object()
_PLAIN: dict[str, Any] = {}  # plain scalar text -> its value (or _FALLBACK); bounded below
_PLAIN_MAX = 200_000
if _pyyaml is not None:
    from yaml.events import AliasEvent as _Alias  # noqa: F401  (the one event _build refuses by elimination)
    from yaml.events import DocumentEndEvent as _DocEnd
    from yaml.events import DocumentStartEvent as _DocStart
    from yaml.events import MappingEndEvent as _MapEnd
    from yaml.events import MappingStartEvent as _MapStart
    from yaml.events import ScalarEvent as _Scalar
    from yaml.events import SequenceEndEvent as _SeqEnd
    from yaml.events import SequenceStartEvent as _SeqStart
    from yaml.events import StreamEndEvent as _StreamEnd
    from yaml.events import StreamStartEvent as _StreamStart


class _Unusual(Exception):
    """Internal: the text needs the full reader."""


def _plain(text: str, max_int_chars: int) -> Any:
    """The value of a plain scalar as ruamel's safe loader gives it (timestamps stay text, as in the reader)."""
    value = _PLAIN.get(text, _PLAIN)
    if value is _PLAIN:
        tag = str(_RESOLVER.resolve(RuamelScalar, text, (True, False)))
        if tag == _STR or tag in _AS_TEXT:
            value = text
        elif tag in _CONSTRUCT and not (tag == _INT and len(text) > max_int_chars):
            try:
                value = _CONSTRUCT[tag](RuamelScalar(tag, text))
            except (RuamelError, ValueError):
                value = _FALLBACK
        else:  # a merge key, or anything else the full reader has words for
            value = _FALLBACK
        if len(_PLAIN) >= _PLAIN_MAX:
            _PLAIN.clear()
        _PLAIN[text] = value
    if value is _FALLBACK:
        raise _Unusual
    return value


def documents(text: str, max_depth: int, max_nodes: int, max_int_chars: int) -> list[Any] | None:
    """Every non-empty document of `text`, or None when the full reader must read it (see the module doc).
    The limits are the reader's: a text that comes near one of them is the reader's to refuse."""
    if _pyyaml is None or _UNUSUAL.search(text) or _DISPUTED.search(text):
        return None
    try:
        return _build(CParser(text), max_depth, max_nodes, max_int_chars)
    except (_Unusual, _pyyaml.YAMLError, RecursionError):
        return None


class _Map:
    """An open mapping while it is built: the dict and the key waiting for its value."""

    __slots__ = ("has_key", "items", "key")

    def __init__(self) -> None:
        self.items: dict[Any, Any] = {}
        self.key: Any = None
        self.has_key = False


def _build(parser: Any, max_depth: int, max_nodes: int, max_int_chars: int) -> list[Any]:
    out: list[Any] = []
    stack: list[Any] = []  # open collections: a list, or a _Map
    nodes = 0
    root: Any = None
    get = parser.get_event
    while True:
        event = get()
        kind = type(event)
        if kind is _Scalar:
            if event.tag is not None or event.anchor is not None:
                raise _Unusual
            nodes += 1
            value = _plain(event.value, max_int_chars) if event.style == "" else event.value
        elif kind is _MapStart or kind is _SeqStart:
            if event.tag is not None or event.anchor is not None or len(stack) + 1 > max_depth:
                raise _Unusual
            nodes += 1
            if nodes > max_nodes:
                raise _Unusual
            if stack and type(stack[-1]) is _Map and not stack[-1].has_key:
                raise _Unusual  # a map or list as a map key
            stack.append(_Map() if kind is _MapStart else [])
            continue
        elif kind is _MapEnd:
            value = stack.pop().items
        elif kind is _SeqEnd:
            value = stack.pop()
        elif kind is _DocStart:
            if event.version is not None or event.tags:
                raise _Unusual
            root = None
            continue
        elif kind is _DocEnd:
            if root is not None:
                out.append(root)
            continue
        elif kind is _StreamEnd:
            return out
        elif kind is _StreamStart:
            continue
        else:  # an alias
            raise _Unusual
        if nodes > max_nodes:
            raise _Unusual
        if not stack:
            root = value
            continue
        top = stack[-1]
        if type(top) is list:
            top.append(value)
        elif top.has_key:
            top.items[top.key] = value
            top.has_key = False
        else:
            if value in top.items:  # a duplicate key: ruamel's words for it
                raise _Unusual
            top.key, top.has_key = value, True


# ---------------------------------------------------------------------------------------------- writing
_DUMPABLE = (dict, list, str, int, float, bool, type(None))
_TAGS: dict[tuple[str, bool, bool], str] = {}  # what ruamel's resolver says of a scalar; bounded like _PLAIN
_MAX_STR = 1_000  # longer strings may reach the line width (4,096), where ruamel's folding differs from libyaml's

if _pyyaml is not None:

    class _Dumper(CEmitter, _pyyaml.representer.SafeRepresenter):  # type: ignore[misc, name-defined]
        """libyaml's emitter; ruamel's resolver decides what a plain scalar would read as (so what must be
        quoted), and floats are spelled as ruamel spells them."""

        def __init__(self, stream: Any, **kwargs: Any) -> None:
            CEmitter.__init__(
                self,
                stream,
                canonical=None,
                indent=None,
                width=4096,
                allow_unicode=True,
                line_break=None,
                encoding=None,
                explicit_start=None,
                explicit_end=None,
                version=None,
                tags=None,
            )
            _pyyaml.representer.SafeRepresenter.__init__(self, default_flow_style=False, sort_keys=False)

        def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
            if kind is _pyyaml.nodes.ScalarNode:
                key = (value, implicit[0], implicit[1])
                tag = _TAGS.get(key)
                if tag is None:
                    tag = str(_RESOLVER.resolve(RuamelScalar, value, implicit))
                    if len(_TAGS) >= _PLAIN_MAX:
                        _TAGS.clear()
                    _TAGS[key] = tag
                return tag
            return f"{_YAML}seq" if kind is _pyyaml.nodes.SequenceNode else f"{_YAML}map"

        def descend_resolver(self, parent: Any, index: Any) -> None:  # no path resolvers
            pass

        def ascend_resolver(self) -> None:
            pass

        def represent_str(self, data: str) -> Any:
            return self.represent_scalar(_STR, data, style=_style(data))

        def represent_float(self, data: float) -> Any:
            if data != data:
                value = ".nan"
            elif data == float("inf"):
                value = ".inf"
            elif data == -float("inf"):
                value = "-.inf"
            else:
                value = repr(data).lower()
            return self.represent_scalar(_FLOAT, value)

    _Dumper.add_representer(float, _Dumper.represent_float)
    _Dumper.add_representer(str, _Dumper.represent_str)


class _Analyzer(Emitter):
    """ruamel's emitter, only to ask how it would write a string (its serializer is that of a YAML 1.2 dump)."""

    use_version = None  # `Emitter.serializer` falls back to the emitter itself when it has no dumper


_ANALYZER = _Analyzer(io.StringIO())
_STYLES: dict[str, str | None] = {}


def _style(text: str) -> str | None:
    """The quoting ruamel's emitter chooses for a string in block context (`Emitter.choose_scalar_style`): None
    where it writes it plain (libyaml then does too), else the quote, which libyaml is told."""
    style = _STYLES.get(text, _STYLES)
    if style is _STYLES:
        analysis = _ANALYZER.analyze_scalar(text)
        plain = str(_RESOLVER.resolve(RuamelScalar, text, (True, False))) == _STR
        if plain and analysis.allow_block_plain and not analysis.empty and not analysis.multiline:
            style = None
        elif "'" in text or "\n" in text or not analysis.allow_single_quoted:
            style = '"'
        else:
            style = "'"
        if len(_STYLES) >= _PLAIN_MAX:
            _STYLES.clear()
        _STYLES[text] = style
    return style  # type: ignore[return-value]


def _plain_data(value: Any, seen: set[int], depth: int = 0) -> bool:
    """Only what `dump` writes exactly as ruamel does: plain types, strings of printable ASCII and line breaks,
    string keys, and no collection twice (ruamel would write an anchor)."""
    kind = type(value)
    if kind is str:
        return len(value) <= _MAX_STR and not _UNUSUAL.search(value)
    if kind is dict or kind is list:
        if depth >= 50 or id(value) in seen:  # 50 levels of indentation and two strings stay under the width
            return False
        seen.add(id(value))
        if kind is list:
            return all(_plain_data(v, seen, depth + 1) for v in value)
        return all(
            type(k) is str and _plain_data(k, seen) and _plain_data(v, seen, depth + 1) for k, v in value.items()
        )
    return kind in _DUMPABLE


def dump(document: dict[str, Any]) -> str | None:
    """`document` (a mapping) as ruamel's safe dumper writes it with `cronjob.git.layout`'s settings, or None when
    it holds a value of another type (the caller then uses ruamel)."""
    if _pyyaml is None or type(document) is not dict or not _plain_data(document, set()):
        return None
    try:
        return _pyyaml.dump(document, Dumper=_Dumper)
    except (_pyyaml.YAMLError, RecursionError):  # pragma: no cover - plain data always dumps
        return None
