"""Running the engine's metric queries against Prometheus (`prometheus-api-client`).

The engine renders every query (`engine.analysis.render`); this module only runs them. Built-in metrics of many canaries are answered from one aggregated query per (metric, window, query set),
grouped by namespace and workload, so the number of Prometheus requests in a tick does not grow with the
number of canaries; custom queries (in-line or MetricTemplate) run per canary. Every failure — no data,
NaN, a PromQL error, Prometheus unreachable, an answer that is not what Prometheus' HTTP API promises —
becomes a `MetricResult` the engine counts as a failed check, with one line naming the server as
scheme://host:port and the reason; nothing here raises into the tick, and a bad answer to an aggregated
query fails only the checks of the canaries it serves. Credentials from a MetricTemplate's `secretRef` stay in memory: they are
never logged and never put into a result or an error text. What a server answers passes `engine.redact` (the one
redactor) with its URL.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from cronjob.shared.transport import request_failure
from engine import HookResult, MetricRequest, Settings
from engine.analysis import (
    NO_VALUES,
    AggregateKey,
    MetricResult,
    ProviderCheck,
    RenderedQuery,
    Templates,
    split_aggregated_result,
)
from engine.model import Canary
from engine.redact import origin, redact
from engine.tick import likely_metrics

if TYPE_CHECKING:  # imported at the first query: a tick without metrics never loads requests
    from prometheus_api_client import PrometheusConnect

T = TypeVar("T")
log = logging.getLogger("cronary")
SecretReader = Callable[[str, str], Mapping[str, str] | None]
DEFAULT_TIMEOUT_SECONDS = 5.0  # Flagger's per-query timeout


class QueryFailed(Exception):
    """A query could not be answered; the text is safe to show (no credentials)."""


MAX_REASON_CHARS = 300
"""Longest reason put into a failed check: the rest of a server's text would only flood Events and commits."""
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*(e[+-]?\d+)?|\.\d+(e[+-]?\d+)?|inf|nan)", re.IGNORECASE)
_AUTH_KEYS = ("token", "username", "password")  # what a MetricTemplate's Secret authenticates with
_MEDIA_TYPE = re.compile(r"[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+")


def _clip(text: str) -> str:
    """One printable line of at most `MAX_REASON_CHARS`: a reason goes into log lines, Events and commits."""
    text = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return text if len(text) <= MAX_REASON_CHARS else text[: MAX_REASON_CHARS - 1].rstrip() + "…"


def _check_answer(response: Any, *_args: Any, **_kwargs: Any) -> None:
    """A `requests` response hook: an answer that is not what Prometheus' HTTP API promises (`{"status":
    "success", "data": {"resultType": …, "result": […]}}` with HTTP 200, an `error` text otherwise) raises
    QueryFailed before `prometheus-api-client` indexes into it. HTTP status, an error Prometheus reports and
    a malformed body are told apart; the body itself is never echoed (a proxy's HTML page is not a reason)."""
    status = response.status_code
    if 300 <= status < 400:
        return  # requests follows the redirect and calls this hook again with the answer
    try:
        doc = response.json()
    except ValueError:
        doc = None
    if status != 200:
        error = doc.get("error") if isinstance(doc, dict) else None
        raise QueryFailed(f"HTTP {status}: {error}" if isinstance(error, str) and error else f"HTTP {status}")
    if doc is None:
        kind = _MEDIA_TYPE.match(response.headers.get("Content-Type") or "")
        raise QueryFailed(f"malformed answer: not JSON ({kind.group(0)})" if kind else "malformed answer: not JSON")
    if not isinstance(doc, dict):
        raise QueryFailed(f"malformed answer: a JSON {type(doc).__name__}, not an object")
    if doc.get("status") == "error":
        said = ": ".join(str(doc[k]) for k in ("errorType", "error") if doc.get(k))
        raise QueryFailed(f"HTTP 200 with status error: {said}" if said else "HTTP 200 with status error")
    if doc.get("status") != "success":
        raise QueryFailed("malformed answer: no status success")
    data = doc.get("data")
    if not isinstance(data, dict):
        raise QueryFailed("malformed answer: no data object")
    if not isinstance(data.get("result"), list):
        raise QueryFailed("malformed answer: data.result is not a list")


def _number(text: Any) -> float:
    """A sample value as Prometheus writes it (a JSON string: `1.5`, `NaN`, `+Inf`); anything else is a malformed
    answer (Python's float() would also take `1_000` or a JSON number)."""
    if not isinstance(text, str) or not _NUMBER.fullmatch(text):
        raise QueryFailed(f"malformed answer: sample value {text!r} is not a number")
    return float(text)


def _single_value(result: Any) -> float | None:
    """Flagger's reading of an instant-query result: the last sample's value; None for no data. NaN and ±Inf come
    back as they are (`answer_one` counts them as no values); a sample that is not `{metric, value: [t, "v"]}`
    is a malformed answer."""
    if not isinstance(result, list):
        raise QueryFailed("malformed answer: data.result is not a list")
    if len(result) == 2 and not isinstance(result[0], dict):
        raise QueryFailed("query returned a scalar, not a vector")
    value = None
    for sample in result:
        if not isinstance(sample, dict):
            raise QueryFailed("malformed answer: a sample is not an object")
        if "values" in sample:
            raise QueryFailed("query returned multiple values")
        pair = sample.get("value")
        if not isinstance(pair, list) or len(pair) != 2:
            raise QueryFailed("malformed answer: a sample has no [time, value] pair")
        value = _number(pair[1])
    return None if value is None or math.isnan(value) else value


@dataclass
class PrometheusMetrics:
    """Answers `MetricRequest`s for a tick. `prefetch` all requests of a fleet first, then `answer` each
    canary's; call `new_tick` between ticks so values are not reused. `read_secret` gives the data of a
    MetricTemplate's `secretRef`."""

    url: str
    read_secret: SecretReader | None = None
    timeout: float = DEFAULT_TIMEOUT_SECONDS
    aggregate: bool = True
    requests_made: int = 0
    # per aggregated query: the (namespace, workload) pairs asked for so far this tick, and their values
    _aggregated: dict[
        AggregateKey,
        tuple[frozenset[tuple[str, str]] | set[tuple[str, str]], dict[tuple[str, str], float] | QueryFailed],
    ] = field(default_factory=dict, repr=False)
    _clients: dict[tuple[str, str | None], PrometheusConnect] = field(default_factory=dict, repr=False)
    _credentials: dict[tuple[str, str | None], tuple[str, ...]] = field(default_factory=dict, repr=False)

    def new_tick(self) -> None:
        self._aggregated.clear()

    # -- connections ---------------------------------------------------------------------------------
    def _key(self, query: RenderedQuery) -> tuple[str, str | None]:
        address = (query.address or self.url).rstrip("/")
        return address, f"{query.secret_namespace}/{query.secret_name}" if query.secret_name else None

    def _client(self, query: RenderedQuery) -> PrometheusConnect:
        key = self._key(query)
        address = key[0]
        client = self._clients.get(key)
        if client is None:
            headers: dict[str, str] = {name: ", ".join(values) for name, values in query.headers}
            auth = None
            if query.secret_name:
                secret = self.read_secret(query.secret_namespace or "", query.secret_name) if self.read_secret else None
                if not secret:
                    raise QueryFailed(f"secret {query.secret_namespace}/{query.secret_name} not found")
                # what a server may echo of them is masked in every reason (`_run`)
                self._credentials[key] = tuple(str(v) for k, v in secret.items() if k in _AUTH_KEYS and v)
                if secret.get("token"):
                    headers["Authorization"] = f"Bearer {secret['token']}"
                elif secret.get("username") and secret.get("password"):
                    auth = (secret["username"], secret["password"])
                else:
                    raise QueryFailed(
                        f"secret {query.secret_namespace}/{query.secret_name} has neither token nor username and password"
                    )
            import requests
            from prometheus_api_client import PrometheusConnect
            from urllib3.util.retry import Retry

            session = requests.Session()  # ours, so every answer passes _check_answer before the library reads it
            session.verify = not query.insecure_skip_verify
            session.hooks["response"].append(_check_answer)
            client = PrometheusConnect(
                url=address,
                headers=headers or None,
                auth=auth,
                retry=Retry(total=0),
                timeout=self.timeout,
                session=session,
            )
            self._clients[key] = client
        return client

    def _run(self, query: RenderedQuery, promql: str, read: Callable[[list[Any]], T]) -> T:
        """Send `promql` and `read` its `data.result`. Every failure, of the transport, of HTTP, of the body or
        of `read`, leaves as one QueryFailed naming the server as scheme://host:port (never userinfo, path or
        query) and the reason: the network edge of metrics never raises anything else into a tick."""
        from prometheus_api_client import PrometheusApiClientException
        from requests.exceptions import RequestException

        server = origin(query.address or self.url)
        try:
            client = self._client(query)
        except QueryFailed:
            raise  # a missing or unusable secretRef: named by its Secret, not by the server
        except Exception as err:
            raise QueryFailed(f"{server}: cannot query this address ({type(err).__name__})") from None
        self.requests_made += 1
        try:
            return read(client.custom_query(promql))
        except QueryFailed as err:  # _check_answer or `read`
            reason = str(err)
        except RequestException as err:
            reason = request_failure(
                err, tls_hint="certificate not trusted? a MetricTemplate can set insecureSkipVerify"
            )
        except PrometheusApiClientException as err:  # a final 3xx: the only status _check_answer lets through
            found = re.match(r"HTTP Status Code (\d+)", str(err))
            reason = f"HTTP {found.group(1)}" if found else "HTTP error"
        except ValueError as err:  # an aggregated result split_aggregated_result cannot read
            reason = f"malformed answer: {err}"
        except Exception as err:
            reason = f"request failed ({type(err).__name__})"
        credentials = self._credentials.get(self._key(query), ())
        # a server may echo its URL, or the credentials it was sent
        raise QueryFailed(f"{server}: {_clip(redact(reason, query.address or self.url, secrets=credentials))}")

    # -- answering -----------------------------------------------------------------------------------
    def prefetch(self, requests_: Iterable[MetricRequest]) -> None:
        """Run each distinct aggregated query of these requests once, narrowed to their canaries' series."""
        if not self.aggregate:
            return
        wanted: dict[AggregateKey, set[tuple[str, str]]] = {}
        for request in requests_:
            query = request.query
            if query is not None and query.aggregate is not None and query.series is not None:
                wanted.setdefault(query.aggregate, set()).add(query.series)
        for key, series in wanted.items():
            self._fetch_aggregate(key, series)

    def prefetch_canaries(
        self, canaries: Iterable[Canary], settings: Settings, templates: Templates | None = None
    ) -> None:
        """`prefetch` the metrics these canaries' decisions will most likely ask for (`templates`: the
        MetricTemplates their decisions will see). Never raises: a canary whose metrics cannot be worked out is
        left to its own decision (which reports why), and whatever goes wrong with a query is kept as the
        result of the checks that query serves."""
        requests_: list[MetricRequest] = []
        for canary in canaries:
            try:
                requests_.extend(likely_metrics(canary, settings, templates))
            except Exception:
                continue
        try:
            self.prefetch(requests_)
        except Exception as err:
            log.warning(
                "metrics prefetch failed (%s); each canary's metrics are asked for on their own", type(err).__name__
            )

    def _fetch_aggregate(self, key: AggregateKey, series: set[tuple[str, str]]) -> None:
        values: dict[tuple[str, str], float] | QueryFailed
        try:
            promql = key.promql_for(series)
            values = self._run(
                RenderedQuery(promql, address=key.address),
                promql,
                lambda result: split_aggregated_result(key.metric, key.query_set, result),
            )
        except QueryFailed as err:
            values = err
        except Exception as err:
            values = QueryFailed(f"aggregated {key.metric} query failed ({type(err).__name__})")
        covered, known = self._aggregated.get(key, (frozenset(), {}))
        if isinstance(values, QueryFailed):
            self._aggregated[key] = (covered | series, values)
        else:
            self._aggregated[key] = (covered | series, {**(known if isinstance(known, dict) else {}), **values})

    def answer_one(self, request: MetricRequest) -> MetricResult:
        """One metric's result. NaN (0/0: series, but no traffic in the window) is Flagger HEAD's "no values
        found"; so is ±Inf (a histogram without a finite bucket), which `MetricResult.has_value` never counts as
        a measurement either. Both fail the check, as no data does; so does a query the engine could not render."""
        query = request.query
        if query is None:
            return MetricResult(None, request.problem)
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
                value = self._run(query, query.promql, _single_value)
        except QueryFailed as err:
            return MetricResult(None, str(err))
        return (
            MetricResult(value, None) if value is not None and math.isfinite(value) else MetricResult(None, NO_VALUES)
        )

    def answer(self, requests_: Iterable[MetricRequest]) -> dict[str, MetricResult]:
        return {request.metric.name: self.answer_one(request) for request in requests_}

    def providers_available(self, check: ProviderCheck) -> HookResult:
        """Flagger's `checkMetricProviderAvailability`: `vector(1)` must answer 1 on each metrics server the
        engine names (the default server for the built-in metrics, a MetricTemplate's own provider for a
        template metric). A canary whose metrics need no server (none, or in-line queries) asks nothing."""
        if check.problem:
            return HookResult(False, check.problem)
        for probe in check.probes:
            try:
                value = self._run(probe.query, probe.query.promql, _single_value)
            except QueryFailed as err:
                return HookResult(False, f"{probe.label}: {err}")
            if value != 1:
                return HookResult(False, f"{probe.label}: vector(1) returned {value}")
        return HookResult(True)
