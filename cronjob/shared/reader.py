"""The one reader of every input file: CANARY, `--cluster` (with its MetricTemplates and AlertProviders),
`--scenario`, `--metrics` and `--webhooks` files, and the files cronary reads from a GitOps repository
(`status.yaml`, committed objects, approvals, and the team's manifests with `--no-cluster`).

Every file is bad input until shown otherwise, so every limit is checked before the work it bounds:

- a regular file (checked with `os.stat` before opening, and opened non-blocking, so a named pipe, a directory
  or `/dev/zero` is one line, never a hang) of at most `Limits.max_bytes`;
- UTF-8 text (a BOM is allowed); NUL bytes mean UTF-16 or a binary file;
- YAML, by ruamel.yaml's safe loader (plain maps, lists, strings, numbers, booleans and null), with a composer
  that counts while it builds the node tree (`_Composer`): nesting depth, nodes, aliases, and the nodes an
  alias repeats — so an alias bomb is stopped at the alias that crosses the limit, before anything expands
  it — and integer literals longer than Python converts quickly;
- YAML timestamps stay text: `2026-02-30` is a string here, and wherever a time is expected the field's
  reader checks it (`engine.timefmt`) and names the field.

ruamel's pure-Python parser costs about 40 µs per node and 1 µs per byte, so the node and byte limits also
bound the time a file can take: a few seconds at worst (docs/performance.md, "Reading input files"). Ordinary
files (ASCII, no anchors, tags or directives, well within the limits) are read through libyaml's C parser
instead (`cronjob.shared.libyaml`), with the same result; anything else goes the ruamel way described here.
Every problem is one `InputError`: `FILE: field.path: message`.
"""

from __future__ import annotations

import os
import stat
import warnings
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.composer import Composer
from ruamel.yaml.error import YAMLError
from ruamel.yaml.events import AliasEvent, MappingStartEvent, SequenceStartEvent
from ruamel.yaml.nodes import MappingNode, ScalarNode

from cronjob.shared import libyaml
from cronjob.shared.errors import InputError


@dataclass(frozen=True)
class Limits:
    """What one input file may hold. docs/cli.md ("How input files are read") states these numbers and
    tests/cli/test_input_limits.py holds them to it."""

    max_bytes: int = 4 * 1024 * 1024
    max_depth: int = 100  # nested maps and lists; Kubernetes objects nest about 10 deep
    max_nodes: int = 100_000  # every map, list and scalar, an alias counted as the nodes it repeats
    max_aliases: int = 1_000
    max_int_chars: int = 100  # an int64 has 19 digits; Python refuses to convert more than 4,300


LIMITS = Limits()

_YAML = "tag:yaml.org,2002:"
_STR, _INT, _FLOAT = f"{_YAML}str", f"{_YAML}int", f"{_YAML}float"
_AS_TEXT = {f"{_YAML}timestamp", f"{_YAML}value"}  # read as the text they are written as
_SCALAR_TAGS = {_STR, _INT, _FLOAT, f"{_YAML}bool", f"{_YAML}null", f"{_YAML}merge"}
_COLLECTION_TAGS = {f"{_YAML}seq", f"{_YAML}map"}
_IMPLICIT = (True, False)


# ---------------------------------------------------------------------------------------------- bytes
def read_file(path: str, limits: Limits = LIMITS) -> bytes:
    """The bytes of a regular file of at most `limits.max_bytes`."""
    try:
        info = os.stat(path)
    except OSError as err:
        raise InputError(path, "", f"cannot read: {err.strerror or err}") from None
    _check_regular(path, info.st_mode)
    _check_size(path, info.st_size, limits)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as err:
        raise InputError(path, "", f"cannot read: {err.strerror or err}") from None
    with os.fdopen(fd, "rb") as file:
        _check_regular(path, os.fstat(fd).st_mode)  # the same file as stat'ed, not one swapped in since
        data = file.read(limits.max_bytes + 1)
    _check_size(path, len(data), limits)
    return data


_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _check_regular(path: str, mode: int) -> None:
    if not stat.S_ISREG(mode):
        kind = next((name for test, name in _KINDS if test(mode)), "not a file")
        raise InputError(path, "", f"not a regular file ({kind})")


def _check_size(source: str, size: int, limits: Limits) -> None:
    if size > limits.max_bytes:
        raise InputError(
            source,
            "",
            f"too large: more than {limits.max_bytes:,} bytes ({_mib(limits.max_bytes)}), the limit for an input file",
        )


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):g} MiB"


def decode(data: bytes, source: str) -> str:
    """UTF-8 text; a UTF-8 BOM is dropped. UTF-16 without a BOM decodes as UTF-8 full of NUL bytes, which
    YAML forbids anyway, so NUL is reported as what it most likely is."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(
            source, "", "not UTF-8 text (it starts with a UTF-16 byte order mark; cronary reads UTF-8 only)"
        )
    if b"\x00" in data:
        raise InputError(
            source,
            "",
            f"not UTF-8 text (a NUL byte at offset {data.index(0)}: UTF-16, or not text at all; cronary reads UTF-8 only)",
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise InputError(
            source, "", f"not UTF-8 text (byte 0x{data[err.start]:02x} at offset {err.start}; cronary reads UTF-8 only)"
        ) from None


# ---------------------------------------------------------------------------------------------- YAML
class _LimitError(Exception):
    """A limit crossed while composing; `where` is the field path inside the document."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(message)
        self.where, self.message = where, message


class _Composer(Composer):
    """ruamel's Composer, counting as it builds the node tree: it alone sees every node and every alias before
    the constructor builds (and expands) anything. It keeps the path of the node being composed, so a crossed
    limit names its field. Anchor sizes are remembered per document (anchors are per document in YAML)."""

    def __init__(self, loader: Any = None) -> None:
        super().__init__(loader)
        self.warn_double_anchors = False  # legal YAML: a redefined anchor names the new node (no warning line)
        self.limits: Limits = loader.cronary_limits
        self.path: list[Any] = []  # the `index` of each node being composed: a key node, a list index or None
        self.nodes = 0
        self.aliases = 0
        self.sizes: dict[Any, int] = {}  # anchor -> nodes under it, for anchors whose node is complete
        self.document = -1

    def compose_document(self) -> Any:
        self.document += 1
        self.sizes = {}
        return super().compose_document()

    def compose_node(self, parent: Any, index: Any) -> Any:
        self.path.append(index)
        event = self.parser.peek_event()
        if isinstance(event, AliasEvent):
            self._alias(event)
            node = super().compose_node(parent, index)
        else:
            node = self._compose(parent, index, event)
        self.path.pop()
        return node

    def _compose(self, parent: Any, index: Any, event: Any) -> Any:
        self._count(1, event, "")
        before = self.nodes
        if event.anchor is not None:
            self.sizes.pop(event.anchor, None)  # until complete, an alias to it is an alias into itself
        if isinstance(event, (MappingStartEvent, SequenceStartEvent)) and len(self.path) > self.limits.max_depth:
            raise self._error(event.start_mark, f"nested more than {self.limits.max_depth} levels deep")
        node = super().compose_node(parent, index)
        if event.anchor is not None:
            self.sizes[event.anchor] = self.nodes - before + 1
        if type(node) is ScalarNode:
            self._check_scalar(node, event)
        elif node.tag not in _COLLECTION_TAGS:
            raise self._error(
                event.start_mark,
                f"the tag {_tag(event.ctag)} is not read by cronary (maps, lists, strings, numbers, booleans and null only)",
            )
        elif type(node) is MappingNode:
            for key, _ in node.value:
                if type(key) is not ScalarNode:  # `? [a]: b` would be a tuple key: no Kubernetes object has one
                    raise self._error(
                        key.start_mark, "a map key must be a string, number, boolean or null, not a map or list"
                    )
        return node

    def _alias(self, event: Any) -> None:
        self.aliases += 1
        if self.aliases > self.limits.max_aliases:
            raise self._error(event.start_mark, f"more than {self.limits.max_aliases:,} aliases")
        size = self.sizes.get(event.anchor)
        if size is None and event.anchor in self.anchors:
            raise self._error(
                event.start_mark, f"the alias *{event.anchor} is inside the node it names (recursive data)"
            )
        self._count(size or 0, event, f" (the alias *{event.anchor} repeats {size or 0:,} nodes: an alias bomb?)")

    def _count(self, nodes: int, event: Any, why: str) -> None:
        self.nodes += nodes
        if self.nodes > self.limits.max_nodes:
            raise self._error(event.start_mark, f"more than {self.limits.max_nodes:,} YAML nodes{why}")

    def _check_scalar(self, node: ScalarNode, event: Any) -> None:
        tag = node.tag
        if tag == _STR:
            return
        if tag in _AS_TEXT:
            node.tag = _STR
        elif tag not in _SCALAR_TAGS:
            raise self._error(
                event.start_mark,
                f"the tag {_tag(event.ctag)} is not read by cronary (maps, lists, strings, numbers, booleans and null only)",
            )
        elif tag == _INT and len(node.value) > self.limits.max_int_chars:
            raise self._error(
                event.start_mark,
                f"an integer of {len(node.value):,} characters: at most {self.limits.max_int_chars} are read",
            )
        elif event.ctag is not None and str(event.ctag) != "!":
            implicit = self.resolver.resolve(ScalarNode, node.value, _IMPLICIT)
            if implicit != tag and not (tag == _FLOAT and implicit == _INT):
                raise self._error(event.start_mark, f"{node.value[:40]!r} is not a valid {_tag(event.ctag)}")

    def _error(self, mark: Any, message: str) -> _LimitError:
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        path = _path_text(self.path[1:])
        if self.document > 0:  # the first document of a stream is the file; later ones are numbered
            path = f"[{self.document}]" + ("" if not path or path.startswith("[") else ".") + path
        return _LimitError(path, message + where)


def _tag(tag: Any) -> str:
    text = str(tag)
    return "!!" + text[len(_YAML) :] if text.startswith(_YAML) else text


def _path_text(path: list[Any], keep: int = 80) -> str:
    """`spec.containers[0].image`. A path a few hundred levels deep would fill the screen: then its first and
    last `keep` characters or so, whole steps only, with `...` between."""
    parts: list[str] = []
    for index in path:
        if isinstance(index, int):
            parts.append(f"[{index}]")
        else:
            name = str(index.value) if isinstance(index, ScalarNode) else "(key)" if index is None else "(complex key)"
            parts.append(f".{name}" if parts else name)
    if sum(map(len, parts)) <= 2 * keep:
        return "".join(parts)
    head, tail = _within(parts, keep), _within(parts[::-1], keep)[::-1]
    return "".join(head) + "..." + "".join(tail)


def _within(parts: list[str], keep: int) -> list[str]:
    out: list[str] = []
    for part in parts:
        if sum(map(len, out)) + len(part) > keep:
            break
        out.append(part)
    return out


def _loader(limits: Limits) -> YAML:
    yaml = YAML(typ="safe", pure=True)
    yaml.Composer = _Composer
    yaml.cronary_limits = limits  # type: ignore[attr-defined]
    return yaml


def parse_yaml(text: str, source: str, limits: Limits = LIMITS) -> list[Any]:
    """Every non-empty document of a YAML stream, within `limits`: through libyaml when the text is an ordinary
    one (`cronjob.shared.libyaml` says which), else, for the same result or the exact error, ruamel."""
    fast = libyaml.documents(text, limits.max_depth, limits.max_nodes, limits.max_int_chars)
    if fast is not None:
        return fast
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. YAML 1.1 float spellings: never a second line on stderr
            return [doc for doc in _loader(limits).load_all(text) if doc is not None]
    except _LimitError as err:
        raise InputError(source, err.where, err.message) from None
    except YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise InputError(source, "", f"not valid YAML{where}: {problem}") from None


def load_bytes(data: bytes, source: str, limits: Limits = LIMITS) -> list[Any]:
    """The documents of a file's bytes (a file of a GitOps repository, read from git)."""
    _check_size(source, len(data), limits)
    return parse_yaml(decode(data, source), source, limits)


def load_file(path: str, limits: Limits = LIMITS) -> list[Any]:
    """The documents of a file on disk."""
    return load_bytes(read_file(path, limits), path, limits)
