"""What the core is told about the cluster: a read-only snapshot of the objects a tick looks at.

Secrets arrive as `SecretSummary` (name, type, annotations, checksum): their data never enters the core.
MetricTemplates arrive parsed (`MetricTemplateSpec`), so the core renders every metric query itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .analysis.templates import MetricTemplateSpec
from .hashing import config_checksum

Manifest = Mapping[str, Any]


@dataclass(frozen=True)
class SecretSummary:
    namespace: str
    name: str
    type: str
    annotations: tuple[tuple[str, str], ...]
    checksum: str


def summarize_secret(manifest: Manifest, key: bytes = b"") -> SecretSummary:
    """Reduce a Secret to what config tracking needs; call this before the data is kept anywhere. `key`: the
    `Settings.checksum_key` that keys the data's checksum (see `hashing.config_checksum`)."""
    meta = manifest.get("metadata") or {}
    return SecretSummary(
        namespace=str(meta.get("namespace") or "default"),
        name=str(meta.get("name") or ""),
        type=str(manifest.get("type") or "Opaque"),
        annotations=tuple(sorted((meta.get("annotations") or {}).items())),
        checksum=config_checksum(manifest.get("data"), key),
    )


@dataclass(frozen=True)
class ClusterView:
    """Objects keyed by (kind, namespace, name). `server_objects` excludes Secrets, see `secrets`. The valid
    MetricTemplates, by (namespace, name), are in `metric_templates` (an invalid one reads as not found)."""

    objects: Mapping[tuple[str, str, str], Manifest] = field(default_factory=dict)
    secrets: Mapping[tuple[str, str], SecretSummary] = field(default_factory=dict)
    metric_templates: Mapping[tuple[str, str], MetricTemplateSpec] = field(default_factory=dict)

    @staticmethod
    def of(
        manifests: Iterable[Manifest],
        secrets: Iterable[SecretSummary] = (),
        metric_templates: Mapping[tuple[str, str], MetricTemplateSpec] | None = None,
    ) -> ClusterView:
        table: dict[tuple[str, str, str], Manifest] = {}
        for obj in manifests:
            meta = obj.get("metadata") or {}
            table[(str(obj.get("kind")), str(meta.get("namespace") or "default"), str(meta.get("name")))] = obj
        return ClusterView(
            objects=table, secrets={(s.namespace, s.name): s for s in secrets}, metric_templates=metric_templates or {}
        )

    def get(self, kind: str, namespace: str, name: str) -> Manifest | None:
        return self.objects.get((kind, namespace, name))

    def secret(self, namespace: str, name: str) -> SecretSummary | None:
        return self.secrets.get((namespace, name))
