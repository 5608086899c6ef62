"""Crash safety (issue 11): a Job killed anywhere in a tick, then re-run, must not change the rollout a user sees.

DESIGN.md, "Ticks and the CronJob": Jobs die mid-tick as a matter of course; every prefix of a tick's writes and
hook calls, followed by re-runs and later ticks, must still give the weight and promotion sequence Flagger would
produce, and a hook's *outcome*, not the fact that it was called, decides whether it passed.

These tests do not know how cronary orders or guards its writes. Each plays the seed rollout unkilled (podinfo,
new image once the canary is initialized — before tick 3 —, one Job every 10 s on the API server's clock, with
the Lease, `--concurrency 1`) in three scenarios (healthy; a pre-rollout hook answering 500; failing metrics),
records its observable history — the TrafficSplit canary weight of every write, the primary's images, the Canary
phases, the distinct webhook calls per hook, the Events — and demands exactly that history from a rollout
disturbed in one of these ways:

1. killed in process just before or just after each mutating API request and each webhook call of any tick,
   then the same pod retried at the same moment (its Lease is its own, so the retry really decides: the
   harshest case), then the normal cadence;
2. two Jobs without the Lease, the second run whole just before each mutating request or hook call of the first;
3. a write that lands after the client timed out, then the next Job at the same moment;
4. a real `cronary tick` process SIGKILLed a seeded-random time into its API calls, eight times over the healthy
   rollout; the next Job is another pod, so it waits out the dead one's Lease.

Histories are sequences, not tick numbers: a protocol that needs another interval after a crash passes (its
waits may last a decision longer, and a replay goes on a few ticks at rest); one that skips, doubles or reorders a
step, promotes early, loses or duplicates an Event, starts a load test twice for one step or never, or counts a
failed hook as passed does not. Against the code before the write protocol of docs/architecture.md ("Writes: the
status first"), 90 of 234 kill replays, 35 of 144 interleavings and 4 of 6 late writes failed; now none does.
The harness is in `crash_harness.py`; its own tests come first.
"""

from __future__ import annotations

import itertools
import random
import signal
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

import cronjob.shared.logs
from harness.cluster import NEW_IMAGE, START
from harness.crash import (
    LEASE_NAMESPACE,
    MAX_TICKS,
    MUTATING,
    Baseline,
    HookServer,
    KillPoint,
    Lab,
    Scenario,
    check,
    escape_path,
    install_kill_switch,
    lease_free,
    request_clock,
    request_label,
    wait_idle,
)
from harness.kube_emulator import KubeEmulator
from harness.prometheus import Dataset, PrometheusServer, failing, start_prometheus

SCENARIOS = {
    s.name: s
    for s in (
        Scenario("healthy", "healthy", expected_phase="Succeeded"),
        Scenario("failing-hook", "healthy", failing_pre_rollout=True, expected_phase="Failed"),
        Scenario("failing-metrics", "failing", expected_phase="Failed"),
    )
}
TICKS = {"healthy": 11, "failing-hook": 9, "failing-metrics": 10}
"""Ticks of each unkilled rollout (Flagger's schedule for the seed, not the write protocol's): the kill tests are
parametrized per tick, so a change here is checked by `test_the_unkilled_rollouts`."""

KILL_POINTS_TRIED: list[str] = []
"""Every kill point a test of this module replayed (its id), so a run that tried none cannot pass quietly."""

MAX_REPORTED = 6  # failing points whose whole account is shown in a failure message (all are listed by id)


# ----------------------------------------------------------------------------------------------------------
# fixtures


def _failing_prometheus() -> PrometheusServer:
    """Like `prometheus_factory([failing("test", "podinfo")])`, for the whole module (the baselines are shared)."""
    return start_prometheus(Dataset((failing("test", "podinfo"),)))


@pytest.fixture(scope="module")
def lab(prometheus, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """One emulator, hook server and pair of Prometheus servers for the module; unkilled baselines are played
    once per scenario and every replay starts from their snapshots."""
    bad_metrics = _failing_prometheus()
    patches = pytest.MonkeyPatch()
    try:
        with KubeEmulator(now=START) as emulator, HookServer() as hooks:
            install_kill_switch(patches, lambda: emulator.now)
            yield Lab(
                emulator,
                hooks,
                tmp_path_factory.mktemp("crash"),
                {"healthy": prometheus.url, "failing": bad_metrics.url},
            )
    finally:
        patches.undo()
        bad_metrics.close()


def baseline(lab: Lab, name: str) -> Baseline:
    base = lab.baseline(SCENARIOS[name])
    lab.use(base)
    return base


def report(name: str, tried: list[str], failures: list[str]) -> str:
    shown = "\n\n".join(failures[:MAX_REPORTED])
    more = f"\n\n... and {len(failures) - MAX_REPORTED} more" if len(failures) > MAX_REPORTED else ""
    ids = "\n".join(f"  {f.splitlines()[0].rstrip(':')}" for f in failures)
    return f"{name}: {len(failures)} of the replays of {len(tried)} disruption points changed the rollout:\n{ids}\n\n{shown}{more}"


def per_tick(names: tuple[str, ...] = tuple(SCENARIOS)) -> list[Any]:
    return [pytest.param(n, t, id=f"{n}-tick{t}") for n in names for t in range(1, TICKS[n] + 1)]


# ----------------------------------------------------------------------------------------------------------
# the unkilled rollouts


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_the_unkilled_rollouts(lab: Lab, name: str) -> None:
    """The references every disruption is compared with are the rollouts Flagger makes."""
    base = baseline(lab, name)
    history = base.history
    timeline = "\n".join(base.timeline)
    assert history.final_phase == SCENARIOS[name].expected_phase, timeline
    assert base.last_tick == TICKS[name], timeline
    old_image = history.primary_images[0]
    if name == "healthy":
        assert history.weights == ("0", "10", "20", "30", "40", "50", "0"), timeline
        assert history.primary_images == (old_image, NEW_IMAGE)
        assert dict(history.hook_keys) == {"load-test": 5}
    else:
        assert history.primary_images == (old_image,) and old_image != NEW_IMAGE
        assert history.weights[-1] == "0"
    if name == "failing-hook":
        assert history.weights == ("0",), timeline  # the pre-rollout check never lets traffic move
        assert dict(history.hook_keys)["pre-rollout"] == 5  # one call per failed check, threshold 5
    assert len(set(history.events)) > 3 and all(base.actions[t] for t in base.actions)


# ----------------------------------------------------------------------------------------------------------
# the harness itself: replays are faithful, kills are exact


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_an_undisturbed_replay_rejoins_the_unkilled_run_at_once(lab: Lab, name: str) -> None:
    """Replaying any tick from its snapshot with a normal Job gives the unkilled store before the next tick: the
    ticks are deterministic given the store and the clock, so `fingerprint` convergence is a sound shortcut."""
    base = baseline(lab, name)
    for tick in range(1, base.last_tick + 1):
        replay = lab.replay(base, {tick: lambda lab: [lab.describe(lab.run_job())]})
        assert replay.ended == "converged", (tick, replay.log)
        assert check(base, replay, f"{name}-tick{tick}-undisturbed") is None


@pytest.mark.parametrize(
    "name, tick",
    [pytest.param("healthy", 5, id="healthy-tick5"), pytest.param("failing-hook", 4, id="failing-hook-tick4")],
)
def test_the_kill_switch_stops_the_job_exactly_there(lab: Lab, name: str, tick: int) -> None:
    """`Killed` leaves the CLI invocation (nothing in cronary swallows it), and what reached the API server and
    the hooks is exactly the actions before the kill point (and the one at it, for `after`)."""
    base = baseline(lab, name)
    for ids, point in base.kill_points(tick):
        lab.resume(base, tick)
        lab.emulator.clear_requests()
        calls_before = len(lab.hooks.calls())
        killed = lab.run_job(kill_at=point)
        landed = killed.actions[: point.index + (point.when == "after")]
        writes = [request_label(r.method, r.path) for r in lab.emulator.requests if r.method in MUTATING]
        hooks = [f"hook-{call.hook}" for call in lab.hooks.calls()[calls_before:]]
        assert killed.killed, ids
        assert writes == [a for a in landed if not a.startswith("hook-")], ids
        assert len(hooks) == len([a for a in landed if a.startswith("hook-")]), ids
        assert killed.actions == base.actions[tick][: len(killed.actions)], (
            ids
        )  # the same Job as the unkilled one, up to there


# ----------------------------------------------------------------------------------------------------------
# 1. killed before or after any action of any tick, then retried at once


@pytest.mark.parametrize("name, tick", per_tick())
def test_a_job_killed_anywhere_in_a_tick_then_retried_changes_nothing_a_user_sees(
    lab: Lab, name: str, tick: int
) -> None:
    """For every mutating request and webhook call of the tick's Job: kill it just before (the request never
    reaches the server) and just after (it landed; the process dies before using the answer). Its pod is retried
    at once, at the same moment on the API server's clock (same Lease holder, so the retry is not held back),
    then the cadence goes on. The rollout must be the unkilled one."""
    base = baseline(lab, name)
    points = base.kill_points(tick)
    failures: list[str] = []
    tried: list[str] = []
    for ids, point in points:
        replay = lab.replay(base, {tick: lambda lab, point=point: killed_then_retried(lab, point)})
        tried.extend(ids)
        problem = check(base, replay, " = ".join(ids))
        if problem:
            failures.append(problem)
    KILL_POINTS_TRIED.extend(tried)
    print(f"{name} tick {tick}: {len(tried)} kill points ({len(points)} distinct prefixes), {len(failures)} failing")
    assert tried and KILL_POINTS_TRIED, f"tick {tick} of {name} has no action to kill at: {base.actions.get(tick)}"
    assert not failures, report(f"{name} tick {tick}", tried, failures)


def killed_then_retried(lab: Lab, point: KillPoint) -> list[str]:
    killed = lab.run_job(kill_at=point)
    assert killed.killed, (
        f"the Job never reached {point} (it made only {killed.actions}): the replay is not the baseline's tick"
    )
    landed = killed.actions[: point.index + (point.when == "after")]
    lines = [f"killed {point.when} action {point.index} ({killed.actions[point.index]}); landed: {landed}"]
    if killed.after_death:
        lines.append(
            f"the dead Job tried {killed.after_death} more request(s) (its Lease release): none reached the server"
        )
    lines.append(f"retried at the same time: {lab.describe(lab.run_job(holder=killed.name))}")
    return lines


# ----------------------------------------------------------------------------------------------------------
# 2. two Jobs at once, without the Lease


@pytest.mark.parametrize("name, tick", per_tick())
def test_two_jobs_at_once_without_the_lease_change_nothing_a_user_sees(lab: Lab, name: str, tick: int) -> None:
    """`--no-lease` (or a Lease that expired under a slow Job): a second Job runs from start to end just before
    the first makes its i-th mutating request or webhook call, for every i; then the first goes on, then the
    normal cadence. The resourceVersion precondition must keep the canary to one decision."""
    base = baseline(lab, name)
    failures: list[str] = []
    tried: list[str] = []
    for index in itertools.count():
        seen: list[str] = []
        replay = lab.replay(base, {tick: lambda lab, index=index, seen=seen: two_jobs(lab, index, seen)})
        if not seen:
            break  # the first Job made fewer actions than `index`: every interleaving was tried
        point_id = f"{name}-tick{tick}-second-job-before-{seen[0]}@{index}"
        tried.append(point_id)
        KILL_POINTS_TRIED.append(point_id)
        problem = check(base, replay, point_id)
        if problem:
            failures.append(problem)
    print(f"{name} tick {tick}: {len(tried)} interleavings, {len(failures)} failing")
    assert tried, f"the first Job of {name} tick {tick} made no mutating request or hook call"
    assert not failures, report(f"{name} tick {tick}, two Jobs", tried, failures)


def two_jobs(lab: Lab, index: int, seen: list[str]) -> list[str]:
    lines: list[str] = []

    def second_job(at: int, label: str, _what: Any) -> None:
        if at != index or seen:
            return
        seen.append(label)
        outer = sys.stdout  # the first Job's captured output: the second Job's CliRunner replaces it meanwhile
        lines.append(f"second Job, before the first's action {at} ({label}): {lab.describe(lab.run_job(lease=False))}")
        cronjob.shared.logs.configure(outer)  # the first Job logs to its own output again

    first = lab.run_job(before_action=second_job, lease=False)
    lines.append(f"first Job: {lab.describe(first)}")
    return lines


# ----------------------------------------------------------------------------------------------------------
# 3. writes that land after the client gave up


CLIENT_TIMEOUT = "0.5s"
LATE_BY = 1.0  # seconds the emulator holds the write before applying it (the client has given up by then)
LATE_WRITES = [
    pytest.param("PATCH-trafficsplit", 1, id="late-PATCH-trafficsplit"),
    pytest.param("PUT-status", 1, id="late-PUT-status"),
    pytest.param("PUT-status", 2, id="late-PUT-status#2"),
    pytest.param("POST-event", 1, id="late-POST-event"),
    pytest.param("PATCH-deployment", 1, id="late-PATCH-deployment"),
    pytest.param("PATCH-scale", 1, id="late-PATCH-scale"),
]


def late_write_tick(base: Baseline, prefix: str, nth: int) -> tuple[int, int]:
    """(tick, action index) of the `nth` request labelled `prefix...` in the step tick that takes the canary to
    weight 30, or else in the first tick after the new revision that has one (promotion, scale-up/down)."""
    step = [
        t
        for t, status in base.after.items()
        if status.get("canaryWeight") == 30 and (base.after.get(t - 1) or {}).get("canaryWeight") == 20
    ]
    ticks = step + [t for t in sorted(base.actions) if t >= 3 and t not in step]
    for tick in ticks:
        found = [i for i, label in enumerate(base.actions[tick]) if label.startswith(prefix)]
        if len(found) >= nth:
            return tick, found[nth - 1]
    raise AssertionError(f"no tick of the unkilled rollout makes {nth} {prefix} request(s): {base.actions}")


@pytest.mark.parametrize("prefix, nth", LATE_WRITES)
def test_a_write_that_lands_after_the_client_timed_out_changes_nothing_a_user_sees(
    lab: Lab, prefix: str, nth: int
) -> None:
    """The request times out on the client (the tick stops that canary, exit 1) while the server still applies
    it a moment later; the next Job runs at the same moment, then the normal cadence."""
    base = baseline(lab, "healthy")
    tick, index = late_write_tick(base, prefix, nth)
    point_id = f"healthy-tick{tick}-late-{base.actions[tick][index]}@{index}"

    def late_write(lab: Lab) -> list[str]:
        armed: list[str] = []

        def arm(at: int, label: str, what: Any) -> None:
            if at == index:
                lab.emulator.fail(method=what.method, path=escape_path(what.path), status=0, delay=LATE_BY)
                armed.append(label)

        first = lab.run_job(before_action=arm, extra=("--request-timeout", CLIENT_TIMEOUT))
        wait_idle(lab.emulator)
        assert armed, f"the Job never made action {index}: {first.actions}"
        return [
            f"{armed[0]} held {LATE_BY}s, client gave up after {CLIENT_TIMEOUT}: {lab.describe(first)}",
            f"re-run at the same time: {lab.describe(lab.run_job())}",
        ]

    replay = lab.replay(base, {tick: late_write})
    KILL_POINTS_TRIED.append(point_id)
    problem = check(base, replay, point_id)
    assert problem is None, problem


# ----------------------------------------------------------------------------------------------------------
# 4. a real process, a real SIGKILL


SIGKILL_SEED = 20261127
SIGKILLS = 8


def test_random_sigkills_of_the_real_process_change_nothing_a_user_sees(lab: Lab) -> None:
    """`cronary tick` as its own process (as the CronJob runs it), SIGKILLed a seeded-random time into its writes,
    at the first 8 Jobs from tick 2 on that could take the Lease; each time the next Job (another
    pod: it waits out the dead one's Lease) runs at once, then the cadence goes on. Timing is real, so where
    exactly each kill lands varies a little from run to run; which Jobs are killed and the delays do not."""
    base = baseline(lab, "healthy")
    low, high = write_window(lab, base)
    rng = random.Random(SIGKILL_SEED)
    attempts: list[str] = []

    def maybe_kill(lab: Lab) -> list[str]:
        if len(attempts) >= SIGKILLS or not lease_free(lab.emulator):
            return [lab.describe(lab.run_job())]
        line = kill_process(lab, rng.uniform(low, high))
        attempts.append(line)
        return [line, f"the next Job at the same time: {lab.describe(lab.run_job())}"]

    replay = lab.replay(base, {t: maybe_kill for t in range(2, MAX_TICKS)}, converge=False)
    landed = [a for a in attempts if a.startswith("SIGKILL")]
    KILL_POINTS_TRIED.extend(f"healthy-sigkill-{i}" for i in range(len(attempts)))
    print(
        f"SIGKILL: a tick process writes {low * 1000:.0f}-{high * 1000:.0f} ms after its first request; {len(landed)} of {len(attempts)} kills landed:\n  "
        + "\n  ".join(attempts)
    )
    assert attempts, replay.log
    problem = check(base, replay, f"healthy-sigkills-seed{SIGKILL_SEED}")
    assert problem is None, problem


def tick_process_args() -> tuple[str, ...]:
    return ("--concurrency", "1", "--lease-namespace", LEASE_NAMESPACE)


def write_window(lab: Lab, base: Baseline) -> tuple[float, float]:
    """Seconds from a real tick process's first API request to its first and its last write after taking the
    Lease, at the unkilled run's busiest tick (measured once; the replay puts the store back afterwards). The
    writes come in a burst at the end of the tick, after the reads and the metric queries: SIGKILL delays are
    drawn from this span (a little before it too) so that most kills land among them."""
    busiest = max(range(2, base.last_tick + 1), key=lambda t: len(base.actions[t]))
    lab.resume(base, busiest)
    assert lab.cluster is not None
    with request_clock(lab.emulator) as seen:
        process = lab.cluster.tick_process(*tick_process_args(), no_lease=False)
        output = process.communicate(timeout=60)[0]
    writes = [t - seen["first"] for t in seen["writes"]]
    assert process.returncode == 0 and len(writes) > 2, output
    return writes[1] * 0.8, writes[-1]


def kill_process(lab: Lab, delay: float) -> str:
    """Start a tick process, SIGKILL it `delay` seconds after its first API request, and wait until the
    emulator has finished whatever request was in flight (it lands, as it would on a real server)."""
    assert lab.cluster is not None
    already = len(lab.emulator.requests)
    with request_clock(lab.emulator) as seen:
        process = lab.cluster.tick_process(*tick_process_args(), no_lease=False)
        deadline = time.monotonic() + 30
        while "first" not in seen and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.001)
        if "first" in seen:
            time.sleep(max(0.0, seen["first"] + delay - time.monotonic()))
        alive = process.poll() is None
        if alive:
            process.send_signal(signal.SIGKILL)
        output = process.communicate(timeout=30)[0]
    wait_idle(lab.emulator)
    landed = [request_label(r.method, r.path) for r in lab.emulator.requests[already:] if r.method in MUTATING]
    if alive and process.returncode == -signal.SIGKILL:
        return f"SIGKILL {delay * 1000:.0f} ms after its first request; its writes that landed: {landed} (output: {len(output.splitlines())} lines)"
    return f"no kill: the process exited ({process.returncode}) before {delay * 1000:.0f} ms; its writes: {landed}"
