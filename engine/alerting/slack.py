"""Slack (`type: slack`): Flagger's `SlackPayload` (`pkg/notifier/slack.go`), posted to the hook address; a
Secret's `token` goes along as `Authorization: Bearer` (for `chat.postMessage`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .alerts import ERROR, Alert
from .notifier import AlertRequest, NotifierTarget, json_headers

NAME = "slack"


def slack_payload(alert: Alert, target: NotifierTarget) -> dict[str, Any]:
    """Flagger's `SlackPayload`: top-level `text` omitted, one attachment; `danger` for errors, else `good`."""
    return {
        "channel": target.channel,
        "username": target.username,
        "icon_url": "",
        "icon_emoji": ":rocket:",
        "attachments": [
            {
                "color": "danger" if alert.severity == ERROR else "good",
                "author_name": alert.canary,
                "text": alert.message,
                "mrkdwn_in": ["text"],
                "fields": [{"title": name, "value": value, "short": False} for name, value in alert.fields],
            }
        ],
    }


@dataclass(frozen=True)
class Slack:
    """Posts Slack's payload to the hook address (with the Secret's token, if any)."""

    @property
    def name(self) -> str:
        return NAME

    def request(self, alert: Alert, target: NotifierTarget) -> AlertRequest:
        return AlertRequest(target.url, slack_payload(alert, target), json_headers(target.token))


NOTIFIER = Slack()
