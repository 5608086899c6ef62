"""Objects committed in GitOps mode survive Kubernetes' garbage collector (issue 14, "Objects safe under the
garbage collector").

An owner reference whose uid is not the live Canary's makes the garbage collector delete the object as soon as a
GitOps tool applies it: the primary Deployment, the Services, the HPA and the TrafficSplit. cronary writes an owner
reference only with a uid it read from the cluster: with `--no-cluster` it writes none; with cluster access it
writes the live Canary's. A stand-in for Flux applies the committed directory to the API emulator, whose garbage
collector then runs.
"""

from __future__ import annotations

from pathlib import Path

from cronjob.git.layout import KUSTOMIZATION, load
from harness.cluster import DEPLOY_CRDS, SMI_CRD, SeedCluster
from harness.gitops import APP, CANARY_DIR, GitOpsRepo
from harness.kube_emulator import KubeEmulator


def _flux_apply(emulator: KubeEmulator, files: dict[str, bytes]) -> list[tuple[str, str]]:
    """Create every object the kustomization lists (a first sync); their (kind, name)."""
    applied = []
    for name in load(files[KUSTOMIZATION])["resources"]:
        obj = load(files[name])
        emulator.create(obj)
        applied.append((obj["kind"], obj["metadata"]["name"]))
    return applied


def _committed(repo: GitOpsRepo) -> dict[str, bytes]:
    repo.developer.sync()
    return {path.rsplit("/", 1)[-1]: repo.developer.read(path) for path in repo.developer.list(CANARY_DIR)}


def test_without_cluster_access_no_object_carries_an_owner_reference(
    tmp_path: Path, prometheus, httpserver, emulator: KubeEmulator
) -> None:
    httpserver.expect_request("/", method="POST").respond_with_data("ok")
    repo = GitOpsRepo(tmp_path, prometheus.url, httpserver.url_for("/")).seed()
    for _ in range(2):
        assert repo.tick().exit_code == 0
    files = _committed(repo)
    objects = [load(files[name]) for name in load(files[KUSTOMIZATION])["resources"]]
    assert {o["kind"] for o in objects} >= {"Deployment", "Service", "TrafficSplit", "HorizontalPodAutoscaler"}
    assert [o["metadata"]["name"] for o in objects if "ownerReferences" in o["metadata"]] == []
    # Flux applies the team's Canary (it gets the cluster's uid) and cronary's directory; the collector runs
    for path in sorted(DEPLOY_CRDS.glob("*.yaml")):
        emulator.install_crds_from(path)
    emulator.install_crds_from(SMI_CRD)
    emulator.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "test"}})
    emulator.create(repo.read(f"{APP}/canary.yaml"))
    applied = _flux_apply(emulator, files)
    assert emulator.collect_garbage() == []
    for kind, name in applied:
        api = next(o["apiVersion"] for o in objects if o["kind"] == kind)
        assert emulator.get(api, kind, "test", name) is not None, (kind, name)


def test_with_cluster_access_owner_references_name_the_live_canary(
    tmp_path: Path, prometheus, httpserver, emulator: KubeEmulator
) -> None:
    from test_gitops_cluster import GitOpsCluster  # the same folder's cluster-access harness

    httpserver.expect_request("/", method="POST").respond_with_data("ok")
    cluster = SeedCluster(emulator, tmp_path, prometheus.url, httpserver.url_for("/")).install()
    gitops = GitOpsCluster(cluster, tmp_path)
    gitops.tick()
    live_uid = emulator.get("flagger.app/v1beta1", "Canary", "test", "podinfo")["metadata"]["uid"]
    files = gitops.files()
    for name in load(files[KUSTOMIZATION])["resources"]:
        refs = load(files[name])["metadata"].get("ownerReferences")
        assert [r["uid"] for r in refs] == [live_uid], name
    gitops.flux_sync()
    assert emulator.collect_garbage() == []
