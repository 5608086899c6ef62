"""`engine.analysis` (query sets, template language, fleet aggregation, rendering, MetricTemplates): Flagger HEAD's built-in PromQL per query set, custom query
templates, injection safety, fleet aggregation (checked against per-canary queries on crafted series with a
small evaluator of the PromQL shapes these queries use), NaN handling and MetricTemplate parsing.

Reference: `reference/flagger-metrics-webhooks.md` §1.2–1.4, §1.8, §2.3; Flagger v1.44.0
`pkg/metrics/observers/{istio,linkerd,osm}.go`, `render.go`, `providers/prometheus.go`.
"""

from __future__ import annotations

import copy
import math
import re
from typing import Any

import pytest

from cronjob.shared.yamlio import load_single
from engine import MetricRequest
from engine.analysis.fleet import (
    AggregateKey,
    aggregated_builtin_query,
    aggregation_matches_per_canary,
    split_aggregated_result,
)
from engine.analysis.promql import collapse_whitespace, require_prometheus_duration
from engine.analysis.querysets import QUERY_SETS
from engine.analysis.render import RenderedQuery, query_for, render_builtin_query, render_custom_query
from engine.analysis.templates import MetricTemplateSpec, parse_metric_template
from engine.canary_spec import parse_canary
from engine.errors import SpecError
from engine.model import MetricSpec, TemplateRef
from engine.routers.factory import resolve_provider
from harness.paths import FIXTURES

SR, DUR = "request-success-rate", "request-duration"

# ==================================================================================== built-in PromQL
# HEAD's queries after its whitespace collapse (cronary also drops the one leading space HEAD leaves).
EXPECTED = {
    (
        "istio",
        SR,
    ): 'sum( rate( istio_requests_total{ reporter="destination", destination_workload_namespace="test", destination_workload=~"podinfo", response_code!~"5.*" }[1m] ) ) / sum( rate( istio_requests_total{ reporter="destination", destination_workload_namespace="test", destination_workload=~"podinfo" }[1m] ) ) * 100',
    (
        "istio",
        DUR,
    ): 'histogram_quantile( 0.99, sum( rate( istio_request_duration_milliseconds_bucket{ reporter="destination", destination_workload_namespace="test", destination_workload=~"podinfo" }[1m] ) ) by (le) )',
    (
        "linkerd",
        SR,
    ): 'sum( rate( response_total{ namespace="test", deployment=~"podinfo", classification!="failure", direction="inbound" }[1m] ) ) / sum( rate( response_total{ namespace="test", deployment=~"podinfo", direction="inbound" }[1m] ) ) * 100',
    (
        "linkerd",
        DUR,
    ): 'histogram_quantile( 0.99, sum( rate( response_latency_ms_bucket{ namespace="test", deployment=~"podinfo", direction="inbound" }[1m] ) ) by (le) )',
    (
        "osm",
        SR,
    ): 'sum( rate( osm_request_total{ destination_namespace="test", destination_kind="Deployment", destination_name="podinfo", response_code!~"5.*" }[1m] ) ) / sum( rate( osm_request_total{ destination_namespace="test", destination_kind="Deployment", destination_name="podinfo" }[1m] ) ) * 100',
    (
        "osm",
        DUR,
    ): 'histogram_quantile( 0.99, sum( rate( osm_request_duration_ms_bucket{ destination_namespace="test", destination_kind="Deployment", destination_name="podinfo" }[1m] ) ) by (le) )',
}


@pytest.mark.parametrize(("query_set", "metric"), list(EXPECTED), ids=[f"{q}-{m}" for q, m in EXPECTED])
def test_builtin_query_is_heads_promql(query_set: str, metric: str) -> None:
    assert render_builtin_query(metric, query_set, "test", "podinfo", "1m") == EXPECTED[(query_set, metric)]


# The reference's own text (§1.3, §1.4), compared with all whitespace removed (2019's TrimQuery view).
REFERENCE_ISTIO_SR = """
sum(rate(istio_requests_total{reporter="destination",destination_workload_namespace="NS",
                              destination_workload=~"TARGET",response_code!~"5.*"}[INTERVAL]))
/
sum(rate(istio_requests_total{reporter="destination",destination_workload_namespace="NS",
                              destination_workload=~"TARGET"}[INTERVAL]))
* 100
"""
REFERENCE_ISTIO_DURATION_2019 = 'histogram_quantile(0.99, sum(rate(istio_request_duration_seconds_bucket{reporter="destination",destination_workload_namespace="NS",destination_workload=~"TARGET"}[INTERVAL])) by (le))'
REFERENCE_LINKERD_DURATION = 'histogram_quantile(0.99, sum(rate(response_latency_ms_bucket{namespace,deployment=~,direction="inbound"}[I])) by (le))'


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _fill(text: str, ns: str = "prod", target: str = "web", interval: str = "30s") -> str:
    return text.replace("NS", ns).replace("TARGET", target).replace("INTERVAL", interval)


@pytest.mark.parametrize(
    ("reference", "render"),
    [
        pytest.param(
            REFERENCE_ISTIO_SR, lambda: render_builtin_query(SR, "istio", "prod", "web", "30s"), id="istio-success-rate"
        ),
        pytest.param(
            REFERENCE_ISTIO_DURATION_2019.replace("seconds", "milliseconds"),
            lambda: render_builtin_query(DUR, "istio", "prod", "web", "30s"),
            id="istio-duration-milliseconds-HEAD",
        ),
        pytest.param(
            REFERENCE_ISTIO_DURATION_2019 + " * 1000",
            lambda: render_builtin_query(DUR, "istio", "prod", "web", "30s", istio_seconds=True),
            id="istio-duration-seconds-2019-times-1000",
        ),
    ],
)
def test_builtin_query_matches_the_reference_text(reference: str, render: Any) -> None:
    assert _squash(render()) == _squash(_fill(reference))


def test_linkerd_duration_has_the_references_shape() -> None:
    rendered = _squash(render_builtin_query(DUR, "linkerd", "prod", "web", "30s"))
    shape = (
        _squash(REFERENCE_LINKERD_DURATION)
        .replace("namespace,deployment=~,", 'namespace="prod",deployment=~"web",')
        .replace("[I]", "[30s]")
    )
    assert rendered == shape


def test_linkerd_success_rate_bug_is_fixed() -> None:
    """0.14–0.16 had `classification="failure"` in the numerator (the failure percentage); HEAD has `!=`."""
    query = render_builtin_query(SR, "linkerd", "test", "podinfo", "1m")
    assert 'classification!="failure"' in query
    assert 'classification="failure"' not in query
    assert query.count("classification") == 1  # numerator only; the denominator counts every response


@pytest.mark.parametrize("query_set", ["istio", "linkerd", "osm"])
def test_istio_seconds_only_changes_istio_duration(query_set: str) -> None:
    for metric in (SR, DUR):
        plain = render_builtin_query(metric, query_set, "test", "podinfo", "1m")
        old = render_builtin_query(metric, query_set, "test", "podinfo", "1m", istio_seconds=True)
        if query_set == "istio" and metric == DUR:
            assert old == plain.replace("milliseconds", "seconds") + " * 1000"
        else:
            assert old == plain


def test_interval_is_the_rate_window() -> None:
    assert "[1h30m]" in render_builtin_query(SR, "istio", "test", "podinfo", "1h30m")
    assert "[1m]" not in render_builtin_query(SR, "istio", "test", "podinfo", "1h30m")


def test_whitespace_collapses_like_heads_trim_query() -> None:
    assert collapse_whitespace("\n\tsum(\n\t\trate(x[1m])\n\t) \n\t/ \n\t2") == "sum( rate(x[1m]) ) / 2"
    assert collapse_whitespace("a\u00a0b") == "a\u00a0b"  # Go's \s is ASCII only


# ==================================================================================== safety
INJECTIONS = {
    "quote-brace-vector": 'podinfo"}) or vector(1) #',
    "regex-wildcard": "podinfo|.*",
    "upper-case": "PodInfo",
    "space": "pod info",
    "trailing-newline": "podinfo\n",
    "brace": "podinfo}",
    "empty": "",
    "too-long": "a" * 254,
}


@pytest.mark.parametrize("bad", list(INJECTIONS.values()), ids=list(INJECTIONS))
@pytest.mark.parametrize("metric", [SR, DUR])
def test_target_that_would_inject_promql_is_rejected(bad: str, metric: str) -> None:
    with pytest.raises(SpecError) as err:
        render_builtin_query(metric, "istio", "test", bad, "1m")
    assert err.value.path == "spec.targetRef.name"


@pytest.mark.parametrize(
    "bad",
    ['test"} or vector(1) #', "test.prod", "Test", "a" * 64, "", "test\n"],
    ids=["quote-brace-vector", "dotted", "upper-case", "too-long", "empty", "trailing-newline"],
)
def test_namespace_must_be_a_dns1123_label(bad: str) -> None:
    with pytest.raises(SpecError) as err:
        render_builtin_query(SR, "linkerd", bad, "podinfo", "1m")
    assert err.value.path == "metadata.namespace"


@pytest.mark.parametrize("good", ["1m", "30s", "500ms", "1h30m", "2d", "1w", "10m5s"])
def test_prometheus_durations_accepted(good: str) -> None:
    assert require_prometheus_duration("interval", good) == good


@pytest.mark.parametrize(
    "bad", ["", "1", "1.5m", "-1m", "1m ", "1m\n", "1s1m", "0s", "0m0s", "1m]) or vector(1) #", "m", "1M"]
)
def test_bad_intervals_rejected(bad: str) -> None:
    with pytest.raises(SpecError) as err:
        render_builtin_query(SR, "istio", "test", "podinfo", bad)
    assert err.value.path == "interval"


def test_unknown_query_set_and_metric_rejected() -> None:
    with pytest.raises(SpecError, match="no built-in query set 'appmesh'"):
        render_builtin_query(SR, "appmesh", "test", "podinfo", "1m")
    with pytest.raises(SpecError, match="'error-rate' is not a built-in metric"):
        render_builtin_query("error-rate", "istio", "test", "podinfo", "1m")


# ==================================================================================== custom templates
def _custom(text: str, variables: dict[str, str] | None = None, **overrides: Any) -> str:
    model: dict[str, Any] = dict(
        name="podinfo-canary",
        namespace="test",
        target="podinfo",
        service="frontend",
        interval="2m",
        variables=variables or {},
    )
    model.update(overrides)
    return render_custom_query(text, **model)


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        pytest.param("{{ name }}", "podinfo-canary", id="name-is-canary-name"),
        pytest.param("{{ namespace }}", "test", id="namespace"),
        pytest.param("{{ target }}", "podinfo", id="target-is-targetRef-name"),
        pytest.param("{{ service }}", "frontend", id="service"),
        pytest.param("{{ ingress }}", "podinfo", id="ingress-defaults-to-target"),
        pytest.param("{{ route }}", "podinfo", id="route-defaults-to-target"),
        pytest.param("{{ interval }}", "2m", id="interval"),
        pytest.param('x{job="{{ variables.job }}"}', 'x{job="api"}', id="variable"),
        pytest.param("{{namespace}}", "test", id="no-spaces"),
        pytest.param("{{  namespace\t}}", "test", id="extra-spaces"),
        pytest.param("a  {{- namespace -}}  b", "atestb", id="trim-markers"),
        pytest.param("a {{- namespace }} b", "atest b", id="trim-left-only"),
        pytest.param("a\n{{ namespace -}}\n\tb", "a testb", id="trim-right-only"),
        pytest.param("{{/* a comment */}}x", "x", id="comment"),
        pytest.param("a {{- /* c */ -}} b", "ab", id="comment-with-trim"),
        pytest.param("no template at all", "no template at all", id="plain-text"),
        pytest.param("}} and {", "}} and {", id="stray-braces-are-text"),
        pytest.param(
            'sum(rate(http_requests_total{namespace="{{ namespace }}", pod=~"{{ target }}-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)", status=~"{{ variables.codes }}"}[{{ interval }}]))',
            'sum(rate(http_requests_total{namespace="test", pod=~"podinfo-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)", status=~"5.."}[2m]))',
            id="realistic",
        ),
    ],
)
def test_template_functions(template: str, expected: str) -> None:
    assert _custom(template, {"job": "api", "codes": "5.."}) == expected


def test_service_defaults_to_target() -> None:
    assert _custom("{{ service }}", service=None) == "podinfo"


def test_multiline_query_is_collapsed() -> None:
    assert _custom('sum(\n  rate(x{ns="{{ namespace }}"}[{{ interval }}])\n)\n') == 'sum( rate(x{ns="test"}[2m]) )'


@pytest.mark.parametrize(
    ("template", "message"),
    [
        pytest.param("{{ foo }}", 'function "foo" not defined', id="unknown-function"),
        pytest.param("{{ Namespace }}", 'function "Namespace" not defined', id="functions-are-case-sensitive"),
        pytest.param("{{ .Namespace }}", "2019 template syntax", id="2019-field-syntax"),
        pytest.param("{{ variables }}", "use {{ variables.KEY }}", id="bare-variables"),
        pytest.param(
            "{{ variables.missing }}",
            'map has no entry for key "missing" (templateVariables defines: job)',
            id="missing-key",
        ),
        pytest.param('{{ printf "%s" namespace }}', "unsupported template action", id="printf"),
        pytest.param("{{ namespace | upper }}", "unsupported template action", id="pipeline"),
        pytest.param("{{ if true }}x{{ end }}", "unsupported template action", id="if"),
        pytest.param('{{ index variables "job" }}', "unsupported template action", id="index"),
        pytest.param("x {{ namespace", "unclosed action", id="unclosed"),
        pytest.param("{{/* never closed }}", "unclosed comment", id="unclosed-comment"),
        pytest.param("{{-namespace}}", "unsupported template action", id="dash-without-space"),
    ],
)
def test_template_errors_name_the_problem(template: str, message: str) -> None:
    with pytest.raises(SpecError) as err:
        _custom(template, {"job": "api"})
    assert message in str(err.value)
    assert err.value.path == "query"


def test_template_error_names_the_line() -> None:
    with pytest.raises(SpecError, match=r"template line 3: \{\{ nope \}\}"):
        _custom("a\nb\n{{ nope }}")


@pytest.mark.parametrize(
    ("template", "value"),
    [
        pytest.param('x{a="{{ variables.v }}"}', 'x"} or vector(1) #', id="double-quote-in-string"),
        pytest.param('x{a="{{ variables.v }}"}', "x\\", id="backslash-in-string"),
        pytest.param("x{a='{{ variables.v }}'}", "x'} or vector(1) #", id="single-quote-in-string"),
        pytest.param("x{a=`{{ variables.v }}`}", "x`} or vector(1) #", id="backtick-in-raw-string"),
        pytest.param("x > {{ variables.v }}", "0 or vector(1)", id="expression-outside-string"),
        pytest.param("rate(x[{{ variables.v }}])", "1m]) or vector(1) #", id="bracket-outside-string"),
        pytest.param('x{a="{{ variables.v }}"}', "a\nb", id="newline"),
    ],
)
def test_variables_cannot_leave_their_place(template: str, value: str) -> None:
    with pytest.raises(SpecError, match="variable 'v'"):
        _custom(template, {"v": value})


@pytest.mark.parametrize(
    ("template", "value", "expected"),
    [
        pytest.param('x{a=~"{{ variables.v }}"}', "5..|4.*", 'x{a=~"5..|4.*"}', id="regex-in-string"),
        pytest.param('x{a="{{ variables.v }}"}', "it's fine", 'x{a="it\'s fine"}', id="other-quote-in-string"),
        pytest.param('x{a="\\"{{ variables.v }}"}', "v", 'x{a="\\"v"}', id="after-escaped-quote"),
        pytest.param(
            "histogram_quantile({{ variables.v }}, x)",
            "0.95",
            "histogram_quantile(0.95, x)",
            id="number-outside-string",
        ),
        pytest.param("rate(x[{{ variables.v }}])", "5m", "rate(x[5m])", id="duration-outside-string"),
        pytest.param('x{a="#"} > {{ variables.v }}', "3", 'x{a="#"} > 3', id="hash-inside-string-is-not-a-comment"),
    ],
)
def test_variables_that_stay_in_place_are_substituted(template: str, value: str, expected: str) -> None:
    assert _custom(template, {"v": value}) == expected


@pytest.mark.parametrize(
    ("field", "value", "path"),
    [
        ("namespace", 'test"}', "metadata.namespace"),
        ("target", "podinfo|.*", "spec.targetRef.name"),
        ("name", "Podinfo", "metadata.name"),
        ("service", 'svc"', "spec.service.name"),
        ("interval", "1m]", "interval"),
    ],
)
def test_custom_query_names_are_checked_too(field: str, value: str, path: str) -> None:
    with pytest.raises(SpecError) as err:
        _custom("{{ namespace }}", **{field: value})
    assert err.value.path == path


# ==================================================================================== fleet aggregation
# A tiny evaluator for exactly the PromQL shapes above: selectors with =, !=, =~, !~ (fully anchored),
# sum / sum by, vector / vector * 100, histogram_quantile and a trailing `* 1000`. Series carry their rate.
_SELECTOR = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}\[[0-9a-z]+\]")
_MATCHER = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*,?')
_BY = re.compile(r"\bby \(([^)]*)\)")

Series = tuple[str, dict[str, str], float]


def _matches(labels: dict[str, str], matcher: tuple[str, str, str]) -> bool:
    name, op, value = matcher
    actual = labels.get(name, "")
    return {
        "=": actual == value,
        "!=": actual != value,
        "=~": bool(re.fullmatch(value, actual)),
        "!~": not re.fullmatch(value, actual),
    }[op]


def _selectors(promql: str) -> list[tuple[str, list[tuple[str, str, str]]]]:
    found = []
    for metric, body in _SELECTOR.findall(promql):
        matchers = [m.groups() for m in _MATCHER.finditer(body)]
        assert "".join(m.group(0) for m in _MATCHER.finditer(body)).strip() == body.strip(), (
            f"unparsed matcher in {body!r}"
        )
        found.append((metric, matchers))
    return found


def _grouped_sum(series: list[Series], selector: Any, by: list[str]) -> dict[tuple[str, ...], float]:
    metric, matchers = selector
    out: dict[tuple[str, ...], float] = {}
    for name, labels, rate in series:
        if name == metric and all(_matches(labels, m) for m in matchers):
            key = tuple(labels.get(b, "") for b in by)
            out[key] = out.get(key, 0.0) + rate
    return out


def _bucket_quantile(q: float, buckets: list[tuple[float, float]]) -> float:
    """Prometheus `bucketQuantile` (promql/quantile.go)."""
    buckets = sorted(buckets)
    if not buckets or not math.isinf(buckets[-1][0]) or len(buckets) < 2:
        return math.nan
    observations = buckets[-1][1]
    if observations == 0:
        return math.nan
    rank = q * observations
    b = next((i for i in range(len(buckets) - 1) if buckets[i][1] >= rank), len(buckets) - 1)
    if b == len(buckets) - 1:
        return buckets[-2][0]
    if b == 0 and buckets[0][0] <= 0:
        return buckets[0][0]
    start, end, count = 0.0, buckets[b][0], buckets[b][1]
    if b > 0:
        start = buckets[b - 1][0]
        count -= buckets[b - 1][1]
        rank -= buckets[b - 1][1]
    return start + (end - start) * (rank / count)


def evaluate(promql: str, series: list[Series]) -> dict[tuple[str, ...], float]:
    """Instant-vector result of one of our queries: group key -> value (NaN kept, as Prometheus returns it)."""
    selectors = _selectors(promql)
    by = (
        [b.strip() for b in _BY.search(promql).group(1).split(",")]
        if promql.startswith("sum by") or "sum by" in promql
        else []
    )
    if promql.startswith("histogram_quantile"):
        (selector,) = selectors
        group = [b for b in by if b != "le"]
        sums = _grouped_sum(series, selector, group + ["le"])
        per_group: dict[tuple[str, ...], list[tuple[float, float]]] = {}
        for key, value in sums.items():
            per_group.setdefault(key[:-1], []).append((float(key[-1]), value))
        result = {key: _bucket_quantile(0.99, buckets) for key, buckets in per_group.items()}
        if promql.endswith(" * 1000"):
            result = {key: value * 1000 for key, value in result.items()}
        return result
    numerator, denominator = selectors
    top, bottom = _grouped_sum(series, numerator, by), _grouped_sum(series, denominator, by)
    return {key: (top[key] / bottom[key] if bottom[key] else math.nan) * 100 for key in top if key in bottom}


def _prometheus_float(value: float) -> str:
    return (
        "NaN" if math.isnan(value) else ("+Inf" if value == math.inf else "-Inf" if value == -math.inf else repr(value))
    )


def as_result_vector(promql: str, values: dict[tuple[str, ...], float]) -> list[dict[str, Any]]:
    by = [b.strip() for b in _BY.search(promql).group(1).split(",") if b.strip() != "le"]
    return [
        {"metric": dict(zip(by, key)), "value": [1795819200.123, _prometheus_float(v)]} for key, v in values.items()
    ]


def per_canary(promql: str, series: list[Series]) -> float | None:
    """What Flagger HEAD gets from the per-canary query: one label-less sample, NaN/empty = no value."""
    result = evaluate(promql, series)
    assert set(result) <= {()}
    value = result.get(())
    return None if value is None or math.isnan(value) else value


_LE = [0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, math.inf]


def _labels(query_set: str, ns: str, workload: str) -> dict[str, str]:
    ns_label, wl_label = QUERY_SETS[query_set].aggregation_labels
    extra = {
        "istio": {"reporter": "destination"},
        "linkerd": {"direction": "inbound"},
        "osm": {"destination_kind": "Deployment"},
    }[query_set]
    return {ns_label: ns, wl_label: workload, **extra}


def workload_series(
    query_set: str,
    ns: str,
    workload: str,
    ok: float,
    failed: float,
    cumulative: dict[float, float],
    *,
    seconds: bool = False,
    **overrides: str,
) -> list[Series]:
    """Request counters (ok / failed rates) and a latency histogram (le in ms -> cumulative rate)."""
    base = {**_labels(query_set, ns, workload), **overrides}
    out: list[Series] = []
    if query_set == "linkerd":
        out += [("response_total", {**base, "classification": "success", "status_code": "200"}, ok)]
        out += [("response_total", {**base, "classification": "failure", "status_code": "500"}, failed)]
    else:
        counter = "istio_requests_total" if query_set == "istio" else "osm_request_total"
        out += [
            (counter, {**base, "response_code": "200"}, ok * 0.75),
            (counter, {**base, "response_code": "404"}, ok * 0.25),
        ]
        out += [(counter, {**base, "response_code": "503"}, failed)]
    histogram = {
        "istio": "istio_request_duration_seconds_bucket" if seconds else "istio_request_duration_milliseconds_bucket",
        "linkerd": "response_latency_ms_bucket",
        "osm": "osm_request_duration_ms_bucket",
    }[query_set]
    for le in _LE:
        count = max([c for bound, c in cumulative.items() if le >= bound], default=0.0)
        bound = le / 1000 if seconds else le
        out.append((histogram, {**base, "le": "+Inf" if math.isinf(le) else repr(bound)}, count))
    return out


HEALTHY = dict(
    ok=4975 / 15, failed=25 / 15, cumulative={100: 4947 / 15, 250: 4969 / 15, 500: 5000 / 15}
)  # §6.2 phase A
FAILING = dict(ok=3000 / 15, failed=2000 / 15, cumulative={500: 4888 / 15, 1000: 4991 / 15, 2500: 5000 / 15})  # phase B
PRIMARY = dict(ok=970.0, failed=30.0, cumulative={50: 900.0, 100: 995.0, 250: 1000.0})  # 97 %, ≈ 145 ms
IDLE = dict(ok=0.0, failed=0.0, cumulative={})  # series exist, no traffic in the window: 0/0 = NaN


def fleet(query_set: str, *, seconds: bool = False) -> list[Series]:
    s: list[Series] = []
    s += workload_series(query_set, "test", "podinfo", **HEALTHY, seconds=seconds)
    s += workload_series(
        query_set, "test", "podinfo-primary", **PRIMARY, seconds=seconds
    )  # distractor: same ns, longer name
    s += workload_series(query_set, "prod", "podinfo", **FAILING, seconds=seconds)  # same name, another namespace
    s += workload_series(query_set, "prod", "api", ok=10.0, failed=0.0, cumulative={5: 10.0}, seconds=seconds)
    s += workload_series(query_set, "idle", "podinfo", **IDLE, seconds=seconds)
    if query_set == "istio":  # source-reported copies with other numbers must not count
        s += workload_series(query_set, "test", "podinfo", **FAILING, seconds=seconds, reporter="source")
    if query_set == "linkerd":  # outbound copies must not count
        s += workload_series(query_set, "test", "podinfo", **FAILING, direction="outbound")
    if query_set == "osm":  # another kind with the same name must not count
        s += workload_series(query_set, "test", "podinfo", **FAILING, destination_kind="StatefulSet")
    return s


CANARIES = [
    ("test", "podinfo"),
    ("test", "podinfo-primary"),
    ("prod", "podinfo"),
    ("prod", "api"),
    ("idle", "podinfo"),
    ("nowhere", "podinfo"),
    ("test", "absent"),
]
CASES = [pytest.param(q, m, False, id=f"{q}-{m}") for q in ("istio", "linkerd", "osm") for m in (SR, DUR)] + [
    pytest.param("istio", DUR, True, id="istio-request-duration-seconds")
]


@pytest.mark.parametrize(("query_set", "metric", "seconds"), CASES)
def test_aggregated_query_equals_per_canary_queries(query_set: str, metric: str, seconds: bool) -> None:
    series = fleet(query_set, seconds=seconds)
    aggregated = aggregated_builtin_query(metric, query_set, "1m", istio_seconds=seconds)
    split = split_aggregated_result(metric, query_set, as_result_vector(aggregated, evaluate(aggregated, series)))
    for ns, target in CANARIES:
        assert aggregation_matches_per_canary(query_set, target)
        expected = per_canary(render_builtin_query(metric, query_set, ns, target, "1m", istio_seconds=seconds), series)
        assert split.get((ns, target)) == expected, (ns, target)
    # and the crafted data really exercises what it should:
    assert len({split[("test", "podinfo")], split[("test", "podinfo-primary")], split[("prod", "podinfo")]}) == 3
    assert ("idle", "podinfo") not in split and ("nowhere", "podinfo") not in split


@pytest.mark.parametrize("query_set", ["istio", "linkerd", "osm"])
def test_reference_numbers_come_out(query_set: str) -> None:
    """§6.2: healthy ≈99.5 % / 120.45 ms, failing 60 % / 800.97 ms (compare with a tolerance)."""
    series = fleet(query_set)
    split_sr = split_aggregated_result(
        SR, query_set, as_result_vector(q := aggregated_builtin_query(SR, query_set, "1m"), evaluate(q, series))
    )
    split_d = split_aggregated_result(
        DUR, query_set, as_result_vector(q := aggregated_builtin_query(DUR, query_set, "1m"), evaluate(q, series))
    )
    assert split_sr[("test", "podinfo")] == pytest.approx(99.5)
    assert split_sr[("prod", "podinfo")] == pytest.approx(60.0)
    assert split_d[("test", "podinfo")] == pytest.approx(120.4545, abs=1e-3)
    assert split_d[("prod", "podinfo")] == pytest.approx(800.9708, abs=1e-3)


def test_istio_seconds_histogram_gives_the_same_milliseconds() -> None:
    ms, s = fleet("istio"), fleet("istio", seconds=True)
    new = per_canary(render_builtin_query(DUR, "istio", "test", "podinfo", "1m"), ms)
    old = per_canary(render_builtin_query(DUR, "istio", "test", "podinfo", "1m", istio_seconds=True), s)
    assert old == pytest.approx(new) and int(old) == int(new) == 120  # type: ignore[arg-type]


@pytest.mark.parametrize("query_set", ["istio", "linkerd"])
def test_dotted_target_regex_differs_from_exact_workload(query_set: str) -> None:
    """Flagger's `=~"my.app"` also matches `my-app`; the aggregation groups by exact workload. Such a
    target is flagged for a per-canary query (and query_for gives it no aggregate key)."""
    series = workload_series(query_set, "dots", "my.app", **HEALTHY) + workload_series(
        query_set, "dots", "my-app", **FAILING
    )
    aggregated = aggregated_builtin_query(SR, query_set, "1m")
    split = split_aggregated_result(SR, query_set, as_result_vector(aggregated, evaluate(aggregated, series)))
    regex = per_canary(render_builtin_query(SR, query_set, "dots", "my.app", "1m"), series)
    assert split[("dots", "my.app")] == pytest.approx(99.5)
    assert regex == pytest.approx(100 * (4975 + 3000) / 10000)  # both workloads summed
    assert not aggregation_matches_per_canary(query_set, "my.app")
    assert aggregation_matches_per_canary(query_set, "my-app")
    # the undotted neighbour is unaffected: its anchored regex has no metacharacter
    assert split[("dots", "my-app")] == per_canary(render_builtin_query(SR, query_set, "dots", "my-app", "1m"), series)


def test_osm_matches_exactly_even_with_dots() -> None:
    assert aggregation_matches_per_canary("osm", "my.app")


@pytest.mark.parametrize(
    ("query_set", "labels"),
    [
        ("istio", "destination_workload_namespace, destination_workload"),
        ("linkerd", "namespace, deployment"),
        ("osm", "destination_namespace, destination_name"),
    ],
)
def test_aggregated_queries_group_by_namespace_and_workload(query_set: str, labels: str) -> None:
    sr, dur = aggregated_builtin_query(SR, query_set, "1m"), aggregated_builtin_query(DUR, query_set, "1m")
    assert sr.count(f"sum by ({labels})") == 2
    assert dur.startswith(f"histogram_quantile( 0.99, sum by (le, {labels}) (")
    assert "{{" not in sr + dur and "[1m]" in sr and "[1m]" in dur


def test_aggregated_query_text() -> None:
    assert aggregated_builtin_query(SR, "istio", "1m") == (
        'sum by (destination_workload_namespace, destination_workload) ( rate(istio_requests_total{reporter="destination",response_code!~"5.*"}[1m]) )'
        ' / sum by (destination_workload_namespace, destination_workload) ( rate(istio_requests_total{reporter="destination"}[1m]) ) * 100'
    )
    assert aggregated_builtin_query(DUR, "istio", "30s", istio_seconds=True) == (
        'histogram_quantile( 0.99, sum by (le, destination_workload_namespace, destination_workload) ( rate(istio_request_duration_seconds_bucket{reporter="destination"}[30s]) ) ) * 1000'
    )
    with pytest.raises(SpecError):
        aggregated_builtin_query(SR, "istio", "1m]) or vector(1) #")


# ==================================================================================== split / NaN
def _sample(ns: str, wl: str, value: str, **extra: str) -> dict[str, Any]:
    return {
        "metric": {"destination_workload_namespace": ns, "destination_workload": wl, **extra},
        "value": [1795819200, value],
    }


def test_split_maps_nan_to_no_value_and_keeps_numbers() -> None:
    vector = [
        _sample("test", "podinfo", "99.50000000000001"),
        _sample("test", "idle", "NaN"),
        _sample("prod", "hot", "+Inf"),
        _sample("x", "", "1"),
    ]
    split = split_aggregated_result(SR, "istio", vector)
    assert split == {("test", "podinfo"): 99.50000000000001, ("prod", "hot"): math.inf}
    assert split_aggregated_result(SR, "istio", []) == {}


@pytest.mark.parametrize(
    ("vector", "message"),
    [
        pytest.param({"resultType": "vector"}, "not a vector", id="not-a-list"),
        pytest.param([{"metric": {}, "values": [[1, "1"]]}], "multiple values", id="matrix"),
        pytest.param([{"metric": {}, "value": [1, 1.0]}], "not an instant-vector sample", id="value-not-string"),
        pytest.param([_sample("a", "b", "fast")], "is not a number", id="value-not-a-number"),
        pytest.param([_sample("a", "b", "1"), _sample("a", "b", "2")], "two samples for b.a", id="duplicate"),
        pytest.param(["x"], "is not a sample", id="not-a-sample"),
    ],
)
def test_split_rejects_malformed_results(vector: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        split_aggregated_result(SR, "istio", vector)


# ==================================================================================== MetricTemplate
TEMPLATE = load_single(str(FIXTURES / "objects" / "metric-template.yaml"))


def test_metric_template_parses() -> None:
    spec = parse_metric_template(copy.deepcopy(TEMPLATE))
    assert spec == MetricTemplateSpec(
        name="not-found-percentage",
        namespace="istio-system",
        provider_type="prometheus",
        address="http://prometheus.istio-system:9090",
        query=TEMPLATE["spec"]["query"],
        secret_name="prom-auth",
        headers=(("Accept", ("application/json", "text/plain")), ("X-Scope-OrgID", ("tenant-a",))),
        insecure_skip_verify=True,
    )
    assert spec.key == "istio-system/not-found-percentage"


def test_metric_template_minimal_and_default_namespace() -> None:
    doc = copy.deepcopy(TEMPLATE)
    doc["metadata"] = {"name": "t"}
    doc["spec"]["provider"] = {"type": "prometheus", "address": "https://prom.example.com/prefix"}
    spec = parse_metric_template(doc, default_namespace="test")
    assert (spec.namespace, spec.secret_name, spec.headers, spec.insecure_skip_verify) == ("test", None, (), False)


def _broken(path: str, value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(TEMPLATE)
    *parents, last = path.split(".")
    node = doc
    for key in parents:
        node = node[key]
    if value is _DELETE:
        del node[last]
    else:
        node[last] = value
    return doc


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "error_path", "message"),
    [
        pytest.param(
            "apiVersion", "flagger.app/v1alpha3", "apiVersion", "must be flagger.app/v1beta1", id="api-version"
        ),
        pytest.param("kind", "Canary", "kind", "must be MetricTemplate", id="kind"),
        pytest.param("metadata.name", "Bad_Name", "metadata.name", "DNS-1123", id="name"),
        pytest.param("metadata.namespace", "a.b", "metadata.namespace", "DNS-1123", id="namespace"),
        pytest.param("spec.provider", _DELETE, "spec.provider", "required", id="no-provider"),
        pytest.param("spec.provider.type", _DELETE, "spec.provider.type", "required", id="no-type"),
        pytest.param(
            "spec.provider.type",
            "datadog",
            "spec.provider.type",
            "provider 'datadog' is not supported by cronary yet",
            id="datadog",
        ),
        pytest.param(
            "spec.provider.type",
            "graphite",
            "spec.provider.type",
            "not supported by cronary yet (supported: prometheus)",
            id="graphite",
        ),
        pytest.param(
            "spec.provider.type",
            "mystery",
            "spec.provider.type",
            "must be one of prometheus, influxdb",
            id="unknown-type",
        ),
        pytest.param("spec.provider.address", _DELETE, "spec.provider.address", "required", id="no-address"),
        pytest.param(
            "spec.provider.address",
            "prometheus:9090",
            "spec.provider.address",
            "http or https URL",
            id="address-not-url",
        ),
        pytest.param(
            "spec.provider.secretRef", {}, "spec.provider.secretRef.name", "required", id="secret-without-name"
        ),
        pytest.param("metadata.name", "name\n", "metadata.name", "DNS-1123", id="name-trailing-newline"),
        pytest.param(
            "spec.provider.secretRef",
            {"name": "Bad Secret"},
            "spec.provider.secretRef.name",
            "DNS-1123",
            id="secret-bad-name",
        ),
        pytest.param(
            "spec.provider.headers",
            {"X-A": "single"},
            "spec.provider.headers.X-A",
            "list of strings",
            id="header-not-list",
        ),
        pytest.param(
            "spec.provider.headers",
            {"X A": ["v"]},
            "spec.provider.headers",
            "not a valid HTTP header name",
            id="header-bad-name",
        ),
        pytest.param(
            "spec.provider.headers",
            {"X-A": ["v\r\nX-Evil: 1"]},
            "spec.provider.headers.X-A[0]",
            "control characters",
            id="header-injection",
        ),
        pytest.param(
            "spec.provider.insecureSkipVerify",
            "yes",
            "spec.provider.insecureSkipVerify",
            "true or false",
            id="insecure-not-bool",
        ),
        pytest.param("spec.query", _DELETE, "spec.query", "required", id="no-query"),
        pytest.param("spec.query", "sum({{ .Target }})", "spec.query", "2019 template syntax", id="query-2019-syntax"),
        pytest.param(
            "spec.query", "sum({{ nope }})", "spec.query", 'function "nope" not defined', id="query-unknown-function"
        ),
        pytest.param("spec", ["x"], "spec", "must be a map", id="spec-not-map"),
    ],
)
def test_metric_template_errors_name_the_field(path: str, value: Any, error_path: str, message: str) -> None:
    with pytest.raises(SpecError) as err:
        parse_metric_template(_broken(path, value))
    assert err.value.path == error_path
    assert message in err.value.message


# ==================================================================================== query_for
CANARY = {
    "apiVersion": "flagger.app/v1beta1",
    "kind": "Canary",
    "metadata": {"name": "podinfo", "namespace": "test"},
    "spec": {
        "provider": "smi:istio",
        "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "podinfo"},
        "service": {"port": 9898, "name": "frontend"},
        "analysis": {
            "interval": "1m",
            "threshold": 5,
            "maxWeight": 50,
            "stepWeight": 10,
            "metrics": [
                {"name": "request-success-rate", "thresholdRange": {"min": 99}, "interval": "1m"},
                {"name": "request-duration", "thresholdRange": {"max": 500}, "interval": "30s"},
                {
                    "name": "errors",
                    "threshold": 5,
                    "query": 'sum(rate(errors{ns="{{ namespace }}",svc="{{ service }}",app="{{ variables.app }}"}[{{ interval }}]))',
                    "templateVariables": {"app": "web"},
                },
                {
                    "name": "not-found",
                    "thresholdRange": {"max": 5},
                    "interval": "2m",
                    "templateRef": {"name": "not-found-percentage", "namespace": "istio-system"},
                },
                {
                    "name": "request-success-rate-tpl",
                    "thresholdRange": {"max": 5},
                    "templateRef": {"name": "not-found-percentage"},
                },
            ],
        },
    },
}


def _request(name: str, provider: str = "smi:istio") -> tuple[MetricRequest, Any]:
    canary = parse_canary(copy.deepcopy(CANARY))
    metric = next(m for m in canary.spec.analysis.metrics if m.name == name)  # type: ignore[union-attr]
    return MetricRequest(metric, resolve_provider(provider, None)), canary


@pytest.mark.parametrize(
    ("provider", "query_set"),
    [
        ("smi:istio", "istio"),
        ("smi:linkerd", "linkerd"),
        ("linkerd", "linkerd"),
        ("osm", "osm"),
        ("smi:v1alpha2", "istio"),
    ],
)
def test_query_for_builtin_uses_the_providers_query_set(provider: str, query_set: str) -> None:
    request, canary = _request("request-duration", provider)
    rendered = query_for(request.metric, request.provider.metrics, canary)
    assert rendered == RenderedQuery(
        render_builtin_query(DUR, query_set, "test", "podinfo", "30s"),
        aggregate=AggregateKey(DUR, query_set, "30s"),
        series=("test", "podinfo"),
    )
    assert rendered.aggregate.promql == aggregated_builtin_query(DUR, query_set, "30s")  # type: ignore[union-attr]


def test_query_for_builtin_with_old_istio_histogram() -> None:
    request, canary = _request("request-duration")
    rendered = query_for(request.metric, request.provider.metrics, canary, istio_seconds=True)
    assert rendered.promql.endswith("* 1000") and rendered.aggregate == AggregateKey(DUR, "istio", "30s", True)
    request, canary = _request("request-duration", "linkerd")
    assert query_for(request.metric, request.provider.metrics, canary, istio_seconds=True).aggregate == AggregateKey(
        DUR, "linkerd", "30s", False
    )


def test_query_for_dotted_target_is_not_aggregated() -> None:
    doc = copy.deepcopy(CANARY)
    doc["spec"]["targetRef"]["name"] = "web.v2"
    canary = parse_canary(doc)
    metric = canary.spec.analysis.metrics[0]  # type: ignore[union-attr]
    rendered = query_for(metric, "istio", canary)
    assert rendered.aggregate is None and rendered.series is None
    assert 'destination_workload=~"web.v2"' in rendered.promql


def test_query_for_inline_query() -> None:
    request, canary = _request("errors")
    assert query_for(request.metric, request.provider.metrics, canary) == RenderedQuery(
        'sum(rate(errors{ns="test",svc="frontend",app="web"}[1m]))'
    )


def test_query_for_template() -> None:
    request, canary = _request("not-found")
    template = parse_metric_template(copy.deepcopy(TEMPLATE))
    rendered = query_for(request.metric, request.provider.metrics, canary, template)
    assert rendered.address == "http://prometheus.istio-system:9090"
    assert (rendered.secret_name, rendered.secret_namespace) == ("prom-auth", "istio-system")
    assert rendered.headers == template.headers and rendered.insecure_skip_verify
    assert rendered.aggregate is None
    assert (
        'destination_workload_namespace="test",destination_workload="podinfo"' in rendered.promql
        and "[2m]" in rendered.promql
    )


def test_query_for_template_errors() -> None:
    request, canary = _request("not-found")
    with pytest.raises(SpecError, match="MetricTemplate istio-system/not-found-percentage not found"):
        query_for(request.metric, request.provider.metrics, canary, None)
    other = parse_metric_template(copy.deepcopy(TEMPLATE), default_namespace="test")
    request, canary = _request("request-success-rate-tpl")  # templateRef without namespace: the canary's
    wrong = MetricTemplateSpec(**{**other.__dict__, "namespace": "istio-system"})
    with pytest.raises(SpecError, match="refers to MetricTemplate test/not-found-percentage"):
        query_for(request.metric, request.provider.metrics, canary, wrong)
    # a built-in name with a templateRef runs the template (the split judge_metric makes)
    tpl = MetricTemplateSpec(**{**other.__dict__, "namespace": "test"})
    assert query_for(request.metric, request.provider.metrics, canary, tpl).address == tpl.address


def test_query_for_reports_missing_variables_and_missing_query() -> None:
    request, canary = _request("errors")
    bare = MetricSpec(name="errors", threshold=1, query=request.metric.query)
    with pytest.raises(SpecError, match='map has no entry for key "app"') as err:
        query_for(bare, "istio", canary)
    assert err.value.path == "metric 'errors'.query"
    with pytest.raises(SpecError, match="no usable metrics template and query"):
        query_for(MetricSpec(name="x", threshold=1), "istio", canary)
    templated = MetricSpec(name="x", threshold=1, template_ref=TemplateRef("t"))
    with pytest.raises(SpecError, match="MetricTemplate test/t not found"):
        query_for(templated, "istio", canary)


def test_aggregated_query_narrowed_to_the_canaries_series() -> None:
    """With `series`, every selector gets set matchers for the namespaces and workloads asked for; dots are
    escaped so `my.app` cannot match `my-app`; names that could inject PromQL are refused."""
    query = aggregated_builtin_query(
        "request-success-rate", "istio", "1m", series=[("test", "podinfo"), ("prod", "my.app")]
    )
    matchers = 'destination_workload_namespace=~"prod|test",destination_workload=~"my\\\\.app|podinfo",'
    assert query.count("{" + matchers) == 2
    assert (
        aggregated_builtin_query("request-duration", "linkerd", "1m", series=[("test", "podinfo")]).count(
            '{namespace=~"test",deployment=~"podinfo",'
        )
        == 1
    )
    assert aggregated_builtin_query("request-success-rate", "istio", "1m") == aggregated_builtin_query(
        "request-success-rate", "istio", "1m", series=()
    )
    with pytest.raises(SpecError):
        aggregated_builtin_query("request-success-rate", "istio", "1m", series=[("test", 'podinfo"}) or vector(1) #')])
