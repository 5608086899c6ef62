"""Decisions per second of the pure engine, on one core.

Run from the repository root:

    .venv/bin/python bench/bench_engine.py            # full run (about a minute)
    .venv/bin/python bench/bench_engine.py --quick    # fewer repetitions, for a smoke check
    .venv/bin/python bench/bench_engine.py --profile  # also cProfile the 1,000-canary pass

A "decision" is one full `cronjob.shared.driver.run_tick`: every `engine.tick.decide` call of the tick, including
the `Pending` round trips, answered from memory (every hook passes, metrics are healthy constants). No
YAML parsing, no I/O and no cluster copying happens inside the timed region: the canaries are parsed once
with `engine.canary_spec.parse_canary` and the ClusterView is built before the clock starts (except in
the fleet's memory figure, which includes building the view).

The engine states are reached by playing the seed rollout (fixtures/seed/) through `cronjob.local.simulation`,
so the canary status, the generated objects (primary Deployment, Services, HPA, TrafficSplit) and the
Deployment rollout status are exactly what the engine itself produced; nothing is hand-written.

Cases:
  progressing  the seed canary at tick 5 of scenario-healthy: Progressing at weight 10, one rollout hook
               (load-test) and two metrics judged, weight advanced to 20. 1 decide() call: run_tick answers
               the hook where the tick asks for it (decide's `answer`).
  idle         the seed canary after the rollout: Succeeded, nothing changed. 1 decide() call.
  not-due      the tick-5 canary asked 5 s after its last decision (interval 10 s). 1 decide() call.
  fleet        1,000 distinct canaries (own names and namespaces, each with its own target Deployment,
               primary, HPA, Services and TrafficSplit, all in one ClusterView), each at the tick-5
               Progressing state, decided once each in one pass. Also timed (not in the table) with fresh
               objects before every pass, as cluster mode reads them: every Canary parsed again and every
               manifest a new dict, so nothing kept on the objects of an earlier pass can help (values
               remembered by value, as lru_cache does, still can: they would in cluster mode too).
  parse        the fleet's 1,000 Canary manifests (with their status) through `parse_canary`, as every
               cluster tick does for every listed Canary before its first decision (not in the table: no
               decision is made).

The process pins itself to one CPU (os.sched_setaffinity) because the engine is single-threaded. Timings
are wall-clock (time.perf_counter) with the garbage collector left on, as in production; every case is
repeated and min / median reported. The machine is shared and noisy: trust the min most.
"""

from __future__ import annotations

import argparse
import copy
import cProfile
import dataclasses
import gc
import io
import os
import platform
import pstats
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from cronjob.local.inputs import build_cluster, cluster_objects, default_hook_result, read_scenario
from cronjob.local.simulation import SimulatedCluster, Simulation
from cronjob.shared.driver import run_tick
from cronjob.shared.yamlio import load_single
from engine import Decision, HookRequest, HookResult, MetricRequest, Settings
from engine.analysis import MetricResult
from engine.canary_spec import parse_canary
from engine.cluster import ClusterView
from engine.model import Canary
from engine.status_doc import canary_manifest

SEED = ROOT / "fixtures" / "seed"
CANARY_FILE = SEED / "podinfo-canary.yaml"
CLUSTER_FILE = SEED / "cluster.yaml"
SCENARIO_FILE = SEED / "scenario-healthy.yaml"
SETTINGS = Settings(mesh_provider="smi:istio")
PROGRESSING_TICK = 5  # tick 5 of scenario-healthy: Progressing 10 -> 20 with hook + 2 metrics
FLEET_SIZE = 1000

# --------------------------------------------------------------------------------------------- answers
_HOOK_OK = HookResult(True)
_METRICS = {"request-success-rate": MetricResult(99.5), "request-duration": MetricResult(120.0)}


def answer_hook(request: HookRequest) -> HookResult:
    return default_hook_result(request.hook.type)


def answer_metrics(requests: tuple[MetricRequest, ...]) -> Mapping[str, MetricResult]:
    return {r.metric.name: _METRICS[r.metric.name] for r in requests}


# --------------------------------------------------------------------------------------------- states
@dataclasses.dataclass
class State:
    """One canary's inputs to a tick: everything `run_tick` needs."""

    canary: Canary
    objects: dict[tuple[str, str, str], dict[str, Any]]
    now: datetime

    def view(self) -> ClusterView:
        return ClusterView(objects=self.objects, secrets={})


def _renamed_inputs(name: str, namespace: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The seed Canary and cluster with the workload called `name` in `namespace` (structured, not textual)."""
    canary_doc = copy.deepcopy(_SEED_CANARY_DOC)
    canary_doc["metadata"].update(name=name, namespace=namespace)
    canary_doc["spec"]["targetRef"]["name"] = name
    canary_doc["spec"]["autoscalerRef"]["name"] = name
    objects = copy.deepcopy(_SEED_OBJECTS)
    for obj in objects:
        meta = obj["metadata"]
        if obj["kind"] == "Namespace":
            meta["name"] = namespace
            continue
        meta.update(name=name, namespace=namespace)
        if obj["kind"] == "Deployment":
            meta["labels"]["app"] = name
            obj["spec"]["selector"]["matchLabels"]["app"] = name
            obj["spec"]["template"]["metadata"]["labels"]["app"] = name
        elif obj["kind"] == "HorizontalPodAutoscaler":
            obj["spec"]["scaleTargetRef"]["name"] = name
    return canary_doc, objects


_SEED_CANARY_DOC: dict[str, Any] = load_single(str(CANARY_FILE))
_SEED_OBJECTS: list[dict[str, Any]] = cluster_objects(str(CLUSTER_FILE))
_SCENARIO = read_scenario(str(SCENARIO_FILE))


def play(canary_doc: Mapping[str, Any], objects: list[Mapping[str, Any]], ticks: int) -> tuple[Simulation, datetime]:
    """Play `ticks` ticks of scenario-healthy; return the simulation and the next tick's time (rollouts progressed)."""
    canary = parse_canary(canary_doc)
    scenario = dataclasses.replace(_SCENARIO, ticks=ticks)
    sim = Simulation(canary, SimulatedCluster.of(build_cluster(objects)), scenario, SETTINGS, str(SCENARIO_FILE))
    records = sim.run()
    assert len(records) == ticks, f"the rollout ended after {len(records)} ticks, expected {ticks}"
    now = scenario.start + timedelta(seconds=canary.spec.effective_analysis.interval_seconds * ticks)
    sim.cluster.progress_rollouts(now, {(canary.namespace, f"{canary.spec.target_ref.name}-primary")})
    return sim, now


def progressing_state(name: str = "podinfo", namespace: str = "test") -> State:
    canary_doc, objects = _renamed_inputs(name, namespace)
    sim, now = play(canary_doc, objects, PROGRESSING_TICK - 1)
    return State(sim.canary, sim.cluster.view().objects, now)  # type: ignore[arg-type]


def idle_state() -> State:
    canary_doc, objects = _renamed_inputs("podinfo", "test")
    sim, now = play(canary_doc, objects, 11)
    assert sim.canary.status.phase == "Succeeded", sim.canary.status.phase
    return State(sim.canary, sim.cluster.view().objects, now)  # type: ignore[arg-type]


def not_due_state() -> State:
    state = progressing_state()
    return State(state.canary, state.objects, state.now - timedelta(seconds=5))


def fleet_states(size: int = FLEET_SIZE) -> list[State]:
    """`size` distinct canaries: 100 namespaces `team-00`..`team-99`, each holding size/100 workloads."""
    per_ns = max(1, size // 100)
    return [progressing_state(f"app-{i:04d}", f"team-{i // per_ns:02d}") for i in range(size)]


# --------------------------------------------------------------------------------------------- checks
def check_progressing(decision: Decision) -> None:
    assert decision.due and decision.status.phase == "Progressing", decision.status.phase
    assert decision.status.canary_weight == 20 and decision.canary_weight == 20, decision.status.canary_weight
    assert [v.passed for v in decision.verdicts] == [True, True], decision.verdicts
    assert [h.name for h in decision.hooks] == ["load-test"], decision.hooks
    assert [e.message for e in decision.events][-1].endswith("canary weight 20"), decision.events


def check_idle(decision: Decision) -> None:
    assert decision.due and decision.status.phase == "Succeeded" and not decision.events, decision.events
    assert not decision.status_changed


def check_not_due(decision: Decision) -> None:
    assert not decision.due and decision.next_due is not None


def count_decide_calls(state: State) -> int:
    import engine.tick as tick_module

    calls = 0
    real = tick_module.decide

    def counting(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        return real(*args, **kwargs)

    import cronjob.shared.driver as driver_module

    driver_module.decide = counting  # type: ignore[assignment]
    try:
        run_tick(state.canary, state.view(), state.now, SETTINGS, answer_hook, answer_metrics)
    finally:
        driver_module.decide = real  # type: ignore[assignment]
    return calls


# --------------------------------------------------------------------------------------------- timing
@dataclasses.dataclass
class Timing:
    case: str
    decisions_per_rep: int
    decide_calls: int  # decide() calls per decision
    seconds: list[float]  # one wall time per repetition, for `decisions_per_rep` decisions

    @property
    def per_decision_us(self) -> tuple[float, float]:
        per = [s / self.decisions_per_rep * 1e6 for s in self.seconds]
        return min(per), statistics.median(per)

    @property
    def rate(self) -> tuple[float, float]:
        """(best, median) decisions per second."""
        rates = [self.decisions_per_rep / s for s in self.seconds]
        return max(rates), statistics.median(rates)


def time_single(case: str, state: State, check: Callable[[Decision], None], loops: int, reps: int) -> Timing:
    view = state.view()
    canary, now = state.canary, state.now
    check(run_tick(canary, view, now, SETTINGS, answer_hook, answer_metrics))
    for _ in range(min(loops, 200)):  # warm-up
        run_tick(canary, view, now, SETTINGS, answer_hook, answer_metrics)
    seconds = []
    for _ in range(reps):
        start = time.perf_counter()
        for _ in range(loops):
            run_tick(canary, view, now, SETTINGS, answer_hook, answer_metrics)
        seconds.append(time.perf_counter() - start)
    return Timing(case, loops, count_decide_calls(state), seconds)


def fleet_view(states: list[State]) -> ClusterView:
    objects: dict[tuple[str, str, str], Any] = {}
    for state in states:
        objects.update(state.objects)
    return ClusterView(objects=objects, secrets={})


def fleet_manifests(states: list[State]) -> list[dict[str, Any]]:
    return [obj for state in states for obj in state.objects.values()]


def decide_fleet(states: list[State], view: ClusterView) -> list[Decision]:
    return [run_tick(s.canary, view, s.now, SETTINGS, answer_hook, answer_metrics) for s in states]


def time_fleet(states: list[State], reps: int) -> Timing:
    view = ClusterView.of(fleet_manifests(states))
    for decision in decide_fleet(states, view):  # warm-up and correctness
        check_progressing(decision)
    seconds = []
    for _ in range(reps):
        start = time.perf_counter()
        decisions = decide_fleet(states, view)
        seconds.append(time.perf_counter() - start)
        del decisions
    return Timing(f"fleet of {len(states):,} (one pass)", len(states), count_decide_calls(states[0]), seconds)


def fresh_fleet(states: list[State]) -> tuple[list[State], ClusterView]:
    """The fleet as a new pass of cluster mode reads it: every Canary parsed again from its manifest and every
    object a new dict, equal in value to the originals but sharing no object with them."""
    fresh = [
        State(parse_canary(canary_manifest(s.canary, s.canary.status)), copy.deepcopy(s.objects), s.now) for s in states
    ]
    return fresh, ClusterView.of(fleet_manifests(fresh))


def time_fleet_fresh(states: list[State], reps: int) -> list[float]:
    """One pass over fresh objects per repetition (built, and the garbage of building them collected, before
    the clock starts). The decisions must equal those of the same fleet decided from the original objects."""
    expected = decide_fleet(states, ClusterView.of(fleet_manifests(states)))
    seconds = []
    for rep in range(reps):
        fresh, view = fresh_fleet(states)
        gc.collect()
        start = time.perf_counter()
        decisions = decide_fleet(fresh, view)
        seconds.append(time.perf_counter() - start)
        if rep == 0:
            assert decisions == expected, "fresh objects decided differently"
        del decisions, fresh, view
    return seconds


def time_parse(states: list[State], reps: int) -> list[float]:
    """`parse_canary` over every fleet canary's manifest (status included) per repetition; each must parse back
    to the canary it was written from."""
    manifests = [canary_manifest(s.canary, s.canary.status) for s in states]
    for state, manifest in zip(states, manifests):  # warm-up and correctness
        assert parse_canary(manifest) == state.canary, state.canary.key
    seconds = []
    for _ in range(reps):
        start = time.perf_counter()
        for manifest in manifests:
            parse_canary(manifest)
        seconds.append(time.perf_counter() - start)
    return seconds


def time_view_build(states: list[State], reps: int) -> list[float]:
    manifests = fleet_manifests(states)
    seconds = []
    for _ in range(reps):
        start = time.perf_counter()
        ClusterView.of(manifests)
        seconds.append(time.perf_counter() - start)
    return seconds


def fleet_memory(states: list[State]) -> tuple[int, int, int]:
    """Peak bytes traced while building the ClusterView and deciding every canary (decisions kept),
    bytes still held by the decisions afterwards, and bytes of the manifests themselves (for scale)."""
    manifests = fleet_manifests(states)
    gc.collect()
    tracemalloc.start()
    copied = copy.deepcopy(manifests)
    manifest_bytes = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del copied
    gc.collect()
    tracemalloc.start()
    view = ClusterView.of(manifests)
    decisions = decide_fleet(states, view)
    held, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(decisions) == len(states)
    return peak, held, manifest_bytes


def profile_fleet(states: list[State], top: int = 25) -> str:
    view = ClusterView.of(fleet_manifests(states))
    decide_fleet(states, view)
    profiler = cProfile.Profile()
    profiler.enable()
    decide_fleet(states, view)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top + 15)
    return out.getvalue()


# --------------------------------------------------------------------------------------------- report
def machine() -> dict[str, str]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    affinity = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    return {
        "nproc": str(os.cpu_count()),
        "cpu": model,
        "pinned to": f"CPU {affinity[0]}" if len(affinity) == 1 else "not pinned",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(),
    }


def pin_one_core() -> None:
    if hasattr(os, "sched_setaffinity"):
        cpus = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpus[-1]})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer loops and repetitions (a smoke check)")
    parser.add_argument("--reps", type=int, default=None, help="repetitions per case (default 9, quick 3)")
    parser.add_argument("--fleet", type=int, default=FLEET_SIZE, help=f"canaries in the fleet (default {FLEET_SIZE})")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of one fleet pass")
    args = parser.parse_args(argv)
    reps = args.reps or (3 if args.quick else 9)
    loops = 300 if args.quick else 2000

    pin_one_core()
    info = machine()
    print("cronary engine benchmark")
    for key, value in info.items():
        print(f"  {key:10} {value}")
    print(f"  reps       {reps} per case; single cases {loops} decisions per rep")
    print()

    setup_start = time.perf_counter()
    progressing, idle, not_due = progressing_state(), idle_state(), not_due_state()
    fleet = fleet_states(args.fleet)
    print(
        f"  setup (playing the seed rollout for {args.fleet + 3} canaries): {time.perf_counter() - setup_start:.1f} s"
    )
    print()

    timings = [
        time_single("progressing (seed, hook + 2 metrics, 10->20)", progressing, check_progressing, loops, reps),
        time_single("idle (Succeeded, nothing to do)", idle, check_idle, loops, reps),
        time_single("not due (5 s into a 10 s interval)", not_due, check_not_due, loops * 5, reps),
        time_fleet(fleet, reps),
    ]
    header = f"{'case':48} {'decide()':>8} {'µs/decision min':>16} {'median':>8} {'decisions/s best':>17} {'median':>8}"
    print(header)
    print("-" * len(header))
    for t in timings:
        (us_min, us_med), (rate_best, rate_med) = t.per_decision_us, t.rate
        print(f"{t.case:48} {t.decide_calls:>8} {us_min:>16.1f} {us_med:>8.1f} {rate_best:>17,.0f} {rate_med:>8,.0f}")
    print()

    fleet_timing = timings[-1]
    fresh_seconds = time_fleet_fresh(fleet, reps)
    view_seconds = time_view_build(fleet, reps)
    parse_seconds = time_parse(fleet, reps)
    peak, held, manifest_bytes = fleet_memory(fleet)
    print(
        f"fleet of {len(fleet):,}: one pass min {min(fleet_timing.seconds) * 1e3:.1f} ms, median {statistics.median(fleet_timing.seconds) * 1e3:.1f} ms"
    )
    fresh_rates = [len(fleet) / x for x in fresh_seconds]
    print(
        f"  one pass over fresh objects (re-parsed Canaries, new manifest dicts): min {min(fresh_seconds) * 1e3:.1f} ms,"
        f" median {statistics.median(fresh_seconds) * 1e3:.1f} ms ({max(fresh_rates):,.0f} / {statistics.median(fresh_rates):,.0f} decisions/s)"
    )
    print(
        f"  ClusterView.of over {len(fleet_manifests(fleet)):,} manifests: min {min(view_seconds) * 1e3:.2f} ms, median {statistics.median(view_seconds) * 1e3:.2f} ms"
    )
    print(
        f"  parse_canary over its {len(fleet):,} Canary manifests: min {min(parse_seconds) * 1e3:.1f} ms, median {statistics.median(parse_seconds) * 1e3:.1f} ms"
        f" ({min(parse_seconds) / len(fleet) * 1e6:.0f} µs per Canary at best)"
    )
    print(
        f"  tracemalloc peak, build view + decide all (decisions kept): {peak / 2**20:.1f} MiB; held after: {held / 2**20:.1f} MiB"
    )
    print(
        f"  (the {len(fleet_manifests(fleet)):,} input manifests themselves, deep-copied: {manifest_bytes / 2**20:.1f} MiB)"
    )
    goal = 5000
    print()
    print(f"goal: >= {goal:,} decisions/s on one core (best: the fastest repetition; median for the noise)")
    for label, timing in (("seed progressing", timings[0]), ("idle", timings[1]), ("fleet pass", fleet_timing)):
        best, median = timing.rate
        verdict = "met" if median >= goal else ("met at best, not at the median" if best >= goal else "NOT met")
        print(f"  {label + ':':17} best {best:,.0f}/s, median {median:,.0f}/s -> {verdict}")

    if args.profile:
        print()
        print(profile_fleet(fleet))
    return 0


if __name__ == "__main__":
    sys.exit(main())
