"""The install manifests grant exactly the calls `cronary tick` makes: nothing missing, nothing extra.

A whole rollout is played against the API emulator with every feature that needs a permission in use
(config tracking with a ConfigMap and a Secret, a MetricTemplate, an AlertProvider, the HPA, the Lease), and
the calls the emulator saw, as RBAC (group, resource, verb) triples, are compared with the rules that
`kubectl kustomize cronjob/deploy` renders — and, with `--no-config-tracking`, with the overlay's.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cluster import ROOT, SeedCluster
from harness.kube_emulator import KubeEmulator
from harness.rbac import Permission, granted, render_kustomize

DEPLOY = ROOT / "cronjob" / "deploy"


def used(emulator: KubeEmulator) -> set[Permission]:
    """The RBAC permissions of the recorded calls. An apply that created its object is also a `create`,
    as a real authorizer checks it."""
    out = set()
    for request in emulator.requests:
        if request.verb is None:
            continue  # discovery: allowed to every authenticated user by system:discovery
        resource = f"{request.resource}/{request.subresource}" if request.subresource else str(request.resource)
        out.add(Permission(str(request.api_group), resource, request.verb))
        if request.created:
            out.add(Permission(str(request.api_group), resource, "create"))
    return out


def with_every_feature(cluster: SeedCluster, alert_url: str) -> None:
    """ConfigMap and Secret tracked by the target, a MetricTemplate metric and an AlertProvider alert."""
    emulator = cluster.emulator
    emulator.create(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "podinfo-config", "namespace": "test"},
            "data": {"color": "blue"},
        }
    )
    emulator.create(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "podinfo-token", "namespace": "test"},
            "type": "Opaque",
            "data": {"token": "czNjcjN0"},
        }
    )
    target = cluster.deployment("podinfo")
    target["spec"]["template"]["spec"]["volumes"] = [
        {"name": "config", "configMap": {"name": "podinfo-config"}},
        {"name": "token", "secret": {"secretName": "podinfo-token"}},
    ]
    emulator.replace(target)
    emulator.create(
        {
            "apiVersion": "flagger.app/v1beta1",
            "kind": "MetricTemplate",
            "metadata": {"name": "not-found-percentage", "namespace": "test"},
            "spec": {"provider": {"type": "prometheus", "address": cluster.prometheus_url}, "query": "vector(1)"},
        }
    )
    emulator.create(
        {
            "apiVersion": "flagger.app/v1beta1",
            "kind": "AlertProvider",
            "metadata": {"name": "on-call", "namespace": "test"},
            "spec": {"type": "slack", "channel": "on-call", "address": alert_url},
        }
    )
    canary = cluster.canary()
    analysis = canary["spec"]["canaryAnalysis"]
    analysis["metrics"].append(
        {
            "name": "not-found",
            "templateRef": {"name": "not-found-percentage"},
            "thresholdRange": {"max": 5},
            "interval": "1m",
        }
    )
    analysis["alerts"] = [{"name": "on-call", "severity": "info", "providerRef": {"name": "on-call"}}]
    emulator.replace(canary)


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
