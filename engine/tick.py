"""One tick of one canary: `decide` is the whole state machine as a pure function.

The pipeline follows Flagger's `advanceCanary` step by step (`docs/architecture.md` maps each step).
It is sans-I/O in the style of h11: when the tick reaches a webhook or a metric it has no result for, it
returns `Pending` naming what to observe; the shell performs that and calls `decide` again with the result
added. Because `decide` is deterministic, re-running it from the start reaches the same point, so the
protocol needs no saved continuation. A shell that can answer on the spot may pass `answer` instead: the
tick asks it at the point it needs something and carries on, with the same outcome and no re-runs
(`cronjob.shared.driver.run_tick` does). Hooks are asked for one at a time (Flagger stops at the first failing hook
of a type, and a hook may start a load test, so none is called that Flagger would not call); the metrics of
a canary are asked for together, so the shell can batch them across a fleet.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import fields
from datetime import datetime
from functools import lru_cache
from typing import Any, NoReturn

from . import messages as msg
from . import phases
from .analysis.judge import MetricVerdict, judge_metric
from .analysis.render import ProviderCheck, Templates, provider_check, query_for, template_for
from .cluster import ClusterView
from .configs import NO_CONFIGS, TrackedConfigs, configs_changed
from .errors import SpecError
from .hashing import canonical_json, compute_hash, derived_uuid
from .hooks import HookType
from .messages import Message
from .model import AnalysisSpec, Canary, CanaryStatus, Condition, MetricSpec, WebhookSpec, build_frozen
from .phases import ACTIVE, ANALYSING, INITIAL, Phase, Trigger, promoted_condition, transition
from .protocol import (
    Answer,
    Decision,
    Event,
    HookOutcome,
    HookRequest,
    HookResult,
    MetricRequest,
    Observations,
    Pending,
    Settings,
    TargetFacts,
)
from .redact import redact
from .render import order
from .render.config_copies import render_config_copies
from .render.hpa import render_primary_hpa
from .render.meta import canary_uid, owner_reference, shared_owners
from .render.services import as_found, render_services
from .routers.factory import Provider, resolve_provider
from .routers.router import split
from .schedule import due_text, is_due, next_due_time
from .strategies.factory import strategy_for
from .strategies.strategy import Counts
from .subset import contains
from .targets.factory import target_kind
from .targets.facts import read_target_facts
from .targets.pod_template import FLAGGER_ID, primary_template
from .targets.target import Readiness, TargetKind
from .timefmt import format_time

_ABSENT = object()


def _keeps_answers(before: Observations, after: Observations) -> bool:
    """Does `after` give every answer `before` gave, unchanged (it may add answers)?"""
    if before is after:
        return True
    if before.providers is not None and after.providers != before.providers:
        return False
    for old, new in ((before.hooks, after.hooks), (before.metrics, after.metrics)):
        if old is not new:
            for name, result in old.items():
                value = new.get(name, _ABSENT)
                if value is not result and value != result:
                    return False
    return True


class _NeedInputs(Exception):
    def __init__(
        self,
        hooks: tuple[HookRequest, ...] = (),
        metrics: tuple[MetricRequest, ...] = (),
        providers: ProviderCheck | None = None,
    ) -> None:
        super().__init__()
        self.hooks = hooks
        self.metrics = metrics
        self.providers = providers


class _EndTick(Exception):
    pass


class _Restart(Exception):
    """`answer` returned observations that do not keep the answers this run already used."""

    def __init__(self, observations: Observations) -> None:
        super().__init__()
        self.observations = observations


# how far a tick got: nothing rendered / services and primary only (primary not ready yet) / everything
_STAGE_NONE, _STAGE_PRIMARY, _STAGE_ALL = range(3)


_provider = lru_cache(maxsize=1024)(resolve_provider)  # errors are raised afresh on every call, never cached


@lru_cache(maxsize=4096)
def _status_checksum(last_applied_spec: str, tracked_configs: tuple[tuple[str, str], ...] | None) -> str:
    """Flagger's webhook `checksum` of a status (the same for every hook of a revision)."""
    return compute_hash({"lastAppliedSpec": last_applied_spec, "trackedConfigs": dict(tracked_configs or ())})


_promoted_condition = lru_cache(maxsize=1024)(promoted_condition)


@lru_cache(maxsize=4096)
def _format_time(moment: datetime) -> str:
    """`format_time`, remembered: a tick formats the same few instants (its `now`, the next due time)."""
    return format_time(moment)


def metric_request(
    metric: MetricSpec, provider: Provider, canary: Canary, templates: Templates, settings: Settings
) -> MetricRequest:
    """A metric of `canary` as a request with its query rendered (or the problem that keeps it from being)."""
    try:
        query = query_for(
            metric,
            provider.metrics,
            canary,
            template_for(metric, canary, templates),
            istio_seconds=settings.istio_seconds,
        )
    except SpecError as err:
        return build_frozen(MetricRequest, {"metric": metric, "provider": provider, "query": None, "problem": str(err)})
    return build_frozen(MetricRequest, {"metric": metric, "provider": provider, "query": query, "problem": ""})


def likely_metrics(
    canary: Canary, settings: Settings = Settings(), templates: Templates | None = None
) -> tuple[MetricRequest, ...]:
    """The metric queries this tick will most likely ask for, so a shell can fetch them (reads only) before
    the first `decide` — for a whole fleet at once — and save a round trip. Hooks are never guessed: they may
    start a load test. A wrong guess costs a query, never a decision: `decide` still asks for what it lacks.
    `templates`: the MetricTemplates the tick will see (`ClusterView.metric_templates`)."""
    status = canary.status
    if canary.spec.suspend or canary.spec.skip_analysis or not canary.spec.effective_analysis.metrics:
        return ()
    if status.phase not in (_PROGRESSING, _WAITING_PROMOTION):
        return ()
    if status.phase == _PROGRESSING:
        counts = strategy_for(canary.spec.effective_analysis).counts
        if (status.canary_weight if counts is Counts.WEIGHT else status.iterations) == 0:
            return ()  # the first analysis tick (no step taken yet) runs pre-rollout hooks only
    try:
        provider = _provider(canary.spec.provider, settings.mesh_provider)
    except SpecError:
        return ()
    return tuple(
        [metric_request(m, provider, canary, templates or {}, settings) for m in canary.spec.effective_analysis.metrics]
    )


def decide(
    canary: Canary,
    cluster: ClusterView,
    now: datetime,
    settings: Settings = Settings(),
    observations: Observations = Observations(),
    facts: TargetFacts | None = None,
    *,
    answer: Answer | None = None,
) -> Decision | Pending:
    """Decide one tick of `canary` at `now`. `facts` (from `read_target_facts` on the same canary, cluster
    and settings) may be passed to save re-deriving them on each round of the protocol.

    `answer`, for a shell that can answer on the spot: the tick hands it each `Pending` at the point it
    needs the observations and carries on with the `Observations` it returns (all it had plus the answers),
    instead of returning the `Pending` and being called again; it returns None to have the `Pending`
    returned after all. Same requests in the same order, same outcome as the round trips: observations that
    change or drop an answer the tick already used make it start over with them, as a new round would."""
    if facts is not None and (
        facts.canary is not canary
        or facts.cluster is not cluster
        or (facts.settings is not settings and facts.settings != settings)
    ):
        facts = None
    tick = _Tick(canary, cluster, now, settings, observations, facts, answer)
    while True:
        try:
            return tick.run()
        except _NeedInputs as need:
            return build_frozen(
                Pending,
                {"canary": canary, "hooks": need.hooks, "metrics": need.metrics, "check_providers": need.providers},
            )
        except _Restart as restart:
            tick = _Tick(canary, cluster, now, settings, restart.observations, facts, answer)


_PHASES = {p.value: p for p in Phase}
_STATUS_FIELDS = frozenset(f.name for f in fields(CanaryStatus))
_PHASE_VALUES = {p: p.value for p in Phase}  # a dict lookup is cheaper than the enum's `value` property
_PROGRESSING, _WAITING_PROMOTION = Phase.PROGRESSING.value, Phase.WAITING_PROMOTION.value
# members the hot path names, as globals: reading an enum member off its class is a slow attribute lookup
_NONE, _PROMOTING, _FINALISING, _FAILED = Phase.NONE, Phase.PROMOTING, Phase.FINALISING, Phase.FAILED
_ROLLOUT_HOOK, _ROLLBACK_HOOK, _TRAFFIC_HOOK = HookType.ROLLOUT, HookType.ROLLBACK, HookType.CONFIRM_TRAFFIC_INCREASE
_ROUTED, _COUNTING, _PROMOTED_PHASES, _UNDER_WAY = phases.ROUTED, phases.COUNTING, phases.PROMOTED, phases.UNDER_WAY
_PAST_TRAFFIC_STEPS, _SCALED_UP, _GROWING = phases.PAST_TRAFFIC_STEPS, phases.SCALED_UP, phases.GROWING
_HOOK_TYPE_VALUES = {t: t.value for t in HookType}
_PASSED = msg.HOOK_PASSED


def recorded_weight(status: CanaryStatus, phase: Phase, analysis: AnalysisSpec) -> int:
    """The canary weight the status says is routed: its `canaryWeight` while traffic is on the canary or
    after a failed promotion, the last step's weight while waiting for promotion approval (the status keeps
    0 there, as Flagger's does), else 0."""
    if phase is Phase.WAITING_PROMOTION:
        return strategy_for(analysis).waiting_weight(analysis)
    if phase in _ROUTED or phase is Phase.FAILED:
        return status.canary_weight
    return 0


def _hook_type_value(hook: WebhookSpec) -> str:
    kind = hook.type
    return _HOOK_TYPE_VALUES[kind] if type(kind) is HookType else kind.value


def _core(status: CanaryStatus) -> tuple[Any, ...]:
    """The status fields whose change is a status write (everything but the bookkeeping times and conditions)."""
    return (
        status.phase,
        status.canary_weight,
        status.failed_checks,
        status.iterations,
        status.last_applied_spec,
        status.last_promoted_spec,
        status.tracked_configs,
    )


class _Tick:
    """The mutable scratchpad of one `decide` call; nothing escapes it but the frozen Decision."""

    def __init__(
        self,
        canary: Canary,
        cluster: ClusterView,
        now: datetime,
        settings: Settings,
        observations: Observations,
        facts: TargetFacts | None,
        answer: Answer | None = None,
    ) -> None:
        self.facts = facts
        self.answer = answer
        self.canary = canary
        self.spec = canary.spec
        self.analysis = canary.spec.effective_analysis
        self.cluster = cluster
        self.objects = cluster.objects  # `cluster.get`, without the call, on the hot path
        self.primary_name = f"{canary.spec.target_ref.name}-primary"
        self.now = now
        self.now_text = _format_time(now)
        self.settings = settings
        self.obs = observations
        self.status = canary.status
        self.phase = _PHASES.get(canary.status.phase, _NONE)  # kept in step with `status` by `update`
        self.events: list[Event] = []
        self.logs: list[str] = []
        self.verdicts: list[MetricVerdict] = []
        self.hook_outcomes: list[HookOutcome] = []
        self.target: Mapping[str, Any] = {}

    # Until the pipeline sets them, these read as the class' values (fewer stores per tick).
    stage = _STAGE_NONE
    scale_to: int | None = None
    promote = False
    canary_weight: int | None = None
    live_weight: int | None = None  # the canary weight the routes had when the tick read them
    recorded_weight = 0  # the canary weight the status says is routed
    restamp = False  # the tick finished a step the status records: its interval starts now
    tracked: TrackedConfigs = NO_CONFIGS
    hash = ""
    label = value = ""
    provider: Provider | None = None
    target_kind: TargetKind  # the canary's target kind (`engine.targets`), set when the tick reads its target
    primary_key: tuple[str, str, str]  # the primary's key in the ClusterView, set with `target_kind`

    # ----------------------------------------------------------------- helpers
    @property
    def key_target(self) -> str:
        return f"{self.spec.target_ref.name}.{self.canary.namespace}"

    @property
    def key_canary(self) -> str:
        return self.canary.key

    def say(self, message: Message, **values: Any) -> None:
        """Record an event: one of Flagger's messages (`engine.messages`), filled with `values`."""
        self.events.append(message.event(self.status.phase, **values))

    def hook_message(self, hook: WebhookSpec) -> str:
        """A hook's answer as events and commits quote it: whatever of its URL a receiver echoed, masked."""
        return redact(self.obs.hooks[hook.name].message, hook.url)

    def update(self, **changes: Any) -> None:
        assert _STATUS_FIELDS.issuperset(changes), changes
        self.status = build_frozen(CanaryStatus, {**self.status.__dict__, **changes})
        self.phase = _PHASES.get(self.status.phase, _NONE)

    def move(self, trigger: Trigger, **changes: Any) -> None:
        """Change phase through the transition table, applying Flagger's per-phase resets."""
        new_phase = transition(self.phase, trigger)
        if new_phase not in _ROUTED and "canary_weight" not in changes:
            changes["canary_weight"] = 0
        if new_phase not in _COUNTING and "iterations" not in changes:
            changes["iterations"] = 0
        if new_phase in _PROMOTED_PHASES and "last_promoted_spec" not in changes:
            changes["last_promoted_spec"] = changes.get("last_applied_spec", self.status.last_applied_spec)
        self.update(phase=_PHASE_VALUES[new_phase], **changes)

    def need(
        self,
        hooks: tuple[HookRequest, ...] = (),
        metrics: tuple[MetricRequest, ...] = (),
        providers: ProviderCheck | None = None,
    ) -> None:
        """Get observations the tick lacks: from `answer` if the caller gave one (the tick then carries on
        with them; the caller looks again), else by ending this call with a `Pending`."""
        if self.answer is not None:
            pending = build_frozen(
                Pending, {"canary": self.canary, "hooks": hooks, "metrics": metrics, "check_providers": providers}
            )
            observations = self.answer(pending)
            if observations is not None:
                if not _keeps_answers(self.obs, observations):
                    raise _Restart(observations)
                self.obs = observations
                return
        raise _NeedInputs(hooks, metrics, providers)

    def hook_result(self, hook: WebhookSpec, phase: str) -> HookResult:
        result = self.obs.hooks.get(hook.name)
        while result is None:
            self.need(hooks=(build_frozen(HookRequest, {"hook": hook, "payload": self.hook_payload(hook, phase)}),))
            result = self.obs.hooks.get(hook.name)
        self.hook_outcomes.append(
            build_frozen(
                HookOutcome,
                {
                    "name": hook.name,
                    "type": _hook_type_value(hook),
                    "ok": result.ok,
                    "message": redact(result.message, hook.url),
                },
            )
        )
        return result

    def hook_payload(self, hook: WebhookSpec, phase: str) -> dict[str, Any]:
        """Flagger's payload plus `idempotencyKey` (extra fields are ignored by Flagger's receivers)."""
        checksum = _status_checksum(self.status.last_applied_spec, self.status.tracked_configs)
        return {
            "name": self.canary.name,
            "namespace": self.canary.namespace,
            "phase": phase,
            "checksum": checksum,
            "metadata": dict(hook.metadata),
            "idempotencyKey": self.idempotency_key(hook),
        }

    def idempotency_key(self, hook: WebhookSpec) -> str:
        """Equal for every run of the same decision — the canary, its revision and the status the tick started
        from — so a doubled or re-run Job does not start a second load test. Gate hooks (confirm-*) are
        questions, not actions: their key also carries `now`, so a receiver never answers from a stale cache."""
        start = self.canary.status
        parts = (
            "webhook",
            self.canary.uid or canary_uid(self.canary),
            start.last_applied_spec,
            start.phase,
            str(start.canary_weight),
            str(start.failed_checks),
            str(start.iterations),
            start.last_decision_time or "",
            _hook_type_value(hook),
            hook.name,
        )
        if hook.type.is_gate:
            return derived_uuid(*parts, self.now_text)
        return derived_uuid(*parts)

    def run_hooks(self, hook_type: HookType, phase: str) -> WebhookSpec | None:
        """Call the hooks of a type in order; the first that fails is returned (None: all passed)."""
        for hook in self.analysis.hooks(hook_type):
            if not self.hook_result(hook, phase).ok:
                return hook
            passed = _PASSED.get(hook_type)
            if passed:
                self.say(passed, hook=hook.name)
        return None

    def post_rollout_hooks(self, phase: Phase) -> None:
        failed = self.run_hooks(HookType.POST_ROLLOUT, _PHASE_VALUES[phase])
        if failed is not None:
            self.say(msg.POST_ROLLOUT_FAILED, hook=failed.name, answer=self.hook_message(failed))

    def readiness(self, workload: Mapping[str, Any], threshold: int) -> Readiness:
        return self.target_kind.readiness(
            workload,
            ready_threshold=threshold,
            progress_deadline_seconds=self.spec.progress_deadline_seconds,
            now=self.now,
        )

    def flagger_id(self, reason: str) -> str:
        return derived_uuid(
            "flagger-id", canary_uid(self.canary), self.hash, canonical_json(self.tracked.checksums), reason
        )

    def scale_up_replicas(self) -> int:
        """Flagger's `ScaleFromZero` size, as the target's kind says."""
        ref = self.spec.autoscaler_ref
        autoscaler = (
            None if ref is None else self.objects.get(("HorizontalPodAutoscaler", self.canary.namespace, ref.name))
        )
        return self.target_kind.scale_from_zero(self.canary, self.target, self.live_primary(), autoscaler)

    def live_primary(self) -> Mapping[str, Any] | None:
        """The `<target>-primary` the tick observed (None: not created yet)."""
        return self.objects.get(self.primary_key)

    def end(self) -> NoReturn:
        raise _EndTick()

    # ----------------------------------------------------------------- failure paths
    def rollback(self) -> NoReturn:
        """Flagger's `rollback`: traffic to primary, canary scaled to zero, Failed, post-rollout hooks."""
        if self.status.failed_checks >= self.analysis.threshold:
            self.say(msg.ROLLBACK_FAILED_CHECKS, canary=self.key_canary, checks=self.status.failed_checks)
        initializing = self.phase in INITIAL
        self.canary_weight = 0
        self.move(
            Trigger.ROLLBACK,
            canary_weight=0,
            failed_checks=0,
            iterations=0,
            last_applied_spec=self.hash,
            tracked_configs=self.tracked.checksums,
        )
        self.say(msg.CANARY_FAILED, canary=self.key_canary)
        if not initializing:
            # During initialization the target still serves users (nothing routes to the primary yet), so it
            # is not scaled down; Flagger does, which is an outage when the primary never becomes ready.
            self.scale_to = 0
        self.post_rollout_hooks(Phase.FAILED)
        self.end()

    def failed_promotion(self, reason: str) -> NoReturn:
        self.say(msg.PROMOTION_FAILED, target=self.key_target, reason=reason)
        canary_ready = self.readiness(self.target, self.analysis.canary_ready_threshold).ready
        if canary_ready:
            self.canary_weight = 100
        self.move(Trigger.PROMOTION_FAILED, canary_weight=self.canary_weight or 0)
        self.post_rollout_hooks(Phase.FAILED)
        self.end()

    # ----------------------------------------------------------------- the pipeline
    def run(self) -> Decision:
        if not is_due(self.canary, self.now):
            due = next_due_time(self.canary)
            return Decision(self.canary, self.now_text, False, format_time(due) if due else None, self.status, False)
        try:
            self.pipeline()
        except _EndTick:
            pass
        return self.finish()

    def pipeline(self) -> None:
        if self.status.conditions is None:
            self.update(phase=_PHASE_VALUES[Phase.NONE])
            self.move(Trigger.DISCOVERED)
        if self.spec.suspend:
            self.say(msg.SUSPENDED)
            self.end()
        try:
            self.provider = _provider(self.spec.provider, self.settings.mesh_provider)
        except SpecError as err:
            self.say(msg.PROVIDER_INVALID, error=err)
            self.end()
        self.read_target()
        if self.phase in INITIAL and not self.spec.skip_analysis:
            self.check_metric_providers()
        self.initialize()
        self.finish_promotion()
        if not self.should_advance():
            self.settle()
            self.end()
        self.gate_primary()
        self.check_canary_status()
        self.restart_on_new_revision()
        self.finish_scale_up()
        self.gate_canary()
        if self.spec.skip_analysis:
            self.skip_analysis()
        self.rollback_hooks()
        self.finish_routes()
        if self.phase is _PROMOTING:
            self.promotion_traffic_shift()
        if self.phase is _FINALISING:
            self.finalise()
        if self.status.failed_checks >= self.analysis.threshold:
            self.rollback()
        self.analyse()
        self.advance_canary()

    def read_target(self) -> None:
        facts = self.facts or read_target_facts(self.canary, self.cluster, self.settings)
        if facts.problem:
            self.say(msg.TARGET_UNUSABLE, problem=facts.problem)
            self.end()
        assert facts.target is not None
        self.target_kind = kind = target_kind(self.spec.target_ref.kind)  # a known kind: the facts found its target
        self.primary_key = (kind.kind, self.canary.namespace, self.primary_name)
        self.target, self.label, self.value = facts.target, facts.label, facts.value
        self.tracked, self.hash = facts.tracked, facts.hash

    def check_metric_providers(self) -> None:
        """Step 6: while initializing, say whether the metric providers answer (never blocks)."""
        while self.obs.providers is None:
            self.need(providers=provider_check(self.canary, self.cluster.metric_templates))
        if self.obs.providers.ok:
            self.say(msg.PROVIDERS_AVAILABLE)
        else:
            self.say(msg.PROVIDERS_UNAVAILABLE, error=self.obs.providers.message)

    def initialize(self) -> None:
        """Steps 5–13: services, primary (ready before anything routes to it), autoscaler, apex, routes."""
        ns = self.canary.namespace
        primary = self.live_primary()
        self.stage = _STAGE_PRIMARY
        if self.phase in INITIAL and primary is not None and not self.primary_runs(self.hash, self.tracked.checksums):
            # The target changed after the primary was created from it. Nothing routes to the primary yet, so it
            # gets the target's revision before initialization records that revision as the promoted one.
            self.copy_to_primary_again()
        if self.phase in INITIAL and not self.spec.skip_analysis:
            new = self.target_kind.new_primary if primary is None else primary
            ready = self.readiness(new, self.analysis.primary_ready_threshold)
            if not ready.ready:
                self.say(msg.PRIMARY_NOT_READY, primary=f"{self.primary_name}.{ns}", reason=ready.reason)
                if not ready.retriable:
                    self.rollback()
                self.end()
        if self.spec.autoscaler_ref is not None:
            hpa = self.objects.get(("HorizontalPodAutoscaler", ns, self.spec.autoscaler_ref.name))
            if hpa is None:
                self.say(msg.HPA_NOT_FOUND, hpa=f"{self.spec.autoscaler_ref.name}.{ns}")
                self.end()
        self.stage = _STAGE_ALL
        assert self.provider is not None
        routes = self.provider.router.read_routes(self.canary, self.objects)
        self.live_weight = live = None if routes is None else routes.canary  # None: the routes are unreadable
        self.recorded_weight = recorded = recorded_weight(self.status, self.phase, self.analysis)
        # The status is the record of what was routed (it is written before the routes, docs/architecture.md):
        # a weight the status has not recorded is never advanced from, and while the canary is being analysed
        # it never gets more traffic than recorded, even from routes a killed tick left higher.
        self.canary_weight = min(live, recorded) if live is not None and self.phase in _GROWING else recorded
        if self.phase in INITIAL:
            self.logs.append(f"Scaling down {self.target_kind.kind} {self.key_target}")
            self.scale_to = 0
            self.move(
                Trigger.INITIALIZED,
                last_applied_spec=self.hash,
                last_promoted_spec=self.hash,
                tracked_configs=self.tracked.checksums,
                failed_checks=0,
            )
            self.say(msg.INITIALIZED, canary=self.key_canary)

    # ----------------------------------------------------------------- finishing a recorded step
    def finish_routes(self) -> None:
        """The routes must be what the status records before anything is analysed or advanced. They differ
        when a tick wrote the status and died before its routes (or a route write failed, or someone edited
        them): route the recorded weight now and analyse it for a whole interval from now."""
        live, recorded = self.live_weight, self.recorded_weight
        if live == recorded or self.phase not in ACTIVE:
            return
        self.canary_weight = recorded
        had = "an unreadable canary weight" if live is None else f"canary weight {live}"
        self.logs.append(
            f"Routes of {self.key_canary} had {had}, its status records {recorded}: routing {recorded} and analysing it from now"
        )
        self.restamp = True
        self.end()

    def finish_scale_up(self) -> None:
        """A canary under analysis runs pods. A tick that wrote `Progressing` and died before scaling the target
        up leaves it at zero replicas, which Flagger's readiness check calls ready: scale it up now and judge
        its readiness on the next tick, before it gets any more traffic."""
        if self.phase not in _SCALED_UP or not self.target_kind.runs_no_pods(self.target):
            return
        self.scale_to = self.scale_up_replicas()
        self.logs.append(
            f"{self.target_kind.kind} {self.key_target} has no replicas while {self.key_canary} is {self.status.phase}: scaling it up"
        )
        self.restamp = True
        self.end()

    def finish_promotion(self) -> None:
        """The primary must run what the status says it runs. A tick that wrote `Promoting` (or `Succeeded`
        with skipAnalysis) and died before the primary write leaves the old template in place: copy the
        revision again while the target still has it; if the target has moved on, the promotion cannot
        be finished and the new revision is analysed from the start, as if the promotion never began."""
        status = self.status
        if self.phase in (_PROMOTING, _FINALISING):
            if self.primary_runs(status.last_applied_spec, status.tracked_configs):
                return
            if self.hash == status.last_applied_spec and not configs_changed(status.tracked_configs, self.tracked):
                self.copy_to_primary_again()
            self.say(msg.NEW_REVISION_RESTART, target=self.key_target)
            self.canary_weight = 0
            self.move(
                Trigger.PROMOTION_LOST,
                canary_weight=0,
                failed_checks=0,
                iterations=0,
                last_applied_spec=self.hash,
                tracked_configs=self.tracked.checksums,
            )
            self.end()
        if (
            self.phase in _PROMOTED_PHASES
            and self.hash == status.last_promoted_spec
            and not configs_changed(status.tracked_configs, self.tracked)
        ):
            if not self.primary_runs(status.last_promoted_spec, status.tracked_configs):
                self.copy_to_primary_again()

    def primary_runs(self, revision: str, tracked: tuple[tuple[str, str], ...] | None) -> bool:
        """Does the live primary run `revision`? Yes if cronary promoted it there (its `flagger-id`), or — when
        the target is at that revision — if the primary's template holds every field a copy would have
        (a primary Flagger promoted carries a random id)."""
        primary = self.live_primary()
        if primary is None:
            return True  # nothing to finish: the primary is created by this tick's render
        template = self.target_kind.pod_template(primary)
        live_id = ((template.get("metadata") or {}).get("annotations") or {}).get(FLAGGER_ID)
        for reason in ("promote", "create"):
            if live_id == derived_uuid(
                "flagger-id", canary_uid(self.canary), revision, canonical_json(tracked or ()), reason
            ):
                return True
        if revision != self.hash:
            return False
        want = primary_template(
            self.target_kind.pod_template(self.target),
            target_name=self.spec.target_ref.name,
            label=self.label,
            value=self.value,
            tracked=self.tracked,
            flagger_id=str(live_id),
            selector_labels=self.settings.selector_labels,
        )
        return contains(template, want)

    def copy_to_primary_again(self) -> NoReturn:
        self.logs.append(
            f"{self.primary_name}.{self.canary.namespace} does not run the revision the status of {self.key_canary} records: "
            f"copying {self.key_target} template spec to {self.primary_name}.{self.canary.namespace} again"
        )
        self.promote = True
        self.restamp = True
        self.end()

    def settle(self) -> None:
        """A resting canary's target runs no pods (Flagger scales it to zero on every way to rest). A tick that
        wrote the resting status and died before the scale-down leaves it running: scale it down now."""
        status = self.status
        resting = self.phase in _PROMOTED_PHASES or (
            self.phase is _FAILED and bool(status.last_promoted_spec) and self.recorded_weight == 0
        )
        if not resting:
            return
        if not self.target_kind.runs_no_pods(self.target) and (self.live_weight or 0) == 0:
            self.logs.append(f"Scaling down {self.target_kind.kind} {self.key_target}")
            self.scale_to = 0

    def should_advance(self) -> bool:
        status = self.status
        if self.phase in ACTIVE:
            return True
        if self.phase is _FAILED and self.hash != status.last_applied_spec and self.hash == status.last_promoted_spec:
            # Flagger re-syncs lastAppliedSpec on every Failed tick so that re-applying the failed spec after a
            # revert counts as a change; cronary writes only when that record actually changes.
            self.update(last_applied_spec=self.hash)
            return configs_changed(status.tracked_configs, self.tracked)
        if not status.last_applied_spec:
            return True
        if self.hash == status.last_promoted_spec:
            return configs_changed(status.tracked_configs, self.tracked)
        if self.hash != status.last_applied_spec:
            return True
        return configs_changed(status.tracked_configs, self.tracked)

    def gate_primary(self) -> None:
        if self.spec.skip_analysis:
            return
        primary = self.live_primary()
        if primary is None:
            return
        ready = self.readiness(primary, self.analysis.primary_ready_threshold)
        if not ready.ready:
            primary = f"{self.primary_name}.{self.canary.namespace}"
            self.say(msg.PRIMARY_NOT_READY, primary=primary, reason=ready.reason)
            if not ready.retriable:
                if self.phase in (Phase.PROMOTING, Phase.FINALISING):
                    self.failed_promotion(f"{primary} not ready: {ready.reason}")
                self.rollback()
            self.end()

    def check_canary_status(self) -> None:
        if self.phase in _UNDER_WAY:
            return
        rejected = self.run_hooks(HookType.CONFIRM_ROLLOUT, self.status.phase)
        if rejected is not None:
            if self.phase != Phase.WAITING:
                self.move(Trigger.GATE_CLOSED)
                self.say(msg.WAITING_FOR_APPROVAL, canary=self.key_canary, hook=rejected.name)
            self.end()
        self.events.append(msg.NEW_REVISION.event(_PROGRESSING, target=self.key_target))
        self.scale_to = self.scale_up_replicas()
        # The primary passed its readiness gate this tick; any traffic still on the target (left by a failed
        # promotion) goes back to it while the new revision rolls out. Flagger leaves it there, and the next
        # tick would judge the rolling revision at full traffic and promote it without a ramp.
        self.canary_weight = 0
        self.move(
            Trigger.REVISION_ACCEPTED,
            canary_weight=0,
            failed_checks=0,
            iterations=0,
            last_applied_spec=self.hash,
            tracked_configs=self.tracked.checksums,
        )
        self.end()

    def restart_on_new_revision(self) -> None:
        if self.phase not in ANALYSING:
            return
        status = self.status
        spec_changed = self.hash != status.last_applied_spec and self.hash != status.last_promoted_spec
        if spec_changed or configs_changed(status.tracked_configs, self.tracked):
            self.say(msg.NEW_REVISION_RESTART, target=self.key_target)
            self.canary_weight = 0
            self.move(
                Trigger.RESTART,
                canary_weight=0,
                failed_checks=0,
                iterations=0,
                last_applied_spec=self.hash,
                tracked_configs=self.tracked.checksums,
            )
            self.end()

    def gate_canary(self) -> None:
        ready = self.readiness(self.target, self.analysis.canary_ready_threshold)
        if not ready.ready:
            self.say(msg.CANARY_NOT_READY, target=self.key_target, reason=ready.reason)
            if not ready.retriable:
                self.rollback()
            self.end()

    def skip_analysis(self) -> NoReturn:
        self.canary_weight = 0
        self.say(msg.COPYING_TEMPLATE, target=self.key_target, primary=f"{self.primary_name}.{self.canary.namespace}")
        self.promote = True
        self.scale_to = 0
        self.move(Trigger.SKIPPED)
        self.post_rollout_hooks(Phase.SUCCEEDED)
        self.say(msg.PROMOTION_SKIPPED_ANALYSIS, target=self.key_target)
        self.end()

    def rollback_hooks(self) -> None:
        if self.phase not in ANALYSING:
            return
        for hook in self.analysis.hooks(_ROLLBACK_HOOK):
            if self.hook_result(hook, self.status.phase).ok:
                self.say(msg.ROLLBACK_CHECK_PASSED, hook=hook.name)
                self.say(msg.ROLLBACK_MANUAL, canary=self.key_canary)
                self.rollback()
            self.say(msg.ROLLBACK_NOT_SIGNALLED, hook=hook.name)

    def promotion_traffic_shift(self) -> NoReturn:
        routes = strategy_for(self.analysis).promotion_step(self.analysis, self.canary_weight or 0)
        if routes is None:
            self.say(msg.ALL_TRAFFIC_TO_PRIMARY)
            self.canary_weight = 0
            self.move(Trigger.ALL_TO_PRIMARY)
            self.end()
        self.canary_weight = routes.canary
        self.say(msg.ADVANCE_PRIMARY_WEIGHT, canary=self.key_canary, weight=routes.primary)
        if routes.primary >= 100:
            self.move(Trigger.ALL_TO_PRIMARY)
        else:
            self.move(Trigger.PRIMARY_STEP, canary_weight=routes.canary)
        self.end()

    def finalise(self) -> NoReturn:
        self.scale_to = 0
        self.move(Trigger.SCALED_DOWN)
        self.post_rollout_hooks(Phase.SUCCEEDED)
        self.say(msg.PROMOTION_COMPLETED, target=self.key_target)
        self.end()

    def analyse(self) -> None:
        if (self.canary_weight or 0) == 0 and self.status.iterations == 0:
            self.say(msg.STARTING_ANALYSIS, target=self.key_target)
            failed = self.run_hooks(HookType.PRE_ROLLOUT, _PROGRESSING)
            if failed is not None:
                self.say(
                    msg.PRE_ROLLOUT_FAILED, canary=self.key_canary, hook=failed.name, answer=self.hook_message(failed)
                )
                self.fail_check()
            return
        for hook in self.analysis.hooks(_ROLLOUT_HOOK):
            result = self.hook_result(hook, _PROGRESSING)
            if not result.ok:
                self.say(
                    msg.ROLLOUT_CHECK_FAILED, canary=self.key_canary, hook=hook.name, answer=self.hook_message(hook)
                )
                self.fail_check()
        metrics = self.analysis.metrics
        assert self.provider is not None  # resolved while initializing, before any analysis
        while missing := [m for m in metrics if m.name not in self.obs.metrics]:
            templates, provider = self.cluster.metric_templates, self.provider
            self.need(
                metrics=tuple([metric_request(m, provider, self.canary, templates, self.settings) for m in missing])
            )
        for metric in metrics:
            verdict = judge_metric(self.canary, metric, self.obs.metrics[metric.name], self.provider.metrics)
            self.verdicts.append(verdict)
            if not verdict.passed:
                self.say(msg.METRIC_CHECK_FAILED, verdict=verdict.message)
                self.fail_check()

    def fail_check(self) -> NoReturn:
        self.update(failed_checks=self.status.failed_checks + 1)
        self.end()

    def advance_canary(self) -> None:
        weight, iterations = self.canary_weight or 0, self.status.iterations
        analysis, strategy = self.analysis, strategy_for(self.analysis)
        if strategy.asks_traffic_increase(analysis, weight) and self.phase not in _PAST_TRAFFIC_STEPS:
            rejected = self.run_hooks(_TRAFFIC_HOOK, _PROGRESSING)
            if rejected is not None:
                self.say(msg.WAITING_FOR_TRAFFIC_APPROVAL, canary=self.key_canary, hook=rejected.name)
                self.end()
        if not strategy.analysis_complete(analysis, weight, iterations):
            step = strategy.next_step(analysis, weight, iterations)
            self.canary_weight = step.routes.canary
            self.update(**step.status)
            self.say(step.message, canary=self.key_canary, **step.values)
            return
        rejected = self.run_hooks(HookType.CONFIRM_PROMOTION, _PROGRESSING)
        if rejected is not None:
            if self.phase != Phase.WAITING_PROMOTION:
                self.move(Trigger.PROMOTION_GATE_CLOSED, canary_weight=0, iterations=self.analysis.iterations - 1)
                self.say(msg.WAITING_FOR_PROMOTION_APPROVAL, canary=self.key_canary, hook=rejected.name)
            else:
                self.update(iterations=self.analysis.iterations - 1)
            return
        self.say(msg.COPYING_TEMPLATE, target=self.key_target, primary=f"{self.primary_name}.{self.canary.namespace}")
        self.promote = True
        self.move(Trigger.PROMOTE, canary_weight=weight, iterations=0)

    # ----------------------------------------------------------------- output
    def render_objects(self) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
        """The objects this tick writes, in `engine.render.order`'s apply order, and the Secrets to copy."""
        if self.stage == _STAGE_NONE:
            return [], []
        ns = self.canary.namespace
        owner = owner_reference(self.canary)  # one lookup for all the objects
        kind = self.target_kind
        pod_template = kind.pod_template(self.target)
        services = {
            role: as_found(service, self.objects.get(("Service", ns, service["metadata"]["name"])), self.canary)
            for role, service in render_services(
                self.canary, pod_template, label=self.label, value=self.value, owner=owner
            ).items()
        }
        existing = self.live_primary()
        fresh = self.promote or existing is None
        template = None
        secret_copies: list[tuple[str, str]] = []
        if fresh:
            template = primary_template(
                pod_template,
                target_name=self.spec.target_ref.name,
                label=self.label,
                value=self.value,
                tracked=self.tracked,
                flagger_id=self.flagger_id("promote" if existing is not None else "create"),
                selector_labels=self.settings.selector_labels,
            )
            secret_copies = [(name, f"{name}-primary") for name in self.tracked.secrets]
        copies = []
        for copy in (
            render_config_copies(self.canary, self.tracked, self.settings.include_label_prefixes)
            if self.tracked.configmaps
            else ()
        ):
            live = self.objects.get(("ConfigMap", ns, copy["metadata"]["name"]))
            owners = shared_owners(self.canary, live)
            if owners:
                copy["metadata"] = {**copy["metadata"], "ownerReferences": owners}
            kept = None if fresh else live
            if kept is not None:
                copy.pop("data", None)
                if kept.get("data"):
                    copy["data"] = dict(kept["data"])
            copies.append(copy)
        primary = kind.render_primary(
            self.canary,
            self.target,
            existing,
            label=self.label,
            value=self.value,
            template=template,
            include_label_prefixes=self.settings.include_label_prefixes,
            owner=owner,
        )
        slots: dict[str, Sequence[dict[str, Any]]] = {
            order.CANARY_SERVICE: (services["canary"],),
            order.PRIMARY_SERVICE: (services["primary"],),
            order.CONFIG_COPIES: copies,
            order.PRIMARY: (primary,),
        }
        if self.stage == _STAGE_ALL:
            if self.spec.autoscaler_ref is not None:
                hpa = self.objects.get(("HorizontalPodAutoscaler", ns, self.spec.autoscaler_ref.name))
                name = f"{self.spec.autoscaler_ref.name}-primary"
                existing_hpa = self.objects.get(("HorizontalPodAutoscaler", ns, name))
                slots[order.PRIMARY_HPA] = (
                    render_primary_hpa(self.canary, hpa or {}, existing_hpa, sync=self.promote, owner=owner),
                )
            slots[order.APEX_SERVICE] = (services["apex"],)
            if self.scale_to is not None:
                scale = kind.render_scale(ns, self.spec.target_ref.name, self.scale_to)
                slots[order.SCALE_UP if self.scale_to else order.SCALE_DOWN] = (scale,)
            assert self.provider is not None
            slots[order.ROUTES] = self.provider.router.render(self.canary, split(self.canary_weight or 0), owner)
        return order.in_apply_order(slots), secret_copies

    def finish(self) -> Decision:
        before = self.canary.status
        status = self.status
        changed = status is not before and _core(status) != _core(before)
        acted = changed or bool(self.events) or self.scale_to is not None or self.restamp
        if acted:
            stamps: dict[str, Any] = {"last_decision_time": self.now_text}
            if changed:
                stamps.update(last_transition_time=self.now_text, conditions=self.conditions(status))
            status = build_frozen(CanaryStatus, {**status.__dict__, **stamps})
        objects, secret_copies = self.render_objects()
        if acted:
            next_due_text: str | None = due_text(self.now, self.analysis.interval_seconds)
        else:
            next_due = next_due_time(self.canary)
            next_due_text = _format_time(next_due) if next_due else None
        return build_frozen(
            Decision,
            {
                "canary": self.canary,
                "now": self.now_text,
                "due": True,
                "next_due": next_due_text,
                "status": status,
                "status_changed": changed or (status is not before and status != before),  # core fields differ: changed
                "objects": tuple(objects),
                "events": tuple(self.events),
                "logs": tuple(self.logs),
                "secret_copies": tuple(secret_copies),
                "verdicts": tuple(self.verdicts),
                "hooks": tuple(self.hook_outcomes),
                "canary_weight": self.canary_weight if self.stage == _STAGE_ALL else None,
            },
        )

    def conditions(self, status: CanaryStatus) -> tuple[Condition, ...]:
        phase = _PHASES.get(status.phase, _NONE)
        cond_status, reason, message = _promoted_condition(phase, self.spec.target_ref.kind)
        previous = None
        for condition in self.canary.status.conditions or ():
            if condition.type == "Promoted":
                previous = condition
                break
        if previous is not None and previous.status == cond_status and previous.reason == reason:
            return tuple(self.canary.status.conditions or ())
        transition_time = (
            previous.last_transition_time if previous is not None and previous.status == cond_status else self.now_text
        )
        return (Condition("Promoted", cond_status, reason, message, self.now_text, transition_time),)
