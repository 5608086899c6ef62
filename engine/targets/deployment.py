"""The Deployment target (`apps/v1`), cronary's first target kind: Flagger's `deployment_controller.go`.

Its selector is `spec.selector.matchLabels` and its pod template `spec.template`; readiness is Flagger's
`isDeploymentReady` with the progress deadline; the primary is a `<target>-primary` Deployment; scaling is a
`deployments/scale` request, sized on the way up like Flagger's `ScaleFromZero`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from ..model import Canary
from ..render.meta import include_by_prefix, owner_reference, sorted_dict
from ..routers.router import Kind
from ..timefmt import check_time, read_time
from .target import READY, Readiness

KIND = "Deployment"
_COPIED_SPEC_FIELDS = ("progressDeadlineSeconds", "minReadySeconds", "revisionHistoryLimit", "strategy")


def _update_time(meta: Mapping[str, Any], index: int, condition: Mapping[str, Any]) -> datetime | None:
    """The condition's `lastUpdateTime`, None when absent. A time the engine cannot add the progress deadline
    to (malformed, or outside `EARLIEST..LATEST`) is a `SpecError` naming the Deployment and the field: the
    canary's tick fails with that line, never with an OverflowError."""
    value = condition.get("lastUpdateTime")
    if not value:
        return None
    where = (
        f"Deployment {meta.get('namespace') or 'default'}/{meta.get('name')}: status.conditions[{index}].lastUpdateTime"
    )
    return read_time(check_time(where, value))


def deployment_readiness(
    deployment: Mapping[str, Any], *, ready_threshold: int, progress_deadline_seconds: int, now: datetime
) -> Readiness:
    """Deployment readiness as Flagger judges it (`isDeploymentReady`), including the progress deadline."""
    meta = deployment.get("metadata") or {}
    spec = deployment.get("spec") or {}
    status = deployment.get("status") or {}
    if int(meta.get("generation") or 0) > int(status.get("observedGeneration") or 0):
        return Readiness(
            False, True, "waiting for rollout to finish: observed deployment generation less than desired generation"
        )
    stuck = False
    # the first Progressing and the first Available condition, in one pass (stopping once both are found)
    progressing = available = None
    available_index = 0
    for index, cond in enumerate(status.get("conditions") or []):
        kind = cond.get("type")
        if kind == "Progressing":
            if progressing is None:
                progressing = cond
        elif kind == "Available" and available is None:
            available, available_index = cond, index
        if progressing is not None and available is not None:
            break
    if progressing is not None and available is not None:
        if available.get("status") == "False" and available.get("reason") == "MinimumReplicasUnavailable":
            updated_at = _update_time(meta, available_index, available)
            if updated_at is not None and updated_at + timedelta(seconds=progress_deadline_seconds) < now:
                stuck = True
    if progressing is not None and progressing.get("reason") == "ProgressDeadlineExceeded":
        return Readiness(False, False, f'deployment "{meta.get("name")}" exceeded its progress deadline')
    desired = int(spec.get("replicas", 1) if spec.get("replicas") is not None else 1)
    updated = int(status.get("updatedReplicas") or 0)
    current = int(status.get("replicas") or 0)
    available_count = int(status.get("availableReplicas") or 0)
    if updated < desired:
        return Readiness(
            False,
            not stuck,
            f"waiting for rollout to finish: {updated} out of {desired} new replicas have been updated",
        )
    if current > updated:
        return Readiness(
            False, not stuck, f"waiting for rollout to finish: {current - updated} old replicas are pending termination"
        )
    if available_count < (updated * ready_threshold) // 100:
        return Readiness(
            False,
            not stuck,
            f"waiting for rollout to finish: {available_count} of {updated} (readyThreshold {ready_threshold}%) updated replicas are available",
        )
    return READY


def render_primary_deployment(
    canary: Canary,
    target: Mapping[str, Any],
    existing: Mapping[str, Any] | None,
    *,
    label: str,
    value: str,
    template: Mapping[str, Any] | None,
    include_label_prefixes: tuple[str, ...],
    owner: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The desired primary Deployment. Like every rendered object it may share unchanged parts with its
    inputs: all of them are read-only.

    `template` is a fresh template when the primary is created or promoted; otherwise None, and the
    primary keeps what it runs. `replicas` is set at creation and, without an autoscaler, at promotion —
    an HPA owns it otherwise.
    """
    source = target if (template is not None or existing is None) else existing
    source_spec = source.get("spec") or {}
    primary_value = f"{value}-primary"
    labels = include_by_prefix((target.get("metadata") or {}).get("labels"), include_label_prefixes)
    labels[label] = primary_value
    if len(labels) > 1:
        labels = sorted_dict(labels)
    spec: dict[str, Any] = {}
    if existing is None:
        replicas = (target.get("spec") or {}).get("replicas")
        spec["replicas"] = replicas if isinstance(replicas, int) and replicas > 0 else 1
    elif canary.spec.autoscaler_ref is None:
        spec["replicas"] = (
            source_spec.get("replicas") if template is not None else (existing.get("spec") or {}).get("replicas")
        )
        if not isinstance(spec["replicas"], int) or spec["replicas"] <= 0:
            spec["replicas"] = (existing.get("spec") or {}).get("replicas") or 1
    for key in _COPIED_SPEC_FIELDS:
        if key in source_spec:
            spec[key] = source_spec[key]
    spec["selector"] = {"matchLabels": {label: primary_value}}
    spec["template"] = template if template is not None else (existing or {}).get("spec", {}).get("template", {})
    # object_meta's metadata, built directly
    meta: dict[str, Any] = {
        "name": f"{canary.spec.target_ref.name}-primary",
        "namespace": canary.namespace,
        "labels": labels,
    }
    owner = owner or owner_reference(canary)
    if owner:
        meta["ownerReferences"] = [owner]
    return {"apiVersion": "apps/v1", "kind": KIND, "metadata": meta, "spec": spec}


def render_deployment_scale(namespace: str, name: str, replicas: int) -> dict[str, Any]:
    """The target's `deployments/scale` subresource, as an `autoscaling/v1 Scale` object."""
    return {
        "apiVersion": "autoscaling/v1",
        "kind": "Scale",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"replicas": replicas},
    }


class DeploymentTarget:
    """The `TargetKind` of Deployments (`engine.targets.target`)."""

    kind = KIND
    kinds: tuple[Kind, ...] = (("apps/v1", KIND),)
    new_primary: Mapping[str, Any] = {"metadata": {"generation": 1}, "spec": {"replicas": 1}, "status": {}}

    def selector(self, workload: Mapping[str, Any]) -> Mapping[str, Any]:
        return ((workload.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}

    def pod_template(self, workload: Mapping[str, Any]) -> Mapping[str, Any]:
        return (workload.get("spec") or {}).get("template") or {}

    def runs_no_pods(self, workload: Mapping[str, Any]) -> bool:
        return (workload.get("spec") or {}).get("replicas", 1) == 0

    def scale_from_zero(
        self,
        canary: Canary,
        workload: Mapping[str, Any],
        primary: Mapping[str, Any] | None,
        autoscaler: Mapping[str, Any] | None,
    ) -> int:
        """The target's own replicas; without an autoscaler the primary's, with one its `minReplicas`; else 1."""
        replicas = (workload.get("spec") or {}).get("replicas")
        if isinstance(replicas, int) and replicas > 0:
            return replicas
        if canary.spec.autoscaler_ref is None:
            replicas = ((primary or {}).get("spec") or {}).get("replicas")
            return replicas if isinstance(replicas, int) and replicas > 0 else 1
        minimum = ((autoscaler or {}).get("spec") or {}).get("minReplicas")
        return minimum if isinstance(minimum, int) and minimum > 1 else 1

    readiness = staticmethod(deployment_readiness)
    render_primary = staticmethod(render_primary_deployment)
    render_scale = staticmethod(render_deployment_scale)


DEPLOYMENT = DeploymentTarget()
