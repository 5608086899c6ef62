"""The one redactor: what of a URL may be printed, and how a text that may hold one is made safe to print.

Every message cronary prints or writes — stderr lines, JSON log lines, Kubernetes Events, status fields, git
commit messages — passes through here before it leaves, and so does any text a remote server sends back (a
webhook receiver, Prometheus, a git remote, an alert endpoint, the API server), because servers echo what
they were sent.

The rule, one for webhooks, alert providers, Prometheus, MetricTemplates and git remotes:

* Of a URL only its origin is ever shown: `scheme://host[:port]` (`origin`). Userinfo (`user:password@`),
  the path, the query and the fragment never are — a Slack, Teams or Discord hook carries its token in the
  path, a load tester or a Prometheus proxy in the query, a git remote in the userinfo.
* In a text (`redact`), every `scheme://…` URL is cut to its origin. When the URLs the text is *about* are
  known, every piece of them that may hold a credential — userinfo, user, password, path, each path segment,
  query, each query value, fragment — is replaced by `MASK` wherever it appears, raw, percent-decoded or
  percent-encoded (matched regardless of case), so a server echoing `/hook?token=…` without a scheme is
  masked too; so are extra secrets (a token, a password) handed in.
* One mask, `MASK`. Pieces shorter than `MIN_SECRET_CHARS` are not masked: they would mask noise
  everywhere, and a credential that short protects nothing.

Written with `re` only, so the engine (which builds messages that quote URLs, e.g. validation errors) can
use it and stay pure: no `urllib` (its parsing is re-done here for the parts that matter).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable  # noqa: UP035 - the purity allow-list has typing, not collections

MASK = "***"
"""What every secret piece of a text is replaced with."""
INVALID_URL = "(invalid URL)"
"""What `origin` shows for something that is not a URL it can cut safely."""
MIN_SECRET_CHARS = 3
LOCAL = "file://"
"""The origin of a git remote on this machine (a `file://` URL or a path): a path is never shown."""

# RFC 3986, appendix B: scheme, authority, path, query, fragment.
_PARTS = re.compile(
    r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<authority>[^/?#]*)(?P<path>[^?#]*)(?:\?(?P<query>[^#]*))?(?:#(?P<fragment>.*))?",
    re.S,
)
# git's scp-like syntax: user@host:path (cronary accepts it only with a user, as git remotes are written).
_SCP = re.compile(r"(?P<user>[^@/:\s]+)@(?P<host>[^:/\s\[\]]+):(?P<path>.*)", re.S)
_PORT = re.compile(r"[0-9]{1,5}")
_REG_NAME = re.compile(r"[A-Za-z0-9._~%!$&'()*+,;=-]+")
_IPV6 = re.compile(r"\[[0-9A-Fa-f:.]+(?:%25[A-Za-z0-9._~-]+|%[A-Za-z0-9._~-]+)?\]")
# A URL inside a text: a scheme, `://`, then anything up to whitespace. It must go on with something that
# can start an authority or a path, so prose such as "an https:// or ssh:// URL" is left alone.
_URL_IN_TEXT = re.compile(r"(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]*://(?=[^\s,;'\"<>(){}|\\^`])\S*")
_TRAILING = ".,;:!?'\")]}>"
# urllib3 and requests name the request target of a failed call as "... with url: /path?query (Caused by ...)".
_REQUEST_TARGET = re.compile(r"(\burl: )/\S*")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


@dataclass(frozen=True)
class _Url:
    scheme: str
    userinfo: str | None
    host: str
    port: str | None
    path: str
    query: str | None
    fragment: str | None


def _split(url: str) -> _Url | None:
    """The parts of a URL (or of a git scp-like remote, or a local path), None when it is neither."""
    url = url.strip()
    found = _PARTS.fullmatch(url)
    if found is not None:
        userinfo, at, hostport = found["authority"].rpartition("@")
        host, port = _host_port(hostport)
        if host is None:
            return None
        return _Url(
            found["scheme"].lower(),
            userinfo if at else None,
            host.lower(),
            port,
            found["path"],
            found["query"],
            found["fragment"],
        )
    scp = _SCP.fullmatch(url)
    if scp is not None and _REG_NAME.fullmatch(scp["host"]):
        return _Url("ssh", scp["user"], scp["host"].lower(), None, scp["path"], None, None)
    if url.startswith("/"):
        return _Url("file", None, "", None, url, None, None)
    return None


def _host_port(hostport: str) -> tuple[str | None, str | None]:
    """(host, port) of an authority without userinfo; host None when either is malformed."""
    if hostport.startswith("["):
        end = hostport.find("]")
        host, rest = hostport[: end + 1], hostport[end + 1 :]
        if end < 0 or not _IPV6.fullmatch(host) or (rest and not rest.startswith(":")):
            return None, None
        port = rest[1:] if rest else ""
    else:
        host, _, port = hostport.partition(":") if hostport.count(":") == 1 else (hostport, "", "")
        if ":" in host or (host and not _REG_NAME.fullmatch(host)):
            return None, None
    if port and (not _PORT.fullmatch(port) or int(port) > 65535):
        return None, None
    return host, port or None


def origin(url: str) -> str:
    """`scheme://host[:port]` of a URL — the only part of a webhook, alert, Prometheus, MetricTemplate or git
    remote URL that a message, a log line, an Event, a status or a commit may show. A git remote on this
    machine is `file://`; anything unparseable is `(invalid URL)` (never the text itself)."""
    parts = _split(url)
    if parts is None:
        return INVALID_URL
    if parts.scheme == "file":
        return LOCAL + parts.host
    if not parts.host:
        return INVALID_URL
    return f"{parts.scheme}://{parts.host}" + (f":{parts.port}" if parts.port else "")


# ------------------------------------------------------------------------------------------------ secrets


def _unquote(text: str, plus: bool = False) -> str:
    """Percent-decoding (UTF-8, undecodable bytes replaced), `+` as space when `plus`."""
    if plus:
        text = text.replace("+", " ")
    return re.sub(
        r"(?:%[0-9A-Fa-f]{2})+", lambda m: bytes.fromhex(m.group().replace("%", "")).decode("utf-8", "replace"), text
    )


def _quote(text: str, safe: str = "") -> str:
    """Percent-encoding of every character but the unreserved ones and `safe` (as `urllib.parse.quote`)."""
    return "".join(
        c if c in _UNRESERVED or c in safe else "".join(f"%{b:02X}" for b in c.encode("utf-8", "replace")) for c in text
    )


def _spellings(piece: str, query: bool = False) -> set[str]:
    """A piece as it may come back: raw, percent-decoded (with `+` as space in a query), re-encoded."""
    decoded = {_unquote(piece), *([_unquote(piece, plus=True)] if query else [])}
    encoded = {form for text in decoded for form in (_quote(text), _quote(text, "/"), _quote(text, "/:@"))}
    return {piece, *decoded, *encoded}


def url_secrets(url: str) -> set[str]:
    """Every piece of `url` that may hold a credential, in every spelling a server may echo it in."""
    parts = _split(url)
    if parts is None:  # not a URL we can take apart: all of it is secret
        return {url.strip()}
    pieces: set[str] = set()
    if parts.userinfo:
        user, _, password = parts.userinfo.partition(":")
        pieces.update(_spellings(parts.userinfo) | _spellings(user) | _spellings(password))
    path = parts.path if parts.path not in ("", "/") else ""
    if path:
        pieces.update(_spellings(path) | _spellings(path.strip("/")))
        for segment in path.split("/"):
            pieces.update(_spellings(segment))
    if parts.query:
        pieces.update(_spellings(parts.query, query=True))
        if path:
            pieces.update(_spellings(f"{path}?{parts.query}", query=True))
        for pair in re.split(r"[&;]", parts.query):
            name, equals, value = pair.partition("=")
            pieces.update(_spellings(pair, query=True) | _spellings(value if equals else name, query=True))
    if parts.fragment:
        pieces.update(_spellings(parts.fragment))
    return pieces


@lru_cache(maxsize=256)
def _masker(urls: tuple[str | None, ...], secrets: tuple[str | None, ...]) -> re.Pattern[str] | None:
    """One pattern for every secret piece, longest first (a whole userinfo before its password). Remembered:
    a tick redacts many texts about the same few URLs (a hook's, the metrics server's)."""
    pieces: set[str] = set()
    for url in urls:
        if url:
            pieces |= url_secrets(url)
    for secret in secrets:
        if secret:
            pieces |= _spellings(secret)
    usable = sorted((p for p in pieces if len(p) >= MIN_SECRET_CHARS and p != MASK), key=lambda p: (-len(p), p))
    if not usable:
        return None
    return re.compile("|".join(re.escape(p) for p in usable), re.IGNORECASE)


def _url_in_text(found: re.Match[str]) -> str:
    """A URL found in a text, cut to its origin; trailing punctuation (the end of a sentence, a closing
    quote or bracket) is kept after it, unless a bracket belongs to the URL (an IPv6 host)."""
    text = found.group()
    tail = ""
    while text and text[-1] in _TRAILING:
        closer = text[-1]
        if closer in ")]}" and text.count({")": "(", "]": "[", "}": "{"}[closer]) >= text.count(closer):
            break
        text, tail = text[:-1], closer + tail
    return origin(text) + tail


def redact(text: str, *urls: str | None, secrets: Iterable[str | None] = ()) -> str:
    """`text` made safe to print: every URL in it cut to its origin, every credential-bearing piece of `urls`
    and every one of `secrets` replaced by `MASK` (outside those origins). Idempotent."""
    if not text:
        return text
    masker = _masker(urls, tuple(secrets))
    if masker is None and "://" not in text and "url: " not in text:
        return text  # the engine's own messages: nothing to cut or mask
    out: list[str] = []
    last = 0
    for found in _URL_IN_TEXT.finditer(text):
        out.append(_mask(text[last : found.start()], masker))
        out.append(_url_in_text(found))
        last = found.end()
    out.append(_mask(text[last:], masker))
    return "".join(out)


def _mask(text: str, masker: re.Pattern[str] | None) -> str:
    if masker is not None:
        text = masker.sub(MASK, text)
    return _REQUEST_TARGET.sub(rf"\1{MASK}", text)
