"""The repository layout docs/gitops.md shows works as written with the real `kubectl kustomize` (issue 14, "Shards
and rendering"): the team's kustomization of the target, cronary's directory, and the replicas patch applied from a
kustomization at a common parent (kustomize refuses a patch file outside the kustomization's own directory)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from cronjob.git.layout import TARGET_REPLICAS, dump, load
from cronjob.shared.yamlio import load_documents
from harness.gitops import APP, CANARY_DIR, GitOpsRepo
from harness.rbac import kubectl

ROOT_KUSTOMIZATION = {  # as docs/gitops.md shows it
    "apiVersion": "kustomize.config.k8s.io/v1beta1",
    "kind": "Kustomization",
    "resources": [APP, CANARY_DIR],
    "patches": [{"path": f"{CANARY_DIR}/{TARGET_REPLICAS}"}],
}
APP_KUSTOMIZATION = {
    "apiVersion": "kustomize.config.k8s.io/v1beta1",
    "kind": "Kustomization",
    "resources": ["canary.yaml", "deployment.yaml", "horizontalpodautoscaler.yaml"],
}


def _checkout(repo: GitOpsRepo, into: Path) -> None:
    repo.developer.sync()
    for path in repo.developer.list(""):
        target = into / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(repo.developer.read(path))


def test_the_documented_layout_builds_and_the_target_gets_cronarys_replicas(
    tmp_path: Path, prometheus, httpserver
) -> None:
    httpserver.expect_request("/", method="POST").respond_with_data("ok")
    repo = GitOpsRepo(tmp_path, prometheus.url, httpserver.url_for("/")).seed()
    repo.human_commit(
        {"kustomization.yaml": dump(ROOT_KUSTOMIZATION), f"{APP}/kustomization.yaml": dump(APP_KUSTOMIZATION)},
        "deploy podinfo and its canary from one kustomization",
    )
    for _ in range(3):
        assert repo.tick().exit_code == 0
    patch = repo.read(f"{CANARY_DIR}/{TARGET_REPLICAS}")
    assert patch is not None, "cronary scaled the target after initializing"
    checkout = tmp_path / "checkout"
    _checkout(repo, checkout)
    built = subprocess.run([kubectl(), "kustomize", str(checkout)], capture_output=True, text=True, timeout=120)
    assert built.returncode == 0, built.stderr
    out = tmp_path / "built.yaml"
    out.write_text(built.stdout)
    objects = {(o["kind"], o["metadata"]["name"]): o for o in load_documents(str(out))}
    assert objects[("Deployment", "podinfo")]["spec"]["replicas"] == patch["spec"]["replicas"]
    assert ("Deployment", "podinfo-primary") in objects and ("TrafficSplit", "podinfo") in objects
    assert load(repo.developer.read(f"{CANARY_DIR}/kustomization.yaml"))["resources"]  # cronary's own list


def test_the_patch_cannot_be_taken_from_the_targets_own_kustomization(tmp_path: Path, prometheus, httpserver) -> None:
    """Why the docs put the patch at a common parent: from `apps/podinfo`, kustomize's load restrictor refuses it."""
    httpserver.expect_request("/", method="POST").respond_with_data("ok")
    repo = GitOpsRepo(tmp_path, prometheus.url, httpserver.url_for("/")).seed()
    inside = {**APP_KUSTOMIZATION, "patches": [{"path": f"../../{CANARY_DIR}/{TARGET_REPLICAS}"}]}
    repo.human_commit({f"{APP}/kustomization.yaml": dump(inside)}, "the patch from the app's kustomization")
    for _ in range(3):
        assert repo.tick().exit_code == 0
    checkout = tmp_path / "checkout"
    _checkout(repo, checkout)
    built = subprocess.run([kubectl(), "kustomize", str(checkout / APP)], capture_output=True, text=True, timeout=120)
    if built.returncode == 0:
        pytest.fail("kustomize accepted a patch outside the kustomization root: the docs' warning is stale")
    assert "security" in built.stderr or "outside" in built.stderr or "not in or below" in built.stderr, built.stderr
