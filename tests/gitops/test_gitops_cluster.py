"""GitOps mode with read access to the cluster: cronary reads the Canary and its workloads from the API (the
emulator), commits its decisions to git, and never writes to the cluster; a stand-in for Flux applies the
committed files. The analysis of a step starts only once that step is observed live, and no Secret data
reaches the repository.
"""

from __future__ import annotations

import base64
from pathlib import Path

import pygit2
from click.testing import CliRunner

from cronjob.cli import main
from cronjob.git.layout import KUSTOMIZATION, STATUS_FILE, TARGET_REPLICAS, load
from engine.hashing import config_checksum
from harness.cluster import SeedCluster
from harness.paths import FIXTURES

CANARY_DIR = "cronary/test/podinfo"
KEY_FILE = FIXTURES / "objects" / "checksum-key"
TOKEN = "s3cr3t-t0ken-value"


class GitOpsCluster:
    def __init__(self, cluster: SeedCluster, tmp: Path) -> None:
        self.cluster, self.tmp = cluster, tmp
        self.remote = str(tmp / "remote.git")
        pygit2.init_repository(self.remote, bare=True, initial_head="main")

    def tick(self, *extra: str, exit_code: int | None = 0) -> list[str]:
        args = [
            "tick",
            "--once",
            "--git-repo",
            self.remote,
            "--git-path",
            "cronary",
            "--git-cache",
            str(self.tmp / "cache"),
            "--kubeconfig",
            self.cluster.kubeconfig,
            "--mesh-provider",
            "smi:istio",
            "--prometheus",
            self.cluster.prometheus_url,
            *extra,
        ]
        result = CliRunner().invoke(main, args, catch_exceptions=False)
        assert exit_code is None or result.exit_code == exit_code, result.output
        return result.output.splitlines()

    def files(self) -> dict[str, bytes]:
        repo = pygit2.Repository(self.remote)
        head = repo.references.get("refs/heads/main")
        if head is None:
            return {}
        tree = repo.get(head.target).peel(pygit2.Tree)
        try:
            directory = tree[CANARY_DIR]
        except KeyError:
            return {}
        return {entry.name: entry.data for entry in directory if entry.type_str == "blob"}

    def flux_sync(self) -> None:
        """What Flux would do with the canary's directory: apply every listed object, and the replicas patch."""
        emulator = self.cluster.emulator
        files = self.files()
        for name in load(files[KUSTOMIZATION])["resources"]:
            obj = load(files[name])
            meta = obj["metadata"]
            live = emulator.get(obj["apiVersion"], obj["kind"], meta["namespace"], meta["name"])
            if live is None:
                emulator.create(obj)
            else:
                emulator.replace({**obj, "metadata": {**live["metadata"], **meta}, "status": live.get("status", {})})
        if TARGET_REPLICAS in files:
            patch = load(files[TARGET_REPLICAS])
            target = emulator.get("apps/v1", "Deployment", "test", patch["metadata"]["name"])
            target["spec"]["replicas"] = patch["spec"]["replicas"]
            emulator.replace(target)
        emulator.complete_rollouts()

    def phase(self) -> str | None:
        state = load(self.files().get(STATUS_FILE))
        return state["status"]["phase"] if state else None


def test_each_step_waits_until_it_is_live_and_nothing_is_written_to_the_cluster(
    emulator, tmp_path: Path, prometheus, httpserver
) -> None:
    httpserver.expect_request("/", method="POST").respond_with_data("ok")
    cluster = SeedCluster(emulator, tmp_path, prometheus.url, httpserver.url_for("/")).install()
    gitops = GitOpsCluster(cluster, tmp_path)
    emulator.clear_requests()
    gitops.tick()
    assert gitops.phase() == "Initializing"
    emulator.advance(10)
    lines = gitops.tick()  # the primary is committed but not synced yet
    assert any("waiting for the GitOps tool to sync" in line for line in lines)
    assert gitops.phase() == "Initializing"
    gitops.flux_sync()
    emulator.advance(10)
    gitops.tick()
    assert gitops.phase() == "Initialized"
    for n in range(30):
        gitops.flux_sync()
        if n == 1:
            cluster.set_image()
        emulator.advance(10)
        gitops.tick()
        if gitops.phase() == "Succeeded":
            break
    assert gitops.phase() == "Succeeded"
    writes = [
        r for r in emulator.requests if r.verb not in (None, "get", "list") and r.field_manager != "kubectl-create"
    ]
    assert [(r.method, r.path) for r in writes if "kubectl" not in str(r.field_manager)] == []  # cronary only read
    assert cluster.status() == {}  # the state is in git, not in the Canary's status


def test_secret_data_never_reaches_the_repository(emulator, tmp_path: Path, prometheus, httpserver) -> None:
    httpserver.expect_request("/", method="POST").respond_with_data("ok")
    cluster = SeedCluster(emulator, tmp_path, prometheus.url, httpserver.url_for("/")).install()
    emulator.create(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "podinfo-token", "namespace": "test"},
            "type": "Opaque",
            "data": {"token": base64.b64encode(TOKEN.encode()).decode()},
        }
    )
    target = cluster.deployment("podinfo")
    target["spec"]["template"]["spec"]["volumes"] = [{"name": "token", "secret": {"secretName": "podinfo-token"}}]
    emulator.replace(target)
    gitops = GitOpsCluster(cluster, tmp_path)
    for _ in range(4):
        gitops.tick("--checksum-key-file", str(KEY_FILE))
        gitops.flux_sync()
        emulator.advance(10)
    assert gitops.phase() == "Initialized"
    state = load(gitops.files()[STATUS_FILE])
    assert state["secretCopies"] == [{"from": "podinfo-token", "to": "podinfo-token-primary"}]
    # the checksum recorded is keyed: without the key, no guess of the data gives it
    recorded = state["status"]["trackedConfigs"]["secret/podinfo-token"]
    key = KEY_FILE.read_bytes().strip()
    assert recorded == config_checksum({"token": base64.b64encode(TOKEN.encode()).decode()}, key)
    assert recorded != config_checksum({"token": base64.b64encode(TOKEN.encode()).decode()})
    repo = pygit2.Repository(gitops.remote)
    needles = (TOKEN.encode(), base64.b64encode(TOKEN.encode()))
    for oid in repo.odb:
        data = repo.odb.read(oid)[1]
        assert not any(n in data for n in needles), f"Secret data in git object {oid}"


def test_the_gitops_install_grants_exactly_the_reads_the_tick_makes(
    emulator, tmp_path: Path, prometheus, httpserver
) -> None:
    from harness.rbac import DEPLOY, granted, render_kustomize, used, with_every_feature

    httpserver.expect_request("/", method="POST").respond_with_data("ok")
    httpserver.expect_request("/alert", method="POST").respond_with_data("ok")
    cluster = SeedCluster(emulator, tmp_path, prometheus.url, httpserver.url_for("/")).install()
    with_every_feature(cluster, httpserver.url_for("/alert"))
    gitops = GitOpsCluster(cluster, tmp_path)
    emulator.clear_requests()
    for n in range(30):
        gitops.tick("--checksum-key-file", str(KEY_FILE))
        gitops.flux_sync()
        if n == 2:
            cluster.set_image()
        emulator.advance(10)
        if gitops.phase() == "Succeeded":
            break
    assert gitops.phase() == "Succeeded"
    calls, rules = used(emulator), granted(render_kustomize(DEPLOY / "overlays" / "gitops"))
    assert sorted(calls - rules, key=str) == [], "calls the install does not allow"
    assert sorted(rules - calls, key=str) == [], "permissions the tick never uses"
    assert {p.verb for p in calls} == {"list"}


def test_a_pin_in_a_secret_is_not_recoverable_from_the_repository(
    emulator, tmp_path: Path, prometheus, httpserver
) -> None:
    """Issue 14: a 4-digit PIN was recovered from the unkeyed checksum in under 10,000 guesses. Without a key the
    canary is not committed (one line naming the Secret and the flag, exit 1); with one, none of the 10,000
    guesses gives the recorded checksum."""
    httpserver.expect_request("/", method="POST").respond_with_data("ok")
    cluster = SeedCluster(emulator, tmp_path, prometheus.url, httpserver.url_for("/")).install()
    pin = "4711"
    emulator.create(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "podinfo-pin", "namespace": "test"},
            "data": {"pin": base64.b64encode(pin.encode()).decode()},
        }
    )
    target = cluster.deployment("podinfo")
    target["spec"]["template"]["spec"]["volumes"] = [{"name": "pin", "secret": {"secretName": "podinfo-pin"}}]
    emulator.replace(target)
    gitops = GitOpsCluster(cluster, tmp_path)
    held = []
    for _ in range(4):
        lines = gitops.tick(exit_code=None)
        held += [line for line in lines if "Secret podinfo-pin" in line and "--checksum-key-file" in line]
        gitops.flux_sync()
        emulator.advance(10)
    assert len(held) >= 2, "held, tick after tick"
    assert "secret/podinfo-pin" not in str(gitops.files().get(STATUS_FILE))
    assert gitops.phase() != "Initialized"
    for _ in range(2):
        gitops.tick("--checksum-key-file", str(KEY_FILE))
        gitops.flux_sync()
        emulator.advance(10)
    recorded = load(gitops.files()[STATUS_FILE])["status"]["trackedConfigs"]["secret/podinfo-pin"]
    guesses = {config_checksum({"pin": base64.b64encode(f"{n:04d}".encode()).decode()}) for n in range(10_000)}
    assert recorded not in guesses
