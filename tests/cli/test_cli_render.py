"""`cronary render` asks for metric values only when the tick judges metrics."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from click.testing import CliRunner

from cronjob.cli import main
from cronjob.local.inputs import build_cluster, cluster_objects, read_canary, read_scenario
from cronjob.local.simulation import SimulatedCluster, Simulation
from cronjob.shared.yamlio import dump_yaml_stream
from engine import Settings
from engine.status_doc import canary_manifest
from harness.paths import SEED


def _mid_analysis(tmp_path: Path, target_ready: bool) -> tuple[Path, Path]:
    """The seed at weight 20 (Progressing), written out as CANARY and CLUSTER files."""
    canary = read_canary(str(SEED / "podinfo-canary.yaml"), "smi:istio")
    scenario = dataclasses.replace(read_scenario(str(SEED / "scenario-healthy.yaml")), ticks=5)
    sim = Simulation(
        canary,
        SimulatedCluster.of(build_cluster(cluster_objects(str(SEED / "cluster.yaml")))),
        scenario,
        Settings(mesh_provider="smi:istio"),
        "s",
    )
    assert sim.run()[-1].canary_weight == 20
    objects = list(sim.cluster.objects.values())
    if not target_ready:
        target = next(o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "podinfo")
        target["status"] = {**target["status"], "updatedReplicas": 0, "availableReplicas": 0}
    (tmp_path / "cluster.yaml").write_text(dump_yaml_stream(objects))
    (tmp_path / "canary.yaml").write_text(dump_yaml_stream([canary_manifest(sim.canary, sim.canary.status)]))
    return tmp_path / "canary.yaml", tmp_path / "cluster.yaml"


def _render(canary: Path, cluster: Path) -> object:
    return CliRunner().invoke(
        main,
        [
            "render",
            str(canary),
            "--cluster",
            str(cluster),
            "--mesh-provider",
            "smi:istio",
            "--now",
            "2026-11-27T10:00:50Z",
        ],
    )


def test_render_needs_no_metrics_when_the_tick_does_not_judge_them(tmp_path: Path) -> None:
    result = _render(*_mid_analysis(tmp_path, target_ready=False))
    assert result.exit_code == 0, result.output
    assert (
        "# Warning: canary deployment podinfo.test not ready: waiting for rollout to finish: 0 out of 2 new replicas have been updated"
        in result.output
    )


def test_render_asks_for_metrics_when_the_tick_judges_them(tmp_path: Path) -> None:
    result = _render(*_mid_analysis(tmp_path, target_ready=True))
    assert result.exit_code == 2
    assert (
        "--metrics: this tick analyses metrics (request-success-rate, request-duration): give a METRICS.yaml"
        in result.output
    )


def test_usage_errors_are_one_line_with_exit_status_2() -> None:
    import subprocess
    import sys

    for args in (["render", str(SEED / "podinfo-canary.yaml")], ["simulate", "--bogus"], ["nonsense"]):
        result = subprocess.run(
            [sys.executable, "-m", "cronjob.cli", *args], capture_output=True, text=True, check=False
        )
        assert result.returncode == 2, (args, result.stderr)
        assert result.stdout == ""
        assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith("error: "), result.stderr


def test_generated_objects_are_owned_only_by_a_canary_uid_read_from_a_cluster(tmp_path: Path) -> None:
    """A Canary file without `metadata.uid` (a local file) gives objects with no owner reference: a made-up uid
    would make the garbage collector delete whatever was applied from the output. With the uid of the live Canary
    (`kubectl get canary -o yaml`), every object is owned by it."""
    from cronjob.shared.yamlio import load_documents, load_single

    def render(canary_file: Path) -> list[dict]:
        args = ["render", str(canary_file), "--cluster", str(SEED / "cluster.yaml"), "--mesh-provider", "smi:istio"]
        result = CliRunner().invoke(main, [*args, "--now", "2026-11-27T10:00:00Z"], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        out = tmp_path / "out.yaml"
        out.write_text(result.output)
        return [d for d in load_documents(str(out)) if d.get("kind") != "Canary"]

    objects = render(SEED / "podinfo-canary.yaml")
    assert objects and [o["metadata"]["name"] for o in objects if "ownerReferences" in o["metadata"]] == []
    canary = load_single(str(SEED / "podinfo-canary.yaml"))
    canary["metadata"]["uid"] = "6a1d3c57-0b1f-4a54-9f0e-3f2a9e1c7d11"
    (tmp_path / "live.yaml").write_text(dump_yaml_stream([canary]))
    for obj in render(tmp_path / "live.yaml"):
        assert [r["uid"] for r in obj["metadata"]["ownerReferences"]] == [canary["metadata"]["uid"]], obj["kind"]


def test_a_canarys_metrics_server_is_asked_instead_of_the_default(tmp_path: Path, prometheus) -> None:
    """`spec.metricsServer` (Flagger's per-canary metrics server): the built-in metrics go there. The default
    `--prometheus` refuses connections, so the analysis passes only if the canary's own server answered."""
    from cronjob.shared.yamlio import load_single

    canary_file, cluster_file = _mid_analysis(tmp_path, target_ready=True)
    doc = load_single(str(canary_file))
    doc["spec"]["metricsServer"] = prometheus.url
    canary_file.write_text(dump_yaml_stream([doc]))
    args = ["render", str(canary_file), "--cluster", str(cluster_file), "--mesh-provider", "smi:istio"]
    result = CliRunner().invoke(
        main, [*args, "--now", "2026-11-27T10:00:50Z", "--prometheus", "http://127.0.0.1:1", "-o", "json"]
    )
    assert result.exit_code == 0, result.output
    import json

    status = json.loads(result.output)["items"][-1]["status"]
    assert (status["canaryWeight"], status["failedChecks"]) == (30, 0), status
