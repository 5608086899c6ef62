"""Typed reads of manifest fields, each failure a `SpecError` naming the field path."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import SpecError


def type_name(value: object) -> str:
    return {dict: "a map", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), type(value).__name__
    )


def require_map(path: str, value: object) -> Mapping[str, Any]:
    if type(value) is dict:  # what YAML and JSON give: skip the slower `Mapping` ABC check
        return value
    if not isinstance(value, Mapping):
        raise SpecError(path, f"must be a map, got {type_name(value)}")
    return value


def require_str(path: str, value: object) -> str:
    if not isinstance(value, str):
        raise SpecError(path, f"must be a string, got {type_name(value)} {value!r}")
    return value
