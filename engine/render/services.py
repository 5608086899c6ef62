"""The three ClusterIP Services: `<apex>` and `<apex>-primary` select the primary, `<apex>-canary` the target."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..model import Canary, ServiceMetadata
from .meta import FLUX_ANNOTATIONS, owner_reference, sorted_dict

_MESH_CONTAINERS = ("istio-proxy", "envoy")


def _ports(canary: Canary, pod_template: Mapping[str, Any]) -> list[dict[str, Any]]:
    svc = canary.spec.service
    main: dict[str, Any] = {
        "name": svc.port_name,
        "protocol": "TCP",
        "port": svc.port,
        "targetPort": svc.target_port or svc.port,
    }
    if svc.app_protocol:
        main["appProtocol"] = svc.app_protocol
    ports = [main]
    seen_names, seen_numbers = {main["name"]}, {svc.port}
    if svc.port_discovery:
        containers = (pod_template.get("spec") or {}).get("containers") or []
        for container in containers:
            if container.get("name") in _MESH_CONTAINERS:
                continue
            for index, port in enumerate(container.get("ports") or []):
                number = port.get("containerPort")
                if (
                    number == svc.port
                    or (port.get("name") and port.get("name") == svc.port_name)
                    or number == svc.target_port
                ):
                    continue
                name = port.get("name") or f"tcp-{container.get('name')}-{index}"
                if name in seen_names or number in seen_numbers:
                    continue  # a Service port name and number may appear once; the first container wins
                seen_names.add(name)
                seen_numbers.add(number)
                ports.append({"name": name, "protocol": "TCP", "port": number, "targetPort": number})
    return ports


_FLUX_SORTED = sorted_dict(FLUX_ANNOTATIONS)


def _service(
    canary: Canary,
    name: str,
    selector: dict[str, str],
    label: str,
    extra: ServiceMetadata,
    ports: list[dict[str, Any]],
    owner: Mapping[str, Any] | None,
) -> dict[str, Any]:
    # object_meta's metadata, built directly: labels and annotations sorted, one owner reference
    labels = sorted_dict({**dict(extra.labels), label: name}) if extra.labels else {label: name}
    annotations = (
        sorted_dict({**dict(extra.annotations), **FLUX_ANNOTATIONS}) if extra.annotations else dict(_FLUX_SORTED)
    )
    meta = {
        "name": name,
        "namespace": canary.namespace,
        "labels": labels,
        "annotations": annotations,
    }
    if owner:
        meta["ownerReferences"] = [owner]
    spec: dict[str, Any] = {"type": "ClusterIP", "selector": selector, "ports": [dict(p) for p in ports]}
    if canary.spec.service.headless:
        spec["clusterIP"] = "None"
    if canary.spec.service.traffic_distribution:
        spec["trafficDistribution"] = canary.spec.service.traffic_distribution
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": spec}


def _build(
    canary: Canary, pod_template: Mapping[str, Any], label: str, value: str, owner: Mapping[str, Any] | None
) -> dict[str, dict[str, Any]]:
    apex = canary.spec.apex_name
    ports = _ports(canary, pod_template)
    svc = canary.spec.service
    primary = f"{value}-primary"
    return {
        "canary": _service(canary, f"{apex}-canary", {label: value}, label, svc.canary, ports, owner),
        "primary": _service(canary, f"{apex}-primary", {label: primary}, label, svc.primary, ports, owner),
        "apex": _service(canary, apex, {label: primary}, label, svc.apex, ports, owner),
    }


def render_services(
    canary: Canary, pod_template: Mapping[str, Any], *, label: str, value: str, owner: Mapping[str, Any] | None = None
) -> dict[str, dict[str, Any]]:
    """{"apex": ..., "primary": ..., "canary": ...}. `owner`: the canary's `owner_reference`, if at hand.

    The three depend on the canary's identity and `spec.service`, the target's selector label and value
    and — with port discovery only — the container ports of the target's `pod_template`. Without port
    discovery they are remembered by those values (as `lru_cache` would, so a canary's next tick, in this pass or the next,
    finds them); each call gets new object, `metadata` and `spec` dicts, the values below them shared and
    read-only like every rendered value."""
    if owner is None:
        owner = owner_reference(canary)
    svc = canary.spec.service
    if svc.port_discovery:
        return _build(canary, pod_template, label, value, owner)
    key = (
        canary.api_version,
        canary.name,
        canary.namespace,
        canary.uid,
        canary.spec.apex_name,
        label,
        value,
        svc.port,
        type(svc.port),
        svc.port_name,
        svc.target_port,
        type(svc.target_port),
        svc.app_protocol,
        svc.traffic_distribution,
        svc.headless,
        svc.canary.labels,
        svc.canary.annotations,
        svc.primary.labels,
        svc.primary.annotations,
        svc.apex.labels,
        svc.apex.annotations,
    )  # the types too: 9898 and 9898.0 are equal keys but different ports
    try:
        remembered = _REMEMBERED.get(key)
    except TypeError:  # a value the parser let through that cannot be a key: nothing to remember it by
        return _build(canary, pod_template, label, value, owner)
    if remembered is None or (remembered[0] is not owner and remembered[0] != owner):
        remembered = (owner, _build(canary, pod_template, label, value, owner))
        if len(_REMEMBERED) >= _REMEMBER_AT_MOST:
            _REMEMBERED.clear()
        _REMEMBERED[key] = remembered
    return {
        role: {**obj, "metadata": dict(obj["metadata"]), "spec": dict(obj["spec"])}
        for role, obj in remembered[1].items()
    }


_REMEMBERED: dict[tuple[Any, ...], tuple[Mapping[str, Any], dict[str, dict[str, Any]]]] = {}
_REMEMBER_AT_MOST = 8192


def owned_by(obj: Mapping[str, Any], canary: Canary) -> bool:
    """Flagger's `isOwnedByCanary`: an owner reference of kind Canary with this canary's name."""
    refs = (obj.get("metadata") or {}).get("ownerReferences") or ()
    return any(isinstance(r, Mapping) and r.get("kind") == "Canary" and r.get("name") == canary.name for r in refs)


def as_found(service: dict[str, Any], live: Mapping[str, Any] | None, canary: Canary) -> dict[str, Any]:
    """A Service someone else created (the apex, usually) is not adopted: as Flagger does, only its ports and
    selector are set — no owner reference (the garbage collector would delete it with the Canary), and its own
    labels and annotations stay. A Service that does not exist yet, or that the canary owns, is as rendered —
    and so is every Service of a canary read without its uid (GitOps mode without cluster access, where the
    live objects are cronary's own committed files, which carry no owner reference)."""
    if live is None or not canary.uid or owned_by(live, canary):
        return service
    meta = service["metadata"]
    return {
        "apiVersion": service["apiVersion"],
        "kind": service["kind"],
        "metadata": {"name": meta["name"], "namespace": meta["namespace"]},
        "spec": {"selector": service["spec"]["selector"], "ports": service["spec"]["ports"]},
    }
