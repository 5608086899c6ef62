"""`cronary history`: the rollout timeline rebuilt from `git log` alone (GitOps mode's commits are the evidence).

No git access here: the caller walks the log (pygit2) and hands over (oid, message) pairs; this reads the
cronary trailers of each message (`engine.evidence.parse_commit_message`) and lays them out like `simulate`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from cronjob.shared.timeline import TickRecord, format_table
from engine.evidence import EvidenceError, HistoryEntry, parse_commit_message


def timeline_from_log(commits: Iterable[tuple[str, str]], canary: str | None = None) -> list[HistoryEntry]:
    """Every canary tick recorded in `commits` — (oid, message) pairs newest first, as `git log` gives them —
    oldest first, only `canary`'s (`name.namespace`) when given. Commits without cronary trailers (merges, a
    person's commits, reverts) add nothing; a damaged trailer block raises `EvidenceError` naming the commit."""
    entries: list[HistoryEntry] = []
    for oid, message in reversed(list(commits)):
        try:
            parsed = parse_commit_message(message)
        except EvidenceError as err:
            raise EvidenceError(f"commit {oid[:12]}: {err}") from None
        entries.extend(e for e in parsed if canary is None or e.canary == canary)
    return entries


def format_history_table(entries: Sequence[HistoryEntry]) -> str:
    """The `simulate -o table` look, one table per canary (in order of first appearance), each headed by the
    canary's name when there are several. TICK is the entry's place in its canary's history: only ticks that
    changed something were committed, so it is not the CronJob's tick number."""
    by_canary: dict[str, list[HistoryEntry]] = {}
    for entry in entries:
        by_canary.setdefault(entry.canary, []).append(entry)
    if not by_canary:
        return format_table([])
    tables = [format_table([_record(n, e) for n, e in enumerate(rows, 1)]) for rows in by_canary.values()]
    if len(tables) == 1:
        return tables[0]
    return "\n".join(f"CANARY {name}\n{table}" for name, table in zip(by_canary, tables))


def _record(number: int, entry: HistoryEntry) -> TickRecord:
    """A history entry in the shape `format_table` prints (metrics and webhooks are not in the trailers)."""
    return TickRecord(
        tick=number,
        time=entry.time,
        phase=entry.phase,
        canary_weight=entry.canary_weight,
        failed_checks=entry.failed_checks,
        iterations=entry.iterations,
        traffic=entry.traffic,
        events=entry.events,
        warnings=entry.warnings,
        metrics=(),
        hooks=(),
    )
