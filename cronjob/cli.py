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
import sys
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import click

from cronjob.flags import (
    git_options,
    istio_seconds_option,
    mesh_provider_option,
    not_a_url,
    prometheus_option,
    tick_flags,
)
from cronjob.kube.api import KubeClient, KubeconfigError, configuration_for
from cronjob.kube.tick import Tick
from cronjob.shared.errors import EXIT_BAD_INPUT, EXIT_FAILED, InputError, RunFailed
from cronjob.shared.logs import LOGGER, traceback_text
from cronjob.shared.logs import configure as configure_logs
from cronjob.shared.options import TickOptions
from cronjob.shared.prometheus import PrometheusMetrics
from cronjob.shared.webhooks import WebhookCaller
from engine import HookRequest, HookResult, MetricRequest, Settings
from engine.errors import SpecError
from engine.names import is_http_url
from engine.redact import redact
from engine.routers.factory import resolve_provider

# render, simulate, validate and history import their machinery (ruamel.yaml, the file readers, the simulator)
# inside the command: `cronary tick` starts once a minute in every shard, and start-up is part of its budget.
if TYPE_CHECKING:
    from engine.analysis import MetricResult, Templates


def _prometheus(
    url: str | None, cluster_file: str, objects: list[dict[str, Any]]
) -> tuple[PrometheusMetrics | None, Templates]:
    """The Prometheus to run the engine's queries on, and the cluster file's MetricTemplates for the engine to
    render them with (read only with a Prometheus: without one, metric values come from a file by name)."""
    from cronjob.local.inputs import metric_templates, template_secrets

    if url is None:
        return None, {}
    if not is_http_url(url):
        raise InputError("--prometheus", "", not_a_url(url))
    templates = metric_templates(cluster_file, objects)
    secrets = template_secrets(cluster_file, objects, templates)
    return PrometheusMetrics(url, read_secret=lambda ns, name: secrets.get((ns, name))), templates


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


@main.command()
@tick_flags
@debug_option
def tick(options: TickOptions) -> None:
    """Decide every due Canary of the shard and write the decisions to the cluster, or commit them to git with
    --git-repo (the CronJob's entry point)."""
    _configure_logs(options.log_level)
    git, kube, prometheus = options.git, options.kube, options.prometheus
    assert kube is not None and prometheus is not None  # `tick_options` builds both
    client = (
        None
        if git is not None and not git.read_cluster
        else KubeClient(_kube_configuration(kube.kubeconfig, kube.service_account_dir), kube.request_timeout_seconds)
    )
    metrics = PrometheusMetrics(prometheus.url)
    with WebhookCaller() as webhooks:
        if git is None:
            assert client is not None
            status = Tick(client.send, options, metrics, webhooks).run()
        else:
            from cronjob.git.hosts.registry import host_for
            from cronjob.git.repo import GitCredentials, GitWorkspace  # pygit2 only when git mode is on
            from cronjob.git.tick import GitTick

            _git_timeouts(kube.request_timeout_seconds)
            credentials = GitCredentials.from_env(os.environ)
            workspace = GitWorkspace(
                git.url, git.branch, git.cache_dir, credentials, git.author, git.committer, git.sign
            )
            host = (
                None
                if git.pull_requests is None
                else host_for(git.pull_requests, git.branch, kube.request_timeout_seconds)
            )
            runner = GitTick(workspace, options, metrics, client.send if client else None, webhooks, host=host)
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
    from cronjob.git.history import approvals_in, format_history_table, timeline_from_log
    from cronjob.git.repo import GitCredentials, GitError, GitWorkspace
    from cronjob.shared.yamlio import dump_json

    git = git_options(git_repo, git_branch, git_path, git_cache)
    assert git is not None
    workspace = GitWorkspace(git.url, git.branch, git.cache_dir, GitCredentials.from_env(os.environ))
    try:
        workspace.sync()
    except GitError as err:  # the remote did not answer (or not as git): a failed run, not bad input
        raise RunFailed(f"--git-repo: {err}") from None
    from engine.evidence import is_cronary_commit

    log = workspace.log(git.path or None)
    approvals = {  # people's commits: the approval files they wrote
        c.oid: approvals_in(workspace.changed_paths(c.oid), git.path, c.author, c.oid)
        for c in log
        if not is_cronary_commit(c.message)
    }
    entries = timeline_from_log([(c.oid, c.message) for c in log], canary_key, approvals)
    if output == "json":
        click.echo(dump_json([e.as_json() for e in entries]), nl=False)
    else:
        click.echo(format_history_table(entries), nl=False)


@main.command()
@click.argument("canary", metavar="CANARY")
@click.option("--git-repo", required=True, metavar="URL", help="The repository cronary commits to in GitOps mode.")
@click.option("--git-branch", default="main", show_default=True, metavar="BRANCH")
@click.option("--git-path", default="cronary", show_default=True, metavar="PATH")
@click.option("--git-cache", envvar="CRONARY_GIT_CACHE", default="/tmp/cronary-git", show_default=True, metavar="DIR")
@click.option(
    "--gate",
    type=click.Choice(["confirm-rollout", "confirm-traffic-increase", "confirm-promotion"]),
    default=None,
    help="Approve only if the canary waits at this gate (default: whichever gate it waits at).",
)
@click.option(
    "--author",
    envvar="CRONARY_APPROVER",
    required=True,
    metavar="'NAME <EMAIL>'",
    help="Who approves: the approval commit's author (env CRONARY_APPROVER).",
)
@debug_option
def approve(
    canary: str, git_repo: str, git_branch: str, git_path: str, git_cache: str, gate: str | None, author: str
) -> None:
    """Approve the confirm gate CANARY (NAME.NAMESPACE) waits at in GitOps mode, for the revision it waits with."""
    from datetime import UTC, datetime

    from cronjob.git import approve as approving
    from cronjob.git.repo import GitCredentials, GitError, GitWorkspace

    person = approving.parse_person("--author", author)
    approving.parse_canary_key(canary)
    git = git_options(git_repo, git_branch, git_path, git_cache)
    assert git is not None
    workspace = GitWorkspace(git.url, git.branch, git.cache_dir, GitCredentials.from_env(os.environ), signature=person)
    try:
        sha = approving.approve(workspace, git.path, canary, gate, datetime.now(UTC).replace(microsecond=0))
    except GitError as err:
        raise RunFailed(f"--git-repo: {err}") from None
    click.echo(f"approved: {canary} in {sha[:12]}")


if __name__ == "__main__":
    main()
