"""Which alerts a tick raises, with Flagger's texts, severities and metadata fields — and who receives them.

Flagger raises an alert right after recording certain events (`c.alert(...)` next to `recordEvent...` in
`scheduler.go` / `scheduler_hooks.go`). `alerts_for` derives the same alerts from a `Decision`'s events, so
the state machine in `engine.tick` stays untouched: each alert-raising event is selected by the identity of its
message (`engine.messages`), never by its text, and the alert quotes the values the message was filled with.

| event's message (engine.messages)  | alert message                                                 | severity | fields |
|------------------------------------|---------------------------------------------------------------|----------|--------|
| `INITIALIZED`                      | `New <Kind> detected, initialization completed.`              | info     | yes    |
| `NEW_REVISION`                     | `New revision detected, progressing canary analysis.`         | info     | yes    |
| `WAITING_FOR_APPROVAL`             | `Canary is waiting for approval.`                             | warn     | no     |
| `WAITING_FOR_TRAFFIC_APPROVAL`     | `Canary traffic increase is waiting for approval.`            | warn     | no     |
| `WAITING_FOR_PROMOTION_APPROVAL`   | `Canary promotion is waiting for approval.`                   | warn     | no     |
| `ROLLBACK_MANUAL`                  | `Rolling back manual webhook invoked`                         | warn     | no     |
| `ROLLBACK_FAILED_CHECKS`           | `Failed checks threshold reached <checks>`                    | error    | no     |
| `ROLLBACK_PROGRESS_DEADLINE`       | `Progress deadline exceeded <error>`                          | error    | no     |
| `PROMOTION_FAILED`                 | `Promotion failed, primary not ready: <reason>`               | error    | no     |
| `PROMOTION_COMPLETED`              | `Canary analysis completed successfully, promotion finished.` | info     | no     |
| `PROMOTION_SKIPPED_ANALYSIS`       | `Canary analysis was skipped, promotion finished.`            | info     | no     |

The three approval alerts are muted when the refusing hook sets `muteAlert: true` (Flagger's
`if !webhook.MuteAlert`). With a cluster name, a `Cluster` field comes first in every alert.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import messages as msg
from ..hooks import HookType
from ..model import AlertSpec, Canary, WebhookSpec
from ..protocol import Decision, Event
from ..strategies.factory import traffic_routing as strategy_traffic_routing

INFO = "info"
WARN = "warn"
ERROR = "error"
SEVERITIES = (INFO, WARN, ERROR)

Fields = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Alert:
    """One alert as Flagger's notifiers receive it: `Post(name, namespace, message, fields, severity)`.

    `canary` is `<name>.<namespace>` of the Canary (Slack's `author_name`, Teams' `summary`); `fields` are
    (name, value) pairs in Flagger's order; `hook` names the gating webhook whose refusal raised an approval
    alert, and `muted` says that hook has `muteAlert: true` (such an alert is never sent); `time` is the
    tick's time."""

    canary: str
    name: str
    namespace: str
    message: str
    severity: str
    fields: Fields = ()
    hook: str | None = None
    muted: bool = False
    time: str = ""


def traffic_routing(canary: Canary) -> str | None:
    """The `Traffic routing` field (Flagger's `alertMetadata`), as the canary's strategy words it."""
    return strategy_traffic_routing(canary.spec.effective_analysis)


def metadata_fields(canary: Canary) -> Fields:
    """Target, Failed checks threshold, Progress deadline and Traffic routing, as Flagger formats them."""
    ref = canary.spec.target_ref
    fields: list[tuple[str, str]] = [
        ("Target", f"{ref.kind}/{ref.name}.{canary.namespace}"),
        ("Failed checks threshold", str(canary.spec.effective_analysis.threshold)),
        ("Progress deadline", f"{canary.spec.progress_deadline_seconds}s"),
    ]
    routing = traffic_routing(canary)
    if routing is not None:
        fields.append(("Traffic routing", routing))
    return tuple(fields)


def _hook(canary: Canary, name: str, hook_type: HookType) -> WebhookSpec | None:
    return next((h for h in canary.spec.effective_analysis.webhooks if h.name == name and h.type == hook_type), None)


@dataclass(frozen=True)
class _Rule:
    """The alert an event's message raises: its text (formatted with kind=<targetRef.kind> and the event's
    values), severity, whether it carries the metadata fields, and for an approval alert the gate whose
    refusing hook (the event's `hook` value) may mute it. `quotes` names the value the alert is about (a hook,
    a count, an error): an event without it raises nothing."""

    message: msg.Message
    alert: str
    severity: str
    with_fields: bool = False
    gate: HookType | None = None
    quotes: str = ""


_RULES = {
    rule.message.id: rule
    for rule in (
        _Rule(msg.INITIALIZED, "New {kind} detected, initialization completed.", INFO, with_fields=True),
        _Rule(msg.NEW_REVISION, "New revision detected, progressing canary analysis.", INFO, with_fields=True),
        _Rule(
            msg.WAITING_FOR_APPROVAL,
            "Canary is waiting for approval.",
            WARN,
            gate=HookType.CONFIRM_ROLLOUT,
            quotes="hook",
        ),
        _Rule(
            msg.WAITING_FOR_TRAFFIC_APPROVAL,
            "Canary traffic increase is waiting for approval.",
            WARN,
            gate=HookType.CONFIRM_TRAFFIC_INCREASE,
            quotes="hook",
        ),
        _Rule(
            msg.WAITING_FOR_PROMOTION_APPROVAL,
            "Canary promotion is waiting for approval.",
            WARN,
            gate=HookType.CONFIRM_PROMOTION,
            quotes="hook",
        ),
        _Rule(msg.ROLLBACK_MANUAL, "Rolling back manual webhook invoked", WARN),
        _Rule(msg.ROLLBACK_FAILED_CHECKS, "Failed checks threshold reached {checks}", ERROR, quotes="checks"),
        _Rule(msg.ROLLBACK_PROGRESS_DEADLINE, "Progress deadline exceeded {error}", ERROR, quotes="error"),
        _Rule(msg.PROMOTION_FAILED, "Promotion failed, primary not ready: {reason}", ERROR, quotes="reason"),
        _Rule(msg.PROMOTION_COMPLETED, "Canary analysis completed successfully, promotion finished.", INFO),
        _Rule(msg.PROMOTION_SKIPPED_ANALYSIS, "Canary analysis was skipped, promotion finished.", INFO),
    )
}


def alert_for_event(canary: Canary, event: Event, *, cluster_name: str = "", time: str = "") -> Alert | None:
    """The alert Flagger raises together with this event, or None."""
    rule = _RULES.get(event.message_id)
    if rule is None:
        return None
    values = dict(event.values)
    if rule.quotes and not values.get(rule.quotes):
        return None
    fields: list[tuple[str, str]] = [("Cluster", cluster_name)] if cluster_name else []
    if rule.with_fields:
        fields.extend(metadata_fields(canary))
    hook_name = values["hook"] if rule.gate is not None else None
    hook = _hook(canary, values["hook"], rule.gate) if rule.gate is not None else None
    return Alert(
        canary=canary.key,
        name=canary.name,
        namespace=canary.namespace,
        message=rule.alert.format(kind=canary.spec.target_ref.kind, **values),
        severity=rule.severity,
        fields=tuple(fields),
        hook=hook_name,
        muted=bool(hook is not None and hook.mute_alert),
        time=time,
    )


def held_alert(canary: Canary, reason: str, *, cluster_name: str = "", time: str = "") -> Alert:
    """cronary's own alert (Flagger has no such state): GitOps mode holds a canary whose state in the
    repository is damaged, and says why — an error, like a rollback, since nothing moves until a person acts."""
    fields = ((("Cluster", cluster_name),) if cluster_name else ()) + metadata_fields(canary)
    return Alert(
        canary=canary.key,
        name=canary.name,
        namespace=canary.namespace,
        message=f"Canary {canary.key} is held: {reason}",
        severity=ERROR,
        fields=fields,
        time=time,
    )


def alerts_for(decision: Decision, *, cluster_name: str = "", include_muted: bool = False) -> tuple[Alert, ...]:
    """The alerts one decided tick raises, in event order. Alerts muted by their gating hook's `muteAlert`
    are left out unless `include_muted` (they carry `muted=True` then)."""
    found = (alert_for_event(decision.canary, e, cluster_name=cluster_name, time=decision.now) for e in decision.events)
    return tuple(a for a in found if a is not None and (include_muted or not a.muted))


def receives(entry_severity: str, alert_severity: str) -> bool:
    """Flagger's severity filter: an `info` entry receives everything, `warn` receives warn and error,
    `error` only error; any other value (Flagger: an omitted severity) receives nothing."""
    if entry_severity == INFO:
        return True
    return entry_severity == alert_severity or (entry_severity == WARN and alert_severity == ERROR)


@dataclass(frozen=True)
class Delivery:
    """One alert for one receiver: an `analysis.alerts` entry's AlertProvider (`entry` set, provider
    `(namespace, name)`), or the global notifier (`entry` None), which Flagger uses only for a canary
    with no `analysis.alerts` and which receives every severity."""

    alert: Alert
    entry: AlertSpec | None = None
    provider: tuple[str, str] | None = None


def deliveries(canary: Canary, alerts: tuple[Alert, ...]) -> tuple[Delivery, ...]:
    """Route alerts: to each `analysis.alerts` entry whose severity receives them, else to the global
    notifier. Muted alerts go nowhere."""
    entries = canary.spec.effective_analysis.alerts
    out: list[Delivery] = []
    for alert in alerts:
        if alert.muted:
            continue
        if not entries:
            out.append(Delivery(alert))
            continue
        for entry in entries:
            if receives(entry.severity, alert.severity):
                out.append(Delivery(alert, entry, (entry.provider_namespace or canary.namespace, entry.provider_name)))
    return tuple(out)
