"""Metric checks against a real Prometheus (Debian's 2.42, started by the harness on loopback with backfilled
data): the seed rollout, every failure rule, MetricTemplates with basic auth, and fleet aggregation."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cronjob.cli import main
from cronjob.local.inputs import build_cluster, cluster_objects, read_scenario
from cronjob.local.simulation import SimulatedCluster, Simulation
from cronjob.shared.prometheus import PrometheusMetrics
from cronjob.shared.yamlio import dump_yaml_stream, load_single
from engine import HookResult, MetricRequest, Settings
from engine.analysis import NO_VALUES, MetricTemplateSpec, Templates, parse_metric_template
from engine.analysis.render import provider_check
from engine.canary_spec import parse_canary
from engine.model import MetricSpec, TemplateRef
from engine.routers.factory import resolve_provider
from engine.status_doc import canary_manifest
from engine.tick import metric_request
from harness.prometheus import failing, healthy, idle

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "fixtures" / "seed"
CANARY = SEED / "podinfo-canary.yaml"
CLUSTER = SEED / "cluster.yaml"
HEALTHY_SCENARIO = SEED / "scenario-healthy.yaml"
ISTIO = resolve_provider("smi:istio", None)

SR_60 = "Halt podinfo.test advancement success rate 60.00% < 99%"
NO_DATA_SR = "Halt advancement no values found for istio metric request-success-rate probably podinfo.test is not receiving traffic: no values found"


def simulate(prometheus_url: str, *extra: str, canary: Path = CANARY, cluster: Path = CLUSTER) -> list[dict[str, Any]]:
    args = ["simulate", str(canary), "--cluster", str(cluster), "--scenario", str(HEALTHY_SCENARIO)]
    result = CliRunner().invoke(
        main, [*args, "--mesh-provider", "smi:istio", "--prometheus", prometheus_url, "-o", "json", *extra]
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def events(timeline: list[dict[str, Any]]) -> list[str]:
    return [e for tick in timeline for e in tick["events"]]


def seed_canary(**analysis: Any) -> Any:
    doc = load_single(str(CANARY))
    doc["spec"]["canaryAnalysis"].update(analysis)
    return parse_canary(doc)


# ------------------------------------------------------------------------------------------ the seed rollout
def test_seed_rollout_with_healthy_metrics_succeeds(prometheus) -> None:
    timeline = simulate(prometheus.url)
    assert timeline[-1]["phase"] == "Succeeded"
    assert [t["canaryWeight"] for t in timeline if t["phase"] == "Progressing"][-1] == 50
    judged = [m for t in timeline for m in t["metrics"]]
    assert judged and all(m["passed"] for m in judged)
    sr = [m["value"] for m in judged if m["name"] == "request-success-rate"]
    duration = [m["value"] for m in judged if m["name"] == "request-duration"]
    assert sr and all(v == pytest.approx(99.5) for v in sr)
    assert duration and all(v == pytest.approx(120.4545, abs=0.01) for v in duration)
    assert "all the metrics providers are available!" in events(timeline)


def test_seed_rollout_with_failing_metrics_fails_after_threshold_halts(prometheus_factory) -> None:
    server = prometheus_factory([failing("test", "podinfo")])
    timeline = simulate(server.url)
    halts = [e for e in events(timeline) if e.startswith("Halt")]
    assert halts == [SR_60] * 5  # threshold 5: five failed checks, success rate listed first
    assert "Rolling back podinfo.test failed checks threshold reached 5" in events(timeline)
    last = timeline[-1]
    assert (last["phase"], last["canaryWeight"], last["trafficWeight"]) == ("Failed", 0, 0)
    # the first analysis at weight 10 already fails: no weight beyond the first step
    assert max(t["canaryWeight"] for t in timeline) == 10


@pytest.mark.parametrize(
    "workload",
    [
        pytest.param(idle("test", "podinfo"), id="nan-no-increase"),
        pytest.param(healthy("test", "other"), id="no-series"),
    ],
)
def test_no_data_and_nan_count_as_failed_checks(prometheus_factory, workload) -> None:
    server = prometheus_factory([workload])
    timeline = simulate(server.url)
    assert [e for e in events(timeline) if e.startswith("Halt")] == [NO_DATA_SR] * 5
    assert timeline[-1]["phase"] == "Failed"


# ------------------------------------------------------------------------------------------ query sets
@pytest.mark.parametrize(
    ("provider", "istio_seconds"),
    [
        pytest.param("smi:istio", False, id="istio-milliseconds"),
        pytest.param("smi:istio", True, id="istio-seconds-histogram"),
        pytest.param("linkerd", False, id="linkerd"),
    ],
)
@pytest.mark.parametrize("aggregate", [True, False], ids=["aggregated", "per-canary"])
def test_builtin_query_sets_read_the_reference_values(
    prometheus, provider: str, istio_seconds: bool, aggregate: bool
) -> None:
    canary = seed_canary()
    metrics = PrometheusMetrics(prometheus.url, aggregate=aggregate)
    settings = Settings(istio_seconds=istio_seconds)
    provider_ = resolve_provider(provider, None)
    requests = tuple(metric_request(m, provider_, canary, {}, settings) for m in canary.spec.effective_analysis.metrics)
    results = metrics.answer(requests)
    assert results["request-success-rate"].value == pytest.approx(99.5)
    assert int(results["request-duration"].value) == 120  # Flagger truncates to whole milliseconds


# ------------------------------------------------------------------------------------------ failure rules, directly
def _request(metric: MetricSpec, canary: Any = None, templates: Templates | None = None) -> MetricRequest:
    """The engine's request for `metric` of `canary` (the seed's by default), its query rendered."""
    return metric_request(metric, ISTIO, canary or seed_canary(), templates or {}, Settings())


def test_a_promql_syntax_error_is_a_failed_check_with_a_clear_message(prometheus) -> None:
    canary = seed_canary()
    metric = MetricSpec(
        name="broken", query='sum(rate(istio_requests_total{destination_workload="{{ target }}"}[1m]', threshold=1
    )
    result = PrometheusMetrics(prometheus.url).answer_one(_request(metric, canary))
    assert result.value is None and result.error
    assert "parse error" in result.error


def test_prometheus_stopped_mid_run_fails_the_check_and_never_advances(prometheus_factory, tmp_path: Path) -> None:
    server = prometheus_factory([healthy("test", "podinfo")])
    metrics = PrometheusMetrics(server.url)
    canary = seed_canary()
    requests = tuple(_request(m, canary) for m in canary.spec.effective_analysis.metrics)
    assert metrics.answer(requests)["request-success-rate"].value == pytest.approx(99.5)
    server.stop()
    metrics.new_tick()
    down = metrics.answer(requests)
    assert all(r.value is None and r.error == f"{server.url}: connection refused" for r in down.values())
    assert not metrics.providers_available(provider_check(canary, {})).ok


CLOSED = "http://127.0.0.1:9"  # the discard port: nothing listens


def _template(address: str) -> MetricTemplateSpec:
    return MetricTemplateSpec(
        name="error-rate", namespace="test", provider_type="prometheus", address=address, query="vector(0)"
    )


@pytest.mark.parametrize(
    ("analysis", "templates", "ok", "message"),
    [
        pytest.param({"metrics": []}, {}, True, "", id="no-metrics-asks-nothing"),
        pytest.param(
            {"metrics": [{"name": "inline", "query": "vector(1)", "threshold": 1}]},
            {},
            True,
            "",
            id="inline-query-asks-nothing",
        ),
        pytest.param(
            None, {}, False, f"prometheus: {CLOSED}: connection refused", id="builtin-asks-the-default-server"
        ),
        pytest.param(
            {"metrics": [{"name": "errors", "templateRef": {"name": "error-rate"}, "thresholdRange": {"max": 1}}]},
            {("test", "error-rate"): _template(CLOSED)},
            False,
            f"prometheus in MetricTemplate test/error-rate: {CLOSED}: connection refused",
            id="template-asks-its-own-server",
        ),
        pytest.param(
            {"metrics": [{"name": "errors", "templateRef": {"name": "missing"}, "thresholdRange": {"max": 1}}]},
            {},
            False,
            "MetricTemplate test/missing not found",
            id="missing-template",
        ),
    ],
)
def test_provider_check_asks_the_servers_the_analysis_uses(
    analysis: Any, templates: dict, ok: bool, message: str
) -> None:
    """Flagger's `checkMetricProviderAvailability` walks the canary's metrics: a canary without metrics (or with
    in-line queries only) is never told its providers are unavailable because some Prometheus is down."""
    canary = seed_canary(**analysis) if analysis is not None else seed_canary()
    metrics = PrometheusMetrics(CLOSED)
    result = metrics.providers_available(provider_check(canary, templates))
    assert (result.ok, result.message) == (ok, message)
    assert metrics.requests_made == (0 if ok else (0 if "not found" in message else 1))


def test_provider_check_of_a_template_on_a_live_server_while_the_default_is_down(prometheus) -> None:
    canary = seed_canary(
        metrics=[{"name": "errors", "templateRef": {"name": "error-rate"}, "thresholdRange": {"max": 1}}]
    )
    metrics = PrometheusMetrics(CLOSED)
    check = provider_check(canary, {("test", "error-rate"): _template(prometheus.url)})
    assert metrics.providers_available(check) == HookResult(True)
    assert metrics.requests_made == 1


def test_prometheus_down_during_a_simulated_rollout(prometheus_factory) -> None:
    """Stopped before the run: the provider check warns, every analysis fails, nothing advances past the
    first (unmeasured) step, and the canary rolls back after `threshold` failed checks."""
    server = prometheus_factory([healthy("test", "podinfo")])
    url = server.url
    server.stop()
    timeline = simulate(url)
    all_events = events(timeline)
    assert any(e.startswith("Error checking metric providers: prometheus") for e in all_events)
    assert [e for e in all_events if e.startswith("Prometheus query failed")] == [
        f"Prometheus query failed: {url}: connection refused"
    ] * 5
    assert max(t["canaryWeight"] for t in timeline) == 10
    assert timeline[-1]["phase"] == "Failed"


# ------------------------------------------------------------------------------------------ MetricTemplates
TEMPLATE = """
apiVersion: flagger.app/v1beta1
kind: MetricTemplate
metadata: {name: error-rate, namespace: test}
spec:
  provider:
    type: prometheus
    address: %(url)s
    secretRef: {name: prom-auth}
  query: |
    100 - sum(rate(istio_requests_total{reporter="destination", destination_workload_namespace="{{ namespace }}",
      destination_workload="{{ target }}", response_code!~"5.*"}[{{ interval }}]))
    / sum(rate(istio_requests_total{reporter="destination", destination_workload_namespace="{{ namespace }}",
      destination_workload="{{ target }}"}[{{ interval }}])) * 100
---
apiVersion: v1
kind: Secret
metadata: {name: prom-auth, namespace: test}
type: Opaque
stringData: {username: %(user)s, password: %(password)s}
"""


def _template_cluster(tmp_path: Path, url: str, user: str, password: str) -> Path:
    path = tmp_path / "cluster.yaml"
    path.write_text(CLUSTER.read_text() + "\n---\n" + TEMPLATE % {"url": url, "user": user, "password": password})
    return path


def _template_canary(tmp_path: Path) -> Path:
    text = CANARY.read_text().replace(
        "    - name: request-duration\n",
        "    - name: error-rate\n      templateRef: {name: error-rate}\n      thresholdRange: {max: 1}\n      interval: 1m\n"
        "    - name: request-duration\n",
    )
    path = tmp_path / "canary.yaml"
    path.write_text(text)
    return path


def test_metric_template_with_basic_auth(prometheus, prometheus_basic_auth, tmp_path: Path) -> None:
    """Built-ins go to the default server; the template's query goes to its own address, which needs the
    credentials from its secretRef."""
    user, password = prometheus_basic_auth.basic_auth
    cluster = _template_cluster(tmp_path, prometheus_basic_auth.url, user, password)
    canary = _template_canary(tmp_path)
    timeline = simulate(prometheus.url, canary=canary, cluster=cluster)
    values = [m for t in timeline for m in t["metrics"] if m["name"] == "error-rate"]
    assert values and all(m["value"] == pytest.approx(0.5) and m["passed"] for m in values)


def test_metric_template_with_wrong_credentials_fails_without_leaking_them(
    prometheus, prometheus_basic_auth, tmp_path: Path
) -> None:
    user, _ = prometheus_basic_auth.basic_auth
    wrong = "not-the-password-123"
    cluster = _template_cluster(tmp_path, prometheus_basic_auth.url, user, wrong)
    canary = _template_canary(tmp_path)
    args = [
        "simulate",
        str(canary),
        "--cluster",
        str(cluster),
        "--scenario",
        str(HEALTHY_SCENARIO),
        "--mesh-provider",
        "smi:istio",
    ]
    result = subprocess.run(
        [sys.executable, "-m", "cronjob.cli", *args, "--prometheus", prometheus.url, "-o", "json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    timeline = json.loads(result.stdout)
    failures = [e for e in events(timeline) if e.startswith("Metric query failed for error-rate:")]
    assert failures and all("401" in e for e in failures), events(timeline)
    for secret in (wrong, prometheus_basic_auth.basic_auth[1]):
        assert secret not in result.stdout and secret not in result.stderr


# ------------------------------------------------------------------------------------------ fleet aggregation
def _fleet(n: int) -> list[Any]:
    base = load_single(str(CANARY))
    fleet = []
    for i in range(n):
        doc = json.loads(json.dumps(base))
        doc["metadata"]["name"] = f"app{i}"
        doc["metadata"]["namespace"] = "fleet"
        doc["spec"]["targetRef"]["name"] = f"app{i}"
        fleet.append(parse_canary(doc))
    return fleet


def test_aggregated_queries_equal_per_canary_queries_for_50_canaries(prometheus_factory) -> None:
    workloads = []
    for i in range(50):
        kind = (healthy, failing, idle)[i % 3]
        workloads.append(kind("fleet", f"app{i}"))
    workloads.append(healthy("fleet", "app0-primary"))
    server = prometheus_factory(workloads)
    fleet = _fleet(50)
    pairs = [(c, _request(m, c)) for c in fleet for m in c.spec.effective_analysis.metrics]

    aggregated = PrometheusMetrics(server.url)
    aggregated.prefetch(r for _, r in pairs)
    together = {(c.name, r.metric.name): aggregated.answer_one(r) for c, r in pairs}

    single = PrometheusMetrics(server.url, aggregate=False)
    alone = {(c.name, r.metric.name): single.answer_one(r) for c, r in pairs}

    assert aggregated.requests_made == 2  # one per (metric, window, query set)
    assert single.requests_made == 100
    for key, result in alone.items():
        other = together[key]
        if result.value is None:
            assert other.value is None and other.error == NO_VALUES == result.error, key
        else:
            assert other.value == pytest.approx(result.value, rel=1e-9), key
    assert together[("app0", "request-success-rate")].value == pytest.approx(99.5)
    assert together[("app1", "request-success-rate")].value == pytest.approx(60)
    assert together[("app2", "request-success-rate")].error == NO_VALUES


def test_a_canary_name_that_would_inject_promql_is_refused_before_querying(prometheus) -> None:
    canary = seed_canary()
    evil = dataclasses.replace(
        canary,
        spec=dataclasses.replace(
            canary.spec, target_ref=dataclasses.replace(canary.spec.target_ref, name='podinfo"}) or vector(1) #')
        ),
    )
    metrics = PrometheusMetrics(prometheus.url)
    result = metrics.answer_one(_request(MetricSpec(name="request-success-rate", threshold=99), evil))
    assert result.value is None and result.error and "DNS-1123" in result.error
    assert metrics.requests_made == 0


def test_render_reads_metrics_from_prometheus(prometheus, tmp_path: Path) -> None:
    """A mid-analysis render with --prometheus judges the live values (and needs no METRICS file)."""
    scenario = dataclasses.replace(read_scenario(str(HEALTHY_SCENARIO)), ticks=5)
    cluster = SimulatedCluster.of(build_cluster(cluster_objects(str(CLUSTER))))
    sim = Simulation(seed_canary(), cluster, scenario, Settings(mesh_provider="smi:istio"), "s")
    records = sim.run()
    assert records[-1].canary_weight == 20
    (tmp_path / "cluster.yaml").write_text(dump_yaml_stream(list(sim.cluster.objects.values())))
    (tmp_path / "canary.yaml").write_text(dump_yaml_stream([canary_manifest(sim.canary, sim.canary.status)]))
    result = CliRunner().invoke(
        main,
        [
            "render",
            str(tmp_path / "canary.yaml"),
            "--cluster",
            str(tmp_path / "cluster.yaml"),
            "--mesh-provider",
            "smi:istio",
            "--prometheus",
            prometheus.url,
            "--now",
            "2026-11-27T10:00:50Z",
            "-o",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    status = json.loads(result.output)["items"][-1]["status"]
    assert (status["phase"], status["canaryWeight"], status["failedChecks"]) == ("Progressing", 30, 0)


# ------------------------------------------------------------------------------------------ bearer token and headers
def test_metric_template_bearer_token_and_headers_reach_prometheus(httpserver) -> None:
    """A real HTTP server standing in for a Prometheus that wants a bearer token: the token from the
    template's Secret goes into `Authorization`, the template's headers are sent, and neither appears in
    the result."""
    template = parse_metric_template(
        {
            "apiVersion": "flagger.app/v1beta1",
            "kind": "MetricTemplate",
            "metadata": {"name": "latency", "namespace": "test"},
            "spec": {
                "provider": {
                    "type": "prometheus",
                    "address": httpserver.url_for("/prom"),
                    "secretRef": {"name": "prom-token"},
                    "headers": {"X-Scope-OrgID": ["tenant-a"]},
                },
                "query": 'avg(latency{workload="{{ target }}"})',
            },
        }
    )
    token = "tok-123-secret"
    httpserver.expect_request(
        "/prom/api/v1/query",
        headers={"Authorization": f"Bearer {token}", "X-Scope-OrgID": "tenant-a"},
        query_string={"query": 'avg(latency{workload="podinfo"})'},
    ).respond_with_json(
        {"status": "success", "data": {"resultType": "vector", "result": [{"metric": {}, "value": [0, "42.5"]}]}}
    )
    metrics = PrometheusMetrics(
        "http://127.0.0.1:1",
        read_secret=lambda ns, name: {"token": token} if (ns, name) == ("test", "prom-token") else None,
    )
    canary = seed_canary()
    metric = MetricSpec(name="latency", template_ref=TemplateRef("latency"), threshold=100)
    request = _request(metric, canary, {("test", "latency"): template})
    result = metrics.answer_one(request)
    assert result.value == pytest.approx(42.5), result
    httpserver.check_assertions()
    missing = PrometheusMetrics("http://127.0.0.1:1", read_secret=lambda ns, name: None)
    failed = missing.answer_one(request)
    assert failed.value is None and failed.error == "secret test/prom-token not found"
    assert token not in repr(result) + repr(failed)


@pytest.mark.parametrize(
    "secret",
    [
        pytest.param({"token": "tok-123-secret"}, id="token"),
        pytest.param({"username": "svc-reader", "password": "pa55-w0rd-secret"}, id="basic-auth"),
    ],
)
def test_credentials_a_server_echoes_in_its_error_are_masked(httpserver, secret: dict[str, str]) -> None:
    """A server (or a proxy before it) that answers with the credentials it was sent in its `error` text: the
    metric's error names the server and the reason, never the token, user or password of the template's Secret."""
    template = parse_metric_template(
        {
            "apiVersion": "flagger.app/v1beta1",
            "kind": "MetricTemplate",
            "metadata": {"name": "latency", "namespace": "test"},
            "spec": {
                "provider": {"type": "prometheus", "address": httpserver.url_for("/"), "secretRef": {"name": "auth"}},
                "query": 'avg(latency{workload="{{ target }}"})',
            },
        }
    )
    echoed = " ".join(secret.values())
    httpserver.expect_request("/api/v1/query").respond_with_json(
        {"status": "error", "errorType": "unauthorized", "error": f"credentials {echoed} rejected"}, status=401
    )
    metrics = PrometheusMetrics("http://127.0.0.1:1", read_secret=lambda ns, name: secret)
    metric = MetricSpec(name="latency", template_ref=TemplateRef("latency"), threshold=100)
    result = metrics.answer_one(_request(metric, seed_canary(), {("test", "latency"): template}))
    assert result.value is None and result.error.startswith(httpserver.url_for("/").rstrip("/")), result.error
    assert "HTTP 401" in result.error
    assert "rejected" in result.error
    assert not any(value in result.error for value in secret.values()), result.error
