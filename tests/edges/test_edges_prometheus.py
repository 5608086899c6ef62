"""Prometheus answers that are not what its HTTP API promises, and failures below HTTP, in `render` and
`simulate --prometheus` and in `PrometheusMetrics` itself: each is that canary's failed check with one line naming
the server as scheme://host:port (never userinfo, path or query) and the reason, told apart — host not found,
refused, timed out, TLS, HTTP status, malformed body. The tick's side is in test_edges_cluster.py.

A tiny real HTTP server on loopback (pytest-httpserver) answers like a broken Prometheus.
"""

from __future__ import annotations

import dataclasses
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from werkzeug import Response

from cronjob.cli import main
from cronjob.local.inputs import build_cluster, cluster_objects, read_scenario
from cronjob.local.simulation import SimulatedCluster, Simulation
from cronjob.shared.prometheus import MAX_REASON_CHARS, PrometheusMetrics
from cronjob.shared.yamlio import dump_yaml_stream, load_single
from engine import MetricRequest, Settings
from engine.analysis import NO_VALUES
from engine.analysis.render import provider_check
from engine.canary_spec import parse_canary
from engine.model import MetricSpec
from engine.routers.factory import resolve_provider
from engine.status_doc import canary_manifest
from engine.tick import metric_request

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "fixtures" / "seed"
ISTIO = resolve_provider("smi:istio", None)
CANARY = parse_canary(load_single(str(SEED / "podinfo-canary.yaml")))
INLINE = metric_request(MetricSpec(name="custom", query="vector(1)", threshold=5), ISTIO, CANARY, {}, Settings())
BUILTIN = metric_request(MetricSpec(name="request-success-rate", threshold=99), ISTIO, CANARY, {}, Settings())


def vector(*values: Any, labels: dict[str, str] | None = None) -> bytes:
    result = [{"metric": labels or {}, "value": [1764237600, v]} for v in values]
    return json.dumps({"status": "success", "data": {"resultType": "vector", "result": result}}).encode()


def sample_for_test_podinfo(value: Any) -> bytes:
    return vector(value, labels={"destination_workload_namespace": "test", "destination_workload": "podinfo"})


MALFORMED = [
    pytest.param(
        b'{"status": "success"}', 200, "application/json", "malformed answer: no data object", id="200-without-data"
    ),
    pytest.param(
        b'{"status": "success", "data": []}',
        200,
        "application/json",
        "malformed answer: no data object",
        id="data-not-an-object",
    ),
    pytest.param(
        b'{"status": "success", "data": {"resultType": "vector", "result": {"a": 1}}}',
        200,
        "application/json",
        "malformed answer: data.result is not a list",
        id="result-not-a-list",
    ),
    pytest.param(
        b'{"status": "error", "errorType": "timeout", "error": "query timed out in expression evaluation"}',
        200,
        "application/json",
        "HTTP 200 with status error: timeout: query timed out in expression evaluation",
        id="200-status-error",
    ),
    pytest.param(
        b'{"data": {"resultType": "vector", "result": []}}',
        200,
        "application/json",
        "malformed answer: no status success",
        id="no-status",
    ),
    pytest.param(b"[1, 2]", 200, "application/json", "malformed answer: a JSON list, not an object", id="bare-list"),
    pytest.param(
        b"<!DOCTYPE html><html><body>Grafana login</body></html>",
        200,
        "text/html; charset=utf-8",
        "malformed answer: not JSON (text/html)",
        id="html",
    ),
    pytest.param(
        b'{"status": "success", "data": {"resultType": "vec',
        200,
        "application/json",
        "malformed answer: not JSON (application/json)",
        id="truncated-json",
    ),
    pytest.param(b"", 200, "application/json", "malformed answer: not JSON (application/json)", id="empty-body"),
    pytest.param(b"Bad Gateway", 502, "text/plain", "HTTP 502", id="http-502-text"),
    pytest.param(
        b'{"status": "error", "errorType": "bad_data", "error": "1:5: parse error"}',
        400,
        "application/json",
        "HTTP 400: 1:5: parse error",
        id="http-400-prometheus-error",
    ),
]

VALUES = [
    pytest.param('"fast"', "malformed answer: sample value 'fast' is not a number", id="non-numeric"),
    pytest.param("42", "malformed answer: sample value 42 is not a number", id="number-not-a-string"),
    pytest.param("null", "malformed answer: sample value None is not a number", id="null"),
    pytest.param('"1_000"', "malformed answer: sample value '1_000' is not a number", id="python-only-number"),
]


@pytest.fixture
def broken(httpserver) -> Iterator[Any]:
    """`answer(body, status, content_type)` makes the server answer every query so; its URL with a path prefix."""

    def answer(body: bytes, status: int = 200, content_type: str = "application/json") -> str:
        httpserver.clear()
        httpserver.expect_request("/prom/api/v1/query").respond_with_response(
            Response(body, status=status, content_type=content_type)
        )
        return httpserver.url_for("/prom")

    yield answer


def _server(httpserver) -> str:
    return f"http://localhost:{httpserver.port}"


@pytest.mark.parametrize("body, status, content_type, reason", MALFORMED)
@pytest.mark.parametrize("request_", [INLINE, BUILTIN], ids=["inline-query", "aggregated-builtin"])
def test_a_malformed_answer_is_a_failed_check_naming_the_server(
    broken, httpserver, body: bytes, status: int, content_type: str, reason: str, request_: MetricRequest
) -> None:
    url = broken(body, status, content_type)
    result = PrometheusMetrics(url).answer_one(request_)
    assert result.value is None
    assert result.error == f"{_server(httpserver)}: {reason}"


@pytest.mark.parametrize("value, reason", VALUES)
def test_a_sample_value_that_is_not_a_number_is_a_malformed_answer(broken, httpserver, value: str, reason: str) -> None:
    url = broken(
        json.dumps(
            {
                "status": "success",
                "data": {"resultType": "vector", "result": [{"metric": {}, "value": [1, json.loads(value)]}]},
            }
        ).encode()
    )
    result = PrometheusMetrics(url).answer_one(INLINE)
    assert (result.value, result.error) == (None, f"{_server(httpserver)}: {reason}")


@pytest.mark.parametrize("value", ["NaN", "+Inf", "-Inf"])
@pytest.mark.parametrize(
    "request_, body", [(INLINE, vector), (BUILTIN, sample_for_test_podinfo)], ids=["inline-query", "aggregated-builtin"]
)
def test_nan_and_inf_are_no_values_as_in_flagger(broken, value: str, request_: MetricRequest, body) -> None:
    """Flagger HEAD (v1.18.0+) maps NaN to `no values found`; ±Inf (a histogram without a finite bucket) is no
    measurement either. Both fail the check as no data does, never pass it."""
    url = broken(body(value))
    result = PrometheusMetrics(url).answer_one(request_)
    assert (result.value, result.error) == (None, NO_VALUES)


def test_a_long_garbage_sample_is_clipped_to_one_line(broken, httpserver) -> None:
    url = broken(
        vector("x\n" * 5000, labels={"destination_workload_namespace": "test", "destination_workload": "podinfo"})
    )
    for request_ in (INLINE, BUILTIN):
        error = PrometheusMetrics(url).answer_one(request_).error
        assert error is not None and error.startswith(f"{_server(httpserver)}: malformed answer: ")
        assert len(error) <= len(_server(httpserver)) + 2 + MAX_REASON_CHARS and "\n" not in error


# ------------------------------------------------------------------------------------------------ below HTTP
def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def silent_server() -> Iterator[int]:
    """Accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(2)
    for conn in held:
        conn.close()
    server.close()


def test_failures_below_http_are_told_apart(httpserver, silent_server: int) -> None:
    closed = _closed_port()
    httpserver.expect_request("/api/v1/query").respond_with_data(vector(1).decode(), content_type="application/json")
    cases = {
        "http://prometheus.nonexistent.invalid:9090": "http://prometheus.nonexistent.invalid:9090: host not found",
        f"http://127.0.0.1:{closed}": f"http://127.0.0.1:{closed}: connection refused",
        f"http://127.0.0.1:{silent_server}": f"http://127.0.0.1:{silent_server}: timed out",
        f"https://127.0.0.1:{httpserver.port}": f"https://127.0.0.1:{httpserver.port}: TLS handshake failed",
    }
    for url, expected in cases.items():
        result = PrometheusMetrics(url, timeout=0.5).answer_one(INLINE)
        assert result.value is None and result.error is not None and result.error.startswith(expected), (url, result)


def test_userinfo_path_and_query_of_the_server_are_never_shown(httpserver) -> None:
    port = _closed_port()
    metrics = PrometheusMetrics(f"http://alice:pa55word@127.0.0.1:{port}/tenant-s3cret/prom")
    results = [
        metrics.answer_one(INLINE),
        metrics.answer_one(BUILTIN),
        metrics.providers_available(provider_check(CANARY, {})),
    ]
    messages = [r.error for r in results[:2]] + [results[2].message]
    assert messages == [f"http://127.0.0.1:{port}: connection refused"] * 2 + [
        f"prometheus: http://127.0.0.1:{port}: connection refused"
    ]


def test_a_bad_aggregated_answer_fails_only_the_checks_it_serves(httpserver) -> None:
    """The aggregated success-rate query is answered garbage; the duration query of the same fleet, and in-line
    queries, are answered well: only the success-rate checks fail."""

    def answer(request) -> Response:
        query = request.args.get("query", "")
        if "istio_requests_total" in query:
            return Response("<html>oops</html>", content_type="text/html")
        if "istio_request_duration" in query:
            return Response(sample_for_test_podinfo("120"), content_type="application/json")
        return Response(vector("1"), content_type="application/json")

    httpserver.expect_request("/api/v1/query").respond_with_handler(answer)
    metrics = PrometheusMetrics(httpserver.url_for("/"))
    metrics_ = CANARY.spec.effective_analysis.metrics
    requests_ = [metric_request(m, ISTIO, CANARY, {}, Settings()) for m in metrics_] + [INLINE]
    metrics.prefetch(requests_)
    results = metrics.answer(requests_)
    assert results["request-success-rate"].error == f"{_server(httpserver)}: malformed answer: not JSON (text/html)"
    assert results["request-duration"].value == 120 and results["custom"].value == 1


def test_prefetch_never_raises(httpserver) -> None:
    """Not even for a canary whose metrics cannot be worked out: that canary's own answer reports it."""
    httpserver.expect_request("/api/v1/query").respond_with_data("x", status=500)
    metrics = PrometheusMetrics(httpserver.url_for("/"))
    weird = dataclasses.replace(CANARY, spec=None)  # likely_metrics cannot read it
    metrics.prefetch_canaries([weird, CANARY], Settings(mesh_provider="smi:istio"))
    assert metrics.answer_one(BUILTIN).error == f"{_server(httpserver)}: HTTP 500"


# ------------------------------------------------------------------------------------------------ render and simulate
def _mid_analysis(tmp_path: Path) -> tuple[Path, Path]:
    """The seed canary at weight 20, analysing (from a simulation with the scenario's healthy metrics)."""
    scenario = dataclasses.replace(read_scenario(str(SEED / "scenario-healthy.yaml")), ticks=5)
    cluster = SimulatedCluster.of(build_cluster(cluster_objects(str(SEED / "cluster.yaml"))))
    sim = Simulation(CANARY, cluster, scenario, Settings(mesh_provider="smi:istio"), "s")
    assert sim.run()[-1].canary_weight == 20
    (tmp_path / "cluster.yaml").write_text(dump_yaml_stream(list(sim.cluster.objects.values())))
    (tmp_path / "canary.yaml").write_text(dump_yaml_stream([canary_manifest(sim.canary, sim.canary.status)]))
    return tmp_path / "canary.yaml", tmp_path / "cluster.yaml"


@pytest.mark.parametrize(
    "body, status, content_type, reason",
    [p for p in MALFORMED if p.id in ("200-without-data", "html", "truncated-json", "200-status-error")],
)
def test_render_with_a_broken_prometheus_fails_the_check(
    tmp_path: Path, broken, httpserver, body: bytes, status: int, content_type: str, reason: str
) -> None:
    canary, cluster = _mid_analysis(tmp_path)
    url = broken(body, status, content_type)
    result = CliRunner().invoke(
        main,
        [
            "render",
            str(canary),
            "--cluster",
            str(cluster),
            "--mesh-provider",
            "smi:istio",
            "--prometheus",
            url,
            "--now",
            "2026-11-27T10:00:50Z",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output and "/prom" not in result.output
    assert f"# Warning: Prometheus query failed: {_server(httpserver)}: {reason}\n" in result.output
    status_doc = next(d for d in _documents(result.output) if d.get("kind") == "Canary")["status"]
    assert (status_doc["phase"], status_doc["canaryWeight"], status_doc["failedChecks"]) == ("Progressing", 20, 1)


def _documents(text: str) -> list[dict[str, Any]]:
    from ruamel.yaml import YAML

    return [d for d in YAML(typ="safe").load_all(text) if isinstance(d, dict)]


def test_simulate_with_a_broken_prometheus_rolls_back_on_failed_checks(broken, httpserver) -> None:
    url = broken(b'{"status": "success"}')
    result = CliRunner().invoke(
        main,
        [
            "simulate",
            str(SEED / "podinfo-canary.yaml"),
            "--cluster",
            str(SEED / "cluster.yaml"),
            "--scenario",
            str(SEED / "scenario-healthy.yaml"),
            "--mesh-provider",
            "smi:istio",
            "--prometheus",
            url,
            "-o",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    timeline = json.loads(result.output)
    failures = [e for t in timeline for e in t["events"] if e.startswith("Prometheus query failed")]
    assert failures == [f"Prometheus query failed: {_server(httpserver)}: malformed answer: no data object"] * 5
    assert timeline[-1]["phase"] == "Failed"
