"""The webhook caller (`cronjob/shared/webhooks.py`) against real HTTP servers on loopback (pytest-httpserver).

Flagger's rules (reference `flagger-metrics-webhooks.md` §3, `flagger-state-machine.md` §4): POST of the JSON
payload, success is HTTP 200–202, the failure text is the answer's body or the transport error, `retries`
extra attempts with exponential backoff. `FakeLoadTester` answers like Flagger's loadtester (`/` runs
`metadata.cmd`, the `/gate/*` and `/rollback/*` gates), plain text and all, and the seed rollouts are driven
through it with the engine asking for each hook (`decide` → `Pending` → the caller → `HookResult`).
"""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
import re
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from cronjob.local.inputs import build_cluster, cluster_objects, read_canary, read_scenario
from cronjob.local.simulation import SimulatedCluster, Simulation
from cronjob.shared.driver import run_tick
from cronjob.shared.webhooks import (
    IDEMPOTENCY_FIELD,
    IDEMPOTENCY_HEADER,
    MAX_MESSAGE_CHARS,
    WebhookCaller,
    backoff_seconds,
    call_webhook,
    event_request,
    max_duration_seconds,
)
from engine import Decision, Event, HookRequest, HookResult, MetricRequest, Pending, Settings, decide
from engine.analysis import MetricResult
from engine.canary_spec import parse_canary
from engine.hooks import HookType
from engine.model import Canary, WebhookSpec
from engine.redact import origin
from engine.status_doc import canary_manifest

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "fixtures" / "seed"
CANARIES = ROOT / "fixtures" / "canaries"
CLUSTER = SEED / "cluster.yaml"
MESH = "smi:istio"
SETTINGS = Settings(mesh_provider=MESH)
HEY = "hey -z 1m -q 10 -c 2 http://podinfo.test:9898/"
HEALTHY = {"request-success-rate": MetricResult(99.5, None), "request-duration": MetricResult(120.0, None)}


# ----------------------------------------------------------------------------------------------------------
# helpers


def hook(url: str, **changes: Any) -> WebhookSpec:
    return dataclasses.replace(WebhookSpec(name="load-test", url=url, timeout="5s", timeout_seconds=5.0), **changes)


def payload(**changes: Any) -> dict[str, Any]:
    return {
        "name": "podinfo",
        "namespace": "test",
        "phase": "Progressing",
        "checksum": "6b5f7c9d8f",
        "metadata": {"cmd": HEY},
        **changes,
    }


class Sleeps:
    """An injected `sleep` that records the waits instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def call(url: str, body: dict[str, Any] | None = None, sleeps: Sleeps | None = None, **changes: Any) -> HookResult:
    return call_webhook(HookRequest(hook(url, **changes), body or payload()), sleep=sleeps or Sleeps())


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RawServer:
    """A TCP server on loopback that answers each connection with fixed bytes (or nothing) and closes it:
    what Flagger sees when the loadtester panics on an unknown task type, or when something not HTTP answers."""

    def __init__(self, answer: bytes) -> None:
        self.answer = answer
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                try:
                    conn.recv(65536)
                    if self.answer:
                        conn.sendall(self.answer)
                except OSError:
                    pass

    def close(self) -> None:
        self.sock.close()


class FakeLoadTester:
    """Flagger's loadtester API (`pkg/loadtester/server.go`, reference §3.4), in memory.

    `/` (and any other path) runs a task: the payload must be JSON with non-empty string `metadata`; type
    `cmd` (default) is queued asynchronously — at most once per `name.namespace` + cmd while it runs — and
    answered 202 in plain text; `bash` blocks and answers 200 with its output, or 500 with the error text.
    Gates are closed by default; `/gate/approve` 200, `/gate/halt` 403, `/gate/check` 200 `Approved` or 403
    `Forbidden`, `/gate/open|close` 202; `/rollback/check|open|close` likewise with a `rollback.` key."""

    def __init__(self) -> None:
        self.gates: set[str] = set()
        self.started: list[str] = []  # commands started (cmd tasks)
        self.running: set[str] = set()
        self.received: list[tuple[str, dict[str, Any], dict[str, str]]] = []  # (path, payload, headers)

    def __call__(self, request: Request) -> Response:
        try:
            body = json.loads(request.get_data())
        except ValueError:
            return Response("error decoding payload", 400)
        self.received.append((request.path, body, dict(request.headers)))
        key = f"{body.get('name')}.{body.get('namespace')}"
        path = request.path
        if path == "/gate/approve":
            return Response("OK", 200)
        if path == "/gate/halt":
            return Response("Forbidden", 403)
        for prefix, gate in (("/gate/", key), ("/rollback/", f"rollback.{key}")):
            if path == prefix + "check":
                return Response("Approved", 200) if gate in self.gates else Response("Forbidden", 403)
            if path == prefix + "open":
                self.gates.add(gate)
                return Response("Gate opened", 202)
            if path == prefix + "close":
                self.gates.discard(gate)
                return Response("Gate closed", 202)
        metadata = body.get("metadata")
        if not metadata:
            return Response("metadata not found in payload", 400)
        if not all(isinstance(v, str) for v in metadata.values()):  # Go decodes into map[string]string
            return Response("error decoding payload", 400)
        task = metadata.get("type", "cmd")
        if task == "cmd":
            job = f"{key} {metadata['cmd']}"
            if job not in self.running:
                self.running.add(job)
                self.started.append(metadata["cmd"])
            return Response("command started", 202)
        if task == "bash":
            if "exit 1" in metadata["cmd"]:
                return Response(f"command {metadata['cmd']} failed: exit status 1", 500)
            return Response("command output: token", 200)
        raise RuntimeError("unknown task type")  # the real loadtester panics: the connection drops

    def paths(self) -> list[str]:
        return [path for path, _body, _headers in self.received]


@pytest.fixture
def loadtester(httpserver: HTTPServer) -> Iterator[FakeLoadTester]:
    fake = FakeLoadTester()
    httpserver.expect_request(_ANY_PATH, method="POST").respond_with_handler(fake)
    yield fake


_ANY_PATH = re.compile(".*")


def retarget(canary: Canary, server: HTTPServer) -> Canary:
    """The canary with every webhook URL pointed at `server` (same path), by editing its manifest."""
    doc = copy.deepcopy(canary_manifest(canary, canary.status))
    analysis = doc["spec"].get("analysis") or doc["spec"]["canaryAnalysis"]
    for item in analysis.get("webhooks") or []:
        item["url"] = server.url_for(urlsplit(item["url"]).path or "/")
    return parse_canary(doc)


def seed_at_progressing(
    scenario: str = "scenario-healthy.yaml", canary_file: Path = SEED / "podinfo-canary.yaml", ticks: int = 5
) -> Simulation:
    plan = dataclasses.replace(read_scenario(str(SEED / scenario)), ticks=ticks)
    sim = Simulation(
        read_canary(str(canary_file), MESH),
        SimulatedCluster.of(build_cluster(cluster_objects(str(CLUSTER)))),
        plan,
        SETTINGS,
        scenario,
    )
    records = sim.run()
    assert records[-1].phase == "Progressing" and records[-1].canary_weight == 20
    return sim


def next_tick(sim: Simulation) -> datetime:
    assert sim.canary.status.last_decision_time
    now = datetime.fromisoformat(sim.canary.status.last_decision_time.replace("Z", "+00:00")) + timedelta(seconds=10)
    sim.cluster.progress_rollouts(now, {("test", "podinfo-primary")})
    return now


def from_memory(requests_: tuple[MetricRequest, ...]) -> dict[str, MetricResult]:
    return {r.metric.name: HEALTHY[r.metric.name] for r in requests_}


# ----------------------------------------------------------------------------------------------------------
# transport: method, headers, body


def test_posts_the_payload_as_json(httpserver: HTTPServer) -> None:
    body = payload()
    httpserver.expect_oneshot_request(
        "/", method="POST", json=body, headers={"Content-Type": "application/json"}
    ).respond_with_data("ok")
    assert call(httpserver.url_for("/"), body) == HookResult(True, "")
    httpserver.check_assertions()


@pytest.mark.parametrize("status", [200, 201, 202])
def test_200_to_202_pass_whatever_the_body(httpserver: HTTPServer, status: int) -> None:
    # the loadtester answers plain text, not JSON: the body of a 2xx answer is never parsed
    httpserver.expect_request("/").respond_with_data("command started", status=status, content_type="text/plain")
    assert call(httpserver.url_for("/")) == HookResult(True, "")


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (203, "non-authoritative", "non-authoritative"),
        (204, "", "HTTP 204 with an empty body"),
        (400, "metadata not found in payload", "metadata not found in payload"),
        (403, "Forbidden", "Forbidden"),
        (404, "404 page not found\n", "404 page not found"),
        (500, "command hey failed: exit status 1", "command hey failed: exit status 1"),
        (501, "not implemented", "not implemented"),
        (503, "", "HTTP 503 with an empty body"),
    ],
)
def test_other_statuses_fail_with_the_body_as_message(
    httpserver: HTTPServer, status: int, body: str, message: str
) -> None:
    httpserver.expect_request("/").respond_with_data(body, status=status)
    assert call(httpserver.url_for("/")) == HookResult(False, message)


def test_a_redirect_is_not_followed_and_fails(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/moved").respond_with_data(
        "", status=302, headers={"Location": httpserver.url_for("/elsewhere")}
    )
    httpserver.expect_request("/elsewhere").respond_with_data("reached")
    assert call(httpserver.url_for("/moved")) == HookResult(False, "HTTP 302 redirect (not followed)")
    assert [r.path for r, _ in httpserver.log] == ["/moved"]


def test_a_long_multiline_body_becomes_one_bounded_line(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/").respond_with_data("line one\n\tline two\r\n" + "x" * 5000, status=500)
    result = call(httpserver.url_for("/"))
    assert not result.ok
    assert result.message.startswith("line one line two xxx")
    assert len(result.message) == MAX_MESSAGE_CHARS and result.message.endswith("…")
    assert "\n" not in result.message


# ----------------------------------------------------------------------------------------------------------
# transport errors


def test_a_timeout_is_a_failure_naming_the_timeout(httpserver: HTTPServer) -> None:
    release = threading.Event()

    def slow(_request: Request) -> Response:
        release.wait(3)
        return Response("too late")

    httpserver.expect_request("/").respond_with_handler(slow)
    started = time.monotonic()
    try:
        result = call(httpserver.url_for("/"), timeout="200ms", timeout_seconds=0.2)
    finally:
        release.set()
    assert result == HookResult(False, f"POST {origin(httpserver.url_for('/'))}: timed out after 0.2s")
    assert time.monotonic() - started < 2


def test_the_timeout_bounds_the_whole_answer_not_each_read(httpserver: HTTPServer) -> None:
    def trickle(_request: Request) -> Response:
        def chunks() -> Iterator[bytes]:
            for _ in range(20):
                time.sleep(0.05)
                yield b"."

        return Response(chunks(), status=200)

    httpserver.expect_request("/").respond_with_handler(trickle)
    result = call(httpserver.url_for("/"), timeout="300ms", timeout_seconds=0.3)
    assert not result.ok and result.message.endswith("timed out after 0.3s")


def test_connection_refused_is_a_failure() -> None:
    port = closed_port()
    assert call(f"http://127.0.0.1:{port}/") == HookResult(False, f"POST http://127.0.0.1:{port}: connection refused")


@pytest.mark.parametrize("answer", [b"this is not HTTP\r\n\r\n", b""], ids=["garbage", "dropped"])
def test_an_answer_that_is_not_http_is_a_failure(answer: bytes) -> None:
    server = RawServer(answer)
    try:
        result = call(f"http://127.0.0.1:{server.port}/")
    finally:
        server.close()
    assert result == HookResult(
        False, f"POST http://127.0.0.1:{server.port}: connection closed without a valid HTTP answer"
    )


def test_nothing_raises_into_the_caller() -> None:
    bad_url = call("http://[::1/")
    assert not bad_url.ok and "invalid URL" in bad_url.message
    not_json = call_webhook(HookRequest(hook("http://127.0.0.1:9/"), {"name": object()}))
    assert not_json == HookResult(False, "POST http://127.0.0.1:9: request failed (TypeError)")


# ----------------------------------------------------------------------------------------------------------
# retries


def answers(*replies: tuple[int, str] | tuple[int, str, dict[str, str]]) -> tuple[Any, list[int]]:
    """A handler giving these answers in turn (the last one repeats), and the list counting its calls."""
    seen: list[int] = []

    def handler(_request: Request) -> Response:
        reply = replies[min(len(seen), len(replies) - 1)]
        seen.append(reply[0])
        return Response(reply[1], status=reply[0], headers=reply[2] if len(reply) > 2 else None)  # type: ignore[misc]

    return handler, seen


def test_retries_5xx_with_exponential_backoff_until_it_passes(httpserver: HTTPServer) -> None:
    handler, seen = answers((500, "busy"), (500, "busy"), (200, "ok"))
    httpserver.expect_request("/").respond_with_handler(handler)
    sleeps = Sleeps()
    caller = WebhookCaller(sleep=sleeps)
    assert caller(HookRequest(hook(httpserver.url_for("/"), retries=2), payload())) == HookResult(True, "")
    assert seen == [500, 500, 200]
    assert caller.attempts == 3
    assert sleeps.waits == [1.0, 2.0]


def test_a_5xx_past_the_last_retry_fails_with_its_body(httpserver: HTTPServer) -> None:
    handler, seen = answers((502, "bad gateway"))
    httpserver.expect_request("/").respond_with_handler(handler)
    sleeps = Sleeps()
    result = call(httpserver.url_for("/"), sleeps=sleeps, retries=3)
    assert result == HookResult(False, "bad gateway (giving up after 4 attempts)")
    assert seen == [502] * 4 and sleeps.waits == [1.0, 2.0, 4.0]


@pytest.mark.parametrize("status", [400, 403, 404, 501])
def test_4xx_and_501_are_not_retried(httpserver: HTTPServer, status: int) -> None:
    handler, seen = answers((status, "no"))
    httpserver.expect_request("/").respond_with_handler(handler)
    sleeps = Sleeps()
    assert call(httpserver.url_for("/"), sleeps=sleeps, retries=3) == HookResult(False, "no")
    assert seen == [status] and sleeps.waits == []


def test_429_is_retried_honouring_retry_after(httpserver: HTTPServer) -> None:
    handler, seen = answers(
        (429, "slow down", {"Retry-After": "7"}), (503, "unavailable", {"Retry-After": "120"}), (202, "")
    )
    httpserver.expect_request("/").respond_with_handler(handler)
    sleeps = Sleeps()
    assert call(httpserver.url_for("/"), sleeps=sleeps, retries=2).ok
    assert seen == [429, 503, 202] and sleeps.waits == [7.0, 30.0]


def test_transport_errors_are_retried() -> None:
    port = closed_port()
    sleeps = Sleeps()
    caller = WebhookCaller(sleep=sleeps)
    result = caller(HookRequest(hook(f"http://127.0.0.1:{port}/", retries=2), payload()))
    assert result == HookResult(False, f"POST http://127.0.0.1:{port}: connection refused (giving up after 3 attempts)")
    assert caller.attempts == 3 and sleeps.waits == [1.0, 2.0]


def test_backoff_and_the_longest_call() -> None:
    assert [backoff_seconds(n) for n in range(1, 8)] == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    assert backoff_seconds(1, "3") == 3.0 and backoff_seconds(1, "Wed, 21 Oct 2015 07:28:00 GMT") == 1.0
    assert max_duration_seconds(hook("http://x/", timeout_seconds=5.0, retries=2)) == 5 * 3 + 1 + 2
    assert max_duration_seconds(hook("http://x/")) == 5.0


# ----------------------------------------------------------------------------------------------------------
# idempotency key


def test_an_idempotency_key_in_the_payload_is_also_the_header(httpserver: HTTPServer) -> None:
    body = payload(**{IDEMPOTENCY_FIELD: "podinfo-test-69d5bc59df-20-load-test"})
    httpserver.expect_oneshot_request(
        "/", json=body, headers={IDEMPOTENCY_HEADER: "podinfo-test-69d5bc59df-20-load-test"}
    ).respond_with_data("ok")
    assert call(httpserver.url_for("/"), body).ok
    httpserver.check_assertions()


def test_no_idempotency_key_is_invented(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/").respond_with_data("ok")
    assert call(httpserver.url_for("/")).ok
    request, _response = httpserver.log[0]
    assert IDEMPOTENCY_HEADER not in request.headers
    assert IDEMPOTENCY_FIELD not in json.loads(request.get_data())


# ----------------------------------------------------------------------------------------------------------
# secrets


def test_userinfo_and_query_never_appear_in_a_failure_message_or_log(
    httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    def echo(request: Request) -> Response:  # a careless receiver echoing what it got
        return Response(
            f"rejected {request.full_path} auth={request.authorization.password if request.authorization else None}",
            status=500,
        )

    httpserver.expect_request("/hook").respond_with_handler(echo)
    secret_url = (
        httpserver.url_for("/hook").replace("http://", "http://alice:s3cr3t-pw@") + "?token=t0ken-value&team=blue"
    )
    caplog.set_level(logging.DEBUG, logger="cronjob.shared.webhooks")
    result = call(secret_url, retries=1)
    refused = call(f"http://alice:s3cr3t-pw@127.0.0.1:{closed_port()}/?token=t0ken-value")
    request, _response = httpserver.log[0]
    assert (
        request.authorization is not None and request.authorization.password == "s3cr3t-pw"
    )  # userinfo is sent as basic auth
    assert (
        not result.ok and result.message == "rejected *** auth=*** (giving up after 2 attempts)"
    )  # the path and the query are masked too
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("cronjob"))
    assert "attempt 1/2: HTTP 500" in ours
    for text in (result.message, refused.message, ours):
        for secret in ("s3cr3t-pw", "alice", "t0ken-value", "token=", "blue", "/hook"):
            assert secret not in text
    assert refused.message.startswith("POST http://127.0.0.1:") and refused.message.endswith("connection refused")


# ----------------------------------------------------------------------------------------------------------
# disableTLS

# A throwaway self-signed certificate for 127.0.0.1/localhost (EC P-256, valid until 2126), made for these
# tests with `openssl req -x509 -newkey ec ...`; it protects nothing.
TEST_CERT = """-----BEGIN CERTIFICATE-----
MIIBsDCCAVegAwIBAgIUWJofbJtxVlg6GnKWUCUd4dF4bqowCgYIKoZIzj0EAwIw
HzEdMBsGA1UEAwwUY3JvbmFyeS13ZWJob29rLXRlc3QwIBcNMjYxMTI4MDEzODU4
WhgPMjEyNjExMDQwMTM4NThaMB8xHTAbBgNVBAMMFGNyb25hcnktd2ViaG9vay10
ZXN0MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE7OLorOFNuCWTx9ZVJsK1Ov/0
UIKPP5dy26fTpmtTPNRO2NrRCto7TiFJyLUjuZSMNn5iskaHPhmZeeDx7RLiQaNv
MG0wHQYDVR0OBBYEFJx442IHTYf5ySe/KwnFKAtk1zQTMB8GA1UdIwQYMBaAFJx4
42IHTYf5ySe/KwnFKAtk1zQTMA8GA1UdEwEB/wQFMAMBAf8wGgYDVR0RBBMwEYcE
fwAAAYIJbG9jYWxob3N0MAoGCCqGSM49BAMCA0cAMEQCIHMi7QPmHQmzaNJemNp8
6yUhAhI74qr78IMnWxZrcBH4AiA9VxladkrlFThPrRmCJn5rjBOE9NGiieHxppoc
lmIunw==
-----END CERTIFICATE-----
"""
TEST_KEY = """-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgsQOK/iNWXeQ05ZZG
rLnDOuUi1KcTfKqPE9heRcad30WhRANCAATs4uis4U24JZPH1lUmwrU6//RQgo8/
l3Lbp9Oma1M81E7Y2tEK2jtOIUnItSO5lIw2fmKyRoc+GZl54PHtEuJB
-----END PRIVATE KEY-----
"""


@pytest.fixture
def https_server(tmp_path: Path) -> Iterator[HTTPServer]:
    (tmp_path / "cert.pem").write_text(TEST_CERT)
    (tmp_path / "key.pem").write_text(TEST_KEY)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    server = HTTPServer(host="127.0.0.1", ssl_context=context)
    server.start()
    try:
        yield server
    finally:
        server.clear()
        server.stop()


def test_disable_tls_skips_certificate_verification(https_server: HTTPServer) -> None:
    https_server.expect_request("/").respond_with_data("ok")
    url = https_server.url_for("/")
    assert url.startswith("https://")
    sleeps = Sleeps()
    untrusted = call(url, sleeps=sleeps, retries=2)
    assert not untrusted.ok and "TLS handshake failed" in untrusted.message
    assert sleeps.waits == []  # an untrusted certificate is not retried
    with pytest.warns(Warning):  # urllib3's InsecureRequestWarning, as it should
        assert call(url, disable_tls=True) == HookResult(True, "")


# ----------------------------------------------------------------------------------------------------------
# Flagger's loadtester


def test_the_guide_load_test_hook_from_a_progressing_tick_starts_hey_once(
    httpserver: HTTPServer, loadtester: FakeLoadTester
) -> None:
    sim = seed_at_progressing()
    canary, now = sim.canary, next_tick(sim)
    pending = decide(canary, sim.cluster.view(), now, SETTINGS)
    assert isinstance(pending, Pending) and [r.hook.name for r in pending.hooks] == ["load-test"]
    request = pending.hooks[0]
    assert request.hook.url == "http://flagger-loadtester.test/" and request.hook.timeout_seconds == 5.0
    live = HookRequest(dataclasses.replace(request.hook, url=httpserver.url_for("/")), request.payload)
    caller = WebhookCaller()
    assert caller(live) == HookResult(True, "")
    assert caller(live) == HookResult(True, "")  # a second call: the loadtester does not start hey again
    assert loadtester.started == [HEY]
    path, body, headers = loadtester.received[0]
    assert path == "/" and headers["Content-Type"] == "application/json"
    assert body == {
        "name": "podinfo",
        "namespace": "test",
        "phase": "Progressing",
        "checksum": request.payload["checksum"],
        "metadata": {"cmd": HEY},
        "idempotencyKey": request.payload["idempotencyKey"],
    }
    assert headers["Idempotency-Key"] == body["idempotencyKey"]
    assert isinstance(body["checksum"], str) and body["checksum"]


@pytest.mark.parametrize(
    ("metadata", "ok", "message"),
    [
        ({"type": "cmd", "cmd": HEY, "logCmdOutput": "true"}, True, ""),
        ({"type": "bash", "cmd": "curl -sd 'test' http://podinfo-canary.test:9898/token | grep token"}, True, ""),
        ({"type": "bash", "cmd": "exit 1"}, False, "command exit 1 failed: exit status 1"),
        ({}, False, "metadata not found in payload"),
    ],
    ids=["cmd", "bash", "bash-fails", "no-metadata"],
)
def test_loadtester_task_types(
    httpserver: HTTPServer, loadtester: FakeLoadTester, metadata: dict[str, str], ok: bool, message: str
) -> None:
    assert call(httpserver.url_for("/"), payload(metadata=metadata)) == HookResult(ok, message)
    assert loadtester.received[0][1]["metadata"] == metadata  # every value a string, as the loadtester decodes it


def test_loadtester_unknown_type_drops_the_connection_and_fails(
    httpserver: HTTPServer, loadtester: FakeLoadTester
) -> None:
    result = call(httpserver.url_for("/"), payload(metadata={"type": "nope", "cmd": "x"}))
    assert not result.ok and result.message  # the server's 500 (werkzeug) or a dropped connection: never ok


def test_loadtester_gates(httpserver: HTTPServer, loadtester: FakeLoadTester) -> None:
    gate = payload(phase="Progressing", metadata={})
    url = httpserver.url_for
    assert call(url("/gate/approve"), gate) == HookResult(True, "")
    assert call(url("/gate/halt"), gate) == HookResult(False, "Forbidden")
    assert call(url("/gate/check"), gate) == HookResult(False, "Forbidden")
    assert call(url("/gate/open"), gate).ok
    assert call(url("/gate/check"), gate) == HookResult(True, "")
    assert call(url("/gate/close"), gate).ok
    assert call(url("/gate/check"), gate) == HookResult(False, "Forbidden")
    assert call(url("/rollback/check"), gate) == HookResult(False, "Forbidden")  # a rollback hook: no rollback
    assert call(url("/rollback/open"), gate).ok
    assert call(url("/rollback/check"), gate) == HookResult(True, "")  # a rollback hook: roll back now


# ----------------------------------------------------------------------------------------------------------
# every hook type of a whole rollout, live


# Flagger's payload phase per hook type in the webhooks rollout (reference §4.2): confirm-rollout sees the
# idle phase the new revision was found in; the analysis hooks see Progressing; post-rollout sees Succeeded.
EXPECTED_PHASES = {
    "gate-rollout": {"Initialized"},
    "pre-check": {"Progressing"},
    "load-test": {"Progressing"},
    "gate-traffic": {"Progressing"},
    "gate-promotion": {"Progressing"},
    "post-check": {"Succeeded"},
    "rollback-gate": {"Progressing"},
}


class LiveSimulation(Simulation):
    """The simulation with every hook answered by the real caller against `server` (same paths)."""

    server: HTTPServer
    caller: WebhookCaller
    calls: list[HookRequest]

    def _answer_hook(self, request: HookRequest) -> HookResult:
        live = dataclasses.replace(request.hook, url=self.server.url_for(urlsplit(request.hook.url).path or "/"))
        self.calls.append(request)
        return self.caller(HookRequest(live, request.payload))


def test_every_hook_type_of_a_rollout_live_matches_the_scripted_simulation(
    httpserver: HTTPServer, loadtester: FakeLoadTester
) -> None:
    canary_file, scenario_file = CANARIES / "podinfo-webhooks.yaml", SEED / "scenario-webhooks-healthy.yaml"
    plan = read_scenario(str(scenario_file))

    def cluster() -> SimulatedCluster:
        return SimulatedCluster.of(build_cluster(cluster_objects(str(CLUSTER))))

    scripted = [
        r.as_json() for r in Simulation(read_canary(str(canary_file), MESH), cluster(), plan, SETTINGS, "s").run()
    ]
    assert call(httpserver.url_for("/gate/open"), payload(metadata={})).ok  # an operator opens the gate
    loadtester.received.clear()
    sim = LiveSimulation(read_canary(str(canary_file), MESH), cluster(), plan, SETTINGS, "s")
    sim.server, sim.caller, sim.calls = httpserver, WebhookCaller(sleep=Sleeps()), []
    live = [r.as_json() for r in sim.run()]

    assert live == scripted
    assert live[-1]["phase"] == "Succeeded"
    assert len(loadtester.received) == len(sim.calls)
    types = {r.hook.name: r.hook.type for r in sim.calls}
    assert set(types.values()) == set(HookType) - {HookType.EVENT}  # the engine never asks for event hooks
    for request, (path, body, headers) in zip(sim.calls, loadtester.received):
        assert path == urlsplit(request.hook.url).path
        assert headers["Content-Type"] == "application/json"
        assert body == dict(request.payload)
        assert set(body) == {"name", "namespace", "phase", "checksum", "metadata", "idempotencyKey"}
        assert (body["name"], body["namespace"]) == ("podinfo", "test")
        assert body["phase"] in EXPECTED_PHASES[request.hook.name], request.hook.name
        assert body["metadata"] == dict(request.hook.metadata)
    assert loadtester.started == ["hey -z 1m -q 10 -c 2 http://podinfo-canary.test:9898/"]


def test_an_event_hook_payload(httpserver: HTTPServer) -> None:
    spec = WebhookSpec(
        name="events",
        url=httpserver.url_for("/events"),
        type=HookType.EVENT,
        metadata=(("team", "web"), ("eventType", "mine")),
    )
    base = payload()
    event = Event("Warning", "Halt podinfo.test advancement external check load-test failed busy", "Progressing")
    request = event_request(spec, base, event, datetime(2026, 11, 27, 10, 0, 50, tzinfo=UTC))
    expected = {
        "name": "podinfo",
        "namespace": "test",
        "phase": "Progressing",
        "checksum": base["checksum"],
        "metadata": {
            "eventMessage": event.message,
            "eventType": "Warning",
            "timestamp": "1795773650000",
            "team": "web",
        },
    }
    httpserver.expect_oneshot_request("/events", method="POST", json=expected).respond_with_data("")
    assert call_webhook(request) == HookResult(True, "")
    httpserver.check_assertions()


# ----------------------------------------------------------------------------------------------------------
# integration: one tick of the seed canary through cronjob.shared.driver.run_tick


def test_run_tick_calls_the_load_test_once_and_advances(httpserver: HTTPServer, loadtester: FakeLoadTester) -> None:
    sim = seed_at_progressing()
    canary, now = retarget(sim.canary, httpserver), next_tick(sim)
    expected = decide(canary, sim.cluster.view(), now, SETTINGS)
    assert isinstance(expected, Pending)
    caller = WebhookCaller()
    decision = run_tick(canary, sim.cluster.view(), now, SETTINGS, caller, from_memory, prefetch_metrics=False)
    assert isinstance(decision, Decision)
    assert loadtester.paths() == ["/"] and caller.attempts == 1
    assert loadtester.received[0][1] == dict(expected.hooks[0].payload)
    assert loadtester.received[0][1]["metadata"] == {"cmd": HEY}
    assert decision.status.canary_weight == 30 and decision.status.failed_checks == 0
    assert [(h.name, h.ok) for h in decision.hooks] == [("load-test", True)]
    assert "Advance podinfo.test canary weight 30" in [e.message for e in decision.events]


def test_run_tick_with_a_failing_load_test_halts_and_counts_a_failed_check(httpserver: HTTPServer) -> None:
    handler, seen = answers((500, "command hey failed: exit status 1"))
    httpserver.expect_request("/").respond_with_handler(handler)
    sim = seed_at_progressing()
    canary, now = retarget(sim.canary, httpserver), next_tick(sim)
    before = canary.status.failed_checks
    decision = run_tick(canary, sim.cluster.view(), now, SETTINGS, WebhookCaller(), from_memory, prefetch_metrics=False)
    assert seen == [500]  # called once: retries 0
    assert decision.status.failed_checks == before + 1
    assert decision.status.canary_weight == 20 and decision.status.phase == "Progressing"
    warnings = [e.message for e in decision.events if e.type == "Warning"]
    assert "Halt podinfo.test advancement external check load-test failed command hey failed: exit status 1" in warnings


def test_run_tick_with_an_unreachable_load_tester_halts_and_never_raises() -> None:
    sim = seed_at_progressing()
    doc = copy.deepcopy(canary_manifest(sim.canary, sim.canary.status))
    port = closed_port()
    doc["spec"]["canaryAnalysis"]["webhooks"][0]["url"] = f"http://127.0.0.1:{port}/?token=t0ken-value"
    canary, now = parse_canary(doc), next_tick(sim)
    decision = run_tick(canary, sim.cluster.view(), now, SETTINGS, WebhookCaller(), from_memory, prefetch_metrics=False)
    assert decision.status.failed_checks == 1
    message = f"Halt podinfo.test advancement external check load-test failed POST http://127.0.0.1:{port}: connection refused"
    assert message in [e.message for e in decision.events]
    assert all("t0ken" not in e.message for e in decision.events)
