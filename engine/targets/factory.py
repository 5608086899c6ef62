"""The target factory: a canary's `spec.targetRef.kind` names its `TargetKind`, as Flagger's `canary.Factory`
chooses a controller by `targetRef.kind`. A new kind is one module in this package and one line in `TARGETS`."""

from __future__ import annotations

from collections.abc import Mapping

from ..errors import SpecError
from .deployment import DEPLOYMENT
from .target import TargetKind

TARGETS: Mapping[str, TargetKind] = {
    DEPLOYMENT.kind: DEPLOYMENT,
}
TARGET_KINDS = tuple(TARGETS)  # the `spec.targetRef.kind`s a Canary may name, as its parser lists them


def target_kind(kind: str) -> TargetKind:
    """The target kind of `spec.targetRef.kind`; one cronary does not know is the parser's `SpecError`."""
    found = TARGETS.get(kind)
    if found is None:
        raise SpecError("spec.targetRef.kind", f"must be one of {', '.join(TARGET_KINDS)}, got {kind!r}")
    return found
