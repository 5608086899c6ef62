"""The options of `cronary tick`, shared by its two modes: cluster mode (`cronjob.kube.tick`) and GitOps mode
(`cronjob.git.tick`). Neutral ground, so GitOps mode needs nothing from the cluster-mode tick."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from engine import Settings
from engine.alert_providers import NotifierTarget


@dataclass(frozen=True)
class Shard:
    """Which canaries one CronJob decides: some namespaces (none = all) and an optional label selector."""

    name: str = "default"
    namespaces: tuple[str, ...] = ()
    selector: str | None = None


@dataclass(frozen=True)
class TickOptions:
    shard: Shard = Shard()
    settings: Settings = Settings()
    budget_seconds: float = 50.0
    once: bool = False
    now: datetime | None = None  # pinned clock (`--now`): one pass
    include_label_prefixes: tuple[str, ...] = ()
    holder: str = "cronary"
    lease_namespace: str | None = None  # None: no Lease
    lease_seconds: int = 20
    event_webhook: str | None = None  # Flagger's -event-webhook: every event of every canary
    global_alerts: NotifierTarget | None = None  # Flagger's -slack-url / -msteams-url
    cluster_name: str = ""
    concurrency: int = 1  # canaries of a namespace decided and written at once (each canary's writes stay in order)
