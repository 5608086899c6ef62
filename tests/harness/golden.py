"""Golden-file comparison for CLI output.

`assert_golden("simulate-healthy.json", text)` compares `text` byte for byte with
`fixtures/golden/simulate-healthy.json` and fails with a unified diff when they differ.

Goldens are never rewritten by a normal test run. To regenerate them after an intended change, run the
tests with the environment variable CRONARY_UPDATE_GOLDEN=1, e.g.

    CRONARY_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/cli/test_timelines.py

then review `git diff fixtures/golden/` before committing: the diff *is* the behaviour change.
With the variable set, the comparison still runs after writing, so the test reports what it wrote.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

GOLDEN_DIR = Path(__file__).resolve().parents[2] / "fixtures" / "golden"
UPDATE_ENV = "CRONARY_UPDATE_GOLDEN"


def updating() -> bool:
    """True when this run should (re)write goldens instead of only comparing with them."""
    return os.environ.get(UPDATE_ENV) == "1"


def golden_path(name: str) -> Path:
    return GOLDEN_DIR / name


def assert_golden(name: str, actual: str) -> None:
    """Fail unless `actual` equals fixtures/golden/<name> exactly (rewrite it first if CRONARY_UPDATE_GOLDEN=1)."""
    path = golden_path(name)
    if updating():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(actual.encode("utf-8"))
    if not path.exists():
        raise AssertionError(
            f"golden file {path} does not exist; create it with {UPDATE_ENV}=1 and review it before committing"
        )
    expected = path.read_bytes().decode("utf-8")
    if expected != actual:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                actual.splitlines(keepends=True),
                fromfile=f"golden/{name}",
                tofile="actual",
                n=2,
            )
        )
        raise AssertionError(
            f"output differs from golden {path} (regenerate with {UPDATE_ENV}=1 if the change is intended):\n{diff}"
        )
