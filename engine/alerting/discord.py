"""Discord (`type: discord`): as Flagger's Discord notifier, the Slack payload posted to Discord's
Slack-compatible endpoint, `<address>/slack`."""

from __future__ import annotations

from dataclasses import dataclass

from .alerts import Alert
from .notifier import AlertRequest, NotifierTarget, json_headers
from .slack import slack_payload

NAME = "discord"


def discord_url(url: str) -> str:
    """`url` with `/slack` added to its path (the query and fragment kept), unless its path ends in it."""
    if url.endswith("/slack"):
        return url
    rest, _, fragment = url.partition("#")
    rest, _, query = rest.partition("?")
    scheme, separator, authority_path = rest.partition("://")
    authority, slash, path = authority_path.partition("/")
    path = (slash + path).rstrip("/") + "/slack"
    return (
        f"{scheme.lower()}{separator}{authority}{path}"
        + (f"?{query}" if query else "")
        + (f"#{fragment}" if fragment else "")
    )


@dataclass(frozen=True)
class Discord:
    """Posts Slack's payload to Discord's Slack-compatible endpoint (no token: Flagger sends none)."""

    @property
    def name(self) -> str:
        return NAME

    def request(self, alert: Alert, target: NotifierTarget) -> AlertRequest:
        return AlertRequest(discord_url(target.url), slack_payload(alert, target), json_headers())


NOTIFIER = Discord()
