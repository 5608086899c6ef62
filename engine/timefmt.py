"""RFC 3339 timestamps as Kubernetes writes them (`2026-11-27T10:00:00Z`), and the range of times cronary reads.
The one parser and formatter of such times, for the engine and the shell alike.

Times are added to durations everywhere (`lastDecisionTime + interval`, `lastUpdateTime + progressDeadline`),
and Python's `datetime` ends at year 9999: near either end the sum overflows. So every time cronary accepts or
reads (`--now`, a scenario's `start`, status times, the times of cluster objects the engine reads) must lie in
`EARLIEST..LATEST`. LATEST leaves room for the longest duration a Canary can give (Go's longest, about 292
years) and for a tick count of the longest scenario; EARLIEST is the Unix epoch — no Kubernetes time is older.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache

from .errors import SpecError

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)
TIME_EXAMPLE = "2026-11-27T10:00:00Z"


def format_time(moment: datetime) -> str:
    m = moment.astimezone(UTC)
    return f"{m.year:04d}-{m.month:02d}-{m.day:02d}T{m.hour:02d}:{m.minute:02d}:{m.second:02d}Z"


def format_micro_time(moment: datetime) -> str:
    """Kubernetes' MicroTime, to the microsecond (`2026-11-27T10:00:00.000000Z`): a Lease's times, log lines."""
    m = moment.astimezone(UTC)
    return f"{format_time(m)[:-1]}.{m.microsecond:06d}Z"


def parse_time(text: str) -> datetime | None:
    """Parse an RFC 3339 timestamp; None for empty or malformed text, or a time outside EARLIEST..LATEST."""
    if not text:
        return None
    try:
        return read_time(text)
    except ValueError:
        return None


@lru_cache(maxsize=4096)
def read_time(text: str) -> datetime:
    """An RFC 3339 time in EARLIEST..LATEST (UTC when it names no offset); ValueError says what is wrong.
    Remembered: a fleet's statuses repeat the same few instants, and a string is immutable."""
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        in_range = EARLIEST <= value <= LATEST
    except (ValueError, OverflowError):  # OverflowError: year 1 with a positive offset is before year 1 in UTC
        raise ValueError(f"must be an RFC 3339 time like {TIME_EXAMPLE}, got {text!r}") from None
    if not in_range:
        raise ValueError(f"must be a time from {format_time(EARLIEST)} to {format_time(LATEST)}, got {text!r}")
    return value


def check_time(path: str, value: object) -> str:
    """A time field (`status.lastTransitionTime`, ...) that must be readable: its text, or `SpecError` naming
    the field. Text, not a YAML timestamp: cronary's reader keeps timestamps as the text they are written as."""
    if not isinstance(value, str):
        raise SpecError(path, f"must be an RFC 3339 time like {TIME_EXAMPLE}, got {value!r}")
    try:
        read_time(value)
    except ValueError as err:
        raise SpecError(path, str(err)) from None
    return value


def add_seconds(moment: datetime, seconds: float) -> datetime | None:
    """`moment + seconds`, or None where the sum would pass LATEST (never an OverflowError)."""
    if seconds > (LATEST - moment).total_seconds():
        return None
    return moment + timedelta(seconds=seconds)
