"""Go-style durations: parsing the strings Canaries carry and printing the values Flagger prints."""

from __future__ import annotations

import re

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ns|us|µs|ms|s|m|h)")
MAX_GO_DURATION_SECONDS = (2**63 - 1) / 1e9
"""The longest Go `time.Duration` (int64 nanoseconds, `2562047h47m16.854775807s`), about 292 years."""
MAX_GO_DURATION_TEXT = "2562047h47m16.854775807s"


class DurationRangeError(ValueError):
    """A well-formed duration longer than Go's longest (`time.ParseDuration`: "invalid duration")."""


def parse_go_duration(text: str) -> float:
    """Seconds in a Go duration string such as `10s`, `1m30s` or `1.5h`; ValueError if it is not one, and
    `DurationRangeError` (a ValueError) if it is longer than Go's longest duration, as `time.ParseDuration` says."""
    if not isinstance(text, str) or not text:
        raise ValueError(f"not a duration: {text!r}")
    body = text[1:] if text[0] in "+-" else text
    if not body:
        raise ValueError(f"not a duration: {text!r}")
    if body == "0":
        return 0.0
    pos, total = 0, 0.0
    while pos < len(body):
        match = _PART.match(body, pos)
        if match is None:
            raise ValueError(f"not a duration: {text!r}")
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if total > MAX_GO_DURATION_SECONDS:
        raise DurationRangeError(f"duration out of range: {text!r}")
    return -total if text[0] == "-" else total


def format_go_duration_ms(milliseconds: int) -> str:
    """What Go's `time.Duration.String()` prints for a whole number of milliseconds (`500ms`, `1.515s`, `1m0s`)."""
    ms = int(milliseconds)
    if ms == 0:
        return "0s"
    sign = "-" if ms < 0 else ""
    ms = abs(ms)
    if ms < 1000:
        return f"{sign}{ms}ms"
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, frac = divmod(rest, 1000)
    sec = str(seconds) + (("." + f"{frac:03d}".rstrip("0")) if frac else "")
    if hours:
        return f"{sign}{hours}h{minutes}m{sec}s"
    if minutes:
        return f"{sign}{minutes}m{sec}s"
    return f"{sign}{sec}s"


def format_go_float(value: float) -> str:
    """What Go's `%v` prints for a float64 (`99`, `99.5`, `0.001`, `1e+06`, `1e-05`): the shortest digits,
    in exponent form when the decimal exponent is below -4 or at least 6 (strconv's `'g'` with precision -1)."""
    number = float(value)
    if number == 0:
        return "0"
    sign = "-" if number < 0 else ""
    text = repr(abs(number))
    mantissa, _, exp_text = text.partition("e")
    whole, _, fraction = mantissa.partition(".")
    fraction = "" if fraction == "0" else fraction
    shift = int(exp_text or 0)
    if whole != "0":
        point = len(whole) + shift
        digits = (whole + fraction).lstrip("0")
    else:
        point = shift - (len(fraction) - len(fraction.lstrip("0")))
        digits = fraction.lstrip("0")
    digits = digits.rstrip("0") or "0"
    exponent = point - 1
    if exponent < -4 or exponent >= 6:
        body = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{body}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return f"{sign}{digits}{'0' * (point - len(digits))}"
    return f"{sign}{digits[:point]}.{digits[point:]}"
