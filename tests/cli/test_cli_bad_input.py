"""The bad-input rule of the CLI contract (DESIGN.md): bad input of any kind exits with status 2 and prints one
line naming the file and the field path (`podinfo-canary.yaml: spec.analysis.stepWeight: must be 1..100, got
150`) on stderr; nothing is written to stdout and no traceback is shown. `tick`, whose output is JSON log
lines on stdout, prints that line as its one JSON log line instead, and nothing on stderr.

Runs the installed `cronary` entry point in a subprocess, as a user or CI job would.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from harness.schemas import ROOT

CRONARY = Path(sys.executable).parent / "cronary"
SEED = "fixtures/seed"
BAD = "fixtures/bad"
CANARY = f"{SEED}/podinfo-canary.yaml"
CLUSTER = f"{SEED}/cluster.yaml"
SCENARIO = f"{SEED}/scenario-healthy.yaml"
NOW = "2026-11-27T10:00:00Z"
MISSING = f"{BAD}/does-not-exist.yaml"


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    assert CRONARY.exists(), f"{CRONARY} not found: install the project into the venv (pip install -e .)"
    return subprocess.run([str(CRONARY), *args], cwd=ROOT, capture_output=True, text=True, timeout=60, env=env)


def render(canary: str = CANARY, *extra: str, cluster: str = CLUSTER, provider: str = "smi:istio") -> list[str]:
    return ["render", canary, "--cluster", cluster, "--mesh-provider", provider, "--now", NOW, *extra]


def simulate(
    canary: str = CANARY, *extra: str, cluster: str = CLUSTER, scenario: str = SCENARIO, provider: str = "smi:istio"
) -> list[str]:
    return ["simulate", canary, "--cluster", cluster, "--scenario", scenario, "--mesh-provider", provider, *extra]


def validate(*files: str) -> list[str]:
    return ["validate", *files]


# (argv, the file the line must name, the field path it must name; None: no field, then `where` must match)
YAML_WHERE = r"line \d+, column \d+"
CASES: list[tuple[str, list[str], str, str | None, str | None]] = [
    # unreadable YAML
    (
        "render-canary-syntax-error",
        render(f"{BAD}/canary-syntax-error.yaml"),
        f"{BAD}/canary-syntax-error.yaml",
        None,
        YAML_WHERE,
    ),
    (
        "simulate-canary-syntax-error",
        simulate(f"{BAD}/canary-syntax-error.yaml"),
        f"{BAD}/canary-syntax-error.yaml",
        None,
        YAML_WHERE,
    ),
    (
        "validate-canary-syntax-error",
        validate(f"{BAD}/canary-syntax-error.yaml"),
        f"{BAD}/canary-syntax-error.yaml",
        None,
        YAML_WHERE,
    ),
    (
        "render-cluster-syntax-error",
        render(cluster=f"{BAD}/cluster-syntax-error.yaml"),
        f"{BAD}/cluster-syntax-error.yaml",
        None,
        YAML_WHERE,
    ),
    (
        "render-cluster-generation-not-a-number",
        render(cluster=f"{BAD}/cluster-generation-not-a-number.yaml"),
        f"{BAD}/cluster-generation-not-a-number.yaml",
        "[1].metadata.generation",
        "must be a whole number, got a str",
    ),
    (
        "simulate-cluster-syntax-error",
        simulate(cluster=f"{BAD}/cluster-syntax-error.yaml"),
        f"{BAD}/cluster-syntax-error.yaml",
        None,
        YAML_WHERE,
    ),
    (
        "validate-duplicate-key",
        validate(f"{BAD}/canary-duplicate-key.yaml"),
        f"{BAD}/canary-duplicate-key.yaml",
        None,
        YAML_WHERE,
    ),
    (
        "render-duplicate-key",
        render(f"{BAD}/canary-duplicate-key.yaml"),
        f"{BAD}/canary-duplicate-key.yaml",
        None,
        YAML_WHERE,
    ),
    # a missing file
    ("render-missing-canary-file", render(MISSING), MISSING, None, "cannot read"),
    ("simulate-missing-canary-file", simulate(MISSING), MISSING, None, "cannot read"),
    ("validate-missing-canary-file", validate(MISSING), MISSING, None, "cannot read"),
    ("render-missing-cluster-file", render(cluster=MISSING), MISSING, None, "cannot read"),
    ("simulate-missing-scenario-file", simulate(scenario=MISSING), MISSING, None, "cannot read"),
    ("render-missing-metrics-file", render(CANARY, "--metrics", MISSING), MISSING, None, "cannot read"),
    # an empty file
    (
        "render-empty-canary-file",
        render(f"{BAD}/canary-empty.yaml"),
        f"{BAD}/canary-empty.yaml",
        None,
        "document|Canary",
    ),
    ("validate-empty-canary-file", validate(f"{BAD}/canary-empty.yaml"), f"{BAD}/canary-empty.yaml", None, "Canary"),
    # a missing targetRef
    (
        "render-missing-targetref",
        render(f"{BAD}/canary-missing-targetref.yaml"),
        f"{BAD}/canary-missing-targetref.yaml",
        "spec.targetRef",
        None,
    ),
    (
        "simulate-missing-targetref",
        simulate(f"{BAD}/canary-missing-targetref.yaml"),
        f"{BAD}/canary-missing-targetref.yaml",
        "spec.targetRef",
        None,
    ),
    (
        "validate-missing-targetref",
        validate(f"{BAD}/canary-missing-targetref.yaml"),
        f"{BAD}/canary-missing-targetref.yaml",
        "spec.targetRef",
        None,
    ),
    # stepWeight: 150
    (
        "render-stepweight-150",
        render(f"{BAD}/canary-stepweight-150.yaml"),
        f"{BAD}/canary-stepweight-150.yaml",
        "spec.canaryAnalysis.stepWeight",
        "must be 1..100, got 150",
    ),
    (
        "simulate-stepweight-150",
        simulate(f"{BAD}/canary-stepweight-150.yaml"),
        f"{BAD}/canary-stepweight-150.yaml",
        "spec.canaryAnalysis.stepWeight",
        "must be 1..100, got 150",
    ),
    (
        "validate-stepweight-150",
        validate(f"{BAD}/canary-stepweight-150.yaml"),
        f"{BAD}/canary-stepweight-150.yaml",
        "spec.canaryAnalysis.stepWeight",
        "must be 1..100, got 150",
    ),
    # a non-numeric port
    (
        "render-port-not-numeric",
        render(f"{BAD}/canary-port-not-numeric.yaml"),
        f"{BAD}/canary-port-not-numeric.yaml",
        "spec.service.port",
        "'http'",
    ),
    (
        "simulate-port-not-numeric",
        simulate(f"{BAD}/canary-port-not-numeric.yaml"),
        f"{BAD}/canary-port-not-numeric.yaml",
        "spec.service.port",
        "'http'",
    ),
    (
        "validate-port-not-numeric",
        validate(f"{BAD}/canary-port-not-numeric.yaml"),
        f"{BAD}/canary-port-not-numeric.yaml",
        "spec.service.port",
        "'http'",
    ),
    # an unknown provider, in the spec and as --mesh-provider
    (
        "render-spec-provider-unknown",
        render(f"{BAD}/canary-unknown-provider.yaml"),
        f"{BAD}/canary-unknown-provider.yaml",
        "spec.provider",
        "consul",
    ),
    (
        "simulate-spec-provider-unknown",
        simulate(f"{BAD}/canary-unknown-provider.yaml"),
        f"{BAD}/canary-unknown-provider.yaml",
        "spec.provider",
        "consul",
    ),
    (
        "validate-spec-provider-unknown",
        validate(f"{BAD}/canary-unknown-provider.yaml"),
        f"{BAD}/canary-unknown-provider.yaml",
        "spec.provider",
        "consul",
    ),
    ("render-mesh-provider-unknown", render(provider="consul"), CANARY, "--mesh-provider", "consul"),
    ("simulate-mesh-provider-unknown", simulate(provider="consul"), CANARY, "--mesh-provider", "consul"),
    (
        "validate-mesh-provider-unknown",
        [*validate(CANARY), "--mesh-provider", "consul"],
        CANARY,
        "--mesh-provider",
        "consul",
    ),
    # a target that is not in the cluster file
    (
        "render-target-not-in-cluster",
        render(f"{BAD}/canary-target-not-in-cluster.yaml"),
        f"{BAD}/canary-target-not-in-cluster.yaml",
        "spec.targetRef.name",
        "podinfo-v2",
    ),
    (
        "simulate-target-not-in-cluster",
        simulate(f"{BAD}/canary-target-not-in-cluster.yaml"),
        f"{BAD}/canary-target-not-in-cluster.yaml",
        "spec.targetRef.name",
        "podinfo-v2",
    ),
    # a bad scenario
    (
        "simulate-scenario-unknown-field",
        simulate(scenario=f"{BAD}/scenario-unknown-field.yaml"),
        f"{BAD}/scenario-unknown-field.yaml",
        "tick",
        "unknown field",
    ),
    (
        "simulate-scenario-unknown-step-field",
        simulate(scenario=f"{BAD}/scenario-unknown-step-field.yaml"),
        f"{BAD}/scenario-unknown-step-field.yaml",
        "steps[0].images",
        "unknown field",
    ),
    (
        "simulate-scenario-at-0",
        simulate(scenario=f"{BAD}/scenario-at-zero.yaml"),
        f"{BAD}/scenario-at-zero.yaml",
        "steps[0].at",
        "got 0",
    ),
    (
        "simulate-scenario-bad-metric",
        simulate(scenario=f"{BAD}/scenario-bad-metric.yaml"),
        f"{BAD}/scenario-bad-metric.yaml",
        "steps[0].metrics.request-success-rate",
        "'high'",
    ),
    (
        "simulate-scenario-bad-start",
        simulate(scenario=f"{BAD}/scenario-bad-start.yaml"),
        f"{BAD}/scenario-bad-start.yaml",
        "start",
        "'at ten tomorrow'",
    ),
    ("simulate-scenario-is-a-canary", simulate(scenario=CANARY), CANARY, "apiVersion", "unknown field"),
    # bad metrics / webhooks answers for render
    (
        "render-metrics-bad-value",
        render(CANARY, "--metrics", f"{BAD}/metrics-bad-value.yaml"),
        f"{BAD}/metrics-bad-value.yaml",
        "request-duration",
        "'fast'",
    ),
    (
        "render-webhooks-bad-value",
        render(CANARY, "--webhooks", f"{BAD}/webhooks-bad-value.yaml"),
        f"{BAD}/webhooks-bad-value.yaml",
        "load-test",
        "'maybe'",
    ),
    # several files: the bad one is named and nothing is printed for the good one
    (
        "validate-good-then-bad",
        validate(CANARY, f"{BAD}/canary-stepweight-150.yaml"),
        f"{BAD}/canary-stepweight-150.yaml",
        "spec.canaryAnalysis.stepWeight",
        "got 150",
    ),
]

# A bad --now names the option (there is no file).
NOW_CASES = [
    (
        "render-now-words",
        ["render", CANARY, "--cluster", CLUSTER, "--mesh-provider", "smi:istio", "--now", "yesterday"],
    ),
    (
        "render-now-date-only-garbage",
        ["render", CANARY, "--cluster", CLUSTER, "--mesh-provider", "smi:istio", "--now", "2026-13-45T99:00:00Z"],
    ),
]


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, (
        f"exit {result.returncode}\nstdout: {result.stdout[:500]}\nstderr: {result.stderr[:2000]}"
    )
    assert result.stdout == "", f"stdout must be empty on bad input, got: {result.stdout[:500]!r}"
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and result.stderr.endswith("\n"), (
        f"expected exactly one line on stderr, got {len(lines)}: {result.stderr!r}"
    )
    return lines[0]


@pytest.mark.parametrize("argv,file,path,fragment", [pytest.param(a, f, p, w, id=i) for i, a, f, p, w in CASES])
def test_bad_input_is_one_line_naming_file_and_field(
    argv: list[str], file: str, path: str | None, fragment: str | None
) -> None:
    line = _one_line(run(*argv))
    # `FILE: FIELD.PATH: message` (DESIGN.md); an `error: ` prefix is tolerated.
    body = line[len("error: ") :] if line.startswith("error: ") else line
    if path is not None:
        prefix = f"{file}: {path}: "
        assert body.startswith(prefix), f"expected the line to start with {prefix!r}, got {line!r}"
        message = body[len(prefix) :]
    else:
        prefix = f"{file}: "
        assert body.startswith(prefix), f"expected the line to start with {prefix!r}, got {line!r}"
        message = body[len(prefix) :]
    assert message.strip(), line
    if fragment is not None:
        assert re.search(fragment, message) if path is None else fragment in message, f"{fragment!r} not in {line!r}"


@pytest.mark.parametrize("argv", [pytest.param(a, id=i) for i, a in NOW_CASES])
def test_bad_now_names_the_option(argv: list[str]) -> None:
    line = _one_line(run(*argv))
    assert "--now" in line and argv[-1] in line, line


def test_stepweight_150_line_is_the_documented_one() -> None:
    line = _one_line(run(*validate(f"{BAD}/canary-stepweight-150.yaml")))
    assert line.endswith(f"{BAD}/canary-stepweight-150.yaml: spec.canaryAnalysis.stepWeight: must be 1..100, got 150")


def test_seed_canary_validates() -> None:
    result = run(*validate(CANARY))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.strip() == f"{CANARY}: flagger.app/v1alpha3 Canary podinfo.test: valid"


def test_seed_renders_and_simulates() -> None:
    """The good path of the same commands (so the bad-input cases above differ only in the bad part)."""
    for argv in (render(), simulate()):
        result = run(*argv)
        assert result.returncode == 0, result.stderr
        assert result.stdout and "Traceback" not in result.stderr


def test_every_bad_fixture_is_used() -> None:
    used = {arg for _, argv, *_ in CASES for arg in argv}
    files = {f"{BAD}/{p.name}" for p in (ROOT / BAD).glob("*.yaml")}
    assert files <= used, f"unused fixtures: {sorted(files - used)}"


# `cronary tick`: every flag is checked before the cluster is contacted (none is reachable here).
TICK = ["tick", "--once", "--kubeconfig", MISSING]
TICK_CASES = [
    ("tick-budget-not-a-duration", [*TICK, "--no-lease", "--budget", "soon"], "--budget", "soon"),
    ("tick-budget-too-long", [*TICK, "--no-lease", "--budget", "2h"], "--budget", "2h"),
    ("tick-namespace-not-a-name", [*TICK, "--namespace", "Team_A"], "--namespace", "Team_A"),
    ("tick-shard-not-a-name", [*TICK, "--shard", "a/b"], "--shard", "a/b"),
    ("tick-selector-garbage", [*TICK, "--selector", "team=a;rm -rf"], "--selector", "team=a;rm -rf"),
    ("tick-lease-namespace-unset", [*TICK], "--lease-namespace", "not set"),
    ("tick-lease-namespace-not-a-name", [*TICK, "--lease-namespace", "-x"], "--lease-namespace", "'-x'"),
    ("tick-mesh-provider-unknown", [*TICK, "--no-lease", "--mesh-provider", "consul"], "--mesh-provider", "consul"),
    (
        "tick-prometheus-not-a-url",
        [*TICK, "--no-lease", "--prometheus", "prometheus:9090"],
        "--prometheus",
        "must be an http(s) URL",
    ),
    (
        "tick-event-webhook-not-a-url",
        [*TICK, "--no-lease", "--event-webhook", "ftp://x"],
        "--event-webhook",
        "not shown",
    ),
    ("tick-slack-url-not-a-url", [*TICK, "--no-lease", "--slack-url", "hooks.slack.com/x"], "--slack-url", "URL"),
    ("tick-request-timeout-zero", [*TICK, "--no-lease", "--request-timeout", "0s"], "--request-timeout", "0s"),
    ("tick-concurrency-zero", [*TICK, "--no-lease", "--concurrency", "0"], "--concurrency", "from 1 to 64, got '0'"),
    ("tick-concurrency-not-a-number", [*TICK, "--no-lease", "--concurrency", "many"], "--concurrency", "'many'"),
    (
        "tick-kubeconfig-missing",
        [*TICK, "--no-lease"],
        "--kubeconfig",
        f"cannot load the Kubernetes client configuration: {MISSING}: no such file",
    ),
]


def _one_log_line(result: subprocess.CompletedProcess[str]) -> str:
    """`tick` logs JSON lines on stdout, its errors included (docs/cli.md): exit 2, one JSON error line, an
    empty stderr. Returns the line's `msg`."""
    assert result.returncode == 2, (
        f"exit {result.returncode}\nstdout: {result.stdout[:500]}\nstderr: {result.stderr[:2000]}"
    )
    assert result.stderr == "", f"stderr must be empty, got: {result.stderr[:2000]!r}"
    lines = result.stdout.splitlines()
    assert len(lines) == 1 and result.stdout.endswith("\n"), (
        f"expected exactly one line on stdout, got {len(lines)}: {result.stdout!r}"
    )
    line = json.loads(lines[0])
    assert line["level"] == "error", line
    return str(line["msg"])


@pytest.mark.parametrize("argv,option,fragment", [pytest.param(a, o, f, id=i) for i, a, o, f in TICK_CASES])
def test_bad_tick_flags_are_one_log_line_naming_the_option(argv: list[str], option: str, fragment: str) -> None:
    env_without_pod_namespace = {k: v for k, v in os.environ.items() if k != "POD_NAMESPACE"}
    line = _one_log_line(run(*argv, env=env_without_pod_namespace))
    assert line.startswith(f"{option}: "), line
    assert fragment in line, line


def test_no_service_account_and_no_kubeconfig_is_one_line_naming_both(tmp_path: Path) -> None:
    """In a pod without a token mount (automountServiceAccountToken: false) and no kubeconfig to fall back on."""
    env = {k: v for k, v in os.environ.items() if k not in ("KUBECONFIG", "POD_NAMESPACE")}
    env.update(KUBERNETES_SERVICE_HOST="10.96.0.1", KUBERNETES_SERVICE_PORT="443", HOME=str(tmp_path))
    line = _one_log_line(run("tick", "--once", "--no-lease", "--service-account-dir", str(tmp_path / "none"), env=env))
    assert line == (
        "in-cluster or kubeconfig: cannot load the Kubernetes client configuration: not in a cluster "
        "(Service token file does not exist.) and no kubeconfig (kubeconfig: ~/.kube/config: no such file)"
    )
