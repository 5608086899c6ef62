"""Deployment readiness as Flagger judges it (`isDeploymentReady`), including the progress deadline."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .timefmt import check_time, read_time


@dataclass(frozen=True)
class Readiness:
    ready: bool
    retriable: bool = True
    reason: str = ""


READY = Readiness(True)


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
