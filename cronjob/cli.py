"""The `cronary` command line: render, simulate, validate, tick, history.

The output contract (docs/cli.md), kept in one place, `_Cli`:

* Exit status 2 for bad input of any kind (a file, a field, a flag, a usage error), 1 for a run that failed
  (including an exception nobody foresaw), 0 otherwise.
* An error is one line: `error: FILE: FIELD.PATH: message` on stderr, nothing on stdout (output is built
  completely before it is printed). `tick` logs JSON lines on stdout, so its errors are JSON log lines too,
  the last one before it exits; a log pipeline never sees anything else.
* No traceback unless `--debug` asks for it; it then goes to stderr. Every line passes `engine.redact`.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import sys
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import click

from cronjob.kube.api import SERVICE_ACCOUNT_DIR, KubeClient, KubeconfigError, configuration_for
from cronjob.kube.tick import Tick
from cronjob.shared.errors import EXIT_BAD_INPUT, EXIT_FAILED, InputError, RunFailed
from cronjob.shared.logs import LEVELS, LOGGER, traceback_text
from cronjob.shared.logs import configure as configure_logs
from cronjob.shared.options import Shard, TickOptions
from cronjob.shared.prometheus import PrometheusMetrics
from cronjob.shared.webhooks import WebhookCaller
from engine import HookRequest, HookResult, MetricRequest, Settings
from engine.alert_providers import global_target
from engine.durations import parse_go_duration
from engine.errors import SpecError
from engine.names import is_dns1123_label, is_http_url
from engine.redact import origin, redact
from engine.routers.factory import resolve_provider

# render, simulate, validate and history import their machinery (ruamel.yaml, the file readers, the simulator)
# inside the command: `cronary tick` starts once a minute in every shard, and start-up is part of its budget.
if TYPE_CHECKING:
    from cronjob.git.tick import GitOptions
    from engine.analysis import MetricResult, Templates

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


def _prometheus(
    url: str | None, cluster_file: str, objects: list[dict[str, Any]]
) -> tuple[PrometheusMetrics | None, Templates]:
    """The Prometheus to run the engine's queries on, and the cluster file's MetricTemplates for the engine to
    render them with (read only with a Prometheus: without one, metric values come from a file by name)."""
    from cronjob.local.inputs import metric_templates, template_secrets

    if url is None:
        return None, {}
    if not is_http_url(url):
        raise InputError("--prometheus", "", _not_a_url(url))
    templates = metric_templates(cluster_file, objects)
    secrets = template_secrets(cluster_file, objects, templates)
    return PrometheusMetrics(url, read_secret=lambda ns, name: secrets.get((ns, name))), templates


def _not_a_url(url: str) -> str:
    """Why a URL flag was refused, showing no more of it than its origin (it may carry a credential)."""
    return f"must be an http(s) URL with a host and no user:password@, got {origin(url)}"


# ----------------------------------------------------------------------------------------------------------
# the output contract: exit statuses, one-line errors, tracebacks only with --debug


@dataclass
class _Invocation:
    """What the error handling needs to know about the command being run. The CLI runs one command per
    process (tests run them one after another), so one instance, reset by each `main()`, is enough."""

    command: str | None = None
    debug: bool = False
    logs_configured: bool = False  # tick: its JSON log handler is set up for this run


_RUN = _Invocation()


def _set_debug(_ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    """`--debug` is read before the command runs (eager), so an error in any later step knows of it."""
    if value:
        _RUN.debug = True


debug_option = click.option(
    "--debug",
    is_flag=True,
    is_eager=True,
    expose_value=False,
    callback=_set_debug,
    help="On an error, also print its traceback (to stderr).",
)


def _configure_logs(level: int = logging.INFO) -> None:
    configure_logs(level=level, debug=_RUN.debug)
    _RUN.logs_configured = True


def _report(message: str, status: int, err: BaseException, unexpected: bool = False) -> None:
    """The one line of an error (a JSON log line in `tick`, naming the exception's type when it was not
    foreseen), after its traceback when `--debug` asks, then exit with `status`."""
    if _RUN.debug:
        click.echo(traceback_text(err), err=True)
    line = redact(message)
    if _RUN.command == "tick":
        if not _RUN.logs_configured:
            _configure_logs()
        logging.getLogger(LOGGER).error("%s", line, extra={"exception": type(err).__name__} if unexpected else {})
    else:
        click.echo(f"error: {line}", err=True)
    sys.exit(status)


class _Cli(click.Group):
    """Every command's errors end here (see the module docstring): usage errors and `InputError` exit 2,
    `RunFailed` and unexpected exceptions exit 1, each as one line."""

    def main(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        global _RUN
        _RUN = _Invocation()
        kwargs.pop("standalone_mode", None)
        try:
            return super().main(*args, standalone_mode=False, **kwargs)
        except click.exceptions.Abort as err:
            _report("aborted", EXIT_FAILED, err)
        except click.ClickException as err:
            _report(err.format_message(), EXIT_BAD_INPUT if isinstance(err, click.UsageError) else err.exit_code, err)
        except InputError as err:
            _report(err.line, EXIT_BAD_INPUT, err)
        except RunFailed as err:
            _report(str(err), EXIT_FAILED, err)
        except Exception as err:
            _report(
                f"unexpected error: {type(err).__name__}" + (f": {err}" if str(err) else ""),
                EXIT_FAILED,
                err,
                unexpected=True,
            )

    def resolve_command(self, ctx: click.Context, args: list[str]) -> Any:
        name, command, rest = super().resolve_command(ctx, args)
        _RUN.command = command.name if command is not None else name
        return name, command, rest


@click.group(cls=_Cli)
@click.version_option(package_name="cronary")
@debug_option
def main() -> None:
    """cronary: Flagger-compatible canary analysis as a pure function, ticked by a CronJob."""


@main.command()
@click.argument("canary_file", metavar="CANARY.yaml")
@click.option(
    "--cluster", "cluster_file", required=True, metavar="CLUSTER.yaml", help="Cluster objects (YAML stream or v1 List)."
)
@click.option("--metrics", "metrics_file", metavar="METRICS.yaml", help="Metric name to value (null = no data).")
@click.option(
    "--webhooks",
    "hooks_file",
    metavar="WEBHOOKS.yaml",
    help="Webhook name to pass|fail (default: every hook passes, rollback hooks do not signal).",
)
@click.option("--now", "now_text", metavar="RFC3339", help="The tick's time (default: the local clock).")
@click.option("-o", "--output", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True)
@mesh_provider_option
@prometheus_option
@istio_seconds_option
@debug_option
def render(
    canary_file: str,
    cluster_file: str,
    metrics_file: str | None,
    hooks_file: str | None,
    now_text: str | None,
    output: str,
    mesh_provider: str | None,
    prometheus_url: str | None,
    istio_seconds: bool,
) -> None:
    """Print every object one tick would write and, last, the Canary with its next status."""
    from cronjob.local.inputs import (
        build_cluster,
        check_references,
        cluster_objects,
        default_hook_result,
        hook_results,
        parse_now,
        read_canary,
        read_metrics_file,
    )
    from cronjob.shared.driver import providers_available, run_tick
    from cronjob.shared.yamlio import dump_json, dump_yaml_stream, load_single
    from engine.status_doc import canary_manifest

    now = parse_now(now_text)
    canary = read_canary(canary_file, mesh_provider)
    objects = cluster_objects(cluster_file)
    cluster = build_cluster(objects)
    check_references(canary, canary_file, cluster, cluster_file)
    if metrics_file and prometheus_url:
        raise InputError("--prometheus", "", "give either --metrics or --prometheus, not both")
    prometheus, templates = _prometheus(prometheus_url, cluster_file, objects)
    cluster = replace(cluster, metric_templates=templates)
    metrics = read_metrics_file(metrics_file)
    hooks = hook_results(hooks_file, "", load_single(hooks_file)) if hooks_file else {}

    def answer_hook(request: HookRequest) -> HookResult:
        return hooks.get(request.hook.name) or default_hook_result(request.hook.type)

    def answer_metrics(requests: tuple[MetricRequest, ...]) -> dict[str, MetricResult]:
        if prometheus is not None:
            return prometheus.answer(requests)
        names = [r.metric.name for r in requests]
        if metrics is None:
            raise InputError("--metrics", "", f"this tick analyses metrics ({', '.join(names)}): give a METRICS.yaml")
        missing = [n for n in names if n not in metrics]
        if missing:
            raise InputError(
                str(metrics_file), missing[0], "no value for this metric of the canary (a number, or null for no data)"
            )
        return {n: metrics[n] for n in names}

    providers = prometheus.providers_available if prometheus is not None else providers_available
    decision = run_tick(
        canary,
        cluster,
        now,
        Settings(mesh_provider=mesh_provider, istio_seconds=istio_seconds),
        answer_hook,
        answer_metrics,
        providers,
        prefetch_metrics=prometheus is not None,
    )
    documents = [*decision.objects, canary_manifest(canary, decision.status)]
    if output == "json":
        click.echo(dump_json({"apiVersion": "v1", "kind": "List", "items": documents}), nl=False)
        return
    notes = [f"# {e.type}: {e.message}\n" for e in decision.events]
    if not decision.due:
        notes.append(f"# not due: {canary.key} is next decided at {decision.next_due}\n")
    notes += [
        f"# copy Secret {canary.namespace}/{src} to {dst} (Secret data is never printed)\n"
        for src, dst in decision.secret_copies
    ]
    click.echo(dump_yaml_stream(documents, header="".join(notes)), nl=False)


@main.command()
@click.argument("canary_file", metavar="CANARY.yaml")
@click.option("--cluster", "cluster_file", required=True, metavar="CLUSTER.yaml")
@click.option("--scenario", "scenario_file", required=True, metavar="SCENARIO.yaml")
@click.option("-o", "--output", type=click.Choice(["table", "json"]), default="table", show_default=True)
@mesh_provider_option
@prometheus_option
@istio_seconds_option
@debug_option
def simulate(
    canary_file: str,
    cluster_file: str,
    scenario_file: str,
    output: str,
    mesh_provider: str | None,
    prometheus_url: str | None,
    istio_seconds: bool,
) -> None:
    """Play ticks until the scenario is done and the canary rests; print the timeline."""
    from cronjob.local.inputs import build_cluster, check_references, cluster_objects, read_canary, read_scenario
    from cronjob.local.simulation import SimulatedCluster, Simulation
    from cronjob.shared.timeline import format_table
    from cronjob.shared.yamlio import dump_json

    canary = read_canary(canary_file, mesh_provider)
    objects = cluster_objects(cluster_file)
    cluster = build_cluster(objects)
    check_references(canary, canary_file, cluster, cluster_file)
    scenario = read_scenario(scenario_file)
    settings = Settings(mesh_provider=mesh_provider, istio_seconds=istio_seconds)
    simulation = Simulation(canary, SimulatedCluster.of(cluster), scenario, settings, scenario_file)
    simulation.prometheus, simulation.cluster.metric_templates = _prometheus(prometheus_url, cluster_file, objects)
    records = simulation.run()
    if output == "json":
        click.echo(dump_json([r.as_json() for r in records]), nl=False)
    else:
        click.echo(format_table(records), nl=False)


@main.command()
@click.argument("canary_files", metavar="CANARY.yaml...", nargs=-1, required=True)
@mesh_provider_option
@debug_option
def validate(canary_files: tuple[str, ...], mesh_provider: str | None) -> None:
    """Check Canaries without a cluster; print one line per Canary."""
    from cronjob.local.inputs import read_canaries

    lines = []
    for path in canary_files:
        for canary in read_canaries(path):
            if canary.spec.provider or mesh_provider:
                try:
                    resolve_provider(canary.spec.provider, mesh_provider)
                except SpecError as err:
                    raise InputError(path, err.path, err.message) from None
            lines.append(f"{path}: {canary.api_version} Canary {canary.key}: valid")
    click.echo("\n".join(lines))


_SELECTOR = re.compile(
    r"^\s*!?[A-Za-z0-9./_-]+(\s*(=|==|!=)\s*[A-Za-z0-9._-]*|\s+(in|notin)\s*\([A-Za-z0-9._,\s-]*\))?\s*$"
)


def _count(option: str, text: str, low: int, high: int) -> int:
    if not (text.isascii() and text.isdigit() and low <= int(text) <= high):
        raise InputError(option, "", f"must be a whole number from {low} to {high}, got {text!r}")
    return int(text)


def _duration(option: str, text: str, low: float, high: float) -> float:
    try:
        seconds = parse_go_duration(text)
    except ValueError:
        raise InputError(option, "", f"must be a duration like 50s or 1m30s, got {text!r}") from None
    if not low <= seconds <= high:
        raise InputError(option, "", f"must be between {low:g}s and {high:g}s, got {text}")
    return seconds


def _tick_options(
    once: bool,
    budget: str,
    namespaces: tuple[str, ...],
    selector: str | None,
    shard: str,
    lease_namespace: str | None,
    no_lease: bool,
    now_text: str | None,
    mesh_provider: str | None,
    istio_seconds: bool,
    no_config_tracking: bool,
    include_label_prefixes: tuple[str, ...],
    selector_labels: str,
    event_webhook: str | None,
    slack_url: str | None,
    slack_channel: str,
    slack_user: str,
    msteams_url: str | None,
    cluster_name: str,
    concurrency: str,
) -> TickOptions:
    """Check every flag before anything is read or written; a bad one is one line and exit status 2."""
    for namespace in namespaces:
        if not is_dns1123_label(namespace):
            raise InputError("--namespace", "", f"must be a namespace name (DNS-1123 label), got {namespace!r}")
    if not is_dns1123_label(shard) or len(shard) > 50:
        raise InputError(
            "--shard", "", f"must be a DNS-1123 label of at most 50 characters (it names the Lease), got {shard!r}"
        )
    if selector is not None and not all(_SELECTOR.match(part) for part in _split_selector(selector)):
        raise InputError("--selector", "", f"must be a label selector like 'team=a,tier!=batch', got {selector!r}")
    if not no_lease and not lease_namespace:
        raise InputError(
            "--lease-namespace", "", "not set: give it, set POD_NAMESPACE (the CronJob does), or pass --no-lease"
        )
    if not no_lease and not is_dns1123_label(lease_namespace):
        raise InputError("--lease-namespace", "", f"must be a namespace name (DNS-1123 label), got {lease_namespace!r}")
    if mesh_provider:
        try:
            resolve_provider(None, mesh_provider)
        except SpecError as err:
            raise InputError("--mesh-provider", "", err.message) from None
    labels = tuple(label.strip() for label in selector_labels.split(",") if label.strip())
    if not labels:
        raise InputError("--selector-labels", "", "must name at least one label")
    global_alerts = None
    for flag, url, kind in (("--slack-url", slack_url, "slack"), ("--msteams-url", msteams_url, "msteams")):
        if url:
            try:
                global_alerts = global_target(kind, url, channel=slack_channel, username=slack_user)
            except SpecError as err:
                raise InputError(flag, "", err.message) from None
    if event_webhook is not None and not is_http_url(event_webhook):
        raise InputError("--event-webhook", "", "must be an http(s) URL (the value is not shown)")
    return TickOptions(
        shard=Shard(shard, tuple(dict.fromkeys(namespaces)), selector),
        settings=Settings(
            mesh_provider=mesh_provider,
            selector_labels=labels,
            config_tracking=not no_config_tracking,
            include_label_prefixes=include_label_prefixes,
            istio_seconds=istio_seconds,
        ),
        budget_seconds=_duration("--budget", budget, 1, 3600),
        once=once,
        now=_parse_now(now_text) if now_text else None,
        include_label_prefixes=include_label_prefixes,
        holder=_holder(),
        lease_namespace=None if no_lease else lease_namespace,
        event_webhook=event_webhook,
        global_alerts=global_alerts,
        cluster_name=cluster_name,
        concurrency=_count("--concurrency", concurrency, 1, 64),
    )


def _parse_now(text: str) -> Any:
    from cronjob.local.inputs import parse_now

    return parse_now(text)


def _split_selector(selector: str) -> list[str]:
    """Split on the commas that are not inside `in (...)`."""
    parts, depth, current = [], 0, ""
    for char in selector:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    return [*parts, current]


def _holder() -> str:
    """Who holds the Lease: the pod's name (its hostname) and the process."""
    return f"{socket.gethostname()}_{os.getpid()}"


@main.command()
@click.option("--once", is_flag=True, help="One pass over the shard, then exit.")
@click.option(
    "--budget",
    default="50s",
    show_default=True,
    metavar="DURATION",
    help="Stop looping before this much time has passed (keep it under the CronJob period).",
)
@click.option(
    "--namespace",
    "namespaces",
    multiple=True,
    metavar="NS",
    help="Decide the Canaries of this namespace (repeatable; default: all namespaces).",
)
@click.option("--selector", default=None, metavar="LABELS", help="Only Canaries matching this label selector.")
@click.option(
    "--shard", default="default", show_default=True, metavar="NAME", help="The shard's name; its Lease is cronary-NAME."
)
@click.option(
    "--lease-namespace",
    envvar="POD_NAMESPACE",
    default=None,
    metavar="NS",
    help="Namespace of the shard's Lease (default: $POD_NAMESPACE).",
)
@click.option(
    "--no-lease",
    is_flag=True,
    help="Do not take a Lease (the status resourceVersion precondition still prevents double decisions).",
)
@click.option(
    "--kubeconfig",
    default=None,
    metavar="PATH",
    help="Kubeconfig to use (default: in-cluster, else $KUBECONFIG or ~/.kube/config).",
)
@click.option(
    "--service-account-dir",
    envvar="CRONARY_SERVICE_ACCOUNT_DIR",
    default=SERVICE_ACCOUNT_DIR,
    show_default=True,
    metavar="DIR",
    help="In cluster: where the ServiceAccount token and ca.crt are mounted (env CRONARY_SERVICE_ACCOUNT_DIR).",
)
@click.option(
    "--now",
    "now_text",
    metavar="RFC3339",
    help="Pin the clock (one pass; for replays and tests). Default: the API server's clock.",
)
@mesh_provider_option
@click.option(
    "--prometheus",
    "prometheus_url",
    default="http://prometheus:9090",
    show_default=True,
    metavar="URL",
    help="The metrics server (Flagger's -metrics-server).",
)
@istio_seconds_option
@click.option(
    "--no-config-tracking",
    is_flag=True,
    help="Do not track ConfigMaps and Secrets (Flagger's -enable-config-tracking=false); Secrets are then never read.",
)
@click.option(
    "--include-label-prefix",
    "include_label_prefixes",
    multiple=True,
    metavar="PREFIX",
    help="Labels copied to generated objects (Flagger's -include-label-prefix).",
)
@click.option(
    "--selector-labels",
    default="app,name,app.kubernetes.io/name",
    show_default=True,
    help="Selector labels of targets (Flagger's -selector-labels).",
)
@click.option(
    "--request-timeout",
    default="10s",
    show_default=True,
    metavar="DURATION",
    help="Timeout of each Kubernetes API call.",
)
@click.option(
    "--concurrency",
    default="8",
    show_default=True,
    metavar="N",
    help="Canaries of a namespace decided and written at once (1-64); each canary's own writes stay in order.",
)
@click.option(
    "--event-webhook",
    envvar="CRONARY_EVENT_WEBHOOK",
    default=None,
    metavar="URL",
    help="Send every event to this webhook (Flagger's -event-webhook; env CRONARY_EVENT_WEBHOOK).",
)
@click.option(
    "--slack-url",
    envvar="CRONARY_SLACK_URL",
    default=None,
    metavar="URL",
    help="Global Slack alerts for canaries without analysis.alerts (env CRONARY_SLACK_URL).",
)
@click.option("--slack-channel", default="", metavar="NAME")
@click.option("--slack-user", default="", metavar="NAME")
@click.option(
    "--msteams-url",
    envvar="CRONARY_MSTEAMS_URL",
    default=None,
    metavar="URL",
    help="Global Microsoft Teams alerts (env CRONARY_MSTEAMS_URL).",
)
@click.option("--cluster-name", default="", metavar="NAME", help="Shown in alerts (Flagger's -cluster-name).")
@click.option(
    "--git-repo",
    default=None,
    metavar="URL",
    help="GitOps mode: commit decisions to this repository instead of writing to the cluster.",
)
@click.option("--git-branch", default="main", show_default=True, metavar="BRANCH")
@click.option(
    "--git-path",
    default="cronary",
    show_default=True,
    metavar="PATH",
    help="Directory in the repository for cronary's files.",
)
@click.option(
    "--git-cache",
    envvar="CRONARY_GIT_CACHE",
    default="/tmp/cronary-git",
    show_default=True,
    metavar="DIR",
    help="Where the bare clone is kept between passes.",
)
@click.option("--git-commit-per-canary", is_flag=True, help="One commit per canary instead of one per tick.")
@click.option(
    "--no-cluster",
    is_flag=True,
    help="GitOps mode without cluster access: Canaries and targets come from the repository.",
)
@click.option(
    "--git-manifests",
    default="",
    metavar="PATH",
    help="With --no-cluster: where the team's Canaries and Deployments are in the repository (default: all of it).",
)
@click.option(
    "--sync-delay",
    default="60s",
    show_default=True,
    metavar="DURATION",
    help="With --no-cluster: how long the GitOps tool takes to sync a commit.",
)
@click.option(
    "--log-level",
    envvar="CRONARY_LOG_LEVEL",
    type=click.Choice(list(LEVELS), case_sensitive=False),
    default="info",
    show_default=True,
    help="The least severe log lines printed (env CRONARY_LOG_LEVEL).",
)
@debug_option
def tick(
    once: bool,
    budget: str,
    namespaces: tuple[str, ...],
    selector: str | None,
    shard: str,
    lease_namespace: str | None,
    no_lease: bool,
    kubeconfig: str | None,
    service_account_dir: str,
    now_text: str | None,
    mesh_provider: str | None,
    prometheus_url: str,
    istio_seconds: bool,
    no_config_tracking: bool,
    include_label_prefixes: tuple[str, ...],
    selector_labels: str,
    request_timeout: str,
    concurrency: str,
    event_webhook: str | None,
    slack_url: str | None,
    slack_channel: str,
    slack_user: str,
    msteams_url: str | None,
    cluster_name: str,
    git_repo: str | None,
    git_branch: str,
    git_path: str,
    git_cache: str,
    git_commit_per_canary: bool,
    no_cluster: bool,
    git_manifests: str,
    sync_delay: str,
    log_level: str,
) -> None:
    """Decide every due Canary of the shard and write the decisions to the cluster, or commit them to git with
    --git-repo (the CronJob's entry point)."""
    _configure_logs(LEVELS[log_level.lower()])  # first: a bad flag below is a JSON log line too
    git = _git_options(
        git_repo, git_branch, git_path, git_cache, git_commit_per_canary, no_cluster, git_manifests, sync_delay
    )
    options = _tick_options(
        once,
        budget,
        namespaces,
        selector,
        shard,
        lease_namespace,
        no_lease or git is not None,
        now_text,
        mesh_provider,
        istio_seconds,
        no_config_tracking,
        include_label_prefixes,
        selector_labels,
        event_webhook,
        slack_url,
        slack_channel,
        slack_user,
        msteams_url,
        cluster_name,
        concurrency,
    )
    if not is_http_url(prometheus_url):
        raise InputError("--prometheus", "", _not_a_url(prometheus_url))
    timeout = _duration("--request-timeout", request_timeout, 0.1, 300)
    client = (
        None
        if git is not None and not git.read_cluster
        else KubeClient(_kube_configuration(kubeconfig, service_account_dir), timeout)
    )
    metrics = PrometheusMetrics(prometheus_url)
    with WebhookCaller() as webhooks:
        if git is None:
            assert client is not None
            status = Tick(client.send, options, metrics, webhooks).run()
        else:
            from cronjob.git.repo import GitCredentials, GitWorkspace  # pygit2 only when git mode is on
            from cronjob.git.tick import GitTick

            _git_timeouts(timeout)
            workspace = GitWorkspace(git.url, git.branch, git.cache_dir, GitCredentials.from_env(os.environ))
            runner = GitTick(workspace, options, git, metrics, client.send if client else None, webhooks)
            status = runner.run_loop(time.sleep, time.monotonic)
    sys.exit(status)


def _git_timeouts(seconds: float) -> None:
    """libgit2's network timeouts are process-wide; a CLI process may set them (milliseconds)."""
    import pygit2

    pygit2.settings.server_connect_timeout = int(seconds * 1000)
    pygit2.settings.server_timeout = int(seconds * 1000)


def _kube_configuration(kubeconfig: str | None, service_account_dir: str) -> Any:
    """The client configuration. A kubeconfig that is missing or unreadable is bad input (exit 2, one line
    naming `--kubeconfig` or `KUBECONFIG` and the file); credentials its exec plugin could not get are a failed
    run (exit 1, one JSON log line): the tick never goes on without them."""
    try:
        return configuration_for(kubeconfig, service_account_dir)
    except KubeconfigError as err:
        if err.credentials:
            raise RunFailed(f"{err.source}: {err.message}; this tick decides nothing") from None
        raise InputError(err.source, "", f"cannot load the Kubernetes client configuration: {err.message}") from None
    except Exception as err:
        raise InputError(
            kubeconfig or "in-cluster or kubeconfig",
            "",
            f"cannot load the Kubernetes client configuration: {' '.join(str(err).split())[:200]}",
        ) from None


_GIT_URL = re.compile(r"^(https?://|ssh://|file://|/|[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:)\S+$")


def _git_options(
    url: str | None,
    branch: str,
    path: str,
    cache: str,
    per_canary: bool,
    no_cluster: bool,
    manifests: str,
    sync_delay: str,
) -> GitOptions | None:
    if url is None:
        if no_cluster:
            raise InputError("--no-cluster", "", "only with --git-repo (GitOps mode)")
        return None
    from cronjob.git.tick import GitOptions  # git mode's modules (and ruamel.yaml) only when it is on

    if not _GIT_URL.match(url):
        raise InputError(
            "--git-repo",
            "",
            "must be an https://, ssh://, file:// URL, user@host:path or an absolute path (the value is not shown)",
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
        sync_delay_seconds=_duration("--sync-delay", sync_delay, 0, 86400),
        manifests=manifests.strip("/"),
        read_cluster=not no_cluster,
    )


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


@main.command()
@click.option("--git-repo", required=True, metavar="URL", help="The repository cronary commits to in GitOps mode.")
@click.option("--git-branch", default="main", show_default=True, metavar="BRANCH")
@click.option("--git-path", default="cronary", show_default=True, metavar="PATH")
@click.option("--git-cache", envvar="CRONARY_GIT_CACHE", default="/tmp/cronary-git", show_default=True, metavar="DIR")
@click.option(
    "--canary", "canary_key", default=None, metavar="NAME.NAMESPACE", help="Only this canary (e.g. podinfo.test)."
)
@click.option("-o", "--output", type=click.Choice(["table", "json"]), default="table", show_default=True)
@debug_option
def history(git_repo: str, git_branch: str, git_path: str, git_cache: str, canary_key: str | None, output: str) -> None:
    """Rebuild rollout timelines from `git log` alone: the trailers of cronary's commits."""
    from cronjob.git.history import format_history_table, timeline_from_log
    from cronjob.git.repo import GitCredentials, GitError, GitWorkspace
    from cronjob.shared.yamlio import dump_json

    git = _git_options(git_repo, git_branch, git_path, git_cache, False, False, "", "0s")
    assert git is not None
    workspace = GitWorkspace(git.url, git.branch, git.cache_dir, GitCredentials.from_env(os.environ))
    try:
        workspace.sync()
    except GitError as err:  # the remote did not answer (or not as git): a failed run, not bad input
        raise RunFailed(f"--git-repo: {err}") from None
    commits = [(c.oid, c.message) for c in workspace.log(git.path or None)]
    entries = timeline_from_log(commits, canary_key)
    if output == "json":
        click.echo(dump_json([e.as_json() for e in entries]), nl=False)
    else:
        click.echo(format_history_table(entries), nl=False)


if __name__ == "__main__":
    main()
