"""Traffic weights step by step, against the reference's progressions (`engine.strategies.canary`)."""

from __future__ import annotations

import pytest

from engine.model import AnalysisSpec
from engine.strategies.canary import advance, next_step_weight, promote_step


def _walk(analysis: AnalysisSpec) -> list[int]:
    """Canary weights of a healthy canary-strategy rollout until the promotion point (§2.6)."""
    weight, seen = 0, []
    for _ in range(200):
        if weight >= analysis.max_weight:
            break
        _, weight = advance(analysis, 100 - weight, weight)
        seen.append(weight)
    return seen


@pytest.mark.parametrize(
    ("analysis", "weights"),
    [
        pytest.param(AnalysisSpec(step_weights=(1, 2, 10, 80)), [1, 2, 10, 80], id="stepWeights-1-2-10-80"),
        pytest.param(AnalysisSpec(step_weights=(1, 2, 10, 100)), [1, 2, 10, 100], id="stepWeights-1-2-10-100"),
        pytest.param(AnalysisSpec(step_weights=(1, 2, 10, 200)), [1, 2, 10, 100], id="stepWeights-1-2-10-200-capped"),
        pytest.param(AnalysisSpec(step_weight=20, max_weight_field=50), [20, 40, 60], id="step20-max50-overshoots"),
        pytest.param(AnalysisSpec(step_weight=50, max_weight_field=100), [50, 100], id="step50-max100"),
        pytest.param(AnalysisSpec(step_weight=10, max_weight_field=50), [10, 20, 30, 40, 50], id="seed-step10-max50"),
        pytest.param(AnalysisSpec(step_weight=30), [30, 60, 90, 100], id="step30-no-max-caps-at-100"),
        # both set: the step is stepWeight, but maxWeight() still reads stepWeights (Flagger's helpers, §2.6)
        pytest.param(
            AnalysisSpec(step_weight=10, step_weights=(1, 2)), [10], id="stepWeight-wins-max-from-stepWeights"
        ),
    ],
)
def test_weight_progression_matches_the_reference(analysis: AnalysisSpec, weights: list[int]) -> None:
    assert _walk(analysis) == weights


@pytest.mark.parametrize(
    ("analysis", "current", "step"),
    [
        pytest.param(AnalysisSpec(step_weight=10, step_weights=(1, 2)), 0, 10, id="stepWeight-wins-over-stepWeights"),
        pytest.param(AnalysisSpec(step_weights=(5, 20)), 0, 5, id="first-of-stepWeights"),
        pytest.param(AnalysisSpec(step_weights=(5, 20)), 5, 15, id="to-the-next-of-stepWeights"),
        pytest.param(AnalysisSpec(step_weights=(5, 20)), 7, 93, id="not-in-list-jumps-to-100"),
        pytest.param(AnalysisSpec(step_weights=(5, 20)), 100, 1, id="no-room-gives-1"),
        pytest.param(AnalysisSpec(step_weights=(50, 200)), 50, 50, id="capped-by-room"),
        pytest.param(AnalysisSpec(step_weight=25), 90, 25, id="stepWeight-ignores-room"),
    ],
)
def test_next_step_weight(analysis: AnalysisSpec, current: int, step: int) -> None:
    assert next_step_weight(analysis, current) == step


@pytest.mark.parametrize(
    ("analysis", "max_weight"),
    [
        pytest.param(AnalysisSpec(step_weights=(1, 2, 10, 80)), 80, id="last-stepWeight"),
        pytest.param(
            AnalysisSpec(step_weights=(10, 200), max_weight_field=30), 100, id="stepWeights-ignore-maxWeight-cap-100"
        ),
        pytest.param(AnalysisSpec(step_weight=10, max_weight_field=50), 50, id="maxWeight"),
        pytest.param(AnalysisSpec(step_weight=10), 100, id="default-100"),
    ],
)
def test_max_weight(analysis: AnalysisSpec, max_weight: int) -> None:
    assert analysis.max_weight == max_weight


def test_advance_keeps_weights_summing_to_100_and_in_range() -> None:
    assert advance(AnalysisSpec(step_weight=30), 10, 90) == (0, 100)
    assert promote_step(AnalysisSpec(step_weight_promotion=50), 0, 100) == (50, 50)
    assert promote_step(AnalysisSpec(step_weight_promotion=50), 50, 50) == (100, 0)
    assert promote_step(AnalysisSpec(step_weight_promotion=30), 40, 60) == (70, 30)
    assert promote_step(AnalysisSpec(step_weight_promotion=30), 90, 10) == (100, 0)
