"""A damaged `status.yaml` holds its canary and never moves traffic (issue 14, "Damaged state never moves traffic").

Whatever a person or a bad merge leaves in a canary's state file — not YAML, not a mapping, a field of the wrong
type, another canary's state, or no file at all while the rollout's objects are committed — the tick names the file
and the field in one error line, exits 1, commits nothing for that canary (its TrafficSplit stays where it was), and
decides the other canaries of the shard as usual. Taking such a file for "no state" would re-initialise a canary that
is under way: the new revision recorded as promoted while the primary runs the old one.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from cronjob.git.layout import dump
from harness.gitops import APP, CANARY_DIR, DEVELOPER, GitOpsRepo

STATE = f"{CANARY_DIR}/status.yaml"


@pytest.fixture(scope="module")
def loadtester_module(make_httpserver):
    """The load tester for a module-scoped repository (pytest-httpserver's `httpserver` is per test)."""
    make_httpserver.expect_request("/", method="POST").respond_with_data("ok")
    yield make_httpserver.url_for("/")
    make_httpserver.clear()


@pytest.fixture(scope="module")
def progressing(tmp_path_factory, prometheus, loadtester_module) -> GitOpsRepo:
    """A repository whose podinfo canary is progressing at weight 20 (played once, copied per test)."""
    repo = GitOpsRepo(tmp_path_factory.mktemp("progressing"), prometheus.url, loadtester_module).seed()
    for n in range(1, 20):
        if n == 3:
            repo.set_image()
        assert repo.tick().exit_code == 0
        if (repo.split_weights() or {}).get("podinfo-canary") == 20:
            return repo
    raise AssertionError("never reached weight 20")


def _copy(repo: GitOpsRepo, tmp: Path) -> GitOpsRepo:
    shutil.copytree(repo.remote, tmp / "remote.git")
    copy = GitOpsRepo.__new__(GitOpsRepo)
    copy.__dict__.update(repo.__dict__)
    copy.tmp, copy.remote = tmp, str(tmp / "remote.git")
    copy.developer = type(repo.developer)(copy.remote, "main", tmp / "developer-cache", signature=DEVELOPER)
    return copy


VALID = {"canary": "test/podinfo", "status": {"phase": "Progressing", "canaryWeight": 20}}


@pytest.mark.parametrize(
    ("content", "names"),
    [
        pytest.param(b"status: [unclosed\n", "status.yaml", id="not-yaml"),
        pytest.param(b"", "status.yaml: must be a mapping with canary and status, found nothing", id="empty"),
        pytest.param(b"42\n", "status.yaml: must be a mapping with canary and status, found int", id="a-number"),
        pytest.param(b"- a\n- b\n", "status.yaml: must be a mapping with canary and status, found list", id="a-list"),
        pytest.param(
            dump({"canary": "test/podinfo", "status": 42}),
            "status.yaml: status: must be a mapping, found int",
            id="status-a-number",
        ),
        pytest.param(
            dump({"canary": "test/podinfo"}), "status.yaml: status: must be a mapping, found nothing", id="no-status"
        ),
        pytest.param(
            dump({**VALID, "canary": "test/other"}),
            "status.yaml: canary: must be 'test/podinfo', found 'test/other'",
            id="another-canary",
        ),
        pytest.param(dump({**VALID, "status": {"phase": "Paused"}}), "status.yaml: status.phase", id="unknown-phase"),
        pytest.param(
            dump({**VALID, "secretCopies": 5}),
            "status.yaml: secretCopies: must be a list, found int",
            id="secret-copies-not-a-list",
        ),
        pytest.param(
            dump({**VALID, "hold": "yes"}), "status.yaml: hold: must be a mapping, found str", id="hold-not-a-mapping"
        ),
        pytest.param(None, "status.yaml: missing, but", id="deleted"),
    ],
)
def test_a_damaged_state_holds_its_canary_and_the_others_go_on(
    progressing: GitOpsRepo, tmp_path: Path, httpserver, content: bytes | None, names: str
) -> None:
    httpserver.expect_request("/", method="POST").respond_with_data("ok")  # the load tester
    httpserver.expect_request("/alert", method="POST").respond_with_data("ok")
    repo = _copy(progressing, tmp_path)
    repo.add_canary("podinfo-b")
    repo.human_commit({STATE: content}, "a bad merge")
    split_before = repo.read(f"{CANARY_DIR}/trafficsplit-podinfo.yaml")
    head_before = repo.log()[0].oid
    for _ in range(3):  # held, tick after tick: nothing re-initialises it
        run = repo.tick("--slack-url", httpserver.url_for("/alert"))
        assert run.exit_code == 1, run.output
        errors = [json.loads(line) for line in run.output.splitlines() if '"error"' in line]
        assert [e["canary"] for e in errors] == ["podinfo.test"], run.output
        assert f"{CANARY_DIR}/" in errors[0]["msg"] and names in errors[0]["msg"], errors[0]["msg"]
        assert repo.read(f"{CANARY_DIR}/trafficsplit-podinfo.yaml") == split_before
        repo.developer.sync()
        assert repo.developer.read(STATE) == content
    # the other canary was decided and committed as usual
    assert repo.read("cronary/test/podinfo-b/status.yaml")["status"]["phase"] == "Initialized"
    # for podinfo, one commit in three ticks: held.yaml with the reason, nothing else of its files
    about = []
    for commit in repo.log():
        if commit.oid == head_before:
            break
        if "podinfo.test" in commit.message:
            about.append(commit)
    assert [c.message.splitlines()[0] for c in about] == ["podinfo.test: held, its state is damaged"]
    assert repo.developer.changed_paths(about[0].oid) == [f"{CANARY_DIR}/held.yaml"]
    held = repo.read(f"{CANARY_DIR}/held.yaml")
    assert held["canary"] == "test/podinfo" and names in held["reason"]
    # and one alert, an error naming the canary and the reason
    alerts = [
        a
        for r, _ in httpserver.log
        if r.path == "/alert"
        if "podinfo.test" in json.dumps(a := json.loads(r.get_data()))
    ]
    assert len(alerts) == 1, [json.dumps(a)[:400] for a in alerts]
    text = json.dumps(alerts[0])
    assert "Canary podinfo.test is held" in text and names.split(": ")[-1][:20] in text


def test_a_repaired_state_goes_on_and_its_marker_goes(progressing: GitOpsRepo, tmp_path: Path, httpserver) -> None:
    httpserver.expect_request("/", method="POST").respond_with_data("ok")
    repo = _copy(progressing, tmp_path)
    repo.developer.sync()
    good = repo.developer.read(STATE)
    assert good is not None
    repo.human_commit({STATE: b"42\n"}, "a bad merge")
    assert repo.tick().exit_code == 1
    assert repo.read(f"{CANARY_DIR}/held.yaml") is not None
    repo.human_commit({STATE: good}, "git checkout HEAD~2 -- status.yaml")
    for _ in range(2):
        assert repo.tick().exit_code == 0
    assert repo.read(f"{CANARY_DIR}/held.yaml") is None
    assert (repo.split_weights() or {}).get("podinfo-canary", 0) >= 20  # it went on from where it was


def test_a_canary_with_no_state_and_no_objects_starts_as_usual(tmp_path: Path, prometheus, loadtester_module) -> None:
    """The missing-state rule is about a rollout under way: a new canary has neither, and initialises."""
    repo = GitOpsRepo(tmp_path, prometheus.url, loadtester_module).seed()
    assert repo.read(f"{CANARY_DIR}/status.yaml") is None
    assert repo.tick().exit_code == 0
    assert repo.state()["status"]["phase"] == "Initializing"


def test_an_invalid_canary_spec_is_its_own_error_not_a_damaged_state(
    progressing: GitOpsRepo, tmp_path: Path, httpserver
) -> None:
    """A Canary whose spec is invalid is logged every pass as before; its sound state gets no held.yaml."""
    httpserver.expect_request("/", method="POST").respond_with_data("ok")
    repo = _copy(progressing, tmp_path)
    canary = repo.read(f"{APP}/canary.yaml")
    canary["spec"]["canaryAnalysis"]["stepWeight"] = 150
    repo.human_commit({f"{APP}/canary.yaml": dump(canary)}, "a typo")
    run = repo.tick()
    assert run.exit_code == 1 and "stepWeight" in run.output, run.output
    assert repo.read(f"{CANARY_DIR}/held.yaml") is None
