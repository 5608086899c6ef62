"""`cronary tick` in cluster mode: read a shard, decide every canary that is due, write what it decided.

One *pass* reads the shard (one LIST per kind per namespace), asks Prometheus once per aggregated query for
the whole fleet, decides each due canary with the pure engine (a namespace's canaries `concurrency` at a
time), and writes each decision — objects, then the status (conditioned on the `resourceVersion` read), then
Events, event webhooks and alerts. A failure on one canary is logged and that canary's writes stop where they
failed; the others go on. The loop repeats
passes until the next due time would fall outside the budget, holding the shard's Lease throughout.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cronjob.kube.api import ApiError, Send
from cronjob.kube.apply import (
    called_webhooks,
    event_records,
    event_requests,
    hook_record_request,
    pending_events,
    plan_writes,
    status_request,
    with_resource_version,
    without_pending_events,
)
from cronjob.kube.lease import Lease, LeaseError, ServerClock
from cronjob.kube.read import (
    CanaryEntry,
    Listed,
    Snapshot,
    failed_read,
    list_canaries,
    namespace_reads,
    read_objects,
    template_reads,
)
from cronjob.shared.driver import run_tick
from cronjob.shared.hook_guard import HookGuard, HookNote
from cronjob.shared.notify import log_events, notify
from cronjob.shared.options import TickOptions
from cronjob.shared.prometheus import PrometheusMetrics
from cronjob.shared.resources import RESOURCES
from cronjob.shared.webhooks import WebhookCaller, max_duration_seconds
from engine import Decision, MetricRequest
from engine.schedule import interval_seconds, is_due
from engine.timefmt import format_time, parse_time

log = logging.getLogger("cronary")
# LISTs of kinds canaries name across namespaces (templateRef, providerRef) are kept for the whole pass
_REFERENCED = frozenset(r.plural for r in RESOURCES.values() if r.referenced)


@dataclass(frozen=True)
class Outcome:
    """What happened to one canary in one pass."""

    key: str
    decided: bool = False
    wrote: int = 0
    status_written: bool = False
    conflict: bool = False
    error: str = ""
    next_due: datetime | None = None


@dataclass
class StatusNotes:
    """The notes of side-effecting hook calls (`cronjob.shared.hook_guard`) in the Canary's status
    (`calledWebhooks`), each written with the `resourceVersion` precondition: `manifest` follows the writes. A
    note outlives a Job killed before its decision is written; the decision's own status write drops them."""

    send: Send
    manifest: dict[str, Any]
    reused: str = "answered an earlier run of this decision; that answer stands"

    def __post_init__(self) -> None:
        self.called = called_webhooks(self.manifest)

    def get(self, key: str) -> HookNote | None:
        return self.called.get(key)

    def put(self, note: HookNote) -> None:
        self.manifest = with_resource_version(self.manifest, self.send(hook_record_request(self.manifest, note)).body)
        self.called[str(note["idempotencyKey"])] = note


@dataclass
class Tick:
    """One `cronary tick` process: its clients and the state kept between passes."""

    send: Send
    options: TickOptions
    metrics: PrometheusMetrics
    webhooks: WebhookCaller = field(default_factory=WebhookCaller)
    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    passes: int = 0
    snapshot: Snapshot | None = None

    # -- one pass ------------------------------------------------------------------------------------
    def run_pass(self) -> list[Outcome]:
        """List the Canaries, then read and decide one namespace at a time: the first decision comes after a
        handful of LISTs instead of all of them, and the reads stay one LIST per kind per namespace. A LIST that
        fails, or answers something that is not a list, fails the namespace (or the canaries) that needed it, and
        the metrics prefetch fails the checks of the canaries it serves: neither stops the pass."""
        options = self.options
        listing = list_canaries(self.send, options.shard, options.settings.mesh_provider)
        entries = listing.entries
        now = options.now or listing.now or self.clock()
        self.snapshot = Snapshot(now, entries)
        self.passes += 1
        tick = format_time(now)
        self.metrics.new_tick()
        outcomes = []
        for namespace, err in listing.failed.items():
            log.error("%s", err, extra={"tick": tick})
            outcomes.append(Outcome(f"namespace {namespace}" if namespace else "all namespaces", error=str(err)))
        if self.passes == 1:
            for warning in hook_budget_warnings(entries, options.budget_seconds):
                log.warning("%s", warning, extra={"tick": tick})
        due = [e for e in entries if e.canary is not None and is_due(e.canary, now)]
        listed: Listed = {}
        # MetricTemplates first (any namespace), so one aggregated Prometheus query serves the whole fleet
        shared = template_reads([e.canary for e in due if e.canary is not None], options.settings)
        templates = read_objects(
            self.send, shared, now, entries, listed, partial=True, checksum_key=self.options.settings.checksum_key
        )
        self.metrics.read_secret = templates.read_secret
        self.metrics.prefetch_canaries(
            (e.canary for e in due if e.canary is not None), options.settings, templates.cluster.metric_templates
        )
        for entry in entries:
            if entry.canary is None:
                log.error("Canary %s is invalid: %s", entry.key, entry.error, extra={"canary": entry.key, "tick": tick})
                outcomes.append(Outcome(entry.key, error=entry.error))
        groups: dict[str, list[CanaryEntry]] = {}
        for entry in entries:
            if entry.canary is not None:
                groups.setdefault(entry.canary.namespace, []).append(entry)
        for namespace, group in groups.items():
            due_here = [e for e in group if e.canary is not None and is_due(e.canary, now)]
            reads = namespace_reads([e.canary for e in due_here if e.canary is not None], options.settings)
            snapshot = self.snapshot = (
                read_objects(
                    self.send,
                    reads,
                    now,
                    entries,
                    listed,
                    partial=True,
                    checksum_key=self.options.settings.checksum_key,
                )
                if due_here
                else Snapshot(now, entries)
            )
            unread = {
                e.key: err
                for e in due_here
                if e.canary is not None and (err := failed_read(namespace_reads([e.canary], options.settings), listed))
            }
            for key, err in unread.items():
                log.error("Canary %s not decided: %s", key, err, extra={"canary": key, "tick": tick})
            outcomes.extend(
                Outcome(e.key, error=str(unread[e.key]), next_due=now + timedelta(seconds=_interval(e)))
                for e in group
                if e.key in unread
            )
            outcomes.extend(self.decide_group([e for e in group if e.key not in unread], snapshot, tick))
            for key in [k for k in listed if k[0] == namespace and k[1] not in _REFERENCED and k[0] not in shared]:
                del listed[key]  # this namespace is done: keep memory to one namespace at a time
        return outcomes

    def decide_group(self, group: list[CanaryEntry], snapshot: Snapshot, tick: str) -> list[Outcome]:
        """Decide and write a namespace's canaries, up to `concurrency` at once. Canaries are independent, so
        their writes may interleave; each canary's own writes (objects, status, Events) stay in order in one
        thread. What overlaps is the waiting: API round trips, webhooks, Prometheus. The Lease is renewed
        from this thread meanwhile; if it is lost, canaries not yet started are left to the next tick."""
        workers = min(self.options.concurrency, len(group))
        if workers <= 1:
            outcomes = []
            for entry in group:
                outcomes.append(self.decide_guarded(entry, snapshot, tick))
                self.renew_lease_if_due()
            return outcomes
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cronary-canary") as pool:
            futures = [pool.submit(self.decide_guarded, entry, snapshot, tick) for entry in group]
            try:
                pending: set[Future[Outcome]] = set(futures)
                while pending:
                    done, pending = wait(
                        pending,
                        timeout=self.options.lease.seconds / 3 if self.lease else None,
                        return_when=FIRST_EXCEPTION,
                    )
                    if any(f.exception() is not None for f in done):
                        break  # not even decide_guarded caught it (e.g. KeyboardInterrupt): stop starting canaries
                    self.renew_lease_if_due()
            finally:
                pool.shutdown(wait=True, cancel_futures=True)  # the canaries already started finish their writes
        for future in futures:
            if not future.cancelled() and future.exception() is not None:
                raise future.exception()  # type: ignore[misc]
        return [f.result() for f in futures]

    def decide_guarded(self, entry: CanaryEntry, snapshot: Snapshot, tick: str) -> Outcome:
        """`decide_one`, with any failure confined to this canary (logged; it is due again next interval)."""
        try:
            return self.decide_one(entry, snapshot, tick)
        except ApiError as err:
            log.error("%s", err, extra={"canary": entry.key, "tick": tick})
            return Outcome(entry.key, error=str(err), next_due=snapshot.now + timedelta(seconds=_interval(entry)))
        except Exception as err:
            log.exception(
                "Canary %s could not be decided: %s: %s",
                entry.key,
                type(err).__name__,
                err,
                extra={"canary": entry.key, "tick": tick},
            )
            return Outcome(
                entry.key,
                error=f"{type(err).__name__}: {err}",
                next_due=snapshot.now + timedelta(seconds=_interval(entry)),
            )

    def decide_one(self, entry: CanaryEntry, snapshot: Snapshot, tick: str) -> Outcome:
        """Decide one canary and write the decision: the status first (the commit point, conditioned on the
        `resourceVersion` read), then the objects, then the Events (docs/architecture.md, "Writes")."""
        canary = entry.canary
        assert canary is not None
        extra = {"canary": entry.key, "tick": tick}
        manifest = self.record_pending_events(
            dict(entry.manifest), extra
        )  # its resourceVersion moves with each status write

        def answer_metrics(requests: tuple[MetricRequest, ...]) -> dict:
            return self.metrics.answer(requests)

        notes = StatusNotes(self.send, manifest)
        answer_hook = HookGuard(self.webhooks, notes, format_time(snapshot.now), extra)

        try:
            decision = run_tick(
                canary,
                snapshot.cluster,
                snapshot.now,
                self.options.settings,
                answer_hook,
                answer_metrics,
                self.metrics.providers_available,
            )
        except ApiError as err:
            if not err.conflict:
                raise
            log.info("Canary %s is being decided by another tick; this tick leaves it", entry.key, extra=extra)
            return Outcome(
                entry.key, conflict=True, next_due=snapshot.now + timedelta(seconds=interval_seconds(canary))
            )
        manifest = notes.manifest  # at the resourceVersion of the last hook note
        next_due = parse_time(decision.next_due or "")
        if decision.due and (next_due is None or next_due <= snapshot.now):
            # decided, nothing changed (e.g. Succeeded and no new revision): look again one interval later
            next_due = snapshot.now + timedelta(seconds=interval_seconds(canary))
        if not decision.due:
            return Outcome(entry.key, next_due=next_due)
        writes = plan_writes(
            decision, snapshot.cluster, snapshot.secret_objects, self.options.settings.include_label_prefixes
        )
        events = event_records(decision, manifest)
        status_written = False
        if decision.status_changed:
            try:
                written = self.send(status_request(manifest, decision.status, events))
            except ApiError as err:
                if not err.conflict:
                    raise
                log.info("Canary %s was decided by another tick; its status stands", entry.key, extra=extra)
                return Outcome(entry.key, decided=True, conflict=True, next_due=next_due)
            manifest = with_resource_version(manifest, written.body)
            status_written = True
        for request in writes:
            if request.note:
                log.warning("%s", request.note, extra=extra)
            self.send(request)
        self.report(decision, events, manifest, extra)
        return Outcome(entry.key, decided=True, wrote=len(writes), status_written=status_written, next_due=next_due)

    def record_events(self, events: list[Mapping[str, Any]], manifest: dict[str, Any], extra: dict) -> dict[str, Any]:
        """Record Events the status holds as pending, then drop them from the status (conditioned on its
        `resourceVersion`). One that cannot be recorded stays pending for the next pass; a 409 on an Event
        means an earlier run recorded it (their names are deterministic)."""
        recorded = True
        for request in event_requests(events, manifest, self.options.holder):
            try:
                self.send(request)
            except ApiError as err:
                if not err.conflict:
                    log.warning("%s", err, extra=extra)
                    recorded = False
        if recorded and pending_events(manifest):
            try:
                manifest = with_resource_version(manifest, self.send(without_pending_events(manifest)).body)
            except ApiError as err:
                if not err.conflict:
                    raise
                log.info(
                    "Canary %s is being decided by another tick; its pending events stay with it",
                    manifest["metadata"].get("name"),
                    extra=extra,
                )
        return manifest

    def record_pending_events(self, manifest: dict[str, Any], extra: dict) -> dict[str, Any]:
        """Events an earlier Job committed with its decision but did not live to record."""
        events = pending_events(manifest)
        if not events:
            return manifest
        log.info("recording %d event(s) of the decision at %s", len(events), events[0].get("time"), extra=extra)
        return self.record_events(events, manifest, extra)

    def report(self, decision: Decision, events: list[dict[str, Any]], manifest: dict[str, Any], extra: dict) -> None:
        """Events, logs, event webhooks and alerts of a decision whose status is written."""
        log_events(decision, extra)
        self.record_events(events, manifest, extra)
        if self.snapshot is not None:
            notify(
                decision, self.options.notify, self.webhooks, self.snapshot.cluster, self.snapshot.read_secret, extra
            )

    # -- the Lease -------------------------------------------------------------------------------------
    lease: Lease | None = None
    _renewed_at: float = 0.0

    def take_lease(self) -> bool:
        """Acquire the shard's Lease, judged and written on the API server's clock (this Tick's `clock` is
        the node's, used only until an answer carries a `Date`). LeaseError when a call on it failed."""
        options = self.options
        if options.lease.namespace is None:
            return True
        clock = ServerClock(self.clock, self.monotonic)
        self.lease = Lease(
            self.send,
            options.lease.namespace,
            f"cronary-{options.shard.name}",
            options.holder,
            options.lease.seconds,
            clock,
        )
        taken = self.lease.acquire()
        self._renewed_at = self.monotonic()
        return taken

    def renew_lease_if_due(self, force: bool = False) -> None:
        """LeaseLost when another tick took the Lease, LeaseError when renewing it failed."""
        if self.lease is None:
            return
        if force or self.monotonic() - self._renewed_at >= self.options.lease.seconds / 3:
            if not self.lease.renew():
                raise LeaseLost(f"Lease {self.lease.namespace}/{self.lease.name} was taken by another tick")
            self._renewed_at = self.monotonic()

    def release_lease(self) -> bool:
        """Give the Lease up; False (and one warning) when that failed."""
        if self.lease is None:
            return True
        lease, self.lease = self.lease, None
        try:
            lease.release()
        except LeaseError as err:
            log.warning("%s; it expires by itself %ds after its last renewal", err, lease.duration)
            return False
        return True

    # -- the loop ------------------------------------------------------------------------------------
    def run(self) -> int:
        """Passes until the budget is spent; 0 when every canary was handled (or another tick holds the
        Lease), 1 when any failed or a call on the Lease failed. Each failure is one log line."""
        started = self.monotonic()
        try:
            taken = self.take_lease()
        except LeaseError as err:
            log.error("%s; this tick decides nothing", err)
            return 1
        if not taken:
            self.log_lease_held()
            return 0
        try:
            status = self.loop(started)
        finally:
            released = self.release_lease()
        return status if released else 1

    def log_lease_held(self) -> None:
        lease = self.lease
        holder = lease.other_holder if lease else ""
        until = format_time(lease.other_until) if lease and lease.other_until else "now"
        log.info(
            "shard %s is being ticked by %s (Lease held until %s); this tick exits",
            self.options.shard.name,
            holder or "another tick",
            until,
            extra={"holder": holder},
        )

    def loop(self, started: float) -> int:
        """Passes, sleeping between them, until the budget is spent or the Lease is lost; the exit status."""
        failed = False
        try:
            while True:
                pass_started = self.monotonic()
                outcomes = self.run_pass()
                failed = failed or any(o.error for o in outcomes)
                if self.options.once or self.options.now is not None:
                    break
                wait = self.seconds_to_next_due(outcomes)
                cost = self.monotonic() - pass_started
                if wait is None or self.monotonic() - started + wait + cost >= self.options.budget_seconds:
                    break
                self.idle(wait)
        except LeaseLost as err:
            log.warning("%s; this tick stops", err)
            return 1
        except LeaseError as err:
            log.error("%s; this tick stops", err)
            return 1
        except ApiError as err:
            log.error("%s", err)
            return 1
        return 1 if failed else 0

    def seconds_to_next_due(self, outcomes: list[Outcome]) -> float | None:
        """Seconds from the pass's `now` until the earliest canary is due again. Sleeping that long after the
        pass read `now` is enough: the server's `Date` is truncated to the second, so it can only lag."""
        assert self.snapshot is not None
        times = [o.next_due for o in outcomes if o.next_due is not None]
        if not times:
            return None
        return max(1.0, float(math.ceil((min(times) - self.snapshot.now).total_seconds())))

    def idle(self, seconds: float) -> None:
        """Sleep, renewing the Lease often enough that it never lapses while this tick is alive."""
        end = self.monotonic() + seconds
        step = max(1.0, self.options.lease.seconds / 3) if self.lease is not None else seconds
        while (left := end - self.monotonic()) > 0:
            self.sleep(min(step, left))
            self.renew_lease_if_due()


class LeaseLost(Exception):
    pass


def _interval(entry: CanaryEntry) -> float:
    return interval_seconds(entry.canary) if entry.canary is not None else 60.0


def hook_budget_warnings(entries: list[CanaryEntry], budget_seconds: float) -> list[str]:
    """Canaries whose webhooks, each at its full timeout and retries, cannot fit in one tick's budget."""
    out = []
    for entry in entries:
        if entry.canary is None:
            continue
        hooks = entry.canary.spec.effective_analysis.webhooks
        total = sum(max_duration_seconds(h) for h in hooks)
        if total > budget_seconds:
            out.append(
                f"Canary {entry.key}: its webhooks may take up to {total:.0f}s (timeouts × attempts), more than the "
                f"tick budget of {budget_seconds:.0f}s; a slow hook can push later canaries to the next Job"
            )
    return out
