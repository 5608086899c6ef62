"""The suite's shared fixtures: real Prometheus servers, the API emulator, the seed directory (helpers are in `harness`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from harness.paths import SEED
from harness.prometheus import (
    PROMETHEUS_BASIC_AUTH,
    PROMETHEUS_DATASET,
    Dataset,
    PrometheusServer,
    start_prometheus,
)

# One Hypothesis profile for the whole suite: the same examples on every run (CI must not flake on a new random
# example; a property that fails does so for everyone), no example database, no deadline (these machines are
# noisy), and no complaint about big or slow inputs, which the adversarial strategies produce on purpose.
settings.register_profile(
    "cronary",
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=False,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
    ],
)
settings.load_profile("cronary")


@pytest.fixture
def seed_dir() -> Path:
    return SEED


@pytest.fixture(scope="session")
def prometheus():
    """A running Prometheus serving `PROMETHEUS_DATASET` (see its docstring), shared by the whole session.

    Use `prometheus.url` (e.g. for `prometheus-api-client`), `prometheus.anchor` (the wall-clock second the
    data is centred on), `prometheus.query(promql, time=None)` / `prometheus.value(promql, time=None)`.
    Do not `stop()` it: use `prometheus_factory` for a server you may take down.
    Fails (never skips) when /usr/bin/prometheus is missing: run `./dev test` or `apt-get install prometheus`.
    """
    server = start_prometheus(PROMETHEUS_DATASET)
    yield server
    server.close()


@pytest.fixture(scope="session")
def prometheus_basic_auth():
    """Like `prometheus` (same `PROMETHEUS_DATASET`), but every endpoint needs basic auth with
    `PROMETHEUS_BASIC_AUTH` (user, password); `server.basic_auth` holds them and `server.query` sends them.
    Started on first use only."""
    server = start_prometheus(PROMETHEUS_DATASET, PROMETHEUS_BASIC_AUTH)
    yield server
    server.close()


@pytest.fixture
def prometheus_factory():
    """Start a private Prometheus per call; all are closed at the end of the test.

    `prometheus_factory(dataset, basic_auth=None)` where `dataset` is a `Dataset`, an iterable of
    `Workload`s (wrapped as `Dataset(workloads)`: Istio series only, [now-20 min, now+30 min]), or raw
    OpenMetrics text. Build workloads with `healthy/failing/idle/switching(namespace, name, ...)` or
    `Workload(namespace, name, ((start_s_relative_to_anchor, phase), ...))` with phases
    HEALTHY / FAILING / IDLE / GAP from `prometheus_harness`. Each server takes ~1-3 s to start (more for
    big datasets); `server.stop()` simulates Prometheus going down, `server.start()` brings it back.
    """
    servers: list[PrometheusServer] = []

    def make(dataset, basic_auth: tuple[str, str] | None = None) -> PrometheusServer:
        if not isinstance(dataset, (Dataset, str)):
            dataset = Dataset(tuple(dataset))
        server = start_prometheus(dataset, basic_auth)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()


# --------------------------------------------------------------------------------------------------------
# The stateful Kubernetes API emulator (tests/harness/kube_emulator.py), its clock at the seed scenario's start.


@pytest.fixture
def emulator():
    from harness.cluster import START
    from harness.kube_emulator import KubeEmulator

    with KubeEmulator(now=START) as server:
        yield server
