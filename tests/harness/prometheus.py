"""A real Prometheus for the metrics tests: synthetic data, backfill, server control, a tiny query client.

The recipe is the verified one of the reference note (`shared/reference/flagger-metrics-webhooks.md` §6):
OpenMetrics text is generated here, backfilled with `promtool tsdb create-blocks-from openmetrics` into a
throw-away TSDB directory, and Debian's Prometheus 2.42 (`/usr/bin/prometheus`) is started on it, on a free
loopback port, with no scrape targets.

Data model
----------
A *workload* (`Workload`) is one (namespace, name) pair with a phase timeline: a list of
`(start, phase)` segments, `start` in seconds relative to the dataset's anchor (or absolute Unix seconds with
anchor 0). A sample at time `t` belongs to the last segment whose start is `<= t`; before the first segment
there are no samples. Phases, per 15 s step:

* `HEALTHY` ("A"): 4975 × 200 + 25 × 500; latency cumulative le=100 ms: 4947, le=250: 4969, le>=500: 5000.
  Flagger's built-in queries give success rate 99.5 and P99 ≈ 120.4545 ms (0.1204545 s for the 2019 name).
* `FAILING` ("B"): 3000 × 200 + 2000 × 500; le<=250: 0, le=500: 4888, le=1000: 4991, le>=2500: 5000.
  Success rate 60, P99 ≈ 800.9709 ms.
* `IDLE` ("idle"): samples keep coming but counters do not move: every rate is 0, so the success rate is 0/0
  and `histogram_quantile` sees empty buckets — both give NaN (HEAD Flagger: "no values found").
* `GAP` ("gap"): no samples at all; once a window holds fewer than two samples the query gives an empty vector.

The window is pure phase X 45 s after the first X sample (with `[1m]` and 15 s steps), see §6.3.
Counters start at `OFFSET` (100000) and only grow, every series shares the timestamps of one 15 s grid.

Linkerd series use the same numbers on Linkerd's bucket bounds (ms): healthy le=100: 4941, le=200: 4985,
le>=300: 5000 (P99 ≈ 120.4545 ms); failing as Istio (le=500: 4888, le=1000: 4991; P99 ≈ 800.9709 ms).
Success rate (HEAD, `classification!="failure"`) 99.5 / 60; Flagger 0.14's buggy `classification="failure"`
numerator gives 0.5 / 40.

Distractors (all must leave the canary's results unchanged):
* `primary_distractors`: a `<name>-primary` workload, healthy throughout (anchored `=~"<name>"` excludes it);
* `source_distractors`: `reporter="source"` copies (Istio) and `direction="outbound"` copies (Linkerd) with
  inverted numbers (failing where the canary is healthy and vice versa; idle/gap follow the canary).

Server
------
`PrometheusServer(dataset, basic_auth=None)` is a context manager: backfill, start, wait for `/-/ready`,
`.url`, `.query()`, `.stop()` (simulates Prometheus going down; `.start()` brings it back on the same port),
`.close()` (stop + delete the TSDB). The dataset is placed on the wall clock when the server starts:
`anchor` = now rounded down to the 15 s grid, samples from `anchor - before` to `anchor + after`, because
Flagger queries at Prometheus' own "now".
"""

from __future__ import annotations

import json
import math
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings
from base64 import b64encode
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

PROMETHEUS_BIN = Path("/usr/bin/prometheus")
PROMTOOL_BIN = Path("/usr/bin/promtool")
INSTALL_HINT = "run `./dev test` (it installs Debian's prometheus package) or `apt-get install prometheus`"

STEP = 15
OFFSET = 100_000

HEALTHY = "A"
FAILING = "B"
IDLE = "idle"
GAP = "gap"
PHASES = (HEALTHY, FAILING, IDLE, GAP)

# Per-step increments of the request counters, by response code.
_CODES: dict[str, dict[str, int]] = {
    HEALTHY: {"200": 4975, "500": 25},
    FAILING: {"200": 3000, "500": 2000},
    IDLE: {"200": 0, "500": 0},
}
# Per-step cumulative bucket increments: {upper bound in ms: count}; bounds not listed take the count of the
# largest listed bound below them (0 below the first).
_ISTIO_CUM: dict[str, dict[float, int]] = {
    HEALTHY: {100: 4947, 250: 4969, 500: 5000},
    FAILING: {500: 4888, 1000: 4991, 2500: 5000},
    IDLE: {},
}
_LINKERD_CUM: dict[str, dict[float, int]] = {
    HEALTHY: {100: 4941, 200: 4985, 300: 5000},
    FAILING: {500: 4888, 1000: 4991, 2000: 5000},
    IDLE: {},
}
# The inverted numbers used by the reporter="source" / direction="outbound" distractors.
_INVERT = {HEALTHY: FAILING, FAILING: HEALTHY, IDLE: IDLE, GAP: GAP}

INF = float("inf")
ISTIO_MS_BOUNDS = (
    0.5,
    1,
    5,
    10,
    25,
    50,
    100,
    250,
    500,
    1000,
    2500,
    5000,
    10000,
    30000,
    60000,
    300000,
    600000,
    1800000,
    3600000,
    INF,
)
ISTIO_SECONDS_BOUNDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, INF)
LINKERD_MS_BOUNDS = (
    1,
    2,
    3,
    4,
    5,
    10,
    20,
    30,
    40,
    50,
    100,
    200,
    300,
    400,
    500,
    1000,
    2000,
    3000,
    4000,
    5000,
    10000,
    20000,
    30000,
    40000,
    50000,
    INF,
)

# What the built-in queries return for each phase (for assertions; compare with a tolerance).
EXPECTED = {
    HEALTHY: {"success_rate": 99.5, "p99_ms": 120.45454545454545},
    FAILING: {"success_rate": 60.0, "p99_ms": 800.9708737864078},
}


class PrometheusNotInstalled(RuntimeError):
    """/usr/bin/prometheus or /usr/bin/promtool is missing."""


class PrometheusStartError(RuntimeError):
    """Backfill or server start failed; the message carries the tool's output."""


class PrometheusQueryError(RuntimeError):
    """The server answered a query with an HTTP error or a non-success status."""

    def __init__(self, message: str, status: int | None = None, body: str = ""):
        super().__init__(message)
        self.status = status
        self.body = body


# --------------------------------------------------------------------------------------------- data


@dataclass(frozen=True)
class Workload:
    """One (namespace, workload) pair and its phase timeline.

    `timeline`: `(start, phase)` segments in ascending order; `start` in seconds relative to the dataset
    anchor. `Workload("test", "podinfo")` is healthy over the whole dataset.
    """

    namespace: str
    name: str
    timeline: tuple[tuple[float, str], ...] = ((-math.inf, HEALTHY),)

    def __post_init__(self) -> None:
        object.__setattr__(self, "timeline", tuple((float(s), p) for s, p in self.timeline))
        starts = [s for s, _ in self.timeline]
        if not self.timeline or starts != sorted(starts):
            raise ValueError(f"timeline must be non-empty and ascending: {self.timeline!r}")
        for _, phase in self.timeline:
            if phase not in PHASES:
                raise ValueError(f"unknown phase {phase!r}; use one of {PHASES}")

    def phase_at(self, t: float, anchor: float = 0.0) -> str:
        """The phase of the sample at absolute time `t` (GAP before the first segment)."""
        current = GAP
        for start, phase in self.timeline:
            if anchor + start <= t:
                current = phase
            else:
                break
        return current


def healthy(namespace: str, name: str) -> Workload:
    return Workload(namespace, name, ((-math.inf, HEALTHY),))


def failing(namespace: str, name: str) -> Workload:
    return Workload(namespace, name, ((-math.inf, FAILING),))


def idle(namespace: str, name: str) -> Workload:
    """Series exist, no increase: every built-in query gives NaN."""
    return Workload(namespace, name, ((-math.inf, IDLE),))


def switching(namespace: str, name: str, at: float, before: str = HEALTHY, after: str = FAILING) -> Workload:
    """`before` until `at` seconds after the anchor, `after` from then on."""
    return Workload(namespace, name, ((-math.inf, before), (at, after)))


def _fmt_le(bound: float) -> str:
    if bound == INF:
        return "+Inf"
    return str(int(bound)) if float(bound).is_integer() else repr(float(bound))


def _cum(table: dict[float, int], bound_ms: float) -> int:
    return max((c for b, c in table.items() if bound_ms >= b), default=0)


def _label_str(labels: Sequence[tuple[str, str]]) -> str:
    return ",".join(f'{k}="{v}"' for k, v in labels)


def grid(start: float, end: float, step: int = STEP) -> list[int]:
    """Timestamps of the shared sample grid: multiples of `step` in [start, end]."""
    first = math.ceil(start / step) * step
    return list(range(first, math.floor(end) + 1, step))


def generate_openmetrics(
    workloads: Iterable[Workload],
    *,
    start: float,
    end: float,
    anchor: float = 0.0,
    step: int = STEP,
    offset: int = OFFSET,
    istio: bool = True,
    istio_seconds: bool = False,
    linkerd: bool = False,
    primary_distractors: bool = False,
    source_distractors: bool = False,
    extra_labels: bool = True,
) -> str:
    """OpenMetrics text (ending in `# EOF`) for `workloads` on the grid [start, end] (absolute Unix seconds).

    Families: `istio_requests_total` + `istio_request_duration_milliseconds_bucket` (`istio`),
    `istio_request_duration_seconds_bucket` (`istio_seconds`, the 2019 name), `response_total` +
    `response_latency_ms_bucket` (`linkerd`). Distractors: see the module docstring.
    `extra_labels`: realistic labels the built-ins ignore (Istio `destination_service`, `source_workload`,
    …; Linkerd `pod`, `authority`, `tls`); switch off for big datasets (about half the bytes).
    """
    times = grid(start, end, step)
    # Each entry: (namespace, workload, phase per timestamp, istio reporter, linkerd direction)
    series: list[tuple[str, str, list[str], str, str]] = []
    for w in workloads:
        phases = [w.phase_at(t, anchor) for t in times]
        series.append((w.namespace, w.name, phases, "destination", "inbound"))
        if source_distractors:
            series.append((w.namespace, w.name, [_INVERT[p] for p in phases], "source", "outbound"))
        if primary_distractors:
            series.append((w.namespace, f"{w.name}-primary", [HEALTHY] * len(times), "destination", "inbound"))

    out: list[str] = []

    def counter(name: str, labels: list[tuple[str, str]], phases: list[str], inc: dict[str, int]) -> None:
        prefix = f"{name}{{{_label_str(labels)}}} "
        value = offset
        lines = []
        for t, phase in zip(times, phases):
            if phase == GAP:
                continue
            value += inc[phase]
            lines.append(f"{prefix}{value} {t}")
        out.extend(lines)

    if istio:
        out.append("# TYPE istio_requests counter")
        for ns, wl, phases, reporter, _ in series:
            for code in ("200", "500"):
                labels = [("reporter", reporter), ("destination_workload_namespace", ns), ("destination_workload", wl)]
                if extra_labels:
                    labels += [
                        ("destination_service", f"{wl}.{ns}.svc.cluster.local"),
                        ("source_workload", "flagger-loadtester"),
                        ("source_workload_namespace", ns),
                        ("request_protocol", "http"),
                    ]
                labels.append(("response_code", code))
                counter("istio_requests_total", labels, phases, {p: c[code] for p, c in _CODES.items()})
    histograms: list[tuple[str, Sequence[float], float]] = []
    if istio:
        histograms.append(("istio_request_duration_milliseconds", ISTIO_MS_BOUNDS, 1.0))
    if istio_seconds:
        histograms.append(("istio_request_duration_seconds", ISTIO_SECONDS_BOUNDS, 1000.0))
    for family, bounds, to_ms in histograms:
        out.append(f"# TYPE {family} histogram")
        for ns, wl, phases, reporter, _ in series:
            for bound in bounds:
                labels = [
                    ("reporter", reporter),
                    ("destination_workload_namespace", ns),
                    ("destination_workload", wl),
                    ("le", _fmt_le(bound)),
                ]
                counter(f"{family}_bucket", labels, phases, {p: _cum(_ISTIO_CUM[p], bound * to_ms) for p in _ISTIO_CUM})

    def linkerd_extra(ns: str, wl: str) -> list[tuple[str, str]]:
        if not extra_labels:
            return []
        return [("pod", f"{wl}-7d9c8b5f4-x2x9z"), ("authority", f"{wl}.{ns}.svc.cluster.local:9898"), ("tls", "true")]

    if linkerd:
        out.append("# TYPE response counter")
        for ns, wl, phases, _, direction in series:
            for classification, code in (("success", "200"), ("failure", "500")):
                labels = [
                    ("namespace", ns),
                    ("deployment", wl),
                    *linkerd_extra(ns, wl),
                    ("direction", direction),
                    ("status_code", code),
                    ("classification", classification),
                ]
                counter("response_total", labels, phases, {p: c[code] for p, c in _CODES.items()})
        out.append("# TYPE response_latency_ms histogram")
        for ns, wl, phases, _, direction in series:
            for bound in LINKERD_MS_BOUNDS:
                labels = [
                    ("namespace", ns),
                    ("deployment", wl),
                    *linkerd_extra(ns, wl),
                    ("direction", direction),
                    ("le", _fmt_le(bound)),
                ]
                counter(
                    "response_latency_ms_bucket",
                    labels,
                    phases,
                    {p: _cum(_LINKERD_CUM[p], bound) for p in _LINKERD_CUM},
                )
    out.append("# EOF")
    return "\n".join(out) + "\n"


@dataclass(frozen=True)
class Dataset:
    """Workloads plus what to emit; placed on the wall clock when a server starts (see `render`).

    `before`/`after`: seconds of data before and after the anchor (default: [now-20 min, now+30 min]).
    """

    workloads: tuple[Workload, ...]
    before: int = 20 * 60
    after: int = 30 * 60
    istio: bool = True
    istio_seconds: bool = False
    linkerd: bool = False
    primary_distractors: bool = False
    source_distractors: bool = False
    extra_labels: bool = True
    step: int = STEP

    def __post_init__(self) -> None:
        object.__setattr__(self, "workloads", tuple(self.workloads))

    def render(self, anchor: int) -> str:
        return generate_openmetrics(
            self.workloads,
            start=anchor - self.before,
            end=anchor + self.after,
            anchor=anchor,
            step=self.step,
            istio=self.istio,
            istio_seconds=self.istio_seconds,
            linkerd=self.linkerd,
            primary_distractors=self.primary_distractors,
            source_distractors=self.source_distractors,
            extra_labels=self.extra_labels,
        )


def aligned_now(step: int = STEP) -> int:
    return int(time.time()) // step * step


# ------------------------------------------------------------------------------------------- server


def require_prometheus() -> None:
    missing = [str(p) for p in (PROMETHEUS_BIN, PROMTOOL_BIN) if not os.access(p, os.X_OK)]
    if missing:
        raise PrometheusNotInstalled(f"{', '.join(missing)} not found: {INSTALL_HINT}")


def bcrypt_hash(password: str) -> str:
    """A bcrypt hash for Prometheus' web config (`basic_auth_users`), low cost to keep requests fast.

    Tries the `bcrypt` package, then `htpasswd -nbB` (apache2-utils, installed by ./dev), then the stdlib
    `crypt` module (Python < 3.13).
    """
    try:
        import bcrypt  # type: ignore[import-not-found]

        return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()
    except ImportError:
        pass
    htpasswd = shutil.which("htpasswd")
    if htpasswd:
        res = subprocess.run(
            [htpasswd, "-nbB", "-C", "4", "user", password], capture_output=True, text=True, check=True
        )
        return res.stdout.strip().split(":", 1)[1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt  # type: ignore[import-not-found]  # removed in Python 3.13

    return crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrometheusServer:
    """A Prometheus 2.42 on 127.0.0.1:<free port> serving a backfilled `Dataset` (or raw OpenMetrics text).

    Usage::

        with PrometheusServer(Dataset((healthy("test", "podinfo"),))) as prom:
            query(prom.url, 'vector(1)')

    Attributes: `url`, `port`, `anchor` (aligned wall-clock "now" the data was placed around),
    `start_ts`/`end_ts` (first/last sample time), `basic_auth` ((user, password) or None), `data_dir`.
    """

    def __init__(
        self,
        dataset: Dataset | str,
        *,
        basic_auth: tuple[str, str] | None = None,
        anchor: int | None = None,
        ready_timeout: float = 30.0,
    ):
        self.dataset = dataset
        self.basic_auth = basic_auth
        self.ready_timeout = ready_timeout
        self.anchor = aligned_now() if anchor is None else anchor
        if isinstance(dataset, Dataset):
            self.start_ts = self.anchor - dataset.before
            self.end_ts = self.anchor + dataset.after
        else:
            self.start_ts = self.end_ts = None
        self.port: int | None = None
        self._tmp: Path | None = None
        self._proc: subprocess.Popen | None = None
        self._log = None

    # -- lifecycle

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("server not set up yet")
        return f"http://127.0.0.1:{self.port}"

    @property
    def data_dir(self) -> Path:
        assert self._tmp is not None
        return self._tmp / "tsdb"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def __enter__(self) -> PrometheusServer:
        try:
            self.setup()
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def setup(self) -> None:
        """Create the TSDB directory, backfill, write the configs (no server yet)."""
        require_prometheus()
        self._tmp = Path(tempfile.mkdtemp(prefix="cronary-prometheus-"))
        text = self.dataset.render(self.anchor) if isinstance(self.dataset, Dataset) else self.dataset
        om = self._tmp / "data.om"
        om.write_text(text)
        self.data_dir.mkdir()
        res = subprocess.run(
            [str(PROMTOOL_BIN), "tsdb", "create-blocks-from", "openmetrics", "-q", str(om), str(self.data_dir)],
            capture_output=True,
            text=True,
        )
        if res.returncode != 0:
            raise PrometheusStartError(f"promtool backfill failed ({res.returncode}): {res.stderr[-2000:]}")
        om.unlink()
        (self._tmp / "prometheus.yml").write_text(
            "# cronary test server: no scrape targets, data comes from backfilled blocks\n"
            "global:\n  scrape_interval: 15s\n  evaluation_interval: 15s\n"
        )
        if self.basic_auth:
            user, password = self.basic_auth
            (self._tmp / "web.yml").write_text(
                f"basic_auth_users:\n  {json.dumps(user)}: {json.dumps(bcrypt_hash(password))}\n"
            )

    def start(self) -> None:
        """Start (or restart, on the same port) the server and wait for `/-/ready`."""
        if self._tmp is None:
            self.setup()
        if self.running:
            return
        attempts = 1 if self.port is not None else 3
        last_error: Exception | None = None
        for _ in range(attempts):
            port = self.port if self.port is not None else free_port()
            try:
                self._spawn(port)
                self.port = port
                return
            except PrometheusStartError as exc:
                last_error = exc
                if "address already in use" not in str(exc):
                    break
        assert last_error is not None
        raise last_error

    def _spawn(self, port: int) -> None:
        assert self._tmp is not None
        args = [
            str(PROMETHEUS_BIN),
            f"--config.file={self._tmp / 'prometheus.yml'}",
            f"--storage.tsdb.path={self.data_dir}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--storage.tsdb.retention.time=30d",
            "--log.level=warn",
        ]
        if self.basic_auth:
            args.append(f"--web.config.file={self._tmp / 'web.yml'}")
        log_path = self._tmp / "prometheus.log"
        self._log = open(log_path, "ab")  # noqa: SIM115 (closed in stop())
        self._proc = subprocess.Popen(
            args, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=self._tmp
        )
        url = f"http://127.0.0.1:{port}/-/ready"
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                self._reap()
                raise PrometheusStartError(f"prometheus exited at start-up:\n{self.log_tail()}")
            try:
                req = urllib.request.Request(url, headers=self._auth_headers())
                with urllib.request.urlopen(req, timeout=1) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.05)
        self.stop()
        raise PrometheusStartError(f"prometheus not ready after {self.ready_timeout}s:\n{self.log_tail()}")

    def stop(self) -> None:
        """Stop the server (its port then refuses connections); the data stays for `start()`."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._reap()

    def _reap(self) -> None:
        self._proc = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def close(self) -> None:
        """Stop the server and delete its TSDB."""
        self.stop()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def log_tail(self, chars: int = 4000) -> str:
        if self._tmp is None or not (self._tmp / "prometheus.log").exists():
            return ""
        return (self._tmp / "prometheus.log").read_text(errors="replace")[-chars:]

    # -- queries

    def _auth_headers(self) -> dict[str, str]:
        if not self.basic_auth:
            return {}
        return {"Authorization": basic_auth_header(*self.basic_auth)}

    def query(self, promql: str, time: float | None = None) -> list[dict]:
        """`query(self.url, promql, time, auth=self.basic_auth)`."""
        return query(self.url, promql, time, auth=self.basic_auth)

    def value(self, promql: str, time: float | None = None) -> float | None:
        return value_of(self.query(promql, time))


# -------------------------------------------------------------------------------------------- query


def basic_auth_header(user: str, password: str) -> str:
    return "Basic " + b64encode(f"{user}:{password}".encode()).decode()


def query(
    url: str, promql: str, time: float | None = None, *, auth: tuple[str, str] | None = None, timeout: float = 5.0
) -> list[dict]:
    """Instant query (`GET /api/v1/query`), stdlib only. Returns `data.result` (a list of series).

    Without `time`, Prometheus evaluates at its own "now", as Flagger does. HTTP errors and
    non-success answers raise `PrometheusQueryError`; a refused connection raises `urllib.error.URLError`
    (whose `.reason` is a `ConnectionRefusedError`).
    """
    params = {"query": promql}
    if time is not None:
        params["time"] = repr(float(time))
    req = urllib.request.Request(f"{url.rstrip('/')}/api/v1/query?{urllib.parse.urlencode(params)}")
    if auth is not None:
        req.add_header("Authorization", basic_auth_header(*auth))
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            body = resp.read().decode()
    except urllib.error.HTTPError as exc:
        body = exc.read().decode(errors="replace")
        raise PrometheusQueryError(f"HTTP {exc.code}: {body.strip()}", exc.code, body) from exc
    doc = json.loads(body)
    if doc.get("status") != "success":
        raise PrometheusQueryError(f"query failed: {body}", None, body)
    return doc["data"]["result"]


def value_of(result: list[dict]) -> float | None:
    """The single instant-vector value of `result`: None when empty, NaN stays NaN; >1 series raises."""
    if not result:
        return None
    if len(result) > 1:
        raise ValueError(f"expected one series, got {len(result)}: {result!r}")
    return float(result[0]["value"][1])


__all__ = [
    "EXPECTED",
    "FAILING",
    "GAP",
    "HEALTHY",
    "IDLE",
    "INSTALL_HINT",
    "OFFSET",
    "STEP",
    "Dataset",
    "PrometheusNotInstalled",
    "PrometheusQueryError",
    "PrometheusServer",
    "PrometheusStartError",
    "Workload",
    "aligned_now",
    "basic_auth_header",
    "bcrypt_hash",
    "failing",
    "free_port",
    "generate_openmetrics",
    "grid",
    "healthy",
    "idle",
    "query",
    "require_prometheus",
    "switching",
    "value_of",
]


# --------------------------------------------------------------------------------------------------------
# A real Prometheus (Debian's 2.42) with backfilled synthetic data; see tests/harness/prometheus.py.
#
# Phase numbers (per 15 s step, Flagger's built-in queries with a [1m] window), from the reference §6:
#   healthy: success rate 99.5, P99 ≈ 120.45 ms (Flagger truncates to 120 ms)
#   failing: success rate 60,   P99 ≈ 800.97 ms (800 ms)
#   idle:    series exist, no increase -> both queries give NaN ("no values found" at HEAD)
#   gap:     no samples -> empty vector ("no values found")
# Compare values with a tolerance (pytest.approx), never with ==.
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


def start_prometheus(dataset: Dataset | str, basic_auth: tuple[str, str] | None = None) -> PrometheusServer:
    server = PrometheusServer(dataset, basic_auth=basic_auth)
    try:
        server.__enter__()
    except PrometheusNotInstalled as exc:
        pytest.fail(str(exc), pytrace=False)
    return server
