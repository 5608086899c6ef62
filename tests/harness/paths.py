"""Where the repository's fixtures are, for every test and harness module."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures"
SEED = FIXTURES / "seed"
CRDS = FIXTURES / "crds"
