"""YAML input files as documents (read by `cronjob.shared.reader`, the one reader with limits) and stable YAML/JSON
output."""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from typing import Any

from ruamel.yaml import YAML

from cronjob.shared.errors import InputError
from cronjob.shared.reader import load_file


def load_documents(path: str) -> list[Any]:
    """Every non-empty document of a YAML file, read within the input limits (`cronjob.shared.reader`); `v1 List`
    objects are flattened into their items."""
    out: list[Any] = []
    for doc in load_file(path):
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
