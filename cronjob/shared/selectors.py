"""Kubernetes label selectors (`team=a,tier!=batch`, `env in (a,b)`, `!legacy`), parsed once and matched locally.

The API server matches `--selector` itself in cluster mode; GitOps mode without cluster access reads Canaries
from the repository and must match them the same way. The grammar and meaning are those of
`k8s.io/apimachinery/pkg/labels`: requirements joined by commas, all of which must hold.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

_KEY = r"[A-Za-z0-9./_-]+"
_VALUE = r"[A-Za-z0-9._-]*"
_REQUIREMENT = re.compile(
    rf"^\s*(?P<not>!)?\s*(?P<key>{_KEY})\s*"
    rf"(?:(?P<op>==|!=|=)\s*(?P<value>{_VALUE})|\s(?P<set>in|notin)\s*\((?P<values>[A-Za-z0-9._,\s-]*)\))?\s*$"
)


@dataclass(frozen=True)
class Requirement:
    key: str
    operator: str  # "=", "!=", "in", "notin", "exists", "!"
    values: frozenset[str] = frozenset()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present, value = self.key in labels, labels.get(self.key)
        if self.operator == "exists":
            return present
        if self.operator == "!":
            return not present
        if self.operator in ("=", "in"):
            return present and value in self.values
        return not present or value not in self.values  # "!=" and "notin" hold for an absent label


@dataclass(frozen=True)
class Selector:
    requirements: tuple[Requirement, ...]

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        return all(r.matches(labels or {}) for r in self.requirements)


def parse_selector(text: str) -> Selector:
    """A selector from its text; ValueError when a requirement is not one."""
    requirements = []
    for part in _split(text):
        found = _REQUIREMENT.match(part)
        if found is None or (found["not"] and (found["op"] or found["set"])):
            raise ValueError(f"not a label requirement: {part.strip()!r}")
        if found["not"]:
            requirements.append(Requirement(found["key"], "!"))
        elif found["op"]:
            requirements.append(
                Requirement(found["key"], "!=" if found["op"] == "!=" else "=", frozenset({found["value"]}))
            )
        elif found["set"]:
            values = frozenset(v.strip() for v in found["values"].split(",") if v.strip())
            requirements.append(Requirement(found["key"], found["set"], values))
        else:
            requirements.append(Requirement(found["key"], "exists"))
    return Selector(tuple(requirements))


def _split(selector: str) -> list[str]:
    """Split on the commas that are not inside `in (...)`."""
    parts, depth, current = [], 0, ""
    for char in selector:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    return [*parts, current]
