"""`cronary tick` against the Kubernetes API emulator: a fleet of canaries, one tick as the CronJob runs it.

Run from the repository root:

    .venv/bin/python bench/bench_cluster.py            # 1,000 canaries in 10 namespaces (about 2 minutes)
    .venv/bin/python bench/bench_cluster.py --quick    # 100 canaries in 10 namespaces: a smoke run (30 s)
    .venv/bin/python bench/bench_cluster.py --reps 2   # the whole sequence twice, times as min–max
    .venv/bin/python bench/bench_cluster.py --canaries 300 --namespaces 3
    .venv/bin/python bench/bench_cluster.py --startup-only   # only the start-up tables

The fleet: `tests/harness/kube_emulator.py`'s API server (in this process, over real HTTP on 127.0.0.1) with cronary's
CRDs and the SMI TrafficSplit CRD, and N canaries `app-0000`, `app-0001`, ... spread over namespaces
`team-0`, `team-1`, ... Each is the seed guide's podinfo (fixtures/seed/): its Deployment (rolled out) and HPA
under the canary's name, and the seed Canary (v1alpha3, interval 10s, stepWeight 10, maxWeight 50) pointed at
them, **without metrics and without webhooks** in its analysis, so no Prometheus and no load tester are
involved: the benchmark measures the Kubernetes side of a tick (reads, decisions, writes). `--prometheus`
points at a closed port (nothing is ever asked). The provider is `smi:istio` (`--mesh-provider`).

Each measured tick is `python -m cronjob.cli tick --once --no-lease ...` **as a subprocess**, as the CronJob runs
it: in cluster, i.e. with `KUBERNETES_SERVICE_HOST`/`_PORT` set and a ServiceAccount directory (`token`, `ca.crt`;
`--service-account-dir`), over HTTPS (the emulator serves TLS with a throwaway CA and requires the bearer token).
`--kubeconfig` makes the ticks load a kubeconfig instead (the desktop path, with the full `kubernetes.config`).
`--concurrency N` is passed to the ticks; `--latency-ms M` makes every request wait M ms at the emulator (outside
its lock, so concurrent requests wait together), a stand-in for the network and a real API server.

The fleet is driven through the states of a rollout by the ticks themselves (and by the emulator's clock and
Deployment controller); every tick is measured, the cases of issue 4 are marked (a)-(d):

  (a) initialize      first tick: every canary's primary Deployment and Services created, status Initializing
  (b) steady          the same tick again at the same time: nothing is due, only the Canary LIST
      (setup)         an interval later, primaries rolled out: HPA, apex Service, TrafficSplit, Initialized
  (c) idle due        another interval later: everything due, nothing changed, no writes
      (setup)         a new image on every target, an interval later: new revision detected, Progressing
  (d) progressing     an interval later, every canary moves one weight step (0 -> 10, then 10 -> 20)

Per tick: API requests by verb (reads: list/get; writes: everything else) from the emulator's request log;
the wall time of the subprocess; its own CPU time (user+sys from `os.wait4`) and the emulator's (this
process's `time.process_time()` over the tick: nothing else runs here meanwhile); the child's peak RSS
(GNU time's `%M`, see `run_child` for why not `os.wait4`); and process start (just before `Popen`) to the
first LIST and to the first write the emulator receives, i.e. the first decision (an `on_request` callback
stamps `time.monotonic()`, and `time.process_time()` for the emulator's CPU spent until then). The ticks run
with bytecode cached for `engine/` and `cronjob/` in a temporary `PYTHONPYCACHEPREFIX`, as in the image
(which compiles it at build time). Two more tables give the start-up cost alone: interpreter, `import
cronjob.cli`, plus the Kubernetes client that `api_client_for` imports (best of several import-only
processes), and the biggest imports from `python -X importtime`.

The emulator is Python, in this process, and serializes requests under one lock: a tick's wall time is
roughly its own CPU plus the emulator's (compare the two CPU columns). Nothing here asserts a timing; the
request counts are checked by tests/cluster/test_cluster_scale.py (which plays the same steps in process).
"""

from __future__ import annotations

import argparse
import copy
import os
import platform
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for _path in (ROOT, ROOT / "tests"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from cronjob.shared.yamlio import load_documents, load_single
from harness.cluster import DEPLOY_CRDS, NEW_IMAGE, SEED, SMI_CRD, START, hpa_v2
from harness.kube_emulator import KubeEmulator, RecordedRequest

CANARY_API = "flagger.app/v1beta1"
INTERVAL = 10  # the seed canary's analysis interval, seconds
TOKEN = "bench-service-account-token"
READS = ("list", "get")
# kinds a due namespace is listed for with this fleet: Deployments, Services, HPAs, TrafficSplits, ConfigMaps and
# Secrets (config tracking is on by default); plus the one Canary LIST over all namespaces
KINDS_PER_NAMESPACE = 6


# -- the fleet ------------------------------------------------------------------------------------------------
def namespace_of(index: int, canaries: int, namespaces: int) -> str:
    """Contiguous blocks: team-0 holds the first canaries/namespaces canaries, and so on."""
    return f"team-{index * namespaces // canaries}"


@dataclass
class Fleet:
    """N seed-like canaries on an emulator, without metrics and webhooks."""

    emulator: KubeEmulator
    kubeconfig: str
    canaries: int
    namespaces: int
    keys: list[tuple[str, str]] = field(default_factory=list)  # (namespace, name) of every canary
    pod_env: dict[str, str] = field(default_factory=dict)  # in cluster: KUBERNETES_SERVICE_*, the ServiceAccount dir
    use_kubeconfig: bool = False
    extra_args: tuple[str, ...] = ()  # e.g. --concurrency N

    @classmethod
    def build(cls, emulator: KubeEmulator, workdir: Path, canaries: int, namespaces: int) -> Fleet:
        if not 1 <= namespaces <= canaries:
            raise ValueError("need 1 <= namespaces <= canaries")
        fleet = cls(emulator, emulator.write_kubeconfig(workdir / "kubeconfig"), canaries, namespaces)
        if emulator.tls and emulator.token:  # in cluster is possible (else: --kubeconfig only)
            account = workdir / "serviceaccount"
            fleet.pod_env = {**emulator.write_service_account(account), "CRONARY_SERVICE_ACCOUNT_DIR": str(account)}
        else:
            fleet.use_kubeconfig = True
        for path in sorted(DEPLOY_CRDS.glob("*.yaml")):
            emulator.install_crds_from(path)
        emulator.install_crds_from(SMI_CRD)
        docs = load_documents(str(SEED / "cluster.yaml"))
        deployment = next(d for d in docs if d["kind"] == "Deployment")
        hpa = hpa_v2(next(d for d in docs if d["kind"] == "HorizontalPodAutoscaler"))
        canary = load_single(str(SEED / "podinfo-canary.yaml"))
        analysis = canary["spec"]["canaryAnalysis"]
        analysis.pop("metrics", None)
        analysis.pop("webhooks", None)
        for n in range(namespaces):
            emulator.create(
                {
                    "apiVersion": "v1",
                    "kind": "Namespace",
                    "metadata": {"name": f"team-{n}", "labels": {"istio-injection": "enabled"}},
                }
            )
        for i in range(canaries):
            namespace, name = namespace_of(i, canaries, namespaces), f"app-{i:04d}"
            fleet.keys.append((namespace, name))
            emulator.create(_deployment(deployment, namespace, name))
            emulator.create(_hpa(hpa, namespace, name))
            emulator.create(_canary(canary, namespace, name))
        return fleet

    def args(self) -> list[str]:
        where = ["--kubeconfig", self.kubeconfig] if self.use_kubeconfig else []  # default: in cluster, as the CronJob
        return [
            "tick",
            "--once",
            "--no-lease",
            *where,
            "--mesh-provider",
            "smi:istio",
            "--prometheus",
            "http://127.0.0.1:9",  # discard port: never asked, the canaries have no metrics
            *self.extra_args,
        ]

    def states(self) -> Counter[tuple[Any, Any]]:
        """(phase, canaryWeight) of every canary, counted."""
        return Counter(
            ((c.get("status") or {}).get("phase"), (c.get("status") or {}).get("canaryWeight"))
            for c in self.emulator.list(CANARY_API, "Canary")
        )

    def new_image(self, image: str = NEW_IMAGE) -> None:
        """`kubectl set image` on every target (the targets are scaled to 0 by then, so their rollout is done)."""
        for namespace, name in self.keys:
            dep = self.emulator.get("apps/v1", "Deployment", namespace, name)
            assert dep is not None
            dep["spec"]["template"]["spec"]["containers"][0]["image"] = image
            self.emulator.replace(dep)
        self.emulator.complete_rollouts()

    def later(self) -> None:
        """One analysis interval later; the Deployment controller has finished every rollout meanwhile."""
        self.emulator.advance(INTERVAL)
        self.emulator.complete_rollouts()


def _labelled(doc: dict[str, Any], namespace: str, name: str) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    out["metadata"].update(name=name, namespace=namespace)
    return out


def _deployment(seed: dict[str, Any], namespace: str, name: str) -> dict[str, Any]:
    dep = _labelled(seed, namespace, name)
    dep["metadata"]["labels"] = {"app": name}
    dep["spec"]["selector"]["matchLabels"] = {"app": name}
    dep["spec"]["template"]["metadata"]["labels"] = {"app": name}
    return dep


def _hpa(seed: dict[str, Any], namespace: str, name: str) -> dict[str, Any]:
    hpa = _labelled(seed, namespace, name)
    hpa["spec"]["scaleTargetRef"]["name"] = name
    return hpa


def _canary(seed: dict[str, Any], namespace: str, name: str) -> dict[str, Any]:
    canary = _labelled(seed, namespace, name)
    canary["spec"]["targetRef"]["name"] = name
    canary["spec"]["autoscalerRef"]["name"] = name
    canary["spec"]["service"]["hosts"] = [f"{name}.{namespace}.example.com"]
    return canary


# -- the steps of the benchmark ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Step:
    case: str  # "a".."d", or "" for a setup tick (measured too)
    label: str
    prepare: Callable[[Fleet], None]
    expect: tuple[str, int]  # every canary's (phase, canaryWeight) after the tick
    writes: bool  # whether the tick should write anything


def _nothing(fleet: Fleet) -> None:
    return None


def _new_image_later(fleet: Fleet) -> None:
    fleet.new_image()
    fleet.later()


STEPS = (
    Step("a", "initialize: primaries and Services created", _nothing, ("Initializing", 0), True),
    Step("b", "steady: same time again, nothing due", _nothing, ("Initializing", 0), False),
    Step("", "setup: primaries ready, HPA/apex/TrafficSplit, Initialized", Fleet.later, ("Initialized", 0), True),
    Step("c", "idle due: an interval later, nothing changed", Fleet.later, ("Initialized", 0), False),
    Step("", "setup: new image on every target, Progressing", _new_image_later, ("Progressing", 0), True),
    Step("d", "progressing: every canary weight 0 -> 10", Fleet.later, ("Progressing", 10), True),
    Step("d", "progressing: every canary weight 10 -> 20", Fleet.later, ("Progressing", 20), True),
)


# -- measuring one tick ----------------------------------------------------------------------------------------
@dataclass
class Measurement:
    step: Step
    exit_code: int
    verbs: Counter[str]  # by RecordedRequest.verb (None: discovery)
    list_scopes: Counter[tuple[str | None, str | None]]  # (resource, namespace) of each LIST
    wall: float
    tick_cpu: float  # the child's user+sys
    emulator_cpu: float  # this process's CPU over the tick
    peak_rss_kib: int | None  # None without GNU time
    to_first_list: float | None
    to_first_write: float | None
    emulator_cpu_to_first_write: float | None  # the emulator's share of `to_first_write`
    states: Counter[tuple[Any, Any]]
    output: str = ""

    @property
    def reads(self) -> int:
        return sum(n for verb, n in self.verbs.items() if verb in READS)

    @property
    def writes(self) -> int:
        return sum(n for verb, n in self.verbs.items() if verb not in READS)

    def check(self, fleet: Fleet) -> list[str]:
        """What is not as the step expects (empty when all is well)."""
        problems = []
        if self.exit_code != 0:
            problems.append(f"exit code {self.exit_code}: {self.output[-1500:]}")
        if self.states != Counter({self.step.expect: fleet.canaries}):
            problems.append(f"canary states {dict(self.states)}, expected all {self.step.expect}")
        if self.verbs.get("get"):
            problems.append(f"{self.verbs['get']} GET requests (objects must come from LISTs)")
        if bool(self.writes) != self.step.writes:
            problems.append(f"{self.writes} writes")
        return problems


class FirstRequests:
    """`on_request` callback: the monotonic time of the first LIST and the first write since `arm()`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.first_list: float | None = None
        self.first_write: float | None = None
        self.cpu_at_first_write: float | None = None  # this process's CPU time then (the emulator's, all threads)

    def arm(self) -> None:
        with self._lock:
            self.first_list = self.first_write = self.cpu_at_first_write = None

    def __call__(self, request: RecordedRequest) -> None:
        now = time.monotonic()
        with self._lock:
            if request.verb == "list" and self.first_list is None:
                self.first_list = now
            elif request.verb is not None and request.verb not in READS and self.first_write is None:
                self.first_write, self.cpu_at_first_write = now, time.process_time()


TIME = "/usr/bin/time"  # GNU time: the peak RSS of its own child, which it forks from a small process


def child_env(pycache: str | None) -> dict[str, str]:
    """The children's environment: this checkout on the path and, with `pycache`, bytecode cached there (the
    image compiles it at build time; this shell's PYTHONDONTWRITEBYTECODE=1 would recompile engine/ and
    cronjob/ in every process, and a prefix keeps the checkout free of __pycache__)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if pycache is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = pycache
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def run_child(
    argv: list[str], env: dict[str, str], stdout: Any = subprocess.DEVNULL
) -> tuple[int, float, float, int | None]:
    """Run one process to its end: exit code, wall seconds, user+sys seconds (`os.wait4`) and peak RSS in KiB.

    The peak RSS cannot come from `os.wait4` (or RUSAGE_CHILDREN) here: `subprocess` starts the child with
    vfork, and Linux keeps the high-water RSS of the memory the child had before `exec`, which is this
    process's, emulator and all (a `python -c pass` started from a 300 MB parent reports 300 MB). GNU time
    forks the real child from its own small image and reports that child's `ru_maxrss`; without it, None."""
    with tempfile.NamedTemporaryFile("r") as rss_file:
        wrapper = [TIME, "-f", "%M", "-o", rss_file.name] if os.access(TIME, os.X_OK) else []
        started = time.monotonic()
        proc = subprocess.Popen([*wrapper, *argv], cwd=ROOT, env=env, stdout=stdout, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)  # GNU time's usage includes its waited-for child's CPU
        wall = time.monotonic() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        text = rss_file.read().strip().splitlines()
    rss = int(text[-1]) if wrapper and text and text[-1].isdigit() else None
    return proc.returncode, wall, usage.ru_utime + usage.ru_stime, rss


def measure_tick(fleet: Fleet, step: Step, first: FirstRequests, env: dict[str, str]) -> Measurement:
    emulator = fleet.emulator
    emulator.clear_requests()
    first.arm()
    with tempfile.TemporaryFile() as out:
        cpu0, t0 = time.process_time(), time.monotonic()
        code, wall, tick_cpu, rss = run_child(
            [sys.executable, "-m", "cronjob.cli", *fleet.args()], {**env, **fleet.pod_env}, stdout=out
        )
        emulator_cpu = time.process_time() - cpu0
        out.seek(0)
        output = out.read().decode("utf-8", "replace")
    requests = emulator.requests
    return Measurement(
        step,
        code,
        Counter(str(r.verb) for r in requests),
        Counter((r.resource, r.namespace) for r in requests if r.verb == "list"),
        wall,
        tick_cpu,
        emulator_cpu,
        rss,
        None if first.first_list is None else first.first_list - t0,
        None if first.first_write is None else first.first_write - t0,
        None if first.cpu_at_first_write is None else first.cpu_at_first_write - cpu0,
        fleet.states(),
        output,
    )


def run_fleet(
    canaries: int,
    namespaces: int,
    env: dict[str, str],
    log: Callable[[str], None],
    use_kubeconfig: bool = False,
    concurrency: int | None = None,
    latency: float = 0.0,
) -> list[Measurement]:
    with tempfile.TemporaryDirectory() as tmp, KubeEmulator(now=START, token=TOKEN, tls=True) as emulator:
        started = time.monotonic()
        fleet = Fleet.build(emulator, Path(tmp), canaries, namespaces)
        fleet.use_kubeconfig = use_kubeconfig
        fleet.extra_args = ("--concurrency", str(concurrency)) if concurrency else ()
        if latency:  # every request waits this long before it is served, outside the emulator's lock
            emulator.fail(status=0, delay=latency, times=10**9)
        log(f"fleet of {canaries} canaries in {namespaces} namespaces created in {time.monotonic() - started:.1f}s")
        first = FirstRequests()
        emulator.on_request(first)
        results = []
        for step in STEPS:
            step.prepare(fleet)
            m = measure_tick(fleet, step, first, env)
            problems = m.check(fleet)
            if problems:
                raise SystemExit(f"step {step.label!r}: " + "; ".join(problems))
            log(f"  {step.case or '-'} {step.label}: {m.reads} reads, {m.writes} writes, {m.wall:.2f}s")
            results.append(m)
        if emulator.errors:
            raise SystemExit(f"emulator errors: {emulator.errors[:3]}")
        return results


# -- start-up cost -----------------------------------------------------------------------------------------------
# all an in-cluster tick imports before its first LIST (what `configuration_for` and `KubeClient` import)
TICK_IMPORTS = (
    "import cronjob.cli; from cronjob.shared.deferred_import import import_deferred; "
    "import_deferred('kubernetes.client.rest', 'kubernetes.client.configuration', 'kubernetes.config.incluster_config')"
)
KUBECONFIG_IMPORTS = TICK_IMPORTS + "; from kubernetes.config import kube_config"  # with --kubeconfig
STARTUP = (  # label, code, bytecode cached
    ("interpreter alone (`python -c pass`)", "pass", True),
    ("`import cronjob.cli`", "import cronjob.cli", True),
    (
        "`import cronjob.cli` + the client modules of the in-cluster path: all a CronJob tick imports before its first LIST",
        TICK_IMPORTS,
        True,
    ),
    ("the same with `--kubeconfig` (the full `kubernetes.config` loader)", KUBECONFIG_IMPORTS, True),
    (
        "the third row without bytecode for `engine/` and `cronjob/` (this dev shell's `PYTHONDONTWRITEBYTECODE=1`)",
        TICK_IMPORTS,
        False,
    ),
)


def startup_costs(reps: int, pycache: str) -> list[tuple[str, float, float, int | None]]:
    """Best-of-`reps` wall time, CPU time (user+sys) and peak RSS (KiB) of processes that only import."""
    out = []
    for label, code, cached in STARTUP:
        runs = [run_child([sys.executable, "-c", code], child_env(pycache if cached else None)) for _ in range(reps)]
        if any(r[0] for r in runs):
            raise SystemExit(f"{code!r} failed")
        rss = [r[3] for r in runs if r[3] is not None]
        out.append((label, min(r[1] for r in runs), min(r[2] for r in runs), min(rss) if rss else None))
    return out


_IMPORTTIME = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def biggest_imports(pycache: str, limit: int = 14) -> list[tuple[str, int, float]]:
    """The modules with the largest cumulative import time (ms) before the first LIST, from one
    `python -X importtime` run: (name, nesting depth, ms)."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", TICK_IMPORTS],
        cwd=ROOT,
        env=child_env(pycache),
        capture_output=True,
        text=True,
        check=True,
    )
    rows = []
    for line in proc.stderr.splitlines():
        match = _IMPORTTIME.match(line)
        if match:
            rows.append((match.group(4), (len(match.group(3)) - 1) // 2, int(match.group(2)) / 1000))
    rows.sort(key=lambda r: -r[2])
    return rows[:limit]


# -- report ------------------------------------------------------------------------------------------------------
def _seconds(values: list[float | None]) -> str:
    present = [v for v in values if v is not None]
    if not present:
        return "—"
    lo, hi = min(present), max(present)
    return f"{lo:.2f}" if len(present) == 1 or hi - lo < 0.005 else f"{lo:.2f}–{hi:.2f}"


def _mib(values: list[int | None]) -> str:
    present = [v for v in values if v is not None]
    if not present:
        return "—"
    lo, hi = min(present) / 1024, max(present) / 1024
    return f"{lo:.0f}" if round(lo) == round(hi) else f"{lo:.0f}–{hi:.0f}"


def _writes(m: Measurement) -> str:
    by_verb = sorted((verb, n) for verb, n in m.verbs.items() if verb not in READS)
    return f"{m.writes} (" + ", ".join(f"{verb} {n}" for verb, n in by_verb) + ")" if by_verb else "0"


def table(reps: list[list[Measurement]]) -> str:
    lines = [
        "| case | tick | LIST | GET | writes | wall s | tick CPU s | emulator CPU s | peak RSS MiB | start → 1st LIST s | start → 1st write s | emulator CPU before 1st write s |",
        "|---|---|--:|--:|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for i, m in enumerate(reps[0]):
        same = [rep[i] for rep in reps]
        if any(s.verbs != m.verbs for s in same):
            raise SystemExit(f"request counts differ between repetitions for {m.step.label!r}")
        lines.append(
            f"| {m.step.case and f'({m.step.case})'} | {m.step.label} | {m.verbs.get('list', 0)} | {m.verbs.get('get', 0)} | {_writes(m)} "
            f"| {_seconds([s.wall for s in same])} | {_seconds([s.tick_cpu for s in same])} | {_seconds([s.emulator_cpu for s in same])} "
            f"| {_mib([s.peak_rss_kib for s in same])} | {_seconds([s.to_first_list for s in same])} | {_seconds([s.to_first_write for s in same])} "
            f"| {_seconds([s.emulator_cpu_to_first_write for s in same])} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 canaries in 10 namespaces, one repetition")
    parser.add_argument(
        "--canaries", type=int, default=None, help="canaries in the fleet (default 1000; 100 with --quick)"
    )
    parser.add_argument("--namespaces", type=int, default=10, help="namespaces they are spread over (default 10)")
    parser.add_argument(
        "--reps",
        type=int,
        default=1,
        help="play the whole sequence this many times on a fresh emulator; times are min–max (default 1)",
    )
    parser.add_argument("--startup-only", action="store_true", help="only the start-up tables (no fleet)")
    parser.add_argument(
        "--kubeconfig", action="store_true", help="ticks load a kubeconfig instead of the in-cluster configuration"
    )
    parser.add_argument("--concurrency", type=int, default=None, help="the ticks' --concurrency (default: the CLI's)")
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=0.0,
        help="every API request waits this long at the server (a network and API server stand-in)",
    )
    args = parser.parse_args(argv)
    canaries = args.canaries or (100 if args.quick else 1000)

    def log(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="cronary-pycache-") as pycache:
        env = child_env(pycache)
        run_child([sys.executable, "-c", TICK_IMPORTS], env)  # compile engine/ and cronjob/ once, as the image has
        startup = startup_costs(3 if args.quick else 7, pycache)
        imports = biggest_imports(pycache)
        runs = (
            []
            if args.startup_only
            else [
                run_fleet(
                    canaries, args.namespaces, env, log, args.kubeconfig, args.concurrency, args.latency_ms / 1000
                )
                for _ in range(max(1, args.reps))
            ]
        )
    load = os.getloadavg()
    print(
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at the end."
    )
    if not os.access(TIME, os.X_OK):
        print(f"{TIME} not found: no peak RSS (see run_child).")
    if runs:
        bound = 1 + KINDS_PER_NAMESPACE * args.namespaces
        where = "--kubeconfig" if args.kubeconfig else "in cluster"
        concurrency = f"--concurrency {args.concurrency}" if args.concurrency else "default --concurrency"
        print(
            f"\n## {canaries} canaries in {args.namespaces} namespaces, {len(runs)} repetition(s), {where}, {concurrency}, {args.latency_ms:g} ms latency\n"
        )
        print(
            f"Reads bound: 1 Canary LIST + {KINDS_PER_NAMESPACE} kinds × {args.namespaces} namespaces = {bound} LISTs.\n"
        )
        print(table(runs))
    print("\n### Start-up cost (processes that only import; best of several)\n")
    print("| process | wall s | CPU s | peak RSS MiB |\n|---|--:|--:|--:|")
    for label, wall, cpu, rss in startup:
        print(f"| {label} | {wall:.2f} | {cpu:.2f} | {'—' if rss is None else f'{rss / 1024:.0f}'} |")
    print(
        "\n### Biggest imports before the first LIST (`python -X importtime`, cumulative ms, one run; the tracing inflates them)\n"
    )
    print("| module | depth | ms |\n|---|--:|--:|")
    for name, depth, ms in imports:
        print(f"| `{name}` | {depth} | {ms:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
