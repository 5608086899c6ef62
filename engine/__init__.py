"""cronary's functional core.

Everything in this package is a pure function of its arguments: no I/O, no clock, no environment, no
randomness. The shell (`cronjob/`) gathers observations, calls `engine.decide`, and applies what it
returns. `tests/engine/test_engine_purity.py` and the import-linter contracts in `pyproject.toml` enforce this.

This module is the facade: the protocol's vocabulary (`engine.protocol`) and `decide` (`engine.tick`), so a
shell writes `from engine import Decision, Settings, decide`. Each name has one home, the module it is
imported from here; the engine's own modules import from those homes, never from this facade.
"""

from .protocol import (
    DEFAULT_SELECTOR_LABELS,
    Answer,
    Decision,
    Event,
    HookOutcome,
    HookRequest,
    HookResult,
    MetricRequest,
    Observations,
    Pending,
    Settings,
    TargetFacts,
)
from .tick import decide

__all__ = [
    "DEFAULT_SELECTOR_LABELS",
    "Answer",
    "Decision",
    "Event",
    "HookOutcome",
    "HookRequest",
    "HookResult",
    "MetricRequest",
    "Observations",
    "Pending",
    "Settings",
    "TargetFacts",
    "decide",
]
