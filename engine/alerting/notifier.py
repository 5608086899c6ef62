"""The one protocol every alert provider type follows (Flagger's `pkg/notifier` `Interface`), and its values.

A notifier turns an alert into the HTTP request its service expects — Slack's attachment, Teams' MessageCard,
cronary's generic JSON — for the address an AlertProvider resolved to (`NotifierTarget`). It is pure: the
request is data (`AlertRequest`), and the shell (`cronjob.shared.alerts`) only sends it. What every type shares
(the AlertProvider's fields, its address and Secret, the global notifier) is parsed once, in
`engine.alerting.providers`; a type is chosen by `spec.type` in `engine.alerting.factory`.

A webhook address, a token and a proxy are credentials: `NotifierTarget` and `AlertRequest` keep them out of
their `repr`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from .alerts import Alert

DEFAULT_CHANNEL = "general"
DEFAULT_USERNAME = "flagger"
JSON_HEADERS: Mapping[str, str] = {"Content-Type": "application/json"}


@dataclass(frozen=True)
class NotifierTarget:
    """Where and how to post one provider's alerts: the resolved address (from the Secret or the spec)."""

    label: str
    type: str
    url: str = field(repr=False)
    channel: str = DEFAULT_CHANNEL
    username: str = DEFAULT_USERNAME
    token: str | None = field(default=None, repr=False)
    proxy: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class AlertRequest:
    """One alert as its service takes it: one JSON POST of `body` to `url` with `headers`."""

    url: str = field(repr=False)
    body: Mapping[str, Any] = field(hash=False)
    headers: Mapping[str, str] = field(repr=False, hash=False)


def json_headers(token: str | None = None) -> dict[str, str]:
    """The headers of a JSON POST, with `Authorization: Bearer <token>` when there is a token."""
    if token:
        return {**JSON_HEADERS, "Authorization": f"Bearer {token}"}
    return dict(JSON_HEADERS)


class Notifier(Protocol):
    """One alert provider type (`spec.type`)."""

    @property
    def name(self) -> str:
        """The `spec.type` it serves (`slack`, `msteams`, ...)."""
        ...

    def request(self, alert: Alert, target: NotifierTarget) -> AlertRequest:
        """The request that posts `alert` to `target` (whose `type` is this notifier's)."""
        ...
