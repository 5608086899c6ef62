"""cronary never adopts an object it did not create (issue 15, "Ownership"; Flagger's `isOwnedByCanary`).

A team that created the apex Service itself keeps it: cronary sets its ports and selector, as Flagger does, but
no owner reference — so deleting the Canary does not garbage-collect the Service the application is reached by —
and the Service's own labels and annotations stay. The Services cronary created are owned by the Canary.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from test_cluster_tick import play

from harness.cluster import SeedCluster

APEX = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {
        "name": "podinfo",
        "namespace": "test",
        "labels": {"app": "podinfo", "team": "payments"},
        "annotations": {"owner": "payments-team"},
    },
    "spec": {"type": "ClusterIP", "selector": {"app": "podinfo"}, "ports": [{"name": "http", "port": 9898}]},
}


@pytest.fixture
def cluster(emulator, tmp_path: Path, prometheus, httpserver) -> SeedCluster:
    httpserver.expect_request("/", method="POST").respond_with_data("ok")
    return SeedCluster(emulator, tmp_path, prometheus.url, httpserver.url_for("/")).install()


def _owners(service: dict | None) -> list[str]:
    assert service is not None
    return [r["kind"] for r in service["metadata"].get("ownerReferences") or []]


def test_an_apex_service_the_team_created_is_routed_but_never_owned(cluster: SeedCluster) -> None:
    cluster.emulator.create(APEX)
    timeline = play(cluster)
    assert timeline[-1]["phase"] == "Succeeded"
    apex = cluster.emulator.get("v1", "Service", "test", "podinfo")
    assert _owners(apex) == []
    assert apex["spec"]["selector"] == {"app": "podinfo-primary"}  # routed to the primary, as Flagger does
    assert apex["metadata"]["labels"] == {"app": "podinfo", "team": "payments"}
    assert apex["metadata"]["annotations"]["owner"] == "payments-team"
    for name in ("podinfo-canary", "podinfo-primary"):
        assert _owners(cluster.emulator.get("v1", "Service", "test", name)) == ["Canary"]
    # the Canary goes: what cronary created goes with it, the team's Service stays
    cluster.emulator.delete("flagger.app/v1beta1", "Canary", "test", "podinfo")
    deleted = cluster.emulator.collect_garbage()
    assert ("Service", "test", "podinfo-primary") in deleted and ("Service", "test", "podinfo-canary") in deleted
    assert cluster.emulator.get("v1", "Service", "test", "podinfo") is not None


def test_an_apex_service_cronary_created_is_owned_by_the_canary(cluster: SeedCluster) -> None:
    play(cluster)
    assert _owners(cluster.emulator.get("v1", "Service", "test", "podinfo")) == ["Canary"]


def _with_shared_config(cluster: SeedCluster) -> None:
    """podinfo and a second app, podinfo-b (its own Deployment and Canary), both mounting ConfigMap `shared`."""
    emulator = cluster.emulator
    emulator.create(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "shared", "namespace": "test"},
            "data": {"k": "v"},
        }
    )
    target = cluster.deployment("podinfo")
    target["spec"]["template"]["spec"]["volumes"] = [{"name": "cfg", "configMap": {"name": "shared"}}]
    emulator.replace(target)
    other = copy.deepcopy(target)
    other["metadata"] = {"name": "podinfo-b", "namespace": "test", "labels": {"app": "podinfo-b"}}
    other["spec"]["selector"] = {"matchLabels": {"app": "podinfo-b"}}
    other["spec"]["template"]["metadata"]["labels"] = {"app": "podinfo-b"}
    other.pop("status", None)
    emulator.create(other)
    canary = cluster.seed_canary("podinfo-b")
    canary["spec"]["targetRef"]["name"] = "podinfo-b"
    canary["spec"].pop("autoscalerRef")
    emulator.create(canary)
    emulator.complete_rollouts()


def test_a_config_copy_two_canaries_share_is_owned_by_both_and_outlives_either(cluster: SeedCluster) -> None:
    _with_shared_config(cluster)
    for _ in range(3):
        assert cluster.tick().exit_code == 0
        cluster.emulator.complete_rollouts()
        cluster.emulator.advance(10)
    assert {cluster.status(n).get("phase") for n in ("podinfo", "podinfo-b")} == {"Initialized"}
    uids = {n: cluster.canary(n)["metadata"]["uid"] for n in ("podinfo", "podinfo-b")}
    shared = cluster.emulator.get("v1", "ConfigMap", "test", "shared-primary")
    refs = shared["metadata"]["ownerReferences"]
    assert sorted((r["name"], r["uid"], r["controller"]) for r in refs) == [
        ("podinfo", uids["podinfo"], False),
        ("podinfo-b", uids["podinfo-b"], False),
    ]
    # no write back and forth: another round of ticks leaves the copy as it is
    version = shared["metadata"]["resourceVersion"]
    for _ in range(2):
        assert cluster.tick().exit_code == 0
        cluster.emulator.advance(10)
    assert cluster.emulator.get("v1", "ConfigMap", "test", "shared-primary")["metadata"]["resourceVersion"] == version
    # one canary goes: the copy its neighbour's primary mounts stays
    cluster.emulator.delete("flagger.app/v1beta1", "Canary", "test", "podinfo")
    cluster.emulator.collect_garbage()
    assert cluster.emulator.get("v1", "ConfigMap", "test", "shared-primary") is not None
    assert cluster.emulator.get("apps/v1", "Deployment", "test", "podinfo-primary") is None
