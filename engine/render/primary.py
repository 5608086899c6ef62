"""The `<target>-primary` Deployment, the target's Scale, and the `-primary` ConfigMap copies."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from ..configs import TrackedConfigs, rewrite_config_refs
from ..model import Canary
from .meta import include_by_prefix, object_meta, owner_reference, sorted_dict, without_toolkit_keys

FLAGGER_ID = "flagger-id"
_COPIED_SPEC_FIELDS = ("progressDeadlineSeconds", "minReadySeconds", "revisionHistoryLimit", "strategy")


def primary_name(canary: Canary) -> str:
    return f"{canary.spec.target_ref.name}-primary"


def _rewrite_affinity_selectors(pod_spec: Any, selector_labels: tuple[str, ...], target_name: str) -> None:
    """Point anti-affinity and topology-spread selectors that name the target at the primary instead."""

    def fix(selector: dict[str, Any] | None) -> None:
        if not selector:
            return
        for key, value in list((selector.get("matchLabels") or {}).items()):
            if key in selector_labels and value == target_name:
                selector["matchLabels"][key] = f"{value}-primary"
        for expr in selector.get("matchExpressions") or []:
            if expr.get("key") in selector_labels:
                expr["values"] = [f"{v}-primary" if v == target_name else v for v in expr.get("values") or []]

    for constraint in pod_spec.get("topologySpreadConstraints") or []:
        fix(constraint.get("labelSelector"))
    anti = (pod_spec.get("affinity") or {}).get("podAntiAffinity") or {}
    for term in anti.get("requiredDuringSchedulingIgnoredDuringExecution") or []:
        fix(term.get("labelSelector"))
    for weighted in anti.get("preferredDuringSchedulingIgnoredDuringExecution") or []:
        fix((weighted.get("podAffinityTerm") or {}).get("labelSelector"))


def primary_template(
    target: Mapping[str, Any],
    *,
    label: str,
    value: str,
    tracked: TrackedConfigs,
    flagger_id: str,
    selector_labels: tuple[str, ...],
) -> dict[str, Any]:
    """The primary's pod template, copied from the target with labels, configs and selectors rewritten."""
    template = (target.get("spec") or {}).get("template") or {}
    meta = template.get("metadata") or {}
    labels = without_toolkit_keys(meta.get("labels"))
    labels[label] = f"{value}-primary"
    annotations = without_toolkit_keys(meta.get("annotations"))
    annotations[FLAGGER_ID] = flagger_id
    pod_spec = rewrite_config_refs(template.get("spec") or {}, tracked)
    anti_affinity = (pod_spec.get("affinity") or {}).get("podAntiAffinity")
    if pod_spec.get("topologySpreadConstraints") or anti_affinity:
        pod_spec = copy.deepcopy(dict(pod_spec)) if pod_spec is (template.get("spec") or {}) else pod_spec
        _rewrite_affinity_selectors(pod_spec, selector_labels, str((target.get("metadata") or {}).get("name")))
    return {
        "metadata": {"labels": dict(sorted(labels.items())), "annotations": dict(sorted(annotations.items()))},
        "spec": pod_spec,
    }


def render_primary_deployment(
    canary: Canary,
    target: Mapping[str, Any],
    existing: Mapping[str, Any] | None,
    *,
    label: str,
    value: str,
    template: Mapping[str, Any] | None,
    include_label_prefixes: tuple[str, ...],
    owner: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The desired primary Deployment. Like every rendered object it may share unchanged parts with its
    inputs: all of them are read-only.

    `template` is a fresh template when the primary is created or promoted; otherwise None, and the
    primary keeps what it runs. `replicas` is set at creation and, without an autoscaler, at promotion —
    an HPA owns it otherwise.
    """
    source = target if (template is not None or existing is None) else existing
    source_spec = source.get("spec") or {}
    primary_value = f"{value}-primary"
    labels = include_by_prefix((target.get("metadata") or {}).get("labels"), include_label_prefixes)
    labels[label] = primary_value
    if len(labels) > 1:
        labels = sorted_dict(labels)
    spec: dict[str, Any] = {}
    if existing is None:
        replicas = (target.get("spec") or {}).get("replicas")
        spec["replicas"] = replicas if isinstance(replicas, int) and replicas > 0 else 1
    elif canary.spec.autoscaler_ref is None:
        spec["replicas"] = (
            source_spec.get("replicas") if template is not None else (existing.get("spec") or {}).get("replicas")
        )
        if not isinstance(spec["replicas"], int) or spec["replicas"] <= 0:
            spec["replicas"] = (existing.get("spec") or {}).get("replicas") or 1
    for key in _COPIED_SPEC_FIELDS:
        if key in source_spec:
            spec[key] = source_spec[key]
    spec["selector"] = {"matchLabels": {label: primary_value}}
    spec["template"] = template if template is not None else (existing or {}).get("spec", {}).get("template", {})
    # object_meta's metadata, built directly
    meta: dict[str, Any] = {
        "name": f"{canary.spec.target_ref.name}-primary",
        "namespace": canary.namespace,
        "labels": labels,
    }
    owner = owner or owner_reference(canary)
    if owner:
        meta["ownerReferences"] = [owner]
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta, "spec": spec}


def render_scale(namespace: str, name: str, replicas: int) -> dict[str, Any]:
    """The target's `deployments/scale` subresource, as an `autoscaling/v1 Scale` object."""
    return {
        "apiVersion": "autoscaling/v1",
        "kind": "Scale",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"replicas": replicas},
    }


def render_config_copies(
    canary: Canary, tracked: TrackedConfigs, include_label_prefixes: tuple[str, ...]
) -> list[dict[str, Any]]:
    """`<name>-primary` copies of tracked ConfigMaps. Secret copies are an intent the shell performs (no data here)."""
    copies = []
    for cm in tracked.configmaps:
        meta = cm.get("metadata") or {}
        obj: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": object_meta(
                canary, f"{meta.get('name')}-primary", include_by_prefix(meta.get("labels"), include_label_prefixes)
            ),
        }
        if cm.get("data"):
            obj["data"] = dict(cm["data"])
        copies.append(obj)
    return copies
