"""git at the edge of `cronary tick --git-repo` and `cronary history`: branch names git refuses are bad input
(exit 2, one line naming `--git-branch`, nothing fetched or written); a remote that refuses, does not resolve,
rejects the credentials or is not a git server is one line naming it as scheme://host:port (exit 1).

Real repositories: a bare repository made by pygit2 as the remote, a real HTTP server on loopback for the
remotes that answer badly.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pygit2
import pytest
from werkzeug import Response

ROOT = Path(__file__).resolve().parents[2]
SECRET = "s3cret-git-token"
NOW = "2026-11-27T10:00:00Z"


def cronary(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CRONARY_GIT_")}
    return subprocess.run(
        [sys.executable, "-m", "cronjob.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**environ, **(env or {}), "PYTHONPATH": str(ROOT)},
    )


def tick(remote: str, cache: Path, branch: str = "main") -> list[str]:
    return [
        "tick",
        "--once",
        "--no-cluster",
        "--git-repo",
        remote,
        "--git-branch",
        branch,
        "--git-cache",
        str(cache),
        "--now",
        NOW,
        "--request-timeout",
        "2s",
    ]


def history(remote: str, cache: Path, branch: str = "main") -> list[str]:
    return ["history", "--git-repo", remote, "--git-branch", branch, "--git-cache", str(cache)]


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    path = tmp_path / "remote.git"
    pygit2.init_repository(str(path), bare=True)
    return path


def _tree(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in path.rglob("*") if p.is_file()}


BAD_BRANCHES = [
    pytest.param("main.lock", id="lock-suffix"),
    pytest.param("release/", id="trailing-slash"),
    pytest.param("a//b", id="double-slash"),
    pytest.param("..", id="dot-dot"),
    pytest.param("a..b", id="dot-dot-inside"),
    pytest.param("my branch", id="space"),
    pytest.param("x@{1}", id="at-brace"),
    pytest.param("-main", id="leading-dash"),
    pytest.param("HEAD", id="head"),
    pytest.param(".hidden", id="leading-dot"),
    pytest.param("a/.b", id="component-leading-dot"),
    pytest.param("x.", id="trailing-dot"),
    pytest.param("a~1", id="tilde"),
    pytest.param("a:b", id="colon"),
    pytest.param("a*", id="glob"),
    pytest.param("tab\tname", id="control-character"),
    pytest.param("", id="empty"),
]


@pytest.mark.parametrize("command", [tick, history], ids=["tick", "history"])
@pytest.mark.parametrize("branch", BAD_BRANCHES)
def test_a_branch_name_git_refuses_is_bad_input_before_anything_is_written(
    tmp_path: Path, remote: Path, command, branch: str
) -> None:
    before = _tree(remote)
    cache = tmp_path / "cache"
    run = cronary(*command(str(remote), cache, branch))
    assert run.returncode == 2, run
    assert "Traceback" not in run.stdout + run.stderr
    message = f"--git-branch: not a branch name git accepts (git check-ref-format --branch): {branch!r}"
    if "tick" in command(str(remote), cache, branch):  # tick: every error is one JSON log line on stdout
        assert run.stderr == "" and [json.loads(line)["msg"] for line in run.stdout.splitlines()] == [message]
    else:
        assert run.stdout == "" and run.stderr == f"error: {message}\n"
    assert not cache.exists() and _tree(remote) == before


@pytest.mark.parametrize("branch", ["feature/x", "release-1.2", "déploiement", "a.b/c_d"])
def test_branch_names_git_accepts_are_accepted(tmp_path: Path, remote: Path, branch: str) -> None:
    run = cronary(*history(str(remote), tmp_path / "cache", branch), "-o", "json")
    assert run.returncode == 0, run
    assert json.loads(run.stdout) == []


# ------------------------------------------------------------------------------------------------ remotes that fail
def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def refused(httpserver) -> tuple[str, str, str]:
    port = _closed_port()
    return (
        f"http://git:{SECRET}@127.0.0.1:{port}/team/{SECRET}/deploy.git",
        f"http://127.0.0.1:{port}",
        "connection refused",
    )


def unknown_host(httpserver) -> tuple[str, str, str]:
    return (
        f"https://git:{SECRET}@git.nonexistent.invalid/team/deploy.git",
        "https://git.nonexistent.invalid",
        "host not found",
    )


def auth_rejected(httpserver) -> tuple[str, str, str]:
    unauthorized = Response("Unauthorized", status=401, headers={"WWW-Authenticate": 'Basic realm="git"'})
    httpserver.expect_request("/team/deploy.git/info/refs").respond_with_response(unauthorized)
    url = httpserver.url_for("/team/deploy.git").replace("http://", f"http://git:{SECRET}@")
    return (
        url,
        f"http://localhost:{httpserver.port}",
        "authentication failed: the remote rejected the configured credentials",
    )


def not_git(httpserver) -> tuple[str, str, str]:
    page = Response("<html><body>Sign in to continue</body></html>", status=200, content_type="text/html")
    httpserver.expect_request("/team/deploy.git/info/refs").respond_with_response(page)
    return (
        httpserver.url_for("/team/deploy.git"),
        f"http://localhost:{httpserver.port}",
        "the answer is not a git server's",
    )


def server_error(httpserver) -> tuple[str, str, str]:
    httpserver.expect_request("/team/deploy.git/info/refs").respond_with_data("boom /team/deploy.git", status=500)
    return httpserver.url_for("/team/deploy.git"), f"http://localhost:{httpserver.port}", "HTTP 500"


REMOTES = [
    pytest.param(refused, id="refused"),
    pytest.param(unknown_host, id="unknown-host"),
    pytest.param(auth_rejected, id="auth-rejected"),
    pytest.param(not_git, id="not-a-git-server"),
    pytest.param(server_error, id="http-500"),
]


def _no_secret_or_path(text: str) -> None:
    assert SECRET not in text and "/team/deploy.git" not in text and "token=" not in text, text
    assert "Traceback" not in text


@pytest.mark.parametrize("arrange", REMOTES)
def test_a_failing_remote_stops_the_git_tick_with_one_json_line_naming_it(tmp_path: Path, httpserver, arrange) -> None:
    url, server, reason = arrange(httpserver)
    run = cronary(*tick(url, tmp_path / "cache"))
    assert run.returncode == 1, run
    _no_secret_or_path(run.stdout + run.stderr)
    lines = run.stdout.strip().splitlines()
    assert len(lines) == 1 and run.stderr == "", run
    line = json.loads(lines[0])
    assert line["level"] == "error"
    assert line["msg"] == f"sync failed ({server}, branch main): {reason}"


@pytest.mark.parametrize("arrange", REMOTES)
def test_a_failing_remote_is_one_line_in_history(tmp_path: Path, httpserver, arrange) -> None:
    url, server, reason = arrange(httpserver)
    run = cronary(*history(url, tmp_path / "cache"), env={"CRONARY_GIT_TOKEN": SECRET})
    assert run.returncode == 1, run
    _no_secret_or_path(run.stdout + run.stderr)
    assert run.stdout == ""
    assert run.stderr == f"error: --git-repo: sync failed ({server}, branch main): {reason}\n"
