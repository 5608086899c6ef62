"""`engine.timefmt`: the one parser and formatter of RFC 3339 times, for the engine and the shell alike."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from engine.timefmt import format_micro_time, format_time, parse_time
from harness.paths import ROOT

_TIME_CALLS = re.compile(r"\b(fromisoformat|strptime|strftime|isoformat)\(")


def test_no_other_module_parses_or_formats_times() -> None:
    found = [
        f"{path.relative_to(ROOT).as_posix()}:{number}"
        for package in ("engine", "cronjob")
        for path in sorted((ROOT / package).rglob("*.py"))
        if path != ROOT / "engine" / "timefmt.py"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if _TIME_CALLS.search(line)
    ]
    assert not found, found


def test_micro_time_is_the_strftime_kubernetes_writes() -> None:
    moment = datetime(2026, 11, 27, 10, 0, 5, 42, tzinfo=UTC)
    assert format_micro_time(moment) == moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ") == "2026-11-27T10:00:05.000042Z"
    assert parse_time(format_micro_time(moment)) == moment
    assert format_time(moment) == "2026-11-27T10:00:05Z"
