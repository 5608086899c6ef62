"""Canary fields Flagger acts on that cronary validated and then dropped (issue 15): each now reaches what it
renders, as in Flagger v1.44 (`../shared/reference/flagger-objects.md` §3–4)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from cronjob.shared.yamlio import load_documents, load_single
from engine.canary_spec import parse_canary
from engine.errors import SpecError
from engine.model import Canary
from engine.render.hpa import render_primary_hpa
from engine.render.meta import include_by_prefix
from engine.render.services import render_services
from harness.paths import SEED

SEED_CANARY = load_single(str(SEED / "podinfo-canary.yaml"))
SEED_HPA = next(d for d in load_documents(str(SEED / "cluster.yaml")) if d["kind"] == "HorizontalPodAutoscaler")


def canary(**spec: Any) -> Canary:
    doc = copy.deepcopy(SEED_CANARY)
    for path, value in spec.items():
        node = doc["spec"]
        *parents, last = path.split("__")
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value
    return parse_canary(doc)


@pytest.mark.parametrize("distribution", ["PreferClose", "PreferSameZone", "PreferSameNode"])
def test_traffic_distribution_is_set_on_the_three_services(distribution: str) -> None:
    services = render_services(canary(service__trafficDistribution=distribution), {}, label="app", value="podinfo")
    assert {role: s["spec"].get("trafficDistribution") for role, s in services.items()} == {
        "apex": distribution,
        "canary": distribution,
        "primary": distribution,
    }


def test_without_traffic_distribution_the_services_have_none() -> None:
    services = render_services(canary(), {}, label="app", value="podinfo")
    assert all("trafficDistribution" not in s["spec"] for s in services.values())


@pytest.mark.parametrize(
    ("replicas", "expected"),
    [
        pytest.param({"minReplicas": 3, "maxReplicas": 8}, (3, 8), id="both"),
        pytest.param({"minReplicas": 3}, (3, None), id="min-only"),
        pytest.param({"maxReplicas": 8}, (None, 8), id="max-only"),
    ],
)
@pytest.mark.parametrize("sync", [False, True], ids=["created", "synced-on-promotion"])
def test_primary_scaler_replicas_replace_the_targets_min_and_max(
    replicas: dict[str, int], expected: tuple[int | None, int | None], sync: bool
) -> None:
    ref = {**SEED_CANARY["spec"]["autoscalerRef"], "primaryScalerReplicas": replicas}
    hpa = render_primary_hpa(canary(autoscalerRef=ref), SEED_HPA, None, sync=sync)
    source = SEED_HPA["spec"]
    assert hpa["spec"]["minReplicas"] == (expected[0] if expected[0] is not None else source.get("minReplicas"))
    assert hpa["spec"]["maxReplicas"] == (expected[1] if expected[1] is not None else source["maxReplicas"])


def test_include_label_prefix_star_takes_every_label_but_the_toolkits() -> None:
    labels = {"app": "podinfo", "team": "a", "kustomize.toolkit.fluxcd.io/name": "apps"}
    assert include_by_prefix(labels, ("*",)) == {"app": "podinfo", "team": "a"}
    assert include_by_prefix(labels, ("te",)) == {"team": "a"}


def test_a_session_affinity_cookie_must_differ_from_the_primarys() -> None:
    affinity = {"cookieName": "flagger-cookie", "primaryCookieName": "flagger-cookie"}
    with pytest.raises(SpecError) as caught:
        canary(canaryAnalysis__sessionAffinity=affinity)
    assert caught.value.path == "spec.canaryAnalysis.sessionAffinity.primaryCookieName"
    assert caught.value.message == "must differ from cookieName"


def test_a_metrics_server_takes_the_builtin_and_inline_queries_and_the_probe() -> None:
    from engine.analysis.render import provider_check, query_for
    from engine.model import MetricSpec

    server = "http://thanos.monitoring:9090"
    with_server = canary(metricsServer=server)
    builtin = query_for(MetricSpec(name="request-success-rate", threshold=99), "istio", with_server)
    inline = query_for(MetricSpec(name="errors", query="sum(x)", threshold=1), "istio", with_server)
    assert builtin.address == server and builtin.aggregate is not None and builtin.aggregate.address == server
    assert inline.address == server
    default = query_for(MetricSpec(name="request-success-rate", threshold=99), "istio", canary())
    assert default.address is None and default.aggregate != builtin.aggregate  # one fleet query per server
    assert [p.query.address for p in provider_check(with_server, {}).probes] == [server]


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("ftp://thanos:9090", "ftp://thanos:9090"),
        ("http://user:s3cret@thanos:9090/x?token=t", "http://thanos:9090"),
        (42, "int"),
    ],
)
def test_a_metrics_server_must_be_an_http_url_and_is_shown_by_its_origin(value: object, shown: str) -> None:
    with pytest.raises(SpecError) as caught:
        canary(metricsServer=value)
    assert caught.value.path == "spec.metricsServer" and caught.value.message.endswith(f"got {shown}")
    assert "s3cret" not in caught.value.message and "token" not in caught.value.message
