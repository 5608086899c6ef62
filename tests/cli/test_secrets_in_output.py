"""No credential reaches any output channel (issue 12, "Credentials in output"; docs/operations.md).

Secrets — userinfo, a token in the query, a token in the path, a percent-encoded token, an IPv6 host, a URL
with credentials inside a longer text — are fed through every channel cronary writes to: the stderr line of
`render`, `simulate`, `validate`; the JSON log lines of `tick`; the Kubernetes Events and the Canary status
written to the API emulator; the commits of a real git repository. Real servers on loopback play careless
remotes: a webhook receiver, an alert endpoint and a "Prometheus" whose errors repeat the request's path and
query and the URL with its credentials. The assertion is the same everywhere: the secret never appears.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from cronjob.shared.yamlio import load_single
from harness.cluster import SEED, SeedCluster
from harness.gitops import APP, DEVELOPER, GitOpsRepo

ROOT = Path(__file__).resolve().parents[2]
USER, PASSWORD = "alice-user", "Us3rinfo-PW"
PATH_TOKEN, QUERY_TOKEN = "Pa7h-T0KEN", "Qu3ry-T0KEN"
ENCODED_TOKEN, DECODED_TOKEN = "Enc%2F0ded%21T0KEN", "Enc/0ded!T0KEN"
NEEDLES = (USER, PASSWORD, PATH_TOKEN, QUERY_TOKEN, ENCODED_TOKEN, DECODED_TOKEN, "0ded", "token=", "/hooks", "/prom")


def assert_clean(text: str, where: str) -> None:
    """No needle, in any case (a server may upper-case what it echoes)."""
    found = [needle for needle in NEEDLES if needle.lower() in text.lower()]
    assert not found, f"{where} shows {found}:\n{text[:3000]}"


def echo(request: Request) -> Response:
    """A careless server: its error repeats the request target (raw and decoded) and the URL it was called at,
    with the credentials it was (or might have been) sent. A Prometheus query gets Prometheus' JSON error."""
    auth = request.authorization
    userinfo = f"{auth.username}:{auth.password}" if auth and auth.username else f"{USER}:{PASSWORD}"
    text = (
        f"rejected {request.full_path} ({unquote(request.full_path)}); upstream http://{userinfo}@{request.host}{request.full_path} failed,"
        f" retried at http://{userinfo}@[::1]:{request.host.rsplit(':', 1)[-1]}{request.full_path}"
    )
    if "api/v1/query" in request.full_path:
        body = json.dumps(
            {"status": "error", "errorType": "bad_data", "error": text}, separators=(",", ":")
        )  # as Prometheus writes it
        return Response(body, status=400, content_type="application/json")
    return Response(text, status=500)


@pytest.fixture
def receiver(httpserver: HTTPServer) -> HTTPServer:
    httpserver.expect_request("").respond_with_handler(echo)  # any path
    return httpserver


def _base(server: HTTPServer) -> str:
    return server.url_for("/").rstrip("/")


# The URL a hook is called at: each a way a credential rides in a URL the tool accepts for a hook (userinfo
# and IPv6 hosts it refuses, see REFUSED; both also come back inside the receiver's echo).
HOOK_URLS = {
    "path-token": lambda server: f"{_base(server)}/hooks/{PATH_TOKEN}",
    "query-token": lambda server: f"{_base(server)}/hook?token={QUERY_TOKEN}&team=x",
    "percent-encoded-token": lambda server: f"{_base(server)}/hook?token={ENCODED_TOKEN}",
}
HOOK_IDS = list(HOOK_URLS)


def prometheus_url(server: HTTPServer) -> str:
    return f"{_base(server)}/prom/{PATH_TOKEN}?token={QUERY_TOKEN}"


def userinfo_url(base: str = "http://127.0.0.1:1") -> str:
    """Userinfo is refused in a hook, alert, MetricTemplate or Prometheus URL; the refusal must not repeat it."""
    return base.replace("://", f"://{USER}:{PASSWORD}@") + f"/hooks/{PATH_TOKEN}?token={QUERY_TOKEN}"


# ------------------------------------------------------------------------------------------------ stderr
def cronary(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "cronjob.cli", *args], cwd=ROOT, capture_output=True, text=True, timeout=120, env=environ
    )


def leaky_canary(tmp_path: Path, url: str) -> str:
    """The seed's Canary with its load-test hook at `url`."""
    doc = load_single(str(SEED / "podinfo-canary.yaml"))
    doc["spec"]["canaryAnalysis"]["webhooks"][0]["url"] = url
    path = tmp_path / "canary.yaml"
    path.write_text(json.dumps(doc))
    return str(path)


def seed(*args: str) -> list[str]:
    return [*args, "--cluster", str(SEED / "cluster.yaml"), "--mesh-provider", "smi:istio"]


IPV6_URL = f"http://[::1]:1/hooks/{PATH_TOKEN}?token={QUERY_TOKEN}"
REFUSED = [  # (argv from the canary file and the refused URL, the URL, what the line shows of it)
    pytest.param(lambda c, u: ["validate", c], userinfo_url(), "http://127.0.0.1:1", id="validate-webhook-userinfo"),
    pytest.param(lambda c, u: ["validate", c], IPV6_URL, "http://[::1]:1", id="validate-webhook-ipv6"),
    pytest.param(
        lambda c, u: seed("render", c, "--now", "2026-11-27T10:00:00Z"),
        userinfo_url(),
        "http://127.0.0.1:1",
        id="render-webhook-userinfo",
    ),
    pytest.param(
        lambda c, u: seed("simulate", c, "--scenario", str(SEED / "scenario-healthy.yaml")),
        IPV6_URL,
        "http://[::1]:1",
        id="simulate-webhook-ipv6",
    ),
    pytest.param(
        lambda c, u: seed("render", str(SEED / "podinfo-canary.yaml"), "--prometheus", u),
        userinfo_url(),
        "http://127.0.0.1:1",
        id="render-prometheus-userinfo",
    ),
    pytest.param(
        lambda c, u: seed(
            "simulate",
            str(SEED / "podinfo-canary.yaml"),
            "--scenario",
            str(SEED / "scenario-healthy.yaml"),
            "--prometheus",
            u,
        ),
        IPV6_URL,
        "http://[::1]:1",
        id="simulate-prometheus-ipv6",
    ),
]


@pytest.mark.parametrize("argv, url, shown", REFUSED)
def test_a_refused_url_is_not_repeated_on_stderr(tmp_path: Path, argv: Any, url: str, shown: str) -> None:
    result = cronary(*argv(leaky_canary(tmp_path, url), url))
    assert result.returncode == 2 and result.stdout == "", result
    assert f"no user:password@, got {shown}" in result.stderr, result.stderr
    assert_clean(result.stderr, "the error line")


TICK_REFUSED = [
    pytest.param("--prometheus", id="prometheus-userinfo"),
    pytest.param("--event-webhook", id="event-webhook-userinfo"),
    pytest.param("--slack-url", id="slack-url-userinfo"),
    pytest.param("--git-repo", id="git-repo-path-and-query"),
]


@pytest.mark.parametrize("flag", TICK_REFUSED)
def test_a_refused_tick_flag_is_a_json_line_without_the_url(tmp_path: Path, flag: str) -> None:
    value = userinfo_url() if flag != "--git-repo" else f"ftp://{USER}:{PASSWORD}@h/{PATH_TOKEN}?token={QUERY_TOKEN}"
    result = cronary("tick", "--once", "--no-lease", "--kubeconfig", str(tmp_path / "none"), flag, value)
    assert result.returncode == 2 and result.stderr == "", result
    assert json.loads(result.stdout)["msg"].startswith(f"{flag}: ")
    assert_clean(result.stdout, "the JSON error line")


@pytest.mark.parametrize("command", ["render", "simulate"])
def test_prometheus_errors_in_render_and_simulate(receiver: HTTPServer, command: str) -> None:
    """The `--prometheus` URL's path and query, and what the server echoes of them, stay out of the events."""
    extra = (
        ("--now", "2026-11-27T10:00:00Z")
        if command == "render"
        else ("--scenario", str(SEED / "scenario-healthy.yaml"), "-o", "json")
    )
    result = cronary(
        *seed(command, str(SEED / "podinfo-canary.yaml"), *extra, "--prometheus", prometheus_url(receiver))
    )
    assert result.returncode == 0, result.stderr
    assert f"Error checking metric providers: prometheus: {_base(receiver)}: " in result.stdout, result.stdout[:2000]
    assert receiver.log, "Prometheus was asked"
    assert_clean(result.stdout + result.stderr, f"{command}'s output")


# ------------------------------------------------------------------------------------------------ cluster mode
def _cronary_lines(outputs: list[str]) -> str:
    """The tick's output, without the access log of this test's own HTTP servers (in process, the tick's JSON
    handler formats their `werkzeug` records too; a real Job has no such server)."""
    lines = [line for output in outputs for line in output.splitlines()]
    return "\n".join(
        line for line in lines if not (line.startswith("{") and json.loads(line).get("logger") == "werkzeug")
    )


def _status_writes(emulator: Any) -> list[dict[str, Any]]:
    """The `status` of every status write the tick sent (the Canary's own spec is the user's, not output)."""
    return [json.loads(r.body).get("status") or {} for r in emulator.requests if r.subresource == "status" and r.body]


@pytest.mark.parametrize("hook", HOOK_IDS)
def test_tick_in_cluster_mode(emulator: Any, tmp_path: Path, receiver: HTTPServer, hook: str) -> None:
    url = HOOK_URLS[hook](receiver)
    cluster = SeedCluster(emulator, tmp_path, prometheus_url(receiver), url).install()
    emulator.create(
        {
            "apiVersion": "flagger.app/v1beta1",
            "kind": "AlertProvider",
            "metadata": {"name": "on-call", "namespace": "test"},
            "spec": {"type": "slack", "address": url},
        }
    )
    canary = cluster.canary()
    canary["spec"]["canaryAnalysis"]["alerts"] = [
        {"name": "on-call", "severity": "info", "providerRef": {"name": "on-call"}}
    ]
    emulator.replace(canary)
    leaky = cluster.seed_canary("leaky")
    leaky["spec"]["canaryAnalysis"]["webhooks"][0]["url"] = userinfo_url(_base(receiver))
    emulator.create(leaky)
    outputs = []
    for n in range(1, 12):  # initialised, a new revision, the analysis starts, the load test fails
        emulator.complete_rollouts()
        if n == 3:
            cluster.set_image()
        outputs.append(cluster.tick("--event-webhook", url).output)
        emulator.advance(10)
        if any("load-test failed" in e["message"] for e in emulator.list("v1", "Event", "test")):
            break
    logs = _cronary_lines(outputs)
    events = [e["message"] for e in emulator.list("v1", "Event", "test")]
    assert any(
        e.startswith("Halt podinfo.test advancement external check load-test failed rejected ***") for e in events
    ), events
    assert any(
        line.startswith("Canary leaky.test is invalid: ")
        for line in (json.loads(x)["msg"] for x in logs.splitlines() if x.startswith("{"))
    )
    assert any("alert to on-call.test (slack) for podinfo.test failed" in line for line in logs.splitlines()), logs[
        :3000
    ]
    assert any("event webhook event: " in line for line in logs.splitlines()), logs[:3000]
    assert_clean(logs, "the JSON log lines")
    assert_clean("\n".join(events), "the Kubernetes Events")
    assert_clean(json.dumps(cluster.status()), "the Canary status")
    assert_clean(json.dumps(_status_writes(emulator)), "a status write")


# ------------------------------------------------------------------------------------------------ git mode
def _repository_text(repo: GitOpsRepo) -> str:
    """Every commit message and every file cronary wrote (the team's own manifests under apps/ excluded)."""
    import pygit2

    raw = pygit2.Repository(repo.remote)
    texts = []
    for commit in repo.log():
        texts.append(commit.message)
        if commit.email == DEVELOPER.email:
            continue
        tree = raw.get(commit.oid).peel(pygit2.Tree)
        stack = [("", tree)]
        while stack:
            prefix, node = stack.pop()
            for entry in node:
                path = f"{prefix}{entry.name}"
                if path.startswith(APP):
                    continue
                if entry.type_str == "tree":
                    stack.append((f"{path}/", raw.get(entry.id)))
                else:
                    texts.append(raw.get(entry.id).data.decode("utf-8", "replace"))
    return "\n".join(texts)


@pytest.mark.parametrize("hook", HOOK_IDS)
def test_tick_in_git_mode(tmp_path: Path, receiver: HTTPServer, hook: str) -> None:
    url = HOOK_URLS[hook](receiver)
    repo = GitOpsRepo(tmp_path, prometheus_url(receiver), url).seed()
    outputs = []
    for n in range(1, 12):  # initialised, a new revision, the analysis starts, the load test fails
        if n == 3:
            repo.set_image()
        outputs.append(repo.tick().output)
        if any("load-test failed" in c.message for c in repo.log()):
            break
    messages = [c.message for c in repo.log() if c.email != DEVELOPER.email]
    assert any("external check load-test failed rejected ***" in m for m in messages), messages
    assert_clean(_cronary_lines(outputs), "the JSON log lines")
    assert_clean(_repository_text(repo), "the repository")


@pytest.mark.parametrize("host", ["127.0.0.1", "[::1]"], ids=["ipv4", "ipv6"])
def test_git_remote_credentials_and_path_stay_out_of_the_log(tmp_path: Path, receiver: HTTPServer, host: str) -> None:
    remote = f"https://{USER}:{PASSWORD}@{host}:1/org/{PATH_TOKEN}.git"
    result = cronary(
        "tick",
        "--once",
        "--git-repo",
        remote,
        "--no-cluster",
        "--git-cache",
        str(tmp_path / "cache"),
        "--now",
        "2026-11-27T10:00:00Z",
        "--prometheus",
        prometheus_url(receiver),
        "--request-timeout",
        "2s",
        env={"CRONARY_GIT_TOKEN": "Qu3ry-T0KEN"},
    )
    assert result.returncode == 1 and result.stderr == "", result
    (line,) = [json.loads(x) for x in result.stdout.splitlines()]
    assert line["level"] == "error" and line["msg"].startswith(f"sync failed (https://{host}:1, branch main)"), line
    assert_clean(result.stdout, "the JSON log line")
    assert not any(PASSWORD in p.read_text(errors="replace") for p in (tmp_path / "cache").rglob("*") if p.is_file())
