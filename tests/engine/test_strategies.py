"""The strategy factory: every strategy Flagger selects is run by a module or refused with the parser's
message, and the canary strategy answers the tick's questions as the reference's weights say (§2.6)."""

from __future__ import annotations

import pytest

from engine.errors import SpecError
from engine.model import AnalysisSpec, StrategyName, select_strategy
from engine.routers.router import Routes
from engine.strategies import canary
from engine.strategies.factory import NOT_YET, STRATEGIES, strategy_for, strategy_named, traffic_routing
from engine.strategies.strategy import Counts


@pytest.mark.parametrize("name", list(StrategyName))
def test_every_strategy_is_run_by_a_module_or_refused(name: StrategyName) -> None:
    if name is StrategyName.CANARY:
        assert strategy_named(name).name is name
        return
    with pytest.raises(SpecError) as refused:
        strategy_named(name, "spec.analysis.iterations")
    assert refused.value.path == "spec.analysis.iterations"
    assert NOT_YET in str(refused.value)


def test_each_module_registers_one_strategy_under_its_own_name() -> None:
    names = [module.STRATEGY.name for module in STRATEGIES]
    assert len(names) == len(set(names))


@pytest.mark.parametrize(
    ("iterations", "match", "expected"),
    [
        (False, False, StrategyName.CANARY),
        (False, True, StrategyName.CANARY),  # match without iterations is just the canary strategy
        (True, False, StrategyName.BLUE_GREEN),
        (True, True, StrategyName.AB_TESTING),
    ],
)
def test_selection_is_flaggers(iterations: bool, match: bool, expected: StrategyName) -> None:
    assert select_strategy(iterations=iterations, match=match) is expected


def test_weights_pick_the_canary_strategy() -> None:
    assert strategy_for(AnalysisSpec(step_weight=10)) is canary.STRATEGY
    assert canary.STRATEGY.counts is Counts.WEIGHT


def test_canary_strategy_steps_until_max_weight() -> None:
    analysis, strategy = AnalysisSpec(step_weight=20, max_weight_field=50), canary.STRATEGY
    weight, seen = 0, []
    while not strategy.analysis_complete(analysis, weight, 0):
        assert strategy.asks_traffic_increase(analysis, weight)
        step = strategy.next_step(analysis, weight, 0)
        assert step.routes == Routes(100 - step.routes.canary, step.routes.canary)
        assert step.status == {"canary_weight": step.routes.canary}
        assert dict(step.values) == {"weight": step.routes.canary}
        weight = step.routes.canary
        seen.append(weight)
    assert seen == [20, 40, 60]
    assert strategy.waiting_weight(analysis) == 60


def test_canary_strategy_promotion_steps() -> None:
    strategy = canary.STRATEGY
    assert strategy.promotion_step(AnalysisSpec(step_weight=10), 50) is None  # no stepWeightPromotion: at once
    assert strategy.promotion_step(AnalysisSpec(step_weight_promotion=50), 0) is None  # nothing left to move
    assert strategy.promotion_step(AnalysisSpec(step_weight_promotion=50), 100) == Routes(50, 50)
    assert strategy.promotion_step(AnalysisSpec(step_weight_promotion=30), 10) == Routes(100, 0)


@pytest.mark.parametrize(
    ("analysis", "expected"),
    [
        (AnalysisSpec(step_weight=10, max_weight_field=50), "Weight step: 10 max: 50"),
        (AnalysisSpec(step_weights=(1, 5, 30)), "Weight steps: 1,5,30 max: 30"),
        (AnalysisSpec(iterations=3), "Blue/Green"),
        (AnalysisSpec(iterations=3, match=({"headers": {}},)), "A/B Testing"),
        (AnalysisSpec(), None),
    ],
)
def test_traffic_routing_is_worded_by_the_strategy(analysis: AnalysisSpec, expected: str | None) -> None:
    assert traffic_routing(analysis) == expected
