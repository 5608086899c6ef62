"""The `cronary` command line: render, simulate, validate.

Bad input of any kind exits with status 2 and one line `FILE: FIELD.PATH: message` on stderr; nothing is
written to stdout in that case (output is built completely before it is printed).
"""

from __future__ import annotations

import sys
from typing import Any, Callable

import click

from engine.analysis import MetricResult
from engine.errors import SpecError
from engine.names import is_http_url
from engine.providers import resolve_provider
from engine.status_doc import canary_manifest
from engine.tick import HookRequest, HookResult, MetricRequest, Settings

from .driver import providers_available, run_tick
from .errors import InputError
from .inputs import (
    build_cluster,
    check_references,
    cluster_objects,
    default_hook_result,
    hook_results,
    metric_templates,
    parse_now,
    read_canaries,
    read_canary,
    read_metrics_file,
    read_scenario,
    template_secrets,
)
from .prometheus import PrometheusMetrics
from .simulation import SimulatedCluster, Simulation
from .timeline import format_table
from .yamlio import dump_json, dump_yaml_stream, load_single

EXIT_BAD_INPUT = 2

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


def _bad_input(fn: Callable[..., None]) -> Callable[..., None]:
    """Turn InputError into one line on stderr and exit status 2."""

    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            fn(*args, **kwargs)
        except InputError as err:
            click.echo(f"error: {err.line}", err=True)
            sys.exit(EXIT_BAD_INPUT)

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


def _prometheus(url: str | None, cluster_file: str, objects: list[dict[str, Any]], istio_seconds: bool) -> PrometheusMetrics | None:
    if url is None:
        return None
    if not is_http_url(url):
        raise InputError("--prometheus", "", f"must be an http(s) URL, got {url!r}")
    templates = metric_templates(cluster_file, objects)
    secrets = template_secrets(cluster_file, objects, templates)
    return PrometheusMetrics(url, templates=templates, read_secret=lambda ns, name: secrets.get((ns, name)), istio_seconds=istio_seconds)


class _OneLineErrors(click.Group):
    """Usage errors (a missing option, an unknown flag) as one line and exit status 2, like bad input."""

    def main(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        try:
            kwargs.pop("standalone_mode", None)
            return super().main(*args, standalone_mode=False, **kwargs)
        except click.exceptions.Abort:
            click.echo("aborted", err=True)
            sys.exit(1)
        except click.ClickException as err:
            click.echo(f"error: {err.format_message()}", err=True)
            sys.exit(EXIT_BAD_INPUT if isinstance(err, click.UsageError) else err.exit_code)


@click.group(cls=_OneLineErrors)
@click.version_option(package_name="cronary")
def main() -> None:
    """cronary: Flagger-compatible canary analysis as a pure function, ticked by a CronJob."""


@main.command()
@click.argument("canary_file", metavar="CANARY.yaml")
@click.option("--cluster", "cluster_file", required=True, metavar="CLUSTER.yaml", help="Cluster objects (YAML stream or v1 List).")
@click.option("--metrics", "metrics_file", metavar="METRICS.yaml", help="Metric name to value (null = no data).")
@click.option("--webhooks", "hooks_file", metavar="WEBHOOKS.yaml", help="Webhook name to pass|fail (default: every hook passes, rollback hooks do not signal).")
@click.option("--now", "now_text", metavar="RFC3339", help="The tick's time (default: the local clock).")
@click.option("-o", "--output", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True)
@mesh_provider_option
@prometheus_option
@istio_seconds_option
@_bad_input
def render(
    canary_file: str, cluster_file: str, metrics_file: str | None, hooks_file: str | None, now_text: str | None, output: str,
    mesh_provider: str | None, prometheus_url: str | None, istio_seconds: bool,
) -> None:
    """Print every object one tick would write and, last, the Canary with its next status."""
    now = parse_now(now_text)
    canary = read_canary(canary_file, mesh_provider)
    objects = cluster_objects(cluster_file)
    cluster = build_cluster(objects)
    check_references(canary, canary_file, cluster, cluster_file)
    if metrics_file and prometheus_url:
        raise InputError("--prometheus", "", "give either --metrics or --prometheus, not both")
    prometheus = _prometheus(prometheus_url, cluster_file, objects, istio_seconds)
    metrics = read_metrics_file(metrics_file)
    hooks = hook_results(hooks_file, "", load_single(hooks_file)) if hooks_file else {}

    def answer_hook(request: HookRequest) -> HookResult:
        return hooks.get(request.hook.name) or default_hook_result(request.hook.type)

    def answer_metrics(requests: tuple[MetricRequest, ...]) -> dict[str, MetricResult]:
        if prometheus is not None:
            return prometheus.answer(canary, requests)
        names = [r.metric.name for r in requests]
        if metrics is None:
            raise InputError("--metrics", "", f"this tick analyses metrics ({', '.join(names)}): give a METRICS.yaml")
        missing = [n for n in names if n not in metrics]
        if missing:
            raise InputError(str(metrics_file), missing[0], "no value for this metric of the canary (a number, or null for no data)")
        return {n: metrics[n] for n in names}

    providers = prometheus.providers_available if prometheus is not None else providers_available
    decision = run_tick(
        canary, cluster, now, Settings(mesh_provider=mesh_provider), answer_hook, answer_metrics, providers,
        prefetch_metrics=prometheus is not None,
    )
    documents = [*decision.objects, canary_manifest(canary, decision.status)]
    if output == "json":
        click.echo(dump_json({"apiVersion": "v1", "kind": "List", "items": documents}), nl=False)
        return
    notes = [f"# {e.type}: {e.message}\n" for e in decision.events]
    if not decision.due:
        notes.append(f"# not due: {canary.key} is next decided at {decision.next_due}\n")
    notes += [f"# copy Secret {canary.namespace}/{src} to {dst} (Secret data is never printed)\n" for src, dst in decision.secret_copies]
    click.echo(dump_yaml_stream(documents, header="".join(notes)), nl=False)


@main.command()
@click.argument("canary_file", metavar="CANARY.yaml")
@click.option("--cluster", "cluster_file", required=True, metavar="CLUSTER.yaml")
@click.option("--scenario", "scenario_file", required=True, metavar="SCENARIO.yaml")
@click.option("-o", "--output", type=click.Choice(["table", "json"]), default="table", show_default=True)
@mesh_provider_option
@prometheus_option
@istio_seconds_option
@_bad_input
def simulate(
    canary_file: str, cluster_file: str, scenario_file: str, output: str, mesh_provider: str | None, prometheus_url: str | None,
    istio_seconds: bool,
) -> None:
    """Play ticks until the scenario is done and the canary rests; print the timeline."""
    canary = read_canary(canary_file, mesh_provider)
    objects = cluster_objects(cluster_file)
    cluster = build_cluster(objects)
    check_references(canary, canary_file, cluster, cluster_file)
    scenario = read_scenario(scenario_file)
    simulation = Simulation(canary, SimulatedCluster.of(cluster), scenario, Settings(mesh_provider=mesh_provider), scenario_file)
    simulation.prometheus = _prometheus(prometheus_url, cluster_file, objects, istio_seconds)
    records = simulation.run()
    if output == "json":
        click.echo(dump_json([r.as_json() for r in records]), nl=False)
    else:
        click.echo(format_table(records), nl=False)


@main.command()
@click.argument("canary_files", metavar="CANARY.yaml...", nargs=-1, required=True)
@mesh_provider_option
@_bad_input
def validate(canary_files: tuple[str, ...], mesh_provider: str | None) -> None:
    """Check Canaries without a cluster; print one line per Canary."""
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


if __name__ == "__main__":
    main()
