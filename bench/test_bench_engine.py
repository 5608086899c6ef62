"""pytest-benchmark version of bench_engine.py's cases (not collected by the normal suite: testpaths = tests).

    .venv/bin/python -m pytest bench/ --benchmark-only -p no:cacheprovider

No timing is asserted (the machine is shared); each case checks that it decided what it should.
`test_run_tick_decides_as_the_round_trips` (run without --benchmark-only) checks that run_tick, which answers
the tick where it asks (decide's `answer`), decides exactly what the plain protocol — decide, Pending, answer,
decide again from the start — decides for the benchmark's states, with the same requests in the same order.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_engine as b

from engine import Decision, Observations, decide
from engine.schedule import is_due
from engine.targets.facts import read_target_facts
from engine.tick import likely_metrics


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


def test_parse_fleet(benchmark, fleet: list[b.State]) -> None:
    manifests = [b.canary_manifest(s.canary, s.canary.status) for s in fleet]
    parsed = benchmark.pedantic(lambda: [b.parse_canary(m) for m in manifests], rounds=5, iterations=1, warmup_rounds=1)
    assert parsed == [s.canary for s in fleet]


def _by_round_trips(state: b.State, asked: list[object]) -> Decision:
    """The plain sans-I/O protocol, as cronjob.shared.driver.run_tick drove it before `answer`."""
    view = state.view()
    hooks: dict = {}
    metrics: dict = {}
    providers = None
    due = is_due(state.canary, state.now)
    prefetch = likely_metrics(state.canary, b.SETTINGS) if due else ()
    if prefetch:
        asked.append(prefetch)
        metrics.update(b.answer_metrics(prefetch))
    for _ in range(64):
        outcome = decide(state.canary, view, state.now, b.SETTINGS, Observations(dict(metrics), dict(hooks), providers))
        if isinstance(outcome, Decision):
            return outcome
        for request in outcome.hooks:
            asked.append(request)
            hooks[request.hook.name] = b.answer_hook(request)
        if outcome.metrics:
            asked.append(outcome.metrics)
            metrics.update(b.answer_metrics(outcome.metrics))
        assert not outcome.check_providers
    raise AssertionError("did not settle")


def test_run_tick_decides_as_the_round_trips(progressing: b.State, fleet: list[b.State]) -> None:
    for state in [progressing, b.idle_state(), b.not_due_state(), *fleet[::97]]:
        expected_asks: list[object] = []
        expected = _by_round_trips(state, expected_asks)
        asks: list[object] = []
        view = state.view()
        assert read_target_facts(state.canary, view, b.SETTINGS).problem == ""
        decision = b.run_tick(state.canary, view, state.now, b.SETTINGS, *_recording(asks))
        assert decision == expected
        assert asks == expected_asks


def _recording(asks: list[object]) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    """The benchmark's answers, noting each request in `asks`."""

    def answer_hook(request: Any) -> Any:
        asks.append(request)
        return b.answer_hook(request)

    def answer_metrics(requests: Any) -> Any:
        asks.append(requests)
        return b.answer_metrics(requests)

    return answer_hook, answer_metrics
