"""Deployment readiness as Flagger judges it, condition by condition (`engine.targets.deployment`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from engine.targets.deployment import deployment_readiness

NOW = datetime(2026, 11, 27, 10, 0, 0, tzinfo=UTC)


def _stamp(delta_seconds: int) -> str:
    return (NOW + timedelta(seconds=delta_seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def deployment(
    *,
    replicas: int = 2,
    generation: int = 1,
    observed: int = 1,
    status_replicas: int | None = None,
    updated: int | None = None,
    available: int | None = None,
    progressing_reason: str = "NewReplicaSetAvailable",
    available_condition: tuple[str, str, int] | None = ("True", "MinimumReplicasAvailable", -30),
) -> dict[str, Any]:
    conditions: list[dict[str, Any]] = [{"type": "Progressing", "status": "True", "reason": progressing_reason}]
    if available_condition is not None:
        status, reason, when = available_condition
        conditions.append({"type": "Available", "status": status, "reason": reason, "lastUpdateTime": _stamp(when)})
    return {
        "metadata": {"name": "podinfo", "generation": generation},
        "spec": {"replicas": replicas},
        "status": {
            "observedGeneration": observed,
            "replicas": replicas if status_replicas is None else status_replicas,
            "updatedReplicas": replicas if updated is None else updated,
            "availableReplicas": replicas if available is None else available,
            "conditions": conditions,
        },
    }


UNAVAILABLE_RECENT = ("False", "MinimumReplicasUnavailable", -30)
UNAVAILABLE_STALE = ("False", "MinimumReplicasUnavailable", -601)


@pytest.mark.parametrize(
    ("dep", "threshold", "ready", "retriable", "reason"),
    [
        pytest.param(deployment(), 100, True, True, "", id="ready"),
        pytest.param(
            deployment(generation=2, observed=1),
            100,
            False,
            True,
            "waiting for rollout to finish: observed deployment generation less than desired generation",
            id="generation-lag",
        ),
        pytest.param(
            deployment(progressing_reason="ProgressDeadlineExceeded"),
            100,
            False,
            False,
            'deployment "podinfo" exceeded its progress deadline',
            id="progress-deadline-exceeded-non-retriable",
        ),
        pytest.param(
            deployment(updated=1, available_condition=UNAVAILABLE_RECENT),
            100,
            False,
            True,
            "waiting for rollout to finish: 1 out of 2 new replicas have been updated",
            id="updated-less-than-desired",
        ),
        pytest.param(
            deployment(status_replicas=3),
            100,
            False,
            True,
            "waiting for rollout to finish: 1 old replicas are pending termination",
            id="old-replicas-pending",
        ),
        pytest.param(
            deployment(replicas=4, available=1),
            50,
            False,
            True,
            "waiting for rollout to finish: 1 of 4 (readyThreshold 50%) updated replicas are available",
            id="readyThreshold-50-rejects-1-of-4",
        ),
        pytest.param(deployment(replicas=4, available=2), 50, True, True, "", id="readyThreshold-50-accepts-2-of-4"),
        pytest.param(
            deployment(replicas=4, available=3),
            100,
            False,
            True,
            "waiting for rollout to finish: 3 of 4 (readyThreshold 100%) updated replicas are available",
            id="readyThreshold-100-rejects-3-of-4",
        ),
        pytest.param(deployment(replicas=3, available=0), 33, True, True, "", id="readyThreshold-floors-0.99-to-0"),
        pytest.param(
            deployment(updated=1, available_condition=UNAVAILABLE_STALE),
            100,
            False,
            False,
            "waiting for rollout to finish: 1 out of 2 new replicas have been updated",
            id="stuck-past-canary-deadline-non-retriable",
        ),
        pytest.param(
            deployment(status_replicas=3, available_condition=UNAVAILABLE_STALE),
            100,
            False,
            False,
            "waiting for rollout to finish: 1 old replicas are pending termination",
            id="stuck-old-replicas-non-retriable",
        ),
        pytest.param(
            deployment(updated=1, available_condition=("False", "MinimumReplicasUnavailable", -600)),
            100,
            False,
            True,
            "waiting for rollout to finish: 1 out of 2 new replicas have been updated",
            id="exactly-at-the-deadline-still-retriable",
        ),
        pytest.param(
            deployment(updated=1, available_condition=("False", "SomethingElse", -601)),
            100,
            False,
            True,
            "waiting for rollout to finish: 1 out of 2 new replicas have been updated",
            id="stale-but-not-MinimumReplicasUnavailable-retriable",
        ),
        pytest.param(
            deployment(generation=2, observed=1, available_condition=UNAVAILABLE_STALE),
            100,
            False,
            True,
            "waiting for rollout to finish: observed deployment generation less than desired generation",
            id="generation-lag-wins-over-stuck",
        ),
    ],
)
def test_deployment_readiness(dep: dict[str, Any], threshold: int, ready: bool, retriable: bool, reason: str) -> None:
    result = deployment_readiness(dep, ready_threshold=threshold, progress_deadline_seconds=600, now=NOW)
    assert (result.ready, result.retriable, result.reason) == (ready, retriable, reason)


def test_stuck_flag_needs_a_progressing_condition() -> None:
    dep = deployment(updated=1, available_condition=UNAVAILABLE_STALE)
    dep["status"]["conditions"] = [c for c in dep["status"]["conditions"] if c["type"] != "Progressing"]
    result = deployment_readiness(dep, ready_threshold=100, progress_deadline_seconds=600, now=NOW)
    assert (result.ready, result.retriable) == (False, True)


def test_canary_deadline_is_the_canarys_progress_deadline() -> None:
    dep = deployment(updated=1, available_condition=("False", "MinimumReplicasUnavailable", -61))
    assert not deployment_readiness(dep, ready_threshold=100, progress_deadline_seconds=60, now=NOW).retriable
    assert deployment_readiness(dep, ready_threshold=100, progress_deadline_seconds=120, now=NOW).retriable
