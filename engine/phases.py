"""Canary phases, the `Promoted` condition per phase, and the legal transitions — as data.

The tick (`engine.tick`) never assigns a phase directly: it names a trigger, and `transition` looks the
move up in `TRANSITIONS`, so an illegal move is a bug caught at the point it happens (and by the
property tests), not a strange status in someone's cluster.
"""

from __future__ import annotations

from enum import Enum


class Phase(str, Enum):
    NONE = ""
    INITIALIZING = "Initializing"
    INITIALIZED = "Initialized"
    WAITING = "Waiting"
    PROGRESSING = "Progressing"
    WAITING_PROMOTION = "WaitingPromotion"
    PROMOTING = "Promoting"
    FINALISING = "Finalising"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    TERMINATING = "Terminating"
    TERMINATED = "Terminated"


# Phase groups: every rule that names several phases names one of these (the tick, the shell, the tests).
ACTIVE = frozenset({Phase.PROGRESSING, Phase.WAITING, Phase.WAITING_PROMOTION, Phase.PROMOTING, Phase.FINALISING})
IDLE = frozenset({Phase.INITIALIZED, Phase.SUCCEEDED, Phase.FAILED})  # at rest: nothing happens until something changes
INITIAL = frozenset({Phase.NONE, Phase.INITIALIZING})
ANALYSING = frozenset({Phase.PROGRESSING, Phase.WAITING_PROMOTION})
ROUTED = frozenset({Phase.PROGRESSING, Phase.WAITING, Phase.PROMOTING})  # keep their canary weight on a move
COUNTING = ROUTED | {Phase.WAITING_PROMOTION}  # keep their iterations on a move
PROMOTED = frozenset({Phase.SUCCEEDED, Phase.INITIALIZED})  # the primary runs `lastPromotedSpec`, set on entering
UNDER_WAY = frozenset(
    {Phase.PROGRESSING, Phase.WAITING_PROMOTION, Phase.PROMOTING, Phase.FINALISING}
)  # a revision accepted
PAST_TRAFFIC_STEPS = frozenset({Phase.PROMOTING, Phase.WAITING_PROMOTION, Phase.FINALISING})  # no more canary steps
SCALED_UP = frozenset({Phase.PROGRESSING, Phase.WAITING_PROMOTION, Phase.PROMOTING})  # the target runs pods
GROWING = frozenset({Phase.PROGRESSING, Phase.WAITING, Phase.WAITING_PROMOTION})  # the canary's traffic only grows
KEEPS_FAILED_CHECKS = frozenset(
    {Phase.PROGRESSING, Phase.WAITING, Phase.WAITING_PROMOTION, Phase.PROMOTING}
)  # an analysis' checks still count


class Trigger(str, Enum):
    DISCOVERED = "discovered"  # a Canary with no conditions yet
    INITIALIZED = "initialized"  # primary ready, services and routes reconciled
    GATE_CLOSED = "confirm-rollout rejected"
    REVISION_ACCEPTED = "new revision accepted"
    RESTART = "new revision mid-analysis"
    PROMOTION_GATE_CLOSED = "confirm-promotion rejected"
    PROMOTE = "promotion approved"
    PRIMARY_STEP = "partial promotion step"
    ALL_TO_PRIMARY = "all traffic on primary"
    SCALED_DOWN = "canary scaled down"
    SKIPPED = "analysis skipped"
    ROLLBACK = "rollback"
    PROMOTION_FAILED = "primary failed during promotion"
    PROMOTION_LOST = "promoted revision gone before the primary got it"  # cronary's own: a lost write, not in Flagger


_P = Phase
_T = Trigger
TRANSITIONS: dict[tuple[Phase, Trigger], Phase] = {
    **{(p, _T.DISCOVERED): _P.INITIALIZING for p in _P},
    (_P.NONE, _T.INITIALIZED): _P.INITIALIZED,
    (_P.NONE, _T.ROLLBACK): _P.FAILED,
    (_P.INITIALIZING, _T.INITIALIZED): _P.INITIALIZED,
    (_P.INITIALIZING, _T.ROLLBACK): _P.FAILED,
    **{(p, _T.GATE_CLOSED): _P.WAITING for p in (_P.INITIALIZED, _P.SUCCEEDED, _P.FAILED)},
    **{(p, _T.REVISION_ACCEPTED): _P.PROGRESSING for p in (_P.INITIALIZED, _P.SUCCEEDED, _P.FAILED, _P.WAITING)},
    **{(p, _T.ROLLBACK): _P.FAILED for p in (_P.INITIALIZED, _P.SUCCEEDED, _P.FAILED, _P.WAITING)},
    **{(p, _T.RESTART): _P.PROGRESSING for p in ANALYSING},
    # cronary's own: a promotion whose primary write was lost while the target moved on (tick.finish_promotion)
    **{(p, _T.PROMOTION_LOST): _P.PROGRESSING for p in (_P.PROMOTING, _P.FINALISING)},
    (_P.PROGRESSING, _T.PROMOTION_GATE_CLOSED): _P.WAITING_PROMOTION,
    (_P.WAITING_PROMOTION, _T.PROMOTION_GATE_CLOSED): _P.WAITING_PROMOTION,
    **{(p, _T.PROMOTE): _P.PROMOTING for p in ANALYSING},
    (_P.PROMOTING, _T.PRIMARY_STEP): _P.PROMOTING,
    (_P.PROMOTING, _T.ALL_TO_PRIMARY): _P.FINALISING,
    (_P.FINALISING, _T.SCALED_DOWN): _P.SUCCEEDED,
    **{(p, _T.SKIPPED): _P.SUCCEEDED for p in (_P.PROGRESSING, _P.WAITING_PROMOTION, _P.PROMOTING, _P.FINALISING)},
    **{(p, _T.ROLLBACK): _P.FAILED for p in ANALYSING},
    # a canary that stops being ready (progress deadline) while promoting is rolled back too (step 20)
    **{(p, _T.ROLLBACK): _P.FAILED for p in (_P.PROMOTING, _P.FINALISING)},
    **{(p, _T.PROMOTION_FAILED): _P.FAILED for p in (_P.PROMOTING, _P.FINALISING)},
}


class IllegalTransition(RuntimeError):
    pass


def transition(phase: Phase, trigger: Trigger) -> Phase:
    try:
        return TRANSITIONS[(phase, trigger)]
    except KeyError:
        raise IllegalTransition(f"no transition from {phase.value or '(none)'} on {trigger.value}") from None


# Promoted condition per phase: (status, message); "{kind}" is the target kind.
CONDITIONS: dict[Phase, tuple[str, str]] = {
    _P.INITIALIZING: ("Unknown", "New {kind} detected, starting initialization."),
    _P.INITIALIZED: ("True", "{kind} initialization completed."),
    _P.WAITING: ("Unknown", "Waiting for approval."),
    _P.WAITING_PROMOTION: ("Unknown", "Waiting for approval."),
    _P.PROGRESSING: ("Unknown", "New revision detected, progressing canary analysis."),
    _P.PROMOTING: ("Unknown", "Canary analysis completed, starting primary rolling update."),
    _P.FINALISING: ("Unknown", "Canary analysis completed, routing all traffic to primary."),
    _P.SUCCEEDED: ("True", "Canary analysis completed successfully, promotion finished."),
    _P.FAILED: ("False", "Canary analysis failed, {kind} scaled to zero."),
}


def promoted_condition(phase: Phase, kind: str) -> tuple[str, str, str]:
    """(status, reason, message) of the `Promoted` condition for a phase."""
    status, message = CONDITIONS.get(phase, CONDITIONS[_P.INITIALIZING])
    return status, phase.value, message.format(kind=kind)
