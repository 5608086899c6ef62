"""The one guard between a tick and the webhooks it calls, used by both modes: a hook that acts (a load test,
a migration: `HookType.has_side_effects`) is called at most once per idempotency key while its answer is known.

Every call is noted twice, before (no `ok`) and after it with its answer. A decision made again — a Job killed
before it wrote its decision (cluster mode), a push the remote refused (GitOps mode) — has the same key and
finds the note: an answer stands as it was given, pass or fail; a call noted without an answer may or may not
have run, so it is made again with the same key (receivers can deduplicate on it) and never taken as a pass.
Where the notes live is the mode's business (`HookNotes`): the Canary's status in cluster mode, memory in
GitOps mode. Gate hooks are questions and are simply asked again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from cronjob.shared.webhooks import IDEMPOTENCY_FIELD
from engine import HookRequest, HookResult

log = logging.getLogger("cronary")

HookNote = Mapping[str, Any]
"""`{name, type, idempotencyKey, time}`, plus `ok` and `message` once the hook answered (the status's
`calledWebhooks` entries, docs/canary-reference.md)."""


class HookNotes(Protocol):
    """Where the notes of side-effecting hook calls are kept, by idempotency key."""

    @property
    def reused(self) -> str:
        """Why an answered note is used instead of a call, for the log line."""
        ...

    def get(self, key: str) -> HookNote | None: ...

    def put(self, note: HookNote) -> None: ...


@dataclass
class MemoryNotes:
    """Notes kept by this process only (GitOps mode: a decision made again after a refused push)."""

    reused: str = "already called for this decision before the push was refused; not called again"
    notes: dict[str, HookNote] = field(default_factory=dict)

    def get(self, key: str) -> HookNote | None:
        return self.notes.get(key)

    def put(self, note: HookNote) -> None:
        self.notes[str(note[IDEMPOTENCY_FIELD])] = note


@dataclass(frozen=True)
class HookGuard:
    """Answers the tick's hook requests (`run_tick`'s `answer_hook`) through `call`, guarded by `notes`. `time`
    is the decision's time, for the notes; `extra` the log fields of the canary."""

    call: Callable[[HookRequest], HookResult]
    notes: HookNotes
    time: str
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __call__(self, request: HookRequest) -> HookResult:
        hook = request.hook
        key = str(request.payload.get(IDEMPOTENCY_FIELD) or "")
        if not hook.type.has_side_effects or not key:
            return self.called(request)
        note = self.notes.get(key)
        if note is not None and isinstance(note.get("ok"), bool):
            log.info("webhook %s (%s): %s", hook.name, hook.type.value, self.notes.reused, extra=dict(self.extra))
            return HookResult(bool(note["ok"]), str(note.get("message") or ""))
        called = {"name": hook.name, "type": hook.type.value, IDEMPOTENCY_FIELD: key, "time": self.time}
        if note is None:
            self.notes.put(called)
        else:
            log.warning(
                "webhook %s (%s): an earlier run of this decision called it and its answer was lost; calling it again "
                "with the same idempotency key",
                hook.name,
                hook.type.value,
                extra=dict(self.extra),
            )
        result = self.called(request)
        self.notes.put({**called, "ok": result.ok, "message": result.message})
        return result

    def called(self, request: HookRequest) -> HookResult:
        result = self.call(request)
        log.info(
            "webhook %s (%s): %s",
            request.hook.name,
            request.hook.type.value,
            "ok" if result.ok else result.message,
            extra=dict(self.extra),
        )
        return result
