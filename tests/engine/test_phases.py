"""The phase transition table (reference §2.4.5), row by row, and the conditions per phase (`engine.phases`)."""

from __future__ import annotations

import pytest

from engine.phases import CONDITIONS, TRANSITIONS, IllegalTransition, Phase, Trigger, promoted_condition, transition

# The §2.4.5 table, row by row (engine triggers named for the reference's trigger column).
REFERENCE_MOVES = [
    (Phase.NONE, Trigger.DISCOVERED, Phase.INITIALIZING),
    (Phase.INITIALIZING, Trigger.INITIALIZED, Phase.INITIALIZED),
    (Phase.NONE, Trigger.INITIALIZED, Phase.INITIALIZED),
    (Phase.NONE, Trigger.ROLLBACK, Phase.FAILED),
    (Phase.INITIALIZING, Trigger.ROLLBACK, Phase.FAILED),
    *[(p, Trigger.GATE_CLOSED, Phase.WAITING) for p in (Phase.INITIALIZED, Phase.SUCCEEDED, Phase.FAILED)],
    *[
        (p, Trigger.REVISION_ACCEPTED, Phase.PROGRESSING)
        for p in (Phase.INITIALIZED, Phase.SUCCEEDED, Phase.FAILED, Phase.WAITING)
    ],
    *[(p, Trigger.ROLLBACK, Phase.FAILED) for p in (Phase.INITIALIZED, Phase.SUCCEEDED, Phase.FAILED, Phase.WAITING)],
    *[(p, Trigger.RESTART, Phase.PROGRESSING) for p in (Phase.PROGRESSING, Phase.WAITING_PROMOTION)],
    (Phase.PROGRESSING, Trigger.PROMOTION_GATE_CLOSED, Phase.WAITING_PROMOTION),
    *[(p, Trigger.PROMOTE, Phase.PROMOTING) for p in (Phase.PROGRESSING, Phase.WAITING_PROMOTION)],
    *[
        (p, Trigger.SKIPPED, Phase.SUCCEEDED)
        for p in (Phase.PROGRESSING, Phase.WAITING_PROMOTION, Phase.PROMOTING, Phase.FINALISING)
    ],
    *[(p, Trigger.ROLLBACK, Phase.FAILED) for p in (Phase.PROGRESSING, Phase.WAITING_PROMOTION)],
    # §2.5: canary readiness is gated on every tick past step 18, Promoting and Finalising included, and a
    # non-retriable result rolls back (the §2.4.5 table leaves this row out).
    *[(p, Trigger.ROLLBACK, Phase.FAILED) for p in (Phase.PROMOTING, Phase.FINALISING)],
    (Phase.PROMOTING, Trigger.PRIMARY_STEP, Phase.PROMOTING),
    (Phase.PROMOTING, Trigger.ALL_TO_PRIMARY, Phase.FINALISING),
    *[(p, Trigger.PROMOTION_FAILED, Phase.FAILED) for p in (Phase.PROMOTING, Phase.FINALISING)],
    (Phase.FINALISING, Trigger.SCALED_DOWN, Phase.SUCCEEDED),
]


@pytest.mark.parametrize(("frm", "trigger", "to"), REFERENCE_MOVES, ids=lambda v: getattr(v, "value", v) or "(none)")
def test_transition_allows_the_reference_moves(frm: Phase, trigger: Trigger, to: Phase) -> None:
    assert transition(frm, trigger) == to


ILLEGAL_MOVES = [
    (Phase.INITIALIZED, Trigger.PROMOTE),
    (Phase.SUCCEEDED, Trigger.PROMOTE),
    (Phase.FAILED, Trigger.SCALED_DOWN),
    (Phase.WAITING, Trigger.PROMOTE),
    (Phase.PROGRESSING, Trigger.SCALED_DOWN),
    (Phase.PROGRESSING, Trigger.ALL_TO_PRIMARY),
    (Phase.PROMOTING, Trigger.RESTART),
    (Phase.FINALISING, Trigger.RESTART),
    (Phase.SUCCEEDED, Trigger.INITIALIZED),
    (Phase.INITIALIZED, Trigger.RESTART),
    (Phase.WAITING_PROMOTION, Trigger.GATE_CLOSED),
    (Phase.INITIALIZED, Trigger.PROMOTION_FAILED),
    (Phase.TERMINATED, Trigger.REVISION_ACCEPTED),
]


@pytest.mark.parametrize(("frm", "trigger"), ILLEGAL_MOVES, ids=lambda v: getattr(v, "value", v) or "(none)")
def test_transition_rejects_illegal_moves(frm: Phase, trigger: Trigger) -> None:
    with pytest.raises(IllegalTransition):
        transition(frm, trigger)


def test_transition_table_has_nothing_beyond_the_reference() -> None:
    """Every entry of TRANSITIONS is a §2.4.5 move (or discovery from any phase, or WaitingPromotion staying put)."""
    allowed = {(f, t): to for f, t, to in REFERENCE_MOVES}
    extra = {
        (f, t): to
        for (f, t), to in TRANSITIONS.items()
        if allowed.get((f, t)) != to
        and t != Trigger.DISCOVERED
        and (f, t) != (Phase.WAITING_PROMOTION, Trigger.PROMOTION_GATE_CLOSED)
        and t != Trigger.PROMOTION_LOST  # cronary's recovery from a lost primary write, tested in test_crash_safety
    }
    assert not extra
    assert all(to == Phase.INITIALIZING for (f, t), to in TRANSITIONS.items() if t == Trigger.DISCOVERED)


@pytest.mark.parametrize(
    ("phase", "status", "message"),
    [
        (Phase.INITIALIZING, "Unknown", "New Deployment detected, starting initialization."),
        (Phase.INITIALIZED, "True", "Deployment initialization completed."),
        (Phase.WAITING, "Unknown", "Waiting for approval."),
        (Phase.WAITING_PROMOTION, "Unknown", "Waiting for approval."),
        (Phase.PROGRESSING, "Unknown", "New revision detected, progressing canary analysis."),
        (Phase.PROMOTING, "Unknown", "Canary analysis completed, starting primary rolling update."),
        (Phase.FINALISING, "Unknown", "Canary analysis completed, routing all traffic to primary."),
        (Phase.SUCCEEDED, "True", "Canary analysis completed successfully, promotion finished."),
        (Phase.FAILED, "False", "Canary analysis failed, Deployment scaled to zero."),
        (Phase.TERMINATING, "Unknown", "New Deployment detected, starting initialization."),
    ],
    ids=lambda v: getattr(v, "value", None) or (v if isinstance(v, str) and len(v) < 12 else "msg"),
)
def test_promoted_condition_per_phase(phase: Phase, status: str, message: str) -> None:
    assert promoted_condition(phase, "Deployment") == (status, phase.value, message)


def test_promoted_condition_names_the_kind() -> None:
    assert promoted_condition(Phase.FAILED, "DaemonSet")[2] == "Canary analysis failed, DaemonSet scaled to zero."
    assert promoted_condition(Phase.INITIALIZED, "Service")[2] == "Service initialization completed."
    assert set(CONDITIONS) >= {p for p in Phase if p not in (Phase.NONE, Phase.TERMINATING, Phase.TERMINATED)}
