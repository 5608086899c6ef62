"""Expected-timeline building blocks shared by the timeline and gate tests (seed scenarios start at 10:00:00
and tick every 10 s), and running `cronary simulate` on a seed canary/scenario pair."""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

from click.testing import CliRunner

from cronjob.cli import main

SEED = Path(__file__).resolve().parents[2] / "fixtures" / "seed"
CLUSTER = SEED / "cluster.yaml"
MESH = "smi:istio"

START = datetime(2026, 11, 27, 10, 0, 0, tzinfo=UTC)
INTERVAL = timedelta(seconds=10)


def advance(weight: int) -> str:
    return f"Advance podinfo.test canary weight {weight}"


def at(tick: int) -> str:
    return (START + INTERVAL * (tick - 1)).strftime("%Y-%m-%dT%H:%M:%SZ")


class Row(NamedTuple):
    """One expected tick: the status after it, the routed canary weight, and its events in order."""

    tick: int
    phase: str
    weight: int
    traffic: int | None
    failed: int
    events: tuple[str, ...]


def row(tick: int, phase: str, weight: int, traffic: int | None, failed: int, *events: str) -> Row:
    return Row(tick, phase, weight, traffic, failed, tuple(events))


def simulate_args(canary: Path, scenario: Path) -> list[str]:
    return [
        "simulate",
        str(canary),
        "--cluster",
        str(CLUSTER),
        "--scenario",
        str(scenario),
        "--mesh-provider",
        MESH,
        "-o",
        "json",
    ]


@functools.cache
def _simulate_text(canary: Path, scenario: Path) -> str:
    result = CliRunner().invoke(main, simulate_args(canary, scenario), catch_exceptions=False)
    assert result.exit_code == 0, f"cronary simulate exited {result.exit_code}: {result.stderr}"
    return result.stdout


def simulate_cli(canary: Path, scenario: Path) -> list[dict[str, Any]]:
    """`cronary simulate … -o json` through click, parsed (cached per canary/scenario pair)."""
    return json.loads(_simulate_text(canary, scenario))
