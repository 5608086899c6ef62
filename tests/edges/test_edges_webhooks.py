"""Webhook receivers that answer badly: garbage instead of HTTP, a huge body, a body or headers trickled a byte
at a time, control characters, an HTML page, the request line echoed back. The hook's result is a clean failure:
one printable line of at most `MAX_MESSAGE_CHARS`, within the hook's timeout, without the hook's path or query;
never a traceback. Real servers on loopback: a raw socket server for what an HTTP framework cannot send.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cronjob.shared.webhooks import MAX_MESSAGE_CHARS, WebhookCaller
from engine import HookRequest, HookResult
from engine.model import WebhookSpec
from harness.cluster import NAMESPACES, SeedCluster, add_namespace, clean, set_image, status

Behaviour = Callable[[socket.socket, bytes], None]
SECRET_PATH = "/hooks/T0KEN-in-the-path"


@pytest.fixture
def receiver() -> Iterator[Callable[[Behaviour], int]]:
    """Start raw TCP receivers that read a request's head, then act out `behaviour`; their port."""
    stop = threading.Event()
    sockets: list[socket.socket] = []

    def start(behaviour: Behaviour) -> int:
        server = socket.socket()
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        server.settimeout(0.1)
        sockets.append(server)

        def handle(conn: socket.socket) -> None:
            with conn:
                head = b""
                while b"\r\n\r\n" not in head:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    head += chunk
                try:
                    behaviour(conn, head)
                except OSError:
                    pass  # the client hung up: what a timeout does

        def serve() -> None:
            while not stop.is_set():
                try:
                    conn, _ = server.accept()
                except TimeoutError:
                    continue
                except OSError:
                    return
                threading.Thread(target=handle, args=(conn,), daemon=True).start()

        threading.Thread(target=serve, daemon=True).start()
        return server.getsockname()[1]

    yield start
    stop.set()
    for server in sockets:
        server.close()


def answer(status: str, body: bytes, headers: str = "") -> bytes:
    return f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n{headers}\r\n".encode() + body


def garbage(conn: socket.socket, _head: bytes) -> None:
    conn.sendall(bytes(range(256)) * 8)


def control_characters(conn: socket.socket, _head: bytes) -> None:
    conn.sendall(answer("500 Oops", b"\x00\x07\x1b[31mred\x1b[0m\r\n\tsecond line\x7f\xff\xfe" + "é".encode("utf-16")))


def huge_body(conn: socket.socket, _head: bytes) -> None:
    conn.sendall(b"HTTP/1.1 500 Oops\r\nContent-Length: 1000000000\r\n\r\n")
    block = b"E" * 1_000_000
    for _ in range(1000):
        conn.sendall(block)


def trickled_body(conn: socket.socket, _head: bytes) -> None:
    conn.sendall(b"HTTP/1.1 500 Oops\r\nContent-Length: 10000\r\n\r\n")
    for _ in range(10000):
        conn.sendall(b".")
        time.sleep(0.05)


def trickled_headers(conn: socket.socket, _head: bytes) -> None:
    for byte in answer("200 OK", b"ok", "X-Padding: " + "p" * 500 + "\r\n"):
        conn.sendall(bytes([byte]))
        time.sleep(0.05)


def echoes_the_request_line(conn: socket.socket, head: bytes) -> None:
    conn.sendall(answer("404 Not Found", b"no hook at " + head.split(b"\r\n")[0]))


def html_page(conn: socket.socket, _head: bytes) -> None:
    conn.sendall(
        answer(
            "502 Bad Gateway",
            b"<!DOCTYPE html><html><body><h1>502</h1><script>x()</script></body></html>",
            "Content-Type: text/html\r\n",
        )
    )


CASES = [
    pytest.param(garbage, "POST {origin}: connection closed without a valid HTTP answer", id="garbage-not-http"),
    pytest.param(control_characters, "[31mred [0m second line", id="control-characters"),
    pytest.param(huge_body, "E" * (MAX_MESSAGE_CHARS - 1) + "…", id="huge-body"),
    pytest.param(trickled_body, "POST {origin}: timed out after 0.5s", id="trickled-body"),
    pytest.param(trickled_headers, "POST {origin}: timed out after 0.5s", id="trickled-headers"),
    pytest.param(echoes_the_request_line, "no hook at POST *** HTTP/1.1", id="echoes-the-path"),
    pytest.param(html_page, "HTTP 502 with an HTML page", id="html-page"),
]


@pytest.mark.parametrize("behaviour, expected", CASES)
def test_a_receiver_answering_badly_is_one_clean_line_within_the_timeout(
    receiver, behaviour: Behaviour, expected: str
) -> None:
    port = receiver(behaviour)
    origin = f"http://127.0.0.1:{port}"
    hook = WebhookSpec(name="check", url=f"{origin}{SECRET_PATH}?token=q-s3cret", timeout="500ms", timeout_seconds=0.5)
    started = time.monotonic()
    result = WebhookCaller()(HookRequest(hook, {"name": "podinfo", "namespace": "test"}))
    elapsed = time.monotonic() - started
    assert not result.ok
    assert elapsed < 1.5, elapsed  # the timeout bounds the whole answer, however it trickles
    message = result.message
    assert message.startswith(expected.format(origin=origin)) or expected.format(origin=origin) in message, message
    assert len(message) <= MAX_MESSAGE_CHARS and message.isprintable() and "\n" not in message
    assert "T0KEN" not in message and "q-s3cret" not in message and "<" not in message


# ------------------------------------------------------------------------------------------------ in `cronary tick`
def test_a_trickling_receiver_that_echoes_fails_its_canarys_check_and_the_other_goes_on(
    emulator, tmp_path: Path, prometheus, httpserver, receiver
) -> None:
    """test's load-test hook trickles a body echoing its request line; prod's answers `ok`. Every tick ends in
    bounded time with JSON lines only; test's analysis fails on the hook (message without the path), prod advances."""

    def echo_slowly(conn: socket.socket, head: bytes) -> None:
        body = b"busy: " + head.split(b"\r\n")[0] + b" " + b"." * 50
        conn.sendall(f"HTTP/1.1 503 Busy\r\nContent-Length: {len(body) + 1000}\r\n\r\n".encode())
        for byte in body + b"." * 1000:
            conn.sendall(bytes([byte]))
            time.sleep(0.01)

    port = receiver(echo_slowly)
    httpserver.expect_request("/ok", method="POST").respond_with_data("ok")
    cluster = SeedCluster(emulator, tmp_path, prometheus.url, f"http://127.0.0.1:{port}{SECRET_PATH}").install()
    canary = cluster.canary()
    canary["spec"]["canaryAnalysis"]["webhooks"][0]["timeout"] = "1s"
    emulator.replace(canary)
    cluster.hook_url = httpserver.url_for("/ok")
    add_namespace(cluster, "prod", metrics=[])
    for n in range(1, 6):
        emulator.complete_rollouts()
        if n == 3:
            for namespace in ("test", "prod"):
                set_image(cluster, namespace)
        started = time.monotonic()
        run = cluster.tick(*NAMESPACES)
        assert time.monotonic() - started < 10
        assert run.exit_code == 0, run.output
        for line in clean(run):
            assert "T0KEN" not in json.dumps(line)
        emulator.advance(10)
    halts = [e for e in cluster.emulator.list("v1", "Event", "test") if "load-test" in e["message"]]
    assert halts and all("timed out after 1s" in e["message"] for e in halts), [e["message"] for e in halts]
    assert status(cluster, "test")["canaryWeight"] == 10 and status(cluster, "test")["failedChecks"] >= 1
    assert status(cluster, "prod")["canaryWeight"] >= 20


def test_the_caller_never_raises(receiver) -> None:
    """Whatever the receiver does, `WebhookCaller` hands back a HookResult (the tick's guard is not needed)."""
    port = receiver(garbage)
    hook = WebhookSpec(name="check", url=f"http://127.0.0.1:{port}/", timeout="1s", timeout_seconds=1.0, retries=1)
    result = WebhookCaller(sleep=lambda _s: None)(HookRequest(hook, {"name": "podinfo"}))
    assert isinstance(result, HookResult) and not result.ok and result.message.endswith("(giving up after 2 attempts)")
