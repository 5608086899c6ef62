"""Killing `cronary tick` at chosen points, and comparing what a killed rollout did with what the unkilled one did.

DESIGN.md ("Ticks and the CronJob"): Jobs die mid-tick as a matter of course, and every prefix of a tick's writes
and hook calls, followed by re-runs and later ticks, must still give the rollout Flagger would produce. This module
makes that checkable without timing:

* `Killed` is raised *inside* the tick at an exact point — before or after its n-th mutating API request
  (POST/PUT/PATCH/DELETE) or webhook call — by wrappers around `KubeClient.send` and `WebhookCaller.__call__`
  (`install_kill_switch`). It is a `BaseException`, so no `except Exception` in cronary can swallow it, and once a
  Job is dead every further request or hook call of it raises `Killed` again without reaching anything (a
  `finally:` that releases the Lease cannot write): a dead process does nothing.
* `History` is the observable outcome of a rollout, recorded on the server side (`Recorder`, fed by the
  emulator's commit journal, and `HookServer`'s log), so it does not depend on what the tick believes it did.
* `Lab` plays the seed rollout tick by tick, snapshots the emulator before each Job (`Baseline`), and replays from
  any snapshot with a disruption (`Lab.replay`). A replay stops early once the emulator holds exactly the state the
  unkilled run had before the same tick (`fingerprint`): from there on the two runs are the same function of the
  same inputs, so the rest of the unkilled history is spliced on instead of played again.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from click.testing import CliRunner

import cronjob.flags
import cronjob.kube.tick
from cronjob.cli import main
from cronjob.kube.api import ApiRequest, ApiResponse, KubeClient
from cronjob.shared.webhooks import WebhookCaller
from engine import HookRequest, HookResult
from harness.cluster import NEW_IMAGE, SeedCluster
from harness.kube_emulator import Commit, EmulatorSnapshot, KubeEmulator, parse_path

MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
RESTING = ("Succeeded", "Failed")
INTERVAL = 10  # seconds between two Jobs, the seed canary's analysis interval
IMAGE_TICK = 3  # the new revision is shipped before this tick (test_cluster_tick.play's `image_at`)
LEASE_NAMESPACE = "cronary"
MAX_TICKS = 60
SETTLE_TICKS = 2  # ticks a replay goes on at rest: they finish what the decision that brought it to rest committed


class Killed(BaseException):
    """The Job's process died here (SIGKILL, OOM, node drain): nothing after this point runs."""


# ----------------------------------------------------------------------------------------------------------
# The kill switch: wrappers around the two ways a tick acts on the world


@dataclass(frozen=True)
class KillPoint:
    """Where a Job dies: just before its `index`-th action (it never reaches the server) or just after it (it
    landed, then the process died before using the answer). Actions are the Job's mutating API requests and
    webhook calls, counted in the order it makes them."""

    index: int
    when: str  # "before" | "after"


Interleave = Callable[[int, str, Any], None]  # (index, label, the ApiRequest or HookRequest) before an action


@dataclass
class Job:
    """One `cronary tick` process as the kill switch sees it: the actions it made, and whether it is dead."""

    name: str
    kill_at: KillPoint | None = None
    before_action: Interleave | None = None  # called before each action (another Job may run there, a fault be armed)
    actions: list[str] = field(default_factory=list)
    dead: bool = False
    after_death: int = 0  # requests or hook calls it tried after it died (each refused with `Killed`)

    def act(self, label: str, what: Any, perform: Callable[[], Any]) -> Any:
        index = len(self.actions)
        self.actions.append(label)
        if self.before_action is not None:
            self.before_action(index, label, what)
        self._die_if(index, "before")
        try:
            result = perform()
        except Exception:
            self._die_if(index, "after")  # an error answer landed too (a 409, a 500): die before using it
            raise
        self._die_if(index, "after")
        return result

    def _die_if(self, index: int, when: str) -> None:
        if self.kill_at == KillPoint(index, when):
            self.dead = True
            raise Killed(f"{self.name} killed {when} action {index} ({self.actions[index]})")

    def refuse_if_dead(self) -> None:
        if self.dead:
            self.after_death += 1
            raise Killed(f"{self.name} is dead")


_ACTIVE: list[Job] = []  # the Job running now (last); a Job run from another's `before_action` stacks on top
_ORIGINAL_SEND = KubeClient.send
_ORIGINAL_HOOK = WebhookCaller.__call__


def _current() -> Job | None:
    return _ACTIVE[-1] if _ACTIVE else None


def request_label(method: str, path: str) -> str:
    """A short readable name of a mutating request, for test ids: `PUT-status`, `PATCH-trafficsplit-podinfo`,
    `PATCH-scale-podinfo`, `POST-event`, `PUT-lease`."""
    target = parse_path(path)
    if target is None or target.plural is None:
        return f"{method}-{path}"
    singular = {"horizontalpodautoscalers": "hpa"}.get(target.plural, target.plural.removesuffix("s"))
    if target.subresource == "status":
        return f"{method}-status"
    if target.subresource == "scale":
        return f"{method}-scale-{target.name}"
    if singular in ("event", "lease"):
        return f"{method}-{singular}"
    return f"{method}-{singular}" + (f"-{target.name}" if target.name else "")


def _send(client: KubeClient, request: ApiRequest) -> ApiResponse:
    job = _current()
    if job is None:
        return _ORIGINAL_SEND(client, request)
    job.refuse_if_dead()
    if request.method not in MUTATING:
        return _ORIGINAL_SEND(client, request)
    return job.act(request_label(request.method, request.path), request, lambda: _ORIGINAL_SEND(client, request))


def _call_hook(caller: WebhookCaller, request: HookRequest) -> HookResult:
    job = _current()
    if job is None:
        return _ORIGINAL_HOOK(caller, request)
    job.refuse_if_dead()
    return job.act(f"hook-{request.hook.name}", request, lambda: _ORIGINAL_HOOK(caller, request))


def install_kill_switch(monkeypatch: Any, clock: Callable[[], datetime]) -> None:
    """Route every API request and hook call of an in-process tick through the running `Job`, give each Job
    its own Lease holder identity (each Job is its own pod), and set the node's clock to `clock` (the API
    server's, as NTP would: the emulator's clock is weeks away from the wall clock, and the Lease is created
    with the node's time)."""
    monkeypatch.setattr(KubeClient, "send", _send)
    monkeypatch.setattr(WebhookCaller, "__call__", _call_hook)
    monkeypatch.setattr(cronjob.flags, "_holder", lambda: (_current() or Job("no-job")).name)

    class NodeClock(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
            moment = clock()
            return moment.astimezone(tz) if tz is not None else moment.replace(tzinfo=None)

    monkeypatch.setattr(cronjob.kube.tick, "datetime", NodeClock)


# ----------------------------------------------------------------------------------------------------------
# The hook server


@dataclass(frozen=True)
class HookCall:
    hook: str  # the URL path without its slash: each hook of the test canaries has a path of its own
    key: str  # the idempotency key (payload `idempotencyKey`, else the `Idempotency-Key` header)
    status: int


class HookServer:
    """Webhook receivers on loopback: POST /<hook> answers `answers[hook]` (200 by default) and is logged.
    Its own server (not pytest-httpserver) so that a replay can set the log back to any moment."""

    def __init__(self, answers: dict[str, int] | None = None) -> None:
        self.answers = dict(answers or {})
        self.log: list[HookCall] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    payload = json.loads(body or b"{}")
                except ValueError:
                    payload = {}
                hook = self.path.strip("/")
                status = server.answers.get(hook, 200)
                key = str(payload.get("idempotencyKey") or self.headers.get("Idempotency-Key") or "")
                with server._lock:
                    server.log.append(HookCall(hook, key, status))
                data = b"ok" if status < 300 else b"hook says no"
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)

    def __enter__(self) -> HookServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def url(self, hook: str) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/{hook}"

    def calls(self) -> list[HookCall]:
        with self._lock:
            return list(self.log)

    def set_log(self, calls: list[HookCall]) -> None:
        with self._lock:
            self.log = list(calls)


# ----------------------------------------------------------------------------------------------------------
# Observable history


Entry = tuple[
    str, ...
]  # ("weight", "30") | ("image", image) | ("phase", phase) | ("event", name, message, decision time)


class Recorder:
    """Fed every commit of the emulator (`KubeEmulator.on_commit`): keeps, in the order they landed, the canary
    weight of each TrafficSplit write, the image of each primary Deployment write, the phase of each Canary
    write and each Event write. Server-side, so a write the client never saw the answer of counts too."""

    def __init__(self, namespace: str = "test", name: str = "podinfo") -> None:
        self.namespace, self.name = namespace, name
        self.entries: list[Entry] = []

    def __call__(self, commit: Commit) -> None:
        obj = commit.obj
        if obj is None or commit.namespace != self.namespace:
            return
        if commit.plural == "trafficsplits" and commit.name == self.name:
            weights = {b.get("service"): b.get("weight") for b in (obj.get("spec") or {}).get("backends") or []}
            self.entries.append(("weight", str(weights.get(f"{self.name}-canary"))))
        elif commit.plural == "deployments" and commit.name == f"{self.name}-primary":
            self.entries.append(("image", str(obj["spec"]["template"]["spec"]["containers"][0].get("image"))))
        elif commit.plural == "canaries" and commit.name == self.name:
            self.entries.append(("phase", str((obj.get("status") or {}).get("phase"))))
        elif commit.plural == "events" and (obj.get("involvedObject") or {}).get("name") == self.name:
            self.entries.append(("event", commit.name, str(obj.get("message")), str(obj.get("firstTimestamp"))))


def _runs(values: list[str]) -> tuple[str, ...]:
    """Consecutive duplicates removed."""
    return tuple(v for i, v in enumerate(values) if i == 0 or values[i - 1] != v)


def _is_wait(message: str) -> bool:
    """An event that says the canary is waiting for something (a rollout), not that anything was decided."""
    return " not ready: " in message or message == "all the metrics providers are available!"


def _without_repeated_waits(decisions: list[list[str]]) -> tuple[str, ...]:
    """The events of the decisions in order, where a decision that only repeats the previous one's wait is
    left out: a finished lost write delays a rollout by an interval, which makes a wait one decision longer
    (never a different path). Repeated decisions that decide something (a failed check) all count."""
    out: list[str] = []
    previous: list[str] | None = None
    for messages in decisions:
        if not (messages == previous and all(_is_wait(m) for m in messages)):
            out.extend(messages)
        previous = messages
    return tuple(out)


@dataclass(frozen=True)
class History:
    """What a user (and Flagger's contract) can see of a rollout. Compared as sequences, not tick numbers:
    a protocol may legitimately need one more interval after a crash, never a different path."""

    weights: tuple[str, ...]  # TrafficSplit canary weight, every write, consecutive duplicates removed
    primary_images: tuple[str, ...]
    phases: tuple[str, ...]
    final_phase: str | None
    hook_keys: tuple[tuple[str, int], ...]  # distinct idempotency keys per hook
    events: tuple[str, ...]  # Event messages in the order they were first written, one per Event object

    @staticmethod
    def of(entries: list[Entry], calls: list[HookCall]) -> History:
        decisions: dict[str, list[str]] = {}  # the events of each decision, by its time, in the order written
        seen: set[str] = set()
        for entry in entries:
            if entry[0] == "event" and entry[1] not in seen:
                seen.add(entry[1])
                decisions.setdefault(entry[3], []).append(entry[2])
        phases = _runs([e[1] for e in entries if e[0] == "phase"])
        keys: dict[str, set[str]] = {}
        for call in calls:
            keys.setdefault(call.hook, set()).add(call.key)
        return History(
            # before the first TrafficSplit, the apex Service sends everything to the primary: canary weight 0
            weights=_runs(["0", *[e[1] for e in entries if e[0] == "weight"]]),
            primary_images=_runs([e[1] for e in entries if e[0] == "image"]),
            phases=phases,
            final_phase=phases[-1] if phases else None,
            hook_keys=tuple(sorted((hook, len(found)) for hook, found in keys.items())),
            events=_without_repeated_waits(list(decisions.values())),
        )

    def dead_ends(self, partial: History) -> list[str]:
        """What in the history of a rollout still running (`partial`) no continuation can undo: a sequence that
        is not a prefix of this one's (later writes only append), more distinct calls of a hook than this one
        made. Empty while `partial` can still become this history."""
        out = []
        for name in ("weights", "primary_images", "phases", "events"):
            mine, theirs = getattr(self, name), getattr(partial, name)
            if theirs != mine[: len(theirs)]:
                out.append(f"{name} (so far):\n    unkilled: {mine}\n    this run: {theirs}")
        mine_keys = dict(self.hook_keys)
        for hook, count in partial.hook_keys:
            if count > mine_keys.get(hook, 0):
                out.append(f"hook_keys (so far):\n    unkilled: {self.hook_keys}\n    this run: {partial.hook_keys}")
                break
        return out

    def differences(self, other: History) -> list[str]:
        out = []
        for name in ("weights", "primary_images", "phases", "final_phase", "hook_keys", "events"):
            mine, theirs = getattr(self, name), getattr(other, name)
            if mine != theirs:
                out.append(f"{name}:\n    unkilled: {mine}\n    this run: {theirs}")
        return out


def contradicting_keys(calls: list[HookCall]) -> list[str]:
    """Idempotency keys a hook answered both with success and with failure: one key, two outcomes, so the
    receiver could not have honoured it (or the tick reused a key for a different call)."""
    outcomes: dict[tuple[str, str], set[bool]] = {}
    for call in calls:
        outcomes.setdefault((call.hook, call.key), set()).add(200 <= call.status <= 202)
    return [f"{hook}:{key}" for (hook, key), seen in sorted(outcomes.items()) if len(seen) > 1]


# ----------------------------------------------------------------------------------------------------------
# State fingerprints (when has a replay converged back onto the unkilled run?)


def _normalized(plural: str, obj: dict[str, Any]) -> Any:
    """An object without what differs between two runs yet cannot change any later decision: its
    resourceVersion (a count of writes), its uid (a fresh one when a killed Job's object is created again),
    an Event's reporting instance (each Job is its own pod), and a free Lease's bookkeeping."""
    out = copy.deepcopy(obj)
    meta = out.get("metadata") or {}
    meta.pop("resourceVersion", None)
    meta.pop("uid", None)
    if plural == "events":
        out.pop("reportingInstance", None)
    if plural == "leases":
        spec = out.get("spec") or {}
        return {"holder": spec.get("holderIdentity") or None} if spec.get("holderIdentity") else {"free": True}
    return out


def fingerprint(snapshot: EmulatorSnapshot) -> str:
    """Everything a later tick can observe of the store, as one string: equal fingerprints at the same clock
    mean the same future (the tick is a function of the store, the clock, Prometheus and the hooks' answers)."""
    objects = {
        f"{group}/{plural}/{namespace}/{name}": _normalized(plural, obj)
        for (group, plural), stored in snapshot.objects.items()
        for (namespace, name), obj in stored.items()
    }
    rollouts = {
        f"{ns}/{name}": [generation, started.isoformat()]
        for (ns, name), (generation, started) in snapshot.rollouts.items()
    }
    return json.dumps(
        {"now": snapshot.now.isoformat(), "objects": objects, "rollouts": rollouts}, sort_keys=True, default=str
    )


# ----------------------------------------------------------------------------------------------------------
# Scenarios, the lab, the unkilled baseline and replays


@dataclass(frozen=True)
class Scenario:
    name: str
    metrics: str  # "healthy" | "failing": which Prometheus the ticks query
    failing_pre_rollout: bool = False  # add a pre-rollout hook that answers 500
    expected_phase: str = "Succeeded"


@dataclass
class JobRun:
    name: str  # the Job's Lease holder identity
    actions: list[str]
    killed: bool
    exit_code: int | None
    output: str
    after_death: int = 0


@dataclass
class Baseline:
    """The unkilled rollout of a scenario: its history, and before each tick's Job the emulator snapshot, its
    fingerprint, the recorder and hook log positions, and the actions that Job then made."""

    scenario: Scenario
    snapshots: dict[int, EmulatorSnapshot]
    fingerprints: dict[int, str]
    entries_at: dict[int, int]
    calls_at: dict[int, int]
    actions: dict[int, list[str]]
    entries: list[Entry]
    calls: list[HookCall]
    last_tick: int
    timeline: list[str]
    after: dict[int, dict[str, Any]] = field(default_factory=dict)  # the Canary status after each tick

    @property
    def history(self) -> History:
        return History.of(self.entries, self.calls)

    def kill_points(self, tick: int) -> list[tuple[list[str], KillPoint]]:
        """The places a tick's Job can die, each with its ids: before and after each of its actions. Dying after
        action i and dying before action i+1 leave the world in the same state (nothing outward happens in
        between: the answer of i is never used), so each distinct prefix of landed actions is one `KillPoint`
        carrying both ids; `after` the last action is the Job's own end."""
        labels = self.action_ids(tick)
        out = []
        for landed in range(len(labels) + 1):
            ids = [
                f"{self.scenario.name}-tick{tick}-{when}-{labels[i]}"
                for when, i in (("after", landed - 1), ("before", landed))
                if 0 <= i < len(labels)
            ]
            point = KillPoint(landed, "before") if landed < len(labels) else KillPoint(landed - 1, "after")
            out.append((ids, point))
        return out

    def action_ids(self, tick: int) -> list[str]:
        """The tick's action labels, a repeated label numbered (`PUT-status`, `PUT-status#2`)."""
        seen: dict[str, int] = {}
        out = []
        for label in self.actions[tick]:
            seen[label] = seen.get(label, 0) + 1
            out.append(label if seen[label] == 1 else f"{label}#{seen[label]}")
        return out


Disrupt = Callable[["Lab"], list[str]]


@dataclass
class Replay:
    history: History
    contradictions: list[str]
    ended: str  # "rested", "converged", "diverged at tick n; stopped there", ...
    log: list[str]

    @property
    def finished(self) -> bool:
        return self.ended in ("rested", "converged")


class Lab:
    """One emulator, one hook server and the Prometheus servers, shared by every replay of a test module.
    `install(scenario)` resets the emulator to an empty cluster and creates the seed's objects."""

    def __init__(self, emulator: KubeEmulator, hooks: HookServer, workdir: Path, prometheus: dict[str, str]) -> None:
        self.emulator = emulator
        self.hooks = hooks
        self.workdir = workdir
        self.prometheus = prometheus
        self.recorder = Recorder()
        self.empty = emulator.snapshot()
        self.cluster: SeedCluster | None = None
        self.scenario: Scenario | None = None
        self._jobs = itertools.count(1)
        self._baselines: dict[str, Baseline] = {}
        emulator.on_commit(self.recorder)

    # -- setting up ----------------------------------------------------------------------------------------
    def install(self, scenario: Scenario) -> SeedCluster:
        self.emulator.on_commit(None)
        self.emulator.restore(self.empty)
        self.hooks.answers = {}
        cluster = SeedCluster(
            self.emulator, self.workdir, self.prometheus[scenario.metrics], self.hooks.url("load-test")
        ).install()
        if scenario.failing_pre_rollout:
            self.hooks.answers["pre-rollout"] = 500
            canary = cluster.canary()
            hook = {
                "name": "pre-rollout-check",
                "type": "pre-rollout",
                "url": self.hooks.url("pre-rollout"),
                "timeout": "5s",
            }
            canary["spec"]["canaryAnalysis"]["webhooks"] = [hook, *canary["spec"]["canaryAnalysis"]["webhooks"]]
            self.emulator.replace(canary)
        self.cluster, self.scenario = cluster, scenario
        self.recorder.entries = []
        self.hooks.set_log([])
        self.emulator.on_commit(self.recorder)
        return cluster

    # -- one Job -------------------------------------------------------------------------------------------
    def args(self, *extra: str, lease: bool = True) -> list[str]:
        assert self.cluster is not None
        lease_args = ("--lease-namespace", LEASE_NAMESPACE) if lease else ()
        return self.cluster.args("--concurrency", "1", *lease_args, *extra, no_lease=not lease)

    def run_job(
        self,
        *,
        kill_at: KillPoint | None = None,
        before_action: Interleave | None = None,
        extra: tuple[str, ...] = (),
        lease: bool = True,
        holder: str | None = None,
    ) -> JobRun:
        """`cronary tick --once` in process, maybe killed at `kill_at`. Each Job is its own pod (its own Lease
        holder) unless `holder` names an earlier one: that pod's container restarted."""
        job = Job(holder or f"job-{next(self._jobs)}", kill_at, before_action)
        _ACTIVE.append(job)
        try:
            result = CliRunner().invoke(main, self.args(*extra, lease=lease), catch_exceptions=False)
        except Killed:
            return JobRun(job.name, job.actions, True, None, "", job.after_death)
        finally:
            _ACTIVE.remove(job)
        return JobRun(job.name, job.actions, False, result.exit_code, result.output, job.after_death)

    # -- the cadence ---------------------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        assert self.cluster is not None
        return self.cluster.status()

    def image_shipped(self) -> bool:
        assert self.cluster is not None
        target = self.cluster.deployment("podinfo")
        return target is not None and target["spec"]["template"]["spec"]["containers"][0]["image"] == NEW_IMAGE

    def prepare(self, tick: int) -> None:
        """What happens in the cluster between two Jobs: rollouts finish, and once the canary is initialized
        (before tick 3 in the unkilled run) the user ships the new revision. Tied to the canary's state, not the
        tick number, so a Job that a dead Job's Lease held back does not see a different scenario."""
        assert self.cluster is not None
        self.emulator.complete_rollouts()
        if tick >= IMAGE_TICK and not self.image_shipped() and self.status().get("phase") == "Initialized":
            self.cluster.set_image()

    def resting(self) -> bool:
        return self.image_shipped() and self.status().get("phase") in RESTING

    # -- the unkilled run ----------------------------------------------------------------------------------
    def baseline(self, scenario: Scenario) -> Baseline:
        if scenario.name not in self._baselines:
            self._baselines[scenario.name] = self._play_baseline(scenario)
        return self._baselines[scenario.name]

    def _play_baseline(self, scenario: Scenario) -> Baseline:
        self.install(scenario)
        base = Baseline(scenario, {}, {}, {}, {}, {}, [], [], 0, [])
        for tick in range(1, MAX_TICKS + 1):
            self.prepare(tick)
            self._mark(base, tick)
            run = self.run_job()
            assert run.exit_code == 0 and not run.killed, f"{scenario.name} tick {tick} failed unkilled:\n{run.output}"
            base.actions[tick] = run.actions
            status = base.after[tick] = self.status()
            base.timeline.append(
                f"tick {tick}: {status.get('phase')} weight {status.get('canaryWeight')} actions {run.actions}"
            )
            self.emulator.advance(INTERVAL)
            if self.resting():
                base.last_tick = tick
                break
        else:
            raise AssertionError(
                f"{scenario.name}: the unkilled rollout did not rest in {MAX_TICKS} ticks:\n" + "\n".join(base.timeline)
            )
        self.prepare(base.last_tick + 1)
        self._mark(base, base.last_tick + 1)  # the state at rest: a replay that gets here has converged
        base.entries, base.calls = list(self.recorder.entries), self.hooks.calls()
        return base

    def _mark(self, base: Baseline, tick: int) -> None:
        snapshot = self.emulator.snapshot()
        base.snapshots[tick], base.fingerprints[tick] = snapshot, fingerprint(snapshot)
        base.entries_at[tick], base.calls_at[tick] = len(self.recorder.entries), len(self.hooks.calls())

    # -- replays -------------------------------------------------------------------------------------------
    def replay(self, base: Baseline, disruptions: dict[int, Disrupt], *, converge: bool = True) -> Replay:
        """Play `base`'s scenario from the snapshot before the first disrupted tick: each tick in `disruptions`
        runs its Job(s) its own way (the callable returns log lines), every other tick one normal Job, one
        interval apart, until the canary rests. Stops early, after the last disruption, when the store is exactly
        what the unkilled run had before the same tick (`converge`: the unkilled rest is spliced on), or when the
        history has already left the unkilled one for good (`History.dead_ends`)."""
        start, last_disrupted = min(disruptions), max(disruptions)
        self.resume(base, start)
        reference = base.history
        log: list[str] = []
        ended = "rested"
        rested = 0
        for n in range(start, MAX_TICKS + 1):
            if n > start:
                self.prepare(n)
                if (
                    converge
                    and n > last_disrupted
                    and base.fingerprints.get(n) == fingerprint(self.emulator.snapshot())
                ):
                    self.recorder.entries.extend(base.entries[base.entries_at[n] :])
                    self.hooks.set_log(self.hooks.calls() + base.calls[base.calls_at[n] :])
                    log.append(f"tick {n}: the store is the unkilled run's before this tick; its rest is spliced on")
                    ended = "converged"
                    break
                if self.resting():
                    rested += 1
                    if rested > SETTLE_TICKS:  # ticks at rest finish what the last decision committed
                        break
            if n in disruptions:
                log.extend(f"tick {n}: {line}" for line in disruptions[n](self))
            else:
                log.append(f"tick {n}: {self.describe(self.run_job())}")
            self.emulator.advance(INTERVAL)
            calls = self.hooks.calls()
            if n >= last_disrupted and (
                reference.dead_ends(History.of(self.recorder.entries, calls)) or contradicting_keys(calls)
            ):
                ended = f"diverged at tick {n}; stopped there"
                break
        else:
            ended = f"did not rest in {MAX_TICKS} ticks"
        calls = self.hooks.calls()
        return Replay(History.of(self.recorder.entries, calls), contradicting_keys(calls), ended, log)

    def describe(self, run: JobRun) -> str:
        """One line about a Job that ran: how it ended, the canary after it, its actions."""
        status = self.status()
        ended = "killed" if run.killed else f"exit {run.exit_code}"
        errors = [line for line in run.output.splitlines() if '"level": "error"' in line]
        tail = f" errors {errors[:2]}" if errors else ""
        return f"{ended} -> {status.get('phase')} weight {status.get('canaryWeight')} actions {run.actions}{tail}"

    def resume(self, base: Baseline, tick: int) -> None:
        assert self.scenario == base.scenario, "install() the baseline's scenario first"
        self.emulator.on_commit(None)
        self.emulator.restore(base.snapshots[tick])
        self.recorder.entries = base.entries[: base.entries_at[tick]]
        self.hooks.set_log(base.calls[: base.calls_at[tick]])
        self.emulator.on_commit(self.recorder)

    def use(self, base: Baseline) -> None:
        """Make `base`'s scenario the installed one (its cluster objects come from the snapshots)."""
        if self.scenario != base.scenario:
            self.install(base.scenario)


def check(base: Baseline, replay: Replay, point: str) -> str | None:
    """None when the replay's history is the unkilled one; else a readable account of the difference (for a
    replay stopped where it diverged, the histories so far)."""
    problems = base.history.differences(replay.history) if replay.finished else base.history.dead_ends(replay.history)
    if replay.contradictions:
        problems.append(f"hook keys answered both success and failure: {replay.contradictions}")
    if not problems and not replay.finished:
        problems.append(replay.ended)
    if not problems:
        return None
    return f"{point}:\n  " + "\n  ".join(problems) + f"\n  replay ({replay.ended}):\n    " + "\n    ".join(replay.log)


# ----------------------------------------------------------------------------------------------------------
# Writes that land after the client gave up; a real SIGKILL


def wait_idle(emulator: KubeEmulator, timeout: float = 10.0) -> None:
    """Until the emulator has finished every request (an abandoned write lands after its delay)."""
    deadline = time.monotonic() + timeout
    while emulator.in_flight and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not emulator.in_flight, "the emulator is still handling a request"


@contextmanager
def request_clock(emulator: KubeEmulator) -> Iterator[dict[str, Any]]:
    """While open, `seen["first"]`: the monotonic time of the first request the emulator receives, and
    `seen["writes"]`: those of the mutating ones (as they arrive, before they are handled)."""
    seen: dict[str, Any] = {"writes": []}
    lock = threading.Lock()

    def note(request: Any) -> None:
        with lock:
            seen.setdefault("first", time.monotonic())
            if request.method in MUTATING:
                seen["writes"].append(time.monotonic())

    emulator.on_request(note)
    try:
        yield seen
    finally:
        emulator.on_request(None)


def lease_free(emulator: KubeEmulator, namespace: str = LEASE_NAMESPACE, name: str = "cronary-default") -> bool:
    """Whether a new Job could take the shard's Lease now (none, released, or expired on the server's clock)."""
    lease = emulator.get("coordination.k8s.io/v1", "Lease", namespace, name)
    spec = (lease or {}).get("spec") or {}
    if not spec.get("holderIdentity"):
        return True
    renewed = datetime.fromisoformat(str(spec.get("renewTime")).replace("Z", "+00:00"))
    return (emulator.now - renewed).total_seconds() >= int(spec.get("leaseDurationSeconds") or 0)


def escape_path(path: str) -> str:
    return re.escape(path) + "$"
