"""The git hosts the pull-request mode can talk to, by the value of `--git-pull-requests`. A new host (GitLab,
Gitea, Bitbucket) is one module implementing `host.Host` plus one line here."""

from __future__ import annotations

from collections.abc import Callable

from cronjob.git.hosts.github import GitHub
from cronjob.git.hosts.host import Host
from cronjob.shared.options import PullRequestOptions

# name -> (the API's URL when none is given, how to build the client for a base branch)
HOSTS: dict[str, tuple[str, Callable[[PullRequestOptions, str, float], Host]]] = {
    "github": ("https://api.github.com", GitHub.of),
}


def host_for(options: PullRequestOptions, base: str, timeout_seconds: float) -> Host:
    """The client of `options.host` for pull requests into `base`."""
    return HOSTS[options.host][1](options, base, timeout_seconds)
