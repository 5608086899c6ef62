"""What the pull-request mode needs of a git host's API, whatever the host: the seam every host module fills.

A step goes to a branch of its own (`cronary/<namespace>/<canary>`); the host is asked which of those branches
have an open pull request (the next step of that canary waits for its merge) and to open, or update, the pull
request of a branch with the step's evidence as its body. Whether a step was merged is read from git itself (the
base branch's `status.yaml` shows it), never from the host: the repository stays the one source of truth.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol


class HostError(Exception):
    """The host's API failed or refused; the message names the API by its origin, never a token or a path."""


@dataclass(frozen=True)
class PullRequest:
    """One pull request as the host shows it."""

    number: int
    url: str  # the page people open (html_url on GitHub)
    branch: str  # its head branch
    open: bool


class Host(Protocol):
    """A git host's pull requests for one repository and one base branch."""

    def open_pull_requests(self) -> Mapping[str, PullRequest]:
        """The open pull requests into the base branch, by head branch (one request per pass, not per canary)."""
        ...

    def propose(self, branch: str, title: str, body: str) -> PullRequest:
        """Open the pull request of `branch` into the base branch, or update its title and body if one is open."""
        ...
