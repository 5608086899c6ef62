"""Metadata shared by every generated object: owner references and label filtering."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from ..hashing import derived_uuid
from ..model import Canary

FLUX_ANNOTATIONS = {
    "kustomize.toolkit.fluxcd.io/reconcile": "disabled",
    "helm.toolkit.fluxcd.io/driftDetection": "disabled",
}


@lru_cache(maxsize=65536)
def _derived_canary_uid(namespace: str, name: str) -> str:
    return derived_uuid("canary", namespace, name)


def canary_uid(canary: Canary) -> str:
    """The Canary's uid; a Canary read from a local file has none, so one is derived from its name."""
    return canary.uid or _derived_canary_uid(canary.namespace, canary.name)


def owner_reference(canary: Canary) -> dict[str, Any] | None:
    """The Canary as the owner of a generated object, or None when cronary has not read the Canary's uid from a
    cluster (a local file, a GitOps repository). A made-up uid would never match the live Canary, and the garbage
    collector deletes an object whose owner does not exist: the primary, the Services, the routes."""
    if not canary.uid:
        return None
    return _owner_reference(canary.api_version, canary.name, canary.uid)


@lru_cache(maxsize=65536)
def _owner_reference(api_version: str, name: str, uid: str) -> dict[str, Any]:
    """Shared between the objects of a canary (like every rendered value, read-only)."""
    return {
        "apiVersion": api_version,
        "kind": "Canary",
        "name": name,
        "uid": uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def shared_owners(canary: Canary, live: Mapping[str, Any] | None) -> list[dict[str, Any]] | None:
    """The owner references of a `-primary` config copy that several canaries may mount (Flagger v1.16.0,
    #1052): this canary and every other Canary already among the live copy's owners. With several, none is the
    controller, so each canary writes the same list (no write back and forth between them), and the garbage
    collector deletes the copy only when the last of them is gone. None without a uid (see `owner_reference`)."""
    mine = owner_reference(canary)
    if mine is None:
        return None
    refs = (live or {}).get("metadata", {}).get("ownerReferences") or ()
    others = [
        dict(r)
        for r in refs
        if isinstance(r, Mapping) and r.get("kind") == "Canary" and r.get("uid") and r.get("uid") != canary.uid
    ]
    if not others:
        return [mine]
    return sorted(({**r, "controller": False} for r in [mine, *others]), key=lambda r: (str(r["name"]), str(r["uid"])))


def without_toolkit_keys(items: Mapping[str, Any] | None) -> dict[str, Any]:
    """Drop keys containing `toolkit.fluxcd.io`, so Flux never takes a generated object for its own."""
    if not items:
        return {}
    return {k: v for k, v in items.items() if "toolkit.fluxcd.io" not in k}


def include_by_prefix(items: Mapping[str, Any] | None, prefixes: tuple[str, ...]) -> dict[str, Any]:
    """The keys of `items` that start with one of `prefixes` (`-include-label-prefix`); the prefix `*` takes
    every key, as Flagger's `includeLabelsByPrefix` does. Toolkit keys are always dropped."""
    if not prefixes and (items is None or isinstance(items, dict)):
        return {}  # no key starts with one of no prefixes
    if "*" in prefixes:
        return without_toolkit_keys(items)
    return {k: v for k, v in without_toolkit_keys(items).items() if any(k.startswith(p) for p in prefixes)}


def sorted_dict(items: Mapping[str, Any]) -> dict[str, Any]:
    """A new dict of `items` in key order (what Kubernetes' own serialization does to maps)."""
    return dict(sorted(items.items())) if len(items) > 1 else dict(items)


def object_meta(
    canary: Canary,
    name: str,
    labels: Mapping[str, Any] | None = None,
    annotations: Mapping[str, Any] | None = None,
    owner: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """`owner`: the canary's `owner_reference`, if at hand."""
    meta: dict[str, Any] = {"name": name, "namespace": canary.namespace}
    if labels:
        meta["labels"] = sorted_dict(labels)
    if annotations:
        meta["annotations"] = sorted_dict(annotations)
    owner = owner or owner_reference(canary)
    if owner:
        meta["ownerReferences"] = [owner]
    return meta
