"""How long reading an input file takes, within cronary's input limits and at them (`cronjob/shared/reader.py`).

Run from the repository root:

    .venv/bin/python bench/bench_inputs.py           # about 2 minutes
    .venv/bin/python bench/bench_inputs.py --quick   # 1 repetition each: a smoke check

Files (written to a temporary directory, never committed):

  configmaps-4mb     a valid-ish CLUSTER.yaml of 4,000,000 bytes: the seed cluster plus ConfigMaps that carry
                     a config file each (a block scalar of ~3 KB) — the shape that makes a real cluster dump big
  objects-4mb        4,000,000 bytes of small objects (labels, annotations, a few data keys, one long value):
                     nearly 100,000 nodes, just within the limit (4 MB of objects without long values would
                     be about 190,000 nodes: over the limit)
  nodes-at-limit     a flow list of 99,990 integers: the node limit, in the shape that costs most per node
  blank-4mib         4 MiB of blank lines around two keys: the byte limit, in the shape that costs most per byte
  comments-4mib      4 MiB of comment lines
  alias-bomb         the classic nine-fold alias bomb (rejected at the alias that crosses the node limit)
  over-4mib          4 MiB + 1 byte (rejected by `stat`, before reading)
  deep-300           300 nested lists (rejected at level 101)

For each file: the time of `cronjob.shared.yamlio.load_documents` (read, decode, parse within the limits), min and
median, and for the two 4 MB files also the time of ruamel.yaml's safe loader alone (what cronary used before
the limits) and of a whole `cronary render` with that CLUSTER file (a subprocess: start-up included).
Wall-clock time (time.perf_counter); the machine is shared and noisy, so trust the min most. Nothing here is
asserted: the tests (`tests/cli/test_input_limits.py`) only bound each read by a subprocess timeout.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from ruamel.yaml import YAML

from cronjob.shared.errors import InputError
from cronjob.shared.reader import LIMITS
from cronjob.shared.yamlio import load_documents

SEED = ROOT / "fixtures" / "seed"
FOUR_MB = 4_000_000
CONFIG = "".join(
    f"    setting-{i}: value {i} for this service, with some text to make it a realistic line\n" for i in range(36)
)


def configmaps_4mb() -> str:
    parts, i = [(SEED / "cluster.yaml").read_text()], 0
    while sum(map(len, parts)) < FOUR_MB - 4000:
        parts.append(
            f"---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: config-{i}\n  namespace: test\n  labels: {{app: podinfo}}\n"
            f"data:\n  config.yaml: |\n{CONFIG}"
        )
        i += 1
    return _pad("".join(parts))


def objects_4mb() -> str:
    parts, i = [(SEED / "cluster.yaml").read_text()], 0
    while sum(map(len, parts)) < FOUR_MB - 1000:
        parts.append(
            f"---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings-{i:05d}\n  namespace: team-{i % 100:02d}\n"
            f"  labels: {{app: service-{i:05d}, tier: backend, team: team-{i % 100:02d}}}\n"
            f"  annotations: {{owner: platform-team@example.com, description: generated settings for service {i:05d} of the fleet}}\n"
            f"data:\n  region: europe-west-{i % 4}\n  endpoint: https://service-{i:05d}.team-{i % 100:02d}.svc.cluster.local:8443/api/v1\n"
            f"  note: {'a setting that is long enough to make the object look like a real one ' * 14}\n"
        )
        i += 1
    return _pad("".join(parts))


def _pad(text: str) -> str:
    """Exactly FOUR_MB bytes: a comment fills what the last object left."""
    missing = FOUR_MB - len(text.encode()) - 2
    assert missing >= 0, len(text)
    return text + "#" + "x" * missing + "\n"


CASES: dict[str, Callable[[], str]] = {
    "configmaps-4mb": configmaps_4mb,
    "objects-4mb": objects_4mb,
    "nodes-at-limit": lambda: "[" + ",".join(["1"] * 99_990) + "]\n",
    "blank-4mib": lambda: "a: 1\n" + "\n" * (LIMITS.max_bytes - 10) + "b: 2\n",
    "comments-4mib": lambda: ("# " + "x" * 77 + "\n") * (LIMITS.max_bytes // 80),
    "alias-bomb": lambda: (
        "a: &a ["
        + ", ".join(['"lol"'] * 9)
        + "]\n"
        + "".join(f"{b}: &{b} [{', '.join([f'*{a}'] * 9)}]\n" for a, b in zip("abcdefgh", "bcdefghi"))
    ),
    "over-4mib": lambda: "#" * LIMITS.max_bytes + "\n",
    "deep-300": lambda: "a: " + "[" * 300 + "]" * 300 + "\n",
}
FULL = ("configmaps-4mb", "objects-4mb")


def timed(fn: Callable[[], object], reps: int) -> tuple[float, float, str]:
    times, outcome = [], ""
    for _ in range(reps):
        start = time.perf_counter()
        try:
            result = fn()
            outcome = f"{len(result)} documents" if isinstance(result, list) else "read"
        except InputError as err:
            outcome = "refused: " + err.message[:60]
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times), outcome


def nodes(value: object) -> int:
    if isinstance(value, dict):
        return 1 + sum(nodes(k) + nodes(v) for k, v in value.items())
    if isinstance(value, list):
        return 1 + sum(nodes(v) for v in value)
    return 1


def render(cluster: Path) -> float:
    argv = [
        str(Path(sys.executable).parent / "cronary"),
        "render",
        str(SEED / "podinfo-canary.yaml"),
        "--cluster",
        str(cluster),
        "--mesh-provider",
        "smi:istio",
        "--now",
        "2026-11-27T10:00:00Z",
    ]
    start = time.perf_counter()
    done = subprocess.run(
        argv, cwd=ROOT, capture_output=True, text=True, timeout=600, env={**os.environ, "PYTHONPATH": str(ROOT)}
    )
    assert done.returncode == 0, done.stderr
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    reps = 1 if args.quick else 5
    print(
        f"# {platform.python_implementation()} {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs; "
        f"limits: {LIMITS}"
    )
    print(f"{'file':<16} {'bytes':>10} {'nodes':>8} {'read min':>9} {'median':>8}  outcome")
    with tempfile.TemporaryDirectory() as tmp:
        for name, make in CASES.items():
            path = Path(tmp) / f"{name}.yaml"
            path.write_text(make(), encoding="utf-8")
            best, median, outcome = timed(lambda: load_documents(str(path)), reps)  # noqa: B023 (called at once)
            count = sum(nodes(d) for d in load_documents(str(path))) if outcome.endswith("documents") else 0
            print(
                f"{name:<16} {path.stat().st_size:>10,} {count:>8,} {best:>8.2f}s {median:>7.2f}s  {outcome}",
                flush=True,
            )
            if name in FULL:
                text = path.read_text(encoding="utf-8")
                old_best, old_median, _ = timed(lambda: list(YAML(typ="safe", pure=True).load_all(text)), reps)  # noqa: B023 (called at once)
                print(
                    f"{'  ruamel alone':<16} {'':>10} {'':>8} {old_best:>8.2f}s {old_median:>7.2f}s  (the safe loader without the limits)"
                )
                walls = [render(path) for _ in range(max(1, reps // 2))]
                print(
                    f"{'  cronary render':<16} {'':>10} {'':>8} {min(walls):>8.2f}s {statistics.median(walls):>7.2f}s  (a subprocess, start-up included)"
                )


if __name__ == "__main__":
    main()
