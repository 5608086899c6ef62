"""Shared test helpers: paths to fixtures and a quick way to build engine inputs."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
SEED = FIXTURES / "seed"
CRDS = FIXTURES / "crds"


@pytest.fixture
def seed_dir() -> Path:
    return SEED


# --------------------------------------------------------------------------------------------------------
# A real Prometheus (Debian's 2.42) with backfilled synthetic data; see tests/prometheus_harness.py.
#
# Phase numbers (per 15 s step, Flagger's built-in queries with a [1m] window), from the reference §6:
#   healthy: success rate 99.5, P99 ≈ 120.45 ms (Flagger truncates to 120 ms)
#   failing: success rate 60,   P99 ≈ 800.97 ms (800 ms)
#   idle:    series exist, no increase -> both queries give NaN ("no values found" at HEAD)
#   gap:     no samples -> empty vector ("no values found")
# Compare values with a tolerance (pytest.approx), never with ==.

from prometheus_harness import (  # noqa: E402
    FAILING,
    GAP,
    HEALTHY,
    Dataset,
    PrometheusNotInstalled,
    PrometheusServer,
    Workload,
    failing,
    healthy,
    idle,
    switching,
)

PROMETHEUS_SWITCH_AT = 3 * 60
"""test/podinfo-switch turns from healthy to failing this many seconds after the anchor."""

PROMETHEUS_GAP_FROM = -5 * 60
"""test/podinfo-gap has no samples from this many seconds after (i.e. 5 min before) the anchor on."""

PROMETHEUS_BASIC_AUTH = ("cronary", "s3cret-test-password")
"""Credentials of the `prometheus_basic_auth` server."""

PROMETHEUS_DATASET = Dataset(
    workloads=(
        healthy("test", "podinfo"),
        failing("test", "podinfo-bad"),
        switching("test", "podinfo-switch", PROMETHEUS_SWITCH_AT, HEALTHY, FAILING),
        idle("test", "podinfo-nan"),
        Workload("test", "podinfo-gap", ((-float("inf"), HEALTHY), (PROMETHEUS_GAP_FROM, GAP))),
        failing("other", "podinfo"),
        healthy("other", "podinfo-bad"),
    ),
    before=20 * 60,
    after=40 * 60,
    istio=True,
    istio_seconds=True,
    linkerd=True,
    primary_distractors=True,
    source_distractors=True,
)
"""The session dataset, placed around the wall-clock time the server starts (`server.anchor`).

Data covers [anchor - 20 min, anchor + 40 min] on a 15 s grid, so queries at Prometheus' "now" (no `time`,
as Flagger sends them) see it for the whole test session. Every workload has all of: Istio
`istio_requests_total` + `istio_request_duration_milliseconds_bucket` + the 2019
`istio_request_duration_seconds_bucket`, and Linkerd `response_total` + `response_latency_ms_bucket`.

namespace `test`:
  * `podinfo`        healthy throughout                      -> 99.5 / ≈120.45 ms
  * `podinfo-bad`    failing throughout                      -> 60 / ≈800.97 ms
  * `podinfo-switch` healthy, failing from anchor + 3 min    -> healthy values until then; pure failing values
                     from anchor + 3 min 45 s (query with `time=` to pin a side, or let real time run)
  * `podinfo-nan`    idle: series exist, zero increase       -> NaN for both built-ins
  * `podinfo-gap`    healthy until anchor - 5 min, then none -> empty vector at "now"
namespace `other` (distractors for queries that forget the namespace):
  * `podinfo`        failing throughout
  * `podinfo-bad`    healthy throughout
Also, for every workload above: `<name>-primary` (healthy throughout, excluded by the anchored regex) and
`reporter="source"` / `direction="outbound"` copies with inverted numbers (excluded by the selectors).
A namespace not listed (e.g. `missing`) gives an empty vector.
"""


def _start_prometheus(dataset: Dataset | str, basic_auth: tuple[str, str] | None = None) -> PrometheusServer:
    server = PrometheusServer(dataset, basic_auth=basic_auth)
    try:
        server.__enter__()
    except PrometheusNotInstalled as exc:
        pytest.fail(str(exc), pytrace=False)
    return server


@pytest.fixture(scope="session")
def prometheus():
    """A running Prometheus serving `PROMETHEUS_DATASET` (see its docstring), shared by the whole session.

    Use `prometheus.url` (e.g. for `prometheus-api-client`), `prometheus.anchor` (the wall-clock second the
    data is centred on), `prometheus.query(promql, time=None)` / `prometheus.value(promql, time=None)`.
    Do not `stop()` it: use `prometheus_factory` for a server you may take down.
    Fails (never skips) when /usr/bin/prometheus is missing: run `./dev test` or `apt-get install prometheus`.
    """
    server = _start_prometheus(PROMETHEUS_DATASET)
    yield server
    server.close()


@pytest.fixture(scope="session")
def prometheus_basic_auth():
    """Like `prometheus` (same `PROMETHEUS_DATASET`), but every endpoint needs basic auth with
    `PROMETHEUS_BASIC_AUTH` (user, password); `server.basic_auth` holds them and `server.query` sends them.
    Started on first use only."""
    server = _start_prometheus(PROMETHEUS_DATASET, PROMETHEUS_BASIC_AUTH)
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
        server = _start_prometheus(dataset, basic_auth)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()


# --------------------------------------------------------------------------------------------------------
# The stateful Kubernetes API emulator (tests/kube_emulator.py), its clock at the seed scenario's start.


@pytest.fixture
def emulator():
    from cluster_harness import START
    from kube_emulator import KubeEmulator

    with KubeEmulator(now=START) as server:
        yield server
