"""The SMI TrafficSplit (`split.smi-spec.io` v1alpha1, v1alpha2 or v1alpha3), and reading weights back."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .model import Canary
from .providers import Provider
from .render_meta import owner_reference

GATEWAYS_ANNOTATION = "VirtualService.v1alpha3.networking.istio.io/spec.gateways"


def _gateways_annotation(gateways: tuple[str, ...]) -> str:
    return json.dumps(list(gateways), separators=(",", ":"))


def _build(canary: Canary, provider: Provider, canary_weight: int, owner: Mapping[str, Any]) -> dict[str, Any]:
    apex = canary.spec.apex_name
    svc = canary.spec.service

    def weight(value: int) -> Any:
        return str(value) if provider.split_version == "v1alpha1" else value

    meta: dict[str, Any] = {"name": apex, "namespace": canary.namespace}
    if provider.mesh == "istio" and svc.gateways:
        meta["annotations"] = {GATEWAYS_ANNOTATION: _gateways_annotation(tuple(svc.gateways))}
    meta["ownerReferences"] = [owner]  # object_meta's metadata, built directly
    return {
        "apiVersion": f"split.smi-spec.io/{provider.split_version}",
        "kind": "TrafficSplit",
        "metadata": meta,
        "spec": {
            "service": svc.hosts[0] if svc.hosts else apex,
            "backends": [
                {"service": f"{apex}-canary", "weight": weight(canary_weight)},
                {"service": f"{apex}-primary", "weight": weight(100 - canary_weight)},
            ],
        },
    }


def render_traffic_split(
    canary: Canary, provider: Provider, canary_weight: int, *, owner: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Backends canary first, then primary, weights summing to 100. v1alpha1 weights are Quantity strings.

    Remembered by what it depends on (the canary's identity, apex name, gateways and hosts, the provider and
    the weight, as `lru_cache` would); each call gets a fresh copy down to `metadata` and `spec`."""
    if owner is None:
        owner = owner_reference(canary)
    svc = canary.spec.service
    key = (
        canary.api_version,
        canary.name,
        canary.namespace,
        canary.uid,
        canary.spec.apex_name,
        svc.gateways,
        svc.hosts,
        provider.split_version,
        provider.mesh,
        canary_weight,
        type(canary_weight),
    )  # the type too: 20 and 20.0 are equal keys but different weights
    try:
        remembered = _REMEMBERED.get(key)
    except TypeError:  # a value the parser let through that cannot be a key: nothing to remember it by
        return _build(canary, provider, canary_weight, owner)
    if remembered is None or (remembered[0] is not owner and remembered[0] != owner):
        remembered = (owner, _build(canary, provider, canary_weight, owner))
        if len(_REMEMBERED) >= _REMEMBER_AT_MOST:
            _REMEMBERED.clear()
        _REMEMBERED[key] = remembered
    split = remembered[1]
    return {**split, "metadata": dict(split["metadata"]), "spec": dict(split["spec"])}


_REMEMBERED: dict[tuple[Any, ...], tuple[Mapping[str, Any], dict[str, Any]]] = {}
_REMEMBER_AT_MOST = 8192


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
        weight = backend.get("weight")
        # what cronary writes first (v1alpha1 digit strings, v1alpha2/3 ints); the same as _quantity for them
        parsed = (
            int(weight)
            if type(weight) is str and weight.isdigit()
            else weight
            if type(weight) is int
            else _quantity(weight)
        )
        if parsed is not None:
            weights[str(backend.get("service"))] = parsed
    primary, canary_w = weights.get(f"{apex}-primary"), weights.get(f"{apex}-canary")
    if primary is None or canary_w is None or primary + canary_w <= 0:
        return None
    return max(0, min(100, round(100 * canary_w / (primary + canary_w))))
