"""Calling a Canary's webhooks the way Flagger does (`docs/webhooks.md`).

The engine asks for one hook at a time (`Pending.hooks`, a `HookRequest` with the hook and its payload);
`WebhookCaller` (or `call_webhook`) performs the call and hands back a `HookResult`, so it plugs into
`cronjob.shared.driver.run_tick(answer_hook=...)` directly.

The rules, each a decision recorded in `docs/webhooks.md`:

* `POST` of the payload as JSON, `Content-Type: application/json`; a per-attempt timeout of the hook's
  `timeout` that bounds the whole answer (connect, headers and body), not just each socket read.
* Success is HTTP 200, 201 or 202 and nothing else. The body is never parsed: Flagger's load tester answers
  plain text (`command started`, `Approved`), so a 2xx answer in any format passes. Anything that is not an
  HTTP answer at all (garbage bytes, a dropped connection) is a transport error, hence a failure.
* Redirects are not followed: a 3xx is a failure (the payload would not reach the hook as a POST).
* `retries` extra attempts on transport errors, 429 and 5xx except 501 (Flagger's retry policy), with
  exponential backoff 1 s, 2 s, 4 s … capped at 30 s; `Retry-After` (in seconds) on 429/503 is honoured up to
  the same cap. Everything else (4xx, 3xx, certificate errors, a bad URL) is final at once.
* The failure message is the answer's body on one line, at most `MAX_MESSAGE_CHARS` long, or a short
  description of the transport error. It names the hook's origin (`scheme://host:port`) at most: never the
  path, the userinfo or the query string, and any of those a receiver echoes back in its body is masked
  (`engine.redact`, the one redactor).
* Nothing here raises into the caller; every failure is a `HookResult(False, message)`.
* An idempotency key in the payload (`idempotencyKey`, which the engine may add) is also sent as the
  `Idempotency-Key` header; none is invented here.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from cronjob.shared.transport import request_failure
from engine import Event, HookRequest, HookResult
from engine.model import WebhookSpec
from engine.redact import origin, redact

if TYPE_CHECKING:
    import requests  # imported at the first call: a tick without webhooks never loads it

log = logging.getLogger(__name__)

IDEMPOTENCY_FIELD = "idempotencyKey"
"""The payload field the engine will fill with a key derived from canary uid, revision, step and hook."""
IDEMPOTENCY_HEADER = "Idempotency-Key"

MAX_MESSAGE_CHARS = 300
"""Longest failure message (after folding the body onto one line); longer ones end in `…`."""
MAX_BODY_BYTES = 64 * 1024
"""At most this much of an answer's body is read; the rest is discarded."""
BACKOFF_BASE_SECONDS = 1.0
BACKOFF_MAX_SECONDS = 30.0
USER_AGENT = "cronary-webhooks"

Sleep = Callable[[float], None]
Clock = Callable[[], float]


# ----------------------------------------------------------------------------------------------------------
# messages


def _one_line(text: str) -> str:
    """Printable characters on one line (a receiver's bytes go into logs, Events and commits), bounded."""
    text = "".join(c if c.isprintable() else " " for c in text)
    text = re.sub(r"\s+", " ", text).strip()
    if len(text) > MAX_MESSAGE_CHARS:
        text = text[: MAX_MESSAGE_CHARS - 1].rstrip() + "…"
    return text


# ----------------------------------------------------------------------------------------------------------
# transport errors


class _TimedOut(Exception):
    """The whole answer did not arrive within the hook's timeout."""


def _describe(err: BaseException, timeout: float) -> str:
    """A transport error in a few words, without the URL that requests and urllib3 put into theirs."""
    import requests

    if isinstance(err, (requests.exceptions.Timeout, _TimedOut)):
        return f"timed out after {timeout:g}s"
    return request_failure(err, tls_hint="certificate not trusted? set disableTLS to skip verification")


def _retry_transport(err: BaseException) -> bool:
    """Transport errors worth another attempt: not a bad URL, not an untrusted certificate."""
    import requests

    if isinstance(err, requests.exceptions.SSLError):
        return False
    if isinstance(
        err,
        (
            requests.exceptions.InvalidURL,
            requests.exceptions.MissingSchema,
            requests.exceptions.InvalidSchema,
            requests.exceptions.InvalidHeader,
        ),
    ):
        return False
    return isinstance(err, (requests.exceptions.RequestException, _TimedOut))


def _retry_status(status: int) -> bool:
    return status == 429 or (500 <= status <= 599 and status != 501)


def backoff_seconds(attempt: int, retry_after: str | None = None) -> float:
    """Wait before attempt `attempt + 1` (attempt 1 is the first call): 1 s, 2 s, 4 s … capped at 30 s;
    a `Retry-After` in seconds (429/503) replaces it, within the same cap."""
    if retry_after is not None and retry_after.strip().isdigit():
        return min(BACKOFF_MAX_SECONDS, float(retry_after.strip()))
    return min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (attempt - 1))


def max_duration_seconds(hook: WebhookSpec) -> float:
    """The longest one call of `hook` can take: every attempt timing out plus every backoff in between
    (without `Retry-After`) — what a tick budget has to reserve for it."""
    attempts = hook.retries + 1
    return attempts * hook.timeout_seconds + sum(backoff_seconds(n) for n in range(1, attempts))


# ----------------------------------------------------------------------------------------------------------
# the caller


@dataclass(frozen=True)
class _Answer:
    status: int
    body: str
    retry_after: str | None
    content_type: str = ""


@dataclass
class WebhookCaller:
    """Answers the engine's `HookRequest`s with real HTTP calls: `caller(request) -> HookResult`.

    One `requests.Session` is kept for connection reuse. `sleep` and `clock` are injectable so tests need
    not wait. `attempts` counts every HTTP attempt made (for logs and tests)."""

    session: requests.Session | None = None
    sleep: Sleep = time.sleep
    clock: Clock = time.monotonic
    attempts: int = 0
    _own_session: bool = field(default=False, repr=False)
    _session_lock: threading.Lock = field(
        default_factory=threading.Lock, repr=False
    )  # ticks call hooks from several threads

    def _session(self) -> requests.Session:
        """The session, made at the first call (importing requests costs a tick's start-up 50 ms)."""
        with self._session_lock:
            if self.session is None:
                import requests

                self.session = requests.Session()
                self._own_session = True
            return self.session

    def close(self) -> None:
        if self._own_session and self.session is not None:
            self.session.close()

    def __enter__(self) -> WebhookCaller:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def __call__(self, request: HookRequest) -> HookResult:
        try:
            return self._call(request)
        except Exception as err:
            hook = request.hook
            log.warning("webhook %s (%s): unexpected %s", hook.name, origin(hook.url), type(err).__name__)
            return HookResult(False, f"POST {origin(hook.url)}: request failed ({type(err).__name__})")

    # -- one call, with retries ---------------------------------------------------------------------
    def _call(self, request: HookRequest) -> HookResult:
        hook = request.hook
        where = origin(hook.url)
        body = json.dumps(dict(request.payload), separators=(",", ":"), ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
        key = request.payload.get(IDEMPOTENCY_FIELD)
        if isinstance(key, str) and key:
            headers[IDEMPOTENCY_HEADER] = key
        attempts = max(0, int(hook.retries)) + 1
        for attempt in range(1, attempts + 1):
            self.attempts += 1
            try:
                answer = self._attempt(hook, body, headers)
            except Exception as err:
                reason = _describe(err, hook.timeout_seconds)
                log.info("webhook %s (%s) attempt %d/%d: %s", hook.name, where, attempt, attempts, reason)
                if attempt < attempts and _retry_transport(err):
                    self.sleep(backoff_seconds(attempt))
                    continue
                return HookResult(False, _with_attempts(f"POST {where}: {reason}", attempt))
            log.info("webhook %s (%s) attempt %d/%d: HTTP %d", hook.name, where, attempt, attempts, answer.status)
            if 200 <= answer.status <= 202:
                return HookResult(True, "")
            if attempt < attempts and _retry_status(answer.status):
                self.sleep(backoff_seconds(attempt, answer.retry_after if answer.status in (429, 503) else None))
                continue
            return HookResult(False, _with_attempts(_status_message(answer, hook.url), attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    def _attempt(self, hook: WebhookSpec, body: bytes, headers: Mapping[str, str]) -> _Answer:
        """One POST and its whole answer within the hook's timeout. Each socket read has a timeout of its own,
        which a receiver trickling its headers or its body a byte at a time never reaches; so the exchange runs
        in a helper thread and this one waits for it at most `timeout`. Then the connection is shut down (once
        the headers are in: that ends the helper's read) and the attempt has timed out."""
        exchange = _Exchange(self._session(), hook, body, headers, self.clock)
        helper = threading.Thread(target=exchange.run, name="cronary-webhook", daemon=True)
        helper.start()
        if not exchange.done.wait(hook.timeout_seconds):
            exchange.abort()
            raise _TimedOut()
        if exchange.error is not None:
            raise exchange.error
        assert exchange.answer is not None
        return exchange.answer


@dataclass
class _Exchange:
    """One attempt's HTTP exchange, run by a helper thread (`WebhookCaller._attempt`): at most `MAX_BODY_BYTES`
    of the body are read, the rest is never downloaded."""

    session: requests.Session
    hook: WebhookSpec
    body: bytes
    headers: Mapping[str, str]
    clock: Clock
    answer: _Answer | None = None
    error: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)
    _response: Any = None

    def run(self) -> None:
        try:
            self.answer = self._exchange()
        except BaseException as err:
            self.error = err
        finally:
            self.done.set()

    def _exchange(self) -> _Answer:
        timeout = self.hook.timeout_seconds
        deadline = self.clock() + timeout
        response = self._response = self.session.post(
            self.hook.url,
            data=self.body,
            headers=dict(self.headers),
            timeout=(timeout, timeout),
            verify=not self.hook.disable_tls,
            allow_redirects=False,
            stream=True,
        )
        try:
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_content(chunk_size=8192):
                if self.clock() > deadline:
                    raise _TimedOut()
                chunks.append(chunk[: MAX_BODY_BYTES - size])
                size += len(chunks[-1])
                if size >= MAX_BODY_BYTES:
                    break  # enough for a message: a huge body is not downloaded (the connection is dropped)
        finally:
            response.close()
        text = b"".join(chunks).decode("utf-8", errors="replace")
        return _Answer(
            response.status_code, text, response.headers.get("Retry-After"), response.headers.get("Content-Type") or ""
        )

    def abort(self) -> None:
        """Shut the connection down under the helper's feet, if the headers are in (before that, the helper ends
        with the first socket read that times out or the receiver giving up)."""
        connection = getattr(getattr(self._response, "raw", None), "connection", None)
        sock = getattr(connection, "sock", None)
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


_HTML = re.compile(r"\s*<(!doctype|html|head|body)\b", re.IGNORECASE)


def _status_message(answer: _Answer, url: str) -> str:
    """The failure text of a non-2xx answer: its body on one printable line, without the hook's path should the
    receiver echo it; an HTML page (a proxy's, a login form) is named, not printed."""
    if "html" in answer.content_type.lower() or _HTML.match(answer.body):
        return f"HTTP {answer.status} with an HTML page"
    text = _one_line(redact(answer.body, url))
    if text:
        return text
    if 300 <= answer.status <= 399:
        return f"HTTP {answer.status} redirect (not followed)"
    return f"HTTP {answer.status} with an empty body"


def _with_attempts(message: str, attempt: int) -> str:
    return message if attempt == 1 else f"{message} (giving up after {attempt} attempts)"


def call_webhook(
    request: HookRequest, *, session: requests.Session | None = None, sleep: Sleep = time.sleep
) -> HookResult:
    """Call one webhook (see `WebhookCaller`); never raises."""
    with WebhookCaller(session=session, sleep=sleep) as caller:
        return caller(request)


# ----------------------------------------------------------------------------------------------------------
# event hooks: the engine records events; the entry point sends them


def event_request(hook: WebhookSpec, base_payload: Mapping[str, Any], event: Event, now: datetime) -> HookRequest:
    """Flagger's `CallEventWebhook` payload for one recorded event: the canary's name, namespace and checksum
    from `base_payload` (any hook payload of the same tick), `phase` from the event, and metadata
    `eventMessage`, `eventType`, `timestamp` (Unix milliseconds, a string) plus the hook's own metadata keys
    that do not collide with those three."""
    metadata = {
        "eventMessage": event.message,
        "eventType": event.type,
        "timestamp": str(int(now.timestamp() * 1000)),
    }
    for name, value in hook.metadata:
        metadata.setdefault(name, value)
    payload = {
        "name": base_payload.get("name"),
        "namespace": base_payload.get("namespace"),
        "phase": event.phase,
        "checksum": base_payload.get("checksum", ""),
        "metadata": metadata,
    }
    return HookRequest(hook, payload)
