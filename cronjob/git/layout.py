"""Where GitOps mode keeps things in the repository, and how each file is written.

Under `--git-path P`, one directory per canary:

    P/<namespace>/<canary>/
        kustomization.yaml             the generated objects, for Flux / Argo CD to sync (nothing else is listed)
        <kind>-<name>.yaml             each generated object: trafficsplit-podinfo.yaml, deployment-podinfo-primary.yaml, ...
        status.yaml                    the canary's state (status, hold); read by the next tick, never applied
        target-replicas.patch.yaml     the target's replicas as a kustomize patch, for the team's own kustomization
        approvals/<gate>.yaml          written by people: opens confirm-rollout / confirm-promotion / confirm-traffic-increase

Files are YAML with a fixed key order (apiVersion, kind, metadata, spec, then the rest; nested keys sorted), so
a diff shows only what changed. Secret data is never written: `-primary` copies of tracked Secrets are listed by
name in status.yaml for the team's secret tooling to provide.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML

from cronjob.shared import libyaml
from cronjob.shared.errors import InputError
from cronjob.shared.reader import load_bytes
from cronjob.shared.resources import RESOURCES
from engine.names import is_dns1123_label, is_dns1123_subdomain

STATUS_FILE = "status.yaml"
HELD_FILE = "held.yaml"  # why a damaged state holds the canary; written by cronary, removed once it is sound
HELD_HEADER = "cronary holds this canary: its status.yaml is not a state for it. Restore status.yaml from history\n(or remove this directory to start over); cronary removes this file with the canary's next commit."
KUSTOMIZATION = "kustomization.yaml"
TARGET_REPLICAS = "target-replicas.patch.yaml"
APPROVALS = "approvals"
_TOP = ("apiVersion", "kind", "metadata", "spec")
# The kinds of object a repository may hold for the engine (`--no-cluster`), whatever their version; Canaries apart.
OBJECT_KINDS = frozenset(r.kind for r in RESOURCES.values() if r.in_repository)


def canary_dir(root: str, namespace: str, name: str) -> str:
    """The canary's directory. Names are checked here too: they become paths."""
    if not is_dns1123_label(namespace) or not is_dns1123_subdomain(name):
        raise ValueError(f"not a valid namespace/name for a path: {namespace!r}/{name!r}")
    return "/".join(p for p in (root.strip("/"), namespace, name) if p)


def object_file(manifest: Mapping[str, Any]) -> str:
    kind, name = str(manifest["kind"]).lower(), str(manifest["metadata"]["name"])
    if not is_dns1123_subdomain(name):
        raise ValueError(f"not a valid object name for a path: {name!r}")
    return f"{kind}-{name}.yaml"


def approval_file(directory: str, gate: str) -> str:
    return f"{directory}/{APPROVALS}/{gate}.yaml"


def _ordered(value: Any, top: bool = False) -> Any:
    if isinstance(value, Mapping):
        keys = sorted(value, key=lambda k: (_TOP.index(k) if top and k in _TOP else len(_TOP), str(k)))
        return {k: _ordered(value[k]) for k in keys}
    if isinstance(value, (list, tuple)):
        return [_ordered(v) for v in value]
    return value


def _yaml() -> YAML:
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.sort_base_mapping_type_on_output = False  # keep the order _ordered chose
    yaml.width = 4096
    return yaml


def dump(document: Any, header: str = "") -> bytes:
    """One YAML document in the stable order, with an optional comment header."""
    comments = "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines())
    ordered = _ordered(document, top=True)
    fast = libyaml.dump(ordered)  # the same bytes, through libyaml, for the usual objects
    if fast is not None:
        return (comments + fast).encode()
    out = io.StringIO()
    out.write(comments)
    _yaml().dump(ordered, out)
    return out.getvalue().encode()


def load(data: bytes | None, source: str = "a repository file") -> Any:
    """One YAML document of a file read from the repository (None when there is no file), through the same
    reader and limits as every input file: an `InputError` naming `source` if it is not one within them."""
    if data is None:
        return None
    docs = load_bytes(data, source)
    if len(docs) > 1:
        raise InputError(source, "", f"must hold one YAML document, found {len(docs)}")
    return docs[0] if docs else None


@dataclass(frozen=True)
class CanaryState:
    """What status.yaml holds: the Canary status, and a hold set when people reverted one of cronary's steps."""

    status: Mapping[str, Any]
    hold: Mapping[str, Any] | None = None
    secret_copies: tuple[tuple[str, str], ...] = ()
    halted: tuple[
        Mapping[str, Any], ...
    ] = ()  # the failed metric checks of the current analysis, for the rollback commit
    waiting: Mapping[str, str] | None = None  # {gate, hook, revision}: a confirm gate waits for an approval in git

    def document(self, namespace: str, name: str) -> dict[str, Any]:
        doc: dict[str, Any] = {"canary": f"{namespace}/{name}", "status": dict(self.status)}
        if self.hold:
            doc["hold"] = dict(self.hold)
        if self.secret_copies:
            doc["secretCopies"] = [{"from": a, "to": b} for a, b in self.secret_copies]
        if self.halted:
            doc["failedMetrics"] = [dict(v) for v in self.halted]
        if self.waiting:
            doc["waiting"] = dict(self.waiting)
        return doc


def read_state(data: bytes | None, source: str, canary: str) -> CanaryState | None:
    """The state of `canary` ("namespace/name") from its status.yaml `source`; None only when there is no such file.

    Anything else that is not a state for that canary — not YAML, not a mapping, a field of the wrong type, the
    state of another canary — is an `InputError` naming the file and the field: a damaged state holds its canary
    (taking it for "no state" would re-initialise a canary that is under way and move its traffic)."""
    if data is None:
        return None
    doc = load(data, source)
    if not isinstance(doc, Mapping):
        raise InputError(source, "", f"must be a mapping with canary and status, found {_type(doc)}")
    if doc.get("canary") != canary:
        raise InputError(source, "canary", f"must be {canary!r}, found {doc.get('canary')!r}")
    status = doc.get("status")
    if not isinstance(status, Mapping):
        raise InputError(source, "status", f"must be a mapping, found {_type(status)}")
    hold = doc.get("hold")
    if hold is not None and not isinstance(hold, Mapping):
        raise InputError(source, "hold", f"must be a mapping, found {_type(hold)}")
    waiting = doc.get("waiting")
    if waiting is not None and not (
        isinstance(waiting, Mapping) and all(isinstance(waiting.get(k), str) for k in ("gate", "hook", "revision"))
    ):
        raise InputError(source, "waiting", "must be a mapping with the strings gate, hook and revision")
    copies = []
    for i, copy in enumerate(_list(doc, "secretCopies", source)):
        pair = tuple(copy.get(k) if isinstance(copy, Mapping) else None for k in ("from", "to"))
        if not all(isinstance(v, str) and v for v in pair):
            raise InputError(source, f"secretCopies[{i}]", "must be a mapping with the names from and to")
        copies.append((str(pair[0]), str(pair[1])))
    halted = []
    for i, verdict in enumerate(_list(doc, "failedMetrics", source)):
        if not isinstance(verdict, Mapping):
            raise InputError(source, f"failedMetrics[{i}]", f"must be a mapping, found {_type(verdict)}")
        halted.append(dict(verdict))
    return CanaryState(
        dict(status),
        dict(hold) if hold is not None else None,
        tuple(copies),
        tuple(halted),
        {k: str(waiting[k]) for k in ("gate", "hook", "revision")} if waiting is not None else None,
    )


def _list(doc: Mapping[str, Any], field: str, source: str) -> list[Any]:
    value = doc.get(field)
    if value is None:
        return []
    if not isinstance(value, list):
        raise InputError(source, field, f"must be a list, found {_type(value)}")
    return value


def _type(value: object) -> str:
    return "nothing" if value is None else type(value).__name__


STATE_HEADER = (
    "cronary's state for this canary (GitOps mode). Written by cronary; not a Kubernetes object, not applied."
)


def kustomization(files: list[str]) -> dict[str, Any]:
    return {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resources": sorted(files)}


def replicas_patch(namespace: str, name: str, replicas: int) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"replicas": replicas},
    }
