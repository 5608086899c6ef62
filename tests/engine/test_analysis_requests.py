"""The engine renders every metric query: MetricTemplates reach it with the `ClusterView` and `--istio-seconds`
with `Settings`, so each `MetricRequest` carries its rendered query (or the problem that kept it from being
rendered) and each provider check names the servers to probe. The shell only runs them."""

from __future__ import annotations

import copy
import dataclasses
import importlib
import pkgutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from cronjob.local.inputs import build_cluster, cluster_objects, read_scenario
from cronjob.local.simulation import SimulatedCluster, Simulation
from cronjob.shared.yamlio import load_single
from engine import HookResult, MetricRequest, Settings
from engine.analysis import MetricResult, MetricTemplateSpec, ProviderCheck, ProviderProbe, RenderedQuery, querysets
from engine.analysis.querysets import QUERY_SETS
from engine.analysis.querysets.base import QuerySet
from engine.analysis.render import provider_check, query_for
from engine.canary_spec import parse_canary
from engine.routers.factory import resolve_provider
from engine.tick import likely_metrics, metric_request

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "fixtures" / "seed"
ISTIO = resolve_provider("smi:istio", None)
TEMPLATE = MetricTemplateSpec(
    name="error-rate",
    namespace="test",
    provider_type="prometheus",
    address="http://prometheus.monitoring:9090",
    query='sum(rate(errors{namespace="{{ namespace }}",workload="{{ target }}"}[{{ interval }}]))',
    secret_name="prom-auth",
    headers=(("X-Scope-OrgID", ("tenant-a",)),),
)


class Recorder:
    """Stands where `PrometheusMetrics` stands in a simulation: it keeps what the engine asked and answers by
    metric name, running nothing."""

    def __init__(self, values: dict[str, float]) -> None:
        self.values = values
        self.requests: list[MetricRequest] = []
        self.checks: list[ProviderCheck] = []

    def new_tick(self) -> None:
        pass

    def answer(self, requests: Iterable[MetricRequest]) -> dict[str, MetricResult]:
        out = {}
        for request in requests:
            self.requests.append(request)
            out[request.metric.name] = (
                MetricResult(self.values[request.metric.name])
                if request.query is not None
                else MetricResult(None, request.problem)
            )
        return out

    def providers_available(self, check: ProviderCheck) -> HookResult:
        self.checks.append(check)
        return HookResult(not check.problem, check.problem)


def _simulate(metrics: list[dict[str, Any]], settings: Settings) -> tuple[Recorder, list[dict[str, Any]]]:
    doc = load_single(str(SEED / "podinfo-canary.yaml"))
    doc["spec"]["canaryAnalysis"]["metrics"].extend(metrics)
    canary = parse_canary(doc)
    cluster = SimulatedCluster.of(build_cluster(cluster_objects(str(SEED / "cluster.yaml"))))
    cluster.metric_templates = {("test", "error-rate"): TEMPLATE}
    scenario = dataclasses.replace(read_scenario(str(SEED / "scenario-healthy.yaml")), ticks=8)
    simulation = Simulation(canary, cluster, scenario, settings, "scenario-healthy.yaml")
    recorder = Recorder({"request-success-rate": 99.5, "request-duration": 120, "errors": 0.5})
    simulation.prometheus = recorder  # type: ignore[assignment]
    return recorder, [r.as_json() for r in simulation.run()]


def test_a_decision_asks_for_rendered_queries_with_the_templates_of_the_cluster_view() -> None:
    recorder, timeline = _simulate(
        [{"name": "errors", "templateRef": {"name": "error-rate"}, "threshold": 1, "interval": "2m"}],
        Settings(mesh_provider="smi:istio"),
    )
    assert recorder.requests
    by_name = {r.metric.name: r.query for r in recorder.requests}
    template_query = by_name["errors"]
    assert template_query == RenderedQuery(
        'sum(rate(errors{namespace="test",workload="podinfo"}[2m]))',
        address="http://prometheus.monitoring:9090",
        secret_name="prom-auth",
        secret_namespace="test",
        headers=(("X-Scope-OrgID", ("tenant-a",)),),
    )
    builtin = by_name["request-success-rate"]
    assert builtin is not None and builtin.address is None and builtin.series == ("test", "podinfo")
    assert 'destination_workload=~"podinfo"' in builtin.promql and builtin.aggregate is not None
    assert "tenant-a" not in repr(template_query)  # headers may hold credentials: never in a repr or a log
    # the provider checks while initializing name the default server and the template's
    assert recorder.checks
    assert all(
        [p.label for p in c.probes] == ["prometheus", "prometheus in MetricTemplate test/error-rate"]
        for c in recorder.checks
    )
    assert any(m["name"] == "errors" and m["passed"] for t in timeline for m in t["metrics"])


def test_a_missing_template_is_a_request_without_a_query_and_fails_as_before() -> None:
    recorder, timeline = _simulate(
        [{"name": "gone", "templateRef": {"name": "gone"}, "threshold": 1}], Settings(mesh_provider="smi:istio")
    )
    gone = [r for r in recorder.requests if r.metric.name == "gone"]
    assert gone and all(r.query is None for r in gone)
    assert gone[0].problem == "metric 'gone'.templateRef: MetricTemplate test/gone not found"
    assert recorder.checks and set(recorder.checks) == {ProviderCheck(problem="MetricTemplate test/gone not found")}
    events = [e for t in timeline for e in t["events"]]
    assert "Error checking metric providers: MetricTemplate test/gone not found" in events
    assert "Metric query failed for gone: metric 'gone'.templateRef: MetricTemplate test/gone not found" in events


def test_istio_seconds_reaches_the_engine_with_the_settings() -> None:
    recorder, _ = _simulate([], Settings(mesh_provider="smi:istio", istio_seconds=True))
    duration = next(r.query for r in recorder.requests if r.metric.name == "request-duration")
    assert duration is not None and duration.promql.endswith("* 1000")
    assert "istio_request_duration_seconds_bucket" in duration.promql and duration.aggregate is not None
    assert duration.aggregate.istio_seconds


def test_likely_metrics_render_as_the_decision_does() -> None:
    doc = copy.deepcopy(CANARY_DOC)
    canary = parse_canary(doc)
    templates = {("test", "error-rate"): TEMPLATE}
    guessed = likely_metrics(canary, Settings(), templates)
    assert [r.metric.name for r in guessed] == ["request-success-rate", "errors"]
    for request in guessed:
        assert request == metric_request(request.metric, ISTIO, canary, templates, Settings())
        assert request.query == query_for(
            request.metric, "istio", canary, TEMPLATE if request.metric.template_ref else None
        )


def test_provider_check_names_each_server_once() -> None:
    canary = parse_canary(copy.deepcopy(CANARY_DOC))
    check = provider_check(canary, {("test", "error-rate"): TEMPLATE})
    assert check.problem == ""
    assert [p.label for p in check.probes] == ["prometheus", "prometheus in MetricTemplate test/error-rate"]
    assert check.probes[0] == ProviderProbe("prometheus", RenderedQuery("vector(1)"))
    assert check.probes[1].query.address == TEMPLATE.address and check.probes[1].query.secret_namespace == "test"
    assert provider_check(canary, {}) == ProviderCheck(problem="MetricTemplate test/error-rate not found")


def test_every_query_set_module_is_registered() -> None:
    """A new mesh's queries are one module in `engine/analysis/querysets/` plus its line in `QUERY_SETS`."""
    modules = [m.name for m in pkgutil.iter_modules(querysets.__path__) if m.name != "base"]
    for name in modules:
        found = importlib.import_module(f"engine.analysis.querysets.{name}").QUERY_SET
        assert isinstance(found, QuerySet) and QUERY_SETS[found.name] is found
    assert sorted(QUERY_SETS) == sorted(modules)


CANARY_DOC: dict[str, Any] = {
    "apiVersion": "flagger.app/v1beta1",
    "kind": "Canary",
    "metadata": {"name": "podinfo", "namespace": "test"},
    "spec": {
        "provider": "smi:istio",
        "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "podinfo"},
        "service": {"port": 9898},
        "analysis": {
            "interval": "10s",
            "threshold": 5,
            "stepWeight": 10,
            "maxWeight": 50,
            "metrics": [
                {"name": "request-success-rate", "thresholdRange": {"min": 99}, "interval": "1m"},
                {"name": "errors", "templateRef": {"name": "error-rate"}, "thresholdRange": {"max": 1}},
            ],
        },
    },
    "status": {"phase": "Progressing", "canaryWeight": 10},
}
