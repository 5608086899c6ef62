"""What CronJobs and API servers really do to a tick: errors and timeouts on any call, two Jobs at once, a
Job killed between its writes, a Canary whose target is gone. No step is lost or repeated, no status is
half-written, and traffic never moves towards a workload the tick could not finish writing.
"""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from harness.cluster import SeedCluster
from harness.kube_emulator import RecordedRequest


@pytest.fixture
def cluster(emulator, tmp_path: Path, prometheus, httpserver) -> SeedCluster:
    httpserver.expect_request("/", method="POST").respond_with_data("ok")
    return SeedCluster(emulator, tmp_path, prometheus.url, httpserver.url_for("/")).install()


def advance_to_progressing(cluster: SeedCluster, weight: int) -> None:
    """Play the seed (image changed before tick 3) until the canary is Progressing at `weight`."""
    for n in range(1, 20):
        cluster.emulator.complete_rollouts()
        if n == 3:
            cluster.set_image()
        assert cluster.tick().exit_code == 0
        cluster.emulator.advance(10)
        status = cluster.status()
        if status.get("phase") == "Progressing" and status.get("canaryWeight") == weight:
            return
    raise AssertionError(f"never reached Progressing at {weight}: {cluster.status()}")


def finish(cluster: SeedCluster, weights: list[int]) -> str:
    """Tick until the canary rests, appending the canary's live TrafficSplit weight after every tick."""
    for _ in range(30):
        cluster.emulator.complete_rollouts()
        cluster.tick()
        cluster.emulator.advance(10)
        weights.append(cluster.split_weights()["podinfo-canary"])
        if cluster.status().get("phase") in ("Succeeded", "Failed"):
            return cluster.status()["phase"]
    raise AssertionError(f"did not finish: {cluster.status()}")


def steps(weights: list[int]) -> list[int]:
    """The traffic steps: the live weights with repeats and the final return to 0 removed."""
    out = [w for i, w in enumerate(weights) if i == 0 or weights[i - 1] != w]
    return out[:-1] if out and out[-1] == 0 else out


FAULTS = [
    pytest.param("GET", r"/canaries$", 500, id="list-canaries-500"),
    pytest.param("GET", r"/deployments$", 500, id="list-deployments-500"),
    pytest.param("GET", r"/trafficsplits$", 0, id="list-trafficsplits-timeout"),
    pytest.param("PATCH", r"/trafficsplits/podinfo$", 500, id="apply-trafficsplit-500"),
    pytest.param("PATCH", r"/trafficsplits/podinfo$", 0, id="apply-trafficsplit-timeout"),
    pytest.param("PUT", r"/canaries/podinfo/status$", 500, id="status-write-500"),
    pytest.param("PUT", r"/canaries/podinfo/status$", 0, id="status-write-timeout"),
]


@pytest.mark.parametrize("method, path, status", FAULTS)
def test_an_api_fault_aborts_the_tick_without_partial_status_and_the_next_tick_recovers(
    cluster: SeedCluster, method: str, path: str, status: int
) -> None:
    """The status is written first and is the record of the step: a fault before it (a read, the status write
    itself) leaves nothing of the decision; a fault after it (a route write, or a status write that lands
    after the client gave up) leaves a committed step whose routes the next tick finishes before analysing
    it. The routes never run ahead of the status, and every step gets its interval: 20, 30, 40, 50."""
    advance_to_progressing(cluster, 20)
    before = cluster.status()
    cluster.emulator.complete_rollouts()
    # status 0: the call hangs past the client's timeout (1 s for this tick), then the emulator answers anyway
    cluster.emulator.fail(method=method, path=path, status=status, delay=1.5 if status == 0 else 0.0)
    run = cluster.tick("--request-timeout", "1s")
    assert run.exit_code == 1, run.output
    time.sleep(0.6 if status == 0 else 0)  # let the emulator finish the abandoned request
    after = cluster.status()
    notes = after.pop("calledWebhooks", [])
    assert [n["name"] for n in notes] in ([], ["load-test"])  # the load test, if it may have been started...
    assert all(n.get("ok", True) is True for n in notes)  # ...with its answer, or none (then it is called again)
    routed = cluster.split_weights()["podinfo-canary"]
    if after.get("canaryWeight") == 20:
        assert after == before  # nothing of the decision was recorded
    else:
        assert after["canaryWeight"] == 30  # the decision was committed...
    assert routed <= after["canaryWeight"]  # ...and the routes never run ahead of it
    weights = [20, routed]
    cluster.emulator.advance(10)
    assert finish(cluster, weights) == "Succeeded"
    assert steps(weights) == [20, 30, 40, 50]


def test_a_failed_event_write_is_logged_and_the_step_stands(cluster: SeedCluster) -> None:
    advance_to_progressing(cluster, 20)
    cluster.emulator.complete_rollouts()
    cluster.emulator.fail(method="POST", path=r"/events$", status=500, times=10)
    run = cluster.tick()
    assert run.exit_code == 0
    assert cluster.status()["canaryWeight"] == 30
    assert any(log["level"] == "warn" and "event" in log["msg"] for log in run.logs)


def test_a_job_killed_between_status_write_and_route_apply_is_finished_by_the_next_job(
    cluster: SeedCluster, httpserver
) -> None:
    """The window the write-ahead status opens: the step is committed, its routes are not. The next Job routes
    the recorded weight and analyses it for a whole interval before the next step."""
    advance_to_progressing(cluster, 20)
    cluster.emulator.complete_rollouts()
    process = None

    def kill_at_route_apply(request: RecordedRequest) -> None:
        """The decision's TrafficSplit apply never lands: the Job dies."""
        if request.method == "PATCH" and request.resource == "trafficsplits" and process is not None:
            cluster.emulator.fail(method="PATCH", path=r"/trafficsplits/podinfo$", status=500)
            process.send_signal(signal.SIGKILL)
            process.wait(10)

    cluster.emulator.on_request(kill_at_route_apply)
    process = cluster.tick_process()
    process.wait(60)
    cluster.emulator.on_request(None)
    assert process.returncode == -signal.SIGKILL
    assert cluster.status()["canaryWeight"] == 30  # the step was committed
    assert cluster.split_weights()["podinfo-canary"] == 20  # but not routed
    assert cluster.status()["pendingEvents"][0]["message"] == "Advance podinfo.test canary weight 30"
    cluster.emulator.advance(10)
    cluster.emulator.complete_rollouts()
    finishing = cluster.tick()
    assert finishing.exit_code == 0
    assert (
        cluster.split_weights()["podinfo-canary"] == 30 and cluster.status()["canaryWeight"] == 30
    )  # routed, not advanced
    assert "pendingEvents" not in cluster.status()
    events = [e["message"] for e in cluster.emulator.list("v1", "Event", "test")]
    assert events.count("Advance podinfo.test canary weight 30") == 1  # recorded by the next Job, once
    weights = [20, 30]
    cluster.emulator.advance(10)
    assert finish(cluster, weights) == "Succeeded"
    assert steps(weights) == [20, 30, 40, 50]
    keys = [json.loads(request.data)["idempotencyKey"] for request, _ in httpserver.log]
    assert len(keys) == len(set(keys))  # no load test was started twice
    assert "calledWebhooks" not in cluster.status()


def test_two_ticks_at_once_with_the_lease_one_decides_the_other_backs_off(cluster: SeedCluster, httpserver) -> None:
    advance_to_progressing(cluster, 20)
    cluster.emulator.complete_rollouts()
    calls = len(httpserver.log)
    args = ("--lease-namespace", "cronary")
    second: dict[str, Any] = {}

    def second_job_starts_while_the_first_reads(request: RecordedRequest) -> None:
        if request.resource == "canaries" and request.verb == "list" and not second:
            process = cluster.tick_process(*args, no_lease=False)
            second["output"] = process.communicate(timeout=60)[0]
            second["code"] = process.returncode

    cluster.emulator.on_request(second_job_starts_while_the_first_reads)
    first = cluster.tick_process(
        *args, "--request-timeout", "60s", no_lease=False
    )  # its LIST waits for the whole second Job
    first_output = first.communicate(timeout=120)[0]
    cluster.emulator.on_request(None)
    assert (first.returncode, second["code"]) == (0, 0), (first_output, second["output"])
    assert "is being ticked by" in second["output"] and "is being ticked by" not in first_output
    assert cluster.status()["canaryWeight"] == 30  # one step, not two
    assert len(httpserver.log) == calls + 1  # the load test was started once
    lease = cluster.emulator.get("coordination.k8s.io/v1", "Lease", "cronary", "cronary-default")
    assert lease is not None and not lease["spec"].get("holderIdentity")  # released on exit


def test_without_the_lease_a_concurrent_status_write_wins_and_is_not_overwritten(cluster: SeedCluster) -> None:
    advance_to_progressing(cluster, 20)
    cluster.emulator.complete_rollouts()
    written: dict[str, Any] = {}

    def other_job_writes_first(request: RecordedRequest) -> None:
        if request.method == "PUT" and request.path.endswith("/canaries/podinfo/status") and not written:
            canary = cluster.canary()
            canary["status"] = {**canary["status"], "canaryWeight": 30, "lastDecisionTime": "2026-11-27T10:09:00Z"}
            written.update(cluster.emulator.replace(canary))

    cluster.emulator.on_request(other_job_writes_first)
    run = cluster.tick()
    cluster.emulator.on_request(None)
    assert run.exit_code == 0
    assert any("decided by another tick" in log["msg"] for log in run.logs)
    assert cluster.status()["lastDecisionTime"] == "2026-11-27T10:09:00Z"  # the other Job's status stands


def test_a_canary_whose_target_is_missing_gets_an_event_and_the_others_go_on(cluster: SeedCluster) -> None:
    ghost = cluster.seed_canary("ghost")
    ghost["spec"]["targetRef"]["name"] = "ghost"
    ghost["spec"].pop("autoscalerRef")
    cluster.emulator.create(ghost)
    run = cluster.tick()
    warnings = [log for log in run.logs if log.get("canary") == "ghost.test" and log.get("eventType") == "Warning"]
    assert warnings and "ghost" in warnings[0]["msg"] and "not found" in warnings[0]["msg"]
    assert cluster.status("podinfo")["phase"] == "Initializing"
    events = cluster.emulator.list("v1", "Event", "test")
    assert any(e["involvedObject"]["name"] == "ghost" and e["type"] == "Warning" for e in events)


def test_an_api_error_on_one_canary_does_not_stop_the_others(cluster: SeedCluster) -> None:
    ghost = cluster.seed_canary("ghost")
    ghost["spec"]["targetRef"]["name"] = "ghost"
    ghost["spec"].pop("autoscalerRef")
    cluster.emulator.create(ghost)
    cluster.emulator.fail(method="PUT", path=r"/canaries/ghost/status$", status=500, times=5)
    run = cluster.tick()
    assert run.exit_code == 1
    errors = [log for log in run.logs if log["level"] == "error"]
    assert errors and all(log["canary"] == "ghost.test" for log in errors)
    assert cluster.status("podinfo")["phase"] == "Initializing"
    assert "phase" not in cluster.status("ghost")


def test_an_invalid_canary_is_logged_with_its_field_path_and_skipped(cluster: SeedCluster) -> None:
    bad = cluster.seed_canary("bad", stepWeight=150)
    cluster.emulator.create(bad)
    run = cluster.tick()
    assert run.exit_code == 1
    errors = [log for log in run.logs if log["level"] == "error"]
    assert [e["canary"] for e in errors] == ["bad.test"]
    assert "spec.canaryAnalysis.stepWeight" in errors[0]["msg"]
    assert cluster.status("podinfo")["phase"] == "Initializing"


def test_tick_logs_are_parseable(cluster: SeedCluster) -> None:
    run = cluster.tick()
    for line in run.output.strip().splitlines():
        assert isinstance(json.loads(line), dict)
