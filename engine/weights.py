"""Canary weight progression: Flagger's `nextStepWeight` and the promotion-time primary steps."""

from __future__ import annotations

from .model import AnalysisSpec

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
