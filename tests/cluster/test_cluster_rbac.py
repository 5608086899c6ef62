"""The install manifests grant exactly the calls `cronary tick` makes: nothing missing, nothing extra.

A whole rollout is played against the API emulator with every feature that needs a permission in use
(config tracking with a ConfigMap and a Secret, a MetricTemplate, an AlertProvider, the HPA, the Lease), and
the calls the emulator saw, as RBAC (group, resource, verb) triples, are compared with the rules that
`kubectl kustomize cronjob/deploy` renders — and, with `--no-config-tracking`, with the overlay's.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cluster import SeedCluster
from harness.rbac import DEPLOY, granted, render_kustomize, used, with_every_feature


def play(cluster: SeedCluster, *extra: str) -> None:
    for n in range(1, 40):
        cluster.emulator.complete_rollouts()
        if n == 3:
            cluster.set_image()
        cluster.tick("--lease-namespace", "cronary", *extra, no_lease=False)
        cluster.emulator.advance(10)
        if n > 3 and cluster.status().get("phase") in ("Succeeded", "Failed"):
            return
    raise AssertionError(f"the rollout did not finish: {cluster.status()}")


@pytest.mark.parametrize(
    "kustomization, extra",
    [
        pytest.param(DEPLOY, (), id="default-install"),
        pytest.param(DEPLOY / "overlays" / "no-config-tracking", ("--no-config-tracking",), id="no-config-tracking"),
    ],
)
def test_rbac_rules_are_exactly_the_calls_the_tick_makes(
    emulator, tmp_path: Path, prometheus, httpserver, kustomization: Path, extra: tuple[str, ...]
) -> None:
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    httpserver.expect_request("/alert", method="POST").respond_with_data("ok")
    cluster = SeedCluster(emulator, tmp_path, prometheus.url, httpserver.url_for("/hook")).install()
    with_every_feature(cluster, httpserver.url_for("/alert"))
    emulator.clear_requests()
    play(cluster, *extra)
    assert cluster.status()["phase"] == "Succeeded"
    calls, rules = used(emulator), granted(render_kustomize(kustomization))
    assert sorted(calls - rules, key=str) == [], "calls the install does not allow"
    assert sorted(rules - calls, key=str) == [], "permissions the tick never uses"
    if extra:
        assert not [p for p in calls if p.resource == "secrets"]
