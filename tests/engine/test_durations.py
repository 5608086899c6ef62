"""Go durations and floats as Flagger parses and prints them (`engine.durations`)."""

from __future__ import annotations

import pytest

from engine.durations import DurationRangeError, format_go_duration_ms, format_go_float, parse_go_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("10s", 10.0),
        ("1m", 60.0),
        ("1m30s", 90.0),
        ("1.5h", 5400.0),
        ("500ms", 0.5),
        ("2h45m", 9900.0),
        ("1h0m0s", 3600.0),
        ("0", 0.0),
        ("0s", 0.0),
        ("300us", 0.0003),
        ("300µs", 0.0003),
        ("-1m", -60.0),
        (".5s", 0.5),
        ("1.s", 1.0),
    ],
    ids=lambda v: str(v),
)
def test_parse_go_duration(text: str, seconds: float) -> None:
    assert parse_go_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "text", ["", "10", "abc", "1x", "s", "1.5", "m1", "1m 30s", " 1m", "1m-30s", "-", "+", ".s", "١٠s", "1²s"]
)
def test_parse_go_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_go_duration(text)


@pytest.mark.parametrize("text", ["2562048h", "-2562048h", "9999999999999999m", "9" * 400 + "s", "2562047h47m17s"])
def test_parse_go_duration_rejects_what_go_cannot_hold(text: str) -> None:
    """Go's `time.ParseDuration` says "invalid duration" beyond int64 nanoseconds (about 292 years); a longer
    interval would overflow `datetime` arithmetic in the tick."""
    with pytest.raises(DurationRangeError):
        parse_go_duration(text)
    assert parse_go_duration("2562047h47m16s") == pytest.approx(9223372036.0)


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (0, "0s"),
        (1, "1ms"),
        (500, "500ms"),
        (999, "999ms"),
        (1000, "1s"),
        (1515, "1.515s"),
        (1500, "1.5s"),
        (59_999, "59.999s"),
        (60_000, "1m0s"),
        (61_000, "1m1s"),
        (90_500, "1m30.5s"),
        (3_600_000, "1h0m0s"),
        (3_723_500, "1h2m3.5s"),
        (-1515, "-1.515s"),
    ],
    ids=lambda v: str(v),
)
def test_format_go_duration_ms(ms: int, text: str) -> None:
    assert format_go_duration_ms(ms) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (99, "99"),
        (99.0, "99"),
        (99.5, "99.5"),
        (0.5, "0.5"),
        (0.001, "0.001"),
        (0.0001, "0.0001"),
        (1e-05, "1e-05"),
        (500, "500"),
        (100000, "100000"),
        (999999, "999999"),
        # Go's %v is %g with the shortest precision, which switches to an exponent at 1e6 ("1e+06").
        (1e6, "1e+06"),
        (1234567.0, "1.234567e+06"),
        (1e21, "1e+21"),
        (-2.5, "-2.5"),
    ],
    ids=lambda v: str(v),
)
def test_format_go_float(value: float, text: str) -> None:
    assert format_go_float(value) == text
