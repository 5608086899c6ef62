"""The options of `cronary tick`: one tree, built from the flags by `cronjob.flags.tick_options` and read by both
modes, cluster (`cronjob.kube.tick`) and GitOps (`cronjob.git.tick`). Neutral ground, so GitOps mode needs
nothing from the cluster-mode tick. Each flag lands in exactly one field (`tests/cli/test_tick_options.py`);
what the engine needs is `settings`, handed to `decide` as it is."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from engine import Settings
from engine.alerting.notifier import NotifierTarget


@dataclass(frozen=True)
class Shard:
    """Which canaries one CronJob decides: some namespaces (none = all) and an optional label selector."""

    name: str = "default"
    namespaces: tuple[str, ...] = ()
    selector: str | None = None


@dataclass(frozen=True)
class LeaseOptions:
    """The shard's Lease (`cronary-<shard>`); `namespace` None: no Lease is taken."""

    namespace: str | None = None
    seconds: int = 20


@dataclass(frozen=True)
class NotifyOptions:
    """Where a written decision is told, beyond the canary's own hooks and alerts (Flagger's global flags)."""

    event_webhook: str | None = None  # Flagger's -event-webhook: every event of every canary
    global_alerts: NotifierTarget | None = None  # Flagger's -slack-url / -msteams-url
    cluster_name: str = ""  # Flagger's -cluster-name, shown in alerts


@dataclass(frozen=True)
class PrometheusOptions:
    """The metrics server (Flagger's -metrics-server)."""

    url: str


@dataclass(frozen=True)
class KubeOptions:
    """How to reach the Kubernetes API. `kubeconfig` None: in cluster, else $KUBECONFIG or ~/.kube/config."""

    kubeconfig: str | None
    service_account_dir: str  # in cluster: where the ServiceAccount token and ca.crt are mounted
    request_timeout_seconds: float  # each API call (and, in GitOps mode, each git network call)


@dataclass(frozen=True)
class Signature:
    """Who a commit names as its author or committer (the time comes from the tick, never the clock). cronary's
    own commits are told apart by their trailer block, not by this: it is configurable (`--git-author`)."""

    name: str = "cronary"
    email: str = "cronary@cronary.invalid"

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"


@dataclass(frozen=True)
class PullRequestOptions:
    """`--git-pull-requests HOST`: each step goes to a branch of its own and a pull request through the host's API,
    for branches people protect; the next step waits for the merge. `token` never reaches a log or a message."""

    host: str  # a key of `cronjob.git.hosts.registry.HOSTS`
    api_url: str
    repository: str  # OWNER/NAME on the host
    token: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class GitOptions:
    """GitOps mode (`--git-repo`): where decisions are committed, and how the tick learns a step is live."""

    url: str
    branch: str = "main"
    path: str = "cronary"
    cache_dir: str = "/tmp/cronary-git"
    per_canary: bool = False  # one commit per canary instead of one per tick
    sync_delay_seconds: float = 60.0  # without cluster access: wait this long after a commit before the next step
    manifests: str = ""  # without cluster access: where the team's Canaries and Deployments are in the repository
    read_cluster: bool = True
    push_attempts: int = 4
    author: Signature = Signature()
    committer: Signature | None = None  # None: the author
    # signs a commit's bytes (`--git-signing-key`: `cronjob.git.signing`); None: commits are not signed
    sign: Callable[[bytes], str] | None = field(default=None, repr=False, compare=False)
    pull_requests: PullRequestOptions | None = None  # None: push straight to `branch`


@dataclass(frozen=True)
class TickOptions:
    """Everything `cronary tick` was told. `git` None: cluster mode."""

    shard: Shard = Shard()
    settings: Settings = Settings()
    budget_seconds: float = 50.0
    once: bool = False
    now: datetime | None = None  # pinned clock (`--now`): one pass
    concurrency: int = 1  # canaries of a namespace decided and written at once (each canary's writes stay in order)
    holder: str = "cronary"  # who this process is: the Lease's holder, the Events' reporting instance
    lease: LeaseOptions = LeaseOptions()
    notify: NotifyOptions = NotifyOptions()
    prometheus: PrometheusOptions | None = None  # None: the caller brings its own metrics client
    kube: KubeOptions | None = None  # None: the caller brings its own API client
    git: GitOptions | None = None
    log_level: int = logging.INFO
