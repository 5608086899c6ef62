"""Parse `flagger.app/v1beta1` AlertProvider manifests, and resolve one to the address alerts are posted to.

Flagger's `AlertProviderSpec`: `type`, `channel` (default `general`), `username` (default `flagger`),
`address`, `proxy`, `secretRef.name` (the Secret's `address` key overrides `spec.address`; its `token` key
is sent as `Authorization: Bearer`). These fields are the same for every type; `spec.type` must name one of
the notifiers of `engine.alerting.factory` (`slack`, `msteams`, `discord` and `generic`, a JSON webhook, see
docs/alerts.md); Flagger's other types (`rocket`, `gchat`, …) are rejected naming `spec.type`.

A webhook address is a credential (whoever has a Slack or Teams hook URL can post to the channel), so no
error here repeats an address, neither from the manifest nor from a Secret. `NotifierTarget` keeps the URL,
token and proxy out of its `repr`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..cluster import ClusterView
from ..errors import SpecError
from ..fields import require_map, require_str, type_name
from ..model import V1BETA1
from ..names import is_http_url, require_label, require_subdomain
from .factory import PROVIDER_TYPES, notifier_for
from .notifier import DEFAULT_CHANNEL, DEFAULT_USERNAME, NotifierTarget

ALERT_PROVIDER_KIND = "AlertProvider"

_PROXY_URL = re.compile(r"^(https?|socks5h?)://([^/?#\s@]+@)?[^/:?#\s@]+(:[0-9]{1,5})?/?$")


def is_webhook_url(text: str) -> bool:
    """An http or https URL with a host (and, unlike Flagger's `url.ParseRequestURI`, nothing else)."""
    return is_http_url(text)


@dataclass(frozen=True)
class AlertProviderSpec:
    name: str
    namespace: str
    type: str
    channel: str = DEFAULT_CHANNEL
    username: str = DEFAULT_USERNAME
    address: str | None = field(default=None, repr=False)
    proxy: str | None = field(default=None, repr=False)
    secret_name: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.namespace, self.name)

    @property
    def label(self) -> str:
        """`<name>.<namespace>`: how logs and errors name the provider (never by its address)."""
        return f"{self.name}.{self.namespace}"


def _optional_str(spec: Mapping[str, Any], key: str, *, secret: bool = False) -> str | None:
    """`spec.<key>` as a string or None; for an address (`secret`) the error does not repeat the value."""
    value = spec.get(key)
    if value in (None, ""):
        return None
    if secret and not isinstance(value, str):
        raise SpecError(f"spec.{key}", f"must be a string, got {type_name(value)}")
    return require_str(f"spec.{key}", value)


def parse_alert_provider(manifest: object) -> AlertProviderSpec:
    """Parse one AlertProvider manifest; raises `SpecError` naming the field path."""
    doc = require_map("(document)", manifest)
    if doc.get("apiVersion") != V1BETA1:
        raise SpecError("apiVersion", f"must be {V1BETA1}, got {doc.get('apiVersion')!r}")
    if doc.get("kind") != ALERT_PROVIDER_KIND:
        raise SpecError("kind", f"must be {ALERT_PROVIDER_KIND}, got {doc.get('kind')!r}")
    meta = require_map("metadata", doc.get("metadata"))
    if meta.get("name") in (None, ""):
        raise SpecError("metadata.name", "required")
    name = require_subdomain("metadata.name", require_str("metadata.name", meta["name"]))
    namespace = require_label(
        "metadata.namespace", require_str("metadata.namespace", meta.get("namespace") or "default")
    )
    spec = require_map("spec", doc.get("spec"))
    if spec.get("type") in (None, ""):
        raise SpecError("spec.type", f"required: one of {', '.join(PROVIDER_TYPES)}")
    kind = notifier_for(require_str("spec.type", spec["type"])).name
    address = _optional_str(spec, "address", secret=True)
    if address is not None and not is_webhook_url(address):
        raise SpecError("spec.address", "must be an http or https URL with a host")
    proxy = _optional_str(spec, "proxy", secret=True)
    if proxy is not None and not _PROXY_URL.fullmatch(proxy):
        raise SpecError("spec.proxy", "must be an http, https or socks5 URL with a host")
    secret_name = None
    if spec.get("secretRef") is not None:
        ref = require_map("spec.secretRef", spec["secretRef"])
        if ref.get("name") in (None, ""):
            raise SpecError("spec.secretRef.name", "required")
        secret_name = require_subdomain("spec.secretRef.name", require_str("spec.secretRef.name", ref["name"]))
    if address is None and secret_name is None:
        raise SpecError("spec.address", "required unless spec.secretRef names a Secret with an address key")
    return AlertProviderSpec(
        name=name,
        namespace=namespace,
        type=kind,
        channel=_optional_str(spec, "channel") or DEFAULT_CHANNEL,
        username=_optional_str(spec, "username") or DEFAULT_USERNAME,
        address=address,
        proxy=proxy,
        secret_name=secret_name,
    )


def alert_providers(cluster: ClusterView) -> dict[tuple[str, str], AlertProviderSpec | SpecError]:
    """Every AlertProvider of a cluster snapshot by (namespace, name): parsed, or the error that names
    the bad field (so one bad provider does not hide the others)."""
    found: dict[tuple[str, str], AlertProviderSpec | SpecError] = {}
    for (kind, namespace, name), manifest in cluster.objects.items():
        if kind != ALERT_PROVIDER_KIND:
            continue
        try:
            found[(namespace, name)] = parse_alert_provider(manifest)
        except SpecError as err:
            found[(namespace, name)] = err
    return found


def resolve_target(provider: AlertProviderSpec, secret: Mapping[str, str] | None = None) -> NotifierTarget:
    """The address to post to: the Secret's `address` key when `spec.secretRef` is set (Flagger: the Secret
    overrides `spec.address`), else `spec.address`. `secret` is the decoded data of the Secret named by
    `spec.secretRef` (None: not found). Errors name the Secret and the key, never the value."""
    token = None
    if provider.secret_name is not None:
        where = f"secret {provider.namespace}/{provider.secret_name}"
        if secret is None:
            raise SpecError("spec.secretRef.name", f"{where} not found")
        address = secret.get("address")
        if not address:
            raise SpecError("spec.secretRef.name", f"{where} does not contain an address key")
        address = address.strip()
        if not is_webhook_url(address):
            raise SpecError("spec.secretRef.name", f"the address in {where} must be an http or https URL with a host")
        token = (secret.get("token") or "").strip() or None
    else:
        address = provider.address or ""
    return NotifierTarget(
        label=provider.label,
        type=provider.type,
        url=address,
        channel=provider.channel,
        username=provider.username,
        token=token,
        proxy=provider.proxy,
    )


GLOBAL_LABEL = "global"


def global_target(
    type: str,
    url: str,
    *,
    channel: str = DEFAULT_CHANNEL,
    username: str = DEFAULT_USERNAME,
    token: str | None = None,
    proxy: str | None = None,
) -> NotifierTarget:
    """The global notifier (Flagger's `-slack-url`/`-msteams-url` flags): used for canaries without
    `analysis.alerts`, and receives every severity. Errors name the setting, never the address."""
    notifier_for(type, "type", flagger_hint=False)
    if not is_webhook_url(url):
        raise SpecError("url", "must be an http or https URL with a host")
    if proxy is not None and not _PROXY_URL.fullmatch(proxy):
        raise SpecError("proxy", "must be an http, https or socks5 URL with a host")
    return NotifierTarget(
        GLOBAL_LABEL, type, url, channel or DEFAULT_CHANNEL, username or DEFAULT_USERNAME, token, proxy
    )
