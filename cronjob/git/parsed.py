"""What the files of the repository say, parsed once per content and kept between the passes of one Job.

Why: at fleet scale a pass reads thousands of YAML files, and between two passes (or two reads in one pass, like
a canary's status.yaml read before and while deciding it) almost none of them change. A file's blob id tells
whether its bytes changed, so a parse is looked up by (blob id, path, parser): the same content at the same path
gives the same documents, or the same `InputError`, without reading or parsing it again. Entries not used in a
pass are dropped at the start of the next, so a long Job holds only what the repository holds now.

The documents are shared between the reads of a Job: callers read them and never change them (the decisions are
built from copies: `rolled_out`, `CanaryState`, the engine's own values).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from cronjob.git.repo import GitWorkspace
from cronjob.shared.errors import InputError

T = TypeVar("T")
Parser = Callable[..., Any]  # (bytes | None, path, *args) -> what the file says


class ParsedFiles:
    """Parses of the workspace's files by (blob id, path, parser, arguments)."""

    def __init__(self, workspace: GitWorkspace) -> None:
        self.workspace = workspace
        self._kept: dict[tuple[Any, ...], tuple[bool, Any]] = {}
        self._used: dict[tuple[Any, ...], tuple[bool, Any]] = {}
        self.parsed = 0  # parses done (not looked up): for tests and the benchmark

    def new_pass(self) -> None:
        """Forget what the last pass did not use."""
        self._kept, self._used = self._used or self._kept, {}

    def get(self, path: str, parse: Callable[..., T], *args: Any) -> T:
        """`parse(bytes or None, path, *args)` of the file at head, or its `InputError` again."""
        key = (self.workspace.blob_id(path), path, parse, args)
        found = self._used.get(key) or self._kept.get(key)
        if found is None:
            data = None if key[0] is None else self.workspace.read(path)
            self.parsed += 1
            try:
                found = (True, parse(data, path, *args))
            except InputError as err:
                found = (False, err)
        self._used[key] = found
        ok, value = found
        if not ok:
            raise value
        return value
