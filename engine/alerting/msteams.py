"""Microsoft Teams (`type: msteams`): Flagger's `MSTeamsPayload` (`pkg/notifier/teams.go`), a legacy
MessageCard posted to the incoming-webhook address."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .alerts import ERROR, Alert
from .notifier import AlertRequest, NotifierTarget, json_headers

NAME = "msteams"


def teams_payload(alert: Alert) -> dict[str, Any]:
    """Flagger's `MSTeamsPayload`: a legacy MessageCard, theme `0076D7` (`FF0000` for errors)."""
    return {
        "@type": "MessageCard",
        "@context": "http://schema.org/extensions",
        "themeColor": "FF0000" if alert.severity == ERROR else "0076D7",
        "summary": alert.canary,
        "sections": [
            {
                "activityTitle": alert.message,
                "activitySubtitle": alert.canary,
                "facts": [{"name": name, "value": value} for name, value in alert.fields],
            }
        ],
    }


@dataclass(frozen=True)
class MSTeams:
    """Posts a MessageCard to the incoming-webhook address."""

    @property
    def name(self) -> str:
        return NAME

    def request(self, alert: Alert, target: NotifierTarget) -> AlertRequest:
        return AlertRequest(target.url, teams_payload(alert), json_headers())


NOTIFIER = MSTeams()
