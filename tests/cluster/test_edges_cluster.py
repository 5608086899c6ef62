"""Answers of the API server and of Prometheus that are not what their APIs promise, in `cronary tick`.

Two canaries in two namespaces (`test` and `prod`) on the API emulator; one of them gets the bad answer (the
emulator's `serve_raw`, or a tiny HTTP server answering like a broken Prometheus). Each case asserts: the exit
status, one clean JSON log line naming what failed, no traceback, and the other canary still decided and written.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pygit2
import pytest
from click.testing import CliRunner
from werkzeug import Request, Response

from cronjob.cli import main
from harness.cluster import (
    DEPLOY_CRDS,
    NAMESPACES,
    START,
    SeedCluster,
    TickRun,
    add_namespace,
    clean,
    problems,
    set_image,
    status,
)
from harness.kube_emulator import KubeEmulator

CANARY_LIST = r"/apis/flagger.app/v1beta1/namespaces/test/canaries$"
DEPLOYMENT_LIST = r"/apis/apps/v1/namespaces/test/deployments$"


@pytest.fixture
def two(emulator, tmp_path: Path, prometheus, httpserver) -> SeedCluster:
    httpserver.expect_request("/", method="POST").respond_with_data("ok")
    cluster = SeedCluster(emulator, tmp_path, prometheus.url, httpserver.url_for("/")).install()
    add_namespace(cluster, "prod")
    return cluster


def raw(doc: Any) -> bytes:
    return json.dumps(doc).encode()


# ------------------------------------------------------------------------------------------------ LIST answers
def _stored_canary(cluster: SeedCluster) -> dict[str, Any]:
    return cluster.canary()


BAD_LISTS = [
    pytest.param(lambda c: raw([_stored_canary(c)]), "application/json", "a JSON list", id="bare-list"),
    pytest.param(lambda c: raw("canaries"), "application/json", "a JSON str", id="json-string"),
    pytest.param(
        lambda c: raw({"kind": "CanaryList", "items": "x"}), "application/json", "no items list", id="items-not-a-list"
    ),
    pytest.param(
        lambda c: raw({"kind": "CanaryList", "metadata": {}}), "application/json", "no items list", id="no-items"
    ),
    pytest.param(lambda c: b"<html><body>502 Bad Gateway</body></html>", "text/html", "not JSON", id="html-page"),
    pytest.param(
        lambda c: b'{"kind": "CanaryList", "items": [{"metad', "application/json", "not JSON", id="truncated-json"
    ),
]


@pytest.mark.parametrize("body, content_type, reason", BAD_LISTS)
def test_a_canary_list_that_is_not_a_list_fails_its_namespace_only(
    two: SeedCluster, body, content_type: str, reason: str
) -> None:
    """Never "no canaries": the namespace whose LIST answered garbage is an error (exit 1, one line), and the
    other namespace's canary is decided and written as if nothing happened."""
    two.emulator.serve_raw(body(two), path=CANARY_LIST, content_type=content_type)
    run = two.tick(*NAMESPACES)
    assert run.exit_code == 1, run.output
    bad = problems(run)
    assert len(bad) == 1 and bad[0]["level"] == "error", bad
    assert bad[0]["msg"].startswith("list canaries in test: ") and reason in bad[0]["msg"]
    assert status(two, "prod")["phase"] == "Initializing"  # decided and written
    assert "phase" not in status(two, "test")
    assert two.tick(*NAMESPACES).exit_code == 0  # the next answer is a good one: test is decided too
    assert status(two, "test")["phase"] == "Initializing"


GARBAGE_ITEMS = [
    pytest.param(1, "not an object (a JSON int)", id="a-number"),
    pytest.param("podinfo", "not an object (a JSON str)", id="a-string"),
    pytest.param(None, "not an object (a JSON NoneType)", id="null"),
    pytest.param({"metadata": "x"}, "metadata is not an object", id="metadata-a-string"),
    pytest.param({"metadata": {"namespace": "test"}}, "no metadata.name", id="no-name"),
    pytest.param({"metadata": {"name": 7}}, "no metadata.name", id="name-not-a-string"),
]


@pytest.mark.parametrize("item, reason", GARBAGE_ITEMS)
def test_garbage_canary_items_are_skipped_with_one_warning(two: SeedCluster, item: Any, reason: str) -> None:
    real = _stored_canary(two)
    two.emulator.serve_raw(
        raw({"kind": "CanaryList", "apiVersion": "flagger.app/v1beta1", "metadata": {}, "items": [item, item, real]}),
        path=CANARY_LIST,
    )
    run = two.tick(*NAMESPACES)
    assert run.exit_code == 0, run.output
    warnings = problems(run)
    assert len(warnings) == 1 and warnings[0]["level"] == "warn", warnings
    assert (
        warnings[0]["msg"]
        == f"list canaries in test: skipped 2 item(s) that are not Canary objects with a name (items[0]: {reason})"
    )
    assert status(two, "test")["phase"] == "Initializing" and status(two, "prod")["phase"] == "Initializing"


def test_garbage_deployment_items_are_skipped_and_the_canary_is_decided(two: SeedCluster) -> None:
    deployment = two.deployment("podinfo")
    assert deployment is not None
    two.emulator.serve_raw(
        raw(
            {
                "kind": "DeploymentList",
                "apiVersion": "apps/v1",
                "metadata": {},
                "items": [1, 2, {"metadata": "x"}, deployment],
            }
        ),
        path=DEPLOYMENT_LIST,
    )
    run = two.tick(*NAMESPACES)
    assert run.exit_code == 0, run.output
    assert [w["msg"] for w in problems(run)] == [
        "list deployments in test: skipped 3 item(s) that are not Deployment objects with a name (items[0]: not an object (a JSON int))"
    ]
    assert status(two, "test")["phase"] == "Initializing" and status(two, "prod")["phase"] == "Initializing"


def test_a_deployment_list_that_is_not_a_list_fails_that_namespaces_canaries_only(two: SeedCluster) -> None:
    two.emulator.serve_raw(raw([1, 2]), path=DEPLOYMENT_LIST)
    run = two.tick(*NAMESPACES)
    assert run.exit_code == 1, run.output
    bad = problems(run)
    assert [(b["level"], b.get("canary")) for b in bad] == [("error", "podinfo.test")]
    assert (
        bad[0]["msg"]
        == "Canary podinfo.test not decided: list deployments in test: HTTP 200 InvalidResponse: the answer is not a DeploymentList: a JSON list"
    )
    assert "phase" not in status(two, "test")  # not decided on a view without its Deployments
    assert status(two, "prod")["phase"] == "Initializing"


def test_one_shard_wide_list_that_is_not_a_list_is_one_error_and_nothing_is_decided(two: SeedCluster) -> None:
    """Without --namespace the shard is one LIST: its garbage is that LIST's error, never "no canaries"."""
    two.emulator.serve_raw(raw([]), path=r"/apis/flagger.app/v1beta1/canaries$")
    run = two.tick()
    assert run.exit_code == 1, run.output
    assert [b["msg"] for b in problems(run)] == [
        "list canaries in all namespaces: HTTP 200 InvalidResponse: the answer is not a CanaryList: a JSON list"
    ]
    assert "phase" not in status(two, "test") and "phase" not in status(two, "prod")


# ------------------------------------------------------------------------------------------------ Prometheus answers
def broken_prometheus(httpserver, body: bytes, status_code: int = 200, content_type: str = "application/json") -> str:
    """A Prometheus whose built-in (Istio) queries get `body`; every other query (`vector(1)`, in-line queries)
    gets a good answer of 1."""

    def answer(request: Request) -> Response:
        query = request.args.get("query", "")
        if "istio_request" in query:
            return Response(body, status=status_code, content_type=content_type)
        good = {"status": "success", "data": {"resultType": "vector", "result": [{"metric": {}, "value": [0, "1"]}]}}
        return Response(json.dumps(good), content_type="application/json")

    httpserver.expect_request("/prom/api/v1/query").respond_with_handler(answer)
    return httpserver.url_for("/prom")


BAD_ANSWERS = [
    pytest.param(
        raw({"status": "success"}), 200, "application/json", "malformed answer: no data object", id="200-without-data"
    ),
    pytest.param(
        raw({"status": "success", "data": {"resultType": "vector", "result": "x"}}),
        200,
        "application/json",
        "malformed answer: data.result is not a list",
        id="result-not-a-list",
    ),
    pytest.param(
        raw(
            {
                "status": "success",
                "data": {
                    "resultType": "vector",
                    "result": [
                        {
                            "metric": {"destination_workload_namespace": "test", "destination_workload": "podinfo"},
                            "value": [0, "fast"],
                        }
                    ],
                },
            }
        ),
        200,
        "application/json",
        "value 'fast' is not a number",
        id="non-numeric-value",
    ),
    pytest.param(
        raw({"status": "error", "errorType": "execution", "error": "query timed out"}),
        200,
        "application/json",
        "HTTP 200 with status error: execution: query timed out",
        id="200-status-error",
    ),
    pytest.param(
        b"<html><body>Sign in</body></html>", 200, "text/html", "malformed answer: not JSON (text/html)", id="html"
    ),
    pytest.param(
        b'{"status":"success","data":{"resu',
        200,
        "application/json",
        "malformed answer: not JSON (application/json)",
        id="truncated-json",
    ),
    pytest.param(b"upstream connect error", 503, "text/plain", "HTTP 503", id="http-503"),
]


@pytest.mark.parametrize("body, status_code, content_type, reason", BAD_ANSWERS)
def test_a_bad_answer_to_the_fleet_prefetch_fails_only_the_checks_it_serves(
    emulator,
    tmp_path: Path,
    httpserver,
    body: bytes,
    status_code: int,
    content_type: str,
    reason: str,
) -> None:
    """`test` uses the built-in metrics (one aggregated query, answered garbage); `prod` an in-line query.
    The pass goes on: test's check fails with a reason naming the server (scheme://host:port), prod advances."""
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    url = broken_prometheus(httpserver, body, status_code, content_type)
    cluster = SeedCluster(emulator, tmp_path, url, httpserver.url_for("/hook")).install()
    add_namespace(
        cluster,
        "prod",
        metrics=[{"name": "custom", "query": "vector(1)", "thresholdRange": {"max": 5}, "interval": "1m"}],
    )
    runs = []
    for n in range(1, 6):
        emulator.complete_rollouts()
        if n == 3:
            for namespace in ("test", "prod"):
                set_image(cluster, namespace)
        runs.append(cluster.tick(*NAMESPACES))
        emulator.advance(10)
    for run in runs:
        assert run.exit_code == 0, run.output
        clean(run)
    server = f"http://localhost:{httpserver.port}"
    warnings = [
        line["msg"]
        for run in runs
        for line in clean(run)
        if line.get("canary") == "podinfo.test" and line.get("eventType") == "Warning"
    ]
    halts = [w for w in warnings if w.startswith("Prometheus query failed")]
    assert halts and all(h.startswith(f"Prometheus query failed: {server}: ") and reason in h for h in halts), warnings
    assert "/prom" not in " ".join(warnings)
    assert status(cluster, "test")["failedChecks"] >= 1 and status(cluster, "test")["canaryWeight"] == 10
    assert status(cluster, "prod")["canaryWeight"] >= 20 and status(cluster, "prod")["failedChecks"] == 0


# ------------------------------------------------------------------------------------------------ the client configuration
ROOT = Path(__file__).resolve().parents[2]
PLUGIN_TOKEN = "plugin-token-s3cret"


def cronary(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`cronary` as its own process (the environment is part of the test), with this checkout first on the path."""
    return subprocess.run(
        [sys.executable, "-m", "cronjob.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**env, "PYTHONPATH": str(ROOT)},
    )


def outside_a_cluster(tmp_path: Path, **extra: str) -> dict[str, str]:
    """No ServiceAccount mount, no KUBERNETES_SERVICE_HOST, a HOME without ~/.kube/config."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT", "POD_NAMESPACE")
    }
    return {**env, "HOME": str(tmp_path), "CRONARY_SERVICE_ACCOUNT_DIR": str(tmp_path / "no-service-account"), **extra}


@pytest.mark.parametrize(
    "value, named",
    [
        pytest.param("{missing}", "{missing}", id="one-missing-file"),
        pytest.param("{missing}:{missing}.2", "{missing}, {missing}.2", id="every-file-of-the-list-missing"),
    ],
)
def test_kubeconfig_env_pointing_at_a_missing_file_names_the_file(tmp_path: Path, value: str, named: str) -> None:
    missing = str(tmp_path / "nowhere" / "kubeconfig")
    run = cronary(
        "tick", "--once", "--no-lease", env=outside_a_cluster(tmp_path, KUBECONFIG=value.format(missing=missing))
    )
    assert run.returncode == 2, run
    assert (
        tick_error(run)
        == f"KUBECONFIG: cannot load the Kubernetes client configuration: {named.format(missing=missing)}: no such file"
    )


def test_a_kubeconfig_that_is_a_directory_is_named(tmp_path: Path) -> None:
    run = cronary("tick", "--once", "--no-lease", "--kubeconfig", str(tmp_path), env=outside_a_cluster(tmp_path))
    assert run.returncode == 2, run
    assert (
        tick_error(run)
        == f"--kubeconfig: cannot load the Kubernetes client configuration: {tmp_path}: not a regular file"
    )


def tick_error(run: subprocess.CompletedProcess[str]) -> str:
    """The message of the one line a failed `tick` prints: a JSON log line on stdout, nothing on stderr."""
    assert run.stderr == "" and "Traceback" not in run.stdout, run
    lines = run.stdout.splitlines()
    assert len(lines) == 1, run
    line = json.loads(lines[0])
    assert line["level"] == "error", line
    return str(line["msg"])


def exec_kubeconfig(emulator, tmp_path: Path, plugin: str) -> str:
    """A kubeconfig whose user gets its token from an exec credential plugin (a shell script)."""
    script = tmp_path / "credential-plugin"
    script.write_text("#!/bin/sh\n" + plugin)
    script.chmod(0o755)
    path = Path(emulator.write_kubeconfig(tmp_path / "kubeconfig"))
    config = json.loads(path.read_text())
    config["users"][0]["user"] = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": str(script),
            "interactiveMode": "Never",
        }
    }
    path.write_text(json.dumps(config))
    return str(path)


GOOD_PLUGIN = (
    'echo \'{"apiVersion": "client.authentication.k8s.io/v1beta1", "kind": "ExecCredential", '
    f'"status": {{"token": "{PLUGIN_TOKEN}"}}}}\'\n'
)


@pytest.mark.parametrize(
    "plugin, reason",
    [
        pytest.param(
            "echo 'error: token expired, run: cloud-login' >&2\nexit 1\n",
            "exec: process returned 1. error: token expired",
            id="exits-1",
        ),
        pytest.param("echo 'not json'\n", "exec: failed to decode process output", id="prints-garbage"),
        pytest.param(
            'echo \'{"apiVersion": "client.authentication.k8s.io/v1beta1", "kind": "ExecCredential", "status": {}}\'\n',
            "missing token or clientCertificateData",
            id="no-token",
        ),
    ],
)
def test_a_failing_exec_credential_plugin_stops_the_tick_with_one_line(
    tmp_path: Path, plugin: str, reason: str
) -> None:
    """The official loader logs the plugin's failure and goes on without credentials; cronary stops instead
    (exit 1: the file is fine, the credentials could not be had), before a single request is sent."""
    with KubeEmulator(now=START, token=PLUGIN_TOKEN) as emulator:
        kubeconfig = exec_kubeconfig(emulator, tmp_path, plugin)
        run = cronary("tick", "--once", "--no-lease", "--kubeconfig", kubeconfig, env=outside_a_cluster(tmp_path))
        assert run.returncode == 1, run
        assert "Traceback" not in run.stdout + run.stderr
        lines = run.stdout.strip().splitlines()
        assert len(lines) == 1 and run.stderr == "", run
        line = json.loads(lines[0])
        assert (
            line["level"] == "error"
            and line["msg"].startswith("--kubeconfig: the exec credential plugin failed: ")
            and reason in line["msg"]
        ), line
        assert line["msg"].endswith("; this tick decides nothing")
        assert emulator.requests == []


def test_an_exec_credential_plugin_that_works_gives_the_tick_its_token(tmp_path: Path) -> None:
    with KubeEmulator(now=START, token=PLUGIN_TOKEN) as emulator:
        for crds in sorted(DEPLOY_CRDS.glob("*.yaml")):
            emulator.install_crds_from(crds)
        kubeconfig = exec_kubeconfig(emulator, tmp_path, GOOD_PLUGIN)
        run = cronary("tick", "--once", "--no-lease", "--kubeconfig", kubeconfig, env=outside_a_cluster(tmp_path))
        assert run.returncode == 0, run
        assert PLUGIN_TOKEN not in run.stdout + run.stderr
        assert [r.status_code for r in emulator.requests] == [200]  # the (empty) Canary LIST, authenticated


# ------------------------------------------------------------------------------------------------ GitOps mode
def _committed_status(remote: Path, namespace: str) -> dict[str, Any] | None:
    from cronjob.git.layout import load

    repo = pygit2.Repository(str(remote))
    head = repo.references.get("refs/heads/main")
    if head is None:
        return None
    try:
        blob = repo.get(head.target).peel(pygit2.Tree)[f"cronary/{namespace}/podinfo/status.yaml"]
    except KeyError:
        return None
    return load(blob.data)["status"]


@pytest.mark.parametrize(
    "path, body, message",
    [
        pytest.param(
            CANARY_LIST,
            raw([]),
            "namespace test not decided: list canaries in test: HTTP 200 InvalidResponse: the answer is not a CanaryList: a JSON list",
            id="canary-list",
        ),
        pytest.param(
            DEPLOYMENT_LIST,
            raw({"items": "x"}),
            "Canary podinfo.test not decided: list deployments in test: HTTP 200 InvalidResponse: the answer is not a DeploymentList: no items list",
            id="deployment-list",
        ),
    ],
)
def test_in_git_mode_a_bad_list_leaves_out_its_namespace_and_the_other_is_committed(
    two: SeedCluster, tmp_path: Path, path: str, body: bytes, message: str
) -> None:
    remote = tmp_path / "remote.git"
    pygit2.init_repository(str(remote), bare=True, initial_head="main")
    two.emulator.serve_raw(body, path=path)
    args = two.args(*NAMESPACES, "--git-repo", str(remote), "--git-cache", str(tmp_path / "cache"))
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    run = TickRun(result.exit_code, result.output)
    assert run.exit_code == 1, run.output
    assert [b["msg"] for b in problems(run)] == [message]
    assert _committed_status(remote, "test") is None
    assert (_committed_status(remote, "prod") or {}).get("phase") == "Initializing"


# ------------------------------------------------------------------------------------------------ below HTTP
@pytest.fixture
def raw_servers() -> Any:
    """`start(reply)`: a TCP server on loopback that reads a request's first bytes and sends `reply` (None: never
    answers); its port."""
    servers: list[socket.socket] = []
    held: list[socket.socket] = []

    def start(reply: bytes | None) -> int:
        server = socket.socket()
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        servers.append(server)

        def serve() -> None:
            while True:
                try:
                    conn, _ = server.accept()
                except OSError:
                    return
                held.append(conn)
                try:
                    conn.recv(65536)
                    if reply is not None:
                        conn.sendall(reply)
                        conn.close()
                except OSError:
                    pass

        threading.Thread(target=serve, daemon=True).start()
        return server.getsockname()[1]

    yield start
    for sock in servers + held:
        sock.close()


def test_api_server_transport_failures_are_told_apart_and_name_the_server(raw_servers) -> None:
    from kubernetes.client.configuration import Configuration

    from cronjob.kube.api import ApiError, KubeClient, list_request
    from cronjob.shared.resources import CANARIES

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    silent, garbage = raw_servers(None), raw_servers(b"garbage\r\n\r\n")
    plain = raw_servers(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
    cases = {
        "https://kube.nonexistent.invalid:6443/prefix?token=abc": "host not found (https://kube.nonexistent.invalid:6443)",
        f"https://someone:pw@127.0.0.1:{closed}/secret-path": f"connection refused (https://127.0.0.1:{closed})",
        f"http://127.0.0.1:{silent}": f"timed out (http://127.0.0.1:{silent})",
        f"http://127.0.0.1:{garbage}": f"connection closed without a valid HTTP answer (http://127.0.0.1:{garbage})",
        f"https://127.0.0.1:{plain}": f"TLS handshake failed: wrong version number (https://127.0.0.1:{plain})",
    }
    for host, expected in cases.items():
        configuration = Configuration()
        configuration.host, configuration.retries = host, False
        with pytest.raises(ApiError) as caught:
            KubeClient(configuration, timeout=0.5).send(list_request(CANARIES, "test"))
        text = str(caught.value)
        assert text.startswith("list canaries in test: ") and text.endswith(expected), (host, text)
        assert "pw" not in text and "secret-path" not in text and "token" not in text and "prefix" not in text
