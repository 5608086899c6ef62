"""The router factory: a canary's provider (`spec.provider`, else `--mesh-provider`) names its router and the
built-in query set that measures it, as Flagger's `router.Factory` and `observers.Factory` do.

Each router module answers for the provider names it serves (`router_for`) and says how the error lists them
(`PROVIDERS`); a new router is one module in this package and one entry in `ROUTERS`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import SpecError
from . import smi
from .router import Kind, Router

ROUTERS = (smi,)  # every router module, asked in this order

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
_SUPPORTED = ", ".join(module.PROVIDERS for module in ROUTERS)
ROUTER_KINDS: tuple[Kind, ...] = tuple(kind for module in ROUTERS for kind in module.KINDS)  # any router may own


@dataclass(frozen=True)
class Provider:
    """What a provider means: the router of the canary's traffic and the built-in query set of its metrics."""

    name: str
    router: Router
    metrics: str  # the built-in query set ("istio", "linkerd", "osm")


def resolve_provider(spec_provider: str | None, default: str | None) -> Provider:
    """The provider of a canary: its own `spec.provider`, else the `--mesh-provider` default."""
    name, path = (spec_provider, "spec.provider") if spec_provider else (default, "--mesh-provider")
    if not name:
        raise SpecError("spec.provider", "not set and no --mesh-provider given (the seed guide uses smi:istio)")
    for module in ROUTERS:
        found = module.router_for(name)
        if found is not None:
            router, metrics = found
            return Provider(name, router, metrics)
    if name in _NOT_YET:
        raise SpecError(path, f"provider {name!r} is not supported by cronary yet (supported: {_SUPPORTED})")
    raise SpecError(path, f"unknown provider {name!r}")
