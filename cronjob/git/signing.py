"""Signed commits (`--git-signing-key FILE`): the key a CronJob mounts from a Secret signs each of cronary's commits.

Two kinds of key, told apart by the file's first line, each signed with the tool git itself uses for it, so
`git verify-commit` and the hosts' "Verified" badges accept the result:

* an OpenSSH private key (`-----BEGIN OPENSSH PRIVATE KEY-----`): `ssh-keygen -Y sign -n git`, as git does with
  `gpg.format=ssh`;
* an OpenPGP secret key (`-----BEGIN PGP PRIVATE KEY BLOCK-----`, `gpg --export-secret-keys --armor`):
  `gpg --detach-sign --armor`, in a keyring of its own made for this process.

Why a private copy: ssh-keygen refuses a key file others can read, and a Secret volume is mounted 0644 unless told
otherwise; the key is copied into a directory only this process can read, removed when the process ends. The key
must have no passphrase (the Secret is its protection). Key material never reaches a log or an error: errors name
the flag and the tool's reason, never the file's content.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

SSH_HEADER = b"-----BEGIN OPENSSH PRIVATE KEY-----"
PGP_HEADER = b"-----BEGIN PGP PRIVATE KEY BLOCK-----"
_TIMEOUT_S = 30.0


class SigningKeyError(Exception):
    """The signing key cannot be used (unreadable, not a key, protected by a passphrase, no tool to sign with)."""


@dataclass(frozen=True, repr=False)
class Signer:
    """Signs commits with one key: call it with a commit's bytes, get the armored signature git stores."""

    kind: str  # "ssh" | "gpg"
    home: Path = field(repr=False)  # the private directory holding the key copy (and, for gpg, the keyring)

    def __call__(self, payload: bytes) -> str:
        if self.kind == "ssh":
            out = _run(["ssh-keygen", "-Y", "sign", "-n", "git", "-f", str(self.home / "key")], payload)
        else:
            out = _run(["gpg", "--homedir", str(self.home), "--batch", "--armor", "--detach-sign"], payload)
        return out.decode()

    def __repr__(self) -> str:
        return f"Signer(kind={self.kind!r})"


def load_signer(path: str) -> Signer:
    """A signer for the key in `path`, checked by signing a test payload; `SigningKeyError` says why not."""
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        raise SigningKeyError(f"cannot read the key file: {err.strerror or type(err).__name__}") from None
    first = data.lstrip()[:40]
    if first.startswith(SSH_HEADER):
        kind, tool = "ssh", "ssh-keygen"
    elif first.startswith(PGP_HEADER):
        kind, tool = "gpg", "gpg"
    else:
        raise SigningKeyError("not an OpenSSH private key or an armored OpenPGP secret key")
    if shutil.which(tool) is None:
        raise SigningKeyError(f"{tool} is not installed: it signs with this kind of key")
    home = Path(tempfile.mkdtemp(prefix="cronary-signing-"))  # 0700
    atexit.register(shutil.rmtree, home, True)
    key = home / "key"
    fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    if kind == "ssh":  # a key with a passphrase would make ssh-keygen ask for it
        _run(["ssh-keygen", "-y", "-P", "", "-f", str(key)], b"")
    else:
        _run(["gpg", "--homedir", str(home), "--batch", "--import", str(key)], b"", output=False)
        key.unlink()
    signer = Signer(kind, home)
    signer(b"cronary: can this key sign?\n")
    return signer


def _run(command: list[str], stdin: bytes, output: bool = True) -> bytes:
    """The tool's stdout; its first line of stderr as a `SigningKeyError` when it fails (no key material is
    printed by these tools, and the key is read from a file, never passed as an argument)."""
    try:
        done = subprocess.run(  # a session of its own: no terminal to ask a passphrase on
            command, input=stdin, capture_output=True, timeout=_TIMEOUT_S, check=False, start_new_session=True
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        raise SigningKeyError(f"{command[0]} failed: {type(err).__name__}") from None
    if done.returncode != 0 or (output and not done.stdout.strip()):
        lines = [line for line in done.stderr.decode(errors="replace").splitlines() if line.strip()]
        reason = lines[-1].strip() if lines else f"exit status {done.returncode}"
        raise SigningKeyError(f"{command[0]} refused the key: {reason[:200]}")
    return done.stdout
