"""Shared test helpers: paths to fixtures and a quick way to build engine inputs."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
SEED = FIXTURES / "seed"
CRDS = FIXTURES / "crds"


@pytest.fixture
def seed_dir() -> Path:
    return SEED
