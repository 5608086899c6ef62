"""Safe YAML loading (never arbitrary tags) and stable YAML/JSON output."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any, Iterable

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from .errors import InputError


def _safe_loader() -> YAML:
    return YAML(typ="safe", pure=True)


def load_documents(path: str) -> list[Any]:
    """Every non-empty document of a YAML file; `v1 List` objects are flattened into their items."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise InputError(path, "", f"cannot read: {err.strerror or err}") from None
    try:
        docs = [doc for doc in _safe_loader().load_all(text) if doc is not None]
    except YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise InputError(path, "", f"not valid YAML{where}: {problem}") from None
    out: list[Any] = []
    for index, doc in enumerate(docs):
        if isinstance(doc, dict) and doc.get("kind") == "List" and isinstance(doc.get("items"), list):
            out.extend(doc["items"])
        else:
            out.append(doc)
    return out


def load_single(path: str) -> Any:
    docs = load_documents(path)
    if len(docs) != 1:
        raise InputError(path, "", f"must hold exactly one document, found {len(docs)}")
    return docs[0]


def _plain(value: Any) -> Any:
    """Plain dicts/lists/scalars (ruamel's safe loader already gives those; this normalizes tuples)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def dump_yaml_stream(documents: Iterable[Any], header: str = "") -> str:
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.sort_base_mapping_type_on_output = False  # keep the renderers' key order
    yaml.width = 4096
    buf = io.StringIO()
    if header:
        buf.write(header)
    docs = [_plain(d) for d in documents]
    yaml.explicit_start = True
    yaml.dump_all(docs, buf)
    return buf.getvalue()


def dump_json(value: Any) -> str:
    return json.dumps(_plain(value), indent=2, ensure_ascii=False) + "\n"
