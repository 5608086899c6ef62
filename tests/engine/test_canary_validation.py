"""`engine.canary_spec.parse_canary`: Flagger's defaults, rejections that name the field, and agreement with the
Flagger CRD schemas (a Canary the CRD rejects, cronary rejects too; cronary may be stricter, never looser)."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from engine.canary_spec import parse_canary
from engine.errors import SpecError
from engine.hooks import HookType
from engine.render.services import render_services
from engine.routers.factory import resolve_provider
from engine.routers.smi import SmiTrafficSplit
from harness.schemas import SEED, canary_crd, crd_errors, load_yaml, load_yaml_all

SEED_CANARY = load_yaml(SEED / "podinfo-canary.yaml")
SEED_TARGET = next(o for o in load_yaml_all(SEED / "cluster.yaml") if o["kind"] == "Deployment")


def v1beta1(**analysis: Any) -> dict[str, Any]:
    """A minimal valid v1beta1 Canary; `analysis` keys replace the defaults (None deletes one)."""
    doc = {
        "apiVersion": "flagger.app/v1beta1",
        "kind": "Canary",
        "metadata": {"name": "podinfo", "namespace": "test"},
        "spec": {
            "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "podinfo"},
            "service": {"port": 9898},
            "analysis": {"interval": "1m", "threshold": 5, "stepWeight": 10},
        },
    }
    for key, value in analysis.items():
        if value is None:
            doc["spec"]["analysis"].pop(key, None)
        else:
            doc["spec"]["analysis"][key] = value
    return doc


def v1alpha3(**analysis: Any) -> dict[str, Any]:
    doc = v1beta1(**analysis)
    doc["apiVersion"] = "flagger.app/v1alpha3"
    doc["spec"]["canaryAnalysis"] = doc["spec"].pop("analysis")
    return doc


def edit(doc: dict[str, Any], fn: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    fn(doc)
    return doc


def seed_v1beta1() -> dict[str, Any]:
    doc = copy.deepcopy(SEED_CANARY)
    doc["apiVersion"] = "flagger.app/v1beta1"
    doc["spec"]["analysis"] = doc["spec"].pop("canaryAnalysis")
    return doc


# ---------------------------------------------------------------------------------------------- defaults
def _analysis(doc: Mapping[str, Any]) -> Any:
    return parse_canary(doc).spec.analysis


DEFAULTS: list[tuple[str, dict[str, Any], Callable[[Any], Any], Any]] = [
    (
        "interval-absent-is-60s",
        v1alpha3(interval=None),
        lambda c: (c.spec.analysis.interval, c.spec.analysis.interval_seconds),
        ("60s", 60.0),
    ),
    ("interval-5s-raised-to-10s", v1beta1(interval="5s"), lambda c: c.spec.analysis.interval_seconds, 10.0),
    ("interval-10s-kept", v1beta1(interval="10s"), lambda c: c.spec.analysis.interval_seconds, 10.0),
    ("interval-1m30s", v1beta1(interval="1m30s"), lambda c: c.spec.analysis.interval_seconds, 90.0),
    ("threshold-0-is-1", v1beta1(threshold=0), lambda c: c.spec.analysis.threshold, 1),
    ("threshold-negative-is-1", v1beta1(threshold=-3), lambda c: c.spec.analysis.threshold, 1),
    ("threshold-absent-v1alpha3-is-1", v1alpha3(threshold=None), lambda c: c.spec.analysis.threshold, 1),
    ("threshold-5-kept", v1beta1(threshold=5), lambda c: c.spec.analysis.threshold, 5),
    ("maxWeight-absent-is-100", v1beta1(), lambda c: c.spec.analysis.max_weight, 100),
    ("maxWeight-50", v1beta1(maxWeight=50), lambda c: c.spec.analysis.max_weight, 50),
    (
        "maxWeight-from-last-stepWeights",
        v1beta1(stepWeight=None, stepWeights=[5, 25, 50]),
        lambda c: c.spec.analysis.max_weight,
        50,
    ),
    (
        "stepWeights-win-over-maxWeight",
        v1beta1(stepWeight=None, stepWeights=[10, 20], maxWeight=80),
        lambda c: c.spec.analysis.max_weight,
        20,
    ),
    (
        "stepWeights-kept-in-order",
        v1beta1(stepWeight=None, stepWeights=[1, 2, 100]),
        lambda c: c.spec.analysis.step_weights,
        (1, 2, 100),
    ),
    ("stepWeightPromotion-absent-is-0", v1beta1(), lambda c: c.spec.analysis.step_weight_promotion, 0),
    ("stepWeightPromotion-20", v1beta1(stepWeightPromotion=20), lambda c: c.spec.analysis.step_weight_promotion, 20),
    ("progressDeadlineSeconds-absent-is-600", v1beta1(), lambda c: c.spec.progress_deadline_seconds, 600),
    ("progressDeadlineSeconds-60", SEED_CANARY, lambda c: c.spec.progress_deadline_seconds, 60),
    ("portName-absent-is-http", v1beta1(), lambda c: c.spec.service.port_name, "http"),
    ("skipAnalysis-absent-is-false", v1beta1(), lambda c: c.spec.skip_analysis, False),
    (
        "namespace-absent-is-default",
        edit(v1beta1(), lambda d: d["metadata"].pop("namespace")),
        lambda c: c.namespace,
        "default",
    ),
    ("apex-is-target-name", v1beta1(), lambda c: c.spec.apex_name, "podinfo"),
    (
        "apex-is-service-name",
        edit(v1beta1(), lambda d: d["spec"]["service"].update(name="web")),
        lambda c: c.spec.apex_name,
        "web",
    ),
    (
        "ready-thresholds-100",
        v1beta1(),
        lambda c: (c.spec.analysis.primary_ready_threshold, c.spec.analysis.canary_ready_threshold),
        (100, 100),
    ),
    (
        "metric-interval-absent-is-1m",
        v1beta1(metrics=[{"name": "request-success-rate", "threshold": 99}]),
        lambda c: c.spec.analysis.metrics[0].interval,
        "1m",
    ),
    (
        "metric-interval-30s-kept",
        v1beta1(metrics=[{"name": "request-duration", "threshold": 500, "interval": "30s"}]),
        lambda c: c.spec.analysis.metrics[0].interval,
        "30s",
    ),
    (
        "webhook-timeout-absent-is-10s",
        v1beta1(webhooks=[{"name": "load-test", "url": "http://flagger-loadtester.test/"}]),
        lambda c: (c.spec.analysis.webhooks[0].timeout, c.spec.analysis.webhooks[0].timeout_seconds),
        ("10s", 10.0),
    ),
    (
        "webhook-timeout-one-char-is-10s",
        v1beta1(webhooks=[{"name": "load-test", "url": "http://flagger-loadtester.test/", "timeout": "5"}]),
        lambda c: (c.spec.analysis.webhooks[0].timeout, c.spec.analysis.webhooks[0].timeout_seconds),
        ("10s", 10.0),
    ),
    (
        "webhook-timeout-empty-is-10s",
        v1beta1(webhooks=[{"name": "load-test", "url": "http://flagger-loadtester.test/", "timeout": ""}]),
        lambda c: c.spec.analysis.webhooks[0].timeout,
        "10s",
    ),
    (
        "webhook-timeout-two-chars-kept",
        v1beta1(webhooks=[{"name": "load-test", "url": "http://flagger-loadtester.test/", "timeout": "5s"}]),
        lambda c: (c.spec.analysis.webhooks[0].timeout, c.spec.analysis.webhooks[0].timeout_seconds),
        ("5s", 5.0),
    ),
    (
        "webhook-type-empty-is-rollout",
        v1beta1(webhooks=[{"name": "load-test", "url": "http://flagger-loadtester.test/", "type": ""}]),
        lambda c: c.spec.analysis.webhooks[0].type,
        HookType.ROLLOUT,
    ),
    (
        "webhook-type-absent-is-rollout",
        v1beta1(webhooks=[{"name": "load-test", "url": "http://flagger-loadtester.test/"}]),
        lambda c: c.spec.analysis.webhooks[0].type,
        HookType.ROLLOUT,
    ),
]


@pytest.mark.parametrize("doc,get,expected", [pytest.param(d, g, e, id=i) for i, d, g, e in DEFAULTS])
def test_defaults(doc: dict[str, Any], get: Callable[[Any], Any], expected: Any) -> None:
    assert get(parse_canary(copy.deepcopy(doc))) == expected


@pytest.mark.parametrize(
    "service,expected_target",
    [
        pytest.param({"port": 9898}, 9898, id="targetPort-absent-is-port"),
        pytest.param({"port": 80, "targetPort": 9898}, 9898, id="targetPort-number"),
        pytest.param({"port": 80, "targetPort": "http"}, "http", id="targetPort-name"),
        pytest.param({"port": 80, "targetPort": "9898"}, 9898, id="targetPort-numeric-string"),
    ],
)
def test_target_port(service: dict[str, Any], expected_target: Any) -> None:
    doc = edit(v1beta1(), lambda d: d["spec"].update(service=service))
    canary = parse_canary(doc)
    rendered = render_services(canary, SEED_TARGET["spec"]["template"], label="app", value="podinfo")
    for svc in rendered.values():
        assert svc["spec"]["ports"][0]["port"] == service["port"]
        assert svc["spec"]["ports"][0]["targetPort"] == expected_target
        assert svc["spec"]["ports"][0]["name"] == "http"


def test_seed_parses_as_the_guide_means_it() -> None:
    canary = parse_canary(copy.deepcopy(SEED_CANARY))
    a = canary.spec.analysis
    assert (a.interval_seconds, a.threshold, a.max_weight, a.step_weight) == (10.0, 5, 50, 10)
    assert [(m.name, m.interval, m.threshold) for m in a.metrics] == [
        ("request-success-rate", "1m", 99.0),
        ("request-duration", "30s", 500.0),
    ]
    assert [(h.name, h.type, h.timeout_seconds) for h in a.webhooks] == [("load-test", HookType.ROLLOUT, 5.0)]
    assert canary.spec.provider is None and canary.spec.autoscaler_ref is not None


@pytest.mark.parametrize(
    "alpha,beta",
    [
        pytest.param(SEED_CANARY, seed_v1beta1(), id="seed"),
        pytest.param(v1alpha3(), v1beta1(), id="minimal"),
        pytest.param(
            v1alpha3(
                stepWeight=None,
                stepWeights=[5, 10, 40],
                stepWeightPromotion=50,
                interval="5s",
                threshold=0,
                webhooks=[
                    {
                        "name": "gate",
                        "type": "confirm-rollout",
                        "url": "https://gate.example.com/approve",
                        "timeout": "1",
                    }
                ],
                metrics=[{"name": "errors", "query": "sum(rate(x[1m]))", "thresholdRange": {"max": 1}}],
            ),
            v1beta1(
                stepWeight=None,
                stepWeights=[5, 10, 40],
                stepWeightPromotion=50,
                interval="5s",
                threshold=0,
                webhooks=[
                    {
                        "name": "gate",
                        "type": "confirm-rollout",
                        "url": "https://gate.example.com/approve",
                        "timeout": "1",
                    }
                ],
                metrics=[{"name": "errors", "query": "sum(rate(x[1m]))", "thresholdRange": {"max": 1}}],
            ),
            id="stepWeights-hooks-custom-metric",
        ),
    ],
)
def test_both_api_versions_parse_to_equal_values(alpha: dict[str, Any], beta: dict[str, Any]) -> None:
    a, b = parse_canary(copy.deepcopy(alpha)), parse_canary(copy.deepcopy(beta))
    assert (a.api_version, b.api_version) == ("flagger.app/v1alpha3", "flagger.app/v1beta1")
    assert a.spec == b.spec
    assert (a.name, a.namespace, a.uid, a.status) == (b.name, b.namespace, b.uid, b.status)


# ---------------------------------------------------------------------------------------------- rejections
def _drop(*path: str) -> Callable[[dict[str, Any]], None]:
    def fn(doc: dict[str, Any]) -> None:
        node = doc
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]

    return fn


def _set(value: Any, *path: Any) -> Callable[[dict[str, Any]], None]:
    def fn(doc: dict[str, Any]) -> None:
        node = doc
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return fn


HOOK = {"name": "load-test", "url": "http://flagger-loadtester.test/", "timeout": "5s"}

# (id, document, exact field path, exact message or None, message fragment)
REJECTIONS: list[tuple[str, dict[str, Any], str, str | None, str]] = [
    ("stepWeight-150", v1beta1(stepWeight=150), "spec.analysis.stepWeight", "must be 1..100, got 150", ""),
    (
        "stepWeight-150-v1alpha3",
        v1alpha3(stepWeight=150),
        "spec.canaryAnalysis.stepWeight",
        "must be 1..100, got 150",
        "",
    ),
    ("stepWeight-0", v1beta1(stepWeight=0), "spec.analysis.stepWeight", "must be 1..100, got 0", ""),
    (
        "stepWeights-101",
        v1beta1(stepWeight=None, stepWeights=[50, 101]),
        "spec.analysis.stepWeights[1]",
        "must be 1..100, got 101",
        "",
    ),
    (
        "stepWeights-not-increasing",
        v1beta1(stepWeight=None, stepWeights=[20, 10]),
        "spec.analysis.stepWeights[1]",
        None,
        "greater than",
    ),
    ("maxWeight-120", v1beta1(maxWeight=120), "spec.analysis.maxWeight", "must be 1..100, got 120", ""),
    ("missing-targetRef", edit(v1beta1(), _drop("spec", "targetRef")), "spec.targetRef", "required", ""),
    (
        "missing-targetRef-name",
        edit(v1beta1(), _drop("spec", "targetRef", "name")),
        "spec.targetRef.name",
        "required",
        "",
    ),
    (
        "targetRef-kind-StatefulSet",
        edit(v1beta1(), _set("StatefulSet", "spec", "targetRef", "kind")),
        "spec.targetRef.kind",
        None,
        "StatefulSet",
    ),
    ("missing-service", edit(v1beta1(), _drop("spec", "service")), "spec.service", "required", ""),
    ("missing-port", edit(v1beta1(), _drop("spec", "service", "port")), "spec.service.port", "required", ""),
    ("port-non-numeric", edit(v1beta1(), _set("http", "spec", "service", "port")), "spec.service.port", None, "'http'"),
    ("port-70000", edit(v1beta1(), _set(70000, "spec", "service", "port")), "spec.service.port", None, "70000"),
    ("port-fractional", edit(v1beta1(), _set(80.5, "spec", "service", "port")), "spec.service.port", None, "80.5"),
    (
        "stepWeight-and-iterations",
        v1beta1(iterations=10),
        "spec.analysis",
        None,
        "exactly one of iterations, stepWeight, stepWeights",
    ),
    (
        "stepWeight-and-stepWeights",
        v1beta1(stepWeights=[10, 20]),
        "spec.analysis",
        None,
        "exactly one of iterations, stepWeight, stepWeights",
    ),
    (
        "none-of-stepWeight-stepWeights-iterations",
        v1beta1(stepWeight=None),
        "spec.analysis",
        None,
        "exactly one of iterations, stepWeight, stepWeights",
    ),
    (
        "none-of-them-v1alpha3",
        v1alpha3(stepWeight=None),
        "spec.canaryAnalysis",
        None,
        "exactly one of iterations, stepWeight, stepWeights",
    ),
    ("v1beta1-missing-interval", v1beta1(interval=None), "spec.analysis.interval", "required", ""),
    ("v1beta1-missing-threshold", v1beta1(threshold=None), "spec.analysis.threshold", "required", ""),
    ("v1beta1-missing-analysis", edit(v1beta1(), _drop("spec", "analysis")), "spec.analysis", "required", ""),
    (
        "v1beta1-canaryAnalysis-only",
        edit(v1alpha3(), _set("flagger.app/v1beta1", "apiVersion")),
        "spec.analysis",
        "required",
        "",
    ),
    (
        "v1alpha3-missing-canaryAnalysis",
        edit(v1alpha3(), _drop("spec", "canaryAnalysis")),
        "spec.canaryAnalysis",
        "required",
        "",
    ),
    ("interval-no-unit", v1beta1(interval="10"), "spec.analysis.interval", None, "^[0-9]+(m|s)"),
    ("interval-hours", v1beta1(interval="1h"), "spec.analysis.interval", None, "'1h'"),
    ("interval-words", v1beta1(interval="ten seconds"), "spec.analysis.interval", None, "'ten seconds'"),
    ("interval-trailing-garbage", v1beta1(interval="10sx"), "spec.analysis.interval", None, "'10sx'"),
    ("interval-number", v1beta1(interval=10), "spec.analysis.interval", None, "10"),
    (
        "metric-interval-bad",
        v1beta1(metrics=[{"name": "request-success-rate", "threshold": 99, "interval": "1 minute"}]),
        "spec.analysis.metrics[0].interval",
        None,
        "'1 minute'",
    ),
    ("threshold-string", v1beta1(threshold="five"), "spec.analysis.threshold", None, "'five'"),
    (
        "webhook-type-unknown",
        v1beta1(webhooks=[{**HOOK, "type": "pre-promotion"}]),
        "spec.analysis.webhooks[0].type",
        None,
        "'pre-promotion'",
    ),
    (
        "webhook-url-no-scheme",
        v1beta1(webhooks=[{**HOOK, "url": "flagger-loadtester.test/"}]),
        "spec.analysis.webhooks[0].url",
        None,
        "got (invalid URL)",
    ),  # a refused URL is never repeated
    (
        "webhook-url-ftp",
        v1beta1(webhooks=[{**HOOK, "url": "ftp://loadtester.test/"}]),
        "spec.analysis.webhooks[0].url",
        None,
        "ftp://",
    ),
    (
        "webhook-url-no-host",
        v1beta1(webhooks=[{**HOOK, "url": "http:///run"}]),
        "spec.analysis.webhooks[0].url",
        None,
        "got (invalid URL)",
    ),
    ("webhook-missing-url", v1beta1(webhooks=[{"name": "load-test"}]), "spec.analysis.webhooks[0].url", "required", ""),
    (
        "webhook-missing-name",
        v1beta1(webhooks=[{"url": "http://x.test/"}]),
        "spec.analysis.webhooks[0].name",
        "required",
        "",
    ),
    (
        "webhook-timeout-no-unit",
        v1beta1(webhooks=[{**HOOK, "timeout": "10"}]),
        "spec.analysis.webhooks[0].timeout",
        None,
        "'10'",
    ),
    ("webhook-duplicate-names", v1beta1(webhooks=[HOOK, HOOK]), "spec.analysis.webhooks[1].name", None, "duplicate"),
    (
        "metric-duplicate-names",
        v1beta1(
            metrics=[
                {"name": "request-success-rate", "threshold": 99},
                {"name": "request-success-rate", "threshold": 98},
            ]
        ),
        "spec.analysis.metrics[1].name",
        "duplicate metric name 'request-success-rate'",
        "",
    ),
    (
        "metric-custom-without-query-or-templateRef",
        v1beta1(metrics=[{"name": "error-rate", "threshold": 1}]),
        "spec.analysis.metrics[0]",
        None,
        "neither query nor templateRef",
    ),
    (
        "metric-without-threshold",
        v1beta1(metrics=[{"name": "request-success-rate"}]),
        "spec.analysis.metrics[0]",
        None,
        "threshold",
    ),
    (
        "metric-missing-name",
        v1beta1(metrics=[{"threshold": 1, "query": "up"}]),
        "spec.analysis.metrics[0].name",
        "required",
        "",
    ),
    (
        "metric-thresholdRange-min-above-max",
        v1beta1(metrics=[{"name": "x", "query": "up", "thresholdRange": {"min": 5, "max": 1}}]),
        "spec.analysis.metrics[0].thresholdRange",
        None,
        "above",
    ),
    (
        "alert-severity-unknown",
        v1beta1(alerts=[{"name": "on-call", "severity": "critical", "providerRef": {"name": "slack"}}]),
        "spec.analysis.alerts[0].severity",
        None,
        "'critical'",
    ),
    (
        "alert-missing-providerRef",
        v1beta1(alerts=[{"name": "on-call"}]),
        "spec.analysis.alerts[0].providerRef",
        None,
        "",
    ),
    (
        "autoscalerRef-ScaledObject",
        edit(
            v1beta1(),
            _set(
                {"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "name": "podinfo"}, "spec", "autoscalerRef"
            ),
        ),
        "spec.autoscalerRef.kind",
        None,
        "ScaledObject",
    ),
    ("skipAnalysis-string", edit(v1beta1(), _set("yes", "spec", "skipAnalysis")), "spec.skipAnalysis", None, "'yes'"),
    ("apiVersion-unknown", edit(v1beta1(), _set("flagger.app/v1", "apiVersion")), "apiVersion", None, "flagger.app/v1"),
    ("kind-not-Canary", edit(v1beta1(), _set("Rollout", "kind")), "kind", None, "Rollout"),
    ("name-not-dns", edit(v1beta1(), _set("PodInfo", "metadata", "name")), "metadata.name", None, "PodInfo"),
    (
        "generated-name-too-long",
        edit(v1beta1(), _set("a" * 60, "spec", "targetRef", "name")),
        "spec.targetRef.name",
        None,
        "longer than 63",
    ),
    # A Service port name is a DNS-1123 label and a named targetPort an IANA_SVC_NAME (at most 15 characters):
    # the API server rejects the generated Services otherwise.
    (
        "portName-not-dns-label",
        edit(v1beta1(), _set("HTTP_web", "spec", "service", "portName")),
        "spec.service.portName",
        None,
        "HTTP_web",
    ),
    (
        "targetPort-name-over-15-chars",
        edit(v1beta1(), _set("http-metrics-long", "spec", "service", "targetPort")),
        "spec.service.targetPort",
        None,
        "http-metrics-long",
    ),
    (
        "iterations-unsupported",
        v1beta1(stepWeight=None, iterations=10),
        "spec.analysis.iterations",
        None,
        "not supported",
    ),
]


@pytest.mark.parametrize("doc,path,message,fragment", [pytest.param(d, p, m, f, id=i) for i, d, p, m, f in REJECTIONS])
def test_rejections_name_the_field(doc: dict[str, Any], path: str, message: str | None, fragment: str) -> None:
    with pytest.raises(SpecError) as caught:
        parse_canary(copy.deepcopy(doc))
    err = caught.value
    assert err.path == path, f"{err}"
    if message is not None:
        assert err.message == message
        assert str(err) == f"{path}: {message}"
    assert fragment in err.message
    assert "\n" not in str(err)


def test_stepweight_150_message_is_the_documented_one() -> None:
    # DESIGN.md: `podinfo-canary.yaml: spec.analysis.stepWeight: must be 1..100, got 150`
    with pytest.raises(SpecError) as caught:
        parse_canary(v1beta1(stepWeight=150))
    assert str(caught.value) == "spec.analysis.stepWeight: must be 1..100, got 150"


@pytest.mark.parametrize(
    "spec_provider,flag,path,fragment",
    [
        pytest.param("consul", None, "spec.provider", "unknown provider 'consul'", id="spec-unknown"),
        pytest.param(None, "consul", "--mesh-provider", "unknown provider 'consul'", id="flag-unknown"),
        pytest.param(
            "smi:v1alpha9",
            "smi:istio",
            "spec.provider",
            "unknown provider 'smi:v1alpha9'",
            id="spec-unknown-wins-over-flag",
        ),
        pytest.param(
            "istio", None, "spec.provider", "not supported by cronary yet", id="spec-known-to-flagger-not-routed"
        ),
        pytest.param(None, None, "spec.provider", "no --mesh-provider", id="none-at-all"),
    ],
)
def test_unknown_provider(spec_provider: str | None, flag: str | None, path: str, fragment: str) -> None:
    with pytest.raises(SpecError) as caught:
        resolve_provider(spec_provider, flag)
    assert caught.value.path == path
    assert fragment in caught.value.message


@pytest.mark.parametrize(
    "name,version,mesh",
    [
        ("smi:istio", "v1alpha1", "istio"),
        ("smi:linkerd", "v1alpha1", "linkerd"),
        ("linkerd", "v1alpha1", "linkerd"),
        ("osm", "v1alpha2", "osm"),
        ("smi:v1alpha1", "v1alpha1", ""),
        ("smi:v1alpha1:istio", "v1alpha1", "istio"),
        ("smi:v1alpha2", "v1alpha2", ""),
        ("smi:v1alpha3:linkerd", "v1alpha3", "linkerd"),
    ],
)
def test_known_providers(name: str, version: str, mesh: str) -> None:
    provider = resolve_provider(name, None)
    assert provider.router == SmiTrafficSplit(version, mesh)
    assert resolve_provider(None, name) == provider


# ---------------------------------------------------------------------------------------------- agreement with the CRDs
def _cronary_rejects(doc: Mapping[str, Any]) -> str | None:
    """What `cronary validate` does: parse, and resolve a provider the spec names."""
    try:
        canary = parse_canary(copy.deepcopy(dict(doc)))
        if canary.spec.provider:
            resolve_provider(canary.spec.provider, None)
    except SpecError as err:
        return str(err)
    return None


B = seed_v1beta1()
A = copy.deepcopy(SEED_CANARY)

# (id, document, does the Flagger CRD accept it)
CORPUS: list[tuple[str, dict[str, Any], bool]] = [
    ("v1alpha3-seed", A, True),
    ("v1beta1-seed", B, True),
    (
        "v1beta1-stepWeights",
        edit(
            B,
            lambda d: (d["spec"]["analysis"].pop("stepWeight"), d["spec"]["analysis"].update(stepWeights=[10, 20, 50])),
        ),
        True,
    ),
    ("v1beta1-provider-smi-v1alpha3", edit(B, _set("smi:v1alpha3", "spec", "provider")), True),
    ("v1beta1-targetPort-name", edit(B, _set("http", "spec", "service", "targetPort")), True),
    ("v1beta1-missing-analysis", edit(B, _drop("spec", "analysis")), False),
    ("v1beta1-canaryAnalysis-instead-of-analysis", edit(A, _set("flagger.app/v1beta1", "apiVersion")), False),
    ("v1beta1-missing-targetRef", edit(B, _drop("spec", "targetRef")), False),
    ("v1beta1-targetRef-missing-kind", edit(B, _drop("spec", "targetRef", "kind")), False),
    ("v1beta1-targetRef-kind-StatefulSet", edit(B, _set("StatefulSet", "spec", "targetRef", "kind")), False),
    ("v1beta1-port-string", edit(B, _set("http", "spec", "service", "port")), False),
    ("v1beta1-service-without-port", edit(B, _drop("spec", "service", "port")), False),
    ("v1beta1-targetPort-fractional", edit(B, _set(1.5, "spec", "service", "targetPort")), False),
    ("v1beta1-stepWeight-and-iterations", edit(B, _set(10, "spec", "analysis", "iterations")), False),
    ("v1beta1-no-step-field", edit(B, _drop("spec", "analysis", "stepWeight")), False),
    ("v1beta1-missing-interval", edit(B, _drop("spec", "analysis", "interval")), False),
    ("v1beta1-missing-threshold", edit(B, _drop("spec", "analysis", "threshold")), False),
    ("v1beta1-interval-1h", edit(B, _set("1h", "spec", "analysis", "interval")), False),
    ("v1beta1-threshold-string", edit(B, _set("5", "spec", "analysis", "threshold")), False),
    (
        "v1beta1-stepWeights-strings",
        edit(
            B,
            lambda d: (d["spec"]["analysis"].pop("stepWeight"), d["spec"]["analysis"].update(stepWeights=["10", "20"])),
        ),
        False,
    ),
    ("v1beta1-webhook-type-unknown", edit(B, _set("pre-promotion", "spec", "analysis", "webhooks", 0, "type")), False),
    ("v1beta1-webhook-missing-url", edit(B, _drop("spec", "analysis", "webhooks", 0, "url")), False),
    ("v1beta1-webhook-timeout-no-unit", edit(B, _set("10", "spec", "analysis", "webhooks", 0, "timeout")), False),
    ("v1beta1-metric-missing-name", edit(B, _drop("spec", "analysis", "metrics", 0, "name")), False),
    ("v1beta1-metric-interval-bad", edit(B, _set("5 minutes", "spec", "analysis", "metrics", 0, "interval")), False),
    (
        "v1beta1-metric-templateRef-without-name",
        edit(B, _set({"namespace": "flagger"}, "spec", "analysis", "metrics", 0, "templateRef")),
        False,
    ),
    (
        "v1beta1-alert-severity-critical",
        edit(
            B,
            _set(
                [{"name": "a", "severity": "critical", "providerRef": {"name": "slack"}}], "spec", "analysis", "alerts"
            ),
        ),
        False,
    ),
    ("v1beta1-alert-without-providerRef", edit(B, _set([{"name": "a"}], "spec", "analysis", "alerts")), False),
    ("v1beta1-skipAnalysis-string", edit(B, _set("true", "spec", "skipAnalysis")), False),
    ("v1beta1-provider-consul", edit(B, _set("consul", "spec", "provider")), False),
    # Fields cronary does not act on still have to be valid for the CRD.
    (
        "v1beta1-sessionAffinity-without-cookieName",
        edit(B, _set({"maxAge": 60}, "spec", "analysis", "sessionAffinity")),
        False,
    ),
    (
        "v1beta1-match-header-without-matcher",
        edit(B, _set([{"headers": {"x-canary": {}}}], "spec", "analysis", "match")),
        False,
    ),
    ("v1beta1-match-empty-list", edit(B, _set([], "spec", "analysis", "match")), True),
    (
        "v1beta1-match-header-exact",
        edit(B, _set([{"headers": {"x-canary": {"exact": "insider"}}}], "spec", "analysis", "match")),
        True,
    ),
    ("v1beta1-match-empty-map", edit(B, _set({}, "spec", "analysis", "match")), False),
    ("v1beta1-match-empty-string", edit(B, _set("", "spec", "analysis", "match")), False),
    ("v1beta1-match-headers-string", edit(B, _set([{"headers": "x-canary"}], "spec", "analysis", "match")), False),
    ("v1beta1-match-queryParams-list", edit(B, _set([{"queryParams": ["q"]}], "spec", "analysis", "match")), False),
    (
        "v1beta1-match-header-exact-number",
        edit(B, _set([{"headers": {"x-canary": {"exact": 5}}}], "spec", "analysis", "match")),
        False,
    ),
    (
        "v1beta1-primaryScalerReplicas-min-0",
        edit(B, _set({"minReplicas": 0}, "spec", "autoscalerRef", "primaryScalerReplicas")),
        False,
    ),
    ("v1beta1-trafficDistribution-unknown", edit(B, _set("Random", "spec", "service", "trafficDistribution")), False),
    ("v1alpha3-missing-service", edit(A, _drop("spec", "service")), False),
    ("v1alpha3-missing-canaryAnalysis", edit(A, _drop("spec", "canaryAnalysis")), False),
    ("v1alpha3-stepWeight-string", edit(A, _set("10", "spec", "canaryAnalysis", "stepWeight")), False),
    ("v1alpha3-interval-bad", edit(A, _set("ten", "spec", "canaryAnalysis", "interval")), False),
    ("v1alpha3-targetRef-missing-apiVersion", edit(A, _drop("spec", "targetRef", "apiVersion")), False),
    ("v1alpha3-port-string", edit(A, _set("9898", "spec", "service", "port")), False),
]


@pytest.mark.parametrize("doc,crd_accepts", [pytest.param(d, ok, id=i) for i, d, ok in CORPUS])
def test_crd_verdict_is_what_the_corpus_says(doc: dict[str, Any], crd_accepts: bool) -> None:
    """Checks the harness: the CRD schema (via jsonschema) accepts or rejects each corpus document as labelled."""
    errors = crd_errors(canary_crd(doc["apiVersion"]), doc)
    assert (not errors) == crd_accepts, errors


@pytest.mark.parametrize("doc", [pytest.param(d, id=i) for i, d, _ in CORPUS])
def test_cronary_is_never_looser_than_the_crd(doc: dict[str, Any]) -> None:
    errors = crd_errors(canary_crd(doc["apiVersion"]), doc)
    rejected = _cronary_rejects(doc)
    if errors:
        assert rejected is not None, f"the Flagger CRD rejects it ({errors[0]}) but cronary accepts it"


def test_smi_istio_provider_is_accepted_on_purpose() -> None:
    """Flagger v1.43.0+ restricts spec.provider to an enum without smi:istio (flagger-objects.md §1.2, §7.2 item 8).
    cronary accepts it deliberately: it is the seed guide's provider (docs/differences-from-flagger.md)."""
    doc = edit(B, _set("smi:istio", "spec", "provider"))
    assert crd_errors(canary_crd(doc["apiVersion"]), doc)
    assert _cronary_rejects(doc) is None


@pytest.mark.parametrize("doc", [pytest.param(d, id=i) for i, d, ok in CORPUS if ok])
def test_crd_valid_corpus_documents_parse(doc: dict[str, Any]) -> None:
    assert _cronary_rejects(doc) is None
