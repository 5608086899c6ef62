"""What may reach PromQL: names and durations checked before they are put into a query, and Flagger's
whitespace collapse.

Everything that reaches PromQL is checked first (namespaces and names are DNS-1123, the interval is a
Prometheus duration), so a crafted Canary or MetricTemplate cannot inject PromQL.
"""

from __future__ import annotations

import re

from ..errors import SpecError
from ..names import require_label, require_subdomain

# Prometheus' duration syntax (model.ParseDuration): units in descending order, each at most once.
_PROM_DURATION = re.compile(
    r"(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?"
)  # fullmatch

# Go's regexp `\s` (RE2): space, \t, \n, \f, \r — narrower than Python's `\s`.
_GO_SPACE_RUN = re.compile(r"[\t\n\f\r ]+")


def require_prometheus_duration(path: str, value: object) -> str:
    """A Prometheus range duration such as `30s`, `1m`, `1h30m` or `500ms` (positive), else SpecError."""
    match = _PROM_DURATION.fullmatch(value) if isinstance(value, str) and value else None
    if match is None:
        raise SpecError(path, f"must be a Prometheus duration like 30s, 1m or 1h30m, got {value!r}")
    if not any(int(part) for part in match.groups() if part):
        raise SpecError(path, f"must be longer than zero, got {value!r}")
    return value


def collapse_whitespace(query: str) -> str:
    """HEAD's `trimQuery` (every whitespace run becomes one space), plus stripping both ends."""
    return _GO_SPACE_RUN.sub(" ", query).strip(" ")


# `engine.names` anchors with `$`, which also matches before a final newline; PromQL gets a stricter check.
_NAME_CHARS = re.compile(r"[a-z0-9.-]+")


def require_name(path: str, value: object, *, label: bool) -> str:
    """A DNS-1123 label (`label=True`) or subdomain, whole string only; SpecError otherwise."""
    checked = require_label(path, value) if label else require_subdomain(path, value)
    if not _NAME_CHARS.fullmatch(checked):
        kind = (
            "label (lower-case letters, digits and '-')" if label else "name (lower-case letters, digits, '-' and '.')"
        )
        raise SpecError(path, f"must be a DNS-1123 {kind}, got {value!r}")
    return checked
