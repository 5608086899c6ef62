"""After a decision is written (a status in cluster mode, a pushed commit in git mode): its log lines, its
events to the `event` webhooks (the canary's and Flagger's global `-event-webhook`), and its alerts."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from cronjob.shared.alerts import SecretReader, send_alerts
from cronjob.shared.options import NotifyOptions
from cronjob.shared.webhooks import WebhookCaller, event_request
from engine import Decision
from engine.alerting.alerts import alerts_for, deliveries
from engine.alerting.providers import alert_providers
from engine.cluster import ClusterView
from engine.hooks import HookType
from engine.model import WebhookSpec
from engine.timefmt import read_time

log = logging.getLogger("cronary")


def log_events(decision: Decision, extra: Mapping[str, Any]) -> None:
    """One JSON log line per event, as Flagger logs them (`jq .msg` shows the messages)."""
    for event in decision.events:
        (log.warning if event.type == "Warning" else log.info)(
            "%s", event.message, extra={**extra, "eventType": event.type}
        )


def notify(
    decision: Decision,
    options: NotifyOptions,
    webhooks: WebhookCaller,
    cluster: ClusterView,
    read_secret: SecretReader | None,
    extra: Mapping[str, Any],
) -> None:
    """Event webhooks, then alerts."""
    canary = decision.canary
    hooks = [h for h in canary.spec.effective_analysis.webhooks if h.type is HookType.EVENT]
    if options.event_webhook:
        hooks.append(WebhookSpec(name="event", url=options.event_webhook, type=HookType.EVENT))
    if hooks and decision.events:
        base = {"name": canary.name, "namespace": canary.namespace, "checksum": decision.status.last_applied_spec or ""}
        now = read_time(decision.now)
        for hook in hooks:
            for event in decision.events:
                result = webhooks(event_request(hook, base, event, now))
                if not result.ok:
                    log.warning("event webhook %s: %s", hook.name, result.message, extra=dict(extra))
    alerts = alerts_for(decision, cluster_name=options.cluster_name)
    if alerts:
        send_alerts(
            deliveries(canary, alerts), alert_providers(cluster), read_secret, global_target=options.global_alerts
        )
