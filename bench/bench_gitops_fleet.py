"""GitOps mode at fleet scale: whole `cronary tick --git-repo … --no-cluster --once` passes, as a Job runs them.

Run from the repository root:

    .venv/bin/python bench/bench_gitops_fleet.py            # 1,000 canaries
    .venv/bin/python bench/bench_gitops_fleet.py --quick    # 100 canaries
    .venv/bin/python bench/bench_gitops_fleet.py --profile DIR   # also each pass in process under cProfile

Issue 14's case: one `--no-cluster` shard of N canaries (default 1,000; 20 apps per team namespace). A bare remote
holds the team's manifests as a "developer" committed them: under `apps/team-T/app-A/` the seed guide's Canary
(renamed; no metrics and no webhooks, so the pass measures reading, deciding, writing and committing, not a
Prometheus: fleet-scale querying is `bench_metrics.py`'s), its Deployment (~1.4 KB) and its HPA. Then whole
passes are timed, each one a `cronary tick --git-repo … --no-cluster --git-manifests apps --once --now T`
subprocess (what a Job runs; wall time including interpreter start-up, with the peak RSS of that process from
`wait4`), all with the same `--git-cache` (a PVC, or one Job's emptyDir across passes):

  initializing  the first pass: every canary's primary, Services, HPA, TrafficSplit, status written
  initialized   the second pass: every canary goes Initializing -> Initialized
  idle          a pass one second later: nothing is due (each canary's interval is 10 s)
  new revision  after one developer commit giving every Deployment a new image: every canary starts a rollout
  progressing   the next interval: every canary moves one weight step (0 -> 10)

Each pass must commit for every canary (checked: the number of canary directories the pass's commit changed),
except the idle one, which must commit nothing. Start-up alone (`cronary --version` in a subprocess) is timed
too. For comparison, the git command line does the same writes: a clone with a working tree gets the files each
pass committed (written, `git add -A`, `git commit`, `git push`), timed per pass like bench_git.py does.

With `--profile DIR`, each pass is also run a second time in process (`cronjob.cli.main`) on a copy of the
remote under cProfile, and the stats are written to DIR/<pass>.pstats (the subprocess figures are unaffected).
"""

from __future__ import annotations

import argparse
import copy
import cProfile
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pygit2
from bench_git import Git  # the git command line without user or system configuration

from cronjob.git.layout import dump
from cronjob.git.repo import GitWorkspace
from cronjob.shared.options import Signature
from cronjob.shared.yamlio import load_documents, load_single

SEED = ROOT / "fixtures" / "seed"
APPS_PER_TEAM = 20
T0 = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
DEVELOPER = Signature("Dana Developer", "dana@example.com")
NEW_IMAGE = "quay.io/stefanprodan/podinfo:1.7.1"


# ------------------------------------------------------------------------------------------ the fleet


def fleet(n: int) -> list[tuple[str, str]]:
    return [(f"team-{i // APPS_PER_TEAM}", f"app-{i % APPS_PER_TEAM}") for i in range(n)]


def team_files(apps: list[tuple[str, str]]) -> dict[str, bytes]:
    """The seed guide's Canary, Deployment and HPA for every app, renamed (what a team keeps under apps/)."""
    canary = load_single(str(SEED / "podinfo-canary.yaml"))
    analysis = canary["spec"]["canaryAnalysis"]
    analysis["metrics"] = []
    analysis.pop("webhooks", None)
    seed = {d["kind"]: d for d in load_documents(str(SEED / "cluster.yaml"))}
    files: dict[str, bytes] = {}
    for ns, name in apps:
        c = copy.deepcopy(canary)
        c["metadata"].update(name=name, namespace=ns)
        c["spec"]["targetRef"]["name"] = c["spec"]["autoscalerRef"]["name"] = name
        d = copy.deepcopy(seed["Deployment"])
        d.pop("status", None)
        d["metadata"].update(name=name, namespace=ns)
        d["spec"]["selector"]["matchLabels"]["app"] = name
        d["spec"]["template"]["metadata"]["labels"]["app"] = name
        h = copy.deepcopy(seed["HorizontalPodAutoscaler"])
        h.pop("status", None)
        h["metadata"].update(name=name, namespace=ns)
        h["spec"]["scaleTargetRef"]["name"] = name
        base = f"apps/{ns}/{name}"
        files[f"{base}/canary.yaml"] = dump(c)
        files[f"{base}/deployment.yaml"] = dump(d)
        files[f"{base}/hpa.yaml"] = dump(h)
    return files


def new_images(developer: GitWorkspace, apps: list[tuple[str, str]]) -> dict[str, bytes]:
    """Every Deployment with a new image, as a person would edit it (only the image line changes)."""
    out = {}
    for ns, name in apps:
        path = f"apps/{ns}/{name}/deployment.yaml"
        text = developer.read(path)
        assert text is not None
        old = text.decode()
        image = next(line for line in old.splitlines() if line.strip().startswith("image:"))
        out[path] = old.replace(image, image.split("image:")[0] + f"image: {NEW_IMAGE}").encode()
    return out


# ------------------------------------------------------------------------------------------ running passes


def tick_args(remote: Path, cache: Path, now: datetime, extra: tuple[str, ...] = ()) -> list[str]:
    return [
        "tick",
        "--git-repo",
        str(remote),
        "--git-branch",
        "main",
        "--git-path",
        "cronary",
        "--git-cache",
        str(cache),
        "--no-cluster",
        "--git-manifests",
        "apps",
        "--sync-delay",
        "0s",
        "--mesh-provider",
        "smi:istio",
        "--once",
        "--now",
        now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        *extra,
    ]


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def subprocess_pass(args: list[str], log: Path) -> tuple[float, float, int]:
    """(wall seconds, peak RSS in MB, exit status) of `cronary ARGS` as its own process."""
    code = "import sys; from cronjob.cli import main; sys.argv[0] = 'cronary'; main()"
    start = time.perf_counter()
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-c", code, *args], env=env(), stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_maxrss / 1024, proc.returncode


def profiled_pass(args: list[str], out: Path) -> float:
    """The same pass in this process under cProfile (on a copy of the remote and cache)."""
    from cronjob.cli import main

    profile = cProfile.Profile()
    start = time.perf_counter()
    profile.enable()
    try:
        main(args)
    except SystemExit:
        pass
    finally:
        profile.disable()
    wall = time.perf_counter() - start
    profile.dump_stats(str(out))
    return wall


def changed_dirs(remote: Path, before: str | None) -> tuple[int, dict[str, bytes | None]]:
    """(canary directories the commits since `before` changed, {path: content} of every changed file)."""
    repo = pygit2.Repository(str(remote))
    head = repo.references["refs/heads/main"].target
    if before is not None and str(head) == before:
        return 0, {}
    old = repo.get(before).peel(pygit2.Tree) if before else None
    new = repo.get(head).peel(pygit2.Tree)
    diff = repo.diff(old, new) if old is not None else new.diff_to_tree(swap=True)
    files: dict[str, bytes | None] = {}
    for patch in diff:
        delta = patch.delta
        path = delta.new_file.path
        files[path] = None if delta.status == pygit2.GIT_DELTA_DELETED else repo[delta.new_file.id].data
    dirs = {"/".join(p.split("/")[:3]) for p in files if p.startswith("cronary/")}
    return len(dirs), files


def head(remote: Path) -> str | None:
    ref = pygit2.Repository(str(remote)).references.get("refs/heads/main")
    return None if ref is None else str(ref.target)


def cli_writes(git: Git, clone: Path, files: dict[str, bytes | None], message: str) -> float:
    """Fetch, write the files, add, commit, push with the git command line; the wall seconds."""
    start = time.perf_counter()
    git("pull", "-q", "--ff-only", cwd=clone)
    for rel, content in files.items():
        path = clone / rel
        if content is None:
            path.unlink(missing_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    git("add", "-A", cwd=clone)
    git("commit", "-q", "-m", message, cwd=clone)
    git("push", "-q", "origin", "HEAD:main", cwd=clone)
    return time.perf_counter() - start


# ------------------------------------------------------------------------------------------ the run


PASSES = (  # name, seconds after T0, the developer's change before it, canary directories it must change
    ("initializing", 0, None, "all"),
    ("initialized", 10, None, "all"),
    ("idle", 11, None, "none"),
    ("new revision", 20, "images", "all"),
    ("progressing", 30, None, "all"),
)


def run(n: int, workdir: Path, profile_dir: Path | None) -> int:
    apps = fleet(n)
    remote, cache = workdir / "remote.git", workdir / "cache"
    pygit2.init_repository(str(remote), bare=True, initial_head="main")
    git = Git(workdir)
    git("--git-dir", str(remote), "config", "gc.auto", "0")
    developer = GitWorkspace(str(remote), "main", workdir / "developer", signature=DEVELOPER)
    developer.sync()
    files = team_files(apps)
    developer.commit(files, f"{n} apps with canaries", T0 - timedelta(minutes=5))
    assert developer.push()
    print(f"{n:,} canaries: {len(files):,} team files ({sum(map(len, files.values())) / len(files):,.0f} B average)")
    cli_remote, clone = workdir / "cli-remote.git", workdir / "clone"  # the command line's own remote
    shutil.copytree(remote, cli_remote)
    git("clone", "-q", str(cli_remote), str(clone))
    git("config", "gc.auto", "0", cwd=clone)
    logs = workdir / "logs"
    logs.mkdir()

    startups = []
    for _ in range(3):
        wall, rss, code = subprocess_pass(["--version"], logs / "version.log")
        assert code == 0
        startups.append((wall, rss))
    startup = min(w for w, _ in startups)
    print(f"start-up (`cronary --version`): {startup:.2f} s, {min(r for _, r in startups):.0f} MB\n")

    rows = []
    failed = False
    for name, offset, change, expect in PASSES:
        if change == "images":
            developer.sync()
            images = new_images(developer, apps)
            developer.commit(images, "every app: a new image", T0 + timedelta(seconds=offset - 1))
            assert developer.push()
            cli_writes(git, clone, dict(images), "every app: a new image")
        before = head(remote)
        args = tick_args(remote, cache, T0 + timedelta(seconds=offset))
        if profile_dir is not None:  # the same pass in process, on copies, before the real one
            shutil.rmtree(workdir / "p-remote.git", ignore_errors=True)
            shutil.rmtree(workdir / "p-cache", ignore_errors=True)
            shutil.copytree(remote, workdir / "p-remote.git")
            if cache.exists():  # the copy of the cache fetches from the copy of the remote (else it is re-cloned)
                shutil.copytree(cache, workdir / "p-cache")
                pygit2.Repository(str(workdir / "p-cache")).remotes.set_url("origin", str(workdir / "p-remote.git"))
            p_args = tick_args(workdir / "p-remote.git", workdir / "p-cache", T0 + timedelta(seconds=offset))
            slug = name.replace(" ", "-")
            p_wall = profiled_pass(p_args, profile_dir / f"{slug}.pstats")
            print(f"  (profiled in process: {p_wall:.1f} s -> {profile_dir / slug}.pstats)")
        log = logs / f"{name.replace(' ', '-')}.log"
        wall, rss, code = subprocess_pass(args, log)
        dirs, written = changed_dirs(remote, before)
        ok = (dirs == n) if expect == "all" else (dirs == 0)
        if not ok or code != 0:
            failed = True
            print(f"UNEXPECTED: pass {name}: exit {code}, {dirs} canary directories changed; log {log}")
            print(log.read_text()[-2000:])
        cli = cli_writes(git, clone, written, f"{name}: the same writes") if written else None
        rows.append((name, wall, rss, dirs, len(written), cli))
        cli_text = f", git CLI {cli:.2f} s" if cli is not None else ""
        print(f"{name}: {wall:.2f} s, {rss:.0f} MB, {dirs} canaries / {len(written)} files committed{cli_text}")

    print("\n| pass | canaries committed | files | cronary tick (subprocess) | peak RSS | git CLI, same writes |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, wall, rss, dirs, count, cli in rows:
        cli_text = f"{cli:.2f} s ({wall / cli:.1f}×)" if cli else "—"
        print(f"| {name} | {dirs:,} | {count:,} | {wall:.2f} s | {rss:.0f} MB | {cli_text} |")
    print(f"| start-up alone (`cronary --version`) | | | {startup:.2f} s | | |")
    same = git("--git-dir", str(remote), "rev-parse", "main^{tree}") == git(
        "--git-dir", str(cli_remote), "rev-parse", "main^{tree}"
    )
    print(f"\nthe two remotes end with {'identical' if same else 'DIFFERENT'} trees")
    failed = failed or not same
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\n(this script's own peak RSS: {own:.0f} MB)")
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--canaries", type=int, default=1000)
    parser.add_argument("--quick", action="store_true", help="100 canaries")
    parser.add_argument("--profile", metavar="DIR", help="also run each pass in process under cProfile")
    parser.add_argument("--keep", action="store_true", help="keep the repositories (path printed)")
    parser.add_argument("--dir", help="where the repositories go (default: the system temp dir)")
    args = parser.parse_args()
    n = 100 if args.quick else args.canaries
    print(
        f"bench_gitops_fleet: Python {platform.python_version()}, pygit2 {pygit2.__version__} "
        f"(libgit2 {pygit2.LIBGIT2_VERSION}), {platform.machine()} {os.cpu_count()} CPUs, "
        f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )
    workdir = Path(tempfile.mkdtemp(prefix="bench-gitops-fleet-", dir=args.dir))
    profile_dir = Path(args.profile).absolute() if args.profile else None
    if profile_dir is not None:
        profile_dir.mkdir(parents=True, exist_ok=True)
    try:
        return run(n, workdir, profile_dir)
    finally:
        print(f"load average at the end {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        if args.keep:
            print(f"kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
