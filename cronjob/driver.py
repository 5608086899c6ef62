"""Drive one canary's tick to a Decision: answer the engine's `Pending` requests until it decides."""

from __future__ import annotations

from datetime import datetime
from typing import Callable, Mapping

from engine.analysis import MetricResult
from engine.cluster import ClusterView
from engine.model import Canary
from engine.tick import Decision, HookRequest, HookResult, MetricRequest, Observations, Pending, Settings, decide

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
) -> Decision:
    hooks: dict[str, HookResult] = {}
    metrics: dict[str, MetricResult] = {}
    providers: HookResult | None = None
    for _ in range(MAX_ROUNDS):
        outcome = decide(canary, cluster, now, settings, Observations(metrics=dict(metrics), hooks=dict(hooks), providers=providers))
        if isinstance(outcome, Decision):
            return outcome
        assert isinstance(outcome, Pending)
        for request in outcome.hooks:
            hooks[request.hook.name] = answer_hook(request)
        if outcome.metrics:
            metrics.update(answer_metrics(outcome.metrics))
        if outcome.check_providers:
            providers = answer_providers(canary)
    raise RuntimeError(f"tick of {canary.key} did not settle after {MAX_ROUNDS} rounds")
