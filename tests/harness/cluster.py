"""The seed guide's cluster on the Kubernetes API emulator, and `cronary tick` run against it.

`SeedCluster` installs cronary's CRDs (cronjob/deploy/crds) and the SMI TrafficSplit CRD, creates the
guide's objects (namespace test, Deployment and HPA podinfo, the podinfo Canary with its load-test hook
pointed at a local HTTP server), and runs `cronary tick` through its command line, in process (CliRunner)
or as a real subprocess. The emulator's clock is the API server's: `advance()` moves time for the tick, and
`VirtualTime` gives an in-process `Tick` a `sleep` and a `monotonic` that move and read that clock.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from cronjob.cli import main
from cronjob.shared.yamlio import load_documents, load_single
from harness.kube_emulator import KubeEmulator

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "fixtures" / "seed"
DEPLOY_CRDS = ROOT / "cronjob" / "deploy" / "base" / "crds"
SMI_CRD = ROOT / "fixtures" / "crds" / "smi-istio-adapter-0.14.0.yaml"
START = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
NEW_IMAGE = "quay.io/stefanprodan/podinfo:1.7.1"


def hpa_v2(hpa: dict[str, Any]) -> dict[str, Any]:
    """The seed's autoscaling/v2beta1 HPA as a 1.26+ API server stores and serves it (autoscaling/v2)."""
    out = copy.deepcopy(hpa)
    out["apiVersion"] = "autoscaling/v2"
    metrics = []
    for metric in out["spec"].get("metrics") or []:
        resource = metric.get("resource") or {}
        if "targetAverageUtilization" in resource:
            resource = {
                "name": resource["name"],
                "target": {"type": "Utilization", "averageUtilization": resource["targetAverageUtilization"]},
            }
        metrics.append({**metric, "resource": resource})
    out["spec"]["metrics"] = metrics
    return out


@dataclass
class TickRun:
    exit_code: int
    output: str

    @property
    def logs(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.output.splitlines() if line.startswith("{")]

    @property
    def events(self) -> list[str]:
        return [line["msg"] for line in self.logs if "eventType" in line]


class VirtualTime:
    """`sleep` moves the emulator's clock (and, with `controller`, finishes Deployment rollouts the way the
    cluster would while the Job sleeps); `monotonic` reads it."""

    def __init__(self, emulator: KubeEmulator, controller: bool = False) -> None:
        self.emulator = emulator
        self.controller = controller
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.emulator.advance(seconds)
        if self.controller:
            self.emulator.complete_rollouts()

    def monotonic(self) -> float:
        return (self.emulator.now - START).total_seconds()


class SeedCluster:
    def __init__(self, emulator: KubeEmulator, workdir: Path, prometheus_url: str, hook_url: str) -> None:
        self.emulator = emulator
        self.kubeconfig = emulator.write_kubeconfig(workdir / "kubeconfig")
        self.prometheus_url = prometheus_url
        self.hook_url = hook_url

    def install(self) -> SeedCluster:
        for path in sorted(DEPLOY_CRDS.glob("*.yaml")):
            self.emulator.install_crds_from(path)
        self.emulator.install_crds_from(SMI_CRD)
        self.emulator.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "cronary"}})
        for doc in load_documents(str(SEED / "cluster.yaml")):
            self.emulator.create(hpa_v2(doc) if doc["kind"] == "HorizontalPodAutoscaler" else doc)
        self.emulator.create(self.seed_canary())
        return self

    def seed_canary(self, name: str = "podinfo", **analysis: Any) -> dict[str, Any]:
        doc = load_single(str(SEED / "podinfo-canary.yaml"))
        doc["metadata"]["name"] = name
        for hook in doc["spec"]["canaryAnalysis"].get("webhooks") or []:
            hook["url"] = self.hook_url
        doc["spec"]["canaryAnalysis"].update(analysis)
        return doc

    # -- running the tick ------------------------------------------------------------------------------
    def args(self, *extra: str, no_lease: bool = True) -> list[str]:
        return [
            "tick",
            "--once",
            "--kubeconfig",
            self.kubeconfig,
            "--mesh-provider",
            "smi:istio",
            "--prometheus",
            self.prometheus_url,
            "--request-timeout",
            "2s",
            *(["--no-lease"] if no_lease else []),
            *extra,
        ]

    def tick(self, *extra: str, no_lease: bool = True) -> TickRun:
        result = CliRunner().invoke(main, self.args(*extra, no_lease=no_lease), catch_exceptions=False)
        return TickRun(result.exit_code, result.output)

    def tick_process(self, *extra: str, no_lease: bool = True) -> subprocess.Popen:
        """`cronary tick` as its own process (as the CronJob runs it); the caller waits for it."""
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        return subprocess.Popen(
            [sys.executable, "-m", "cronjob.cli", *self.args(*extra, no_lease=no_lease)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    # -- reading the cluster -----------------------------------------------------------------------------
    def canary(self, name: str = "podinfo") -> dict[str, Any]:
        found = self.emulator.get("flagger.app/v1beta1", "Canary", "test", name)
        assert found is not None
        return found

    def status(self, name: str = "podinfo") -> dict[str, Any]:
        return self.canary(name).get("status") or {}

    def deployment(self, name: str) -> dict[str, Any] | None:
        return self.emulator.get("apps/v1", "Deployment", "test", name)

    def split_weights(self, name: str = "podinfo") -> dict[str, int] | None:
        split = self.emulator.get("split.smi-spec.io/v1alpha1", "TrafficSplit", "test", name)
        if split is None:
            return None
        return {b["service"]: int(str(b["weight"])) for b in split["spec"]["backends"]}

    def set_image(self, image: str = NEW_IMAGE, name: str = "podinfo") -> None:
        """`kubectl set image`: a new revision of the target, whose rollout has just started."""
        dep = self.deployment(name)
        assert dep is not None
        dep["spec"]["template"]["spec"]["containers"][0]["image"] = image
        self.emulator.replace(dep)
        self.emulator.complete_rollouts(hold=[("test", name)])


# -- a shard of several namespaces (the edge tests of cluster mode and of webhooks) ------------------------
NAMESPACES = ("--namespace", "test", "--namespace", "prod")


def add_namespace(cluster: SeedCluster, namespace: str, **analysis: Any) -> None:
    """The seed's Namespace, Deployment, HPA and Canary once more, in `namespace`."""
    for doc in load_documents(str(SEED / "cluster.yaml")):
        doc["metadata"]["name" if doc["kind"] == "Namespace" else "namespace"] = namespace
        cluster.emulator.create(hpa_v2(doc) if doc["kind"] == "HorizontalPodAutoscaler" else doc)
    canary = cluster.seed_canary(**analysis)
    canary["metadata"]["namespace"] = namespace
    cluster.emulator.create(canary)


def set_image(cluster: SeedCluster, namespace: str) -> None:
    """`kubectl -n NAMESPACE set image deployment/podinfo`: a new revision, its rollout just started."""
    deployment = cluster.emulator.get("apps/v1", "Deployment", namespace, "podinfo")
    assert deployment is not None
    deployment["spec"]["template"]["spec"]["containers"][0]["image"] = NEW_IMAGE
    cluster.emulator.replace(deployment)
    cluster.emulator.complete_rollouts(hold=[(namespace, "podinfo")])


def status(cluster: SeedCluster, namespace: str) -> dict[str, Any]:
    found = cluster.emulator.get("flagger.app/v1beta1", "Canary", namespace, "podinfo")
    assert found is not None
    return found.get("status") or {}


def clean(run: TickRun) -> list[dict[str, Any]]:
    """Every line of a tick's output is one JSON object, and no traceback was printed; the lines."""
    assert "Traceback" not in run.output
    lines = run.output.strip().splitlines()
    assert all(line.startswith("{") for line in lines), run.output
    return [json.loads(line) for line in lines]


def problems(run: TickRun) -> list[dict[str, Any]]:
    """Warnings and errors about the tick itself (Events, which a first tick also logs as warnings, left out)."""
    return [line for line in clean(run) if line["level"] in ("warn", "error") and "eventType" not in line]
