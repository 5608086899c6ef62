"""Webhook types, each with its traits in one row of `HOOK_TYPES`.

Everything cronary knows about a type of webhook is here: the spelling a Canary may use (and Flagger's aliases),
whether it is a gate (a question asked afresh each time) or has side effects (an action the shell calls at most
once per decision), the phases the tick calls it in, and Flagger's words when one passes. A new type is one
`HookType` member, one row, and the tick step that calls it; the parser (`engine.canary_spec`), the messages
(`engine.messages.HOOK_PASSED`), the idempotency key (`engine.tick`) and the shell's hook guard read the row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

from .phases import Phase


class HookType(str, Enum):
    """Webhook types (`spec.analysis.webhooks[].type`); Flagger's empty type means `rollout`."""

    CONFIRM_ROLLOUT = "confirm-rollout"
    PRE_ROLLOUT = "pre-rollout"
    ROLLOUT = "rollout"
    CONFIRM_TRAFFIC_INCREASE = "confirm-traffic-increase"
    CONFIRM_PROMOTION = "confirm-promotion"
    POST_ROLLOUT = "post-rollout"
    ROLLBACK = "rollback"
    EVENT = "event"

    @property
    def is_gate(self) -> bool:
        """A question (may the rollout go on?), asked afresh each time: its idempotency key carries the time."""
        return HOOK_TYPES[self].gate

    @property
    def has_side_effects(self) -> bool:
        """An action (a load test, a migration): its call and answer are noted in the status, so a re-run uses
        the answer instead of acting twice."""
        return HOOK_TYPES[self].side_effects


@dataclass(frozen=True)
class HookTraits:
    """What a type of webhook is: one row of `HOOK_TYPES`."""

    gate: bool = False  # a question: asked afresh each time (its idempotency key carries the time)
    side_effects: bool = False  # an action: called at most once per decision (the shell's hook guard)
    phases: frozenset[Phase] = frozenset()  # the phases it is called in, as its payload's `phase` says
    passed: str = ""  # Flagger's words when one passes (`engine.messages.HOOK_PASSED`); "": it says nothing
    aliases: tuple[str, ...] = ()  # other spellings Flagger accepts for the type


_P = Phase
HOOK_TYPES: Mapping[HookType, HookTraits] = {
    HookType.CONFIRM_ROLLOUT: HookTraits(
        gate=True,
        phases=frozenset({_P.INITIALIZED, _P.WAITING, _P.SUCCEEDED, _P.FAILED}),  # before a revision is accepted
        passed="Confirm-rollout check {hook} passed",
    ),
    HookType.PRE_ROLLOUT: HookTraits(
        side_effects=True, phases=frozenset({_P.PROGRESSING}), passed="Pre-rollout check {hook} passed"
    ),
    HookType.ROLLOUT: HookTraits(side_effects=True, phases=frozenset({_P.PROGRESSING}), aliases=("",)),
    HookType.CONFIRM_TRAFFIC_INCREASE: HookTraits(
        gate=True, phases=frozenset({_P.PROGRESSING}), passed="Confirm-traffic-increase check {hook} passed"
    ),
    HookType.CONFIRM_PROMOTION: HookTraits(
        gate=True, phases=frozenset({_P.PROGRESSING}), passed="Confirm-promotion check {hook} passed"
    ),
    HookType.POST_ROLLOUT: HookTraits(
        side_effects=True, phases=frozenset({_P.SUCCEEDED, _P.FAILED}), passed="Post-rollout check {hook} passed"
    ),
    HookType.ROLLBACK: HookTraits(phases=frozenset({_P.PROGRESSING, _P.WAITING_PROMOTION})),  # while analysing
    HookType.EVENT: HookTraits(phases=frozenset(_P)),  # the shell's, on every event of every phase
}

# Every spelling a Canary may give a type: its value and Flagger's aliases.
SPELLINGS: Mapping[str, HookType] = {
    spelling: hook_type for hook_type, traits in HOOK_TYPES.items() for spelling in (*traits.aliases, hook_type.value)
}
