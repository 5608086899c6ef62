"""Mutual exclusion of ticks: one `coordination.k8s.io/v1` Lease per shard.

`concurrencyPolicy: Forbid` keeps one CronJob from overlapping itself, but not a manually created Job, a
second install, or a Job the kubelet still runs after the controller gave up on it. The Lease makes one of
them decide and the other exit; the status `resourceVersion` precondition is the second line of defence.
The Lease is short and renewed during the tick, so a Job killed without releasing it blocks the shard only
for `duration` seconds. Expiry is judged by the API server's clock (the `Date` header), not the node's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from .kube_api import LEASES, ApiError, ApiRequest, ApiResponse

Send = Callable[[ApiRequest], ApiResponse]
DEFAULT_DURATION_SECONDS = 20


def micro_time(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_micro_time(text: Any) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


@dataclass
class Lease:
    send: Send
    namespace: str
    name: str
    holder: str
    duration: int = DEFAULT_DURATION_SECONDS
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(timezone.utc))
    held: dict[str, Any] | None = None  # the Lease object as last written by us
    other_holder: str = ""
    other_until: datetime | None = None

    def _request(self, method: str, body: Any = None, named: bool = True) -> ApiRequest:
        path = LEASES.path(self.namespace, self.name if named else None)
        return ApiRequest(method, path, f"{method.lower()} Lease {self.namespace}/{self.name}", (), body)

    def _spec(self, now: datetime, previous: dict[str, Any]) -> dict[str, Any]:
        spec = dict(previous)
        if spec.get("holderIdentity") != self.holder:
            spec["acquireTime"] = micro_time(now)
            spec["leaseTransitions"] = int(spec.get("leaseTransitions") or 0) + (1 if spec.get("holderIdentity") else 0)
        spec.update(holderIdentity=self.holder, leaseDurationSeconds=self.duration, renewTime=micro_time(now))
        return spec

    def acquire(self) -> bool:
        """Take the Lease if it is free, expired or already ours. False when another holder has it or won
        the race to it; ApiError for anything else (the tick then does not run)."""
        try:
            current = self.send(self._request("GET"))
        except ApiError as err:
            if not err.not_found:
                raise
            body = {
                "apiVersion": LEASES.api_version,
                "kind": "Lease",
                "metadata": {"name": self.name, "namespace": self.namespace},
                "spec": self._spec(self.clock(), {}),
            }
            try:
                self.held = self.send(self._request("POST", body, named=False)).body
            except ApiError as race:
                if race.conflict:
                    return False
                raise
            return True
        lease = current.body or {}
        spec = lease.get("spec") or {}
        now = current.date or self.clock()
        holder = spec.get("holderIdentity") or ""
        renewed = parse_micro_time(spec.get("renewTime"))
        until = renewed + timedelta(seconds=int(spec.get("leaseDurationSeconds") or 0)) if renewed else None
        if holder and holder != self.holder and until is not None and until > now:
            self.other_holder, self.other_until = holder, until
            return False
        return self._write(lease, self._spec(now, spec))

    def _write(self, lease: dict[str, Any], spec: dict[str, Any]) -> bool:
        body = {**lease, "spec": spec}
        try:
            self.held = self.send(self._request("PUT", body)).body
        except ApiError as err:
            if err.conflict:
                return False
            raise
        return True

    def renew(self) -> bool:
        """Extend the Lease; False when it was lost (someone else took it after it expired)."""
        if self.held is None:
            return False
        return self._write(self.held, self._spec(self.clock(), self.held.get("spec") or {}))

    def release(self) -> None:
        """Give the Lease up so the next Job need not wait for it to expire. Best effort."""
        if self.held is None:
            return
        spec = {**(self.held.get("spec") or {}), "holderIdentity": None, "leaseDurationSeconds": 1, "renewTime": micro_time(self.clock())}
        try:
            self.send(self._request("PUT", {**self.held, "spec": spec}))
        except ApiError:
            pass
        self.held = None
