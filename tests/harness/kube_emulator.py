"""A stateful Kubernetes API emulator for tests: the official client talks to it over real HTTP on loopback.

No API server can run on the test machines, and a mock that answers whatever a test scripted cannot catch the
mistakes a real server rejects. This emulator keeps objects in memory and enforces what a real API server
enforces for the calls cronary makes: discovery, LIST with label selectors, GET, POST (AlreadyExists; NotFound
for a namespace that does not exist, also for an apply that creates), PUT with optimistic concurrency (Conflict
on a stale `resourceVersion`), the status and scale subresources, PATCH as server-side apply (field ownership,
conflicts, `force`), merge patch and JSON patch, DELETE, `generation`, `managedFields`, and a `Date` header
from a clock the test controls. Faults are injected per method and path: an error `Status` after an optional
delay (`fail`), or exact bytes of a broken server or proxy (`serve_raw`). Optionally it serves HTTPS (a throwaway CA from `trustme`) and requires a
bearer token, so the in-cluster configuration (ServiceAccount `token` and `ca.crt`, `write_service_account`)
can be used against it as in a pod. Every error is a `Status` object, so the
official client raises `ApiException` exactly as it would against a cluster.

Approximations (a real API server does more; see `KubeEmulator` for the list of what is not emulated):

- Server-side apply merges maps key by key but treats every list as atomic (a real server merges lists such as
  `containers` or `ports` by their key). Ownership is tracked per leaf field; `fieldsV1` uses Kubernetes' `f:`
  notation without `k:`/`v:` list-item keys.
- `application/strategic-merge-patch+json` is applied as a JSON merge patch (RFC 7386): no `$patch`
  directives and no merging of lists by key. Like a real server it is refused (415) for custom resources.
- No defaulting beyond Deployment `spec.replicas` (1) and Namespace `status.phase`, and no schema validation
  beyond object identity (apiVersion, kind, name, namespace), name syntax and string-valued labels/annotations.
"""

from __future__ import annotations

import copy
import json
import random
import re
import socket
import ssl
import sys
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from dataclasses import replace as dc_replace
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path as FsPath
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import jsonpatch

__all__ = ["ApiError", "Commit", "EmulatorSnapshot", "KubeEmulator", "RecordedRequest"]

Path = tuple[str, ...]
Json = dict[str, Any]
MISSING: Any = object()

APPLY = "application/apply-patch+yaml"
MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"

# metadata the server owns or that identifies the object: never a tracked field, never taken from a write
IDENTITY = (
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "managedFields",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
)
VERBS = ["create", "delete", "get", "list", "patch", "update"]
SUBRESOURCE_VERBS = ["get", "patch", "update"]
NAME_RE = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
NAME_MESSAGE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end "
    "with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
OPTIMISTIC_LOCK = "the object has been modified; please apply your changes to the latest version and try again"
REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    410: "Expired",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}


def timestamp(moment: datetime) -> str:
    """RFC 3339 with seconds, as the API server writes `creationTimestamp` and `managedFields[].time`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------------------------------------------------------
# Public records and errors
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordedRequest:
    """One HTTP request as the server saw it, with what an authorizer would check (group, resource, verb)."""

    method: str
    path: str
    query: dict[str, str]
    content_type: str | None
    field_manager: str | None
    api_group: str | None  # "" for core; None for discovery and other non-resource URLs
    resource: str | None
    subresource: str | None
    namespace: str | None
    name: str | None
    verb: str | None  # get, list, create, update, patch, delete (deletecollection); None for discovery
    created: bool  # a server-side apply that created the object (a real authorizer then also checks `create`)
    status_code: int  # 0 while the request is being handled (what `on_request` callbacks see)
    body: bytes = field(default=b"", repr=False, compare=False)  # what the client sent


@dataclass(frozen=True)
class Commit:
    """One change to the store, as it landed: the object as stored after it (None when it was deleted). Every
    write that changed something is one `Commit`, whoever made it (HTTP or the direct store methods); a write
    that changed nothing (an apply of what is already there) is none."""

    group: str
    plural: str
    namespace: str
    name: str
    obj: Json | None


@dataclass(frozen=True)
class EmulatorSnapshot:
    """Everything a later request can observe of the store: objects, the `resourceVersion` counter, the clock,
    the Deployment rollouts in progress, the served resource types and the armed faults (see `snapshot`)."""

    objects: dict[tuple[str, str], dict[tuple[str, str], Json]]
    rv: int
    now: datetime
    rollouts: dict[tuple[str, str], tuple[int, datetime]]
    types: dict[tuple[str, str], Any]
    faults: tuple[Any, ...]


class ApiError(Exception):
    """An API error: its `Status` body is what the client receives. Also raised by the direct store methods."""

    def __init__(self, code: int, reason: str, message: str, details: Json | None = None) -> None:
        super().__init__(f"{code} {reason}: {message}")
        self.code, self.reason, self.message, self.details = code, reason, message, details

    def status(self) -> Json:
        body: Json = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
        }
        if self.details:
            body["details"] = self.details
        body["code"] = self.code
        return body


# ---------------------------------------------------------------------------------------------------------------
# JSON trees: paths, merging, leaves
# ---------------------------------------------------------------------------------------------------------------


def get_path(tree: Any, path: Path) -> Any:
    node = tree
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return MISSING
        node = node[key]
    return node


def overlaps(a: Path, b: Path) -> bool:
    """One path is the other or lies inside it: writing one changes the other."""
    return a[: len(b)] == b or b[: len(a)] == a


def leaves(tree: Mapping[str, Any], prefix: Path = ()) -> dict[Path, Any]:
    """Every leaf field: scalars, lists (atomic) and empty maps. These are the units of field ownership."""
    out: dict[Path, Any] = {}
    for key, value in tree.items():
        path = prefix + (key,)
        if isinstance(value, dict) and value:
            out.update(leaves(value, path))
        else:
            out[path] = value
    return out


def deep_merge(base: Any, overlay: Mapping[str, Any]) -> Json:
    """Server-side apply's merge: maps merge key by key, anything else (lists included) replaces."""
    out = dict(base) if isinstance(base, dict) else {}
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


def drop_nulls(tree: Any) -> Any:
    """A real server decodes into typed structs (or prunes CRs), so `null` map values are not stored."""
    if isinstance(tree, dict):
        return {k: drop_nulls(v) for k, v in tree.items() if v is not None}
    if isinstance(tree, list):
        return [drop_nulls(v) for v in tree]
    return tree


def plain(tree: Any) -> Any:
    """YAML-loaded data as JSON data: dates stay strings, as the API server's YAML-to-JSON decoding keeps them."""
    if isinstance(tree, dict):
        return {str(k): plain(v) for k, v in tree.items()}
    if isinstance(tree, list):
        return [plain(v) for v in tree]
    if isinstance(tree, datetime):
        return timestamp(tree) if tree.tzinfo else tree.isoformat()
    if isinstance(tree, date):
        return tree.isoformat()
    return tree


def delete_path(tree: Json, path: Path, keep: Callable[[Path], bool]) -> None:
    """Remove a field, then the maps it leaves empty (below the top level) unless `keep` says they are owned."""
    parent = get_path(tree, path[:-1])
    if not isinstance(parent, dict):
        return
    parent.pop(path[-1], None)
    for depth in range(len(path) - 1, 1, -1):
        if get_path(tree, path[:depth]) != {} or keep(path[:depth]):
            return
        get_path(tree, path[: depth - 1]).pop(path[depth - 1], None)


def to_fields_v1(paths: Iterable[Path]) -> Json:
    """Field paths in the API server's `fieldsV1` notation: nested `f:<name>` keys, `.` for an owned map."""
    root: Json = {}
    owned = set(paths)
    for path in sorted(owned):
        node = root
        for key in path:
            node = node.setdefault(f"f:{key}", {})
    for path in owned:
        node = get_path(root, tuple(f"f:{key}" for key in path))
        if node:
            node["."] = {}
    return root


def from_fields_v1(tree: Mapping[str, Any], prefix: Path = ()) -> set[Path]:
    out: set[Path] = set()
    for key, value in tree.items():
        if key == ".":
            out.add(prefix)
        elif key.startswith("f:"):
            path = prefix + (key[2:],)
            out.update(from_fields_v1(value, path) if value else {path})
    return out


def field_text(path: Path) -> str:
    return "".join(f".{key}" for key in path)


# ---------------------------------------------------------------------------------------------------------------
# Selectors
# ---------------------------------------------------------------------------------------------------------------

_KEY = re.compile(r"([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")
_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
_SET = re.compile(r"(\S+)\s+(in|notin)\s*\((.*)\)")
Matcher = Callable[[Mapping[str, str]], bool]


def _split_requirements(text: str) -> list[str]:
    """Split at commas outside parentheses (`a in (x,y),b` is two requirements)."""
    parts, depth, current = [], 0, ""
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    return parts + [current]


def _requirement(text: str) -> Matcher:
    text = text.strip()
    bad = ApiError(400, "BadRequest", f"unable to parse requirement: {text!r}")
    match = _SET.fullmatch(text)
    if match:
        key, op, values = match[1], match[2], {v.strip() for v in match[3].split(",")}
        if not _KEY.fullmatch(key) or not all(_VALUE.fullmatch(v) for v in values) or "" in values:
            raise bad
        if op == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    if text.startswith("!"):
        key = text[1:].strip()
        if not _KEY.fullmatch(key):
            raise bad
        return lambda labels: key not in labels
    for op in ("!=", "==", "="):
        if op in text:
            key, value = (part.strip() for part in text.split(op, 1))
            if not _KEY.fullmatch(key) or not _VALUE.fullmatch(value):
                raise bad
            if op == "!=":
                return lambda labels: labels.get(key) != value
            return lambda labels: labels.get(key) == value
    if not _KEY.fullmatch(text):
        raise bad
    return lambda labels: text in labels


def label_matcher(selector: str | None) -> Matcher:
    """A label selector (equality, set-based, existence; comma = AND) as a predicate on a label map."""
    if not selector or not selector.strip():
        return lambda labels: True
    requirements = [_requirement(part) for part in _split_requirements(selector)]
    return lambda labels: all(req(labels) for req in requirements)


def field_matcher(selector: str | None) -> Callable[[Json], bool]:
    """The field selectors every resource supports: `metadata.name` and `metadata.namespace`."""
    if not selector or not selector.strip():
        return lambda obj: True
    checks = []
    for part in _split_requirements(selector):
        match = re.fullmatch(r"\s*([\w.]+)\s*(!=|==|=)\s*(\S*)\s*", part)
        if not match or match[1] not in ("metadata.name", "metadata.namespace"):
            raise ApiError(400, "BadRequest", f"field label not supported: {part.strip()}")
        key, op, value = match[1].split(".")[1], match[2], match[3]
        checks.append(lambda obj, k=key, o=op, v=value: ((obj["metadata"].get(k) or "") == v) != (o == "!="))
    return lambda obj: all(check(obj) for check in checks)


def selector_string(selector: Mapping[str, Any] | None) -> str:
    """A Deployment's `spec.selector` as the label-selector string `Scale.status.selector` shows."""
    selector = selector or {}
    parts = [(k, f"{k}={v}") for k, v in (selector.get("matchLabels") or {}).items()]
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), ",".join(sorted(expr.get("values") or []))
        text = {
            "In": f"{key} in ({values})",
            "NotIn": f"{key} notin ({values})",
            "Exists": f"{key}",
            "DoesNotExist": f"!{key}",
        }[op]
        parts.append((key, text))
    return ",".join(text for _, text in sorted(parts))


# ---------------------------------------------------------------------------------------------------------------
# Resource types: built-in and from CustomResourceDefinitions
# ---------------------------------------------------------------------------------------------------------------

_VERSION_RE = re.compile(r"v(\d+)(?:(alpha|beta)(\d+))?")


def version_priority(version: str) -> tuple[Any, ...]:
    """Kubernetes' version ordering (v2 > v1 > v1beta2 > v1beta1 > v1alpha1 > others): the first is preferred."""
    match = _VERSION_RE.fullmatch(version)
    if not match:
        return (3, 0, 0, version)
    level = {None: 0, "beta": 1, "alpha": 2}[match[2]]
    return (level, -int(match[1]), -int(match[3] or 0), "")


@dataclass(frozen=True)
class ResourceType:
    """One resource (a group and plural) served in one or more versions. Objects are stored once, in the storage
    version; any served version reads and writes them (conversion strategy None: only `apiVersion` changes)."""

    group: str
    plural: str
    singular: str
    kind: str
    namespaced: bool
    versions: tuple[str, ...]  # served, preferred first
    storage_version: str
    subresources: Mapping[str, frozenset[str]]  # per served version
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    builtin: bool = False
    has_generation: bool = True
    unconditional_update: bool = False  # built-ins accept a PUT without resourceVersion; custom resources do not

    @property
    def key(self) -> tuple[str, str]:
        return (self.group, self.plural)

    @property
    def qualified(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def qualified_kind(self) -> str:
        return f"{self.kind}.{self.group}" if self.group else self.kind

    def api_version(self, version: str | None = None) -> str:
        version = version or self.storage_version
        return f"{self.group}/{version}" if self.group else version

    def has_status(self, version: str) -> bool:
        return "status" in self.subresources.get(version, frozenset())

    def not_found(self, name: str) -> ApiError:
        return ApiError(404, "NotFound", f'{self.qualified} "{name}" not found', self.details(name))

    def details(self, name: str) -> Json:
        out: Json = {"name": name}
        if self.group:
            out["group"] = self.group
        out["kind"] = self.plural
        return out

    def discovery(self, version: str) -> list[Json]:
        main: Json = {
            "name": self.plural,
            "singularName": self.singular,
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": VERBS,
        }
        if self.short_names:
            main["shortNames"] = list(self.short_names)
        if self.categories:
            main["categories"] = list(self.categories)
        entries = [main]
        for sub in sorted(self.subresources.get(version, ())):
            entry: Json = {
                "name": f"{self.plural}/{sub}",
                "singularName": "",
                "namespaced": self.namespaced,
                "kind": self.kind,
                "verbs": SUBRESOURCE_VERBS,
            }
            if sub == "scale":
                entry.update(group="autoscaling", version="v1", kind="Scale")
            entries.append(entry)
        return entries


def _builtin(
    group: str,
    version: str,
    plural: str,
    kind: str,
    *,
    namespaced: bool = True,
    subresources: tuple[str, ...] = (),
    short: tuple[str, ...] = (),
    categories: tuple[str, ...] = (),
    generation: bool = False,
) -> ResourceType:
    return ResourceType(
        group,
        plural,
        kind.lower(),
        kind,
        namespaced,
        (version,),
        version,
        {version: frozenset(subresources)},
        short,
        categories,
        builtin=True,
        has_generation=generation,
        unconditional_update=True,
    )


BUILTINS = (
    _builtin("", "v1", "configmaps", "ConfigMap", short=("cm",)),
    _builtin("", "v1", "events", "Event", short=("ev",)),
    _builtin("", "v1", "namespaces", "Namespace", namespaced=False, subresources=("status",), short=("ns",)),
    _builtin("", "v1", "pods", "Pod", subresources=("status",), short=("po",), categories=("all",)),
    _builtin("", "v1", "secrets", "Secret"),
    _builtin("", "v1", "services", "Service", subresources=("status",), short=("svc",), categories=("all",)),
    _builtin(
        "apps",
        "v1",
        "deployments",
        "Deployment",
        subresources=("scale", "status"),
        short=("deploy",),
        categories=("all",),
        generation=True,
    ),
    _builtin(
        "autoscaling",
        "v2",
        "horizontalpodautoscalers",
        "HorizontalPodAutoscaler",
        subresources=("status",),
        short=("hpa",),
        categories=("all",),
        generation=True,
    ),
    _builtin("coordination.k8s.io", "v1", "leases", "Lease"),
)


def crd_resource(manifest: Mapping[str, Any]) -> ResourceType:
    """The resource a CustomResourceDefinition declares (apiextensions.k8s.io v1, and v1beta1's `version` and
    top-level `subresources`). Only the status subresource is served for custom resources."""
    if manifest.get("kind") != "CustomResourceDefinition":
        raise ValueError(f"not a CustomResourceDefinition: {manifest.get('kind')!r}")
    spec, names = manifest["spec"], manifest["spec"]["names"]
    shared = set((spec.get("subresources") or {}).keys())
    versions = spec.get("versions") or [{"name": spec["version"], "served": True, "storage": True}]
    served = {
        v["name"]: frozenset((shared | set((v.get("subresources") or {}).keys())) & {"status"})
        for v in versions
        if v.get("served", True)
    }
    if not served:
        raise ValueError(f"CustomResourceDefinition {manifest['metadata']['name']} serves no version")
    storage = next((v["name"] for v in versions if v.get("storage")), versions[0]["name"])
    return ResourceType(
        spec["group"],
        names["plural"],
        names.get("singular") or names["kind"].lower(),
        names["kind"],
        spec.get("scope", "Namespaced") == "Namespaced",
        tuple(sorted(served, key=version_priority)),
        storage,
        served,
        tuple(names.get("shortNames") or ()),
        tuple(names.get("categories") or ()),
    )


_CRD_CACHE: dict[tuple[str, int, int], list[Json]] = {}


def _cached_documents(path: str | FsPath) -> list[Json]:
    """The documents of a YAML file, parsed once per content (the Flagger CRDs take ~0.3 s to parse). Read only."""
    from ruamel.yaml import YAML

    resolved = FsPath(path).resolve()
    stat = resolved.stat()
    key = (str(resolved), stat.st_mtime_ns, stat.st_size)
    if key not in _CRD_CACHE:
        with resolved.open(encoding="utf-8") as handle:
            _CRD_CACHE[key] = [plain(doc) for doc in YAML(typ="safe").load_all(handle) if doc]
    return _CRD_CACHE[key]


def load_yaml_documents(path: str | FsPath) -> list[Json]:
    """Every document of a YAML file, loaded safely."""
    return copy.deepcopy(_cached_documents(path))


# ---------------------------------------------------------------------------------------------------------------
# Field ownership (managedFields)
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Manager:
    """Who writes, and how: one `managedFields` entry per (manager, operation, subresource), as on a real server."""

    name: str
    operation: str  # "Apply" or "Update"
    api_version: str
    subresource: str = ""

    @property
    def ident(self) -> tuple[str, str, str]:
        return (self.name, self.operation, self.subresource)

    def printed(self) -> str:
        """How a real server names a manager in a conflict (appliers without their apiVersion)."""
        text = f'"{self.name}"'
        if self.subresource:
            text += f' with subresource "{self.subresource}"'
        return f"{text} using {self.api_version}" if self.operation == "Update" else text


@dataclass(frozen=True)
class Entry:
    manager: Manager
    time: str
    fields: frozenset[Path]

    def as_json(self) -> Json:
        out: Json = {
            "manager": self.manager.name,
            "operation": self.manager.operation,
            "apiVersion": self.manager.api_version,
            "time": self.time,
            "fieldsType": "FieldsV1",
            "fieldsV1": to_fields_v1(self.fields),
        }
        if self.manager.subresource:
            out["subresource"] = self.manager.subresource
        return out

    @staticmethod
    def parse(raw: Mapping[str, Any]) -> Entry:
        who = Manager(raw["manager"], raw["operation"], raw.get("apiVersion", ""), raw.get("subresource", ""))
        return Entry(who, raw.get("time", ""), frozenset(from_fields_v1(raw.get("fieldsV1") or {})))


def entries_of(obj: Json | None) -> list[Entry]:
    return [Entry.parse(raw) for raw in ((obj or {}).get("metadata") or {}).get("managedFields") or []]


def _with_entry(entries: list[Entry], entry: Entry) -> list[Entry]:
    """Put `entry` in its manager's slot (or last); drop entries that own nothing."""
    out, placed = [], False
    for current in entries:
        if current.manager.ident == entry.manager.ident:
            current, placed = entry, True
        out.append(current)
    if not placed:
        out.append(entry)
    return [e for e in out if e.fields]


def update_ownership(
    entries: list[Entry], before: Json, after: Json, full_after: Json, who: Manager, now: str
) -> list[Entry]:
    """An Update (POST, PUT, non-apply PATCH) never conflicts: its manager takes the fields whose value it set
    or changed, other managers lose them, and fields that no longer exist are owned by nobody."""
    old, new = leaves(before), leaves(after)
    changed = {path for path, value in new.items() if old.get(path, MISSING) != value}
    kept = []
    for entry in entries:
        fields = frozenset(
            p
            for p in entry.fields
            if get_path(full_after, p) is not MISSING and not any(overlaps(p, c) for c in changed)
        )
        kept.append(dc_replace(entry, fields=fields))
    mine = next((e for e in kept if e.manager.ident == who.ident), None)
    if not changed:
        return [e for e in kept if e.fields]
    fields = (mine.fields if mine else frozenset()) | frozenset(changed)
    return _with_entry(kept, Entry(who, now, fields))


def conflict_error(conflicts: list[tuple[Manager, Path]]) -> ApiError:
    """409 in the real server's words: `Apply failed with 1 conflict: conflict with "kubectl" using apps/v1: .spec.replicas`."""
    causes = [
        {"type": "FieldManagerConflict", "message": f"conflict with {who.printed()}", "field": field_text(path)}
        for who, path in conflicts
    ]
    if len(conflicts) == 1:
        who, path = conflicts[0]
        text = f"conflict with {who.printed()}: {field_text(path)}"
    else:
        lines = []
        for printed in sorted({who.printed() for who, _ in conflicts}):
            lines.append(f"conflicts with {printed}:")
            lines.extend(f"- {field_text(path)}" for who, path in conflicts if who.printed() == printed)
        text = "\n".join(lines)
    plural = "" if len(conflicts) == 1 else "s"
    return ApiError(409, "Conflict", f"Apply failed with {len(conflicts)} conflict{plural}: {text}", {"causes": causes})


def find_conflicts(
    live: Json, merged: Json, applied: Iterable[Path], others: Iterable[Entry]
) -> list[tuple[Manager, Path]]:
    """Fields other managers own whose value the apply would change."""
    return [
        (entry.manager, owned)
        for entry in others
        for owned in sorted(entry.fields)
        if any(overlaps(owned, path) for path in applied) and get_path(live, owned) != get_path(merged, owned)
    ]


def apply_ownership(
    live: Json, config: Json, entries: list[Entry], who: Manager, force: bool, now: str
) -> tuple[Json, list[Entry]]:
    """Server-side apply of `config` (already limited to what this endpoint may change) onto `live`.

    Maps merge, lists are atomic. A field another manager owns whose value would change is a conflict unless
    `force` (then it changes hands). Fields this manager applied before and leaves out now are removed, unless
    another manager owns them too. Returns the merged object and the new ownership."""
    applied = leaves(config)
    merged = deep_merge(copy.deepcopy(live), config)
    previous = next((e.fields for e in entries if e.manager.ident == who.ident), frozenset())
    conflicts = find_conflicts(live, merged, applied, (e for e in entries if e.manager.ident != who.ident))
    if conflicts and not force:
        raise conflict_error(conflicts)
    lost = {(who_.ident, path) for who_, path in conflicts}
    kept = [dc_replace(e, fields=frozenset(p for p in e.fields if (e.manager.ident, p) not in lost)) for e in entries]
    others = [e for e in kept if e.manager.ident != who.ident]

    def owned_elsewhere(path: Path) -> bool:
        return path in applied or any(overlaps(path, p) for e in others for p in e.fields)

    for stale in sorted(previous - set(applied), key=len, reverse=True):
        if not owned_elsewhere(stale) and not any(overlaps(stale, path) for path in applied):
            delete_path(merged, stale, owned_elsewhere)
    return merged, _with_entry(kept, Entry(who, now, frozenset(applied)))


# ---------------------------------------------------------------------------------------------------------------
# Request targets
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """What a URL addresses: a discovery document, or a resource (collection, object, or subresource)."""

    discovery: tuple[str, ...] | None = (
        None  # ("api",), ("api", "v1"), ("apis",), ("apis", g), ("apis", g, v), ("version",)
    )
    group: str | None = None
    version: str | None = None
    plural: str | None = None
    namespace: str | None = None
    name: str | None = None
    subresource: str | None = None
    namespaced_path: bool = False

    def verb(self, method: str) -> str | None:
        if self.group is None:
            return None
        named = self.name is not None
        return {
            "GET": "get" if named else "list",
            "POST": "create",
            "PUT": "update",
            "PATCH": "patch",
            "DELETE": "delete" if named else "deletecollection",
        }.get(method)


@dataclass(frozen=True)
class Ref:
    """A resource URL resolved to its resource type and the version it is served in."""

    rt: ResourceType
    version: str
    namespace: str | None
    name: str | None
    subresource: str | None
    namespaced_path: bool

    @property
    def key(self) -> tuple[str, str]:
        return (self.namespace or "", self.name or "")


def parse_path(path: str) -> Target | None:
    """Split an API path into its parts; None for a path no API server serves."""
    parts = [unquote(p) for p in path.strip("/").split("/") if p]
    if parts == ["version"]:
        return Target(discovery=("version",))
    if not parts or parts[0] not in ("api", "apis"):
        return None
    if parts[0] == "api":
        if len(parts) <= 2:
            return Target(discovery=tuple(parts))
        group, version, rest = "", parts[1], parts[2:]
    else:
        if len(parts) <= 3:
            return Target(discovery=tuple(parts))
        group, version, rest = parts[1], parts[2], parts[3:]
    namespaced = rest[0] == "namespaces" and len(rest) >= 3 and rest[2] not in ("status", "finalize")
    namespace = rest[1] if namespaced else None
    rest = rest[2:] if namespaced else rest
    if len(rest) > 3:
        return None
    name, subresource = (rest[1] if len(rest) > 1 else None), (rest[2] if len(rest) > 2 else None)
    return Target(
        group=group,
        version=version,
        plural=rest[0],
        namespace=namespace,
        name=name,
        subresource=subresource,
        namespaced_path=namespaced,
    )


# ---------------------------------------------------------------------------------------------------------------
# The emulator
# ---------------------------------------------------------------------------------------------------------------


@dataclass
class _Fault:
    method: str | None
    path: re.Pattern[str]
    status: int
    times: int
    delay: float
    reason: str | None
    raw: bytes | None = None  # answer exactly these bytes (`serve_raw`) instead of a Status
    content_type: str = "application/json"

    def matches(self, method: str, path: str) -> bool:
        return self.times > 0 and (self.method is None or self.method == method) and self.path.search(path) is not None


@dataclass
class _Reply:
    status: int
    body: Json
    created: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    encoded: bytes | None = None  # the body already as JSON (a LIST is encoded under the lock instead of copied)
    content_type: str = "application/json"


def user_agent_manager(user_agent: str | None) -> str:
    """The default field manager of a non-apply write: the User-Agent up to its first `/` (as a real server)."""
    prefix = "".join(ch for ch in (user_agent or "").split("/")[0] if ch.isprintable())[:128]
    return prefix or "unknown"


class KubeEmulator:
    """A Kubernetes API server for tests, in memory, over HTTP on 127.0.0.1 (a port of its own).

    What a real API server does that this one does not: no watch, no deletecollection, no `dryRun`, no
    pagination (`limit` is ignored, which servers may do), no authentication or authorization (the request log
    records what an authorizer would check), no admission, no defaulting or schema validation (see the module
    docstring), no finalizers or graceful deletion, garbage collection only when a test runs `collect_garbage()`
    (deleting a Namespace leaves its objects), no aggregated discovery or OpenAPI, no protobuf or table output, no CRD conversion webhooks, no
    scale subresource for custom resources, and HPAs only in `autoscaling/v2`. Lists are atomic for apply.
    No controllers run except the Deployment controller `complete_rollouts()` and the garbage collector
    `collect_garbage()` stand in for.
    """

    def __init__(self, now: datetime | None = None, *, token: str | None = None, tls: bool = False) -> None:
        """`token`: requests without `Authorization: Bearer <token>` get 401, as a real server answers an
        unauthenticated client. `tls`: serve HTTPS with a certificate for 127.0.0.1 from a throwaway CA
        (`trustme`), so the in-cluster configuration (always https) can be used against it."""
        self.token = token
        self.tls = tls
        self._ca: Any = None  # trustme.CA while serving TLS
        self._tls_dir: tempfile.TemporaryDirectory[str] | None = None
        self._lock = threading.RLock()
        self._now = self._utc(now or datetime.now(UTC))
        self._rv = 0
        self._types: dict[tuple[str, str], ResourceType] = {}
        self._objects: dict[tuple[str, str], dict[tuple[str, str], Json]] = {}
        self._rollouts: dict[tuple[str, str], tuple[int, datetime]] = {}
        self._faults: list[_Fault] = []
        self._requests: list[RecordedRequest] = []
        self._callback: Callable[[RecordedRequest], None] | None = None
        self._commit_callback: Callable[[Commit], None] | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._clients: list[Any] = []
        self.errors: list[BaseException] = []  # unexpected exceptions while serving (each answered 500)
        self.in_flight = 0  # requests being handled now
        self.max_in_flight = 0  # the most at once since the last `clear_requests()`
        for rt in BUILTINS:
            self._register(rt)

    # -- lifecycle --------------------------------------------------------------------------------------------
    def start(self) -> KubeEmulator:
        if self._server is None:
            self._stopping.clear()
            self._server = _Server(("127.0.0.1", 0), _Handler, self)
            if self.tls:
                self._server.socket = self._tls_context().wrap_socket(self._server.socket, server_side=True)
            self._thread = threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": 0.005}, name="kube-emulator", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close every connection and wait for every thread the server started."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()  # ends injected delays early
        for client in self._clients:
            client.close()
        self._clients.clear()
        server.shutdown()
        server.server_close()
        server.close_connections()
        if self._thread is not None:
            self._thread.join(5)
        if self._tls_dir is not None:
            self._tls_dir.cleanup()
            self._tls_dir = None

    def __enter__(self) -> KubeEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the emulator is not running: call start()")
        host, port = self._server.server_address[:2]
        return f"{'https' if self.tls else 'http'}://{host}:{port}"

    # -- TLS and credentials ------------------------------------------------------------------------------------
    def _tls_context(self) -> ssl.SSLContext:
        import trustme  # a test extra, needed only where a test serves TLS

        self._ca = trustme.CA()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._ca.issue_cert("127.0.0.1").configure_cert(context)
        self._tls_dir = tempfile.TemporaryDirectory(prefix="kube-emulator-tls-")
        FsPath(self._tls_dir.name, "ca.crt").write_bytes(self._ca.cert_pem.bytes())
        return context

    @property
    def ca_file(self) -> str | None:
        """The CA certificate (PEM) that signed the server's certificate, when serving TLS."""
        return None if self._tls_dir is None else str(FsPath(self._tls_dir.name, "ca.crt"))

    def write_service_account(self, directory: str | FsPath) -> dict[str, str]:
        """What a pod's ServiceAccount mount holds (`token`, `ca.crt`) written to `directory`, and the
        environment a pod gets (`KUBERNETES_SERVICE_HOST`/`_PORT`): the in-cluster configuration for this
        server. Needs `tls` (in cluster is always https) and a `token`."""
        if self.ca_file is None or self.token is None:
            raise RuntimeError("an in-cluster configuration needs a running emulator with tls=True and a token")
        folder = FsPath(directory)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "token").write_text(self.token, encoding="utf-8")
        (folder / "ca.crt").write_bytes(FsPath(self.ca_file).read_bytes())
        host, port = self._server.server_address[:2] if self._server else ("", 0)
        return {"KUBERNETES_SERVICE_HOST": str(host), "KUBERNETES_SERVICE_PORT": str(port)}

    def _authorized(self, authorization: str | None) -> bool:
        if self.token is None:
            return True
        scheme, _, credentials = (authorization or "").partition(" ")
        return scheme.lower() == "bearer" and credentials.strip() == self.token

    # -- clock ------------------------------------------------------------------------------------------------
    @staticmethod
    def _utc(moment: datetime) -> datetime:
        if moment.tzinfo is None:
            raise ValueError("the emulator clock needs a timezone-aware datetime")
        return moment.astimezone(UTC)

    @property
    def now(self) -> datetime:
        return self._now

    @now.setter
    def now(self, moment: datetime) -> None:
        self._now = self._utc(moment)

    def advance(self, seconds: float) -> datetime:
        self._now = self._now + timedelta(seconds=seconds)
        return self._now

    # -- clients ----------------------------------------------------------------------------------------------
    def write_kubeconfig(self, path: str | FsPath) -> str:
        """A kubeconfig (JSON is YAML) for `kubernetes.config.load_kube_config(config_file=...)`: no auth."""
        cluster: Json = {"server": self.url}
        if self.ca_file is not None:
            cluster["certificate-authority"] = self.ca_file
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "preferences": {},
            "clusters": [{"name": "emulator", "cluster": cluster}],
            "users": [{"name": "emulator", "user": {"token": self.token} if self.token else {}}],
            "contexts": [
                {"name": "emulator", "context": {"cluster": "emulator", "user": "emulator", "namespace": "default"}}
            ],
            "current-context": "emulator",
        }
        FsPath(path).write_text(json.dumps(config, indent=2), encoding="utf-8")
        return str(path)

    def api_client(self) -> Any:
        """An official-client `ApiClient` for this server, closed by `stop()`. urllib3 retries are off (as in
        cronary), so an injected fault reaches the caller instead of being retried away."""
        from kubernetes import client

        configuration = client.Configuration()
        configuration.host = self.url
        configuration.retries = False
        configuration.ssl_ca_cert = self.ca_file
        if self.token:
            configuration.api_key["BearerToken"] = f"Bearer {self.token}"
        api = client.ApiClient(configuration)
        self._clients.append(api)
        return api

    # -- resource types ---------------------------------------------------------------------------------------
    def _register(self, rt: ResourceType) -> None:
        existing = self._types.get(rt.key)
        if existing is not None and existing.builtin:
            raise ValueError(f"{rt.qualified} is a built-in resource")
        self._types[rt.key] = rt
        self._objects.setdefault(rt.key, {})

    def install_crd(self, manifest: Mapping[str, Any]) -> None:
        """Serve the custom resource a CRD declares (re-installing replaces the definition, objects stay)."""
        with self._lock:
            self._register(crd_resource(manifest))

    def install_crds_from(self, path: str | FsPath) -> None:
        """Install every CustomResourceDefinition document of a YAML file (other documents are ignored)."""
        crds = [doc for doc in _cached_documents(path) if doc.get("kind") == "CustomResourceDefinition"]
        if not crds:
            raise ValueError(f"{path}: no CustomResourceDefinition in it")
        for crd in crds:
            self.install_crd(crd)

    def _type_by_kind(self, api_version: str, kind: str) -> tuple[ResourceType, str]:
        group, _, version = api_version.rpartition("/")
        for rt in self._types.values():
            if rt.group == group and rt.kind == kind:
                if version not in rt.versions:
                    raise ValueError(f"{kind} is not served in {api_version} (served: {', '.join(rt.versions)})")
                return rt, version
        raise ValueError(f"no resource of kind {kind} in {api_version or 'v1'} (install its CRD first)")

    def _type_at(self, group: str, version: str, plural: str) -> ResourceType | None:
        rt = self._types.get((group, plural))
        return rt if rt is not None and version in rt.versions else None

    # -- direct store access (no HTTP) --------------------------------------------------------------------------
    def _object_key(self, rt: ResourceType, namespace: str | None, name: str) -> tuple[str, str]:
        if rt.namespaced and not namespace:
            raise ValueError(f"{rt.kind} is namespaced: give a namespace")
        return (namespace or "" if rt.namespaced else "", name)

    def create(self, manifest: Mapping[str, Any]) -> Json:
        """Store a new object as test setup (as `kubectl create` would, but its `status` is kept)."""
        with self._lock:
            rt, version = self._type_by_kind(str(manifest.get("apiVersion")), str(manifest.get("kind")))
            obj = drop_nulls(copy.deepcopy(dict(manifest)))
            meta = obj.setdefault("metadata", {})
            if rt.namespaced:
                meta["namespace"] = meta.get("namespace") or "default"
            else:
                meta.pop("namespace", None)
            key = self._object_key(rt, meta.get("namespace"), meta["name"])
            if key in self._objects[rt.key]:
                raise self._already_exists(rt, meta["name"])
            who = Manager("kubectl-create", "Update", rt.api_version(version))
            return self._present(rt, version, self._commit(rt, version, key, None, obj, who))

    def get(self, api_version: str, kind: str, namespace: str | None, name: str) -> Json | None:
        with self._lock:
            rt, version = self._type_by_kind(api_version, kind)
            found = self._objects[rt.key].get(self._object_key(rt, namespace, name))
            return None if found is None else self._present(rt, version, found)

    def list(self, api_version: str, kind: str, namespace: str | None = None) -> list[Json]:
        """Objects of one kind (all namespaces when `namespace` is None), by namespace and name."""
        with self._lock:
            rt, version = self._type_by_kind(api_version, kind)
            return [
                self._present(rt, version, obj)
                for key, obj in sorted(self._objects[rt.key].items())
                if namespace is None or key[0] == namespace
            ]

    def replace(self, manifest: Mapping[str, Any]) -> Json:
        """Overwrite an object as another writer would, ignoring its `resourceVersion` and subresource rules
        (spec and status both change). Always bumps `resourceVersion`, so it can stand for a concurrent write."""
        with self._lock:
            rt, version = self._type_by_kind(str(manifest.get("apiVersion")), str(manifest.get("kind")))
            meta = manifest.get("metadata") or {}
            key = self._object_key(rt, meta.get("namespace") or ("default" if rt.namespaced else None), meta["name"])
            old = self._objects[rt.key].get(key)
            if old is None:
                raise rt.not_found(meta["name"])
            who = Manager("kubectl-replace", "Update", rt.api_version(version))
            return self._present(
                rt,
                version,
                self._commit(rt, version, key, old, drop_nulls(copy.deepcopy(dict(manifest))), who, bump=True),
            )

    def delete(self, api_version: str, kind: str, namespace: str | None, name: str) -> None:
        with self._lock:
            rt, _ = self._type_by_kind(api_version, kind)
            key = self._object_key(rt, namespace, name)
            if key not in self._objects[rt.key]:
                raise rt.not_found(name)
            self._forget(rt, key)

    def _forget(self, rt: ResourceType, key: tuple[str, str]) -> None:
        del self._objects[rt.key][key]
        if rt.key == ("apps", "deployments"):
            self._rollouts.pop(key, None)
        self._committed(rt, key, None)

    def _committed(self, rt: ResourceType, key: tuple[str, str], stored: Json | None) -> None:
        """Tell the `on_commit` callback (under the lock, so commits arrive in the order they landed)."""
        callback = self._commit_callback
        if callback is not None:
            callback(
                Commit(
                    rt.group,
                    rt.plural,
                    key[0],
                    key[1],
                    None if stored is None else self._present(rt, rt.storage_version, stored),
                )
            )

    # -- snapshots ------------------------------------------------------------------------------------------
    def snapshot(self) -> EmulatorSnapshot:
        """The store as it is now (deep copies): `restore` puts it back, so a test can replay from any moment
        instead of replaying the requests that led there. Connections, callbacks and the request log are not
        part of it."""
        with self._lock:
            return EmulatorSnapshot(
                copy.deepcopy(self._objects),
                self._rv,
                self._now,
                dict(self._rollouts),
                dict(self._types),
                tuple(dc_replace(fault) for fault in self._faults),
            )

    def restore(self, snapshot: EmulatorSnapshot) -> None:
        """Make the store what it was at `snapshot` (objects, resourceVersions, clock, rollouts, types, faults).
        `resourceVersion`s handed out after the snapshot are handed out again, as after an etcd restore: a
        client must not keep any across a `restore`."""
        with self._lock:
            self._objects = copy.deepcopy(snapshot.objects)
            self._rv = snapshot.rv
            self._now = snapshot.now
            self._rollouts = dict(snapshot.rollouts)
            self._types = dict(snapshot.types)
            self._faults = [dc_replace(fault) for fault in snapshot.faults]

    # -- the garbage collector --------------------------------------------------------------------------------
    def collect_garbage(self) -> list[tuple[str, str, str]]:
        """What Kubernetes' garbage collector does with background propagation, run to a fixed point: an object
        all of whose `ownerReferences` name no existing object — same kind and name (in the dependent's namespace
        for a namespaced dependent) *and* the same uid — is deleted, and so on for its dependents. An owner of a
        kind this server does not serve is taken as present (the real collector cannot resolve it and keeps the
        dependent). Returns what was deleted, as (kind, namespace, name), in order."""
        deleted: list[tuple[str, str, str]] = []
        with self._lock:
            while True:
                doomed = [
                    (rt, key, obj)
                    for rt in self._types.values()
                    for key, obj in sorted(self._objects.get(rt.key, {}).items())
                    if obj["metadata"].get("ownerReferences")
                    and not any(self._owner_exists(rt, key, ref) for ref in obj["metadata"]["ownerReferences"])
                ]
                if not doomed:
                    return deleted
                for rt, key, _ in doomed:
                    self._forget(rt, key)
                    deleted.append((rt.kind, key[0], key[1]))

    def _owner_exists(self, dependent: ResourceType, key: tuple[str, str], ref: Mapping[str, Any]) -> bool:
        try:
            rt, _ = self._type_by_kind(str(ref.get("apiVersion")), str(ref.get("kind")))
        except ValueError:
            return True
        owner_key = (key[0] if rt.namespaced else "", str(ref.get("name")))
        owner = self._objects.get(rt.key, {}).get(owner_key)
        return owner is not None and owner["metadata"].get("uid") == ref.get("uid")

    # -- the Deployment controller ----------------------------------------------------------------------------
    def complete_rollouts(self, hold: Iterable[tuple[str, str]] = ()) -> None:
        """Finish every unfinished Deployment rollout, except those in `hold` (namespace, name), which show a
        rollout in progress (and ProgressDeadlineExceeded once `spec.progressDeadlineSeconds` have passed on the
        emulator clock since it started). Status shapes as cronjob/local/simulation.py's SimulatedCluster."""
        held = set(hold)
        with self._lock:
            rt = self._types[("apps", "deployments")]
            for key, dep in sorted(self._objects[rt.key].items()):
                if self._rollout_finished(dep):
                    continue
                status = (
                    self._rollout_in_progress(key, dep)
                    if key in held and self._replicas(dep)
                    else self._rollout_complete(dep)
                )
                if status != dep.get("status"):
                    who = Manager("kube-controller-manager", "Update", "apps/v1", "status")
                    self._commit(rt, "v1", key, dep, {**copy.deepcopy(dep), "status": status}, who, "status")

    @staticmethod
    def _replicas(dep: Json) -> int:
        return int((dep.get("spec") or {}).get("replicas", 1))

    def _rollout_finished(self, dep: Json) -> bool:
        status, desired = dep.get("status") or {}, self._replicas(dep)
        available = any(
            c.get("type") == "Available" and c.get("status") == "True" for c in status.get("conditions") or []
        )
        counts = all(
            int(status.get(k) or 0) == desired
            for k in ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas")
        )
        return status.get("observedGeneration") == dep["metadata"].get("generation") and counts and available

    def _rollout_complete(self, dep: Json) -> Json:
        desired = self._replicas(dep)
        return {
            "observedGeneration": dep["metadata"].get("generation", 1),
            "replicas": desired,
            "updatedReplicas": desired,
            "readyReplicas": desired,
            "availableReplicas": desired,
            "conditions": [
                {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
                {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"},
            ],
        }

    def _rollout_in_progress(self, key: tuple[str, str], dep: Json) -> Json:
        generation = dep["metadata"].get("generation", 1)
        current = dep.get("status") or {}
        conditions = {c.get("type"): c for c in current.get("conditions") or []}
        if (
            current.get("observedGeneration") == generation
            and (conditions.get("Progressing") or {}).get("reason") == "ProgressDeadlineExceeded"
        ):
            return current  # already reported; unchanged until the next rollout
        started_generation, started = self._rollouts.get(key, (None, self._now))
        if started_generation != generation:
            started = self._now
            self._rollouts[key] = (generation, started)
        stamp = timestamp(started)
        progressing = {
            "type": "Progressing",
            "status": "True",
            "reason": "ReplicaSetUpdated",
            "lastUpdateTime": stamp,
            "lastTransitionTime": stamp,
        }
        deadline = int((dep.get("spec") or {}).get("progressDeadlineSeconds") or 600)
        if self._now - started > timedelta(seconds=deadline):
            progressing.update(status="False", reason="ProgressDeadlineExceeded", lastUpdateTime=timestamp(self._now))
        return {
            "observedGeneration": generation,
            "replicas": self._replicas(dep),
            "updatedReplicas": 0,
            "availableReplicas": 0,
            "conditions": [
                {
                    "type": "Available",
                    "status": "False",
                    "reason": "MinimumReplicasUnavailable",
                    "lastUpdateTime": stamp,
                    "lastTransitionTime": stamp,
                },
                progressing,
            ],
        }

    # -- faults and the request log ---------------------------------------------------------------------------
    def fail(
        self,
        *,
        method: str | None = None,
        path: str = ".*",
        status: int = 500,
        times: int = 1,
        delay: float = 0.0,
        reason: str | None = None,
    ) -> None:
        """The next `times` requests matching `method` and the `path` regex (re.search, no query string) sleep
        `delay` seconds, then get `status` with a Status body; `status=0` answers normally after the delay."""
        with self._lock:
            self._faults.append(
                _Fault(method.upper() if method else None, re.compile(path), status, times, delay, reason)
            )

    def serve_raw(
        self,
        body: bytes,
        *,
        method: str | None = "GET",
        path: str = ".*",
        status: int = 200,
        content_type: str = "application/json",
        times: int = 1,
    ) -> None:
        """The next `times` requests matching `method` and the `path` regex get exactly `body` (with `status` and
        `content_type`) instead of what the store would answer: a broken API server or a proxy in front of it
        (`{"items": [1, 2]}`, a bare JSON list, an HTML page). Every other request is served as strictly as ever."""
        with self._lock:
            self._faults.append(
                _Fault(
                    method.upper() if method else None,
                    re.compile(path),
                    status,
                    times,
                    0.0,
                    None,
                    bytes(body),
                    content_type,
                )
            )

    def on_request(self, callback: Callable[[RecordedRequest], None] | None) -> None:
        """Call `callback` (holding no lock) before each request is handled; `status_code` is 0 then."""
        self._callback = callback

    def on_commit(self, callback: Callable[[Commit], None] | None) -> None:
        """Call `callback` with every `Commit` (each change to the store, in order), holding the store's lock:
        the callback must not make HTTP requests to the emulator (the direct store methods are fine)."""
        self._commit_callback = callback

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()
            self.max_in_flight = self.in_flight

    def _take_fault(self, method: str, path: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.times -= 1
                    return fault
        return None

    # -- HTTP ---------------------------------------------------------------------------------------------------
    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        method = handler.command
        split = urlsplit(handler.path)
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        try:
            body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        except (OSError, ValueError):
            handler.close_connection = True
            return
        content_type = (handler.headers.get("Content-Type") or "").split(";")[0].strip().lower() or None
        target = parse_path(split.path)
        record = RecordedRequest(
            method,
            split.path,
            query,
            content_type,
            query.get("fieldManager"),
            target.group if target else None,
            target.plural if target else None,
            target.subresource if target else None,
            target.namespace if target else None,
            target.name if target else None,
            target.verb(method) if target else None,
            False,
            0,
            body,
        )
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            self._handle_counted(handler, record, target, body)
        finally:
            with self._lock:
                self.in_flight -= 1

    def _handle_counted(
        self, handler: BaseHTTPRequestHandler, record: RecordedRequest, target: Target | None, body: bytes
    ) -> None:
        if not self._authorized(handler.headers.get("Authorization")):
            reply: _Reply | None = _Reply(401, ApiError(401, "Unauthorized", "Unauthorized").status())
        else:
            reply = self._respond(record, target, body, handler.headers.get("User-Agent"))
        if reply is None:  # the server stopped during an injected delay: hang up without an answer
            handler.close_connection = True
            return
        with self._lock:
            self._requests.append(dc_replace(record, created=reply.created, status_code=reply.status))
        self._send(handler, reply)

    def _respond(
        self, record: RecordedRequest, target: Target | None, body: bytes, user_agent: str | None
    ) -> _Reply | None:
        try:
            if self._callback is not None:
                self._callback(record)
            fault = self._take_fault(record.method, record.path)
            if fault is not None:
                if self._stopping.wait(fault.delay):
                    return None
                if fault.raw is not None:
                    return _Reply(fault.status, {}, encoded=fault.raw, content_type=fault.content_type)
                if fault.status:
                    reason = fault.reason or REASONS.get(fault.status, "InternalError")
                    return _Reply(
                        fault.status,
                        ApiError(fault.status, reason, f"injected fault: HTTP {fault.status} {reason}").status(),
                        headers={"Retry-After": "1"} if fault.status == 429 else {},
                    )
            with self._lock:
                return self._serve(record, target, body, user_agent)
        except ApiError as err:
            return _Reply(err.code, err.status())
        except Exception as err:
            self.errors.append(err)
            return _Reply(500, ApiError(500, "InternalError", f"emulator error: {type(err).__name__}: {err}").status())

    def _send(self, handler: BaseHTTPRequestHandler, reply: _Reply) -> None:
        data = reply.encoded if reply.encoded is not None else json.dumps(reply.body).encode()
        try:
            handler.send_response_only(reply.status)
            handler.send_header("Content-Type", reply.content_type)
            handler.send_header("Content-Length", str(len(data)))
            handler.send_header("Date", format_datetime(self._now, usegmt=True))
            handler.send_header("Cache-Control", "no-cache, private")
            for name, value in reply.headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(data)
            handler.wfile.flush()
        except OSError:
            handler.close_connection = True  # the client gave up (timeout) or the server is stopping

    # -- dispatch -------------------------------------------------------------------------------------------------
    def _serve(self, record: RecordedRequest, target: Target | None, body: bytes, user_agent: str | None) -> _Reply:
        if target is None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if target.discovery is not None:
            if record.method != "GET":
                raise self._method_not_allowed()
            return _Reply(200, self._discovery(target.discovery))
        ref, query, method = self._resolve(target), record.query, record.method
        if query.get("watch") not in (None, "", "false", "0"):
            raise ApiError(400, "BadRequest", "watch is not supported by the emulator")
        if query.get("dryRun"):
            raise ApiError(400, "BadRequest", "dryRun is not supported by the emulator")
        manager = query.get("fieldManager") or user_agent_manager(user_agent)
        if ref.name is None and method == "GET":
            return self._list(ref, query)
        if ref.name is None and method == "POST" and ref.namespaced_path == ref.rt.namespaced:
            return self._create(ref, body, manager)
        if ref.name is not None and method == "GET":
            return _Reply(200, self._read(ref))
        if ref.name is not None and method == "PUT":
            return self._update(ref, self._decode_json(body), manager)
        if ref.name is not None and method == "PATCH":
            return self._patch(ref, record, body, manager)
        if ref.name is not None and method == "DELETE" and ref.subresource is None:
            return self._delete(ref, body)
        raise self._method_not_allowed()

    @staticmethod
    def _method_not_allowed() -> ApiError:
        return ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")

    def _resolve(self, target: Target) -> Ref:
        """The resource type and version a URL addresses; 404 for anything a real server would not route."""
        version = target.version or ""
        rt = self._type_at(target.group or "", version, target.plural or "")
        missing = ApiError(404, "NotFound", "the server could not find the requested resource")
        if rt is None or (target.namespaced_path and not rt.namespaced):
            raise missing
        if rt.namespaced and not target.namespaced_path and target.name is not None:
            raise missing
        if target.subresource is not None and target.subresource not in rt.subresources.get(version, ()):
            raise missing
        return Ref(rt, version, target.namespace, target.name, target.subresource, target.namespaced_path)

    # -- discovery ------------------------------------------------------------------------------------------------
    def _group_versions(self) -> dict[str, list[str]]:
        """Served versions per group, preferred first; built-in groups first, then custom groups by name."""
        groups: dict[str, set[str]] = {}
        order: list[str] = []
        for rt in sorted(self._types.values(), key=lambda r: (not r.builtin, r.group)):
            if rt.group not in groups:
                order.append(rt.group)
            groups.setdefault(rt.group, set()).update(rt.versions)
        return {g: sorted(groups[g], key=version_priority) for g in order}

    def _discovery(self, parts: tuple[str, ...]) -> Json:
        groups = self._group_versions()
        if parts == ("version",):
            return {"major": "1", "minor": "30", "gitVersion": "v1.30.0-emulator", "platform": "linux/amd64"}
        if parts == ("api",):
            address = self.url.removeprefix("http://")
            return {
                "kind": "APIVersions",
                "versions": ["v1"],
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": address}],
            }
        if parts == ("apis",):
            return {
                "kind": "APIGroupList",
                "apiVersion": "v1",
                "groups": [self._group_doc(g, vs) for g, vs in groups.items() if g],
            }
        if parts[0] == "apis" and len(parts) == 2 and parts[1] in groups and parts[1]:
            return {"kind": "APIGroup", "apiVersion": "v1", **self._group_doc(parts[1], groups[parts[1]])}
        group, version = ("", parts[1]) if parts[0] == "api" else (parts[1], parts[2]) if len(parts) == 3 else ("?", "")
        if version not in groups.get(group, []):
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        resources = [
            entry
            for rt in sorted(self._types.values(), key=lambda r: r.plural)
            if rt.group == group and version in rt.versions
            for entry in rt.discovery(version)
        ]
        return {
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": f"{group}/{version}" if group else version,
            "resources": resources,
        }

    @staticmethod
    def _group_doc(group: str, versions: list[str]) -> Json:
        listed = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
        return {"name": group, "versions": listed, "preferredVersion": listed[0]}

    # -- reading ----------------------------------------------------------------------------------------------------
    def _present(
        self, rt: ResourceType, version: str, obj: Json, *, listed: bool = False, copy_nested: bool = True
    ) -> Json:
        """The object as served in `version`; LIST items of built-in kinds carry no apiVersion/kind.
        Without `copy_nested` the nested values are the stored ones: encode the result before the lock is let go."""
        rest = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}
        out = rest if listed and rt.builtin else {"apiVersion": rt.api_version(version), "kind": rt.kind, **rest}
        return copy.deepcopy(out) if copy_nested else out

    def _stored(self, ref: Ref) -> Json:
        found = self._objects[ref.rt.key].get(ref.key)
        if found is None:
            raise ref.rt.not_found(ref.name or "")
        return found

    def _read(self, ref: Ref) -> Json:
        obj = self._stored(ref)
        if ref.subresource == "scale":
            return self._scale_of(obj)
        return self._present(ref.rt, ref.version, obj)

    def _list(self, ref: Ref, query: Mapping[str, str]) -> _Reply:
        rt, version = ref.rt, ref.version
        labels, fields = label_matcher(query.get("labelSelector")), field_matcher(query.get("fieldSelector"))
        items = [
            self._present(rt, version, obj, listed=True, copy_nested=False)
            for key, obj in sorted(self._objects[rt.key].items())
            if (ref.namespace is None or key[0] == ref.namespace)
            and labels(obj["metadata"].get("labels") or {})
            and fields(obj)
        ]
        body = {
            "apiVersion": rt.api_version(version),
            "kind": f"{rt.kind}List",
            "metadata": {"resourceVersion": str(self._rv)},
            "items": items,
        }
        # encoded now, while the lock is held, instead of deep-copying every item: a real API server serves
        # LISTs from its watch cache without copying, and a 1,000-object LIST should not cost the emulator more
        return _Reply(200, body, encoded=json.dumps(body).encode())

    @staticmethod
    def _scale_of(dep: Json) -> Json:
        """A Deployment as `autoscaling/v1` Scale (`spec.replicas` is omitempty there, as on a real server)."""
        meta, spec, status = dep["metadata"], dep.get("spec") or {}, dep.get("status") or {}
        replicas = int(spec.get("replicas", 1))
        scale_status: Json = {"replicas": int(status.get("replicas") or 0)}
        selector = selector_string(spec.get("selector"))
        if selector:
            scale_status["selector"] = selector
        return {
            "kind": "Scale",
            "apiVersion": "autoscaling/v1",
            "metadata": {
                k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp") if k in meta
            },
            "spec": {"replicas": replicas} if replicas else {},
            "status": scale_status,
        }

    # -- decoding and checks ----------------------------------------------------------------------------------------
    @staticmethod
    def _decode_json(body: bytes) -> Any:
        try:
            return json.loads(body or b"null")
        except ValueError as err:
            raise ApiError(400, "BadRequest", f"couldn't get version/kind; json parse error: {err}") from None

    @staticmethod
    def _decode_yaml(body: bytes) -> Any:
        try:
            return json.loads(body)
        except ValueError:
            pass
        from ruamel.yaml import YAML, YAMLError

        try:
            return plain(YAML(typ="safe").load(body.decode("utf-8")))
        except (YAMLError, UnicodeDecodeError) as err:
            raise ApiError(400, "BadRequest", f"error decoding YAML: {err}") from None

    def _check_object(self, ref: Ref, obj: Any, *, name_required: bool) -> Json:
        """Identity checks a real server makes on a request body; fills in namespace from the URL."""
        if not isinstance(obj, dict):
            raise ApiError(400, "BadRequest", "the object provided is unrecognized (must be a JSON object)")
        scale = ref.subresource == "scale"
        api_version, kind = ("autoscaling/v1", "Scale") if scale else (ref.rt.api_version(ref.version), ref.rt.kind)
        if obj.get("apiVersion") not in (None, api_version):
            raise ApiError(
                400,
                "BadRequest",
                f"the API version in the data ({obj['apiVersion']}) does not match the expected API version ({api_version})",
            )
        if obj.get("kind") not in (None, kind):
            raise ApiError(
                400, "BadRequest", f"the kind in the data ({obj['kind']}) does not match the expected kind ({kind})"
            )
        meta = obj.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise ApiError(400, "BadRequest", "metadata must be an object")
        if ref.rt.namespaced:
            if meta.get("namespace") not in (None, "", ref.namespace):
                raise ApiError(
                    400,
                    "BadRequest",
                    "the namespace of the provided object does not match the namespace sent on the request",
                )
            meta["namespace"] = ref.namespace
        if ref.name is not None and (meta.get("name") or (None if name_required else ref.name)) != ref.name:
            raise ApiError(
                400,
                "BadRequest",
                f"the name of the object ({meta.get('name')}) does not match the name on the URL ({ref.name})",
            )
        for key in ("labels", "annotations"):
            values = meta.get(key) or {}
            if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
                raise ApiError(
                    400,
                    "BadRequest",
                    f"json: cannot unmarshal into Go struct field ObjectMeta.metadata.{key} of type string",
                )
        return obj

    def _invalid(
        self, rt: ResourceType, name: str, field_path: str, detail: str, *, kind: str | None = None
    ) -> ApiError:
        kind = kind or rt.qualified_kind
        return ApiError(
            422,
            "Invalid",
            f'{kind} "{name}" is invalid: {field_path}: {detail}',
            {"name": name, "kind": kind.split(".")[0], "causes": [{"field": field_path, "message": detail}]},
        )

    @staticmethod
    def _already_exists(rt: ResourceType, name: str) -> ApiError:
        return ApiError(409, "AlreadyExists", f'{rt.qualified} "{name}" already exists', rt.details(name))

    @staticmethod
    def _conflict(rt: ResourceType, name: str) -> ApiError:
        return ApiError(
            409,
            "Conflict",
            f'Operation cannot be fulfilled on {rt.qualified} "{name}": {OPTIMISTIC_LOCK}',
            rt.details(name),
        )

    # -- writing ------------------------------------------------------------------------------------------------------
    def _scope(self, rt: ResourceType, version: str, subresource: str | None, obj: Json) -> Json:
        """The part of an object a write through this endpoint may change (and whose fields it can own)."""
        if subresource == "status":
            return {"status": obj["status"]} if "status" in obj else {}
        if subresource == "scale":
            replicas = (obj.get("spec") or {}).get("replicas", MISSING)
            return {} if replicas is MISSING else {"spec": {"replicas": replicas}}
        out = {
            k: v
            for k, v in obj.items()
            if k not in ("apiVersion", "kind", "metadata") and not (k == "status" and rt.has_status(version))
        }
        meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in IDENTITY}
        return {"metadata": meta, **out} if meta else out

    def _default(self, rt: ResourceType, obj: Json) -> None:
        if rt.key == ("apps", "deployments") and isinstance(obj.get("spec"), dict):
            obj["spec"].setdefault("replicas", 1)
        if rt.key == ("", "namespaces"):
            obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = obj["metadata"]["name"]
            obj.setdefault("status", {}).setdefault("phase", "Active")

    @staticmethod
    def _comparable(obj: Json) -> Json:
        out = copy.deepcopy(obj)
        out["metadata"].pop("resourceVersion", None)
        for entry in out["metadata"].get("managedFields") or []:
            entry.pop("time", None)
        return out

    def _commit(
        self,
        rt: ResourceType,
        version: str,
        key: tuple[str, str],
        old: Json | None,
        new: Json,
        who: Manager,
        subresource: str | None = None,
        *,
        entries: list[Entry] | None = None,
        bump: bool = False,
    ) -> Json:
        """Store `new` in place of `old` (None: create) and return what is stored: defaults, ownership (an Update by
        `who` unless the `entries` of an apply are given), server-owned metadata, `generation` (bumped when anything
        outside metadata and status changed), a new `resourceVersion` — or, when nothing changed, `old` untouched."""
        new = copy.deepcopy(new)
        new.setdefault("metadata", {})
        self._default(rt, new)
        if entries is None:
            before = self._scope(rt, version, subresource, old) if old else {}
            entries = update_ownership(
                entries_of(old), before, self._scope(rt, version, subresource, new), new, who, timestamp(self._now)
            )
        self._server_metadata(rt, key, old, new, entries)
        if old is not None and not bump and self._comparable(old) == self._comparable(new):
            return old
        meta = new["metadata"]
        if rt.has_generation and (old is None or self._spec_part(old) != self._spec_part(new)):
            meta["generation"] += 1
            if rt.key == ("apps", "deployments"):
                self._rollouts[key] = (meta["generation"], self._now)  # a new rollout starts
        self._rv += 1
        meta["resourceVersion"] = str(self._rv)
        self._objects[rt.key][key] = new
        self._committed(rt, key, new)
        return new

    def _server_metadata(
        self, rt: ResourceType, key: tuple[str, str], old: Json | None, new: Json, entries: list[Entry]
    ) -> None:
        """What the server decides, not the writer: identity, uid, creationTimestamp, generation, managedFields."""
        meta, old_meta = new["metadata"], (old or {}).get("metadata") or {}
        for name in ("selfLink", "deletionTimestamp", "deletionGracePeriodSeconds", "namespace", "generation"):
            meta.pop(name, None)
        meta["name"] = key[1]
        if rt.namespaced:
            meta["namespace"] = key[0]
        meta["uid"] = old_meta.get("uid") or str(uuid.uuid4())
        meta["creationTimestamp"] = old_meta.get("creationTimestamp") or timestamp(self._now)
        meta["resourceVersion"] = old_meta.get("resourceVersion", "")
        if rt.has_generation:
            meta["generation"] = int(old_meta.get("generation", 0))
        meta["managedFields"] = [e.as_json() for e in entries]
        if not entries:
            del meta["managedFields"]
        new["apiVersion"], new["kind"] = rt.api_version(), rt.kind

    @staticmethod
    def _spec_part(obj: Json) -> Json:
        return {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata", "status")}

    def _create(self, ref: Ref, body: bytes, manager: str) -> _Reply:
        rt, version = ref.rt, ref.version
        obj = self._check_object(ref, drop_nulls(self._decode_json(body)), name_required=False)
        self._require_namespace(ref)
        meta = obj["metadata"]
        if meta.get("resourceVersion"):
            raise ApiError(500, "InternalError", "resourceVersion should not be set on objects to be created")
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = self._generate_name(rt, ref.namespace, meta["generateName"])
        name = meta.get("name") or ""
        if not name:
            raise self._invalid(rt, "", "metadata.name", "Required value: name or generateName is required")
        self._check_name(rt, name)
        key = (ref.namespace or "", name)
        if key in self._objects[rt.key]:
            raise self._already_exists(rt, name)
        if rt.has_status(version):
            obj.pop("status", None)
        stored = self._commit(rt, version, key, None, obj, Manager(manager, "Update", rt.api_version(version)))
        return _Reply(201, self._present(rt, version, stored))

    def _require_namespace(self, ref: Ref) -> None:
        """An object is created only in a namespace that exists: a real server's NamespaceLifecycle admission
        answers 404 for the namespace otherwise (reads and LISTs of a missing namespace are not refused)."""
        if ref.rt.namespaced and ("", ref.namespace or "") not in self._objects[("", "namespaces")]:
            raise ApiError(
                404,
                "NotFound",
                f'namespaces "{ref.namespace}" not found',
                {"name": ref.namespace, "kind": "namespaces"},
            )

    def _generate_name(self, rt: ResourceType, namespace: str | None, prefix: str) -> str:
        alphabet = "bcdfghjklmnpqrstvwxz2456789"
        while True:
            name = prefix + "".join(random.choice(alphabet) for _ in range(5))
            if (namespace or "", name) not in self._objects[rt.key]:
                return name

    def _check_name(self, rt: ResourceType, name: str) -> None:
        if len(name) > 253 or not NAME_RE.fullmatch(name):
            raise self._invalid(rt, name, "metadata.name", f'Invalid value: "{name}": {NAME_MESSAGE}')

    def _precondition(self, ref: Ref, old: Json, body_version: Any, *, required: bool) -> None:
        """Optimistic concurrency: a `resourceVersion` in the body must be the stored one. Custom resources
        refuse an update without one (built-ins treat it as unconditional)."""
        rt = ref.rt
        if body_version in (None, ""):
            if required and not rt.unconditional_update:
                raise self._invalid(
                    rt,
                    ref.name or "",
                    "metadata.resourceVersion",
                    "Invalid value: 0x0: must be specified for an update",
                    kind=rt.qualified,
                )
            return
        if str(body_version) != old["metadata"]["resourceVersion"]:
            raise self._conflict(rt, ref.name or "")

    def _proposed(self, ref: Ref, old: Json, incoming: Json) -> Json:
        """The whole object a write of `incoming` through this endpoint asks for (other parts stay as stored)."""
        rt, version, sub = ref.rt, ref.version, ref.subresource
        if sub == "status":
            new = copy.deepcopy(old)
            new.pop("status", None)
            if "status" in incoming:
                new["status"] = incoming["status"]
            return new
        if sub == "scale":
            replicas = (incoming.get("spec") or {}).get("replicas", 0)
            if not isinstance(replicas, int) or isinstance(replicas, bool):
                raise ApiError(
                    400,
                    "BadRequest",
                    'Scale in version "v1" cannot be handled as a Scale: spec.replicas must be an integer',
                )
            if replicas < 0:
                raise self._invalid(
                    rt,
                    ref.name or "",
                    "spec.replicas",
                    f"Invalid value: {replicas}: must be greater than or equal to 0",
                    kind="Scale.autoscaling",
                )
            return deep_merge(copy.deepcopy(old), {"spec": {"replicas": replicas}})
        new = copy.deepcopy(incoming)
        new.pop("status", None)
        if rt.has_status(version) and "status" in old:
            new["status"] = copy.deepcopy(old["status"])
        elif not rt.has_status(version) and "status" in incoming:
            new["status"] = incoming["status"]
        return new

    def _answer(self, ref: Ref, stored: Json, status: int = 200, created: bool = False) -> _Reply:
        body = self._scale_of(stored) if ref.subresource == "scale" else self._present(ref.rt, ref.version, stored)
        return _Reply(status, body, created)

    def _update(self, ref: Ref, body: Any, manager: str) -> _Reply:
        old = self._stored(ref)
        incoming = self._check_object(ref, drop_nulls(body), name_required=True)
        self._precondition(ref, old, incoming["metadata"].get("resourceVersion"), required=True)
        who = self._manager(ref, manager, "Update")
        stored = self._commit(
            ref.rt, ref.version, ref.key, old, self._proposed(ref, old, incoming), who, ref.subresource
        )
        return self._answer(ref, stored)

    def _manager(self, ref: Ref, name: str, operation: str) -> Manager:
        api_version = ref.rt.api_version(ref.version) if ref.subresource != "scale" else ref.rt.api_version()
        return Manager(name, operation, api_version, ref.subresource or "")

    def _patch(self, ref: Ref, record: RecordedRequest, body: bytes, manager: str) -> _Reply:
        content_type = record.content_type or ""
        accepted = [JSON_PATCH, MERGE, APPLY] + ([STRATEGIC] if ref.rt.builtin else [])
        if content_type not in accepted:
            raise ApiError(
                415,
                "UnsupportedMediaType",
                f"the body of the request was in an unknown format - accepted media types include: {', '.join(accepted)}",
            )
        if content_type == APPLY and not record.query.get("fieldManager"):
            cause = {
                "reason": "FieldValueRequired",
                "message": "Required value: is required for apply patch",
                "field": "fieldManager",
            }
            raise ApiError(
                422,
                "Invalid",
                'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
                {"group": "meta.k8s.io", "kind": "PatchOptions", "causes": [cause]},
            )
        if content_type != APPLY and "force" in record.query:
            raise ApiError(
                422,
                "Invalid",
                'PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch',
                {"group": "meta.k8s.io", "kind": "PatchOptions"},
            )
        if content_type == APPLY:
            return self._apply(
                ref,
                self._decode_yaml(body),
                manager,
                record.query.get("force") in ("1", "t", "T", "true", "True", "TRUE"),
            )
        old = self._stored(ref)
        current = self._read(ref)
        patched = self._patched(current, content_type, self._decode_json(body))
        incoming = self._check_object(ref, drop_nulls(patched), name_required=True)
        self._precondition(ref, old, incoming["metadata"].get("resourceVersion"), required=False)
        stored = self._commit(
            ref.rt,
            ref.version,
            ref.key,
            old,
            self._proposed(ref, old, incoming),
            self._manager(ref, manager, "Update"),
            ref.subresource,
        )
        return self._answer(ref, stored)

    @staticmethod
    def _patched(current: Json, content_type: str, patch: Any) -> Any:
        if content_type == JSON_PATCH:
            try:
                operations = jsonpatch.JsonPatch(patch)
            except (jsonpatch.InvalidJsonPatch, TypeError, AttributeError) as err:
                raise ApiError(400, "BadRequest", f"invalid JSON patch: {err}") from None
            try:
                return operations.apply(current)
            except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, TypeError, KeyError) as err:
                raise ApiError(
                    422, "Invalid", f"the server rejected our request due to an error in our request: {err}"
                ) from None
        if not isinstance(patch, dict):
            raise ApiError(400, "BadRequest", "a merge patch must be a JSON object")
        return merge_patch(current, patch)  # strategic merge patch approximated as a JSON merge patch

    def _apply(self, ref: Ref, config: Any, manager: str, force: bool) -> _Reply:
        """Server-side apply: creates a missing object (201), otherwise merges with field ownership."""
        rt, sub = ref.rt, ref.subresource
        config = self._check_object(ref, drop_nulls(config), name_required=True)
        meta = config["metadata"]
        if meta.get("managedFields"):
            raise ApiError(400, "BadRequest", "metadata.managedFields must be nil")
        old = self._objects[rt.key].get(ref.key)
        if old is None and sub is not None:
            raise rt.not_found(ref.name or "")
        if old is None:
            self._check_name(rt, ref.name or "")
            self._require_namespace(ref)
        else:
            self._precondition(ref, old, meta.get("resourceVersion"), required=False)
        who = self._manager(ref, manager, "Apply")
        if sub == "scale":
            config = {"spec": {"replicas": (config.get("spec") or {}).get("replicas", 0)}}
            self._proposed(ref, old, config)  # validates replicas
        version = ref.version
        live = old or {"metadata": {"name": ref.name, **({"namespace": ref.namespace} if rt.namespaced else {})}}
        merged, entries = apply_ownership(
            live, self._scope(rt, version, sub, config), entries_of(old), who, force, timestamp(self._now)
        )
        new = self._proposed(ref, live, merged) if sub != "scale" else merged
        stored = self._commit(rt, ref.version, ref.key, old, new, who, sub, entries=entries)
        return self._answer(ref, stored, 201 if old is None else 200, created=old is None)

    def _delete(self, ref: Ref, body: bytes) -> _Reply:
        old = self._stored(ref)
        options = self._decode_json(body) if body else {}
        preconditions = (options or {}).get("preconditions") or {}
        if preconditions.get("resourceVersion") not in (None, old["metadata"]["resourceVersion"]) or preconditions.get(
            "uid"
        ) not in (None, old["metadata"]["uid"]):
            raise self._conflict(ref.rt, ref.name or "")
        self._forget(ref.rt, ref.key)
        details = {**ref.rt.details(ref.name or ""), "uid": old["metadata"]["uid"]}
        return _Reply(
            200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}
        )


# ---------------------------------------------------------------------------------------------------------------
# The HTTP server
# ---------------------------------------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    """ThreadingHTTPServer that remembers its connection threads, so `stop()` can close and join them all."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], emulator: KubeEmulator) -> None:
        self.emulator = emulator
        self._workers: dict[threading.Thread, socket.socket] = {}
        self._workers_lock = threading.Lock()
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        worker = threading.Thread(
            target=self._work, args=(request, client_address), name="kube-emulator-conn", daemon=True
        )
        with self._workers_lock:
            self._workers[worker] = request
        worker.start()

    def _work(self, request: Any, client_address: Any) -> None:
        try:
            self.process_request_thread(request, client_address)
        finally:
            with self._workers_lock:
                self._workers.pop(threading.current_thread(), None)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Keep unexpected errors for the test (`emulator.errors`); a client going away is not one."""
        error = sys.exc_info()[1]
        if error is not None and not isinstance(error, (ConnectionError, TimeoutError)):
            self.emulator.errors.append(error)

    def close_connections(self) -> None:
        with self._workers_lock:
            workers = dict(self._workers)
        for sock in workers.values():
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for worker in workers:
            worker.join(5)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the official client's connection pool expects
    server_version = "kube-emulator"
    disable_nagle_algorithm = True  # headers and body are two writes: without this, delayed ACKs cost 40 ms a request
    timeout = 30
    server: _Server

    def _dispatch(self) -> None:
        self.server.emulator._handle(self)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _dispatch

    def log_message(self, format: str, *args: Any) -> None:
        pass
