"""cronary's functional core.

Everything in this package is a pure function of its arguments: no I/O, no clock, no environment, no
randomness. The shell (`cronjob/`) gathers observations, calls `engine.tick.decide`, and applies what it
returns. `tests/test_engine_purity.py` and the import-linter contracts in `pyproject.toml` enforce this.
"""
