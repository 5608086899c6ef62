"""The readable `simulate -o table` timeline."""

from __future__ import annotations

from collections.abc import Sequence

from .simulation import TickRecord


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
