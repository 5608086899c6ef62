"""Unit tests of the engine's small pure modules, against Go/Kubernetes/Flagger behaviour and the reference
(`reference/flagger-state-machine.md` §2.2 hashing, §2.5 readiness, §2.6 weights, §2.4.5 transitions, §3 status)."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from engine.configs import NO_CONFIGS, ConfigRef, TrackedConfigs, referenced_configs, rewrite_config_refs
from engine.durations import DurationRangeError, format_go_duration_ms, format_go_float, parse_go_duration
from engine.hashing import canonical_json, compute_hash, config_checksum, derived_uuid, safe_encode
from engine.model import AnalysisSpec, HookType
from engine.phases import CONDITIONS, TRANSITIONS, IllegalTransition, Phase, Trigger, promoted_condition, transition
from engine.readiness import deployment_readiness
from engine.render_hpa import hpa_spec_as_v2
from engine.weights import advance, next_step_weight, promote_step


# ==================================================================================== durations
@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("10s", 10.0),
        ("1m", 60.0),
        ("1m30s", 90.0),
        ("1.5h", 5400.0),
        ("500ms", 0.5),
        ("2h45m", 9900.0),
        ("1h0m0s", 3600.0),
        ("0", 0.0),
        ("0s", 0.0),
        ("300us", 0.0003),
        ("300µs", 0.0003),
        ("-1m", -60.0),
        (".5s", 0.5),
        ("1.s", 1.0),
    ],
    ids=lambda v: str(v),
)
def test_parse_go_duration(text: str, seconds: float) -> None:
    assert parse_go_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "text", ["", "10", "abc", "1x", "s", "1.5", "m1", "1m 30s", " 1m", "1m-30s", "-", "+", ".s", "١٠s", "1²s"]
)
def test_parse_go_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_go_duration(text)


@pytest.mark.parametrize("text", ["2562048h", "-2562048h", "9999999999999999m", "9" * 400 + "s", "2562047h47m17s"])
def test_parse_go_duration_rejects_what_go_cannot_hold(text: str) -> None:
    """Go's `time.ParseDuration` says "invalid duration" beyond int64 nanoseconds (about 292 years); a longer
    interval would overflow `datetime` arithmetic in the tick."""
    with pytest.raises(DurationRangeError):
        parse_go_duration(text)
    assert parse_go_duration("2562047h47m16s") == pytest.approx(9223372036.0)


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (0, "0s"),
        (1, "1ms"),
        (500, "500ms"),
        (999, "999ms"),
        (1000, "1s"),
        (1515, "1.515s"),
        (1500, "1.5s"),
        (59_999, "59.999s"),
        (60_000, "1m0s"),
        (61_000, "1m1s"),
        (90_500, "1m30.5s"),
        (3_600_000, "1h0m0s"),
        (3_723_500, "1h2m3.5s"),
        (-1515, "-1.515s"),
    ],
    ids=lambda v: str(v),
)
def test_format_go_duration_ms(ms: int, text: str) -> None:
    assert format_go_duration_ms(ms) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (99, "99"),
        (99.0, "99"),
        (99.5, "99.5"),
        (0.5, "0.5"),
        (0.001, "0.001"),
        (0.0001, "0.0001"),
        (1e-05, "1e-05"),
        (500, "500"),
        (100000, "100000"),
        (999999, "999999"),
        # Go's %v is %g with the shortest precision, which switches to an exponent at 1e6 ("1e+06").
        (1e6, "1e+06"),
        (1234567.0, "1.234567e+06"),
        (1e21, "1e+21"),
        (-2.5, "-2.5"),
    ],
    ids=lambda v: str(v),
)
def test_format_go_float(value: float, text: str) -> None:
    assert format_go_float(value) == text


# ====================================================================================== hashing
SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def test_safe_encode_maps_digits_like_kubernetes() -> None:
    # rand.SafeEncodeString: alphanums[int(r) % len(alphanums)]; '0' is 48, 48 % 27 = 21 -> '4'
    assert safe_encode("0123456789") == "456789bcdf"


@pytest.mark.parametrize("text", ["", "a", "hello world", "3735928559", "ÿ~!"])
def test_safe_encode_stays_in_the_alphabet(text: str) -> None:
    encoded = safe_encode(text)
    assert len(encoded) == len(text)
    assert set(encoded) <= set(SAFE_ALPHABET)
    assert not set(encoded) & set("aeiou013")


def test_compute_hash_has_flaggers_shape_and_is_stable() -> None:
    template = {"metadata": {"labels": {"app": "podinfo"}}, "spec": {"containers": [{"name": "c", "image": "x:1"}]}}
    h = compute_hash(template)
    assert re.fullmatch(r"[456789bcdf]{1,10}", h)
    # 0de416c: 32 bits of SHA-256 of the canonical JSON (Flagger: FNV-1a 32 of Go's pretty-print), decimal, SafeEncoded
    digest = hashlib.sha256(canonical_json(template).encode()).digest()
    assert h == safe_encode(str(int.from_bytes(digest[:4], "big")))
    assert compute_hash(json.loads(json.dumps(template, sort_keys=True))) == h  # key order does not matter
    assert compute_hash({**template, "spec": {"containers": [{"name": "c", "image": "x:2"}]}}) != h


def test_canonical_json_escapes_html_like_go() -> None:
    assert canonical_json({"b": "<&>", "a": 1}) == '{"a":1,"b":"\\u003c\\u0026\\u003e"}'


@pytest.mark.parametrize(
    "data",
    [{"a": "1", "b": "2"}, {"z": "last", "a": "first"}, {"key": "<html>&"}, {"ü": "ß"}],
    ids=["simple", "unsorted", "html", "unicode"],
)
def test_config_checksum_is_sha256_prefix_of_the_json(data: dict[str, str]) -> None:
    checksum = config_checksum(data)
    assert re.fullmatch(r"[0-9a-f]{16}", checksum)
    assert checksum == hashlib.sha256(canonical_json(data).encode()).hexdigest()[:16]


def test_config_checksum_known_value() -> None:
    assert config_checksum({"a": "1", "b": "2"}) == hashlib.sha256(b'{"a":"1","b":"2"}').hexdigest()[:16]


UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


def test_derived_uuid_is_uuid_shaped_and_deterministic() -> None:
    first = derived_uuid("flagger-id", "uid-1", "hash", "promote")
    assert UUID_RE.fullmatch(first)
    assert derived_uuid("flagger-id", "uid-1", "hash", "promote") == first
    assert derived_uuid("flagger-id", "uid-1", "hash", "create") != first
    assert derived_uuid("flagger-id", "uid-2", "hash", "promote") != first
    # part boundaries matter: ("ab", "c") is not ("a", "bc")
    assert derived_uuid("ab", "c") != derived_uuid("a", "bc")


# ====================================================================================== weights
def _walk(analysis: AnalysisSpec) -> list[int]:
    """Canary weights of a healthy canary-strategy rollout until the promotion point (§2.6)."""
    weight, seen = 0, []
    for _ in range(200):
        if weight >= analysis.max_weight:
            break
        _, weight = advance(analysis, 100 - weight, weight)
        seen.append(weight)
    return seen


@pytest.mark.parametrize(
    ("analysis", "weights"),
    [
        pytest.param(AnalysisSpec(step_weights=(1, 2, 10, 80)), [1, 2, 10, 80], id="stepWeights-1-2-10-80"),
        pytest.param(AnalysisSpec(step_weights=(1, 2, 10, 100)), [1, 2, 10, 100], id="stepWeights-1-2-10-100"),
        pytest.param(AnalysisSpec(step_weights=(1, 2, 10, 200)), [1, 2, 10, 100], id="stepWeights-1-2-10-200-capped"),
        pytest.param(AnalysisSpec(step_weight=20, max_weight_field=50), [20, 40, 60], id="step20-max50-overshoots"),
        pytest.param(AnalysisSpec(step_weight=50, max_weight_field=100), [50, 100], id="step50-max100"),
        pytest.param(AnalysisSpec(step_weight=10, max_weight_field=50), [10, 20, 30, 40, 50], id="seed-step10-max50"),
        pytest.param(AnalysisSpec(step_weight=30), [30, 60, 90, 100], id="step30-no-max-caps-at-100"),
        # both set: the step is stepWeight, but maxWeight() still reads stepWeights (Flagger's helpers, §2.6)
        pytest.param(
            AnalysisSpec(step_weight=10, step_weights=(1, 2)), [10], id="stepWeight-wins-max-from-stepWeights"
        ),
    ],
)
def test_weight_progression_matches_the_reference(analysis: AnalysisSpec, weights: list[int]) -> None:
    assert _walk(analysis) == weights


@pytest.mark.parametrize(
    ("analysis", "current", "step"),
    [
        pytest.param(AnalysisSpec(step_weight=10, step_weights=(1, 2)), 0, 10, id="stepWeight-wins-over-stepWeights"),
        pytest.param(AnalysisSpec(step_weights=(5, 20)), 0, 5, id="first-of-stepWeights"),
        pytest.param(AnalysisSpec(step_weights=(5, 20)), 5, 15, id="to-the-next-of-stepWeights"),
        pytest.param(AnalysisSpec(step_weights=(5, 20)), 7, 93, id="not-in-list-jumps-to-100"),
        pytest.param(AnalysisSpec(step_weights=(5, 20)), 100, 1, id="no-room-gives-1"),
        pytest.param(AnalysisSpec(step_weights=(50, 200)), 50, 50, id="capped-by-room"),
        pytest.param(AnalysisSpec(step_weight=25), 90, 25, id="stepWeight-ignores-room"),
    ],
)
def test_next_step_weight(analysis: AnalysisSpec, current: int, step: int) -> None:
    assert next_step_weight(analysis, current) == step


@pytest.mark.parametrize(
    ("analysis", "max_weight"),
    [
        pytest.param(AnalysisSpec(step_weights=(1, 2, 10, 80)), 80, id="last-stepWeight"),
        pytest.param(
            AnalysisSpec(step_weights=(10, 200), max_weight_field=30), 100, id="stepWeights-ignore-maxWeight-cap-100"
        ),
        pytest.param(AnalysisSpec(step_weight=10, max_weight_field=50), 50, id="maxWeight"),
        pytest.param(AnalysisSpec(step_weight=10), 100, id="default-100"),
    ],
)
def test_max_weight(analysis: AnalysisSpec, max_weight: int) -> None:
    assert analysis.max_weight == max_weight


def test_advance_keeps_weights_summing_to_100_and_in_range() -> None:
    assert advance(AnalysisSpec(step_weight=30), 10, 90) == (0, 100)
    assert promote_step(AnalysisSpec(step_weight_promotion=50), 0, 100) == (50, 50)
    assert promote_step(AnalysisSpec(step_weight_promotion=50), 50, 50) == (100, 0)
    assert promote_step(AnalysisSpec(step_weight_promotion=30), 40, 60) == (70, 30)
    assert promote_step(AnalysisSpec(step_weight_promotion=30), 90, 10) == (100, 0)


# ==================================================================================== readiness
NOW = datetime(2026, 11, 27, 10, 0, 0, tzinfo=UTC)


def _stamp(delta_seconds: int) -> str:
    return (NOW + timedelta(seconds=delta_seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def deployment(
    *,
    replicas: int = 2,
    generation: int = 1,
    observed: int = 1,
    status_replicas: int | None = None,
    updated: int | None = None,
    available: int | None = None,
    progressing_reason: str = "NewReplicaSetAvailable",
    available_condition: tuple[str, str, int] | None = ("True", "MinimumReplicasAvailable", -30),
) -> dict[str, Any]:
    conditions: list[dict[str, Any]] = [{"type": "Progressing", "status": "True", "reason": progressing_reason}]
    if available_condition is not None:
        status, reason, when = available_condition
        conditions.append({"type": "Available", "status": status, "reason": reason, "lastUpdateTime": _stamp(when)})
    return {
        "metadata": {"name": "podinfo", "generation": generation},
        "spec": {"replicas": replicas},
        "status": {
            "observedGeneration": observed,
            "replicas": replicas if status_replicas is None else status_replicas,
            "updatedReplicas": replicas if updated is None else updated,
            "availableReplicas": replicas if available is None else available,
            "conditions": conditions,
        },
    }


UNAVAILABLE_RECENT = ("False", "MinimumReplicasUnavailable", -30)
UNAVAILABLE_STALE = ("False", "MinimumReplicasUnavailable", -601)


@pytest.mark.parametrize(
    ("dep", "threshold", "ready", "retriable", "reason"),
    [
        pytest.param(deployment(), 100, True, True, "", id="ready"),
        pytest.param(
            deployment(generation=2, observed=1),
            100,
            False,
            True,
            "waiting for rollout to finish: observed deployment generation less than desired generation",
            id="generation-lag",
        ),
        pytest.param(
            deployment(progressing_reason="ProgressDeadlineExceeded"),
            100,
            False,
            False,
            'deployment "podinfo" exceeded its progress deadline',
            id="progress-deadline-exceeded-non-retriable",
        ),
        pytest.param(
            deployment(updated=1, available_condition=UNAVAILABLE_RECENT),
            100,
            False,
            True,
            "waiting for rollout to finish: 1 out of 2 new replicas have been updated",
            id="updated-less-than-desired",
        ),
        pytest.param(
            deployment(status_replicas=3),
            100,
            False,
            True,
            "waiting for rollout to finish: 1 old replicas are pending termination",
            id="old-replicas-pending",
        ),
        pytest.param(
            deployment(replicas=4, available=1),
            50,
            False,
            True,
            "waiting for rollout to finish: 1 of 4 (readyThreshold 50%) updated replicas are available",
            id="readyThreshold-50-rejects-1-of-4",
        ),
        pytest.param(deployment(replicas=4, available=2), 50, True, True, "", id="readyThreshold-50-accepts-2-of-4"),
        pytest.param(
            deployment(replicas=4, available=3),
            100,
            False,
            True,
            "waiting for rollout to finish: 3 of 4 (readyThreshold 100%) updated replicas are available",
            id="readyThreshold-100-rejects-3-of-4",
        ),
        pytest.param(deployment(replicas=3, available=0), 33, True, True, "", id="readyThreshold-floors-0.99-to-0"),
        pytest.param(
            deployment(updated=1, available_condition=UNAVAILABLE_STALE),
            100,
            False,
            False,
            "waiting for rollout to finish: 1 out of 2 new replicas have been updated",
            id="stuck-past-canary-deadline-non-retriable",
        ),
        pytest.param(
            deployment(status_replicas=3, available_condition=UNAVAILABLE_STALE),
            100,
            False,
            False,
            "waiting for rollout to finish: 1 old replicas are pending termination",
            id="stuck-old-replicas-non-retriable",
        ),
        pytest.param(
            deployment(updated=1, available_condition=("False", "MinimumReplicasUnavailable", -600)),
            100,
            False,
            True,
            "waiting for rollout to finish: 1 out of 2 new replicas have been updated",
            id="exactly-at-the-deadline-still-retriable",
        ),
        pytest.param(
            deployment(updated=1, available_condition=("False", "SomethingElse", -601)),
            100,
            False,
            True,
            "waiting for rollout to finish: 1 out of 2 new replicas have been updated",
            id="stale-but-not-MinimumReplicasUnavailable-retriable",
        ),
        pytest.param(
            deployment(generation=2, observed=1, available_condition=UNAVAILABLE_STALE),
            100,
            False,
            True,
            "waiting for rollout to finish: observed deployment generation less than desired generation",
            id="generation-lag-wins-over-stuck",
        ),
    ],
)
def test_deployment_readiness(dep: dict[str, Any], threshold: int, ready: bool, retriable: bool, reason: str) -> None:
    result = deployment_readiness(dep, ready_threshold=threshold, progress_deadline_seconds=600, now=NOW)
    assert (result.ready, result.retriable, result.reason) == (ready, retriable, reason)


def test_stuck_flag_needs_a_progressing_condition() -> None:
    dep = deployment(updated=1, available_condition=UNAVAILABLE_STALE)
    dep["status"]["conditions"] = [c for c in dep["status"]["conditions"] if c["type"] != "Progressing"]
    result = deployment_readiness(dep, ready_threshold=100, progress_deadline_seconds=600, now=NOW)
    assert (result.ready, result.retriable) == (False, True)


def test_canary_deadline_is_the_canarys_progress_deadline() -> None:
    dep = deployment(updated=1, available_condition=("False", "MinimumReplicasUnavailable", -61))
    assert not deployment_readiness(dep, ready_threshold=100, progress_deadline_seconds=60, now=NOW).retriable
    assert deployment_readiness(dep, ready_threshold=100, progress_deadline_seconds=120, now=NOW).retriable


# ==================================================================================== render_hpa
def _hpa(api: str, metrics: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": api,
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "podinfo"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "podinfo"},
            "minReplicas": 2,
            "maxReplicas": 4,
            "metrics": metrics,
            **spec,
        },
    }


SELECTOR = {"matchLabels": {"queue": "jobs"}}


@pytest.mark.parametrize(
    ("v2beta1", "v2"),
    [
        pytest.param(
            {"type": "Resource", "resource": {"name": "cpu", "targetAverageUtilization": 99}},
            {
                "type": "Resource",
                "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 99}},
            },
            id="Resource-utilization",
        ),
        pytest.param(
            {"type": "Resource", "resource": {"name": "memory", "targetAverageValue": "512Mi"}},
            {
                "type": "Resource",
                "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "512Mi"}},
            },
            id="Resource-average-value",
        ),
        pytest.param(
            {"type": "Pods", "pods": {"metricName": "packets-per-second", "targetAverageValue": "1k"}},
            {
                "type": "Pods",
                "pods": {
                    "metric": {"name": "packets-per-second"},
                    "target": {"type": "AverageValue", "averageValue": "1k"},
                },
            },
            id="Pods",
        ),
        pytest.param(
            {"type": "Pods", "pods": {"metricName": "pps", "targetAverageValue": "1k", "selector": SELECTOR}},
            {
                "type": "Pods",
                "pods": {
                    "metric": {"name": "pps", "selector": SELECTOR},
                    "target": {"type": "AverageValue", "averageValue": "1k"},
                },
            },
            id="Pods-selector",
        ),
        pytest.param(
            {
                "type": "Object",
                "object": {
                    "target": {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "name": "main-route"},
                    "metricName": "requests-per-second",
                    "targetValue": "10k",
                },
            },
            {
                "type": "Object",
                "object": {
                    "describedObject": {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "name": "main-route"},
                    "metric": {"name": "requests-per-second"},
                    "target": {"type": "Value", "value": "10k"},
                },
            },
            id="Object-value",
        ),
        pytest.param(
            {
                "type": "Object",
                "object": {"target": {"kind": "Service", "name": "svc"}, "metricName": "rps", "averageValue": "100"},
            },
            {
                "type": "Object",
                "object": {
                    "describedObject": {"kind": "Service", "name": "svc"},
                    "metric": {"name": "rps"},
                    "target": {"type": "AverageValue", "averageValue": "100"},
                },
            },
            id="Object-average-value",
        ),
        pytest.param(
            {
                "type": "External",
                "external": {"metricName": "queue_messages_ready", "metricSelector": SELECTOR, "targetValue": "30"},
            },
            {
                "type": "External",
                "external": {
                    "metric": {"name": "queue_messages_ready", "selector": SELECTOR},
                    "target": {"type": "Value", "value": "30"},
                },
            },
            id="External-value",
        ),
        pytest.param(
            {"type": "External", "external": {"metricName": "queue_messages_ready", "targetAverageValue": "30"}},
            {
                "type": "External",
                "external": {
                    "metric": {"name": "queue_messages_ready"},
                    "target": {"type": "AverageValue", "averageValue": "30"},
                },
            },
            id="External-average-value",
        ),
        pytest.param(
            {
                "type": "ContainerResource",
                "containerResource": {"name": "cpu", "container": "app", "targetAverageUtilization": 60},
            },
            {
                "type": "ContainerResource",
                "containerResource": {
                    "name": "cpu",
                    "container": "app",
                    "target": {"type": "Utilization", "averageUtilization": 60},
                },
            },
            id="ContainerResource",
        ),
    ],
)
def test_hpa_v2beta1_metrics_become_v2(v2beta1: dict[str, Any], v2: dict[str, Any]) -> None:
    spec = hpa_spec_as_v2(_hpa("autoscaling/v2beta1", [v2beta1]))
    assert spec["metrics"] == [v2]
    assert spec["minReplicas"] == 2 and spec["maxReplicas"] == 4


def test_hpa_v2beta2_passes_through_unchanged() -> None:
    metrics = [
        {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 99}}},
        {"type": "Pods", "pods": {"metric": {"name": "pps"}, "target": {"type": "AverageValue", "averageValue": "1k"}}},
    ]
    behavior = {"scaleDown": {"stabilizationWindowSeconds": 300}}
    hpa = _hpa("autoscaling/v2beta2", metrics, behavior=behavior)
    before = json.dumps(hpa, sort_keys=True)
    assert hpa_spec_as_v2(hpa) == hpa["spec"]
    assert json.dumps(hpa, sort_keys=True) == before, "the input must not be mutated"


@pytest.mark.parametrize("api", ["autoscaling/v1", "autoscaling/v2beta1", "autoscaling/v2beta2", "autoscaling/v2"])
def test_hpa_spec_as_v2_never_mutates_its_input(api: str) -> None:
    hpa = _hpa(
        api,
        [{"type": "Resource", "resource": {"name": "cpu", "targetAverageUtilization": 50}}],
        targetCPUUtilizationPercentage=80,
    )
    before = json.dumps(hpa, sort_keys=True)
    hpa_spec_as_v2(hpa)
    assert json.dumps(hpa, sort_keys=True) == before


def test_hpa_v1_cpu_percentage_becomes_a_resource_metric() -> None:
    hpa = {
        "apiVersion": "autoscaling/v1",
        "spec": {"minReplicas": 1, "maxReplicas": 3, "targetCPUUtilizationPercentage": 80},
    }
    assert hpa_spec_as_v2(hpa)["metrics"] == [
        {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}
    ]


# ====================================================================================== configs
POD_SPEC: dict[str, Any] = {
    "volumes": [
        {"name": "v1", "configMap": {"name": "cm-vol"}},
        {"name": "v2", "secret": {"secretName": "sec-vol"}},
        {
            "name": "v3",
            "projected": {
                "sources": [
                    {"configMap": {"name": "cm-proj"}},
                    {"secret": {"name": "sec-proj"}},
                    {"serviceAccountToken": {"path": "t"}},
                ]
            },
        },
        {"name": "v4", "emptyDir": {}},
    ],
    "initContainers": [{"name": "init", "envFrom": [{"configMapRef": {"name": "cm-init"}}]}],
    "containers": [
        {
            "name": "app",
            "env": [
                {"name": "A", "valueFrom": {"configMapKeyRef": {"name": "cm-env", "key": "a"}}},
                {"name": "B", "valueFrom": {"secretKeyRef": {"name": "sec-env", "key": "b"}}},
                {"name": "C", "value": "plain"},
                {"name": "D", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                {"name": "E", "valueFrom": {"configMapKeyRef": {"name": "cm-optional", "key": "e", "optional": True}}},
            ],
            "envFrom": [
                {"configMapRef": {"name": "cm-envfrom"}},
                {"secretRef": {"name": "sec-envfrom", "optional": True}},
            ],
        }
    ],
}


def test_referenced_configs_finds_every_kind_of_reference() -> None:
    refs = {(r.kind, r.name): r.optional for r in referenced_configs(POD_SPEC)}
    assert refs == {
        ("configmap", "cm-vol"): False,
        ("secret", "sec-vol"): False,
        ("configmap", "cm-proj"): False,
        ("secret", "sec-proj"): False,
        ("configmap", "cm-init"): False,
        ("configmap", "cm-env"): False,
        ("secret", "sec-env"): False,
        ("configmap", "cm-optional"): True,
        ("configmap", "cm-envfrom"): False,
        ("secret", "sec-envfrom"): True,
    }


def test_a_ref_is_optional_only_if_every_use_is_optional() -> None:
    spec = {
        "containers": [
            {"name": "a", "envFrom": [{"configMapRef": {"name": "shared", "optional": True}}]},
            {"name": "b", "envFrom": [{"configMapRef": {"name": "shared"}}]},
        ]
    }
    assert referenced_configs(spec) == [ConfigRef("configmap", "shared", False)]


def test_referenced_configs_of_an_empty_pod_spec() -> None:
    assert referenced_configs({}) == []
    assert referenced_configs({"containers": [{"name": "c", "image": "x"}]}) == []


def test_rewrite_config_refs_points_tracked_configs_at_primary_copies() -> None:
    tracked = TrackedConfigs(
        checksums=tuple(
            sorted(
                (f"{k}/{n}", "0" * 16)
                for k, n in [
                    ("configmap", "cm-vol"),
                    ("secret", "sec-vol"),
                    ("configmap", "cm-proj"),
                    ("secret", "sec-proj"),
                    ("configmap", "cm-init"),
                    ("configmap", "cm-env"),
                    ("secret", "sec-env"),
                    ("configmap", "cm-envfrom"),
                ]
            )
        ),
        configmaps=(),
        secrets=(),
    )
    original = json.dumps(POD_SPEC, sort_keys=True)
    out = rewrite_config_refs(POD_SPEC, tracked)
    assert json.dumps(POD_SPEC, sort_keys=True) == original, "the input must not be mutated"
    assert out["volumes"][0]["configMap"]["name"] == "cm-vol-primary"
    assert out["volumes"][1]["secret"]["secretName"] == "sec-vol-primary"
    assert out["volumes"][2]["projected"]["sources"][0]["configMap"]["name"] == "cm-proj-primary"
    assert out["volumes"][2]["projected"]["sources"][1]["secret"]["name"] == "sec-proj-primary"
    assert out["volumes"][2]["projected"]["sources"][2] == {"serviceAccountToken": {"path": "t"}}
    assert out["initContainers"][0]["envFrom"][0]["configMapRef"]["name"] == "cm-init-primary"
    env = out["containers"][0]["env"]
    assert env[0]["valueFrom"]["configMapKeyRef"] == {"name": "cm-env-primary", "key": "a"}
    assert env[1]["valueFrom"]["secretKeyRef"] == {"name": "sec-env-primary", "key": "b"}
    assert env[2] == {"name": "C", "value": "plain"}
    assert env[4]["valueFrom"]["configMapKeyRef"]["name"] == "cm-optional", "untracked refs keep their name"
    env_from = out["containers"][0]["envFrom"]
    assert env_from[0]["configMapRef"]["name"] == "cm-envfrom-primary"
    assert env_from[1]["secretRef"]["name"] == "sec-envfrom", "untracked refs keep their name"


def test_rewrite_config_refs_matches_kind_as_well_as_name() -> None:
    """A Secret and a ConfigMap may share a name; only the tracked kind is renamed."""
    spec = {"volumes": [{"name": "a", "configMap": {"name": "same"}}, {"name": "b", "secret": {"secretName": "same"}}]}
    tracked = TrackedConfigs((("secret/same", "0" * 16),), (), ())
    out = rewrite_config_refs(spec, tracked)
    assert out["volumes"][0]["configMap"]["name"] == "same"
    assert out["volumes"][1]["secret"]["secretName"] == "same-primary"
    assert rewrite_config_refs(spec, NO_CONFIGS) == spec


# ======================================================================================= phases
# The §2.4.5 table, row by row (engine triggers named for the reference's trigger column).
REFERENCE_MOVES = [
    (Phase.NONE, Trigger.DISCOVERED, Phase.INITIALIZING),
    (Phase.INITIALIZING, Trigger.INITIALIZED, Phase.INITIALIZED),
    (Phase.NONE, Trigger.INITIALIZED, Phase.INITIALIZED),
    (Phase.NONE, Trigger.ROLLBACK, Phase.FAILED),
    (Phase.INITIALIZING, Trigger.ROLLBACK, Phase.FAILED),
    *[(p, Trigger.GATE_CLOSED, Phase.WAITING) for p in (Phase.INITIALIZED, Phase.SUCCEEDED, Phase.FAILED)],
    *[
        (p, Trigger.REVISION_ACCEPTED, Phase.PROGRESSING)
        for p in (Phase.INITIALIZED, Phase.SUCCEEDED, Phase.FAILED, Phase.WAITING)
    ],
    *[(p, Trigger.ROLLBACK, Phase.FAILED) for p in (Phase.INITIALIZED, Phase.SUCCEEDED, Phase.FAILED, Phase.WAITING)],
    *[(p, Trigger.RESTART, Phase.PROGRESSING) for p in (Phase.PROGRESSING, Phase.WAITING_PROMOTION)],
    (Phase.PROGRESSING, Trigger.PROMOTION_GATE_CLOSED, Phase.WAITING_PROMOTION),
    *[(p, Trigger.PROMOTE, Phase.PROMOTING) for p in (Phase.PROGRESSING, Phase.WAITING_PROMOTION)],
    *[
        (p, Trigger.SKIPPED, Phase.SUCCEEDED)
        for p in (Phase.PROGRESSING, Phase.WAITING_PROMOTION, Phase.PROMOTING, Phase.FINALISING)
    ],
    *[(p, Trigger.ROLLBACK, Phase.FAILED) for p in (Phase.PROGRESSING, Phase.WAITING_PROMOTION)],
    # §2.5: canary readiness is gated on every tick past step 18, Promoting and Finalising included, and a
    # non-retriable result rolls back (the §2.4.5 table leaves this row out).
    *[(p, Trigger.ROLLBACK, Phase.FAILED) for p in (Phase.PROMOTING, Phase.FINALISING)],
    (Phase.PROMOTING, Trigger.PRIMARY_STEP, Phase.PROMOTING),
    (Phase.PROMOTING, Trigger.ALL_TO_PRIMARY, Phase.FINALISING),
    *[(p, Trigger.PROMOTION_FAILED, Phase.FAILED) for p in (Phase.PROMOTING, Phase.FINALISING)],
    (Phase.FINALISING, Trigger.SCALED_DOWN, Phase.SUCCEEDED),
]


@pytest.mark.parametrize(("frm", "trigger", "to"), REFERENCE_MOVES, ids=lambda v: getattr(v, "value", v) or "(none)")
def test_transition_allows_the_reference_moves(frm: Phase, trigger: Trigger, to: Phase) -> None:
    assert transition(frm, trigger) == to


ILLEGAL_MOVES = [
    (Phase.INITIALIZED, Trigger.PROMOTE),
    (Phase.SUCCEEDED, Trigger.PROMOTE),
    (Phase.FAILED, Trigger.SCALED_DOWN),
    (Phase.WAITING, Trigger.PROMOTE),
    (Phase.PROGRESSING, Trigger.SCALED_DOWN),
    (Phase.PROGRESSING, Trigger.ALL_TO_PRIMARY),
    (Phase.PROMOTING, Trigger.RESTART),
    (Phase.FINALISING, Trigger.RESTART),
    (Phase.SUCCEEDED, Trigger.INITIALIZED),
    (Phase.INITIALIZED, Trigger.RESTART),
    (Phase.WAITING_PROMOTION, Trigger.GATE_CLOSED),
    (Phase.INITIALIZED, Trigger.PROMOTION_FAILED),
    (Phase.TERMINATED, Trigger.REVISION_ACCEPTED),
]


@pytest.mark.parametrize(("frm", "trigger"), ILLEGAL_MOVES, ids=lambda v: getattr(v, "value", v) or "(none)")
def test_transition_rejects_illegal_moves(frm: Phase, trigger: Trigger) -> None:
    with pytest.raises(IllegalTransition):
        transition(frm, trigger)


def test_transition_table_has_nothing_beyond_the_reference() -> None:
    """Every entry of TRANSITIONS is a §2.4.5 move (or discovery from any phase, or WaitingPromotion staying put)."""
    allowed = {(f, t): to for f, t, to in REFERENCE_MOVES}
    extra = {
        (f, t): to
        for (f, t), to in TRANSITIONS.items()
        if allowed.get((f, t)) != to
        and t != Trigger.DISCOVERED
        and (f, t) != (Phase.WAITING_PROMOTION, Trigger.PROMOTION_GATE_CLOSED)
        and t != Trigger.PROMOTION_LOST  # cronary's recovery from a lost primary write, tested in test_crash_safety
    }
    assert not extra
    assert all(to == Phase.INITIALIZING for (f, t), to in TRANSITIONS.items() if t == Trigger.DISCOVERED)


@pytest.mark.parametrize(
    ("phase", "status", "message"),
    [
        (Phase.INITIALIZING, "Unknown", "New Deployment detected, starting initialization."),
        (Phase.INITIALIZED, "True", "Deployment initialization completed."),
        (Phase.WAITING, "Unknown", "Waiting for approval."),
        (Phase.WAITING_PROMOTION, "Unknown", "Waiting for approval."),
        (Phase.PROGRESSING, "Unknown", "New revision detected, progressing canary analysis."),
        (Phase.PROMOTING, "Unknown", "Canary analysis completed, starting primary rolling update."),
        (Phase.FINALISING, "Unknown", "Canary analysis completed, routing all traffic to primary."),
        (Phase.SUCCEEDED, "True", "Canary analysis completed successfully, promotion finished."),
        (Phase.FAILED, "False", "Canary analysis failed, Deployment scaled to zero."),
        (Phase.TERMINATING, "Unknown", "New Deployment detected, starting initialization."),
    ],
    ids=lambda v: getattr(v, "value", None) or (v if isinstance(v, str) and len(v) < 12 else "msg"),
)
def test_promoted_condition_per_phase(phase: Phase, status: str, message: str) -> None:
    assert promoted_condition(phase, "Deployment") == (status, phase.value, message)


def test_promoted_condition_names_the_kind() -> None:
    assert promoted_condition(Phase.FAILED, "DaemonSet")[2] == "Canary analysis failed, DaemonSet scaled to zero."
    assert promoted_condition(Phase.INITIALIZED, "Service")[2] == "Service initialization completed."
    assert set(CONDITIONS) >= {p for p in Phase if p not in (Phase.NONE, Phase.TERMINATING, Phase.TERMINATED)}


@pytest.mark.parametrize(
    ("hook_type", "gate", "side_effects"),
    [
        (HookType.CONFIRM_ROLLOUT, True, False),
        (HookType.CONFIRM_TRAFFIC_INCREASE, True, False),
        (HookType.CONFIRM_PROMOTION, True, False),
        (HookType.PRE_ROLLOUT, False, True),
        (HookType.ROLLOUT, False, True),
        (HookType.POST_ROLLOUT, False, True),
        (HookType.ROLLBACK, False, False),
        (HookType.EVENT, False, False),
    ],
    ids=lambda v: getattr(v, "value", v),
)
def test_a_hook_type_knows_whether_it_is_a_gate_or_an_action(
    hook_type: HookType, gate: bool, side_effects: bool
) -> None:
    assert (hook_type.is_gate, hook_type.has_side_effects) == (gate, side_effects)
