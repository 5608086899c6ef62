"""Approvals that can be written (issue 14, "Approvals that can be written"): while a confirm gate waits, the
revision an approval must name is in the repository (`status.yaml`'s `waiting` block and the commit's
`Waiting-For:` trailer) and in `cronary history`; `cronary approve CANARY` commits the approval for it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cronjob.cli import main
from cronjob.git.layout import dump
from engine.evidence import parse_commit_message
from harness.gitops import APP, CANARY_DIR, DEVELOPER, GitOpsRepo

APPROVER = "Ann Approver <ann@example.com>"


def _gated(tmp_path: Path, prometheus, httpserver, gate: str) -> GitOpsRepo:
    httpserver.expect_request("/", method="POST").respond_with_data("ok")
    httpserver.expect_request("/gate", method="POST").respond_with_data("closed", status=403)  # never approves
    repo = GitOpsRepo(tmp_path, prometheus.url, httpserver.url_for("/")).seed()
    canary = repo.read(f"{APP}/canary.yaml")
    canary["spec"]["canaryAnalysis"]["webhooks"].append(
        {"name": "go", "type": gate, "url": httpserver.url_for("/gate")}
    )
    repo.human_commit({f"{APP}/canary.yaml": dump(canary)}, f"podinfo: {gate} needs an approval")
    return repo


def approve(repo: GitOpsRepo, *extra: str) -> tuple[int, str]:
    args = ["approve", "podinfo.test", "--git-repo", repo.remote, "--git-cache", str(repo.tmp / "approver"), *extra]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    return result.exit_code, result.output


def test_a_confirm_rollout_gate_shows_its_revision_and_cronary_approve_opens_it(
    tmp_path: Path, prometheus, httpserver
) -> None:
    repo = _gated(tmp_path, prometheus, httpserver, "confirm-rollout")
    for n in range(1, 6):
        if n == 3:
            repo.set_image()
        assert repo.tick().exit_code == 0
    state = repo.state()
    assert state["status"]["phase"] == "Waiting"
    waiting = state["waiting"]
    assert waiting["gate"] == "confirm-rollout" and waiting["hook"] == "go"
    assert waiting["revision"] != state["status"]["lastAppliedSpec"]  # the new revision: nowhere else while held
    (entry,) = parse_commit_message(repo.log(CANARY_DIR)[0].message)
    assert entry.waiting == f"confirm-rollout {waiting['revision']}"
    history = CliRunner().invoke(
        main, ["history", "--git-repo", repo.remote, "--git-cache", str(tmp_path / "h"), "-o", "json"]
    )
    assert json.loads(history.output)[-1]["waitingFor"] == f"confirm-rollout {waiting['revision']}"

    code, output = approve(repo, "--author", APPROVER)
    assert code == 0, output
    assert repo.read(f"{CANARY_DIR}/approvals/confirm-rollout.yaml") == {"revision": waiting["revision"]}
    approval = repo.log(f"{CANARY_DIR}/approvals")[0]
    assert (approval.author, approval.email) == ("Ann Approver", "ann@example.com")
    for _ in range(3):
        assert repo.tick().exit_code == 0
    state = repo.state()
    assert state["status"]["phase"] == "Progressing" and "waiting" not in state
    assert any("approved in git by Ann Approver" in c.message for c in repo.log() if c.email != DEVELOPER.email)


@pytest.mark.parametrize(
    ("extra", "code", "says"),
    [
        pytest.param(("--author", APPROVER), 1, "no gate waits for an approval", id="nothing-waits"),
        pytest.param(("--author", "ann"), 2, "--author: must be a person as git writes one", id="bad-author"),
        pytest.param(
            ("--author", APPROVER, "--gate", "confirm-promotion"), 1, "no gate waits", id="gate-given-nothing-waits"
        ),
    ],
)
def test_approve_says_why_it_approves_nothing(
    tmp_path: Path, prometheus, httpserver, extra: tuple[str, ...], code: int, says: str
) -> None:
    repo = _gated(tmp_path, prometheus, httpserver, "confirm-rollout")
    for _ in range(2):
        assert repo.tick().exit_code == 0  # initialized: nothing waits yet
    before = [c.oid for c in repo.log()]
    got, output = approve(repo, *extra)
    assert got == code and says in output and len(output.strip().splitlines()) == 1, output
    assert [c.oid for c in repo.log()] == before  # nothing pushed


def test_approve_refuses_another_gate_than_the_waiting_one(tmp_path: Path, prometheus, httpserver) -> None:
    repo = _gated(tmp_path, prometheus, httpserver, "confirm-rollout")
    for n in range(1, 6):
        if n == 3:
            repo.set_image()
        assert repo.tick().exit_code == 0
    code, output = approve(repo, "--author", APPROVER, "--gate", "confirm-promotion")
    assert code == 1 and "the gate waiting is confirm-rollout, not confirm-promotion" in output, output
