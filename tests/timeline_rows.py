"""Expected-timeline building blocks shared by the timeline and gate tests (seed scenarios start at 10:00:00
and tick every 10 s)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import NamedTuple

START = datetime(2026, 11, 27, 10, 0, 0, tzinfo=timezone.utc)
INTERVAL = timedelta(seconds=10)


def advance(weight: int) -> str:
    return f"Advance podinfo.test canary weight {weight}"


def at(tick: int) -> str:
    return (START + INTERVAL * (tick - 1)).strftime("%Y-%m-%dT%H:%M:%SZ")


class Row(NamedTuple):
    """One expected tick: the status after it, the routed canary weight, and its events in order."""

    tick: int
    phase: str
    weight: int
    traffic: int | None
    failed: int
    events: tuple[str, ...]


def row(tick: int, phase: str, weight: int, traffic: int | None, failed: int, *events: str) -> Row:
    return Row(tick, phase, weight, traffic, failed, tuple(events))
