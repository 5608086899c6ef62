"""Lost writes, decided by the pure engine: a decision whose status was committed but only some of its objects
were written (the Job died, or a write failed) must be finished by the ticks after it, so the rollout routes
the same weights, runs the same primary images and ends the same as a rollout that lost nothing.

Every committed decision of each rollout is replayed with each prefix of its objects (none, one, …, all but
one), then the rollout goes on at the CronJob's cadence. This is the engine's half of crash safety; the
cluster's half (kill points in `cronary tick`) is tests/cluster/test_crash_safety.py.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from cronjob.local.inputs import ScenarioStep, build_cluster, cluster_objects, default_hook_result, read_canary
from cronjob.local.simulation import SimulatedCluster
from cronjob.shared.driver import providers_available, run_tick
from engine import Decision, HookRequest, HookResult, Settings
from engine.analysis import MetricResult
from engine.canary_spec import parse_canary
from engine.model import Canary
from engine.schedule import interval_seconds
from engine.status_doc import canary_manifest

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "fixtures" / "seed"
SETTINGS = Settings(mesh_provider="smi:istio")
START = datetime.fromisoformat("2026-11-27T10:00:00+00:00")
NEW_IMAGE = "quay.io/stefanprodan/podinfo:1.7.1"
HEALTHY = {"request-success-rate": MetricResult(99.5), "request-duration": MetricResult(120)}
FAILING = {"request-success-rate": MetricResult(95), "request-duration": MetricResult(120)}


@dataclass
class History:
    """What users and their traffic saw: routed canary weights and primary images (repeats removed), events."""

    weights: list[int] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    phase: str = ""
    last_tick_events: list[str] = field(default_factory=list)

    def see(self, cluster: SimulatedCluster, canary: Canary, decision: Decision) -> None:
        split = cluster.objects.get(("TrafficSplit", "test", "podinfo"))
        if split is not None or canary.status.phase not in ("", "Initializing"):
            # without a TrafficSplit the apex Service sends everything to the primary: canary weight 0
            weight = int(str(split["spec"]["backends"][0]["weight"])) if split is not None else 0
            if not self.weights or self.weights[-1] != weight:
                self.weights.append(weight)
        primary = cluster.objects.get(("Deployment", "test", "podinfo-primary"))
        if primary is not None:
            image = primary["spec"]["template"]["spec"]["containers"][0]["image"]
            if not self.images or self.images[-1] != image:
                self.images.append(image)
        events = [e.message for e in decision.events]
        if events != self.last_tick_events:  # a tick that repeats the last one's events is a wait made longer
            self.events.extend(events)
        self.last_tick_events = events
        self.phase = canary.status.phase


@dataclass(frozen=True)
class Case:
    canary: str  # a fixture under fixtures/
    release: ScenarioStep  # the new revision (and what changes with it)
    hooks: dict[str, HookResult] = field(default_factory=dict)
    settings: Settings = SETTINGS


CASES = {
    "healthy": Case("seed/podinfo-canary.yaml", ScenarioStep(at=0, image=NEW_IMAGE)),
    "failing-metrics": Case("seed/podinfo-canary.yaml", ScenarioStep(at=0, image=NEW_IMAGE, metrics=FAILING)),
    "failing-pre-rollout": Case(
        "canaries/podinfo-webhooks.yaml",
        ScenarioStep(at=0, image=NEW_IMAGE),
        {"pre-check": HookResult(False, "HTTP 500"), "rollback-gate": HookResult(False, "no")},
    ),
    "skip-analysis": Case("seed/podinfo-canary.yaml", ScenarioStep(at=0, image=NEW_IMAGE)),
}


def load(case: Case, name: str) -> Canary:
    canary = read_canary(str(ROOT / "fixtures" / case.canary), "smi:istio")
    if name == "skip-analysis":
        manifest = copy.deepcopy(dict(canary.manifest))
        manifest["spec"]["skipAnalysis"] = True
        canary = parse_canary(manifest)
    return canary


def play(
    name: str, lose: tuple[int, int] | None = None, ticks: int = 60, losses: Mapping[int, int] | None = None
) -> tuple[History, list[Decision]]:
    """Play a rollout tick by tick. `lose=(n, k)`: committed decision n's status is written but only its first
    k objects (and no Secret copies). `losses`: the same for several decisions at once, {n: k}."""
    losses = dict(losses or {})
    if lose is not None:
        losses[lose[0]] = lose[1]
    case = CASES[name]
    canary = load(case, name)
    cluster = SimulatedCluster.of(build_cluster(cluster_objects(str(SEED / "cluster.yaml"))))
    metrics = dict(HEALTHY)
    hooks = dict(case.hooks)
    primary = {("test", f"{canary.spec.target_ref.name}-primary")}
    history, committed = History(), []
    released, rested = False, 0
    for tick in range(1, ticks + 1):
        now = START + timedelta(seconds=interval_seconds(canary) * (tick - 1))
        cluster.progress_rollouts(now, primary)
        if not released and canary.status.phase == "Initialized":
            # the new revision comes once the canary is initialized (not at a fixed tick: a lost write may
            # delay initialization, and a revision that comes during it is initialized, not analysed)
            released = True
            metrics.update(case.release.metrics)
            cluster.set_image("test", "podinfo", case.release.image, now, "scenario")

        def answer_hook(request: HookRequest) -> HookResult:
            return hooks.get(request.hook.name) or default_hook_result(request.hook.type)

        decision = run_tick(
            canary,
            cluster.view(),
            now,
            case.settings,
            answer_hook,
            lambda requests: {r.metric.name: metrics[r.metric.name] for r in requests},
            providers_available,
        )
        written = decision
        if decision.status_changed:
            committed.append(decision)
            kept = losses.get(len(committed))
            if kept is not None and kept < len(decision.objects):
                written = dataclasses.replace(decision, objects=decision.objects[:kept], secret_copies=())
        cluster.apply(written, now)
        canary = parse_canary(canary_manifest(canary, decision.status))
        history.see(cluster, canary, decision)
        if released and canary.status.phase in ("Succeeded", "Failed"):
            rested += 1
            if rested > 3:  # a few ticks at rest: they finish what the last decision committed
                break
    return history, committed


def lost_write_points(name: str) -> Iterator[Any]:
    _, committed = play(name)
    for n, decision in enumerate(committed, start=1):
        for k in range(len(decision.objects)):
            yield pytest.param(
                name, n, k, id=f"{name}-decision{n}-{decision.status.phase or 'none'}-{k}of{len(decision.objects)}"
            )


@pytest.mark.parametrize(("name", "n", "k"), [p for name in CASES for p in lost_write_points(name)])
def test_a_committed_decision_with_lost_writes_is_finished_and_the_rollout_is_unchanged(
    name: str, n: int, k: int
) -> None:
    expected, _ = play(name)
    got, _ = play(name, lose=(n, k))
    assert got.weights == expected.weights, "routed canary weights"
    if name == "skip-analysis" and n == 1:
        # skipAnalysis initializes in one decision; with all of it lost, the primary is first created when the
        # new revision is already there, from that revision — which skipAnalysis promotes without analysis anyway
        assert got.images[-1] == expected.images[-1], "primary image"
    else:
        assert got.images == expected.images, "primary images"
    assert got.events == expected.events
    assert got.phase == expected.phase


def test_the_cases_cover_the_ways_to_rest() -> None:
    assert {name: play(name)[0].phase for name in CASES} == {
        "healthy": "Succeeded",
        "failing-metrics": "Failed",
        "failing-pre-rollout": "Failed",
        "skip-analysis": "Succeeded",
    }
    assert play("healthy")[0].weights == [0, 10, 20, 30, 40, 50, 0]
    assert play("healthy")[0].images == ["quay.io/stefanprodan/podinfo:1.4.0", NEW_IMAGE]
    assert play("failing-metrics")[0].images == ["quay.io/stefanprodan/podinfo:1.4.0"]


@settings(max_examples=60)
@given(name=st.sampled_from(sorted(CASES)), losses=st.dictionaries(st.integers(1, 30), st.integers(0, 8), max_size=6))
@example(name="healthy", losses={2: 0, 3: 0, 4: 0})  # no TrafficSplit ever written until weight 10 was committed
def test_any_number_of_lost_writes_anywhere_leave_the_rollout_unchanged(name: str, losses: dict[int, int]) -> None:
    """Several decisions lose writes, including the decisions that finish an earlier loss."""
    expected, _ = play(name)
    got, _ = play(name, losses=losses)
    assert got.weights == expected.weights, "routed canary weights"
    assert got.images[-1] == expected.images[-1] and set(got.images) <= set(expected.images), "primary images"
    assert got.events == expected.events
    assert got.phase == expected.phase
