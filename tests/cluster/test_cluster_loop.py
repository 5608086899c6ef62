"""The tick loop: passes until the budget is spent, one decision per canary per interval, the Lease held
and renewed throughout and released at the end. Time is virtual: sleeping advances the API server's clock,
so a 50 s budget runs in well under a second and every assertion is exact.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cronjob.kube.api import KubeClient, configuration_for
from cronjob.kube.tick import Tick
from cronjob.shared.options import LeaseOptions, Shard, TickOptions
from cronjob.shared.prometheus import PrometheusMetrics
from cronjob.shared.webhooks import WebhookCaller
from engine import Settings
from engine.timefmt import format_micro_time
from harness.cluster import START, SeedCluster, VirtualTime
from harness.kube_emulator import KubeEmulator


@pytest.fixture
def cluster(emulator, tmp_path: Path, prometheus, httpserver) -> SeedCluster:
    httpserver.expect_request("/", method="POST").respond_with_data("ok")
    return SeedCluster(emulator, tmp_path, prometheus.url, httpserver.url_for("/")).install()


def loop(
    cluster: SeedCluster, budget: float = 50, lease: bool = True, shard: str = "default", controller: bool = False
) -> tuple[Tick, VirtualTime, int]:
    time = VirtualTime(cluster.emulator, controller)
    options = TickOptions(
        shard=Shard(shard),
        settings=Settings(mesh_provider="smi:istio"),
        budget_seconds=budget,
        lease=LeaseOptions("cronary" if lease else None),
        holder="test-job",
    )
    client = KubeClient(configuration_for(cluster.kubeconfig), timeout=5)
    with WebhookCaller() as hooks:
        tick = Tick(
            client.send,
            options,
            PrometheusMetrics(cluster.prometheus_url),
            hooks,
            sleep=time.sleep,
            monotonic=time.monotonic,
            clock=lambda: cluster.emulator.now,
        )
        code = tick.run()
    return tick, time, code


def status_writes(emulator: KubeEmulator) -> list[str]:
    return [r.path for r in emulator.requests if r.method == "PUT" and r.subresource == "status"]


def test_one_job_decides_once_per_interval_until_its_budget_is_spent(cluster: SeedCluster) -> None:
    tick, time, code = loop(cluster, budget=50)
    assert code == 0
    # interval 10 s: passes at 0, 10, 20, 30, 40; the next one would end past 50 s
    assert tick.passes == 5
    assert sum(time.slept) == pytest.approx(40)
    # no Deployment controller runs here, so the primary never becomes ready: the canary is decided (and says
    # "not ready") once per interval, never twice
    # (each decision is one status write that commits it, and one that drops its Events once they are recorded)
    decided = [json.loads(r.body)["status"] for r in cluster.emulator.requests if r.subresource == "status"]
    assert [d["lastDecisionTime"] for d in decided if "pendingEvents" in d] == [
        f"2026-11-27T10:00:{s:02d}Z" for s in range(0, 50, 10)
    ]
    assert len(decided) == 10
    assert cluster.status()["phase"] == "Initializing"
    assert cluster.status()["lastDecisionTime"] == "2026-11-27T10:00:40Z"


def test_the_lease_is_held_renewed_and_released(cluster: SeedCluster) -> None:
    loop(cluster, budget=50)
    lease_writes = [r for r in cluster.emulator.requests if r.resource == "leases" and r.verb in ("create", "update")]
    assert lease_writes[0].verb == "create"
    assert len(lease_writes) >= 1 + 40 // 7  # renewed every third of its 20 s while the Job sleeps 40 s
    lease = cluster.emulator.get("coordination.k8s.io/v1", "Lease", "cronary", "cronary-default")
    assert lease is not None and not lease["spec"].get("holderIdentity")


def test_a_lease_held_by_another_job_makes_this_one_exit_without_reading(cluster: SeedCluster) -> None:
    cluster.emulator.create(
        {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": "cronary-default", "namespace": "cronary"},
            "spec": {"holderIdentity": "other-job", "leaseDurationSeconds": 20, "renewTime": format_micro_time(START)},
        }
    )
    tick, _, code = loop(cluster)
    assert code == 0 and tick.passes == 0
    assert not [r for r in cluster.emulator.requests if r.resource == "canaries"]
    cluster.emulator.advance(21)  # the other Job died without releasing it: the Lease expires
    cluster.emulator.clear_requests()
    tick, _, code = loop(cluster, budget=5)
    assert code == 0 and tick.passes == 1
    assert cluster.status()["phase"] == "Initializing"


def test_shards_have_their_own_leases(cluster: SeedCluster) -> None:
    cluster.emulator.create(
        {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": "cronary-default", "namespace": "cronary"},
            "spec": {"holderIdentity": "other-job", "leaseDurationSeconds": 20, "renewTime": format_micro_time(START)},
        }
    )
    tick, _, _ = loop(cluster, budget=5, shard="team-test")
    assert tick.passes == 1
    assert cluster.emulator.get("coordination.k8s.io/v1", "Lease", "cronary", "cronary-team-test") is not None


def test_a_long_job_moves_traffic_one_step_per_interval(cluster: SeedCluster) -> None:
    for _ in range(2):  # initialize with single passes, then a new revision
        cluster.emulator.complete_rollouts()
        assert cluster.tick().exit_code == 0
        cluster.emulator.advance(10)
    cluster.emulator.complete_rollouts()
    cluster.set_image()
    weights: list[int] = []
    split_weights = cluster.split_weights

    def observe() -> None:
        weights.append(split_weights()["podinfo-canary"])

    cluster.emulator.on_request(
        lambda request: observe() if request.resource == "canaries" and request.verb == "list" else None
    )
    tick, _, code = loop(cluster, budget=55, controller=True, lease=False)
    cluster.emulator.on_request(None)
    assert code == 0 and tick.passes == 6
    # seen at the start of each pass: the weight rose by one step from one pass to the next, never more
    assert weights == [0, 0, 10, 20, 30, 40]
    assert cluster.split_weights()["podinfo-canary"] == 50
