"""The primary's pod template, copied from the target's: shared by every target kind with a pod template.

Labels get the `-primary` selector value, the `flagger-id` annotation marks the revision the copy was made for,
references to tracked configs point at their `-primary` copies, and anti-affinity and topology-spread selectors
that name the target name the primary instead (Flagger's `makePrimaryLabels` and its affinity rewrite).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from ..configs import TrackedConfigs, rewrite_config_refs
from ..render.meta import without_toolkit_keys

FLAGGER_ID = "flagger-id"


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
    template: Mapping[str, Any],
    *,
    target_name: str,
    label: str,
    value: str,
    tracked: TrackedConfigs,
    flagger_id: str,
    selector_labels: tuple[str, ...],
) -> dict[str, Any]:
    """The primary's pod template, copied from the target's `template` with labels, configs and selectors
    rewritten."""
    meta = template.get("metadata") or {}
    labels = without_toolkit_keys(meta.get("labels"))
    labels[label] = f"{value}-primary"
    annotations = without_toolkit_keys(meta.get("annotations"))
    annotations[FLAGGER_ID] = flagger_id
    pod_spec = rewrite_config_refs(template.get("spec") or {}, tracked)
    anti_affinity = (pod_spec.get("affinity") or {}).get("podAntiAffinity")
    if pod_spec.get("topologySpreadConstraints") or anti_affinity:
        pod_spec = copy.deepcopy(dict(pod_spec)) if pod_spec is (template.get("spec") or {}) else pod_spec
        _rewrite_affinity_selectors(pod_spec, selector_labels, target_name)
    return {
        "metadata": {"labels": dict(sorted(labels.items())), "annotations": dict(sorted(annotations.items()))},
        "spec": pod_spec,
    }
