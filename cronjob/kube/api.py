"""Talking to the Kubernetes API: requests as plain data, sent by the official client.

Every call cronary makes is first built as an `ApiRequest` (method, path, query, body, content type), the way
lightkube builds requests before it sends them. That keeps the readers and appliers testable without a
server, lets the RBAC test compare the calls with the install manifests, and gives one place that sends,
times out and turns every failure into an `ApiError`. The official client's generated models are not used:
responses are parsed as plain JSON, which is what the engine reads anyway (and much cheaper for a fleet).
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode

from cronjob.shared.deferred_import import import_deferred
from cronjob.shared.resources import DEPLOYMENTS, Resource, resource_of
from engine.redact import origin  # the API server named as scheme://host:port, never its path
from engine.timefmt import EARLIEST, LATEST

APPLY_PATCH = "application/apply-patch+yaml"
MERGE_PATCH = "application/merge-patch+json"
JSON = "application/json"
FIELD_MANAGER = "cronary"
USER_AGENT = "cronary"


@dataclass(frozen=True)
class ApiRequest:
    """One call, as data. `what` names it in logs and errors; `sensitive` bodies (Secret copies) are never
    printed anywhere."""

    method: str
    path: str
    what: str
    query: tuple[tuple[str, str], ...] = ()
    body: Any = None
    content_type: str | None = None
    sensitive: bool = False
    note: str = ""  # worth a log line of its own (e.g. a drift being corrected)


@dataclass(frozen=True)
class ApiResponse:
    status: int
    body: Any
    date: datetime | None


Send = Callable[[ApiRequest], ApiResponse]
"""How the shell reaches the API server: `KubeClient.send`, or a test's stand-in."""


class ApiError(Exception):
    """A call that did not succeed: an HTTP error status, or `status` 0 for a transport failure or timeout.
    `date` is the server's `Date` header when it answered (the Lease keeps its clock from it)."""

    def __init__(
        self, request: ApiRequest, status: int, reason: str, message: str, date: datetime | None = None
    ) -> None:
        self.request, self.status, self.reason, self.message, self.date = request, status, reason, message, date
        detail = f"HTTP {status} {reason}" if status else reason
        super().__init__(f"{request.what}: {detail}: {message}" if message else f"{request.what}: {detail}")

    @property
    def conflict(self) -> bool:
        return self.status == 409

    @property
    def not_found(self) -> bool:
        return self.status == 404


def list_request(resource: Resource, namespace: str | None, label_selector: str | None = None) -> ApiRequest:
    query = (("labelSelector", label_selector),) if label_selector else ()
    where = f"in {namespace}" if namespace else "in all namespaces"
    return ApiRequest("GET", resource.path(namespace), f"list {resource.plural} {where}", query)


def apply_request(manifest: Mapping[str, Any], *, sensitive: bool = False, note: str = "") -> ApiRequest:
    """Server-side apply with field manager `cronary`, forcing ownership: the generated objects are
    cronary's (a Canary taken over from Flagger has fields owned by `flagger`)."""
    resource = resource_of(manifest)
    meta = manifest.get("metadata") or {}
    namespace, name = str(meta.get("namespace") or "default"), str(meta["name"])
    return ApiRequest(
        "PATCH",
        resource.path(namespace, name),
        f"apply {manifest.get('kind')} {namespace}/{name}",
        (("fieldManager", FIELD_MANAGER), ("force", "true")),
        manifest,
        APPLY_PATCH,
        sensitive,
        note,
    )


def scale_request(namespace: str, name: str, replicas: int) -> ApiRequest:
    """The target's replicas through `deployments/scale`: only `spec.replicas` changes, and the apply
    ownership of the user's own fields (or their GitOps tool's) is left alone."""
    return ApiRequest(
        "PATCH",
        DEPLOYMENTS.path(namespace, name, "scale"),
        f"scale Deployment {namespace}/{name} to {replicas}",
        (("fieldManager", FIELD_MANAGER),),
        {"spec": {"replicas": replicas}},
        MERGE_PATCH,
    )


def parse_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return parsed if EARLIEST <= parsed <= LATEST else None  # a server clock nobody could mean: not used


def _status_error(request: ApiRequest, status: int, raw: bytes | str | None, date: datetime | None = None) -> ApiError:
    reason, message = "", ""
    try:
        doc = json.loads(raw or b"")
        if isinstance(doc, dict):
            reason, message = str(doc.get("reason") or ""), str(doc.get("message") or "")
    except ValueError:
        pass
    return ApiError(request, status, reason or "Error", " ".join(message.split())[:300], date)


class KubeClient:
    """Sends `ApiRequest`s through the official client's HTTP layer: its `Configuration` (server, auth, TLS,
    proxy) and its `RESTClientObject` (a urllib3 pool built from that configuration). The generated
    `ApiClient` is not used: it only adds model (de)serialization that cronary does not want (bodies are plain
    JSON both ways) and pydantic at import. No retries here: a failed call aborts that canary's tick, and the
    next tick starts over from what the cluster says. Counts the calls it sends (the benchmark reports them)."""

    def __init__(self, configuration: Any, timeout: float = 10.0) -> None:
        (rest,) = import_deferred("kubernetes.client.rest")
        self.configuration = configuration
        self.rest = rest.RESTClientObject(configuration)
        self.timeout = timeout
        self.sent = 0
        self._api_exception = rest.ApiException

    def send(self, request: ApiRequest) -> ApiResponse:
        headers = {"Accept": JSON, "User-Agent": USER_AGENT}
        if request.body is not None:
            headers["Content-Type"] = request.content_type or JSON
        url = self.configuration.host + request.path
        if request.query:
            url += "?" + urlencode(request.query)
        self.sent += 1
        try:
            for auth in self.configuration.auth_settings().values():  # the bearer token, refreshed when due
                if auth["value"]:
                    headers[auth["key"]] = auth["value"]
            response = self.rest.request(
                request.method, url, headers=headers, body=request.body, _request_timeout=self.timeout
            )
            raw = response.read()
        except self._api_exception as err:  # TLS failures
            raise ApiError(
                request, int(err.status or 0), "RequestFailed", _transport_message(err, self.configuration.host)
            ) from None
        except Exception as err:
            raise ApiError(request, 0, type(err).__name__, _transport_message(err, self.configuration.host)) from None
        date = parse_date(response.headers.get("Date"))
        if not 200 <= response.status < 300:
            raise _status_error(request, response.status, raw, date)
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            raise ApiError(request, response.status, "InvalidResponse", "the answer is not JSON", date) from None
        return ApiResponse(response.status, parsed, date)


def _transport_message(err: BaseException, host: str) -> str:
    """A failure below HTTP in a few words — host not found, refused, timed out, TLS, no valid HTTP answer — and
    the API server as scheme://host:port: urllib3's own text names connection objects and request paths."""
    text = str(getattr(err, "reason", "") or err)
    lowered = text.lower()
    if "ssl" in lowered or "certificate" in lowered:
        detail = re.search(r"\] ([^(\]]+?)\s*(\(_ssl|$)", text)
        reason = f"TLS handshake failed: {detail.group(1).strip()}" if detail else "TLS handshake failed"
    elif "timed out" in lowered or "timeout" in type(err).__name__.lower():
        reason = "timed out"
    elif "refused" in lowered:
        reason = "connection refused"
    elif (
        "NameResolutionError" in text
        or "Name or service not known" in text
        or "nodename nor servname" in text
        or "getaddrinfo" in text
    ):
        reason = "host not found"
    elif (
        "BadStatusLine" in text
        or "RemoteDisconnected" in text
        or "Connection aborted" in text
        or "Connection reset" in text
    ):
        reason = "connection closed without a valid HTTP answer"
    else:
        reason = "connection failed"
    return f"{reason} ({origin(host)})"


SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


class KubeconfigError(Exception):
    """The client configuration cannot be loaded: `source` is what named it (`--kubeconfig`, `KUBECONFIG`, the
    default kubeconfig, in-cluster), the message says why in one line. `credentials` is True when the file is
    fine but its credentials could not be had (an exec plugin failed): a failed run, not bad input."""

    def __init__(self, source: str, message: str, *, credentials: bool = False) -> None:
        self.source, self.message, self.credentials = source, " ".join(message.split())[:300], credentials
        super().__init__(f"{source}: {self.message}")


class _LoaderErrors(logging.Filter):
    """The official kubeconfig loader logs a failed exec credential plugin on the root logger and goes on without
    credentials (every call would then be a 401 or anonymous). This filter takes those lines off the log while
    a kubeconfig is loaded, so that the failure stops the tick as one line of ours instead."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def filter(self, record: logging.LogRecord) -> bool:
        if "kubernetes" in record.pathname.replace("\\", "/") and record.levelno >= logging.ERROR:
            self.messages.append(record.getMessage())
            return False
        return True


def _kubeconfig_files(kubeconfig: str | None, environ: Mapping[str, str]) -> tuple[str, str]:
    """(what names the kubeconfig, its path list) as kubectl reads them: `--kubeconfig`, else `$KUBECONFIG` (a
    list of paths), else ~/.kube/config. A name whose files all do not exist is a KubeconfigError naming them."""
    if kubeconfig:
        source, paths = "--kubeconfig", kubeconfig
    elif environ.get("KUBECONFIG"):
        source, paths = "KUBECONFIG", environ["KUBECONFIG"]
    else:
        source, paths = "kubeconfig", "~/.kube/config"
    files = [p for p in (paths.split(os.pathsep) if source == "KUBECONFIG" else [paths]) if p]
    if not any(os.path.isfile(os.path.expanduser(f)) for f in files):
        there = any(os.path.exists(os.path.expanduser(f)) for f in files)
        raise KubeconfigError(source, f"{', '.join(files)}: {'not a regular file' if there else 'no such file'}")
    return source, paths


def _load_kubeconfig(configuration: Any, source: str, paths: str) -> None:
    """The full loader (exec plugins, OIDC, client certificates), with an exec plugin's failure raised."""
    from kubernetes.config import kube_config

    captured = _LoaderErrors()
    root = logging.getLogger()
    root.addFilter(captured)
    try:
        kube_config.load_kube_config(config_file=paths, client_configuration=configuration)
    except Exception as err:
        raise KubeconfigError(source, f"{paths}: {err}") from None
    finally:
        root.removeFilter(captured)
    if captured.messages:
        raise KubeconfigError(source, f"the exec credential plugin failed: {captured.messages[0]}", credentials=True)


def configuration_for(
    kubeconfig: str | None, service_account_dir: str = SERVICE_ACCOUNT_DIR, environ: Mapping[str, str] | None = None
) -> Any:
    """The official client's `Configuration`: from `kubeconfig` when given, else in-cluster (the CronJob's
    ServiceAccount token and CA under `service_account_dir`, the API server from `KUBERNETES_SERVICE_HOST`
    and `_PORT`), else the user's default kubeconfig (`$KUBECONFIG`, ~/.kube/config) like kubectl.

    The in-cluster path imports only the client's small modules (see `deferred_import`); kubeconfig loading
    imports the whole of `kubernetes.config` (exec plugins, OIDC, ...), which is fine on a desktop.
    urllib3 retries are off: a tick never blocks on a retry loop it does not control. Every failure is a
    KubeconfigError naming the file (or the variable) and the reason; a failed exec plugin is one too."""
    configuration_module, incluster = import_deferred(
        "kubernetes.client.configuration", "kubernetes.config.incluster_config"
    )
    env = os.environ if environ is None else environ
    configuration, in_cluster_error = configuration_module.Configuration(), ""
    if not kubeconfig:
        loader = incluster.InClusterConfigLoader(
            token_filename=f"{service_account_dir}/token",
            cert_filename=f"{service_account_dir}/ca.crt",
            environ=env,
        )
        try:
            loader.load_and_set(configuration)
        except incluster.ConfigException as err:
            in_cluster_error, configuration = str(err), None
    if configuration is None or kubeconfig:
        configuration = configuration_module.Configuration()
        try:
            _load_kubeconfig(configuration, *_kubeconfig_files(kubeconfig, env))
        except KubeconfigError as err:
            if kubeconfig or err.credentials or err.source == "KUBECONFIG":
                raise
            raise KubeconfigError(
                "in-cluster or kubeconfig", f"not in a cluster ({in_cluster_error}) and no kubeconfig ({err})"
            ) from None
    configuration.retries = False
    return configuration
