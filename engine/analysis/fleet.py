"""Fleet aggregation: one query answering a built-in metric for every canary of a query set at once.

The number of Prometheus requests in a tick then does not grow with the number of canaries: built-in
requests with equal `AggregateKey`s share one query grouped by (namespace, workload), and
`split_aggregated_result` hands each canary its value.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .promql import require_name, require_prometheus_duration
from .querysets import builtin_name, query_set, query_template
from .template import parse_template, render_template


def aggregated_builtin_query(
    metric_name: str,
    provider_metrics: str,
    interval: str,
    *,
    istio_seconds: bool = False,
    series: Iterable[tuple[str, str]] = (),
) -> str:
    """ONE query answering `render_builtin_query` for every canary of the query set at once: the result
    vector has one sample per (namespace, workload) (the query set's `aggregation_labels`).
    Equal per canary to the per-canary query when `aggregation_matches_per_canary` holds.

    `series` — the (namespace, workload) pairs wanted — narrows every selector to those namespaces and
    workloads (a set match), so Prometheus evaluates the canaries' series only, not every workload of the
    mesh (primaries included); the result may hold more pairs than asked (the cross product), never fewer."""
    qs = query_set(provider_metrics)
    template = query_template(qs, metric_name, aggregated=True, istio_seconds=istio_seconds)
    query = render_template(
        parse_template(template), {"interval": require_prometheus_duration("interval", interval)}, {}, "query"
    )
    pairs = sorted(set(series))
    if not pairs:
        return query
    ns_label, workload_label = qs.aggregation_labels
    namespaces = sorted({require_name("namespace", ns, label=True) for ns, _ in pairs})
    workloads = sorted({require_name("workload", name, label=False) for _, name in pairs})
    matchers = f'{ns_label}=~"{_alternation(namespaces)}",{workload_label}=~"{_alternation(workloads)}",'
    return re.sub(r"\{(?=[a-z_]+(?:=|!=|=~|!~)\")", lambda _: "{" + matchers, query)


def _alternation(names: list[str]) -> str:
    """A PromQL regex matching exactly these DNS-1123 names (only `.` needs escaping, as `\\.` in the string)."""
    return "|".join(name.replace(".", "\\\\.") for name in names)


def aggregation_matches_per_canary(provider_metrics: str, target: str) -> bool:
    """Whether grouping by the exact workload label gives what Flagger's selector selects for `target`.

    Istio and Linkerd select `workload=~"TARGET"`, a fully anchored regex. For a DNS-1123 name the only
    regex metacharacter it can hold is `.` (names are subdomains), so for a target without a dot the regex
    matches exactly that workload and the two are equal. A dotted target (`my.app`) would also match
    `my-app`, `myxapp` …, so such a canary must be queried on its own. OSM matches exactly (`=`)."""
    return not query_set(provider_metrics).workload_match_is_regex or "." not in target


def split_aggregated_result(
    metric_name: str, provider_metrics: str, result_vector: object
) -> dict[tuple[str, str], float]:
    """Per-(namespace, workload) values from the `data.result` list of an aggregated query.

    NaN (a 0/0 success rate or an empty histogram: series, but no traffic in the window) means "no value"
    and is left out, as is every workload with no sample: a canary missing from the dict has no value
    (Flagger's `no values found`). ±Inf is kept. Samples without both labels are skipped. ValueError if the
    result is not an instant vector or a value is not a number."""
    builtin_name(metric_name)
    ns_label, wl_label = query_set(provider_metrics).aggregation_labels
    if not isinstance(result_vector, list):
        raise ValueError(f"aggregated {metric_name} result is not a vector: {type(result_vector).__name__}")
    values: dict[tuple[str, str], float] = {}
    for index, sample in enumerate(result_vector):
        if not isinstance(sample, Mapping):
            raise ValueError(f"aggregated {metric_name} result[{index}] is not a sample: {sample!r}")
        if "values" in sample:
            raise ValueError(
                f"aggregated {metric_name} result[{index}]: query returned multiple values (a range vector)"
            )
        labels, pair = sample.get("metric"), sample.get("value")
        if (
            not isinstance(labels, Mapping)
            or not isinstance(pair, (list, tuple))
            or len(pair) != 2
            or not isinstance(pair[1], str)
        ):
            raise ValueError(f"aggregated {metric_name} result[{index}] is not an instant-vector sample: {sample!r}")
        try:
            value = float(pair[1])
        except ValueError:
            raise ValueError(f"aggregated {metric_name} result[{index}]: value {pair[1]!r} is not a number") from None
        namespace, workload = labels.get(ns_label), labels.get(wl_label)
        if not namespace or not workload:
            continue
        key = (str(namespace), str(workload))
        if key in values:
            raise ValueError(f"aggregated {metric_name} result has two samples for {key[1]}.{key[0]}")
        if not math.isnan(value):
            values[key] = value
    return values


@dataclass(frozen=True)
class AggregateKey:
    """The aggregated query a built-in request can be answered from; requests with equal keys share it."""

    metric: str
    query_set: str
    interval: str
    istio_seconds: bool = False
    address: str | None = None  # the canaries' `spec.metricsServer` (None: the default server): one query per server

    @property
    def promql(self) -> str:
        return aggregated_builtin_query(self.metric, self.query_set, self.interval, istio_seconds=self.istio_seconds)

    def promql_for(self, series: Iterable[tuple[str, str]]) -> str:
        """The shared query narrowed to these (namespace, workload) pairs."""
        return aggregated_builtin_query(
            self.metric, self.query_set, self.interval, istio_seconds=self.istio_seconds, series=series
        )
