"""Every field of the Canary CRD, both versions, is accounted for (issue 15, "Every accepted field acts"): it acts,
or the parser refuses it, or it belongs to a router cronary does not build yet (as Flagger's SMI router ignores
it too), or it is a documented difference, or it is documented as not acted on yet. A field added to the CRD
fails this test until it is placed in one of those."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from cronjob.shared.yamlio import load_documents, load_single
from engine.canary_spec import parse_canary
from engine.errors import SpecError
from harness.paths import ROOT, SEED

CRD = ROOT / "cronjob" / "deploy" / "base" / "crds" / "canaries.yaml"
DOCS = ROOT / "docs"

# Fields that act, by the test that shows it (spec.analysis.* stands for spec.canaryAnalysis.* too).
ACTS = {
    "spec.provider": "tests/engine/test_routers.py",
    "spec.metricsServer": "tests/engine/test_parity_fields.py",
    "spec.progressDeadlineSeconds": "tests/cli/test_timelines.py",
    "spec.targetRef.apiVersion": "tests/engine/test_targets.py",
    "spec.targetRef.kind": "tests/engine/test_targets.py",
    "spec.targetRef.name": "tests/engine/test_targets.py",
    "spec.autoscalerRef.apiVersion": "tests/engine/test_render_hpa.py",
    "spec.autoscalerRef.kind": "tests/engine/test_render_hpa.py",
    "spec.autoscalerRef.name": "tests/engine/test_render_hpa.py",
    "spec.autoscalerRef.primaryScalerReplicas.minReplicas": "tests/engine/test_parity_fields.py",
    "spec.autoscalerRef.primaryScalerReplicas.maxReplicas": "tests/engine/test_parity_fields.py",
    "spec.service.name": "tests/engine/test_canary_validation.py",
    "spec.service.port": "tests/engine/test_canary_validation.py",
    "spec.service.portName": "tests/engine/test_canary_validation.py",
    "spec.service.targetPort": "tests/engine/test_canary_validation.py",
    "spec.service.appProtocol": "tests/engine/test_canary_validation.py",
    "spec.service.trafficDistribution": "tests/engine/test_parity_fields.py",
    "spec.service.portDiscovery": "tests/engine/test_canary_validation.py",
    "spec.service.headless": "tests/engine/test_canary_validation.py",
    "spec.service.hosts": "tests/engine/test_routers.py",
    "spec.service.gateways": "tests/engine/test_routers.py",
    "spec.service.apex.labels": "tests/engine/test_canary_validation.py",
    "spec.service.apex.annotations": "tests/engine/test_canary_validation.py",
    "spec.service.primary.labels": "tests/engine/test_canary_validation.py",
    "spec.service.primary.annotations": "tests/engine/test_canary_validation.py",
    "spec.service.canary.labels": "tests/engine/test_canary_validation.py",
    "spec.service.canary.annotations": "tests/engine/test_canary_validation.py",
    "spec.skipAnalysis": "tests/cli/test_timelines.py",
    "spec.suspend": "tests/cli/test_timelines.py",
    "spec.analysis.interval": "tests/cli/test_timelines.py",
    "spec.analysis.threshold": "tests/cli/test_timelines.py",
    "spec.analysis.maxWeight": "tests/engine/test_strategy_canary.py",
    "spec.analysis.stepWeight": "tests/engine/test_strategy_canary.py",
    "spec.analysis.stepWeights": "tests/engine/test_strategy_canary.py",
    "spec.analysis.stepWeightPromotion": "tests/engine/test_strategy_canary.py",
    "spec.analysis.primaryReadyThreshold": "tests/engine/test_readiness.py",
    "spec.analysis.canaryReadyThreshold": "tests/engine/test_readiness.py",
    "spec.analysis.metrics[].name": "tests/engine/test_queries.py",
    "spec.analysis.metrics[].interval": "tests/engine/test_queries.py",
    "spec.analysis.metrics[].threshold": "tests/engine/test_queries.py",
    "spec.analysis.metrics[].thresholdRange.min": "tests/engine/test_queries.py",
    "spec.analysis.metrics[].thresholdRange.max": "tests/engine/test_queries.py",
    "spec.analysis.metrics[].query": "tests/engine/test_queries.py",
    "spec.analysis.metrics[].templateRef.name": "tests/engine/test_queries.py",
    "spec.analysis.metrics[].templateRef.namespace": "tests/engine/test_queries.py",
    "spec.analysis.metrics[].templateVariables": "tests/engine/test_queries.py",
    "spec.analysis.webhooks[].name": "tests/edges/test_webhooks.py",
    "spec.analysis.webhooks[].type": "tests/engine/test_hooks.py",
    "spec.analysis.webhooks[].url": "tests/edges/test_webhooks.py",
    "spec.analysis.webhooks[].timeout": "tests/edges/test_webhooks.py",
    "spec.analysis.webhooks[].retries": "tests/edges/test_webhooks.py",
    "spec.analysis.webhooks[].disableTLS": "tests/edges/test_webhooks.py",
    "spec.analysis.webhooks[].muteAlert": "tests/edges/test_alerts.py",
    "spec.analysis.webhooks[].metadata": "tests/edges/test_webhooks.py",
    "spec.analysis.alerts[].name": "tests/edges/test_alerts.py",
    "spec.analysis.alerts[].severity": "tests/edges/test_alerts.py",
    "spec.analysis.alerts[].providerRef.name": "tests/edges/test_alerts.py",
    "spec.analysis.alerts[].providerRef.namespace": "tests/edges/test_alerts.py",
}
# Refused by the parser until the strategy is built (issue 16), with a value that would otherwise pass.
REFUSED = {"spec.analysis.iterations": 5, "spec.analysis.mirror": True}
# Read only by routers or providers cronary does not build yet (issue 16); Flagger's SMI router ignores them too.
OTHER_ROUTERS = {
    "spec.ingressRef.apiVersion", "spec.ingressRef.kind", "spec.ingressRef.name",  # nginx
    "spec.routeRef.apiVersion", "spec.routeRef.kind", "spec.routeRef.name",  # Skipper / Gateway API
    "spec.upstreamRef.apiVersion", "spec.upstreamRef.kind", "spec.upstreamRef.name", "spec.upstreamRef.namespace",
    "spec.service.timeout", "spec.service.backendTimeout", "spec.service.meshName", "spec.service.backends",
    "spec.service.delegation", "spec.service.gatewayRefs", "spec.service.match", "spec.service.retries",
    "spec.service.rewrite", "spec.service.mirror", "spec.service.headers", "spec.service.corsPolicy",
    "spec.service.trafficPolicy", "spec.analysis.match", "spec.analysis.mirrorWeight",
    "spec.analysis.sessionAffinity",
}  # fmt: skip
# Documented differences (docs/differences-from-flagger.md names each).
DIFFERENCES = {"spec.service.unmanagedMetadata.annotations", "spec.service.unmanagedMetadata.labels"}
# Documented as not acted on yet (docs/canary-reference.md says so), with the issue that builds them.
NOT_YET = {"spec.revertOnDeletion": 15, "spec.autoscalerRef.primaryScalerQueries": 15}


def _leaves(schema: dict[str, Any], path: str) -> list[str]:
    if schema.get("properties"):
        return [leaf for key, sub in schema["properties"].items() for leaf in _leaves(sub, f"{path}.{key}")]
    items = schema.get("items")
    if isinstance(items, dict) and items.get("properties"):
        return _leaves(items, f"{path}[]")
    return [path]


def _crd_fields() -> list[str]:
    (crd,) = load_documents(str(CRD))
    fields = set()
    for version in crd["spec"]["versions"]:
        for leaf in _leaves(version["schema"]["openAPIV3Schema"]["properties"]["spec"], "spec"):
            fields.add(leaf.replace("spec.canaryAnalysis.", "spec.analysis."))
    return sorted(fields)


CLASSES = [set(ACTS), set(REFUSED), OTHER_ROUTERS, DIFFERENCES, set(NOT_YET)]


@pytest.mark.parametrize("field", _crd_fields())
def test_every_crd_field_is_accounted_for_once(field: str) -> None:
    homes = [i for i, fields in enumerate(CLASSES) if field in fields]
    assert len(homes) == 1, f"{field}: in {len(homes)} classes; place it in exactly one (acts, refused, …)"


def test_the_table_names_no_field_the_crd_does_not_have() -> None:
    crd = set(_crd_fields())
    assert [f for fields in CLASSES for f in sorted(fields) if f not in crd] == []


@pytest.mark.parametrize("field", sorted(set(ACTS.values())))
def test_the_tests_named_for_acting_fields_exist(field: str) -> None:
    assert (ROOT / field).is_file(), field


@pytest.mark.parametrize(("field", "value"), sorted(REFUSED.items()))
def test_a_refused_field_is_refused_by_the_parser(field: str, value: object) -> None:
    doc = copy.deepcopy(load_single(str(SEED / "podinfo-canary.yaml")))
    key = field.rsplit(".", 1)[1]
    doc["spec"]["canaryAnalysis"][key] = value
    if key == "iterations":
        doc["spec"]["canaryAnalysis"].pop("stepWeight", None)
    with pytest.raises(SpecError) as caught:
        parse_canary(doc)
    assert "not supported by cronary yet" in caught.value.message


@pytest.mark.parametrize("field", sorted(DIFFERENCES))
def test_a_difference_is_documented(field: str) -> None:
    text = (DOCS / "differences-from-flagger.md").read_text(encoding="utf-8")
    assert field.rsplit(".", 2)[-2] in text, f"{field} is not named in docs/differences-from-flagger.md"


@pytest.mark.parametrize("field", sorted(NOT_YET))
def test_a_field_not_acted_on_yet_says_so(field: str) -> None:
    text = (DOCS / "canary-reference.md").read_text(encoding="utf-8")
    name = field.rsplit(".", 1)[1]
    rows = [line for line in text.splitlines() if re.search(rf"`[^`]*{name}[^`]*`", line)]
    assert any("not acted on yet" in row for row in rows), f"docs/canary-reference.md must say {name} is not acted on"
