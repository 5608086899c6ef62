"""Judging metric results against thresholds, with Flagger's `Halt …` messages word for word."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from ..durations import format_go_duration_ms, format_go_float
from ..model import BUILTIN_DURATION, BUILTIN_SUCCESS_RATE, Canary, MetricSpec, build_frozen

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


def bound_text(metric: MetricSpec) -> str:
    """The bound in words for evidence (`>= 99`, `<= 500ms`, `10..20`)."""
    rng = metric.threshold_range
    no_template = metric.template_ref is None
    if rng is None:
        return _bound_text(metric.name, no_template, False, None, None, metric.threshold)
    return _bound_text(metric.name, no_template, True, rng.min, rng.max, metric.threshold)


@lru_cache(maxsize=65536)
def _bound_text(
    name: str, no_template: bool, ranged: bool, low: float | None, high: float | None, threshold: float | None
) -> str:
    # remembered by the fields it reads (hashing those is cheaper than hashing the whole MetricSpec); numbers
    # that are equal keys (1, 1.0, True) print alike, as format_go_float takes float() of them
    unit = "ms" if name == BUILTIN_DURATION and no_template else ""
    if ranged:
        if low is not None and high is not None:
            return f"{format_go_float(low)}{unit}..{format_go_float(high)}{unit}"
        if low is not None:
            return f">= {format_go_float(low)}{unit}"
        return f"<= {format_go_float(high)}{unit}" if high is not None else "any"
    if threshold is None:
        return "any"
    if name == BUILTIN_SUCCESS_RATE and no_template:
        return f">= {format_go_float(threshold)}"
    return f"<= {format_go_float(threshold)}{unit}"


def _verdict(metric: str, value: float | None, bound: str, passed: bool, message: str = "") -> MetricVerdict:
    return build_frozen(
        MetricVerdict, {"metric": metric, "value": value, "bound": bound, "passed": passed, "message": message}
    )


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
    if not (result.error is None and result.value is not None and math.isfinite(result.value)):  # not result.has_value
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
    if kind == "builtin":
        rng = (
            metric.threshold_range
        )  # _bounds, inline: a range, else the threshold as the minimum (success rate) or maximum
        duration = metric.name == BUILTIN_DURATION
        if rng is not None:
            lo, hi = rng.min, rng.max
        elif metric.threshold is None:
            lo = hi = None
        else:
            lo, hi = (None, metric.threshold) if duration else (metric.threshold, None)
        if duration:
            measured = int(value)
            if lo is not None and measured < int(lo):
                return _verdict(
                    metric.name,
                    value,
                    bound,
                    False,
                    f"Halt {name}.{ns} advancement request duration {format_go_duration_ms(measured)} < {format_go_duration_ms(int(lo))}",
                )
            if hi is not None and measured > int(hi):
                return _verdict(
                    metric.name,
                    value,
                    bound,
                    False,
                    f"Halt {name}.{ns} advancement request duration {format_go_duration_ms(measured)} > {format_go_duration_ms(int(hi))}",
                )
        else:
            if lo is not None and value < lo:
                return _verdict(
                    metric.name,
                    value,
                    bound,
                    False,
                    f"Halt {name}.{ns} advancement success rate {value:.2f}% < {format_go_float(lo)}%",
                )
            if hi is not None and value > hi:
                return _verdict(
                    metric.name,
                    value,
                    bound,
                    False,
                    f"Halt {name}.{ns} advancement success rate {value:.2f}% > {format_go_float(hi)}%",
                )
        return build_frozen(
            MetricVerdict, {"metric": metric.name, "value": value, "bound": bound, "passed": True, "message": ""}
        )
    lo, hi = _bounds(metric, minimum_by_default=False)
    if lo is not None and value < lo:
        return _verdict(
            metric.name,
            value,
            bound,
            False,
            f"Halt {name}.{ns} advancement {metric.name} {value:.2f} < {format_go_float(lo)}",
        )
    if hi is not None and value > hi:
        return _verdict(
            metric.name,
            value,
            bound,
            False,
            f"Halt {name}.{ns} advancement {metric.name} {value:.2f} > {format_go_float(hi)}",
        )
    return _verdict(metric.name, value, bound, True)
