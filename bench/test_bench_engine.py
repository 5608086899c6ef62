"""pytest-benchmark version of bench_engine.py's cases (not collected by the normal suite: testpaths = tests).

    .venv/bin/python -m pytest bench/ --benchmark-only -p no:cacheprovider

No timing is asserted (the machine is shared); each case checks that it decided what it should.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_engine as b  # noqa: E402


@pytest.fixture(scope="module")
def progressing() -> b.State:
    return b.progressing_state()


@pytest.fixture(scope="module")
def fleet() -> list[b.State]:
    return b.fleet_states(b.FLEET_SIZE)


def _tick(state: b.State):
    view = state.view()
    return lambda: b.run_tick(state.canary, view, state.now, b.SETTINGS, b.answer_hook, b.answer_metrics)


def test_progressing_tick(benchmark, progressing: b.State) -> None:
    b.check_progressing(benchmark(_tick(progressing)))


def test_idle_tick(benchmark) -> None:
    b.check_idle(benchmark(_tick(b.idle_state())))


def test_not_due_tick(benchmark) -> None:
    b.check_not_due(benchmark(_tick(b.not_due_state())))


def test_fleet_one_pass(benchmark, fleet: list[b.State]) -> None:
    view = b.ClusterView.of(b.fleet_manifests(fleet))
    decisions = benchmark.pedantic(b.decide_fleet, args=(fleet, view), rounds=5, iterations=1, warmup_rounds=1)
    assert len(decisions) == len(fleet)
    for decision in decisions:
        b.check_progressing(decision)
