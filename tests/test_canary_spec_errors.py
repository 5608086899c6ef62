"""`engine.canary_spec.parse_canary`, pinned exactly: the path and message of the `SpecError` every kind of bad
field raises, and every value a Canary that sets every field parses to.

Written before `parse_canary` was made faster, against the code as it was, so that speed work cannot change a
word of what `cronary validate` prints. `test_canary_validation.py` checks the rules (defaults, agreement with
Flagger's CRDs, often by a message fragment); this file checks the wording, field by field.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import pytest

from engine.canary_spec import parse_canary
from engine.errors import SpecError
from engine.model import (
    AlertSpec,
    AnalysisSpec,
    Canary,
    CanarySpec,
    CanaryStatus,
    Condition,
    HookType,
    MetricSpec,
    ObjectRef,
    ServiceMetadata,
    ServiceSpec,
    TemplateRef,
    ThresholdRange,
    WebhookSpec,
)


def full() -> dict[str, Any]:
    """A v1beta1 Canary that sets every field `parse_canary` reads (stepWeight variant)."""
    return {
        "apiVersion": "flagger.app/v1beta1",
        "kind": "Canary",
        "metadata": {"name": "podinfo", "namespace": "test", "uid": "1234"},
        "spec": {
            "provider": "smi:istio",
            "progressDeadlineSeconds": 60,
            "skipAnalysis": False,
            "suspend": False,
            "revertOnDeletion": True,
            "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "podinfo"},
            "autoscalerRef": {
                "apiVersion": "autoscaling/v2",
                "kind": "HorizontalPodAutoscaler",
                "name": "podinfo",
                "primaryScalerReplicas": {"minReplicas": 2, "maxReplicas": 5},
            },
            "service": {
                "port": 9898,
                "targetPort": "http",
                "name": "web",
                "portName": "http-web",
                "appProtocol": "http",
                "portDiscovery": True,
                "headless": False,
                "trafficDistribution": "PreferClose",
                "gateways": ["public-gateway.istio-system.svc.cluster.local"],
                "hosts": ["app.example.com"],
                "apex": {"labels": {"a": "1"}, "annotations": {"b": "2"}},
                "primary": {"labels": {"p": "x"}},
                "canary": {"annotations": {"c": "y"}},
            },
            "analysis": {
                "interval": "30s",
                "threshold": 5,
                "stepWeight": 10,
                "maxWeight": 50,
                "stepWeightPromotion": 20,
                "mirror": False,
                "mirrorWeight": 0,
                "primaryReadyThreshold": 90,
                "canaryReadyThreshold": 80,
                "match": [{"headers": {"x-canary": {"exact": "insider"}}, "queryParams": {"q": {"regex": "^a"}}}],
                "sessionAffinity": {"cookieName": "canary", "maxAge": 60},
                "metrics": [
                    {"name": "request-success-rate", "threshold": 99, "interval": "1m"},
                    {"name": "errors", "query": "sum(rate(x[1m]))", "thresholdRange": {"min": 0, "max": 1.5}, "interval": "30s"},
                    {
                        "name": "latency",
                        "templateRef": {"name": "latency", "namespace": "flagger"},
                        "thresholdRange": {"max": 500},
                        "templateVariables": {"b": "2", "a": "1"},
                    },
                ],
                "webhooks": [
                    {"name": "load-test", "url": "http://flagger-loadtester.test/", "timeout": "5s", "metadata": {"cmd": "hey"}},
                    {
                        "name": "gate",
                        "type": "confirm-rollout",
                        "url": "https://gate.example.com:8443/approve?x=1",
                        "timeout": "1m30s",
                        "retries": 3,
                        "disableTLS": True,
                        "muteAlert": False,
                    },
                ],
                "alerts": [
                    {"name": "on-call", "severity": "warn", "providerRef": {"name": "slack", "namespace": "flagger"}},
                    {"name": "log", "providerRef": {"name": "msteams"}},
                ],
            },
        },
        "status": {
            "phase": "Progressing",
            "canaryWeight": 20,
            "failedChecks": 1,
            "iterations": 0,
            "lastAppliedSpec": "abc",
            "lastPromotedSpec": "def",
            "trackedConfigs": {"configmap/x": "h"},
            "lastTransitionTime": "2024-01-01T00:00:00Z",
            "lastDecisionTime": "2024-01-01T00:00:10Z",
            "conditions": [
                {"type": "Promoted", "status": "Unknown", "reason": "Progressing", "message": "m", "lastUpdateTime": "2024-01-01T00:00:01Z", "lastTransitionTime": "2024-01-01T00:00:02Z"}
            ],
        },
    }


def steps() -> dict[str, Any]:
    """`full()` with stepWeights instead of stepWeight."""
    doc = full()
    del doc["spec"]["analysis"]["stepWeight"]
    doc["spec"]["analysis"]["stepWeights"] = [5, 10, 40]
    return doc


def alpha() -> dict[str, Any]:
    """`full()` as v1alpha3 (`spec.canaryAnalysis`, whose interval and threshold the CRD does not require)."""
    doc = full()
    doc["apiVersion"] = "flagger.app/v1alpha3"
    doc["spec"]["canaryAnalysis"] = doc["spec"].pop("analysis")
    return doc


BASES = {"full": full, "steps": steps, "alpha": alpha}
DELETE = object()


def mutated(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    """`doc` with the field at `path` set to `value` (deleted for DELETE); the empty path replaces the document."""
    if not path:
        return value
    node = doc
    for key in path[:-1]:
        node = node[key]
    if value is DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = copy.deepcopy(value)
    return doc


# (id, base, field path, value or DELETE, SpecError.path, SpecError.message) - the outcomes of the code before
# the speed work, copied verbatim
ERRORS: list[tuple[str, str, tuple[Any, ...], Any, str, str]] = [
    ('document-not-a-map', 'full', (), ['a'], '(document)', 'must be a map, got a list'),
    ('apiVersion-unknown', 'full', ('apiVersion',), 'flagger.app/v1', 'apiVersion', "must be flagger.app/v1alpha3 or flagger.app/v1beta1, got 'flagger.app/v1'"),
    ('apiVersion-missing', 'full', ('apiVersion',), DELETE, 'apiVersion', 'must be flagger.app/v1alpha3 or flagger.app/v1beta1, got None'),
    ('kind-not-Canary', 'full', ('kind',), 'Rollout', 'kind', "must be Canary, got 'Rollout'"),
    ('kind-missing', 'full', ('kind',), DELETE, 'kind', 'must be Canary, got None'),
    ('metadata-missing', 'full', ('metadata',), DELETE, 'metadata', 'must be a map, got null'),
    ('metadata-list', 'full', ('metadata',), [], 'metadata', 'must be a map, got a list'),
    ('name-missing', 'full', ('metadata', 'name'), DELETE, 'metadata.name', 'required'),
    ('name-empty', 'full', ('metadata', 'name'), '', 'metadata.name', 'required'),
    ('name-number', 'full', ('metadata', 'name'), 7, 'metadata.name', 'must be a string, got int 7'),
    ('name-not-dns', 'full', ('metadata', 'name'), 'PodInfo', 'metadata.name', "must be a DNS-1123 label (lower-case letters, digits and '-', at most 63), got 'PodInfo'"),
    ('namespace-not-dns', 'full', ('metadata', 'namespace'), 'Team_A', 'metadata.namespace', "must be a DNS-1123 label (lower-case letters, digits and '-', at most 63), got 'Team_A'"),
    ('namespace-number', 'full', ('metadata', 'namespace'), 3, 'metadata.namespace', "must be a DNS-1123 label (lower-case letters, digits and '-', at most 63), got 3"),
    ('spec-missing', 'full', ('spec',), DELETE, 'spec', 'must be a map, got null'),
    ('spec-string', 'full', ('spec',), 'x', 'spec', 'must be a map, got a string'),
    ('targetRef-missing', 'full', ('spec', 'targetRef'), DELETE, 'spec.targetRef', 'required'),
    ('targetRef-null', 'full', ('spec', 'targetRef'), None, 'spec.targetRef', 'must be a map, got null'),
    ('targetRef-name-missing', 'full', ('spec', 'targetRef', 'name'), DELETE, 'spec.targetRef.name', 'required'),
    ('targetRef-name-not-dns', 'full', ('spec', 'targetRef', 'name'), 'Pod_Info', 'spec.targetRef.name', "must be a DNS-1123 name (lower-case letters, digits, '-' and '.'), got 'Pod_Info'"),
    ('targetRef-name-list', 'full', ('spec', 'targetRef', 'name'), ['podinfo'], 'spec.targetRef.name', "must be a string, got a list ['podinfo']"),
    ('targetRef-kind-missing', 'full', ('spec', 'targetRef', 'kind'), DELETE, 'spec.targetRef.kind', 'required'),
    ('targetRef-kind-StatefulSet', 'full', ('spec', 'targetRef', 'kind'), 'StatefulSet', 'spec.targetRef.kind', "must be one of Deployment, got 'StatefulSet'"),
    ('targetRef-apiVersion-missing', 'full', ('spec', 'targetRef', 'apiVersion'), DELETE, 'spec.targetRef.apiVersion', 'required'),
    ('targetRef-apiVersion-number', 'full', ('spec', 'targetRef', 'apiVersion'), 1, 'spec.targetRef.apiVersion', 'must be a string, got int 1'),
    ('targetRef-name-too-long-generated', 'full', ('spec', 'targetRef', 'name'), "a" * 60, 'spec.service.name', "generated name 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-primary' is longer than 63 characters"),
    ('service-name-too-long-generated', 'full', ('spec', 'service', 'name'), "b" * 60, 'spec.service.name', "generated name 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-primary' is longer than 63 characters"),
    ('autoscalerRef-string', 'full', ('spec', 'autoscalerRef'), 'hpa', 'spec.autoscalerRef', 'must be a map, got a string'),
    ('autoscalerRef-kind-ScaledObject', 'full', ('spec', 'autoscalerRef', 'kind'), 'ScaledObject', 'spec.autoscalerRef.kind', "must be one of HorizontalPodAutoscaler, got 'ScaledObject'"),
    ('primaryScalerReplicas-list', 'full', ('spec', 'autoscalerRef', 'primaryScalerReplicas'), [1], 'spec.autoscalerRef.primaryScalerReplicas', 'must be a map, got a list'),
    ('primaryScalerReplicas-min-0', 'full', ('spec', 'autoscalerRef', 'primaryScalerReplicas', 'minReplicas'), 0, 'spec.autoscalerRef.primaryScalerReplicas.minReplicas', 'must be 1..1000000, got 0'),
    ('primaryScalerReplicas-max-string', 'full', ('spec', 'autoscalerRef', 'primaryScalerReplicas', 'maxReplicas'), '5', 'spec.autoscalerRef.primaryScalerReplicas.maxReplicas', "must be an integer 1..1000000, got '5'"),
    ('provider-number', 'full', ('spec', 'provider'), 1, 'spec.provider', 'must be a string, got int 1'),
    ('progressDeadlineSeconds-negative', 'full', ('spec', 'progressDeadlineSeconds'), -1, 'spec.progressDeadlineSeconds', 'must be at least 0, got -1'),
    ('progressDeadlineSeconds-above-int32', 'full', ('spec', 'progressDeadlineSeconds'), 2**31, 'spec.progressDeadlineSeconds', 'must be at most 2147483647 (Flagger reads an int32), got 2147483648'),
    ('progressDeadlineSeconds-huge-float', 'full', ('spec', 'progressDeadlineSeconds'), 1e300, 'spec.progressDeadlineSeconds', 'must be at most 2147483647 (Flagger reads an int32), got 1e+300'),
    ('progressDeadlineSeconds-fraction', 'full', ('spec', 'progressDeadlineSeconds'), 1.5, 'spec.progressDeadlineSeconds', 'must be an integer, got 1.5'),
    ('progressDeadlineSeconds-bool', 'full', ('spec', 'progressDeadlineSeconds'), True, 'spec.progressDeadlineSeconds', 'must be an integer, got True'),
    ('skipAnalysis-string', 'full', ('spec', 'skipAnalysis'), 'yes', 'spec.skipAnalysis', "must be true or false, got 'yes'"),
    ('suspend-number', 'full', ('spec', 'suspend'), 1, 'spec.suspend', 'must be true or false, got 1'),
    ('revertOnDeletion-null', 'full', ('spec', 'revertOnDeletion'), None, 'spec.revertOnDeletion', 'must be true or false, got None'),
    ('service-missing', 'full', ('spec', 'service'), DELETE, 'spec.service', 'required'),
    ('service-list', 'full', ('spec', 'service'), [9898], 'spec.service', 'must be a map, got a list'),
    ('port-missing', 'full', ('spec', 'service', 'port'), DELETE, 'spec.service.port', 'required'),
    ('port-string', 'full', ('spec', 'service', 'port'), 'http', 'spec.service.port', "must be an integer 1..65535, got 'http'"),
    ('port-0', 'full', ('spec', 'service', 'port'), 0, 'spec.service.port', 'must be 1..65535, got 0'),
    ('port-65536', 'full', ('spec', 'service', 'port'), 65536, 'spec.service.port', 'must be 1..65535, got 65536'),
    ('port-fraction', 'full', ('spec', 'service', 'port'), 80.5, 'spec.service.port', 'must be an integer 1..65535, got 80.5'),
    ('port-nan', 'full', ('spec', 'service', 'port'), float("nan"), 'spec.service.port', 'must be an integer 1..65535, got nan'),
    ('targetPort-name-too-long', 'full', ('spec', 'service', 'targetPort'), 'http-metrics-long', 'spec.service.targetPort', "must be a port number or a port name (at most 15 lower-case letters, digits and '-'), got 'http-metrics-long'"),
    ('targetPort-name-double-dash', 'full', ('spec', 'service', 'targetPort'), 'a--b', 'spec.service.targetPort', "must be a port number or a port name (at most 15 lower-case letters, digits and '-'), got 'a--b'"),
    ('targetPort-numeric-string-0', 'full', ('spec', 'service', 'targetPort'), '0', 'spec.service.targetPort', 'must be 1..65535, got 0'),
    ('targetPort-70000', 'full', ('spec', 'service', 'targetPort'), 70000, 'spec.service.targetPort', 'must be 1..65535, got 70000'),
    ('targetPort-superscript-digit', 'full', ('spec', 'service', 'targetPort'), '²', 'spec.service.targetPort', "must be a port number or a port name (at most 15 lower-case letters, digits and '-'), got '²'"),
    ('targetPort-arabic-indic-digits', 'full', ('spec', 'service', 'targetPort'), '٨٠', 'spec.service.targetPort', "must be a port number or a port name (at most 15 lower-case letters, digits and '-'), got '٨٠'"),
    ('targetPort-bool', 'full', ('spec', 'service', 'targetPort'), True, 'spec.service.targetPort', 'must be an integer 1..65535, got True'),
    ('service-name-not-dns', 'full', ('spec', 'service', 'name'), 'Web', 'spec.service.name', "must be a DNS-1123 label (lower-case letters, digits and '-', at most 63), got 'Web'"),
    ('trafficDistribution-unknown', 'full', ('spec', 'service', 'trafficDistribution'), 'Random', 'spec.service.trafficDistribution', "must be one of PreferClose, PreferSameZone, PreferSameNode, got 'Random'"),
    ('portName-not-dns', 'full', ('spec', 'service', 'portName'), 'HTTP_web', 'spec.service.portName', "must be a DNS-1123 label (lower-case letters, digits and '-', at most 63), got 'HTTP_web'"),
    ('portName-number', 'full', ('spec', 'service', 'portName'), 80, 'spec.service.portName', 'must be a string, got int 80'),
    ('appProtocol-number', 'full', ('spec', 'service', 'appProtocol'), 2, 'spec.service.appProtocol', 'must be a string, got int 2'),
    ('portDiscovery-string', 'full', ('spec', 'service', 'portDiscovery'), 'true', 'spec.service.portDiscovery', "must be true or false, got 'true'"),
    ('headless-number', 'full', ('spec', 'service', 'headless'), 0, 'spec.service.headless', 'must be true or false, got 0'),
    ('gateways-string', 'full', ('spec', 'service', 'gateways'), 'gw', 'spec.service.gateways', 'must be a list, got a string'),
    ('gateways-item-number', 'full', ('spec', 'service', 'gateways', 0), 1, 'spec.service.gateways[0]', 'must be a string, got int 1'),
    ('hosts-map', 'full', ('spec', 'service', 'hosts'), {'a': 1}, 'spec.service.hosts', 'must be a list, got a map'),
    ('hosts-item-null', 'full', ('spec', 'service', 'hosts', 0), None, 'spec.service.hosts[0]', 'must be a string, got null None'),
    ('apex-list', 'full', ('spec', 'service', 'apex'), [], 'spec.service.apex', 'must be a map, got a list'),
    ('apex-labels-list', 'full', ('spec', 'service', 'apex', 'labels'), ['a'], 'spec.service.apex.labels', 'must be a map, got a list'),
    ('primary-label-value-number', 'full', ('spec', 'service', 'primary', 'labels', 'p'), 1, 'spec.service.primary.labels.p', 'must be a string, got int 1'),
    ('canary-annotation-value-bool', 'full', ('spec', 'service', 'canary', 'annotations', 'c'), True, 'spec.service.canary.annotations.c', 'must be a string, got a boolean True'),
    ('analysis-missing', 'full', ('spec', 'analysis'), DELETE, 'spec.analysis', 'required'),
    ('analysis-null', 'full', ('spec', 'analysis'), None, 'spec.analysis', 'required'),
    ('analysis-string', 'full', ('spec', 'analysis'), 'x', 'spec.analysis', 'must be a map, got a string'),
    ('canaryAnalysis-missing', 'alpha', ('spec', 'canaryAnalysis'), DELETE, 'spec.canaryAnalysis', 'required'),
    ('no-step-field', 'full', ('spec', 'analysis', 'stepWeight'), DELETE, 'spec.analysis', 'must set exactly one of iterations, stepWeight, stepWeights (got none)'),
    ('stepWeight-and-stepWeights', 'full', ('spec', 'analysis', 'stepWeights'), [10, 20], 'spec.analysis', 'must set exactly one of iterations, stepWeight, stepWeights (got stepWeight, stepWeights)'),
    ('stepWeight-and-iterations', 'full', ('spec', 'analysis', 'iterations'), 10, 'spec.analysis', 'must set exactly one of iterations, stepWeight, stepWeights (got iterations, stepWeight)'),
    ('alpha-no-step-field', 'alpha', ('spec', 'canaryAnalysis', 'stepWeight'), DELETE, 'spec.canaryAnalysis', 'must set exactly one of iterations, stepWeight, stepWeights (got none)'),
    ('interval-missing-v1beta1', 'full', ('spec', 'analysis', 'interval'), DELETE, 'spec.analysis.interval', 'required'),
    ('interval-empty-v1beta1', 'full', ('spec', 'analysis', 'interval'), '', 'spec.analysis.interval', 'required'),
    ('threshold-missing-v1beta1', 'full', ('spec', 'analysis', 'threshold'), DELETE, 'spec.analysis.threshold', 'required'),
    ('mirror-true', 'full', ('spec', 'analysis', 'mirror'), True, 'spec.analysis.mirror', 'traffic mirroring is not supported by cronary yet'),
    ('mirror-string', 'full', ('spec', 'analysis', 'mirror'), 'yes', 'spec.analysis.mirror', 'traffic mirroring is not supported by cronary yet'),
    ('interval-number', 'full', ('spec', 'analysis', 'interval'), 10, 'spec.analysis.interval', 'must be a string, got int 10'),
    ('interval-no-unit', 'full', ('spec', 'analysis', 'interval'), '10', 'spec.analysis.interval', "must be a duration like 30s or 1m (pattern ^[0-9]+(m|s)), got '10'"),
    ('interval-hours', 'full', ('spec', 'analysis', 'interval'), '1h', 'spec.analysis.interval', "must be a duration like 30s or 1m (pattern ^[0-9]+(m|s)), got '1h'"),
    ('interval-trailing-garbage', 'full', ('spec', 'analysis', 'interval'), '10sx', 'spec.analysis.interval', "must be a duration like 30s or 1m, got '10sx'"),
    ('interval-longer-than-go', 'full', ('spec', 'analysis', 'interval'), '99999999999999m', 'spec.analysis.interval', "must be at most 2562047h47m16.854775807s (Go's longest duration), got '99999999999999m'"),
    ('interval-trailing-number', 'full', ('spec', 'analysis', 'interval'), '10s5', 'spec.analysis.interval', "must be a duration like 30s or 1m, got '10s5'"),
    ('threshold-string', 'full', ('spec', 'analysis', 'threshold'), 'five', 'spec.analysis.threshold', "must be an integer, got 'five'"),
    ('threshold-fraction', 'full', ('spec', 'analysis', 'threshold'), 2.5, 'spec.analysis.threshold', 'must be an integer, got 2.5'),
    ('stepWeight-0', 'full', ('spec', 'analysis', 'stepWeight'), 0, 'spec.analysis.stepWeight', 'must be 1..100, got 0'),
    ('stepWeight-150', 'full', ('spec', 'analysis', 'stepWeight'), 150, 'spec.analysis.stepWeight', 'must be 1..100, got 150'),
    ('stepWeight-string', 'alpha', ('spec', 'canaryAnalysis', 'stepWeight'), '10', 'spec.canaryAnalysis.stepWeight', "must be an integer 1..100, got '10'"),
    ('stepWeights-string', 'steps', ('spec', 'analysis', 'stepWeights'), '10,20', 'spec.analysis.stepWeights', 'must be a list, got a string'),
    ('stepWeights-item-101', 'steps', ('spec', 'analysis', 'stepWeights', 1), 101, 'spec.analysis.stepWeights[1]', 'must be 1..100, got 101'),
    ('stepWeights-item-string', 'steps', ('spec', 'analysis', 'stepWeights', 0), '5', 'spec.analysis.stepWeights[0]', "must be an integer 1..100, got '5'"),
    ('stepWeights-not-increasing', 'steps', ('spec', 'analysis', 'stepWeights', 2), 10, 'spec.analysis.stepWeights[2]', 'must be greater than the step before it (10), got 10'),
    ('maxWeight-0', 'full', ('spec', 'analysis', 'maxWeight'), 0, 'spec.analysis.maxWeight', 'must be 1..100, got 0'),
    ('maxWeight-120', 'full', ('spec', 'analysis', 'maxWeight'), 120, 'spec.analysis.maxWeight', 'must be 1..100, got 120'),
    ('stepWeightPromotion-101', 'full', ('spec', 'analysis', 'stepWeightPromotion'), 101, 'spec.analysis.stepWeightPromotion', 'must be 0..100, got 101'),
    ('mirrorWeight-negative', 'full', ('spec', 'analysis', 'mirrorWeight'), -1, 'spec.analysis.mirrorWeight', 'must be 0..100, got -1'),
    ('primaryReadyThreshold-string', 'full', ('spec', 'analysis', 'primaryReadyThreshold'), '90', 'spec.analysis.primaryReadyThreshold', "must be an integer 0..100, got '90'"),
    ('canaryReadyThreshold-101', 'full', ('spec', 'analysis', 'canaryReadyThreshold'), 101, 'spec.analysis.canaryReadyThreshold', 'must be 0..100, got 101'),
    ('match-map', 'full', ('spec', 'analysis', 'match'), {'headers': {}}, 'spec.analysis.match', 'must be a list, got a map'),
    ('match-item-string', 'full', ('spec', 'analysis', 'match', 0), 'x', 'spec.analysis.match[0]', 'must be a map, got a string'),
    ('match-header-no-matcher', 'full', ('spec', 'analysis', 'match', 0, 'headers', 'x-canary'), {}, 'spec.analysis.match[0].headers.x-canary', 'must set exactly one of exact, prefix, suffix, regex'),
    ('match-header-two-matchers', 'full', ('spec', 'analysis', 'match', 0, 'headers', 'x-canary'), {'exact': 'a', 'prefix': 'b'}, 'spec.analysis.match[0].headers.x-canary', 'must set exactly one of exact, prefix, suffix, regex'),
    ('match-query-string', 'full', ('spec', 'analysis', 'match', 0, 'queryParams', 'q'), 'a', 'spec.analysis.match[0].queryParams.q', 'must be a map, got a string'),
    # found by tests/test_canary_spec_robustness.py: these raised AttributeError / ValueError, or were accepted
    ('match-empty-map', 'full', ('spec', 'analysis', 'match'), {}, 'spec.analysis.match', 'must be a list, got a map'),
    ('match-empty-string', 'full', ('spec', 'analysis', 'match'), '', 'spec.analysis.match', 'must be a list, got a string'),
    ('match-false', 'full', ('spec', 'analysis', 'match'), False, 'spec.analysis.match', 'must be a list, got a boolean'),
    ('match-headers-string', 'full', ('spec', 'analysis', 'match', 0, 'headers'), 'x-canary', 'spec.analysis.match[0].headers', 'must be a map, got a string'),
    ('match-headers-number', 'full', ('spec', 'analysis', 'match', 0, 'headers'), 1, 'spec.analysis.match[0].headers', 'must be a map, got int'),
    ('match-headers-list', 'full', ('spec', 'analysis', 'match', 0, 'headers'), ['x-canary'], 'spec.analysis.match[0].headers', 'must be a map, got a list'),
    ('match-headers-empty-list', 'full', ('spec', 'analysis', 'match', 0, 'headers'), [], 'spec.analysis.match[0].headers', 'must be a map, got a list'),
    ('match-queryParams-number', 'full', ('spec', 'analysis', 'match', 0, 'queryParams'), 1.5, 'spec.analysis.match[0].queryParams', 'must be a map, got float'),
    ('match-queryParams-true', 'full', ('spec', 'analysis', 'match', 0, 'queryParams'), True, 'spec.analysis.match[0].queryParams', 'must be a map, got a boolean'),
    ('match-header-exact-number', 'full', ('spec', 'analysis', 'match', 0, 'headers', 'x-canary', 'exact'), 5, 'spec.analysis.match[0].headers.x-canary.exact', 'must be a string, got int 5'),
    ('match-query-regex-list', 'full', ('spec', 'analysis', 'match', 0, 'queryParams', 'q', 'regex'), ['^a'], 'spec.analysis.match[0].queryParams.q.regex', "must be a string, got a list ['^a']"),
    ('sessionAffinity-list', 'full', ('spec', 'analysis', 'sessionAffinity'), [], 'spec.analysis.sessionAffinity', 'must be a map, got a list'),
    ('sessionAffinity-no-cookieName', 'full', ('spec', 'analysis', 'sessionAffinity', 'cookieName'), DELETE, 'spec.analysis.sessionAffinity.cookieName', 'required'),
    ('metrics-map', 'full', ('spec', 'analysis', 'metrics'), {'a': 1}, 'spec.analysis.metrics', 'must be a list, got a map'),
    ('metric-string', 'full', ('spec', 'analysis', 'metrics', 0), 'request-success-rate', 'spec.analysis.metrics[0]', 'must be a map, got a string'),
    ('metric-name-missing', 'full', ('spec', 'analysis', 'metrics', 1, 'name'), DELETE, 'spec.analysis.metrics[1].name', 'required'),
    ('metric-name-number', 'full', ('spec', 'analysis', 'metrics', 1, 'name'), 5, 'spec.analysis.metrics[1].name', 'must be a string, got int 5'),
    ('metric-interval-bad', 'full', ('spec', 'analysis', 'metrics', 0, 'interval'), '1 minute', 'spec.analysis.metrics[0].interval', "must be a duration like 30s or 1m (pattern ^[0-9]+(m|s)), got '1 minute'"),
    ('metric-interval-longer-than-go', 'full', ('spec', 'analysis', 'metrics', 0, 'interval'), '9' * 30 + 's', 'spec.analysis.metrics[0].interval', "must be at most 2562047h47m16.854775807s (Go's longest duration), got '999999999999999999999999999999s'"),
    ('metric-interval-number', 'full', ('spec', 'analysis', 'metrics', 0, 'interval'), 60, 'spec.analysis.metrics[0].interval', 'must be a string, got int 60'),
    ('metric-threshold-string', 'full', ('spec', 'analysis', 'metrics', 0, 'threshold'), '99', 'spec.analysis.metrics[0].threshold', "must be a number, got '99'"),
    ('metric-threshold-bool', 'full', ('spec', 'analysis', 'metrics', 0, 'threshold'), True, 'spec.analysis.metrics[0].threshold', 'must be a number, got True'),
    ('metric-thresholdRange-list', 'full', ('spec', 'analysis', 'metrics', 1, 'thresholdRange'), [0, 1], 'spec.analysis.metrics[1].thresholdRange', 'must be a map, got a list'),
    ('metric-thresholdRange-min-string', 'full', ('spec', 'analysis', 'metrics', 1, 'thresholdRange', 'min'), '0', 'spec.analysis.metrics[1].thresholdRange.min', "must be a number, got '0'"),
    ('metric-thresholdRange-max-bool', 'full', ('spec', 'analysis', 'metrics', 1, 'thresholdRange', 'max'), False, 'spec.analysis.metrics[1].thresholdRange.max', 'must be a number, got False'),
    ('metric-thresholdRange-min-above-max', 'full', ('spec', 'analysis', 'metrics', 1, 'thresholdRange', 'min'), 2.25, 'spec.analysis.metrics[1].thresholdRange', 'min 2.25 is above max 1.5'),
    ('metric-query-number', 'full', ('spec', 'analysis', 'metrics', 1, 'query'), 1, 'spec.analysis.metrics[1].query', 'must be a string, got int 1'),
    ('metric-templateRef-string', 'full', ('spec', 'analysis', 'metrics', 2, 'templateRef'), 'latency', 'spec.analysis.metrics[2].templateRef', 'must be a map, got a string'),
    ('metric-templateRef-name-missing', 'full', ('spec', 'analysis', 'metrics', 2, 'templateRef', 'name'), DELETE, 'spec.analysis.metrics[2].templateRef.name', 'required'),
    ('metric-templateRef-name-not-dns', 'full', ('spec', 'analysis', 'metrics', 2, 'templateRef', 'name'), 'Latency', 'spec.analysis.metrics[2].templateRef.name', "must be a DNS-1123 name (lower-case letters, digits, '-' and '.'), got 'Latency'"),
    ('metric-templateRef-namespace-not-dns', 'full', ('spec', 'analysis', 'metrics', 2, 'templateRef', 'namespace'), 'a.b', 'spec.analysis.metrics[2].templateRef.namespace', "must be a DNS-1123 label (lower-case letters, digits and '-', at most 63), got 'a.b'"),
    ('metric-templateVariables-list', 'full', ('spec', 'analysis', 'metrics', 2, 'templateVariables'), ['a'], 'spec.analysis.metrics[2].templateVariables', 'must be a map, got a list'),
    ('metric-templateVariable-number', 'full', ('spec', 'analysis', 'metrics', 2, 'templateVariables', 'a'), 1, 'spec.analysis.metrics[2].templateVariables.a', 'must be a string, got int 1'),
    ('metric-custom-without-query', 'full', ('spec', 'analysis', 'metrics', 1, 'query'), DELETE, 'spec.analysis.metrics[1]', "metric 'errors' is not built in (request-success-rate, request-duration) and has neither query nor templateRef"),
    ('metric-without-threshold', 'full', ('spec', 'analysis', 'metrics', 0, 'threshold'), DELETE, 'spec.analysis.metrics[0]', "metric 'request-success-rate' must set threshold or thresholdRange"),
    ('metric-duplicate-name', 'full', ('spec', 'analysis', 'metrics', 2, 'name'), 'errors', 'spec.analysis.metrics[2].name', "duplicate metric name 'errors'"),
    ('webhooks-string', 'full', ('spec', 'analysis', 'webhooks'), 'hook', 'spec.analysis.webhooks', 'must be a list, got a string'),
    ('webhook-list', 'full', ('spec', 'analysis', 'webhooks', 1), [], 'spec.analysis.webhooks[1]', 'must be a map, got a list'),
    ('webhook-name-missing', 'full', ('spec', 'analysis', 'webhooks', 1, 'name'), DELETE, 'spec.analysis.webhooks[1].name', 'required'),
    ('webhook-url-missing', 'full', ('spec', 'analysis', 'webhooks', 1, 'url'), DELETE, 'spec.analysis.webhooks[1].url', 'required'),
    ('webhook-url-number', 'full', ('spec', 'analysis', 'webhooks', 1, 'url'), 80, 'spec.analysis.webhooks[1].url', 'must be a string, got int 80'),
    ('webhook-url-ftp', 'full', ('spec', 'analysis', 'webhooks', 1, 'url'), 'ftp://loadtester.test/', 'spec.analysis.webhooks[1].url', "must be an http or https URL with a host and no user:password@, got ftp://loadtester.test"),
    ('webhook-url-userinfo', 'full', ('spec', 'analysis', 'webhooks', 1, 'url'), 'http://u@host.test/', 'spec.analysis.webhooks[1].url', "must be an http or https URL with a host and no user:password@, got http://host.test"),
    ('webhook-type-unknown', 'full', ('spec', 'analysis', 'webhooks', 1, 'type'), 'pre-promotion', 'spec.analysis.webhooks[1].type', "must be one of confirm-rollout, pre-rollout, rollout, confirm-traffic-increase, confirm-promotion, post-rollout, rollback, event, got 'pre-promotion'"),
    ('webhook-type-number', 'full', ('spec', 'analysis', 'webhooks', 1, 'type'), 3, 'spec.analysis.webhooks[1].type', 'must be a string, got int 3'),
    ('webhook-timeout-number', 'full', ('spec', 'analysis', 'webhooks', 1, 'timeout'), 10, 'spec.analysis.webhooks[1].timeout', 'must be a string, got int 10'),
    ('webhook-timeout-no-unit', 'full', ('spec', 'analysis', 'webhooks', 1, 'timeout'), '10', 'spec.analysis.webhooks[1].timeout', "must be a duration like 10s, got '10'"),
    ('webhook-timeout-longer-than-go', 'full', ('spec', 'analysis', 'webhooks', 1, 'timeout'), '3000000h', 'spec.analysis.webhooks[1].timeout', "must be at most 2562047h47m16.854775807s (Go's longest duration), got '3000000h'"),
    ('webhook-timeout-arabic-indic-digits', 'full', ('spec', 'analysis', 'webhooks', 1, 'timeout'), '١٠s', 'spec.analysis.webhooks[1].timeout', "must be a duration like 10s, got '١٠s'"),
    ('webhook-timeout-zero', 'full', ('spec', 'analysis', 'webhooks', 1, 'timeout'), '0s', 'spec.analysis.webhooks[1].timeout', "must be positive, got '0s'"),
    ('webhook-timeout-negative', 'full', ('spec', 'analysis', 'webhooks', 1, 'timeout'), '-5s', 'spec.analysis.webhooks[1].timeout', "must be positive, got '-5s'"),
    ('webhook-retries-101', 'full', ('spec', 'analysis', 'webhooks', 1, 'retries'), 101, 'spec.analysis.webhooks[1].retries', 'must be 0..100, got 101'),
    ('webhook-retries-string', 'full', ('spec', 'analysis', 'webhooks', 1, 'retries'), '3', 'spec.analysis.webhooks[1].retries', "must be an integer 0..100, got '3'"),
    ('webhook-disableTLS-string', 'full', ('spec', 'analysis', 'webhooks', 1, 'disableTLS'), 'true', 'spec.analysis.webhooks[1].disableTLS', "must be true or false, got 'true'"),
    ('webhook-muteAlert-number', 'full', ('spec', 'analysis', 'webhooks', 1, 'muteAlert'), 1, 'spec.analysis.webhooks[1].muteAlert', 'must be true or false, got 1'),
    ('webhook-metadata-list', 'full', ('spec', 'analysis', 'webhooks', 0, 'metadata'), ['cmd'], 'spec.analysis.webhooks[0].metadata', 'must be a map, got a list'),
    ('webhook-metadata-value-number', 'full', ('spec', 'analysis', 'webhooks', 0, 'metadata', 'cmd'), 1, 'spec.analysis.webhooks[0].metadata.cmd', 'must be a string, got int 1'),
    ('webhook-duplicate-name', 'full', ('spec', 'analysis', 'webhooks', 1, 'name'), 'load-test', 'spec.analysis.webhooks[1].name', "duplicate webhook name 'load-test'"),
    ('alerts-map', 'full', ('spec', 'analysis', 'alerts'), {'a': 1}, 'spec.analysis.alerts', 'must be a list, got a map'),
    ('alert-string', 'full', ('spec', 'analysis', 'alerts', 0), 'on-call', 'spec.analysis.alerts[0]', 'must be a map, got a string'),
    ('alert-severity-critical', 'full', ('spec', 'analysis', 'alerts', 0, 'severity'), 'critical', 'spec.analysis.alerts[0].severity', "must be one of info, warn, error, got 'critical'"),
    ('alert-severity-number', 'full', ('spec', 'analysis', 'alerts', 0, 'severity'), 1, 'spec.analysis.alerts[0].severity', 'must be a string, got int 1'),
    ('alert-providerRef-missing', 'full', ('spec', 'analysis', 'alerts', 1, 'providerRef'), DELETE, 'spec.analysis.alerts[1].providerRef', 'must be a map, got null'),
    ('alert-providerRef-name-missing', 'full', ('spec', 'analysis', 'alerts', 1, 'providerRef', 'name'), DELETE, 'spec.analysis.alerts[1].providerRef.name', 'required'),
    ('alert-providerRef-name-not-dns', 'full', ('spec', 'analysis', 'alerts', 1, 'providerRef', 'name'), 'Slack', 'spec.analysis.alerts[1].providerRef.name', "must be a DNS-1123 name (lower-case letters, digits, '-' and '.'), got 'Slack'"),
    ('alert-providerRef-namespace-not-dns', 'full', ('spec', 'analysis', 'alerts', 0, 'providerRef', 'namespace'), 'Flagger', 'spec.analysis.alerts[0].providerRef.namespace', "must be a DNS-1123 label (lower-case letters, digits and '-', at most 63), got 'Flagger'"),
    ('alert-name-missing', 'full', ('spec', 'analysis', 'alerts', 0, 'name'), DELETE, 'spec.analysis.alerts[0].name', 'required'),
    ('status-list', 'full', ('status',), [], 'status', 'must be a map, got a list'),
    ('status-phase-number', 'full', ('status', 'phase'), 1, 'status.phase', 'must be a string, got int 1'),
    ('status-canaryWeight-101', 'full', ('status', 'canaryWeight'), 101, 'status.canaryWeight', 'must be 0..100, got 101'),
    ('status-failedChecks-negative', 'full', ('status', 'failedChecks'), -1, 'status.failedChecks', 'must be at least 0, got -1'),
    ('status-iterations-minus-2', 'full', ('status', 'iterations'), -2, 'status.iterations', 'must be at least -1, got -2'),
    ('status-iterations-string', 'full', ('status', 'iterations'), '1', 'status.iterations', "must be an integer, got '1'"),
    ('status-lastAppliedSpec-number', 'full', ('status', 'lastAppliedSpec'), 1, 'status.lastAppliedSpec', 'must be a string, got int 1'),
    ('status-lastPromotedSpec-list', 'full', ('status', 'lastPromotedSpec'), ['x'], 'status.lastPromotedSpec', "must be a string, got a list ['x']"),
    ('status-trackedConfigs-list', 'full', ('status', 'trackedConfigs'), [], 'status.trackedConfigs', 'must be a map, got a list'),
    ('status-trackedConfig-value-number', 'full', ('status', 'trackedConfigs', 'configmap/x'), 1, 'status.trackedConfigs.configmap/x', 'must be a string, got int 1'),
    ('status-conditions-map', 'full', ('status', 'conditions'), {}, 'status.conditions', 'must be a list, got a map'),
    # times the engine computes with: unusable ones make the Canary invalid, naming the field (engine.timefmt)
    ('status-lastTransitionTime-year-9999', 'full', ('status', 'lastTransitionTime'), '9999-12-31T23:59:59Z', 'status.lastTransitionTime', "must be a time from 1970-01-01T00:00:00Z to 9000-01-01T00:00:00Z, got '9999-12-31T23:59:59Z'"),
    ('status-lastTransitionTime-year-1', 'full', ('status', 'lastTransitionTime'), '0001-01-01T00:00:00Z', 'status.lastTransitionTime', "must be a time from 1970-01-01T00:00:00Z to 9000-01-01T00:00:00Z, got '0001-01-01T00:00:00Z'"),
    ('status-lastDecisionTime-feb-30', 'full', ('status', 'lastDecisionTime'), '2026-02-30T10:00:00Z', 'status.lastDecisionTime', "must be an RFC 3339 time like 2026-11-27T10:00:00Z, got '2026-02-30T10:00:00Z'"),
    ('status-lastDecisionTime-hour-24', 'full', ('status', 'lastDecisionTime'), '2026-11-27T24:00:00Z', 'status.lastDecisionTime', "must be an RFC 3339 time like 2026-11-27T10:00:00Z, got '2026-11-27T24:00:00Z'"),
    ('status-lastDecisionTime-number', 'full', ('status', 'lastDecisionTime'), 1764237600, 'status.lastDecisionTime', 'must be an RFC 3339 time like 2026-11-27T10:00:00Z, got 1764237600'),
    ('status-condition-lastUpdateTime-words', 'full', ('status', 'conditions', 0, 'lastUpdateTime'), 'yesterday', 'status.conditions[0].lastUpdateTime', "must be an RFC 3339 time like 2026-11-27T10:00:00Z, got 'yesterday'"),
    ('status-condition-lastTransitionTime-year-9999', 'full', ('status', 'conditions', 0, 'lastTransitionTime'), '9999-01-01T00:00:00Z', 'status.conditions[0].lastTransitionTime', "must be a time from 1970-01-01T00:00:00Z to 9000-01-01T00:00:00Z, got '9999-01-01T00:00:00Z'"),
    ('status-condition-string', 'full', ('status', 'conditions', 0), 'Promoted', 'status.conditions[0]', 'must be a map, got a string'),
]


@pytest.mark.parametrize("base,field,value,path,message", [pytest.param(b, f, v, p, m, id=i) for i, b, f, v, p, m in ERRORS])
def test_error_path_and_message(base: str, field: tuple[Any, ...], value: Any, path: str, message: str) -> None:
    with pytest.raises(SpecError) as caught:
        parse_canary(mutated(BASES[base](), field, value))
    assert (caught.value.path, caught.value.message) == (path, message)
    assert str(caught.value) == f"{path}: {message}"


def test_ids_are_unique() -> None:
    assert len({case[0] for case in ERRORS}) == len(ERRORS)


FULL = Canary(
    api_version="flagger.app/v1beta1",
    name="podinfo",
    namespace="test",
    uid="1234",
    spec=CanarySpec(
        target_ref=ObjectRef(api_version="apps/v1", kind="Deployment", name="podinfo"),
        service=ServiceSpec(
            port=9898,
            name="web",
            port_name="http-web",
            target_port="http",
            app_protocol="http",
            port_discovery=True,
            headless=False,
            gateways=("public-gateway.istio-system.svc.cluster.local",),
            hosts=("app.example.com",),
            apex=ServiceMetadata(labels=(("a", "1"),), annotations=(("b", "2"),)),
            primary=ServiceMetadata(labels=(("p", "x"),), annotations=()),
            canary=ServiceMetadata(labels=(), annotations=(("c", "y"),)),
        ),
        analysis=AnalysisSpec(
            interval="30s",
            interval_seconds=30.0,
            threshold=5,
            max_weight_field=50,
            step_weight=10,
            step_weights=(),
            step_weight_promotion=20,
            iterations=0,
            match=({"headers": {"x-canary": {"exact": "insider"}}, "queryParams": {"q": {"regex": "^a"}}},),
            mirror=False,
            mirror_weight=0,
            primary_ready_threshold=90,
            canary_ready_threshold=80,
            metrics=(
                MetricSpec(name="request-success-rate", interval="1m", threshold=99.0),
                MetricSpec(name="errors", interval="30s", threshold_range=ThresholdRange(min=0.0, max=1.5), query="sum(rate(x[1m]))"),
                MetricSpec(
                    name="latency",
                    interval="1m",
                    threshold_range=ThresholdRange(min=None, max=500.0),
                    template_ref=TemplateRef(name="latency", namespace="flagger"),
                    template_variables=(("a", "1"), ("b", "2")),
                ),
            ),
            webhooks=(
                WebhookSpec(name="load-test", url="http://flagger-loadtester.test/", type=HookType.ROLLOUT, timeout="5s", timeout_seconds=5.0, metadata=(("cmd", "hey"),)),
                WebhookSpec(
                    name="gate",
                    url="https://gate.example.com:8443/approve?x=1",
                    type=HookType.CONFIRM_ROLLOUT,
                    timeout="1m30s",
                    timeout_seconds=90.0,
                    retries=3,
                    disable_tls=True,
                ),
            ),
            alerts=(
                AlertSpec(name="on-call", severity="warn", provider_name="slack", provider_namespace="flagger"),
                AlertSpec(name="log", severity="info", provider_name="msteams", provider_namespace=None),
            ),
        ),
        autoscaler_ref=ObjectRef(api_version="autoscaling/v2", kind="HorizontalPodAutoscaler", name="podinfo"),
        provider="smi:istio",
        progress_deadline_seconds=60,
        skip_analysis_field=False,
        suspend=False,
        revert_on_deletion=True,
    ),
    status=CanaryStatus(
        phase="Progressing",
        canary_weight=20,
        failed_checks=1,
        iterations=0,
        last_applied_spec="abc",
        last_promoted_spec="def",
        tracked_configs=(("configmap/x", "h"),),
        last_transition_time="2024-01-01T00:00:00Z",
        conditions=(Condition(type="Promoted", status="Unknown", reason="Progressing", message="m", last_update_time="2024-01-01T00:00:01Z", last_transition_time="2024-01-01T00:00:02Z"),),
        last_decision_time="2024-01-01T00:00:10Z",
    ),
)


def _layout(value: Any) -> Any:
    """The instance attributes, in order, of every dataclass value inside `value`: fields and the `derived`
    properties a `__post_init__` computed up front."""
    if dataclasses.is_dataclass(value):
        nested = [_layout(getattr(value, f.name)) for f in dataclasses.fields(value) if f.name != "manifest"]
        return (type(value).__name__, list(vars(value)), [n for n in nested if n])
    if isinstance(value, tuple):
        return [_layout(item) for item in value]
    return None


def _same(parsed: Any, expected: Any) -> None:
    """Equal, equal in repr too (`==` takes 99 for 99.0, the repr does not), and built alike: the same attributes
    set, derived values included, as the dataclasses' own `__init__` sets."""
    assert parsed == expected
    assert repr(parsed) == repr(expected)
    assert _layout(parsed) == _layout(expected)


def test_every_field_parses_to_its_value() -> None:
    doc = full()
    before = copy.deepcopy(doc)
    canary = parse_canary(doc)
    _same(canary, FULL)
    assert canary.manifest is doc and doc == before
    assert (canary.key, canary.spec.apex_name, canary.spec.skip_analysis, canary.spec.analysis.max_weight) == ("podinfo.test", "web", False, 50)
    assert [m.is_builtin for m in canary.spec.analysis.metrics] == [True, False, False]
    assert canary.spec.analysis.hooks(HookType.CONFIRM_ROLLOUT) == (FULL.spec.analysis.webhooks[1],)
    assert canary.spec.analysis.match[0] is doc["spec"]["analysis"]["match"][0]


def test_step_weights_and_v1alpha3() -> None:
    _same(parse_canary(steps()).spec.analysis, dataclasses.replace(FULL.spec.analysis, step_weight=0, step_weights=(5, 10, 40)))
    assert parse_canary(steps()).spec.analysis.max_weight == 40
    canary = parse_canary(alpha())
    _same(dataclasses.replace(canary, api_version=FULL.api_version), FULL)
    without_interval = alpha()
    del without_interval["spec"]["canaryAnalysis"]["interval"]
    analysis = parse_canary(without_interval).spec.analysis
    assert (analysis.interval, analysis.interval_seconds) == ("60s", 60.0)
