"""The three ClusterIP Services: `<apex>` and `<apex>-primary` select the primary, `<apex>-canary` the target."""

from __future__ import annotations

from typing import Any, Mapping

from .model import Canary, ServiceMetadata
from .render_meta import FLUX_ANNOTATIONS, object_meta

_MESH_CONTAINERS = ("istio-proxy", "envoy")


def _ports(canary: Canary, target: Mapping[str, Any]) -> list[dict[str, Any]]:
    svc = canary.spec.service
    main: dict[str, Any] = {"name": svc.port_name, "protocol": "TCP", "port": svc.port, "targetPort": svc.target_port or svc.port}
    if svc.app_protocol:
        main["appProtocol"] = svc.app_protocol
    ports = [main]
    seen_names, seen_numbers = {main["name"]}, {svc.port}
    if svc.port_discovery:
        containers = (((target.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or []
        for container in containers:
            if container.get("name") in _MESH_CONTAINERS:
                continue
            for index, port in enumerate(container.get("ports") or []):
                number = port.get("containerPort")
                if number == svc.port or (port.get("name") and port.get("name") == svc.port_name) or number == svc.target_port:
                    continue
                name = port.get("name") or f"tcp-{container.get('name')}-{index}"
                if name in seen_names or number in seen_numbers:
                    continue  # a Service port name and number may appear once; the first container wins
                seen_names.add(name)
                seen_numbers.add(number)
                ports.append({"name": name, "protocol": "TCP", "port": number, "targetPort": number})
    return ports


def _service(canary: Canary, name: str, selector: dict[str, str], label: str, extra: ServiceMetadata, ports: list[dict[str, Any]]) -> dict[str, Any]:
    labels = {**dict(extra.labels), label: name}
    annotations = {**dict(extra.annotations), **FLUX_ANNOTATIONS}
    spec: dict[str, Any] = {"type": "ClusterIP", "selector": selector, "ports": [dict(p) for p in ports]}
    if canary.spec.service.headless:
        spec["clusterIP"] = "None"
    return {"apiVersion": "v1", "kind": "Service", "metadata": object_meta(canary, name, labels, annotations), "spec": spec}


def render_services(canary: Canary, target: Mapping[str, Any], *, label: str, value: str) -> dict[str, dict[str, Any]]:
    """{"apex": ..., "primary": ..., "canary": ...}."""
    apex = canary.spec.apex_name
    ports = _ports(canary, target)
    svc = canary.spec.service
    return {
        "canary": _service(canary, f"{apex}-canary", {label: value}, label, svc.canary, ports),
        "primary": _service(canary, f"{apex}-primary", {label: f"{value}-primary"}, label, svc.primary, ports),
        "apex": _service(canary, apex, {label: f"{value}-primary"}, label, svc.apex, ports),
    }
