"""`cronary simulate`: play a whole rollout against a simulated cluster that applies what the engine decides.

The simulated cluster models what the engine reads: Deployment generations and rollout status (a rollout
completes by the next tick unless the scenario says `ready: false`, and a stuck one hits the Deployment's
own `progressDeadlineSeconds` like the real controller), the TrafficSplit weights, and `-primary` copies.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cronjob.local.inputs import Scenario, ScenarioStep, default_hook_result
from cronjob.shared.driver import providers_available, run_tick
from cronjob.shared.errors import InputError
from cronjob.shared.prometheus import PrometheusMetrics
from cronjob.shared.timeline import TickRecord
from engine import Decision, HookRequest, HookResult, MetricRequest, Settings
from engine.analysis import MetricResult, Templates
from engine.canary_spec import parse_canary
from engine.cluster import ClusterView, SecretSummary
from engine.model import Canary
from engine.phases import IDLE
from engine.schedule import interval_seconds
from engine.status_doc import canary_manifest
from engine.timefmt import LATEST, add_seconds, format_time

RESTING = frozenset(p.value for p in IDLE)


@dataclass
class _Rollout:
    started: datetime


@dataclass
class SimulatedCluster:
    objects: dict[tuple[str, str, str], dict[str, Any]]
    secrets: dict[tuple[str, str], SecretSummary]
    metric_templates: Templates = field(default_factory=dict)
    rollouts: dict[tuple[str, str], _Rollout] = field(default_factory=dict)
    ready: dict[str, bool] = field(default_factory=lambda: {"target": True, "primary": True})

    @staticmethod
    def of(view: ClusterView) -> SimulatedCluster:
        return SimulatedCluster(
            {k: copy.deepcopy(dict(v)) for k, v in view.objects.items()}, dict(view.secrets), view.metric_templates
        )

    def view(self) -> ClusterView:
        return ClusterView(
            objects={k: copy.deepcopy(v) for k, v in self.objects.items()},
            secrets=dict(self.secrets),
            metric_templates=self.metric_templates,
        )

    # -- deployments -----------------------------------------------------------------------------
    def _start_rollout(self, dep: dict[str, Any], now: datetime) -> None:
        meta, spec = dep.setdefault("metadata", {}), dep.setdefault("spec", {})
        meta["generation"] = int(meta.get("generation") or 0) + 1
        desired = spec.get("replicas", 1)
        key = (meta.get("namespace") or "default", meta["name"])
        if not desired:
            self._complete(dep)
            self.rollouts.pop(key, None)
            return
        stamp = format_time(now)
        dep["status"] = {
            "observedGeneration": meta["generation"],
            "replicas": desired,
            "updatedReplicas": 0,
            "availableReplicas": 0,
            "conditions": [
                {
                    "type": "Available",
                    "status": "False",
                    "reason": "MinimumReplicasUnavailable",
                    "lastUpdateTime": stamp,
                    "lastTransitionTime": stamp,
                },
                {
                    "type": "Progressing",
                    "status": "True",
                    "reason": "ReplicaSetUpdated",
                    "lastUpdateTime": stamp,
                    "lastTransitionTime": stamp,
                },
            ],
        }
        self.rollouts[key] = _Rollout(now)

    @staticmethod
    def _complete(dep: dict[str, Any]) -> None:
        desired = (dep.get("spec") or {}).get("replicas", 1)
        dep["status"] = {
            "observedGeneration": (dep.get("metadata") or {}).get("generation", 1),
            "replicas": desired,
            "updatedReplicas": desired,
            "readyReplicas": desired,
            "availableReplicas": desired,
            "conditions": [
                {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
                {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"},
            ],
        }

    def progress_rollouts(self, now: datetime, primary_names: set[tuple[str, str]]) -> None:
        """Finish the rollouts started before this tick, unless the scenario holds them back."""
        for key, rollout in list(self.rollouts.items()):
            dep = self.objects.get(("Deployment", key[0], key[1]))
            if dep is None:
                self.rollouts.pop(key)
                continue
            role = "primary" if key in primary_names else "target"
            if self.ready.get(role, True):
                self._complete(dep)
                self.rollouts.pop(key)
                continue
            deadline = int((dep.get("spec") or {}).get("progressDeadlineSeconds") or 600)
            if (now - rollout.started).total_seconds() > deadline:  # no timedelta(deadline): it may be huge
                for cond in dep["status"]["conditions"]:
                    if cond["type"] == "Progressing":
                        cond.update(status="False", reason="ProgressDeadlineExceeded", lastUpdateTime=format_time(now))

    def set_image(self, namespace: str, name: str, image: Any, now: datetime, source: str) -> None:
        dep = self.objects.get(("Deployment", namespace, name))
        if dep is None:
            raise InputError(source, "steps.image", f"Deployment {namespace}/{name} is not in the cluster")
        containers = dep["spec"]["template"]["spec"]["containers"]
        for container in containers:
            if isinstance(image, str):
                container["image"] = image
            elif container.get("name") in image:
                container["image"] = image[container["name"]]
        self._start_rollout(dep, now)

    # -- applying a decision ---------------------------------------------------------------------
    def apply(self, decision: Decision, now: datetime) -> None:
        for obj in decision.objects:
            kind, meta = obj["kind"], obj["metadata"]
            ns, name = meta.get("namespace") or "default", meta["name"]
            if kind == "Scale":
                dep = self.objects[("Deployment", ns, name)]
                if dep.setdefault("spec", {}).get("replicas", 1) != obj["spec"]["replicas"]:
                    dep["spec"]["replicas"] = obj["spec"]["replicas"]
                    self._start_rollout(dep, now)
                continue
            key = (kind, ns, name)
            current = self.objects.get(key)
            if kind == "Deployment":
                if current is None:
                    current = {
                        "apiVersion": obj["apiVersion"],
                        "kind": kind,
                        "metadata": {"name": name, "namespace": ns},
                        "spec": {},
                    }
                    self.objects[key] = current
                before = copy.deepcopy(current.get("spec"))
                current["metadata"].update({k: copy.deepcopy(v) for k, v in meta.items()})
                current["spec"].update(copy.deepcopy(obj["spec"]))
                if current["spec"] != before:
                    self._start_rollout(current, now)
                continue
            self.objects[key] = copy.deepcopy(dict(obj))
        for source, target in decision.secret_copies:
            ns = decision.canary.namespace
            original = self.secrets.get((ns, source))
            if original is not None:
                self.secrets[(ns, target)] = SecretSummary(ns, target, original.type, (), original.checksum)


@dataclass
class Simulation:
    canary: Canary
    cluster: SimulatedCluster
    scenario: Scenario
    settings: Settings
    scenario_path: str
    metrics: dict[str, MetricResult] = field(default_factory=dict)
    hooks: dict[str, HookResult] = field(default_factory=dict)
    prometheus: PrometheusMetrics | None = None  # metrics from a live Prometheus instead of the scenario

    def _apply_step(self, step: ScenarioStep, now: datetime) -> None:
        self.metrics.update(step.metrics)
        self.hooks.update(step.hooks)
        if step.ready is not None:
            self.cluster.ready.update(step.ready)
        if step.image is not None:
            self.cluster.set_image(
                self.canary.namespace, self.canary.spec.target_ref.name, step.image, now, self.scenario_path
            )

    def _answer_hook(self, request: HookRequest) -> HookResult:
        return self.hooks.get(request.hook.name) or default_hook_result(request.hook.type)

    def _answer_metrics(self, requests: tuple[MetricRequest, ...]) -> Mapping[str, MetricResult]:
        if self.prometheus is not None:
            return self.prometheus.answer(requests)
        out = {}
        for request in requests:
            name = request.metric.name
            if name not in self.metrics:
                raise InputError(
                    self.scenario_path,
                    "metrics",
                    f"no value for metric {name!r} of canary {self.canary.key} (give a number, or null for no data)",
                )
            out[name] = self.metrics[name]
        return out

    def run(self) -> list[TickRecord]:
        self.metrics = dict(self.scenario.metrics)
        self.hooks = dict(self.scenario.hooks)
        records: list[TickRecord] = []
        last_step = max((s.at for s in self.scenario.steps), default=0)
        primary = {(self.canary.namespace, f"{self.canary.spec.target_ref.name}-primary")}
        step_seconds = interval_seconds(self.canary)
        for tick in range(1, self.scenario.ticks + 1):
            now = add_seconds(self.scenario.start, step_seconds * (tick - 1))
            if now is None:
                raise InputError(
                    self.scenario_path,
                    "ticks",
                    f"tick {tick} ({tick - 1} intervals of {step_seconds:g}s after start) would come after {format_time(LATEST)}, the latest time cronary reads",
                )
            self.cluster.progress_rollouts(now, primary)
            for step in self.scenario.steps:
                if step.at == tick:
                    self._apply_step(step, now)
            if self.prometheus is not None:
                self.prometheus.new_tick()
            providers = self.prometheus.providers_available if self.prometheus is not None else providers_available
            decision = run_tick(
                self.canary,
                self.cluster.view(),
                now,
                self.settings,
                self._answer_hook,
                self._answer_metrics,
                providers,
                prefetch_metrics=self.prometheus is not None,
            )
            self.cluster.apply(decision, now)
            self.canary = parse_canary(canary_manifest(self.canary, decision.status))
            status = decision.status
            records.append(
                TickRecord(
                    tick=tick,
                    time=decision.now,
                    phase=status.phase,
                    canary_weight=status.canary_weight,
                    failed_checks=status.failed_checks,
                    iterations=status.iterations,
                    traffic=decision.canary_weight,
                    events=tuple(e.message for e in decision.events),
                    warnings=tuple(e.type == "Warning" for e in decision.events),
                    metrics=tuple((v.metric, v.value, v.bound, v.passed) for v in decision.verdicts),
                    hooks=tuple((h.name, h.type, h.ok) for h in decision.hooks),
                )
            )
            if tick >= last_step and status.phase in RESTING:
                break
        return records
