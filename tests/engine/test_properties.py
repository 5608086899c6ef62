"""Property tests of the state machine: random Canaries and random tick-by-tick scenarios.

Each example plays a scenario through `engine.tick.decide` (driven by `cronjob.shared.driver.run_tick`) against
`cronjob.local.simulation.SimulatedCluster`, like `cronary simulate` does, and checks after every tick:

* every rendered TrafficSplit has two backends with integer weights 0..100 summing to exactly 100;
* the routed canary weight stays within what the rules allow (stepWeight/maxWeight/stepWeights, §2.6);
* a weight only rises on a Progressing tick whose canary was ready and whose analysis passed;
* at most one decision per interval: deciding again at the same `now` (or at now + interval - 1s) with the
  resulting status and cluster changes nothing;
* a new revision (detection or restart) resets failedChecks, canaryWeight and iterations;
* every phase change is a move of `engine.phases.TRANSITIONS`;
* every hook is asked in a phase its type's row (`engine.hooks.HOOK_TYPES`) names;
* the same inputs give byte-identical outputs.

Hypothesis runs derandomized and without an example database, so CI is reproducible.
"""

from __future__ import annotations

import copy
import itertools
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings

from cronjob.local.inputs import build_cluster, cluster_objects
from cronjob.local.simulation import SimulatedCluster
from cronjob.shared.driver import run_tick
from cronjob.shared.yamlio import load_single
from engine import Decision, HookRequest, HookResult, MetricRequest, Settings, decide
from engine.analysis import NO_VALUES, MetricResult
from engine.canary_spec import parse_canary
from engine.cluster import ClusterView
from engine.hashing import pod_template_hash
from engine.hooks import HOOK_TYPES as HOOK_TYPE_ROWS
from engine.hooks import HookType
from engine.model import Canary
from engine.phases import TRANSITIONS, Phase
from engine.schedule import interval_seconds
from engine.status_doc import canary_manifest, status_manifest
from engine.targets.deployment import deployment_readiness
from engine.timefmt import format_time
from harness.paths import SEED
from harness.strategies import HOOK_TYPES, METRIC_VALUES, TickPlan, build_plans, canaries_and_scenarios, hook_name

SEED_CANARY = load_single(str(SEED / "podinfo-canary.yaml"))
SEED_CLUSTER: ClusterView = build_cluster(cluster_objects(str(SEED / "cluster.yaml")))
SETTINGS = Settings(mesh_provider="smi:istio")
START = datetime(2026, 11, 27, 10, 0, 0, tzinfo=UTC)


ANALYSIS_PHASES = (Phase.PROGRESSING.value, Phase.WAITING_PROMOTION.value)
ANALYSIS_HOOK_TYPES = (HookType.PRE_ROLLOUT.value, HookType.ROLLOUT.value, HookType.CONFIRM_TRAFFIC_INCREASE.value)


class PropertyViolation(AssertionError):
    pass


# ------------------------------------------------------------------------------------------ harness
def _gap_seconds(gap: str, interval: float) -> float:
    return {"on-time": interval, "duplicate": 0.0, "early": math.floor(interval / 2), "late": 3 * interval + 7}[gap]


def _hook_answer(plan: TickPlan):
    def answer(request: HookRequest) -> HookResult:
        phase, row = request.payload["phase"], HOOK_TYPE_ROWS[request.hook.type]
        if phase not in {p.value for p in row.phases}:
            raise PropertyViolation(f"{request.hook.type.value} hook {request.hook.name} asked in phase {phase!r}")
        default = request.hook.type != HookType.ROLLBACK  # a rollback hook's 2xx asks for a rollback
        ok = (not default) if request.hook.name in plan.flipped_hooks else default
        return HookResult(ok, "" if ok else "simulated failure (HTTP 500)")

    return answer


def _metric_answer(plan: TickPlan):
    def answer(requests: tuple[MetricRequest, ...]) -> Mapping[str, MetricResult]:
        out = {}
        for request in requests:
            value = METRIC_VALUES[request.metric.name][plan.metrics.get(request.metric.name, "pass")]
            out[request.metric.name] = MetricResult(value, None) if value is not None else MetricResult(None, NO_VALUES)
        return out

    return answer


def routed_weight(canary: Canary, objects: Mapping[tuple[str, str, str], Mapping[str, Any]]) -> int | None:
    """The canary backend's weight in the TrafficSplit held by the (simulated) cluster."""
    split = objects.get(("TrafficSplit", canary.namespace, canary.spec.apex_name))
    if split is None:
        return None
    return split_weights(split)[f"{canary.spec.apex_name}-canary"]


def split_weights(split: Mapping[str, Any]) -> dict[str, int]:
    """Backend weights of a TrafficSplit as ints, asserting the SMI typing rules on the way."""
    version = str(split["apiVersion"]).rsplit("/", 1)[-1]
    out: dict[str, int] = {}
    for backend in split["spec"]["backends"]:
        raw = backend["weight"]
        if version == "v1alpha1":
            if not (isinstance(raw, str) and raw.isdigit()):
                raise PropertyViolation(f"v1alpha1 weight must be a Quantity string of digits, got {raw!r}")
            value = int(raw)
        else:
            if isinstance(raw, bool) or not isinstance(raw, int):
                raise PropertyViolation(f"{version} weight must be an integer, got {raw!r}")
            value = raw
        out[str(backend["service"])] = value
    return out


def max_reachable_weight(canary: Canary) -> int:
    """The highest canary weight the step rules can produce (§2.6, including the stepWeight overshoot)."""
    analysis = canary.spec.effective_analysis
    if analysis.step_weight > 0:
        step, top = analysis.step_weight, analysis.max_weight
        return min(100, math.ceil(top / step) * step)
    if analysis.step_weights:
        return min(100, max(analysis.step_weights))
    return 0


def legal_analysis_weights(canary: Canary) -> set[int]:
    """Weights a canary may be routed while in Progressing/WaitingPromotion."""
    analysis = canary.spec.effective_analysis
    if analysis.step_weight > 0:
        step = analysis.step_weight
        return {min(100, k * step) for k in range(0, 101)} & set(range(0, max_reachable_weight(canary) + 1))
    return {0} | {min(100, w) for w in analysis.step_weights}


def phases_reachable(before: Phase, discovered: bool) -> set[Phase]:
    nexts = {to for (frm, _), to in TRANSITIONS.items() if frm == before}
    reach = {before} | nexts
    if discovered:
        reach |= {Phase.INITIALIZING} | {to for (frm, _), to in TRANSITIONS.items() if frm == Phase.INITIALIZING}
    return reach


def _decision_dump(decision: Decision) -> str:
    """Everything a tick outputs, as bytes to compare (no sort_keys: dict order must be stable too)."""
    return json.dumps(
        {
            "due": decision.due,
            "next_due": decision.next_due,
            "objects": list(decision.objects),
            "status": status_manifest(decision.status),
            "events": [[e.type, e.message, e.phase, e.reason] for e in decision.events],
            "logs": list(decision.logs),
            "secret_copies": [list(c) for c in decision.secret_copies],
            "weight": decision.canary_weight,
        }
    )


@dataclass
class Outcome:
    trace: list[str]
    phases: list[str]
    weights: list[int | None]


def play(doc: Mapping[str, Any], plans: tuple[TickPlan, ...], *, check: bool = True) -> Outcome:
    """Play `plans` tick by tick; with `check`, assert every per-tick property (PropertyViolation)."""
    canary = parse_canary(copy.deepcopy(dict(doc)))
    cluster = SimulatedCluster.of(SEED_CLUSTER)
    ns, target_name = canary.namespace, canary.spec.target_ref.name
    primary_names = {(ns, f"{target_name}-primary")}
    interval = interval_seconds(canary)
    now = START
    last_acted: datetime | None = None
    last_weight_change: datetime | None = None
    trace: list[str] = []
    phases: list[str] = []
    weights: list[int | None] = []
    history: list[dict[str, Any]] = []

    for index, plan in enumerate(plans, start=1):
        if index > 1:
            now = now + timedelta(seconds=_gap_seconds(plan.gap, interval))
        cluster.progress_rollouts(now, primary_names)
        if plan.ready is not None:
            cluster.ready.update(plan.ready)
        if plan.image is not None:
            cluster.set_image(ns, target_name, plan.image, now, "scenario")
        view = cluster.view()
        before = canary
        weight_before = routed_weight(before, view.objects)
        decision = run_tick(before, view, now, SETTINGS, _hook_answer(plan), _metric_answer(plan))
        trace.append(_decision_dump(decision))
        cluster.apply(decision, now)
        canary = parse_canary(canary_manifest(before, decision.status))
        weight_after = routed_weight(canary, cluster.objects)
        phases.append(decision.status.phase)
        weights.append(weight_after)
        history.append(
            {
                "tick": index,
                "time": decision.now,
                "plan": plan.describe(),
                "phase": decision.status.phase,
                "status.canaryWeight": decision.status.canary_weight,
                "routed": weight_after,
                "events": [e.message for e in decision.events],
            }
        )
        if not check:
            continue

        def fail(message: str) -> None:
            lines = "\n".join(json.dumps(h) for h in history)
            raise PropertyViolation(f"tick {index}: {message}\n--- ticks so far ---\n{lines}")  # noqa: B023 (called in this iteration)

        acted = decision.due and decision.status.last_decision_time == decision.now
        # -- not-due ticks do nothing at all
        if not decision.due:
            if decision.events or decision.objects or decision.status != before.status:
                fail("a tick that was not due produced events, objects or a status change")
            if last_acted is not None and now >= last_acted + timedelta(seconds=interval):
                fail(f"not due at {decision.now} although the last decision was at {format_time(last_acted)}")
        if acted:
            if last_acted is not None and now - last_acted < timedelta(seconds=interval):
                fail(
                    f"two decisions within one interval ({format_time(last_acted)} and {decision.now}, interval {interval}s)"
                )
            last_acted = now

        # -- TrafficSplits: two backends, integer weights 0..100, summing to 100
        for obj in decision.objects:
            if obj.get("kind") != "TrafficSplit":
                continue
            try:
                ws = split_weights(obj)
            except PropertyViolation as err:
                fail(str(err))
            if len(ws) != 2 or any(not 0 <= w <= 100 for w in ws.values()) or sum(ws.values()) != 100:
                fail(f"TrafficSplit backend weights {ws} are not two weights 0..100 summing to 100")

        old = weight_before or 0
        new = weight_after or 0
        phase_after = decision.status.phase
        messages = [e.message for e in decision.events]
        failed_promotion = any(m.startswith(f"Promotion of {target_name}.{ns} failed") for m in messages)

        # -- at most one weight change per interval
        if new != old:
            if last_weight_change is not None and now - last_weight_change < timedelta(seconds=interval):
                fail(
                    f"routed weight changed twice within one interval ({format_time(last_weight_change)} and {decision.now})"
                )
            last_weight_change = now

        # -- weights only rise after a ready canary passed its analysis, by the rules of §2.6
        if new > old:
            target_before = view.get("Deployment", ns, target_name) or {}
            ready = deployment_readiness(
                target_before,
                ready_threshold=before.spec.effective_analysis.canary_ready_threshold,
                progress_deadline_seconds=before.spec.progress_deadline_seconds,
                now=now,
            )
            if not ready.ready:
                fail(f"routed weight rose {old} -> {new} although the canary was not ready ({ready.reason})")
            if failed_promotion:
                if new != 100:
                    fail(f"failed promotion routed {new} to the canary (expected 100)")
            else:
                analysis = before.spec.effective_analysis
                if f"Advance {canary.key} canary weight {new}" not in messages:
                    fail(f"routed weight rose {old} -> {new} without an 'Advance ... canary weight {new}' event")
                if before.status.phase != Phase.PROGRESSING.value or phase_after != Phase.PROGRESSING.value:
                    fail(
                        f"routed weight rose {old} -> {new} on a {before.status.phase or '(none)'} -> {phase_after} tick"
                    )
                failed_hooks = [h.name for h in decision.hooks if h.type in ANALYSIS_HOOK_TYPES and not h.ok]
                failed_metrics = [v.metric for v in decision.verdicts if not v.passed]
                halts = [m for m in messages if m.startswith("Halt ")]
                if failed_hooks or failed_metrics or halts:
                    fail(
                        f"routed weight rose {old} -> {new} although the analysis failed ({failed_hooks} {failed_metrics} {halts})"
                    )
                starting = any(m.startswith("Starting canary analysis") for m in messages)
                if not starting and len(decision.verdicts) != len(analysis.metrics):
                    fail(
                        f"routed weight rose {old} -> {new} with {len(decision.verdicts)} of {len(analysis.metrics)} metrics evaluated"
                    )
                if old >= analysis.max_weight:
                    fail(
                        f"routed weight rose {old} -> {new} although it was already at maxWeight {analysis.max_weight}"
                    )
                if analysis.step_weight > 0:
                    if new != min(100, old + analysis.step_weight):
                        fail(f"stepWeight {analysis.step_weight}: routed weight rose {old} -> {new}")
                elif analysis.step_weights and new not in analysis.step_weights:
                    fail(f"stepWeights {list(analysis.step_weights)}: routed weight rose {old} -> {new}")
                if decision.status.last_applied_spec != pod_template_hash(target_before["spec"]["template"]) and (
                    pod_template_hash(target_before["spec"]["template"]) != decision.status.last_promoted_spec
                ):
                    fail("traffic advanced for a target revision that is neither the analysed nor the promoted one")

        # -- bounds on the routed weight
        if phase_after == Phase.FAILED.value:
            if failed_promotion:
                # §2.9.2: all traffic to the canary; cronary only does that when the canary is ready, and otherwise
                # leaves the routes where they were (neither side is ready, so moving traffic helps no one).
                if new not in (100, old):
                    fail(f"failed promotion routed {new} to the canary (100, or unchanged from {old})")
            elif any(m.startswith("Canary failed!") for m in messages):
                if new != 0:
                    fail(f"rollback left {new} routed to the canary")
            elif new != old:
                fail(f"a Failed canary's routed weight moved {old} -> {new} without a new revision")
        elif weight_after is not None:
            top = max_reachable_weight(canary)
            if phase_after in ANALYSIS_PHASES and new not in legal_analysis_weights(canary):
                fail(f"{phase_after} canary routed {new}, outside {sorted(legal_analysis_weights(canary))}")
            if new > top and not (old == 100 and new == 100 and phase_after not in ANALYSIS_PHASES):
                fail(f"routed canary weight {new} exceeds the most the rules allow ({top})")

        # -- a new revision resets the counters
        if any(m.startswith("New revision detected!") for m in messages):
            st_ = decision.status
            if (st_.failed_checks, st_.canary_weight, st_.iterations) != (0, 0, 0):
                fail(
                    f"new revision did not reset failedChecks/canaryWeight/iterations: {(st_.failed_checks, st_.canary_weight, st_.iterations)}"
                )
            if new != 0:
                # Flagger leaves the routes alone on the detection tick because they are 100/0 there anyway;
                # a new, not yet analysed (and not yet rolled out) revision must never keep live traffic.
                fail(f"new revision detected with {new} still routed to the canary (status.canaryWeight says 0)")

        # -- phase changes follow the transition table
        try:
            phase_before = Phase(before.status.phase)
            phase_now = Phase(phase_after)
        except ValueError as err:
            fail(str(err))
        if phase_now not in phases_reachable(phase_before, before.status.conditions is None):
            fail(f"phase {phase_before.value or '(none)'} -> {phase_now.value} is not in TRANSITIONS")

        # -- idempotence: the same `now` again, with the written status and the applied cluster
        if decision.due:
            again_cluster = copy.deepcopy(cluster)
            again = run_tick(canary, again_cluster.view(), now, SETTINGS, _hook_answer(plan), _metric_answer(plan))
            if acted and again.due:
                fail("deciding again at the same now is due although this tick decided")
            if again.events:
                fail(f"deciding again at the same now emitted {[e.message for e in again.events]}")
            if status_manifest(again.status) != status_manifest(decision.status):
                fail(
                    f"deciding again at the same now changed the status: {status_manifest(decision.status)} -> {status_manifest(again.status)}"
                )
            if again.due:
                snapshot = copy.deepcopy(again_cluster.objects)
                again_cluster.apply(again, now)
                if again_cluster.objects != snapshot:
                    changed = sorted(
                        k
                        for k in set(snapshot) | set(again_cluster.objects)
                        if snapshot.get(k) != again_cluster.objects.get(k)
                    )
                    fail(f"deciding again at the same now changed objects {changed}")
            if acted:
                early = now + timedelta(seconds=interval) - timedelta(seconds=1)
                soon = decide(canary, cluster.view(), early, SETTINGS)
                if not isinstance(soon, Decision) or soon.due:
                    fail(f"due again at {format_time(early)}, before one interval ({interval}s) passed")
                if soon.events or soon.objects:
                    fail("a not-due decision carries events or objects")

    return Outcome(trace, phases, weights)


# ------------------------------------------------------------------------------------------ tests
@settings(max_examples=150)
@given(canaries_and_scenarios(SEED_CANARY))
def test_every_tick_keeps_the_invariants(case: tuple[dict[str, Any], tuple[TickPlan, ...]]) -> None:
    doc, plans = case
    play(doc, plans)


@settings(max_examples=100)
@given(canaries_and_scenarios(SEED_CANARY, all_hooks=True))
def test_every_tick_keeps_the_invariants_with_every_gate(case: tuple[dict[str, Any], tuple[TickPlan, ...]]) -> None:
    """The same properties with one webhook of every type, manual gates held closed for a while."""
    doc, plans = case
    play(doc, plans)


@settings(max_examples=60)
@given(canaries_and_scenarios(SEED_CANARY, max_ticks=20))
def test_same_inputs_give_byte_identical_outputs(case: tuple[dict[str, Any], tuple[TickPlan, ...]]) -> None:
    doc, plans = case
    first = play(doc, plans, check=False)
    second = play(copy.deepcopy(doc), plans, check=False)
    assert first.trace == second.trace


def _healthy(n: int, **at: TickPlan) -> tuple[TickPlan, ...]:
    return tuple(at.get(f"t{i}", TickPlan()) for i in range(1, n + 1))


def _doc(**analysis: Any) -> dict[str, Any]:
    doc = copy.deepcopy(dict(SEED_CANARY))
    block = doc["spec"]["canaryAnalysis"]
    for key in ("stepWeight", "maxWeight", "stepWeights"):
        block.pop(key, None)
    block.update(analysis)
    return doc


@pytest.mark.parametrize(
    ("analysis", "expected"),
    [
        pytest.param({"stepWeight": 10, "maxWeight": 50}, [10, 20, 30, 40, 50], id="seed-step10-max50"),
        pytest.param({"stepWeight": 20, "maxWeight": 50}, [20, 40, 60], id="step20-max50-overshoots-to-60"),
        pytest.param({"stepWeights": [1, 2, 10, 80]}, [1, 2, 10, 80], id="stepWeights-1-2-10-80"),
        pytest.param({"stepWeights": [1, 2, 10, 100]}, [1, 2, 10, 100], id="stepWeights-1-2-10-100"),
        pytest.param({"stepWeight": 50, "maxWeight": 100}, [50, 100], id="step50-max100"),
    ],
)
def test_healthy_rollout_walks_the_documented_weights(analysis: dict[str, Any], expected: list[int]) -> None:
    """§2.6's examples end to end, with every per-tick property checked on the way."""
    plans = _healthy(20, t3=TickPlan(image="quay.io/stefanprodan/podinfo:1.7.1"))
    outcome = play(_doc(**analysis), plans)
    rises: list[int] = []
    for w in outcome.weights:
        if w and (not rises or w > rises[-1]):
            rises.append(w)
    assert rises == expected
    assert outcome.phases[-1] == "Succeeded"


def test_duplicate_and_late_jobs_never_skip_a_step() -> None:
    """Duplicated Jobs at the same instant decide once; a late Job advances one step, not several."""
    plans = list(_healthy(16, t3=TickPlan(image="quay.io/stefanprodan/podinfo:1.7.1")))
    for i in (5, 7, 9):
        plans[i] = TickPlan(gap="duplicate")
    plans[11] = TickPlan(gap="late")
    outcome = play(_doc(stepWeight=10, maxWeight=50), tuple(plans))
    seen = [w for w in outcome.weights if w is not None]
    for a, b in itertools.pairwise(seen):
        assert b - a <= 10


def test_failing_metrics_roll_back_at_the_threshold() -> None:
    """§8.3-like: success rate failing from weight 10 on, threshold 5 → Failed, all traffic on the primary."""
    bad = {"request-success-rate": "fail"}
    plans = _healthy(20, t3=TickPlan(image="quay.io/stefanprodan/podinfo:1.7.1"), t5=TickPlan(metrics=bad))
    plans = plans[:5] + tuple(TickPlan(metrics=bad) for _ in plans[5:])
    outcome = play(_doc(stepWeight=10, maxWeight=50), plans)
    assert "Failed" in outcome.phases
    assert outcome.weights[outcome.phases.index("Failed")] == 0


def _all_hooks(doc: dict[str, Any]) -> dict[str, Any]:
    doc["spec"]["canaryAnalysis"]["webhooks"] = [
        {"name": hook_name(t), "type": t, "url": "http://flagger-loadtester.test/"} for t in HOOK_TYPES
    ]
    return doc


NEW_IMAGE = "quay.io/stefanprodan/podinfo:1.7.1"


@pytest.mark.parametrize(
    ("gate", "closed_from", "phase"),
    [
        pytest.param("confirm-rollout", 3, "Waiting", id="confirm-rollout-closed-waits"),
        pytest.param("confirm-traffic-increase", 5, "Progressing", id="confirm-traffic-increase-closed-holds"),
        pytest.param("confirm-promotion", 5, "WaitingPromotion", id="confirm-promotion-closed-waits-for-promotion"),
    ],
)
def test_closed_gates_hold_then_release(gate: str, closed_from: int, phase: str) -> None:
    doc = _all_hooks(_doc(stepWeight=50, maxWeight=100))
    plans = build_plans(20, 3, [("hook", closed_from, hook_name(gate), 5)])
    outcome = play(doc, plans)
    assert phase in outcome.phases[closed_from - 1 : closed_from + 4]
    assert outcome.phases[-1] == "Succeeded"


def test_new_revision_after_a_failed_promotion_starts_from_zero_traffic() -> None:
    """§2.9.2 leaves 100 % on the canary after a failed promotion; a *new* revision detected afterwards must
    not inherit that traffic while it rolls out (nor be promoted after a single analysis at 100 %)."""
    doc = _doc(stepWeight=50, maxWeight=100)
    # 3: new revision; 4: w50; 5: w100; 6: promote; primary rollout stuck 6..13 → failed promotion at 13 (w100);
    # the primary recovers, then a new revision arrives at 18.
    plans = build_plans(24, 3, [("ready", 6, "primary", 8), ("image", 18, "quay.io/stefanprodan/podinfo:1.8.0")])
    play(doc, plans)


def test_failed_promotion_with_a_rolling_canary_keeps_the_routes() -> None:
    """Found by the property search: the primary's promotion rollout passes its deadline while the target is
    rolling out a new image. Flagger (§2.9.2) would send 100 % to the unready canary; cronary keeps 98/2."""
    doc = _doc(stepWeights=[1, 2])
    plans = build_plans(20, 3, [("ready", 6, "primary", 8), ("image", 13, "quay.io/stefanprodan/podinfo:1.8.0")])
    outcome = play(doc, plans)
    assert outcome.phases[12] == "Failed" and outcome.weights[12] == 2


@pytest.mark.parametrize(
    ("promotion_step", "image_at", "stuck_phase"),
    [
        pytest.param(10, 7, "Promoting", id="stuck-in-Promoting"),
        pytest.param(0, 8, "Finalising", id="stuck-in-Finalising"),
    ],
)
def test_canary_stuck_after_promotion_fails_cleanly(promotion_step: int, image_at: int, stuck_phase: str) -> None:
    """Found by the property search: a target rollout started after the promotion copy (Flagger does not
    detect changes in Promoting/Finalising, §2.4.3) passes its progress deadline. Step 20 then rolls back
    (Flagger's `rollback` from any phase past step 18); the tick must not crash on an illegal transition."""
    doc = _doc(stepWeight=50, maxWeight=100, stepWeightPromotion=promotion_step)
    plans = build_plans(
        20, 3, [("image", image_at, "quay.io/stefanprodan/podinfo:1.8.0"), ("ready", image_at, "target", 12)]
    )
    outcome = play(doc, plans)
    assert stuck_phase in outcome.phases
    assert outcome.phases[-1] == "Failed"
    assert outcome.weights[-1] == 0


def test_strategies_generate_valid_canaries() -> None:
    """Every generated Canary parses (a strategy bug must not hide behind a SpecError)."""

    @settings(max_examples=50)
    @given(canaries_and_scenarios(SEED_CANARY, max_ticks=8))
    def inner(case: tuple[dict[str, Any], tuple[TickPlan, ...]]) -> None:
        parse_canary(case[0])

    inner()


def test_helpers_agree_with_hand_computed_bounds() -> None:
    c = parse_canary(_doc(stepWeight=20, maxWeight=50))
    assert max_reachable_weight(c) == 60
    assert legal_analysis_weights(c) == {0, 20, 40, 60}
    c = parse_canary(_doc(stepWeights=[5, 30]))
    assert max_reachable_weight(c) == 30
    assert legal_analysis_weights(c) == {0, 5, 30}
