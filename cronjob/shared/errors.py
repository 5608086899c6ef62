"""How the CLI ends when it cannot do its job: the exit statuses, and the errors it reports as one line.

`InputError` is bad input (exit status 2), `RunFailed` a run that could not do its job (exit status 1); any
other exception is unexpected (also 1). Either way the user gets one line — on stderr, or, for `tick`, one
JSON log line — and no traceback unless `--debug` asks for it. Every line passes `engine.redact` (the one
redactor), whatever text an error quotes.
"""

from __future__ import annotations

from engine.redact import redact

EXIT_OK = 0
EXIT_FAILED = 1
"""A run that failed: a remote that could not be read, a canary whose tick failed, an unexpected error."""
EXIT_BAD_INPUT = 2
"""Bad input of any kind: a file, a field, a flag or a usage error. Nothing was written anywhere."""


class InputError(Exception):
    """Bad input, reported as `FILE: FIELD.PATH: message` (DESIGN.md) with exit status 2."""

    def __init__(self, source: str, path: str, message: str) -> None:
        self.source, self.path, self.message = source, path, message
        super().__init__(self.line)

    @property
    def line(self) -> str:
        """The one line the user sees; a URL in it is cut to its origin (a file may quote a credential)."""
        return redact(f"{self.source}: {self.path}: {self.message}" if self.path else f"{self.source}: {self.message}")


class RunFailed(Exception):
    """A run that could not do its job (the git remote of `history` cannot be read): one line, exit status 1.
    The message must already be safe to show (the git layer redacts its errors)."""
