"""Self-test of the real-Prometheus harness: Flagger's own built-in PromQL against the backfilled data.

The queries are copied from the reference note (flagger-metrics-webhooks.md §1.3/§1.4, HEAD, `[1m]`),
with HEAD's whitespace collapse applied, and sent without `time` (Prometheus' "now") as Flagger does,
unless a test pins a moment with `time=`.
"""

from __future__ import annotations

import math
import urllib.error

import pytest

from harness import prometheus as ph
from harness.prometheus import (
    FAILING,
    GAP,
    HEALTHY,
    IDLE,
    PROMETHEUS_SWITCH_AT,
    Dataset,
    PrometheusQueryError,
    Workload,
    generate_openmetrics,
    healthy,
    query,
    start_prometheus,
    value_of,
)

# Flagger HEAD, pkg/metrics/observers/istio.go (reference §1.3), interval 1m.
ISTIO_SUCCESS_RATE = """
sum(rate(istio_requests_total{reporter="destination",destination_workload_namespace="NS",
                              destination_workload=~"TARGET",response_code!~"5.*"}[1m]))
/
sum(rate(istio_requests_total{reporter="destination",destination_workload_namespace="NS",
                              destination_workload=~"TARGET"}[1m]))
* 100
"""
ISTIO_DURATION = (
    'histogram_quantile(0.99, sum(rate(istio_request_duration_milliseconds_bucket{reporter="destination",'
    'destination_workload_namespace="NS",destination_workload=~"TARGET"}[1m])) by (le))'
)
# Flagger <= v1.0.0-rc.x (Istio <= 1.4): the seconds histogram.
ISTIO_DURATION_2019 = (
    'histogram_quantile(0.99, sum(rate(istio_request_duration_seconds_bucket{reporter="destination",'
    'destination_workload_namespace="NS",destination_workload=~"TARGET"}[1m])) by (le))'
)
# Flagger HEAD, Linkerd (reference §1.4).
LINKERD_SUCCESS_RATE = (
    'sum(rate(response_total{namespace="NS",deployment=~"TARGET",classification!="failure",direction="inbound"}[1m]))'
    ' / sum(rate(response_total{namespace="NS",deployment=~"TARGET",direction="inbound"}[1m])) * 100'
)
LINKERD_DURATION = (
    'histogram_quantile(0.99, sum(rate(response_latency_ms_bucket{namespace="NS",deployment=~"TARGET",'
    'direction="inbound"}[1m])) by (le))'
)


def render(template: str, namespace: str, target: str) -> str:
    """Fill NS/TARGET and collapse whitespace runs, as Flagger HEAD does before sending."""
    return " ".join(template.replace("NS", namespace).replace("TARGET", target).split())


SR_OK = pytest.approx(99.5, abs=1e-9)
SR_BAD = pytest.approx(60.0, abs=1e-9)
P99_OK = pytest.approx(120.4545454545, abs=1e-6)
P99_BAD = pytest.approx(800.9708737864, abs=1e-6)


def test_healthy_workload_istio(prometheus):
    sr = prometheus.value(render(ISTIO_SUCCESS_RATE, "test", "podinfo"))
    p99 = prometheus.value(render(ISTIO_DURATION, "test", "podinfo"))
    assert sr == SR_OK
    assert p99 == P99_OK
    assert int(p99) == 120  # Flagger's Duration(int64(v)) ms


def test_failing_workload_istio(prometheus):
    sr = prometheus.value(render(ISTIO_SUCCESS_RATE, "test", "podinfo-bad"))
    p99 = prometheus.value(render(ISTIO_DURATION, "test", "podinfo-bad"))
    assert sr == SR_BAD
    assert p99 == P99_BAD
    assert int(p99) == 800


def test_literal_rendered_query_for_podinfo(prometheus):
    """The exact string Flagger HEAD sends for podinfo.test (no template filling here)."""
    q = (
        'sum(rate(istio_requests_total{reporter="destination",destination_workload_namespace="test", '
        'destination_workload=~"podinfo",response_code!~"5.*"}[1m])) / '
        'sum(rate(istio_requests_total{reporter="destination",destination_workload_namespace="test", '
        'destination_workload=~"podinfo"}[1m])) * 100'
    )
    assert q == render(ISTIO_SUCCESS_RATE, "test", "podinfo")
    assert value_of(query(prometheus.url, q)) == SR_OK


def test_old_istio_seconds_histogram(prometheus):
    assert prometheus.value(render(ISTIO_DURATION_2019, "test", "podinfo")) == pytest.approx(0.1204545454, abs=1e-9)
    assert prometheus.value(render(ISTIO_DURATION_2019, "test", "podinfo-bad")) == pytest.approx(0.8009708737, abs=1e-9)


def test_linkerd_series(prometheus):
    assert prometheus.value(render(LINKERD_SUCCESS_RATE, "test", "podinfo")) == SR_OK
    assert prometheus.value(render(LINKERD_DURATION, "test", "podinfo")) == P99_OK
    assert prometheus.value(render(LINKERD_SUCCESS_RATE, "test", "podinfo-bad")) == SR_BAD
    assert prometheus.value(render(LINKERD_DURATION, "test", "podinfo-bad")) == P99_BAD
    # Flagger 0.14-0.16's numerator (classification="failure") scores the failure percentage.
    buggy = LINKERD_SUCCESS_RATE.replace('classification!="failure"', 'classification="failure"')
    assert prometheus.value(render(buggy, "test", "podinfo")) == pytest.approx(0.5, abs=1e-9)


def test_distractors_exist_and_do_not_change_results(prometheus):
    # The distractors are really there ...
    assert prometheus.query('istio_requests_total{destination_workload="podinfo-bad-primary"}')
    assert prometheus.query('istio_requests_total{reporter="source",destination_workload="podinfo-bad"}')
    assert prometheus.query('response_total{direction="outbound",deployment="podinfo-bad"}')
    # ... with numbers that would move the result if a selector let them in:
    both = render(ISTIO_SUCCESS_RATE, "test", "podinfo-bad|podinfo-bad-primary")
    assert prometheus.value(both) == pytest.approx(79.75, abs=1e-9)
    source = render(ISTIO_SUCCESS_RATE, "test", "podinfo-bad").replace('"destination"', '"source"')
    assert prometheus.value(source) == SR_OK
    assert prometheus.value(render(ISTIO_SUCCESS_RATE, "other", "podinfo")) == SR_BAD
    # ... and the built-in selectors keep them out.
    assert prometheus.value(render(ISTIO_SUCCESS_RATE, "test", "podinfo-bad")) == SR_BAD
    assert prometheus.value(render(ISTIO_DURATION, "test", "podinfo-bad")) == P99_BAD
    assert prometheus.value(render(LINKERD_SUCCESS_RATE, "test", "podinfo-bad")) == SR_BAD


def test_missing_namespace_gives_empty_vector(prometheus):
    for template in (ISTIO_SUCCESS_RATE, ISTIO_DURATION, LINKERD_SUCCESS_RATE, LINKERD_DURATION):
        assert prometheus.query(render(template, "missing", "podinfo")) == []


def test_gap_gives_empty_vector(prometheus):
    assert prometheus.query(render(ISTIO_SUCCESS_RATE, "test", "podinfo-gap")) == []
    assert prometheus.query(render(ISTIO_DURATION, "test", "podinfo-gap")) == []
    # before the gap the workload had data
    before = prometheus.anchor - 6 * 60
    assert prometheus.value(render(ISTIO_SUCCESS_RATE, "test", "podinfo-gap"), time=before) == SR_OK


def test_idle_workload_gives_nan(prometheus):
    for template in (ISTIO_SUCCESS_RATE, ISTIO_DURATION, LINKERD_SUCCESS_RATE, LINKERD_DURATION):
        value = prometheus.value(render(template, "test", "podinfo-nan"))
        assert value is not None and math.isnan(value)


def test_switching_workload_over_time(prometheus):
    sr = render(ISTIO_SUCCESS_RATE, "test", "podinfo-switch")
    p99 = render(ISTIO_DURATION, "test", "podinfo-switch")
    switch = prometheus.anchor + PROMETHEUS_SWITCH_AT
    assert prometheus.value(sr, time=switch - 15) == SR_OK
    assert prometheus.value(p99, time=switch - 15) == P99_OK
    # mixed while the 1m window straddles the switch, pure failing 45 s after the first failing sample
    assert 60 < prometheus.value(sr, time=switch + 15) < 99.5
    assert prometheus.value(sr, time=switch + 45) == SR_BAD
    assert prometheus.value(p99, time=switch + 45) == P99_BAD


def test_basic_auth(prometheus_basic_auth):
    server = prometheus_basic_auth
    q = render(ISTIO_SUCCESS_RATE, "test", "podinfo")
    with pytest.raises(PrometheusQueryError) as no_auth:
        query(server.url, q)
    assert no_auth.value.status == 401
    with pytest.raises(PrometheusQueryError) as wrong:
        query(server.url, q, auth=(server.basic_auth[0], "wrong"))
    assert wrong.value.status == 401
    assert value_of(query(server.url, q, auth=server.basic_auth)) == SR_OK


def test_stop_makes_queries_fail_with_connection_error(prometheus_factory):
    server = prometheus_factory([healthy("test", "podinfo")])
    q = render(ISTIO_SUCCESS_RATE, "test", "podinfo")
    assert server.value(q) == SR_OK
    server.stop()
    with pytest.raises(urllib.error.URLError) as down:
        query(server.url, q, timeout=2)
    assert isinstance(down.value.reason, ConnectionRefusedError)
    server.start()  # back on the same port, same data
    assert server.value(q) == SR_OK


def test_missing_binary_fails_the_fixture(monkeypatch, tmp_path):
    monkeypatch.setattr(ph, "PROMETHEUS_BIN", tmp_path / "no-prometheus")
    with pytest.raises(pytest.fail.Exception, match=r"\./dev test.*apt-get install prometheus"):
        start_prometheus(Dataset((healthy("test", "podinfo"),)))


# ------------------------------------------------------------------------------ the generator alone


def _samples(text: str) -> dict[str, list[tuple[int, int]]]:
    series: dict[str, list[tuple[int, int]]] = {}
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        name, value, ts = line.rsplit(" ", 2)
        series.setdefault(name, []).append((int(ts), int(value)))
    return series


def test_generator_shape():
    w = Workload("ns", "app", ((0, HEALTHY), (60, GAP), (120, FAILING), (180, IDLE)))
    text = generate_openmetrics([w], start=-30, end=240, linkerd=True, istio_seconds=True)
    assert text.endswith("# EOF\n") and text.count("# EOF") == 1
    series = _samples(text)
    ok = series[
        'istio_requests_total{reporter="destination",destination_workload_namespace="ns",'
        'destination_workload="app",destination_service="app.ns.svc.cluster.local",'
        'source_workload="flagger-loadtester",source_workload_namespace="ns",'
        'request_protocol="http",response_code="200"}'
    ]
    # no samples before the first segment nor in the gap; 15 s grid; offset 100000; monotonic
    assert [t for t, _ in ok] == [0, 15, 30, 45, 120, 135, 150, 165, 180, 195, 210, 225, 240]
    assert [v for _, v in ok][:5] == [104975, 109950, 114925, 119900, 122900]
    assert [v for _, v in ok][-5:] == [131900] * 5  # idle: no increase
    for samples in series.values():
        values = [v for _, v in samples]
        assert values == sorted(values) and values[0] >= ph.OFFSET
    names = {s.split("{", 1)[0] for s in series}
    assert names == {
        "istio_requests_total",
        "istio_request_duration_milliseconds_bucket",
        "istio_request_duration_seconds_bucket",
        "response_total",
        "response_latency_ms_bucket",
    }
    assert sum(1 for s in series if s.startswith("istio_request_duration_milliseconds_bucket")) == 20
    assert 'le="+Inf"' in text and 'le="0.005"' in text and 'le="0.5"' in text


def test_generator_distractors():
    text = generate_openmetrics(
        [healthy("ns", "app")], start=0, end=30, primary_distractors=True, source_distractors=True, linkerd=True
    )
    assert 'destination_workload="app-primary"' in text
    assert 'reporter="source"' in text and 'direction="outbound"' in text
    lean = generate_openmetrics([healthy("ns", "app")], start=0, end=30, linkerd=True, extra_labels=False)
    full = generate_openmetrics([healthy("ns", "app")], start=0, end=30, linkerd=True)
    assert "source_workload" not in lean and "authority" not in lean
    assert lean.count("\n") == full.count("\n") and len(lean) < len(full)
    # phases relative to an anchor
    w = Workload("ns", "app", ((0, FAILING),))
    assert w.phase_at(999, anchor=1000) == GAP and w.phase_at(1000, anchor=1000) == FAILING
    with pytest.raises(ValueError):
        Workload("ns", "app", ((0, "C"),))
