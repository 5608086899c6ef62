"""`cronary tick` as the CronJob runs it: in cluster, from the pod's ServiceAccount mount, over TLS, with a bearer
token — and with a start-up that loads only what a tick uses.

The emulator serves HTTPS with a certificate from a throwaway CA (`trustme`) and refuses requests without the
token, as an API server does. Each tick is its own process (`python -m cronjob.cli`), started with the
environment a pod gets (`KUBERNETES_SERVICE_HOST`/`_PORT`) and `--service-account-dir` pointing at a directory
holding `token` and `ca.crt`, as `/var/run/secrets/kubernetes.io/serviceaccount` does in a pod.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.cluster import START, SeedCluster
from harness.kube_emulator import KubeEmulator

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "in-cluster-token-for-tests"

# What a tick of canaries without metrics and webhooks has no use for; each is 20-200 ms of start-up.
NOT_LOADED_BY_A_PLAIN_TICK = (
    "kubernetes.config.kube_config",  # kubeconfig files: desktop use
    "kubernetes.client.api_client",  # the generated client's model (de)serialization
    "kubernetes.dynamic",
    "kubernetes.watch",
    "kubernetes.stream",
    "pydantic",
    "yaml",
    "oauthlib",
    "requests",  # webhooks, alerts, Prometheus: loaded at their first call
    "prometheus_api_client",
    "ruamel",  # YAML files: render, simulate, GitOps mode
    "pygit2",
    "cronjob.local.simulation",
    "cronjob.git.tick",
)

# Run the CLI as `python -m cronjob.cli` does and write the modules loaded by the end of the process to a file.
RUNNER = textwrap.dedent(
    """
    import atexit, json, runpy, sys
    modules_file = sys.argv.pop(1)
    atexit.register(lambda: open(modules_file, "w").write(json.dumps(sorted(sys.modules))))
    sys.argv[0] = "cronary"
    runpy.run_module("cronjob.cli", run_name="__main__", alter_sys=True)
    """
)


@dataclass
class Run:
    exit_code: int
    output: str
    modules: set[str]

    def loaded(self, name: str) -> bool:
        return any(m == name or m.startswith(name + ".") for m in self.modules)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[SeedCluster]:
    """The seed cluster behind TLS and a token; its Canary has no metrics and no webhooks, so nothing but the
    Kubernetes API is needed for a tick."""
    with KubeEmulator(now=START, token=TOKEN, tls=True) as emulator:
        seed = SeedCluster(emulator, tmp_path, "http://127.0.0.1:9", "http://127.0.0.1:9").install()
        canary = seed.canary()
        canary["spec"]["canaryAnalysis"].pop("metrics")
        canary["spec"]["canaryAnalysis"].pop("webhooks")
        emulator.replace(canary)
        emulator.clear_requests()
        yield seed


def tick(
    cluster: SeedCluster,
    tmp_path: Path,
    *extra: str,
    token: str = TOKEN,
    ca: bytes | None = None,
    kubeconfig: bool = False,
) -> Run:
    account = tmp_path / "serviceaccount"
    pod_env = cluster.emulator.write_service_account(account)
    (account / "token").write_text(token)
    if ca is not None:
        (account / "ca.crt").write_bytes(ca)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KUBERNETES_", "KUBECONFIG"))}
    env.update(pod_env, PYTHONPATH=str(ROOT), CRONARY_SERVICE_ACCOUNT_DIR=str(account), HOME=str(tmp_path))
    modules_file = tmp_path / "modules.json"
    where = ["--kubeconfig", cluster.kubeconfig] if kubeconfig else []
    argv = [
        sys.executable,
        "-c",
        RUNNER,
        str(modules_file),
        "tick",
        "--once",
        "--no-lease",
        "--mesh-provider",
        "smi:istio",
        "--request-timeout",
        "5s",
        *where,
        *extra,
    ]
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    modules = set(json.loads(modules_file.read_text())) if modules_file.exists() else set()
    return Run(done.returncode, done.stdout + done.stderr, modules)


def writes(cluster: SeedCluster) -> list[str]:
    return [f"{r.method} {r.path}" for r in cluster.emulator.requests if r.verb not in (None, "list", "get")]


def test_in_cluster_the_tick_authenticates_with_the_service_account_over_tls(
    cluster: SeedCluster, tmp_path: Path
) -> None:
    run = tick(cluster, tmp_path)
    assert run.exit_code == 0, run.output
    assert cluster.status()["phase"] == "Initializing"
    assert cluster.deployment("podinfo-primary") is not None
    assert {r.status_code for r in cluster.emulator.requests} <= {200, 201}, "every call authenticated"


def test_a_wrong_token_is_refused_and_nothing_is_written(cluster: SeedCluster, tmp_path: Path) -> None:
    run = tick(cluster, tmp_path, token="not-the-token")
    assert run.exit_code == 1
    assert "HTTP 401 Unauthorized" in run.output
    assert "not-the-token" not in run.output, "the token is never logged"
    assert writes(cluster) == []
    assert "phase" not in cluster.status()


def test_a_server_certificate_from_another_ca_is_refused_before_any_request(
    cluster: SeedCluster, tmp_path: Path
) -> None:
    import trustme

    run = tick(cluster, tmp_path, ca=trustme.CA().cert_pem.bytes())
    assert run.exit_code == 1
    assert "certificate verify failed" in run.output
    assert cluster.emulator.requests == [], "no request got past the TLS handshake"


def test_a_plain_tick_loads_only_what_it_uses(cluster: SeedCluster, tmp_path: Path) -> None:
    """Start-up is part of the CronJob's budget (the goal: a first decision within 1 s of process start).
    The in-cluster path decides without the heavy parts of the Kubernetes client, requests, YAML or git."""
    run = tick(cluster, tmp_path)
    assert run.exit_code == 0, run.output
    assert cluster.status()["phase"] == "Initializing"
    assert "kubernetes.client.rest" in run.modules and "kubernetes.config.incluster_config" in run.modules
    assert [name for name in NOT_LOADED_BY_A_PLAIN_TICK if run.loaded(name)] == []


def test_with_a_kubeconfig_the_full_loader_is_used(cluster: SeedCluster, tmp_path: Path) -> None:
    """The other side of the test above (it sees modules loaded lazily): `--kubeconfig` loads kube_config, which
    handles exec plugins, OIDC and client certificates; the tick works the same."""
    run = tick(cluster, tmp_path, kubeconfig=True)
    assert run.exit_code == 0, run.output
    assert cluster.status()["phase"] == "Initializing"
    assert run.loaded("kubernetes.config.kube_config")
