"""Schema helpers for tests: Kubernetes JSON schemas, the Flagger Canary CRD schemas, SMI TrafficSplit schemas,
and a way to play the seed rollout tick by tick so every phase's rendered objects can be checked.

Nothing here decides behaviour; it only loads schemas and turns the engine's inputs into snapshots.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures"
SEED = FIXTURES / "seed"
CRDS = FIXTURES / "crds"
SCHEMAS = FIXTURES / "schemas"
BAD = FIXTURES / "bad"

CRD_V1ALPHA3 = CRDS / "flagger-canary-0.14.0.yaml"
CRD_V1BETA1 = CRDS / "flagger-canary-v1.44.0.yaml"
SMI_ADAPTER = CRDS / "smi-istio-adapter-0.14.0.yaml"

# The newest Kubernetes version whose schemas kubernetes-validate ships (1.37.0 with kubernetes-validate 1.37.0).
K8S_VERSION = kubernetes_validate.utils.latest_version()

# Kubernetes' own name rules for the checks the JSON schemas leave out (validation.go: Service ports).
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_IANA_SVC_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")


def load_yaml_all(path: Path | str) -> list[Any]:
    return [d for d in YAML(typ="safe", pure=True).load_all(Path(path).read_text(encoding="utf-8")) if d is not None]


def load_yaml(path: Path | str) -> Any:
    docs = load_yaml_all(path)
    assert len(docs) == 1, f"{path}: expected one document"
    return docs[0]


def dump_yaml_all(docs: list[Any]) -> str:
    import io

    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    buf = io.StringIO()
    yaml.explicit_start = True
    yaml.dump_all([json.loads(json.dumps(d, default=str)) for d in docs], buf)
    return buf.getvalue()


# ---------------------------------------------------------------------------------------------- Kubernetes
def _is_iana_svc_name(value: str) -> bool:
    return (
        1 <= len(value) <= 15
        and bool(_IANA_SVC_NAME.match(value))
        and "--" not in value
        and any(c.isalpha() for c in value)
    )


def service_semantic_errors(svc: Mapping[str, Any]) -> list[str]:
    """What the API server checks on a Service beyond the OpenAPI schema (core/validation validateServicePort)."""
    errors = []
    ports = (svc.get("spec") or {}).get("ports") or []
    names = [p.get("name") for p in ports]
    if len(ports) > 1 and not all(names):
        errors.append("spec.ports: every port must be named when there is more than one")
    for i, port in enumerate(ports):
        name = port.get("name")
        if name and not (len(name) <= 63 and _DNS1123_LABEL.match(name)):
            errors.append(f"spec.ports[{i}].name: not a DNS-1123 label: {name!r}")
        target = port.get("targetPort")
        if isinstance(target, str) and not _is_iana_svc_name(target):
            errors.append(f"spec.ports[{i}].targetPort: not an IANA_SVC_NAME (at most 15 characters): {target!r}")
        if isinstance(target, int) and not 1 <= target <= 65535:
            errors.append(f"spec.ports[{i}].targetPort: out of range: {target}")
        if not isinstance(port.get("port"), int) or not 1 <= port["port"] <= 65535:
            errors.append(f"spec.ports[{i}].port: out of range: {port.get('port')!r}")
    duplicates = {n for n in names if n and names.count(n) > 1}
    if duplicates:
        errors.append(f"spec.ports: duplicate names {sorted(duplicates)}")
    keys = [(p.get("port"), p.get("protocol", "TCP")) for p in ports]
    if len(set(keys)) != len(keys):
        errors.append(f"spec.ports: duplicate port/protocol pairs {keys}")
    return errors


_VALIDATED: set[str] = set()


def validate_k8s(obj: Mapping[str, Any]) -> None:
    """The official Kubernetes JSON schema (strict: unknown fields are errors), plus the Service port rules.

    kubernetes_validate reloads its schema files on every call, so identical objects (most ticks re-render the
    same ones) are validated once.
    """
    text = json.dumps(obj, sort_keys=True)
    if text not in _VALIDATED:
        kubernetes_validate.validate(json.loads(text), K8S_VERSION, strict=True)
        _VALIDATED.add(text)
    if obj.get("kind") == "Service":
        errors = service_semantic_errors(obj)
        assert not errors, f"Service {obj['metadata']['name']}: " + "; ".join(errors)


# ---------------------------------------------------------------------------------------------- CRDs
def _crd_for_kind(path: Path, kind: str) -> Mapping[str, Any]:
    for doc in load_yaml_all(path):
        if (
            isinstance(doc, dict)
            and doc.get("kind") == "CustomResourceDefinition"
            and doc["spec"]["names"]["kind"] == kind
        ):
            return doc
    raise AssertionError(f"{path}: no CRD for kind {kind}")


@dataclass(frozen=True)
class CrdVersion:
    group: str
    kind: str
    version: str
    served: bool
    schema: Mapping[str, Any] | None
    prunes: bool  # apiextensions v1 (or preserveUnknownFields: false): unknown fields are dropped on write


def crd_versions(path: Path, kind: str) -> dict[str, CrdVersion]:
    crd = _crd_for_kind(path, kind)
    spec = crd["spec"]
    v1 = crd["apiVersion"] == "apiextensions.k8s.io/v1"
    prunes = v1 or spec.get("preserveUnknownFields") is False
    shared = ((spec.get("validation") or {}).get("openAPIV3Schema")) if not v1 else None
    versions = spec.get("versions") or [{"name": spec["version"], "served": True}]
    out = {}
    for v in versions:
        schema = (
            ((v.get("schema") or {}).get("openAPIV3Schema"))
            if v1
            else ((v.get("schema") or {}).get("openAPIV3Schema") or shared)
        )
        out[v["name"]] = CrdVersion(
            spec["group"], spec["names"]["kind"], v["name"], bool(v.get("served")), schema, prunes
        )
    return out


@cache
def canary_crd(api_version: str) -> CrdVersion:
    """The Flagger CRD cronary is compatible with for a Canary apiVersion: 0.14.0 for v1alpha3, v1.44.0 for v1beta1."""
    path = CRD_V1ALPHA3 if api_version == "flagger.app/v1alpha3" else CRD_V1BETA1
    return crd_versions(path, "Canary")[api_version.split("/")[1]]


def _openapi_to_jsonschema(node: Any) -> Any:
    """OpenAPI v3 (as CRDs use it) to a JSON schema the validator understands: int-or-string becomes anyOf."""
    if isinstance(node, list):
        return [_openapi_to_jsonschema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {
        k: _openapi_to_jsonschema(v) for k, v in node.items() if not k.startswith("x-kubernetes-") and k != "nullable"
    }
    if node.get("x-kubernetes-int-or-string"):
        out.setdefault("anyOf", [{"type": "integer"}, {"type": "string"}])
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    return out


_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
FORMATS = jsonschema.FormatChecker(formats=())


@FORMATS.checks("date-time")
def _date_time(value: object) -> bool:
    # The API server validates `format: date-time` in CRD schemas (kube-openapi strfmt).
    return not isinstance(value, str) or bool(_DATE_TIME.match(value))


_VALIDATORS: dict[int, jsonschema.protocols.Validator] = {}


def crd_validator(crd: CrdVersion) -> jsonschema.protocols.Validator:
    assert crd.schema is not None, f"{crd.group}/{crd.version} {crd.kind} declares no schema"
    key = id(crd.schema)
    if key not in _VALIDATORS:
        _VALIDATORS[key] = jsonschema.Draft4Validator(_openapi_to_jsonschema(crd.schema), format_checker=FORMATS)
    return _VALIDATORS[key]


def crd_errors(crd: CrdVersion, obj: Mapping[str, Any]) -> list[str]:
    doc = json.loads(json.dumps(obj, default=str))
    return [
        f"{'.'.join(str(p) for p in e.absolute_path) or '(document)'}: {e.message}"
        for e in crd_validator(crd).iter_errors(doc)
    ]


def pruned_fields(crd: CrdVersion, obj: Mapping[str, Any]) -> list[str]:
    """Paths the API server would drop on write (structural-schema pruning), for CRDs that prune."""
    if not crd.prunes or crd.schema is None:
        return []
    found: list[str] = []

    def walk(schema: Mapping[str, Any], value: Any, path: str) -> None:
        if schema.get("x-kubernetes-preserve-unknown-fields"):
            return
        if isinstance(value, dict):
            props = schema.get("properties")
            extra = schema.get("additionalProperties")
            for key, item in value.items():
                here = f"{path}.{key}" if path else str(key)
                if path == "" and key in ("apiVersion", "kind", "metadata"):
                    continue  # ObjectMeta is never pruned by a CRD schema
                if props is not None and key in props:
                    walk(props[key], item, here)
                elif isinstance(extra, dict):
                    walk(extra, item, here)
                elif extra is True:
                    continue
                else:
                    found.append(here)
        elif isinstance(value, list) and isinstance(schema.get("items"), dict):
            for i, item in enumerate(value):
                walk(schema["items"], item, f"{path}[{i}]")

    walk(crd.schema, json.loads(json.dumps(obj, default=str)), "")
    return found


# ---------------------------------------------------------------------------------------------- SMI
@cache
def trafficsplit_schema(version: str) -> Mapping[str, Any]:
    return json.loads((SCHEMAS / f"trafficsplit-{version}.json").read_text(encoding="utf-8"))


def trafficsplit_errors(obj: Mapping[str, Any]) -> list[str]:
    version = str(obj.get("apiVersion", "")).split("/")[-1]
    schema = trafficsplit_schema(version)
    validator = jsonschema.Draft7Validator(schema)
    return [
        f"{'.'.join(str(p) for p in e.absolute_path) or '(document)'}: {e.message}" for e in validator.iter_errors(obj)
    ]


# ---------------------------------------------------------------------------------------------- rollouts
SEED_METRICS = {"request-success-rate": 99.5, "request-duration": 120}


@dataclass
class Snapshot:
    """What one tick of a rollout starts from, and what it decided."""

    tick: int
    now: datetime
    canary: dict[str, Any]  # the Canary manifest with the status the tick starts from
    cluster: list[dict[str, Any]]  # every cluster object the tick reads (Secrets excluded)
    secrets: list[Any]
    phase_before: str
    phase_after: str
    objects: tuple[Mapping[str, Any], ...]
    status_doc: dict[str, Any]  # the printed Canary (spec + next status)

    @property
    def now_text(self) -> str:
        return self.now.strftime("%Y-%m-%dT%H:%M:%SZ")


def play(
    canary_doc: Mapping[str, Any],
    cluster: list[Mapping[str, Any]],
    *,
    mesh_provider: str | None = "smi:istio",
    metrics: Mapping[str, Any] | None = None,
    image_at: int = 3,
    image: str = "quay.io/stefanprodan/podinfo:1.7.1",
    ticks: int = 40,
    start: str = "2026-11-27T10:00:00Z",
    secrets: list[Mapping[str, Any]] = (),  # type: ignore[assignment]
) -> Iterator[Snapshot]:
    """Play a healthy rollout (new image at tick `image_at`) against the simulated cluster, one Snapshot per tick."""
    from cronjob.local.inputs import Scenario, ScenarioStep, build_cluster, default_hook_result, metric_results
    from cronjob.local.simulation import RESTING, SimulatedCluster
    from cronjob.shared.driver import run_tick
    from engine import Settings
    from engine.canary_spec import parse_canary
    from engine.schedule import interval_seconds
    from engine.status_doc import canary_manifest

    canary = parse_canary(copy.deepcopy(dict(canary_doc)))
    sim = SimulatedCluster.of(build_cluster([copy.deepcopy(dict(o)) for o in [*cluster, *secrets]]))
    values = metric_results("(test)", "", dict(metrics if metrics is not None else SEED_METRICS))
    scenario = Scenario(
        start=datetime.fromisoformat(start.replace("Z", "+00:00")),
        ticks=ticks,
        metrics=values,
        hooks={},
        steps=(ScenarioStep(at=image_at, image=image),),
    )
    settings = Settings(mesh_provider=mesh_provider)
    primary = {(canary.namespace, f"{canary.spec.target_ref.name}-primary")}
    step = interval_seconds(canary)
    for tick in range(1, scenario.ticks + 1):
        now = scenario.start + timedelta(seconds=step * (tick - 1))
        sim.progress_rollouts(now, primary)
        if tick == image_at:
            sim.set_image(canary.namespace, canary.spec.target_ref.name, image, now, "(test)")
        before_doc = copy.deepcopy(dict(canary.manifest))  # carries the status of the tick before (none at first)
        cluster_now = [copy.deepcopy(o) for o in sim.objects.values()]
        decision = run_tick(
            canary,
            sim.view(),
            now,
            settings,
            lambda request: default_hook_result(request.hook.type),
            lambda requests: {r.metric.name: values[r.metric.name] for r in requests},
        )
        status_doc = canary_manifest(canary, decision.status)
        yield Snapshot(
            tick=tick,
            now=now,
            canary=before_doc,
            cluster=cluster_now,
            secrets=list(secrets),
            phase_before=canary.status.phase,
            phase_after=decision.status.phase,
            objects=decision.objects,
            status_doc=status_doc,
        )
        sim.apply(decision, now)
        canary = parse_canary(status_doc)
        if tick > image_at and decision.status.phase in RESTING:
            return
