"""Alerts: which alerts a tick raises (Flagger's texts, severities, metadata), who receives them, the
AlertProvider manifests, and the payloads posted to Slack, Teams, Discord and a generic webhook.

The alert timelines come from running the engine: `cronary simulate`'s `Simulation` on the seed scenarios
(`fixtures/seed/scenario-*.yaml`) with the seed Canary and the gate Canaries of `fixtures/canaries/`, each
decision passed to `engine.alerting.alerts.alerts_for`. The payloads go to real HTTP servers on loopback
(pytest-httpserver) and are compared with Flagger's shapes (`pkg/notifier/slack.go`, `teams.go`,
`discord.go`; reference `flagger-metrics-webhooks.md` §4.4).
"""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from werkzeug import Request, Response

from cronjob.local.inputs import ScenarioStep, build_cluster, cluster_objects, read_canary, read_scenario
from cronjob.local.simulation import SimulatedCluster, Simulation
from cronjob.shared.alerts import SendResult, post_alert, send_alerts
from engine import Decision, Event, Settings, messages
from engine.alerting.alerts import Alert, Delivery, alert_for_event, alerts_for, deliveries, receives
from engine.alerting.discord import discord_url
from engine.alerting.notifier import NotifierTarget
from engine.alerting.providers import (
    AlertProviderSpec,
    alert_providers,
    global_target,
    parse_alert_provider,
    resolve_target,
)
from engine.canary_spec import parse_canary
from engine.cluster import ClusterView
from engine.errors import SpecError

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "fixtures" / "seed"
CANARIES = ROOT / "fixtures" / "canaries"
CLUSTER = SEED / "cluster.yaml"
SEED_CANARY = SEED / "podinfo-canary.yaml"
HOOKS_CANARY = CANARIES / "podinfo-webhooks.yaml"
STEPS_CANARY = CANARIES / "podinfo-promotion-steps.yaml"
SKIP_CANARY = CANARIES / "podinfo-skip-analysis.yaml"
STEP_WEIGHTS_CANARY = CANARIES / "podinfo-stepweights.yaml"
MESH = "smi:istio"

SECRET_URL = "https://hooks.slack.example/services/T0SECRET/B0SECRET/xoxSECRETtoken"

# ------------------------------------------------------------------------------------------ running the engine
META = (
    ("Target", "Deployment/podinfo.test"),
    ("Failed checks threshold", "5"),
    ("Progress deadline", "60s"),
    ("Traffic routing", "Weight step: 10 max: 50"),
)
INIT = ("info", "New Deployment detected, initialization completed.", META)
REVISION = ("info", "New revision detected, progressing canary analysis.", META)
WAITING = ("warn", "Canary is waiting for approval.", ())
TRAFFIC = ("warn", "Canary traffic increase is waiting for approval.", ())
PROMOTION = ("warn", "Canary promotion is waiting for approval.", ())
MANUAL_ROLLBACK = ("warn", "Rolling back manual webhook invoked", ())
THRESHOLD_5 = ("error", "Failed checks threshold reached 5", ())
COMPLETED = ("info", "Canary analysis completed successfully, promotion finished.", ())
SKIPPED = ("info", "Canary analysis was skipped, promotion finished.", ())


class RecordingCluster(SimulatedCluster):
    """A simulated cluster that keeps every Decision the simulation applies to it."""

    decisions: list[Decision]

    def apply(self, decision: Decision, now: Any) -> None:
        self.decisions.append(decision)
        super().apply(decision, now)


def run_decisions(canary: Path, scenario: Path, **scenario_changes: Any) -> list[Decision]:
    plan = read_scenario(str(scenario))
    if scenario_changes:
        plan = dataclasses.replace(plan, **scenario_changes)
    base = SimulatedCluster.of(build_cluster(cluster_objects(str(CLUSTER))))
    cluster = RecordingCluster(base.objects, base.secrets)
    cluster.decisions = []
    Simulation(read_canary(str(canary), MESH), cluster, plan, Settings(mesh_provider=MESH), str(scenario)).run()
    return cluster.decisions


def timeline(decisions: list[Decision], **options: Any) -> list[tuple[int, str, str, tuple[tuple[str, str], ...]]]:
    """(tick, severity, message, fields) of every alert of a run."""
    return [
        (tick, a.severity, a.message, a.fields) for tick, d in enumerate(decisions, 1) for a in alerts_for(d, **options)
    ]


def with_hook_changes(tmp_path: Path, source: Path, **hooks: dict[str, Any]) -> Path:
    """A copy of a Canary file with some webhooks changed (by name)."""
    doc = yaml.safe_load(source.read_text(encoding="utf-8"))
    for hook in doc["spec"]["analysis"]["webhooks"]:
        hook.update(hooks.get(hook["name"], {}))
    path = tmp_path / source.name
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


def failed_promotion_steps() -> tuple[ScenarioStep, ...]:
    """The healthy seed scenario, with the primary's rollout stuck from the promotion tick (5) on."""
    plan = read_scenario(str(SEED / "scenario-healthy.yaml"))
    return plan.steps + (ScenarioStep(at=5, metrics={}, hooks={}, image=None, ready={"primary": False}),)


def at(
    tick: int, alert: tuple[str, str, tuple[tuple[str, str], ...]]
) -> tuple[int, str, str, tuple[tuple[str, str], ...]]:
    return (tick, *alert)


TIMELINES = [
    pytest.param(
        SEED_CANARY, "scenario-healthy.yaml", {}, [at(2, INIT), at(3, REVISION), at(11, COMPLETED)], id="seed-healthy"
    ),
    pytest.param(
        SEED_CANARY,
        "scenario-failing.yaml",
        {},
        [at(2, INIT), at(3, REVISION), at(11, THRESHOLD_5)],
        id="seed-failing-threshold",
    ),
    pytest.param(
        SEED_CANARY,
        "scenario-no-data.yaml",
        {},
        [at(2, INIT), at(3, REVISION), at(10, THRESHOLD_5)],
        id="seed-no-data-threshold",
    ),
    # a stuck canary rollout rolls back without an alert (Flagger's `Progress deadline exceeded` alert is dead code)
    pytest.param(
        SEED_CANARY,
        "scenario-progress-deadline.yaml",
        {},
        [at(2, INIT), at(3, REVISION)],
        id="seed-progress-deadline-no-alert",
    ),
    # restarting mid-analysis raises no alert of its own
    pytest.param(
        SEED_CANARY, "scenario-restart.yaml", {}, [at(2, INIT), at(3, REVISION), at(14, COMPLETED)], id="seed-restart"
    ),
    # the start gate alerts once, on entering Waiting (ticks 4 and 5 stay Waiting silently)
    pytest.param(
        HOOKS_CANARY,
        "scenario-gate-confirm-rollout.yaml",
        {},
        [at(2, INIT), at(3, WAITING), at(6, REVISION), at(14, COMPLETED)],
        id="gate-confirm-rollout-once",
    ),
    # the step gate alerts on every tick it refuses
    pytest.param(
        HOOKS_CANARY,
        "scenario-gate-traffic-increase.yaml",
        {},
        [at(2, INIT), at(3, REVISION), at(5, TRAFFIC), at(6, TRAFFIC), at(7, TRAFFIC), at(14, COMPLETED)],
        id="gate-traffic-increase-every-tick",
    ),
    # the promotion gate alerts once, on entering WaitingPromotion
    pytest.param(
        HOOKS_CANARY,
        "scenario-gate-promotion.yaml",
        {},
        [at(2, INIT), at(3, REVISION), at(9, PROMOTION), at(13, COMPLETED)],
        id="gate-promotion-once",
    ),
    pytest.param(
        HOOKS_CANARY,
        "scenario-gate-promotion-failing.yaml",
        {},
        [at(2, INIT), at(3, REVISION), at(9, PROMOTION), at(15, THRESHOLD_5)],
        id="gate-promotion-then-threshold",
    ),
    pytest.param(
        HOOKS_CANARY,
        "scenario-gate-rollback.yaml",
        {},
        [at(2, INIT), at(3, REVISION), at(6, MANUAL_ROLLBACK)],
        id="rollback-hook",
    ),
    pytest.param(
        HOOKS_CANARY,
        "scenario-gate-pre-rollout-fails.yaml",
        {},
        [at(2, INIT), at(3, REVISION), at(9, THRESHOLD_5)],
        id="pre-rollout-threshold",
    ),
    pytest.param(
        SKIP_CANARY, "scenario-healthy.yaml", {}, [at(1, INIT), at(3, REVISION), at(4, SKIPPED)], id="skip-analysis"
    ),
]


@pytest.mark.parametrize(("canary", "scenario", "changes", "expected"), TIMELINES)
def test_alert_timeline(canary: Path, scenario: str, changes: dict[str, Any], expected: list[Any]) -> None:
    assert timeline(run_decisions(canary, SEED / scenario, **changes)) == expected


def test_alerts_follow_message_identities_not_texts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reword the messages that raise alerts: the tick says the new words, and the same alerts follow."""
    reworded = {
        "INITIALIZED": "Canary {canary} is initialized",
        "NEW_REVISION": "Revision of {target} changed: scaling it up",
        "WAITING_FOR_APPROVAL": "{canary} waits for {hook} to approve",
        "PROMOTION_COMPLETED": "{target} is promoted; scaling it down",
    }
    for name, text in reworded.items():
        monkeypatch.setattr(messages, name, dataclasses.replace(getattr(messages, name), text=text))
    healthy = run_decisions(SEED_CANARY, SEED / "scenario-healthy.yaml")
    said = [e.message for d in healthy for e in d.events]
    assert "Canary podinfo.test is initialized" in said and "podinfo.test is promoted; scaling it down" in said
    assert not [m for m in said if m.startswith(("Initialization done!", "New revision detected! Scaling up"))]
    assert timeline(healthy) == [at(2, INIT), at(3, REVISION), at(11, COMPLETED)]
    gated = run_decisions(HOOKS_CANARY, SEED / "scenario-gate-confirm-rollout.yaml")
    waiting = [a for d in gated for a in alerts_for(d) if a.message == WAITING[1]]
    assert waiting and waiting[0].hook == "gate-rollout"


def test_a_text_that_reads_like_an_alerting_message_raises_no_alert() -> None:
    canary = read_canary(str(SEED_CANARY), MESH)
    said = messages.INITIALIZED.event("Initialized", canary=canary.key)
    assert alert_for_event(canary, said) is not None
    assert alert_for_event(canary, Event(said.type, said.message, said.phase)) is None


def test_every_event_of_a_rollout_is_one_of_the_messages() -> None:
    identities = {m.id for m in messages.MESSAGES}
    for canary, scenario in (
        (SEED_CANARY, "scenario-healthy.yaml"),
        (SEED_CANARY, "scenario-failing.yaml"),
        (HOOKS_CANARY, "scenario-gate-rollback.yaml"),
        (HOOKS_CANARY, "scenario-gate-promotion.yaml"),
    ):
        events = [e for d in run_decisions(canary, SEED / scenario) for e in d.events]
        assert events and {e.message_id for e in events} <= identities, scenario


def test_failed_promotion_alert() -> None:
    decisions = run_decisions(STEPS_CANARY, SEED / "scenario-healthy.yaml", steps=failed_promotion_steps(), ticks=30)
    alerts = timeline(decisions)
    tick, severity, message, fields = alerts[-1]
    assert (severity, fields) == ("error", ())
    assert message.startswith("Promotion failed, primary not ready: ")
    assert message.endswith('deployment "podinfo-primary" exceeded its progress deadline')
    assert decisions[tick - 1].status.phase == "Failed"
    meta = dict(alerts[0][3])
    assert meta["Traffic routing"] == "Weight step: 100 max: 100"


def test_step_weights_traffic_routing() -> None:
    decisions = run_decisions(STEP_WEIGHTS_CANARY, SEED / "scenario-healthy.yaml")
    first = alerts_for(decisions[1])[0]
    assert first.message == "New Deployment detected, initialization completed."
    assert dict(first.fields)["Traffic routing"] == "Weight steps: 1,2,10,80 max: 80"


def test_cluster_field_comes_first_on_every_alert() -> None:
    decisions = run_decisions(HOOKS_CANARY, SEED / "scenario-gate-rollback.yaml")
    alerts = [a for d in decisions for a in alerts_for(d, cluster_name="prod-eu")]
    assert [a.fields[0] for a in alerts] == [("Cluster", "prod-eu")] * 3
    assert alerts[0].fields[1:] == META
    assert alerts[2].fields == (("Cluster", "prod-eu"),)


def test_alert_carries_canary_key_and_tick_time() -> None:
    decisions = run_decisions(HOOKS_CANARY, SEED / "scenario-gate-confirm-rollout.yaml")
    waiting = alerts_for(decisions[2])[0]
    assert (waiting.canary, waiting.name, waiting.namespace, waiting.hook, waiting.muted) == (
        "podinfo.test",
        "podinfo",
        "test",
        "gate-rollout",
        False,
    )
    assert waiting.time == decisions[2].now


# ------------------------------------------------------------------------------------------------ muteAlert
MUTES = [
    pytest.param(
        "gate-rollout", "scenario-gate-confirm-rollout.yaml", "Canary is waiting for approval.", id="confirm-rollout"
    ),
    pytest.param(
        "gate-traffic",
        "scenario-gate-traffic-increase.yaml",
        "Canary traffic increase is waiting for approval.",
        id="confirm-traffic-increase",
    ),
    pytest.param(
        "gate-promotion",
        "scenario-gate-promotion.yaml",
        "Canary promotion is waiting for approval.",
        id="confirm-promotion",
    ),
]


@pytest.mark.parametrize(("hook", "scenario", "message"), MUTES)
def test_mute_alert_on_the_gating_hook_suppresses_its_approval_alert(
    tmp_path: Path, hook: str, scenario: str, message: str
) -> None:
    canary = with_hook_changes(tmp_path, HOOKS_CANARY, **{hook: {"muteAlert": True}})
    decisions = run_decisions(canary, SEED / scenario)
    assert message in [m for _t, _s, m, _f in timeline(run_decisions(HOOKS_CANARY, SEED / scenario))]
    assert message not in [m for _t, _s, m, _f in timeline(decisions)]
    muted = [a for d in decisions for a in alerts_for(d, include_muted=True) if a.message == message]
    assert muted and all(a.muted and a.hook == hook for a in muted)
    assert deliveries(decisions[0].canary, tuple(muted)) == ()


def test_mute_alert_on_another_hook_changes_nothing(tmp_path: Path) -> None:
    canary = with_hook_changes(
        tmp_path, HOOKS_CANARY, **{"gate-traffic": {"muteAlert": True}, "rollback-gate": {"muteAlert": True}}
    )
    assert timeline(run_decisions(canary, SEED / "scenario-gate-confirm-rollout.yaml"))[1] == at(3, WAITING)
    assert timeline(run_decisions(canary, SEED / "scenario-gate-rollback.yaml"))[-1] == at(6, MANUAL_ROLLBACK)


# ------------------------------------------------------------------------------------------------ severity filter
SEVERITY_TABLE = [
    ("info", "info", True),
    ("info", "warn", True),
    ("info", "error", True),
    ("warn", "info", False),
    ("warn", "warn", True),
    ("warn", "error", True),
    ("error", "info", False),
    ("error", "warn", False),
    ("error", "error", True),
    ("", "info", False),
    ("", "warn", False),
    ("", "error", False),
]


@pytest.mark.parametrize(
    ("entry", "alert", "expected"),
    SEVERITY_TABLE,
    ids=[f"{e or 'empty'}-entry-gets-{a}-{x}" for e, a, x in SEVERITY_TABLE],
)
def test_severity_filter(entry: str, alert: str, expected: bool) -> None:
    assert receives(entry, alert) is expected


def canary_with_alerts(entries: list[dict[str, Any]]) -> Any:
    doc = yaml.safe_load(HOOKS_CANARY.read_text(encoding="utf-8"))
    doc["spec"]["analysis"]["alerts"] = entries
    return parse_canary(doc)


def _alert(severity: str, message: str = "m") -> Alert:
    return Alert("podinfo.test", "podinfo", "test", message, severity)


def test_deliveries_route_by_severity_and_provider_namespace() -> None:
    canary = canary_with_alerts(
        [
            {"name": "all", "severity": "info", "providerRef": {"name": "slack"}},
            {"name": "bad-news", "severity": "warn", "providerRef": {"name": "teams", "namespace": "ops"}},
            {"name": "pager", "severity": "error", "providerRef": {"name": "generic"}},
        ]
    )
    got = deliveries(canary, (_alert("info"), _alert("warn"), _alert("error")))
    assert [(d.alert.severity, d.entry.name if d.entry else None, d.provider) for d in got] == [
        ("info", "all", ("test", "slack")),
        ("warn", "all", ("test", "slack")),
        ("warn", "bad-news", ("ops", "teams")),
        ("error", "all", ("test", "slack")),
        ("error", "bad-news", ("ops", "teams")),
        ("error", "pager", ("test", "generic")),
    ]


def test_deliveries_without_alert_entries_go_to_the_global_notifier_whatever_the_severity() -> None:
    canary = canary_with_alerts([])
    got = deliveries(canary, (_alert("info"), _alert("error")))
    assert [(d.alert.severity, d.entry, d.provider) for d in got] == [("info", None, None), ("error", None, None)]


# ------------------------------------------------------------------------------------------------ AlertProvider
def provider_doc(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "flagger.app/v1beta1",
        "kind": "AlertProvider",
        "metadata": {"name": "on-call", "namespace": "flagger"},
        "spec": spec,
    }


def test_alert_provider_defaults() -> None:
    provider = parse_alert_provider(provider_doc(type="slack", address="https://hooks.slack.com/services/T/B/X"))
    assert provider == AlertProviderSpec(
        "on-call", "flagger", "slack", "general", "flagger", "https://hooks.slack.com/services/T/B/X"
    )
    assert provider.key == ("flagger", "on-call")
    assert "hooks.slack.com" not in repr(provider)


@pytest.mark.parametrize("kind", ["slack", "msteams", "discord", "generic"])
def test_alert_provider_types(kind: str) -> None:
    provider = parse_alert_provider(
        provider_doc(
            type=kind,
            channel="on-call",
            username="cronary",
            proxy="http://proxy.internal:3128",
            secretRef={"name": "hook"},
        )
    )
    assert (
        provider.type,
        provider.channel,
        provider.username,
        provider.proxy,
        provider.secret_name,
        provider.address,
    ) == (
        kind,
        "on-call",
        "cronary",
        "http://proxy.internal:3128",
        "hook",
        None,
    )


def _set(doc: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    *parents, last = path.split(".")
    node = doc
    for key in parents:
        node = node[key]
    if value is _DELETE:
        node.pop(last, None)
    else:
        node[last] = value
    return doc


_DELETE = object()
VALID = provider_doc(type="slack", address="https://hooks.slack.com/services/T/B/X")
PROVIDER_ERRORS = [
    pytest.param("apiVersion", "flagger.app/v1alpha3", "apiVersion", "must be flagger.app/v1beta1", id="api-version"),
    pytest.param("kind", "Canary", "kind", "must be AlertProvider", id="kind"),
    pytest.param("metadata.name", _DELETE, "metadata.name", "required", id="name-missing"),
    pytest.param("metadata.name", "On_Call", "metadata.name", "DNS-1123", id="name-invalid"),
    pytest.param("spec", None, "spec", "must be a map", id="spec-missing"),
    pytest.param("spec.type", _DELETE, "spec.type", "required", id="type-missing"),
    pytest.param("spec.type", "rocket", "spec.type", "Flagger supports it; cronary does not", id="type-rocket"),
    pytest.param("spec.type", "gchat", "spec.type", "must be one of slack, msteams, discord, generic", id="type-gchat"),
    pytest.param("spec.type", "pagerduty", "spec.type", "got 'pagerduty'", id="type-unknown"),
    pytest.param("spec.type", 3, "spec.type", "must be a string", id="type-not-string"),
    pytest.param(
        "spec.address",
        "hooks.slack.com/services/T/B/X",
        "spec.address",
        "must be an http or https URL",
        id="address-no-scheme",
    ),
    pytest.param(
        "spec.address", "ftp://hooks.slack.com/x", "spec.address", "must be an http or https URL", id="address-ftp"
    ),
    pytest.param("spec.address", ["https://x"], "spec.address", "must be a string", id="address-not-string"),
    pytest.param(
        "spec.address", _DELETE, "spec.address", "required unless spec.secretRef", id="address-and-secret-missing"
    ),
    pytest.param("spec.secretRef", {"key": "x"}, "spec.secretRef.name", "required", id="secret-ref-no-name"),
    pytest.param("spec.secretRef", "hook", "spec.secretRef", "must be a map", id="secret-ref-not-map"),
    pytest.param(
        "spec.proxy", "proxy.internal:3128", "spec.proxy", "must be an http, https or socks5 URL", id="proxy-no-scheme"
    ),
    pytest.param("spec.channel", 7, "spec.channel", "must be a string", id="channel-not-string"),
]


@pytest.mark.parametrize(("path", "value", "error_path", "fragment"), PROVIDER_ERRORS)
def test_alert_provider_errors_name_the_field(path: str, value: Any, error_path: str, fragment: str) -> None:
    with pytest.raises(SpecError) as err:
        parse_alert_provider(_set(VALID, path, value))
    assert err.value.path == error_path
    assert fragment in err.value.message
    assert "hooks.slack.com/services/T/B/X" not in str(err.value)


def test_alert_providers_of_a_cluster_keep_errors_per_provider() -> None:
    good = provider_doc(type="msteams", address="https://outlook.office.com/webhook/x")
    bad = _set(_set(VALID, "metadata.name", "broken"), "spec.type", "rocket")
    found = alert_providers(ClusterView.of([good, bad, {"kind": "Deployment", "metadata": {"name": "x"}}]))
    assert set(found) == {("flagger", "on-call"), ("flagger", "broken")}
    assert isinstance(found[("flagger", "on-call")], AlertProviderSpec)
    assert isinstance(found[("flagger", "broken")], SpecError) and found[("flagger", "broken")].path == "spec.type"


def test_secret_address_overrides_spec_address_and_brings_a_token() -> None:
    provider = parse_alert_provider(
        provider_doc(type="slack", address="https://spec.example/hook", secretRef={"name": "hook"})
    )
    target = resolve_target(provider, {"address": SECRET_URL + "\n", "token": "xoxb-TOKEN"})
    assert (target.url, target.token, target.label) == (SECRET_URL, "xoxb-TOKEN", "on-call.flagger")
    assert SECRET_URL not in repr(target) and "xoxb-TOKEN" not in repr(target)


SECRET_ERRORS = [
    pytest.param(None, "secret flagger/hook not found", id="secret-missing"),
    pytest.param({"url": SECRET_URL}, "does not contain an address key", id="no-address-key"),
    pytest.param(
        {"address": SECRET_URL.replace("https://", "")}, "must be an http or https URL", id="address-no-scheme"
    ),
    pytest.param(
        {"address": SECRET_URL.replace("https://", "smtp://")}, "must be an http or https URL", id="address-bad-scheme"
    ),
]


@pytest.mark.parametrize(("secret", "fragment"), SECRET_ERRORS)
def test_secret_errors_never_show_the_address(secret: dict[str, str] | None, fragment: str) -> None:
    provider = parse_alert_provider(provider_doc(type="slack", secretRef={"name": "hook"}))
    with pytest.raises(SpecError) as err:
        resolve_target(provider, secret)
    assert err.value.path == "spec.secretRef.name"
    assert fragment in str(err.value)
    assert "SECRET" not in str(err.value)


def test_global_target_validates_without_echoing_the_url() -> None:
    assert global_target("msteams", "https://outlook.office.com/webhook/x").label == "global"
    with pytest.raises(SpecError) as err:
        global_target("slack", SECRET_URL.replace("https", "gopher"))
    assert err.value.path == "url" and "SECRET" not in str(err.value)
    with pytest.raises(SpecError, match="type"):
        global_target("rocket", SECRET_URL)


# ------------------------------------------------------------------------------------------------ payloads over HTTP
INIT_ALERT = Alert(
    "podinfo.test",
    "podinfo",
    "test",
    "New Deployment detected, initialization completed.",
    "info",
    META,
    time="2026-11-27T10:00:10Z",
)
ERROR_ALERT = Alert(
    "podinfo.test", "podinfo", "test", "Failed checks threshold reached 5", "error", (), time="2026-11-27T10:01:40Z"
)


def slack_body(alert: Alert, color: str, channel: str = "general", username: str = "flagger") -> dict[str, Any]:
    return {
        "channel": channel,
        "username": username,
        "icon_url": "",
        "icon_emoji": ":rocket:",
        "attachments": [
            {
                "color": color,
                "author_name": "podinfo.test",
                "text": alert.message,
                "mrkdwn_in": ["text"],
                "fields": [{"title": n, "value": v, "short": False} for n, v in alert.fields],
            }
        ],
    }


def teams_body(alert: Alert, color: str) -> dict[str, Any]:
    return {
        "@type": "MessageCard",
        "@context": "http://schema.org/extensions",
        "themeColor": color,
        "summary": "podinfo.test",
        "sections": [
            {
                "activityTitle": alert.message,
                "activitySubtitle": "podinfo.test",
                "facts": [{"name": n, "value": v} for n, v in alert.fields],
            }
        ],
    }


def generic_body(alert: Alert) -> dict[str, Any]:
    return {
        "source": "cronary",
        "name": "podinfo",
        "namespace": "test",
        "canary": "podinfo.test",
        "message": alert.message,
        "severity": alert.severity,
        "time": alert.time,
        "fields": [{"name": n, "value": v} for n, v in alert.fields],
    }


PAYLOADS = [
    pytest.param(
        "slack",
        INIT_ALERT,
        "/services/T/B/X",
        "/services/T/B/X",
        slack_body(INIT_ALERT, "good", "on-call", "cronary"),
        id="slack-info",
    ),
    pytest.param(
        "slack",
        ERROR_ALERT,
        "/services/T/B/X",
        "/services/T/B/X",
        slack_body(ERROR_ALERT, "danger", "on-call", "cronary"),
        id="slack-error",
    ),
    pytest.param(
        "msteams", INIT_ALERT, "/webhookb2/abc", "/webhookb2/abc", teams_body(INIT_ALERT, "0076D7"), id="teams-info"
    ),
    pytest.param(
        "msteams", ERROR_ALERT, "/webhookb2/abc", "/webhookb2/abc", teams_body(ERROR_ALERT, "FF0000"), id="teams-error"
    ),
    pytest.param(
        "discord",
        INIT_ALERT,
        "/api/webhooks/1/tok",
        "/api/webhooks/1/tok/slack",
        slack_body(INIT_ALERT, "good", "on-call", "cronary"),
        id="discord-appends-slack",
    ),
    pytest.param(
        "discord",
        ERROR_ALERT,
        "/api/webhooks/1/tok/slack",
        "/api/webhooks/1/tok/slack",
        slack_body(ERROR_ALERT, "danger", "on-call", "cronary"),
        id="discord-keeps-slack",
    ),
    pytest.param("generic", INIT_ALERT, "/alerts", "/alerts", generic_body(INIT_ALERT), id="generic-info"),
    pytest.param("generic", ERROR_ALERT, "/alerts", "/alerts", generic_body(ERROR_ALERT), id="generic-error"),
]


@pytest.mark.parametrize(("kind", "alert", "path", "posted_to", "body"), PAYLOADS)
def test_payload_received_by_a_real_server(
    httpserver: Any, kind: str, alert: Alert, path: str, posted_to: str, body: dict[str, Any]
) -> None:
    httpserver.expect_oneshot_request(
        posted_to, method="POST", json=body, headers={"Content-Type": "application/json"}
    ).respond_with_data("ok")
    target = NotifierTarget("on-call.flagger", kind, httpserver.url_for(path), channel="on-call", username="cronary")
    result = post_alert(alert, target)
    httpserver.check_assertions()
    assert result == SendResult("on-call.flagger", kind, alert.message, alert.severity, ok=True, status=200)


def test_slack_token_is_sent_as_bearer(httpserver: Any) -> None:
    httpserver.expect_oneshot_request(
        "/api/chat.postMessage", method="POST", headers={"Authorization": "Bearer xoxb-TOKEN"}
    ).respond_with_json({"ok": True})
    result = post_alert(
        INIT_ALERT, NotifierTarget("p.ns", "slack", httpserver.url_for("/api/chat.postMessage"), token="xoxb-TOKEN")
    )
    httpserver.check_assertions()
    assert result.ok


def test_discord_url_keeps_the_query() -> None:
    assert (
        discord_url("https://discord.com/api/webhooks/1/tok?wait=true")
        == "https://discord.com/api/webhooks/1/tok/slack?wait=true"
    )


# ------------------------------------------------------------------------------------------------ failures
def cronary_log(caplog: pytest.LogCaptureFixture) -> str:
    """What cronary itself logged (urllib3 and werkzeug log request paths at DEBUG/INFO; see docs/alerts.md)."""
    return "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("cronary"))


def test_http_error_is_a_failed_result_and_the_url_is_scrubbed_from_the_body(
    httpserver: Any, caplog: pytest.LogCaptureFixture
) -> None:
    path = "/services/T0SECRET/B0SECRET/xoxSECRETtoken"
    url = httpserver.url_for(path)
    httpserver.expect_request(path).respond_with_data(f"no such hook {url} ({path})", status=404)
    with caplog.at_level(logging.DEBUG):
        result = post_alert(INIT_ALERT, NotifierTarget("on-call.flagger", "slack", url))
    assert (result.ok, result.status) == (False, 404)
    assert result.error.startswith("sending notification bad response 404: no such hook")
    assert "SECRET" not in result.error
    assert "SECRET" not in cronary_log(caplog) and "on-call.flagger" in cronary_log(caplog)


def test_redirect_is_not_followed_and_is_a_failure(httpserver: Any) -> None:
    httpserver.expect_request("/hook").respond_with_response(Response(status=302, headers={"Location": "/elsewhere"}))
    result = post_alert(INIT_ALERT, NotifierTarget("p.ns", "generic", httpserver.url_for("/hook")))
    assert (result.ok, result.status) == (False, 302)


def test_connection_refused_never_shows_the_url(caplog: pytest.LogCaptureFixture) -> None:
    url = "http://127.0.0.1:9/services/T0SECRET/B0SECRET/xoxSECRETtoken"
    with caplog.at_level(logging.DEBUG):
        result = post_alert(ERROR_ALERT, NotifierTarget("on-call.flagger", "msteams", url), timeout=2)
    assert not result.ok
    assert result.error == "sending notification failed: connection refused"
    assert "SECRET" not in cronary_log(caplog)


def test_timeout_is_a_failed_result(httpserver: Any) -> None:
    def slow(_request: Request) -> Response:
        time.sleep(0.5)
        return Response("late")

    httpserver.expect_request("/slow").respond_with_handler(slow)
    result = post_alert(INIT_ALERT, NotifierTarget("p.ns", "generic", httpserver.url_for("/slow")), timeout=0.1)
    assert (result.ok, result.error) == (False, "sending notification failed: timed out")


def test_proxy_is_used(httpserver: Any) -> None:
    """An http:// hook through an HTTP proxy: the proxy (the test server) receives the absolute URL."""
    httpserver.expect_request("/hook", method="POST", json=generic_body(ERROR_ALERT)).respond_with_data("ok")
    target = NotifierTarget("p.ns", "generic", "http://alerts.invalid/hook", proxy=httpserver.url_for("/").rstrip("/"))
    result = post_alert(ERROR_ALERT, target)
    httpserver.check_assertions()
    assert result.ok, result.error


# ------------------------------------------------------------------------------------------------ end to end
def test_a_rollout_sends_its_alerts_to_each_provider_by_severity(
    httpserver: Any, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    """The gated rollback scenario, with three providers: Slack (info: everything, URL from a Secret),
    Teams (warn), a generic hook (error); plus a provider whose Secret is missing."""
    secret_path = "/services/T0SECRET/B0SECRET/xoxSECRETtoken"
    doc = yaml.safe_load(HOOKS_CANARY.read_text(encoding="utf-8"))
    doc["spec"]["analysis"]["alerts"] = [
        {"name": "chat", "severity": "info", "providerRef": {"name": "slack"}},
        {"name": "ops", "severity": "warn", "providerRef": {"name": "teams", "namespace": "ops"}},
        {"name": "pager", "severity": "error", "providerRef": {"name": "pager"}},
        {"name": "lost", "severity": "info", "providerRef": {"name": "lost"}},
    ]
    providers = alert_providers(
        ClusterView.of(
            [
                {
                    "apiVersion": "flagger.app/v1beta1",
                    "kind": "AlertProvider",
                    "metadata": {"name": "slack", "namespace": "test"},
                    "spec": {"type": "slack", "channel": "deploys", "secretRef": {"name": "slack-hook"}},
                },
                {
                    "apiVersion": "flagger.app/v1beta1",
                    "kind": "AlertProvider",
                    "metadata": {"name": "teams", "namespace": "ops"},
                    "spec": {"type": "msteams", "address": httpserver.url_for("/teams")},
                },
                {
                    "apiVersion": "flagger.app/v1beta1",
                    "kind": "AlertProvider",
                    "metadata": {"name": "pager", "namespace": "test"},
                    "spec": {"type": "generic", "address": httpserver.url_for("/pager")},
                },
                {
                    "apiVersion": "flagger.app/v1beta1",
                    "kind": "AlertProvider",
                    "metadata": {"name": "lost", "namespace": "test"},
                    "spec": {"type": "slack", "secretRef": {"name": "no-such-secret"}},
                },
            ]
        )
    )
    secrets = {("test", "slack-hook"): {"address": httpserver.url_for(secret_path)}}
    received: list[tuple[str, dict[str, Any]]] = []

    def record(request: Request) -> Response:
        received.append((request.path, json.loads(request.get_data())))
        return Response("ok")

    for path in (secret_path, "/teams", "/pager"):
        httpserver.expect_request(path, method="POST").respond_with_handler(record)

    canary_file = tmp_path / "canary.yaml"
    canary_file.write_text(yaml.safe_dump(doc), encoding="utf-8")
    decisions = run_decisions(canary_file, SEED / "scenario-gate-rollback.yaml")
    results: list[SendResult] = []
    with caplog.at_level(logging.DEBUG):
        for decision in decisions:
            results += send_alerts(
                deliveries(decision.canary, alerts_for(decision)), providers, lambda ns, name: secrets.get((ns, name))
            )
    assert [(r.provider, r.message, r.ok) for r in results] == [
        ("slack.test", INIT[1], True),
        ("lost.test", INIT[1], False),
        ("slack.test", REVISION[1], True),
        ("lost.test", REVISION[1], False),
        ("slack.test", MANUAL_ROLLBACK[1], True),
        ("teams.ops", MANUAL_ROLLBACK[1], True),
        ("lost.test", MANUAL_ROLLBACK[1], False),
    ]
    assert {r.error for r in results if not r.ok} == {
        "alert provider lost.test: spec.secretRef.name: secret test/no-such-secret not found"
    }
    assert received == [
        (secret_path, slack_body(Alert("", "", "", INIT[1], "info", META), "good", channel="deploys")),
        (secret_path, slack_body(Alert("", "", "", REVISION[1], "info", META), "good", channel="deploys")),
        (secret_path, slack_body(Alert("", "", "", MANUAL_ROLLBACK[1], "warn"), "good", channel="deploys")),
        ("/teams", teams_body(Alert("", "", "", MANUAL_ROLLBACK[1], "warn"), "0076D7")),
    ]
    assert "SECRET" not in cronary_log(caplog)


def test_global_notifier_gets_every_alert_of_a_canary_without_alert_entries(httpserver: Any) -> None:
    httpserver.expect_request("/global", method="POST").respond_with_data("ok")
    decisions = run_decisions(SEED_CANARY, SEED / "scenario-failing.yaml")
    target = global_target("msteams", httpserver.url_for("/global"))
    results = [r for d in decisions for r in send_alerts(deliveries(d.canary, alerts_for(d)), {}, global_target=target)]
    assert [(r.provider, r.severity, r.message, r.ok) for r in results] == [
        ("global", "info", INIT[1], True),
        ("global", "info", REVISION[1], True),
        ("global", "error", THRESHOLD_5[1], True),
    ]
    assert [json.loads(req.get_data())["themeColor"] for req, _resp in httpserver.log] == ["0076D7", "0076D7", "FF0000"]


def test_without_a_global_notifier_nothing_is_sent() -> None:
    assert send_alerts([Delivery(INIT_ALERT)], {}) == []


def test_unknown_provider_and_invalid_provider_are_failed_results() -> None:
    bad = SpecError("spec.type", "must be one of slack, msteams, discord, generic, got 'rocket'")
    results = send_alerts(
        [Delivery(INIT_ALERT, None, ("test", "missing")), Delivery(INIT_ALERT, None, ("test", "rocket"))],
        {("test", "rocket"): bad},
    )
    assert [(r.provider, r.ok, r.error) for r in results] == [
        ("missing.test", False, "alert provider missing.test not found"),
        ("rocket.test", False, f"alert provider rocket.test: {bad}"),
    ]
