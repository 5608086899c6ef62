"""cronary's install manifests (cronjob/deploy) are what a cluster would accept and what the tick needs.

* `kubectl kustomize` renders the base and every overlay offline (only local resources).
* Every rendered object passes the official Kubernetes schema (kubernetes-validate, strict), CRDs included.
* The CRDs are structural; the Canary CRD stores v1beta1 and serves v1alpha3 without conversion, has Flagger's
  printer columns, declares every field Flagger's CRDs declare (so nothing a Flagger user wrote is pruned), and
  keeps `canaryAnalysis` and `status.lastDecisionTime` that Flagger's v1beta1 CRD would prune.
* Every Canary fixture, and every status the seed rollout writes, validates against our CRD and loses nothing.
* RBAC is exactly the rules the tick needs, without wildcards; the no-config-tracking overlay takes Secrets away.
* The CronJob keeps the tick's invariants (one Job at a time, no retries, done before the next minute, locked
  down pod); the Dockerfile builds a non-root image whose entry point is `cronary`.
"""

from __future__ import annotations

import copy
import json
import re
import shlex
import tomllib
from collections.abc import Iterator, Mapping
from fnmatch import fnmatch
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from cronjob.shared.resources import RESOURCES
from engine.routers.factory import ROUTER_KINDS
from harness.rbac import Permission, granted, render_kustomize
from harness.schemas import (
    CRD_V1ALPHA3,
    CRD_V1BETA1,
    FIXTURES,
    ROOT,
    SEED,
    CrdVersion,
    canary_crd,
    crd_errors,
    crd_versions,
    load_yaml,
    load_yaml_all,
    play,
    pruned_fields,
    validate_k8s,
)

DEPLOY = ROOT / "cronjob" / "deploy"
BASE = DEPLOY / "base"
CANARY_CRD = BASE / "crds" / "canaries.yaml"
METRICTEMPLATE_CRD = BASE / "crds" / "metrictemplates.yaml"
ALERTPROVIDER_CRD = BASE / "crds" / "alertproviders.yaml"
DOCKERFILE = DEPLOY / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"

# What `kubectl apply -k` is pointed at: the install itself and every overlay beside it.
KUSTOMIZATIONS: dict[str, Path] = {
    "install": DEPLOY,
    **{p.parent.name: p.parent for p in sorted((DEPLOY / "overlays").glob("*/kustomization.yaml"))},
}

SA = ("cronary", "cronary")  # (namespace, name) of the ServiceAccount every binding names
IMAGE = "ghcr.io/cronary/cronary"


def perms(group: str, resource: str, *verbs: str) -> set[Permission]:
    return {Permission(group, resource, v) for v in verbs}


# The ClusterRole `cronary`: exactly the calls a tick makes (create: a server-side apply that creates an object).
TICK_RULES = (
    perms("flagger.app", "canaries", "list")
    | perms("flagger.app", "canaries/status", "update")
    | perms("flagger.app", "metrictemplates", "list")
    | perms("flagger.app", "alertproviders", "list")
    | perms("apps", "deployments", "list", "create", "patch")
    | perms("apps", "deployments/scale", "patch")
    | perms("autoscaling", "horizontalpodautoscalers", "list", "create", "patch")
    | perms("", "services", "list", "create", "patch")
    | perms("", "events", "create")
    | {
        p
        for kind in ROUTER_KINDS
        for p in perms(RESOURCES[kind].group, RESOURCES[kind].plural, "list", "create", "patch")
    }
)  # the routers' kinds (tests/cluster/test_resource_registry.py checks them against the registry)
CONFIG_TRACKING_RULES = perms("", "configmaps", "list", "create", "patch") | perms(
    "", "secrets", "list", "create", "patch"
)
LEASE_RULES = perms("coordination.k8s.io", "leases", "get", "create", "update")

# `cronary tick` flags docs/operations.md relies on, and whether each takes a value.
TICK_FLAGS = {
    "--once": False,
    "--budget": True,
    "--namespace": True,
    "--selector": True,
    "--shard": True,
    "--lease-namespace": True,
    "--no-lease": False,
    "--kubeconfig": True,
    "--now": True,
    "--mesh-provider": True,
    "--prometheus": True,
    "--istio-seconds": False,
    "--no-config-tracking": False,
    "--request-timeout": True,
}
DEFAULT_BUDGET_SECONDS = 50


# ---------------------------------------------------------------------------------------------- helpers
def rendered(name: str) -> list[dict[str, Any]]:
    return render_kustomize(KUSTOMIZATIONS[name])


def of_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d.get("kind") == kind]


def one(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = [d for d in docs if d.get("kind") == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def ident(doc: Mapping[str, Any]) -> str:
    meta = doc.get("metadata") or {}
    ns = f"{meta['namespace']}/" if meta.get("namespace") else ""
    return f"{doc.get('kind')} {ns}{meta.get('name')}"


def seconds(duration: str) -> float:
    """A Go duration as the tick's flags take it (`50s`, `1m30s`, `500ms`)."""
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", duration)
    assert parts and "".join(n + u for n, u in parts) == duration, f"not a duration: {duration!r}"
    return sum(float(n) * units[u] for n, u in parts)


@cache
def tick_options() -> Mapping[str, bool]:
    """Every option `cronary tick` accepts, and whether it takes a value (from the click command itself)."""
    from cronjob.cli import main

    tick = main.commands["tick"]  # type: ignore[attr-defined]
    return {
        opt: not getattr(param, "is_flag", False) for param in tick.params for opt in param.opts if opt.startswith("-")
    }


def flag_values(args: list[str]) -> dict[str, list[str | None]]:
    """`--flag value` / `--flag=value` / `--switch` pairs of a tick command line (after the `tick` subcommand)."""
    options = tick_options()
    out: dict[str, list[str | None]] = {}
    i = 1
    while i < len(args):
        arg = args[i]
        assert arg.startswith("--"), f"unexpected positional argument {arg!r} in {args}"
        name, eq, value = arg.partition("=")
        assert name in options, f"{name} is not a `cronary tick` flag"
        if options[name] and not eq:
            assert i + 1 < len(args), f"{name} needs a value"
            value, i = args[i + 1], i + 1
        out.setdefault(name, []).append(value if options[name] else None)
        i += 1
    return out


def cronjobs() -> Iterator[tuple[str, dict[str, Any]]]:
    for name in KUSTOMIZATIONS:
        for cj in of_kind(rendered(name), "CronJob"):
            yield f"{name}:{cj['metadata']['name']}", cj


def tick_container(cj: Mapping[str, Any]) -> dict[str, Any]:
    containers = cj["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1, "one container: the tick"
    return containers[0]


@cache
def versions_of(path: Path, kind: str) -> Mapping[str, CrdVersion]:
    """`crd_versions`, loaded once per file (the schemas are large, and validators are cached per schema object)."""
    return crd_versions(path, kind)


@cache
def _load(path: Path) -> str:
    return json.dumps(load_yaml_all(path))


def load_all(path: Path) -> list[Any]:
    """The documents of a YAML file, parsed once per session (a fresh copy per call)."""
    return json.loads(_load(path))


def load(path: Path) -> Any:
    docs = load_all(path)
    assert len(docs) == 1, path
    return docs[0]


def our_canary(version: str) -> CrdVersion:
    return versions_of(CANARY_CRD, "Canary")[version]


# ---------------------------------------------------------------------------------------------- structural schemas
JUNCTORS = ("allOf", "anyOf", "oneOf", "not")
FORBIDDEN_IN_JUNCTORS = ("type", "description", "default", "additionalProperties", "nullable")


def structural_errors(schema: Mapping[str, Any]) -> list[str]:
    """Where a CRD version's openAPIV3Schema is not structural (Kubernetes' rules for apiextensions.k8s.io/v1):

    every node of properties / items / additionalProperties has a type, unless it is int-or-string or preserves
    unknown fields; int-or-string sets no type; properties and additionalProperties exclude each other; items is
    one schema; allOf/anyOf/oneOf/not carry no type, description, default, additionalProperties, nullable or
    x-kubernetes-* and name only properties declared beside them; metadata restricts at most name and
    generateName.
    """
    errors: list[str] = []

    def junctor(node: Any, path: str, outer: Mapping[str, Any] | None) -> None:
        if not isinstance(node, Mapping):
            errors.append(f"{path}: not a schema")
            return
        for key in node:
            if key in FORBIDDEN_IN_JUNCTORS or key.startswith("x-kubernetes-"):
                errors.append(f"{path}: {key} is not allowed inside allOf/anyOf/oneOf/not")
        declared = (outer or {}).get("properties") or {}
        for key, sub in (node.get("properties") or {}).items():
            if key not in declared:
                errors.append(f"{path}.properties.{key}: not declared in the structural schema beside it")
            junctor(sub, f"{path}.properties.{key}", declared.get(key))
        if isinstance(node.get("items"), Mapping):
            junctor(node["items"], f"{path}.items", (outer or {}).get("items"))
        for key in JUNCTORS:
            for i, sub in enumerate(
                node[key] if isinstance(node.get(key), list) else [node[key]] if key in node else []
            ):
                junctor(sub, f"{path}.{key}[{i}]", outer)

    def walk(node: Any, path: str) -> None:
        if not isinstance(node, Mapping):
            errors.append(f"{path}: not a schema")
            return
        int_or_string = node.get("x-kubernetes-int-or-string") is True
        preserve = node.get("x-kubernetes-preserve-unknown-fields") is True
        if int_or_string and "type" in node:
            errors.append(f"{path}: x-kubernetes-int-or-string must not set a type")
        if not node.get("type") and not (int_or_string or preserve):
            errors.append(f"{path}: no type (and neither int-or-string nor preserve-unknown-fields)")
        if "properties" in node and "additionalProperties" in node:
            errors.append(f"{path}: properties and additionalProperties together")
        if "items" in node and not isinstance(node["items"], Mapping):
            errors.append(f"{path}.items: must be one schema")
        for key, sub in (node.get("properties") or {}).items():
            walk(sub, f"{path}.properties.{key}")
        if isinstance(node.get("items"), Mapping):
            walk(node["items"], f"{path}.items")
        if isinstance(node.get("additionalProperties"), Mapping):
            walk(node["additionalProperties"], f"{path}.additionalProperties")
        for key in JUNCTORS:
            if key in node:
                subs = node[key] if isinstance(node[key], list) else [node[key]]
                for i, sub in enumerate(subs):
                    junctor(sub, f"{path}.{key}[{i}]", node)

    if not isinstance(schema, Mapping) or schema.get("type") != "object":
        return ["openAPIV3Schema: the root must be type object"]
    walk(schema, "openAPIV3Schema")
    metadata = (schema.get("properties") or {}).get("metadata")
    if metadata is not None:
        extra = set(metadata) - {"type", "properties"}
        extra |= set(metadata.get("properties") or {}) - {"name", "generateName"}
        if extra:
            errors.append(
                f"openAPIV3Schema.properties.metadata: may restrict only name and generateName, has {sorted(extra)}"
            )
    return errors


def undeclared(theirs: Mapping[str, Any], ours: Mapping[str, Any], path: str) -> list[str]:
    """Field paths `theirs` (a Flagger schema) declares that `ours` would prune."""
    if ours.get("x-kubernetes-preserve-unknown-fields") or ours.get("x-kubernetes-int-or-string"):
        return []
    out = []
    for key, sub in (theirs.get("properties") or {}).items() if theirs.get("type") != "array" else ():
        if key not in (ours.get("properties") or {}):
            if not isinstance(ours.get("additionalProperties"), Mapping):
                out.append(f"{path}.{key}")
            continue
        out += undeclared(sub, ours["properties"][key], f"{path}.{key}")
    if isinstance(theirs.get("items"), Mapping):
        if not isinstance(ours.get("items"), Mapping):
            out.append(f"{path}[]")
        else:
            out += undeclared(theirs["items"], ours["items"], f"{path}[]")
    if isinstance(theirs.get("additionalProperties"), Mapping):
        if isinstance(ours.get("additionalProperties"), Mapping):
            out += undeclared(theirs["additionalProperties"], ours["additionalProperties"], f"{path}.*")
        else:
            out.append(f"{path}.*")
    return out


def test_structural_checker_accepts_flaggers_crds():
    """A control for the checker: Flagger's own apiextensions/v1 CRDs are structural (the API server takes them)."""
    for doc in load_all(CRD_V1BETA1):
        for version in doc["spec"]["versions"]:
            assert structural_errors(version["schema"]["openAPIV3Schema"]) == [], doc["metadata"]["name"]


@pytest.mark.parametrize(
    "schema, expected",
    [
        pytest.param(
            {"type": "object", "properties": {"a": {"description": "no type"}}},
            "properties.a: no type",
            id="untyped-property",
        ),
        pytest.param(
            {"type": "object", "properties": {"a": {"type": "array", "items": {}}}},
            "properties.a.items: no type",
            id="untyped-items",
        ),
        pytest.param(
            {
                "type": "object",
                "properties": {"a": {"type": "string"}},
                "anyOf": [{"type": "object", "required": ["a"]}],
            },
            "anyOf[0]: type is not allowed",
            id="type-in-anyOf",
        ),
        pytest.param(
            {
                "type": "object",
                "properties": {"a": {"type": "string"}},
                "oneOf": [{"properties": {"b": {"pattern": "x"}}}],
            },
            "oneOf[0].properties.b: not declared",
            id="junctor-names-undeclared-field",
        ),
        pytest.param(
            {
                "type": "object",
                "properties": {"a": {"type": "object", "properties": {}, "additionalProperties": {"type": "string"}}},
            },
            "properties and additionalProperties together",
            id="properties-and-additionalProperties",
        ),
        pytest.param(
            {"type": "object", "properties": {"p": {"x-kubernetes-int-or-string": True, "type": "string"}}},
            "must not set a type",
            id="typed-int-or-string",
        ),
        pytest.param(
            {
                "type": "object",
                "properties": {"metadata": {"type": "object", "properties": {"labels": {"type": "object"}}}},
            },
            "metadata",
            id="metadata-restricted",
        ),
    ],
)
def test_structural_checker_rejects(schema, expected):
    errors = structural_errors(schema)
    assert any(expected in e for e in errors), errors


# ---------------------------------------------------------------------------------------------- rendering
@pytest.mark.parametrize("name", KUSTOMIZATIONS)
def test_kustomize_renders_offline(name):
    for path in [KUSTOMIZATIONS[name], *(p.parent for p in DEPLOY.rglob("kustomization.yaml"))]:
        kustomization = load_yaml(path / "kustomization.yaml")
        for entry in [*(kustomization.get("resources") or []), *(kustomization.get("components") or [])]:
            assert "://" not in entry and not entry.startswith(("github.com", "git@")), (
                f"{path}: remote resource {entry}"
            )
            assert (path / entry).exists(), f"{path}: {entry} does not exist"
    docs = rendered(name)
    assert docs, "nothing rendered"
    names = [ident(d) for d in docs]
    assert len(names) == len(set(names)), f"duplicate objects: {names}"
    expected = {
        "Namespace",
        "CustomResourceDefinition",
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "CronJob",
    }
    if name != "gitops":  # GitOps mode takes no Lease: the push is the arbiter
        expected |= {"Role", "RoleBinding"}
    assert expected <= {d["kind"] for d in docs}


@pytest.mark.parametrize("name", KUSTOMIZATIONS)
def test_every_rendered_object_passes_the_kubernetes_schema(name):
    failures = []
    for doc in rendered(name):
        try:
            validate_k8s(doc)
        except Exception as exc:
            failures.append(f"{ident(doc)}: {str(exc).splitlines()[0]}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("name", KUSTOMIZATIONS)
def test_namespaced_objects_live_in_cronary(name):
    for doc in rendered(name):
        if doc["kind"] in ("ServiceAccount", "Role", "RoleBinding", "CronJob"):
            assert doc["metadata"].get("namespace") == "cronary", ident(doc)
        if doc["kind"] in ("RoleBinding", "ClusterRoleBinding"):
            assert [(s.get("namespace"), s["name"]) for s in doc["subjects"]] == [SA], ident(doc)


def test_the_crd_files_are_what_is_installed():
    installed = {d["metadata"]["name"]: d for d in of_kind(rendered("install"), "CustomResourceDefinition")}
    for path in (CANARY_CRD, METRICTEMPLATE_CRD, ALERTPROVIDER_CRD):
        doc = load(path)
        labelled = copy.deepcopy(installed[doc["metadata"]["name"]])
        labelled["metadata"].pop("labels", None)
        assert labelled == doc, f"{path.name} differs from what kustomize installs (beyond labels)"
    assert set(installed) == {"canaries.flagger.app", "metrictemplates.flagger.app", "alertproviders.flagger.app"}


# ---------------------------------------------------------------------------------------------- CRDs
CRD_FILES = {"canaries": CANARY_CRD, "metrictemplates": METRICTEMPLATE_CRD, "alertproviders": ALERTPROVIDER_CRD}


@pytest.mark.parametrize("name", CRD_FILES)
def test_crd_is_structural_with_one_storage_version(name):
    crd = load(CRD_FILES[name])
    assert crd["apiVersion"] == "apiextensions.k8s.io/v1" and crd["spec"]["group"] == "flagger.app"
    assert crd["spec"]["scope"] == "Namespaced"
    assert [v["name"] for v in crd["spec"]["versions"] if v["storage"]] == ["v1beta1"]
    for version in crd["spec"]["versions"]:
        assert version["served"] is True
        assert version["subresources"] == {"status": {}}, version["name"]
        assert version["additionalPrinterColumns"], version["name"]
        errors = structural_errors(version["schema"]["openAPIV3Schema"])
        assert not errors, f"{name} {version['name']}:\n" + "\n".join(errors)
    assert "all-flagger" in crd["spec"]["names"]["categories"]


def test_canary_crd_versions_and_names():
    crd = load(CANARY_CRD)
    spec = crd["spec"]
    assert crd["metadata"]["name"] == "canaries.flagger.app"
    assert spec["names"]["kind"] == "Canary" and spec["names"]["plural"] == "canaries"
    assert spec["names"]["shortNames"] == ["canary"] and spec["names"]["categories"] == ["all-flagger"]
    assert spec["conversion"] == {"strategy": "None"}
    assert [(v["name"], v["served"], v["storage"]) for v in spec["versions"]] == [
        ("v1beta1", True, True),
        ("v1alpha3", True, False),
    ]


def flagger_columns() -> list[dict[str, Any]]:
    return load_all(CRD_V1BETA1)[0]["spec"]["versions"][0]["additionalPrinterColumns"]


@pytest.mark.parametrize("version, block", [("v1beta1", "analysis"), ("v1alpha3", "canaryAnalysis")])
def test_canary_printer_columns_are_flaggers(version, block):
    columns = {v["name"]: v for v in load(CANARY_CRD)["spec"]["versions"]}[version]["additionalPrinterColumns"]
    expected = json.loads(json.dumps(flagger_columns()).replace(".spec.analysis.", f".spec.{block}."))
    assert columns == expected
    default_view = [(c["name"].upper(), c["jsonPath"]) for c in columns if not c.get("priority")]
    assert default_view == [
        ("STATUS", ".status.phase"),
        ("WEIGHT", ".status.canaryWeight"),
        ("LASTTRANSITIONTIME", ".status.lastTransitionTime"),
    ]
    wide = [c["name"].upper() for c in columns if c.get("priority") == 1]
    assert wide == ["SUSPENDED", "FAILEDCHECKS", "INTERVAL", "MIRROR", "STEPWEIGHT", "STEPWEIGHTS", "MAXWEIGHT"]


def test_canary_versions_share_one_shape():
    """No conversion: both versions serve the same stored object, so they declare the same fields."""
    beta, alpha = (our_canary(v).schema for v in ("v1beta1", "v1alpha3"))
    assert beta["properties"]["status"] == alpha["properties"]["status"]
    assert set(beta["properties"]["spec"]["properties"]) == set(alpha["properties"]["spec"]["properties"])
    for block in ("analysis", "canaryAnalysis"):
        assert (
            beta["properties"]["spec"]["properties"][block]["properties"]
            == alpha["properties"]["spec"]["properties"][block]["properties"]
        )
    assert "canaryAnalysis" in beta["properties"]["spec"]["properties"]["canaryAnalysis"]["description"]
    assert "v1alpha3" in beta["properties"]["spec"]["properties"]["canaryAnalysis"]["description"]


def test_canary_status_fields():
    status = our_canary("v1beta1").schema["properties"]["status"]
    assert status["x-kubernetes-preserve-unknown-fields"] is True
    props = status["properties"]
    assert props["phase"]["enum"] == [
        "", "Initializing", "Initialized", "Waiting", "Progressing", "WaitingPromotion", "Promoting", "Finalising",
        "Succeeded", "Failed", "Terminating", "Terminated",
    ]  # fmt: skip
    for key in ("lastTransitionTime", "lastDecisionTime"):
        assert props[key] == {**props[key], "type": "string", "format": "date-time"}
    assert props["trackedConfigs"]["additionalProperties"] == {"type": "string"}
    assert set(props["conditions"]["items"]["properties"]) == {
        "type",
        "status",
        "lastUpdateTime",
        "lastTransitionTime",
        "reason",
        "message",
    }
    assert {"canaryWeight", "failedChecks", "iterations", "lastAppliedSpec", "lastPromotedSpec"} <= set(props)


FLAGGER_SCHEMAS = [
    pytest.param("Canary", CRD_V1BETA1, "v1beta1", CANARY_CRD, "v1beta1", id="canary-v1.44-as-our-v1beta1"),
    pytest.param("Canary", CRD_V1BETA1, "v1beta1", CANARY_CRD, "v1alpha3", id="canary-v1.44-as-our-v1alpha3"),
    pytest.param("MetricTemplate", CRD_V1BETA1, "v1beta1", METRICTEMPLATE_CRD, "v1beta1", id="metrictemplate-v1.44"),
    pytest.param("AlertProvider", CRD_V1BETA1, "v1beta1", ALERTPROVIDER_CRD, "v1beta1", id="alertprovider-v1.44"),
]


@pytest.mark.parametrize("kind, theirs_path, theirs_version, ours_path, ours_version", FLAGGER_SCHEMAS)
def test_every_flagger_field_is_declared(kind, theirs_path, theirs_version, ours_path, ours_version):
    """A Canary written for Flagger keeps every field under our CRD: cronary then rejects what it cannot do,
    instead of the API server silently dropping it (an A/B `match` pruned would turn into a canary)."""
    theirs = versions_of(theirs_path, kind)[theirs_version].schema
    ours = versions_of(ours_path, kind)[ours_version].schema
    assert undeclared(theirs, ours, "") == []


def test_v1alpha3_fields_of_flagger_0_14_are_declared():
    theirs = versions_of(CRD_V1ALPHA3, "Canary")["v1alpha3"].schema
    for version in ("v1alpha3", "v1beta1"):  # v1beta1 too: that is where a v1alpha3 object is stored
        assert undeclared(theirs, our_canary(version).schema, "") == [], version


# ---------------------------------------------------------------------------------------------- Canaries against our CRD
CANARY_FIXTURES = {
    **{f"seed/{p.name}": p for p in [SEED / "podinfo-canary.yaml"]},
    **{f"canaries/{p.name}": p for p in sorted((FIXTURES / "canaries").glob("*.yaml"))},
    **{f"golden/{p.name}": p for p in sorted((FIXTURES / "golden").glob("canary-*.yaml"))},
}


def fixture_canary(path: Path) -> dict[str, Any]:
    docs = [d for d in load_all(path) if isinstance(d, dict) and d.get("kind") == "Canary"]
    assert len(docs) == 1, path
    return docs[0]


@pytest.mark.parametrize("name", CANARY_FIXTURES)
def test_canary_fixture_fits_our_crd(name):
    doc = fixture_canary(CANARY_FIXTURES[name])
    version = doc["apiVersion"].split("/")[1]
    served = our_canary(version)
    assert crd_errors(served, doc) == []
    assert pruned_fields(served, doc) == []
    # Stored as v1beta1 (conversion None changes only apiVersion): nothing is pruned on the way to etcd either.
    stored = our_canary("v1beta1")
    assert pruned_fields(stored, {**doc, "apiVersion": "flagger.app/v1beta1"}) == []


def seed_rollout_statuses() -> Iterator[tuple[str, dict[str, Any]]]:
    seed = load_yaml(SEED / "podinfo-canary.yaml")
    cluster = load_yaml_all(SEED / "cluster.yaml")
    for snap in play(seed, cluster):
        yield f"{snap.tick}-{snap.phase_after or 'none'}", snap.status_doc


def test_every_status_of_the_seed_rollout_survives_our_crd():
    """What cronary writes to status (lastDecisionTime included), phase by phase, validates and is kept."""
    seen = set()
    for label, doc in seed_rollout_statuses():
        seen.add(doc["status"]["phase"])
        assert "lastDecisionTime" in doc["status"], label
        for version in ("v1alpha3", "v1beta1"):
            crd = our_canary(version)
            as_version = {**doc, "apiVersion": f"flagger.app/{version}"}
            assert crd_errors(crd, as_version) == [], f"tick {label} as {version}"
            assert pruned_fields(crd, as_version) == [], f"tick {label} as {version}"
    assert {"Initialized", "Progressing", "Promoting", "Finalising", "Succeeded"} <= seen


def test_last_decision_time_is_kept_where_flaggers_crd_prunes_it():
    doc = fixture_canary(FIXTURES / "golden" / "canary-mid-analysis.yaml")
    assert doc["status"]["lastDecisionTime"]
    beta = {**doc, "apiVersion": "flagger.app/v1beta1"}
    assert "status.lastDecisionTime" in pruned_fields(canary_crd("flagger.app/v1beta1"), beta)
    assert "spec.canaryAnalysis" in pruned_fields(canary_crd("flagger.app/v1beta1"), beta)
    assert pruned_fields(our_canary("v1beta1"), beta) == []
    later = copy.deepcopy(beta)
    later["status"]["someFieldOfALaterCronary"] = {"kept": True}  # status preserves unknown fields
    assert pruned_fields(our_canary("v1beta1"), later) == []


def _mutate(doc: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    *parents, last = path.split(".")
    node = doc
    for key in parents:
        node = node.setdefault(key, {})
    if value is _DELETE:
        node.pop(last, None)
    else:
        node[last] = value
    return doc


_DELETE = object()
BETA = fixture_canary(FIXTURES / "canaries" / "podinfo-stepweights.yaml")
ALPHA = fixture_canary(SEED / "podinfo-canary.yaml")


@pytest.mark.parametrize(
    "doc, message",
    [
        pytest.param(
            _mutate(BETA, "spec.targetRef", _DELETE),
            "'targetRef' is a required property",
            id="v1beta1-without-targetRef",
        ),
        pytest.param(
            _mutate(BETA, "spec.analysis", _DELETE),
            "is not valid under any of the given schemas",
            id="v1beta1-without-analysis",
        ),
        pytest.param(
            _mutate(BETA, "spec.analysis.stepWeight", 10),
            "is valid under each of",
            id="v1beta1-stepWeight-and-stepWeights",
        ),
        pytest.param(_mutate(BETA, "spec.analysis.interval", "often"), "does not match", id="v1beta1-bad-interval"),
        pytest.param(_mutate(BETA, "spec.service.port", "http"), "integer", id="v1beta1-port-not-a-number"),
        pytest.param(
            _mutate(ALPHA, "spec.service", _DELETE), "'service' is a required property", id="v1alpha3-without-service"
        ),
        pytest.param(
            _mutate(ALPHA, "spec.canaryAnalysis", _DELETE),
            "is not valid under any of the given schemas",
            id="v1alpha3-without-canaryAnalysis",
        ),
        pytest.param(_mutate(ALPHA, "status.phase", "Paused"), "is not one of", id="status-unknown-phase"),
        pytest.param(
            _mutate(ALPHA, "status.lastDecisionTime", "yesterday"), "date-time", id="status-lastDecisionTime-not-a-time"
        ),
    ],
)
def test_our_canary_crd_rejects(doc, message):
    errors = crd_errors(our_canary(doc["apiVersion"].split("/")[1]), doc)
    assert any(message in e for e in errors), errors


METRIC_TEMPLATE = load_yaml(FIXTURES / "objects" / "metric-template.yaml")
ALERT_PROVIDER = load_yaml(FIXTURES / "objects" / "alert-provider.yaml")


@pytest.mark.parametrize(
    "kind, path, doc, error",
    [
        pytest.param("MetricTemplate", METRICTEMPLATE_CRD, METRIC_TEMPLATE, None, id="metrictemplate-docs-example"),
        pytest.param(
            "MetricTemplate",
            METRICTEMPLATE_CRD,
            _mutate(METRIC_TEMPLATE, "spec.query", _DELETE),
            "'query' is a required property",
            id="metrictemplate-without-query",
        ),
        pytest.param(
            "AlertProvider", ALERTPROVIDER_CRD, ALERT_PROVIDER, None, id="alertprovider-address-and-secretRef"
        ),
        pytest.param(
            "AlertProvider",
            ALERTPROVIDER_CRD,
            _mutate(ALERT_PROVIDER, "spec.type", "generic"),
            None,
            id="alertprovider-generic",
        ),
        pytest.param(
            "AlertProvider",
            ALERTPROVIDER_CRD,
            _mutate(_mutate(ALERT_PROVIDER, "spec.address", _DELETE), "spec.secretRef", _DELETE),
            "is not valid under any of the given schemas",
            id="alertprovider-without-address",
        ),
        pytest.param(
            "AlertProvider",
            ALERTPROVIDER_CRD,
            _mutate(ALERT_PROVIDER, "spec.type", "pager"),
            "is not one of",
            id="alertprovider-unknown-type",
        ),
    ],
)
def test_metrictemplate_and_alertprovider(kind, path, doc, error):
    crd = versions_of(path, kind)["v1beta1"]
    errors = crd_errors(crd, doc)
    if error is None:
        assert errors == [] and pruned_fields(crd, doc) == []
    else:
        assert any(error in e for e in errors), errors


# ---------------------------------------------------------------------------------------------- RBAC
def test_rbac_grants_exactly_what_the_tick_needs():
    docs = rendered("install")
    assert granted([one(docs, "ClusterRole", "cronary")]) == TICK_RULES
    assert granted([one(docs, "ClusterRole", "cronary-config-tracking")]) == CONFIG_TRACKING_RULES
    assert granted([one(docs, "Role", "cronary-lease")]) == LEASE_RULES
    assert granted(docs) == TICK_RULES | CONFIG_TRACKING_RULES | LEASE_RULES


@pytest.mark.parametrize("name", KUSTOMIZATIONS)
def test_no_wildcards_and_every_role_bound(name):
    docs = rendered(name)
    for role in of_kind(docs, "ClusterRole") + of_kind(docs, "Role"):
        assert "aggregationRule" not in role, ident(role)
        for rule in role["rules"]:
            for key in ("apiGroups", "resources", "verbs"):
                assert rule.get(key), f"{ident(role)}: empty {key}"
                assert not any("*" in item for item in rule[key]), f"{ident(role)}: wildcard in {key}: {rule[key]}"
            assert "nonResourceURLs" not in rule, ident(role)
    roles = {(r["kind"], r["metadata"]["name"]) for r in of_kind(docs, "ClusterRole") + of_kind(docs, "Role")}
    bound = {
        (b["roleRef"]["kind"], b["roleRef"]["name"])
        for b in of_kind(docs, "ClusterRoleBinding") + of_kind(docs, "RoleBinding")
    }
    assert roles == bound
    assert one(docs, "ServiceAccount", "cronary")["metadata"]["namespace"] == "cronary"


def test_no_config_tracking_overlay_takes_configmaps_and_secrets_away():
    docs = rendered("no-config-tracking")
    perms_ = granted(docs)
    assert not {p for p in perms_ if p.resource.split("/")[0] in ("secrets", "configmaps")}
    assert perms_ == TICK_RULES | LEASE_RULES
    assert not [d for d in docs if "config-tracking" in d["metadata"]["name"]]
    for cj in of_kind(docs, "CronJob"):
        assert "--no-config-tracking" in tick_container(cj)["args"], ident(cj)
    # ... while the default install tracks configs (Flagger's default) and can read Secrets for that.
    install = rendered("install")
    assert Permission("", "secrets", "list") in granted(install)
    assert all("--no-config-tracking" not in tick_container(cj)["args"] for cj in of_kind(install, "CronJob"))


# ---------------------------------------------------------------------------------------------- the CronJob
def check_cronjob(cj: Mapping[str, Any]) -> None:
    spec = cj["spec"]
    job = spec["jobTemplate"]["spec"]
    pod = job["template"]["spec"]
    container = tick_container(cj)
    args = container["args"]
    flags = flag_values(args)
    budget = seconds(flags["--budget"][-1]) if "--budget" in flags else DEFAULT_BUDGET_SECONDS

    assert spec["schedule"] == "* * * * *"
    assert spec["concurrencyPolicy"] == "Forbid"
    assert 10 <= spec["startingDeadlineSeconds"] < 60, (
        "set, at least 10 s (smaller may never schedule), under the period"
    )
    assert spec["successfulJobsHistoryLimit"] <= 3 and spec["failedJobsHistoryLimit"] <= 3
    assert job["backoffLimit"] == 0
    assert budget < job["activeDeadlineSeconds"] < 60, "the Job ends before the next minute, after the tick's budget"
    assert job["ttlSecondsAfterFinished"] > 0
    assert pod["restartPolicy"] == "Never"
    assert pod["serviceAccountName"] == "cronary"

    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 65532
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    sc = container["securityContext"]
    assert sc["runAsNonRoot"] is True and sc.get("runAsUser", 65532) == 65532
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert sc.get("seccompProfile", {"type": "RuntimeDefault"}) == {"type": "RuntimeDefault"}
    assert "privileged" not in sc

    assert container["resources"]["requests"]["cpu"] and container["resources"]["requests"]["memory"]
    assert container["resources"]["limits"]["memory"] == "256Mi"
    env = {e["name"]: e for e in container["env"]}
    assert env["POD_NAMESPACE"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.namespace"}}
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "emptyDir" in volumes[mounts["/tmp"]], "/tmp is writable (the root filesystem is not)"

    version = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    assert container["image"] == f"{IMAGE}:{version}"
    assert args[0] == "tick"
    if "--git-repo" in flags:  # GitOps mode: no Lease, credentials from a Secret
        assert "--lease-namespace" not in flags and flags["--git-path"] and flags["--git-cache"][-1].startswith("/tmp/")
        assert {"secretRef": {"name": "cronary-git"}} in container["envFrom"]
    else:
        assert flags["--lease-namespace"] == ["$(POD_NAMESPACE)"]
    assert flags["--mesh-provider"] == ["smi:istio"]
    assert flags["--prometheus"] == ["http://prometheus.istio-system:9090"], (
        "the seed guide's Prometheus, not cronary's namespace"
    )
    assert not {"--no-lease", "--now", "--once", "--kubeconfig"} & set(flags), "in-cluster, leased, real clock, looping"


@pytest.mark.parametrize("name", KUSTOMIZATIONS)
def test_cronjob_invariants(name):
    jobs = of_kind(rendered(name), "CronJob")
    assert jobs
    for cj in jobs:
        try:
            check_cronjob(cj)
        except AssertionError as exc:
            raise AssertionError(f"{ident(cj)}: {exc}") from exc


def test_tick_takes_the_flags_the_manifests_and_docs_use():
    assert {name: tick_options().get(name) for name in TICK_FLAGS} == TICK_FLAGS


def test_shards_are_disjoint():
    """In an install with several CronJobs, each has its own shard (Lease) and its own namespaces or selector."""
    for name in KUSTOMIZATIONS:
        jobs = of_kind(rendered(name), "CronJob")
        if len(jobs) < 2:
            continue
        flags = [flag_values(tick_container(cj)["args"]) for cj in jobs]
        shards = [(f.get("--shard") or ["default"])[-1] for f in flags]
        assert len(set(shards)) == len(shards), f"{name}: shards {shards}"
        for f in flags:
            assert "--namespace" in f or "--selector" in f, (
                f"{name}: a CronJob without --namespace or --selector overlaps every shard"
            )
        namespaces = [n for f in flags for n in f.get("--namespace", [])]
        assert len(set(namespaces)) == len(namespaces), f"{name}: a namespace in two shards: {namespaces}"


# ---------------------------------------------------------------------------------------------- the image
def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        text = pending + stripped
        pending = ""
        word, _, rest = text.partition(" ")
        out.append((word.upper(), rest.strip()))
    assert not pending, "Dockerfile ends inside a continuation"
    return out


def stages() -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for instruction in dockerfile_instructions():
        if instruction[0] == "FROM":
            result.append([])
        if result:
            result[-1].append(instruction)
    return result


def test_dockerfile_final_stage():
    all_stages = stages()
    assert len(all_stages) >= 2, "multi-stage: build, then copy only what runs"
    final = all_stages[-1]
    users = [args for word, args in final if word == "USER"]
    assert users, "the final stage sets USER"
    uid, _, gid = users[-1].partition(":")
    assert uid.isdigit() and int(uid) != 0, f"USER must be a numeric non-root uid, got {users[-1]!r}"
    assert not gid or (gid.isdigit() and int(gid) != 0)
    assert int(uid) == 65532, "the uid the CronJob's runAsUser names"
    assert [json.loads(a) for w, a in final if w == "ENTRYPOINT"][-1] == ["cronary"]
    assert [json.loads(a) for w, a in final if w == "CMD"][-1] == ["tick"]
    env = " ".join(a for w, a in final if w == "ENV")
    assert "PYTHONDONTWRITEBYTECODE=1" in env and "PYTHONUNBUFFERED=1" in env
    runs = " ".join(a for w, a in final if w == "RUN")
    assert not re.search(r"\b(gcc|g\+\+|build-essential|make|clang|apt-get|apk)\b", runs), (
        "no compilers or package installs in the final image"
    )
    for word, args in final:
        if word in ("COPY", "ADD"):
            assert "--from=" in args, f"the final stage copies only build output, not sources: {word} {args}"


def test_dockerfile_has_no_remote_add_and_pinned_bases():
    instructions = dockerfile_instructions()
    for word, args in instructions:
        if word == "ADD":
            assert not re.search(r"(https?|git)://|git@", args), f"ADD of a URL: {args}"
    defaults = dict(a.split("=", 1) for w, a in instructions if w == "ARG" and "=" in a)
    stage_names = set()
    for word, args in instructions:
        if word != "FROM":
            continue
        parts = [p for p in args.split() if not p.startswith("--")]
        image = re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: defaults[m.group(1) or m.group(2)], parts[0])
        if image not in stage_names:
            _, _, tag = image.rpartition(":") if "@" not in image else (image, "", "digest")
            assert tag and tag != "latest" and "/" not in tag, f"pin a tag or digest: FROM {image}"
            assert "slim" in tag or "@" in image, f"a slim Python base: {image}"
        if len(parts) == 3 and parts[1].upper() == "AS":
            stage_names.add(parts[2])


def test_dockerfile_copies_only_what_the_context_keeps():
    """Every COPY source of the build stage exists and is not excluded by .dockerignore; the rest is excluded."""
    ignored = [
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]

    def excluded(path: str) -> bool:
        return any(
            fnmatch(path, pattern.lstrip("/")) or path.startswith(pattern.rstrip("/") + "/") or path == pattern
            for pattern in ignored
        )

    for word, args in dockerfile_instructions():
        if word == "COPY" and "--from=" not in args:
            *sources, _dest = shlex.split(args)
            for src in sources:
                assert (ROOT / src).exists(), f"COPY {src}: not in the repository"
                assert not excluded(src.rstrip("/")), f"COPY {src}: excluded by .dockerignore"
    for must in (".venv", ".git", "tests", ".pytest_cache", ".hypothesis", "__pycache__"):
        assert any(must in pattern for pattern in ignored), f".dockerignore does not exclude {must}"
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert "cronary" in scripts, "ENTRYPOINT cronary is the console script pyproject.toml installs"
