"""Sending alerts (`requests`): the engine renders each alert's request for its provider type
(`engine.alerting`: Flagger's Slack, Teams and Discord payloads, cronary's generic one), this posts it.

Transport as in Flagger's `postMessage`: one JSON POST, a 5 s timeout, the provider's proxy if any, success
is HTTP 2xx, no retries. Nothing here raises into the tick: every failure is a `SendResult` with `ok=False`
and an error text. A webhook address (and a token, and a proxy with its
credentials) is a secret: it never appears in a log line, an error text or a result — providers are named
by `<name>.<namespace>`, and an endpoint's answer passes `engine.redact` (the one redactor) first.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cronjob.shared.transport import request_failure
from engine.alerting.alerts import Alert, Delivery
from engine.alerting.factory import request_for
from engine.alerting.notifier import NotifierTarget
from engine.alerting.providers import AlertProviderSpec, resolve_target
from engine.errors import SpecError
from engine.redact import redact

if TYPE_CHECKING:
    import requests  # imported when an alert is sent: a tick without alerts never loads it

SecretReader = Callable[[str, str], Mapping[str, str] | None]
DEFAULT_TIMEOUT_SECONDS = 5.0  # Flagger's notifier timeout
MAX_ERROR_BODY = 200

log = logging.getLogger("cronary.alerts")


# ------------------------------------------------------------------------------------------------ sending
@dataclass(frozen=True)
class SendResult:
    """The outcome of one alert for one provider; `error` never contains an address or a token."""

    provider: str  # `<name>.<namespace>` of the AlertProvider, or `global`
    type: str
    message: str
    severity: str
    ok: bool
    error: str = ""
    status: int | None = None


def post_alert(
    alert: Alert,
    target: NotifierTarget,
    *,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    session: requests.Session | None = None,
) -> SendResult:
    """POST one alert; never raises. The URL, token and proxy appear in no log line and no result."""
    result = SendResult(target.label, target.type, alert.message, alert.severity, ok=False)
    try:
        request = request_for(alert, target)
    except ValueError as err:
        return _logged(alert, _replace(result, error=str(err)))
    url = request.url
    import requests

    proxies = {"http": target.proxy, "https": target.proxy} if target.proxy else None
    poster = session.post if session is not None else requests.post
    try:
        response = poster(
            url,
            json=request.body,
            headers=dict(request.headers),
            timeout=timeout,
            proxies=proxies,
            allow_redirects=False,
        )
    except requests.RequestException as err:
        return _logged(alert, _replace(result, error=f"sending notification failed: {request_failure(err)}"))
    except Exception as err:
        return _logged(alert, _replace(result, error=f"sending notification failed: {type(err).__name__}"))
    if 200 <= response.status_code < 300:
        return _logged(alert, _replace(result, ok=True, status=response.status_code))
    # redacted before it is cut: a credential cut in half would no longer be recognised
    snippet = redact(response.text or "", target.url, url, target.proxy, secrets=(target.token,))[
        :MAX_ERROR_BODY
    ].strip()
    error = f"sending notification bad response {response.status_code}" + (f": {snippet}" if snippet else "")
    return _logged(alert, _replace(result, error=error, status=response.status_code))


def _replace(result: SendResult, **changes: Any) -> SendResult:
    return SendResult(**{**result.__dict__, **changes})


def _logged(alert: Alert, result: SendResult) -> SendResult:
    provider = f"{result.provider} ({result.type})" if result.type else result.provider
    if result.ok:
        log.info("alert sent to %s for %s: %s", provider, alert.canary, alert.message)
    else:
        log.warning("alert to %s for %s failed: %s", provider, alert.canary, result.error)
    return result


def send_alerts(
    items: Iterable[Delivery],
    providers: Mapping[tuple[str, str], AlertProviderSpec | SpecError],
    read_secret: SecretReader | None = None,
    *,
    global_target: NotifierTarget | None = None,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    session: requests.Session | None = None,
) -> list[SendResult]:
    """Post each delivery (from `engine.alerting.alerts.deliveries`) to its AlertProvider, or to `global_target` when
    it has none (no global target: nothing is sent, as Flagger's no-op notifier). A missing or invalid
    provider, a Secret without an address, a timeout or an HTTP error is a failed `SendResult` — the
    remaining alerts are still sent. `providers` is `engine.alerting.providers.alert_providers(cluster)`;
    `read_secret(namespace, name)` returns a Secret's decoded data."""
    results: list[SendResult] = []
    targets: dict[tuple[str, str], NotifierTarget | str] = {}
    for item in items:
        alert = item.alert
        if alert.muted:
            continue
        if item.provider is None:
            if global_target is not None:
                results.append(post_alert(alert, global_target, timeout=timeout, session=session))
            continue
        target = targets.get(item.provider)
        if target is None:
            target = targets[item.provider] = _target(item.provider, providers, read_secret)
        if isinstance(target, str):
            namespace, name = item.provider
            results.append(
                _logged(
                    alert, SendResult(f"{name}.{namespace}", "", alert.message, alert.severity, ok=False, error=target)
                )
            )
            continue
        results.append(post_alert(alert, target, timeout=timeout, session=session))
    return results


def _target(
    key: tuple[str, str],
    providers: Mapping[tuple[str, str], AlertProviderSpec | SpecError],
    read_secret: SecretReader | None,
) -> NotifierTarget | str:
    """The resolved target of a provider, or the error text (which never contains the address)."""
    namespace, name = key
    provider = providers.get(key)
    if provider is None:
        return f"alert provider {name}.{namespace} not found"
    if isinstance(provider, SpecError):
        return f"alert provider {name}.{namespace}: {provider}"
    secret = None
    if provider.secret_name is not None:
        try:
            secret = read_secret(provider.namespace, provider.secret_name) if read_secret is not None else None
        except Exception as err:
            return f"alert provider {provider.label}: secret {provider.namespace}/{provider.secret_name} could not be read ({type(err).__name__})"
    try:
        return resolve_target(provider, secret)
    except SpecError as err:
        return f"alert provider {provider.label}: {err}"
