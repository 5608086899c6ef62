"""The reads of a tick are bounded by kinds × namespaces, never by canaries (issue 4).

bench/bench_cluster.py's fleet (seed-like canaries without metrics or webhooks, each with its Deployment and
HPA, on the API emulator) is played through the benchmark's steps twice, in process: 3 namespaces with 5
canaries each, then 3 namespaces with 10 each. Every tick must send exactly the same LIST requests (one Canary
LIST, then one LIST per kind per namespace when something is due) and no GET; the writes, by contrast, grow
with the canaries. No timing is asserted: the benchmark itself reports times.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from cronjob.cli import main
from harness.kube_emulator import KubeEmulator, RecordedRequest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import bench_cluster as bench

NAMESPACES = 3
Ticks = list[list[RecordedRequest]]


def play(canaries: int, workdir: Path) -> Ticks:
    """The benchmark's steps with `cronary tick --once` in process; the requests of each tick."""
    with KubeEmulator(now=bench.START) as emulator:
        fleet = bench.Fleet.build(emulator, workdir, canaries, NAMESPACES)
        ticks = []
        for step in bench.STEPS:
            step.prepare(fleet)
            emulator.clear_requests()
            result = CliRunner().invoke(main, fleet.args(), catch_exceptions=False)
            assert result.exit_code == 0, result.output
            assert fleet.states() == Counter({step.expect: canaries}), step.label
            ticks.append(emulator.requests)
        assert emulator.errors == []
        return ticks


@pytest.fixture(scope="module")
def fleets(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Ticks]:
    return {per_ns: play(per_ns * NAMESPACES, tmp_path_factory.mktemp(f"fleet{per_ns}")) for per_ns in (5, 10)}


def lists(requests: list[RecordedRequest]) -> Counter[tuple[str | None, str | None]]:
    return Counter((r.resource, r.namespace) for r in requests if r.verb == "list")


def writes(requests: list[RecordedRequest]) -> int:
    return sum(1 for r in requests if r.verb not in (None, "get", "list"))


@pytest.mark.parametrize(
    "index", range(len(bench.STEPS)), ids=[s.label.split(":")[0].replace(" ", "-") for s in bench.STEPS]
)
def test_the_same_lists_for_twice_the_canaries(fleets: dict[int, Ticks], index: int) -> None:
    step = bench.STEPS[index]
    small, large = fleets[5][index], fleets[10][index]
    assert lists(small) == lists(large)
    assert all(r.verb in ("list", "get", "create", "update", "patch") for r in small + large)
    assert [r.path for r in small + large if r.verb == "get"] == []  # no GET per object, none at all
    expected = 1 + bench.KINDS_PER_NAMESPACE * NAMESPACES if index != 1 else 1  # (b): nothing due, the Canary LIST only
    assert sum(lists(small).values()) == expected
    assert set(lists(small).values()) == {1}  # each (kind, namespace) listed once
    assert lists(small)[("canaries", None)] == 1  # Canaries: one LIST over all namespaces
    if step.writes:
        assert writes(large) == 2 * writes(small) > 0  # writes are per canary
    else:
        assert writes(small) == writes(large) == 0
