"""Every tick flag that selects canaries works with `--no-cluster` (issue 14, "Shards and rendering"): a shard
reading its Canaries from the repository decides exactly those the API server would have listed for it."""

from __future__ import annotations

from pathlib import Path

import pytest

from cronjob.git.layout import dump
from harness.gitops import APP, GitOpsRepo


@pytest.fixture
def two_teams(tmp_path: Path, prometheus, httpserver) -> GitOpsRepo:
    """podinfo in namespace `test` (labelled team=a) and podinfo in namespace `team-1` (team=b, tier=batch)."""
    httpserver.expect_request("/", method="POST").respond_with_data("ok")
    repo = GitOpsRepo(tmp_path, prometheus.url, httpserver.url_for("/")).seed()
    canary, deployment = repo.read(f"{APP}/canary.yaml"), repo.read(f"{APP}/deployment.yaml")
    canary["metadata"]["labels"] = {"team": "a"}
    files = {f"{APP}/canary.yaml": dump(canary)}
    canary["metadata"].update(namespace="team-1", labels={"team": "b", "tier": "batch"})
    canary["spec"].pop("autoscalerRef")
    deployment["metadata"]["namespace"] = "team-1"
    files |= {"apps/team-1/canary.yaml": dump(canary), "apps/team-1/deployment.yaml": dump(deployment)}
    repo.human_commit(files, "two teams")
    return repo


def _decided(repo: GitOpsRepo, *flags: str) -> set[str]:
    assert repo.tick(*flags).exit_code == 0
    repo.developer.sync()
    return {path.split("/")[1] for path in repo.developer.list("cronary") if path.endswith("/status.yaml")}


@pytest.mark.parametrize(
    ("flags", "namespaces"),
    [
        pytest.param((), {"test", "team-1"}, id="all"),
        pytest.param(("--namespace", "test"), {"test"}, id="namespace"),
        pytest.param(("--namespace", "team-1", "--namespace", "test"), {"test", "team-1"}, id="two-namespaces"),
        pytest.param(("--namespace", "elsewhere"), set(), id="namespace-without-canaries"),
        pytest.param(("--selector", "team=b"), {"team-1"}, id="selector-equals"),
        pytest.param(("--selector", "team in (a, c)"), {"test"}, id="selector-in"),
        pytest.param(("--selector", "tier"), {"team-1"}, id="selector-exists"),
        pytest.param(("--selector", "!tier"), {"test"}, id="selector-absent"),
        pytest.param(("--selector", "team!=a,tier notin (web)"), {"team-1"}, id="selector-two-requirements"),
        pytest.param(("--namespace", "test", "--selector", "team=b"), set(), id="namespace-and-selector"),
    ],
)
def test_a_shard_without_cluster_access_decides_only_its_canaries(
    two_teams: GitOpsRepo, flags: tuple[str, ...], namespaces: set[str]
) -> None:
    assert _decided(two_teams, *flags) == namespaces
