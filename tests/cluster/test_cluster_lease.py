"""The shard's Lease when things go wrong: every failed call on it (taking, renewing, releasing) ends the
tick with one JSON log line naming the Lease and the cause and exit status 1, never a traceback; and the
Lease is written and judged on the API server's clock, whatever the node's clock says.

Taking and releasing run `cronary tick` as its own process, as the CronJob does (lease on: its default).
Renewing needs a tick that loops, so it runs in process on virtual time (sleeping moves the server's clock).
"""

from __future__ import annotations

import io
import json
import logging
import socket
import subprocess
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cronjob.kube.api import ApiRequest, ApiResponse, KubeClient, configuration_for
from cronjob.kube.lease import ServerClock, parse_micro_time
from cronjob.kube.tick import Tick
from cronjob.shared import logs
from cronjob.shared.options import LeaseOptions, Shard, TickOptions
from cronjob.shared.prometheus import PrometheusMetrics
from cronjob.shared.webhooks import WebhookCaller
from engine import Settings
from engine.timefmt import format_micro_time
from harness.cluster import START, SeedCluster, VirtualTime
from harness.kube_emulator import KubeEmulator, RecordedRequest

LEASE = "cronary/cronary-default"
LEASE_PATH = r"/namespaces/cronary/leases/cronary-default$"
LEASES_PATH = r"/namespaces/cronary/leases$"
TOKEN = "s3cret-bearer-token"


@pytest.fixture
def cluster(emulator: KubeEmulator, tmp_path: Path, prometheus: Any, httpserver: Any) -> SeedCluster:
    httpserver.expect_request("/", method="POST").respond_with_data("ok")
    return SeedCluster(emulator, tmp_path, prometheus.url, httpserver.url_for("/")).install()


def read_lease(emulator: KubeEmulator, namespace: str = "cronary") -> dict[str, Any]:
    lease = emulator.get("coordination.k8s.io/v1", "Lease", namespace, "cronary-default")
    assert lease is not None
    return lease["spec"]


def one_lease_problem(code: int, output: str, level: str = "error", lease: str = LEASE) -> str:
    """Exit status 1, nothing but JSON lines, and exactly one error/warn line, which names the Lease."""
    assert code == 1, output
    assert "Traceback" not in output
    lines = [json.loads(line) for line in output.splitlines() if line.strip()]  # every line is one JSON object
    problems = [line for line in lines if line["level"] in ("error", "warn")]
    assert len(problems) == 1, problems
    assert problems[0]["level"] == level
    assert f"Lease {lease} " in problems[0]["msg"]
    return problems[0]["msg"]


# -- taking and releasing the Lease: `cronary tick` as a process ----------------------------------------------------
def kubeconfig_with(cluster: SeedCluster, tmp_path: Path, server: str | None = None, token: str | None = None) -> str:
    config = json.loads(Path(cluster.kubeconfig).read_text(encoding="utf-8"))
    if server is not None:
        config["clusters"][0]["cluster"]["server"] = server
    if token is not None:
        config["users"][0]["user"] = {"token": token}
    path = tmp_path / "other-kubeconfig"
    path.write_text(json.dumps(config), encoding="utf-8")
    return str(path)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def get_500(cluster: SeedCluster, tmp_path: Path) -> list[str]:
    cluster.emulator.fail(method="GET", path=LEASE_PATH, status=500)
    return []


def get_timeout(cluster: SeedCluster, tmp_path: Path) -> list[str]:
    cluster.emulator.fail(method="GET", path=LEASE_PATH, status=0, delay=1.5)
    return []


def create_500(cluster: SeedCluster, tmp_path: Path) -> list[str]:
    cluster.emulator.fail(method="POST", path=LEASES_PATH, status=500)
    return []


def unauthorized(cluster: SeedCluster, tmp_path: Path) -> list[str]:
    cluster.emulator.token = TOKEN  # the server now wants this token; the Job sends another
    return ["--kubeconfig", kubeconfig_with(cluster, tmp_path, token="an-old-revoked-token")]


def forbidden(cluster: SeedCluster, tmp_path: Path) -> list[str]:
    cluster.emulator.fail(method="GET", path=LEASE_PATH, status=403)  # the emulator has no authorizer
    return []


def namespace_missing(cluster: SeedCluster, tmp_path: Path) -> list[str]:
    return ["--lease-namespace", "nowhere"]


def unreachable(cluster: SeedCluster, tmp_path: Path) -> list[str]:
    server = f"http://someone:{TOKEN}@127.0.0.1:{closed_port()}/k8s/clusters/c-secret-path?ticket=query-secret"
    return ["--kubeconfig", kubeconfig_with(cluster, tmp_path, server=server, token=TOKEN)]


TAKE_FAILURES = [
    pytest.param(get_500, LEASE, "could not be taken: get: HTTP 500 InternalError", id="acquire-get-500"),
    pytest.param(get_timeout, LEASE, "could not be taken: get: ReadTimeoutError: timed out", id="acquire-get-timeout"),
    pytest.param(create_500, LEASE, "could not be taken: create: HTTP 500 InternalError", id="acquire-create-500"),
    pytest.param(unauthorized, LEASE, "could not be taken: get: HTTP 401 Unauthorized", id="unauthorized-401"),
    pytest.param(forbidden, LEASE, "could not be taken: get: HTTP 403 Forbidden", id="forbidden-403"),
    pytest.param(
        namespace_missing,
        "nowhere/cronary-default",
        'could not be taken: create: HTTP 404 NotFound: namespaces "nowhere" not found',
        id="lease-namespace-missing",
    ),
    pytest.param(
        unreachable, LEASE, "could not be taken: get: NewConnectionError: connection refused", id="api-unreachable"
    ),
]


def cronary_tick(cluster: SeedCluster, *extra: str) -> tuple[int, str]:
    """`cronary tick --once` as the CronJob runs it, with the Lease; its exit status and its stdout and stderr."""
    process = cluster.tick_process("--lease-namespace", "cronary", "--request-timeout", "1s", *extra, no_lease=False)
    try:
        output = process.communicate(timeout=60)[0]
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    return process.returncode, output


@pytest.mark.parametrize("arrange, lease, cause", TAKE_FAILURES)
def test_a_lease_that_cannot_be_taken_is_one_log_line_and_exit_1(
    cluster: SeedCluster,
    tmp_path: Path,
    arrange: Callable[[SeedCluster, Path], list[str]],
    lease: str,
    cause: str,
) -> None:
    code, output = cronary_tick(cluster, *arrange(cluster, tmp_path))
    message = one_lease_problem(code, output, lease=lease)
    assert cause in message and message.endswith("this tick decides nothing"), message
    for secret in (TOKEN, "an-old-revoked-token", "someone", "c-secret-path", "query-secret"):
        assert secret not in output
    assert not [r for r in cluster.emulator.requests if r.resource == "canaries"]  # it read nothing, decided nothing
    assert "phase" not in cluster.status()


def primary_created(cluster: SeedCluster) -> None:
    """One tick (without the Lease) creates the primary, and its rollout finishes: the next tick's passes log
    no warning of their own (the first one says the primary is not ready yet, as Flagger does)."""
    assert cluster.tick().exit_code == 0
    cluster.emulator.complete_rollouts()
    cluster.emulator.advance(10)


def test_a_lease_that_cannot_be_released_is_one_warning_and_exit_1(cluster: SeedCluster) -> None:
    primary_created(cluster)
    cluster.emulator.fail(
        method="PUT", path=LEASE_PATH, status=500
    )  # the Lease is created, so its only PUT is the release
    code, output = cronary_tick(cluster)
    message = one_lease_problem(code, output, level="warn")
    assert "could not be released: update: HTTP 500 InternalError" in message, message
    assert message.endswith("it expires by itself 20s after its last renewal")
    assert cluster.status()["phase"] == "Initialized"  # the pass itself was done and written
    assert read_lease(cluster.emulator)["holderIdentity"]  # still held, until it expires


def test_a_lease_held_by_another_job_still_exits_0(cluster: SeedCluster) -> None:
    cluster.emulator.create(
        {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": "cronary-default", "namespace": "cronary"},
            "spec": {
                "holderIdentity": "other-job",
                "leaseDurationSeconds": 20,
                "renewTime": format_micro_time(cluster.emulator.now),
            },
        }
    )
    code, output = cronary_tick(cluster)
    assert code == 0, output
    assert [json.loads(line)["level"] for line in output.splitlines()] == ["info"]
    assert "is being ticked by other-job" in output


# -- renewing the Lease: a looping tick on virtual time -----------------------------------------------------------
@pytest.fixture
def hooks() -> Iterator[WebhookCaller]:
    with WebhookCaller() as caller:
        yield caller


@pytest.fixture
def log_lines() -> Iterator[Callable[[], io.StringIO]]:
    """From when it is called: the JSON log lines `cronary tick` would print, into a buffer."""

    def start() -> io.StringIO:
        buffer = io.StringIO()
        logs.configure(buffer)
        return buffer

    yield start
    for handler in [h for h in logging.getLogger().handlers if getattr(h, "_cronary", False)]:
        logging.getLogger().removeHandler(handler)


def looping_tick(
    cluster: SeedCluster,
    hooks: WebhookCaller,
    time: VirtualTime,
    holder: str,
    skew: timedelta = timedelta(0),
    send: Callable[[ApiRequest], ApiResponse] | None = None,
) -> Tick:
    """An in-process Tick with the Lease (API calls time out after 1 s); its node clock, `clock`, is `skew` off
    the server's."""
    options = TickOptions(
        shard=Shard("default"),
        settings=Settings(mesh_provider="smi:istio"),
        budget_seconds=50,
        lease=LeaseOptions("cronary"),
        holder=holder,
    )
    client = KubeClient(configuration_for(cluster.kubeconfig), timeout=1)
    return Tick(
        send or client.send,
        options,
        PrometheusMetrics(cluster.prometheus_url),
        hooks,
        sleep=time.sleep,
        monotonic=time.monotonic,
        clock=lambda: cluster.emulator.now + skew,
    )


def on_second_pass(cluster: SeedCluster, act: Callable[[], None]) -> None:
    """Do `act` once, when the tick lists the Canaries for its second pass."""
    lists: list[RecordedRequest] = []

    def watch(request: RecordedRequest) -> None:
        if request.resource == "canaries" and request.verb == "list":
            lists.append(request)
            if len(lists) == 2:
                act()

    cluster.emulator.on_request(watch)


def taken_by_another_job(cluster: SeedCluster) -> None:
    lease = cluster.emulator.get("coordination.k8s.io/v1", "Lease", "cronary", "cronary-default")
    assert lease is not None
    lease["spec"]["holderIdentity"] = "other-job"
    cluster.emulator.replace(lease)


def renew_500(cluster: SeedCluster) -> None:
    cluster.emulator.fail(method="PUT", path=LEASE_PATH, status=500)


def renew_timeout(cluster: SeedCluster) -> None:
    cluster.emulator.fail(method="PUT", path=LEASE_PATH, status=0, delay=1.5)


RENEW_FAILURES = [
    pytest.param(
        renew_500, "error", "could not be renewed: update: HTTP 500 InternalError", "this-job", id="renew-put-500"
    ),
    pytest.param(
        renew_timeout,
        "error",
        "could not be renewed: update: ReadTimeoutError: timed out",
        "this-job",
        id="renew-put-timeout",
    ),
    pytest.param(taken_by_another_job, "warn", "was taken by another tick", "other-job", id="renew-409-lease-lost"),
]


@pytest.mark.parametrize("arrange, level, cause, holder", RENEW_FAILURES)
def test_a_lease_that_cannot_be_renewed_stops_the_loop_with_one_log_line_and_exit_1(
    cluster: SeedCluster,
    hooks: WebhookCaller,
    log_lines: Callable[[], io.StringIO],
    capfd: pytest.CaptureFixture[str],
    arrange: Callable[[SeedCluster], None],
    level: str,
    cause: str,
    holder: str,
) -> None:
    primary_created(cluster)
    output = log_lines()
    on_second_pass(cluster, lambda: arrange(cluster))
    tick = looping_tick(cluster, hooks, VirtualTime(cluster.emulator, controller=True), "this-job")
    code = tick.run()
    cluster.emulator.on_request(None)
    captured = capfd.readouterr()
    message = one_lease_problem(code, output.getvalue() + captured.out + captured.err, level)
    assert cause in message and message.endswith("this tick stops"), message
    assert tick.passes == 2  # the first renewal after the second pass failed: no third pass
    # not released: after a failed renewal the Lease is not known to be ours; it expires by itself
    assert read_lease(cluster.emulator)["holderIdentity"] == holder


# -- one clock: the API server's ----------------------------------------------------------------------------------
def near(written: Any, moment: datetime) -> bool:
    parsed = parse_micro_time(written)
    return parsed is not None and abs((parsed - moment).total_seconds()) <= 1


SKEWS = [
    pytest.param(timedelta(hours=1), id="node-clock-1h-ahead"),
    pytest.param(timedelta(hours=-1), id="node-clock-1h-behind"),
]


@pytest.mark.parametrize("skew", SKEWS)
def test_every_lease_write_carries_the_servers_time(
    cluster: SeedCluster, hooks: WebhookCaller, skew: timedelta
) -> None:
    """A whole looping Job (acquire, renewals while it sleeps, release) on a node whose clock is off."""
    writes: list[tuple[str, datetime, dict[str, Any]]] = []
    client = KubeClient(configuration_for(cluster.kubeconfig), timeout=5)

    def recording(request: ApiRequest) -> ApiResponse:
        if "/leases" in request.path and request.method in ("POST", "PUT"):
            writes.append((request.method, cluster.emulator.now, request.body["spec"]))
        return client.send(request)

    assert looping_tick(cluster, hooks, VirtualTime(cluster.emulator), "this-job", skew, recording).run() == 0
    assert [method for method, _, _ in writes[:2]] == ["POST", "PUT"] and len(writes) >= 6  # create, renewals, release
    for _, server_now, spec in writes:
        assert near(spec["renewTime"], server_now), (spec, server_now)
    assert near(writes[0][2]["acquireTime"], writes[0][1])
    assert not writes[-1][2]["holderIdentity"]  # the release


@pytest.mark.parametrize("skew", SKEWS)
def test_a_killed_job_blocks_the_shard_for_the_lease_duration_of_server_time(
    cluster: SeedCluster, hooks: WebhookCaller, skew: timedelta
) -> None:
    emulator, time = cluster.emulator, VirtualTime(cluster.emulator)
    first = looping_tick(cluster, hooks, time, "killed-job", skew)
    assert first.take_lease()
    assert near(read_lease(emulator)["renewTime"], emulator.now) and near(
        read_lease(emulator)["acquireTime"], emulator.now
    )
    emulator.advance(7)  # no request in between: the server's time is carried forward on the monotonic clock
    first.renew_lease_if_due()
    assert near(read_lease(emulator)["renewTime"], emulator.now)
    # the Job is killed here: it never releases the Lease
    duration = read_lease(emulator)["leaseDurationSeconds"]
    emulator.advance(duration - 1)
    blocked = looping_tick(cluster, hooks, time, "next-job", skew)
    assert not blocked.take_lease()
    assert blocked.lease is not None and blocked.lease.other_holder == "killed-job"
    emulator.advance(2)  # duration + 1 after the last renewal
    after = looping_tick(cluster, hooks, time, "next-job", skew)
    assert after.take_lease()
    spec = read_lease(emulator)
    assert spec["holderIdentity"] == "next-job" and spec["leaseTransitions"] == 1
    assert near(spec["renewTime"], emulator.now) and near(spec["acquireTime"], emulator.now)


def test_the_server_clock_runs_on_from_the_latest_date_and_never_backwards() -> None:
    node = datetime(2030, 1, 1, tzinfo=UTC)
    server = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    ticks = [100.0]
    clock = ServerClock(lambda: node, lambda: ticks[0])
    assert clock.now() == node  # no Date seen yet: the node's clock
    clock.observe(None)
    assert clock.now() == node
    clock.observe(server)
    ticks[0] += 2.5
    assert clock.now() == server + timedelta(seconds=2.5)
    clock.observe(server + timedelta(seconds=2))  # whole seconds: older than what the clock already knows
    assert clock.now() == server + timedelta(seconds=2.5)
    clock.observe(server + timedelta(seconds=4))
    assert clock.now() == server + timedelta(seconds=4)
    ticks[0] += 1
    assert clock.now() == server + timedelta(seconds=5)


@pytest.mark.parametrize(
    ("renew_time", "duration", "taken"),
    [
        pytest.param("9999-12-31T23:59:59.000000Z", 20, True, id="renewed-in-year-9999"),
        pytest.param("0001-01-01T00:00:00.000000Z", 20, True, id="renewed-in-year-1"),
        pytest.param("not a time", 20, True, id="renew-time-garbage"),
        pytest.param(format_micro_time(START), 10**30, False, id="held-for-10^30-seconds"),
    ],
)
def test_a_lease_with_times_nobody_could_mean_is_judged_without_overflow(
    cluster: SeedCluster, renew_time: str, duration: int, taken: bool
) -> None:
    """A Lease another writer filled with garbage times: a renewal time outside 1970..9000 is no renewal (the
    Lease is free); a duration beyond a year is read as a year. Never an OverflowError."""
    cluster.emulator.create(
        {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": "cronary-default", "namespace": "cronary"},
            "spec": {"holderIdentity": "someone-else", "renewTime": renew_time, "leaseDurationSeconds": duration},
        }
    )
    run = cluster.tick("--lease-namespace", "cronary", no_lease=False)
    assert run.exit_code == 0 and "Traceback" not in run.output, run.output
    held_by_other = any("is being ticked by someone-else" in line["msg"] for line in run.logs)
    assert held_by_other is not taken, run.output


@pytest.mark.parametrize(
    ("header", "parsed"),
    [
        pytest.param("Fri, 27 Nov 2026 10:00:00 GMT", datetime(2026, 11, 27, 10, tzinfo=UTC), id="a-real-date"),
        pytest.param("Fri, 31 Dec 9999 23:59:59 GMT", None, id="year-9999"),
        pytest.param("Fri, 01 Jan 1960 00:00:00 GMT", None, id="before-1970"),
        pytest.param("yesterday", None, id="garbage"),
    ],
)
def test_a_server_date_nobody_could_mean_is_not_used(header: str, parsed: datetime | None) -> None:
    from cronjob.kube.api import parse_date

    assert parse_date(header) == parsed
