"""Webhooks and manual gates, tick by tick, through `cronary simulate` (reference §4, §2.7, §8.4).

`fixtures/canaries/podinfo-webhooks.yaml` is the seed Canary with one hook of every type (gate-rollout,
pre-check, load-test, gate-traffic, gate-promotion, post-check, rollback-gate, events); each
`fixtures/seed/scenario-gate-*.yaml` opens or closes one of them at a known tick. As in the seed scenarios,
tick 1 creates the primary, tick 2 initializes and the new image arrives at tick 3.

`fixtures/canaries/podinfo-promotion-steps.yaml` is Flagger's own `TestWebhooks` "canary" case (stepWeight
100, stepWeightPromotion 50), whose event stream and hook calls §8.4 records.

Every expected message is Flagger's format string (reference §5) filled in for `podinfo.test`; a failing hook
answers with the simulator's error text `simulated failure (HTTP 500)`.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

import cronjob.local.simulation as simulation_module
from cronjob.local.inputs import build_cluster, cluster_objects, read_canary, read_scenario
from cronjob.local.simulation import SimulatedCluster, Simulation
from engine import Decision, HookRequest, HookResult, Settings
from harness.timeline_rows import Row, advance, at, row, simulate_cli

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "fixtures" / "seed"
CANARIES = ROOT / "fixtures" / "canaries"
CLUSTER = SEED / "cluster.yaml"
HOOKS_CANARY = CANARIES / "podinfo-webhooks.yaml"
STEPS_CANARY = CANARIES / "podinfo-promotion-steps.yaml"
MESH = "smi:istio"
D = 3
ERR = "simulated failure (HTTP 500)"

DETECTED = "New revision detected! Scaling up podinfo.test"
STARTING = "Starting canary analysis for podinfo.test"
COPYING = "Copying podinfo.test template spec to podinfo-primary.test"
ALL_TO_PRIMARY = "Routing all traffic to primary"
COMPLETED = "Promotion completed! Scaling down podinfo.test"
CANARY_FAILED = "Canary failed! Scaling down podinfo.test"
INITIALIZED = "Initialization done! podinfo.test"
PROVIDERS_OK = "all the metrics providers are available!"
PRIMARY_FRESH = "podinfo-primary.test not ready: waiting for rollout to finish: observed deployment generation less than desired generation"
SR_HALT = "Halt podinfo.test advancement success rate 95.00% < 99%"
THRESHOLD_5 = "Rolling back podinfo.test failed checks threshold reached 5"

CR_OK = "Confirm-rollout check gate-rollout passed"
CR_HALT = "Halt podinfo.test advancement waiting for approval gate-rollout"
PRE_OK = "Pre-rollout check pre-check passed"
PRE_HALT = f"Halt podinfo.test advancement pre-rollout check pre-check failed {ERR}"
EXT_HALT = f"Halt podinfo.test advancement external check load-test failed {ERR}"
CTI_OK = "Confirm-traffic-increase check gate-traffic passed"
CTI_HALT = "Halt podinfo.test advancement waiting for traffic increase approval gate-traffic"
CP_OK = "Confirm-promotion check gate-promotion passed"
CP_HALT = "Halt podinfo.test advancement waiting for promotion approval gate-promotion"
POST_OK = "Post-rollout check post-check passed"
RB_NOT = "Rollback hook rollback-gate not signaling a rollback"
RB_OK = "Rollback check rollback-gate passed"
RB_MANUAL = "Rolling back podinfo.test manual webhook invoked"


def ramp(first_tick: int, weights: list[int], failed: int = 0, start: bool = True) -> list[Row]:
    """Passing Progressing ticks of the webhooks Canary: rollback hook asked, (analysis started with the
    pre-rollout hook,) traffic increase confirmed, weight advanced."""
    rows = []
    for i, w in enumerate(weights):
        head = (RB_NOT, STARTING, PRE_OK) if (i == 0 and start) else (RB_NOT,)
        rows.append(row(first_tick + i, "Progressing", w, w, failed, *head, CTI_OK, advance(w)))
    return rows


def promote_tail(tick: int, failed: int = 0) -> list[Row]:
    """The analysis at maxWeight 50 passes, promotion confirmed and copied; Finalising; Succeeded."""
    return [
        row(tick, "Promoting", 50, 50, failed, RB_NOT, CTI_OK, CP_OK, COPYING),
        row(tick + 1, "Finalising", 0, 0, failed, ALL_TO_PRIMARY),
        row(tick + 2, "Succeeded", 0, 0, failed, POST_OK, COMPLETED),
    ]


# ----------------------------------------------------------------------------------------------- running


class RecordingSimulation(Simulation):
    """A Simulation that also keeps every webhook request (name, type, payload phase) it answers."""

    def _answer_hook(self, request: HookRequest) -> HookResult:
        self.requests.append((request.hook.name, request.hook.type.value, str(request.payload["phase"])))
        return super()._answer_hook(request)


def simulation(canary: Path, scenario: Path, **scenario_changes: Any) -> RecordingSimulation:
    plan = read_scenario(str(scenario))
    if scenario_changes:
        plan = dataclasses.replace(plan, **scenario_changes)
    sim = RecordingSimulation(
        read_canary(str(canary), MESH),
        SimulatedCluster.of(build_cluster(cluster_objects(str(CLUSTER)))),
        plan,
        Settings(mesh_provider=MESH),
        str(scenario),
    )
    sim.requests = []  # type: ignore[attr-defined]
    return sim


def hook_calls(sim: RecordingSimulation, records: list[Any]) -> list[tuple[int, str, str, str]]:
    """(tick, hook, type, payload phase) of every webhook call, in order.

    The requests the simulation answered and the hook outcomes each tick reports are the same calls in the
    same order; zipping them attributes each request to its tick (and checks that they agree)."""
    per_tick = [(r.tick, name, kind) for r in records for name, kind, _ok in r.hooks]
    assert [(n, k) for _t, n, k in per_tick] == [(n, k) for n, k, _p in sim.requests]  # type: ignore[attr-defined]
    return [(t, n, k, p) for (t, n, k), (_n, _k, p) in zip(per_tick, sim.requests)]  # type: ignore[attr-defined]


def project(record: dict[str, Any]) -> Row:
    return Row(
        record["tick"],
        record["phase"],
        record["canaryWeight"],
        record["trafficWeight"],
        record["failedChecks"],
        tuple(record["events"]),
    )


def assert_rows(records: list[dict[str, Any]], expected: list[Row]) -> None:
    by_tick = {r["tick"]: r for r in records}
    missing = [e.tick for e in expected if e.tick not in by_tick]
    assert not missing, f"the simulation stopped after tick {len(records)}; expected ticks {missing} too"
    assert [project(by_tick[e.tick]) for e in expected] == expected
    assert [by_tick[e.tick]["time"] for e in expected] == [at(e.tick) for e in expected]


def deployment(sim: Simulation, name: str) -> dict[str, Any]:
    return sim.cluster.objects[("Deployment", "test", name)]


def image_of(dep: dict[str, Any]) -> str:
    return dep["spec"]["template"]["spec"]["containers"][0]["image"]


# ----------------------------------------------------------------------------------------------- gate timelines
HEALTHY = [
    row(D, "Progressing", 0, 0, 0, CR_OK, DETECTED),
    *ramp(4, [10, 20, 30, 40, 50]),
    *promote_tail(9),
]

# confirm-rollout closed at detection: Waiting (silently while still closed), opened at tick 6.
CONFIRM_ROLLOUT = [
    row(D, "Waiting", 0, 0, 0, CR_HALT),
    row(4, "Waiting", 0, 0, 0),
    row(5, "Waiting", 0, 0, 0),
    row(6, "Progressing", 0, 0, 0, CR_OK, DETECTED),
    *ramp(7, [10, 20, 30, 40, 50]),
    *promote_tail(12),
]

# pre-rollout fails twice at weight 0 (failedChecks +1 each, analysis restarted each tick), then passes;
# a passing check never lowers failedChecks.
PRE_ROLLOUT = [
    row(D, "Progressing", 0, 0, 0, CR_OK, DETECTED),
    row(4, "Progressing", 0, 0, 1, RB_NOT, STARTING, PRE_HALT),
    row(5, "Progressing", 0, 0, 2, RB_NOT, STARTING, PRE_HALT),
    *ramp(6, [10, 20, 30, 40, 50], failed=2),
    *promote_tail(11, failed=2),
]

# pre-rollout never passes: threshold reached before the sixth analysis; post-rollout hooks told "Failed".
PRE_ROLLOUT_FAILS = [
    row(D, "Progressing", 0, 0, 0, CR_OK, DETECTED),
    *[row(3 + n, "Progressing", 0, 0, n, RB_NOT, STARTING, PRE_HALT) for n in range(1, 6)],
    row(9, "Failed", 0, 0, 0, RB_NOT, THRESHOLD_5, CANARY_FAILED, POST_OK),
]

# the load tester (rollout hook) fails at weight 10 twice: external check halts, weight frozen.
LOAD_TEST = [
    row(D, "Progressing", 0, 0, 0, CR_OK, DETECTED),
    *ramp(4, [10]),
    row(5, "Progressing", 10, 10, 1, RB_NOT, EXT_HALT),
    row(6, "Progressing", 10, 10, 2, RB_NOT, EXT_HALT),
    *ramp(7, [20, 30, 40, 50], failed=2, start=False),
    *promote_tail(11, failed=2),
]

# confirm-traffic-increase closed: a Halt every tick, weight held, failedChecks untouched.
TRAFFIC_INCREASE = [
    row(D, "Progressing", 0, 0, 0, CR_OK, DETECTED),
    *ramp(4, [10]),
    *[row(t, "Progressing", 10, 10, 0, RB_NOT, CTI_HALT) for t in (5, 6, 7)],
    *ramp(8, [20, 30, 40, 50], start=False),
    *promote_tail(12),
]

# confirm-promotion closed at the promotion point: WaitingPromotion with status weight 0 while 50 % stays
# routed to the canary; no traffic-increase gate while waiting; opened at tick 11 -> Promoting.
# (Promoting then reports the routed weight 50: a documented cronary choice, docs/differences-from-flagger.md.)
PROMOTION = [
    row(D, "Progressing", 0, 0, 0, CR_OK, DETECTED),
    *ramp(4, [10, 20, 30, 40, 50]),
    row(9, "WaitingPromotion", 0, 50, 0, RB_NOT, CTI_OK, CP_HALT),
    row(10, "WaitingPromotion", 0, 50, 0, RB_NOT),
    row(11, "Promoting", 50, 50, 0, RB_NOT, CP_OK, COPYING),
    row(12, "Finalising", 0, 0, 0, ALL_TO_PRIMARY),
    row(13, "Succeeded", 0, 0, 0, POST_OK, COMPLETED),
]

# While waiting for promotion approval the analysis keeps running and can roll back (§2.7.1).
PROMOTION_FAILING = [
    *ramp(4, [10, 20, 30, 40, 50]),
    row(9, "WaitingPromotion", 0, 50, 0, RB_NOT, CTI_OK, CP_HALT),
    *[row(9 + n, "WaitingPromotion", 0, 50, n, RB_NOT, SR_HALT) for n in range(1, 6)],
    row(15, "Failed", 0, 0, 0, RB_NOT, THRESHOLD_5, CANARY_FAILED, POST_OK),
]

# The rollback gate opened at tick 6 (weight 20): manual rollback on that tick.
ROLLBACK = [
    row(D, "Progressing", 0, 0, 0, CR_OK, DETECTED),
    *ramp(4, [10, 20]),
    row(6, "Failed", 0, 0, 0, RB_OK, RB_MANUAL, CANARY_FAILED, POST_OK),
]

GATES = [
    pytest.param("scenario-webhooks-healthy.yaml", HEALTHY, id="all-hooks-pass"),
    pytest.param("scenario-gate-confirm-rollout.yaml", CONFIRM_ROLLOUT, id="confirm-rollout-rejects-then-approves"),
    pytest.param("scenario-gate-pre-rollout.yaml", PRE_ROLLOUT, id="pre-rollout-fails-twice"),
    pytest.param("scenario-gate-pre-rollout-fails.yaml", PRE_ROLLOUT_FAILS, id="pre-rollout-fails-to-rollback"),
    pytest.param("scenario-gate-load-test.yaml", LOAD_TEST, id="rollout-hook-fails"),
    pytest.param("scenario-gate-traffic-increase.yaml", TRAFFIC_INCREASE, id="confirm-traffic-increase-rejects"),
    pytest.param("scenario-gate-promotion.yaml", PROMOTION, id="confirm-promotion-rejects-then-approves"),
    pytest.param("scenario-gate-promotion-failing.yaml", PROMOTION_FAILING, id="waiting-promotion-analysis-fails"),
    pytest.param("scenario-gate-rollback.yaml", ROLLBACK, id="rollback-hook-signals"),
]


@pytest.mark.parametrize(("scenario", "expected"), GATES)
def test_gate_timeline(scenario: str, expected: list[Row]) -> None:
    records = simulate_cli(HOOKS_CANARY, SEED / scenario)
    assert [r["phase"] for r in records[:2]] == ["Initializing", "Initialized"]
    assert records[1]["events"][-1] == INITIALIZED
    assert_rows(records, expected)
    assert len(records) == expected[-1].tick  # the run stops on the tick the canary comes to rest


@pytest.mark.parametrize(("scenario", "expected"), GATES)
def test_gate_simulation_class_matches_cli(scenario: str, expected: list[Row]) -> None:
    records = [r.as_json() for r in simulation(HOOKS_CANARY, SEED / scenario).run()]
    assert records == simulate_cli(HOOKS_CANARY, SEED / scenario)


def test_event_hooks_are_never_called_as_gates() -> None:
    """An `event` hook receives events; it is never asked as a check (it would otherwise show up here)."""
    for scenario, _rows in [(p.values[0], p.values[1]) for p in GATES]:
        for record in simulate_cli(HOOKS_CANARY, SEED / scenario):
            assert all(h["type"] != "event" for h in record["webhooks"]), (scenario, record["tick"])


def test_waiting_keeps_the_canary_scaled_to_zero() -> None:
    """§2.4.2: while Waiting the canary workload stays at 0 replicas; confirm-rollout is asked with the
    current phase (Initialized at detection, then Waiting); approval scales the target up."""
    sim = simulation(HOOKS_CANARY, SEED / "scenario-gate-confirm-rollout.yaml", ticks=5)
    records = sim.run()
    assert [r.phase for r in records] == ["Initializing", "Initialized", "Waiting", "Waiting", "Waiting"]
    assert deployment(sim, "podinfo")["spec"]["replicas"] == 0
    sim = simulation(HOOKS_CANARY, SEED / "scenario-gate-confirm-rollout.yaml", ticks=6)
    records = sim.run()
    assert records[-1].phase == "Progressing"
    assert deployment(sim, "podinfo")["spec"]["replicas"] == 2
    assert [c for c in hook_calls(sim, records) if c[2] == "confirm-rollout"] == [
        (3, "gate-rollout", "confirm-rollout", "Initialized"),
        (4, "gate-rollout", "confirm-rollout", "Waiting"),
        (5, "gate-rollout", "confirm-rollout", "Waiting"),
        (6, "gate-rollout", "confirm-rollout", "Waiting"),
    ]


def test_waiting_promotion_status_and_continued_analysis() -> None:
    """§2.7.1 / §3: WaitingPromotion has status weight 0 and iterations −1 (analysis.iterations − 1), the
    routes stay at maxWeight, and every tick still runs the rollout hook and the metrics, but not the
    traffic-increase gate."""
    records = {r["tick"]: r for r in simulate_cli(HOOKS_CANARY, SEED / "scenario-gate-promotion.yaml")}
    for tick in (9, 10):
        assert (
            records[tick]["phase"],
            records[tick]["canaryWeight"],
            records[tick]["iterations"],
            records[tick]["trafficWeight"],
        ) == ("WaitingPromotion", 0, -1, 50), tick
    assert records[11]["iterations"] == 0
    assert [(h["name"], h["ok"]) for h in records[10]["webhooks"]] == [
        ("rollback-gate", False),
        ("load-test", True),
        ("gate-promotion", False),
    ]
    assert [m["name"] for m in records[10]["metrics"]] == ["request-success-rate", "request-duration"]
    assert [(h["name"], h["ok"]) for h in records[11]["webhooks"]] == [
        ("rollback-gate", False),
        ("load-test", True),
        ("gate-promotion", True),
    ]


def test_traffic_increase_gate_rejects_after_a_passing_analysis() -> None:
    """§4.2: the analysis already ran (and passed) on a tick the traffic-increase gate holds."""
    records = {r["tick"]: r for r in simulate_cli(HOOKS_CANARY, SEED / "scenario-gate-traffic-increase.yaml")}
    for tick in (5, 6, 7):
        assert [(m["name"], m["passed"]) for m in records[tick]["metrics"]] == [
            ("request-success-rate", True),
            ("request-duration", True),
        ]
        assert [(h["name"], h["ok"]) for h in records[tick]["webhooks"]] == [
            ("rollback-gate", False),
            ("load-test", True),
            ("gate-traffic", False),
        ]


def test_manual_rollback_hook_phases_and_effect() -> None:
    """§2.9.1 / §4.2: the rollback hook is asked with the current phase; the post-rollout hook after the
    rollback with phase Failed; the primary keeps the old version and the canary is scaled to zero."""
    sim = simulation(HOOKS_CANARY, SEED / "scenario-gate-rollback.yaml")
    records = sim.run()
    calls = [c for c in hook_calls(sim, records) if c[2] in ("rollback", "post-rollout")]
    assert calls == [
        (4, "rollback-gate", "rollback", "Progressing"),
        (5, "rollback-gate", "rollback", "Progressing"),
        (6, "rollback-gate", "rollback", "Progressing"),
        (6, "post-check", "post-rollout", "Failed"),
    ]
    assert image_of(deployment(sim, "podinfo-primary")) == "quay.io/stefanprodan/podinfo:1.4.0"
    assert deployment(sim, "podinfo")["spec"]["replicas"] == 0


def test_post_rollout_hook_phase_on_success() -> None:
    sim = simulation(HOOKS_CANARY, SEED / "scenario-webhooks-healthy.yaml")
    records = sim.run()
    assert [c for c in hook_calls(sim, records) if c[2] == "post-rollout"] == [
        (11, "post-check", "post-rollout", "Succeeded")
    ]


# ----------------------------------------------------------------------------------------------- §8.4
# TestScheduler_DeploymentAnalysisPhases / TestWebhooks "canary": stepWeight 100, stepWeightPromotion 50.
PROMOTION_STEPS = [
    row(D, "Progressing", 0, 0, 0, "Confirm-rollout check confirm-rollout-webhook passed", DETECTED),
    row(
        4,
        "Progressing",
        100,
        100,
        0,
        STARTING,
        "Pre-rollout check pre-rollout-webhook passed",
        "Confirm-traffic-increase check confirm-traffic-increase-webhook passed",
        advance(100),
    ),
    row(
        5,
        "Promoting",
        100,
        100,
        0,
        "Confirm-traffic-increase check confirm-traffic-increase-webhook passed",
        "Confirm-promotion check confirm-promotion-webhook passed",
        COPYING,
    ),
    row(6, "Promoting", 50, 50, 0, "Advance podinfo.test primary weight 50"),
    row(7, "Finalising", 0, 0, 0, "Advance podinfo.test primary weight 100"),
    row(8, "Succeeded", 0, 0, 0, "Post-rollout check post-rollout-webhook passed", COMPLETED),
]


def test_promotion_steps_timeline() -> None:
    """§2.7.2: Progressing w0 → Progressing w100 → Promoting w100 → Promoting w50 → Finalising w0 → Succeeded w0."""
    records = simulate_cli(STEPS_CANARY, SEED / "scenario-healthy.yaml")
    assert_rows(records, PROMOTION_STEPS)
    assert len(records) == 8
    sim = simulation(STEPS_CANARY, SEED / "scenario-healthy.yaml")
    assert [r.as_json() for r in sim.run()] == records
    assert image_of(deployment(sim, "podinfo-primary")) == "quay.io/stefanprodan/podinfo:1.7.1"


def test_promotion_steps_hook_calls() -> None:
    """§8.4: confirm-rollout ×1 (phase Initialized), pre-rollout ×1, confirm-traffic-increase ×2, rollout ×1,
    confirm-promotion ×1 (all Progressing), post-rollout ×1 (Succeeded) — in this order."""
    sim = simulation(STEPS_CANARY, SEED / "scenario-healthy.yaml")
    records = sim.run()
    assert hook_calls(sim, records) == [
        (3, "confirm-rollout-webhook", "confirm-rollout", "Initialized"),
        (4, "pre-rollout-webhook", "pre-rollout", "Progressing"),
        (4, "confirm-traffic-increase-webhook", "confirm-traffic-increase", "Progressing"),
        (5, "rollout-webhook", "rollout", "Progressing"),
        (5, "confirm-traffic-increase-webhook", "confirm-traffic-increase", "Progressing"),
        (5, "confirm-promotion-webhook", "confirm-promotion", "Progressing"),
        (8, "post-rollout-webhook", "post-rollout", "Succeeded"),
    ]


def _decisions(monkeypatch: pytest.MonkeyPatch) -> list[Decision]:
    """Capture every Decision the simulation applies (to see the phase each event was recorded in)."""
    seen: list[Decision] = []
    real = simulation_module.run_tick

    def recording(*args: Any, **kwargs: Any) -> Decision:
        decision = real(*args, **kwargs)
        seen.append(decision)
        return decision

    monkeypatch.setattr(simulation_module, "run_tick", recording)
    return seen


def test_promotion_steps_event_phases(monkeypatch: pytest.MonkeyPatch) -> None:
    """§8.4's bracketed phases: the phase each event carries (event-webhook payloads send it)."""
    decisions = _decisions(monkeypatch)
    simulation(STEPS_CANARY, SEED / "scenario-healthy.yaml").run()
    phases = {e.message: e.phase for d in decisions for e in d.events}
    assert phases[INITIALIZED] == "Initialized"
    assert phases["Confirm-rollout check confirm-rollout-webhook passed"] == "Initialized"
    assert phases[DETECTED] == "Progressing"
    assert phases[STARTING] == "Progressing"
    assert phases["Advance podinfo.test primary weight 50"] == "Promoting"
    assert phases["Advance podinfo.test primary weight 100"] == "Promoting"
    assert phases["Post-rollout check post-rollout-webhook passed"] == "Succeeded"
    assert phases[COMPLETED] == "Succeeded"
    assert all(e.type == "Normal" for d in decisions for e in d.events if e.message != PRIMARY_FRESH)


def test_promotion_steps_full_event_stream() -> None:
    """§8.4 word for word, from creation to Succeeded (Flagger's fake-client primary message replaced by the
    one a real API server gives, which cronary documents in docs/differences-from-flagger.md)."""
    records = simulate_cli(STEPS_CANARY, SEED / "scenario-healthy.yaml")
    stream = [e for r in records for e in r["events"]]
    assert stream == [
        PROVIDERS_OK,
        PRIMARY_FRESH,
        PROVIDERS_OK,
        INITIALIZED,
        "Confirm-rollout check confirm-rollout-webhook passed",
        DETECTED,
        STARTING,
        "Pre-rollout check pre-rollout-webhook passed",
        "Confirm-traffic-increase check confirm-traffic-increase-webhook passed",
        advance(100),
        "Confirm-traffic-increase check confirm-traffic-increase-webhook passed",
        "Confirm-promotion check confirm-promotion-webhook passed",
        COPYING,
        "Advance podinfo.test primary weight 50",
        "Advance podinfo.test primary weight 100",
        "Post-rollout check post-rollout-webhook passed",
        COMPLETED,
    ]
