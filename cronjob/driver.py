"""Drive one canary's tick to a Decision: answer the engine's `Pending` requests until it decides."""

from __future__ import annotations

from datetime import datetime
from typing import Callable, Mapping

from engine.analysis import MetricResult
from engine.cluster import ClusterView
from engine.model import Canary
from engine.tick import Decision, HookRequest, HookResult, MetricRequest, Observations, Pending, Settings, decide, is_due, likely_metrics, read_target_facts

HookAnswer = Callable[[HookRequest], HookResult]
MetricAnswer = Callable[[tuple[MetricRequest, ...]], Mapping[str, MetricResult]]
ProviderAnswer = Callable[[Canary], HookResult]


def providers_available(canary: Canary) -> HookResult:
    """For runs without a metrics server (render, simulate): the providers count as reachable."""
    return HookResult(True)

MAX_ROUNDS = 64


def run_tick(
    canary: Canary,
    cluster: ClusterView,
    now: datetime,
    settings: Settings,
    answer_hook: HookAnswer,
    answer_metrics: MetricAnswer,
    answer_providers: ProviderAnswer = providers_available,
    *,
    prefetch_metrics: bool = True,
) -> Decision:
    """Decide one tick, answering every `Pending`. With `prefetch_metrics`, the metrics the tick will most
    likely judge are fetched before the first round (one round trip fewer; a query the tick turns out not to
    need is wasted). Pass False where asking for an unneeded metric is an error (files, scenarios)."""
    hooks: dict[str, HookResult] = {}
    metrics: dict[str, MetricResult] = {}
    providers: HookResult | None = None
    due = is_due(canary, now)
    facts = read_target_facts(canary, cluster, settings) if due else None
    prefetch = likely_metrics(canary, settings) if due and prefetch_metrics else ()
    if prefetch:
        metrics.update(answer_metrics(prefetch))
    pending: Pending | None = None
    for _ in range(MAX_ROUNDS):
        observations = Observations(metrics=dict(metrics), hooks=dict(hooks), providers=providers)
        # Answers are only ever added, so each round continues where the last one stopped (same outcome as
        # starting over, which `decide` falls back to by itself when that would not hold).
        outcome = decide(canary, cluster, now, settings, observations, facts, resume=pending)
        if isinstance(outcome, Decision):
            return outcome
        assert isinstance(outcome, Pending)
        pending = outcome
        for request in outcome.hooks:
            hooks[request.hook.name] = answer_hook(request)
        if outcome.metrics:
            metrics.update(answer_metrics(outcome.metrics))
        if outcome.check_providers:
            providers = answer_providers(canary)
    raise RuntimeError(f"tick of {canary.key} did not settle after {MAX_ROUNDS} rounds")
