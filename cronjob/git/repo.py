"""Git plumbing for GitOps mode: a bare cache clone of one branch, commits built from git objects, pushes.

Why it looks the way it does:

* No working tree. A tick changes a few files among thousands; writing blobs and rebuilding only the changed
  trees is far cheaper than checking out, stat-ing and re-indexing the whole repository every minute.
* Credentials never touch disk or messages. The URL stored in the cache has no userinfo; usernames, passwords,
  tokens and SSH keys reach libgit2 only through `RemoteCallbacks`. A message names the remote by its origin
  (`scheme://host:port`, `file://` for a local one) and every error text from libgit2 or the remote passes
  `engine.redact` (the one redactor) with the URL and the credentials.
* Pushes are compare-and-swap. Over HTTPS/SSH the server's receive-pack checks the old value. libgit2's
  *local* transport (file:// and plain paths) does not: it writes the remote ref with force, so two racing
  pushers can both "succeed" and one commit is lost. Local remotes are therefore pushed by hand here: the
  new objects as one pack, then the ref updated under its lock file only if it still equals what we synced.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote

import pygit2
from pygit2.enums import CredentialType, FetchPrune, RepositoryOpenFlag, SortMode

from cronjob.shared.options import Signature
from engine.redact import MASK, origin, redact

Sign = Callable[[bytes], str]  # a commit's bytes -> its armored signature (`cronjob.git.signing`)

__all__ = ["CommitInfo", "GitCredentials", "GitError", "GitWorkspace", "Sign", "content_id"]

_REMOTE = "origin"
_TREE = pygit2.GIT_FILEMODE_TREE
_BLOB = pygit2.GIT_FILEMODE_BLOB
_BLOB_MODES = (pygit2.GIT_FILEMODE_BLOB, pygit2.GIT_FILEMODE_BLOB_EXECUTABLE)
_OBJ_TREE = int(pygit2.GIT_OBJECT_TREE)
_OBJ_COMMIT = int(pygit2.GIT_OBJECT_COMMIT)  # a submodule (gitlink): no object of ours behind it
_LOCK_WAIT_S = 5.0  # a pusher holds the remote ref's lock for milliseconds; longer means a crashed writer
_STALE_LOCK_S = 120.0  # a lock file this old in our own cache was left by a killed Job
_MAX_AUTH_ATTEMPTS = 3  # libgit2 asks again after a rejected credential; don't loop forever


class GitError(Exception):
    """Anything git-side that went wrong (network, auth, a corrupt cache). The message is always redacted."""


@dataclass(frozen=True, repr=False)
class GitCredentials:
    """How to authenticate to the remote. HTTPS: username + password or token; SSH: paths of key files."""

    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ssh_key: str | None = None
    ssh_public_key: str | None = None
    ssh_passphrase: str | None = field(default=None, repr=False)

    @staticmethod
    def from_env(environ: Mapping[str, str]) -> GitCredentials:
        """Read CRONARY_GIT_* (a Secret exposed as env vars; SSH keys are paths to its mounted files).
        Empty values count as unset, so an optional Secret key that is absent does not mean "empty password"."""

        def get(name: str) -> str | None:
            value = environ.get(f"CRONARY_GIT_{name}")
            return value if value else None

        username, password, token = get("USERNAME"), get("PASSWORD"), get("TOKEN")
        if password is None and token is not None:
            password = token
            username = username or "git"  # token auth ignores the name on GitHub/Gitea; most hosts want one
        return GitCredentials(
            username=username,
            password=password,
            ssh_key=get("SSH_KEY"),
            ssh_public_key=get("SSH_PUBLIC_KEY"),
            ssh_passphrase=get("SSH_PASSPHRASE"),
        )

    @property
    def empty(self) -> bool:
        """Nothing configured (every CRONARY_GIT_* unset)."""
        return not (self.username or self.password or self.ssh_key or self.ssh_public_key or self.ssh_passphrase)

    def __repr__(self) -> str:

        def hidden(value: str | None) -> str | None:
            return None if value is None else MASK

        return (
            f"GitCredentials(username={self.username!r}, password={hidden(self.password)}, "
            f"ssh_key={self.ssh_key!r}, ssh_public_key={self.ssh_public_key!r}, "
            f"ssh_passphrase={hidden(self.ssh_passphrase)})"
        )

    __str__ = __repr__


@dataclass(frozen=True)
class CommitInfo:
    """One commit as `log` reports it; `time` is the commit time in UTC, `message` exactly as stored."""

    oid: str
    message: str
    author: str
    email: str
    time: datetime
    parents: tuple[str, ...]


# --------------------------------------------------------------------------------------------- URLs, secrets


def _split_userinfo(url: str) -> tuple[str, str | None, str | None]:
    """(url without secrets, username, password). HTTP(S) loses all userinfo (the name may itself be a token);
    other schemes keep the user name (ssh://git@host needs it), never a password."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url, None, None
    authority, slash, path = rest.partition("/")
    userinfo, at, host = authority.rpartition("@")  # the last '@' before the path, as git parses it
    if not at:
        return url, None, None
    user, colon, password = userinfo.partition(":")
    user_dec = unquote(user) or None
    password_dec = unquote(password) if colon else None
    if scheme.lower() in ("http", "https"):
        kept = ""
    else:
        kept = f"{user}@" if user else ""
    return f"{scheme}://{kept}{host}{slash}{path}", user_dec, password_dec


def _remote_label(url: str, local: Path | None) -> str:
    """How messages name the remote: scheme://host:port (never userinfo, path or query; `user@host:path` is
    ssh://host; a repository on this machine is `file://`, without its path, like any other remote's)."""
    if local is not None:
        return "file://"
    if "://" not in url:
        host = url.rsplit("@", 1)[-1].split(":", 1)[0]  # scp-like: [user@]host:path
        return f"ssh://{host}"
    return origin(url)


_REASONS = (  # libgit2's words for the failures a person has to tell apart, in a few words of ours
    (re.compile(r"failed to resolve address|Name or service not known|nodename nor servname", re.I), "host not found"),
    (re.compile(r"Connection refused", re.I), "connection refused"),
    (re.compile(r"timed out|timeout", re.I), "timed out"),
    (re.compile(r"certificate|SSL|TLS", re.I), "TLS handshake failed (certificate not trusted?)"),
    (re.compile(r"unexpected http status code: (\d+)", re.I), r"HTTP \1"),
    (re.compile(r"invalid content-type", re.I), "the answer is not a git server's"),
)


def _reason(text: str) -> str:
    """A libgit2 error in a few words when it is one of the usual network failures; else its text on one line,
    any URL in it cut to scheme://host:port, at most 300 characters."""
    for pattern, words in _REASONS:
        found = pattern.search(text)
        if found:
            return found.expand(words)
    text = " ".join(redact(text).split())
    return text if len(text) <= 300 else text[:299] + "…"


def _local_remote_path(url: str) -> Path | None:
    """The directory of a remote on this machine (file:// URL or a plain path), None for network remotes."""
    if url.lower().startswith("file://"):
        host, _, path = url[len("file://") :].partition("/")
        if host not in ("", "localhost"):
            return None
        return Path(unquote("/" + path))
    if "://" in url:
        return None
    colon, slash = url.find(":"), url.find("/")
    if colon > 0 and (slash == -1 or colon < slash):
        return None  # scp-like ssh: user@host:path
    return Path(url).absolute()


# --------------------------------------------------------------------------------------------- paths, trees


def _parts(path: str, *, allow_root: bool = False) -> tuple[str, ...]:
    """Split a repository path; reject what git would refuse or what could escape the tree."""
    if not isinstance(path, str):
        raise TypeError(f"path must be str, got {type(path).__name__}")
    parts = tuple(p for p in path.strip("/").split("/")) if path.strip("/") else ()
    if not parts and not allow_root:
        raise ValueError("empty path")
    for part in parts:
        if part in ("", ".", "..") or part.lower() == ".git" or "\0" in part:
            raise ValueError(f"invalid path {path!r}")
    return parts


def _lookup(tree: pygit2.Tree | None, parts: tuple[str, ...]) -> pygit2.Object | None:
    if tree is None:
        return None
    if not parts:
        return tree
    try:
        return tree["/".join(parts)]
    except KeyError:
        return None


def _is_tree(entry: pygit2.Object | None) -> bool:
    # `.type` is a plain int; `.filemode` builds an enum member on every access (10x slower on hot paths)
    return entry is not None and entry.type == _OBJ_TREE


def _same(a: pygit2.Object | None, b: pygit2.Object | None) -> bool:
    if a is None or b is None:
        return a is b
    return a.id == b.id and a.filemode == b.filemode


def _changed_files(old: pygit2.Tree | None, new: pygit2.Tree | None, prefix: str, out: set[str]) -> None:
    """Paths of files that differ between two trees; identical subtrees (same oid) are skipped unread."""
    old_entries = {e.name: e for e in old} if old is not None else {}
    new_entries = {e.name: e for e in new} if new is not None else {}
    for name in old_entries.keys() | new_entries.keys():
        o, n = old_entries.get(name), new_entries.get(name)
        if _same(o, n):
            continue
        path = prefix + name
        if o is not None and not _is_tree(o):
            out.add(path)
        if n is not None and not _is_tree(n):
            out.add(path)
        if _is_tree(o) or _is_tree(n):
            _changed_files(o if _is_tree(o) else None, n if _is_tree(n) else None, path + "/", out)


def _new_objects(old: pygit2.Tree | None, new: pygit2.Tree, out: set[pygit2.Oid]) -> None:
    """Trees and blobs reachable from `new` but not from `old` by the same path (what a push must send)."""
    if old is not None and old.id == new.id:
        return
    out.add(new.id)
    old_entries = {e.name: e for e in old} if old is not None else {}
    for entry in new:
        prior = old_entries.get(entry.name)
        if prior is not None and prior.id == entry.id:
            continue
        if entry.type == _OBJ_TREE:
            _new_objects(prior if _is_tree(prior) else None, entry, out)
        elif entry.type != _OBJ_COMMIT:
            out.add(entry.id)


def _files(tree: pygit2.Tree, prefix: str) -> Iterator[str]:
    for entry in tree:
        if entry.type == _OBJ_TREE:
            yield from _files(entry, f"{prefix}{entry.name}/")
        elif entry.type != _OBJ_COMMIT:
            yield prefix + entry.name


def content_id(data: bytes) -> str:
    """The blob id git gives these bytes (`GitWorkspace.blob_id` of a file holding them)."""
    return str(pygit2.hash(data))


def _ref_target(repo: pygit2.Repository, name: str) -> pygit2.Oid | None:
    ref = repo.references.get(name)
    return None if ref is None else ref.resolve().target


# --------------------------------------------------------------------------------------------- callbacks


class _Callbacks(pygit2.RemoteCallbacks):
    """Credentials on demand, certificate checks kept on, and the server's per-ref push verdicts recorded."""

    def __init__(self, credentials: GitCredentials | None) -> None:
        super().__init__()
        self._creds = credentials
        self._attempts = 0
        self.rejected: list[str] = []

    def credentials(  # type: ignore[override]
        self, url: str, username_from_url: str | None, allowed_types: CredentialType
    ) -> pygit2.Keypair | pygit2.UserPass | pygit2.Username:
        self._attempts += 1
        if self._attempts > _MAX_AUTH_ATTEMPTS:
            raise GitError("authentication failed: the remote rejected the configured credentials")
        c = self._creds
        if c is None:
            raise GitError("the remote asks for credentials and none are configured (CRONARY_GIT_*)")
        if allowed_types & CredentialType.SSH_KEY and c.ssh_key:
            public = c.ssh_public_key
            if public is None and os.path.exists(c.ssh_key + ".pub"):
                public = c.ssh_key + ".pub"
            user = username_from_url or c.username or "git"
            return pygit2.Keypair(user, public, c.ssh_key, c.ssh_passphrase or "")
        if allowed_types & CredentialType.USERPASS_PLAINTEXT and c.password is not None:
            return pygit2.UserPass(c.username or username_from_url or "git", c.password)
        if allowed_types & CredentialType.USERNAME:
            return pygit2.Username(username_from_url or c.username or "git")
        kinds = [
            word
            for flag, word in (
                (CredentialType.USERPASS_PLAINTEXT, "a username and password or token"),
                (CredentialType.SSH_KEY, "an SSH key"),
            )
            if allowed_types & flag
        ]
        raise GitError(
            f"the remote asks for {' or '.join(kinds) or 'credentials'} and none of that kind are configured (CRONARY_GIT_*)"
        )

    def certificate_check(self, certificate: None, valid: bool, host: bytes) -> bool:  # type: ignore[override]
        # pygit2's default accepts *any* SSH host key (its pass-through returns 0 for SSH); libgit2 has already
        # checked TLS chains and ~/.ssh/known_hosts and tells us the verdict in `valid`: keep it.
        return bool(valid)

    def push_update_reference(self, refname: str, message: str | None) -> None:
        if message:
            self.rejected.append(f"{refname}: {message}")


class _RemoteMoved(Exception):
    """Internal: the remote ref is not where we synced it; rolls the ref transaction back."""


class _PathConflict(ValueError):
    """A change set that contradicts the tree (a file where a directory is, or the reverse): a caller bug."""


class _Locked(Exception):
    """Internal: another writer holds the remote ref's lock file right now."""


# --------------------------------------------------------------------------------------------- the workspace


class GitWorkspace:
    """A bare clone of one branch of a remote, kept in a cache directory between ticks (a CronJob's emptyDir
    or a PVC). No working tree: files are read from and written to git objects directly."""

    def __init__(
        self,
        url: str,
        branch: str,
        cache_dir: str | Path,
        credentials: GitCredentials | None = None,
        signature: Signature | None = None,
        committer: Signature | None = None,
        sign: Sign | None = None,
    ) -> None:
        """`signature` authors the commits (default: cronary's) and, without `committer`, commits them too;
        `sign` signs each one."""
        if not branch or not pygit2.reference_is_valid_name(f"refs/heads/{branch}"):
            raise ValueError(f"invalid branch name {branch!r}")
        clean, user, password = _split_userinfo(url)
        self._raw_url = url  # kept only to redact it out of messages; never stored or sent as-is
        if (credentials is None or credentials.empty) and (user or password):  # CRONARY_GIT_* unset: the URL's
            credentials = GitCredentials(username=user, password=password)
        self._credentials = credentials
        self._local = _local_remote_path(clean)
        self._url = str(self._local) if self._local is not None else clean
        self._branch = branch
        self._ref = f"refs/heads/{branch}"
        self._tracking = f"refs/remotes/{_REMOTE}/{branch}"
        self._refspec = f"+{self._ref}:{self._tracking}"
        self._cache = Path(cache_dir).absolute()
        self._signature = signature or Signature()
        self._committer = committer or self._signature
        self._sign = sign
        self._repo: pygit2.Repository | None = None
        self._head: pygit2.Oid | None = None
        self._base: pygit2.Oid | None = None  # the remote branch as of the last sync/push
        self._tree: tuple[pygit2.Oid, pygit2.Tree] | None = None  # head's tree, looked up once per head

    def __repr__(self) -> str:
        return f"GitWorkspace(url={origin(self._raw_url)!r}, branch={self._branch!r}, cache_dir={str(self._cache)!r})"

    # ------------------------------------------------------------------------------------------ errors

    def _fail(self, what: str, exc: BaseException | None = None) -> GitError:
        """A GitError with a redacted one-line message naming the remote (`_remote_label`) and the reason (no
        userinfo, path or query of the URL, no credential), and no chained original (a traceback would print
        it unredacted)."""
        detail = "" if exc is None else f": {_reason(str(exc))}" if str(exc) else f": {type(exc).__name__}"
        c = self._credentials
        detail = redact(detail, self._raw_url, self._url, secrets=() if c is None else (c.password, c.ssh_passphrase))
        return GitError(f"{what} ({_remote_label(self._url, self._local)}, branch {self._branch}){detail}")

    # ------------------------------------------------------------------------------------------ cache

    def _open_cache(self) -> pygit2.Repository:
        """Open the bare cache, (re)creating it when missing or made for another URL."""
        path = self._cache
        if path.exists() and any(path.iterdir()):
            try:
                repo = pygit2.Repository(str(path), RepositoryOpenFlag.NO_SEARCH | RepositoryOpenFlag.BARE)
            except pygit2.GitError:
                raise GitError(
                    f"cache directory {path} is neither empty nor a git repository; refusing to delete it"
                ) from None
            if Path(repo.path).resolve() != path.resolve():
                raise GitError(f"cache directory {path} is not the root of its repository")
            try:
                url = repo.remotes[_REMOTE].url
            except (KeyError, pygit2.GitError):
                url = None
            if url == self._url:
                self._drop_stale_locks(path)
                remote = repo.remotes[_REMOTE]
                if remote.fetch_refspecs != [self._refspec]:  # same remote, another branch: no need to re-clone
                    repo.remotes.delete(_REMOTE)
                    repo.remotes.create(_REMOTE, self._url, self._refspec)
                return repo
            del repo
            for child in path.iterdir():  # not rmtree(path): the cache dir may be a mount point
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child)
                else:
                    child.unlink()
        repo = pygit2.init_repository(str(path), bare=True)
        repo.remotes.create(_REMOTE, self._url, self._refspec)
        return repo

    def _drop_stale_locks(self, path: Path) -> None:
        """A Job killed mid-write (activeDeadlineSeconds) leaves *.lock files that would wedge every later tick."""
        now = time.time()
        for name in ("HEAD", "config", "packed-refs", self._ref, self._tracking):
            lock = path / f"{name}.lock"
            try:
                if now - lock.stat().st_mtime > _STALE_LOCK_S:
                    lock.unlink()
            except FileNotFoundError:
                pass

    def _callbacks(self) -> _Callbacks:
        return _Callbacks(self._credentials)

    @property
    def _r(self) -> pygit2.Repository:
        if self._repo is None:
            raise GitError(f"workspace for {_remote_label(self._url, self._local)} is not synced: call sync() first")
        return self._repo

    def _set_head(self, oid: pygit2.Oid | None) -> None:
        repo = self._r
        if oid is None:
            ref = repo.references.get(self._ref)
            if ref is not None:
                ref.delete()
        else:
            repo.references.create(self._ref, oid, force=True)
        self._head = oid

    # ------------------------------------------------------------------------------------------ public

    def sync(self) -> str | None:
        """Fetch the branch (cloning first if needed) and base the workspace on the remote head, dropping
        unpushed local commits: a tick decides on what the remote has, never on a stale local decision."""
        try:
            repo = self._open_cache()
            self._repo = repo
            # The remote's only refspec is this branch, so PRUNE drops the tracking ref if it was deleted upstream.
            repo.remotes[_REMOTE].fetch(callbacks=self._callbacks(), prune=FetchPrune.PRUNE)
            base = _ref_target(repo, self._tracking)
            if repo.references.get("HEAD") is None or repo.references["HEAD"].target != self._ref:
                repo.references.create("HEAD", self._ref, force=True)
            self._base = base
            self._tree = None
            self._set_head(base)
        except Exception as exc:
            raise self._fail("sync failed", exc) from None
        return None if base is None else str(base)

    @property
    def head(self) -> str | None:
        """The commit the next commit builds on (None before the branch's first commit)."""
        return None if self._head is None else str(self._head)

    def _head_tree(self) -> pygit2.Tree | None:
        if self._head is None:
            return None
        if self._tree is None or self._tree[0] != self._head:  # every read starts here: look the tree up once
            self._tree = (self._head, self._r[self._head].peel(pygit2.Tree))
        return self._tree[1]

    def blob_id(self, path: str) -> str | None:
        """The id of a file's content at head (what it is, in one lookup: equal ids, equal bytes); None when
        it is missing (or is a directory)."""
        parts = _parts(path)
        try:
            entry = _lookup(self._head_tree(), parts)
            return None if entry is None or entry.type in (_OBJ_TREE, _OBJ_COMMIT) else str(entry.id)
        except GitError:
            raise
        except Exception as exc:
            raise self._fail(f"read {path!r} failed", exc) from None

    def read(self, path: str) -> bytes | None:
        """A file's content at head; None when it is missing (or is a directory)."""
        parts = _parts(path)
        try:
            entry = _lookup(self._head_tree(), parts)
            if entry is None or entry.type in (_OBJ_TREE, _OBJ_COMMIT):
                return None
            return self._r[entry.id].data
        except GitError:
            raise
        except Exception as exc:
            raise self._fail(f"read {path!r} failed", exc) from None

    def list(self, prefix: str) -> list[str]:
        """Every file path under the directory `prefix` at head (recursive, sorted); '' lists the whole tree."""
        parts = _parts(prefix, allow_root=True)
        try:
            node = _lookup(self._head_tree(), parts)
            if node is None or (parts and not _is_tree(node)):
                return []
            base = "/".join(parts) + "/" if parts else ""
            return sorted(_files(node, base))  # type: ignore[arg-type]
        except GitError:
            raise
        except Exception as exc:
            raise self._fail(f"list {prefix!r} failed", exc) from None

    def commit(self, changes: Mapping[str, bytes | None], message: str, when: datetime) -> str | None:
        """One commit on top of head writing `changes` (None deletes a file; emptied directories vanish).
        Returns None and creates nothing when the tree would not change. Local only: `push` sends it."""
        if when.tzinfo is None or when.utcoffset() is None:
            raise ValueError("commit time must be timezone-aware")
        if not message.strip():
            raise ValueError("empty commit message")
        plan = self._plan(changes)
        try:
            repo = self._r
            head_tree = self._head_tree()
            new_tree = self._build(head_tree, plan, "")
            if new_tree is None:
                new_tree = repo.TreeBuilder().write()  # every file deleted: an empty tree, as git allows
            old_tree = head_tree.id if head_tree is not None else repo.TreeBuilder().write()
            if new_tree == old_tree:
                return None
            offset = int(when.utcoffset().total_seconds() // 60)  # type: ignore[union-attr]
            author, committer = (
                pygit2.Signature(who.name, who.email, int(when.timestamp()), offset)
                for who in (self._signature, self._committer)
            )
            text = message if message.endswith("\n") else message + "\n"
            parents = [self._head] if self._head is not None else []
            if self._sign is None:
                oid = repo.create_commit(None, author, committer, text, new_tree, parents)
            else:  # the signature covers the commit object's bytes, as `git commit -S` signs them
                content = repo.create_commit_string(author, committer, text, new_tree, parents)
                oid = repo.create_commit_with_signature(content, self._sign(content.encode()))
            self._set_head(oid)
            return str(oid)
        except (GitError, _PathConflict):
            raise
        except Exception as exc:
            raise self._fail("commit failed", exc) from None

    @staticmethod
    def _plan(changes: Mapping[str, bytes | None]) -> dict[str, object]:
        """Nest the flat {path: content} map by directory, so each directory is rebuilt once."""
        root: dict[str, object] = {}
        for path, content in changes.items():
            if content is not None and not isinstance(content, (bytes, bytearray, memoryview)):
                raise TypeError(f"{path}: content must be bytes or None, got {type(content).__name__}")
            parts = _parts(path)
            node = root
            for part in parts[:-1]:
                child = node.setdefault(part, {})
                if child is None or isinstance(child, bytes):
                    raise _PathConflict(f"{path}: a parent is written as a file in the same commit")
                node = child  # type: ignore[assignment]
            if isinstance(node.get(parts[-1]), dict):
                raise _PathConflict(f"{path}: written as a file and as a directory in the same commit")
            node[parts[-1]] = None if content is None else bytes(content)
        return root

    def _build(self, tree: pygit2.Tree | None, plan: dict[str, object], prefix: str) -> pygit2.Oid | None:
        """The id of `tree` with `plan` applied (None when it ends up empty); untouched subtrees are reused."""
        repo = self._r
        builder = repo.TreeBuilder(tree) if tree is not None else repo.TreeBuilder()
        for name, change in plan.items():
            path = prefix + name
            entry = None
            if tree is not None:
                try:
                    entry = tree[name]
                except KeyError:
                    pass
            if isinstance(change, dict):
                if entry is not None and not _is_tree(entry):
                    raise _PathConflict(f"{path} is a file, cannot write below it")
                sub = self._build(entry, change, path + "/")  # type: ignore[arg-type]
                if sub is None:
                    if entry is not None:
                        builder.remove(name)
                elif entry is None or entry.id != sub:
                    builder.insert(name, sub, _TREE)
            elif change is None:
                if _is_tree(entry):
                    raise _PathConflict(f"{path} is a directory; delete its files instead")
                if entry is not None:
                    builder.remove(name)
            else:
                if _is_tree(entry):
                    raise _PathConflict(f"{path} is a directory, cannot write a file there")
                blob = repo.create_blob(change)
                old_mode = None if entry is None else entry.filemode
                mode = old_mode if old_mode in _BLOB_MODES else _BLOB  # an executable stays executable
                if entry is None or entry.id != blob or old_mode != mode:
                    builder.insert(name, blob, mode)
        if len(builder) == 0:
            return None
        return builder.write()

    def push(self) -> bool:
        """Send head to the remote branch. True when it landed; False when the remote moved on since `sync`
        (someone else pushed first: sync, decide again, commit again). GitError for anything else."""
        repo = self._r
        if self._head is None or self._head == self._base:
            return True
        try:
            if self._local is not None:
                landed = self._push_local(self._local)
            else:
                landed = self._push_network()
            if landed:
                repo.references.create(self._tracking, self._head, force=True)
                self._base = self._head
            return landed
        except GitError:
            raise
        except Exception as exc:
            raise self._fail("push failed", exc) from None

    def push_to(self, branch: str) -> None:
        """Send head to `branch` of the remote, replacing what is there (a branch cronary owns: the pull-request
        mode's `cronary/<namespace>/<canary>`), then go back to the synced base so the next commit builds on it.
        The branch `sync`ed from is never written this way."""
        ref = f"refs/heads/{branch}"
        if not pygit2.reference_is_valid_name(ref) or ref == self._ref:
            raise ValueError(f"not a branch to push a step to: {branch!r}")
        if self._head is None or self._head == self._base:
            return
        try:
            if self._local is not None:
                remote = pygit2.Repository(str(self._local), RepositoryOpenFlag.NO_SEARCH)
                pack = pygit2.PackBuilder(self._r)
                for oid in self._objects_to_send():
                    pack.add(oid)
                pack.write(os.path.join(remote.path, "objects", "pack"))
                remote.references.create(ref, self._head, force=True)
            else:
                callbacks = self._callbacks()
                self._r.remotes[_REMOTE].push([f"+{self._ref}:{ref}"], callbacks=callbacks)
                if callbacks.rejected:
                    raise self._fail("push rejected by the remote: " + "; ".join(callbacks.rejected))
        except GitError:
            raise
        except Exception as exc:
            raise self._fail(f"push to {branch} failed", exc) from None
        self._set_head(self._base)

    def _push_network(self) -> bool:
        """libgit2 push with a non-force refspec: receive-pack on the server compares the old value atomically."""
        remote = self._r.remotes[_REMOTE]
        callbacks = self._callbacks()
        try:
            remote.push([f"{self._ref}:{self._ref}"], callbacks=callbacks)
        except pygit2.GitError as exc:
            # libgit2 refuses a non-fast-forward before sending; tell that apart from auth/network failures
            if self._remote_moved():
                return False
            raise self._fail("push failed", exc) from None
        if callbacks.rejected:
            if self._remote_moved():
                return False
            raise self._fail("push rejected by the remote: " + "; ".join(callbacks.rejected))
        return True

    def _remote_moved(self) -> bool:
        """Whether the remote branch is somewhere else than where we based our commits (one ls round trip)."""
        try:
            heads = self._r.remotes[_REMOTE].list_heads(callbacks=self._callbacks())
        except pygit2.GitError:
            return False
        current = next((h.oid for h in heads if h.name == self._ref), None)
        return current != self._base

    def _push_local(self, path: Path) -> bool:
        """Push to a repository on this machine: objects first (one pack), then the ref, compare-and-swap
        under the ref's lock file. Orphan objects of a lost race are harmless (gc removes them)."""
        try:
            remote = pygit2.Repository(str(path), RepositoryOpenFlag.NO_SEARCH)
        except pygit2.GitError as exc:
            raise self._fail("cannot open the remote repository", exc) from None
        if not remote.is_bare:
            raise self._fail("the remote repository is not bare; pushing to a checked-out branch is refused")
        if _ref_target(remote, self._ref) != self._base:
            return False  # cheap early answer; the decisive check is the one under the lock
        objects = self._objects_to_send()
        if objects:
            pack = pygit2.PackBuilder(self._r)
            for oid in objects:
                pack.add(oid)
            pack.write(os.path.join(remote.path, "objects", "pack"))
        deadline = time.monotonic() + _LOCK_WAIT_S
        while (landed := self._swap_ref(remote)) is None:
            if time.monotonic() > deadline:
                raise self._fail(
                    f"the remote ref {self._ref} stays locked; if no push is running, delete "
                    f"{os.path.join(remote.path, self._ref)}.lock"
                )
            time.sleep(0.005)
        if landed and remote.head_is_unborn:  # a fresh remote: make our branch what `git clone` checks out
            remote.references.create("HEAD", self._ref, force=True)
        return landed

    def _swap_ref(self, remote: pygit2.Repository) -> bool | None:
        """Move the remote ref from base to head under its lock: True done, False it moved, None locked."""
        try:
            with remote.transaction() as txn:  # leaving by an exception rolls back and removes the lock
                try:
                    txn.lock_ref(self._ref)
                except pygit2.GitError:
                    raise _Locked from None
                if _ref_target(remote, self._ref) != self._base:
                    raise _RemoteMoved
                txn.set_target(self._ref, self._head, message="push: cronary")
        except _Locked:
            return None
        except _RemoteMoved:
            return False
        return True

    def _objects_to_send(self) -> set[pygit2.Oid]:
        """Commits from head back to the synced remote head, with the trees and blobs each one introduced."""
        repo = self._r
        walker = repo.walk(self._head, SortMode.NONE)
        if self._base is not None:
            walker.hide(self._base)
        objects: set[pygit2.Oid] = set()
        for commit in walker:
            objects.add(commit.id)
            parent_tree = commit.parents[0].tree if commit.parents else None
            _new_objects(parent_tree, commit.tree, objects)
        return objects

    def log(self, path_prefix: str | None = None, limit: int | None = None) -> list[CommitInfo]:
        """Commits reachable from head, newest first; with `path_prefix`, only those that changed something
        under that path compared with their first parent (a root commit counts when it has files there)."""
        parts = _parts(path_prefix, allow_root=True) if path_prefix is not None else ()
        if self._head is None or (limit is not None and limit <= 0):
            return []
        out: list[CommitInfo] = []
        try:
            for commit in self._r.walk(self._head, SortMode.TOPOLOGICAL | SortMode.TIME):
                if parts:
                    here = _lookup(commit.tree, parts)
                    before = _lookup(commit.parents[0].tree, parts) if commit.parents else None
                    if _same(here, before):
                        continue
                out.append(self._info(commit))
                if limit is not None and len(out) >= limit:
                    break
        except GitError:
            raise
        except Exception as exc:
            raise self._fail("log failed", exc) from None
        return out

    @staticmethod
    def _info(commit: pygit2.Commit) -> CommitInfo:
        return CommitInfo(
            oid=str(commit.id),
            message=commit.message,
            author=commit.author.name,
            email=commit.author.email,
            time=datetime.fromtimestamp(commit.commit_time, UTC),
            parents=tuple(str(p) for p in commit.parent_ids),
        )

    def changed_paths(self, oid: str) -> list[str]:
        """Files a commit added, modified or deleted against its first parent, sorted."""
        try:
            commit = self._r.get(oid)
            if not isinstance(commit, pygit2.Commit):
                raise self._fail(f"{oid} is not a commit in the cache")
            parent = commit.parents[0].tree if commit.parents else None
            out: set[str] = set()
            _changed_files(parent, commit.tree, "", out)
            return sorted(out)
        except GitError:
            raise
        except Exception as exc:
            raise self._fail(f"changed_paths {oid!r} failed", exc) from None
