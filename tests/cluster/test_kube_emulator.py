"""The Kubernetes API emulator, proven through the official client over HTTP.

Every test talks to the emulator the way cronary does: the official `kubernetes` client over real HTTP on
loopback. The assertions are what a real API server answers (status codes, `Status` reasons and messages,
resourceVersion and generation rules, field ownership), so a test that passes here fails where a real
server would refuse the same call.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest
import urllib3
from kubernetes import client, config
from kubernetes.client import ApiClient
from kubernetes.client.exceptions import ApiException

from harness.kube_emulator import (
    APPLY,
    JSON_PATCH,
    MERGE,
    STRATEGIC,
    ApiError,
    KubeEmulator,
    RecordedRequest,
)

ROOT = Path(__file__).resolve().parents[2]
FLAGGER_CRDS = ROOT / "fixtures" / "crds" / "flagger-canary-v1.44.0.yaml"
SMI_CRD = ROOT / "fixtures" / "crds" / "smi-istio-adapter-0.14.0.yaml"
START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
NS = "test"
DEPLOYMENTS = f"/apis/apps/v1/namespaces/{NS}/deployments"
CANARIES = f"/apis/flagger.app/v1beta1/namespaces/{NS}/canaries"
CONFIGMAPS = f"/api/v1/namespaces/{NS}/configmaps"


# -- fixtures and helpers -----------------------------------------------------------------------------------------


@pytest.fixture
def emulator() -> Iterator[KubeEmulator]:
    with KubeEmulator(now=START) as server:
        server.install_crds_from(FLAGGER_CRDS)
        server.install_crds_from(SMI_CRD)
        server.create(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}
        )  # objects are created only in one that exists
        yield server
        assert server.errors == []  # no request made the emulator itself fail


@pytest.fixture
def api(emulator: KubeEmulator) -> ApiClient:
    return emulator.api_client()


@dataclass
class Raw:
    status: int
    body: Any
    headers: Mapping[str, str]


def call(
    api: ApiClient,
    method: str,
    path: str,
    *,
    query: Mapping[str, str] | None = None,
    body: Any = None,
    content_type: str | None = None,
) -> Raw:
    """One request through `ApiClient.call_api`, as cronary sends them: the raw answer, never an exception for an
    HTTP error status. (kubernetes 37's `call_api` returns the unread response; older clients needed
    `_preload_content=False` for that.)"""
    headers = {"Accept": "application/json", **({"Content-Type": content_type} if content_type else {})}
    method, url, header_params, body, _ = api.param_serialize(
        method, path, query_params=list((query or {}).items()), header_params=headers, body=body
    )
    response = api.call_api(method, url, header_params=header_params, body=body)
    data = response.read()
    return Raw(response.status, json.loads(data) if data else None, response.headers)


def apply(
    api: ApiClient, path: str, manifest: Mapping[str, Any], manager: str | None = "cronary", *, force: bool = False
) -> Raw:
    """Server-side apply with a JSON string body (JSON is YAML), as cronary's applier sends it."""
    query = {**({"fieldManager": manager} if manager else {}), **({"force": "true"} if force else {})}
    return call(api, "PATCH", path, query=query, body=json.dumps(manifest), content_type=APPLY)


def deployment(name: str = "podinfo", replicas: int = 2, **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": NS, "labels": {"app": name, **labels}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "podinfo", "image": "podinfo:1.7.0"}]},
            },
        },
    }


def canary(name: str = "podinfo") -> dict[str, Any]:
    return {
        "apiVersion": "flagger.app/v1beta1",
        "kind": "Canary",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "analysis": {"interval": "10s", "threshold": 5},
        },
    }


def configmap(name: str, **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": NS, "labels": labels},
        "data": {"k": "v"},
    }


def status_of(err: ApiException) -> dict[str, Any]:
    return json.loads(err.body)


def owners(obj: Mapping[str, Any]) -> dict[tuple[str, str, str], dict[str, Any]]:
    """managedFields by (manager, operation, subresource)."""
    return {
        (e["manager"], e["operation"], e.get("subresource", "")): e["fieldsV1"]
        for e in obj["metadata"].get("managedFields", [])
    }


def owns_replicas(fields: Mapping[str, Any]) -> bool:
    return "f:replicas" in fields.get("f:spec", {})


# -- discovery ----------------------------------------------------------------------------------------------------


def test_core_discovery_lists_v1_and_its_resources(api: ApiClient) -> None:
    assert client.CoreApi(api).get_api_versions().versions == ["v1"]
    resources = {r.name: r for r in client.CoreV1Api(api).get_api_resources().resources}
    assert {"configmaps", "secrets", "services", "events", "pods", "namespaces", "pods/status"} <= set(resources)
    assert resources["namespaces"].namespaced is False and resources["configmaps"].namespaced is True
    assert resources["configmaps"].kind == "ConfigMap" and resources["configmaps"].singular_name == "configmap"


@pytest.mark.parametrize(
    "group, preferred",
    [
        ("apps", "v1"),
        ("autoscaling", "v2"),
        ("coordination.k8s.io", "v1"),
        ("flagger.app", "v1beta1"),
        ("split.smi-spec.io", "v1alpha1"),
    ],
    ids=lambda value: value,
)
def test_group_discovery_names_the_preferred_version(api: ApiClient, group: str, preferred: str) -> None:
    groups = {g.name: g for g in client.ApisApi(api).get_api_versions().groups}
    assert groups[group].preferred_version.version == preferred
    assert f"{group}/{preferred}" in [v.group_version for v in groups[group].versions]


@pytest.mark.parametrize(
    "path, name, expected",
    [
        ("/apis/apps/v1", "deployments", {"kind": "Deployment", "singularName": "deployment", "namespaced": True}),
        (
            "/apis/apps/v1",
            "deployments/scale",
            {"group": "autoscaling", "version": "v1", "kind": "Scale", "verbs": ["get", "patch", "update"]},
        ),
        ("/apis/apps/v1", "deployments/status", {"kind": "Deployment", "verbs": ["get", "patch", "update"]}),
        (
            "/apis/autoscaling/v2",
            "horizontalpodautoscalers",
            {"kind": "HorizontalPodAutoscaler", "shortNames": ["hpa"]},
        ),
        ("/apis/coordination.k8s.io/v1", "leases", {"kind": "Lease", "namespaced": True}),
        ("/apis/flagger.app/v1beta1", "canaries", {"kind": "Canary", "singularName": "canary", "namespaced": True}),
        ("/apis/flagger.app/v1beta1", "canaries/status", {"kind": "Canary"}),
        ("/apis/flagger.app/v1beta1", "metrictemplates", {"kind": "MetricTemplate"}),
        ("/apis/flagger.app/v1beta1", "alertproviders", {"kind": "AlertProvider"}),
        ("/apis/split.smi-spec.io/v1alpha1", "trafficsplits/status", {"kind": "TrafficSplit"}),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_resource_discovery_describes_resources_and_subresources(
    api: ApiClient, path: str, name: str, expected: dict[str, Any]
) -> None:
    answer = call(api, "GET", path)
    assert answer.status == 200 and answer.body["kind"] == "APIResourceList"
    entry = {r["name"]: r for r in answer.body["resources"]}[name]
    assert {k: entry[k] for k in expected} == expected
    assert "get" in entry["verbs"]


def test_an_unserved_group_version_is_not_discovered(api: ApiClient) -> None:
    assert call(api, "GET", "/apis/flagger.app/v9").status == 404
    assert call(api, "GET", "/apis/nothing.example.com").status == 404


def test_the_dynamic_client_discovers_and_uses_custom_resources(api: ApiClient) -> None:
    from kubernetes.dynamic import DynamicClient

    canaries = DynamicClient(api).resources.get(api_version="flagger.app/v1beta1", kind="Canary")
    canaries.create(body=canary(), namespace=NS)
    assert canaries.get(name="podinfo", namespace=NS).spec.analysis.threshold == 5


# -- create, get, list ------------------------------------------------------------------------------------------------


def test_create_sets_server_owned_metadata_from_the_clock(api: ApiClient) -> None:
    created = client.CoreV1Api(api).create_namespaced_config_map(NS, configmap("settings"))
    assert uuid.UUID(created.metadata.uid).version == 4
    assert created.metadata.creation_timestamp == START
    assert int(created.metadata.resource_version) > 0
    assert created.metadata.generation is None  # ConfigMaps have no generation
    dep = client.AppsV1Api(api).create_namespaced_deployment(NS, deployment())
    assert dep.metadata.generation == 1
    assert int(dep.metadata.resource_version) > int(created.metadata.resource_version)


def test_get_returns_the_created_object(api: ApiClient) -> None:
    client.CoreV1Api(api).create_namespaced_config_map(NS, configmap("settings", app="web"))
    got = client.CoreV1Api(api).read_namespaced_config_map("settings", NS)
    assert (got.metadata.name, got.metadata.labels, got.data) == ("settings", {"app": "web"}, {"k": "v"})


def test_generate_name_makes_a_unique_name(api: ApiClient) -> None:
    body = {"metadata": {"generateName": "cronary-"}, "data": {}}
    names = {client.CoreV1Api(api).create_namespaced_config_map(NS, body).metadata.name for _ in range(3)}
    assert len(names) == 3 and all(n.startswith("cronary-") and len(n) == len("cronary-") + 5 for n in names)


LABELLED = {"a": {"app": "web", "tier": "front"}, "b": {"app": "web", "tier": "back"}, "c": {"app": "db"}, "d": {}}


@pytest.mark.parametrize(
    "selector, expected",
    [
        ("app=web", "ab"),
        ("app==web", "ab"),
        ("app!=web", "cd"),
        ("tier in (front,back)", "ab"),
        ("tier in (front, back)", "ab"),
        ("tier notin (front)", "bcd"),
        ("tier", "ab"),
        ("!tier", "cd"),
        ("app=web,tier=back", "b"),
        ("app in (web,db),!tier", "c"),
        ("", "abcd"),
    ],
    ids=lambda value: value or "empty",
)
def test_list_filters_by_label_selector(api: ApiClient, selector: str, expected: str) -> None:
    core = client.CoreV1Api(api)
    for name, labels in LABELLED.items():
        core.create_namespaced_config_map(NS, configmap(name, **labels))
    listed = core.list_namespaced_config_map(NS, label_selector=selector or None)
    assert "".join(item.metadata.name for item in listed.items) == expected


@pytest.mark.parametrize(
    "selector",
    ["app in (web", "=web", "app=we b", "a!b"],
    ids=["unclosed-set", "no-key", "space-in-value", "bad-operator"],
)
def test_an_unparsable_selector_is_a_bad_request(api: ApiClient, selector: str) -> None:
    answer = call(api, "GET", CONFIGMAPS, query={"labelSelector": selector})
    assert (answer.status, answer.body["reason"]) == (400, "BadRequest")


@pytest.mark.parametrize(
    "path, list_kind, items_have_kind",
    [(CONFIGMAPS, "ConfigMapList", False), (DEPLOYMENTS, "DeploymentList", False), (CANARIES, "CanaryList", True)],
    ids=["core", "apps", "custom"],
)
def test_list_items_carry_kind_only_for_custom_resources(
    api: ApiClient, emulator: KubeEmulator, path: str, list_kind: str, items_have_kind: bool
) -> None:
    emulator.create(configmap("settings"))
    emulator.create(deployment())
    emulator.create(canary())
    answer = call(api, "GET", path)
    assert answer.body["kind"] == list_kind and answer.body["metadata"]["resourceVersion"]
    item = answer.body["items"][0]
    assert ("kind" in item and "apiVersion" in item) is items_have_kind
    assert call(api, "GET", f"{path}/{item['metadata']['name']}").body["kind"] == list_kind.removesuffix("List")


def test_list_across_namespaces(api: ApiClient, emulator: KubeEmulator) -> None:
    for namespace in ("test", "prod"):
        emulator.create({**canary(), "metadata": {"name": "podinfo", "namespace": namespace}})
    listed = client.CustomObjectsApi(api).list_cluster_custom_object("flagger.app", "v1beta1", "canaries")
    assert [(i["metadata"]["namespace"], i["metadata"]["name"]) for i in listed["items"]] == [
        ("prod", "podinfo"),
        ("test", "podinfo"),
    ]


@pytest.mark.parametrize(
    "path, message",
    [
        (f"{CONFIGMAPS}/nope", 'configmaps "nope" not found'),
        (f"{DEPLOYMENTS}/nope", 'deployments.apps "nope" not found'),
        (f"{CANARIES}/nope", 'canaries.flagger.app "nope" not found'),
    ],
    ids=["core", "apps", "custom"],
)
def test_get_of_a_missing_object_is_404_not_found(api: ApiClient, path: str, message: str) -> None:
    answer = call(api, "GET", path)
    assert answer.status == 404
    assert {k: answer.body[k] for k in ("kind", "apiVersion", "status", "reason", "code", "message")} == {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "reason": "NotFound",
        "code": 404,
        "message": message,
    }


def test_the_official_client_raises_api_exception_with_the_status(api: ApiClient) -> None:
    with pytest.raises(ApiException) as caught:
        client.AppsV1Api(api).read_namespaced_deployment("nope", NS)
    assert caught.value.status == 404 and status_of(caught.value)["reason"] == "NotFound"


@pytest.mark.parametrize(
    "path",
    [
        "/apis/apps/v1/namespaces/test/replicasets",
        "/apis/apps/v2/namespaces/test/deployments",
        "/apis/apps/v1/deployments/podinfo",
        "/api/v1/namespaces/test/namespaces/x",
        "/metrics",
    ],
    ids=[
        "unknown-resource",
        "unknown-version",
        "namespaced-without-namespace",
        "cluster-scoped-in-namespace",
        "non-api-path",
    ],
)
def test_paths_no_server_routes_are_404(api: ApiClient, path: str) -> None:
    assert call(api, "GET", path).status == 404


def test_create_of_an_existing_object_is_409_already_exists(api: ApiClient) -> None:
    client.CoreV1Api(api).create_namespaced_config_map(NS, configmap("settings"))
    with pytest.raises(ApiException) as caught:
        client.CoreV1Api(api).create_namespaced_config_map(NS, configmap("settings"))
    assert caught.value.status == 409
    assert status_of(caught.value)["reason"] == "AlreadyExists"
    assert status_of(caught.value)["message"] == 'configmaps "settings" already exists'


@pytest.mark.parametrize(
    "metadata, code, reason",
    [
        ({"name": "Bad_Name"}, 422, "Invalid"),
        ({}, 422, "Invalid"),
        ({"name": "x", "namespace": "elsewhere"}, 400, "BadRequest"),
        ({"name": "x", "labels": {"weight": 10}}, 400, "BadRequest"),
        ({"name": "x", "resourceVersion": "5"}, 500, "InternalError"),
    ],
    ids=["invalid-name", "no-name", "namespace-mismatch", "non-string-label", "resource-version-set"],
)
def test_create_refuses_what_a_server_refuses(api: ApiClient, metadata: dict[str, Any], code: int, reason: str) -> None:
    answer = call(api, "POST", CONFIGMAPS, body={"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata})
    assert (answer.status, answer.body["reason"]) == (code, reason)


@pytest.mark.parametrize("how", ["post", "apply"])
def test_creating_in_a_namespace_that_does_not_exist_is_404_for_the_namespace(
    api: ApiClient, emulator: KubeEmulator, how: str
) -> None:
    """As a real server's NamespaceLifecycle admission answers; reading from such a namespace is no error."""
    lease = {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": "x"},
        "spec": {"holderIdentity": "me"},
    }
    leases = "/apis/coordination.k8s.io/v1/namespaces/nowhere/leases"
    answer = call(api, "POST", leases, body=lease) if how == "post" else apply(api, f"{leases}/x", lease)
    assert (answer.status, answer.body["reason"], answer.body["message"]) == (
        404,
        "NotFound",
        'namespaces "nowhere" not found',
    )
    assert answer.body["details"] == {"name": "nowhere", "kind": "namespaces"}
    assert call(api, "GET", f"{leases}/x").body["message"] == 'leases.coordination.k8s.io "x" not found'
    assert call(api, "GET", leases).body["items"] == []
    emulator.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "nowhere"}})
    assert call(api, "POST", leases, body=lease).status == 201


def test_create_of_another_api_version_is_a_bad_request(api: ApiClient) -> None:
    answer = call(api, "POST", DEPLOYMENTS, body={**deployment(), "apiVersion": "apps/v1beta1"})
    assert answer.status == 400 and "does not match the expected API version" in answer.body["message"]


def test_delete_removes_the_object(api: ApiClient, emulator: KubeEmulator) -> None:
    emulator.create(configmap("settings"))
    answer = call(api, "DELETE", f"{CONFIGMAPS}/settings")
    assert (answer.status, answer.body["status"]) == (200, "Success")
    assert emulator.get("v1", "ConfigMap", NS, "settings") is None
    assert call(api, "DELETE", f"{CONFIGMAPS}/settings").status == 404


def test_delete_with_a_stale_precondition_is_409(api: ApiClient, emulator: KubeEmulator) -> None:
    stale = emulator.create(configmap("settings"))["metadata"]["resourceVersion"]
    emulator.replace(configmap("settings"))
    answer = call(api, "DELETE", f"{CONFIGMAPS}/settings", body={"preconditions": {"resourceVersion": stale}})
    assert (answer.status, answer.body["reason"]) == (409, "Conflict")


@pytest.mark.parametrize(
    "method, path",
    [
        ("POST", f"{CONFIGMAPS}/settings"),
        ("PUT", CONFIGMAPS),
        ("DELETE", CONFIGMAPS),
        ("POST", "/apis/apps/v1/deployments"),
    ],
    ids=["post-to-object", "put-to-collection", "delete-collection", "post-all-namespaces"],
)
def test_methods_a_resource_does_not_allow_are_405(api: ApiClient, method: str, path: str) -> None:
    answer = call(api, method, path, body=configmap("settings"))
    assert (answer.status, answer.body["reason"]) == (405, "MethodNotAllowed")


# -- update with optimistic concurrency ----------------------------------------------------------------------------


def test_put_with_a_stale_resource_version_is_409_conflict(api: ApiClient, emulator: KubeEmulator) -> None:
    custom = client.CustomObjectsApi(api)
    read = custom.create_namespaced_custom_object("flagger.app", "v1beta1", NS, "canaries", canary())
    emulator.replace(
        {**emulator.get("flagger.app/v1beta1", "Canary", NS, "podinfo"), "spec": {"analysis": {"threshold": 9}}}
    )
    with pytest.raises(ApiException) as caught:
        custom.replace_namespaced_custom_object("flagger.app", "v1beta1", NS, "canaries", "podinfo", read)
    assert caught.value.status == 409
    assert status_of(caught.value)["reason"] == "Conflict"
    assert status_of(caught.value)["message"] == (
        'Operation cannot be fulfilled on canaries.flagger.app "podinfo": the object has been modified; '
        "please apply your changes to the latest version and try again"
    )


@pytest.mark.parametrize(
    "path, manifest, code",
    [(CONFIGMAPS, configmap("x"), 200), (CANARIES, canary("x"), 422)],
    ids=["built-in-unconditional", "custom-requires-it"],
)
def test_put_without_resource_version(
    api: ApiClient, emulator: KubeEmulator, path: str, manifest: dict[str, Any], code: int
) -> None:
    emulator.create(manifest)
    answer = call(api, "PUT", f"{path}/x", body=manifest)
    assert answer.status == code
    if code == 422:
        assert (
            answer.body["message"]
            == 'canaries.flagger.app "x" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update'
        )


def test_put_of_a_missing_object_is_404(api: ApiClient) -> None:
    assert call(api, "PUT", f"{CONFIGMAPS}/x", body=configmap("x")).status == 404


def test_put_with_another_name_is_a_bad_request(api: ApiClient, emulator: KubeEmulator) -> None:
    emulator.create(configmap("x"))
    answer = call(api, "PUT", f"{CONFIGMAPS}/x", body=configmap("y"))
    assert (
        answer.status == 400
        and answer.body["message"] == "the name of the object (y) does not match the name on the URL (x)"
    )


def test_a_put_that_changes_nothing_keeps_the_resource_version(api: ApiClient, emulator: KubeEmulator) -> None:
    stored = emulator.create(canary())
    emulator.advance(60)
    answer = call(api, "PUT", f"{CANARIES}/podinfo", body=stored)
    assert answer.status == 200 and answer.body["metadata"]["resourceVersion"] == stored["metadata"]["resourceVersion"]


def test_concurrent_puts_with_the_same_resource_version_one_wins(emulator: KubeEmulator) -> None:
    stored = emulator.create(canary())
    both_arrived = threading.Barrier(2, timeout=5)
    emulator.on_request(lambda request: both_arrived.wait() if request.method == "PUT" else None)
    results: list[int] = []

    def write(threshold: int) -> None:
        body = {**stored, "spec": {**stored["spec"], "analysis": {"threshold": threshold}}}
        results.append(call(emulator.api_client(), "PUT", f"{CANARIES}/podinfo", body=body).status)

    threads = [threading.Thread(target=write, args=(n,)) for n in (7, 8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(results) == [200, 409]
    assert emulator.get("flagger.app/v1beta1", "Canary", NS, "podinfo")["metadata"]["resourceVersion"] == str(
        int(stored["metadata"]["resourceVersion"]) + 1
    )


# -- status subresource -------------------------------------------------------------------------------------------


def test_main_put_ignores_status_and_status_put_ignores_spec(api: ApiClient, emulator: KubeEmulator) -> None:
    custom = client.CustomObjectsApi(api)
    first = emulator.create({**canary(), "status": {"phase": "Initialized"}})
    main = custom.replace_namespaced_custom_object(
        "flagger.app",
        "v1beta1",
        NS,
        "canaries",
        "podinfo",
        {**first, "spec": {"analysis": {"threshold": 2}}, "status": {"phase": "Failed"}},
    )
    assert (main["spec"]["analysis"], main["status"]) == ({"threshold": 2}, {"phase": "Initialized"})
    assert (
        int(main["metadata"]["resourceVersion"]) > int(first["metadata"]["resourceVersion"])
        and main["metadata"]["generation"] == 2
    )
    status = custom.replace_namespaced_custom_object_status(
        "flagger.app",
        "v1beta1",
        NS,
        "canaries",
        "podinfo",
        {**main, "spec": {"analysis": {"threshold": 99}}, "status": {"phase": "Progressing"}},
    )
    assert (status["spec"]["analysis"], status["status"]) == ({"threshold": 2}, {"phase": "Progressing"})
    assert (
        int(status["metadata"]["resourceVersion"]) > int(main["metadata"]["resourceVersion"])
        and status["metadata"]["generation"] == 2
    )


def test_status_put_with_a_stale_resource_version_is_409(api: ApiClient, emulator: KubeEmulator) -> None:
    stored = emulator.create(canary())
    emulator.replace({**stored, "status": {"phase": "Progressing"}})
    answer = call(api, "PUT", f"{CANARIES}/podinfo/status", body={**stored, "status": {"phase": "Succeeded"}})
    assert (answer.status, answer.body["reason"]) == (409, "Conflict")


def test_create_drops_status_when_the_resource_has_a_status_subresource(api: ApiClient) -> None:
    created = call(api, "POST", CANARIES, body={**canary(), "status": {"phase": "Succeeded"}})
    assert created.status == 201 and "status" not in created.body


# -- server-side apply --------------------------------------------------------------------------------------------


def test_apply_creates_a_missing_object_owned_by_its_manager(api: ApiClient, emulator: KubeEmulator) -> None:
    answer = apply(api, f"{DEPLOYMENTS}/podinfo", deployment())
    assert answer.status == 201 and answer.body["metadata"]["generation"] == 1
    entry = answer.body["metadata"]["managedFields"][0]
    assert {k: entry[k] for k in ("manager", "operation", "apiVersion", "fieldsType", "time")} == {
        "manager": "cronary",
        "operation": "Apply",
        "apiVersion": "apps/v1",
        "fieldsType": "FieldsV1",
        "time": "2026-03-01T12:00:00Z",
    }
    assert entry["fieldsV1"]["f:metadata"] == {"f:labels": {"f:app": {}}}
    assert entry["fieldsV1"]["f:spec"]["f:template"]["f:spec"] == {"f:containers": {}}  # lists are atomic
    assert [(r.verb, r.created) for r in emulator.requests] == [("patch", True)]


def test_reapplying_the_same_configuration_changes_nothing(api: ApiClient, emulator: KubeEmulator) -> None:
    first = apply(api, f"{DEPLOYMENTS}/podinfo", deployment()).body
    emulator.advance(60)  # not even the managedFields time changes
    second = apply(api, f"{DEPLOYMENTS}/podinfo", deployment())
    assert second.status == 200 and second.body == first


def test_fields_left_out_of_an_apply_are_removed(api: ApiClient) -> None:
    apply(api, f"{DEPLOYMENTS}/podinfo", deployment(team="a"))
    applied = apply(api, f"{DEPLOYMENTS}/podinfo", deployment()).body
    assert applied["metadata"]["labels"] == {"app": "podinfo"}
    assert "f:team" not in owners(applied)[("cronary", "Apply", "")]["f:metadata"]["f:labels"]


def test_fields_another_manager_also_owns_are_kept(api: ApiClient) -> None:
    apply(api, f"{DEPLOYMENTS}/podinfo", deployment(team="a"))
    apply(
        api,
        f"{DEPLOYMENTS}/podinfo",
        {**deployment(), "spec": {}, "metadata": {"name": "podinfo", "labels": {"team": "a"}}},
        "kubectl",
    )
    kept = apply(api, f"{DEPLOYMENTS}/podinfo", deployment()).body
    assert kept["metadata"]["labels"] == {"app": "podinfo", "team": "a"}


def test_apply_removes_an_emptied_map(api: ApiClient) -> None:
    apply(
        api,
        f"{CONFIGMAPS}/settings",
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "annotations": {"a": "1"}}},
    )
    answer = apply(
        api, f"{CONFIGMAPS}/settings", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}}
    )
    assert "annotations" not in answer.body["metadata"]


def write_replicas_as_kubectl(api: ApiClient, how: str) -> None:
    if how == "apply":
        assert apply(api, f"{DEPLOYMENTS}/podinfo", deployment(replicas=2), "kubectl").status == 201
    else:
        assert (
            call(api, "POST", DEPLOYMENTS, query={"fieldManager": "kubectl"}, body=deployment(replicas=2)).status == 201
        )


@pytest.mark.parametrize(
    "how, printed",
    [("apply", '"kubectl"'), ("update", '"kubectl" using apps/v1')],
    ids=["owner-applied", "owner-updated"],
)
def test_applying_a_field_another_manager_owns_is_409_conflict(api: ApiClient, how: str, printed: str) -> None:
    write_replicas_as_kubectl(api, how)
    answer = apply(api, f"{DEPLOYMENTS}/podinfo", deployment(replicas=3))
    assert (answer.status, answer.body["reason"]) == (409, "Conflict")
    assert answer.body["message"] == f"Apply failed with 1 conflict: conflict with {printed}: .spec.replicas"
    assert answer.body["details"]["causes"] == [
        {"type": "FieldManagerConflict", "message": f"conflict with {printed}", "field": ".spec.replicas"}
    ]


def test_several_conflicts_are_listed_by_manager(api: ApiClient) -> None:
    write_replicas_as_kubectl(api, "apply")
    changed = deployment(replicas=3)
    changed["spec"]["template"]["spec"]["containers"][0]["image"] = "podinfo:2"
    answer = apply(api, f"{DEPLOYMENTS}/podinfo", changed)
    assert (
        answer.body["message"]
        == 'Apply failed with 2 conflicts: conflicts with "kubectl":\n- .spec.replicas\n- .spec.template.spec.containers'
    )


def test_force_takes_the_conflicting_fields_over(api: ApiClient) -> None:
    write_replicas_as_kubectl(api, "apply")
    answer = apply(api, f"{DEPLOYMENTS}/podinfo", deployment(replicas=3), force=True)
    assert answer.status == 200 and answer.body["spec"]["replicas"] == 3 and answer.body["metadata"]["generation"] == 2
    fields = owners(answer.body)
    assert owns_replicas(fields[("cronary", "Apply", "")]) and not owns_replicas(fields[("kubectl", "Apply", "")])


def test_applying_the_same_value_shares_ownership(api: ApiClient) -> None:
    write_replicas_as_kubectl(api, "apply")
    answer = apply(api, f"{DEPLOYMENTS}/podinfo", deployment(replicas=2))
    assert answer.status == 200
    assert all(owns_replicas(fields) for fields in owners(answer.body).values())


def test_apply_without_field_manager_is_refused_as_a_real_server_does(api: ApiClient) -> None:
    answer = apply(api, f"{DEPLOYMENTS}/podinfo", deployment(), manager=None)
    assert (answer.status, answer.body["reason"]) == (422, "Invalid")
    assert (
        answer.body["message"]
        == 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch'
    )


@pytest.mark.parametrize(
    "change",
    [
        {"apiVersion": "apps/v1beta2"},
        {"kind": "StatefulSet"},
        {"metadata": {"name": "other"}},
        {"metadata": {"name": "podinfo", "namespace": "prod"}},
    ],
    ids=["api-version", "kind", "name", "namespace"],
)
def test_apply_must_match_the_url(api: ApiClient, change: dict[str, Any]) -> None:
    answer = apply(api, f"{DEPLOYMENTS}/podinfo", {**deployment(), **change})
    assert (answer.status, answer.body["reason"]) == (400, "BadRequest")


def test_apply_accepts_yaml(api: ApiClient) -> None:
    body = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  when: 2026-01-01\n  count: '3'\n"
    answer = call(
        api, "PATCH", f"{CONFIGMAPS}/settings", query={"fieldManager": "cronary"}, body=body, content_type=APPLY
    )
    assert answer.status == 201 and answer.body["data"] == {"when": "2026-01-01", "count": "3"}


def test_apply_to_the_main_resource_ignores_status_and_to_status_only_status(api: ApiClient) -> None:
    created = apply(api, f"{CANARIES}/podinfo", {**canary(), "status": {"phase": "Succeeded"}}).body
    assert "status" not in created
    status = apply(
        api,
        f"{CANARIES}/podinfo/status",
        {**canary(), "spec": {}, "status": {"phase": "Progressing"}},
        "cronary-status",
    ).body
    assert status["status"] == {"phase": "Progressing"} and status["spec"] == canary()["spec"]
    assert ("cronary-status", "Apply", "status") in owners(status)


def test_apply_with_a_stale_resource_version_is_409(api: ApiClient, emulator: KubeEmulator) -> None:
    read = apply(api, f"{CANARIES}/podinfo", canary()).body["metadata"]["resourceVersion"]
    emulator.replace(emulator.get("flagger.app/v1beta1", "Canary", NS, "podinfo"))
    stale = {**canary(), "metadata": {"name": "podinfo", "resourceVersion": read}}
    assert apply(api, f"{CANARIES}/podinfo", stale).status == 409


# -- other patches ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type, body",
    [
        (MERGE, {"metadata": {"labels": {"team": "a"}}, "spec": {"replicas": 5}}),
        (STRATEGIC, {"metadata": {"labels": {"team": "a"}}, "spec": {"replicas": 5}}),
        (
            JSON_PATCH,
            [
                {"op": "add", "path": "/metadata/labels/team", "value": "a"},
                {"op": "replace", "path": "/spec/replicas", "value": 5},
            ],
        ),
    ],
    ids=["merge-patch", "strategic-merge-patch", "json-patch"],
)
def test_patches_change_the_object_and_own_what_they_set(
    api: ApiClient, emulator: KubeEmulator, content_type: str, body: Any
) -> None:
    emulator.create(deployment())
    answer = call(
        api, "PATCH", f"{DEPLOYMENTS}/podinfo", query={"fieldManager": "editor"}, body=body, content_type=content_type
    )
    assert answer.status == 200
    assert (
        answer.body["metadata"]["labels"]["team"],
        answer.body["spec"]["replicas"],
        answer.body["metadata"]["generation"],
    ) == ("a", 5, 2)
    assert owners(answer.body)[("editor", "Update", "")] == {
        "f:metadata": {"f:labels": {"f:team": {}}},
        "f:spec": {"f:replicas": {}},
    }


def test_a_merge_patch_null_removes_a_field(api: ApiClient, emulator: KubeEmulator) -> None:
    emulator.create(configmap("settings", app="web", team="a"))
    answer = call(
        api, "PATCH", f"{CONFIGMAPS}/settings", body={"metadata": {"labels": {"team": None}}}, content_type=MERGE
    )
    assert answer.body["metadata"]["labels"] == {"app": "web"}


def test_an_update_takes_ownership_without_conflict(api: ApiClient) -> None:
    write_replicas_as_kubectl(api, "apply")
    answer = call(
        api,
        "PATCH",
        f"{DEPLOYMENTS}/podinfo",
        query={"fieldManager": "hpa"},
        body={"spec": {"replicas": 4}},
        content_type=MERGE,
    )
    assert answer.status == 200
    fields = owners(answer.body)
    assert owns_replicas(fields[("hpa", "Update", "")]) and not owns_replicas(fields[("kubectl", "Apply", "")])


def test_the_default_field_manager_comes_from_the_user_agent(api: ApiClient, emulator: KubeEmulator) -> None:
    emulator.create(configmap("settings"))
    answer = call(api, "PATCH", f"{CONFIGMAPS}/settings", body={"data": {"k": "w"}}, content_type=MERGE)
    assert ("OpenAPI-Generator", "Update", "") in owners(answer.body)


def test_a_failing_json_patch_test_is_422(api: ApiClient, emulator: KubeEmulator) -> None:
    emulator.create(deployment())
    answer = call(
        api,
        "PATCH",
        f"{DEPLOYMENTS}/podinfo",
        body=[{"op": "test", "path": "/spec/replicas", "value": 9}],
        content_type=JSON_PATCH,
    )
    assert (answer.status, answer.body["reason"]) == (422, "Invalid")


@pytest.mark.parametrize(
    "path, content_type",
    [
        (f"{DEPLOYMENTS}/podinfo", "application/json"),
        (f"{DEPLOYMENTS}/podinfo", "text/plain"),
        (f"{CANARIES}/podinfo", STRATEGIC),
    ],
    ids=["plain-json", "text", "strategic-on-custom-resource"],
)
def test_an_unsupported_patch_type_is_415(api: ApiClient, emulator: KubeEmulator, path: str, content_type: str) -> None:
    emulator.create(deployment())
    emulator.create(canary())
    answer = call(api, "PATCH", path, body=json.dumps({"spec": {}}), content_type=content_type)
    assert (answer.status, answer.body["reason"]) == (415, "UnsupportedMediaType")


def test_force_on_a_non_apply_patch_is_invalid(api: ApiClient, emulator: KubeEmulator) -> None:
    emulator.create(deployment())
    answer = call(
        api, "PATCH", f"{DEPLOYMENTS}/podinfo", query={"force": "true"}, body={"spec": {}}, content_type=MERGE
    )
    assert (answer.status, answer.body["reason"]) == (422, "Invalid")


def test_patch_of_a_missing_object_is_404(api: ApiClient) -> None:
    assert call(api, "PATCH", f"{DEPLOYMENTS}/nope", body={"spec": {}}, content_type=MERGE).status == 404


# -- generation and resourceVersion -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path, patch, bumped",
    [
        ("", {"metadata": {"labels": {"team": "a"}}}, False),
        ("", {"metadata": {"annotations": {"note": "x"}}}, False),
        ("", {"spec": {"replicas": 3}}, True),
        ("", {"spec": {"template": {"spec": {"containers": [{"name": "podinfo", "image": "podinfo:2"}]}}}}, True),
        ("/status", {"status": {"replicas": 2}}, False),
        ("/scale", {"spec": {"replicas": 7}}, True),
    ],
    ids=["label", "annotation", "replicas", "image", "status", "scale"],
)
def test_generation_counts_changes_outside_metadata_and_status(
    api: ApiClient, emulator: KubeEmulator, path: str, patch: dict[str, Any], bumped: bool
) -> None:
    before = emulator.create(deployment())
    answer = call(api, "PATCH", f"{DEPLOYMENTS}/podinfo{path}", body=patch, content_type=MERGE)
    assert answer.status == 200
    after = emulator.get("apps/v1", "Deployment", NS, "podinfo")
    assert after["metadata"]["generation"] == (2 if bumped else 1)
    assert int(after["metadata"]["resourceVersion"]) > int(before["metadata"]["resourceVersion"])


def test_resource_version_is_one_counter_across_kinds(api: ApiClient) -> None:
    versions = [
        call(api, "POST", CONFIGMAPS, body=configmap("a")).body["metadata"]["resourceVersion"],
        call(api, "POST", CANARIES, body=canary()).body["metadata"]["resourceVersion"],
        call(api, "POST", DEPLOYMENTS, body=deployment()).body["metadata"]["resourceVersion"],
    ]
    assert [int(v) for v in versions] == sorted(int(v) for v in versions) and len(set(versions)) == 3
    assert call(api, "GET", CONFIGMAPS).body["metadata"]["resourceVersion"] == versions[-1]


# -- scale subresource --------------------------------------------------------------------------------------------


def test_scale_shows_the_deployment_as_autoscaling_v1_scale(api: ApiClient, emulator: KubeEmulator) -> None:
    stored = emulator.create({**deployment(replicas=3), "status": {"replicas": 2}})
    scale = client.AppsV1Api(api).read_namespaced_deployment_scale("podinfo", NS)
    assert (scale.api_version, scale.kind, scale.spec.replicas, scale.status.replicas, scale.status.selector) == (
        "autoscaling/v1",
        "Scale",
        3,
        2,
        "app=podinfo",
    )
    assert (scale.metadata.uid, scale.metadata.resource_version) == (
        stored["metadata"]["uid"],
        stored["metadata"]["resourceVersion"],
    )


@pytest.mark.parametrize("how", ["replace", "merge-patch", "apply"])
def test_writing_scale_changes_the_deployment_replicas(api: ApiClient, emulator: KubeEmulator, how: str) -> None:
    emulator.create(deployment(replicas=2))
    apps = client.AppsV1Api(api)
    if how == "replace":
        scale = apps.read_namespaced_deployment_scale("podinfo", NS)
        scale.spec.replicas = 0
        apps.replace_namespaced_deployment_scale("podinfo", NS, scale)
    elif how == "merge-patch":
        answer = call(
            api,
            "PATCH",
            f"{DEPLOYMENTS}/podinfo/scale",
            query={"fieldManager": "cronary"},
            body={"spec": {"replicas": 0}},
            content_type=MERGE,
        )
        assert answer.body["spec"] == {}  # Scale's spec.replicas is omitempty, as on a real server
    else:
        body = {
            "apiVersion": "autoscaling/v1",
            "kind": "Scale",
            "metadata": {"name": "podinfo"},
            "spec": {"replicas": 0},
        }
        conflict = apply(
            api, f"{DEPLOYMENTS}/podinfo/scale", body
        )  # emulator.create() wrote replicas as kubectl-create
        assert (
            conflict.body["message"]
            == 'Apply failed with 1 conflict: conflict with "kubectl-create" using apps/v1: .spec.replicas'
        )
        assert apply(api, f"{DEPLOYMENTS}/podinfo/scale", body, force=True).status == 200
    dep = emulator.get("apps/v1", "Deployment", NS, "podinfo")
    assert (dep["spec"]["replicas"], dep["metadata"]["generation"]) == (0, 2)
    manager = [key for key in owners(dep) if key[2] == "scale"]
    assert len(manager) == 1 and owns_replicas(owners(dep)[manager[0]])


def test_scale_with_a_stale_resource_version_is_409(api: ApiClient, emulator: KubeEmulator) -> None:
    emulator.create(deployment())
    scale = call(api, "GET", f"{DEPLOYMENTS}/podinfo/scale").body
    emulator.replace(emulator.get("apps/v1", "Deployment", NS, "podinfo"))
    answer = call(api, "PUT", f"{DEPLOYMENTS}/podinfo/scale", body={**scale, "spec": {"replicas": 1}})
    assert (answer.status, answer.body["reason"]) == (409, "Conflict")


def test_scale_refuses_negative_replicas(api: ApiClient, emulator: KubeEmulator) -> None:
    emulator.create(deployment())
    answer = call(api, "PATCH", f"{DEPLOYMENTS}/podinfo/scale", body={"spec": {"replicas": -1}}, content_type=MERGE)
    assert (answer.status, answer.body["reason"]) == (422, "Invalid")


# -- custom resources in several versions -------------------------------------------------------------------------

WIDGETS_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {
        "group": "example.com",
        "scope": "Namespaced",
        "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wd"]},
        "versions": [
            {"name": "v1alpha1", "served": False, "storage": False},
            {"name": "v1beta1", "served": True, "storage": False},
            {"name": "v1", "served": True, "storage": True, "subresources": {"status": {}}},
        ],
    },
}
GADGETS_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "gadgets.example.com"},
    "spec": {
        "group": "example.com",
        "scope": "Cluster",
        "names": {"plural": "gadgets", "kind": "Gadget"},
        "versions": [{"name": "v1", "served": True, "storage": True}],
    },
}


def test_a_custom_resource_is_served_in_every_served_version(api: ApiClient, emulator: KubeEmulator) -> None:
    emulator.install_crd(WIDGETS_CRD)
    custom = client.CustomObjectsApi(api)
    custom.create_namespaced_custom_object(
        "example.com",
        "v1beta1",
        NS,
        "widgets",
        {"apiVersion": "example.com/v1beta1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": 1}},
    )
    assert (
        custom.get_namespaced_custom_object("example.com", "v1", NS, "widgets", "w")["apiVersion"] == "example.com/v1"
    )
    for version in ("v1", "v1beta1"):
        items = custom.list_namespaced_custom_object("example.com", version, NS, "widgets")["items"]
        assert [(i["apiVersion"], i["spec"]) for i in items] == [(f"example.com/{version}", {"size": 1})]
    assert emulator.get("example.com/v1beta1", "Widget", NS, "w")["apiVersion"] == "example.com/v1beta1"
    assert call(api, "GET", f"/apis/example.com/v1alpha1/namespaces/{NS}/widgets").status == 404


def test_custom_resource_versions_are_discovered_by_priority(api: ApiClient, emulator: KubeEmulator) -> None:
    emulator.install_crd(WIDGETS_CRD)
    group = {g.name: g for g in client.ApisApi(api).get_api_versions().groups}["example.com"]
    assert [v.version for v in group.versions] == ["v1", "v1beta1"] and group.preferred_version.version == "v1"
    v1 = {r["name"] for r in call(api, "GET", "/apis/example.com/v1").body["resources"]}
    v1beta1 = {r["name"] for r in call(api, "GET", "/apis/example.com/v1beta1").body["resources"]}
    assert (v1, v1beta1) == ({"widgets", "widgets/status"}, {"widgets"})  # the status subresource is per version


def test_a_cluster_scoped_custom_resource(api: ApiClient, emulator: KubeEmulator) -> None:
    emulator.install_crd(GADGETS_CRD)
    created = call(
        api,
        "POST",
        "/apis/example.com/v1/gadgets",
        body={"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "g"}},
    )
    assert created.status == 201 and "namespace" not in created.body["metadata"]
    assert call(api, "GET", "/apis/example.com/v1/gadgets/g").status == 200
    assert call(api, "GET", f"/apis/example.com/v1/namespaces/{NS}/gadgets/g").status == 404


def test_install_crds_from_needs_a_crd(emulator: KubeEmulator, tmp_path: Path) -> None:
    path = tmp_path / "not-a-crd.yaml"
    path.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n")
    with pytest.raises(ValueError, match="no CustomResourceDefinition"):
        emulator.install_crds_from(path)


# -- the clock ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seconds", [0, 90, 30 * 86400], ids=["start", "90s-later", "30-days-later"])
def test_the_date_header_follows_the_emulator_clock(api: ApiClient, emulator: KubeEmulator, seconds: int) -> None:
    emulator.advance(seconds)
    for path in ("/api", CONFIGMAPS, f"{CONFIGMAPS}/missing"):
        assert parsedate_to_datetime(call(api, "GET", path).headers["Date"]) == START + timedelta(seconds=seconds)


def test_written_timestamps_use_the_emulator_clock(api: ApiClient, emulator: KubeEmulator) -> None:
    emulator.now = datetime(2030, 5, 6, 7, 8, 9, tzinfo=timezone(timedelta(hours=2)))
    created = apply(api, f"{CONFIGMAPS}/settings", configmap("settings")).body
    assert created["metadata"]["creationTimestamp"] == "2030-05-06T05:08:09Z"
    assert created["metadata"]["managedFields"][0]["time"] == "2030-05-06T05:08:09Z"


def test_the_clock_must_be_timezone_aware(emulator: KubeEmulator) -> None:
    with pytest.raises(ValueError):
        emulator.now = datetime(2030, 1, 1)


# -- faults ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "status, reason",
    [(500, "InternalError"), (503, "ServiceUnavailable"), (429, "TooManyRequests")],
    ids=["500", "503", "429"],
)
def test_a_fault_answers_once_then_the_request_succeeds(
    api: ApiClient, emulator: KubeEmulator, status: int, reason: str
) -> None:
    emulator.create(configmap("settings"))
    emulator.fail(method="GET", path=r"/configmaps/settings$", status=status)
    with pytest.raises(ApiException) as caught:
        client.CoreV1Api(api).read_namespaced_config_map("settings", NS)
    assert (caught.value.status, status_of(caught.value)["reason"], status_of(caught.value)["kind"]) == (
        status,
        reason,
        "Status",
    )
    assert client.CoreV1Api(api).read_namespaced_config_map("settings", NS).metadata.name == "settings"


def test_a_fault_matches_only_its_method_and_path(api: ApiClient, emulator: KubeEmulator) -> None:
    emulator.create(configmap("settings"))
    emulator.fail(method="PUT", path=r"/configmaps/settings$", status=500, times=2, reason="Custom")
    assert call(api, "GET", f"{CONFIGMAPS}/settings").status == 200
    assert (
        call(api, "GET", f"{CONFIGMAPS}/settings", query={"x": "configmaps/settings"}).status == 200
    )  # the query is not part of the path
    assert [
        call(api, "PUT", f"{CONFIGMAPS}/settings", body=configmap("settings")).body.get("reason") for _ in range(3)
    ] == ["Custom", "Custom", None]


def test_a_raw_answer_is_served_as_given_once_then_the_store_answers_as_strictly_as_ever(
    api: ApiClient, emulator: KubeEmulator
) -> None:
    """`serve_raw` stands in for a broken API server or a proxy: the exact bytes, status and content type, for the
    matching requests only; everything else (and the next request) is the emulator's strict answer."""
    emulator.create(configmap("settings"))
    emulator.serve_raw(b"<html>502 Bad Gateway</html>", path=r"/configmaps$", status=502, content_type="text/html")
    emulator.serve_raw(b"[1, 2]", path=r"/configmaps$")
    method, url, headers, _, _ = api.param_serialize("GET", CONFIGMAPS, header_params={"Accept": "application/json"})
    first = api.call_api(method, url, header_params=headers)
    assert (first.status, first.read(), first.headers["Content-Type"]) == (
        502,
        b"<html>502 Bad Gateway</html>",
        "text/html",
    )
    second = api.call_api(method, url, header_params=headers)
    assert (second.status, second.read()) == (200, b"[1, 2]")
    listed = call(api, "GET", CONFIGMAPS)
    assert listed.status == 200 and [i["metadata"]["name"] for i in listed.body["items"]] == ["settings"]
    assert call(api, "GET", f"{CONFIGMAPS}/missing").status == 404  # unmatched paths never saw the raw answers
    assert [r.status_code for r in emulator.requests] == [502, 200, 200, 404]


def test_faults_are_used_in_the_order_added(api: ApiClient, emulator: KubeEmulator) -> None:
    emulator.fail(path="/api", status=500)
    emulator.fail(path="/api", status=503)
    assert [call(api, "GET", "/api").status for _ in range(3)] == [500, 503, 200]


def test_a_delay_past_the_client_timeout_is_a_timeout_and_the_write_still_lands(
    api: ApiClient, emulator: KubeEmulator
) -> None:
    emulator.create(configmap("settings"))
    emulator.fail(method="PATCH", status=0, delay=0.3)
    with pytest.raises(urllib3.exceptions.ReadTimeoutError):
        client.CoreV1Api(api).patch_namespaced_config_map("settings", NS, {"data": {"k": "late"}}, _request_timeout=0.1)
    deadline = time.monotonic() + 5
    while not any(r.method == "PATCH" for r in emulator.requests) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert emulator.get("v1", "ConfigMap", NS, "settings")["data"] == {
        "k": "late"
    }  # as on a real server: the client gave up, the write did not


def test_a_delay_without_status_then_answers_normally(api: ApiClient, emulator: KubeEmulator) -> None:
    emulator.fail(method="GET", path="^/api$", status=0, delay=0.05)
    started = time.monotonic()
    assert call(api, "GET", "/api").status == 200
    assert time.monotonic() - started >= 0.05


def test_on_request_runs_before_the_request_is_handled(api: ApiClient, emulator: KubeEmulator) -> None:
    stored = emulator.create(canary())
    seen: list[RecordedRequest] = []

    def another_writer_first(request: RecordedRequest) -> None:
        seen.append(request)
        if request.method == "PUT":
            emulator.replace(
                {**emulator.get("flagger.app/v1beta1", "Canary", NS, "podinfo"), "status": {"phase": "Progressing"}}
            )

    emulator.on_request(another_writer_first)
    answer = call(api, "PUT", f"{CANARIES}/podinfo/status", body={**stored, "status": {"phase": "Succeeded"}})
    emulator.on_request(None)
    assert answer.status == 409 and seen[0].status_code == 0


def test_a_failing_callback_is_answered_500_and_kept(api: ApiClient, emulator: KubeEmulator) -> None:
    emulator.on_request(lambda request: 1 / 0)
    assert call(api, "GET", "/api").status == 500
    assert isinstance(emulator.errors[0], ZeroDivisionError)
    emulator.errors.clear()


# -- the request log ----------------------------------------------------------------------------------------------


def test_the_request_log_records_what_an_authorizer_checks(api: ApiClient, emulator: KubeEmulator) -> None:
    stored = emulator.create(canary())
    emulator.create(deployment())
    call(api, "GET", "/apis/flagger.app/v1beta1")
    call(api, "GET", CANARIES, query={"labelSelector": "app=x"})
    call(api, "GET", f"{CANARIES}/podinfo")
    call(api, "PUT", f"{CANARIES}/podinfo/status", body={**stored, "status": {"phase": "Initialized"}})
    apply(
        api,
        "/apis/split.smi-spec.io/v1alpha1/namespaces/test/trafficsplits/podinfo",
        {
            "apiVersion": "split.smi-spec.io/v1alpha1",
            "kind": "TrafficSplit",
            "metadata": {"name": "podinfo"},
            "spec": {},
        },
    )
    apply(
        api,
        "/apis/split.smi-spec.io/v1alpha1/namespaces/test/trafficsplits/podinfo",
        {
            "apiVersion": "split.smi-spec.io/v1alpha1",
            "kind": "TrafficSplit",
            "metadata": {"name": "podinfo"},
            "spec": {},
        },
    )
    call(
        api,
        "PATCH",
        f"{DEPLOYMENTS}/podinfo/scale",
        query={"fieldManager": "cronary"},
        body={"spec": {"replicas": 1}},
        content_type=MERGE,
    )
    call(
        api,
        "POST",
        "/api/v1/namespaces/test/events",
        body={"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e1"}},
    )
    call(api, "DELETE", f"{CONFIGMAPS}/missing")
    assert [
        (r.verb, r.api_group, r.resource, r.subresource, r.namespace, r.name, r.created, r.status_code)
        for r in emulator.requests
    ] == [
        (None, None, None, None, None, None, False, 200),
        ("list", "flagger.app", "canaries", None, NS, None, False, 200),
        ("get", "flagger.app", "canaries", None, NS, "podinfo", False, 200),
        ("update", "flagger.app", "canaries", "status", NS, "podinfo", False, 200),
        ("patch", "split.smi-spec.io", "trafficsplits", None, NS, "podinfo", True, 201),
        ("patch", "split.smi-spec.io", "trafficsplits", None, NS, "podinfo", False, 200),
        ("patch", "apps", "deployments", "scale", NS, "podinfo", False, 200),
        ("create", "", "events", None, NS, None, False, 201),
        ("delete", "", "configmaps", None, NS, "missing", False, 404),
    ]
    assert emulator.requests[1].query == {"labelSelector": "app=x"}
    assert (emulator.requests[4].content_type, emulator.requests[4].field_manager) == (APPLY, "cronary")
    emulator.clear_requests()
    assert emulator.requests == []


# -- the Deployment controller --------------------------------------------------------------------------------------


def test_complete_rollouts_finishes_unfinished_rollouts_once(emulator: KubeEmulator) -> None:
    emulator.create(deployment(replicas=3))
    emulator.complete_rollouts()
    dep = emulator.get("apps/v1", "Deployment", NS, "podinfo")
    assert dep["status"] == {
        "observedGeneration": 1,
        "replicas": 3,
        "updatedReplicas": 3,
        "readyReplicas": 3,
        "availableReplicas": 3,
        "conditions": [
            {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
            {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"},
        ],
    }
    emulator.complete_rollouts()
    assert (
        emulator.get("apps/v1", "Deployment", NS, "podinfo")["metadata"]["resourceVersion"]
        == dep["metadata"]["resourceVersion"]
    )


@pytest.mark.parametrize("deadline, expires_after", [(None, 600), (60, 60)], ids=["default-600s", "60s"])
def test_a_held_rollout_shows_progress_until_its_deadline(
    emulator: KubeEmulator, deadline: int | None, expires_after: int
) -> None:
    dep = deployment()
    if deadline:
        dep["spec"]["progressDeadlineSeconds"] = deadline
    emulator.create(dep)
    emulator.complete_rollouts()
    changed = emulator.get("apps/v1", "Deployment", NS, "podinfo")
    changed["spec"]["template"]["spec"]["containers"][0]["image"] = "podinfo:2"
    emulator.replace(changed)
    emulator.complete_rollouts(hold=[(NS, "podinfo")])

    def conditions() -> dict[str, tuple[str, str]]:
        status = emulator.get("apps/v1", "Deployment", NS, "podinfo")["status"]
        assert (status["observedGeneration"], status["updatedReplicas"], status["availableReplicas"]) == (2, 0, 0)
        return {c["type"]: (c["status"], c["reason"]) for c in status["conditions"]}

    assert conditions() == {
        "Available": ("False", "MinimumReplicasUnavailable"),
        "Progressing": ("True", "ReplicaSetUpdated"),
    }
    emulator.advance(expires_after)
    emulator.complete_rollouts(hold=[(NS, "podinfo")])
    assert conditions()["Progressing"] == ("True", "ReplicaSetUpdated")
    emulator.advance(1)
    emulator.complete_rollouts(hold=[(NS, "podinfo")])
    assert conditions()["Progressing"] == ("False", "ProgressDeadlineExceeded")
    emulator.complete_rollouts()
    assert emulator.get("apps/v1", "Deployment", NS, "podinfo")["status"]["updatedReplicas"] == 2


# -- direct store access --------------------------------------------------------------------------------------------


def test_replace_is_an_unconditional_write_that_always_bumps(emulator: KubeEmulator) -> None:
    stored = emulator.create(canary())
    replaced = emulator.replace(stored)
    assert int(replaced["metadata"]["resourceVersion"]) == int(stored["metadata"]["resourceVersion"]) + 1
    assert replaced["metadata"]["uid"] == stored["metadata"]["uid"] and replaced["metadata"]["generation"] == 1


def test_direct_access_checks_kinds_and_existence(emulator: KubeEmulator) -> None:
    with pytest.raises(ValueError):
        emulator.get("autoscaling/v2beta1", "HorizontalPodAutoscaler", NS, "x")
    with pytest.raises(ValueError):
        emulator.get("example.com/v1", "Widget", NS, "x")
    emulator.create(configmap("settings"))
    with pytest.raises(ApiError) as caught:
        emulator.create(configmap("settings"))
    assert caught.value.code == 409
    emulator.delete("v1", "ConfigMap", NS, "settings")
    assert emulator.list("v1", "ConfigMap") == []
    with pytest.raises(ApiError):
        emulator.delete("v1", "ConfigMap", NS, "settings")


def test_namespaces_are_cluster_scoped(api: ApiClient, emulator: KubeEmulator) -> None:
    emulator.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "cronary"}})
    got = client.CoreV1Api(api).read_namespace("cronary")
    assert (got.metadata.namespace, got.status.phase, got.metadata.labels) == (
        None,
        "Active",
        {"kubernetes.io/metadata.name": "cronary"},
    )
    assert emulator.get("v1", "Namespace", None, "cronary") is not None


# -- commits and snapshots ------------------------------------------------------------------------------------------


def test_on_commit_sees_every_change_in_order_and_no_noop(api: ApiClient, emulator: KubeEmulator) -> None:
    seen: list[tuple[str, str, Any]] = []
    emulator.on_commit(
        lambda commit: seen.append(
            (commit.plural, commit.name, commit.obj and commit.obj["metadata"]["resourceVersion"])
        )
    )
    created = apply(api, f"{CONFIGMAPS}/settings", {**configmap("settings"), "data": {"a": "1"}})
    apply(api, f"{CONFIGMAPS}/settings", {**configmap("settings"), "data": {"a": "1"}})  # changes nothing: no commit
    emulator.create(deployment())
    emulator.delete("v1", "ConfigMap", NS, "settings")
    emulator.on_commit(None)
    emulator.create(configmap("after"))
    assert [(plural, name) for plural, name, _ in seen] == [
        ("configmaps", "settings"),
        ("deployments", "podinfo"),
        ("configmaps", "settings"),
    ]
    assert seen[0][2] == created.body["metadata"]["resourceVersion"] and seen[-1][2] is None  # as stored; None: deleted


def test_restore_puts_back_objects_versions_clock_rollouts_and_faults(api: ApiClient, emulator: KubeEmulator) -> None:
    emulator.create(deployment())
    emulator.fail(method="GET", path="/configmaps$", status=503)
    snapshot = emulator.snapshot()
    stored = emulator.get("apps/v1", "Deployment", NS, "podinfo")
    assert call(api, "GET", CONFIGMAPS).status == 503  # the fault is used up...
    emulator.advance(60)
    emulator.create(configmap("later"))
    emulator.complete_rollouts()
    emulator.restore(snapshot)
    assert emulator.now == START and emulator.list("v1", "ConfigMap") == []
    assert emulator.get("apps/v1", "Deployment", NS, "podinfo") == stored  # status, resourceVersion and all
    assert call(api, "GET", CONFIGMAPS).status == 503  # ...and armed again
    created = emulator.create(configmap("again"))
    assert int(created["metadata"]["resourceVersion"]) == int(stored["metadata"]["resourceVersion"]) + 1
    emulator.complete_rollouts(hold=[(NS, "podinfo")])
    progressing = emulator.get("apps/v1", "Deployment", NS, "podinfo")["status"]["conditions"][1]
    assert progressing["lastUpdateTime"] == "2026-03-01T12:00:00Z"  # the rollout started before the snapshot


# -- lifecycle -----------------------------------------------------------------------------------------------------


def test_a_kubeconfig_for_the_official_loader(emulator: KubeEmulator, tmp_path: Path) -> None:
    configuration = client.Configuration()
    config.load_kube_config(
        config_file=emulator.write_kubeconfig(tmp_path / "kubeconfig"), client_configuration=configuration
    )
    assert configuration.host == emulator.url
    with ApiClient(configuration) as api:
        client.CoreV1Api(api).create_namespaced_config_map(NS, {"metadata": {"name": "settings"}})
    assert emulator.get("v1", "ConfigMap", NS, "settings") is not None


def test_stop_leaves_no_threads_and_no_port(tmp_path: Path) -> None:
    before = {t for t in threading.enumerate() if t.name.startswith("kube-emulator")}
    emulator = KubeEmulator(now=START).start()
    host, port = emulator.url.removeprefix("http://").split(":")
    idle = emulator.api_client()  # a kept-alive connection
    assert call(idle, "GET", "/api").status == 200
    emulator.fail(path="/apis", status=0, delay=30)  # and a request stuck in a delay
    outcome: list[BaseException] = []

    def stuck_request() -> None:
        try:
            call(emulator.api_client(), "GET", "/apis")
        except Exception as err:
            outcome.append(err)

    stuck = threading.Thread(target=stuck_request, daemon=True)
    stuck.start()
    deadline = time.monotonic() + 5
    while len([t for t in threading.enumerate() if t.name == "kube-emulator-conn"]) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    started = time.monotonic()
    emulator.stop()
    assert time.monotonic() - started < 5
    assert {t for t in threading.enumerate() if t.name.startswith("kube-emulator")} == before
    with pytest.raises(OSError):
        socket.create_connection((host, int(port)), timeout=1).close()
    stuck.join(5)
    assert not stuck.is_alive() and outcome  # the stuck client saw its connection close


# -- the garbage collector ------------------------------------------------------------------------------------------
def _owned(obj: dict[str, Any], owner: dict[str, Any], uid: str | None = None) -> dict[str, Any]:
    ref = {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": uid or owner["metadata"]["uid"],
        "controller": True,
    }
    return {**obj, "metadata": {**obj["metadata"], "ownerReferences": [ref]}}


def test_the_garbage_collector_keeps_what_a_live_owner_owns(emulator: KubeEmulator) -> None:
    owner = emulator.create(canary())
    emulator.create(_owned(deployment("podinfo-primary"), owner))
    emulator.create(configmap("unowned"))
    assert emulator.collect_garbage() == []
    assert emulator.get("apps/v1", "Deployment", NS, "podinfo-primary") is not None


@pytest.mark.parametrize(
    "why",
    [
        pytest.param("uid", id="an-owner-of-that-name-with-another-uid"),
        pytest.param("gone", id="an-owner-that-was-deleted"),
    ],
)
def test_the_garbage_collector_deletes_dependents_of_an_absent_owner_and_theirs(
    emulator: KubeEmulator, why: str
) -> None:
    owner = emulator.create(canary())
    made_up = "800e4ad3-cf7c-5002-b97f-e5cf46fbd0b0" if why == "uid" else None
    primary = emulator.create(_owned(deployment("podinfo-primary"), owner, made_up))
    emulator.create(_owned(configmap("podinfo-config-primary"), primary))  # owned by the dependent: goes next
    if why == "gone":
        emulator.delete("flagger.app/v1beta1", "Canary", NS, "podinfo")
    assert emulator.collect_garbage() == [
        ("Deployment", NS, "podinfo-primary"),
        ("ConfigMap", NS, "podinfo-config-primary"),
    ]
    assert emulator.get("v1", "ConfigMap", NS, "podinfo-config-primary") is None
