"""Fleet-scale metric querying against a real Prometheus: aggregated vs per-canary, side by side.

Run from the repository root:

    .venv/bin/python bench/bench_metrics.py                      # N = 10, 100, 1000 (about 2 minutes)
    .venv/bin/python bench/bench_metrics.py --canaries 1000 --reps 9
    .venv/bin/python bench/bench_metrics.py --quick               # N = 10, 100; 3 reps: a smoke check
    .venv/bin/python bench/bench_metrics.py --profile             # also cProfile one pass of each mode at the largest N

For each N a private Prometheus 2.42 is started by `tests/harness/prometheus.py` (Debian's
/usr/bin/prometheus, backfilled with promtool) holding Istio series for exactly N canary workloads
`app0000`… in namespace `fleet` (every third healthy, failing, idle) plus their `<name>-primary`
workloads (healthy), as a mesh would have them; data from now-5 min to now+10 min, no extra labels.
N canaries are built from fixtures/seed/podinfo-canary.yaml (parse_canary, distinct names and targets in
namespace `fleet`), each with its two built-in metrics (request-success-rate, request-duration, 1m) for
provider smi:istio.

One *tick* of a mode answers every metric of every canary:
  aggregated   `PrometheusMetrics(url)`: `prefetch(all requests)`, then `answer(requests)` for each canary
  per-canary   `PrometheusMetrics(url, aggregate=False)`: `answer(requests)` for each canary
Both modes use one `PrometheusMetrics` each for all repetitions and call `new_tick()` before every
repetition, so nothing is reused between ticks except the HTTP connection (as in one long-running process).
Repetitions alternate between the modes so both see the same machine load. One untimed warm-up tick of each
mode runs first. Reported: Prometheus HTTP requests per tick (`requests_made`, cross-checked against the
server's own `prometheus_http_requests_total{handler="/api/v1/query"}`), wall time min / median
(`time.perf_counter`, GC on), and the speed-up (per-canary / aggregated, by min and by median).

Every tick's results are compared: aggregated and per-canary must give the same value (relative 1e-9) or
the same "no value" error for every (canary, metric), and the values must be the dataset's (99.5 / 60 /
no values; ≈120.45 / ≈800.97 ms). Any difference aborts the run with exit code 1.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import math
import os
import platform
import pstats
import re
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "tests"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from cronjob.shared.prometheus import PrometheusMetrics
from cronjob.shared.yamlio import load_single
from engine import MetricRequest, Settings
from engine.analysis import NO_VALUES, MetricResult
from engine.canary_spec import parse_canary
from engine.model import Canary
from engine.routers.factory import resolve_provider
from engine.tick import metric_request
from harness.prometheus import (
    EXPECTED,
    Dataset,
    PrometheusServer,
    failing,
    healthy,
    idle,
)

CANARY_FILE = ROOT / "fixtures" / "seed" / "podinfo-canary.yaml"
NAMESPACE = "fleet"
PROVIDER = resolve_provider("smi:istio", None)
KINDS = (healthy, failing, idle)
BEFORE, AFTER = 5 * 60, 10 * 60

Results = dict[tuple[str, str], MetricResult]
Pairs = list[tuple[Canary, tuple[MetricRequest, ...]]]


class Mismatch(SystemExit):
    pass


def die(message: str) -> None:
    print(f"\n*** BENCHMARK ABORTED: {message}", file=sys.stderr, flush=True)
    raise Mismatch(1)


# --------------------------------------------------------------------------------------------- inputs
def name(i: int) -> str:
    return f"app{i:04d}"


def build_fleet(n: int) -> Pairs:
    base = load_single(str(CANARY_FILE))
    fleet: Pairs = []
    for i in range(n):
        doc = json.loads(json.dumps(base))
        doc["metadata"]["name"] = name(i)
        doc["metadata"]["namespace"] = NAMESPACE
        doc["spec"]["targetRef"]["name"] = name(i)
        canary = parse_canary(doc)
        requests = tuple(
            metric_request(m, PROVIDER, canary, {}, Settings()) for m in canary.spec.effective_analysis.metrics
        )
        fleet.append((canary, requests))
    return fleet


def dataset(n: int) -> Dataset:
    return Dataset(
        workloads=tuple(KINDS[i % 3](NAMESPACE, name(i)) for i in range(n)),
        before=BEFORE,
        after=AFTER,
        istio=True,
        istio_seconds=False,
        linkerd=False,
        primary_distractors=True,
        source_distractors=False,
        extra_labels=False,
    )


# --------------------------------------------------------------------------------------------- ticks
def tick_aggregated(metrics: PrometheusMetrics, fleet: Pairs) -> Results:
    metrics.prefetch(r for _, requests in fleet for r in requests)
    out: Results = {}
    for canary, requests in fleet:
        for metric, result in metrics.answer(requests).items():
            out[(canary.name, metric)] = result
    return out


def tick_per_canary(metrics: PrometheusMetrics, fleet: Pairs) -> Results:
    out: Results = {}
    for canary, requests in fleet:
        for metric, result in metrics.answer(requests).items():
            out[(canary.name, metric)] = result
    return out


def expected(i: int, metric: str) -> float | None:
    kind = KINDS[i % 3]
    if kind is idle:
        return None
    numbers = EXPECTED["A" if kind is healthy else "B"]
    return numbers["success_rate"] if metric == "request-success-rate" else numbers["p99_ms"]


def check(n: int, aggregated: Results, per_canary: Results, where: str) -> None:
    if set(aggregated) != set(per_canary) or len(aggregated) != 2 * n:
        die(f"{where}: different keys: {len(aggregated)} aggregated vs {len(per_canary)} per-canary, expected {2 * n}")
    for i in range(n):
        for metric in ("request-success-rate", "request-duration"):
            key = (name(i), metric)
            a, p = aggregated[key], per_canary[key]
            want = expected(i, metric)
            if want is None:
                if not (a.value is None and p.value is None and a.error == p.error == NO_VALUES):
                    die(f"{where}: {key}: expected no values; aggregated {a!r}, per-canary {p!r}")
                continue
            if a.value is None or p.value is None:
                die(f"{where}: {key}: missing value; aggregated {a!r}, per-canary {p!r}")
            if not math.isclose(a.value, p.value, rel_tol=1e-9):
                die(f"{where}: {key}: aggregated {a.value!r} != per-canary {p.value!r}")
            if not math.isclose(a.value, want, rel_tol=1e-6):
                die(f"{where}: {key}: value {a.value!r}, the dataset gives {want!r}")


# --------------------------------------------------------------------------------------------- server side
_QUERY_COUNTER = re.compile(r"^prometheus_http_requests_total\{([^}]*)\}\s+(\S+)", re.MULTILINE)


def server_query_count(url: str) -> int:
    """Prometheus' own count of /api/v1/query requests (all codes), from its /metrics page."""
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as resp:
        text = resp.read().decode()
    return int(sum(float(v) for labels, v in _QUERY_COUNTER.findall(text) if 'handler="/api/v1/query"' in labels))


# --------------------------------------------------------------------------------------------- run
def measure(n: int, reps: int, profile: bool) -> dict[str, Any]:
    fleet = build_fleet(n)
    t0 = time.perf_counter()
    server = PrometheusServer(dataset(n))
    server.__enter__()
    startup = time.perf_counter() - t0
    try:
        agg = PrometheusMetrics(server.url)
        per = PrometheusMetrics(server.url, aggregate=False)
        modes: dict[str, tuple[PrometheusMetrics, Callable[[PrometheusMetrics, Pairs], Results]]] = {
            "aggregated": (agg, tick_aggregated),
            "per-canary": (per, tick_per_canary),
        }
        times: dict[str, list[float]] = {m: [] for m in modes}
        requests: dict[str, set[int]] = {m: set() for m in modes}
        server_requests: dict[str, set[int]] = {m: set() for m in modes}

        def one(mode: str) -> tuple[Results, float]:
            metrics, run = modes[mode]
            metrics.new_tick()
            before, served_before = metrics.requests_made, server_query_count(server.url)
            start = time.perf_counter()
            results = run(metrics, fleet)
            elapsed = time.perf_counter() - start
            requests[mode].add(metrics.requests_made - before)
            server_requests[mode].add(server_query_count(server.url) - served_before)
            return results, elapsed

        # untimed warm-up of both modes (first touch of the TSDB blocks, connection set-up); checked too
        check(n, one("aggregated")[0], one("per-canary")[0], f"N={n} warm-up")
        for m in modes:
            requests[m].clear()
            server_requests[m].clear()
        for rep in range(reps):
            order = ("aggregated", "per-canary") if rep % 2 == 0 else ("per-canary", "aggregated")
            got: dict[str, Results] = {}
            for mode in order:
                got[mode], elapsed = one(mode)
                times[mode].append(elapsed)
            check(n, got["aggregated"], got["per-canary"], f"N={n} rep {rep + 1}")
        for mode in modes:
            if len(requests[mode]) != 1 or requests[mode] != server_requests[mode]:
                die(
                    f"N={n} {mode}: requests per tick not constant or not what Prometheus saw: "
                    f"requests_made {sorted(requests[mode])}, server {sorted(server_requests[mode])}"
                )
        profiles = {}
        if profile:
            for mode, (metrics, run) in modes.items():
                metrics.new_tick()
                prof = cProfile.Profile()
                prof.enable()
                run(metrics, fleet)
                prof.disable()
                buf = io.StringIO()
                pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(25)
                profiles[mode] = buf.getvalue()
    finally:
        server.close()
    return {
        "n": n,
        "startup": startup,
        "times": times,
        "profiles": profiles,
        "requests": {m: next(iter(r)) for m, r in requests.items()},
    }


def fmt_time(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms" if seconds < 1 else f"{seconds:,.2f} s"


def machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        prom = subprocess.run(
            ["/usr/bin/prometheus", "--version"], check=False, capture_output=True, text=True
        ).stdout.splitlines()[0]
    except (OSError, IndexError):
        prom = "?"
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"nproc {os.cpu_count()}, CPU {cpu}, {platform.python_implementation()} {platform.python_version()}, "
        f"{prom}, load average {load}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--canaries", type=int, nargs="+", default=None, help="fleet sizes (default 10 100 1000)")
    parser.add_argument("--reps", type=int, default=None, help="timed repetitions per mode (default 7; 3 with --quick)")
    parser.add_argument("--quick", action="store_true", help="N = 10, 100 and 3 repetitions")
    parser.add_argument("--profile", action="store_true", help="cProfile one tick of each mode at the largest N")
    args = parser.parse_args(argv)
    sizes = args.canaries or ([10, 100] if args.quick else [10, 100, 1000])
    reps = args.reps or (3 if args.quick else 7)

    print(machine())
    print(f"{reps} timed repetitions per mode, alternating; one untimed warm-up each\n", flush=True)
    rows = []
    for n in sizes:
        print(f"N={n}: starting Prometheus with {n} canary + {n} primary workloads …", flush=True)
        row = measure(n, reps, args.profile and n == max(sizes))
        rows.append(row)
        a, p = row["times"]["aggregated"], row["times"]["per-canary"]
        print(
            f"  backfill + start {row['startup']:.1f} s; aggregated {fmt_time(min(a))} min / {fmt_time(statistics.median(a))} median; "
            f"per-canary {fmt_time(min(p))} / {fmt_time(statistics.median(p))}",
            flush=True,
        )

    print("\nvalues equal in every tick (aggregated vs per-canary, and the dataset's numbers)\n")
    header = (
        "| canaries | requests/tick aggregated | requests/tick per-canary | aggregated min / median "
        "| per-canary min / median | speed-up (min / median) |"
    )
    print(header)
    print("|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        a, p = row["times"]["aggregated"], row["times"]["per-canary"]
        print(
            f"| {row['n']:,} | {row['requests']['aggregated']:,} | {row['requests']['per-canary']:,} "
            f"| {fmt_time(min(a))} / {fmt_time(statistics.median(a))} "
            f"| {fmt_time(min(p))} / {fmt_time(statistics.median(p))} "
            f"| {min(p) / min(a):,.1f}× / {statistics.median(p) / statistics.median(a):,.1f}× |"
        )
    for row in rows:
        for mode, text in row["profiles"].items():
            print(f"\n--- cProfile, one {mode} tick, N={row['n']} ---\n{text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
