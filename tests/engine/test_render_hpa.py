"""The primary HPA: every autoscaling version the target's HPA may use becomes v2."""

from __future__ import annotations

import json
from typing import Any

import pytest

from engine.render.hpa import hpa_spec_as_v2


def _hpa(api: str, metrics: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": api,
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "podinfo"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "podinfo"},
            "minReplicas": 2,
            "maxReplicas": 4,
            "metrics": metrics,
            **spec,
        },
    }


SELECTOR = {"matchLabels": {"queue": "jobs"}}


@pytest.mark.parametrize(
    ("v2beta1", "v2"),
    [
        pytest.param(
            {"type": "Resource", "resource": {"name": "cpu", "targetAverageUtilization": 99}},
            {
                "type": "Resource",
                "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 99}},
            },
            id="Resource-utilization",
        ),
        pytest.param(
            {"type": "Resource", "resource": {"name": "memory", "targetAverageValue": "512Mi"}},
            {
                "type": "Resource",
                "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "512Mi"}},
            },
            id="Resource-average-value",
        ),
        pytest.param(
            {"type": "Pods", "pods": {"metricName": "packets-per-second", "targetAverageValue": "1k"}},
            {
                "type": "Pods",
                "pods": {
                    "metric": {"name": "packets-per-second"},
                    "target": {"type": "AverageValue", "averageValue": "1k"},
                },
            },
            id="Pods",
        ),
        pytest.param(
            {"type": "Pods", "pods": {"metricName": "pps", "targetAverageValue": "1k", "selector": SELECTOR}},
            {
                "type": "Pods",
                "pods": {
                    "metric": {"name": "pps", "selector": SELECTOR},
                    "target": {"type": "AverageValue", "averageValue": "1k"},
                },
            },
            id="Pods-selector",
        ),
        pytest.param(
            {
                "type": "Object",
                "object": {
                    "target": {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "name": "main-route"},
                    "metricName": "requests-per-second",
                    "targetValue": "10k",
                },
            },
            {
                "type": "Object",
                "object": {
                    "describedObject": {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "name": "main-route"},
                    "metric": {"name": "requests-per-second"},
                    "target": {"type": "Value", "value": "10k"},
                },
            },
            id="Object-value",
        ),
        pytest.param(
            {
                "type": "Object",
                "object": {"target": {"kind": "Service", "name": "svc"}, "metricName": "rps", "averageValue": "100"},
            },
            {
                "type": "Object",
                "object": {
                    "describedObject": {"kind": "Service", "name": "svc"},
                    "metric": {"name": "rps"},
                    "target": {"type": "AverageValue", "averageValue": "100"},
                },
            },
            id="Object-average-value",
        ),
        pytest.param(
            {
                "type": "External",
                "external": {"metricName": "queue_messages_ready", "metricSelector": SELECTOR, "targetValue": "30"},
            },
            {
                "type": "External",
                "external": {
                    "metric": {"name": "queue_messages_ready", "selector": SELECTOR},
                    "target": {"type": "Value", "value": "30"},
                },
            },
            id="External-value",
        ),
        pytest.param(
            {"type": "External", "external": {"metricName": "queue_messages_ready", "targetAverageValue": "30"}},
            {
                "type": "External",
                "external": {
                    "metric": {"name": "queue_messages_ready"},
                    "target": {"type": "AverageValue", "averageValue": "30"},
                },
            },
            id="External-average-value",
        ),
        pytest.param(
            {
                "type": "ContainerResource",
                "containerResource": {"name": "cpu", "container": "app", "targetAverageUtilization": 60},
            },
            {
                "type": "ContainerResource",
                "containerResource": {
                    "name": "cpu",
                    "container": "app",
                    "target": {"type": "Utilization", "averageUtilization": 60},
                },
            },
            id="ContainerResource",
        ),
    ],
)
def test_hpa_v2beta1_metrics_become_v2(v2beta1: dict[str, Any], v2: dict[str, Any]) -> None:
    spec = hpa_spec_as_v2(_hpa("autoscaling/v2beta1", [v2beta1]))
    assert spec["metrics"] == [v2]
    assert spec["minReplicas"] == 2 and spec["maxReplicas"] == 4


def test_hpa_v2beta2_passes_through_unchanged() -> None:
    metrics = [
        {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 99}}},
        {"type": "Pods", "pods": {"metric": {"name": "pps"}, "target": {"type": "AverageValue", "averageValue": "1k"}}},
    ]
    behavior = {"scaleDown": {"stabilizationWindowSeconds": 300}}
    hpa = _hpa("autoscaling/v2beta2", metrics, behavior=behavior)
    before = json.dumps(hpa, sort_keys=True)
    assert hpa_spec_as_v2(hpa) == hpa["spec"]
    assert json.dumps(hpa, sort_keys=True) == before, "the input must not be mutated"


@pytest.mark.parametrize("api", ["autoscaling/v1", "autoscaling/v2beta1", "autoscaling/v2beta2", "autoscaling/v2"])
def test_hpa_spec_as_v2_never_mutates_its_input(api: str) -> None:
    hpa = _hpa(
        api,
        [{"type": "Resource", "resource": {"name": "cpu", "targetAverageUtilization": 50}}],
        targetCPUUtilizationPercentage=80,
    )
    before = json.dumps(hpa, sort_keys=True)
    hpa_spec_as_v2(hpa)
    assert json.dumps(hpa, sort_keys=True) == before


def test_hpa_v1_cpu_percentage_becomes_a_resource_metric() -> None:
    hpa = {
        "apiVersion": "autoscaling/v1",
        "spec": {"minReplicas": 1, "maxReplicas": 3, "targetCPUUtilizationPercentage": 80},
    }
    assert hpa_spec_as_v2(hpa)["metrics"] == [
        {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}
    ]
