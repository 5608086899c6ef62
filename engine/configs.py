"""Config tracking: the ConfigMaps and Secrets a pod template uses, their checksums, and `-primary` names."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Iterator, Mapping

from .cluster import ClusterView
from .hashing import config_checksum

TRACKED_SECRET_TYPES = ("Opaque", "kubernetes.io/basic-auth", "kubernetes.io/ssh-auth", "kubernetes.io/tls")
TRACKING_ANNOTATION = "flagger.app/config-tracking"


class ConfigError(RuntimeError):
    """A mandatory ConfigMap or Secret referenced by the target does not exist."""


@dataclass(frozen=True)
class ConfigRef:
    kind: str  # "configmap" | "secret"
    name: str
    optional: bool


@dataclass(frozen=True)
class TrackedConfigs:
    checksums: tuple[tuple[str, str], ...]  # ("configmap/<name>", checksum), sorted
    configmaps: tuple[Mapping[str, Any], ...]  # the ConfigMaps to copy to -primary
    secrets: tuple[str, ...]  # names of Secrets to copy to -primary

    @property
    def names(self) -> frozenset[tuple[str, str]]:
        return frozenset(tuple(key.split("/", 1)) for key, _ in self.checksums)  # type: ignore[misc]


NO_CONFIGS = TrackedConfigs((), (), ())


def _containers(pod_spec: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    yield from pod_spec.get("initContainers") or []
    yield from pod_spec.get("containers") or []


def referenced_configs(pod_spec: Mapping[str, Any]) -> list[ConfigRef]:
    """Every ConfigMap/Secret reference in volumes, projected volumes, env and envFrom, in order, deduplicated."""
    found: dict[tuple[str, str], bool] = {}

    def add(kind: str, ref: Mapping[str, Any] | None, key: str = "name") -> None:
        if ref and ref.get(key):
            ident = (kind, str(ref[key]))
            found[ident] = found.get(ident, True) and bool(ref.get("optional", False))

    for volume in pod_spec.get("volumes") or []:
        add("configmap", volume.get("configMap"))
        add("secret", volume.get("secret"), "secretName")
        for source in (volume.get("projected") or {}).get("sources") or []:
            add("configmap", source.get("configMap"))
            add("secret", source.get("secret"))
    for container in _containers(pod_spec):
        for env in container.get("env") or []:
            value_from = env.get("valueFrom") or {}
            add("configmap", value_from.get("configMapKeyRef"))
            add("secret", value_from.get("secretKeyRef"))
        for env_from in container.get("envFrom") or []:
            add("configmap", env_from.get("configMapRef"))
            add("secret", env_from.get("secretRef"))
    return [ConfigRef(kind, name, optional) for (kind, name), optional in found.items()]


def track_configs(pod_spec: Mapping[str, Any], namespace: str, cluster: ClusterView) -> TrackedConfigs:
    """Checksums of the tracked configs, plus what must be copied; raises ConfigError for a missing mandatory ref."""
    checksums: list[tuple[str, str]] = []
    configmaps: list[Mapping[str, Any]] = []
    secrets: list[str] = []
    for ref in referenced_configs(pod_spec):
        if ref.kind == "configmap":
            obj = cluster.get("ConfigMap", namespace, ref.name)
            if obj is None:
                if ref.optional:
                    continue
                raise ConfigError(f"configmap {namespace}/{ref.name} not found")
            annotations = (obj.get("metadata") or {}).get("annotations") or {}
            if str(annotations.get(TRACKING_ANNOTATION, "")).startswith("disable"):
                continue
            checksums.append((f"configmap/{ref.name}", config_checksum(obj.get("data"))))
            configmaps.append(obj)
        else:
            summary = cluster.secret(namespace, ref.name)
            if summary is None:
                if ref.optional:
                    continue
                raise ConfigError(f"secret {namespace}/{ref.name} not found")
            if summary.type not in TRACKED_SECRET_TYPES or dict(summary.annotations).get(TRACKING_ANNOTATION, "").startswith("disable"):
                continue
            checksums.append((f"secret/{ref.name}", summary.checksum))
            secrets.append(ref.name)
    return TrackedConfigs(tuple(sorted(checksums)), tuple(configmaps), tuple(secrets))


def configs_changed(tracked: tuple[tuple[str, str], ...] | None, current: TrackedConfigs) -> bool:
    """Flagger's `HasConfigChanged`."""
    if not current.checksums and not tracked:
        return False
    if tracked is None:
        return True
    return dict(tracked) != dict(current.checksums)


def rewrite_config_refs(pod_spec: Mapping[str, Any], tracked: TrackedConfigs) -> Mapping[str, Any]:
    """The pod spec with references to tracked configs pointing at the `-primary` copies (a copy when
    anything is renamed; the input itself, unchanged, when nothing is)."""
    names = tracked.names
    if not names:
        return pod_spec  # type: ignore[return-value]  # nothing to rename: share, never mutate
    spec = copy.deepcopy(dict(pod_spec))

    def rename(kind: str, ref: dict[str, Any] | None, key: str = "name") -> None:
        if ref and (kind, ref.get(key)) in names:
            ref[key] = f"{ref[key]}-primary"

    for volume in spec.get("volumes") or []:
        rename("configmap", volume.get("configMap"))
        rename("secret", volume.get("secret"), "secretName")
        for source in (volume.get("projected") or {}).get("sources") or []:
            rename("configmap", source.get("configMap"))
            rename("secret", source.get("secret"))
    for container in list(spec.get("initContainers") or []) + list(spec.get("containers") or []):
        for env in container.get("env") or []:
            value_from = env.get("valueFrom") or {}
            rename("configmap", value_from.get("configMapKeyRef"))
            rename("secret", value_from.get("secretKeyRef"))
        for env_from in container.get("envFrom") or []:
            rename("configmap", env_from.get("configMapRef"))
            rename("secret", env_from.get("secretRef"))
    return spec
