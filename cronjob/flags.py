"""The command line's flags, and the one function that turns `cronary tick`'s flags into its options tree.

`tick_flags` puts the tick's flags on a command and hands it one `TickOptions` (`cronjob.shared.options`) built by
`tick_options`, so no command lists them one by one. Every flag is checked there, before anything is read or
written: a bad one is one line naming it and exit status 2 (`InputError`). The flags' names, help texts,
environment variables and defaults are a contract (docs/cli.md; `tests/cli` pins them).
"""

from __future__ import annotations

import functools
import os
import re
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from cronjob.kube.api import SERVICE_ACCOUNT_DIR
from cronjob.shared.errors import InputError
from cronjob.shared.logs import LEVELS
from cronjob.shared.options import (
    GitOptions,
    KubeOptions,
    LeaseOptions,
    NotifyOptions,
    PrometheusOptions,
    PullRequestOptions,
    Shard,
    Signature,
    TickOptions,
)
from cronjob.shared.selectors import parse_selector
from engine import Settings
from engine.alerting.providers import global_target
from engine.durations import parse_go_duration
from engine.errors import SpecError
from engine.names import is_dns1123_label, is_http_url
from engine.redact import origin
from engine.routers.factory import resolve_provider

prometheus_option = click.option(
    "--prometheus",
    "prometheus_url",
    default=None,
    metavar="URL",
    help="Query metrics from this Prometheus (Flagger's -metrics-server) instead of a file or the scenario.",
)

istio_seconds_option = click.option(
    "--istio-seconds",
    is_flag=True,
    help="Built-in request-duration from istio_request_duration_seconds_bucket (Istio 1.4 and older).",
)

mesh_provider_option = click.option(
    "--mesh-provider",
    default=None,
    metavar="NAME",
    help="Provider for Canaries whose spec names none (Flagger's -mesh-provider), e.g. smi:istio.",
)

# `cronary tick`'s flags, in the order `--help` lists them.
TICK_FLAGS: tuple[Callable[[Any], Any], ...] = (
    click.option("--once", is_flag=True, help="One pass over the shard, then exit."),
    click.option(
        "--budget",
        default="50s",
        show_default=True,
        metavar="DURATION",
        help="Stop looping before this much time has passed (keep it under the CronJob period).",
    ),
    click.option(
        "--namespace",
        "namespaces",
        multiple=True,
        metavar="NS",
        help="Decide the Canaries of this namespace (repeatable; default: all namespaces).",
    ),
    click.option("--selector", default=None, metavar="LABELS", help="Only Canaries matching this label selector."),
    click.option(
        "--shard",
        default="default",
        show_default=True,
        metavar="NAME",
        help="The shard's name; its Lease is cronary-NAME.",
    ),
    click.option(
        "--lease-namespace",
        envvar="POD_NAMESPACE",
        default=None,
        metavar="NS",
        help="Namespace of the shard's Lease (default: $POD_NAMESPACE).",
    ),
    click.option(
        "--no-lease",
        is_flag=True,
        help="Do not take a Lease (the status resourceVersion precondition still prevents double decisions).",
    ),
    click.option(
        "--kubeconfig",
        default=None,
        metavar="PATH",
        help="Kubeconfig to use (default: in-cluster, else $KUBECONFIG or ~/.kube/config).",
    ),
    click.option(
        "--service-account-dir",
        envvar="CRONARY_SERVICE_ACCOUNT_DIR",
        default=SERVICE_ACCOUNT_DIR,
        show_default=True,
        metavar="DIR",
        help="In cluster: where the ServiceAccount token and ca.crt are mounted (env CRONARY_SERVICE_ACCOUNT_DIR).",
    ),
    click.option(
        "--now",
        "now_text",
        metavar="RFC3339",
        help="Pin the clock (one pass; for replays and tests). Default: the API server's clock.",
    ),
    mesh_provider_option,
    click.option(
        "--prometheus",
        "prometheus_url",
        default="http://prometheus:9090",
        show_default=True,
        metavar="URL",
        help="The metrics server (Flagger's -metrics-server).",
    ),
    istio_seconds_option,
    click.option(
        "--no-config-tracking",
        is_flag=True,
        help="Do not track ConfigMaps and Secrets (Flagger's -enable-config-tracking=false); Secrets are then never read.",
    ),
    click.option(
        "--checksum-key-file",
        envvar="CRONARY_CHECKSUM_KEY_FILE",
        default=None,
        metavar="PATH",
        help="Key Secret checksums with the key in this file (a mounted Secret; env CRONARY_CHECKSUM_KEY_FILE).",
    ),
    click.option(
        "--include-label-prefix",
        "include_label_prefixes",
        multiple=True,
        metavar="PREFIX",
        help="Labels copied to generated objects (Flagger's -include-label-prefix).",
    ),
    click.option(
        "--selector-labels",
        default="app,name,app.kubernetes.io/name",
        show_default=True,
        help="Selector labels of targets (Flagger's -selector-labels).",
    ),
    click.option(
        "--request-timeout",
        default="10s",
        show_default=True,
        metavar="DURATION",
        help="Timeout of each Kubernetes API call.",
    ),
    click.option(
        "--concurrency",
        default="8",
        show_default=True,
        metavar="N",
        help="Canaries of a namespace decided and written at once (1-64); each canary's own writes stay in order.",
    ),
    click.option(
        "--event-webhook",
        envvar="CRONARY_EVENT_WEBHOOK",
        default=None,
        metavar="URL",
        help="Send every event to this webhook (Flagger's -event-webhook; env CRONARY_EVENT_WEBHOOK).",
    ),
    click.option(
        "--slack-url",
        envvar="CRONARY_SLACK_URL",
        default=None,
        metavar="URL",
        help="Global Slack alerts for canaries without analysis.alerts (env CRONARY_SLACK_URL).",
    ),
    click.option("--slack-channel", default="", metavar="NAME"),
    click.option("--slack-user", default="", metavar="NAME"),
    click.option(
        "--msteams-url",
        envvar="CRONARY_MSTEAMS_URL",
        default=None,
        metavar="URL",
        help="Global Microsoft Teams alerts (env CRONARY_MSTEAMS_URL).",
    ),
    click.option("--cluster-name", default="", metavar="NAME", help="Shown in alerts (Flagger's -cluster-name)."),
    click.option(
        "--git-repo",
        default=None,
        metavar="URL",
        help="GitOps mode: commit decisions to this repository instead of writing to the cluster.",
    ),
    click.option("--git-branch", default="main", show_default=True, metavar="BRANCH"),
    click.option(
        "--git-path",
        default="cronary",
        show_default=True,
        metavar="PATH",
        help="Directory in the repository for cronary's files.",
    ),
    click.option(
        "--git-cache",
        envvar="CRONARY_GIT_CACHE",
        default="/tmp/cronary-git",
        show_default=True,
        metavar="DIR",
        help="Where the bare clone is kept between passes.",
    ),
    click.option("--git-commit-per-canary", is_flag=True, help="One commit per canary instead of one per tick."),
    click.option(
        "--no-cluster",
        is_flag=True,
        help="GitOps mode without cluster access: Canaries and targets come from the repository.",
    ),
    click.option(
        "--git-manifests",
        default="",
        metavar="PATH",
        help="With --no-cluster: where the team's Canaries and Deployments are in the repository (default: all of it).",
    ),
    click.option(
        "--sync-delay",
        default="60s",
        show_default=True,
        metavar="DURATION",
        help="With --no-cluster: how long the GitOps tool takes to sync a commit.",
    ),
    click.option(
        "--git-author",
        envvar="CRONARY_GIT_AUTHOR",
        default=str(Signature()),
        show_default=True,
        metavar='"NAME <EMAIL>"',
        help="The author of cronary's commits (env CRONARY_GIT_AUTHOR).",
    ),
    click.option(
        "--git-committer",
        envvar="CRONARY_GIT_COMMITTER",
        default=None,
        metavar='"NAME <EMAIL>"',
        help="The committer of cronary's commits (env CRONARY_GIT_COMMITTER; default: the author).",
    ),
    click.option(
        "--git-signing-key",
        envvar="CRONARY_GIT_SIGNING_KEY",
        default=None,
        metavar="FILE",
        help="Sign each commit with this key: an OpenSSH private key or an armored OpenPGP secret key, without a "
        "passphrase (env CRONARY_GIT_SIGNING_KEY).",
    ),
    click.option(
        "--git-pull-requests",
        default=None,
        metavar="HOST",
        help="Propose each step as a pull request through this host's API instead of pushing to --git-branch "
        "(github); the next step waits for the merge.",
    ),
    click.option(
        "--git-api-url",
        envvar="CRONARY_GIT_API_URL",
        default=None,
        metavar="URL",
        help="With --git-pull-requests: the host's API (default: the host's public API; env CRONARY_GIT_API_URL).",
    ),
    click.option(
        "--git-api-repo",
        default=None,
        metavar="OWNER/NAME",
        help="With --git-pull-requests: the repository on the host (default: the last two parts of --git-repo).",
    ),
    click.option(
        "--git-api-token-file",
        envvar="CRONARY_GIT_API_TOKEN_FILE",
        default=None,
        metavar="FILE",
        help="With --git-pull-requests: a file holding the API token (env CRONARY_GIT_API_TOKEN_FILE; or the token "
        "itself in CRONARY_GIT_API_TOKEN).",
    ),
    click.option(
        "--log-level",
        envvar="CRONARY_LOG_LEVEL",
        type=click.Choice(list(LEVELS), case_sensitive=False),
        default="info",
        show_default=True,
        help="The least severe log lines printed (env CRONARY_LOG_LEVEL).",
    ),
)


def tick_flags(command: Callable[[TickOptions], None]) -> Callable[..., None]:
    """Put the tick's flags on `command`, which is called with the options tree built from them."""

    @functools.wraps(command)
    def with_options(**flags: Any) -> None:
        command(tick_options(**flags))

    for flag in reversed(TICK_FLAGS):
        with_options = flag(with_options)
    return with_options


def tick_options(**flags: Any) -> TickOptions:
    """The options tree from `cronary tick`'s flags (by their click parameter names), every flag checked.
    Checked in the order a bad flag has always been reported in: git mode's, the shard's, then the rest."""
    git = git_options(
        flags["git_repo"],
        flags["git_branch"],
        flags["git_path"],
        flags["git_cache"],
        per_canary=flags["git_commit_per_canary"],
        no_cluster=flags["no_cluster"],
        manifests=flags["git_manifests"],
        sync_delay=flags["sync_delay"],
        author=flags["git_author"],
        committer=flags["git_committer"],
        signing_key=flags["git_signing_key"],
        pull_requests=flags["git_pull_requests"],
        api_url=flags["git_api_url"],
        api_repo=flags["git_api_repo"],
        api_token_file=flags["git_api_token_file"],
    )
    shard = _shard(flags["shard"], flags["namespaces"], flags["selector"])
    lease = _lease(flags["lease_namespace"], no_lease=flags["no_lease"] or git is not None)
    settings = _settings(
        flags["mesh_provider"],
        flags["selector_labels"],
        flags["no_config_tracking"],
        flags["include_label_prefixes"],
        flags["istio_seconds"],
        _checksum_key(flags["checksum_key_file"]),
    )
    notify = _notify(
        flags["event_webhook"],
        flags["slack_url"],
        flags["slack_channel"],
        flags["slack_user"],
        flags["msteams_url"],
        flags["cluster_name"],
    )
    budget = duration("--budget", flags["budget"], 1, 3600)
    now = _parse_now(flags["now_text"]) if flags["now_text"] else None
    concurrency = _count("--concurrency", flags["concurrency"], 1, 64)
    if not is_http_url(flags["prometheus_url"]):
        raise InputError("--prometheus", "", not_a_url(flags["prometheus_url"]))
    kube = KubeOptions(
        kubeconfig=flags["kubeconfig"],
        service_account_dir=flags["service_account_dir"],
        request_timeout_seconds=duration("--request-timeout", flags["request_timeout"], 0.1, 300),
    )
    return TickOptions(
        shard=shard,
        settings=settings,
        budget_seconds=budget,
        once=flags["once"],
        now=now,
        concurrency=concurrency,
        holder=_holder(),
        lease=lease,
        notify=notify,
        prometheus=PrometheusOptions(flags["prometheus_url"]),
        kube=kube,
        git=git,
        log_level=LEVELS[flags["log_level"].lower()],
    )


def _shard(name: str, namespaces: tuple[str, ...], selector: str | None) -> Shard:
    for namespace in namespaces:
        if not is_dns1123_label(namespace):
            raise InputError("--namespace", "", f"must be a namespace name (DNS-1123 label), got {namespace!r}")
    if not is_dns1123_label(name) or len(name) > 50:
        raise InputError(
            "--shard", "", f"must be a DNS-1123 label of at most 50 characters (it names the Lease), got {name!r}"
        )
    if selector is not None:
        try:
            parse_selector(selector)
        except ValueError:
            raise InputError(
                "--selector", "", f"must be a label selector like 'team=a,tier!=batch', got {selector!r}"
            ) from None
    return Shard(name, tuple(dict.fromkeys(namespaces)), selector)


def _lease(namespace: str | None, *, no_lease: bool) -> LeaseOptions:
    """No Lease with `--no-lease`, or in GitOps mode (the push is the compare-and-swap)."""
    if no_lease:
        return LeaseOptions(None)
    if not namespace:
        raise InputError(
            "--lease-namespace", "", "not set: give it, set POD_NAMESPACE (the CronJob does), or pass --no-lease"
        )
    if not is_dns1123_label(namespace):
        raise InputError("--lease-namespace", "", f"must be a namespace name (DNS-1123 label), got {namespace!r}")
    return LeaseOptions(namespace)


def _settings(
    mesh_provider: str | None,
    selector_labels: str,
    no_config_tracking: bool,
    include_label_prefixes: tuple[str, ...],
    istio_seconds: bool,
    checksum_key: bytes,
) -> Settings:
    if mesh_provider:
        try:
            resolve_provider(None, mesh_provider)
        except SpecError as err:
            raise InputError("--mesh-provider", "", err.message) from None
    labels = tuple(label.strip() for label in selector_labels.split(",") if label.strip())
    if not labels:
        raise InputError("--selector-labels", "", "must name at least one label")
    return Settings(
        mesh_provider=mesh_provider,
        selector_labels=labels,
        config_tracking=not no_config_tracking,
        include_label_prefixes=include_label_prefixes,
        istio_seconds=istio_seconds,
        checksum_key=checksum_key,
    )


MIN_KEY_BYTES, MAX_KEY_BYTES = 16, 4096


def _checksum_key(path: str | None) -> bytes:
    """The key of `--checksum-key-file`, surrounding whitespace stripped (a Secret made with `--from-literal` or
    a file with a trailing newline keys the same). Its content is never shown, in an error or anywhere else."""
    if path is None:
        return b""
    try:
        with open(path, "rb") as file:
            key = file.read(MAX_KEY_BYTES + 1).strip()
    except OSError as err:
        raise InputError(
            "--checksum-key-file", "", f"cannot read {path}: {err.strerror or type(err).__name__}"
        ) from None
    if not MIN_KEY_BYTES <= len(key) <= MAX_KEY_BYTES:
        raise InputError(
            "--checksum-key-file", "", f"{path} must hold a key of {MIN_KEY_BYTES} to {MAX_KEY_BYTES} bytes"
        )
    return key


def _notify(
    event_webhook: str | None,
    slack_url: str | None,
    slack_channel: str,
    slack_user: str,
    msteams_url: str | None,
    cluster_name: str,
) -> NotifyOptions:
    global_alerts = None
    for flag, url, kind in (("--slack-url", slack_url, "slack"), ("--msteams-url", msteams_url, "msteams")):
        if url:
            try:
                global_alerts = global_target(kind, url, channel=slack_channel, username=slack_user)
            except SpecError as err:
                raise InputError(flag, "", err.message) from None
    if event_webhook is not None and not is_http_url(event_webhook):
        raise InputError("--event-webhook", "", "must be an http(s) URL (the value is not shown)")
    return NotifyOptions(event_webhook=event_webhook, global_alerts=global_alerts, cluster_name=cluster_name)


def not_a_url(url: str) -> str:
    """Why a URL flag was refused, showing no more of it than its origin (it may carry a credential)."""
    return f"must be an http(s) URL with a host and no user:password@, got {origin(url)}"


def _count(option: str, text: str, low: int, high: int) -> int:
    if not (text.isascii() and text.isdigit() and low <= int(text) <= high):
        raise InputError(option, "", f"must be a whole number from {low} to {high}, got {text!r}")
    return int(text)


def duration(option: str, text: str, low: float, high: float) -> float:
    """A duration flag (`50s`, `1m30s`) in seconds, within `low..high`."""
    try:
        seconds = parse_go_duration(text)
    except ValueError:
        raise InputError(option, "", f"must be a duration like 50s or 1m30s, got {text!r}") from None
    if not low <= seconds <= high:
        raise InputError(option, "", f"must be between {low:g}s and {high:g}s, got {text}")
    return seconds


def _parse_now(text: str) -> Any:
    from cronjob.local.inputs import parse_now

    return parse_now(text)


def _holder() -> str:
    """Who holds the Lease: the pod's name (its hostname) and the process."""
    return f"{socket.gethostname()}_{os.getpid()}"


_GIT_URL = re.compile(r"^(https?://|ssh://|file://|/|[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:)\S+$")


def git_options(
    url: str | None,
    branch: str,
    path: str,
    cache: str,
    *,
    per_canary: bool = False,
    no_cluster: bool = False,
    manifests: str = "",
    sync_delay: str = "0s",
    author: str = str(Signature()),
    committer: str | None = None,
    signing_key: str | None = None,
    pull_requests: str | None = None,
    api_url: str | None = None,
    api_repo: str | None = None,
    api_token_file: str | None = None,
) -> GitOptions | None:
    """GitOps mode's options from the `--git-*` flags (`tick` and `history`); None without `--git-repo`."""
    if url is None:
        for option, value in (
            ("--no-cluster", no_cluster),
            ("--git-signing-key", signing_key),
            ("--git-pull-requests", pull_requests),
        ):
            if value:
                raise InputError(option, "", "only with --git-repo (GitOps mode)")
        return None
    if not _GIT_URL.match(url):
        raise InputError(
            "--git-repo",
            "",
            "must be an https://, ssh://, file:// URL, user@host:path or an absolute path (the value is not shown)",
        )
    if "?" in url or "#" in url:  # the cache keeps the URL in its config: a token in the query would be on disk
        raise InputError(
            "--git-repo",
            "",
            "must have no query or fragment (a token belongs in CRONARY_GIT_TOKEN; the value is not shown)",
        )
    _check_branch(branch)
    for option, value in (("--git-path", path), ("--git-manifests", manifests)):
        if value and (
            not re.fullmatch(r"[A-Za-z0-9._/-]+", value) or ".." in value.split("/") or value.startswith("/")
        ):
            raise InputError(option, "", f"must be a relative path inside the repository, got {value!r}")
    return GitOptions(
        url=url,
        branch=branch,
        path=path.strip("/"),
        cache_dir=cache,
        per_canary=per_canary,
        sync_delay_seconds=duration("--sync-delay", sync_delay, 0, 86400),
        manifests=manifests.strip("/"),
        read_cluster=not no_cluster,
        author=signature("--git-author", author),
        committer=signature("--git-committer", committer) if committer else None,
        sign=_signer(signing_key) if signing_key else None,
        pull_requests=_pull_requests(url, pull_requests, api_url, api_repo, api_token_file),
    )


_SIGNATURE = re.compile(r"^([^<>\x00-\x1f]*?)\s*<([^<>\s]+)>$")


def signature(option: str, text: str) -> Signature:
    """`Name <email>`, as git writes an identity: a name and an address without angle brackets or line breaks."""
    found = _SIGNATURE.match(text.strip())
    if not found or not found.group(1).strip():
        raise InputError(option, "", f"must be an identity like 'cronary <cronary@example.com>', got {text!r}")
    return Signature(found.group(1).strip(), found.group(2))


def _signer(path: str) -> Any:
    """The signer of `--git-signing-key`, tried once on a test payload, so a bad key stops the tick before it
    fetches anything. The message names the flag and the reason, never the key's content."""
    from cronjob.git.signing import SigningKeyError, load_signer

    try:
        return load_signer(path)
    except SigningKeyError as err:
        raise InputError("--git-signing-key", "", str(err)) from None


_API_REPO = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


def _pull_requests(
    url: str, host: str | None, api_url: str | None, api_repo: str | None, token_file: str | None
) -> PullRequestOptions | None:
    """`--git-pull-requests` and the flags that only mean something with it."""
    from cronjob.git.hosts.registry import HOSTS

    if host is None:
        for option, value in (
            ("--git-api-url", api_url),
            ("--git-api-repo", api_repo),
            ("--git-api-token-file", token_file),
        ):
            if value:
                raise InputError(option, "", "only with --git-pull-requests")
        return None
    if host not in HOSTS:
        raise InputError("--git-pull-requests", "", f"must be one of {', '.join(sorted(HOSTS))}, got {host!r}")
    api_url = api_url or HOSTS[host][0]
    if not is_http_url(api_url):
        raise InputError("--git-api-url", "", not_a_url(api_url))
    repository = api_repo or _repository_of(url)
    if not repository or not _API_REPO.match(repository):
        given = f"got {api_repo!r}" if api_repo else "and --git-repo does not end in OWNER/NAME"
        raise InputError("--git-api-repo", "", f"must be the repository on the host as OWNER/NAME, {given}")
    token = os.environ.get("CRONARY_GIT_API_TOKEN") or None
    if token_file:
        try:
            token = Path(token_file).read_text(encoding="utf-8").strip() or None
        except (OSError, UnicodeDecodeError) as err:
            raise InputError("--git-api-token-file", "", f"cannot read it: {type(err).__name__}") from None
    return PullRequestOptions(host, api_url, repository, token)


def _repository_of(url: str) -> str | None:
    """OWNER/NAME from a remote's URL (`https://github.com/team/apps.git`, `git@github.com:team/apps.git`)."""
    path = url.split("://", 1)[1].partition("/")[2] if "://" in url else url.partition(":")[2]
    parts = [p for p in path.split("?")[0].split("/") if p]
    if len(parts) < 2 or url.startswith(("/", "file://")):
        return None
    return f"{parts[-2]}/{parts[-1].removesuffix('.git')}"


def _check_branch(branch: str) -> None:
    """git's own rules for a branch name (`git check-ref-format --branch`): libgit2's check of `refs/heads/NAME`
    (no `..`, `@{`, `//`, `.lock` ending, trailing `/` or `.`, spaces, control or glob characters …) plus the two
    `--branch` adds (no leading `-`, not `HEAD`). Checked before anything is fetched or written."""
    import pygit2  # git mode only

    try:
        valid = pygit2.reference_is_valid_name(f"refs/heads/{branch}")
    except (ValueError, TypeError):  # a NUL byte, or bytes that are not UTF-8 in the argument
        valid = False
    if not valid or not branch or branch.startswith("-") or branch == "HEAD":
        raise InputError(
            "--git-branch", "", f"not a branch name git accepts (git check-ref-format --branch): {branch!r}"
        )
