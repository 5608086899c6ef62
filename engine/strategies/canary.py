"""The canary strategy: traffic stepped up by weight (Flagger's `runCanary`, `nextStepWeight`), and stepped
back to the primary while promoting (`stepWeightPromotion`).

Chosen when the analysis counts no iterations (`stepWeight` or `stepWeights`). The weights follow the
reference (§2.6): a step may overshoot `maxWeight`, reaching it is the promotion point.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import messages as msg
from ..model import AnalysisSpec, StrategyName
from ..routers.router import Routes, split
from .strategy import Counts, Step

TOTAL_WEIGHT = 100


def next_step_weight(analysis: AnalysisSpec, canary_weight: int) -> int:
    """The increment for the next advance from `canary_weight`."""
    if analysis.step_weight > 0 or not analysis.step_weights:
        return analysis.step_weight
    room = TOTAL_WEIGHT - canary_weight
    if room <= 0:
        return 1
    if canary_weight == 0:
        return min(room, analysis.step_weights[0])
    for index, weight in enumerate(analysis.step_weights[:-1]):
        if weight == canary_weight:
            return min(room, analysis.step_weights[index + 1] - canary_weight)
    return room


def advance(analysis: AnalysisSpec, primary_weight: int, canary_weight: int) -> tuple[int, int]:
    """(primary, canary) after one advance: canary up by the step (cap 100), primary down (floor 0)."""
    step = next_step_weight(analysis, canary_weight)
    return max(0, primary_weight - step), min(TOTAL_WEIGHT, canary_weight + step)


def promote_step(analysis: AnalysisSpec, primary_weight: int, canary_weight: int) -> tuple[int, int]:
    """(primary, canary) after one `stepWeightPromotion` step."""
    step = analysis.step_weight_promotion
    return min(TOTAL_WEIGHT, primary_weight + step), max(0, canary_weight - step)


def top_weight(analysis: AnalysisSpec) -> int:
    """The canary weight the advances end at: the first step at or past `maxWeight`. A canary waiting for
    promotion approval is routed that much (its status keeps `canaryWeight` 0, as Flagger's does)."""
    weight = 0
    while weight < analysis.max_weight:
        _, after = advance(analysis, TOTAL_WEIGHT - weight, weight)
        if after <= weight:
            return weight
        weight = after
    return weight


@dataclass(frozen=True)
class CanaryStrategy:
    """Weight stepping, as the `Strategy` protocol asks for it."""

    @property
    def name(self) -> StrategyName:
        return StrategyName.CANARY

    @property
    def counts(self) -> Counts:
        return Counts.WEIGHT

    def asks_traffic_increase(self, analysis: AnalysisSpec, canary_weight: int) -> bool:
        return next_step_weight(analysis, canary_weight) > 0

    def analysis_complete(self, analysis: AnalysisSpec, canary_weight: int, iterations: int) -> bool:
        return canary_weight >= analysis.max_weight

    def next_step(self, analysis: AnalysisSpec, canary_weight: int, iterations: int) -> Step:
        _, canary = advance(analysis, TOTAL_WEIGHT - canary_weight, canary_weight)
        return Step(split(canary), {"canary_weight": canary}, msg.ADVANCE_CANARY_WEIGHT, {"weight": canary})

    def waiting_weight(self, analysis: AnalysisSpec) -> int:
        return top_weight(analysis)

    def promotion_step(self, analysis: AnalysisSpec, canary_weight: int) -> Routes | None:
        if analysis.step_weight_promotion == 0 or canary_weight == 0:
            # With a partial step and nothing left on the canary Flagger would stay in Promoting forever.
            return None
        primary, canary = promote_step(analysis, TOTAL_WEIGHT - canary_weight, canary_weight)
        return Routes(primary, canary)

    def traffic_routing(self, analysis: AnalysisSpec) -> str | None:
        """`max` is the weight the canary really reaches (Flagger prints the raw `maxWeight` field, `0` when it
        is unset)."""
        if analysis.step_weight > 0:
            return f"Weight step: {analysis.step_weight} max: {analysis.max_weight}"
        if analysis.step_weights:
            return f"Weight steps: {','.join(str(w) for w in analysis.step_weights)} max: {analysis.max_weight}"
        return None


STRATEGY = CanaryStrategy()
