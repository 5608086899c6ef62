"""Parse and validate a Canary manifest (v1alpha3 or v1beta1) into `engine.model` values.

Validation follows Flagger's CRDs (0.14.0 for v1alpha3, v1.44.0 for v1beta1) and goes further where the CRD
lets through a Canary that could never work (a metric with no query, a weight above 100, a generated name
longer than 63 characters). Every error names the field path.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from .durations import parse_go_duration
from .errors import SpecError
from .fields import require_map, require_str, type_name
from .model import (
    API_VERSIONS,
    BUILTIN_METRICS,
    V1ALPHA3,
    AlertSpec,
    AnalysisSpec,
    Canary,
    CanarySpec,
    CanaryStatus,
    Condition,
    HookType,
    MetricSpec,
    ObjectRef,
    ServiceMetadata,
    ServiceSpec,
    TemplateRef,
    ThresholdRange,
    WebhookSpec,
)
from .names import is_http_url, require_label, require_port_name, require_subdomain

_INTERVAL_PATTERN = re.compile(r"^[0-9]+(m|s)")
MIN_INTERVAL_SECONDS = 10.0
DEFAULT_INTERVAL_SECONDS = 60.0
_HOOK_TYPES = {"": HookType.ROLLOUT, **{t.value: t for t in HookType}}
_SEVERITIES = ("info", "warn", "error")
_TRAFFIC_DISTRIBUTIONS = ("PreferClose", "PreferSameZone", "PreferSameNode")
_MATCH_KINDS = ("exact", "prefix", "suffix", "regex")


def _required_str(obj: Mapping[str, Any], path: str, key: str) -> str:
    if key not in obj or obj[key] in (None, ""):
        raise SpecError(f"{path}.{key}", "required")
    return require_str(f"{path}.{key}", obj[key])


def _bool(path: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise SpecError(path, f"must be true or false, got {value!r}")
    return value


def _int(path: str, value: object, lo: int | None = None, hi: int | None = None) -> int:
    number = value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (isinstance(value, float) and not value.is_integer()):
        bounds = f" {lo}..{hi}" if lo is not None and hi is not None else ""
        raise SpecError(path, f"must be an integer{bounds}, got {value!r}")
    number = int(value)
    if (lo is not None and number < lo) or (hi is not None and number > hi):
        if hi is None:
            raise SpecError(path, f"must be at least {lo}, got {number}")
        raise SpecError(path, f"must be {lo}..{hi}, got {number}")
    return number


def _float(path: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SpecError(path, f"must be a number, got {value!r}")
    return float(value)


def _list(path: str, value: object) -> list[Any]:
    if not isinstance(value, list):
        raise SpecError(path, f"must be a list, got {type_name(value)}")
    return value


def _string_map(path: str, value: object) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    items = require_map(path, value)
    for key, item in items.items():
        require_str(f"{path}.{key}", item)
    return tuple(sorted((str(k), v) for k, v in items.items()))


def _interval(path: str, value: object) -> tuple[str, float]:
    text = require_str(path, value)
    if not _INTERVAL_PATTERN.match(text):
        raise SpecError(path, f"must be a duration like 30s or 1m (pattern ^[0-9]+(m|s)), got {text!r}")
    try:
        seconds = parse_go_duration(text)
    except ValueError:
        raise SpecError(path, f"must be a duration like 30s or 1m, got {text!r}") from None
    return text, seconds


def _object_ref(path: str, value: object, kinds: tuple[str, ...]) -> ObjectRef:
    ref = require_map(path, value)
    name = require_subdomain(f"{path}.name", _required_str(ref, path, "name"))
    kind = _required_str(ref, path, "kind")
    if kind not in kinds:
        raise SpecError(f"{path}.kind", f"must be one of {', '.join(kinds)}, got {kind!r}")
    api_version = _required_str(ref, path, "apiVersion")
    return ObjectRef(api_version=api_version, kind=kind, name=name)


def _metadata_block(path: str, value: object) -> ServiceMetadata:
    if value is None:
        return ServiceMetadata()
    block = require_map(path, value)
    return ServiceMetadata(
        labels=_string_map(f"{path}.labels", block.get("labels")),
        annotations=_string_map(f"{path}.annotations", block.get("annotations")),
    )


def parse_service(path: str, value: object) -> ServiceSpec:
    svc = require_map(path, value)
    if "port" not in svc:
        raise SpecError(f"{path}.port", "required")
    port = _int(f"{path}.port", svc["port"], 1, 65535)
    target_port = svc.get("targetPort")
    if target_port is not None:
        if isinstance(target_port, str) and not target_port.isdigit():
            require_port_name(f"{path}.targetPort", target_port)
        else:
            target_port = _int(f"{path}.targetPort", int(target_port) if isinstance(target_port, str) else target_port, 1, 65535)
    name = svc.get("name")
    if name is not None:
        name = require_label(f"{path}.name", name)
    distribution = svc.get("trafficDistribution")
    if distribution is not None and distribution not in _TRAFFIC_DISTRIBUTIONS:
        raise SpecError(f"{path}.trafficDistribution", f"must be one of {', '.join(_TRAFFIC_DISTRIBUTIONS)}, got {distribution!r}")
    return ServiceSpec(
        port=port,
        name=name,
        port_name=require_label(f"{path}.portName", require_str(f"{path}.portName", svc.get("portName") or "http")),
        target_port=target_port,
        app_protocol=require_str(f"{path}.appProtocol", svc["appProtocol"]) if svc.get("appProtocol") else None,
        port_discovery=_bool(f"{path}.portDiscovery", svc.get("portDiscovery", False)),
        headless=_bool(f"{path}.headless", svc.get("headless", False)),
        gateways=tuple(require_str(f"{path}.gateways[{i}]", g) for i, g in enumerate(_list(f"{path}.gateways", svc.get("gateways") or []))),
        hosts=tuple(require_str(f"{path}.hosts[{i}]", h) for i, h in enumerate(_list(f"{path}.hosts", svc.get("hosts") or []))),
        apex=_metadata_block(f"{path}.apex", svc.get("apex")),
        primary=_metadata_block(f"{path}.primary", svc.get("primary")),
        canary=_metadata_block(f"{path}.canary", svc.get("canary")),
    )


def _metric(path: str, value: object) -> MetricSpec:
    item = require_map(path, value)
    name = _required_str(item, path, "name")
    interval = "1m"
    if item.get("interval") not in (None, ""):
        interval, _ = _interval(f"{path}.interval", item["interval"])
    threshold = _float(f"{path}.threshold", item["threshold"]) if item.get("threshold") is not None else None
    threshold_range = None
    if item.get("thresholdRange") is not None:
        rng = require_map(f"{path}.thresholdRange", item["thresholdRange"])
        lo = _float(f"{path}.thresholdRange.min", rng["min"]) if rng.get("min") is not None else None
        hi = _float(f"{path}.thresholdRange.max", rng["max"]) if rng.get("max") is not None else None
        if lo is not None and hi is not None and lo > hi:
            raise SpecError(f"{path}.thresholdRange", f"min {lo:g} is above max {hi:g}")
        threshold_range = ThresholdRange(lo, hi)
    query = require_str(f"{path}.query", item["query"]) if item.get("query") else None
    template_ref = None
    if item.get("templateRef") is not None:
        ref = require_map(f"{path}.templateRef", item["templateRef"])
        template_ref = TemplateRef(
            name=require_subdomain(f"{path}.templateRef.name", _required_str(ref, f"{path}.templateRef", "name")),
            namespace=require_label(f"{path}.templateRef.namespace", ref["namespace"]) if ref.get("namespace") else None,
        )
    if name not in BUILTIN_METRICS and query is None and template_ref is None:
        raise SpecError(
            path,
            f"metric {name!r} is not built in ({', '.join(BUILTIN_METRICS)}) and has neither query nor templateRef",
        )
    if threshold is None and threshold_range is None:
        raise SpecError(path, f"metric {name!r} must set threshold or thresholdRange")
    return MetricSpec(
        name=name,
        interval=interval,
        threshold=threshold,
        threshold_range=threshold_range,
        query=query,
        template_ref=template_ref,
        template_variables=_string_map(f"{path}.templateVariables", item.get("templateVariables")),
    )


def _webhook(path: str, value: object) -> WebhookSpec:
    hook = require_map(path, value)
    name = _required_str(hook, path, "name")
    url = _required_str(hook, path, "url")
    if not is_http_url(url):
        raise SpecError(f"{path}.url", f"must be an http or https URL with a host, got {url!r}")
    type_text = require_str(f"{path}.type", hook.get("type") or "")
    if type_text not in _HOOK_TYPES:
        raise SpecError(f"{path}.type", f"must be one of {', '.join(t.value for t in HookType)}, got {type_text!r}")
    timeout = require_str(f"{path}.timeout", hook.get("timeout") or "")
    if len(timeout) < 2:
        timeout = "10s"  # Flagger replaces anything shorter than two characters
    try:
        timeout_seconds = parse_go_duration(timeout)
    except ValueError:
        raise SpecError(f"{path}.timeout", f"must be a duration like 10s, got {timeout!r}") from None
    if timeout_seconds <= 0:
        raise SpecError(f"{path}.timeout", f"must be positive, got {timeout!r}")
    return WebhookSpec(
        name=name,
        url=url,
        type=_HOOK_TYPES[type_text],
        timeout=timeout,
        timeout_seconds=timeout_seconds,
        retries=_int(f"{path}.retries", hook.get("retries", 0), 0, 100),
        disable_tls=_bool(f"{path}.disableTLS", hook.get("disableTLS", False)),
        mute_alert=_bool(f"{path}.muteAlert", hook.get("muteAlert", False)),
        metadata=_string_map(f"{path}.metadata", hook.get("metadata")),
    )


def _alert(path: str, value: object) -> AlertSpec:
    item = require_map(path, value)
    severity = require_str(f"{path}.severity", item.get("severity") or "info")
    if severity not in _SEVERITIES:
        raise SpecError(f"{path}.severity", f"must be one of {', '.join(_SEVERITIES)}, got {severity!r}")
    ref = require_map(f"{path}.providerRef", item.get("providerRef"))
    return AlertSpec(
        name=_required_str(item, path, "name"),
        severity=severity,
        provider_name=require_subdomain(f"{path}.providerRef.name", _required_str(ref, f"{path}.providerRef", "name")),
        provider_namespace=require_label(f"{path}.providerRef.namespace", ref["namespace"]) if ref.get("namespace") else None,
    )


def _check_match(path: str, value: object) -> None:
    """The CRD's rule for A/B match conditions: every header/query condition names one way to match."""
    for i, item in enumerate(_list(path, value or [])):
        for section in ("headers", "queryParams"):
            for key, cond in (require_map(f"{path}[{i}]", item).get(section) or {}).items():
                kinds = [k for k in _MATCH_KINDS if k in require_map(f"{path}[{i}].{section}.{key}", cond)]
                if len(kinds) != 1:
                    raise SpecError(f"{path}[{i}].{section}.{key}", f"must set exactly one of {', '.join(_MATCH_KINDS)}")


def _unique(path: str, names: list[str], what: str) -> None:
    seen: set[str] = set()
    for index, name in enumerate(names):
        if name in seen:
            raise SpecError(f"{path}[{index}].name", f"duplicate {what} name {name!r}")
        seen.add(name)


def parse_analysis(path: str, value: object, *, strict_crd: bool) -> AnalysisSpec:
    """`strict_crd` applies the v1beta1 CRD's `oneOf` (interval and threshold required)."""
    block = require_map(path, value)
    steps = [key for key in ("iterations", "stepWeight", "stepWeights") if block.get(key) not in (None, [])]
    if len(steps) != 1:
        got = ", ".join(steps) if steps else "none"
        raise SpecError(path, f"must set exactly one of iterations, stepWeight, stepWeights (got {got})")
    if strict_crd:
        for key in ("interval", "threshold"):
            if block.get(key) in (None, ""):
                raise SpecError(f"{path}.{key}", "required")
    if block.get("iterations") not in (None, 0):
        raise SpecError(f"{path}.iterations", "A/B testing and blue/green (iterations) are not supported by cronary yet; use stepWeight or stepWeights")
    if block.get("mirror"):
        raise SpecError(f"{path}.mirror", "traffic mirroring is not supported by cronary yet")
    interval, seconds = "60s", DEFAULT_INTERVAL_SECONDS
    if block.get("interval") not in (None, ""):
        interval, seconds = _interval(f"{path}.interval", block["interval"])
        seconds = max(seconds, MIN_INTERVAL_SECONDS)
    threshold = _int(f"{path}.threshold", block.get("threshold", 0))
    step_weights = tuple(
        _int(f"{path}.stepWeights[{i}]", w, 1, 100) for i, w in enumerate(_list(f"{path}.stepWeights", block.get("stepWeights") or []))
    )
    for i in range(1, len(step_weights)):
        if step_weights[i] <= step_weights[i - 1]:
            raise SpecError(f"{path}.stepWeights[{i}]", f"must be greater than the step before it ({step_weights[i - 1]}), got {step_weights[i]}")
    _check_match(f"{path}.match", block.get("match"))
    affinity = block.get("sessionAffinity")
    if affinity is not None and not require_map(f"{path}.sessionAffinity", affinity).get("cookieName"):
        raise SpecError(f"{path}.sessionAffinity.cookieName", "required")
    metrics = tuple(_metric(f"{path}.metrics[{i}]", m) for i, m in enumerate(_list(f"{path}.metrics", block.get("metrics") or [])))
    _unique(f"{path}.metrics", [m.name for m in metrics], "metric")
    webhooks = tuple(_webhook(f"{path}.webhooks[{i}]", h) for i, h in enumerate(_list(f"{path}.webhooks", block.get("webhooks") or [])))
    _unique(f"{path}.webhooks", [h.name for h in webhooks], "webhook")
    alerts = tuple(_alert(f"{path}.alerts[{i}]", a) for i, a in enumerate(_list(f"{path}.alerts", block.get("alerts") or [])))
    return AnalysisSpec(
        interval=interval,
        interval_seconds=seconds,
        threshold=threshold if threshold > 0 else 1,
        max_weight_field=_int(f"{path}.maxWeight", block["maxWeight"], 1, 100) if block.get("maxWeight") is not None else None,
        step_weight=_int(f"{path}.stepWeight", block["stepWeight"], 1, 100) if block.get("stepWeight") is not None else 0,
        step_weights=step_weights,
        step_weight_promotion=_int(f"{path}.stepWeightPromotion", block.get("stepWeightPromotion", 0), 0, 100),
        iterations=_int(f"{path}.iterations", block.get("iterations", 0), 0, 10_000),
        match=tuple(_list(f"{path}.match", block.get("match") or [])),
        mirror=_bool(f"{path}.mirror", block.get("mirror", False)),
        mirror_weight=_int(f"{path}.mirrorWeight", block.get("mirrorWeight", 0), 0, 100),
        primary_ready_threshold=_int(f"{path}.primaryReadyThreshold", block.get("primaryReadyThreshold", 100), 0, 100),
        canary_ready_threshold=_int(f"{path}.canaryReadyThreshold", block.get("canaryReadyThreshold", 100), 0, 100),
        metrics=metrics,
        webhooks=webhooks,
        alerts=alerts,
    )


def parse_status(value: object) -> CanaryStatus:
    if value is None:
        return CanaryStatus()
    status = require_map("status", value)
    tracked = status.get("trackedConfigs")
    conditions = status.get("conditions")
    parsed_conditions = None
    if conditions is not None:
        parsed_conditions = tuple(
            Condition(
                type=str(c.get("type", "")),
                status=str(c.get("status", "")),
                reason=str(c.get("reason", "")),
                message=str(c.get("message", "")),
                last_update_time=str(c.get("lastUpdateTime", "")),
                last_transition_time=str(c.get("lastTransitionTime", "")),
            )
            for i, c in enumerate(_list("status.conditions", conditions))
            if require_map(f"status.conditions[{i}]", c) is not None
        )
    return CanaryStatus(
        phase=require_str("status.phase", status.get("phase") or ""),
        canary_weight=_int("status.canaryWeight", status.get("canaryWeight", 0), 0, 100),
        failed_checks=_int("status.failedChecks", status.get("failedChecks", 0), 0),
        iterations=_int("status.iterations", status.get("iterations", 0), -1),
        last_applied_spec=require_str("status.lastAppliedSpec", status.get("lastAppliedSpec") or ""),
        last_promoted_spec=require_str("status.lastPromotedSpec", status.get("lastPromotedSpec") or ""),
        tracked_configs=_string_map("status.trackedConfigs", tracked) if tracked is not None else None,
        last_transition_time=str(status["lastTransitionTime"]) if status.get("lastTransitionTime") else None,
        conditions=parsed_conditions,
        last_decision_time=str(status["lastDecisionTime"]) if status.get("lastDecisionTime") else None,
    )


def parse_canary(manifest: object) -> Canary:
    """Parse one Canary manifest; raises `SpecError` naming the field path."""
    doc = require_map("(document)", manifest)
    api_version = doc.get("apiVersion")
    if api_version not in API_VERSIONS:
        raise SpecError("apiVersion", f"must be {' or '.join(API_VERSIONS)}, got {api_version!r}")
    if doc.get("kind") != "Canary":
        raise SpecError("kind", f"must be Canary, got {doc.get('kind')!r}")
    meta = require_map("metadata", doc.get("metadata"))
    name = require_label("metadata.name", _required_str(meta, "metadata", "name"))
    namespace = require_label("metadata.namespace", meta.get("namespace") or "default")
    spec = require_map("spec", doc.get("spec"))
    if "targetRef" not in spec:
        raise SpecError("spec.targetRef", "required")
    target_ref = _object_ref("spec.targetRef", spec["targetRef"], ("Deployment",))
    if "service" not in spec:
        raise SpecError("spec.service", "required")
    service = parse_service("spec.service", spec["service"])
    apex = service.name or target_ref.name
    for generated in (f"{apex}-primary", f"{apex}-canary", f"{target_ref.name}-primary"):
        if len(generated) > 63:
            raise SpecError("spec.service.name" if service.name else "spec.targetRef.name", f"generated name {generated!r} is longer than 63 characters")
    analysis_key = "canaryAnalysis" if api_version == V1ALPHA3 else "analysis"
    if analysis_key not in spec or spec[analysis_key] is None:
        raise SpecError(f"spec.{analysis_key}", "required")
    analysis = parse_analysis(f"spec.{analysis_key}", spec[analysis_key], strict_crd=api_version != V1ALPHA3)
    autoscaler = None
    if spec.get("autoscalerRef") is not None:
        autoscaler = _object_ref("spec.autoscalerRef", spec["autoscalerRef"], ("HorizontalPodAutoscaler",))
        replicas = spec["autoscalerRef"].get("primaryScalerReplicas")
        if replicas is not None:
            for key in ("minReplicas", "maxReplicas"):
                if require_map("spec.autoscalerRef.primaryScalerReplicas", replicas).get(key) is not None:
                    _int(f"spec.autoscalerRef.primaryScalerReplicas.{key}", replicas[key], 1, 1_000_000)
    provider = spec.get("provider")
    if provider is not None:
        provider = require_str("spec.provider", provider)
    return Canary(
        api_version=api_version,
        name=name,
        namespace=namespace,
        uid=str(meta.get("uid") or ""),
        spec=CanarySpec(
            target_ref=target_ref,
            service=service,
            analysis=analysis,
            autoscaler_ref=autoscaler,
            provider=provider or None,
            progress_deadline_seconds=_int("spec.progressDeadlineSeconds", spec.get("progressDeadlineSeconds", 600), 0),
            skip_analysis_field=_bool("spec.skipAnalysis", spec.get("skipAnalysis", False)),
            suspend=_bool("spec.suspend", spec.get("suspend", False)),
            revert_on_deletion=_bool("spec.revertOnDeletion", spec.get("revertOnDeletion", False)),
        ),
        status=parse_status(doc.get("status")),
        manifest=doc,
    )
