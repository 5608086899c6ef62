"""Reading one shard of the cluster for a tick: one LIST per kind per namespace, never a GET per object.

The Canaries come first (their LIST also gives `now`, from the API server's `Date` header). Only the
namespaces that hold a canary due at `now` are read further, so a pass where nothing is due costs one request.
Secrets are reduced to checksums before they reach the engine; their decoded data stays in this process's
memory for the three things that need it (`-primary` copies, MetricTemplate and AlertProvider credentials)
and is never logged.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Iterable, Mapping

from engine.canary_spec import parse_canary
from engine.cluster import ClusterView, summarize_secret
from engine.errors import SpecError
from engine.metric_templates import MetricTemplateSpec, parse_metric_template
from engine.model import V1ALPHA3, Canary
from engine.providers import resolve_provider
from engine.tick import Settings, is_due

from .kube_api import (
    ALERT_PROVIDERS,
    CANARIES,
    CONFIGMAPS,
    DEPLOYMENTS,
    HPAS,
    METRIC_TEMPLATES,
    SECRETS,
    SERVICES,
    ApiRequest,
    ApiResponse,
    Resource,
    list_request,
    traffic_splits,
)

Send = Callable[[ApiRequest], ApiResponse]


@dataclass(frozen=True)
class Shard:
    """Which canaries one CronJob decides: some namespaces (none = all) and an optional label selector."""

    name: str = "default"
    namespaces: tuple[str, ...] = ()
    selector: str | None = None


@dataclass(frozen=True)
class CanaryEntry:
    """A Canary as listed: the manifest (with the `resourceVersion` its status write is conditioned on) and
    the parsed value, or why it could not be parsed."""

    manifest: Mapping[str, Any]
    canary: Canary | None
    error: str = ""

    @property
    def key(self) -> str:
        meta = self.manifest.get("metadata") or {}
        return f"{meta.get('name')}.{meta.get('namespace') or 'default'}"


@dataclass
class Snapshot:
    now: datetime
    canaries: list[CanaryEntry]
    cluster: ClusterView = field(default_factory=ClusterView)
    templates: dict[tuple[str, str], MetricTemplateSpec] = field(default_factory=dict)
    # decoded Secret data and the raw objects (for -primary copies); memory only
    secret_data: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict, repr=False)
    secret_objects: dict[tuple[str, str], Mapping[str, Any]] = field(default_factory=dict, repr=False)

    def read_secret(self, namespace: str, name: str) -> Mapping[str, str] | None:
        return self.secret_data.get((namespace, name))


def as_canary_manifest(item: Mapping[str, Any]) -> dict[str, Any]:
    """Canaries are listed through the stored version, v1beta1. The CRD converts with strategy None, so a
    Canary created as v1alpha3 comes back labelled v1beta1 with its `spec.canaryAnalysis`: parse it as the
    v1alpha3 it is."""
    doc = dict(item)
    spec = doc.get("spec")
    if isinstance(spec, Mapping) and "canaryAnalysis" in spec and "analysis" not in spec:
        doc["apiVersion"] = V1ALPHA3
    return doc


def parse_entry(item: Mapping[str, Any], mesh_provider: str | None) -> CanaryEntry:
    manifest = as_canary_manifest(item)
    try:
        canary = parse_canary(manifest)
        resolve_provider(canary.spec.provider, mesh_provider)
    except SpecError as err:
        return CanaryEntry(manifest, None, f"{err.path}: {err.message}")
    return CanaryEntry(manifest, canary)


def _items(response: ApiResponse, resource: Resource) -> list[dict[str, Any]]:
    """LIST items of built-in kinds carry no `apiVersion`/`kind`; the engine looks objects up by kind."""
    body = response.body if isinstance(response.body, dict) else {}
    items = body.get("items") or []
    for item in items:
        item.setdefault("apiVersion", resource.api_version)
        item.setdefault("kind", resource.kind)
    return items


def list_canaries(send: Send, shard: Shard, mesh_provider: str | None) -> tuple[datetime | None, list[CanaryEntry]]:
    scopes: Iterable[str | None] = shard.namespaces or (None,)
    now: datetime | None = None
    entries: list[CanaryEntry] = []
    for namespace in scopes:
        response = send(list_request(CANARIES, namespace, shard.selector))
        now = now or response.date
        entries.extend(parse_entry(item, mesh_provider) for item in _items(response, CANARIES))
    entries.sort(key=lambda e: ((e.manifest.get("metadata") or {}).get("namespace") or "", (e.manifest.get("metadata") or {}).get("name") or ""))
    return now, entries


def decode_secret(item: Mapping[str, Any]) -> dict[str, str]:
    out = {}
    for name, value in (item.get("data") or {}).items():
        try:
            out[str(name)] = base64.b64decode(str(value), validate=True).decode("utf-8", "replace")
        except (binascii.Error, ValueError):
            continue  # the API server only stores base64; anything else is not a usable credential
    return out


def namespace_reads(canaries: list[Canary], settings: Settings) -> dict[str, set[Resource]]:
    """Which kinds each namespace must be listed for, given the canaries decided in this pass."""
    reads: dict[str, set[Resource]] = {}
    for canary in canaries:
        kinds = reads.setdefault(canary.namespace, set())
        kinds.update((DEPLOYMENTS, SERVICES))
        if canary.spec.autoscaler_ref is not None:
            kinds.add(HPAS)
        try:
            kinds.add(traffic_splits(resolve_provider(canary.spec.provider, settings.mesh_provider).split_version))
        except SpecError:
            pass
        if settings.config_tracking:
            kinds.update((CONFIGMAPS, SECRETS))
        analysis = canary.spec.effective_analysis
        for metric in analysis.metrics:
            if metric.template_ref is not None:
                reads.setdefault(metric.template_ref.namespace or canary.namespace, set()).add(METRIC_TEMPLATES)
        for alert in analysis.alerts:
            reads.setdefault(alert.provider_namespace or canary.namespace, set()).add(ALERT_PROVIDERS)
    # credentials of templates and alert providers are Secrets in their own namespaces (read only with tracking on)
    if settings.config_tracking:
        for namespace, kinds in reads.items():
            if kinds & {METRIC_TEMPLATES, ALERT_PROVIDERS}:
                kinds.add(SECRETS)
    return reads


_ORDER = {r.plural: i for i, r in enumerate((DEPLOYMENTS, HPAS, SERVICES, CONFIGMAPS, SECRETS, METRIC_TEMPLATES, ALERT_PROVIDERS))}


Listed = dict[tuple[str, str, str], list[dict[str, Any]]]


def read_objects(send: Send, reads: Mapping[str, set[Resource]], now: datetime, entries: list[CanaryEntry], listed: Listed | None = None) -> Snapshot:
    """LIST each kind of each namespace in `reads` (once per pass: `listed` keeps what was already listed) into a
    Snapshot. Secrets are reduced to checksums for the engine; their data stays in the Snapshot's memory."""
    listed = {} if listed is None else listed
    snapshot = Snapshot(now, entries)
    objects: list[Mapping[str, Any]] = []
    secrets = []
    for namespace, kinds in sorted(reads.items()):
        for resource in sorted(kinds, key=lambda r: (_ORDER.get(r.plural, 99), r.version)):
            key = (namespace, resource.plural, resource.version)
            if key not in listed:
                listed[key] = _items(send(list_request(resource, namespace)), resource)
            items = listed[key]
            if resource is SECRETS:
                for item in items:
                    name = (namespace, str((item.get("metadata") or {}).get("name")))
                    secrets.append(summarize_secret(item))
                    snapshot.secret_data[name] = decode_secret(item)
                    snapshot.secret_objects[name] = item
                continue
            if resource is METRIC_TEMPLATES:
                for item in items:
                    meta = item.get("metadata") or {}
                    try:
                        snapshot.templates[(namespace, str(meta.get("name")))] = parse_metric_template(item, namespace)
                    except SpecError:
                        pass  # an invalid template is reported by the metric that uses it ("not found")
            objects.extend(items)
    snapshot.cluster = ClusterView.of(objects, secrets)
    return snapshot


def template_reads(canaries: list[Canary], settings: Settings) -> dict[str, set[Resource]]:
    """The MetricTemplates the canaries use (in any namespace), and the Secrets their credentials may be in."""
    reads: dict[str, set[Resource]] = {}
    for canary in canaries:
        for metric in canary.spec.effective_analysis.metrics:
            if metric.template_ref is not None:
                reads.setdefault(metric.template_ref.namespace or canary.namespace, set()).add(METRIC_TEMPLATES)
    if settings.config_tracking:
        for kinds in reads.values():
            kinds.add(SECRETS)
    return reads


def read_shard(send: Send, shard: Shard, settings: Settings, now: datetime | None, fallback_clock: Callable[[], datetime]) -> Snapshot:
    """Everything one pass needs, at once. `now` pins the clock (`--now`); otherwise it is the API server's
    `Date`, or `fallback_clock()` if the server sent none."""
    listed_now, entries = list_canaries(send, shard, settings.mesh_provider)
    now = now or listed_now or fallback_clock()
    due = [e.canary for e in entries if e.canary is not None and is_due(e.canary, now)]
    return read_objects(send, namespace_reads(due, settings), now, entries)
