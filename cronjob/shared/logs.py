"""JSON log lines, one object per line, with `msg` (the guide reads them with `jq .msg`), `level`, `ts`,
and — when the line is about one — `canary` and `tick`.

Everything cronary logs goes through the standard `logging` module (the webhook and alert callers already
do); this module only formats. The HTTP libraries stay at WARNING: their DEBUG output would print request
headers, and those can hold credentials. Every message passes `engine.redact` (the one redactor): whatever
an error quotes, a URL in a log line shows its origin only.

No traceback is ever part of a line (a log pipeline reading JSON lines would break on one); with `--debug`
the traceback of a record that carries one goes to stderr, as plain text, beside its line.
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from datetime import UTC, datetime
from typing import IO, Any

from engine.redact import redact
from engine.timefmt import format_micro_time

LOGGER = "cronary"
LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}
"""The choices of `--log-level`, least to most severe."""
_FIELDS = ("canary", "tick", "eventType", "holder", "exception")
_QUIET = ("urllib3", "kubernetes", "requests")


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "level": {"WARNING": "warn"}.get(record.levelname, record.levelname.lower()),
            "ts": format_micro_time(datetime.fromtimestamp(record.created, UTC)),
            "msg": redact(record.getMessage()),
        }
        for name in _FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.name != LOGGER:
            line["logger"] = record.name
        return json.dumps(line, ensure_ascii=False)


class _TracebackText(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return traceback_text(record.exc_info[1]) if record.exc_info and record.exc_info[1] else ""


def traceback_text(err: BaseException) -> str:
    """A traceback for `--debug`, redacted like every other line (an exception's text may quote a URL)."""
    return redact("".join(traceback.format_exception(err)).rstrip("\n"))


def configure(stream: IO[str] | None = None, level: int = logging.INFO, debug: bool = False) -> logging.Logger:
    """Send every log record to `stream` (stdout) as JSON lines, and with `debug` the tracebacks of records
    that carry one to stderr. Idempotent."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_cronary", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(JsonLines())
    handlers: list[logging.Handler] = [handler]
    if debug:
        tracebacks = logging.StreamHandler(sys.stderr)
        tracebacks.addFilter(lambda record: bool(record.exc_info))
        tracebacks.setFormatter(_TracebackText())
        handlers.append(tracebacks)
    for each in handlers:
        each._cronary = True  # type: ignore[attr-defined]
        root.addHandler(each)
    root.setLevel(level)
    for name in _QUIET:
        logging.getLogger(name).setLevel(max(logging.WARNING, level))
    return logging.getLogger(LOGGER)
