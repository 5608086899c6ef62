"""Bad input the CLI reports as one line (`FILE: FIELD.PATH: message`) with exit status 2."""

from __future__ import annotations


class InputError(Exception):
    def __init__(self, source: str, path: str, message: str) -> None:
        self.source, self.path, self.message = source, path, message
        super().__init__(self.line)

    @property
    def line(self) -> str:
        return f"{self.source}: {self.path}: {self.message}" if self.path else f"{self.source}: {self.message}"
