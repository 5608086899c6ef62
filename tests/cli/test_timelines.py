"""Flagger's rollout timelines, tick by tick, through `cronary simulate` (and `render`).

Each case plays a scenario against the seed cluster with the real CLI (click's CliRunner, and the installed
`cronary` executable for the contract and determinism checks) and compares every tick with the worked
timelines of `reference/flagger-state-machine.md` §8 (phases, status weight, routed weight, failedChecks and
the exact event messages, in order). The same scenarios run through `cronjob.local.simulation.Simulation` directly
must give the same records, and the Simulation's cluster is inspected where the timeline alone cannot show
an effect (replicas, the primary's image).

Tick numbering in the seed scenarios: tick 1 creates the primary (not ready yet), tick 2 initializes, and the
new image (`kubectl set image … podinfo:1.7.1`) is applied at tick 3, so tick 3 is the detection tick D of
the reference's tables and D+k is tick 3+k. The interval is 10 s, so tick n runs at start + 10·(n−1) s.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cronjob.cli import main
from cronjob.local.inputs import build_cluster, cluster_objects, read_canary, read_scenario
from cronjob.local.simulation import SimulatedCluster, Simulation
from cronjob.shared.yamlio import dump_yaml_stream
from engine import Settings
from engine.status_doc import canary_manifest
from harness.golden import assert_golden
from harness.timeline_rows import Row, _simulate_text, advance, at, row, simulate_cli
from harness.timeline_rows import simulate_args as _args

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "fixtures" / "seed"
CANARIES = ROOT / "fixtures" / "canaries"
CLUSTER = SEED / "cluster.yaml"
SEED_CANARY = SEED / "podinfo-canary.yaml"
MESH = "smi:istio"
D = 3  # the detection tick of every scenario whose image changes at tick 3

# ----------------------------------------------------------------------------------------------- messages
DETECTED = "New revision detected! Scaling up podinfo.test"
STARTING = "Starting canary analysis for podinfo.test"
COPYING = "Copying podinfo.test template spec to podinfo-primary.test"
ALL_TO_PRIMARY = "Routing all traffic to primary"
COMPLETED = "Promotion completed! Scaling down podinfo.test"
CANARY_FAILED = "Canary failed! Scaling down podinfo.test"
RESTARTING = "New revision detected! Restarting analysis for podinfo.test"
SKIPPED = "Promotion completed! Canary analysis was skipped for podinfo.test"
INITIALIZED = "Initialization done! podinfo.test"
PROVIDERS_OK = "all the metrics providers are available!"
PRIMARY_FRESH = "podinfo-primary.test not ready: waiting for rollout to finish: observed deployment generation less than desired generation"
SR_HALT = "Halt podinfo.test advancement success rate 95.00% < 99%"
NO_DATA = (
    "Halt advancement no values found for istio metric request-success-rate probably podinfo.test is not receiving traffic: "
    "no values found"
)
CANARY_WAITING = (
    "canary deployment podinfo.test not ready: waiting for rollout to finish: 0 out of 2 new replicas have been updated"
)
CANARY_DEADLINE = 'canary deployment podinfo.test not ready: deployment "podinfo" exceeded its progress deadline'


def threshold_reached(n: int) -> str:
    return f"Rolling back podinfo.test failed checks threshold reached {n}"


# ----------------------------------------------------------------------------------------------- running


def simulation(canary: Path, scenario: Path, **scenario_changes: Any) -> Simulation:
    """A `Simulation` built the way the CLI builds it (the scenario optionally shortened or changed)."""
    parsed = read_canary(str(canary), MESH)
    cluster = build_cluster(cluster_objects(str(CLUSTER)))
    plan = read_scenario(str(scenario))
    if scenario_changes:
        plan = dataclasses.replace(plan, **scenario_changes)
    return Simulation(parsed, SimulatedCluster.of(cluster), plan, Settings(mesh_provider=MESH), str(scenario))


def project(record: dict[str, Any]) -> Row:
    return Row(
        record["tick"],
        record["phase"],
        record["canaryWeight"],
        record["trafficWeight"],
        record["failedChecks"],
        tuple(record["events"]),
    )


def assert_rows(records: list[dict[str, Any]], expected: list[Row]) -> None:
    by_tick = {r["tick"]: r for r in records}
    missing = [e.tick for e in expected if e.tick not in by_tick]
    assert not missing, f"the simulation stopped after tick {len(records)}; expected ticks {missing} too"
    actual = [project(by_tick[e.tick]) for e in expected]
    assert actual == expected
    for e in expected:
        assert by_tick[e.tick]["time"] == at(e.tick)


def assert_initialization(records: list[dict[str, Any]]) -> None:
    """Ticks 1–2 of the seed scenarios: primary created but not ready, then Initialized with nothing routed."""
    first, second = records[0], records[1]
    assert (first["phase"], first["canaryWeight"], first["failedChecks"]) == ("Initializing", 0, 0)
    assert PRIMARY_FRESH in first["events"]
    assert (second["phase"], second["canaryWeight"], second["trafficWeight"], second["failedChecks"]) == (
        "Initialized",
        0,
        0,
        0,
    )
    assert second["events"][-1] == INITIALIZED


def deployment(sim: Simulation, name: str) -> dict[str, Any]:
    return sim.cluster.objects[("Deployment", "test", name)]


def image_of(dep: dict[str, Any]) -> str:
    return dep["spec"]["template"]["spec"]["containers"][0]["image"]


# ----------------------------------------------------------------------------------------------- timelines
def _progress(first_tick: int, weights: list[int]) -> list[Row]:
    """Progressing rows advancing through `weights`, the first one starting the analysis."""
    rows = []
    for i, w in enumerate(weights):
        events = (STARTING, advance(w)) if i == 0 else (advance(w),)
        rows.append(row(first_tick + i, "Progressing", w, w, 0, *events))
    return rows


# §8.1: all metrics healthy, stepWeight 10 — D..D+8 exactly as the table.
HEALTHY_10 = [
    row(D, "Progressing", 0, 0, 0, DETECTED),
    *_progress(D + 1, [10, 20, 30, 40, 50]),
    row(D + 6, "Promoting", 50, 50, 0, COPYING),
    row(D + 7, "Finalising", 0, 0, 0, ALL_TO_PRIMARY),
    row(D + 8, "Succeeded", 0, 0, 0, COMPLETED),
]

# §8.2: stepWeight 5 — ten advances to 50, then Promoting, Finalising, Succeeded (D+13, 130 s after D).
HEALTHY_5 = [
    row(D, "Progressing", 0, 0, 0, DETECTED),
    *_progress(D + 1, list(range(5, 55, 5))),
    row(D + 11, "Promoting", 50, 50, 0, COPYING),
    row(D + 12, "Finalising", 0, 0, 0, ALL_TO_PRIMARY),
    row(D + 13, "Succeeded", 0, 0, 0, COMPLETED),
]

# §8.3: success rate failing from weight 15 on, stepWeight 5, threshold 5.
FAILING_5 = [
    row(D, "Progressing", 0, 0, 0, DETECTED),
    *_progress(D + 1, [5, 10, 15]),
    *[row(D + 3 + n, "Progressing", 15, 15, n, SR_HALT) for n in range(1, 6)],
    row(D + 9, "Failed", 0, 0, 0, threshold_reached(5), CANARY_FAILED),
]

# §8.3 variant with stepWeight 10: failing from 20 on, rollback at D+8.
FAILING_10 = [
    row(D, "Progressing", 0, 0, 0, DETECTED),
    *_progress(D + 1, [10, 20]),
    *[row(D + 2 + n, "Progressing", 20, 20, n, SR_HALT) for n in range(1, 6)],
    row(D + 8, "Failed", 0, 0, 0, threshold_reached(5), CANARY_FAILED),
]

# §2.4.3: a new image at tick 6 while Progressing (weight 10, one failed check) restarts the analysis.
RESTART = [
    row(D, "Progressing", 0, 0, 0, DETECTED),
    row(4, "Progressing", 10, 10, 0, STARTING, advance(10)),
    row(5, "Progressing", 10, 10, 1, SR_HALT),
    row(6, "Progressing", 0, 0, 0, RESTARTING),
    row(7, "Progressing", 10, 10, 0, STARTING, advance(10)),
    *[row(8 + i, "Progressing", w, w, 0, advance(w)) for i, w in enumerate([20, 30, 40, 50])],
    row(12, "Promoting", 50, 50, 0, COPYING),
    row(13, "Finalising", 0, 0, 0, ALL_TO_PRIMARY),
    row(14, "Succeeded", 0, 0, 0, COMPLETED),
]

# §2.6.1: "no data" is a failed check; five of them roll back.
NO_DATA_ROWS = [
    row(D, "Progressing", 0, 0, 0, DETECTED),
    row(4, "Progressing", 10, 10, 0, STARTING, advance(10)),
    *[row(4 + n, "Progressing", 10, 10, n, NO_DATA) for n in range(1, 6)],
    row(10, "Failed", 0, 0, 0, threshold_reached(5), CANARY_FAILED),
]

# §7 ServicePromotionWithWeightsHappyCase: stepWeights [1,2,10,80] -> 1, 2, 10, 80, then promotion.
STEP_WEIGHTS = [
    row(D, "Progressing", 0, 0, 0, DETECTED),
    *_progress(D + 1, [1, 2, 10, 80]),
    row(D + 5, "Promoting", 80, 80, 0, COPYING),
    row(D + 6, "Finalising", 0, 0, 0, ALL_TO_PRIMARY),
    row(D + 7, "Succeeded", 0, 0, 0, COMPLETED),
]

# §2.8: skipAnalysis — Initialized on the first tick (no primary wait), detect, then promoted on the next tick.
SKIP = [
    row(1, "Initialized", 0, 0, 0, INITIALIZED),
    row(2, "Initialized", 0, 0, 0),
    row(D, "Progressing", 0, 0, 0, DETECTED),
    row(D + 1, "Succeeded", 0, 0, 0, COPYING, "Post-rollout check post-check passed", SKIPPED),
]

# §2.5/§2.9.1: the canary never becomes ready. Retriable warnings while the Deployment is within the Canary's
# progressDeadlineSeconds (60 s from the scale-up at D); on the first tick past it the Deployment reports
# ProgressDeadlineExceeded (non-retriable) and the release is rolled back. failedChecks is never touched.
PROGRESS_DEADLINE = [
    row(D, "Progressing", 0, 0, 0, DETECTED),
    *[row(D + k, "Progressing", 0, 0, 0, CANARY_WAITING) for k in range(1, 7)],
    row(D + 7, "Failed", 0, 0, 0, CANARY_DEADLINE, CANARY_FAILED),
]

TIMELINES = [
    pytest.param(SEED_CANARY, SEED / "scenario-healthy.yaml", HEALTHY_10, id="8.1-healthy-stepWeight-10"),
    pytest.param(
        CANARIES / "podinfo-step5.yaml", SEED / "scenario-healthy.yaml", HEALTHY_5, id="8.2-healthy-stepWeight-5"
    ),
    pytest.param(
        CANARIES / "podinfo-step5.yaml",
        SEED / "scenario-failing-step5.yaml",
        FAILING_5,
        id="8.3-failing-from-15-stepWeight-5",
    ),
    pytest.param(SEED_CANARY, SEED / "scenario-failing.yaml", FAILING_10, id="8.3-failing-from-20-stepWeight-10"),
    pytest.param(SEED_CANARY, SEED / "scenario-restart.yaml", RESTART, id="restart-on-new-revision"),
    pytest.param(SEED_CANARY, SEED / "scenario-no-data.yaml", NO_DATA_ROWS, id="no-data-is-a-failed-check"),
    pytest.param(
        CANARIES / "podinfo-stepweights.yaml", SEED / "scenario-healthy.yaml", STEP_WEIGHTS, id="stepWeights-1-2-10-80"
    ),
    pytest.param(CANARIES / "podinfo-skip-analysis.yaml", SEED / "scenario-healthy.yaml", SKIP, id="skipAnalysis"),
    pytest.param(
        SEED_CANARY, SEED / "scenario-progress-deadline.yaml", PROGRESS_DEADLINE, id="progress-deadline-rollback"
    ),
]


@pytest.mark.parametrize(("canary", "scenario", "expected"), TIMELINES)
def test_timeline(canary: Path, scenario: Path, expected: list[Row]) -> None:
    records = simulate_cli(canary, scenario)
    if expected[0].tick > 1:
        assert_initialization(records)
    assert_rows(records, expected)
    # The simulation stops on the tick the canary comes to rest (Succeeded / Failed) after the last step.
    assert len(records) == expected[-1].tick
    assert [r["tick"] for r in records] == list(range(1, len(records) + 1))


@pytest.mark.parametrize(("canary", "scenario", "expected"), TIMELINES)
def test_simulation_class_matches_cli(canary: Path, scenario: Path, expected: list[Row]) -> None:
    records = [r.as_json() for r in simulation(canary, scenario).run()]
    assert records == simulate_cli(canary, scenario)
    assert_rows(records, expected)


def test_initialization_events_follow_flagger() -> None:
    """§2.3 step 6 and §8.4: while Initializing (analysis not skipped) every tick first checks the metric
    providers and records `all the metrics providers are available!`; the fresh primary is not ready on the
    first tick, the second tick initializes."""
    records = simulate_cli(SEED_CANARY, SEED / "scenario-healthy.yaml")
    assert records[0]["events"] == [PROVIDERS_OK, PRIMARY_FRESH]
    assert records[1]["events"] == [PROVIDERS_OK, INITIALIZED]


def test_healthy_analysis_runs_metrics_and_load_test_only_with_traffic() -> None:
    """§10.1: no metric analysis and no rollout hook at weight 0; from D+2 to the promotion tick D+6 every
    tick judges both metrics (in list order) and calls the load tester; Promoting/Finalising/Succeeded do not."""
    records = {r["tick"]: r for r in simulate_cli(SEED_CANARY, SEED / "scenario-healthy.yaml")}
    for tick in range(1, D + 2):
        assert records[tick]["metrics"] == [] and records[tick]["webhooks"] == [], tick
    for tick in range(D + 2, D + 7):
        assert [(m["name"], m["passed"]) for m in records[tick]["metrics"]] == [
            ("request-success-rate", True),
            ("request-duration", True),
        ], tick
        assert records[tick]["webhooks"] == [{"name": "load-test", "type": "rollout", "ok": True}], tick
    for tick in (D + 7, D + 8):
        assert records[tick]["metrics"] == [] and records[tick]["webhooks"] == [], tick


def test_failing_analysis_reports_the_failing_value() -> None:
    records = {r["tick"]: r for r in simulate_cli(SEED_CANARY, SEED / "scenario-failing.yaml")}
    # The success rate is judged first and stops the analysis: the duration is not judged on a failing tick.
    for tick in range(D + 3, D + 8):
        assert [(m["name"], m["value"], m["passed"]) for m in records[tick]["metrics"]] == [
            ("request-success-rate", 95.0, False)
        ], tick
    # The rollback tick runs no analysis: the threshold gate comes first (§10.3).
    assert records[D + 8]["metrics"] == []


def test_promotion_copies_the_analysed_revision_and_scales_the_canary_down() -> None:
    sim = simulation(SEED_CANARY, SEED / "scenario-healthy.yaml")
    records = sim.run()
    assert records[-1].phase == "Succeeded"
    assert image_of(deployment(sim, "podinfo-primary")) == "quay.io/stefanprodan/podinfo:1.7.1"
    assert deployment(sim, "podinfo")["spec"]["replicas"] == 0
    assert sim.canary.status.last_promoted_spec == sim.canary.status.last_applied_spec


@pytest.mark.parametrize(
    ("canary", "scenario"),
    [
        pytest.param(SEED_CANARY, SEED / "scenario-failing.yaml", id="threshold"),
        pytest.param(SEED_CANARY, SEED / "scenario-no-data.yaml", id="no-data"),
        pytest.param(SEED_CANARY, SEED / "scenario-progress-deadline.yaml", id="progress-deadline"),
    ],
)
def test_rollback_keeps_the_primary_and_scales_the_canary_down(canary: Path, scenario: Path) -> None:
    """§2.9.1: routes 100/0, target scaled to 0, the primary untouched (still the old version)."""
    sim = simulation(canary, scenario)
    records = sim.run()
    assert records[-1].phase == "Failed"
    assert records[-1].traffic == 0
    assert image_of(deployment(sim, "podinfo-primary")) == "quay.io/stefanprodan/podinfo:1.4.0"
    assert deployment(sim, "podinfo")["spec"]["replicas"] == 0
    assert sim.canary.status.failed_checks == 0


def test_restart_promotes_the_newest_revision() -> None:
    sim = simulation(SEED_CANARY, SEED / "scenario-restart.yaml")
    sim.run()
    assert image_of(deployment(sim, "podinfo-primary")) == "quay.io/stefanprodan/podinfo:1.8.0"


def test_progress_deadline_target_is_scaled_up_while_waiting() -> None:
    """The detection tick scales the target up to the HPA's 2 replicas; the rollout never completes."""
    sim = simulation(SEED_CANARY, SEED / "scenario-progress-deadline.yaml", ticks=D + 1)
    sim.run()
    target = deployment(sim, "podinfo")
    assert target["spec"]["replicas"] == 2
    assert target["status"]["updatedReplicas"] == 0


# ----------------------------------------------------------------------------------------------- JSON contract
def _cronary() -> list[str]:
    exe = shutil.which("cronary", path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-m", "cronjob.cli"]


def run_cronary(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*_cronary(), *args], capture_output=True, cwd=ROOT, timeout=120, check=False)


def test_simulate_json_contract() -> None:
    """DESIGN.md: one JSON array, one object per tick, with at least tick, time, phase, canaryWeight,
    failedChecks and events (the messages of the tick, in order)."""
    proc = run_cronary(*_args(SEED_CANARY, SEED / "scenario-healthy.yaml"))
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stderr == b""
    timeline = json.loads(proc.stdout.decode("utf-8"))  # the whole stdout is exactly one JSON document
    assert isinstance(timeline, list) and timeline
    for index, tick in enumerate(timeline):
        assert isinstance(tick, dict)
        assert {"tick", "time", "phase", "canaryWeight", "failedChecks", "events"} <= set(tick)
        assert tick["tick"] == index + 1
        assert tick["time"] == at(index + 1)
        assert isinstance(tick["phase"], str) and tick["phase"]
        assert type(tick["canaryWeight"]) is int and type(tick["failedChecks"]) is int
        assert isinstance(tick["events"], list) and all(isinstance(e, str) for e in tick["events"])
    assert [t["events"] for t in timeline][D - 1 :] == [list(r.events) for r in HEALTHY_10]


def test_simulate_table_lists_every_tick() -> None:
    result = CliRunner().invoke(
        main,
        [
            "simulate",
            str(SEED_CANARY),
            "--cluster",
            str(CLUSTER),
            "--scenario",
            str(SEED / "scenario-healthy.yaml"),
            "--mesh-provider",
            MESH,
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["TICK", "TIME", "PHASE", "WEIGHT", "TRAFFIC", "FAILED", "EVENTS"]
    starts = [line.split()[:3] for line in lines[1:] if line[:4].strip()]
    assert starts == [
        [str(n), at(n), p]
        for n, p in enumerate(["Initializing", "Initialized", *[r.phase for r in HEALTHY_10]], start=1)
    ]
    assert sum(advance(w) in line for line in lines for w in (10, 20, 30, 40, 50)) == 5


# ----------------------------------------------------------------------------------------------- goldens
@pytest.mark.parametrize(
    ("scenario", "golden"),
    [
        pytest.param("scenario-healthy.yaml", "simulate-healthy.json", id="healthy"),
        pytest.param("scenario-failing.yaml", "simulate-failing.json", id="failing"),
    ],
)
def test_simulate_json_golden(scenario: str, golden: str) -> None:
    proc = run_cronary(*_args(SEED_CANARY, SEED / scenario))
    assert proc.returncode == 0, proc.stderr.decode()
    assert_golden(golden, proc.stdout.decode("utf-8"))
    # the click entry point prints the same bytes as the installed executable
    assert _simulate_text(SEED_CANARY, SEED / scenario) == proc.stdout.decode("utf-8")


def _render(canary: Path, cluster: Path, now: str, *extra: str) -> str:
    proc = run_cronary(
        "render", str(canary), "--cluster", str(cluster), "--now", now, "--mesh-provider", MESH, "-o", "yaml", *extra
    )
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout.decode("utf-8")


def _state_files(sim: Simulation, tmp_path: Path, label: str) -> tuple[str, str, Path, Path]:
    """The simulated cluster and the Canary (with its status) as the YAML files `render` reads."""
    cluster_text = dump_yaml_stream(
        [sim.cluster.objects[k] for k in sorted(sim.cluster.objects)],
        header=f"# The seed cluster {label}, as the simulation left it (generated by tests/cli/test_timelines.py).\n",
    )
    canary_text = dump_yaml_stream(
        [canary_manifest(sim.canary, sim.canary.status)],
        header=f"# The seed Canary {label}, with the status the simulation wrote (generated by tests/cli/test_timelines.py).\n",
    )
    cluster_path, canary_path = tmp_path / f"cluster-{label}.yaml", tmp_path / f"canary-{label}.yaml"
    cluster_path.write_text(cluster_text, encoding="utf-8")
    canary_path.write_text(canary_text, encoding="utf-8")
    return cluster_text, canary_text, cluster_path, canary_path


def test_render_golden_fresh_cluster() -> None:
    """First tick on the seed cluster: services and the primary are created; the primary is not ready yet."""
    out = _render(SEED_CANARY, CLUSTER, at(1))
    assert out.startswith(f"# Normal: all the metrics providers are available!\n# Warning: {PRIMARY_FRESH}\n")
    assert_golden("render-fresh.yaml", out)


def test_render_golden_initialized(tmp_path: Path) -> None:
    """After initialization (ticks 1-2, no new revision): the cluster holds every generated object and the
    next due tick is idle — it re-renders the same objects and changes no status."""
    sim = simulation(SEED_CANARY, SEED / "scenario-healthy.yaml", ticks=2, steps=())
    records = sim.run()
    assert [r.phase for r in records] == ["Initializing", "Initialized"]
    cluster_text, canary_text, cluster_path, canary_path = _state_files(sim, tmp_path, "initialized")
    kinds = {k[0] for k in sim.cluster.objects}
    assert {"Deployment", "Service", "TrafficSplit", "HorizontalPodAutoscaler"} <= kinds
    assert_golden("cluster-initialized.yaml", cluster_text)
    assert_golden("canary-initialized.yaml", canary_text)
    out = _render(canary_path, cluster_path, at(3))
    assert "Initialized" in out and "# Warning" not in out
    assert_golden("render-initialized.yaml", out)


def test_render_golden_mid_analysis(tmp_path: Path) -> None:
    """Mid-analysis at weight 30 (Progressing): the next tick judges the metrics and advances to 40."""
    sim = simulation(SEED_CANARY, SEED / "scenario-healthy.yaml", ticks=D + 3)
    records = sim.run()
    assert (records[-1].phase, records[-1].canary_weight, records[-1].traffic) == ("Progressing", 30, 30)
    cluster_text, canary_text, cluster_path, canary_path = _state_files(sim, tmp_path, "mid-analysis")
    assert_golden("cluster-mid-analysis.yaml", cluster_text)
    assert_golden("canary-mid-analysis.yaml", canary_text)
    metrics = tmp_path / "metrics.yaml"
    metrics.write_text("request-success-rate: 99.5\nrequest-duration: 120\n", encoding="utf-8")
    out = _render(canary_path, cluster_path, at(D + 4), "--metrics", str(metrics))
    assert out.startswith(f"# Normal: {advance(40)}\n")
    assert_golden("render-mid-analysis.yaml", out)


# ----------------------------------------------------------------------------------------------- determinism
@pytest.mark.parametrize(
    "args",
    [
        pytest.param(_args(SEED_CANARY, SEED / "scenario-healthy.yaml"), id="simulate-healthy"),
        pytest.param(_args(SEED_CANARY, SEED / "scenario-failing.yaml"), id="simulate-failing"),
        pytest.param(
            [
                "render",
                str(SEED_CANARY),
                "--cluster",
                str(CLUSTER),
                "--now",
                at(1),
                "--mesh-provider",
                MESH,
                "-o",
                "json",
            ],
            id="render-json",
        ),
    ],
)
def test_output_is_deterministic(args: list[str]) -> None:
    first, second = run_cronary(*args), run_cronary(*args)
    assert first.returncode == second.returncode == 0, first.stderr.decode()
    assert first.stdout == second.stdout
    assert first.stdout  # and not trivially so
