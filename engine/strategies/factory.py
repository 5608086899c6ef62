"""The strategy factory: the analysis names its strategy (`AnalysisSpec.strategy`, Flagger's
`DeploymentStrategy()`), this finds the module that runs it.

A new strategy is one module in this package holding a `STRATEGY`, and one entry in `STRATEGIES` (and its
line out of `_NOT_YET`).
"""

from __future__ import annotations

from ..errors import SpecError
from ..model import AnalysisSpec, StrategyName
from . import canary
from .strategy import Strategy

STRATEGIES = (canary,)  # every strategy module
_BY_NAME: dict[StrategyName, Strategy] = {module.STRATEGY.name: module.STRATEGY for module in STRATEGIES}

# Strategies Flagger has that cronary does not run yet, with how alerts name them (Flagger's `alertMetadata`).
_NOT_YET = {StrategyName.AB_TESTING: "A/B Testing", StrategyName.BLUE_GREEN: "Blue/Green"}
NOT_YET = "A/B testing and blue/green (iterations) are not supported by cronary yet; use stepWeight or stepWeights"


def strategy_named(name: StrategyName, path: str = "iterations") -> Strategy:
    """The strategy called `name`; a SpecError on `path` for one cronary does not run."""
    found = _BY_NAME.get(name)
    if found is None:
        raise SpecError(path, NOT_YET)
    return found


def strategy_for(analysis: AnalysisSpec) -> Strategy:
    """The strategy an analysis runs (the Canary parser refuses the others, so a parsed canary has one)."""
    return strategy_named(analysis.strategy)


def traffic_routing(analysis: AnalysisSpec) -> str | None:
    """The `Traffic routing` field alerts carry for an analysis (Flagger's `alertMetadata`), or None."""
    found = _BY_NAME.get(analysis.strategy)
    if found is None:
        return _NOT_YET.get(analysis.strategy)
    return found.traffic_routing(analysis)
