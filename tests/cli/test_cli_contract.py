"""The output contract of every command (docs/cli.md, "Exit status and errors"):

* exit status 2 for bad input (a file, a field, a flag, a usage error), 1 for a run that failed (an
  unreadable remote, an exception nobody foresaw), 0 otherwise;
* an error is one line: `error: ...` on stderr — for `tick`, one JSON log line on stdout and nothing on stderr;
* no traceback unless `--debug` asks for it, and then on stderr;
* `tick --log-level` (env `CRONARY_LOG_LEVEL`) sets the least severe line printed.

Every command runs as its own process, as a user or a CronJob runs it. An exception nobody foresaw cannot be
provoked through the inputs (each one found is fixed), so those cases make a collaborator of the command — the
Canary parser, the Prometheus client, the history reader — raise one, carrying a URL with credentials, which
the line must not print.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pygit2
import pytest

ROOT = Path(__file__).resolve().parents[2]
SEED = "fixtures/seed"
CANARY = f"{SEED}/podinfo-canary.yaml"
CLUSTER = f"{SEED}/cluster.yaml"
SCENARIO = f"{SEED}/scenario-healthy.yaml"
BAD_CANARY = "fixtures/bad/canary-stepweight-150.yaml"
NOW = "2026-11-27T10:00:00Z"
SECRETS = ("S3CRET-PW", "S3CRET-TOKEN", "alice", "/base")
BOOM = "could not reach http://alice:S3CRET-PW@db.example:5432/base?token=S3CRET-TOKEN"
BOOM_SHOWN = "could not reach http://db.example:5432"

# A prelude that makes `target` (module:attribute) raise RuntimeError(BOOM), then runs the CLI.
FAULT = """
import importlib, sys
module_name, attribute = sys.argv.pop(1).split(":")
module = importlib.import_module(module_name)
def fault(*args, **kwargs):
    raise RuntimeError({boom!r})
setattr(module, attribute, fault)
from cronjob.cli import main
sys.argv[0] = "cronary"
main()
"""


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    def json_lines(self) -> list[dict]:
        return [json.loads(line) for line in self.stdout.splitlines()]


def cronary(*args: str, fault: str | None = None, env: dict[str, str] | None = None) -> Run:
    command = [sys.executable, "-c", FAULT.format(boom=BOOM), fault] if fault else [sys.executable, "-m", "cronjob.cli"]
    environ = {name: value for name, value in os.environ.items() if name != "CRONARY_LOG_LEVEL"}
    environ.update(PYTHONPATH=str(ROOT), **(env or {}))
    done = subprocess.run([*command, *args], cwd=ROOT, capture_output=True, text=True, timeout=120, env=environ)
    return Run(done.returncode, done.stdout, done.stderr)


@pytest.fixture(scope="module")
def remote(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty bare repository: `tick` in git mode without a cluster has nothing to decide, `history` nothing to show."""
    path = tmp_path_factory.mktemp("contract") / "remote.git"
    pygit2.init_repository(str(path), bare=True, initial_head="main")
    return path


def render(*extra: str) -> list[str]:
    return ["render", CANARY, "--cluster", CLUSTER, "--mesh-provider", "smi:istio", "--now", NOW, *extra]


def simulate(*extra: str) -> list[str]:
    return ["simulate", CANARY, "--cluster", CLUSTER, "--scenario", SCENARIO, "--mesh-provider", "smi:istio", *extra]


def tick(remote: Path, cache: Path, *extra: str) -> list[str]:
    return [
        "tick",
        "--once",
        "--git-repo",
        str(remote),
        "--no-cluster",
        "--git-cache",
        str(cache),
        "--now",
        NOW,
        "--prometheus",
        "http://127.0.0.1:1",
        *extra,
    ]


def history(remote: Path | str, cache: Path, *extra: str) -> list[str]:
    return ["history", "--git-repo", str(remote), "--git-cache", str(cache), *extra]


# (id, argv, fault to inject, exit status); `{remote}` and `{cache}` are filled in per test
CASES = [
    ("render-ok", lambda r, c: render(), None, 0),
    ("render-bad-input", lambda r, c: ["render", BAD_CANARY, "--cluster", CLUSTER, "--now", NOW], None, 2),
    ("render-usage-error", lambda r, c: render("--no-such-flag"), None, 2),
    ("render-unexpected", lambda r, c: render(), "cronjob.local.inputs:parse_canary", 1),
    ("simulate-ok", lambda r, c: simulate(), None, 0),
    (
        "simulate-bad-input",
        lambda r, c: ["simulate", BAD_CANARY, "--cluster", CLUSTER, "--scenario", SCENARIO],
        None,
        2,
    ),
    ("simulate-unexpected", lambda r, c: simulate(), "cronjob.local.inputs:parse_canary", 1),
    ("validate-ok", lambda r, c: ["validate", CANARY], None, 0),
    ("validate-bad-input", lambda r, c: ["validate", BAD_CANARY], None, 2),
    ("validate-unexpected", lambda r, c: ["validate", CANARY], "cronjob.local.inputs:parse_canary", 1),
    ("tick-ok", lambda r, c: tick(r, c), None, 0),
    ("tick-bad-input", lambda r, c: tick(r, c, "--budget", "soon"), None, 2),
    ("tick-usage-error", lambda r, c: tick(r, c, "--no-such-flag"), None, 2),
    ("tick-failed-run", lambda r, c: tick(r.parent / "missing.git", c), None, 1),
    ("tick-unexpected", lambda r, c: tick(r, c), "cronjob.cli:PrometheusMetrics", 1),
    ("history-ok", lambda r, c: history(r, c), None, 0),
    ("history-bad-input", lambda r, c: history(r, c, "--git-branch", "a..b"), None, 2),
    ("history-failed-run", lambda r, c: history(r.parent / "missing.git", c), None, 1),
    ("history-unexpected", lambda r, c: history(r, c), "cronjob.git.history:timeline_from_log", 1),
    ("unknown-command", lambda r, c: ["deploy"], None, 2),
    ("version", lambda r, c: ["--version"], None, 0),
]


def _case_params() -> list:
    return [pytest.param(argv, fault, code, id=name) for name, argv, fault, code in CASES]


@pytest.mark.parametrize("argv, fault, code", _case_params())
def test_exit_status_and_one_line_without_a_traceback(
    remote: Path, tmp_path: Path, argv, fault: str | None, code: int
) -> None:
    args = argv(remote, tmp_path / "cache")
    run = cronary(*args, fault=fault)
    assert run.code == code, run
    assert "Traceback" not in run.stdout + run.stderr, run
    for secret in SECRETS:
        assert secret not in run.stdout + run.stderr, run
    is_tick = args[0] == "tick"
    if code == 0:
        assert run.stderr == "", run
        if is_tick:
            assert all(line["level"] != "error" for line in run.json_lines()), run
        return
    if is_tick:  # the last (here: the only error) line is a JSON log line; nothing on stderr
        assert run.stderr == "", run
        errors = [line for line in run.json_lines() if line["level"] == "error"]
        assert len(errors) == 1, run
        if fault:
            assert (
                errors[0]["msg"] == f"unexpected error: RuntimeError: {BOOM_SHOWN}"
                and errors[0]["exception"] == "RuntimeError"
            ), errors
    else:  # one line on stderr, nothing on stdout
        assert run.stdout == "", run
        assert len(run.stderr.splitlines()) == 1 and run.stderr.startswith("error: "), run
        if fault:
            assert run.stderr == f"error: unexpected error: RuntimeError: {BOOM_SHOWN}\n", run


DEBUG_CASES = [
    pytest.param(
        lambda r, c: render("--debug"), "cronjob.local.inputs:parse_canary", id="render-debug-after-the-command"
    ),
    pytest.param(
        lambda r, c: ["--debug", *render()], "cronjob.local.inputs:parse_canary", id="render-debug-before-the-command"
    ),
    pytest.param(lambda r, c: simulate("--debug"), "cronjob.local.inputs:parse_canary", id="simulate"),
    pytest.param(lambda r, c: ["validate", "--debug", CANARY], "cronjob.local.inputs:parse_canary", id="validate"),
    pytest.param(lambda r, c: tick(r, c, "--debug"), "cronjob.cli:PrometheusMetrics", id="tick"),
    pytest.param(lambda r, c: history(r, c, "--debug"), "cronjob.git.history:timeline_from_log", id="history"),
]


@pytest.mark.parametrize("argv, fault", DEBUG_CASES)
def test_debug_prints_the_traceback_to_stderr_and_keeps_the_line(
    remote: Path, tmp_path: Path, argv, fault: str
) -> None:
    args = argv(remote, tmp_path / "cache")
    run = cronary(*args, fault=fault)
    assert run.code == 1, run
    assert run.stderr.startswith("Traceback (most recent call last):"), run
    assert f"RuntimeError: {BOOM_SHOWN}" in run.stderr, "the traceback is redacted like every other line"
    assert "Traceback" not in run.stdout
    for secret in SECRETS:
        assert secret not in run.stdout + run.stderr, run
    if "tick" in args:
        assert [line["msg"] for line in run.json_lines()] == [f"unexpected error: RuntimeError: {BOOM_SHOWN}"]
    else:
        assert run.stderr.endswith(f"\nerror: unexpected error: RuntimeError: {BOOM_SHOWN}\n") and run.stdout == "", run


def test_debug_shows_the_traceback_of_bad_input_too(tmp_path: Path) -> None:
    run = cronary("validate", "--debug", BAD_CANARY)
    assert run.code == 2 and run.stdout == ""
    assert "Traceback (most recent call last):" in run.stderr and "InputError" in run.stderr
    assert run.stderr.splitlines()[-1].startswith(f"error: {BAD_CANARY}: spec.canaryAnalysis.stepWeight: ")


LEVEL_CASES = [
    pytest.param(["--log-level", "debug"], {}, True, id="debug"),
    pytest.param([], {}, True, id="default-info"),
    pytest.param(["--log-level", "INFO"], {}, True, id="info-any-case"),
    pytest.param(["--log-level", "warning"], {}, False, id="warning"),
    pytest.param(["--log-level", "error"], {}, False, id="error"),
    pytest.param([], {"CRONARY_LOG_LEVEL": "warning"}, False, id="env-warning"),
    pytest.param(["--log-level", "info"], {"CRONARY_LOG_LEVEL": "error"}, True, id="flag-beats-env"),
]


@pytest.mark.parametrize("flags, env, info_shown", LEVEL_CASES)
def test_log_level(remote: Path, tmp_path: Path, flags: list[str], env: dict[str, str], info_shown: bool) -> None:
    run = cronary(*tick(remote, tmp_path / "cache", *flags), env=env)
    assert run.code == 0 and run.stderr == "", run
    assert ([line["msg"] for line in run.json_lines()] == ["nothing to commit"]) is info_shown, run
    assert all(line["level"] == "info" for line in run.json_lines())


def test_a_bad_log_level_is_bad_input_as_a_json_line(remote: Path, tmp_path: Path) -> None:
    for run in (
        cronary(*tick(remote, tmp_path / "cache", "--log-level", "loud")),
        cronary(*tick(remote, tmp_path / "cache"), env={"CRONARY_LOG_LEVEL": "loud"}),
    ):
        assert run.code == 2 and run.stderr == "", run
        (line,) = run.json_lines()
        assert line["level"] == "error" and "--log-level" in line["msg"] and "'loud' is not one of" in line["msg"], line


def test_a_failed_run_of_tick_is_its_last_json_line(remote: Path, tmp_path: Path) -> None:
    run = cronary(*tick(remote.parent / "missing.git", tmp_path / "cache"))
    assert run.code == 1 and run.stderr == ""
    (line,) = run.json_lines()
    assert line["level"] == "error" and line["msg"].startswith("sync failed (file://, branch main)"), line
    assert str(remote.parent) not in run.stdout, "a git remote's path is never printed"


@pytest.mark.parametrize("debug", [False, True], ids=["without-debug", "with-debug"])
def test_a_logged_exception_is_one_json_line_and_its_traceback_goes_to_stderr_only_with_debug(
    capsys: pytest.CaptureFixture[str], debug: bool
) -> None:
    """What `tick` does with an exception it handles per canary (`log.exception`): the line on stdout never
    holds the traceback; `--debug` adds it, redacted, on stderr."""
    import logging

    from cronjob.shared.logs import configure

    log = configure(debug=debug)
    try:
        try:
            raise RuntimeError(BOOM)
        except RuntimeError as err:
            log.exception("Canary podinfo.test could not be decided: %s", err, extra={"canary": "podinfo.test"})
        out, err_text = capsys.readouterr()
    finally:
        root = logging.getLogger()
        for handler in [h for h in root.handlers if getattr(h, "_cronary", False)]:
            root.removeHandler(handler)
    (line,) = [json.loads(x) for x in out.splitlines()]
    assert line["msg"] == f"Canary podinfo.test could not be decided: {BOOM_SHOWN}" and line["canary"] == "podinfo.test"
    assert "Traceback" not in out
    assert ("Traceback (most recent call last):" in err_text) is debug, err_text
    for secret in SECRETS:
        assert secret not in out + err_text


def test_errors_show_at_every_log_level(remote: Path, tmp_path: Path) -> None:
    run = cronary(*tick(remote.parent / "missing.git", tmp_path / "cache", "--log-level", "error"))
    assert run.code == 1 and [line["level"] for line in run.json_lines()] == ["error"], run


def test_the_http_libraries_never_log_below_warning() -> None:
    """Their DEBUG output prints request lines and headers (credentials); `--log-level debug` leaves them be."""
    import logging

    from cronjob.shared.logs import LEVELS, configure

    try:
        for level in LEVELS.values():
            configure(level=level)
            for name in ("urllib3", "requests", "kubernetes"):
                assert logging.getLogger(name).getEffectiveLevel() == max(logging.WARNING, level), (name, level)
    finally:
        root = logging.getLogger()
        for handler in [h for h in root.handlers if getattr(h, "_cronary", False)]:
            root.removeHandler(handler)


@pytest.mark.parametrize("debug", [False, True], ids=["without-debug", "with-debug"])
def test_a_canary_whose_tick_raises_is_one_json_line_and_the_others_go_on(
    emulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    debug: bool,
) -> None:
    """In cluster mode an exception nobody foresaw in one canary's tick (here: the engine's `run_tick` made to
    raise for canary `broken`) is that canary's JSON error line, exit status 1; `podinfo` is still decided.
    Its traceback goes to stderr only with `--debug`."""
    from click.testing import CliRunner

    from cronjob.cli import main
    from cronjob.kube import tick as kube_tick
    from harness.cluster import SeedCluster

    cluster = SeedCluster(emulator, tmp_path, "http://127.0.0.1:1", "http://127.0.0.1:1/").install()
    emulator.create(cluster.seed_canary("broken"))
    real = kube_tick.run_tick

    def run_tick(canary, *args, **kwargs):
        if canary.name == "broken":
            raise RuntimeError(BOOM)
        return real(canary, *args, **kwargs)

    monkeypatch.setattr(kube_tick, "run_tick", run_tick)
    result = CliRunner().invoke(main, cluster.args(*(["--debug"] if debug else [])), catch_exceptions=False)
    assert result.exit_code == 1
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    errors = [line for line in lines if line["level"] == "error"]
    assert [(e["canary"], e["msg"]) for e in errors] == [
        ("broken.test", f"Canary broken.test could not be decided: RuntimeError: {BOOM_SHOWN}")
    ]
    assert cluster.status("podinfo").get("phase"), "the other canary was decided"
    assert "Traceback" not in result.stdout
    assert ("Traceback (most recent call last):" in result.stderr) is debug, result.stderr
    for secret in SECRETS:
        assert secret not in result.stdout + result.stderr
