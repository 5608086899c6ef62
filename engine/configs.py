"""Config tracking: the ConfigMaps and Secrets a pod template uses, their checksums, and `-primary` names."""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

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


def _config_refs(pod_spec: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any], str]]:
    """Every place a pod spec names a ConfigMap or Secret, as (kind, the reference map, its name key).
    Absent or empty reference maps are left out (they name nothing)."""
    for volume in pod_spec.get("volumes") or []:
        if ref := volume.get("configMap"):
            yield "configmap", ref, "name"
        if ref := volume.get("secret"):
            yield "secret", ref, "secretName"
        for source in (volume.get("projected") or {}).get("sources") or []:
            if ref := source.get("configMap"):
                yield "configmap", ref, "name"
            if ref := source.get("secret"):
                yield "secret", ref, "name"
    for containers in (pod_spec.get("initContainers") or [], pod_spec.get("containers") or []):
        for container in containers:
            for env in container.get("env") or []:
                if value_from := env.get("valueFrom"):
                    if ref := value_from.get("configMapKeyRef"):
                        yield "configmap", ref, "name"
                    if ref := value_from.get("secretKeyRef"):
                        yield "secret", ref, "name"
            for env_from in container.get("envFrom") or []:
                if ref := env_from.get("configMapRef"):
                    yield "configmap", ref, "name"
                if ref := env_from.get("secretRef"):
                    yield "secret", ref, "name"


def referenced_configs(pod_spec: Mapping[str, Any]) -> list[ConfigRef]:
    """Every ConfigMap/Secret reference in volumes, projected volumes, env and envFrom, in order, deduplicated.
    A config is optional only if every reference to it is."""
    if not _may_reference(pod_spec):
        return []
    found: dict[tuple[str, str], bool] = {}
    for kind, ref, key in _config_refs(pod_spec):
        if ref.get(key):
            ident = (kind, str(ref[key]))
            found[ident] = found.get(ident, True) and bool(ref.get("optional", False))
    return [ConfigRef(kind, name, optional) for (kind, name), optional in found.items()]


def _may_reference(pod_spec: Mapping[str, Any]) -> bool:
    """False when `_config_refs` would find nothing: no volumes, and no container with envFrom or an env
    var with valueFrom (most pod specs; checked without starting the generator)."""
    if pod_spec.get("volumes"):
        return True
    for containers in (pod_spec.get("initContainers") or [], pod_spec.get("containers") or []):
        for container in containers:
            if container.get("envFrom"):
                return True
            for env in container.get("env") or []:
                if env.get("valueFrom"):
                    return True
    return False


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
            if summary.type not in TRACKED_SECRET_TYPES or dict(summary.annotations).get(
                TRACKING_ANNOTATION, ""
            ).startswith("disable"):
                continue
            checksums.append((f"secret/{ref.name}", summary.checksum))
            secrets.append(ref.name)
    if not checksums and not configmaps and not secrets:
        return NO_CONFIGS
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
    for kind, ref, key in _config_refs(spec):
        if (kind, ref.get(key)) in names:
            ref[key] = f"{ref[key]}-primary"  # type: ignore[index]  # refs of the copy are plain dicts
    return spec
