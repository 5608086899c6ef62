"""The SMI TrafficSplit (`split.smi-spec.io` v1alpha1, v1alpha2 or v1alpha3), and reading weights back."""

from __future__ import annotations

import json
from typing import Any, Mapping

from .model import Canary
from .providers import Provider
from .render_meta import object_meta

GATEWAYS_ANNOTATION = "VirtualService.v1alpha3.networking.istio.io/spec.gateways"


def render_traffic_split(canary: Canary, provider: Provider, canary_weight: int) -> dict[str, Any]:
    """Backends canary first, then primary, weights summing to 100. v1alpha1 weights are Quantity strings."""
    apex = canary.spec.apex_name
    svc = canary.spec.service

    def weight(value: int) -> Any:
        return str(value) if provider.split_version == "v1alpha1" else value

    annotations = {}
    if provider.mesh == "istio" and svc.gateways:
        annotations[GATEWAYS_ANNOTATION] = json.dumps(list(svc.gateways), separators=(",", ":"))
    return {
        "apiVersion": f"split.smi-spec.io/{provider.split_version}",
        "kind": "TrafficSplit",
        "metadata": object_meta(canary, apex, annotations=annotations),
        "spec": {
            "service": svc.hosts[0] if svc.hosts else apex,
            "backends": [
                {"service": f"{apex}-canary", "weight": weight(canary_weight)},
                {"service": f"{apex}-primary", "weight": weight(100 - canary_weight)},
            ],
        },
    }


def _quantity(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return int(text)
        if text.endswith("m") and text[:-1].isdigit():
            return int(text[:-1]) // 1000
    return None


def read_canary_weight(canary: Canary, split: Mapping[str, Any] | None) -> int | None:
    """The canary's share of traffic in an observed TrafficSplit (primary = 100 - canary), or None."""
    if split is None:
        return None
    apex = canary.spec.apex_name
    weights: dict[str, int] = {}
    for backend in (split.get("spec") or {}).get("backends") or []:
        parsed = _quantity(backend.get("weight"))
        if parsed is not None:
            weights[str(backend.get("service"))] = parsed
    primary, canary_w = weights.get(f"{apex}-primary"), weights.get(f"{apex}-canary")
    if primary is None or canary_w is None or primary + canary_w <= 0:
        return None
    return max(0, min(100, round(100 * canary_w / (primary + canary_w))))
