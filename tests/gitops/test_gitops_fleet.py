"""GitOps mode at fleet scale, without timing anything: the budget of a Job (a clock that moves as told), and the
repository files parsed once per content between the passes of one Job (issue 14, item 1)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from cronjob.git.repo import GitWorkspace
from cronjob.git.tick import GitTick
from cronjob.shared.options import GitOptions, TickOptions
from cronjob.shared.prometheus import PrometheusMetrics
from engine import Settings
from engine.evidence import parse_commit_message
from harness.gitops import DEVELOPER, GitOpsRepo


@pytest.fixture
def loadtester(httpserver):
    httpserver.expect_request("/", method="POST").respond_with_data("ok")
    return httpserver


def git_tick(repo: GitOpsRepo, tmp_path: Path, prometheus_url: str, budget: float, once: bool = True) -> GitTick:
    git = GitOptions(
        url=repo.remote,
        path="cronary",
        cache_dir=str(tmp_path / "job-cache"),
        sync_delay_seconds=0,
        manifests="apps",
        read_cluster=False,
    )
    options = TickOptions(settings=Settings(mesh_provider="smi:istio"), budget_seconds=budget, once=once, git=git)
    return GitTick(
        GitWorkspace(repo.remote, "main", tmp_path / "job-cache"),
        options,
        PrometheusMetrics(prometheus_url),
        clock=lambda: repo.now,
    )


def committed_canaries(repo: GitOpsRepo) -> list[list[str]]:
    commits = [c for c in reversed(repo.log()) if c.email != DEVELOPER.email]
    return [[entry.canary for entry in parse_commit_message(c.message)] for c in commits]


def test_a_tick_starts_no_canary_it_could_not_commit_before_the_budget_ends_and_says_how_many_are_left(
    tmp_path: Path, prometheus, loadtester, caplog
) -> None:
    repo = GitOpsRepo(tmp_path, prometheus.url, loadtester.url_for("/")).seed()
    repo.add_canary("backend")
    repo.add_canary("frontend")
    seconds = iter(range(0, 1000, 3))  # every look at the clock: 3 s later (a very slow machine)
    tick = git_tick(repo, tmp_path, prometheus.url, budget=10)
    with caplog.at_level(logging.INFO, logger="cronary"):
        assert tick.run_loop(lambda _: None, lambda: float(next(seconds))) == 0
    # the first canary at 3 s (it and its commit fit in 10 s); the second at 6 s would not: its decision costs
    # 3 s like the first's, and the commit about 2 s, each estimate taken 1.5 times
    assert committed_canaries(repo) == [["backend.test"]]
    left = [r.getMessage() for r in caplog.records if "left for the next Job" in r.getMessage()]
    assert left == [
        "2 of 3 due canaries left for the next Job: deciding them would not leave time to commit within the "
        "--budget of 10s"
    ]

    # the next Job, with time enough, decides them all
    repo.tick_number += 1
    tick = git_tick(repo, tmp_path, prometheus.url, budget=50)
    assert tick.run_loop(lambda _: None, lambda: 0.0) == 0
    assert committed_canaries(repo)[1] == ["backend.test", "frontend.test", "podinfo.test"]


def test_a_job_parses_each_repository_file_once_per_content(tmp_path: Path, prometheus, loadtester) -> None:
    repo = GitOpsRepo(tmp_path, prometheus.url, loadtester.url_for("/")).seed()
    tick = git_tick(repo, tmp_path, prometheus.url, budget=50)
    counts = []
    for advance in (True, True, False, False):  # initializing, initialized, then twice nothing due
        before = tick.parsed.parsed
        assert tick.run() == 0
        counts.append(tick.parsed.parsed - before)
        repo.tick_number += advance
    changed = [p for p in tick.workspace.changed_paths(tick.workspace.head or "") if p.endswith(".yaml")]
    assert counts[0] == 4  # the team's Canary, Deployment and HPA, and status.yaml (not there yet)
    assert counts[2] <= len(changed)  # only what the last commit changed (status.yaml once, not twice)
    assert counts[3] == 0  # nothing changed: nothing parsed
