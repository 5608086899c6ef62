"""What one mesh's query set is: Flagger's built-in PromQL for it, and how a fleet's canaries are told apart."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class QuerySet:
    """One mesh's queries (Flagger's `pkg/metrics/observers/<mesh>.go`), keyed by built-in metric name.

    `builtin` are Flagger's per-canary templates; `aggregated` the same with the canary selector replaced by a
    grouping on `aggregation_labels` (namespace label, workload label), so one query answers a whole fleet.
    `workload_match_is_regex`: whether Flagger selects the workload with `=~` (then a dotted target cannot be
    aggregated). `seconds_histogram` (milliseconds bucket, seconds bucket): the older histogram a duration
    query can be switched to, the result multiplied by 1000 so it is still milliseconds."""

    name: str
    builtin: Mapping[str, str]
    aggregated: Mapping[str, str]
    aggregation_labels: tuple[str, str]
    workload_match_is_regex: bool
    seconds_histogram: tuple[str, str] | None = None
