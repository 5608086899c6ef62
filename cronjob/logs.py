"""JSON log lines, one object per line, with `msg` (the guide reads them with `jq .msg`), `level`, `ts`,
and — when the line is about one — `canary` and `tick`.

Everything cronary logs goes through the standard `logging` module (the webhook and alert callers already
do); this module only formats. The HTTP libraries stay at WARNING: their DEBUG output would print request
headers, and those can hold credentials.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone
from typing import IO, Any

LOGGER = "cronary"
_FIELDS = ("canary", "tick", "eventType", "holder")
_QUIET = ("urllib3", "kubernetes", "requests")


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "level": {"WARNING": "warn"}.get(record.levelname, record.levelname.lower()),
            "ts": datetime.fromtimestamp(record.created, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "msg": record.getMessage(),
        }
        for name in _FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.name != LOGGER:
            line["logger"] = record.name
        return json.dumps(line, ensure_ascii=False)


def configure(stream: IO[str] | None = None, level: int = logging.INFO) -> logging.Logger:
    """Send every log record to `stream` (stdout) as JSON lines. Idempotent."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_cronary", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(JsonLines())
    handler._cronary = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    for name in _QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
    return logging.getLogger(LOGGER)
