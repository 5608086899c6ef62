"""The router seam: every router renders exactly the kinds it names and reads back the routes it rendered."""

from __future__ import annotations

import pytest

from cronjob.local.inputs import read_canary
from engine.cluster import ClusterView
from engine.render.meta import owner_reference
from engine.routers.factory import ROUTER_KINDS, resolve_provider
from engine.routers.router import Routes, split
from harness.paths import SEED

# one provider name per way a router module is set up (every SMI version and mesh)
PROVIDERS = ("smi:istio", "smi:linkerd", "linkerd", "osm", "smi:v1alpha1", "smi:v1alpha2:osm", "smi:v1alpha3:istio")


@pytest.mark.parametrize("name", PROVIDERS)
@pytest.mark.parametrize("weight", [0, 10, 55, 100])
def test_a_router_reads_back_the_routes_it_rendered(name: str, weight: int) -> None:
    canary = read_canary(str(SEED / "podinfo-canary.yaml"), name)
    router = resolve_provider(name, None).router
    rendered = router.render(canary, split(weight), owner_reference(canary))
    assert {(o["apiVersion"], o["kind"]) for o in rendered} == set(router.kinds)
    assert set(router.kinds) <= set(ROUTER_KINDS)
    assert router.read_routes(canary, ClusterView.of(rendered).objects) == Routes(100 - weight, weight)


def test_without_its_objects_a_router_routes_everything_to_the_primary_and_unreadable_ones_are_none() -> None:
    canary = read_canary(str(SEED / "podinfo-canary.yaml"), "smi:istio")
    router = resolve_provider("smi:istio", None).router
    assert router.read_routes(canary, {}) == Routes(100, 0)
    (split_object,) = router.render(canary, split(20), owner_reference(canary))
    broken = {**split_object, "spec": {"backends": [{"service": "podinfo-canary", "weight": "x"}]}}
    assert router.read_routes(canary, ClusterView.of([broken]).objects) is None
