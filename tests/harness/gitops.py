"""GitOps mode under test: a bare repository on disk as the remote, the team's manifests committed to it by a
"developer", `cronary tick --git-repo ...` run through its command line, and the clock moved with `--now`.

Without cluster access (`--no-cluster`) the tick reads the podinfo Canary, Deployment and HPA from `apps/podinfo/`
in the repository; metrics come from the real Prometheus and the load-test hook from a real HTTP server.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pygit2
from click.testing import CliRunner

from cronjob.cli import main
from cronjob.git.layout import dump, load
from cronjob.git.repo import GitWorkspace
from cronjob.shared.options import Signature
from cronjob.shared.yamlio import load_documents, load_single
from harness.cluster import NEW_IMAGE, SEED, START, TickRun

ROOT = Path(__file__).resolve().parents[2]
DEVELOPER = Signature("Dana Developer", "dana@example.com")
APP = "apps/podinfo"
CANARY_DIR = "cronary/test/podinfo"


class GitOpsRepo:
    def __init__(self, tmp: Path, prometheus_url: str, hook_url: str) -> None:
        self.tmp = tmp
        self.remote = str(tmp / "remote.git")
        pygit2.init_repository(self.remote, bare=True, initial_head="main")
        self.prometheus_url = prometheus_url
        self.hook_url = hook_url
        self.developer = GitWorkspace(self.remote, "main", tmp / "developer-cache", signature=DEVELOPER)
        self.tick_number = 0

    # -- the team's side -------------------------------------------------------------------------------------
    def seed(self, **analysis: Any) -> GitOpsRepo:
        canary = load_single(str(SEED / "podinfo-canary.yaml"))
        for hook in canary["spec"]["canaryAnalysis"].get("webhooks") or []:
            hook["url"] = self.hook_url
        canary["spec"]["canaryAnalysis"].update(analysis)
        files = {f"{APP}/canary.yaml": dump(canary)}
        for doc in load_documents(str(SEED / "cluster.yaml")):
            if doc["kind"] in ("Deployment", "HorizontalPodAutoscaler"):
                doc.pop("status", None)
                files[f"{APP}/{doc['kind'].lower()}.yaml"] = dump(doc)
        self.human_commit(files, "podinfo: deploy 1.4.0 with a canary")
        return self

    def add_canary(self, name: str) -> None:
        """A second app beside podinfo: the seed's Canary and Deployment renamed (no HPA)."""
        canary, deployment = self.read(f"{APP}/canary.yaml"), self.read(f"{APP}/deployment.yaml")
        canary["metadata"]["name"] = canary["spec"]["targetRef"]["name"] = name
        canary["spec"].pop("autoscalerRef")
        deployment["metadata"]["name"] = name
        deployment["spec"]["selector"]["matchLabels"]["app"] = name
        deployment["spec"]["template"]["metadata"]["labels"]["app"] = name
        self.human_commit(
            {f"apps/{name}/canary.yaml": dump(canary), f"apps/{name}/deployment.yaml": dump(deployment)}, name
        )

    def human_commit(self, files: dict[str, bytes | None], message: str, when: datetime | None = None) -> str:
        self.developer.sync()
        sha = self.developer.commit(files, message, when or self.now)
        assert sha is not None and self.developer.push()
        return sha

    def set_image(self, image: str = NEW_IMAGE) -> None:
        self.developer.sync()
        deployment = load(self.developer.read(f"{APP}/deployment.yaml"))
        deployment["spec"]["template"]["spec"]["containers"][0]["image"] = image
        self.human_commit({f"{APP}/deployment.yaml": dump(deployment)}, f"podinfo: {image}")

    def read(self, path: str) -> Any:
        self.developer.sync()
        return load(self.developer.read(path))

    def read_at(self, oid: str, path: str) -> bytes | None:
        """A file as a given commit has it (straight from the bare remote)."""
        tree = pygit2.Repository(self.remote).get(oid).peel(pygit2.Tree)
        try:
            return tree[path].data
        except KeyError:
            return None

    def log(self, path: str | None = None) -> list[Any]:
        self.developer.sync()
        return self.developer.log(path)

    # -- cronary's side ----------------------------------------------------------------------------------------
    @property
    def now(self) -> datetime:
        return START + timedelta(seconds=10 * self.tick_number)

    def args(self, *extra: str, cache: str = "cronary-cache") -> list[str]:
        return [
            "tick",
            "--git-repo",
            self.remote,
            "--git-branch",
            "main",
            "--git-path",
            "cronary",
            "--git-cache",
            str(self.tmp / cache),
            "--no-cluster",
            "--git-manifests",
            "apps",
            "--sync-delay",
            "0s",
            "--mesh-provider",
            "smi:istio",
            "--prometheus",
            self.prometheus_url,
            "--now",
            self.now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            *extra,
        ]

    def tick(self, *extra: str) -> TickRun:
        """One tick at the current time, then the clock moves one interval (10 s)."""
        result = CliRunner().invoke(main, self.args(*extra), catch_exceptions=False)
        self.tick_number += 1
        return TickRun(result.exit_code, result.output)

    def split_weights(self) -> dict[str, int] | None:
        split = self.read(f"{CANARY_DIR}/trafficsplit-podinfo.yaml")
        if split is None:
            return None
        return {b["service"]: int(str(b["weight"])) for b in split["spec"]["backends"]}

    def state(self) -> dict[str, Any]:
        return self.read(f"{CANARY_DIR}/status.yaml") or {}
