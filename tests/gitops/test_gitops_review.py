"""GitOps mode under review: a configurable author and committer, signed commits (verified by the real `git
verify-commit`), reverts made with the real `git revert`, `history` showing holds and approvals, and the
pull-request mode against a local fake of GitHub's REST API that merges into the bare remote with real git when
the test clicks "merge".
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from werkzeug import Request, Response

from cronjob.cli import main
from cronjob.git.layout import dump
from engine.evidence import parse_commit_message
from harness.gitops import CANARY_DIR, GitOpsRepo

BOT = ("Rollouts Bot", "bot@example.com")
CI = ("CI", "ci@example.com")
TOKEN = "ghp_fake_token_0123456789"


@pytest.fixture
def loadtester(httpserver):
    httpserver.expect_request("/", method="POST").respond_with_data("ok")
    return httpserver


def git(*args: str, cwd: Path | str | None = None, env: dict[str, str] | None = None) -> str:
    """The real git command line, as a person (Dana) would run it."""
    person = {"GIT_AUTHOR_NAME": "Dana Developer", "GIT_AUTHOR_EMAIL": "dana@example.com"}
    person |= {"GIT_COMMITTER_NAME": "Dana Developer", "GIT_COMMITTER_EMAIL": "dana@example.com"}
    done = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, env={**os.environ, **person, **(env or {})}
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def log_of(repo: GitOpsRepo, fmt: str, ref: str = "main") -> list[str]:
    """`git log --format=FMT` of the bare remote, newest first."""
    return git("--git-dir", repo.remote, "log", f"--format={fmt}", ref).splitlines()


def step_to_weight(repo: GitOpsRepo, weight: int, *extra: str) -> None:
    for n in range(1, 30):
        if n == 3:
            repo.set_image()
        run = repo.tick(*extra)
        assert run.exit_code == 0, run.output
        if repo.state().get("status", {}).get("canaryWeight") == weight:
            return
    raise AssertionError(f"never reached weight {weight}")


def history(repo: GitOpsRepo, *extra: str) -> Any:
    args = ["history", "--git-repo", repo.remote, "--git-cache", str(repo.tmp / "history-cache"), *extra]
    result = CliRunner().invoke(main, [*args, "-o", "json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


# -- author, committer, and reverts told by trailers -----------------------------------------------------------


def test_author_and_committer_are_configurable_and_a_revert_of_their_step_is_still_held(
    tmp_path: Path, prometheus, loadtester
) -> None:
    repo = GitOpsRepo(tmp_path, prometheus.url, loadtester.url_for("/")).seed()
    who = ("--git-author", "{} <{}>".format(*BOT), "--git-committer", "{} <{}>".format(*CI))
    step_to_weight(repo, 20, *who)
    ours = [line for line in log_of(repo, "%an|%ae|%cn|%ce|%s") if "Dana" not in line]
    assert ours and all(line.startswith("Rollouts Bot|bot@example.com|CI|ci@example.com|") for line in ours)

    clone = tmp_path / "clone"  # the real `git revert` of the latest step, pushed by a person
    git("clone", "-q", repo.remote, str(clone))
    git("revert", "--no-edit", "HEAD", cwd=clone)
    git("push", "-q", "origin", "main", cwd=clone)
    assert repo.split_weights()["podinfo-canary"] == 10
    assert repo.tick(*who).exit_code == 0
    held = log_of(repo, "%an|%s")[0]
    assert held.startswith("Rollouts Bot|podinfo.test: held, step reverted by Dana Developer in ")
    assert repo.state()["hold"]["author"] == "Dana Developer"
    before = len(log_of(repo, "%H"))
    for _ in range(3):
        assert repo.tick(*who).exit_code == 0
    assert len(log_of(repo, "%H")) == before and repo.split_weights()["podinfo-canary"] == 10

    rows = history(repo, "--canary", "podinfo.test")
    assert rows[-1]["hold"].startswith("step reverted by Dana Developer in ")
    assert rows[-1]["canaryWeight"] == 10 and rows[-2]["canaryWeight"] == 20  # held where the revert left it
    table = CliRunner().invoke(main, ["history", "--git-repo", repo.remote, "--git-cache", str(tmp_path / "t")])
    assert "held: step reverted by Dana Developer" in table.output


def test_history_shows_an_approval_at_the_state_it_was_given_in(tmp_path: Path, prometheus, httpserver) -> None:
    httpserver.expect_request("/gate", method="POST").respond_with_data("closed", status=403)
    repo = GitOpsRepo(tmp_path, prometheus.url, httpserver.url_for("/gate")).seed()
    canary = repo.read("apps/podinfo/canary.yaml")
    canary["spec"]["canaryAnalysis"]["webhooks"] = [
        {"name": "approve", "type": "confirm-promotion", "url": httpserver.url_for("/gate")}
    ]
    repo.human_commit({"apps/podinfo/canary.yaml": dump(canary)}, "podinfo: gate the promotion")
    for n in range(1, 40):
        if n == 3:
            repo.set_image()
        assert repo.tick().exit_code == 0
        if repo.state()["status"]["phase"] == "WaitingPromotion":
            break
    revision = repo.state()["status"]["lastAppliedSpec"]
    repo.human_commit(
        {f"{CANARY_DIR}/approvals/confirm-promotion.yaml": dump({"revision": revision})}, "approve podinfo"
    )
    for _ in range(6):
        assert repo.tick().exit_code == 0
    rows = history(repo, "--canary", "podinfo.test")
    approved = [r for r in rows if "approval" in r]
    assert len(approved) == 1 and approved[0]["approval"].startswith("confirm-promotion by Dana Developer in ")
    assert approved[0]["phase"] == "WaitingPromotion" and approved[0]["events"][0].startswith("approved ")
    assert rows.index(approved[0]) < len(rows) - 1 and rows[-1]["phase"] in ("Promoting", "Finalising", "Succeeded")


# -- signed commits ------------------------------------------------------------------------------------------


def test_ssh_signed_commits_verify_with_git(tmp_path: Path, prometheus, loadtester) -> None:
    key = tmp_path / "signing-key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "cronary", "-f", str(key)], check=True)
    key.chmod(0o644)  # as a Secret volume mounts it by default: ssh-keygen would refuse the file itself
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(f"cronary@cronary.invalid {(tmp_path / 'signing-key.pub').read_text()}")
    repo = GitOpsRepo(tmp_path, prometheus.url, loadtester.url_for("/")).seed()
    step_to_weight(repo, 10, "--git-signing-key", str(key))
    ours = [oid for oid, name in (line.split("|") for line in log_of(repo, "%H|%an")) if name == "cronary"]
    assert len(ours) >= 3
    config = ("-c", "gpg.format=ssh", "-c", f"gpg.ssh.allowedSignersFile={allowed}")
    for oid in ours:
        git("--git-dir", repo.remote, *config, "verify-commit", oid)
    people = [oid for oid, name in (line.split("|") for line in log_of(repo, "%H|%an")) if name != "cronary"]
    failed = subprocess.run(["git", "--git-dir", repo.remote, *config, "verify-commit", people[0]], capture_output=True)
    assert failed.returncode != 0  # a person's unsigned commit does not verify: the check is real
    assert all(str(key) not in line and "PRIVATE" not in line for line in repo.tick().output.splitlines())


def test_gpg_signed_commits_verify_with_git(tmp_path: Path, prometheus, loadtester) -> None:
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    gpg = ["gpg", "--homedir", str(home), "--batch", "--pinentry-mode", "loopback", "--passphrase", ""]
    subprocess.run(
        [*gpg, "--quick-gen-key", "cronary <cronary@cronary.invalid>", "ed25519", "sign", "never"], check=True
    )
    secret = subprocess.run([*gpg, "--armor", "--export-secret-keys"], check=True, capture_output=True).stdout
    key = tmp_path / "signing-key.asc"
    key.write_bytes(secret)
    repo = GitOpsRepo(tmp_path, prometheus.url, loadtester.url_for("/")).seed()
    assert repo.tick("--git-signing-key", str(key)).exit_code == 0
    head = log_of(repo, "%H")[0]
    git("--git-dir", repo.remote, "verify-commit", head, env={"GNUPGHOME": str(home)})


@pytest.mark.parametrize(
    ("flag", "value", "says"),
    [
        ("--git-signing-key", "{tmp}/missing-key", "cannot read the key file"),
        ("--git-signing-key", "{tmp}/remote.git/HEAD", "not an OpenSSH private key"),
        ("--git-signing-key", "{tmp}/protected", "refused the key"),
        ("--git-author", "nobody", "must be an identity"),
        ("--git-api-url", "ftp://api", "must be an http(s) URL"),
    ],
)
def test_bad_review_flags_are_one_line_exit_2_and_nothing_pushed(
    tmp_path: Path, prometheus, loadtester, flag: str, value: str, says: str
) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "pass-phrase", "-f", str(tmp_path / "protected")])
    repo = GitOpsRepo(tmp_path, prometheus.url, loadtester.url_for("/")).seed()
    before = log_of(repo, "%H")
    extra = ("--git-pull-requests", "github", "--git-api-repo", "team/apps") if flag == "--git-api-url" else ()
    run = repo.tick(*extra, flag, value.format(tmp=tmp_path))
    assert run.exit_code == 2
    lines = run.output.strip().splitlines()
    assert len(lines) == 1 and flag in lines[0] and says in lines[0] and "pass-phrase" not in lines[0]
    assert log_of(repo, "%H") == before


# -- the pull-request mode ---------------------------------------------------------------------------------------


class FakeGitHub:
    """The pull-request calls of GitHub's REST API, held in memory; `merge` merges a pull request into the bare
    remote with real git (a merge commit, as GitHub's "Create a merge commit" button does)."""

    def __init__(self, server: Any, remote: str, work: Path) -> None:
        self.remote, self.work, self.pulls, self.calls = remote, work, {}, []
        base = "/api/repos/team/apps/pulls"
        server.expect_request(base, method="GET").respond_with_handler(self.list)
        server.expect_request(base, method="POST").respond_with_handler(self.create)
        for number in range(1, 40):
            server.expect_request(f"{base}/{number}", method="PATCH").respond_with_handler(self.update)
        self.api = server.url_for("/api")

    def _answer(self, request: Request, status: int, body: Any) -> Response:
        self.calls.append((request.method, request.path, dict(request.args)))
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return Response(json.dumps({"message": "Bad credentials"}), 401, content_type="application/json")
        return Response(json.dumps(body), status, content_type="application/json")

    def list(self, request: Request) -> Response:
        pulls = [p for p in self.pulls.values() if p["state"] == request.args.get("state", "open")]
        if "head" in request.args:
            pulls = [p for p in pulls if f"team:{p['head']['ref']}" == request.args["head"]]
        return self._answer(request, 200, pulls)

    def create(self, request: Request) -> Response:
        body = request.get_json()
        if any(p["head"]["ref"] == body["head"] and p["state"] == "open" for p in self.pulls.values()):
            return self._answer(request, 422, {"message": "A pull request already exists"})
        number = len(self.pulls) + 1
        self.pulls[number] = {
            "number": number,
            "html_url": f"https://github.example/team/apps/pull/{number}",
            "state": "open",
            "merged": False,
            "head": {"ref": body["head"]},
            "base": {"ref": body["base"]},
            "title": body["title"],
            "body": body["body"],
        }
        return self._answer(request, 201, self.pulls[number])

    def update(self, request: Request) -> Response:
        pull = self.pulls[int(request.path.rsplit("/", 1)[1])]
        pull.update({k: v for k, v in request.get_json().items() if k in ("title", "body")})
        return self._answer(request, 200, pull)

    def open(self) -> list[dict[str, Any]]:
        return [p for p in self.pulls.values() if p["state"] == "open"]

    def merge(self, number: int) -> None:
        pull = self.pulls[number]
        clone = self.work / f"merge-{number}"
        git("clone", "-q", self.remote, str(clone))
        git("fetch", "-q", "origin", pull["head"]["ref"], cwd=clone)
        title = f"Merge pull request #{number} from team/{pull['head']['ref']}"
        git("merge", "-q", "--no-ff", "-m", title, "FETCH_HEAD", cwd=clone)
        git("push", "-q", "origin", "main", cwd=clone)
        pull.update(state="closed", merged=True)


def test_pull_request_mode_proposes_each_step_and_waits_for_its_merge(
    tmp_path: Path, prometheus, httpserver, monkeypatch: pytest.MonkeyPatch
) -> None:
    httpserver.expect_request("/", method="POST").respond_with_data("ok")
    monkeypatch.setenv("CRONARY_GIT_API_TOKEN", TOKEN)
    repo = GitOpsRepo(tmp_path, prometheus.url, httpserver.url_for("/")).seed()
    github = FakeGitHub(httpserver, repo.remote, tmp_path)
    mode = ("--git-pull-requests", "github", "--git-api-url", github.api, "--git-api-repo", "team/apps")
    main_before = log_of(repo, "%H")

    run = repo.tick(*mode)
    assert run.exit_code == 0, run.output
    assert log_of(repo, "%H") == main_before  # nothing pushed to the protected branch
    [first] = github.open()
    assert first["head"]["ref"] == "cronary/test/podinfo" and first["base"]["ref"] == "main"
    assert first["title"] == "podinfo.test: initializing" or first["title"].startswith("podinfo.test: ")
    assert parse_commit_message(f"{first['title']}\n\n{first['body']}")[0].canary == "podinfo.test"
    assert log_of(repo, "%s", "cronary/test/podinfo")[0] == first["title"]

    for _ in range(2):  # not merged yet: the canary waits, nothing new is proposed
        run = repo.tick(*mode)
        assert run.exit_code == 0 and "waiting for pull request #1 to be merged" in run.output
    assert len(github.pulls) == 1

    subjects, weights = [], []
    for n in range(1, 40):
        if n == 3:
            repo.set_image()
        for pull in github.open():
            subjects.append(pull["title"])
            github.merge(pull["number"])
        run = repo.tick(*mode)
        assert run.exit_code == 0, run.output
        assert "Bad credentials" not in run.output and TOKEN not in run.output
        weights.append((repo.split_weights() or {}).get("podinfo-canary"))
        if 20 in weights:
            break
    assert "podinfo.test: canary weight 10 → 20" in [p["title"] for p in github.pulls.values()]
    assert all(p["state"] == "closed" for p in github.pulls.values() if p["title"] in subjects)
    assert len(github.open()) <= 1  # one open pull request per canary at most
    steps = [r["canaryWeight"] for r in history(repo, "--canary", "podinfo.test")]
    assert 10 in steps  # merged steps are read back from git log like direct commits
    assert repo.read(f"{CANARY_DIR}/status.yaml")["status"]["canaryWeight"] in (10, 20)


def test_pull_request_mode_with_a_refused_token_is_one_error_line_and_nothing_pushed(
    tmp_path: Path, prometheus, loadtester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRONARY_GIT_API_TOKEN", "wrong-token-0123456789")
    repo = GitOpsRepo(tmp_path, prometheus.url, loadtester.url_for("/")).seed()
    github = FakeGitHub(loadtester, repo.remote, tmp_path)
    before = log_of(repo, "%H")
    run = repo.tick("--git-pull-requests", "github", "--git-api-url", github.api, "--git-api-repo", "team/apps")
    assert run.exit_code == 1
    errors = [line for line in run.logs if line.get("level") == "error"]
    assert len(errors) == 1 and "HTTP 401: Bad credentials" in errors[0]["msg"]
    ours = [json.dumps(line) for line in run.logs if line.get("logger") != "werkzeug"]  # not the fake's own log
    assert not any("wrong-token" in line or "/api/repos" in line for line in ours)
    assert log_of(repo, "%H") == before and github.pulls == {}


def test_pull_request_mode_proposes_a_damaged_states_marker_once_and_alerts_once(
    tmp_path: Path, prometheus, httpserver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A canary held by a damaged status.yaml: its held.yaml is proposed in one pull request, and the alert is
    sent once — not again at every pass while the pull request waits for its merge."""
    httpserver.expect_request("/", method="POST").respond_with_data("ok")
    httpserver.expect_request("/alert", method="POST").respond_with_data("ok")
    monkeypatch.setenv("CRONARY_GIT_API_TOKEN", TOKEN)
    repo = GitOpsRepo(tmp_path, prometheus.url, httpserver.url_for("/")).seed()
    github = FakeGitHub(httpserver, repo.remote, tmp_path)
    mode = ("--git-pull-requests", "github", "--git-api-url", github.api, "--git-api-repo", "team/apps")
    mode += ("--slack-url", httpserver.url_for("/alert"))
    for _ in range(2):  # initializing, then initialized: each step merged
        assert repo.tick(*mode).exit_code == 0
        for pull in github.open():
            github.merge(pull["number"])
    repo.human_commit({f"{CANARY_DIR}/status.yaml": b"42\n"}, "a bad merge")
    alerts_before = len([r for r, _ in httpserver.log if r.path == "/alert"])
    for _ in range(3):
        assert repo.tick(*mode).exit_code == 1
    held = [p for p in github.pulls.values() if p["title"] == "podinfo.test: held, its state is damaged"]
    assert len(held) == 1 and held[0]["state"] == "open"
    alerts = [r for r, _ in httpserver.log if r.path == "/alert"][alerts_before:]
    assert len(alerts) == 1 and "is held" in alerts[0].get_data(as_text=True)
