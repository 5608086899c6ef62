"""What went wrong below HTTP, in a few words: one wording for every HTTP client call cronary makes with
`requests` (webhooks, alerts, Prometheus), so a person reads the same reason whichever one failed."""

from __future__ import annotations


def request_failure(err: BaseException, *, tls_hint: str = "") -> str:
    """A `requests` failure below HTTP, told apart: host not found, connection refused, timed out, TLS,
    closed without an answer, a proxy, an unusable URL. The exception's own text names the whole URL, query
    and all, so it is only searched, never shown; the caller names the server by its origin."""
    import requests

    exceptions = requests.exceptions
    if isinstance(err, exceptions.ProxyError):  # before ConnectionError, which it is too
        return "proxy error"
    if isinstance(err, exceptions.SSLError):  # before ConnectionError, which it is too
        return f"TLS handshake failed ({tls_hint})" if tls_hint else "TLS handshake failed"
    if isinstance(err, exceptions.Timeout):
        return "timed out"
    if isinstance(err, exceptions.ConnectionError):
        return _connection_failure(str(err))
    if isinstance(err, (exceptions.ChunkedEncodingError, exceptions.ContentDecodingError)):
        return "connection closed while reading the answer"
    if isinstance(err, (exceptions.InvalidURL, exceptions.MissingSchema, exceptions.InvalidSchema)):
        return "invalid URL"
    return f"request failed ({type(err).__name__})"


def _connection_failure(text: str) -> str:
    if "Connection refused" in text or "Errno 111" in text:
        return "connection refused"
    if "timed out" in text.lower():  # a read timeout after retries are spent comes as a ConnectionError
        return "timed out"
    if any(
        words in text
        for words in ("NameResolutionError", "Name or service not known", "nodename nor servname", "getaddrinfo")
    ):
        return "host not found"
    if any(
        words in text for words in ("RemoteDisconnected", "BadStatusLine", "Connection aborted", "Connection reset")
    ):
        return "connection closed without a valid HTTP answer"
    return "connection failed"
