"""`cronary tick --concurrency N`: the canaries of a namespace are decided and written N at a time.

What must hold: each canary's own writes keep their order (objects before the status, the status before its
Events), so a concurrent tick writes, per canary, exactly what a sequential one writes; the round trips of
different canaries really overlap; a sequential tick never has two requests in flight.

bench/bench_cluster.py's fleet (seed-like canaries without metrics or webhooks) is played through the
benchmark's steps in process, as in test_cluster_scale.py. No timing is asserted.
"""

from __future__ import annotations

import re
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from click.testing import CliRunner

from cronjob.cli import main
from cronjob.shared.driver import run_tick
from harness.kube_emulator import KubeEmulator, RecordedRequest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import bench_cluster as bench

NAMESPACES, PER_NAMESPACE = 2, 6
CANARY_NAME = re.compile(r"app-\d{4}")


def writes_by_canary(requests: list[RecordedRequest]) -> tuple[dict[str, list[str]], int]:
    """Each canary's writes in the order the server received them, and the writes naming no canary in their
    path (Events: POST .../events, their names are in the body)."""
    by_canary: dict[str, list[str]] = {}
    unnamed = 0
    for r in requests:
        if r.verb in (None, "list", "get"):
            continue
        found = CANARY_NAME.search(r.path)
        if found is None:
            unnamed += 1
        else:
            by_canary.setdefault(found.group(0), []).append(f"{r.method} {r.path}")
    return by_canary, unnamed


def play(concurrency: int, workdir: Path) -> list[tuple[list[RecordedRequest], int]]:
    """The benchmark's steps at this concurrency: each tick's requests and the most requests in flight."""
    with KubeEmulator(now=bench.START) as emulator:
        fleet = bench.Fleet.build(emulator, workdir, NAMESPACES * PER_NAMESPACE, NAMESPACES)
        ticks = []
        for step in bench.STEPS:
            step.prepare(fleet)
            emulator.clear_requests()
            result = CliRunner().invoke(
                main, [*fleet.args(), "--concurrency", str(concurrency)], catch_exceptions=False
            )
            assert result.exit_code == 0, result.output
            assert fleet.states() == Counter({step.expect: fleet.canaries}), step.label
            ticks.append((emulator.requests, emulator.max_in_flight))
        assert emulator.errors == []
        return ticks


@pytest.fixture(scope="module")
def played(tmp_path_factory: pytest.TempPathFactory) -> dict[int, list[tuple[list[RecordedRequest], int]]]:
    return {n: play(n, tmp_path_factory.mktemp(f"concurrency{n}")) for n in (1, PER_NAMESPACE)}


@pytest.mark.parametrize(
    "index", range(len(bench.STEPS)), ids=[s.label.split(":")[0].replace(" ", "-") for s in bench.STEPS]
)
def test_each_canary_writes_the_same_in_the_same_order_at_any_concurrency(played: dict, index: int) -> None:
    sequential, concurrent = played[1][index][0], played[PER_NAMESPACE][index][0]
    assert writes_by_canary(concurrent) == writes_by_canary(sequential)


def test_a_sequential_tick_never_has_two_requests_in_flight(played: dict) -> None:
    assert [in_flight for _, in_flight in played[1]] == [1] * len(bench.STEPS)


def test_round_trips_of_different_canaries_overlap(emulator: KubeEmulator, tmp_path: Path) -> None:
    """Each status write is held at the server until four are in flight at once: a tick that wrote one canary
    at a time would never get past the first (the barrier would break after 30 s and the test fail)."""
    fleet = bench.Fleet.build(emulator, tmp_path, 4, 1)
    barrier = threading.Barrier(4, timeout=30)

    def hold_status_writes(request: RecordedRequest) -> None:
        if request.method == "PUT" and request.subresource == "status":
            barrier.wait()

    emulator.on_request(hold_status_writes)
    result = CliRunner().invoke(main, [*fleet.args(), "--concurrency", "4"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert fleet.states() == Counter({("Initializing", 0): 4})
    assert emulator.max_in_flight >= 4
    assert not barrier.broken and emulator.errors == []


def test_a_failing_canary_leaves_the_others_of_its_group(emulator: KubeEmulator, tmp_path: Path) -> None:
    fleet = bench.Fleet.build(emulator, tmp_path, 4, 1)
    emulator.fail(method="PUT", path=r"/canaries/app-0002/status$", status=500)
    result = CliRunner().invoke(main, [*fleet.args(), "--concurrency", "4"], catch_exceptions=False)
    assert result.exit_code == 1
    phases = {
        c["metadata"]["name"]: (c.get("status") or {}).get("phase") for c in emulator.list(bench.CANARY_API, "Canary")
    }
    assert phases == {
        "app-0000": "Initializing",
        "app-0001": "Initializing",
        "app-0002": None,
        "app-0003": "Initializing",
    }


@pytest.mark.parametrize("concurrency", ["1", "4"])
def test_an_unforeseen_error_on_one_canary_leaves_the_others(
    emulator: KubeEmulator, tmp_path: Path, concurrency: str
) -> None:
    """A failure no check foresaw (here: deciding one canary raises) is that canary's problem: it is logged
    with its name, the others are decided, the tick exits 1."""
    fleet = bench.Fleet.build(emulator, tmp_path, 3, 1)

    def decide(canary: Any, *args: Any, **kwargs: Any) -> Any:
        if canary.key == "app-0001.team-0":
            raise RuntimeError("nobody foresaw this")
        return run_tick(canary, *args, **kwargs)

    with mock.patch("cronjob.kube.tick.run_tick", decide):
        result = CliRunner().invoke(main, [*fleet.args(), "--concurrency", concurrency], catch_exceptions=False)
    assert result.exit_code == 1
    assert "app-0001.team-0 could not be decided: RuntimeError: nobody foresaw this" in result.output
    phases = {
        c["metadata"]["name"]: (c.get("status") or {}).get("phase") for c in emulator.list(bench.CANARY_API, "Canary")
    }
    assert phases["app-0000"] == phases["app-0002"] == "Initializing"


@pytest.mark.parametrize("concurrency", ["1", "4"])
def test_a_status_time_the_engine_cannot_use_makes_that_canary_invalid(
    emulator: KubeEmulator, tmp_path: Path, concurrency: str
) -> None:
    """A decision time in the year 9999 (next due = 9999 + interval would overflow): the engine reports that
    Canary invalid, naming the field; the others are decided, the tick exits 1, and nothing overflows."""
    fleet = bench.Fleet.build(emulator, tmp_path, 3, 1)
    odd = emulator.get(bench.CANARY_API, "Canary", "team-0", "app-0001")
    assert odd is not None
    odd["status"] = {
        "phase": "Initialized",
        "lastDecisionTime": "9999-12-31T23:59:59Z",
        "lastTransitionTime": "9999-12-31T23:59:59Z",
    }
    emulator.replace(odd)
    result = CliRunner().invoke(main, [*fleet.args(), "--concurrency", concurrency], catch_exceptions=False)
    assert result.exit_code == 1
    assert (
        "Canary app-0001.team-0 is invalid: status.lastTransitionTime: must be a time from 1970-01-01T00:00:00Z to 9000-01-01T00:00:00Z"
        in result.output
    )
    assert "Overflow" not in result.output and "Traceback" not in result.output
    phases = {
        c["metadata"]["name"]: (c.get("status") or {}).get("phase") for c in emulator.list(bench.CANARY_API, "Canary")
    }
    assert phases["app-0000"] == phases["app-0002"] == "Initializing"
    assert phases["app-0001"] == "Initialized"  # untouched
