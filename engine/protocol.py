"""The engine's public vocabulary: what the shell hands `decide` and what `decide` hands back.

These are plain frozen classes and nothing else (as h11's events are), so the shell can name them without
importing the state machine, and each has one home. The protocol itself is described in `engine.tick`:
`decide` returns a `Decision`, or a `Pending` naming the `HookRequest`s and `MetricRequest`s it lacks; the
shell answers with `Observations` (`HookResult`s and metric results) and calls `decide` again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .analysis.judge import MetricResult, MetricVerdict
from .analysis.render import ProviderCheck, RenderedQuery
from .cluster import ClusterView
from .configs import NO_CONFIGS, TrackedConfigs
from .model import Canary, CanaryStatus, MetricSpec, WebhookSpec
from .routers.factory import Provider

# The labels a target's selector is searched for (Flagger's `-selector-labels` default), in order. Here and
# not with `read_target_facts` in `engine.targets.facts`, because it is `Settings`' default and that module
# needs `Settings`.
DEFAULT_SELECTOR_LABELS = ("app", "name", "app.kubernetes.io/name")


@dataclass(frozen=True)
class Settings:
    """Engine-wide settings (Flagger's command-line flags): the same for every canary of a run, so they are
    passed to `decide` apart from the canary."""

    mesh_provider: str | None = None
    selector_labels: tuple[str, ...] = DEFAULT_SELECTOR_LABELS
    config_tracking: bool = True
    include_label_prefixes: tuple[str, ...] = ()
    istio_seconds: bool = False  # built-in durations from Istio <= 1.4's seconds histogram (`--istio-seconds`)
    checksum_key: bytes = field(default=b"", repr=False)
    """`--checksum-key-file`: with a key, a Secret's checksum is keyed (HMAC-SHA256), so a checksum recorded in a
    status or a repository cannot be checked against guesses of the data by anyone without the key."""


@dataclass(frozen=True)
class HookResult:
    """A webhook's answer: `ok` is HTTP 200–202 (for a rollback hook: "roll back"); `message` the error text.
    The shell makes the call; the engine only ever sees this."""

    ok: bool
    message: str = ""


@dataclass(frozen=True)
class Observations:
    """Results the shell gathered for this tick, by metric name and webhook name: the only way the outside
    world's answers reach `decide`, which keeps it a pure function of its arguments."""

    metrics: Mapping[str, MetricResult] = field(default_factory=dict)
    hooks: Mapping[str, HookResult] = field(default_factory=dict)
    providers: HookResult | None = None  # are the canary's metric providers reachable (asked while initializing)


@dataclass(frozen=True)
class HookRequest:
    """A webhook the tick needs called, with Flagger's payload: the engine says what to send, the shell sends
    it (and answers with a `HookResult` under the hook's name)."""

    hook: WebhookSpec
    payload: Mapping[str, Any]


@dataclass(frozen=True)
class MetricRequest:
    """A metric the tick needs measured, with its query rendered by the engine (`engine.analysis.render`): the
    shell only runs `query` and answers with a `MetricResult` under the metric's name. `query` is None when
    the metric cannot be rendered (a MetricTemplate not found, a variable missing …); `problem` then says why,
    and the shell answers it as a failed check, as it would a query that failed."""

    metric: MetricSpec
    provider: Provider
    query: RenderedQuery | None = None
    problem: str = ""


@dataclass(frozen=True)
class Pending:
    """The tick cannot go on without these observations: `decide` returns it instead of doing I/O (sans-I/O),
    and is called again with them added."""

    canary: Canary
    hooks: tuple[HookRequest, ...] = ()
    metrics: tuple[MetricRequest, ...] = ()
    check_providers: ProviderCheck | None = None  # the metrics servers to probe; answer with Observations.providers


@dataclass(frozen=True)
class Event:
    """Something the tick says happened, as Flagger words it: the shell records it as a Kubernetes Event, a log
    line, a commit trailer and an event webhook, and alerts are derived from it — by `message_id`, the identity
    of the message (`engine.messages`), and the `values` its text was filled with, never by the text."""

    type: str  # Normal | Warning
    message: str
    phase: str  # the canary's phase when the event was recorded (webhook payloads carry it)
    reason: str = "Synced"
    message_id: str = ""  # `engine.messages.Message.id`; empty for an event not built from a message
    values: tuple[tuple[str, str], ...] = ()  # (name, value) the message's text was filled with, redacted


@dataclass(frozen=True)
class HookOutcome:
    """A webhook the tick asked and what it answered (redacted), for the record: evidence and reports quote it."""

    name: str
    type: str
    ok: bool
    message: str


@dataclass(frozen=True)
class Decision:
    """Everything one tick decided, for the shell to apply. Objects are in apply order; `status` is the next
    Canary status."""

    canary: Canary
    now: str
    due: bool
    next_due: str | None
    status: CanaryStatus
    status_changed: bool
    objects: tuple[Mapping[str, Any], ...] = ()
    events: tuple[Event, ...] = ()
    logs: tuple[str, ...] = ()
    secret_copies: tuple[tuple[str, str], ...] = ()
    verdicts: tuple[MetricVerdict, ...] = ()
    hooks: tuple[HookOutcome, ...] = ()
    canary_weight: int | None = None  # the routed canary weight after the tick (None: no route object yet)


@dataclass(frozen=True)
class TargetFacts:
    """What a tick derives from the target once (revision hash, selector label, tracked configs), so the
    re-runs of the sans-I/O protocol do not derive it again. `problem` is the warning when it cannot.
    Made by `engine.targets.facts.read_target_facts`."""

    canary: Canary
    cluster: ClusterView
    settings: Settings
    target: Mapping[str, Any] | None = None
    label: str = ""
    value: str = ""
    tracked: TrackedConfigs = NO_CONFIGS
    hash: str = ""
    problem: str = ""


# For a shell that can answer on the spot: given each `Pending`, it returns the observations (all it had plus
# the answers) and `decide` carries on, or None to have the `Pending` returned after all.
Answer = Callable[[Pending], "Observations | None"]
