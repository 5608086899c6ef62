"""Mesh providers: which router renders the traffic objects and which query set measures the canary."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import SpecError

# Providers Flagger knows that cronary does not route yet (named so the error can say so).
_NOT_YET = (
    "apisix",
    "appmesh",
    "appmesh:v1beta2",
    "contour",
    "gatewayapi:v1",
    "gatewayapi:v1beta1",
    "gloo",
    "istio",
    "knative",
    "kubernetes",
    "kuma",
    "nginx",
    "skipper",
    "traefik",
)


@dataclass(frozen=True)
class Provider:
    name: str
    split_version: str  # "v1alpha1" | "v1alpha2" | "v1alpha3"
    mesh: str  # the mesh suffix ("istio", "linkerd", "osm", or "")
    metrics: str  # the built-in query set ("istio", "linkerd", "osm")


def resolve_provider(spec_provider: str | None, default: str | None) -> Provider:
    """The provider of a canary: its own `spec.provider`, else the `--mesh-provider` default."""
    name, path = (spec_provider, "spec.provider") if spec_provider else (default, "--mesh-provider")
    if not name:
        raise SpecError("spec.provider", "not set and no --mesh-provider given (the seed guide uses smi:istio)")
    parts = name.split(":")
    if name in ("smi:istio", "smi:linkerd"):
        mesh = parts[1]
        return Provider(name, "v1alpha1", mesh, "linkerd" if mesh == "linkerd" else "istio")
    if name == "linkerd":
        return Provider(name, "v1alpha1", "linkerd", "linkerd")
    if name == "osm":
        return Provider(name, "v1alpha2", "osm", "osm")
    if parts[0] == "smi" and len(parts) in (2, 3) and parts[1] in ("v1alpha1", "v1alpha2", "v1alpha3"):
        mesh = parts[2] if len(parts) == 3 else ""
        return Provider(name, parts[1], mesh, "linkerd" if mesh == "linkerd" else "istio")
    if name in _NOT_YET:
        raise SpecError(
            path,
            f"provider {name!r} is not supported by cronary yet (supported: smi:istio, smi:linkerd, linkerd, osm, smi:v1alpha1|2|3[:mesh])",
        )
    raise SpecError(path, f"unknown provider {name!r}")
