"""Notifications from `cronary tick`: Kubernetes Events, event webhooks (per canary and Flagger's global
`-event-webhook`), and alerts (an AlertProvider in `analysis.alerts`, or the global Slack URL) — sent live to
real HTTP servers. Which events raise alerts is the engine's (`engine.alerting.alerts`, by message identity;
`tests/edges/test_alerts.py`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from test_cluster_tick import play

from harness.cluster import SeedCluster


def posted(httpserver, path: str) -> list[dict[str, Any]]:
    return [json.loads(request.data) for request, _ in httpserver.log if request.path == path]


@pytest.fixture
def cluster(emulator, tmp_path: Path, prometheus, httpserver) -> SeedCluster:
    for path in ("/hook", "/events", "/alerts", "/global-events", "/slack"):
        httpserver.expect_request(path, method="POST").respond_with_data("ok")
    return SeedCluster(emulator, tmp_path, prometheus.url, httpserver.url_for("/hook")).install()


def test_event_webhooks_and_alerts_of_a_canary(cluster: SeedCluster, httpserver) -> None:
    cluster.emulator.create(
        {
            "apiVersion": "flagger.app/v1beta1",
            "kind": "AlertProvider",
            "metadata": {"name": "on-call", "namespace": "test"},
            "spec": {"type": "slack", "channel": "deploys", "address": httpserver.url_for("/alerts")},
        }
    )
    canary = cluster.canary()
    analysis = canary["spec"]["canaryAnalysis"]
    analysis["webhooks"].append({"name": "audit", "type": "event", "url": httpserver.url_for("/events")})
    analysis["alerts"] = [{"name": "on-call", "severity": "info", "providerRef": {"name": "on-call"}}]
    cluster.emulator.replace(canary)
    timeline = play(cluster)
    assert timeline[-1]["phase"] == "Succeeded"
    events = [e for tick in timeline for e in tick["events"]]
    # every event, in order, with Flagger's event payload
    audit = posted(httpserver, "/events")
    assert [p["metadata"]["eventMessage"] for p in audit] == events
    assert all(
        p["name"] == "podinfo" and p["namespace"] == "test" and p["metadata"]["eventType"] in ("Normal", "Warning")
        for p in audit
    )
    # alerts: Slack payloads for the alerting events only
    slack = posted(httpserver, "/alerts")
    assert [p["attachments"][0]["text"] for p in slack] == [
        "New Deployment detected, initialization completed.",
        "New revision detected, progressing canary analysis.",
        "Canary analysis completed successfully, promotion finished.",
    ]
    assert all(p["channel"] == "deploys" for p in slack)


def test_global_event_webhook_and_slack_url(cluster: SeedCluster, httpserver) -> None:
    flags = (
        "--event-webhook",
        httpserver.url_for("/global-events"),
        "--slack-url",
        httpserver.url_for("/slack"),
        "--cluster-name",
        "prod-eu",
    )
    run = cluster.tick(*flags)
    assert run.exit_code == 0
    assert [p["metadata"]["eventMessage"] for p in posted(httpserver, "/global-events")] == run.events
    cluster.emulator.complete_rollouts()
    cluster.emulator.advance(10)
    run = cluster.tick(*flags)
    [alert] = posted(httpserver, "/slack")
    assert alert["attachments"][0]["text"] == "New Deployment detected, initialization completed."
    assert {"title": "Cluster", "value": "prod-eu", "short": False} in alert["attachments"][0]["fields"]
    # the URLs never reach the logs
    cronary_lines = [
        log for log in run.logs if log.get("logger") != "werkzeug"
    ]  # the test servers' own access log aside
    assert cronary_lines and not [
        log for log in cronary_lines if "/slack" in json.dumps(log) or "/global-events" in json.dumps(log)
    ]
