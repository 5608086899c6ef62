"""Every object cronary renders is one the API server would accept.

* Deployment, Service, HorizontalPodAutoscaler, ConfigMap and Scale pass the official Kubernetes JSON schema
  (`kubernetes_validate`, strict, the newest Kubernetes version it ships), plus the Service port rules the
  schema leaves out.
* The TrafficSplit is a kind and version the SMI adapter serves, and passes cronary's SMI schemas
  (fixtures/schemas/trafficsplit-*.json).
* The printed Canary (the last document) passes the Flagger CRD schema of its apiVersion, and nothing in it
  would be pruned by that CRD.

The seed rollout is rendered through the real `cronary render` at each phase; variants the seed does not reach
(v1beta1, named targetPort, port discovery, headless, every HPA version, tracked configs) go through the engine.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cronjob.cli import main
from harness.schemas import (
    K8S_VERSION,
    SEED,
    SEED_METRICS,
    SMI_ADAPTER,
    Snapshot,
    canary_crd,
    crd_errors,
    crd_versions,
    dump_yaml_all,
    load_yaml,
    load_yaml_all,
    play,
    pruned_fields,
    trafficsplit_errors,
    validate_k8s,
)

K8S_KINDS = {"Deployment", "Service", "HorizontalPodAutoscaler", "ConfigMap", "Scale"}
SEED_CANARY = load_yaml(SEED / "podinfo-canary.yaml")
SEED_CLUSTER = load_yaml_all(SEED / "cluster.yaml")

PROVIDERS = {"smi:istio": "v1alpha1", "smi:v1alpha2": "v1alpha2", "smi:v1alpha3": "v1alpha3"}

# Points of the seed rollout, by the phase the tick starts from (what `cronary render` is given).
POINTS: dict[str, Callable[[Snapshot], bool]] = {
    "fresh-cluster": lambda s: s.phase_before == "",
    "initializing": lambda s: s.phase_before == "Initializing",
    "initialized": lambda s: s.phase_before == "Initialized",
    "analysis-start": lambda s: s.phase_before == "Progressing" and s.canary["status"]["canaryWeight"] == 0,
    "mid-analysis": lambda s: s.phase_before == "Progressing" and s.canary["status"]["canaryWeight"] == 30,
    "promote": lambda s: s.phase_before == "Progressing" and s.phase_after == "Promoting",
    "promoting": lambda s: s.phase_before == "Promoting",
    "finalising": lambda s: s.phase_before == "Finalising",
}


@pytest.fixture(scope="module")
def seed_snapshots() -> dict[str, list[Snapshot]]:
    return {provider: list(play(SEED_CANARY, SEED_CLUSTER, mesh_provider=provider)) for provider in PROVIDERS}


def _snapshot(snapshots: list[Snapshot], point: str) -> Snapshot:
    found = [s for s in snapshots if POINTS[point](s)]
    assert found, (
        f"the seed rollout never reaches {point!r}: {[(s.tick, s.phase_before, s.phase_after) for s in snapshots]}"
    )
    return found[0]


def _render(tmp_path: Path, snap: Snapshot, provider: str, output: str = "json") -> list[dict[str, Any]]:
    """`cronary render` of the tick the snapshot starts; the documents it prints."""
    canary_file, cluster_file, metrics_file = (
        tmp_path / "canary.yaml",
        tmp_path / "cluster.yaml",
        tmp_path / "metrics.yaml",
    )
    canary_file.write_text(dump_yaml_all([snap.canary]))
    cluster_file.write_text(dump_yaml_all(snap.cluster))
    metrics_file.write_text(dump_yaml_all([SEED_METRICS]))
    args = [
        "render",
        str(canary_file),
        "--cluster",
        str(cluster_file),
        "--metrics",
        str(metrics_file),
        "--now",
        snap.now_text,
        "--mesh-provider",
        provider,
        "-o",
        output,
    ]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    if output == "json":
        listing = json.loads(result.stdout)
        assert listing["kind"] == "List"
        docs = listing["items"]
    else:
        docs = [d for d in load_yaml_all_text(result.stdout)]
    assert docs and docs[-1]["kind"] == "Canary", "the Canary must be the last document"
    assert docs[-1]["status"]["phase"] == snap.phase_after, "render must decide what the simulated tick decided"
    return docs


def load_yaml_all_text(text: str) -> list[Any]:
    from ruamel.yaml import YAML

    return [d for d in YAML(typ="safe", pure=True).load_all(text) if d is not None]


def _check_kubernetes(obj: Mapping[str, Any]) -> None:
    try:
        validate_k8s(obj)
    except AssertionError as err:  # the Service port rules
        pytest.fail(str(err))
    except Exception as err:  # kubernetes_validate.ValidationError names the failing path
        path = ".".join(str(p) for p in getattr(err, "absolute_path", ()))
        pytest.fail(f"{obj['kind']} {obj['metadata'].get('name')}: {path}: {getattr(err, 'message', err)}")


def _check_trafficsplit(obj: Mapping[str, Any], version: str) -> None:
    assert obj["apiVersion"] == f"split.smi-spec.io/{version}"
    errors = trafficsplit_errors(obj)
    assert not errors, f"TrafficSplit {version}: {errors}"
    weights = [b["weight"] for b in obj["spec"]["backends"]]
    assert sum(int(w) for w in weights) == 100


def _check_canary(doc: Mapping[str, Any]) -> None:
    """The spec against the Flagger CRD of its apiVersion; the status against today's (v1.44.0) status schema,
    because cronary writes today's phases (Initializing, Promoting, …) for v1alpha3 Canaries too — Flagger
    0.14.0's CRD enum knows only five of them, and cronary's own CRD serves v1alpha3 with today's status."""
    without_status = {k: v for k, v in doc.items() if k != "status"}
    errors = crd_errors(canary_crd(doc["apiVersion"]), without_status)
    assert not errors, f"{doc['apiVersion']} Canary rejected by the Flagger CRD: {errors}"
    today = {
        **without_status,
        "apiVersion": "flagger.app/v1beta1",
        "spec": _as_v1beta1_spec(doc["spec"]),
        "status": doc.get("status", {}),
    }
    errors = crd_errors(canary_crd("flagger.app/v1beta1"), today)
    assert not errors, f"status rejected by Flagger v1.44.0's status schema: {errors}"


def _as_v1beta1_spec(spec: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(spec)
    if "canaryAnalysis" in out:
        out["analysis"] = out.pop("canaryAnalysis")
    return out


# cronary's own status field: Flagger's v1.44.0 CRD prunes it; cronary's CRD declares it, and without it the
# engine falls back to lastTransitionTime (see test_pruned_last_decision_time_still_allows_one_step_per_interval).
CRONARY_STATUS_FIELDS = {"status.lastDecisionTime"}


def _check_not_pruned(doc: Mapping[str, Any]) -> None:
    crd = canary_crd(doc["apiVersion"])
    pruned = set(pruned_fields(crd, doc)) - CRONARY_STATUS_FIELDS
    assert not pruned, f"the Flagger CRD for {doc['apiVersion']} would prune {pruned} when status is written"


# ---------------------------------------------------------------------------------------------- the seed, via the CLI
POINT_IDS = list(POINTS)


def test_kubernetes_validate_version() -> None:
    # The brief asks for 1.30.0 or the newest version kubernetes-validate ships; the newest is used.
    assert tuple(int(x) for x in K8S_VERSION.split(".")[:2]) >= (1, 30)


@pytest.mark.parametrize("provider", list(PROVIDERS))
@pytest.mark.parametrize("point", POINT_IDS)
def test_cli_render_objects_pass_kubernetes_schemas(
    tmp_path: Path, seed_snapshots: dict[str, list[Snapshot]], provider: str, point: str
) -> None:
    docs = _render(tmp_path, _snapshot(seed_snapshots[provider], point), provider)
    kinds = {d["kind"] for d in docs[:-1]}
    assert kinds <= K8S_KINDS | {"TrafficSplit"}, f"unexpected kinds {kinds - K8S_KINDS}"
    for obj in docs[:-1]:
        if obj["kind"] in K8S_KINDS:
            _check_kubernetes(obj)


@pytest.mark.parametrize("provider", list(PROVIDERS))
@pytest.mark.parametrize("point", [p for p in POINT_IDS if p not in ("fresh-cluster",)])
def test_cli_render_trafficsplit_passes_smi_schema(
    tmp_path: Path, seed_snapshots: dict[str, list[Snapshot]], provider: str, point: str
) -> None:
    docs = _render(tmp_path, _snapshot(seed_snapshots[provider], point), provider)
    splits = [d for d in docs if d["kind"] == "TrafficSplit"]
    assert len(splits) == 1, "every tick after initialization renders exactly one TrafficSplit"
    _check_trafficsplit(splits[0], PROVIDERS[provider])


@pytest.mark.parametrize("point", POINT_IDS)
def test_cli_render_printed_canary_passes_flagger_crd(
    tmp_path: Path, seed_snapshots: dict[str, list[Snapshot]], point: str
) -> None:
    """The seed is `flagger.app/v1alpha3`: its printed status must be one Flagger 0.14.0's CRD accepts."""
    docs = _render(tmp_path, _snapshot(seed_snapshots["smi:istio"], point), "smi:istio")
    _check_canary(docs[-1])
    _check_not_pruned(docs[-1])


def test_cli_render_yaml_and_json_agree(tmp_path: Path, seed_snapshots: dict[str, list[Snapshot]]) -> None:
    snap = _snapshot(seed_snapshots["smi:istio"], "mid-analysis")
    (tmp_path / "j").mkdir()
    (tmp_path / "y").mkdir()
    assert _render(tmp_path / "j", snap, "smi:istio", "json") == _render(tmp_path / "y", snap, "smi:istio", "yaml")


def test_trafficsplit_v1alpha1_is_served_by_the_smi_adapter_crd(
    tmp_path: Path, seed_snapshots: dict[str, list[Snapshot]]
) -> None:
    versions = crd_versions(SMI_ADAPTER, "TrafficSplit")
    docs = _render(tmp_path, _snapshot(seed_snapshots["smi:istio"], "mid-analysis"), "smi:istio")
    split = next(d for d in docs if d["kind"] == "TrafficSplit")
    group, version = split["apiVersion"].split("/")
    served = versions.get(version)
    assert served is not None and served.served, (
        f"{split['apiVersion']} is not served by {SMI_ADAPTER.name}: {sorted(versions)}"
    )
    assert (group, split["kind"]) == (served.group, served.kind)
    assert served.schema is None  # the adapter CRD declares no schema: cronary's own schema is the only check
    adapter = next(d for d in load_yaml_all(SMI_ADAPTER) if d.get("kind") == "CustomResourceDefinition")
    assert adapter["spec"]["scope"] == "Namespaced" and split["metadata"].get("namespace") == "test"
    # The gateways annotation the adapter reads for the seed's `smi:istio` with gateways set.
    assert json.loads(
        split["metadata"]["annotations"]["VirtualService.v1alpha3.networking.istio.io/spec.gateways"]
    ) == ["public-gateway.istio-system.svc.cluster.local"]
    assert split["spec"]["service"] == "app.example.com"
    # the tick that starts at canary weight 30 advances to 40
    assert [b["weight"] for b in split["spec"]["backends"]] == ["40", "60"]


@pytest.mark.parametrize("version", ["v1alpha1", "v1alpha2", "v1alpha3"])
def test_smi_schemas_accept_and_reject_what_the_spec_says(version: str) -> None:
    def split(weights: list[Any], **spec_extra: Any) -> dict[str, Any]:
        return {
            "apiVersion": f"split.smi-spec.io/{version}",
            "kind": "TrafficSplit",
            "metadata": {"name": "podinfo", "namespace": "test"},
            "spec": {
                "service": "podinfo",
                "backends": [{"service": f"b{i}", "weight": w} for i, w in enumerate(weights)],
                **spec_extra,
            },
        }

    assert trafficsplit_errors(split([30, 70])) == []
    quantity_ok = not trafficsplit_errors(split(["30", "500m"]))
    assert quantity_ok == (version == "v1alpha1"), "only v1alpha1 weights are Quantity strings"
    assert trafficsplit_errors(split([-1, 101]))
    assert trafficsplit_errors(split(["abc", 1]))
    no_service = split([50, 50])
    del no_service["spec"]["service"]
    assert trafficsplit_errors(no_service)
    no_weight = split([50])
    del no_weight["spec"]["backends"][0]["weight"]
    assert trafficsplit_errors(no_weight)
    no_backend_service = split([50])
    del no_backend_service["spec"]["backends"][0]["service"]
    assert trafficsplit_errors(no_backend_service)


# ---------------------------------------------------------------------------------------------- every tick, via the engine
def _check_rollout(
    snapshots: list[Snapshot], split_version: str | None, *, expect_kinds: set[str] | None = None
) -> set[str]:
    assert snapshots[-1].phase_after == "Succeeded", [(s.tick, s.phase_before, s.phase_after) for s in snapshots]
    seen: set[str] = set()
    for snap in snapshots:
        for obj in snap.objects:
            seen.add(obj["kind"])
            if obj["kind"] == "TrafficSplit":
                _check_trafficsplit(obj, split_version or "")
            else:
                assert obj["kind"] in K8S_KINDS, obj["kind"]
                _check_kubernetes(obj)
    if expect_kinds is not None:
        assert expect_kinds <= seen, f"never rendered {expect_kinds - seen}"
    return seen


@pytest.mark.parametrize("provider", list(PROVIDERS))
def test_every_tick_of_the_seed_rollout(seed_snapshots: dict[str, list[Snapshot]], provider: str) -> None:
    _check_rollout(
        seed_snapshots[provider],
        PROVIDERS[provider],
        expect_kinds={"Deployment", "Service", "HorizontalPodAutoscaler", "Scale", "TrafficSplit"},
    )


def test_every_tick_of_the_seed_prints_a_canary_the_crd_accepts(seed_snapshots: dict[str, list[Snapshot]]) -> None:
    """Every status the seed (v1alpha3) goes through, against Flagger 0.14.0's CRD; all failures listed at once."""
    problems = {}
    for snap in seed_snapshots["smi:istio"]:
        try:
            _check_canary(snap.status_doc)
        except AssertionError as err:
            problems[f"tick {snap.tick} ({snap.phase_before or '(new)'} -> {snap.phase_after})"] = str(err)
    assert not problems, problems


def _v1beta1(source: Mapping[str, Any], **service: Any) -> dict[str, Any]:
    doc = copy.deepcopy(dict(source))
    doc["apiVersion"] = "flagger.app/v1beta1"
    doc["spec"]["analysis"] = doc["spec"].pop("canaryAnalysis")
    doc["spec"]["service"].update(service)
    return doc


def _target(cluster: list[dict[str, Any]]) -> dict[str, Any]:
    return next(o for o in cluster if o["kind"] == "Deployment" and o["metadata"]["name"] == "podinfo")


def _hpa(cluster: list[dict[str, Any]]) -> dict[str, Any]:
    return next(o for o in cluster if o["kind"] == "HorizontalPodAutoscaler")


def _v1beta1_target_port_name() -> tuple[dict[str, Any], list[dict[str, Any]], str | None]:
    doc = _v1beta1(
        SEED_CANARY,
        name="podinfo-svc",
        port=80,
        targetPort="http",
        portName="http-web",
        appProtocol="http",
        apex={"labels": {"tier": "apex"}, "annotations": {"example.com/apex": "yes"}},
        primary={"labels": {"tier": "primary"}},
        canary={"annotations": {"example.com/canary": "yes"}},
    )
    doc["spec"]["provider"] = "smi:v1alpha3"
    return doc, copy.deepcopy(SEED_CLUSTER), None


def _v1beta1_mesh_flag() -> tuple[dict[str, Any], list[dict[str, Any]], str | None]:
    doc = _v1beta1(SEED_CANARY)
    doc["spec"]["analysis"]["stepWeights"] = [5, 25, 50]
    del doc["spec"]["analysis"]["stepWeight"], doc["spec"]["analysis"]["maxWeight"]
    doc["spec"]["analysis"]["stepWeightPromotion"] = 50
    return doc, copy.deepcopy(SEED_CLUSTER), "smi:v1alpha1:istio"


def _port_discovery() -> tuple[dict[str, Any], list[dict[str, Any]], str | None]:
    doc = _v1beta1(SEED_CANARY, portDiscovery=True)
    cluster = copy.deepcopy(SEED_CLUSTER)
    pod = _target(cluster)["spec"]["template"]["spec"]
    pod["containers"][0]["ports"].append({"name": "grpc", "containerPort": 9999, "protocol": "TCP"})
    pod["containers"].append(
        {"name": "exporter", "image": "prom/statsd-exporter:v0.26.0", "ports": [{"containerPort": 9102}]}
    )
    pod["containers"].append(
        {
            "name": "istio-proxy",
            "image": "istio/proxyv2:1.22.0",
            "ports": [{"name": "http-envoy-prom", "containerPort": 15090}],
        }
    )
    return doc, cluster, "smi:istio"


def _headless() -> tuple[dict[str, Any], list[dict[str, Any]], str | None]:
    return _v1beta1(SEED_CANARY, headless=True), copy.deepcopy(SEED_CLUSTER), "smi:v1alpha2"


def _hpa_variant(
    api_version: str, spec: dict[str, Any]
) -> Callable[[], tuple[dict[str, Any], list[dict[str, Any]], str | None]]:
    def build() -> tuple[dict[str, Any], list[dict[str, Any]], str | None]:
        doc = copy.deepcopy(SEED_CANARY)
        doc["spec"]["autoscalerRef"]["apiVersion"] = api_version
        cluster = copy.deepcopy(SEED_CLUSTER)
        hpa = _hpa(cluster)
        hpa["apiVersion"] = api_version
        hpa["metadata"]["labels"] = {"app": "podinfo", "kustomize.toolkit.fluxcd.io/name": "apps"}
        hpa["spec"] = {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "podinfo"},
            "minReplicas": 2,
            "maxReplicas": 4,
            **spec,
        }
        return doc, cluster, "smi:istio"

    return build


_V2BETA1_METRICS = [
    {"type": "Resource", "resource": {"name": "cpu", "targetAverageUtilization": 99}},
    {"type": "Resource", "resource": {"name": "memory", "targetAverageValue": "200Mi"}},
    {
        "type": "ContainerResource",
        "containerResource": {"name": "cpu", "container": "podinfod", "targetAverageUtilization": 80},
    },
    {
        "type": "Pods",
        "pods": {
            "metricName": "http_requests",
            "targetAverageValue": "10",
            "selector": {"matchLabels": {"verb": "GET"}},
        },
    },
    {
        "type": "Object",
        "object": {
            "target": {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "name": "main"},
            "metricName": "requests-per-second",
            "targetValue": "2k",
        },
    },
    {
        "type": "Object",
        "object": {
            "target": {"kind": "Service", "name": "podinfo"},
            "metricName": "rps",
            "targetValue": "1",
            "averageValue": "100",
        },
    },
    {
        "type": "External",
        "external": {
            "metricName": "queue_messages_ready",
            "metricSelector": {"matchLabels": {"queue": "worker"}},
            "targetAverageValue": "30",
        },
    },
    {"type": "External", "external": {"metricName": "queue_depth", "targetValue": "100"}},
]
_V2_METRICS = [
    {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 99}}},
    {
        "type": "Pods",
        "pods": {"metric": {"name": "http_requests"}, "target": {"type": "AverageValue", "averageValue": "10"}},
    },
    {
        "type": "Object",
        "object": {
            "describedObject": {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "name": "main"},
            "metric": {"name": "rps"},
            "target": {"type": "Value", "value": "2k"},
        },
    },
    {
        "type": "External",
        "external": {
            "metric": {"name": "queue", "selector": {"matchLabels": {"q": "w"}}},
            "target": {"type": "AverageValue", "averageValue": "30"},
        },
    },
]
_BEHAVIOR = {
    "scaleDown": {
        "stabilizationWindowSeconds": 300,
        "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}],
    },
    "scaleUp": {"selectPolicy": "Max", "policies": [{"type": "Pods", "value": 4, "periodSeconds": 15}]},
}


def _configs() -> tuple[dict[str, Any], list[dict[str, Any]], str | None]:
    doc = copy.deepcopy(SEED_CANARY)
    cluster = copy.deepcopy(SEED_CLUSTER)
    pod = _target(cluster)["spec"]["template"]["spec"]
    container = pod["containers"][0]
    container["envFrom"] = [{"configMapRef": {"name": "podinfo-env"}}, {"secretRef": {"name": "podinfo-secret-env"}}]
    container["env"].append(
        {"name": "COLOR", "valueFrom": {"configMapKeyRef": {"name": "podinfo-config", "key": "color"}}}
    )
    container["env"].append(
        {"name": "OPTIONAL", "valueFrom": {"configMapKeyRef": {"name": "absent", "key": "x", "optional": True}}}
    )
    container["volumeMounts"] = [
        {"name": "config", "mountPath": "/etc/podinfo"},
        {"name": "all", "mountPath": "/etc/all"},
    ]
    pod["volumes"] = [
        {"name": "config", "configMap": {"name": "podinfo-config", "defaultMode": 420}},
        {
            "name": "all",
            "projected": {
                "sources": [{"configMap": {"name": "podinfo-files"}}, {"secret": {"name": "podinfo-secret-env"}}]
            },
        },
    ]
    configmaps = [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": "podinfo-config",
                "namespace": "test",
                "labels": {"app": "podinfo", "kustomize.toolkit.fluxcd.io/name": "apps"},
            },
            "data": {"color": "blue", "app.yaml": "level: info\n"},
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "podinfo-env", "namespace": "test"},
            "data": {"LEVEL": "debug"},
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "podinfo-files", "namespace": "test"},
            "data": {"a.txt": "a"},
            "binaryData": {"b.bin": "AAE="},
        },
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "podinfo-secret-env", "namespace": "test"},
            "type": "Opaque",
            "data": {"TOKEN": "c2VjcmV0"},
        },
    ]
    return doc, [*cluster, *configmaps], "smi:istio"


VARIANTS: dict[str, Callable[[], tuple[dict[str, Any], list[dict[str, Any]], str | None]]] = {
    "v1beta1-targetPort-name-service-name-metadata": _v1beta1_target_port_name,
    "v1beta1-stepWeights-mesh-flag": _v1beta1_mesh_flag,
    "v1beta1-portDiscovery": _port_discovery,
    "v1beta1-headless": _headless,
    "hpa-autoscaling-v2beta1-every-metric-type": _hpa_variant("autoscaling/v2beta1", {"metrics": _V2BETA1_METRICS}),
    "hpa-autoscaling-v2beta2-behavior": _hpa_variant(
        "autoscaling/v2beta2", {"metrics": _V2_METRICS, "behavior": _BEHAVIOR}
    ),
    "hpa-autoscaling-v2": _hpa_variant("autoscaling/v2", {"metrics": _V2_METRICS, "behavior": _BEHAVIOR}),
    "hpa-autoscaling-v1": _hpa_variant("autoscaling/v1", {"targetCPUUtilizationPercentage": 75}),
    "config-tracked-configmaps-and-secret": _configs,
}


def _split_version(doc: Mapping[str, Any], mesh_provider: str | None) -> str:
    from engine.routers.factory import resolve_provider

    ((api_version, _),) = resolve_provider(doc["spec"].get("provider"), mesh_provider).router.kinds
    return api_version.rpartition("/")[2]


@pytest.fixture(scope="module")
def variant_rollouts() -> dict[str, tuple[dict[str, Any], str | None, list[Snapshot]]]:
    out = {}
    for name, build in VARIANTS.items():
        doc, cluster, provider = build()
        out[name] = (doc, provider, list(play(doc, cluster, mesh_provider=provider)))
    return out


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_engine_variant_objects_are_valid(variant_rollouts: dict[str, Any], variant: str) -> None:
    doc, provider, snapshots = variant_rollouts[variant]
    kinds = {"Deployment", "Service", "Scale", "TrafficSplit"}
    if variant.startswith("hpa") or doc["spec"].get("autoscalerRef"):
        kinds.add("HorizontalPodAutoscaler")
    if variant.startswith("config"):
        kinds.add("ConfigMap")
    _check_rollout(snapshots, _split_version(doc, provider), expect_kinds=kinds)


@pytest.mark.parametrize("variant", [v for v in VARIANTS if v.startswith("v1beta1")])
def test_engine_variant_printed_canary_passes_flagger_crd(variant_rollouts: dict[str, Any], variant: str) -> None:
    _, _, snapshots = variant_rollouts[variant]
    problems = {}
    for snap in snapshots:
        errors = crd_errors(canary_crd(snap.status_doc["apiVersion"]), snap.status_doc)
        if errors:
            problems[f"tick {snap.tick} ({snap.phase_before or '(new)'} -> {snap.phase_after})"] = errors
    assert not problems, problems


def test_engine_v1beta1_status_is_kept_by_the_crd(variant_rollouts: dict[str, Any]) -> None:
    """apiextensions v1 prunes undeclared fields: a status field Flagger v1.44.0's CRD does not declare is lost
    when the status is written to a cluster that has that CRD installed."""
    pruned = {}
    for variant in (v for v in VARIANTS if v.startswith("v1beta1")):
        for snap in variant_rollouts[variant][2]:
            fields = (
                set(pruned_fields(canary_crd(snap.status_doc["apiVersion"]), snap.status_doc)) - CRONARY_STATUS_FIELDS
            )
            if fields:
                pruned.setdefault(variant, set()).update(fields)
    assert not pruned, f"the Flagger v1.44.0 CRD would prune {pruned}"


def _last(snapshots: list[Snapshot], kind: str, name: str) -> Mapping[str, Any]:
    found = [o for s in snapshots for o in s.objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert found, f"{kind} {name} never rendered"
    return found[-1]


def test_engine_variant_shapes(variant_rollouts: dict[str, Any]) -> None:
    """Spot checks that the variants exercise what they claim (not a golden test)."""
    _, _, snaps = variant_rollouts["v1beta1-targetPort-name-service-name-metadata"]
    apex = _last(snaps, "Service", "podinfo-svc")
    assert apex["spec"]["ports"][0] == {
        "name": "http-web",
        "protocol": "TCP",
        "port": 80,
        "targetPort": "http",
        "appProtocol": "http",
    }
    assert _last(snaps, "TrafficSplit", "podinfo-svc")["apiVersion"] == "split.smi-spec.io/v1alpha3"

    _, _, snaps = variant_rollouts["v1beta1-portDiscovery"]
    ports = _last(snaps, "Service", "podinfo-canary")["spec"]["ports"]
    assert {p["port"] for p in ports} == {9898, 9999, 9102}

    _, _, snaps = variant_rollouts["v1beta1-headless"]
    assert _last(snaps, "Service", "podinfo")["spec"]["clusterIP"] == "None"

    for variant in ("hpa-autoscaling-v2beta1-every-metric-type", "hpa-autoscaling-v1"):
        _, _, snaps = variant_rollouts[variant]
        hpa = _last(snaps, "HorizontalPodAutoscaler", "podinfo-primary")
        assert hpa["apiVersion"] == "autoscaling/v2"
        assert hpa["spec"]["scaleTargetRef"]["name"] == "podinfo-primary"
        assert "kustomize.toolkit.fluxcd.io/name" not in (hpa["metadata"].get("labels") or {})

    _, _, snaps = variant_rollouts["config-tracked-configmaps-and-secret"]
    names = {o["metadata"]["name"] for s in snaps for o in s.objects if o["kind"] == "ConfigMap"}
    assert names == {"podinfo-config-primary", "podinfo-env-primary", "podinfo-files-primary"}


def test_port_discovery_with_a_port_name_two_containers_share_renders_valid_services() -> None:
    """Two sidecars both naming a port `metrics`: Flagger copies both names into the Services, which the API
    server rejects (duplicate port names). cronary must render valid Services or refuse the canary with an event."""
    doc = _v1beta1(SEED_CANARY, portDiscovery=True)
    cluster = copy.deepcopy(SEED_CLUSTER)
    pod = _target(cluster)["spec"]["template"]["spec"]
    pod["containers"].append({"name": "a", "image": "a:1", "ports": [{"name": "metrics", "containerPort": 8080}]})
    pod["containers"].append({"name": "b", "image": "b:1", "ports": [{"name": "metrics", "containerPort": 8081}]})
    for snap in play(doc, cluster):
        for obj in snap.objects:
            if obj["kind"] == "Service":
                _check_kubernetes(obj)


def test_harness_rejects_invalid_objects() -> None:
    """The validators are not vacuous: an unknown field, a wrong type and a bad port name each fail."""
    import kubernetes_validate

    svc = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "x"},
        "spec": {"ports": [{"port": 80, "name": "http"}]},
    }
    validate_k8s(svc)
    with pytest.raises(kubernetes_validate.ValidationError):
        validate_k8s({**svc, "spec": {**svc["spec"], "selectr": {}}})
    with pytest.raises(kubernetes_validate.ValidationError):
        validate_k8s({**svc, "spec": {"ports": [{"port": "eighty"}]}})
    with pytest.raises(AssertionError):
        validate_k8s({**svc, "spec": {"ports": [{"port": 80, "name": "HTTP_x"}]}})
    with pytest.raises(AssertionError):
        validate_k8s({**svc, "spec": {"ports": [{"port": 80, "name": "http", "targetPort": "http-metrics-long"}]}})
    scale = {"apiVersion": "autoscaling/v1", "kind": "Scale", "metadata": {"name": "x"}, "spec": {"replicas": "two"}}
    with pytest.raises(kubernetes_validate.ValidationError):
        validate_k8s(scale)
    canary = copy.deepcopy(SEED_CANARY)
    canary["status"] = {"phase": "Bogus"}
    assert crd_errors(canary_crd(canary["apiVersion"]), canary)
