"""RFC 3339 timestamps as Kubernetes writes them (`2026-11-27T10:00:00Z`)."""

from __future__ import annotations

from datetime import datetime, timezone


def format_time(moment: datetime) -> str:
    m = moment.astimezone(timezone.utc)
    return f"{m.year:04d}-{m.month:02d}-{m.day:02d}T{m.hour:02d}:{m.minute:02d}:{m.second:02d}Z"


def parse_time(text: str) -> datetime | None:
    """Parse an RFC 3339 timestamp; None for empty or malformed text."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
