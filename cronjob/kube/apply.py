"""What one decision writes to the cluster, as a list of `ApiRequest`s in a safe order.

Order (the engine already orders its objects, `engine.render.order`; this keeps it): `-primary` Secret copies,
then the objects in the engine's order — Services, ConfigMap copies, the primary Deployment, its HPA, the apex
Service — with a scale-up of the target before the router's objects (the TrafficSplit) and a scale-down after. The requests are sent one by one
and the first failure stops the rest, so a weight never moves towards a workload whose apply failed. The
Canary status is written last, conditioned on the `resourceVersion` the tick read; the Events after it.

An object already in the state the engine wants is not written again: each applied object carries the
hash of the configuration cronary applied (`cronary.dev/applied`), and the live object must still contain
every desired field (someone editing the TrafficSplit by hand is corrected on the next decision).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import jsonpatch

from cronjob.kube.api import ApiRequest, apply_request, scale_request
from cronjob.shared.resources import CANARIES, EVENTS
from engine import Decision, Event
from engine.cluster import ClusterView
from engine.model import Canary, CanaryStatus
from engine.render.meta import include_by_prefix, object_meta, shared_owners
from engine.status_doc import status_manifest
from engine.subset import contains

APPLIED = "cronary.dev/applied"


def config_hash(manifest: Mapping[str, Any]) -> str:
    text = json.dumps(manifest, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def marked(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """The manifest with the hash of its own configuration in an annotation."""
    meta = dict(manifest.get("metadata") or {})
    meta["annotations"] = {**(meta.get("annotations") or {}), APPLIED: config_hash(manifest)}
    return {**manifest, "metadata": meta}


def is_current(live: Mapping[str, Any] | None, desired: Mapping[str, Any]) -> bool:
    if live is None:
        return False
    annotations = (live.get("metadata") or {}).get("annotations") or {}
    return annotations.get(APPLIED) == (desired["metadata"]["annotations"][APPLIED]) and contains(live, desired)


def _projection(live: Any, desired: Any) -> Any:
    """`live` cut down to the fields `desired` has, so a diff shows only what cronary manages."""
    if isinstance(desired, Mapping) and isinstance(live, Mapping):
        return {k: _projection(live[k], v) for k, v in desired.items() if k in live}
    if isinstance(desired, list) and isinstance(live, list) and len(desired) == len(live):
        return [_projection(a, b) for a, b in zip(live, desired)]
    return live


def drift(live: Mapping[str, Any] | None, desired: Mapping[str, Any]) -> list[str]:
    """What someone changed in an object cronary applied and still wants the same (its annotation matches):
    JSON Patch operations and paths, no values (a Secret's data must not reach a log)."""
    if (
        live is None
        or (live.get("metadata") or {}).get("annotations", {}).get(APPLIED)
        != desired["metadata"]["annotations"][APPLIED]
    ):
        return []
    patch = jsonpatch.make_patch(_projection(live, desired), dict(desired))
    return [f"{op['op']} {op['path']}" for op in patch]


def secret_copy(
    canary: Canary,
    source: Mapping[str, Any],
    name: str,
    include_label_prefixes: tuple[str, ...],
    live: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The `-primary` copy of a tracked Secret: its type and data, labels filtered as for ConfigMaps, owned by
    every canary that shares it (`shared_owners`; `live` is the copy as it is)."""
    meta = source.get("metadata") or {}
    copy_meta = object_meta(canary, name, include_by_prefix(meta.get("labels"), include_label_prefixes))
    owners = shared_owners(canary, live)
    if owners:
        copy_meta["ownerReferences"] = owners
    copy: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": copy_meta,
        "type": source.get("type") or "Opaque",
    }
    if source.get("data"):
        copy["data"] = dict(source["data"])
    return copy


def plan_writes(
    decision: Decision,
    cluster: ClusterView,
    secret_objects: Mapping[tuple[str, str], Mapping[str, Any]],
    include_label_prefixes: tuple[str, ...] = (),
) -> list[ApiRequest]:
    """The writes of one decision, in order, leaving out what is already current."""
    canary = decision.canary
    requests: list[ApiRequest] = []
    for source_name, copy_name in decision.secret_copies:
        source = secret_objects.get((canary.namespace, source_name))
        if source is None:
            continue  # deleted since the tick read it: the next decision reports the missing Secret
        live = secret_objects.get((canary.namespace, copy_name))
        desired = marked(secret_copy(canary, source, copy_name, include_label_prefixes, live))
        if not is_current(live, desired):
            requests.append(apply_request(desired, sensitive=True))
    for obj in decision.objects:
        meta = obj["metadata"]
        namespace, name = meta.get("namespace") or canary.namespace, meta["name"]
        if obj["kind"] == "Scale":
            live = cluster.get("Deployment", namespace, name)
            replicas = obj["spec"]["replicas"]
            if live is None or (live.get("spec") or {}).get("replicas", 1) != replicas:
                requests.append(scale_request(namespace, name, replicas))
            continue
        desired = marked(obj)
        live = cluster.get(obj["kind"], namespace, name)
        if not is_current(live, desired):
            changed = drift(live, desired)
            note = (
                f"{obj['kind']} {namespace}/{name} was changed outside cronary ({', '.join(changed)}); applying it again"
                if changed
                else ""
            )
            requests.append(apply_request(desired, note=note))
    return requests


def status_request(
    manifest: Mapping[str, Any], status: CanaryStatus, pending_events: list[dict[str, Any]] | None = None
) -> ApiRequest:
    """Replace the Canary's status, conditioned on the `resourceVersion` it was read at: a 409 means another
    tick decided this canary in the meantime, and its status stands. This write is a decision's commit point
    (docs/architecture.md, "Writes"): `pending_events` are the decision's Events, kept in the status until
    they are recorded, so a Job killed before recording them leaves them for the next one."""
    status_doc = status_manifest(status)
    if pending_events:
        status_doc[PENDING_EVENTS] = pending_events
    return _status_put(manifest, status_doc, "update status of Canary")


def _status_put(manifest: Mapping[str, Any], status: Mapping[str, Any], what: str) -> ApiRequest:
    meta = manifest.get("metadata") or {}
    namespace, name = str(meta.get("namespace") or "default"), str(meta.get("name"))
    body = {
        "apiVersion": CANARIES.api_version,
        "kind": "Canary",
        "metadata": {"name": name, "namespace": namespace, "resourceVersion": str(meta.get("resourceVersion") or "")},
        "spec": manifest.get("spec"),
        "status": dict(status),
    }
    return ApiRequest("PUT", CANARIES.path(namespace, name, "status"), f"{what} {namespace}/{name}", (), body)


def with_resource_version(manifest: Mapping[str, Any], response_body: Any) -> dict[str, Any]:
    """`manifest` with the status and `resourceVersion` a status write answered, for the next conditioned write."""
    written = response_body if isinstance(response_body, Mapping) else {}
    meta = {
        **(manifest.get("metadata") or {}),
        "resourceVersion": (written.get("metadata") or {}).get("resourceVersion"),
    }
    return {**manifest, "metadata": meta, "status": written.get("status", manifest.get("status"))}


CALLED_WEBHOOKS = "calledWebhooks"
PENDING_EVENTS = "pendingEvents"


def called_webhooks(manifest: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """The side-effecting hooks of the decision in progress, by idempotency key: called (`ok` absent: its
    answer was never recorded) or answered (`ok`, `message`)."""
    records = ((manifest.get("status") or {}).get(CALLED_WEBHOOKS)) or []
    return {str(r.get("idempotencyKey")): r for r in records if isinstance(r, Mapping) and r.get("idempotencyKey")}


def hook_record_request(manifest: Mapping[str, Any], record: Mapping[str, Any]) -> ApiRequest:
    """Note a side-effecting hook in the status the tick started from (nothing else changes): once before it
    is called (no `ok`), once more with its answer. A Job killed before its decision is written re-runs the
    same decision and finds the note: an answer is used as it was given; a call without an answer is made
    again with the same idempotency key (never taken as a pass). The decision's own status write drops the
    notes."""
    status = dict(manifest.get("status") or {})
    key = record.get("idempotencyKey")
    kept = [
        r
        for r in (status.get(CALLED_WEBHOOKS) or [])
        if not (isinstance(r, Mapping) and r.get("idempotencyKey") == key)
    ]
    status[CALLED_WEBHOOKS] = [*kept, dict(record)]
    return _status_put(manifest, status, "record webhook call in the status of Canary")


def pending_events(manifest: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The Events a decision committed to the status and may not have recorded (its Job may have died)."""
    records = (manifest.get("status") or {}).get(PENDING_EVENTS) or []
    return [
        r
        for r in records
        if isinstance(r, Mapping) and isinstance(r.get("name"), str) and isinstance(r.get("message"), str)
    ]


def without_pending_events(manifest: Mapping[str, Any]) -> ApiRequest:
    """The status with its pending Events dropped: they are recorded."""
    status = {k: v for k, v in (manifest.get("status") or {}).items() if k != PENDING_EVENTS}
    return _status_put(manifest, status, "mark events recorded in the status of Canary")


def event_name(canary_name: str, uid: str, now: str, index: int, event: Event) -> str:
    """Deterministic per decision and event, so a rerun of the same decision is answered 409 AlreadyExists
    instead of recording the event twice."""
    digest = hashlib.sha256(f"{uid}\0{now}\0{index}\0{event.type}\0{event.message}".encode()).hexdigest()[:16]
    return f"{canary_name[:200]}.{digest}"


def event_records(decision: Decision, manifest: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A decision's Events as the status keeps them until they are recorded."""
    meta = manifest.get("metadata") or {}
    name, uid = str(meta.get("name")), str(meta.get("uid") or "")
    return [
        {
            "name": event_name(name, uid, decision.now, index, event),
            "type": event.type,
            "reason": event.reason,
            "message": event.message,
            "time": decision.now,
        }
        for index, event in enumerate(decision.events)
    ]


def event_requests(records: list[Mapping[str, Any]], manifest: Mapping[str, Any], instance: str) -> list[ApiRequest]:
    """Kubernetes Events on the Canary, with Flagger's reason (`Synced`), type and message."""
    meta = manifest.get("metadata") or {}
    namespace, name, uid = str(meta.get("namespace") or "default"), str(meta.get("name")), str(meta.get("uid") or "")
    requests = []
    for record in records:
        body = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": str(record["name"]), "namespace": namespace},
            "involvedObject": {
                "apiVersion": str(manifest.get("apiVersion")),
                "kind": "Canary",
                "name": name,
                "namespace": namespace,
                "uid": uid,
            },
            "reason": str(record.get("reason") or "Synced"),
            "message": str(record["message"]),
            "type": "Warning" if record.get("type") == "Warning" else "Normal",
            "source": {"component": "cronary"},
            "reportingComponent": "cronary",
            "reportingInstance": instance[:128],
            "firstTimestamp": str(record.get("time") or ""),
            "lastTimestamp": str(record.get("time") or ""),
            "count": 1,
        }
        requests.append(
            ApiRequest("POST", EVENTS.path(namespace), f"record event on Canary {namespace}/{name}", (), body)
        )
    return requests
