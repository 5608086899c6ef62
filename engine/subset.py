"""Whether an object served by an API server holds every field cronary wants in it."""

from __future__ import annotations

from typing import Any


def contains(live: Any, desired: Any) -> bool:
    """Does `live` hold every field of `desired`? Maps: a subset; lists: the same length, item by item
    (a real server adds defaults inside containers and ports); scalars: equal."""
    if isinstance(desired, dict):  # JSON documents are dicts; `dict` is much cheaper to test than `typing.Mapping`
        return isinstance(live, dict) and all(k in live and contains(live[k], v) for k, v in desired.items())
    if isinstance(desired, list):
        return (
            isinstance(live, list) and len(live) == len(desired) and all(contains(a, b) for a, b in zip(live, desired))
        )
    return bool(live == desired)
