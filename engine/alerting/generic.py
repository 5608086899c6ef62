"""A generic JSON webhook (`type: generic`), cronary's own (docs/alerts.md): the alert as plain fields, a
Secret's `token` as `Authorization: Bearer`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .alerts import Alert
from .notifier import AlertRequest, NotifierTarget, json_headers

NAME = "generic"
SOURCE = "cronary"


def generic_payload(alert: Alert) -> dict[str, Any]:
    """cronary's generic JSON alert (docs/alerts.md)."""
    return {
        "source": SOURCE,
        "name": alert.name,
        "namespace": alert.namespace,
        "canary": alert.canary,
        "message": alert.message,
        "severity": alert.severity,
        "time": alert.time,
        "fields": [{"name": name, "value": value} for name, value in alert.fields],
    }


@dataclass(frozen=True)
class Generic:
    """Posts cronary's generic JSON (with the Secret's token, if any)."""

    @property
    def name(self) -> str:
        return NAME

    def request(self, alert: Alert, target: NotifierTarget) -> AlertRequest:
        return AlertRequest(target.url, generic_payload(alert), json_headers(target.token))


NOTIFIER = Generic()
