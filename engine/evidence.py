"""Commit messages as evidence (GitOps mode): what one tick decided, written so a reviewer reading `git log`
sees why the weight moved or why the canary rolled back, and so `cronary history` can read the rollout back.

A message is a subject line, a body for people (per canary: its events in order, every metric value against
its threshold, every webhook result) and, last, ONE git trailer block for machines::

    podinfo.test: canary weight 10 → 20

    Events:
    - Advance podinfo.test canary weight 20
    Metrics:
    - request-success-rate: 99.5 (threshold >= 99) passed
    - request-duration: 120 (threshold <= 500ms) passed
    Webhooks:
    - load-test (rollout): ok

    Canary: podinfo.test
    Phase: Progressing
    Weight: 20
    Traffic: 20
    Failed-Checks: 0
    Iterations: 0
    Revision: 5d8f6c9b7
    Tick: 2026-11-27T10:00:40Z
    Event: Advance podinfo.test canary weight 20

While a confirm gate waits for an approval in git, a `Waiting-For: <gate> <revision>` trailer follows `Tick:`
(and the body says how to approve): the revision an approval file must name.

Each canary's trailers start with `Canary:` and run in the order above; its events follow as one `Event:`
(Normal) or `Warning:` trailer each, in order. A hold's commit (`hold_message`) has the same fields and, instead of events,
one `Hold:` trailer saying why. A commit with such a block is one of cronary's (`is_cronary_commit`), whoever its
author is. Several canaries in one commit: the subject is
`cronary: N canaries changed`, the body opens with one summary line per canary (its own subject) and has one
section per canary headed `[name.namespace]`; the trailer block holds the canaries one after another.

Escaping (trailer values, and every event or message line of the body): one line each, with JSON's
backslash escapes — `\\\\` for a backslash, `\\n`, `\\r`, `\\t`, and `\\uXXXX` for every other control
character (C0, DEL, C1) and for U+2028/U+2029, so no line splitter (git's, or Python's `splitlines`) breaks
a value; a space at either end of a trailer value is written `\\u0020`, because git trims trailer values.
Everything else (`:`, `#`, `---`, non-ASCII) is written as is. So `git interpret-trailers --parse` gives the
same key/value pairs as `parse_commit_message`, and a message with a newline comes back exactly.

No URLs, secrets or PromQL of its own: metrics are shown by name, value and bound (never a query), webhooks
by name and type (never a URL), and a URL inside a webhook's message is cut to its origin (`scheme://host`,
by `engine.redact`, the one redactor; the tick has already masked what a receiver echoed of the hook's URL).
Events are written as the engine emitted them (they must come back exactly); the engine cuts every URL in an
event to its origin when it records it, for Kubernetes Events and logs as much as for commits.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Sequence  # noqa: UP035 - the purity allow-list has typing, not collections

from .analysis.judge import MetricVerdict
from .durations import format_go_float
from .model import CanaryStatus
from .phases import Phase
from .protocol import Decision
from .redact import redact

SUBJECT_REASON_LIMIT = 60  # characters of a reason in a subject line before it is cut with "…"


class EvidenceError(ValueError):
    """A cronary trailer block that cannot be read back (a field missing or not a number)."""


@dataclass(frozen=True)
class Change:
    """One canary's decided tick, as committed. `previous` is the status the tick started from (for "20 → 30").

    `halted` is optional evidence the tick itself does not hold: the failed metric checks of the canary's last
    analysis. The tick that rolls back runs no analysis (like Flagger, it checks the failed-checks threshold
    first), so without it a rollback commit could only say "threshold reached 5"; a shell that remembers the
    last halting verdicts passes them here and the rollback commit shows the values that caused it."""

    decision: Decision
    previous: CanaryStatus
    halted: tuple[MetricVerdict, ...] = ()
    waiting: tuple[str, str] | None = None  # (gate, revision): a confirm gate waits for an approval of it


@dataclass(frozen=True)
class HistoryEntry:
    """One canary's tick as read back from a commit's trailers (what `cronary history` prints)."""

    canary: str
    time: str
    phase: str
    canary_weight: int
    traffic: int | None
    failed_checks: int
    iterations: int
    revision: str
    events: tuple[str, ...]
    warnings: tuple[bool, ...]
    waiting: str = ""  # "<gate> <revision>" while a confirm gate waits for an approval in git
    hold: str = ""  # a hold's commit: why cronary stopped deciding the canary ("step reverted by Dana in 1a2b…")
    approval: str = ""  # a person's commit of an approval file ("confirm-promotion by Dana in 1a2b…")

    def as_json(self) -> dict[str, Any]:
        """The keys of a `cronary simulate -o json` row where they exist, plus `canary` and `revision`, and
        `hold` or `approval` on the rows of those."""
        notes = {k: v for k, v in (("hold", self.hold), ("approval", self.approval), ("waitingFor", self.waiting)) if v}
        return {
            "canary": self.canary,
            "time": self.time,
            "phase": self.phase,
            "canaryWeight": self.canary_weight,
            "failedChecks": self.failed_checks,
            "iterations": self.iterations,
            "trafficWeight": self.traffic,
            "revision": self.revision,
            "events": list(self.events),
            **notes,
        }


# ------------------------------------------------------------------------------------------------ escaping
_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_NEEDS_ESCAPE = re.compile("[\\\\\x00-\x1f\x7f-\x9f\u2028\u2029]")
_UNESCAPE = re.compile(r"\\(?:u([0-9a-fA-F]{4})|([\\nrt]))")
_SIMPLE = {"\\": "\\", "n": "\n", "r": "\r", "t": "\t"}
_EDGE_SPACE = "\\u0020"
_GIT_BLANKS = " \t"  # what git trims around a trailer value (the rest is escaped anyway)


def escape_line(text: str) -> str:
    """`text` on one line: backslash, control characters and Unicode line separators escaped (see above)."""
    return _NEEDS_ESCAPE.sub(lambda m: _ESCAPES.get(m.group(), f"\\u{ord(m.group()):04x}"), text)


def escape_value(text: str) -> str:
    """A trailer value: `escape_line`, plus a space at either end as `\\u0020` (git trims values)."""
    out = escape_line(text)
    if out.startswith(" "):
        out = _EDGE_SPACE + out[1:]
    if out.endswith(" "):
        out = out[:-1] + _EDGE_SPACE
    return out


def unescape_value(text: str) -> str:
    """Inverse of `escape_value`. A backslash that starts no known escape (a person's edit) is kept as is."""
    return _UNESCAPE.sub(lambda m: chr(int(m.group(1), 16)) if m.group(1) else _SIMPLE[m.group(2)], text)


# ------------------------------------------------------------------------------------------------ subjects
_P = Phase
_HALT = re.compile(r"^Halt (?:\S+ )?advancement ")
_NO_DATA = re.compile(r"^no values found for (?:.* )?metric:? (\S+?):?(?: |$)")
_NOT_READY = re.compile(r"^(.*? not ready): ")
_HOOK_FAILED = re.compile(r"^((?:pre-rollout|external) check .+? failed) ")


def _short(text: str, why: bool = False, limit: int = SUBJECT_REASON_LIMIT) -> str:
    """A reason fit for a subject: its first line, at most `limit` characters. A readiness message
    ("X not ready: R") becomes "X not ready" for a wait, or just R (`why`) for a rollback, where R is the cause."""
    text = text.split("\n", 1)[0].strip()
    ready = _NOT_READY.match(text)
    if ready:
        text = text[ready.end() :] if why else ready.group(1)
    text = escape_line(text)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _halt_reason(message: str) -> str:
    """`Halt podinfo.test advancement success rate 95.00% < 99%` -> `success rate 95.00% < 99%`."""
    reason = _HALT.sub("", message, count=1)
    no_data = _NO_DATA.match(reason)
    if no_data:
        return f"no data for {no_data.group(1)}"
    hook = _HOOK_FAILED.match(reason)  # the hook's own message is in the body
    return hook.group(1) if hook else reason


def _first(messages: Sequence[str], *prefixes: str) -> str | None:
    return next((m for m in messages if m.startswith(prefixes)), None)


def subject_for(change: Change) -> str:
    """One line naming the canary and what moved, derived from the phase transition and the events."""
    decision = change.decision
    return f"{escape_line(decision.canary.key)}: {_what_happened(change)}"


def _what_happened(change: Change) -> str:
    decision, before, after = change.decision, change.previous, change.decision.status
    key = decision.canary.key
    messages = [e.message for e in decision.events]
    warnings = [e.message for e in decision.events if e.type == "Warning"]
    moved = after.phase != before.phase
    revision = escape_line(after.last_applied_spec)

    if after.phase == _P.FAILED.value and (moved or _first(messages, "Canary failed!")):
        rolling = _first(warnings, f"Rolling back {key} ")
        promotion = _first(warnings, "Promotion of ")
        if rolling is not None:
            reason = rolling[len(f"Rolling back {key} ") :]
        elif promotion is not None:
            return f"rollback (promotion failed: {_short(promotion, why=True)})"
        else:
            reason = next((m for m in warnings if not m.startswith(("Canary failed!", "Rollback check "))), "")
        return f"rollback ({_short(_halt_reason(reason), why=True)})" if reason else "rollback"
    if _first(messages, "New revision detected! Restarting analysis"):
        return f"new revision {revision}, analysis restarted" if revision else "new revision, analysis restarted"
    if _first(messages, "New revision detected! Scaling up"):
        return f"new revision {revision}, scaling up canary" if revision else "new revision, scaling up canary"
    if moved:
        if after.phase == _P.SUCCEEDED.value:
            skipped = _first(messages, "Promotion completed! Canary analysis was skipped")
            return "promoted, analysis skipped" if skipped else "promotion completed"
        if after.phase == _P.INITIALIZED.value:
            return "initialized"
        if after.phase in (_P.WAITING.value, _P.WAITING_PROMOTION.value):
            gate = _first(warnings, "Halt ")
            default = "waiting for approval" if after.phase == _P.WAITING.value else "waiting for promotion approval"
            return _short(_halt_reason(gate)) if gate else default
        if after.phase == _P.PROMOTING.value:
            return "promoting"
        if after.phase == _P.FINALISING.value:
            return "all traffic to primary"
    if after.phase == _P.INITIALIZING.value:
        return f"initializing, {_short(warnings[0])}" if warnings else "initializing"
    if after.failed_checks > before.failed_checks:
        halt = _first(warnings, "Halt ") or (warnings[0] if warnings else "")
        threshold = decision.canary.spec.effective_analysis.threshold
        count = f"failed checks {after.failed_checks}/{threshold}"
        return f"halted ({_short(_halt_reason(halt))}), {count}" if halt else f"halted, {count}"
    if after.phase == _P.PROMOTING.value and _first(messages, f"Advance {key} primary weight"):
        return f"promoting, primary weight {100 - before.canary_weight} → {100 - after.canary_weight}"
    if after.canary_weight != before.canary_weight:
        started = "analysis started, " if _first(messages, "Starting canary analysis") else ""
        return f"{started}canary weight {before.canary_weight} → {after.canary_weight}"
    if after.iterations != before.iterations:
        return f"analysis iteration {after.iterations}"
    if after.phase == _P.WAITING.value:
        return "waiting for approval"
    if after.phase == _P.WAITING_PROMOTION.value:
        return "waiting for promotion approval"
    if warnings:
        return _short(_halt_reason(warnings[0]))
    if messages:
        return _short(messages[0])
    if moved:
        return f"{escape_line(before.phase) or 'new'} → {escape_line(after.phase)}"
    return "status updated"


# ------------------------------------------------------------------------------------------------ bodies
def _number(value: float | None) -> str:
    if value is None:
        return "no data"
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return format_go_float(value)


def _verdict_line(verdict: MetricVerdict) -> str:
    result = "passed" if verdict.passed else "failed"
    return (
        f"- {escape_line(verdict.metric)}: {_number(verdict.value)} (threshold {escape_line(verdict.bound)}) {result}"
    )


def _body(change: Change) -> list[str]:
    decision = change.decision
    lines: list[str] = []
    if decision.events:
        lines.append("Events:")
        lines.extend(f"- {'Warning: ' if e.type == 'Warning' else ''}{escape_line(e.message)}" for e in decision.events)
    if decision.verdicts:
        lines.append("Metrics:")
        lines.extend(_verdict_line(v) for v in decision.verdicts)
    elif change.halted:
        lines.append("Metrics (the last analysis, before this tick):")
        lines.extend(_verdict_line(v) for v in change.halted)
    if decision.hooks:
        lines.append("Webhooks:")
        for hook in decision.hooks:
            result = "ok" if hook.ok else "failed"
            message = escape_line(redact(hook.message))  # URLs cut to their origin: no credentials, paths or queries
            lines.append(
                f"- {escape_line(hook.name)} ({escape_line(hook.type)}): {result}" + (f": {message}" if message else "")
            )
    if change.waiting is not None:
        gate, revision = (escape_line(v) for v in change.waiting)
        lines.append(f"Waiting for a {gate} approval of revision {revision}:")
        lines.append(
            f"- cronary approve {escape_line(decision.canary.key)} --gate {gate}, or commit approvals/{gate}.yaml"
        )
    return lines


# ------------------------------------------------------------------------------------------------ trailers
_FIELDS = ("Canary", "Phase", "Weight", "Traffic", "Failed-Checks", "Iterations", "Revision", "Tick")
WAITING = "Waiting-For"  # optional, after Tick: "<gate> <revision>" — the revision an approval must name


def _trailers(change: Change) -> list[str]:
    decision, status = change.decision, change.decision.status
    traffic = "none" if decision.canary_weight is None else str(decision.canary_weight)
    values = (
        decision.canary.key,
        status.phase,
        str(status.canary_weight),
        traffic,
        str(status.failed_checks),
        str(status.iterations),
        status.last_applied_spec,
        decision.now,
    )
    lines = [_trailer(key, value) for key, value in zip(_FIELDS, values)]
    if change.waiting is not None:
        lines.append(_trailer(WAITING, " ".join(change.waiting)))
    lines.extend(_trailer("Warning" if e.type == "Warning" else "Event", e.message) for e in decision.events)
    return lines


def _trailer(key: str, value: str) -> str:
    text = escape_value(value)
    return f"{key}: {text}" if text else f"{key}:"  # no trailing blank on an empty value


def commit_message(changes: Sequence[Change]) -> str:
    """The whole message for one commit: subject, body, and one trailer block at the end (see the module)."""
    if not changes:
        raise ValueError("commit_message needs at least one change")
    paragraphs: list[list[str]] = []
    if len(changes) == 1:
        paragraphs.append([subject_for(changes[0])])
        body = _body(changes[0])
        if body:
            paragraphs.append(body)
    else:
        paragraphs.append([f"cronary: {len(changes)} canaries changed"])
        paragraphs.append([subject_for(c) for c in changes])
        for change in changes:
            paragraphs.append([f"[{escape_line(change.decision.canary.key)}]", *_body(change)])
    paragraphs.append([line for change in changes for line in _trailers(change)])
    return "\n\n".join("\n".join(p) for p in paragraphs) + "\n"


def hold_message(canary_key: str, status: CanaryStatus, now: str, reason: str) -> str:
    """The commit that records a hold (a person reverted one of cronary's steps): the subject says why, and the
    trailer block — the canary's state as it stays, plus `Hold:` — makes it one of cronary's commits for the next
    pass and a row of `cronary history`."""
    values = (
        canary_key,
        status.phase,
        str(status.canary_weight),
        "none",  # a hold writes no traffic
        str(status.failed_checks),
        str(status.iterations),
        status.last_applied_spec,
        now,
    )
    trailers = [_trailer(key, value) for key, value in zip(_FIELDS, values)]
    trailers.append(_trailer("Hold", reason))
    return f"{escape_line(canary_key)}: held, {escape_line(reason)}\n\n" + "\n".join(trailers) + "\n"


def is_cronary_commit(message: str) -> bool:
    """Whether a commit is one of cronary's: it carries a cronary trailer block. Robust to a configured author or
    committer; a person's commit (a revert, an approval, a merge) has none."""
    return _trailer_block(message) is not None


# ------------------------------------------------------------------------------------------------ parsing
_TRAILER = re.compile(r"^([A-Za-z0-9][A-Za-z0-9-]*)[ \t]*:(.*)$")


def _paragraphs(message: str) -> list[list[str]]:
    lines = message.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    out: list[list[str]] = [[]]
    for line in lines:
        if line.strip(_GIT_BLANKS):
            out[-1].append(line)
        elif out[-1]:
            out.append([])
    return [p for p in out if p]


def _trailer_pairs(paragraph: list[str]) -> list[tuple[str, str]]:
    """(key, raw value) per trailer line; continuation lines (leading blank) are unfolded as git does."""
    pairs: list[tuple[str, str]] = []
    for line in paragraph:
        if line[:1] in (" ", "\t") and pairs:
            key, value = pairs[-1]
            pairs[-1] = (key, f"{value} {line.strip(_GIT_BLANKS)}".strip(_GIT_BLANKS))
            continue
        match = _TRAILER.match(line)
        if match:
            pairs.append((match.group(1), match.group(2).strip(_GIT_BLANKS)))
    return pairs


def _trailer_block(message: str) -> list[str] | None:
    """The last paragraph after the subject that has a `Canary:` trailer, if any."""
    paragraphs = _paragraphs(message)[1:]  # the subject is never a trailer block
    return next((p for p in reversed(paragraphs) if any(k == "Canary" for k, _ in _trailer_pairs(p))), None)


def parse_commit_message(message: str) -> list[HistoryEntry]:
    """The canaries of a commit, from its cronary trailer block (the last paragraph after the subject that has
    a `Canary:` trailer). [] for a message without one. Other trailers (Signed-off-by, Co-authored-by) and
    stray lines are ignored; CRLF line ends are accepted."""
    block = _trailer_block(message)
    if block is None:
        return []
    entries: list[HistoryEntry] = []
    current: dict[str, Any] | None = None
    for key, raw in _trailer_pairs(block):
        value = unescape_value(raw)
        if key == "Canary":
            if current is not None:
                entries.append(_entry(current))
            current = {"Canary": value, "events": [], "warnings": []}
        elif current is None:
            continue
        elif key in ("Event", "Warning"):
            current["events"].append(value)
            current["warnings"].append(key == "Warning")
        elif key == "Hold" and "Hold" not in current:
            current["Hold"] = value
        elif (key in _FIELDS or key == WAITING) and key not in current:
            current[key] = value
    if current is not None:
        entries.append(_entry(current))
    return entries


def _entry(fields: dict[str, Any]) -> HistoryEntry:
    canary = fields["Canary"]
    missing = [key for key in _FIELDS if key not in fields]
    if missing:
        raise EvidenceError(f"canary {canary}: no {', '.join(missing)} trailer")

    def number(key: str) -> int:
        try:
            return int(fields[key])
        except ValueError:
            raise EvidenceError(f"canary {canary}: {key}: not a number: {fields[key]!r}") from None

    traffic = None if fields["Traffic"] == "none" else number("Traffic")
    return HistoryEntry(
        canary=canary,
        time=fields["Tick"],
        phase=fields["Phase"],
        canary_weight=number("Weight"),
        traffic=traffic,
        failed_checks=number("Failed-Checks"),
        iterations=number("Iterations"),
        revision=fields["Revision"],
        events=tuple(fields["events"]),
        warnings=tuple(fields["warnings"]),
        waiting=fields.get(WAITING, ""),
        hold=fields.get("Hold", ""),
    )
