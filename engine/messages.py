"""Flagger's event messages, one named template each: what the tick says, word for word, and who it is.

Users grep logs for Flagger's texts (`Advance podinfo.test canary weight 10`), so the texts are Flagger's and are
pinned by the goldens and timelines. What the rest of cronary reacts to is a message's *identity*, never its
text: the tick builds each `Event` from one of these (`Message.event`), the event carries the identity and the
values the text was filled with, and alerts (`engine.alerting.alerts`) select events by identity and quote the values.
A message whose words change still raises its alert.

The values are named in the template (`{canary}`: `<name>.<namespace>` of the Canary, `{target}`: of its
target, `{primary}`: of the primary Deployment, `{hook}`: a webhook's name, `{answer}`: what it answered).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .hooks import HOOK_TYPES
from .model import build_frozen
from .protocol import Event
from .redact import redact

NORMAL, WARNING = "Normal", "Warning"
_FIELD = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Message:
    """One event message: `id` is who it is (stable), `text` the `str.format` template of Flagger's words."""

    id: str
    text: str
    type: str = NORMAL  # Normal | Warning

    @property
    def fields(self) -> tuple[str, ...]:
        """The values the text names, in order."""
        return tuple(_FIELD.findall(self.text))

    def event(self, phase: str, **values: Any) -> Event:
        """The event saying this message with `values`, recorded in `phase`. Its text goes to logs, Kubernetes
        Events, the status and commits as is, so any URL in it (or in a value) is cut to its origin (`redact`),
        whoever wrote the text it quotes."""
        text = self.text.format(**values) if values else self.text
        message = redact(text)
        if message == text:  # nothing to cut (the usual case): nor in the values, which are pieces of it
            shown = tuple([(name, value if type(value) is str else str(value)) for name, value in values.items()])
        else:
            shown = tuple([(name, redact(str(value))) for name, value in values.items()])
        return build_frozen(
            Event,
            {
                "type": self.type,
                "message": message,
                "phase": phase,
                "reason": "Synced",
                "message_id": self.id,
                "values": shown,
            },
        )


def _normal(identity: str, text: str) -> Message:
    return Message(identity, text, NORMAL)


def _warning(identity: str, text: str) -> Message:
    return Message(identity, text, WARNING)


# -- initialization
SUSPENDED = _normal("suspended", "skipping canary run as object is suspended")
PROVIDER_INVALID = _warning("provider-invalid", "{error}")
TARGET_UNUSABLE = _warning("target-unusable", "{problem}")
PROVIDERS_AVAILABLE = _normal("providers-available", "all the metrics providers are available!")
PROVIDERS_UNAVAILABLE = _warning("providers-unavailable", "Error checking metric providers: {error}")
PRIMARY_NOT_READY = _warning("primary-not-ready", "{primary} not ready: {reason}")
HPA_NOT_FOUND = _warning("hpa-not-found", "HorizontalPodAutoscaler {hpa} not found")
INITIALIZED = _normal("initialized", "Initialization done! {canary}")

# -- a new revision
NEW_REVISION = _normal("new-revision", "New revision detected! Scaling up {target}")
NEW_REVISION_RESTART = _normal("new-revision-restart", "New revision detected! Restarting analysis for {target}")
CANARY_NOT_READY = _warning("canary-not-ready", "canary deployment {target} not ready: {reason}")

# -- gates and hooks
WAITING_FOR_APPROVAL = _warning("waiting-for-approval", "Halt {canary} advancement waiting for approval {hook}")
WAITING_FOR_TRAFFIC_APPROVAL = _warning(
    "waiting-for-traffic-approval", "Halt {canary} advancement waiting for traffic increase approval {hook}"
)
WAITING_FOR_PROMOTION_APPROVAL = _warning(
    "waiting-for-promotion-approval", "Halt {canary} advancement waiting for promotion approval {hook}"
)
# What a hook of a type says when it passes: its row's words (`engine.hooks.HOOK_TYPES`), as `<type>-passed`.
HOOK_PASSED = {
    hook_type: _normal(f"{hook_type.value}-passed", traits.passed)
    for hook_type, traits in HOOK_TYPES.items()
    if traits.passed
}
PRE_ROLLOUT_FAILED = _warning(
    "pre-rollout-failed", "Halt {canary} advancement pre-rollout check {hook} failed {answer}"
)
ROLLOUT_CHECK_FAILED = _warning(
    "rollout-check-failed", "Halt {canary} advancement external check {hook} failed {answer}"
)
POST_ROLLOUT_FAILED = _warning("post-rollout-failed", "Post-rollout hook {hook} failed {answer}")
ROLLBACK_CHECK_PASSED = _warning("rollback-check-passed", "Rollback check {hook} passed")
ROLLBACK_NOT_SIGNALLED = _normal("rollback-not-signalled", "Rollback hook {hook} not signaling a rollback")

# -- analysis and traffic
STARTING_ANALYSIS = _normal("starting-analysis", "Starting canary analysis for {target}")
METRIC_CHECK_FAILED = _warning("metric-check-failed", "{verdict}")  # engine.analysis words each verdict
ADVANCE_CANARY_WEIGHT = _normal("advance-canary-weight", "Advance {canary} canary weight {weight}")
COPYING_TEMPLATE = _normal("copying-template", "Copying {target} template spec to {primary}")
ADVANCE_PRIMARY_WEIGHT = _normal("advance-primary-weight", "Advance {canary} primary weight {weight}")
ALL_TRAFFIC_TO_PRIMARY = _normal("all-traffic-to-primary", "Routing all traffic to primary")
PROMOTION_COMPLETED = _normal("promotion-completed", "Promotion completed! Scaling down {target}")
PROMOTION_SKIPPED_ANALYSIS = _normal(
    "promotion-skipped-analysis", "Promotion completed! Canary analysis was skipped for {target}"
)

# -- failure
ROLLBACK_FAILED_CHECKS = _warning(
    "rollback-failed-checks", "Rolling back {canary} failed checks threshold reached {checks}"
)
ROLLBACK_MANUAL = _warning("rollback-manual", "Rolling back {canary} manual webhook invoked")
# Flagger's; cronary's tick words a deadline it sees as the Deployment's readiness reason instead.
ROLLBACK_PROGRESS_DEADLINE = _warning(
    "rollback-progress-deadline", "Rolling back {canary} progress deadline exceeded {error}"
)
CANARY_FAILED = _warning("canary-failed", "Canary failed! Scaling down {canary}")
PROMOTION_FAILED = _warning("promotion-failed", "Promotion of {target} failed, primary not ready: {reason}")


def _all() -> tuple[Message, ...]:
    found = [v for v in globals().values() if isinstance(v, Message)]
    found += HOOK_PASSED.values()
    return tuple(found)


MESSAGES: tuple[Message, ...] = _all()
"""Every message, for tests and docs: each identity is unique."""
