"""A rollout's timeline, one row per tick (`simulate` and `history` both produce it), and its readable table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TickRecord:
    """One tick of a rollout as a timeline shows it."""

    tick: int
    time: str
    phase: str
    canary_weight: int
    failed_checks: int
    iterations: int
    traffic: int | None
    events: tuple[str, ...]
    warnings: tuple[bool, ...]
    metrics: tuple[tuple[str, float | None, str, bool], ...]
    hooks: tuple[tuple[str, str, bool], ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "tick": self.tick,
            "time": self.time,
            "phase": self.phase,
            "canaryWeight": self.canary_weight,
            "failedChecks": self.failed_checks,
            "iterations": self.iterations,
            "trafficWeight": self.traffic,
            "events": list(self.events),
            "metrics": [{"name": n, "value": v, "bound": b, "passed": p} for n, v, b, p in self.metrics],
            "webhooks": [{"name": n, "type": t, "ok": ok} for n, t, ok in self.hooks],
        }


def format_table(records: Sequence[TickRecord]) -> str:
    header = f"{'TICK':>4}  {'TIME':20}  {'PHASE':16}  {'WEIGHT':>6}  {'TRAFFIC':>7}  {'FAILED':>6}  EVENTS"
    lines = [header]
    for r in records:
        traffic = "-" if r.traffic is None else str(r.traffic)
        events = list(r.events) or ["-"]
        prefix = f"{r.tick:>4}  {r.time:20}  {r.phase:16}  {r.canary_weight:>6}  {traffic:>7}  {r.failed_checks:>6}  "
        lines.append(prefix + events[0])
        lines.extend(" " * len(prefix) + e for e in events[1:])
    return "\n".join(lines) + "\n"
