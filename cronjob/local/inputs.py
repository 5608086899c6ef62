"""Reading the CLI's input files into engine values; every problem becomes one `InputError` line."""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cronjob.shared.errors import InputError
from cronjob.shared.yamlio import load_documents, load_single
from engine import HookResult
from engine.analysis import NO_VALUES, MetricResult, MetricTemplateSpec, parse_metric_template
from engine.canary_spec import parse_canary
from engine.cluster import ClusterView, summarize_secret
from engine.errors import SpecError
from engine.hooks import HookType
from engine.model import Canary
from engine.routers.factory import resolve_provider
from engine.timefmt import TIME_EXAMPLE, check_time, read_time


def parse_now(text: str | None, source: str = "--now", path: str = "") -> datetime:
    """`--now` (or a scenario's `start`): the local clock when not given, else an RFC 3339 time in the range
    cronary reads (`engine.timefmt`), or an `InputError` naming the option or field."""
    if not text:
        return datetime.now(UTC).replace(microsecond=0)
    try:
        return read_time(text)
    except ValueError as err:
        raise InputError(source, path, str(err)) from None


def read_canary(path: str, mesh_provider: str | None) -> Canary:
    try:
        canary = parse_canary(load_single(path))
        resolve_provider(canary.spec.provider, mesh_provider)
    except SpecError as err:
        raise InputError(path, err.path, err.message) from None
    return canary


def read_canaries(path: str) -> list[Canary]:
    canaries = []
    for index, doc in enumerate(load_documents(path)):
        try:
            canaries.append(parse_canary(doc))
        except SpecError as err:
            prefix = f"[{index}]." if index else ""
            raise InputError(path, prefix + err.path, err.message) from None
    if not canaries:
        raise InputError(path, "", "holds no Canary")
    return canaries


def cluster_objects(path: str) -> list[dict[str, Any]]:
    objects = []
    for index, doc in enumerate(load_documents(path)):
        where = f"[{index}]"
        if not isinstance(doc, dict):
            raise InputError(path, where, "must be a Kubernetes object (a map)")
        if not doc.get("kind"):
            raise InputError(path, f"{where}.kind", "required")
        meta = doc.get("metadata")
        if not isinstance(meta, dict) or not meta.get("name"):
            raise InputError(path, f"{where}.metadata.name", "required")
        if doc.get("kind") == "Deployment":
            _check_condition_times(path, where, doc)
            _check_counts(path, where, doc)
        objects.append(doc)
    return objects


_COUNTS = (
    ("metadata", "generation"),
    ("spec", "replicas"),
    ("status", "observedGeneration"),
    ("status", "replicas"),
    ("status", "updatedReplicas"),
    ("status", "readyReplicas"),
    ("status", "availableReplicas"),
)


def _check_counts(path: str, where: str, deployment: Mapping[str, Any]) -> None:
    """The counts of a Deployment the engine compares (its generation, its replicas): whole numbers from 0 to
    2^31 - 1, as the API server keeps them, checked here so a bad one is this file's line and exit status 2."""
    for part, key in _COUNTS:
        section = deployment.get(part)
        value = section.get(key) if isinstance(section, dict) else None
        if value is None:
            continue
        limit = 2**63 - 1 if key in ("generation", "observedGeneration") else 2**31 - 1
        if isinstance(value, bool) or not isinstance(value, int):
            raise InputError(path, f"{where}.{part}.{key}", f"must be a whole number, got a {type(value).__name__}")
        if not 0 <= value <= limit:
            raise InputError(path, f"{where}.{part}.{key}", f"must be a whole number from 0 to {limit}, got {value}")


def _check_condition_times(path: str, where: str, deployment: Mapping[str, Any]) -> None:
    """The times of a Deployment's conditions, which the engine reads (the progress deadline counts from
    `lastUpdateTime`): checked here, so a bad one is this file's line, not the engine's error mid-tick."""
    status = deployment.get("status")
    conditions = status.get("conditions") if isinstance(status, dict) else None
    for index, cond in enumerate(conditions if isinstance(conditions, list) else ()):
        for key in ("lastUpdateTime", "lastTransitionTime"):
            if isinstance(cond, dict) and cond.get(key) not in (None, ""):
                try:
                    check_time(f"{where}.status.conditions[{index}].{key}", cond[key])
                except SpecError as err:
                    raise InputError(path, err.path, err.message) from None


def metric_templates(path: str, objects: list[Mapping[str, Any]]) -> dict[tuple[str, str], MetricTemplateSpec]:
    """The MetricTemplates among the cluster objects, by (namespace, name)."""
    out = {}
    for index, obj in enumerate(objects):
        if obj.get("kind") == "MetricTemplate":
            try:
                template = parse_metric_template(obj)
            except SpecError as err:
                raise InputError(path, f"[{index}].{err.path}", err.message) from None
            out[(template.namespace, template.name)] = template
    return out


def template_secrets(
    path: str, objects: list[Mapping[str, Any]], templates: Mapping[tuple[str, str], MetricTemplateSpec]
) -> dict[tuple[str, str], dict[str, str]]:
    """Decoded data of the Secrets MetricTemplates use for Prometheus auth — and of no other Secret. The
    values stay in memory: they are never printed, logged or passed to the engine."""
    wanted = {(t.namespace, t.secret_name) for t in templates.values() if t.secret_name}
    out: dict[tuple[str, str], dict[str, str]] = {}
    for index, obj in enumerate(objects):
        meta = obj.get("metadata") or {}
        key = (str(meta.get("namespace") or "default"), str(meta.get("name")))
        if obj.get("kind") != "Secret" or key not in wanted:
            continue
        data = {}
        for name, value in (obj.get("data") or {}).items():
            try:
                data[str(name)] = base64.b64decode(str(value), validate=True).decode("utf-8", "replace")
            except (binascii.Error, ValueError):
                raise InputError(path, f"[{index}].data.{name}", "must be base64 (the value is not shown)") from None
        data.update({str(k): str(v) for k, v in (obj.get("stringData") or {}).items()})
        out[key] = data
    return out


def build_cluster(objects: list[Mapping[str, Any]]) -> ClusterView:
    """A ClusterView; Secrets are reduced to checksums here, so their data goes no further."""
    plain = [o for o in objects if o.get("kind") != "Secret"]
    secrets = [summarize_secret(o) for o in objects if o.get("kind") == "Secret"]
    return ClusterView.of(plain, secrets)


def check_references(canary: Canary, canary_path: str, cluster: ClusterView, cluster_path: str) -> None:
    ns = canary.namespace
    ref = canary.spec.target_ref
    if cluster.get(ref.kind, ns, ref.name) is None:
        raise InputError(canary_path, "spec.targetRef.name", f"{ref.kind} {ns}/{ref.name} is not in {cluster_path}")
    scaler = canary.spec.autoscaler_ref
    if scaler is not None and cluster.get(scaler.kind, ns, scaler.name) is None:
        raise InputError(
            canary_path, "spec.autoscalerRef.name", f"{scaler.kind} {ns}/{scaler.name} is not in {cluster_path}"
        )


def metric_results(source: str, path: str, values: Any) -> dict[str, MetricResult]:
    """`name: number` or `name: null` (no data) into MetricResults."""
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise InputError(source, path or "(document)", "must map metric names to numbers or null")
    out = {}
    for name, value in values.items():
        if value is None:
            out[str(name)] = MetricResult(None, NO_VALUES)
        elif isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InputError(
                source, f"{path}.{name}" if path else str(name), f"must be a number or null, got {value!r}"
            )
        else:
            out[str(name)] = MetricResult(float(value), NO_VALUES if math.isnan(value) else None)
    return out


def hook_results(source: str, path: str, values: Any) -> dict[str, HookResult]:
    """`name: pass|fail` into HookResults."""
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise InputError(source, path or "(document)", "must map webhook names to pass or fail")
    out = {}
    for name, value in values.items():
        if value not in ("pass", "fail"):
            raise InputError(source, f"{path}.{name}" if path else str(name), f"must be pass or fail, got {value!r}")
        out[str(name)] = HookResult(value == "pass", "" if value == "pass" else "simulated failure (HTTP 500)")
    return out


def default_hook_result(hook_type: HookType) -> HookResult:
    """A webhook nobody scripted: it answers 2xx, except a rollback hook, which does not ask for a rollback."""
    if hook_type == HookType.ROLLBACK:
        return HookResult(False, "not scripted")
    return HookResult(True)


def read_metrics_file(path: str | None) -> dict[str, MetricResult] | None:
    if path is None:
        return None
    doc = load_single(path)
    return metric_results(path, "", doc)


@dataclass(frozen=True)
class ScenarioStep:
    at: int
    metrics: Mapping[str, MetricResult] = field(default_factory=dict)
    hooks: Mapping[str, HookResult] = field(default_factory=dict)
    image: Any = None  # str (every container) or {container: image}
    ready: Mapping[str, bool] | None = None  # {"target": bool, "primary": bool}


@dataclass(frozen=True)
class Scenario:
    start: datetime
    ticks: int
    metrics: Mapping[str, MetricResult]
    hooks: Mapping[str, HookResult]
    steps: tuple[ScenarioStep, ...]


def _ready(path: str, where: str, value: Any) -> Mapping[str, bool]:
    if isinstance(value, bool):
        return {"target": value, "primary": value}
    if (
        isinstance(value, dict)
        and set(value) <= {"target", "primary"}
        and all(isinstance(v, bool) for v in value.values())
    ):
        return dict(value)
    raise InputError(path, where, f"must be true, false or a map of target/primary to true or false, got {value!r}")


def read_scenario(path: str) -> Scenario:
    doc = load_single(path)
    if not isinstance(doc, dict):
        raise InputError(path, "(document)", "must be a map with start, ticks, metrics, webhooks and steps")
    unknown = set(doc) - {"start", "ticks", "metrics", "webhooks", "steps", "description"}
    if unknown:
        raise InputError(path, sorted(unknown)[0], "unknown field (expected start, ticks, metrics, webhooks, steps)")
    if "start" not in doc:
        raise InputError(path, "start", "required (RFC 3339 time)")
    start_text = doc["start"]
    if not isinstance(start_text, str) or not start_text:
        raise InputError(path, "start", f"must be an RFC 3339 time like {TIME_EXAMPLE}, got {start_text!r}")
    start = parse_now(start_text, path, "start")
    ticks = doc.get("ticks", 100)
    if isinstance(ticks, bool) or not isinstance(ticks, int) or not 1 <= ticks <= 100_000:
        raise InputError(path, "ticks", f"must be an integer 1..100000, got {ticks!r}")
    steps = []
    raw_steps = doc.get("steps") or []
    if not isinstance(raw_steps, list):
        raise InputError(path, "steps", "must be a list")
    for index, raw in enumerate(raw_steps):
        where = f"steps[{index}]"
        if not isinstance(raw, dict):
            raise InputError(path, where, "must be a map")
        unknown = set(raw) - {"at", "metrics", "webhooks", "image", "ready"}
        if unknown:
            raise InputError(
                path, f"{where}.{sorted(unknown)[0]}", "unknown field (expected at, metrics, webhooks, image, ready)"
            )
        at = raw.get("at")
        if isinstance(at, bool) or not isinstance(at, int) or at < 1:
            raise InputError(path, f"{where}.at", f"must be a tick number >= 1, got {at!r}")
        image = raw.get("image")
        if (
            image is not None
            and not isinstance(image, str)
            and not (isinstance(image, dict) and all(isinstance(v, str) for v in image.values()))
        ):
            raise InputError(path, f"{where}.image", "must be an image reference or a map of container name to image")
        steps.append(
            ScenarioStep(
                at=at,
                metrics=metric_results(path, f"{where}.metrics", raw.get("metrics")),
                hooks=hook_results(path, f"{where}.webhooks", raw.get("webhooks")),
                image=image,
                ready=_ready(path, f"{where}.ready", raw["ready"]) if "ready" in raw else None,
            )
        )
    return Scenario(
        start=start,
        ticks=ticks,
        metrics=metric_results(path, "metrics", doc.get("metrics")),
        hooks=hook_results(path, "webhooks", doc.get("webhooks")),
        steps=tuple(sorted(steps, key=lambda s: s.at)),
    )
