"""`cronary approve CANARY`: open the confirm gate a canary waits at, for the revision it waits with.

The tick records a waiting gate in the canary's `status.yaml` (`waiting: {gate, hook, revision}`) and in its
commit (`Waiting-For:`), because an approval must name the target's new revision, which appears nowhere else in
the repository while a `confirm-rollout` gate holds it back. This command reads that block and commits
`approvals/<gate>.yaml` naming the revision, as the approver — the same file a person may write by hand.
"""

from __future__ import annotations

import re
from datetime import datetime

from cronjob.git.layout import STATUS_FILE, approval_file, canary_dir, dump, read_state
from cronjob.git.repo import GitWorkspace
from cronjob.shared.errors import InputError, RunFailed
from cronjob.shared.options import Signature

_PERSON = re.compile(r"^\s*(?P<name>[^<>\n]+?)\s*<(?P<email>[^<>\s@]+@[^<>\s]+)>\s*$")
PUSH_ATTEMPTS = 4


def parse_person(option: str, text: str) -> Signature:
    """`Name <email>`, as git writes an author; an InputError naming `option` otherwise."""
    found = _PERSON.match(text or "")
    if found is None:
        raise InputError(option, "", f"must be a person as git writes one, 'Name <email>', got {text!r}")
    return Signature(found["name"], found["email"])


def parse_canary_key(text: str) -> tuple[str, str]:
    """(namespace, name) of `NAME.NAMESPACE`, the form `history --canary` and commit trailers use."""
    name, _, namespace = text.rpartition(".")
    if not name or not namespace:
        raise InputError("CANARY", "", f"must be NAME.NAMESPACE (e.g. podinfo.test), got {text!r}")
    return namespace, name


def approve(workspace: GitWorkspace, root: str, canary: str, gate: str | None, now: datetime) -> str:
    """Commit and push the approval of the gate `canary` waits at; the commit id. RunFailed when there is no
    such canary, no gate waits, or it waits at another gate than `gate`."""
    namespace, name = parse_canary_key(canary)
    try:
        directory = canary_dir(root, namespace, name)
    except ValueError as err:
        raise InputError("CANARY", "", str(err)) from None
    for _ in range(PUSH_ATTEMPTS):
        workspace.sync()
        path = f"{directory}/{STATUS_FILE}"
        state = read_state(workspace.read(path), path, f"{namespace}/{name}")
        if state is None:
            raise RunFailed(f"{canary}: no {path} on the branch: not a canary cronary decides there")
        waiting = state.waiting
        if waiting is None:
            raise RunFailed(f"{canary}: no gate waits for an approval ({path} has no waiting block)")
        if gate is not None and gate != waiting["gate"]:
            raise RunFailed(f"{canary}: the gate waiting is {waiting['gate']}, not {gate}")
        approval = dump(
            {"revision": waiting["revision"]},
            f"{waiting['gate']} of {canary} approved for revision {waiting['revision']} (cronary approve)",
        )
        message = f"{canary}: approve {waiting['gate']} of revision {waiting['revision']}\n"
        sha = workspace.commit({approval_file(directory, waiting["gate"]): approval}, message, now)
        if sha is None:
            raise RunFailed(f"{canary}: {waiting['gate']} of revision {waiting['revision']} is approved already")
        if workspace.push():
            return sha
    raise RunFailed(f"{canary}: could not push the approval after {PUSH_ATTEMPTS} attempts: the branch keeps moving")
