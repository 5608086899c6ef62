"""The built-in query sets, one module per mesh, keyed by the name a provider resolves to (`Provider.metrics`).

A new mesh's queries are one new module here holding a `QuerySet`, plus its line in `QUERY_SETS`.
"""

from __future__ import annotations

from ...errors import SpecError
from ...model import BUILTIN_DURATION, BUILTIN_METRICS
from . import istio, linkerd, osm
from .base import QuerySet

QUERY_SETS: dict[str, QuerySet] = {
    istio.QUERY_SET.name: istio.QUERY_SET,
    linkerd.QUERY_SET.name: linkerd.QUERY_SET,
    osm.QUERY_SET.name: osm.QUERY_SET,
}


def query_set(name: str) -> QuerySet:
    """The query set a provider names; SpecError for one cronary does not have."""
    found = QUERY_SETS.get(name)
    if found is None:
        raise SpecError("spec.provider", f"no built-in query set {name!r} (known: {', '.join(QUERY_SETS)})")
    return found


def builtin_name(metric_name: str) -> str:
    """`metric_name` if it is a built-in metric, else SpecError."""
    if metric_name not in BUILTIN_METRICS:
        raise SpecError("name", f"{metric_name!r} is not a built-in metric ({', '.join(BUILTIN_METRICS)})")
    return metric_name


def query_template(qs: QuerySet, metric_name: str, *, aggregated: bool, istio_seconds: bool) -> str:
    """The set's template for a built-in metric; with `istio_seconds`, the duration on the older seconds
    histogram, multiplied by 1000 in PromQL so the result is milliseconds (the same float64 multiplication
    Flagger 2019 did in Go)."""
    template = (qs.aggregated if aggregated else qs.builtin)[builtin_name(metric_name)]
    if not istio_seconds or qs.seconds_histogram is None or metric_name != BUILTIN_DURATION:
        return template
    milliseconds, seconds = qs.seconds_histogram
    return template.replace(milliseconds, seconds) + " * 1000"
