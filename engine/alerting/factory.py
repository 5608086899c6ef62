"""The notifier registry: an AlertProvider's `spec.type` names the notifier that posts its alerts, as
Flagger's `notifier.Factory` does.

A new provider type is one module in this package holding a `NOTIFIER`, and one entry in `NOTIFIERS` (and its
name out of `FLAGGER_ONLY_TYPES`, if Flagger has it).
"""

from __future__ import annotations

from ..errors import SpecError
from . import discord, generic, msteams, slack
from .alerts import Alert
from .notifier import AlertRequest, Notifier, NotifierTarget

NOTIFIERS: dict[str, Notifier] = {
    module.NOTIFIER.name: module.NOTIFIER for module in (slack, msteams, discord, generic)
}  # every notifier, in the order errors list them
PROVIDER_TYPES = tuple(NOTIFIERS)
FLAGGER_ONLY_TYPES = ("rocket", "gchat")  # Flagger has them; cronary does not post to them


def notifier_for(kind: str, path: str = "spec.type", *, flagger_hint: bool = True) -> Notifier:
    """The notifier of provider type `kind`; a SpecError on `path` for a type cronary does not post to (with
    `flagger_hint`, saying so of a type Flagger has)."""
    found = NOTIFIERS.get(kind)
    if found is None:
        extra = (
            " (Flagger supports it; cronary does not post to it yet)"
            if flagger_hint and kind in FLAGGER_ONLY_TYPES
            else ""
        )
        raise SpecError(path, f"must be one of {', '.join(PROVIDER_TYPES)}, got {kind!r}{extra}")
    return found


def request_for(alert: Alert, target: NotifierTarget) -> AlertRequest:
    """The request that posts `alert` to `target`; ValueError (naming the provider, never its address) for a
    type no notifier serves."""
    found = NOTIFIERS.get(target.type)
    if found is None:
        raise ValueError(f"alert provider {target.label}: type {target.type!r} is not supported")
    return found.request(alert, target)
