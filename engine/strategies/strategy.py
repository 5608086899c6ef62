"""The one protocol every deployment strategy follows, and the values it speaks in.

A strategy is how an analysis moves a canary forward between the new revision and its promotion: Flagger's
canary strategy steps traffic by weight (`runCanary`), A/B testing and blue/green count iterations
(`runAB`, `runBlueGreen`). The tick asks the strategy what it cannot know itself — the routes of the next
step, whether the analysis is complete so promotion may start, the routes while promoting, the weight a
canary waiting for promotion approval is routed — and keeps everything Flagger does for every strategy
(the gates, the analysis, the phase moves). Like a router, a strategy is a frozen value with no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol

from ..messages import Message
from ..model import AnalysisSpec, StrategyName
from ..routers.router import Routes


class Counts(str, Enum):
    """What a strategy's steps count in the status: the canary's weight, or the analysis' iterations."""

    WEIGHT = "canaryWeight"
    ITERATIONS = "iterations"


@dataclass(frozen=True)
class Step:
    """One step forward after a passing analysis: the routes it takes, the status fields it sets
    (`canary_weight`, `iterations`), and the event that says so (`message`, filled with the canary's
    `<name>.<namespace>` as `canary` and with `values`)."""

    routes: Routes
    status: Mapping[str, int]
    message: Message
    values: Mapping[str, Any] = field(default_factory=dict)


class Strategy(Protocol):
    """One deployment strategy (`AnalysisSpec.strategy` names it; `engine.strategies.factory` finds it)."""

    @property
    def name(self) -> StrategyName: ...

    @property
    def counts(self) -> Counts:
        """What the status counts the steps in: whether a canary with no step yet reads 0 in `canaryWeight`
        or in `iterations`."""
        ...

    def asks_traffic_increase(self, analysis: AnalysisSpec, canary_weight: int) -> bool:
        """Would the next step route more traffic to the canary (so confirm-traffic-increase hooks are asked)?"""
        ...

    def analysis_complete(self, analysis: AnalysisSpec, canary_weight: int, iterations: int) -> bool:
        """Has the analysis taken its last step, so that promotion may start (after a passing analysis)?"""
        ...

    def next_step(self, analysis: AnalysisSpec, canary_weight: int, iterations: int) -> Step:
        """The step after a passing analysis from the routed `canary_weight` and the status' `iterations`,
        while the analysis is not complete."""
        ...

    def waiting_weight(self, analysis: AnalysisSpec) -> int:
        """The canary weight routed while waiting for promotion approval (the status keeps 0 there)."""
        ...

    def promotion_step(self, analysis: AnalysisSpec, canary_weight: int) -> Routes | None:
        """The routes after one step of promotion from the routed `canary_weight`; None: all traffic goes to the
        primary at once."""
        ...

    def traffic_routing(self, analysis: AnalysisSpec) -> str | None:
        """How alerts describe the routing (Flagger's `Traffic routing` metadata field), or None."""
        ...
