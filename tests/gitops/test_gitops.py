"""GitOps mode end to end: every traffic step a commit carrying its evidence, state in git, approvals and
reverts through git, no Secret data in the repository, and `cronary history` equal to `cronary simulate`.

Real repositories made by pygit2 with a bare repository on disk as the remote; metrics from the real
Prometheus; the load-test hook on a real HTTP server. Run without cluster access (`--no-cluster`): the team's
Canary and Deployment are read from the repository, and `--sync-delay 0s` stands for an instant GitOps sync.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cronjob.cli import main
from cronjob.git.layout import dump
from engine.evidence import parse_commit_message
from harness.gitops import APP, CANARY_DIR, DEVELOPER, GitOpsRepo
from harness.prometheus import failing

RESTING = ("Succeeded", "Failed")


@pytest.fixture
def loadtester(httpserver):
    httpserver.expect_request("/", method="POST").respond_with_data("ok")
    return httpserver


def play(repo: GitOpsRepo, ticks: int = 40, image_at: int = 3) -> list[str]:
    """Tick one interval apart, the developer pushing the new image before tick `image_at`. Returns the phase
    after each tick."""
    phases = []
    for n in range(1, ticks + 1):
        if n == image_at:
            repo.set_image()
        run = repo.tick()
        assert run.exit_code == 0, run.output
        phases.append(repo.state().get("status", {}).get("phase"))
        if n > image_at and phases[-1] in RESTING:
            return phases
    raise AssertionError(f"did not rest: {phases}")


def cronary_commits(repo: GitOpsRepo) -> list[Any]:
    """cronary's commits, oldest first."""
    return [c for c in reversed(repo.log()) if c.email != DEVELOPER.email]


def test_the_seed_rollout_is_one_commit_per_step_with_parseable_trailers(
    tmp_path: Path, prometheus, loadtester
) -> None:
    repo = GitOpsRepo(tmp_path, prometheus.url, loadtester.url_for("/")).seed()
    play(repo)
    commits = cronary_commits(repo)
    entries = [parse_commit_message(c.message) for c in commits]
    assert all(len(e) == 1 and e[0].canary == "podinfo.test" for e in entries)
    # the TrafficSplit of each commit: the canary's share steps 10, 20, ..., 50, then all back on the primary
    shares = []
    for commit in commits:
        blob = repo.read_at(commit.oid, f"{CANARY_DIR}/trafficsplit-podinfo.yaml")
        if blob is not None:
            weights = {b["service"]: int(str(b["weight"])) for b in json_yaml(blob)["spec"]["backends"]}
            shares.append(weights["podinfo-canary"])
    steps = [w for i, w in enumerate(shares) if i == 0 or shares[i - 1] != w]
    assert steps == [0, 10, 20, 30, 40, 50, 0]
    assert entries[-1][0].phase == "Succeeded"
    assert repo.split_weights() == {"podinfo-primary": 100, "podinfo-canary": 0}
    primary = repo.read(f"{CANARY_DIR}/deployment-podinfo-primary.yaml")
    assert primary["spec"]["template"]["spec"]["containers"][0]["image"] == "quay.io/stefanprodan/podinfo:1.7.1"
    subjects = [c.message.splitlines()[0] for c in commits]
    assert "podinfo.test: canary weight 20 → 30" in subjects


def json_yaml(blob: bytes) -> Any:
    from cronjob.git.layout import load

    return load(blob)


def test_a_failing_rollout_ends_with_a_rollback_commit_carrying_the_halted_values(
    tmp_path: Path, prometheus_factory, loadtester
) -> None:
    server = prometheus_factory([failing("test", "podinfo")])
    repo = GitOpsRepo(tmp_path, server.url, loadtester.url_for("/")).seed()
    phases = play(repo)
    assert phases[-1] == "Failed"
    last = cronary_commits(repo)[-1]
    assert last.message.splitlines()[0].startswith("podinfo.test: rollback")
    assert (
        "request-success-rate: 60" in last.message and ">= 99" in last.message
    )  # the halted value against its threshold
    halts = [c for c in cronary_commits(repo) if "Halt podinfo.test advancement success rate 60.00% < 99%" in c.message]
    assert len(halts) == 5  # each failed check is a commit (failedChecks moved)
    assert repo.split_weights() == {"podinfo-primary": 100, "podinfo-canary": 0}


def test_a_tick_with_nothing_to_decide_makes_no_commit(tmp_path: Path, prometheus, loadtester) -> None:
    repo = GitOpsRepo(tmp_path, prometheus.url, loadtester.url_for("/")).seed()
    for _ in range(2):
        assert repo.tick().exit_code == 0
    assert repo.state()["status"]["phase"] == "Initialized"
    before = repo.log()
    for _ in range(3):
        assert repo.tick().exit_code == 0
    assert [c.oid for c in repo.log()] == [c.oid for c in before]
    repo.tick_number -= 1
    assert repo.tick().exit_code == 0  # the same time again: nothing is due
    assert [c.oid for c in repo.log()] == [c.oid for c in before]


def test_history_rebuilds_the_timeline_simulate_printed(tmp_path: Path, prometheus, loadtester) -> None:
    repo = GitOpsRepo(tmp_path, prometheus.url, loadtester.url_for("/")).seed()
    play(repo)
    result = CliRunner().invoke(
        main,
        [
            "history",
            "--git-repo",
            repo.remote,
            "--git-path",
            "cronary",
            "--git-cache",
            str(tmp_path / "history-cache"),
            "-o",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    history = json.loads(result.output)
    seed = Path(__file__).resolve().parents[2] / "fixtures" / "seed"
    args = [
        "simulate",
        str(seed / "podinfo-canary.yaml"),
        "--cluster",
        str(seed / "cluster.yaml"),
        "--scenario",
        str(seed / "scenario-healthy.yaml"),
    ]
    simulated = json.loads(
        CliRunner()
        .invoke(main, [*args, "--mesh-provider", "smi:istio", "--prometheus", prometheus.url, "-o", "json"])
        .output
    )
    by_time = {row["time"]: row for row in simulated}
    assert history, "no history"
    for row in history:
        expected = by_time[row["time"]]
        assert (row["phase"], row["canaryWeight"], row["failedChecks"], row["events"]) == (
            expected["phase"],
            expected["canaryWeight"],
            expected["failedChecks"],
            expected["events"],
        )
    # every simulated tick that moved the canary is in the history
    moved = [
        r["time"]
        for i, r in enumerate(simulated)
        if i == 0
        or (r["phase"], r["canaryWeight"], r["failedChecks"])
        != (simulated[i - 1]["phase"], simulated[i - 1]["canaryWeight"], simulated[i - 1]["failedChecks"])
    ]
    assert set(moved) <= {row["time"] for row in history}


def test_an_approval_file_opens_a_confirm_promotion_gate(tmp_path: Path, prometheus, httpserver) -> None:
    httpserver.expect_request("/", method="POST").respond_with_data("ok")
    httpserver.expect_request("/gate", method="POST").respond_with_data(
        "closed", status=403
    )  # the gate's URL never approves
    repo = GitOpsRepo(tmp_path, prometheus.url, httpserver.url_for("/"))
    gate = {"name": "release-manager", "type": "confirm-promotion", "url": httpserver.url_for("/gate")}
    repo.seed()
    canary = repo.read(f"{APP}/canary.yaml")
    canary["spec"]["canaryAnalysis"]["webhooks"].append(gate)
    repo.human_commit({f"{APP}/canary.yaml": dump(canary)}, "podinfo: promotion needs a release manager")
    phases = []
    for n in range(1, 20):
        if n == 3:
            repo.set_image()
        assert repo.tick().exit_code == 0
        phases.append(repo.state()["status"]["phase"])
    assert phases[-1] == "WaitingPromotion"
    revision = repo.state()["status"]["lastAppliedSpec"]
    waiting = len(repo.log())
    for _ in range(3):
        assert repo.tick().exit_code == 0  # still closed: no commit for a repeated wait
    assert len(repo.log()) == waiting
    repo.human_commit(
        {f"{CANARY_DIR}/approvals/confirm-promotion.yaml": dump({"revision": revision})}, "approve podinfo 1.7.1"
    )
    for _ in range(6):
        assert repo.tick().exit_code == 0
    assert repo.state()["status"]["phase"] == "Succeeded"
    promoted = [c for c in cronary_commits(repo) if "approved in git by Dana Developer" in c.message]
    assert promoted, [c.message for c in cronary_commits(repo)[-4:]]


def test_an_approval_for_another_revision_does_not_open_the_gate(tmp_path: Path, prometheus, httpserver) -> None:
    httpserver.expect_request("/", method="POST").respond_with_data("ok")
    httpserver.expect_request("/gate", method="POST").respond_with_data("closed", status=403)
    repo = GitOpsRepo(tmp_path, prometheus.url, httpserver.url_for("/")).seed()
    canary = repo.read(f"{APP}/canary.yaml")
    canary["spec"]["canaryAnalysis"]["webhooks"].append(
        {"name": "go", "type": "confirm-rollout", "url": httpserver.url_for("/gate")}
    )
    repo.human_commit(
        {
            f"{APP}/canary.yaml": dump(canary),
            f"{CANARY_DIR}/approvals/confirm-rollout.yaml": dump({"revision": "not-this-one"}),
        },
        "gate rollouts",
    )
    for n in range(1, 8):
        if n == 3:
            repo.set_image()
        assert repo.tick().exit_code == 0
    assert repo.state()["status"]["phase"] == "Waiting"


def revert(repo: GitOpsRepo, commit: Any) -> str:
    """`git revert <commit>` by the developer: the files it changed go back to its parent's content."""
    repo.developer.sync()
    files = {path: repo.read_at(commit.parents[0], path) for path in repo.developer.changed_paths(commit.oid)}
    subject = commit.message.splitlines()[0]
    return repo.human_commit(files, f'Revert "{subject}"\n\nThis reverts commit {commit.oid}.\n')


def test_a_reverted_step_is_held_not_reapplied(tmp_path: Path, prometheus, loadtester) -> None:
    repo = GitOpsRepo(tmp_path, prometheus.url, loadtester.url_for("/")).seed()
    for n in range(1, 30):
        if n == 3:
            repo.set_image()
        assert repo.tick().exit_code == 0
        if repo.state()["status"].get("canaryWeight") == 30:
            break
    step = cronary_commits(repo)[-1]
    assert step.message.splitlines()[0] == "podinfo.test: canary weight 20 → 30"
    revert(repo, step)
    assert repo.split_weights()["podinfo-canary"] == 20
    assert repo.tick().exit_code == 0
    hold = cronary_commits(repo)[-1]
    assert hold.message.startswith("podinfo.test: held, step reverted by Dana Developer")
    held_at = len(repo.log())
    for _ in range(5):
        assert repo.tick().exit_code == 0
    assert len(repo.log()) == held_at  # nothing re-applied, nothing committed
    assert repo.split_weights()["podinfo-canary"] == 20
    repo.set_image("quay.io/stefanprodan/podinfo:1.7.2")  # a new revision starts over
    for _ in range(4):
        assert repo.tick().exit_code == 0
    assert repo.state()["status"]["phase"] == "Progressing"
    assert "hold" not in repo.state()


def race_the_next_push(repo: GitOpsRepo, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Someone else pushes an unrelated commit just before cronary's next push; the list gets its id."""
    from cronjob.git.repo import GitWorkspace

    original_push = GitWorkspace.push
    raced: list[str] = []

    def push_after_someone_else(self: GitWorkspace) -> bool:
        if not raced and self is not repo.developer:
            raced.append(repo.human_commit({"docs/README.md": b"unrelated change\n"}, "docs: a readme"))
        return original_push(self)

    monkeypatch.setattr(GitWorkspace, "push", push_after_someone_else)
    return raced


def test_a_remote_that_moved_between_fetch_and_push_is_decided_again_on_the_new_head(
    tmp_path: Path, prometheus, loadtester, monkeypatch
) -> None:
    repo = GitOpsRepo(tmp_path, prometheus.url, loadtester.url_for("/")).seed()
    raced = race_the_next_push(repo, monkeypatch)
    run = repo.tick()
    assert run.exit_code == 0
    assert any("remote branch moved on" in log["msg"] for log in run.logs)
    [ours] = cronary_commits(repo)
    assert ours.parents == (raced[0],)  # built on the new head, not rebased
    assert repo.read("docs/README.md") is not None and repo.state()["status"]["phase"] == "Initializing"


def test_a_decision_made_again_after_a_refused_push_does_not_call_the_load_test_again(
    tmp_path: Path, prometheus, loadtester, monkeypatch
) -> None:
    """The seed's load-test is a `rollout` hook: an action. The re-decision on the new head has the same state and
    so the same idempotency key; the hook's answer is reused instead of starting a second load test."""
    repo = GitOpsRepo(tmp_path, prometheus.url, loadtester.url_for("/")).seed()
    repo.tick()
    repo.tick()
    repo.set_image()
    while repo.state()["status"].get("canaryWeight") != 10:  # the first step is not analysed: no load test yet
        assert repo.tick().exit_code == 0 and repo.tick_number < 10
    raced = race_the_next_push(repo, monkeypatch)
    loadtester.clear_log()
    run = repo.tick()
    assert run.exit_code == 0 and raced
    assert any("remote branch moved on" in log["msg"] for log in run.logs)
    assert any("not called again" in log["msg"] for log in run.logs)
    calls = [json.loads(request.data)["metadata"]["cmd"] for request, _ in loadtester.log]
    assert calls == ["hey -z 1m -q 10 -c 2 http://podinfo.test:9898/"]  # once, though decided twice
    assert repo.state()["status"]["canaryWeight"] == 20


def test_two_writers_at_once_lose_nothing_and_move_the_canary_once(tmp_path: Path, prometheus, loadtester) -> None:
    import subprocess
    import sys

    repo = GitOpsRepo(tmp_path, prometheus.url, loadtester.url_for("/")).seed()
    root = Path(__file__).resolve().parents[2]
    for n in range(1, 7):
        if n == 3:
            repo.set_image()
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "cronjob.cli", *repo.args(cache=f"writer-{i}")],
                cwd=root,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for i in range(2)
        ]
        outputs = [p.communicate(timeout=120)[0] for p in procs]
        assert [p.returncode for p in procs] == [0, 0], outputs
        repo.tick_number += 1
    ticks = [parse_commit_message(c.message)[0].time for c in cronary_commits(repo)]
    assert len(ticks) == len(set(ticks))  # never two decisions for one tick
    assert repo.state()["status"]["phase"] == "Progressing"
    commits = [c.oid for c in repo.log()]
    assert len(commits) == len(set(commits)) and repo.log()[-1].message.startswith("podinfo: deploy 1.4.0")


def test_an_unreachable_remote_is_one_error_line_without_credentials(tmp_path: Path, prometheus) -> None:
    args = [
        "tick",
        "--git-repo",
        "https://robot:hunter2@127.0.0.1:1/team/apps.git",
        "--git-cache",
        str(tmp_path / "cache"),
        "--no-cluster",
        "--mesh-provider",
        "smi:istio",
        "--prometheus",
        prometheus.url,
        "--now",
        "2026-11-27T10:00:00Z",
    ]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 1
    assert "hunter2" not in result.output
    errors = [json.loads(line) for line in result.output.splitlines() if line.startswith("{") and '"error"' in line]
    assert len(errors) == 1


def test_without_once_a_job_keeps_deciding_each_interval_within_its_budget(
    tmp_path: Path, prometheus, loadtester
) -> None:
    from cronjob.git.repo import GitWorkspace
    from cronjob.git.tick import GitTick
    from cronjob.shared.options import GitOptions, TickOptions
    from cronjob.shared.prometheus import PrometheusMetrics
    from engine import Settings

    repo = GitOpsRepo(tmp_path, prometheus.url, loadtester.url_for("/")).seed()
    clock = [repo.now]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += timedelta(seconds=seconds)

    def monotonic() -> float:
        return (clock[0] - repo.now).total_seconds()

    git = GitOptions(
        url=repo.remote,
        path="cronary",
        cache_dir=str(tmp_path / "loop-cache"),
        sync_delay_seconds=0,
        manifests="apps",
        read_cluster=False,
    )
    options = TickOptions(settings=Settings(mesh_provider="smi:istio"), budget_seconds=35, git=git)
    tick = GitTick(
        GitWorkspace(repo.remote, "main", tmp_path / "loop-cache"),
        options,
        PrometheusMetrics(prometheus.url),
        clock=lambda: clock[0],
    )
    assert tick.run_loop(sleep, monotonic) == 0
    assert slept == [10, 10, 10]  # passes at +0, +10, +20, +30: a fifth would end past 35 s
    phases = [parse_commit_message(c.message)[0].phase for c in cronary_commits(repo)]
    assert phases == ["Initializing", "Initialized"]  # later passes found nothing to move: no commits


@pytest.mark.parametrize(
    "per_canary, commits",
    [pytest.param(False, 1, id="one-commit-per-tick"), pytest.param(True, 2, id="one-commit-per-canary")],
)
def test_canaries_changed_in_one_tick_share_a_commit_unless_asked_otherwise(
    tmp_path: Path, prometheus, loadtester, per_canary: bool, commits: int
) -> None:
    repo = GitOpsRepo(tmp_path, prometheus.url, loadtester.url_for("/")).seed()
    repo.add_canary("podinfo-b")
    assert repo.tick(*(["--git-commit-per-canary"] if per_canary else [])).exit_code == 0
    made = cronary_commits(repo)
    assert len(made) == commits
    canaries = sorted(entry.canary for c in made for entry in parse_commit_message(c.message))
    assert canaries == ["podinfo-b.test", "podinfo.test"]
    if not per_canary:
        assert made[0].message.splitlines()[0] == "cronary: 2 canaries changed"
