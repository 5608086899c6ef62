"""Drive one canary's tick to a Decision: answer the engine's `Pending` requests until it decides."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from engine import Decision, HookRequest, HookResult, MetricRequest, Observations, Pending, Settings, decide
from engine.analysis import MetricResult, ProviderCheck
from engine.cluster import ClusterView
from engine.model import Canary, build_frozen
from engine.schedule import is_due
from engine.targets.facts import read_target_facts
from engine.tick import likely_metrics

HookAnswer = Callable[[HookRequest], HookResult]
MetricAnswer = Callable[[tuple[MetricRequest, ...]], Mapping[str, MetricResult]]
ProviderAnswer = Callable[[ProviderCheck], HookResult]


def providers_available(check: ProviderCheck) -> HookResult:
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
    rounds = 0
    due = is_due(canary, now)
    facts = read_target_facts(canary, cluster, settings) if due else None
    prefetch = likely_metrics(canary, settings, cluster.metric_templates) if due and prefetch_metrics else ()
    if prefetch:
        metrics.update(answer_metrics(prefetch))

    observations = build_frozen(Observations, {"metrics": dict(metrics), "hooks": dict(hooks), "providers": providers})

    def answer(pending: Pending) -> Observations:
        """Each `Pending` answered where the tick stands (the same as a round of decide → Pending → decide)."""
        nonlocal observations, providers, rounds
        for request in pending.hooks:
            hooks[request.hook.name] = answer_hook(request)
        if pending.metrics:
            metrics.update(answer_metrics(pending.metrics))
        if pending.check_providers is not None:
            providers = answer_providers(pending.check_providers)
        rounds += 1
        if rounds >= MAX_ROUNDS:
            raise RuntimeError(f"tick of {canary.key} did not settle after {MAX_ROUNDS} rounds")
        # new snapshots of what changed (an unchanged mapping is passed on as it is)
        observations = build_frozen(
            Observations,
            {
                "metrics": dict(metrics) if pending.metrics else observations.metrics,
                "hooks": dict(hooks) if pending.hooks else observations.hooks,
                "providers": providers,
            },
        )
        return observations

    outcome = decide(canary, cluster, now, settings, observations, facts, answer=answer)
    assert isinstance(outcome, Decision)
    return outcome
