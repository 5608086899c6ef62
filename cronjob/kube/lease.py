"""Mutual exclusion of ticks: one `coordination.k8s.io/v1` Lease per shard.

`concurrencyPolicy: Forbid` keeps one CronJob from overlapping itself, but not a manually created Job, a
second install, or a Job the kubelet still runs after the controller gave up on it. The Lease makes one of
them decide and the other exit; the status `resourceVersion` precondition is the second line of defence.
The Lease is short and renewed during the tick, so a Job killed without releasing it blocks the shard for at
most `duration` seconds.

One clock judges the Lease: the API server's. Every answer's `Date` header sets a `ServerClock` (the latest
server date seen plus the monotonic time elapsed since), and `acquireTime`/`renewTime` are written from it,
for acquire, renew and release alike; the node's clock is used only while no answer has carried a `Date`. A
node clock an hour off therefore neither blocks the shard for an hour nor lets a second Job in early.

Any failed call (an HTTP error, a timeout, an unreachable server) raises `LeaseError`, whose message names
the Lease and the cause; the tick logs it as one line and exits 1. A 409 is no error: on acquire another Job
won the race, on renew the Lease was lost.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cronjob.kube.api import ApiError, ApiRequest, ApiResponse, Send
from cronjob.shared.resources import LEASES
from engine.redact import redact
from engine.timefmt import format_micro_time, parse_time

DEFAULT_DURATION_SECONDS = 20
_VERBS = {"GET": "get", "POST": "create", "PUT": "update"}


def parse_micro_time(text: Any) -> datetime | None:
    """A renewal time nobody could mean (outside EARLIEST..LATEST) reads as None: the Lease is free."""
    return parse_time(text) if isinstance(text, str) else None


def _node_now() -> datetime:
    return datetime.now(UTC)


MAX_DURATION_SECONDS = 366 * 86400  # a Lease someone wrote for longer is read as held for a year


def _whole(value: Any) -> int:
    """An integer field of a Lease someone else wrote; anything unreadable counts as 0."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


@dataclass
class ServerClock:
    """The API server's clock as this process last saw it: the latest `Date` answered, plus the `monotonic`
    time elapsed since that answer came. `Date` has whole seconds, so this lags the server by less than one;
    it never runs backwards. `node` is read only while no answer has carried a `Date`."""

    node: Callable[[], datetime] = _node_now
    monotonic: Callable[[], float] = time.monotonic
    seen: datetime | None = None
    seen_at: float = 0.0

    def observe(self, date: datetime | None) -> None:
        if date is not None and (self.seen is None or date > self.now()):
            self.seen, self.seen_at = date, self.monotonic()

    def now(self) -> datetime:
        if self.seen is None:
            return self.node()
        return self.seen + timedelta(seconds=max(0.0, self.monotonic() - self.seen_at))


class LeaseError(Exception):
    """A call on the Lease failed. The message names the Lease and the cause, and holds no URL path, query,
    userinfo or token."""


def _failure(namespace: str, name: str, doing: str, err: ApiError) -> LeaseError:
    verb = _VERBS.get(err.request.method, err.request.method.lower())
    cause = f"HTTP {err.status} {err.reason}" if err.status else err.reason
    message = redact(err.message)  # scheme://host:port of any URL, and no request target (`url: /path?query`)
    return LeaseError(
        f"Lease {namespace}/{name} could not be {doing}: {verb}: {cause}" + (f": {message}" if message else "")
    )


@dataclass
class Lease:
    send: Send
    namespace: str
    name: str
    holder: str
    duration: int = DEFAULT_DURATION_SECONDS
    clock: ServerClock = field(default_factory=ServerClock)
    held: dict[str, Any] | None = None  # the Lease object as last written by us
    other_holder: str = ""
    other_until: datetime | None = None

    def _call(self, method: str, body: Any = None, named: bool = True) -> ApiResponse:
        """One call on the Lease; the server's `Date`, of an answer or of an error, sets the clock."""
        path = LEASES.path(self.namespace, self.name if named else None)
        request = ApiRequest(method, path, f"{_VERBS[method]} Lease {self.namespace}/{self.name}", (), body)
        try:
            response = self.send(request)
        except ApiError as err:
            self.clock.observe(err.date)
            raise
        self.clock.observe(response.date)
        return response

    def _spec(self, previous: dict[str, Any]) -> dict[str, Any]:
        now = self.clock.now()
        spec = dict(previous)
        if spec.get("holderIdentity") != self.holder:
            spec["acquireTime"] = format_micro_time(now)
            spec["leaseTransitions"] = _whole(spec.get("leaseTransitions")) + (1 if spec.get("holderIdentity") else 0)
        spec.update(holderIdentity=self.holder, leaseDurationSeconds=self.duration, renewTime=format_micro_time(now))
        return spec

    def acquire(self) -> bool:
        """Take the Lease if it is free, expired or already ours. False when another holder has it or won
        the race to it; LeaseError when a call failed (the tick then decides nothing)."""
        try:
            return self._acquire()
        except ApiError as err:
            raise _failure(self.namespace, self.name, "taken", err) from None

    def _acquire(self) -> bool:
        try:
            current = self._call("GET")
        except ApiError as err:
            if not err.not_found:
                raise
            return self._create()
        lease = current.body if isinstance(current.body, dict) else {}
        spec = lease.get("spec") if isinstance(lease.get("spec"), dict) else {}
        holder = spec.get("holderIdentity") or ""
        renewed = parse_micro_time(spec.get("renewTime"))
        duration = min(_whole(spec.get("leaseDurationSeconds")), MAX_DURATION_SECONDS)  # never past LATEST
        until = renewed + timedelta(seconds=duration) if renewed else None
        if holder and holder != self.holder and until is not None and until > self.clock.now():
            self.other_holder, self.other_until = str(holder), until
            return False
        return self._write(lease, self._spec(spec))

    def _create(self) -> bool:
        body = {
            "apiVersion": LEASES.api_version,
            "kind": "Lease",
            "metadata": {"name": self.name, "namespace": self.namespace},
            "spec": self._spec({}),
        }
        try:
            self.held = self._call("POST", body, named=False).body
        except ApiError as race:
            if race.conflict:
                return False
            raise
        return True

    def _write(self, lease: dict[str, Any], spec: dict[str, Any]) -> bool:
        try:
            self.held = self._call("PUT", {**lease, "spec": spec}).body
        except ApiError as err:
            if err.conflict:
                return False
            raise
        return True

    def renew(self) -> bool:
        """Extend the Lease; False when it was lost (someone else wrote it: a 409). LeaseError when the call
        failed: the Lease is then no longer ours to release, since the write may have landed, and it expires
        by itself `duration` seconds after its last renewal."""
        held, self.held = self.held, None
        if held is None:
            return False
        try:
            return self._write(held, self._spec(held.get("spec") or {}))
        except ApiError as err:
            raise _failure(self.namespace, self.name, "renewed", err) from None

    def release(self) -> None:
        """Give the Lease up so the next Job need not wait for it to expire. LeaseError when that fails (the
        Lease then expires by itself)."""
        held, self.held = self.held, None
        if held is None:
            return
        spec = {
            **(held.get("spec") or {}),
            "holderIdentity": None,
            "leaseDurationSeconds": 1,
            "renewTime": format_micro_time(self.clock.now()),
        }
        try:
            self._call("PUT", {**held, "spec": spec})
        except ApiError as err:
            raise _failure(self.namespace, self.name, "released", err) from None
