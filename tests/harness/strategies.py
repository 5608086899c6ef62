"""Hypothesis strategies for the property tests: seed-like Canaries and random tick-by-tick scenarios.

A generated Canary is the seed's `podinfo` Canary (same target, service and HPA, so it runs against the
seed cluster) with a random analysis: `stepWeight` (optionally with `maxWeight`) or an increasing
`stepWeights` list, a threshold, `stepWeightPromotion`, any subset of the built-in metrics and of the webhook
types, an optional autoscaler, a provider and an API version.

A scenario is a healthy rollout (a new revision on tick 3-5, every metric and webhook healthy) plus up to
eight disruptions, each starting at some tick and lasting a few: a duplicated, early or late Job; a metric
failing or without data; a webhook answering against its default (a manual gate held closed, a rollout hook
failing, a rollback hook asking for a rollback); a new target image (or a revert); the target's or primary's
rollouts not finishing. The scenario becomes one `TickPlan` per tick, which the property harness plays.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from engine.model import V1ALPHA3, V1BETA1

ORIGINAL_IMAGE = "quay.io/stefanprodan/podinfo:1.4.0"
IMAGES = (ORIGINAL_IMAGE, "quay.io/stefanprodan/podinfo:1.7.1", "quay.io/stefanprodan/podinfo:1.8.0")

HOOK_TYPES = (
    "confirm-rollout",
    "pre-rollout",
    "rollout",
    "confirm-traffic-increase",
    "confirm-promotion",
    "post-rollout",
    "rollback",
)
METRICS = ("request-success-rate", "request-duration")
# metric name -> value for "pass" / "fail" (None = no data)
METRIC_VALUES: Mapping[str, Mapping[str, float | None]] = {
    "request-success-rate": {"pass": 99.5, "fail": 90.0, "null": None},
    "request-duration": {"pass": 120.0, "fail": 900.0, "null": None},
}
PROVIDERS = (None, "smi:istio", "smi:linkerd", "smi:v1alpha2", "smi:v1alpha3", "osm", "linkerd")

GAPS = ("on-time", "duplicate", "early", "late")


def hook_name(hook_type: str) -> str:
    return f"{hook_type}-hook"


def mostly(default: Any, other: st.SearchStrategy[Any], weight: int = 4) -> st.SearchStrategy[Any]:
    """`default` about weight/(weight+1) of the time, else a draw from `other`; shrinks towards `default`."""
    return st.sampled_from([False] * weight + [True]).flatmap(lambda pick: other if pick else st.just(default))


@dataclass(frozen=True)
class TickPlan:
    gap: str = "on-time"  # on-time | duplicate | early | late
    metrics: Mapping[str, str] = field(default_factory=dict)  # metric -> pass | fail | null (missing: pass)
    flipped_hooks: frozenset[str] = frozenset()  # hooks answering against their default this tick
    image: str | None = None  # set the target's image (a new revision, or a revert)
    ready: Mapping[str, bool] | None = None  # rollout readiness of target/primary from now on

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.gap != "on-time":
            out["gap"] = self.gap
        bad = {k: v for k, v in self.metrics.items() if v != "pass"}
        if bad:
            out["metrics"] = bad
        if self.flipped_hooks:
            out["flipped"] = sorted(self.flipped_hooks)
        if self.image:
            out["image"] = self.image.rsplit(":", 1)[-1]
        if self.ready is not None:
            out["ready"] = dict(self.ready)
        return out


@st.composite
def analyses(draw: st.DrawFn, all_hooks: bool = False) -> dict[str, Any]:
    analysis: dict[str, Any] = {
        "interval": draw(st.sampled_from(["10s", "30s", "1m"])),
        "threshold": draw(st.integers(1, 6)),
    }
    if draw(st.booleans()):
        analysis["stepWeight"] = draw(st.one_of(st.sampled_from([10, 20, 25, 30, 34, 50, 100]), st.integers(1, 100)))
        if draw(st.booleans()):
            analysis["maxWeight"] = draw(st.one_of(st.sampled_from([30, 50, 80, 100]), st.integers(1, 100)))
    else:
        analysis["stepWeights"] = sorted(draw(st.sets(st.integers(1, 100), min_size=1, max_size=5)))
    promotion = draw(mostly(0, st.integers(1, 100), weight=1))
    if promotion:
        analysis["stepWeightPromotion"] = promotion
    metric_names = draw(st.lists(st.sampled_from(METRICS), unique=True, max_size=2))
    analysis["metrics"] = [
        {"name": "request-success-rate", "threshold": 99, "interval": "1m"}
        if name == "request-success-rate"
        else {"name": "request-duration", "threshold": 500, "interval": "30s"}
        for name in metric_names
    ]
    hook_types = (
        HOOK_TYPES if all_hooks else draw(st.lists(st.sampled_from(HOOK_TYPES), unique=True, max_size=len(HOOK_TYPES)))
    )
    analysis["webhooks"] = [
        {"name": hook_name(t), "type": t, "url": "http://flagger-loadtester.test/", "timeout": "5s"} for t in hook_types
    ]
    return analysis


@st.composite
def canary_docs(draw: st.DrawFn, seed: Mapping[str, Any], all_hooks: bool = False) -> dict[str, Any]:
    """A Canary manifest derived from the seed Canary `seed` (a parsed YAML dict)."""
    doc = copy.deepcopy(dict(seed))
    api = draw(st.sampled_from([V1ALPHA3, V1BETA1]))
    doc["apiVersion"] = api
    spec = doc["spec"]
    spec.pop("canaryAnalysis", None)
    spec.pop("analysis", None)
    spec["canaryAnalysis" if api == V1ALPHA3 else "analysis"] = draw(analyses(all_hooks))
    spec["progressDeadlineSeconds"] = draw(st.sampled_from([60, 120, 600]))
    if not draw(st.booleans()):
        spec.pop("autoscalerRef", None)
    provider = draw(st.sampled_from(PROVIDERS))
    if provider is None:
        spec.pop("provider", None)
    else:
        spec["provider"] = provider
    if draw(mostly(False, st.just(True), weight=9)):
        spec["skipAnalysis"] = True
    doc.pop("status", None)
    return doc


# A scenario is a healthy rollout plus a few disruptions, each starting at a tick and lasting some ticks.
# (Per-tick random choices would almost never let a rollout reach promotion; a handful of disruptions
# reaches every phase and shrinks to a readable counterexample.)
@st.composite
def disruptions(draw: st.DrawFn, ticks: int, hook_names: tuple[str, ...]) -> tuple[Any, ...]:
    at = draw(st.integers(1, ticks))
    gates = tuple(n for n in hook_names if n.startswith("confirm-"))
    kinds = ["gap", "metric", "image", "ready"] + (["hook"] if hook_names else []) + (["gate"] if gates else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "gate":  # a manual gate held closed for a while (confirm-rollout/traffic-increase/promotion)
        return ("hook", at, draw(st.sampled_from(gates)), draw(st.integers(1, 10)))
    if kind == "gap":
        return ("gap", at, draw(st.sampled_from(GAPS[1:])))
    if kind == "metric":
        return (
            "metric",
            at,
            draw(st.sampled_from(METRICS)),
            draw(st.sampled_from(["fail", "null"])),
            draw(st.integers(1, 6)),
        )
    if kind == "image":
        return ("image", at, draw(st.sampled_from(IMAGES)))
    if kind == "ready":
        return ("ready", at, draw(st.sampled_from(["target", "primary"])), draw(st.integers(1, 12)))
    return ("hook", at, draw(st.sampled_from(hook_names)), draw(st.integers(1, 10)))


def build_plans(ticks: int, first_image: int, items: list[tuple[Any, ...]]) -> tuple[TickPlan, ...]:
    gaps = ["on-time"] * ticks
    metrics: list[dict[str, str]] = [{} for _ in range(ticks)]
    flipped: list[set[str]] = [set() for _ in range(ticks)]
    images: list[str | None] = [None] * ticks
    unready: list[dict[str, bool]] = [{} for _ in range(ticks)]
    images[first_image - 1] = IMAGES[1]
    for item in items:
        kind, at = item[0], item[1] - 1
        if kind == "gap":
            gaps[at] = item[2]
        elif kind == "image":
            images[at] = item[2]
        elif kind == "metric":
            for t in range(at, min(ticks, at + item[4])):
                metrics[t][item[2]] = item[3]
        elif kind == "hook":
            for t in range(at, min(ticks, at + item[3])):
                flipped[t].add(item[2])
        elif kind == "ready":
            for t in range(at, min(ticks, at + item[3])):
                unready[t][item[2]] = False
    plans = []
    previous: dict[str, bool] = {"target": True, "primary": True}
    for t in range(ticks):
        current = {"target": True, "primary": True, **unready[t]}
        ready = {k: v for k, v in current.items() if v != previous[k]}
        previous = current
        plans.append(TickPlan(gaps[t], metrics[t], frozenset(flipped[t]), images[t], ready or None))
    return tuple(plans)


@st.composite
def scenarios(draw: st.DrawFn, doc: Mapping[str, Any], min_ticks: int = 6, max_ticks: int = 30) -> tuple[TickPlan, ...]:
    """Tick plans for `doc`; a new revision arrives on one of the first ticks, so there is an analysis to run."""
    spec = doc["spec"]
    analysis = spec.get("canaryAnalysis") or spec.get("analysis") or {}
    names = tuple(h["name"] for h in analysis.get("webhooks") or [])
    ticks = draw(st.integers(min_ticks, max_ticks))
    first = draw(st.integers(3, 5))  # after initialization (ticks 1-2), so it is a new revision
    items = draw(st.lists(disruptions(ticks, names), max_size=8))
    return build_plans(ticks, first, items)


@st.composite
def canaries_and_scenarios(
    draw: st.DrawFn, seed: Mapping[str, Any], max_ticks: int = 30, all_hooks: bool = False
) -> tuple[dict[str, Any], tuple[TickPlan, ...]]:
    """A Canary and a scenario for it; `all_hooks` gives it one webhook of every type (the gates)."""
    doc = draw(canary_docs(seed, all_hooks))
    return doc, draw(scenarios(doc, max_ticks=max_ticks))
