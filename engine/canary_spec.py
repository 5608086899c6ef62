"""Parse and validate a Canary manifest (v1alpha3 or v1beta1) into `engine.model` values.

Validation follows Flagger's CRDs (0.14.0 for v1alpha3, v1.44.0 for v1beta1) and goes further where the CRD
lets through a Canary that could never work (a metric with no query, a weight above 100, a generated name
longer than 63 characters). Every error names the field path.

Every tick parses every listed Canary before its first decision, so the parse is on the hot path. The common
case, a field that is present and valid, is checked inline by the `*_field` helpers, and the error's path string is
built only once a field is rejected: the helpers then hand the value to the general checker (`_int`, `_bool`, ...)
with the full path, which raises (or converts, e.g. 10.0 to 10) exactly as it always has.
`tests/engine/test_canary_spec_errors.py` pins every path and message.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any, TypeVar

from .durations import MAX_GO_DURATION_TEXT, DurationRangeError, parse_go_duration
from .errors import SpecError
from .fields import require_map, require_str, type_name
from .hooks import SPELLINGS, HookType
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
    MetricSpec,
    ObjectRef,
    ServiceMetadata,
    ServiceSpec,
    TemplateRef,
    ThresholdRange,
    WebhookSpec,
    build_frozen,
    select_strategy,
)
from .names import (
    is_dns1123_label,
    is_dns1123_subdomain,
    is_http_url,
    require_label,
    require_port_name,
    require_subdomain,
)
from .phases import Phase
from .redact import origin
from .strategies.factory import strategy_named
from .targets.factory import TARGET_KINDS
from .timefmt import check_time

_INTERVAL_PATTERN = re.compile(r"^[0-9]+(m|s)")
MIN_INTERVAL_SECONDS = 10.0
DEFAULT_INTERVAL_SECONDS = 60.0
_SEVERITIES = ("info", "warn", "error")
_TRAFFIC_DISTRIBUTIONS = ("PreferClose", "PreferSameZone", "PreferSameNode")
_MATCH_KINDS = ("exact", "prefix", "suffix", "regex")
_NO_METADATA = ServiceMetadata()  # immutable, so every Service without the block can share one
_NO_STATUS = CanaryStatus()
_INT32_MAX = 2**31 - 1  # Flagger's `progressDeadlineSeconds` is an *int32: a larger number fails to decode
_T = TypeVar("_T")


# ---------------------------------------------------------------------------------------------- general checkers
# Each takes the field's full path and raises the field's error; the `*_field` helpers below call them only
# for a value their fast check did not accept.
def _bool(path: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise SpecError(path, f"must be true or false, got {value!r}")
    return value


def _int(path: str, value: object, lo: int | None = None, hi: int | None = None) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or (isinstance(value, float) and not value.is_integer())
    ):
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


def _interval(path: str, value: object) -> tuple[str, float]:
    text = require_str(path, value)
    if not _INTERVAL_PATTERN.match(text):
        raise SpecError(path, f"must be a duration like 30s or 1m (pattern ^[0-9]+(m|s)), got {text!r}")
    try:
        seconds = parse_go_duration(text)
    except DurationRangeError:
        raise SpecError(path, _too_long(text)) from None
    except ValueError:
        raise SpecError(path, f"must be a duration like 30s or 1m, got {text!r}") from None
    return text, seconds


def _too_long(text: str) -> str:
    return f"must be at most {MAX_GO_DURATION_TEXT} (Go's longest duration), got {text!r}"


# ---------------------------------------------------------------------------------------------- field readers
# `block` is a map already checked, `path` its path, `key` the field: the field's path is f"{path}.{key}".
def _required_str(block: Mapping[str, Any], path: str, key: str) -> str:
    value = block.get(key)
    if value is None or value == "":
        raise SpecError(f"{path}.{key}", "required")
    if type(value) is str:
        return value
    return require_str(f"{path}.{key}", value)


def _bool_field(block: Mapping[str, Any], path: str, key: str) -> bool:
    """`block[key]` as true or false, false when absent."""
    value = block.get(key, False)
    if value is True or value is False:
        return value
    return _bool(f"{path}.{key}", value)


def _int_field(
    block: Mapping[str, Any], path: str, key: str, default: object, lo: int | None = None, hi: int | None = None
) -> int:
    """`block[key]` (`default` when absent) as an integer in lo..hi."""
    value = block.get(key, default)
    if type(value) is int and (lo is None or lo <= value) and (hi is None or value <= hi):
        return value
    return _int(f"{path}.{key}", value, lo, hi)


def _progress_deadline_field(spec: Mapping[str, Any]) -> int:
    """`spec.progressDeadlineSeconds` (600 when absent), 0..2^31-1: Flagger decodes it into an int32."""
    value = spec.get("progressDeadlineSeconds", 600)
    if type(value) is int and 0 <= value <= _INT32_MAX:
        return value
    seconds = _int("spec.progressDeadlineSeconds", value, 0)
    if seconds > _INT32_MAX:
        raise SpecError(
            "spec.progressDeadlineSeconds", f"must be at most {_INT32_MAX} (Flagger reads an int32), got {value!r}"
        )
    return seconds


def _optional_float_field(block: Mapping[str, Any], path: str, key: str) -> float | None:
    """`block[key]` as a float, None when absent or null."""
    value = block.get(key)
    if value is None:
        return None
    if type(value) is float:
        return value
    if type(value) is int:
        return float(value)
    return _float(f"{path}.{key}", value)


def _optional_str_field(block: Mapping[str, Any], path: str, key: str) -> str | None:
    """`block[key]` as a string, None when absent or empty (or null, false, 0)."""
    value = block.get(key) or None
    if value is None or type(value) is str:
        return value
    return require_str(f"{path}.{key}", value)


def _str_list_field(block: Mapping[str, Any], path: str, key: str) -> tuple[str, ...]:
    """`block[key]` as a list of strings, () when absent or empty."""
    value = block.get(key)
    if not value:
        return ()
    items = value if type(value) is list else _list(f"{path}.{key}", value)
    for i, item in enumerate(items):
        if type(item) is not str:
            require_str(f"{path}.{key}[{i}]", item)
    return tuple(items)


def _string_map_field(block: Mapping[str, Any], path: str, key: str) -> tuple[tuple[str, str], ...]:
    """`block[key]` as a map of strings, sorted by key; () when absent."""
    value = block.get(key)
    if value is None:
        return ()
    where = f"{path}.{key}"
    items = require_map(where, value)
    for name, item in items.items():
        if type(item) is not str:
            require_str(f"{where}.{name}", item)
    return tuple(sorted((str(name), item) for name, item in items.items()))


def _time_field(block: Mapping[str, Any], path: str, key: str) -> str | None:
    """`block[key]`, a time the engine computes with (`lastDecisionTime + interval`), None when absent or
    empty. A time it cannot use (malformed, `2026-02-30`, year 9999) makes the Canary invalid, naming the
    field: guessing "never decided" would let it advance early, and the sum would overflow."""
    value = block.get(key)
    if value is None or value == "":
        return None
    return check_time(f"{path}.{key}", value)


def _interval_field(block: Mapping[str, Any], path: str, key: str) -> tuple[str, float]:
    """`block[key]` as an interval (`30s`, `1m`) and its seconds; the field is present and not empty."""
    value = block[key]
    if type(value) is str:
        seconds = _interval_seconds(value)
        if seconds is not None:
            return value, seconds
    return _interval(f"{path}.{key}", value)


@lru_cache(maxsize=1024)
def _interval_seconds(text: str) -> float | None:
    """The seconds of an interval string, None if `_interval` would reject it. Remembered: a fleet's canaries
    say `1m` or `30s` over and over, and a string is immutable."""
    if not _INTERVAL_PATTERN.match(text):
        return None
    try:
        return parse_go_duration(text)
    except ValueError:
        return None


@lru_cache(maxsize=1024)
def _duration_seconds(text: str) -> float | None:
    """`parse_go_duration(text)`, None where it raises; remembered like `_interval_seconds`."""
    try:
        return parse_go_duration(text)
    except ValueError:
        return None


def _build_derived(cls: type[_T], values: dict[str, Any]) -> _T:
    """`cls(**values)` for a frozen dataclass whose `__post_init__` derives properties up front (`MetricSpec`,
    `AnalysisSpec`, `CanarySpec`, `Canary`). It does what the dataclass `__init__` does, fields then
    `__post_init__`, but sets the fields with `build_frozen` instead of one `object.__setattr__` each, which is
    most of the cost of a frozen dataclass' `__init__`. `values` must hold every field."""
    obj = build_frozen(cls, values)
    obj.__post_init__()  # type: ignore[attr-defined]
    return obj


# ---------------------------------------------------------------------------------------------- blocks
def _object_ref(path: str, value: object, kinds: tuple[str, ...]) -> ObjectRef:
    ref = require_map(path, value)
    name = _required_str(ref, path, "name")
    if not is_dns1123_subdomain(name):
        require_subdomain(f"{path}.name", name)
    kind = _required_str(ref, path, "kind")
    if kind not in kinds:
        raise SpecError(f"{path}.kind", f"must be one of {', '.join(kinds)}, got {kind!r}")
    api_version = _required_str(ref, path, "apiVersion")
    return build_frozen(ObjectRef, {"api_version": api_version, "kind": kind, "name": name})


def _metadata_field(block: Mapping[str, Any], path: str, key: str) -> ServiceMetadata:
    """`block[key]`, a Service's `apex`/`primary`/`canary` labels and annotations."""
    value = block.get(key)
    if value is None:
        return _NO_METADATA
    where = f"{path}.{key}"
    meta = require_map(where, value)
    return build_frozen(
        ServiceMetadata,
        {
            "labels": _string_map_field(meta, where, "labels"),
            "annotations": _string_map_field(meta, where, "annotations"),
        },
    )


def parse_service(path: str, value: object) -> ServiceSpec:
    svc = require_map(path, value)
    if "port" not in svc:
        raise SpecError(f"{path}.port", "required")
    port = _int_field(svc, path, "port", None, 1, 65535)
    target_port = svc.get("targetPort")
    if target_port is not None:
        if isinstance(target_port, str) and not (target_port.isdigit() and target_port.isascii()):  # not "²"
            require_port_name(f"{path}.targetPort", target_port)
        else:
            target_port = _int(
                f"{path}.targetPort", int(target_port) if isinstance(target_port, str) else target_port, 1, 65535
            )
    name = svc.get("name")
    if name is not None and not is_dns1123_label(name):
        require_label(f"{path}.name", name)
    distribution = svc.get("trafficDistribution")
    if distribution is not None and distribution not in _TRAFFIC_DISTRIBUTIONS:
        raise SpecError(
            f"{path}.trafficDistribution", f"must be one of {', '.join(_TRAFFIC_DISTRIBUTIONS)}, got {distribution!r}"
        )
    port_name = svc.get("portName") or "http"
    if not is_dns1123_label(port_name):
        require_label(f"{path}.portName", require_str(f"{path}.portName", port_name))
    return build_frozen(
        ServiceSpec,
        {
            "port": port,
            "name": name,
            "port_name": port_name,
            "target_port": target_port,
            "app_protocol": _optional_str_field(svc, path, "appProtocol"),
            "traffic_distribution": distribution,
            "port_discovery": _bool_field(svc, path, "portDiscovery"),
            "headless": _bool_field(svc, path, "headless"),
            "gateways": _str_list_field(svc, path, "gateways"),
            "hosts": _str_list_field(svc, path, "hosts"),
            "apex": _metadata_field(svc, path, "apex"),
            "primary": _metadata_field(svc, path, "primary"),
            "canary": _metadata_field(svc, path, "canary"),
        },
    )


def _metric(path: str, value: object) -> MetricSpec:
    item = require_map(path, value)
    name = _required_str(item, path, "name")
    interval = "1m"
    if item.get("interval") not in (None, ""):
        interval, _ = _interval_field(item, path, "interval")
    threshold = _optional_float_field(item, path, "threshold")
    threshold_range = None
    if item.get("thresholdRange") is not None:
        where = f"{path}.thresholdRange"
        rng = require_map(where, item["thresholdRange"])
        lo = _optional_float_field(rng, where, "min")
        hi = _optional_float_field(rng, where, "max")
        if lo is not None and hi is not None and lo > hi:
            raise SpecError(where, f"min {lo:g} is above max {hi:g}")
        threshold_range = build_frozen(ThresholdRange, {"min": lo, "max": hi})
    query = _optional_str_field(item, path, "query")
    template_ref = None
    if item.get("templateRef") is not None:
        ref = require_map(f"{path}.templateRef", item["templateRef"])
        template_ref = TemplateRef(
            name=require_subdomain(f"{path}.templateRef.name", _required_str(ref, f"{path}.templateRef", "name")),
            namespace=require_label(f"{path}.templateRef.namespace", ref["namespace"])
            if ref.get("namespace")
            else None,
        )
    if name not in BUILTIN_METRICS and query is None and template_ref is None:
        raise SpecError(
            path,
            f"metric {name!r} is not built in ({', '.join(BUILTIN_METRICS)}) and has neither query nor templateRef",
        )
    if threshold is None and threshold_range is None:
        raise SpecError(path, f"metric {name!r} must set threshold or thresholdRange")
    return _build_derived(
        MetricSpec,
        {
            "name": name,
            "interval": interval,
            "threshold": threshold,
            "threshold_range": threshold_range,
            "query": query,
            "template_ref": template_ref,
            "template_variables": _string_map_field(item, path, "templateVariables"),
        },
    )


def _webhook(path: str, value: object) -> WebhookSpec:
    hook = require_map(path, value)
    name = _required_str(hook, path, "name")
    url = _required_str(hook, path, "url")
    if not is_http_url(url):
        raise SpecError(
            f"{path}.url", f"must be an http or https URL with a host and no user:password@, got {origin(url)}"
        )
    type_text = _optional_str_field(hook, path, "type") or ""
    if type_text not in SPELLINGS:
        raise SpecError(f"{path}.type", f"must be one of {', '.join(t.value for t in HookType)}, got {type_text!r}")
    timeout = _optional_str_field(hook, path, "timeout") or ""
    if len(timeout) < 2:
        timeout = "10s"  # Flagger replaces anything shorter than two characters
    timeout_seconds = _duration_seconds(timeout)
    if timeout_seconds is None:
        try:
            parse_go_duration(timeout)
        except DurationRangeError:
            raise SpecError(f"{path}.timeout", _too_long(timeout)) from None
        except ValueError:
            pass
        raise SpecError(f"{path}.timeout", f"must be a duration like 10s, got {timeout!r}")
    if timeout_seconds <= 0:
        raise SpecError(f"{path}.timeout", f"must be positive, got {timeout!r}")
    return build_frozen(
        WebhookSpec,
        {
            "name": name,
            "url": url,
            "type": SPELLINGS[type_text],
            "timeout": timeout,
            "timeout_seconds": timeout_seconds,
            "retries": _int_field(hook, path, "retries", 0, 0, 100),
            "disable_tls": _bool_field(hook, path, "disableTLS"),
            "mute_alert": _bool_field(hook, path, "muteAlert"),
            "metadata": _string_map_field(hook, path, "metadata"),
        },
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
        provider_namespace=require_label(f"{path}.providerRef.namespace", ref["namespace"])
        if ref.get("namespace")
        else None,
    )


def _check_match(path: str, value: object) -> None:
    """The CRD's rules for A/B match conditions: a list of maps, whose `headers` and `queryParams` are maps of
    conditions, each naming one way to match (`exact`, ...) with a string."""
    for i, item in enumerate(_list(path, value)):
        item = require_map(f"{path}[{i}]", item)
        for section in ("headers", "queryParams"):
            conditions = item.get(section)
            if conditions is None:
                continue
            for key, cond in require_map(f"{path}[{i}].{section}", conditions).items():
                where = f"{path}[{i}].{section}.{key}"
                kinds = [k for k in _MATCH_KINDS if k in require_map(where, cond)]
                if len(kinds) != 1:
                    raise SpecError(where, f"must set exactly one of {', '.join(_MATCH_KINDS)}")
                require_str(f"{where}.{kinds[0]}", cond[kinds[0]])


def _items(block: Mapping[str, Any], path: str, key: str, parse: Callable[[str, object], _T]) -> tuple[_T, ...]:
    """`block[key]`, a list, each item parsed by `parse(item_path, item)`; () when absent or empty."""
    value = block.get(key)
    if not value:
        return ()
    where = f"{path}.{key}"
    return tuple(parse(f"{where}[{i}]", item) for i, item in enumerate(_list(where, value)))


def _unique(path: str, key: str, names: list[str], what: str) -> None:
    seen: set[str] = set()
    for index, name in enumerate(names):
        if name in seen:
            raise SpecError(f"{path}.{key}[{index}].name", f"duplicate {what} name {name!r}")
        seen.add(name)


def _step_weights(path: str, value: object) -> tuple[int, ...]:
    """`stepWeights`: each 1..100, each above the one before it."""
    step_weights = tuple(_int(f"{path}[{i}]", w, 1, 100) for i, w in enumerate(_list(path, value)))
    for i in range(1, len(step_weights)):
        if step_weights[i] <= step_weights[i - 1]:
            raise SpecError(
                f"{path}[{i}]",
                f"must be greater than the step before it ({step_weights[i - 1]}), got {step_weights[i]}",
            )
    return step_weights


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
    # the strategy the analysis selects must be one cronary runs (`engine.strategies`)
    strategy_named(
        select_strategy(iterations=block.get("iterations") not in (None, 0), match=bool(block.get("match"))),
        f"{path}.iterations",
    )
    if block.get("mirror"):
        raise SpecError(f"{path}.mirror", "traffic mirroring is not supported by cronary yet")
    interval, seconds = "60s", DEFAULT_INTERVAL_SECONDS
    if block.get("interval") not in (None, ""):
        interval, seconds = _interval_field(block, path, "interval")
        seconds = max(seconds, MIN_INTERVAL_SECONDS)
    threshold = _int_field(block, path, "threshold", 0)
    step_weights = _step_weights(f"{path}.stepWeights", block["stepWeights"]) if block.get("stepWeights") else ()
    match = block.get("match")
    if match is not None:
        _check_match(f"{path}.match", match)
    affinity = block.get("sessionAffinity")
    if affinity is not None and not require_map(f"{path}.sessionAffinity", affinity).get("cookieName"):
        raise SpecError(f"{path}.sessionAffinity.cookieName", "required")
    if affinity is not None and affinity.get("primaryCookieName") == affinity["cookieName"]:
        # Flagger refuses it: the router could not tell the canary's sticky sessions from the primary's
        raise SpecError(f"{path}.sessionAffinity.primaryCookieName", "must differ from cookieName")
    metrics = _items(block, path, "metrics", _metric)
    if metrics:
        _unique(path, "metrics", [m.name for m in metrics], "metric")
    webhooks = _items(block, path, "webhooks", _webhook)
    if webhooks:
        _unique(path, "webhooks", [h.name for h in webhooks], "webhook")
    alerts = _items(block, path, "alerts", _alert)
    return _build_derived(
        AnalysisSpec,
        {
            "interval": interval,
            "interval_seconds": seconds,
            "threshold": threshold if threshold > 0 else 1,
            "max_weight_field": _int_field(block, path, "maxWeight", None, 1, 100)
            if block.get("maxWeight") is not None
            else None,
            "step_weight": _int_field(block, path, "stepWeight", None, 1, 100)
            if block.get("stepWeight") is not None
            else 0,
            "step_weights": step_weights,
            "step_weight_promotion": _int_field(block, path, "stepWeightPromotion", 0, 0, 100),
            "iterations": _int_field(block, path, "iterations", 0, 0, 10_000),
            "match": tuple(match) if match else (),  # a list or None: `_check_match` rejected anything else
            "mirror": _bool_field(block, path, "mirror"),
            "mirror_weight": _int_field(block, path, "mirrorWeight", 0, 0, 100),
            "primary_ready_threshold": _int_field(block, path, "primaryReadyThreshold", 100, 0, 100),
            "canary_ready_threshold": _int_field(block, path, "canaryReadyThreshold", 100, 0, 100),
            "metrics": metrics,
            "webhooks": webhooks,
            "alerts": alerts,
        },
    )


_PHASES = frozenset(p.value for p in Phase)


def parse_status(value: object) -> CanaryStatus:
    if value is None:
        return _NO_STATUS
    status = require_map("status", value)
    conditions = status.get("conditions")
    parsed_conditions = None
    if conditions is not None:
        parsed_conditions = tuple(
            build_frozen(
                Condition,
                {
                    "type": str(c.get("type", "")),
                    "status": str(c.get("status", "")),
                    "reason": str(c.get("reason", "")),
                    "message": str(c.get("message", "")),
                    "last_update_time": _time_field(c, f"status.conditions[{i}]", "lastUpdateTime") or "",
                    "last_transition_time": _time_field(c, f"status.conditions[{i}]", "lastTransitionTime") or "",
                },
            )
            for i, c in enumerate(_list("status.conditions", conditions))
            if require_map(f"status.conditions[{i}]", c) is not None
        )
    phase = require_str("status.phase", status.get("phase") or "")
    if phase not in _PHASES:
        # a phase cronary does not know is no state to go on from (the CRD's enum refuses it in a cluster)
        raise SpecError("status.phase", f"unknown phase {phase!r} (one of: {', '.join(sorted(_PHASES - {''}))})")
    return build_frozen(
        CanaryStatus,
        {
            "phase": phase,
            "canary_weight": _int_field(status, "status", "canaryWeight", 0, 0, 100),
            "failed_checks": _int_field(status, "status", "failedChecks", 0, 0),
            "iterations": _int_field(status, "status", "iterations", 0, -1),
            "last_applied_spec": require_str("status.lastAppliedSpec", status.get("lastAppliedSpec") or ""),
            "last_promoted_spec": require_str("status.lastPromotedSpec", status.get("lastPromotedSpec") or ""),
            "tracked_configs": _string_map_field(status, "status", "trackedConfigs")
            if status.get("trackedConfigs") is not None
            else None,
            "last_transition_time": _time_field(status, "status", "lastTransitionTime"),
            "conditions": parsed_conditions,
            "last_decision_time": _time_field(status, "status", "lastDecisionTime"),
        },
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
    target_ref = _object_ref("spec.targetRef", spec["targetRef"], TARGET_KINDS)
    if "service" not in spec:
        raise SpecError("spec.service", "required")
    service = parse_service("spec.service", spec["service"])
    apex = service.name or target_ref.name
    if len(apex) > 63 - len("-primary") or len(target_ref.name) > 63 - len("-primary"):  # "-canary" is shorter
        for generated in (f"{apex}-primary", f"{apex}-canary", f"{target_ref.name}-primary"):
            if len(generated) > 63:
                raise SpecError(
                    "spec.service.name" if service.name else "spec.targetRef.name",
                    f"generated name {generated!r} is longer than 63 characters",
                )
    analysis_key = "canaryAnalysis" if api_version == V1ALPHA3 else "analysis"
    analysis_block = spec.get(analysis_key)
    if analysis_block is None:
        raise SpecError(f"spec.{analysis_key}", "required")
    analysis = parse_analysis(f"spec.{analysis_key}", analysis_block, strict_crd=api_version != V1ALPHA3)
    autoscaler = None
    primary_replicas: list[int | None] = [None, None]
    if spec.get("autoscalerRef") is not None:
        autoscaler = _object_ref("spec.autoscalerRef", spec["autoscalerRef"], ("HorizontalPodAutoscaler",))
        replicas = spec["autoscalerRef"].get("primaryScalerReplicas")
        if replicas is not None:
            for index, key in enumerate(("minReplicas", "maxReplicas")):
                if require_map("spec.autoscalerRef.primaryScalerReplicas", replicas).get(key) is not None:
                    primary_replicas[index] = _int(
                        f"spec.autoscalerRef.primaryScalerReplicas.{key}", replicas[key], 1, 1_000_000
                    )
    provider = spec.get("provider")
    if provider is not None:
        provider = require_str("spec.provider", provider)
    metrics_server = spec.get("metricsServer")
    if metrics_server is not None and not is_http_url(metrics_server):
        raise SpecError(
            "spec.metricsServer",
            f"must be an http or https URL with a host and no user:password@, got {origin(metrics_server) if isinstance(metrics_server, str) else type_name(metrics_server)}",
        )
    return _build_derived(
        Canary,
        {
            "api_version": api_version,
            "name": name,
            "namespace": namespace,
            "uid": str(meta.get("uid") or ""),
            "spec": _build_derived(
                CanarySpec,
                {
                    "target_ref": target_ref,
                    "service": service,
                    "analysis": analysis,
                    "autoscaler_ref": autoscaler,
                    "primary_scaler_replicas": (primary_replicas[0], primary_replicas[1]),
                    "provider": provider or None,
                    "metrics_server": metrics_server or None,
                    "progress_deadline_seconds": _progress_deadline_field(spec),
                    "skip_analysis_field": _bool_field(spec, "spec", "skipAnalysis"),
                    "suspend": _bool_field(spec, "spec", "suspend"),
                    "revert_on_deletion": _bool_field(spec, "spec", "revertOnDeletion"),
                },
            ),
            "status": parse_status(doc.get("status")),
            "manifest": doc,
        },
    )
