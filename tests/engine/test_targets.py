"""`engine/targets/`: the target-kind seam. The factory knows each kind by `spec.targetRef.kind`, a kind the
engine does not know is refused as the parser refuses it, the shell's registry lists what every kind reads and
writes, and no module of the engine but a kind's own names that kind's fields."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest

from cronjob.shared.resources import RESOURCES, resource_of
from engine.canary_spec import parse_canary
from engine.cluster import ClusterView
from engine.errors import SpecError
from engine.model import ObjectRef
from engine.protocol import Settings
from engine.targets import factory
from engine.targets.deployment import DEPLOYMENT
from engine.targets.facts import read_target_facts
from engine.targets.target import TargetKind
from harness.paths import ROOT


def _canary(kind: str) -> dict[str, object]:
    return {
        "apiVersion": "flagger.app/v1beta1",
        "kind": "Canary",
        "metadata": {"name": "podinfo", "namespace": "test"},
        "spec": {
            "targetRef": {"apiVersion": "apps/v1", "kind": kind, "name": "podinfo"},
            "service": {"port": 9898},
            "analysis": {"interval": "1m", "threshold": 1, "stepWeight": 10},
        },
    }


def test_the_factory_knows_the_deployment_by_its_kind() -> None:
    assert factory.target_kind("Deployment") is DEPLOYMENT
    assert factory.TARGET_KINDS == ("Deployment",)
    assert all(kind == target.kind for kind, target in factory.TARGETS.items())


@pytest.mark.parametrize("kind", ["DaemonSet", "StatefulSet", "deployment", ""])
def test_the_factory_refuses_an_unknown_kind_with_the_parsers_message(kind: str) -> None:
    with pytest.raises(SpecError) as refused:
        factory.target_kind(kind)
    assert str(refused.value) == f"spec.targetRef.kind: must be one of Deployment, got {kind!r}"
    if kind:  # an empty kind is a missing field to the parser
        with pytest.raises(SpecError) as parsed:
            parse_canary(_canary(kind))
        assert str(parsed.value) == str(refused.value)


def test_a_canary_built_by_hand_with_an_unknown_kind_is_an_unusable_target() -> None:
    canary = parse_canary(_canary("Deployment"))
    odd = canary.__class__(
        canary.api_version,
        canary.name,
        canary.namespace,
        canary.uid,
        canary.spec.__class__(ObjectRef("apps/v1", "DaemonSet", "podinfo"), canary.spec.service, canary.spec.analysis),
        canary.status,
    )
    facts = read_target_facts(odd, ClusterView(), Settings())
    assert facts.problem == "spec.targetRef.kind: must be one of Deployment, got 'DaemonSet'"


@pytest.mark.parametrize("target", list(factory.TARGETS.values()), ids=lambda t: t.kind)
def test_every_kind_follows_the_protocol(target: TargetKind) -> None:
    members = {name for name in (*inspect.get_annotations(TargetKind), *vars(TargetKind)) if not name.startswith("_")}
    assert members >= {"kind", "kinds", "new_primary", "readiness", "render_primary", "render_scale"}
    assert all(hasattr(target, name) for name in members), sorted(m for m in members if not hasattr(target, m))


@pytest.mark.parametrize("target", list(factory.TARGETS.values()), ids=lambda t: t.kind)
def test_the_shell_registry_lists_and_applies_every_kind_a_target_reads_and_writes(target: TargetKind) -> None:
    assert any(kind == target.kind for _, kind in target.kinds)
    for kind in target.kinds:
        resource = RESOURCES[kind]
        assert resource.listed and resource.applied and resource.in_repository, kind
        assert resource_of({"apiVersion": kind[0], "kind": kind[1]}) is resource


# Fields of a Deployment (and of its Scale) the engine reads or writes: only `engine/targets/deployment.py` may.
DEPLOYMENT_FIELDS = frozenset(
    {
        "Deployment",
        "Scale",
        "replicas",
        "updatedReplicas",
        "availableReplicas",
        "readyReplicas",
        "observedGeneration",
        "ProgressDeadlineExceeded",
        "MinimumReplicasUnavailable",
        "minReadySeconds",
        "revisionHistoryLimit",
        "strategy",
        "template",
    }
)
# Flagger's PromQL per mesh names each mesh's workload label (`deployment`, `destination_kind="Deployment"`):
# a query set's words, not a field the engine reads.
QUERY_SETS = ROOT / "engine" / "analysis" / "querysets"
OUTSIDE_THE_DEPLOYMENT = sorted(
    p
    for p in (ROOT / "engine").rglob("*.py")
    if p != ROOT / "engine" / "targets" / "deployment.py" and QUERY_SETS not in p.parents
)


def _field_uses(tree: ast.AST) -> list[str]:
    """String constants used as a field: `x.get("f")`, `x["f"]`, `{"f": ...}`, or compared (`== "f"`, `in`)."""
    found: list[ast.expr] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get":
            found.extend(node.args[:1])
        elif isinstance(node, ast.Subscript):
            found.append(node.slice)
        elif isinstance(node, ast.Dict):
            found.extend(key for key in node.keys if key is not None)
        elif isinstance(node, ast.Compare):
            found.extend([node.left, *node.comparators])
    return [n.value for n in found if isinstance(n, ast.Constant) and n.value in DEPLOYMENT_FIELDS]


def _strings(tree: ast.AST) -> list[str]:
    """Every string constant but docstrings (f-string parts included): docstrings may talk about a Deployment."""
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    ]


@pytest.mark.parametrize("path", OUTSIDE_THE_DEPLOYMENT, ids=lambda p: str(p.relative_to(ROOT)))
def test_only_the_deployment_target_names_a_deployments_fields(path: Path) -> None:
    """The tick, the renderers and the facts ask the target's kind; a DaemonSet is then one module more."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    fields = _field_uses(tree)
    named = [s for s in _strings(tree) if re.search(r"\bDeployment\b", s)]
    assert not fields and not named, (
        f"{path.relative_to(ROOT)} names {fields + named}: ask the target kind (engine/targets/deployment.py)"
    )
