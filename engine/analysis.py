"""Judging metric results against thresholds, with Flagger's `Halt …` messages word for word."""

from __future__ import annotations

import math
from functools import lru_cache
from dataclasses import dataclass

from .durations import format_go_duration_ms, format_go_float
from .model import BUILTIN_DURATION, BUILTIN_SUCCESS_RATE, Canary, MetricSpec, build_frozen

NO_VALUES = "no values found"


@dataclass(frozen=True)
class MetricResult:
    """What the shell learned for one metric: a value, no data (`value is None`), or an error."""

    value: float | None = None
    error: str | None = None

    @property
    def has_value(self) -> bool:
        """A finite number: NaN (0/0 over an empty window) and ±Inf (a histogram with no finite bucket) are no data."""
        return self.error is None and self.value is not None and math.isfinite(self.value)


@dataclass(frozen=True)
class MetricVerdict:
    """One metric check: the value, the bound it was held to, whether it passed, and the halt message."""

    metric: str
    value: float | None
    bound: str
    passed: bool
    message: str = ""


@lru_cache(maxsize=65536)
def bound_text(metric: MetricSpec) -> str:
    """The bound in words for evidence (`>= 99`, `<= 500ms`, `10..20`)."""
    unit = "ms" if metric.name == BUILTIN_DURATION and metric.template_ref is None else ""
    rng = metric.threshold_range
    if rng is not None:
        if rng.min is not None and rng.max is not None:
            return f"{format_go_float(rng.min)}{unit}..{format_go_float(rng.max)}{unit}"
        if rng.min is not None:
            return f">= {format_go_float(rng.min)}{unit}"
        return f"<= {format_go_float(rng.max)}{unit}" if rng.max is not None else "any"
    if metric.threshold is None:
        return "any"
    if metric.name == BUILTIN_SUCCESS_RATE and metric.template_ref is None:
        return f">= {format_go_float(metric.threshold)}"
    return f"<= {format_go_float(metric.threshold)}{unit}"


def _verdict(metric: str, value: float | None, bound: str, passed: bool, message: str = "") -> MetricVerdict:
    return build_frozen(MetricVerdict, {"metric": metric, "value": value, "bound": bound, "passed": passed, "message": message})


def _bounds(metric: MetricSpec, minimum_by_default: bool) -> tuple[float | None, float | None]:
    if metric.threshold_range is not None:
        return metric.threshold_range.min, metric.threshold_range.max
    if metric.threshold is None:
        return None, None
    return (metric.threshold, None) if minimum_by_default else (None, metric.threshold)


def judge_metric(canary: Canary, metric: MetricSpec, result: MetricResult, metrics_provider: str) -> MetricVerdict:
    name, ns, target = canary.name, canary.namespace, canary.spec.target_ref.name
    bound = bound_text(metric)
    kind = "builtin" if metric.is_builtin else ("template" if metric.template_ref is not None else "query")
    if result.error is not None and result.error != NO_VALUES:
        if kind == "builtin":
            text = f"Prometheus query failed: {result.error}"
        elif kind == "query":
            text = f"Prometheus query failed for {metric.name}: {result.error}"
        else:
            text = f"Metric query failed for {metric.name}: {result.error}"
        return _verdict(metric.name, None, bound, False, text)
    if not result.has_value:
        if kind == "builtin" and metric.name == BUILTIN_SUCCESS_RATE:
            text = f"Halt advancement no values found for {metrics_provider} metric {metric.name} probably {target}.{ns} is not receiving traffic: {NO_VALUES}"
        elif kind == "builtin":
            text = f"Halt advancement no values found for {metrics_provider} metric {metric.name} probably {target}.{ns} is not receiving traffic"
        elif kind == "query":
            text = f"Halt advancement no values found for metric: {metric.name}"
        else:
            text = f"Halt advancement no values found for custom metric: {metric.name}: {NO_VALUES}"
        return _verdict(metric.name, None, bound, False, text)
    value = float(result.value)  # type: ignore[arg-type]
    if kind == "builtin" and metric.name == BUILTIN_DURATION:
        lo, hi = _bounds(metric, minimum_by_default=False)
        measured = int(value)
        if lo is not None and measured < int(lo):
            return _verdict(metric.name, value, bound, False, f"Halt {name}.{ns} advancement request duration {format_go_duration_ms(measured)} < {format_go_duration_ms(int(lo))}")
        if hi is not None and measured > int(hi):
            return _verdict(metric.name, value, bound, False, f"Halt {name}.{ns} advancement request duration {format_go_duration_ms(measured)} > {format_go_duration_ms(int(hi))}")
        return _verdict(metric.name, value, bound, True)
    if kind == "builtin":
        lo, hi = _bounds(metric, minimum_by_default=True)
        if lo is not None and value < lo:
            return _verdict(metric.name, value, bound, False, f"Halt {name}.{ns} advancement success rate {value:.2f}% < {format_go_float(lo)}%")
        if hi is not None and value > hi:
            return _verdict(metric.name, value, bound, False, f"Halt {name}.{ns} advancement success rate {value:.2f}% > {format_go_float(hi)}%")
        return _verdict(metric.name, value, bound, True)
    lo, hi = _bounds(metric, minimum_by_default=False)
    if lo is not None and value < lo:
        return _verdict(metric.name, value, bound, False, f"Halt {name}.{ns} advancement {metric.name} {value:.2f} < {format_go_float(lo)}")
    if hi is not None and value > hi:
        return _verdict(metric.name, value, bound, False, f"Halt {name}.{ns} advancement {metric.name} {value:.2f} > {format_go_float(hi)}")
    return _verdict(metric.name, value, bound, True)
