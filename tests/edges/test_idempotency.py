"""Webhook idempotency keys: one per decision, so a doubled or re-run Job does not start a second load test."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path

from cronjob.local.inputs import build_cluster, cluster_objects, read_canary, read_scenario
from cronjob.local.simulation import SimulatedCluster, Simulation
from engine import HookResult, Observations, Pending, Settings, decide
from engine.analysis import MetricResult
from engine.hooks import HookType
from engine.model import WebhookSpec

SEED = Path(__file__).resolve().parents[2] / "fixtures" / "seed"
SETTINGS = Settings(mesh_provider="smi:istio")


def _progressing():
    """The seed at weight 20 and the time of its next tick."""
    scenario = dataclasses.replace(read_scenario(str(SEED / "scenario-healthy.yaml")), ticks=5)
    canary = read_canary(str(SEED / "podinfo-canary.yaml"), "smi:istio")
    sim = Simulation(
        canary, SimulatedCluster.of(build_cluster(cluster_objects(str(SEED / "cluster.yaml")))), scenario, SETTINGS, "s"
    )
    sim.run()
    return sim.canary, sim.cluster.view(), scenario.start + timedelta(seconds=10 * 5)


def _load_test_key(canary, cluster, now) -> str:
    pending = decide(canary, cluster, now, SETTINGS)
    assert isinstance(pending, Pending) and pending.hooks[0].hook.name == "load-test"
    return pending.hooks[0].payload["idempotencyKey"]


def test_the_same_decision_has_the_same_key_even_when_rerun_later() -> None:
    canary, cluster, now = _progressing()
    first = _load_test_key(canary, cluster, now)
    assert _load_test_key(canary, cluster, now) == first  # a doubled Job
    assert (
        _load_test_key(canary, cluster, now + timedelta(seconds=25)) == first
    )  # a Job killed before its status write, re-run


def test_the_next_decision_has_a_new_key() -> None:
    canary, cluster, now = _progressing()
    first = _load_test_key(canary, cluster, now)
    metrics = {"request-success-rate": 99.5, "request-duration": 120}
    decision = decide(
        canary,
        cluster,
        now,
        SETTINGS,
        Observations(metrics={k: MetricResult(v) for k, v in metrics.items()}, hooks={"load-test": HookResult(True)}),
    )
    assert decision.status.canary_weight == 30
    after = dataclasses.replace(canary, status=decision.status)
    routed = dataclasses.replace(
        cluster,
        objects={
            **cluster.objects,
            **{(o["kind"], "test", o["metadata"]["name"]): o for o in decision.objects if o["kind"] == "TrafficSplit"},
        },
    )
    assert _load_test_key(after, routed, now + timedelta(seconds=10)) != first


def test_gate_keys_change_with_time() -> None:
    """A gate is a question: asking again later must not be answered from a receiver's cache."""
    canary, cluster, now = _progressing()
    gate = WebhookSpec(name="gate", url="http://gate.test/", type=HookType.CONFIRM_TRAFFIC_INCREASE)
    analysis = dataclasses.replace(canary.spec.analysis, webhooks=(gate,))
    gated = dataclasses.replace(canary, spec=dataclasses.replace(canary.spec, analysis=analysis))
    metrics = {"request-success-rate": 99.5, "request-duration": 120}

    def gate_key(at):
        pending = decide(
            gated, cluster, at, SETTINGS, Observations(metrics={k: MetricResult(v) for k, v in metrics.items()})
        )
        assert isinstance(pending, Pending) and pending.hooks[0].hook.name == "gate"
        return pending.hooks[0].payload["idempotencyKey"]

    assert gate_key(now) == gate_key(now)
    assert gate_key(now) != gate_key(now + timedelta(seconds=30))
