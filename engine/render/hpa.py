"""The primary HorizontalPodAutoscaler, always `autoscaling/v2`, from a v2beta1, v2beta2 or v2 HPA."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..model import Canary
from .meta import object_meta, without_toolkit_keys


def _target(utilization: Any = None, average_value: Any = None, value: Any = None) -> dict[str, Any]:
    if utilization is not None:
        return {"type": "Utilization", "averageUtilization": utilization}
    if average_value is not None:
        return {"type": "AverageValue", "averageValue": average_value}
    return {"type": "Value", "value": value}


def _metric_v2beta1_to_v2(metric: Mapping[str, Any]) -> dict[str, Any]:
    kind = metric.get("type")
    if kind in ("Resource", "ContainerResource"):
        key = "resource" if kind == "Resource" else "containerResource"
        src = metric.get(key) or {}
        out: dict[str, Any] = {"name": src.get("name")}
        if kind == "ContainerResource":
            out["container"] = src.get("container")
        out["target"] = _target(src.get("targetAverageUtilization"), src.get("targetAverageValue"))
        return {"type": kind, key: out}
    if kind == "Pods":
        src = metric.get("pods") or {}
        ident = {"name": src.get("metricName"), **({"selector": src["selector"]} if src.get("selector") else {})}
        return {
            "type": "Pods",
            "pods": {"metric": ident, "target": _target(average_value=src.get("targetAverageValue"))},
        }
    if kind == "Object":
        src = metric.get("object") or {}
        ident = {"name": src.get("metricName"), **({"selector": src["selector"]} if src.get("selector") else {})}
        target = (
            _target(average_value=src.get("averageValue"))
            if src.get("averageValue") is not None
            else _target(value=src.get("targetValue"))
        )
        return {"type": "Object", "object": {"describedObject": src.get("target"), "metric": ident, "target": target}}
    if kind == "External":
        src = metric.get("external") or {}
        ident = {
            "name": src.get("metricName"),
            **({"selector": src["metricSelector"]} if src.get("metricSelector") else {}),
        }
        target = (
            _target(average_value=src.get("targetAverageValue"))
            if src.get("targetAverageValue") is not None
            else _target(value=src.get("targetValue"))
        )
        return {"type": "External", "external": {"metric": ident, "target": target}}
    return dict(metric)


def hpa_spec_as_v2(hpa: Mapping[str, Any]) -> dict[str, Any]:
    """The HPA's spec in `autoscaling/v2` form (v2beta2 already has that shape)."""
    spec = dict(hpa.get("spec") or {})  # top-level keys are replaced, never nested values
    if str(hpa.get("apiVersion")) == "autoscaling/v2beta1":
        spec["metrics"] = [_metric_v2beta1_to_v2(m) for m in spec.get("metrics") or []]
    if str(hpa.get("apiVersion")) == "autoscaling/v1" and spec.get("targetCPUUtilizationPercentage") is not None:
        spec["metrics"] = [
            {
                "type": "Resource",
                "resource": {"name": "cpu", "target": _target(spec.pop("targetCPUUtilizationPercentage"))},
            }
        ]
    return spec


_CONVERTED = ("autoscaling/v2beta1", "autoscaling/v1")  # the versions hpa_spec_as_v2 changes
_PRIMARY_SPEC_KEYS = ("minReplicas", "maxReplicas", "metrics", "behavior")


def render_primary_hpa(
    canary: Canary,
    hpa: Mapping[str, Any],
    existing: Mapping[str, Any] | None,
    *,
    sync: bool,
    owner: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The desired `<hpa>-primary`. Created from the target's HPA; re-synced from it only when `sync`
    (promotion or skipped analysis), as Flagger does — so HPA edits reach the primary with a release."""
    source = hpa if (sync or existing is None) else existing
    if str(source.get("apiVersion")) in _CONVERTED:
        spec: Mapping[str, Any] = hpa_spec_as_v2(source)
    else:  # already in v2 form: hpa_spec_as_v2 would copy it unchanged, and it is only read here
        spec = source.get("spec") or {}
        if type(spec) is not dict:
            spec = dict(spec)
    target_ref = dict((hpa.get("spec") or {}).get("scaleTargetRef") or {})
    target_ref["name"] = f"{canary.spec.target_ref.name}-primary"
    out_spec: dict[str, Any] = {"scaleTargetRef": target_ref}
    for key in _PRIMARY_SPEC_KEYS:
        value = spec.get(key)
        if value is not None:
            out_spec[key] = value
    minimum, maximum = canary.spec.primary_scaler_replicas  # Flagger's overrides, at creation and on every sync
    if minimum is not None:
        out_spec["minReplicas"] = minimum
    if maximum is not None:
        out_spec["maxReplicas"] = maximum
    meta = hpa.get("metadata") or {}
    name = f"{meta.get('name')}-primary"
    labels = without_toolkit_keys(meta.get("labels"))
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": object_meta(canary, name, labels, owner=owner),
        "spec": out_spec,
    }
