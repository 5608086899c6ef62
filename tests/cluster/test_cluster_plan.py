"""Cluster mode without a server: the requests a decision turns into, built as plain data.

What is written, in which order, what is skipped because it is already current, and how Secrets, status
and Events are shaped. The same requests are sent to the API emulator in tests/cluster/test_cluster_tick.py.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cronjob.kube.api import APPLY_PATCH, MERGE_PATCH, ApiRequest
from cronjob.kube.apply import (
    APPLIED,
    called_webhooks,
    contains,
    event_records,
    event_requests,
    hook_record_request,
    is_current,
    marked,
    plan_writes,
    status_request,
)
from cronjob.kube.read import as_canary_manifest, namespace_reads, parse_entry
from cronjob.kube.tick import hook_budget_warnings
from cronjob.local.inputs import build_cluster, cluster_objects, read_canary
from cronjob.local.simulation import SimulatedCluster
from cronjob.shared.driver import run_tick
from cronjob.shared.options import Shard
from cronjob.shared.resources import resource_of
from engine import HookResult, Settings
from engine.analysis import MetricResult
from engine.canary_spec import parse_canary
from engine.cluster import ClusterView
from engine.model import V1ALPHA3, V1BETA1
from engine.status_doc import canary_manifest
from harness.paths import SEED

CANARY = str(SEED / "podinfo-canary.yaml")
CLUSTER = str(SEED / "cluster.yaml")
NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
SETTINGS = Settings(mesh_provider="smi:istio")


def _decide(canary, cluster: ClusterView, now: datetime):
    return run_tick(
        canary,
        cluster,
        now,
        SETTINGS,
        lambda r: HookResult(True),
        lambda rs: {r.metric.name: MetricResult(99.5) for r in rs},
        prefetch_metrics=False,
    )


def first_decision(objects: list[dict[str, Any]] | None = None):
    """Tick 1 of the seed (Initializing: the primary is created)."""
    canary = read_canary(CANARY, "smi:istio")
    cluster = build_cluster(objects if objects is not None else cluster_objects(CLUSTER))
    return _decide(canary, cluster, NOW), cluster


def initialized_decision():
    """Tick 2 of the seed (the primary is ready: Initialized, every object rendered, the target scaled to 0)."""
    decision, cluster = first_decision()
    simulated = SimulatedCluster.of(cluster)
    simulated.apply(decision, NOW)
    later = NOW + timedelta(seconds=10)
    simulated.progress_rollouts(later, {("test", "podinfo-primary")})
    canary = parse_canary(canary_manifest(decision.canary, decision.status))
    view = simulated.view()
    return _decide(canary, view, later), view


def kinds(requests: list[ApiRequest]) -> list[str]:
    return [r.what.split()[1] if r.what.startswith("apply") else r.what.split()[0] for r in requests]


# ------------------------------------------------------------------------------------------------ contains
@pytest.mark.parametrize(
    "live, desired, expected",
    [
        pytest.param({"a": 1, "b": 2}, {"a": 1}, True, id="map-subset"),
        pytest.param({"a": 1}, {"a": 2}, False, id="scalar-differs"),
        pytest.param({"a": 1}, {"b": 1}, False, id="key-missing"),
        pytest.param(
            {"c": [{"name": "x", "default": 1}]}, {"c": [{"name": "x"}]}, True, id="server-defaults-in-list-items"
        ),
        pytest.param({"c": [{"name": "x"}, {"name": "y"}]}, {"c": [{"name": "x"}]}, False, id="list-length-differs"),
        pytest.param({"c": [{"name": "y"}]}, {"c": [{"name": "x"}]}, False, id="list-item-differs"),
        pytest.param({"a": None}, {"a": {}}, False, id="map-expected-not-null"),
    ],
)
def test_contains(live: Any, desired: Any, expected: bool) -> None:
    assert contains(live, desired) is expected


def test_marked_objects_are_current_only_with_the_same_configuration() -> None:
    desired = marked(
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a", "namespace": "t"}, "spec": {"x": 1}}
    )
    live = copy.deepcopy(desired)
    live["metadata"]["resourceVersion"] = "7"
    assert is_current(live, desired)
    changed = marked(
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a", "namespace": "t"}, "spec": {"x": 2}}
    )
    assert not is_current(live, changed)
    drifted = copy.deepcopy(live)
    drifted["spec"]["x"] = 5  # edited by hand: the annotation still matches, the fields do not
    assert not is_current(drifted, desired)
    assert not is_current(None, desired)


# -------------------------------------------------------------------------------------------- plan_writes
def test_initialization_applies_every_generated_object_with_field_manager_cronary() -> None:
    decision, cluster = initialized_decision()
    requests = plan_writes(decision, cluster, {})
    assert [r.method for r in requests if r.what.startswith("apply")] == ["PATCH"] * sum(
        1 for r in requests if r.what.startswith("apply")
    )
    for request in requests:
        if request.what.startswith("apply"):
            assert request.content_type == APPLY_PATCH
            assert dict(request.query) == {"fieldManager": "cronary", "force": "true"}
            assert request.body["metadata"]["annotations"][APPLIED]
            assert request.path == resource_of(request.body).path(
                request.body["metadata"]["namespace"], request.body["metadata"]["name"]
            )
    applied = [(r.body["kind"], r.body["metadata"]["name"]) for r in requests if r.what.startswith("apply")]
    assert ("Deployment", "podinfo-primary") in applied and ("TrafficSplit", "podinfo") in applied
    # the target is scaled to zero only after the TrafficSplit routes everything to the primary
    assert kinds(requests)[-2:] == ["TrafficSplit", "scale"]
    scale = requests[-1]
    assert (scale.method, scale.content_type, scale.body) == ("PATCH", MERGE_PATCH, {"spec": {"replicas": 0}})
    assert scale.path == "/apis/apps/v1/namespaces/test/deployments/podinfo/scale"


def test_objects_already_current_are_not_written_again() -> None:
    decision, cluster = initialized_decision()
    live = list(cluster.objects.values())
    for request in plan_writes(decision, cluster, {}):
        if request.what.startswith("apply"):
            live.append(copy.deepcopy(request.body))
    applied_view = ClusterView.of([*live])
    # the target still has 2 replicas: only the scale-down is left
    assert kinds(plan_writes(decision, applied_view, {})) == ["scale"]


def test_secret_copies_carry_data_and_are_marked_sensitive() -> None:
    objects = cluster_objects(CLUSTER)
    target = next(o for o in objects if o["kind"] == "Deployment")
    target["spec"]["template"]["spec"]["volumes"] = [{"name": "s", "secret": {"secretName": "podinfo-token"}}]
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "podinfo-token", "namespace": "test", "labels": {"app": "podinfo"}},
        "type": "Opaque",
        "data": {"token": "c2VjcmV0"},
    }
    decision, cluster = first_decision([*objects, secret])
    assert decision.secret_copies == (("podinfo-token", "podinfo-token-primary"),)
    requests = plan_writes(decision, cluster, {("test", "podinfo-token"): secret})
    copies = [r for r in requests if r.sensitive]
    assert len(copies) == 1 and requests[0] is copies[0]  # before the primary Deployment that mounts it
    assert (
        copies[0].body["data"] == {"token": "c2VjcmV0"}
        and copies[0].body["metadata"]["name"] == "podinfo-token-primary"
    )
    assert "c2VjcmV0" not in copies[0].what
    assert all(not r.sensitive for r in requests[1:])


# ------------------------------------------------------------------------------------------ status, events
def test_status_is_written_through_the_subresource_with_the_resource_version_read() -> None:
    decision, _ = first_decision()
    manifest = {**read_canary(CANARY, "smi:istio").manifest}
    manifest["metadata"] = {**manifest["metadata"], "resourceVersion": "42"}
    request = status_request(manifest, decision.status)
    assert (request.method, request.path) == (
        "PUT",
        "/apis/flagger.app/v1beta1/namespaces/test/canaries/podinfo/status",
    )
    assert request.body["metadata"]["resourceVersion"] == "42"
    assert (
        request.body["status"]["phase"] == "Initializing"
        and request.body["status"]["lastDecisionTime"] == "2026-11-27T10:00:00Z"
    )


def test_event_names_are_stable_for_a_decision_so_a_rerun_does_not_record_twice() -> None:
    decision, _ = first_decision()
    manifest = read_canary(CANARY, "smi:istio").manifest
    first = event_requests(event_records(decision, manifest), manifest, "job-a")
    again = event_requests(event_records(decision, manifest), manifest, "job-b")
    assert [r.body["metadata"]["name"] for r in first] == [r.body["metadata"]["name"] for r in again]
    assert len({r.body["metadata"]["name"] for r in first}) == len(first) == len(decision.events) > 0
    event = first[0].body
    assert (event["reason"], event["type"], event["involvedObject"]["kind"]) == ("Synced", "Normal", "Canary")
    assert event["message"] == decision.events[0].message


# --------------------------------------------------------------------------------------------- reading
def test_a_v1alpha3_canary_listed_through_v1beta1_is_parsed_as_v1alpha3() -> None:
    manifest = dict(read_canary(CANARY, "smi:istio").manifest)
    listed = {**manifest, "apiVersion": V1BETA1}
    assert as_canary_manifest(listed)["apiVersion"] == V1ALPHA3
    entry = parse_entry(listed, "smi:istio")
    assert entry.canary is not None and entry.canary.spec.effective_analysis.step_weight == 10


def test_an_invalid_canary_is_an_entry_with_the_field_path() -> None:
    manifest = copy.deepcopy(dict(read_canary(CANARY, "smi:istio").manifest))
    manifest["spec"]["canaryAnalysis"]["stepWeight"] = 150
    entry = parse_entry(manifest, "smi:istio")
    assert entry.canary is None and entry.error.startswith("spec.canaryAnalysis.stepWeight:")


@pytest.mark.parametrize(
    "tracking, expected",
    [
        pytest.param(
            True,
            {"deployments", "services", "horizontalpodautoscalers", "trafficsplits", "configmaps", "secrets"},
            id="config-tracking",
        ),
        pytest.param(
            False, {"deployments", "services", "horizontalpodautoscalers", "trafficsplits"}, id="no-config-tracking"
        ),
    ],
)
def test_kinds_listed_per_namespace(tracking: bool, expected: set[str]) -> None:
    canary = read_canary(CANARY, "smi:istio")
    reads = namespace_reads([canary], Settings(mesh_provider="smi:istio", config_tracking=tracking))
    assert {r.plural for r in reads["test"]} == expected
    assert next(r for r in reads["test"] if r.plural == "trafficsplits").version == "v1alpha1"


def test_shard_defaults_to_all_namespaces() -> None:
    assert Shard().namespaces == () and Shard().name == "default"


# ------------------------------------------------------------------------------------- hooks in cluster mode
def test_a_hook_call_is_noted_in_the_status_the_tick_started_from() -> None:
    manifest = copy.deepcopy(dict(read_canary(CANARY, "smi:istio").manifest))
    manifest["metadata"]["resourceVersion"] = "7"
    manifest["status"] = {"phase": "Progressing", "canaryWeight": 20}
    record = {"name": "load-test", "type": "rollout", "idempotencyKey": "k-1", "time": "2026-11-27T10:00:00Z"}
    request = hook_record_request(manifest, record)
    assert (request.method, request.path) == (
        "PUT",
        "/apis/flagger.app/v1beta1/namespaces/test/canaries/podinfo/status",
    )
    assert request.body["metadata"]["resourceVersion"] == "7"
    assert request.body["status"] == {"phase": "Progressing", "canaryWeight": 20, "calledWebhooks": [record]}
    assert called_webhooks(request.body) == {"k-1": record}


def test_hooks_that_cannot_fit_in_the_budget_are_warned_about() -> None:
    manifest = copy.deepcopy(dict(read_canary(CANARY, "smi:istio").manifest))
    hooks = manifest["spec"]["canaryAnalysis"]["webhooks"]
    hooks.append(
        {"name": "slow-gate", "type": "confirm-promotion", "url": "http://gate.test/", "timeout": "30s", "retries": 1}
    )
    entry = parse_entry(manifest, "smi:istio")
    assert hook_budget_warnings([entry], 120) == []
    [warning] = hook_budget_warnings([entry], 50)
    assert warning.startswith("Canary podinfo.test: its webhooks may take up to") and "tick budget of 50s" in warning


def test_a_hand_edit_of_an_applied_object_is_named_in_the_plan() -> None:
    decision, cluster = initialized_decision()
    applied = [copy.deepcopy(r.body) for r in plan_writes(decision, cluster, {}) if r.what.startswith("apply")]
    split = next(o for o in applied if o["kind"] == "TrafficSplit")
    split["spec"]["backends"][1]["weight"] = 100  # someone routes everything to the canary by hand
    live = ClusterView.of([*cluster.objects.values(), *applied])
    [request] = [r for r in plan_writes(decision, live, {}) if r.what.startswith("apply")]
    assert request.body["kind"] == "TrafficSplit"
    assert (
        request.note
        == "TrafficSplit test/podinfo was changed outside cronary (replace /spec/backends/1/weight); applying it again"
    )
