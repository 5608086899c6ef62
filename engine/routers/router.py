"""The one protocol every router follows, and the values it speaks in.

A router owns the objects that decide where a canary's traffic goes (an SMI TrafficSplit; later an Istio
VirtualService with its DestinationRules, a Gateway API HTTPRoute, or nothing at all for plain Kubernetes
blue/green). Like Flagger's `pkg/router` interface (`Reconcile` + `SetRoutes`, `GetRoutes`), but pure: it
renders its objects for given routes and reads the routes back from the objects a tick observed; the shell
applies what it renders. It names the kinds it owns, `(apiVersion, kind)`, so the shell's resource registry
(`cronjob/shared/resources.py`) knows what to list and apply for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from ..model import Canary

Kind = tuple[str, str]  # (apiVersion, kind), as the shell's resource registry is keyed
Objects = Mapping[tuple[str, str, str], Mapping[str, Any]]  # a ClusterView's objects, by (kind, namespace, name)


@dataclass(frozen=True)
class Routes:
    """Where a canary's traffic goes: the percent routed to the primary and to the canary, and whether the canary
    also gets a mirror of the primary's traffic (Flagger's `SetRoutes(primary, canary, mirrored)`)."""

    primary: int
    canary: int
    mirrored: bool = False


_SPLITS = tuple(Routes(100 - weight, weight) for weight in range(101))  # values, so shared: one per weight


def split(canary_weight: Any) -> Routes:
    """`canary_weight` percent to the canary, the rest to the primary, nothing mirrored."""
    if type(canary_weight) is int and 0 <= canary_weight <= 100:
        return _SPLITS[canary_weight]
    return Routes(100 - canary_weight, canary_weight)


class Router(Protocol):
    """One router, set up for one provider (e.g. the TrafficSplit version and mesh of `smi:v1alpha2:osm`). A router
    is a frozen value: providers are compared and remembered by it."""

    @property
    def kinds(self) -> tuple[Kind, ...]:
        """The `(apiVersion, kind)` of every object `render` returns for this provider (none: a router that needs
        no object). The shell lists and applies these, and only these, for the canary's routes."""
        ...

    def render(self, canary: Canary, routes: Routes, owner: Mapping[str, Any] | None) -> tuple[dict[str, Any], ...]:
        """The routing objects for `routes`, in the order they are applied; `owner` is the canary's owner
        reference. Each call returns new top-level dicts (a caller may change them); the values below are
        shared and read-only, as every rendered value is."""
        ...

    def read_routes(self, canary: Canary, objects: Objects) -> Routes | None:
        """The routes the observed objects give the canary; None when they cannot be read (a tick then routes
        what the status records). No object yet is the routes the cluster has without one."""
        ...
