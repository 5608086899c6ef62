"""The Canary as typed, immutable values, with Flagger's defaults applied.

Both API versions (`flagger.app/v1alpha3` with `spec.canaryAnalysis`, `flagger.app/v1beta1` with
`spec.analysis`) parse into the same values; `engine.canary_spec` does the parsing and validation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Generic, TypeVar

from .hooks import HookType

_T = TypeVar("_T")
_V = TypeVar("_V")


class derived(Generic[_V]):
    """A property of a frozen value computed once per object from its fields — on first read, or up front
    by `derive_now` — and then kept in the object's `__dict__` (so later reads are plain attribute reads):
    `functools.cached_property` without its lock, which costs more than the values it guards here. Never
    part of the value: dataclass equality, hashing and repr look at fields only."""

    def __init__(self, compute: Callable[[Any], _V]) -> None:
        self.compute = compute
        self.name = compute.__name__
        self.__doc__ = compute.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, owner: type | None = None) -> _V:
        if obj is None:
            return self  # type: ignore[return-value]
        value = obj.__dict__[self.name] = self.compute(obj)
        return value


def derive_now(obj: Any, *names: str) -> None:
    """Compute `obj`'s `derived` properties `names` now — from `__post_init__`, so a parsed Canary carries
    them and no tick pays for them. One that cannot be computed (a value built by hand with a field of the
    wrong type) is left to raise where it is used, as it would without this."""
    for name in names:
        try:
            getattr(obj, name)
        except Exception:
            pass


def build_frozen(cls: type[_T], values: dict[str, Any]) -> _T:
    """`cls(**values)` for a frozen dataclass without `__post_init__`, where `values` holds every field by
    name: the same object (equal, same hash and repr), made without the one `object.__setattr__` call per
    field of a frozen dataclass' `__init__`, which is most of its cost. For the few objects a tick builds on
    its hot path; anything else should call the class."""
    obj = object.__new__(cls)
    obj.__dict__.update(values)
    return obj


V1ALPHA3 = "flagger.app/v1alpha3"
V1BETA1 = "flagger.app/v1beta1"
API_VERSIONS = (V1ALPHA3, V1BETA1)

BUILTIN_SUCCESS_RATE = "request-success-rate"
BUILTIN_DURATION = "request-duration"
BUILTIN_METRICS = (BUILTIN_SUCCESS_RATE, BUILTIN_DURATION)


class StrategyName(str, Enum):
    """Deployment strategy as Flagger's `DeploymentStrategy()` selects it (`select_strategy`); the modules that
    run them are in `engine.strategies`."""

    CANARY = "canary"
    AB_TESTING = "ab-testing"
    BLUE_GREEN = "blue-green"


def select_strategy(*, iterations: bool, match: bool) -> StrategyName:
    """Flagger's `DeploymentStrategy()`: iterations with match conditions are A/B testing, iterations alone
    blue/green, anything else (weights) the canary strategy."""
    if match and iterations:
        return StrategyName.AB_TESTING
    if iterations:
        return StrategyName.BLUE_GREEN
    return StrategyName.CANARY


@dataclass(frozen=True)
class ObjectRef:
    api_version: str
    kind: str
    name: str


@dataclass(frozen=True)
class ThresholdRange:
    min: float | None = None
    max: float | None = None


@dataclass(frozen=True)
class TemplateRef:
    name: str
    namespace: str | None = None


@dataclass(frozen=True)
class MetricSpec:
    name: str
    interval: str = "1m"
    threshold: float | None = None
    threshold_range: ThresholdRange | None = None
    query: str | None = None
    template_ref: TemplateRef | None = None
    template_variables: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        derive_now(self, "is_builtin")

    @derived
    def is_builtin(self) -> bool:
        return self.name in BUILTIN_METRICS and self.template_ref is None


@dataclass(frozen=True)
class WebhookSpec:
    name: str
    url: str
    type: HookType = HookType.ROLLOUT
    timeout: str = "10s"
    timeout_seconds: float = 10.0
    retries: int = 0
    disable_tls: bool = False
    mute_alert: bool = False
    metadata: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class AlertSpec:
    name: str
    severity: str = "info"
    provider_name: str = ""
    provider_namespace: str | None = None


@dataclass(frozen=True)
class AnalysisSpec:
    interval: str = "60s"
    interval_seconds: float = 60.0
    threshold: int = 1
    max_weight_field: int | None = None
    step_weight: int = 0
    step_weights: tuple[int, ...] = ()
    step_weight_promotion: int = 0
    iterations: int = 0
    match: tuple[Any, ...] = ()
    mirror: bool = False
    mirror_weight: int = 0
    primary_ready_threshold: int = 100
    canary_ready_threshold: int = 100
    metrics: tuple[MetricSpec, ...] = ()
    webhooks: tuple[WebhookSpec, ...] = ()
    alerts: tuple[AlertSpec, ...] = ()

    def __post_init__(self) -> None:
        derive_now(self, "max_weight", "_hooks_by_type")

    @derived
    def max_weight(self) -> int:
        """Flagger's `maxWeight()`: the last of `stepWeights` (capped at 100), else `maxWeight`, else 100."""
        if self.step_weights:
            return min(100, self.step_weights[-1])
        if self.max_weight_field and self.max_weight_field > 0:
            return self.max_weight_field
        return 100

    @property
    def strategy(self) -> StrategyName:
        return select_strategy(iterations=self.iterations > 0, match=bool(self.match))

    def hooks(self, hook_type: HookType) -> tuple[WebhookSpec, ...]:
        return self._hooks_by_type.get(hook_type, ())

    @derived
    def _hooks_by_type(self) -> dict[HookType, tuple[WebhookSpec, ...]]:
        """The webhooks grouped by type, in order (derived once per AnalysisSpec; a tick asks several times)."""
        grouped: dict[HookType, list[WebhookSpec]] = {}
        for hook in self.webhooks:
            grouped.setdefault(hook.type, []).append(hook)
        return {hook_type: tuple(hooks) for hook_type, hooks in grouped.items()}


@dataclass(frozen=True)
class ServiceMetadata:
    labels: tuple[tuple[str, str], ...] = ()
    annotations: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ServiceSpec:
    port: int
    name: str | None = None
    port_name: str = "http"
    target_port: int | str | None = None
    app_protocol: str | None = None
    traffic_distribution: str | None = None  # set on the three Services' spec when given (Flagger v1.42.0)
    port_discovery: bool = False
    headless: bool = False
    gateways: tuple[str, ...] = ()
    hosts: tuple[str, ...] = ()
    apex: ServiceMetadata = ServiceMetadata()
    primary: ServiceMetadata = ServiceMetadata()
    canary: ServiceMetadata = ServiceMetadata()


@dataclass(frozen=True)
class CanarySpec:
    target_ref: ObjectRef
    service: ServiceSpec
    analysis: AnalysisSpec | None
    autoscaler_ref: ObjectRef | None = None
    # `autoscalerRef.primaryScalerReplicas`: the primary HPA's min and max instead of the target HPA's (v1.28.0)
    primary_scaler_replicas: tuple[int | None, int | None] = (None, None)
    provider: str | None = None
    metrics_server: str | None = None  # `spec.metricsServer`: built-in and in-line queries go here, not --prometheus
    progress_deadline_seconds: int = 600
    skip_analysis_field: bool = False
    suspend: bool = False
    revert_on_deletion: bool = False

    def __post_init__(self) -> None:
        derive_now(self, "skip_analysis", "effective_analysis", "apex_name")

    @derived
    def skip_analysis(self) -> bool:
        """Flagger's `SkipAnalysis()`: the field, or no analysis block at all."""
        return self.skip_analysis_field or self.analysis is None

    @derived
    def effective_analysis(self) -> AnalysisSpec:
        return self.analysis if self.analysis is not None else AnalysisSpec()

    @derived
    def apex_name(self) -> str:
        return self.service.name or self.target_ref.name


@dataclass(frozen=True)
class Condition:
    type: str
    status: str
    reason: str
    message: str
    last_update_time: str
    last_transition_time: str


@dataclass(frozen=True)
class CanaryStatus:
    """`Canary.status`. `last_decision_time` is cronary's own: when the canary was last decided."""

    phase: str = ""
    canary_weight: int = 0
    failed_checks: int = 0
    iterations: int = 0
    last_applied_spec: str = ""
    last_promoted_spec: str = ""
    tracked_configs: tuple[tuple[str, str], ...] | None = None
    last_transition_time: str | None = None
    conditions: tuple[Condition, ...] | None = None
    last_decision_time: str | None = None


@dataclass(frozen=True)
class Canary:
    api_version: str
    name: str
    namespace: str
    uid: str
    spec: CanarySpec
    status: CanaryStatus
    manifest: Mapping[str, Any] = field(compare=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        derive_now(self, "key")

    @derived
    def key(self) -> str:
        return f"{self.name}.{self.namespace}"
