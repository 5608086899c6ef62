"""When a canary is due: at most one decision per analysis interval, counted from the last decision.

Asked twice a tick (by the shell, to skip a canary that is not due without reading its target, and by
`decide`), for a whole fleet, so the answers are remembered by the status times they are computed from.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache

from .model import Canary, CanaryStatus
from .timefmt import format_time, parse_time


def interval_seconds(canary: Canary) -> float:
    return canary.spec.effective_analysis.interval_seconds


def last_decision(status: CanaryStatus) -> datetime | None:
    """When the canary was last decided: `lastDecisionTime`, or — where a CRD without that field (Flagger's)
    pruned it — `lastTransitionTime`, which moves with every step; the later of the two."""
    return _last_decision(status.last_decision_time or "", status.last_transition_time or "")


@lru_cache(maxsize=4096)
def _last_decision(decision_time: str, transition_time: str) -> datetime | None:
    times = [t for t in (parse_time(decision_time), parse_time(transition_time)) if t]
    return max(times) if times else None


@lru_cache(maxsize=4096)
def due_text(now: datetime, interval: float) -> str:
    """When a canary decided at `now` is next due, as text."""
    return format_time(now + timedelta(seconds=interval))


def next_due_time(canary: Canary) -> datetime | None:
    status = canary.status
    return _next_due(status.last_decision_time or "", status.last_transition_time or "", interval_seconds(canary))


@lru_cache(maxsize=4096)
def _next_due(decision_time: str, transition_time: str, interval: float) -> datetime | None:
    last = _last_decision(decision_time, transition_time)
    return None if last is None else last + timedelta(seconds=interval)


def is_due(canary: Canary, now: datetime) -> bool:
    """At most one decision per interval: due when never decided, or `interval` after the last decision."""
    status = canary.status
    return _is_due(status.last_decision_time or "", status.last_transition_time or "", interval_seconds(canary), now)


@lru_cache(maxsize=4096)
def _is_due(decision_time: str, transition_time: str, interval: float, now: datetime) -> bool:
    # remembered: a tick asks twice (shell and engine), and comparing aware datetimes is not cheap
    due = _next_due(decision_time, transition_time, interval)
    return due is None or now >= due
