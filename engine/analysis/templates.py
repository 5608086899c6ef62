"""`flagger.app/v1beta1` MetricTemplate manifests as typed, immutable values.

Flagger HEAD: `pkg/apis/flagger/v1beta1/metric.go` and the CRD in `artifacts/flagger/crd.yaml`. cronary
runs Prometheus templates only; the other provider types are named in the error. Errors are SpecError
with the field path (`spec.provider.address: required`), like `engine.canary_spec`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import SpecError
from ..fields import require_map, require_str
from ..model import V1BETA1
from ..names import is_http_url
from ..redact import origin
from .promql import require_name
from .template import parse_template

SUPPORTED_PROVIDER_TYPES = ("prometheus",)
# Every type Flagger's CRD allows; all but prometheus are "not supported by cronary yet".
FLAGGER_PROVIDER_TYPES = (
    "prometheus",
    "influxdb",
    "datadog",
    "externalmetrics",
    "stackdriver",
    "cloudwatch",
    "newrelic",
    "graphite",
    "dynatrace",
    "keptn",
    "splunk",
)

_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # an RFC 9110 token


@dataclass(frozen=True)
class MetricTemplateSpec:
    """A MetricTemplate: where to run `query` (`address`, auth from Secret `secret_name` in the template's
    namespace, extra `headers` as name -> values) and the query template itself."""

    name: str
    namespace: str
    provider_type: str
    address: str
    query: str
    secret_name: str | None = None
    headers: tuple[tuple[str, tuple[str, ...]], ...] = ()
    insecure_skip_verify: bool = False

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


def _headers(path: str, value: object) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if value is None:
        return ()
    out = []
    for name, values in require_map(path, value).items():
        if not isinstance(name, str) or not _HEADER_NAME.match(name):
            raise SpecError(path, f"header name {name!r} is not a valid HTTP header name")
        if not isinstance(values, list):
            raise SpecError(f"{path}.{name}", f"must be a list of strings (Go's http.Header), got {values!r}")
        items = []
        for i, item in enumerate(values):
            text = require_str(f"{path}.{name}[{i}]", item)
            if any((ord(c) < 32 and c != "\t") or ord(c) == 127 for c in text):
                raise SpecError(
                    f"{path}.{name}[{i}]", "must not contain control characters (line breaks would inject headers)"
                )
            items.append(text)
        out.append((name, tuple(items)))
    return tuple(sorted(out))


def parse_metric_template(manifest: object, default_namespace: str = "default") -> MetricTemplateSpec:
    """Parse one MetricTemplate manifest; raises SpecError naming the field path. The query template is
    checked here (functions and syntax), its variables when it is rendered for a canary."""
    doc = require_map("(document)", manifest)
    if doc.get("apiVersion") != V1BETA1:
        raise SpecError("apiVersion", f"must be {V1BETA1}, got {doc.get('apiVersion')!r}")
    if doc.get("kind") != "MetricTemplate":
        raise SpecError("kind", f"must be MetricTemplate, got {doc.get('kind')!r}")
    meta = require_map("metadata", doc.get("metadata"))
    if not meta.get("name"):
        raise SpecError("metadata.name", "required")
    name = require_name("metadata.name", meta["name"], label=False)
    namespace = require_name("metadata.namespace", meta.get("namespace") or default_namespace, label=True)
    spec = require_map("spec", doc.get("spec"))
    if spec.get("provider") is None:
        raise SpecError("spec.provider", "required")
    provider = require_map("spec.provider", spec["provider"])
    kind = provider.get("type")
    if not kind:
        raise SpecError("spec.provider.type", "required")
    kind = require_str("spec.provider.type", kind)
    if kind not in FLAGGER_PROVIDER_TYPES:
        raise SpecError("spec.provider.type", f"must be one of {', '.join(FLAGGER_PROVIDER_TYPES)}, got {kind!r}")
    if kind not in SUPPORTED_PROVIDER_TYPES:
        raise SpecError(
            "spec.provider.type",
            f"provider {kind!r} is not supported by cronary yet (supported: {', '.join(SUPPORTED_PROVIDER_TYPES)})",
        )
    address = provider.get("address")
    if not address:
        raise SpecError("spec.provider.address", "required (Flagger's prometheus provider needs an address)")
    address = require_str("spec.provider.address", address)
    if not is_http_url(address):
        raise SpecError(
            "spec.provider.address",
            f"must be an http or https URL with a host and no user:password@, got {origin(address)}",
        )
    secret_name = None
    if provider.get("secretRef") is not None:
        ref = require_map("spec.provider.secretRef", provider["secretRef"])
        if not ref.get("name"):
            raise SpecError("spec.provider.secretRef.name", "required")
        secret_name = require_name("spec.provider.secretRef.name", ref["name"], label=False)
    skip = provider.get("insecureSkipVerify", False)
    if not isinstance(skip, bool):
        raise SpecError("spec.provider.insecureSkipVerify", f"must be true or false, got {skip!r}")
    if not spec.get("query"):
        raise SpecError("spec.query", "required")
    query = require_str("spec.query", spec["query"])
    parse_template(query, "spec.query")
    return MetricTemplateSpec(
        name=name,
        namespace=namespace,
        provider_type=kind,
        address=address,
        query=query,
        secret_name=secret_name,
        headers=_headers("spec.provider.headers", provider.get("headers")),
        insecure_skip_verify=skip,
    )
