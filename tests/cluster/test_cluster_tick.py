"""`cronary tick` end to end: the official client over HTTP against the stateful API emulator, metrics
from the real Prometheus, the load-test hook on a real HTTP server, time advancing on the API server.

The seed guide's two rollouts are played tick by tick and must match `cronary simulate` of the same scenario
phase for phase, weight for weight, event for event.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cronjob.cli import main
from harness.cluster import NEW_IMAGE, SEED, SeedCluster
from harness.kube_emulator import KubeEmulator
from harness.prometheus import failing

RESTING = ("Succeeded", "Failed")


@pytest.fixture
def loadtester(httpserver):
    httpserver.expect_request("/", method="POST").respond_with_data("ok")
    return httpserver


def seed_cluster(emulator: KubeEmulator, tmp_path: Path, prometheus_url: str, loadtester) -> SeedCluster:
    return SeedCluster(emulator, tmp_path, prometheus_url, loadtester.url_for("/")).install()


def play(cluster: SeedCluster, ticks: int = 40, image_at: int = 3) -> list[dict[str, Any]]:
    """Tick like the CronJob would, one interval (10 s) apart, changing the image before tick `image_at`.
    Returns one record per tick, in `cronary simulate -o json`'s shape."""
    timeline = []
    weights_seen = []
    for n in range(1, ticks + 1):
        cluster.emulator.complete_rollouts()
        if n == image_at:
            cluster.set_image()
        run = cluster.tick()
        assert run.exit_code == 0, run.output
        status = cluster.status()
        timeline.append(
            {"tick": n, "phase": status.get("phase"), "canaryWeight": status.get("canaryWeight"), "events": run.events}
        )
        weights_seen.append(cluster.split_weights())
        cluster.emulator.advance(10)
        if n >= image_at and status.get("phase") in RESTING:
            break
    for record, weights in zip(timeline, weights_seen):
        record["trafficWeight"] = None if weights is None else weights["podinfo-canary"]
    return timeline


def simulate(prometheus_url: str) -> list[dict[str, Any]]:
    args = [
        "simulate",
        str(SEED / "podinfo-canary.yaml"),
        "--cluster",
        str(SEED / "cluster.yaml"),
        "--scenario",
        str(SEED / "scenario-healthy.yaml"),
    ]
    result = CliRunner().invoke(
        main, [*args, "--mesh-provider", "smi:istio", "--prometheus", prometheus_url, "-o", "json"]
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


KINDS = (
    ("v1", "Service"),
    ("v1", "Event"),
    ("v1", "ConfigMap"),
    ("apps/v1", "Deployment"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"),
    ("split.smi-spec.io/v1alpha1", "TrafficSplit"),
    ("flagger.app/v1beta1", "Canary"),
)


def state(emulator: KubeEmulator) -> dict[str, str]:
    """Every object a tick could touch, serialized, by kind and name."""
    return {
        f"{kind}/{obj['metadata']['name']}": json.dumps(obj, sort_keys=True)
        for api_version, kind in KINDS
        for obj in emulator.list(api_version, kind, "test")
    }


def comparable(timeline: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(t["phase"], t["canaryWeight"], t["trafficWeight"], tuple(t["events"])) for t in timeline]


def test_seed_rollout_succeeds_and_matches_simulate(emulator, tmp_path, prometheus, loadtester) -> None:
    cluster = seed_cluster(emulator, tmp_path, prometheus.url, loadtester)
    timeline = play(cluster)
    assert timeline[-1]["phase"] == "Succeeded"
    assert comparable(timeline) == comparable(simulate(prometheus.url))
    primary = cluster.deployment("podinfo-primary")
    assert primary is not None and primary["spec"]["template"]["spec"]["containers"][0]["image"] == NEW_IMAGE
    assert cluster.split_weights() == {"podinfo-primary": 100, "podinfo-canary": 0}
    assert cluster.deployment("podinfo")["spec"]["replicas"] == 0
    canary_weights = [t["trafficWeight"] for t in timeline if t["phase"] == "Progressing"]
    assert [w for w in canary_weights if w] == [10, 20, 30, 40, 50]
    # the load tester was called with Flagger's payload and an idempotency key
    calls = [json.loads(request.data) for request, _ in loadtester.log]
    assert calls and all(c["name"] == "podinfo" and c["namespace"] == "test" and c["idempotencyKey"] for c in calls)


def test_failing_rollout_rolls_back_to_the_primary(emulator, tmp_path, prometheus_factory, loadtester) -> None:
    server = prometheus_factory([failing("test", "podinfo")])
    cluster = seed_cluster(emulator, tmp_path, server.url, loadtester)
    timeline = play(cluster)
    assert timeline[-1]["phase"] == "Failed"
    assert cluster.split_weights() == {"podinfo-primary": 100, "podinfo-canary": 0}
    assert cluster.deployment("podinfo")["spec"]["replicas"] == 0
    primary = cluster.deployment("podinfo-primary")
    assert primary["spec"]["template"]["spec"]["containers"][0]["image"] != NEW_IMAGE
    events = [e for t in timeline for e in t["events"]]
    assert "Rolling back podinfo.test failed checks threshold reached 5" in events
    # Kubernetes Events on the Canary carry the same messages, with Flagger's reason
    recorded = emulator.list("v1", "Event", "test")
    assert {e["message"] for e in recorded} == set(events)
    assert all(e["reason"] == "Synced" and e["involvedObject"]["name"] == "podinfo" for e in recorded)


def test_a_tick_repeated_at_the_same_time_changes_nothing(emulator, tmp_path, prometheus, loadtester) -> None:
    cluster = seed_cluster(emulator, tmp_path, prometheus.url, loadtester)
    play(cluster, ticks=5)  # mid-analysis
    emulator.advance(-10)  # the last tick's time again (play advanced past it)
    before = state(emulator)
    calls = len(loadtester.log)
    emulator.clear_requests()
    run = cluster.tick()
    assert run.exit_code == 0
    assert state(emulator) == before
    assert [r.verb for r in emulator.requests if r.verb not in (None, "list")] == []
    assert len(loadtester.log) == calls


def test_logs_are_json_lines_with_msg_level_canary_and_tick(emulator, tmp_path, prometheus, loadtester) -> None:
    cluster = seed_cluster(emulator, tmp_path, prometheus.url, loadtester)
    run = cluster.tick()
    assert run.exit_code == 0
    lines = run.output.strip().splitlines()
    assert lines and all(line.startswith("{") for line in lines)
    logs = [json.loads(line) for line in lines]
    assert all({"msg", "level", "ts"} <= set(log) for log in logs)
    event_lines = [log for log in logs if "eventType" in log]
    assert event_lines and all(
        log["canary"] == "podinfo.test" and log["tick"] == "2026-11-27T10:00:00Z" for log in event_lines
    )


@pytest.mark.parametrize(
    "flags, decided",
    [
        pytest.param((), True, id="all-namespaces"),
        pytest.param(("--namespace", "test"), True, id="its-namespace"),
        pytest.param(("--namespace", "other"), False, id="another-namespace"),
        pytest.param(("--selector", "team=checkout"), True, id="matching-selector"),
        pytest.param(("--selector", "team notin (checkout)"), False, id="excluding-selector"),
    ],
)
def test_a_shard_decides_only_its_canaries(
    emulator, tmp_path, prometheus, loadtester, flags: tuple[str, ...], decided: bool
) -> None:
    cluster = seed_cluster(emulator, tmp_path, prometheus.url, loadtester)
    canary = cluster.canary()
    canary["metadata"]["labels"] = {"team": "checkout"}
    emulator.replace(canary)
    assert cluster.tick(*flags).exit_code == 0
    assert ("phase" in cluster.status()) is decided


def test_a_v1beta1_canary_is_decided_like_the_v1alpha3_one(emulator, tmp_path, prometheus, loadtester) -> None:
    cluster = seed_cluster(emulator, tmp_path, prometheus.url, loadtester)
    seed = cluster.canary()
    emulator.delete("flagger.app/v1beta1", "Canary", "test", "podinfo")
    spec = dict(seed["spec"])
    spec["analysis"] = spec.pop("canaryAnalysis")
    spec["autoscalerRef"] = {**spec["autoscalerRef"], "apiVersion": "autoscaling/v2"}
    emulator.create(
        {
            "apiVersion": "flagger.app/v1beta1",
            "kind": "Canary",
            "metadata": {"name": "podinfo", "namespace": "test"},
            "spec": spec,
        }
    )
    timeline = play(cluster)
    assert timeline[-1]["phase"] == "Succeeded"
    assert comparable(timeline) == comparable(simulate(prometheus.url))


def test_now_comes_from_the_api_server_unless_pinned(emulator, tmp_path, prometheus, loadtester) -> None:
    cluster = seed_cluster(emulator, tmp_path, prometheus.url, loadtester)
    emulator.advance(3600)
    assert cluster.tick().exit_code == 0
    assert cluster.status()["lastDecisionTime"] == "2026-11-27T11:00:00Z"
    emulator.advance(10)
    assert cluster.tick("--now", "2026-11-27T11:00:05Z").exit_code == 0  # pinned: not due yet
    assert cluster.status()["lastDecisionTime"] == "2026-11-27T11:00:00Z"
