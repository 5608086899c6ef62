"""PromQL for canary metrics: built-in queries per query set, custom query templates, fleet aggregation.

Pure: the engine renders, the shell runs (`docs/metrics.md`). Everything that reaches PromQL is checked
first — namespaces and names are DNS-1123, the interval is a Prometheus duration, template variables may
not leave the string (or token) they are placed in — so a crafted Canary cannot inject PromQL.

Built-in queries are Flagger HEAD's (`pkg/metrics/observers/{istio,linkerd,osm}.go`, v1.44.0) rendered as
HEAD renders them (`text/template` functions, `missingkey=error`) and with HEAD's whitespace handling
(`PrometheusProvider.trimQuery`: each run of whitespace becomes one space). cronary also strips the single
leading/trailing space that leaves; Prometheus ignores it either way.

Units: every built-in `request-duration` query yields **milliseconds**. With `istio_seconds=True` (Istio
<= 1.4, `istio_request_duration_seconds_bucket`) the query itself multiplies by 1000 (`… * 1000`), which is
the same float64 multiplication Flagger 2019 did in Go (`v*1000`), so `judge_metric`'s `int()` truncation
sees the same number, and the per-canary and aggregated paths need no unit handling in the shell.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from .errors import SpecError
from .model import BUILTIN_DURATION, BUILTIN_METRICS, BUILTIN_SUCCESS_RATE, Canary
from .names import require_label, require_subdomain

if TYPE_CHECKING:  # pragma: no cover
    from .metric_templates import MetricTemplateSpec
    from .protocol import MetricRequest

QUERY_SETS = ("istio", "linkerd", "osm")

# ------------------------------------------------------------------------------------------ HEAD's queries
# Verbatim from Flagger v1.44.0 (indentation as in the Go source; it is collapsed before sending).
_BUILTIN: dict[str, dict[str, str]] = {
    "istio": {
        BUILTIN_SUCCESS_RATE: """
	sum(
		rate(
			istio_requests_total{
				reporter="destination",
				destination_workload_namespace="{{ namespace }}",
				destination_workload=~"{{ target }}",
				response_code!~"5.*"
			}[{{ interval }}]
		)
	) 
	/ 
	sum(
		rate(
			istio_requests_total{
				reporter="destination",
				destination_workload_namespace="{{ namespace }}",
				destination_workload=~"{{ target }}"
			}[{{ interval }}]
		)
	) 
	* 100""",
        BUILTIN_DURATION: """
	histogram_quantile(
		0.99,
		sum(
			rate(
				istio_request_duration_milliseconds_bucket{
					reporter="destination",
					destination_workload_namespace="{{ namespace }}",
					destination_workload=~"{{ target }}"
				}[{{ interval }}]
			)
		) by (le)
	)""",
    },
    # Success rate with `classification!="failure"`: the 0.14–0.16 bug (`="failure"`, the failure
    # percentage under the success-rate name) is fixed, as in Flagger >= 0.17.0.
    "linkerd": {
        BUILTIN_SUCCESS_RATE: """
	sum(
		rate(
			response_total{
				namespace="{{ namespace }}",
				deployment=~"{{ target }}",
				classification!="failure",
				direction="inbound"
			}[{{ interval }}]
		)
	) 
	/ 
	sum(
		rate(
			response_total{
				namespace="{{ namespace }}",
				deployment=~"{{ target }}",
				direction="inbound"
			}[{{ interval }}]
		)
	) 
	* 100""",
        BUILTIN_DURATION: """
	histogram_quantile(
		0.99,
		sum(
			rate(
				response_latency_ms_bucket{
					namespace="{{ namespace }}",
					deployment=~"{{ target }}",
					direction="inbound"
				}[{{ interval }}]
			)
		) by (le)
	)""",
    },
    "osm": {
        BUILTIN_SUCCESS_RATE: """
    sum(
        rate(
            osm_request_total{
				destination_namespace="{{ namespace }}",
				destination_kind="Deployment",
				destination_name="{{ target }}",
				response_code!~"5.*"
            }[{{ interval }}]
        )
    )
    /
    sum(
        rate(
            osm_request_total{
				destination_namespace="{{ namespace }}",
				destination_kind="Deployment",
				destination_name="{{ target }}"
            }[{{ interval }}]
        )
    )
	* 100""",
        BUILTIN_DURATION: """
	histogram_quantile(
		0.99,
		sum(
		  rate(
			osm_request_duration_ms_bucket{
				destination_namespace="{{ namespace }}",
				destination_kind="Deployment",
				destination_name="{{ target }}"
			}[{{ interval }}]
		  )
		) by (le)
	)""",
    },
}

_ISTIO_MS_BUCKET = "istio_request_duration_milliseconds_bucket"
_ISTIO_S_BUCKET = "istio_request_duration_seconds_bucket"

# The (namespace, workload) labels each query set selects a canary by, and the workload matcher it uses.
AGGREGATION_LABELS: dict[str, tuple[str, str]] = {
    "istio": ("destination_workload_namespace", "destination_workload"),
    "linkerd": ("namespace", "deployment"),
    "osm": ("destination_namespace", "destination_name"),
}
_WORKLOAD_MATCH_IS_REGEX = {"istio": True, "linkerd": True, "osm": False}

# The same queries with the canary selector (namespace, workload) replaced by a grouping on those labels.
_AGGREGATED: dict[str, dict[str, str]] = {
    "istio": {
        BUILTIN_SUCCESS_RATE: """
	sum by (destination_workload_namespace, destination_workload) (
		rate(istio_requests_total{reporter="destination",response_code!~"5.*"}[{{ interval }}])
	)
	/
	sum by (destination_workload_namespace, destination_workload) (
		rate(istio_requests_total{reporter="destination"}[{{ interval }}])
	)
	* 100""",
        BUILTIN_DURATION: """
	histogram_quantile(
		0.99,
		sum by (le, destination_workload_namespace, destination_workload) (
			rate(istio_request_duration_milliseconds_bucket{reporter="destination"}[{{ interval }}])
		)
	)""",
    },
    "linkerd": {
        BUILTIN_SUCCESS_RATE: """
	sum by (namespace, deployment) (
		rate(response_total{classification!="failure",direction="inbound"}[{{ interval }}])
	)
	/
	sum by (namespace, deployment) (
		rate(response_total{direction="inbound"}[{{ interval }}])
	)
	* 100""",
        BUILTIN_DURATION: """
	histogram_quantile(
		0.99,
		sum by (le, namespace, deployment) (
			rate(response_latency_ms_bucket{direction="inbound"}[{{ interval }}])
		)
	)""",
    },
    "osm": {
        BUILTIN_SUCCESS_RATE: """
	sum by (destination_namespace, destination_name) (
		rate(osm_request_total{destination_kind="Deployment",response_code!~"5.*"}[{{ interval }}])
	)
	/
	sum by (destination_namespace, destination_name) (
		rate(osm_request_total{destination_kind="Deployment"}[{{ interval }}])
	)
	* 100""",
        BUILTIN_DURATION: """
	histogram_quantile(
		0.99,
		sum by (le, destination_namespace, destination_name) (
			rate(osm_request_duration_ms_bucket{destination_kind="Deployment"}[{{ interval }}])
		)
	)""",
    },
}

# ------------------------------------------------------------------------------------------ validation
# Prometheus' duration syntax (model.ParseDuration): units in descending order, each at most once.
_PROM_DURATION = re.compile(
    r"(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?"
)  # fullmatch

# Go's regexp `\s` (RE2): space, \t, \n, \f, \r — narrower than Python's `\s`.
_GO_SPACE_RUN = re.compile(r"[\t\n\f\r ]+")


def require_prometheus_duration(path: str, value: object) -> str:
    """A Prometheus range duration such as `30s`, `1m`, `1h30m` or `500ms` (positive), else SpecError."""
    match = _PROM_DURATION.fullmatch(value) if isinstance(value, str) and value else None
    if match is None:
        raise SpecError(path, f"must be a Prometheus duration like 30s, 1m or 1h30m, got {value!r}")
    if not any(int(part) for part in match.groups() if part):
        raise SpecError(path, f"must be longer than zero, got {value!r}")
    return value


def collapse_whitespace(query: str) -> str:
    """HEAD's `trimQuery` (every whitespace run becomes one space), plus stripping both ends."""
    return _GO_SPACE_RUN.sub(" ", query).strip(" ")


def _query_set(provider_metrics: str) -> str:
    if provider_metrics not in QUERY_SETS:
        raise SpecError("spec.provider", f"no built-in query set {provider_metrics!r} (known: {', '.join(QUERY_SETS)})")
    return provider_metrics


def _builtin_name(metric_name: str) -> str:
    if metric_name not in BUILTIN_METRICS:
        raise SpecError("name", f"{metric_name!r} is not a built-in metric ({', '.join(BUILTIN_METRICS)})")
    return metric_name


def _with_istio_seconds(template: str, query_set: str, metric_name: str, istio_seconds: bool) -> str:
    """The Istio <= 1.4 histogram: seconds, multiplied by 1000 in PromQL so the result is milliseconds."""
    if not istio_seconds or query_set != "istio" or metric_name != BUILTIN_DURATION:
        return template
    return template.replace(_ISTIO_MS_BUCKET, _ISTIO_S_BUCKET) + " * 1000"


# ------------------------------------------------------------------------------------------ templates
_FUNCTIONS = ("name", "namespace", "target", "service", "ingress", "route", "interval")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_VARIABLE = re.compile(r"^variables\.([A-Za-z_][A-Za-z0-9_]*)$")
_TRIM = " \t\r\n"  # Go text/template's trim markers remove these (ASCII space, tab, CR, LF)
_SUPPORTED = "{{ name }}, {{ namespace }}, {{ target }}, {{ service }}, {{ ingress }}, {{ route }}, {{ interval }}, {{ variables.KEY }}"


@dataclass(frozen=True)
class _Action:
    """`{{ function }}` (key None) or `{{ variables.key }}`; `source` is the action as written."""

    function: str
    key: str | None
    source: str
    line: int


@lru_cache(maxsize=4096)
def parse_template(text: str, path: str = "query") -> tuple[str | _Action, ...]:
    """Split a query template into literal text and actions. Only HEAD's functions and `variables.KEY` are
    accepted (plus `{{/* comments */}}` and the `{{-`/`-}}` trim markers); anything else is a SpecError
    naming the action — cronary is a substitution engine, not a template language."""
    if not isinstance(text, str):
        raise SpecError(path, f"must be a string, got {text!r}")
    parts: list[str | _Action] = []
    pos = 0
    while True:
        start = text.find("{{", pos)
        if start < 0:
            parts.append(text[pos:])
            break
        line = text.count("\n", 0, start) + 1
        literal = text[pos:start]
        inner = start + 2
        if text[inner : inner + 1] == "-" and text[inner + 1 : inner + 2] in tuple(_TRIM):
            literal = literal.rstrip(_TRIM)
            inner += 2
        trim_right = False
        if text.startswith("/*", inner):  # a comment: `{{/* … */}}`, possibly with trim markers
            close = text.find("*/", inner + 2)
            if close < 0:
                raise SpecError(path, f"template line {line}: unclosed comment")
            after = close + 2
            if text.startswith("}}", after):
                end = after + 2
            elif text[after : after + 1] in tuple(_TRIM) and text.startswith("-}}", after + 1):
                end, trim_right = after + 4, True
            else:
                raise SpecError(path, f"template line {line}: comment ends without closing delimiter")
            action: _Action | None = None
        else:
            close = text.find("}}", inner)
            if close < 0:
                raise SpecError(path, f"template line {line}: unclosed action {text[start : start + 40]!r}")
            body = text[inner:close]
            if len(body) >= 2 and body.endswith("-") and body[-2] in _TRIM:
                body, trim_right = body[:-1], True
            end = close + 2
            action = _parse_action(body.strip(_TRIM), text[start:end], line, path)
        parts.append(literal)
        if action is not None:
            parts.append(action)
        pos = end
        if trim_right:
            while pos < len(text) and text[pos] in _TRIM:
                pos += 1
    return tuple(p for p in parts if not (isinstance(p, str) and p == ""))


def _parse_action(body: str, source: str, line: int, path: str) -> _Action:
    if body in _FUNCTIONS:
        return _Action(body, None, source, line)
    variable = _VARIABLE.match(body)
    if variable:
        return _Action("variables", variable.group(1), source, line)
    where = f"template line {line}: {source}"
    if body == "variables":
        raise SpecError(path, f"{where}: use {{{{ variables.KEY }}}} to read one of the metric's templateVariables")
    if body.startswith("."):
        raise SpecError(
            path,
            f"{where}: fields like {{{{ .Namespace }}}} are the 2019 template syntax; Flagger >= 1.0 and cronary use functions: {_SUPPORTED}",
        )
    if _IDENT.match(body):
        raise SpecError(path, f'{where}: function "{body}" not defined (supported: {_SUPPORTED})')
    raise SpecError(path, f"{where}: unsupported template action; cronary only substitutes {_SUPPORTED}")


# Where in PromQL a substituted value lands, found by scanning the text before it.
_OUTSIDE, _COMMENT = "", "#"
_TOKEN_VALUE = re.compile(r"^[A-Za-z0-9_.:]*$")


def _scan(state: tuple[str, bool], chunk: str) -> tuple[str, bool]:
    """PromQL lexical state after `chunk`: (`"`, `'`, `` ` ``, `#` or "" for outside, in-escape)."""
    quote, escaped = state
    for char in chunk:
        if quote == _OUTSIDE:
            if char in "\"'`":
                quote = char
            elif char == "#":
                quote = _COMMENT
        elif quote == _COMMENT:
            if char == "\n":
                quote = _OUTSIDE
        elif escaped:
            escaped = False
        elif char == "\\" and quote != "`":
            escaped = True
        elif char == quote:
            quote = _OUTSIDE
    return quote, escaped


def _check_variable(path: str, action: _Action, value: str, context: str) -> None:
    where = f"template line {action.line}: {action.source}"
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise SpecError(path, f"{where}: variable {action.key!r} contains a control character")
    if context in ('"', "'"):
        if context in value or "\\" in value:
            raise SpecError(
                path,
                f"{where}: variable {action.key!r} = {value!r} would end the {context}…{context} string it is placed in (quotes and backslashes are not allowed there)",
            )
    elif context == "`":
        if "`" in value:
            raise SpecError(
                path, f"{where}: variable {action.key!r} = {value!r} would end the `…` string it is placed in"
            )
    elif context == _OUTSIDE and not _TOKEN_VALUE.match(value):
        raise SpecError(
            path,
            f"{where}: variable {action.key!r} = {value!r} is placed outside a string, where only letters, digits, '_', '.' and ':' are allowed (put it inside quotes)",
        )


def _render(
    parts: tuple[str | _Action, ...], values: Mapping[str, str], variables: Mapping[str, str], path: str
) -> str:
    out: list[str] = []
    state: tuple[str, bool] = (_OUTSIDE, False)
    for part in parts:
        if isinstance(part, str):
            out.append(part)
            state = _scan(state, part)
            continue
        if part.key is None:
            value = values[part.function]
        else:
            if part.key not in variables:
                defined = ", ".join(sorted(variables)) or "none"
                raise SpecError(
                    path,
                    f'template line {part.line}: {part.source}: map has no entry for key "{part.key}" (templateVariables defines: {defined})',
                )
            value = variables[part.key]
            _check_variable(path, part, value, state[0])
        out.append(value)
        state = _scan(state, value)
    return collapse_whitespace("".join(out))


# `engine.names` anchors with `$`, which also matches before a final newline; PromQL gets a stricter check.
_NAME_CHARS = re.compile(r"[a-z0-9.-]+")


def require_name(path: str, value: object, *, label: bool) -> str:
    """A DNS-1123 label (`label=True`) or subdomain, whole string only; SpecError otherwise."""
    checked = require_label(path, value) if label else require_subdomain(path, value)
    if not _NAME_CHARS.fullmatch(checked):
        kind = (
            "label (lower-case letters, digits and '-')" if label else "name (lower-case letters, digits, '-' and '.')"
        )
        raise SpecError(path, f"must be a DNS-1123 {kind}, got {value!r}")
    return checked


def _model(
    namespace: str,
    target: str,
    interval: str,
    *,
    name: str | None = None,
    service: str | None = None,
    ingress: str | None = None,
    route: str | None = None,
) -> dict[str, str]:
    """HEAD's `MetricTemplateModel`, every name checked before it can reach PromQL."""
    namespace = require_name("metadata.namespace", namespace, label=True)
    target = require_name("spec.targetRef.name", target, label=False)
    return {
        "name": require_name("metadata.name", name, label=True) if name is not None else target,
        "namespace": namespace,
        "target": target,
        "service": require_name("spec.service.name", service, label=False) if service else target,
        "ingress": require_name("spec.ingressRef.name", ingress, label=False) if ingress else target,
        "route": require_name("spec.routeRef.name", route, label=False) if route else target,
        "interval": require_prometheus_duration("interval", interval),
    }


def render_custom_query(
    template_text: str,
    *,
    name: str,
    namespace: str,
    target: str,
    service: str | None,
    interval: str,
    variables: Mapping[str, str] | tuple[tuple[str, str], ...] = (),
    ingress: str | None = None,
    route: str | None = None,
    path: str = "query",
) -> str:
    """Render an in-line `query` or a MetricTemplate `query` as Flagger HEAD does (functions `name`,
    `namespace`, `target`, `service`, `ingress`, `route`, `interval`, `variables.KEY`; a missing key is an
    error), whitespace collapsed. `service`/`ingress`/`route` default to the target, as in Flagger.
    SpecError (with `path`) for anything it cannot render safely."""
    values = _model(namespace, target, interval, name=name, service=service, ingress=ingress, route=route)
    return _render(parse_template(template_text, path), values, dict(variables), path)


def render_builtin_query(
    metric_name: str, provider_metrics: str, namespace: str, target: str, interval: str, *, istio_seconds: bool = False
) -> str:
    """HEAD's PromQL for `request-success-rate` (percent) or `request-duration` (P99, milliseconds) of the
    canary workload `target` in `namespace`, for query set `istio`, `linkerd` or `osm`."""
    query_set, metric_name = _query_set(provider_metrics), _builtin_name(metric_name)
    template = _with_istio_seconds(_BUILTIN[query_set][metric_name], query_set, metric_name, istio_seconds)
    return _render(parse_template(template), _model(namespace, target, interval), {}, "query")


# ------------------------------------------------------------------------------------------ fleet aggregation
def aggregated_builtin_query(
    metric_name: str,
    provider_metrics: str,
    interval: str,
    *,
    istio_seconds: bool = False,
    series: Iterable[tuple[str, str]] = (),
) -> str:
    """ONE query answering `render_builtin_query` for every canary of the query set at once: the result
    vector has one sample per (namespace, workload) (labels `AGGREGATION_LABELS[provider_metrics]`).
    Equal per canary to the per-canary query when `aggregation_matches_per_canary` holds.

    `series` — the (namespace, workload) pairs wanted — narrows every selector to those namespaces and
    workloads (a set match), so Prometheus evaluates the canaries' series only, not every workload of the
    mesh (primaries included); the result may hold more pairs than asked (the cross product), never fewer."""
    query_set, metric_name = _query_set(provider_metrics), _builtin_name(metric_name)
    template = _with_istio_seconds(_AGGREGATED[query_set][metric_name], query_set, metric_name, istio_seconds)
    query = _render(
        parse_template(template), {"interval": require_prometheus_duration("interval", interval)}, {}, "query"
    )
    pairs = sorted(set(series))
    if not pairs:
        return query
    ns_label, workload_label = AGGREGATION_LABELS[query_set]
    namespaces = sorted({require_name("namespace", ns, label=True) for ns, _ in pairs})
    workloads = sorted({require_name("workload", name, label=False) for _, name in pairs})
    matchers = f'{ns_label}=~"{_alternation(namespaces)}",{workload_label}=~"{_alternation(workloads)}",'
    return re.sub(r"\{(?=[a-z_]+(?:=|!=|=~|!~)\")", lambda _: "{" + matchers, query)


def _alternation(names: list[str]) -> str:
    """A PromQL regex matching exactly these DNS-1123 names (only `.` needs escaping, as `\\.` in the string)."""
    return "|".join(name.replace(".", "\\\\.") for name in names)


def aggregation_matches_per_canary(provider_metrics: str, target: str) -> bool:
    """Whether grouping by the exact workload label gives what Flagger's selector selects for `target`.

    Istio and Linkerd select `workload=~"TARGET"`, a fully anchored regex. For a DNS-1123 name the only
    regex metacharacter it can hold is `.` (names are subdomains), so for a target without a dot the regex
    matches exactly that workload and the two are equal. A dotted target (`my.app`) would also match
    `my-app`, `myxapp` …, so such a canary must be queried on its own. OSM matches exactly (`=`)."""
    query_set = _query_set(provider_metrics)
    return not _WORKLOAD_MATCH_IS_REGEX[query_set] or "." not in target


def split_aggregated_result(
    metric_name: str, provider_metrics: str, result_vector: object
) -> dict[tuple[str, str], float]:
    """Per-(namespace, workload) values from the `data.result` list of an aggregated query.

    NaN (a 0/0 success rate or an empty histogram: series, but no traffic in the window) means "no value"
    and is left out, as is every workload with no sample: a canary missing from the dict has no value
    (Flagger's `no values found`). ±Inf is kept. Samples without both labels are skipped. ValueError if the
    result is not an instant vector or a value is not a number."""
    _builtin_name(metric_name)
    ns_label, wl_label = AGGREGATION_LABELS[_query_set(provider_metrics)]
    if not isinstance(result_vector, list):
        raise ValueError(f"aggregated {metric_name} result is not a vector: {type(result_vector).__name__}")
    values: dict[tuple[str, str], float] = {}
    for index, sample in enumerate(result_vector):
        if not isinstance(sample, Mapping):
            raise ValueError(f"aggregated {metric_name} result[{index}] is not a sample: {sample!r}")
        if "values" in sample:
            raise ValueError(
                f"aggregated {metric_name} result[{index}]: query returned multiple values (a range vector)"
            )
        labels, pair = sample.get("metric"), sample.get("value")
        if (
            not isinstance(labels, Mapping)
            or not isinstance(pair, (list, tuple))
            or len(pair) != 2
            or not isinstance(pair[1], str)
        ):
            raise ValueError(f"aggregated {metric_name} result[{index}] is not an instant-vector sample: {sample!r}")
        try:
            value = float(pair[1])
        except ValueError:
            raise ValueError(f"aggregated {metric_name} result[{index}]: value {pair[1]!r} is not a number") from None
        namespace, workload = labels.get(ns_label), labels.get(wl_label)
        if not namespace or not workload:
            continue
        key = (str(namespace), str(workload))
        if key in values:
            raise ValueError(f"aggregated {metric_name} result has two samples for {key[1]}.{key[0]}")
        if not math.isnan(value):
            values[key] = value
    return values


# ------------------------------------------------------------------------------------------ MetricRequest -> query
@dataclass(frozen=True)
class AggregateKey:
    """The aggregated query a built-in request can be answered from; requests with equal keys share it."""

    metric: str
    query_set: str
    interval: str
    istio_seconds: bool = False

    @property
    def promql(self) -> str:
        return aggregated_builtin_query(self.metric, self.query_set, self.interval, istio_seconds=self.istio_seconds)

    def promql_for(self, series: Iterable[tuple[str, str]]) -> str:
        """The shared query narrowed to these (namespace, workload) pairs."""
        return aggregated_builtin_query(
            self.metric, self.query_set, self.interval, istio_seconds=self.istio_seconds, series=series
        )


@dataclass(frozen=True)
class RenderedQuery:
    """One metric request as something to run: `promql` against `address` (None: the default metrics
    server), with basic/bearer auth from Secret `secret_namespace/secret_name` (MetricTemplate `secretRef`:
    key `token`, else `username` + `password`) and extra request `headers`. Headers and the secret's
    content may hold credentials and must never be logged.

    For a built-in that fleet aggregation can answer, `aggregate` names the shared query and `series`
    the (namespace, workload) to read from `split_aggregated_result` — the same value as running `promql`."""

    promql: str
    address: str | None = None
    secret_name: str | None = None
    secret_namespace: str | None = None
    headers: tuple[tuple[str, tuple[str, ...]], ...] = ()
    insecure_skip_verify: bool = False
    aggregate: AggregateKey | None = None
    series: tuple[str, str] | None = None


def query_for(
    request: MetricRequest, canary: Canary, template: MetricTemplateSpec | None = None, *, istio_seconds: bool = False
) -> RenderedQuery:
    """The query for one metric of `canary`: a built-in (by name, unless it has a `templateRef` — the same
    split `judge_metric` makes), a MetricTemplate (`template` must be the one `templateRef` names; its
    namespace defaults to the canary's), or the in-line `query`. SpecError when it cannot be rendered;
    the shell reports that as a failed check of this metric, like a query error."""
    metric = request.metric
    path = f"metric {metric.name!r}"
    ns, target = canary.namespace, canary.spec.target_ref.name
    model: dict[str, Any] = {
        "name": canary.name,
        "namespace": ns,
        "target": target,
        "service": canary.spec.apex_name,
        "interval": metric.interval,
        "variables": metric.template_variables,
    }
    if metric.template_ref is not None:
        ref_ns = metric.template_ref.namespace or ns
        wanted = f"{ref_ns}/{metric.template_ref.name}"
        if template is None:
            raise SpecError(f"{path}.templateRef", f"MetricTemplate {wanted} not found")
        if (template.namespace, template.name) != (ref_ns, metric.template_ref.name):
            raise SpecError(
                f"{path}.templateRef", f"refers to MetricTemplate {wanted}, got {template.namespace}/{template.name}"
            )
        promql = render_custom_query(template.query, path=f"MetricTemplate {wanted} spec.query", **model)
        return RenderedQuery(
            promql,
            address=template.address,
            secret_name=template.secret_name,
            secret_namespace=template.namespace if template.secret_name else None,
            headers=template.headers,
            insecure_skip_verify=template.insecure_skip_verify,
        )
    if metric.name in BUILTIN_METRICS:
        query_set = request.provider.metrics
        promql = render_builtin_query(metric.name, query_set, ns, target, metric.interval, istio_seconds=istio_seconds)
        if not aggregation_matches_per_canary(query_set, target):
            return RenderedQuery(promql)
        seconds = istio_seconds and query_set == "istio"
        return RenderedQuery(
            promql, aggregate=AggregateKey(metric.name, query_set, metric.interval, seconds), series=(ns, target)
        )
    if metric.query:
        return RenderedQuery(render_custom_query(metric.query, path=f"{path}.query", **model))  # type: ignore[arg-type]
    raise SpecError(path, "no usable metrics template and query were configured")


def rendered_as_json(query: RenderedQuery) -> dict[str, Any]:
    """A loggable view: the PromQL and where it goes, never headers or the secret's name."""
    return {"promql": query.promql, "address": query.address, "auth": query.secret_name is not None}
