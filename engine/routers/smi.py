"""The SMI TrafficSplit router (`split.smi-spec.io` v1alpha1, v1alpha2 or v1alpha3): cronary's first router.

It serves the providers `smi:istio`, `smi:linkerd`, `linkerd`, `osm` and `smi:<version>[:<mesh>]`, one
TrafficSplit per canary named after its apex Service, backends canary first, then primary. SMI has no
mirroring: a mirror asked for is not rendered and never read back (Flagger's SMI router ignores it too).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..model import Canary
from ..render.meta import owner_reference
from .router import Kind, Objects, Routes, split

GROUP = "split.smi-spec.io"
VERSIONS = ("v1alpha1", "v1alpha2", "v1alpha3")
KINDS: tuple[Kind, ...] = tuple((f"{GROUP}/{version}", "TrafficSplit") for version in VERSIONS)  # every one it may own
PROVIDERS = (
    "smi:istio, smi:linkerd, linkerd, osm, smi:v1alpha1|2|3[:mesh]"  # as the unsupported-provider error lists them
)
GATEWAYS_ANNOTATION = "VirtualService.v1alpha3.networking.istio.io/spec.gateways"


@dataclass(frozen=True)
class SmiTrafficSplit:
    """The TrafficSplit of one SMI version, for one mesh (`istio` adds the gateways annotation the SMI Istio
    adapter reads; `linkerd`, `osm` or "" add nothing)."""

    version: str  # "v1alpha1" | "v1alpha2" | "v1alpha3"
    mesh: str  # the mesh suffix ("istio", "linkerd", "osm", or "")

    @property
    def kinds(self) -> tuple[Kind, ...]:
        return ((f"{GROUP}/{self.version}", "TrafficSplit"),)

    def render(
        self, canary: Canary, routes: Routes, owner: Mapping[str, Any] | None = None
    ) -> tuple[dict[str, Any], ...]:
        return (render_traffic_split(canary, self, routes, owner=owner),)

    def read_routes(self, canary: Canary, objects: Objects) -> Routes | None:
        found = objects.get(("TrafficSplit", canary.namespace, canary.spec.apex_name))
        if found is None:
            return split(0)  # no TrafficSplit: the apex Service selects the primary, so the canary gets nothing
        weight = read_canary_weight(canary, found)
        return None if weight is None else split(weight)


def router_for(name: str) -> tuple[SmiTrafficSplit, str] | None:
    """The TrafficSplit and the built-in query set of provider `name`, if it is one of SMI's (else None)."""
    parts = name.split(":")
    if name in ("smi:istio", "smi:linkerd"):
        mesh = parts[1]
        return SmiTrafficSplit("v1alpha1", mesh), "linkerd" if mesh == "linkerd" else "istio"
    if name == "linkerd":
        return SmiTrafficSplit("v1alpha1", "linkerd"), "linkerd"
    if name == "osm":
        return SmiTrafficSplit("v1alpha2", "osm"), "osm"
    if parts[0] == "smi" and len(parts) in (2, 3) and parts[1] in VERSIONS:
        mesh = parts[2] if len(parts) == 3 else ""
        return SmiTrafficSplit(parts[1], mesh), "linkerd" if mesh == "linkerd" else "istio"
    return None


def _gateways_annotation(gateways: tuple[str, ...]) -> str:
    return json.dumps(list(gateways), separators=(",", ":"))


def _build(canary: Canary, router: SmiTrafficSplit, routes: Routes, owner: Mapping[str, Any] | None) -> dict[str, Any]:
    apex = canary.spec.apex_name
    svc = canary.spec.service

    def weight(value: int) -> Any:
        return str(value) if router.version == "v1alpha1" else value

    meta: dict[str, Any] = {"name": apex, "namespace": canary.namespace}
    if router.mesh == "istio" and svc.gateways:
        meta["annotations"] = {GATEWAYS_ANNOTATION: _gateways_annotation(tuple(svc.gateways))}
    if owner:  # object_meta's metadata, built directly
        meta["ownerReferences"] = [owner]
    return {
        "apiVersion": f"{GROUP}/{router.version}",
        "kind": "TrafficSplit",
        "metadata": meta,
        "spec": {
            "service": svc.hosts[0] if svc.hosts else apex,
            "backends": [
                {"service": f"{apex}-canary", "weight": weight(routes.canary)},
                {"service": f"{apex}-primary", "weight": weight(routes.primary)},
            ],
        },
    }


def render_traffic_split(
    canary: Canary, router: SmiTrafficSplit, routes: Routes, *, owner: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Backends canary first, then primary, weights summing to 100. v1alpha1 weights are Quantity strings.

    Remembered by what it depends on (the canary's identity, apex name, gateways and hosts, the router and
    the weights, as `lru_cache` would); each call gets a fresh copy down to `metadata` and `spec`."""
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
        router.version,
        router.mesh,
        routes.canary,
        type(routes.canary),
        routes.primary,
        type(routes.primary),
    )  # the types too: 20 and 20.0 are equal keys but different weights
    try:
        remembered = _REMEMBERED.get(key)
    except TypeError:  # a value the parser let through that cannot be a key: nothing to remember it by
        return _build(canary, router, routes, owner)
    if remembered is None or (remembered[0] is not owner and remembered[0] != owner):
        remembered = (owner, _build(canary, router, routes, owner))
        if len(_REMEMBERED) >= _REMEMBER_AT_MOST:
            _REMEMBERED.clear()
        _REMEMBERED[key] = remembered
    found = remembered[1]
    return {**found, "metadata": dict(found["metadata"]), "spec": dict(found["spec"])}


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


def read_canary_weight(canary: Canary, found: Mapping[str, Any]) -> int | None:
    """The canary's share of traffic in an observed TrafficSplit (primary = 100 - canary), or None."""
    apex = canary.spec.apex_name
    weights: dict[str, int] = {}
    for backend in (found.get("spec") or {}).get("backends") or []:
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
