"""Running the engine's metric queries against Prometheus (`prometheus-api-client`).

Built-in metrics of many canaries are answered from one aggregated query per (metric, window, query set),
grouped by namespace and workload, so the number of Prometheus requests in a tick does not grow with the
number of canaries; custom queries (in-line or MetricTemplate) run per canary. Every failure — no data,
NaN, a PromQL error, Prometheus unreachable — becomes a `MetricResult` the engine counts as a failed check;
nothing here raises into the tick. Credentials from a MetricTemplate's `secretRef` stay in memory: they are
never logged and never put into a result or an error text. A server is named by its origin only, and what it
answers passes `engine.redact` (the one redactor) with its URL.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping

from engine.analysis import NO_VALUES, MetricResult
from engine.errors import SpecError
from engine.metric_templates import MetricTemplateSpec
from engine.model import BUILTIN_METRICS, Canary
from engine.queries import AggregateKey, RenderedQuery, query_for, split_aggregated_result
from engine.redact import origin, redact
from engine.tick import HookResult, MetricRequest

if TYPE_CHECKING:  # imported at the first query: a tick without metrics never loads requests
    from prometheus_api_client import PrometheusConnect

SecretReader = Callable[[str, str], Mapping[str, str] | None]
DEFAULT_TIMEOUT_SECONDS = 5.0  # Flagger's per-query timeout


class QueryFailed(Exception):
    """A query could not be answered; the text is safe to show (no credentials)."""


def _describe(err: Exception) -> str:
    import requests
    from prometheus_api_client import PrometheusApiClientException

    if isinstance(err, PrometheusApiClientException):
        # prometheus-api-client puts the status and the body's repr in the message; Prometheus' JSON
        # `error` field is the useful part ("1:28: parse error: unclosed left parenthesis").
        text = str(err).replace("\\\\", "\\")
        found = re.search(r'"error":"((?:[^"\\]|\\.)*)"', text)
        if found is None:
            return text.split(" (", 1)[0]
        try:
            return str(json.loads(f'"{found.group(1)}"'))
        except ValueError:
            return found.group(1)
    if isinstance(err, requests.exceptions.Timeout):
        return "timed out"
    if isinstance(err, requests.exceptions.ConnectionError):
        return "connection refused or unreachable"
    return type(err).__name__


def _single_value(result: Any) -> float | None:
    """Flagger's reading of an instant-query result: the last sample's value; None for no data."""
    if isinstance(result, list) and len(result) == 2 and not isinstance(result[0], dict):
        raise QueryFailed("query returned a scalar, not a vector")
    value = None
    for sample in result or []:
        if "values" in sample:
            raise QueryFailed("query returned multiple values")
        value = float(sample["value"][1])
    return None if value is None or math.isnan(value) else value


@dataclass
class PrometheusMetrics:
    """Answers `MetricRequest`s for a tick. `prefetch` all requests of a fleet first, then `answer` each
    canary's; call `new_tick` between ticks so values are not reused."""

    url: str
    templates: Mapping[tuple[str, str], MetricTemplateSpec] = field(default_factory=dict)
    read_secret: SecretReader | None = None
    timeout: float = DEFAULT_TIMEOUT_SECONDS
    istio_seconds: bool = False
    aggregate: bool = True
    requests_made: int = 0
    # per aggregated query: the (namespace, workload) pairs asked for so far this tick, and their values
    _aggregated: dict[AggregateKey, tuple[frozenset[tuple[str, str]] | set[tuple[str, str]], dict[tuple[str, str], float] | QueryFailed]] = field(
        default_factory=dict, repr=False
    )
    _rendered: dict[tuple[str, str, str], RenderedQuery | SpecError] = field(default_factory=dict, repr=False)
    _clients: dict[tuple[str, str | None], PrometheusConnect] = field(default_factory=dict, repr=False)

    def new_tick(self) -> None:
        self._aggregated.clear()
        self._rendered.clear()

    # -- connections ---------------------------------------------------------------------------------
    def _client(self, query: RenderedQuery) -> PrometheusConnect:
        address = (query.address or self.url).rstrip("/")
        key = (address, f"{query.secret_namespace}/{query.secret_name}" if query.secret_name else None)
        client = self._clients.get(key)
        if client is None:
            headers: dict[str, str] = {name: ", ".join(values) for name, values in query.headers}
            auth = None
            if query.secret_name:
                secret = self.read_secret(query.secret_namespace or "", query.secret_name) if self.read_secret else None
                if not secret:
                    raise QueryFailed(f"secret {query.secret_namespace}/{query.secret_name} not found")
                if secret.get("token"):
                    headers["Authorization"] = f"Bearer {secret['token']}"
                elif secret.get("username") and secret.get("password"):
                    auth = (secret["username"], secret["password"])
                else:
                    raise QueryFailed(f"secret {query.secret_namespace}/{query.secret_name} has neither token nor username and password")
            from prometheus_api_client import PrometheusConnect
            from urllib3.util.retry import Retry

            client = PrometheusConnect(
                url=address,
                headers=headers or None,
                auth=auth,
                disable_ssl=query.insecure_skip_verify,
                retry=Retry(total=0),
                timeout=self.timeout,
            )
            self._clients[key] = client
        return client

    def _run(self, query: RenderedQuery, promql: str) -> Any:
        import requests
        from prometheus_api_client import PrometheusApiClientException

        client = self._client(query)
        self.requests_made += 1
        try:
            return client.custom_query(promql)
        except (PrometheusApiClientException, requests.exceptions.RequestException, ValueError) as err:
            raise QueryFailed(redact(_describe(err), query.address or self.url)) from None  # a server may echo its URL

    # -- answering -----------------------------------------------------------------------------------
    def _render(self, canary: Canary, request: MetricRequest) -> RenderedQuery:
        """The request's query, rendered once per tick (prefetch and answer share it)."""
        key = (canary.namespace, canary.name, request.metric.name)
        rendered = self._rendered.get(key)
        if rendered is None:
            ref = request.metric.template_ref
            template = self.templates.get((ref.namespace or canary.namespace, ref.name)) if ref is not None else None
            try:
                rendered = query_for(request, canary, template, istio_seconds=self.istio_seconds)
            except SpecError as err:
                rendered = err
            self._rendered[key] = rendered
        if isinstance(rendered, SpecError):
            raise rendered
        return rendered

    def prefetch(self, items: Iterable[tuple[Canary, MetricRequest]]) -> None:
        """Run each distinct aggregated query of these requests once, narrowed to their canaries' series."""
        if not self.aggregate:
            return
        wanted: dict[AggregateKey, set[tuple[str, str]]] = {}
        for canary, request in items:
            try:
                query = self._render(canary, request)
            except SpecError:
                continue
            if query.aggregate is not None and query.series is not None:
                wanted.setdefault(query.aggregate, set()).add(query.series)
        for key, series in wanted.items():
            self._fetch_aggregate(key, series)

    def _fetch_aggregate(self, key: AggregateKey, series: set[tuple[str, str]]) -> None:
        promql = key.promql_for(series)
        try:
            values: dict[tuple[str, str], float] | QueryFailed = split_aggregated_result(key.metric, key.query_set, self._run(RenderedQuery(promql), promql))
        except QueryFailed as err:
            values = err
        except ValueError as err:
            values = QueryFailed(str(err))
        covered, known = self._aggregated.get(key, (frozenset(), {}))
        if isinstance(values, QueryFailed):
            self._aggregated[key] = (covered | series, values)
        else:
            self._aggregated[key] = (covered | series, {**(known if isinstance(known, dict) else {}), **values})

    def answer_one(self, canary: Canary, request: MetricRequest) -> MetricResult:
        try:
            query = self._render(canary, request)
        except SpecError as err:
            return MetricResult(None, str(err))
        try:
            if self.aggregate and query.aggregate is not None and query.series is not None:
                covered, values = self._aggregated.get(query.aggregate, (frozenset(), {}))
                if query.series not in covered:  # not prefetched with this batch: fetch it alone
                    self._fetch_aggregate(query.aggregate, {query.series})
                    covered, values = self._aggregated[query.aggregate]
                if isinstance(values, QueryFailed):
                    raise values
                value = values.get(query.series)
            else:
                value = _single_value(self._run(query, query.promql))
        except QueryFailed as err:
            return MetricResult(None, str(err))
        return MetricResult(value, None) if value is not None and math.isfinite(value) else MetricResult(None, NO_VALUES)

    def answer(self, canary: Canary, requests_: Iterable[MetricRequest]) -> dict[str, MetricResult]:
        return {request.metric.name: self.answer_one(canary, request) for request in requests_}

    def providers_available(self, canary: Canary) -> HookResult:
        """Flagger's `checkMetricProviderAvailability`: `vector(1)` must answer 1 on each metrics server the
        canary's analysis uses — the default server for the built-in metrics, a MetricTemplate's own provider
        for a template metric. A canary whose metrics need no server (none, or in-line queries) asks nothing."""
        servers: dict[tuple[str | None, str | None], tuple[str, RenderedQuery]] = {}
        for metric in canary.spec.effective_analysis.metrics:
            ref = metric.template_ref
            if ref is None:
                if metric.name in BUILTIN_METRICS:
                    servers.setdefault((None, None), (f"prometheus {origin(self.url)}", RenderedQuery("vector(1)")))
                continue
            namespace = ref.namespace or canary.namespace
            template = self.templates.get((namespace, ref.name))
            if template is None:
                return HookResult(False, f"MetricTemplate {namespace}/{ref.name} not found")
            probe = RenderedQuery(
                "vector(1)", address=template.address, secret_name=template.secret_name,
                secret_namespace=template.namespace if template.secret_name else None,
                headers=template.headers, insecure_skip_verify=template.insecure_skip_verify,
            )
            label = f"{template.provider_type} in MetricTemplate {template.namespace}/{template.name}"
            servers.setdefault((template.address or None, probe.secret_namespace and f"{probe.secret_namespace}/{probe.secret_name}"), (label, probe))
        for label, probe in servers.values():
            try:
                value = _single_value(self._run(probe, "vector(1)"))
            except QueryFailed as err:
                return HookResult(False, f"{label}: {err}")
            if value != 1:
                return HookResult(False, f"{label}: vector(1) returned {value}")
        return HookResult(True)
