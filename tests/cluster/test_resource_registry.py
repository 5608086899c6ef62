"""`cronjob/shared/resources.py` is the one kind list: the routers' kinds, the install's RBAC and the git layout
all agree with it, and no module but the routers and the registry spells a router's kind."""

from __future__ import annotations

import ast

import pytest

from cronjob.git.layout import OBJECT_KINDS
from cronjob.shared.resources import RESOURCES, Resource, resource_of
from engine.routers import factory
from harness.cluster import ROOT
from harness.rbac import granted, render_kustomize

DEPLOY = ROOT / "cronjob" / "deploy"


def _where(resources: list[Resource]) -> set[tuple[str, str]]:
    return {(r.group, r.plural) for r in resources}


def _with_verb(kustomization, verb: str) -> set[tuple[str, str]]:
    return {(p.api_group, p.resource) for p in granted(render_kustomize(kustomization)) if p.verb == verb}


def test_every_kind_a_router_may_own_is_listed_applied_and_kept_in_a_repository() -> None:
    for kind in factory.ROUTER_KINDS:
        resource = RESOURCES[kind]
        assert resource.listed and resource.applied and resource.in_repository, kind
        assert resource_of({"apiVersion": kind[0], "kind": kind[1]}) is resource


def test_the_install_grants_exactly_the_registry_kinds() -> None:
    listed = [r for r in RESOURCES.values() if r.listed]
    applied = [r for r in RESOURCES.values() if r.applied]
    assert _with_verb(DEPLOY, "list") == _where(listed)
    assert {w for w in _with_verb(DEPLOY, "patch") if "/" not in w[1]} == _where(applied)  # not deployments/scale
    assert _with_verb(DEPLOY, "create") >= _where(applied)  # an apply that creates its object is a create
    gitops = DEPLOY / "overlays" / "gitops"  # reads what cluster mode reads, writes nothing
    assert {(p.api_group, p.resource, p.verb) for p in granted(render_kustomize(gitops))} == {
        (group, plural, "list") for group, plural in _where(listed)
    }


def test_the_git_layout_accepts_exactly_the_registry_kinds_a_repository_may_hold() -> None:
    assert {r.kind for r in RESOURCES.values() if r.in_repository} == OBJECT_KINDS
    assert "Secret" not in OBJECT_KINDS  # no Secret data in git


OUTSIDE_THE_ROUTERS = sorted(
    p
    for p in (*(ROOT / "engine").rglob("*.py"), *(ROOT / "cronjob").rglob("*.py"))
    if "routers" not in p.relative_to(ROOT).parts and p != ROOT / "cronjob" / "shared" / "resources.py"
)


@pytest.mark.parametrize("path", OUTSIDE_THE_ROUTERS, ids=lambda p: str(p.relative_to(ROOT)))
def test_only_the_routers_and_the_registry_name_a_router_kind(path) -> None:
    """The tick, the renderers and the shell take a router's kinds from the router or the registry. String
    constants only: docstrings and comments may talk about a TrafficSplit."""
    names = {kind for _, kind in factory.ROUTER_KINDS} | {RESOURCES[k].plural for k in factory.ROUTER_KINDS}
    names |= {RESOURCES[k].group for k in factory.ROUTER_KINDS}
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    found = [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and id(node) not in docstrings and node.value in names
    ]
    assert not found, (
        f"{path.relative_to(ROOT)} names {found}: take it from the router or from cronjob/shared/resources.py"
    )
