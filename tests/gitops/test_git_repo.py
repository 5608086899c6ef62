"""cronjob.git.repo against real repositories: pygit2 makes them, a bare repository on disk is the remote.

`git` (the command line) is used only as an independent judge: what we push must be something real git
clients (Flux, Argo CD) accept (`git fsck`, `git clone`)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import threading
import time
import traceback
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pygit2
import pytest

from cronjob.git import repo as git_repo
from cronjob.git.repo import (
    CommitInfo,
    GitCredentials,
    GitError,
    GitWorkspace,
)
from cronjob.shared.options import Signature

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
SECRET = "s3cret-Pa55"


def git_cli() -> str:
    path = shutil.which("git")
    assert path, "the git command line is needed as an independent judge: apt-get install -y git"
    return path


@pytest.fixture
def remote_path(tmp_path: Path) -> Path:
    path = tmp_path / "remote.git"
    pygit2.init_repository(str(path), bare=True)
    return path


@pytest.fixture(params=["file-url", "plain-path"])
def remote_url(request: pytest.FixtureRequest, remote_path: Path) -> str:
    return remote_path.as_uri() if request.param == "file-url" else str(remote_path)


@pytest.fixture
def workspace(tmp_path: Path, remote_url: str):
    """Workspaces on the remote, reached once as a file:// URL and once as a plain path (transport tests)."""

    def make(name: str = "a", branch: str = "main", **kw) -> GitWorkspace:
        return GitWorkspace(remote_url, branch, tmp_path / f"cache-{name}", **kw)

    return make


@pytest.fixture
def tree_ws(tmp_path: Path, remote_path: Path) -> GitWorkspace:
    """One synced workspace, for tests of trees and history where the URL form does not matter."""
    ws = GitWorkspace(str(remote_path), "main", tmp_path / "cache")
    ws.sync()
    return ws


def remote_files(remote: Path, branch: str = "main") -> dict[str, bytes]:
    repo = pygit2.Repository(str(remote))
    tree = repo.references[f"refs/heads/{branch}"].peel(pygit2.Commit).tree
    out: dict[str, bytes] = {}

    def walk(t: pygit2.Tree, prefix: str) -> None:
        for e in t:
            if e.filemode == pygit2.GIT_FILEMODE_TREE:
                walk(e, prefix + e.name + "/")
            else:
                out[prefix + e.name] = repo[e.id].data

    walk(tree, "")
    return out


def remote_head(remote: Path, branch: str = "main") -> str | None:
    ref = pygit2.Repository(str(remote)).references.get(f"refs/heads/{branch}")
    return None if ref is None else str(ref.target)


# ------------------------------------------------------------------------------------------ sync, clone, fetch


def test_empty_remote_syncs_to_none_and_first_push_creates_the_branch(workspace, remote_path: Path) -> None:
    ws = workspace()
    assert ws.sync() is None
    assert ws.head is None
    assert ws.read("a.yaml") is None and ws.list("") == [] and ws.log() == []
    assert ws.push() is True  # nothing to send is not a failure
    oid = ws.commit({"a.yaml": b"a: 1\n"}, "first", T0)
    assert oid and ws.head == oid
    assert remote_head(remote_path) is None, "commit is local only"
    assert ws.push() is True
    assert remote_head(remote_path) == oid
    assert remote_files(remote_path) == {"a.yaml": b"a: 1\n"}
    # a fresh remote's HEAD names the pushed branch, so a plain `git clone` checks it out
    assert pygit2.Repository(str(remote_path)).head.name == "refs/heads/main"


@pytest.mark.parametrize("second", ["fresh-clone", "fetch-into-existing-cache"])
def test_a_second_workspace_sees_the_first_ones_push(workspace, second: str) -> None:
    a, b = workspace("a"), workspace("b")
    a.sync()
    first = a.commit({"d/x.yaml": b"x"}, "one", T0)
    assert a.push()
    if second == "fetch-into-existing-cache":
        assert b.sync() == first
        second_oid = a.commit({"d/y.yaml": b"y"}, "two", T0)
        assert a.push()
        assert b.sync() == second_oid
        assert b.list("d") == ["d/x.yaml", "d/y.yaml"]
    else:
        assert b.sync() == first
        assert b.read("d/x.yaml") == b"x"


def test_sync_discards_unpushed_local_commits(workspace) -> None:
    ws = workspace()
    ws.sync()
    base = ws.commit({"a": b"1"}, "base", T0)
    ws.push()
    ws.commit({"a": b"2"}, "never pushed", T0)
    assert ws.sync() == base and ws.head == base
    assert ws.read("a") == b"1"


def test_sync_sees_a_deleted_remote_branch_as_empty(workspace, remote_path: Path) -> None:
    ws = workspace()
    ws.sync()
    ws.commit({"a": b"1"}, "c", T0)
    ws.push()
    pygit2.Repository(str(remote_path)).references["refs/heads/main"].delete()
    assert ws.sync() is None and ws.head is None


def test_one_cache_can_switch_branch_without_recloning(workspace) -> None:
    main = workspace("x", "main")
    main.sync()
    main.commit({"f": b"main"}, "m", T0)
    main.push()
    other = workspace("x", "env/staging")  # same cache dir
    assert other.sync() is None
    other.commit({"f": b"staging"}, "s", T0)
    assert other.push()
    assert workspace("x", "main").sync() == main.head
    assert workspace("y", "env/staging").sync() == other.head


def test_a_cache_left_by_another_url_is_replaced(tmp_path: Path) -> None:
    first, second = tmp_path / "first.git", tmp_path / "second.git"
    for path, content in ((first, b"first"), (second, b"second")):
        pygit2.init_repository(str(path), bare=True)
        w = GitWorkspace(str(path), "main", tmp_path / f"seed-{path.stem}")
        w.sync()
        w.commit({"who": content}, "seed", T0)
        assert w.push()
    cache = tmp_path / "cache"
    a = GitWorkspace(str(first), "main", cache)
    a.sync()
    assert a.read("who") == b"first"
    b = GitWorkspace(second.as_uri(), "main", cache)
    b.sync()
    assert b.read("who") == b"second"
    assert pygit2.Repository(str(cache)).remotes["origin"].url == str(second)
    assert len(b.log()) == 1, "nothing of the first remote's history survives"


def test_a_cache_dir_holding_something_else_is_never_deleted(tmp_path: Path, remote_path: Path) -> None:
    # The cache dir sits inside another repository: opening it must not climb to the parent's .git.
    outer = tmp_path / "outer"
    pygit2.init_repository(str(outer))
    cache = outer / "cache"
    cache.mkdir()
    (cache / "precious.txt").write_text("keep me")
    with pytest.raises(GitError, match="refusing to delete"):
        GitWorkspace(str(remote_path), "main", cache).sync()
    assert (cache / "precious.txt").read_text() == "keep me"
    assert (outer / ".git").is_dir()


# ------------------------------------------------------------------------------------------ read, list, commit


def test_read_and_list(tree_ws) -> None:
    ws = tree_ws
    files = {"t/a/x.yaml": b"x", "t/a/y.yaml": b"y", "t/b/z.yaml": b"z", "top.yaml": b"top", "t2/w": b"w"}
    ws.commit(files, "c", T0)
    assert ws.read("t/a/x.yaml") == b"x" and ws.read("/top.yaml") == b"top"
    assert ws.read("t/a/missing") is None and ws.read("t/a") is None and ws.read("nope/x") is None
    assert ws.list("") == sorted(files)
    assert ws.list("t") == ["t/a/x.yaml", "t/a/y.yaml", "t/b/z.yaml"]
    assert ws.list("t/") == ws.list("t")
    assert ws.list("t/a") == ["t/a/x.yaml", "t/a/y.yaml"]
    assert ws.list("top.yaml") == [] and ws.list("missing") == []
    assert ws.list("t2") == ["t2/w"], "a prefix is a directory, not a string prefix of t2"


def test_commit_adds_modifies_deletes_and_empty_directories_vanish(tree_ws, remote_path: Path) -> None:
    ws = tree_ws
    ws.commit({"a/b/c/deep.yaml": b"1", "a/b/keep.yaml": b"k", "a/solo/only.yaml": b"o", "x": b"x"}, "c1", T0)
    oid = ws.commit({"a/b/c/deep.yaml": None, "a/solo/only.yaml": None, "x": b"x2", "n/new.yaml": b"n"}, "c2", T0)
    assert oid is not None
    assert ws.list("") == ["a/b/keep.yaml", "n/new.yaml", "x"]
    tree = pygit2.Repository(str(ws._cache))[oid].peel(pygit2.Tree)
    with pytest.raises(KeyError):
        tree["a/b/c"]
    with pytest.raises(KeyError):
        tree["a/solo"]
    assert ws.changed_paths(oid) == ["a/b/c/deep.yaml", "a/solo/only.yaml", "n/new.yaml", "x"]
    assert ws.commit({"a/b/keep.yaml": None, "n/new.yaml": None, "x": None}, "everything gone", T0)
    assert ws.list("") == []
    assert ws.push()
    assert remote_files(remote_path) == {}


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"a": b"1"}, id="same-content"),
        pytest.param({"gone": None}, id="delete-missing-file"),
        pytest.param({"d/gone": None}, id="delete-in-missing-dir"),
        pytest.param({}, id="no-changes"),
    ],
)
def test_a_commit_that_changes_nothing_returns_none(tree_ws, changes: dict) -> None:
    ws = tree_ws
    head = ws.commit({"a": b"1"}, "c", T0)
    assert ws.commit(changes, "noop", T0 + timedelta(minutes=1)) is None
    assert ws.head == head and len(ws.log()) == 1


def test_a_commit_on_an_empty_branch_that_changes_nothing_returns_none(tree_ws) -> None:
    ws = tree_ws
    assert ws.commit({"x": None}, "noop", T0) is None and ws.head is None


@pytest.mark.parametrize(
    "when, utc",
    [
        pytest.param(T0, T0, id="utc"),
        pytest.param(
            datetime(2024, 5, 1, 14, 30, 7, tzinfo=timezone(timedelta(hours=2))),
            datetime(2024, 5, 1, 12, 30, 7, tzinfo=UTC),
            id="plus-two-hours",
        ),
    ],
)
def test_author_committer_and_time(tmp_path: Path, remote_path: Path, when: datetime, utc: datetime) -> None:
    ws = GitWorkspace(str(remote_path), "main", tmp_path / "c", signature=Signature("Canary Bot", "bot@example.org"))
    ws.sync()
    oid = ws.commit({"f": b"1"}, "podinfo.test: canary weight 20 → 30\n\nCanary: podinfo.test", when)
    commit = pygit2.Repository(str(tmp_path / "c"))[oid]
    for who in (commit.author, commit.committer):
        assert (who.name, who.email, who.time) == ("Canary Bot", "bot@example.org", int(when.timestamp()))
        assert who.offset == when.utcoffset().total_seconds() // 60
    [info] = ws.log()
    assert info == CommitInfo(
        oid=oid,
        message="podinfo.test: canary weight 20 → 30\n\nCanary: podinfo.test\n",
        author="Canary Bot",
        email="bot@example.org",
        time=utc,
        parents=(),
    )
    assert info.time.tzinfo is UTC


@pytest.mark.parametrize(
    "changes, message, when, error",
    [
        pytest.param({"a": b"1"}, "m", datetime(2024, 1, 1), ValueError, id="naive-time"),
        pytest.param({"a": b"1"}, "  \n", T0, ValueError, id="empty-message"),
        pytest.param({"../a": b"1"}, "m", T0, ValueError, id="dot-dot"),
        pytest.param({"d/.git/config": b"1"}, "m", T0, ValueError, id="dot-git"),
        pytest.param({"a//b": b"1"}, "m", T0, ValueError, id="empty-segment"),
        pytest.param({"": b"1"}, "m", T0, ValueError, id="empty-path"),
        pytest.param({"a": "text"}, "m", T0, TypeError, id="str-content"),
        pytest.param({"f/below": b"1"}, "m", T0, ValueError, id="below-a-file"),
        pytest.param({"d": b"1"}, "m", T0, ValueError, id="file-over-directory"),
        pytest.param({"d": None}, "m", T0, ValueError, id="delete-a-directory"),
        pytest.param({"n": b"1", "n/x": b"2"}, "m", T0, ValueError, id="file-and-directory"),
    ],
)
def test_bad_commits_are_refused_before_anything_is_written(tree_ws, changes, message, when, error) -> None:
    ws = tree_ws
    head = ws.commit({"f": b"file", "d/x": b"x"}, "c", T0)
    with pytest.raises(error):
        ws.commit(changes, message, when)
    assert ws.head == head


def test_commit_of_a_thousand_directories_is_fast(tree_ws) -> None:
    ws = tree_ws
    files = {f"team-{i // 20}/app-{i % 20}/{name}.yaml": b"x" * 300 for i in range(1000) for name in ("ts", "svc")}
    ws.commit(files, "initial", T0)
    change = {f"team-{i // 20}/app-{i % 20}/ts.yaml": b"weight: 10\n" for i in range(1000)}
    start = time.perf_counter()
    oid = ws.commit(change, "weight 10", T0)
    elapsed = time.perf_counter() - start
    assert ws.changed_paths(oid) == sorted(change)
    assert elapsed < 1.0, f"1,000 files in 1,000 directories took {elapsed:.2f}s"


# ------------------------------------------------------------------------------------------ push, races


def test_push_is_rejected_when_the_remote_moved_and_the_retry_keeps_both(workspace, remote_path: Path) -> None:
    a, b = workspace("a"), workspace("b")
    a.sync()
    a.commit({"base": b"0"}, "base", T0)
    assert a.push()
    b.sync()
    a_oid = a.commit({"from-a": b"a"}, "a's change", T0)
    b.commit({"from-b": b"b"}, "b's change", T0)
    assert a.push() is True
    assert b.push() is False
    assert remote_head(remote_path) == a_oid, "the loser changed nothing"
    assert b.sync() == a_oid
    b_oid = b.commit({"from-b": b"b"}, "b's change, decided again", T0)
    assert b.push() is True
    assert remote_head(remote_path) == b_oid
    assert [c.message for c in b.log()] == ["b's change, decided again\n", "a's change\n", "base\n"]
    assert remote_files(remote_path) == {"base": b"0", "from-a": b"a", "from-b": b"b"}


def test_two_creators_of_the_branch_one_wins(workspace, remote_path: Path) -> None:
    a, b = workspace("a"), workspace("b")
    assert a.sync() is None and b.sync() is None
    a_oid = a.commit({"a": b"1"}, "a", T0)
    b.commit({"b": b"1"}, "b", T0)
    assert a.push() is True and b.push() is False
    assert remote_head(remote_path) == a_oid


def test_a_push_waits_out_a_writer_holding_the_ref_lock(workspace, remote_path: Path) -> None:
    ws = workspace()
    ws.sync()
    ws.commit({"a": b"1"}, "c", T0)
    lock = remote_path / "refs" / "heads" / "main.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text("")
    releaser = threading.Timer(0.2, lock.unlink)
    releaser.start()
    try:
        assert ws.push() is True
    finally:
        releaser.join()
    assert remote_head(remote_path) == ws.head


def test_a_stale_remote_lock_is_an_error_that_says_what_to_do(workspace, remote_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(git_repo, "_LOCK_WAIT_S", 0.1)
    ws = workspace()
    ws.sync()
    ws.commit({"a": b"1"}, "c", T0)
    lock = remote_path / "refs" / "heads" / "main.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text("")
    with pytest.raises(GitError, match=r"main\.lock"):
        ws.push()
    assert remote_head(remote_path) is None


RACER = textwrap.dedent(
    """
    import sys, time
    from datetime import datetime, timezone, timedelta
    from pathlib import Path
    from cronjob.git.repo import GitWorkspace
    url, cache, name, n, go = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), Path(sys.argv[5])
    ws = GitWorkspace(url, "main", cache)
    while not go.exists():
        time.sleep(0.001)
    rejected = 0
    for i in range(n):
        while True:
            ws.sync()
            when = datetime(2024, 5, 1, tzinfo=timezone.utc) + timedelta(seconds=i)
            ws.commit({f"{name}/file-{i}.yaml": f"{name} {i}".encode()}, f"{name} {i}", when)
            if ws.push():
                break
            rejected += 1
    print(rejected)
    """
)


def test_two_processes_racing_lose_no_commit(tmp_path: Path, remote_url: str, remote_path: Path) -> None:
    n = 12
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, remote_url, str(tmp_path / f"cache-{name}"), name, str(n), str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for name in ("alpha", "beta")
    ]
    time.sleep(0.3)  # let both import pygit2 and wait at the barrier
    go.touch()
    results = [p.communicate(timeout=60) for p in procs]
    print("rejected pushes per process:", [out.strip() for out, _ in results])
    for p, (_, err) in zip(procs, results):
        assert p.returncode == 0, err
    files = remote_files(remote_path)
    expected = {f"{name}/file-{i}.yaml": f"{name} {i}".encode() for name in ("alpha", "beta") for i in range(n)}
    assert files == expected
    judge = GitWorkspace(remote_url, "main", tmp_path / "judge")
    judge.sync()
    history = judge.log()
    assert sorted(c.message for c in history) == sorted(f"{nm} {i}\n" for nm in ("alpha", "beta") for i in range(n))
    assert all(len(c.parents) == 1 for c in history[:-1]) and history[-1].parents == ()
    subprocess.run([git_cli(), "--git-dir", str(remote_path), "fsck", "--strict"], check=True, capture_output=True)


def test_real_git_clones_what_we_pushed(tmp_path: Path, workspace, remote_url: str) -> None:
    ws = workspace()
    ws.sync()
    ws.commit({"a/b.yaml": b"b: 1\n", "c.yaml": b"c: 2\n"}, "one", T0)
    assert ws.push()
    ws.commit({"a/b.yaml": b"b: 2\n"}, "two", T0)
    assert ws.push()
    clone = tmp_path / "clone"
    subprocess.run([git_cli(), "clone", "-q", remote_url, str(clone)], check=True, capture_output=True)
    assert (clone / "a" / "b.yaml").read_bytes() == b"b: 2\n"
    log = subprocess.run(
        [git_cli(), "-C", str(clone), "log", "--format=%s"], check=True, capture_output=True, text=True
    )
    assert log.stdout.split() == ["two", "one"]


# ------------------------------------------------------------------------------------------ log, changed_paths


@pytest.fixture
def history(tree_ws) -> tuple[GitWorkspace, dict[str, str]]:
    ws = tree_ws
    c = {}
    c["root"] = ws.commit({"test/podinfo/split.yaml": b"w: 0", "other/app/split.yaml": b"w: 0"}, "root", T0)
    c["podinfo-10"] = ws.commit({"test/podinfo/split.yaml": b"w: 10"}, "podinfo 10", T0 + timedelta(minutes=1))
    c["other-10"] = ws.commit({"other/app/split.yaml": b"w: 10"}, "other 10", T0 + timedelta(minutes=2))
    c["podinfo-status"] = ws.commit({"test/podinfo/status.yaml": b"phase: x"}, "status", T0 + timedelta(minutes=3))
    c["podinfo-gone"] = ws.commit(
        {"test/podinfo/split.yaml": None, "test/podinfo/status.yaml": None},
        "podinfo removed",
        T0 + timedelta(minutes=4),
    )
    return ws, c


@pytest.mark.parametrize(
    "prefix, limit, expected",
    [
        pytest.param(None, None, ["podinfo-gone", "podinfo-status", "other-10", "podinfo-10", "root"], id="all"),
        pytest.param(None, 2, ["podinfo-gone", "podinfo-status"], id="limit"),
        pytest.param("test/podinfo", None, ["podinfo-gone", "podinfo-status", "podinfo-10", "root"], id="dir"),
        pytest.param("test/podinfo/", 1, ["podinfo-gone"], id="dir-slash-limit"),
        pytest.param("test/podinfo/status.yaml", None, ["podinfo-gone", "podinfo-status"], id="file"),
        pytest.param("other", None, ["other-10", "root"], id="root-counts-with-files-there"),
        pytest.param("test/podinfo/status.yaml", 0, [], id="limit-zero"),
        pytest.param("nowhere", None, [], id="never-touched"),
    ],
)
def test_log_filters_by_path(history, prefix, limit, expected) -> None:
    ws, c = history
    assert [i.oid for i in ws.log(prefix, limit)] == [c[k] for k in expected]


def test_changed_paths(history) -> None:
    ws, c = history
    assert ws.changed_paths(c["root"]) == ["other/app/split.yaml", "test/podinfo/split.yaml"]
    assert ws.changed_paths(c["other-10"]) == ["other/app/split.yaml"]
    assert ws.changed_paths(c["podinfo-gone"]) == ["test/podinfo/split.yaml", "test/podinfo/status.yaml"]
    with pytest.raises(GitError):
        ws.changed_paths("0" * 40)


# ------------------------------------------------------------------------------------------ credentials, secrets


def test_credentials_from_env() -> None:
    assert GitCredentials.from_env({}) == GitCredentials()
    assert GitCredentials.from_env({"CRONARY_GIT_TOKEN": "tok"}) == GitCredentials(username="git", password="tok")
    assert GitCredentials.from_env({"CRONARY_GIT_TOKEN": "tok", "CRONARY_GIT_USERNAME": "bot"}) == GitCredentials(
        username="bot", password="tok"
    )
    assert GitCredentials.from_env(
        {"CRONARY_GIT_USERNAME": "u", "CRONARY_GIT_PASSWORD": "p", "CRONARY_GIT_TOKEN": "t"}
    ) == GitCredentials(username="u", password="p")
    assert GitCredentials.from_env(
        {
            "CRONARY_GIT_SSH_KEY": "/secret/id_ed25519",
            "CRONARY_GIT_SSH_PUBLIC_KEY": "/secret/id_ed25519.pub",
            "CRONARY_GIT_SSH_PASSPHRASE": "pp",
            "CRONARY_GIT_PASSWORD": "",
        }
    ) == GitCredentials(ssh_key="/secret/id_ed25519", ssh_public_key="/secret/id_ed25519.pub", ssh_passphrase="pp")


@pytest.mark.parametrize(
    "creds",
    [
        pytest.param(GitCredentials(username="bot", password=SECRET), id="password"),
        pytest.param(GitCredentials.from_env({"CRONARY_GIT_TOKEN": SECRET}), id="token"),
        pytest.param(GitCredentials(ssh_key="/k", ssh_passphrase=SECRET), id="ssh-passphrase"),
    ],
)
def test_repr_never_shows_secrets(creds: GitCredentials) -> None:
    assert SECRET not in repr(creds) and SECRET not in str(creds) and SECRET not in f"{creds}"
    assert "***" in repr(creds)


@pytest.mark.parametrize(
    "url, stored, local",
    [
        pytest.param("file:///srv/git/x.git", "/srv/git/x.git", True, id="file-url"),
        pytest.param("file://localhost/srv/a%20b.git", "/srv/a b.git", True, id="file-url-localhost-quoted"),
        pytest.param("/srv/git/x.git", "/srv/git/x.git", True, id="absolute-path"),
        pytest.param("https://bot:pw@git.example/x.git", "https://git.example/x.git", False, id="https-userinfo"),
        pytest.param("https://tok@git.example/x.git", "https://git.example/x.git", False, id="https-token-as-user"),
        pytest.param("ssh://git:pw@example:2222/x.git", "ssh://git@example:2222/x.git", False, id="ssh-keeps-user"),
        pytest.param("git@github.com:org/x.git", "git@github.com:org/x.git", False, id="scp-like"),
    ],
)
def test_remote_urls_are_stored_without_secrets(url: str, stored: str, local: bool) -> None:
    ws = GitWorkspace(url, "main", "/nonexistent-cache")
    assert ws._url == stored
    assert (ws._local is not None) is local


def _all_bytes(path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in path.rglob("*") if p.is_file())


@pytest.mark.parametrize(
    "url, creds",
    [
        pytest.param(f"https://user:{SECRET}@127.0.0.1:1/x.git", None, id="secret-in-url"),
        pytest.param("https://127.0.0.1:1/x.git", GitCredentials(username="user", password=SECRET), id="credentials"),
        pytest.param(f"https://{SECRET}@127.0.0.1:1/x.git", None, id="token-as-user"),
    ],
)
def test_network_errors_never_show_or_store_secrets(tmp_path: Path, url: str, creds: GitCredentials | None) -> None:
    cache = tmp_path / "cache"
    ws = GitWorkspace(url, "main", cache, credentials=creds)
    assert SECRET not in repr(ws)
    with pytest.raises(GitError) as sync_error:
        ws.sync()
    ws.commit({"a": b"1"}, "c", T0)  # the cache exists even though the fetch failed
    with pytest.raises(GitError) as push_error:
        ws.push()
    for err in (sync_error.value, push_error.value):
        text = str(err) + "".join(traceback.format_exception(err))
        assert SECRET not in text and f"user:{SECRET}@" not in text, text
        assert "127.0.0.1" in str(err), "the message still says which remote failed"
        assert err.__cause__ is None and err.__suppress_context__, "the unscrubbed original is not chained"
    assert SECRET.encode() not in _all_bytes(cache)
    assert pygit2.Repository(str(cache)).remotes["origin"].url == "https://127.0.0.1:1/x.git"


def test_credentials_are_offered_through_callbacks() -> None:
    from pygit2.enums import CredentialType

    cb = git_repo._Callbacks(GitCredentials(username="bot", password=SECRET, ssh_key="/k", ssh_passphrase="pp"))
    userpass = cb.credentials("https://h/x", None, CredentialType.USERPASS_PLAINTEXT)
    assert isinstance(userpass, pygit2.UserPass) and userpass.credential_tuple == ("bot", SECRET)
    key = cb.credentials("ssh://git@h/x", "git", CredentialType.SSH_KEY | CredentialType.USERPASS_PLAINTEXT)
    assert isinstance(key, pygit2.Keypair) and key.credential_tuple == ("git", None, "/k", "pp")
    cb.credentials("https://h/x", None, CredentialType.USERPASS_PLAINTEXT)
    with pytest.raises(GitError, match="rejected"):  # asked a 4th time: libgit2 keeps asking after a rejection
        cb.credentials("https://h/x", None, CredentialType.USERPASS_PLAINTEXT)
    with pytest.raises(GitError, match="none are configured"):
        git_repo._Callbacks(None).credentials("https://h/x", None, CredentialType.USERPASS_PLAINTEXT)
    # certificate checks stay on: libgit2's verdict (TLS chain, known_hosts) is returned, never overridden
    assert cb.certificate_check(None, False, b"h") is False and cb.certificate_check(None, True, b"h") is True
