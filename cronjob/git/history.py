"""`cronary history`: the rollout timeline rebuilt from `git log` alone (GitOps mode's commits are the evidence).

No git access here: the caller walks the log (pygit2) and hands over (oid, message) pairs; this reads the
cronary trailers of each message (`engine.evidence.parse_commit_message`) and lays them out like `simulate`.
A hold is a row of its own (its commit's `Hold:` trailer); so is an approval, from a person's commit that wrote
an approval file (`approvals_in` reads its paths), shown at the state the canary was in when it was approved.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

from cronjob.shared.timeline import TickRecord, format_table
from engine.evidence import EvidenceError, HistoryEntry, parse_commit_message


def timeline_from_log(
    commits: Iterable[tuple[str, str]],
    canary: str | None = None,
    approvals: Mapping[str, Sequence[tuple[str, str]]] | None = None,
) -> list[HistoryEntry]:
    """Every canary tick recorded in `commits` — (oid, message) pairs newest first, as `git log` gives them —
    oldest first, only `canary`'s (`name.namespace`) when given. Commits without cronary trailers (merges, a
    person's commits, reverts) add nothing but the approvals `approvals` names for them (oid -> (canary,
    "confirm-promotion by Dana in 1a2b…")); a damaged trailer block raises `EvidenceError` naming the commit."""
    entries: list[HistoryEntry] = []
    last: dict[str, HistoryEntry] = {}
    for oid, message in reversed(list(commits)):
        try:
            parsed = parse_commit_message(message)
        except EvidenceError as err:
            raise EvidenceError(f"commit {oid[:12]}: {err}") from None
        for key, note in (approvals or {}).get(oid, ()):
            before = last.get(key) or HistoryEntry(key, "", "-", 0, None, 0, 0, "", (), ())
            parsed.append(replace(before, traffic=None, events=(f"approved {note}",), warnings=(False,), approval=note))
        for entry in parsed:
            last[entry.canary] = entry
        entries.extend(e for e in parsed if canary is None or e.canary == canary)
    return entries


def approvals_in(paths: Iterable[str], root: str, author: str, oid: str) -> list[tuple[str, str]]:
    """The approvals a person's commit wrote — files `ROOT/<namespace>/<name>/approvals/<gate>.yaml` among the
    paths it changed — as (canary, "GATE by AUTHOR in OID") pairs."""
    pattern = re.compile(
        rf"^{re.escape(root.strip('/') + '/') if root.strip('/') else ''}([^/]+)/([^/]+)/approvals/([^/]+)\.yaml$"
    )
    found = []
    for path in paths:
        match = pattern.match(path)
        if match:
            namespace, name, gate = match.groups()
            found.append((f"{name}.{namespace}", f"{gate} by {author} in {oid[:12]}"))
    return found


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
        events=(f"held: {entry.hold}", *entry.events) if entry.hold else entry.events,
        warnings=(True, *entry.warnings) if entry.hold else entry.warnings,
        metrics=(),
        hooks=(),
    )
