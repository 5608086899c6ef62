"""Errors the core raises for input it cannot accept."""

from __future__ import annotations


class SpecError(ValueError):
    """A field of an input object is missing or invalid.

    `path` is the dotted field path inside the object (`spec.analysis.stepWeight`), so the shell can print
    one line naming the file and the field.
    """

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message
