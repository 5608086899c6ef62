"""The order a decision's objects are applied in, as data.

A decision lists its objects slot by slot in `APPLY_ORDER`; the shell applies them in that order and stops at
the first failure, so each object's prerequisites are in place before it (lightkube keeps its apply order as
data the same way). The `-primary` Secret copies come before all of these: the shell writes them, since their
data never enters the engine.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

CANARY_SERVICE = "canary-service"
PRIMARY_SERVICE = "primary-service"
CONFIG_COPIES = "config-copies"
PRIMARY = "primary"
PRIMARY_HPA = "primary-hpa"
APEX_SERVICE = "apex-service"
SCALE_UP = "scale-up"
ROUTES = "routes"
SCALE_DOWN = "scale-down"

APPLY_ORDER = (
    CANARY_SERVICE,  # `<apex>-canary` and `<apex>-primary`: what the routes and the mesh address
    PRIMARY_SERVICE,
    CONFIG_COPIES,  # the `-primary` ConfigMaps, before the primary that mounts them
    PRIMARY,  # the primary Deployment
    PRIMARY_HPA,
    APEX_SERVICE,  # the apex selects the primary only once there is one
    SCALE_UP,  # the target scaled up before anything could route to it
    ROUTES,  # the router's objects
    SCALE_DOWN,  # the target scaled down only after traffic has left it
)


def in_apply_order(slots: Mapping[str, Sequence[dict[str, Any]]]) -> list[dict[str, Any]]:
    """The objects of `slots` (slot -> its objects) as one list in apply order."""
    ordered: list[dict[str, Any]] = []
    for slot in APPLY_ORDER:
        objects = slots.get(slot)
        if objects:
            ordered.extend(objects)
    return ordered
