"""`Canary.status` back to its manifest form, and the Canary manifest carrying it."""

from __future__ import annotations

from typing import Any

from .model import Canary, CanaryStatus


def status_manifest(status: CanaryStatus) -> dict[str, Any]:
    out: dict[str, Any] = {
        "phase": status.phase,
        "canaryWeight": status.canary_weight,
        "failedChecks": status.failed_checks,
        "iterations": status.iterations,
    }
    if status.last_applied_spec:
        out["lastAppliedSpec"] = status.last_applied_spec
    if status.last_promoted_spec:
        out["lastPromotedSpec"] = status.last_promoted_spec
    if status.tracked_configs is not None:
        out["trackedConfigs"] = dict(status.tracked_configs)
    if status.last_transition_time:
        out["lastTransitionTime"] = status.last_transition_time
    if status.conditions is not None:
        out["conditions"] = [
            {
                "type": c.type,
                "status": c.status,
                "reason": c.reason,
                "message": c.message,
                "lastUpdateTime": c.last_update_time,
                "lastTransitionTime": c.last_transition_time,
            }
            for c in status.conditions
        ]
    if status.last_decision_time:
        out["lastDecisionTime"] = status.last_decision_time
    return out


def canary_manifest(canary: Canary, status: CanaryStatus) -> dict[str, Any]:
    doc = dict(canary.manifest)  # shares the (read-only) spec with the input
    doc["status"] = status_manifest(status)
    return doc
