"""Kubernetes name rules, checked before a name goes into an object, a PromQL query, a URL or a path."""

from __future__ import annotations

import re

from .errors import SpecError

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def is_dns1123_label(value: object) -> bool:
    return isinstance(value, str) and len(value) <= 63 and bool(_DNS1123_LABEL.fullmatch(value))


def is_dns1123_subdomain(value: object) -> bool:
    return isinstance(value, str) and len(value) <= 253 and bool(_DNS1123_SUBDOMAIN.fullmatch(value))


def require_label(path: str, value: object) -> str:
    if not is_dns1123_label(value):
        raise SpecError(
            path, f"must be a DNS-1123 label (lower-case letters, digits and '-', at most 63), got {value!r}"
        )
    return value  # type: ignore[return-value]


def require_subdomain(path: str, value: object) -> str:
    if not is_dns1123_subdomain(value):
        raise SpecError(path, f"must be a DNS-1123 name (lower-case letters, digits, '-' and '.'), got {value!r}")
    return value  # type: ignore[return-value]


_PORT_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")


def require_port_name(path: str, value: object) -> str:
    """An IANA service name, as Kubernetes requires of a named port: at most 15 characters, a letter, no '--'."""
    if not (
        isinstance(value, str)
        and len(value) <= 15
        and _PORT_NAME.fullmatch(value)
        and "--" not in value
        and any(c.isalpha() for c in value)
    ):
        raise SpecError(
            path, f"must be a port number or a port name (at most 15 lower-case letters, digits and '-'), got {value!r}"
        )
    return value


_HTTP_URL = re.compile(r"https?://[^/:?#\s@]+(:[0-9]{1,5})?([/?#]\S*)?")


def is_http_url(text: object) -> bool:
    """An http(s) URL with a host and no userinfo, matched on the whole string (no trailing newline)."""
    return isinstance(text, str) and bool(_HTTP_URL.fullmatch(text))
