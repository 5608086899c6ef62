"""GitOps commits at fleet scale: `GitWorkspace` (pygit2, no working tree) vs the git command line, side by side.

Run from the repository root:

    .venv/bin/python bench/bench_git.py              # 1,000 canaries, 5 steps
    .venv/bin/python bench/bench_git.py --quick      # 100 canaries, 3 steps: a smoke check
    .venv/bin/python bench/bench_git.py --canaries 1000 --steps 9
    .venv/bin/python bench/bench_git.py --dir /dev/shm   # on tmpfs: CPU cost only, no disk noise

Issue 5's case: one tick moves the traffic weight of every canary at once and must give one commit.
Setup: N canary directories `team-T/app-A/` (20 apps per team), each holding the six objects a canary renders
(TrafficSplit, primary Deployment ~3 KB, apex/canary/primary Services, primary HPA), committed once.
Then, for each step k = 1..K, every TrafficSplit gets canary weight 10*k (one file per directory changes) and
one commit is pushed, in two ways that never share a repository:

  pygit2   `GitWorkspace.commit(changes) + push()` (blobs and the changed trees written from head's tree, a
           pack of the new objects sent to the bare remote, ref compare-and-swap under its lock)
  git CLI  a normal clone with a working tree: write the N files, `git add -A`, `git commit -q`, `git push -q`

Timed per step (wall, `time.perf_counter`): each part and the total; also a no-change fetch (`sync()` vs
`git fetch -q`), and a clone of the final history into an empty cache (an emptyDir starts empty every
Job). The two modes alternate within every step so they see the same machine load. Growth per
step: bytes added to the bare remote's `objects/` (what the git server stores) and to the local repository
(`cache` for pygit2, `.git` of the clone for the CLI: what an emptyDir/PVC holds). No gc anywhere: a CronJob
never runs one (auto-gc is switched off for the CLI and its remote so it cannot fire mid-measurement); the
remote's size after one `git gc` is printed at the end for scale. Before the table, both remotes are
checked to hold the same final tree and the same number of commits (any difference exits 1).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pygit2

from cronjob.git.repo import GitWorkspace

APPS_PER_TEAM = 20
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)

# ------------------------------------------------------------------------------------------ the fleet's files


def traffic_split(ns: str, name: str, weight: int) -> bytes:
    return f"""apiVersion: split.smi-spec.io/v1alpha2
kind: TrafficSplit
metadata:
  name: {name}
  namespace: {ns}
  labels:
    app.kubernetes.io/managed-by: cronary
  annotations:
    cronary.dev/canary: {name}.{ns}
  ownerReferences:
  - apiVersion: flagger.app/v1beta1
    kind: Canary
    name: {name}
    uid: 6f1d0c2e-{zlib.crc32(f"{ns}/{name}".encode()):012d}
    controller: true
    blockOwnerDeletion: true
spec:
  service: {name}
  backends:
  - service: {name}-primary
    weight: {100 - weight}
  - service: {name}-canary
    weight: {weight}
""".encode()


def deployment(ns: str, name: str) -> bytes:
    return f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}-primary
  namespace: {ns}
  labels:
    app: {name}-primary
    app.kubernetes.io/managed-by: cronary
  annotations:
    cronary.dev/canary: {name}.{ns}
    cronary.dev/revision: 5d9c7b6f4-{name}
  ownerReferences:
  - apiVersion: flagger.app/v1beta1
    kind: Canary
    name: {name}
    uid: 6f1d0c2e-{zlib.crc32(f"{ns}/{name}".encode()):012d}
    controller: true
    blockOwnerDeletion: true
spec:
  minReadySeconds: 5
  progressDeadlineSeconds: 60
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      app: {name}-primary
  strategy:
    rollingUpdate:
      maxSurge: 25%
      maxUnavailable: 0
    type: RollingUpdate
  template:
    metadata:
      annotations:
        prometheus.io/port: "9797"
        prometheus.io/scrape: "true"
        sidecar.istio.io/inject: "true"
      labels:
        app: {name}-primary
        version: 6.0.0
    spec:
      serviceAccountName: {name}
      terminationGracePeriodSeconds: 30
      containers:
      - name: {name}
        image: ghcr.io/{ns}/{name}:6.0.0
        imagePullPolicy: IfNotPresent
        command:
        - ./podinfo
        - --port=9898
        - --port-metrics=9797
        - --grpc-port=9999
        - --grpc-service-name={name}
        - --level=info
        - --random-delay=false
        - --random-error=false
        env:
        - name: PODINFO_UI_COLOR
          value: '#34577c'
        - name: CONFIG_PATH
          value: /etc/{name}/config.yaml
        - name: NAMESPACE
          valueFrom:
            fieldRef:
              fieldPath: metadata.namespace
        ports:
        - containerPort: 9898
          name: http
          protocol: TCP
        - containerPort: 9797
          name: http-metrics
          protocol: TCP
        - containerPort: 9999
          name: grpc
          protocol: TCP
        livenessProbe:
          exec:
            command:
            - podcli
            - check
            - http
            - localhost:9898/healthz
          initialDelaySeconds: 5
          timeoutSeconds: 5
          periodSeconds: 10
          failureThreshold: 3
        readinessProbe:
          exec:
            command:
            - podcli
            - check
            - http
            - localhost:9898/readyz
          initialDelaySeconds: 5
          timeoutSeconds: 5
          periodSeconds: 10
          failureThreshold: 3
        resources:
          limits:
            cpu: 2000m
            memory: 512Mi
          requests:
            cpu: 100m
            memory: 64Mi
        securityContext:
          allowPrivilegeEscalation: false
          readOnlyRootFilesystem: true
          runAsNonRoot: true
          runAsUser: 10001
          capabilities:
            drop:
            - ALL
        volumeMounts:
        - mountPath: /data
          name: data
        - mountPath: /etc/{name}
          name: config
          readOnly: true
      volumes:
      - name: data
        emptyDir: {{}}
      - name: config
        configMap:
          name: {name}-config-primary
""".encode()


def service(ns: str, name: str, suffix: str) -> bytes:
    svc = f"{name}{suffix}"
    selector = f"{name}-primary" if suffix != "-canary" else name
    return f"""apiVersion: v1
kind: Service
metadata:
  name: {svc}
  namespace: {ns}
  labels:
    app: {svc}
    app.kubernetes.io/managed-by: cronary
  annotations:
    cronary.dev/canary: {name}.{ns}
spec:
  type: ClusterIP
  selector:
    app: {selector}
  ports:
  - name: http
    port: 9898
    protocol: TCP
    targetPort: http
  - name: grpc
    port: 9999
    protocol: TCP
    targetPort: grpc
""".encode()


def hpa(ns: str, name: str) -> bytes:
    return f"""apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {name}-primary
  namespace: {ns}
  labels:
    app.kubernetes.io/managed-by: cronary
  annotations:
    cronary.dev/canary: {name}.{ns}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {name}-primary
  minReplicas: 2
  maxReplicas: 4
  metrics:
  - type: Resource
    resource:
      name: cpu
      target:
        type: Utilization
        averageUtilization: 99
""".encode()


def canaries(n: int) -> list[tuple[str, str]]:
    return [(f"team-{i // APPS_PER_TEAM}", f"app-{i % APPS_PER_TEAM}") for i in range(n)]


def initial_files(fleet: list[tuple[str, str]]) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for ns, name in fleet:
        d = f"{ns}/{name}"
        files[f"{d}/trafficsplit.yaml"] = traffic_split(ns, name, 0)
        files[f"{d}/deployment-primary.yaml"] = deployment(ns, name)
        files[f"{d}/service.yaml"] = service(ns, name, "")
        files[f"{d}/service-canary.yaml"] = service(ns, name, "-canary")
        files[f"{d}/service-primary.yaml"] = service(ns, name, "-primary")
        files[f"{d}/hpa-primary.yaml"] = hpa(ns, name)
    return files


def step_files(fleet: list[tuple[str, str]], weight: int) -> dict[str, bytes]:
    return {f"{ns}/{name}/trafficsplit.yaml": traffic_split(ns, name, weight) for ns, name in fleet}


# ------------------------------------------------------------------------------------------ measuring


def tree_bytes(path: Path) -> int:
    """Apparent size of every file under `path` (what `du -sb` counts)."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def object_counts(objects: Path) -> str:
    loose = sum(1 for d in objects.iterdir() if len(d.name) == 2 for _ in d.iterdir())
    packs = sum(1 for _ in (objects / "pack").glob("*.pack"))
    return f"{loose} loose objects, {packs} packs"


class Timer:
    def __init__(self) -> None:
        self.samples: dict[str, list[float]] = {}

    def run(self, label: str, fn: Callable[[], object]) -> object:
        start = time.perf_counter()
        result = fn()
        self.samples.setdefault(label, []).append(time.perf_counter() - start)
        return result


class Git:
    """The git command line with no user or system configuration and auto-gc off."""

    def __init__(self, home: Path) -> None:
        self.exe = shutil.which("git")
        if not self.exe:
            sys.exit("bench_git: the git command line is needed (apt-get install -y git)")
        self.env = {
            **os.environ,
            "HOME": str(home),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_AUTHOR_NAME": "cronary",
            "GIT_AUTHOR_EMAIL": "cronary@cronary.invalid",
            "GIT_COMMITTER_NAME": "cronary",
            "GIT_COMMITTER_EMAIL": "cronary@cronary.invalid",
        }

    def __call__(self, *args: str, cwd: Path | None = None) -> str:
        out = subprocess.run([self.exe, *args], cwd=cwd, env=self.env, check=True, capture_output=True, text=True)
        return out.stdout

    def version(self) -> str:
        return self("--version").strip()


def write_tree(root: Path, files: dict[str, bytes]) -> None:
    made: set[Path] = set()
    for rel, content in files.items():
        path = root / rel
        if path.parent not in made:
            path.parent.mkdir(parents=True, exist_ok=True)
            made.add(path.parent)
        path.write_bytes(content)


# ------------------------------------------------------------------------------------------ the run


def run(n: int, steps: int, workdir: Path) -> int:
    git = Git(workdir)
    fleet = canaries(n)
    files = initial_files(fleet)
    avg = sum(map(len, files.values())) / len(files)
    dep = len(files[f"{fleet[0][0]}/{fleet[0][1]}/deployment-primary.yaml"])
    print(f"{n:,} canaries, {len(files):,} files ({avg:,.0f} B average, Deployment {dep:,} B), {steps} steps\n")

    remote_a, remote_b = workdir / "remote-pygit2.git", workdir / "remote-cli.git"
    cache, clone = workdir / "cache", workdir / "clone"
    pygit2.init_repository(str(remote_a), bare=True)
    git("init", "-q", "--bare", "-b", "main", str(remote_b))
    for remote in (remote_a, remote_b):
        git("--git-dir", str(remote), "config", "gc.auto", "0")
        git("--git-dir", str(remote), "config", "receive.autogc", "false")

    timer = Timer()
    # initial population, timed too (one commit of every file)
    ws = GitWorkspace(str(remote_a), "main", cache)
    timer.run("pygit2 initial: sync (clone of empty remote)", ws.sync)
    timer.run("pygit2 initial: commit", lambda: ws.commit(files, "initial", T0))
    timer.run("pygit2 initial: push", ws.push)
    git("clone", "-q", str(remote_b), str(clone))
    git("config", "gc.auto", "0", cwd=clone)
    timer.run("CLI initial: write files", lambda: write_tree(clone, files))
    timer.run("CLI initial: add", lambda: git("add", "-A", cwd=clone))
    timer.run("CLI initial: commit", lambda: git("commit", "-q", "-m", "initial", cwd=clone))
    timer.run("CLI initial: push", lambda: git("push", "-q", "origin", "HEAD:main", cwd=clone))

    growth: dict[str, list[int]] = {k: [] for k in ("pygit2 remote", "CLI remote", "pygit2 cache", "CLI clone .git")}
    for k in range(1, steps + 1):
        changes = step_files(fleet, min(10 * k, 100))
        message = f"fleet: canary weight {10 * (k - 1)} → {10 * k}"
        when = T0 + timedelta(minutes=k)
        before = {
            "pygit2 remote": tree_bytes(remote_a / "objects"),
            "CLI remote": tree_bytes(remote_b / "objects"),
            "pygit2 cache": tree_bytes(cache),
            "CLI clone .git": tree_bytes(clone / ".git"),
        }
        order = ("pygit2", "CLI") if k % 2 else ("CLI", "pygit2")
        for mode in order:
            if mode == "pygit2":
                timer.run("pygit2 sync (nothing new)", ws.sync)
                t0 = time.perf_counter()
                oid = timer.run("pygit2 commit", lambda c=changes, m=message, w=when: ws.commit(c, m, w))
                landed = timer.run("pygit2 push", ws.push)
                timer.samples.setdefault("pygit2 commit + push", []).append(time.perf_counter() - t0)
                assert oid and landed, "pygit2 step did not land"
            else:
                timer.run("CLI git fetch (nothing new)", lambda: git("fetch", "-q", cwd=clone))
                t0 = time.perf_counter()
                timer.run("CLI write files", lambda c=changes: write_tree(clone, c))
                timer.run("CLI git add -A", lambda: git("add", "-A", cwd=clone))
                timer.run("CLI git commit", lambda m=message: git("commit", "-q", "-m", m, cwd=clone))
                timer.run("CLI git push", lambda: git("push", "-q", "origin", "HEAD:main", cwd=clone))
                timer.samples.setdefault("CLI write + add + commit + push", []).append(time.perf_counter() - t0)
        after = {
            "pygit2 remote": tree_bytes(remote_a / "objects"),
            "CLI remote": tree_bytes(remote_b / "objects"),
            "pygit2 cache": tree_bytes(cache),
            "CLI clone .git": tree_bytes(clone / ".git"),
        }
        for key, values in growth.items():
            values.append(after[key] - before[key])

    # An emptyDir cache starts empty in every Job: what a full clone of the final history costs.
    for rep in range(3):
        fresh = GitWorkspace(str(remote_a), "main", workdir / f"fresh-{rep}")
        timer.run("pygit2 sync into an empty cache (clone)", fresh.sync)
        timer.run(
            "CLI git clone --no-local (with checkout)",
            lambda r=rep: git("clone", "-q", "--no-local", "-b", "main", str(remote_b), str(workdir / f"cl-{r}")),
        )

    # both remotes must hold the same files and the same number of commits
    tree_a = git("--git-dir", str(remote_a), "rev-parse", "main^{tree}").strip()
    tree_b = git("--git-dir", str(remote_b), "rev-parse", "main^{tree}").strip()
    count_a = git("--git-dir", str(remote_a), "rev-list", "--count", "main").strip()
    count_b = git("--git-dir", str(remote_b), "rev-list", "--count", "main").strip()
    if tree_a != tree_b or count_a != count_b:
        print(f"MISMATCH: trees {tree_a} vs {tree_b}, commits {count_a} vs {count_b}")
        return 1
    git("--git-dir", str(remote_a), "fsck", "--strict", "--no-progress")

    print("| part | min | median |")
    print("|---|---:|---:|")
    for label, samples in timer.samples.items():
        print(f"| {label} | {min(samples) * 1000:,.0f} ms | {statistics.median(samples) * 1000:,.0f} ms |")
    a = timer.samples["pygit2 commit + push"]
    b = timer.samples["CLI write + add + commit + push"]
    print(
        f"\nper step, pygit2 vs CLI: {min(b) / min(a):.1f}x faster by min, "
        f"{statistics.median(b) / statistics.median(a):.1f}x by median"
    )

    print("\n| growth per step (no gc) | min | median | max |")
    print("|---|---:|---:|---:|")
    for key, values in growth.items():
        low, mid, high = (x / 1024 for x in (min(values), statistics.median(values), max(values)))
        print(f"| {key} | {low:,.0f} KiB | {mid:,.0f} KiB | {high:,.0f} KiB |")

    print("\n| repository after initial + steps | objects/ bytes (no gc) | objects | after `git gc` |")
    print("|---|---:|---|---:|")
    for label, remote in (("pygit2 remote", remote_a), ("CLI remote", remote_b)):
        size = tree_bytes(remote / "objects")
        counts = object_counts(remote / "objects")
        copy = workdir / f"gc-{remote.name}"
        shutil.copytree(remote, copy)
        git("--git-dir", str(copy), "gc", "-q")
        print(f"| {label} | {size / 1024:,.0f} KiB | {counts} | {tree_bytes(copy / 'objects') / 1024:,.0f} KiB |")
    for label, objects in (("pygit2 cache", cache / "objects"), ("CLI clone .git", clone / ".git" / "objects")):
        print(f"| {label} | {tree_bytes(objects) / 1024:,.0f} KiB | {object_counts(objects)} | |")
    print(f"\nfinal commits: {count_a} each, identical trees ({tree_a[:12]})")
    return 0


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def filesystem(path: Path) -> str:
    try:
        out = subprocess.run(["df", "--output=fstype", str(path)], capture_output=True, text=True, check=True)
        return out.stdout.split()[-1]
    except (OSError, subprocess.CalledProcessError):
        return "unknown filesystem"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--canaries", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="100 canaries, 3 steps")
    parser.add_argument("--keep", action="store_true", help="keep the repositories (path printed)")
    parser.add_argument("--dir", help="where the repositories go (default: the system temp dir); try /dev/shm")
    args = parser.parse_args()
    n, steps = (100, 3) if args.quick else (args.canaries, args.steps)
    if not 1 <= steps <= 10:
        parser.error("--steps must be 1..10 (weights 10..100)")
    print(
        f"bench_git: Python {platform.python_version()}, pygit2 {pygit2.__version__} "
        f"(libgit2 {pygit2.LIBGIT2_VERSION}), {Git(Path(tempfile.gettempdir())).version()}, "
        f"{platform.machine()} {os.cpu_count()} CPUs, {platform.platform()}"
    )
    workdir = Path(tempfile.mkdtemp(prefix="bench-git-", dir=args.dir))
    print(f"repositories in {workdir.parent} ({filesystem(workdir)}), load average {load()}")
    try:
        return run(n, steps, workdir)
    finally:
        print(f"load average at the end {load()}")
        if args.keep:
            print(f"kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
