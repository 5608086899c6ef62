"""Reading one shard of the cluster for a tick: one LIST per kind per namespace, never a GET per object.

The Canaries come first (their LIST also gives `now`, from the API server's `Date` header). Only the
namespaces that hold a canary due at `now` are read further, so a pass where nothing is due costs one request.
Secrets are reduced to checksums before they reach the engine; their decoded data stays in this process's
memory for the three things that need it (`-primary` copies, MetricTemplate and AlertProvider credentials)
and is never logged.

Answers are checked at this edge: a LIST answer that is not an object with an `items` list is that LIST's
`ApiError` (never "no objects"), and an item that is not an object with a `metadata.name` is skipped with one
warning per LIST. A failed LIST is kept as its error, so it fails only the namespace, or the canaries, that
needed it.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cronjob.kube.api import ApiError, ApiRequest, ApiResponse, Send, list_request
from cronjob.shared.options import Shard
from cronjob.shared.resources import (
    ALERT_PROVIDERS,
    CANARIES,
    CONFIGMAPS,
    DEPLOYMENTS,
    HPAS,
    LIST_ORDER,
    METRIC_TEMPLATES,
    SECRETS,
    SERVICES,
    Resource,
    resources,
)
from engine import Settings
from engine.analysis import MetricTemplateSpec, parse_metric_template
from engine.canary_spec import parse_canary
from engine.cluster import ClusterView, summarize_secret
from engine.errors import SpecError
from engine.model import V1ALPHA3, Canary
from engine.routers.factory import resolve_provider
from engine.schedule import is_due

log = logging.getLogger("cronary")


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
    # decoded Secret data and the raw objects (for -primary copies); memory only
    secret_data: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict, repr=False)
    secret_objects: dict[tuple[str, str], Mapping[str, Any]] = field(default_factory=dict, repr=False)
    failed: dict[str, str] = field(
        default_factory=dict
    )  # what could not be read ("Canary podinfo.test", "namespace a") -> why

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


def _item_problem(item: Any) -> str:
    """Why a LIST item cannot be an object of cronary's (empty when it can): an API server only lists objects
    with a name, so anything else is a broken answer, and an object without a name cannot be referred to."""
    if not isinstance(item, dict):
        return f"not an object (a JSON {type(item).__name__})"
    meta = item.get("metadata")
    if not isinstance(meta, dict):
        return "metadata is not an object"
    name = meta.get("name")
    if not isinstance(name, str) or not name:
        return "no metadata.name"
    return ""


def _items(request: ApiRequest, response: ApiResponse, resource: Resource) -> list[dict[str, Any]]:
    """The objects of a LIST answer. LIST items of built-in kinds carry no `apiVersion`/`kind`; the engine looks
    objects up by kind. An answer that is not a list object is an ApiError for this LIST; items that are not
    objects with a name are skipped (one warning for the LIST, naming the first)."""
    body = response.body
    if not isinstance(body, dict):
        raise ApiError(
            request,
            response.status,
            "InvalidResponse",
            f"the answer is not a {resource.kind}List: a JSON {type(body).__name__}",
            response.date,
        )
    items = body.get("items", False)
    if items is None:  # Go's encoding of an empty slice that was never made
        items = []
    if not isinstance(items, list):
        raise ApiError(
            request,
            response.status,
            "InvalidResponse",
            f"the answer is not a {resource.kind}List: no items list",
            response.date,
        )
    kept, skipped = [], []
    for index, item in enumerate(items):
        problem = _item_problem(item)
        if problem:
            skipped.append(f"items[{index}]: {problem}")
            continue
        item.setdefault("apiVersion", resource.api_version)
        item.setdefault("kind", resource.kind)
        kept.append(item)
    if skipped:
        log.warning(
            "%s: skipped %d item(s) that are not %s objects with a name (%s)",
            request.what,
            len(skipped),
            resource.kind,
            skipped[0],
        )
    return kept


@dataclass(frozen=True)
class CanaryListing:
    """The Canaries of a shard as listed: `now` from the first answer's `Date`, and the LISTs that failed (by
    namespace; None is the LIST of all namespaces), whose canaries are neither listed nor decided."""

    now: datetime | None
    entries: list[CanaryEntry]
    failed: dict[str | None, ApiError] = field(default_factory=dict)


def list_canaries(send: Send, shard: Shard, mesh_provider: str | None) -> CanaryListing:
    """One LIST per namespace of the shard (one for all namespaces when it names none). A failed LIST fails its
    namespace only: the other namespaces' canaries are listed and decided."""
    scopes: Iterable[str | None] = shard.namespaces or (None,)
    now: datetime | None = None
    entries: list[CanaryEntry] = []
    failed: dict[str | None, ApiError] = {}
    for namespace in scopes:
        request = list_request(CANARIES, namespace, shard.selector)
        try:
            response = send(request)
            items = _items(request, response, CANARIES)
        except ApiError as err:
            failed[namespace] = err
            continue
        now = now or response.date
        entries.extend(parse_entry(item, mesh_provider) for item in items)
    entries.sort(
        key=lambda e: (
            (e.manifest.get("metadata") or {}).get("namespace") or "",
            (e.manifest.get("metadata") or {}).get("name") or "",
        )
    )
    return CanaryListing(now, entries, failed)


def decode_secret(item: Mapping[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    data = item.get("data")
    for name, value in data.items() if isinstance(data, Mapping) else ():
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
            kinds.update(resources(resolve_provider(canary.spec.provider, settings.mesh_provider).router.kinds))
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
        for kinds in reads.values():
            if kinds & {METRIC_TEMPLATES, ALERT_PROVIDERS}:
                kinds.add(SECRETS)
    return reads


Listed = dict[tuple[str, str, str], "list[dict[str, Any]] | ApiError"]


def _keys(reads: Mapping[str, set[Resource]]) -> list[tuple[str, Resource]]:
    return [(ns, r) for ns, kinds in sorted(reads.items()) for r in sorted(kinds, key=LIST_ORDER.__getitem__)]


def list_kinds(send: Send, reads: Mapping[str, set[Resource]], listed: Listed) -> None:
    """LIST each kind of each namespace in `reads` that this pass has not listed yet. A LIST that fails is kept in
    `listed` as its ApiError (and not tried again this pass): it fails what needs it, not the pass."""
    for namespace, resource in _keys(reads):
        key = (namespace, resource.plural, resource.version)
        if key not in listed:
            request = list_request(resource, namespace)
            try:
                listed[key] = _items(request, send(request), resource)
            except ApiError as err:
                listed[key] = err


def failed_read(reads: Mapping[str, set[Resource]], listed: Listed) -> ApiError | None:
    """The first LIST among `reads` that failed this pass, if any."""
    for namespace, resource in _keys(reads):
        found = listed.get((namespace, resource.plural, resource.version))
        if isinstance(found, ApiError):
            return found
    return None


def read_objects(
    send: Send,
    reads: Mapping[str, set[Resource]],
    now: datetime,
    entries: list[CanaryEntry],
    listed: Listed | None = None,
    *,
    partial: bool = False,
    checksum_key: bytes = b"",
) -> Snapshot:
    """LIST each kind of each namespace in `reads` (once per pass: `listed` keeps what was already listed) into a
    Snapshot. Secrets are reduced to checksums for the engine; their data stays in the Snapshot's memory.
    A failed LIST raises its ApiError, or with `partial` is left out (the caller keeps the canaries that needed
    it from being decided on a view without it: see `failed_read`)."""
    listed = {} if listed is None else listed
    list_kinds(send, reads, listed)
    snapshot = Snapshot(now, entries)
    objects: list[Mapping[str, Any]] = []
    secrets = []
    templates: dict[tuple[str, str], MetricTemplateSpec] = {}
    for namespace, resource in _keys(reads):
        items = listed[(namespace, resource.plural, resource.version)]
        if isinstance(items, ApiError):
            if partial:
                continue
            raise items
        if resource is SECRETS:
            for item in items:
                name = (namespace, str(item["metadata"]["name"]))
                secrets.append(summarize_secret(item, checksum_key))
                snapshot.secret_data[name] = decode_secret(item)
                snapshot.secret_objects[name] = item
            continue
        if resource is METRIC_TEMPLATES:
            for item in items:
                try:
                    templates[(namespace, str(item["metadata"]["name"]))] = parse_metric_template(item, namespace)
                except SpecError:
                    pass  # an invalid template is reported by the metric that uses it ("not found")
        objects.extend(items)
    snapshot.cluster = ClusterView.of(objects, secrets, templates)
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


def read_shard(
    send: Send, shard: Shard, settings: Settings, now: datetime | None, fallback_clock: Callable[[], datetime]
) -> Snapshot:
    """Everything one pass needs, at once. `now` pins the clock (`--now`); otherwise it is the API server's
    `Date`, or `fallback_clock()` if the server sent none. A failed LIST of Canaries leaves its namespace out
    (`Snapshot.failed`); a due canary whose objects could not all be listed is left out with that error."""
    listing = list_canaries(send, shard, settings.mesh_provider)
    now = now or listing.now or fallback_clock()
    due = [e.canary for e in listing.entries if e.canary is not None and is_due(e.canary, now)]
    listed: Listed = {}
    snapshot = read_objects(
        send,
        namespace_reads(due, settings),
        now,
        listing.entries,
        listed,
        partial=True,
        checksum_key=settings.checksum_key,
    )
    snapshot.failed = {f"namespace {ns}" if ns else "all namespaces": str(err) for ns, err in listing.failed.items()}
    due_keys = {c.key for c in due}
    kept = []
    for entry in snapshot.canaries:
        error = (
            failed_read(namespace_reads([entry.canary], settings), listed)
            if entry.canary is not None and entry.canary.key in due_keys
            else None
        )
        if error is None:
            kept.append(entry)
        else:
            snapshot.failed[f"Canary {entry.key}"] = str(error)
    snapshot.canaries = kept
    return snapshot
