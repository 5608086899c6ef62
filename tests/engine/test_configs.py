"""ConfigMaps and Secrets a pod spec references, and their rewrite to the primary copies (`engine.configs`)."""

from __future__ import annotations

import json
from typing import Any

from engine.configs import NO_CONFIGS, ConfigRef, TrackedConfigs, referenced_configs, rewrite_config_refs

POD_SPEC: dict[str, Any] = {
    "volumes": [
        {"name": "v1", "configMap": {"name": "cm-vol"}},
        {"name": "v2", "secret": {"secretName": "sec-vol"}},
        {
            "name": "v3",
            "projected": {
                "sources": [
                    {"configMap": {"name": "cm-proj"}},
                    {"secret": {"name": "sec-proj"}},
                    {"serviceAccountToken": {"path": "t"}},
                ]
            },
        },
        {"name": "v4", "emptyDir": {}},
    ],
    "initContainers": [{"name": "init", "envFrom": [{"configMapRef": {"name": "cm-init"}}]}],
    "containers": [
        {
            "name": "app",
            "env": [
                {"name": "A", "valueFrom": {"configMapKeyRef": {"name": "cm-env", "key": "a"}}},
                {"name": "B", "valueFrom": {"secretKeyRef": {"name": "sec-env", "key": "b"}}},
                {"name": "C", "value": "plain"},
                {"name": "D", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                {"name": "E", "valueFrom": {"configMapKeyRef": {"name": "cm-optional", "key": "e", "optional": True}}},
            ],
            "envFrom": [
                {"configMapRef": {"name": "cm-envfrom"}},
                {"secretRef": {"name": "sec-envfrom", "optional": True}},
            ],
        }
    ],
}


def test_referenced_configs_finds_every_kind_of_reference() -> None:
    refs = {(r.kind, r.name): r.optional for r in referenced_configs(POD_SPEC)}
    assert refs == {
        ("configmap", "cm-vol"): False,
        ("secret", "sec-vol"): False,
        ("configmap", "cm-proj"): False,
        ("secret", "sec-proj"): False,
        ("configmap", "cm-init"): False,
        ("configmap", "cm-env"): False,
        ("secret", "sec-env"): False,
        ("configmap", "cm-optional"): True,
        ("configmap", "cm-envfrom"): False,
        ("secret", "sec-envfrom"): True,
    }


def test_a_ref_is_optional_only_if_every_use_is_optional() -> None:
    spec = {
        "containers": [
            {"name": "a", "envFrom": [{"configMapRef": {"name": "shared", "optional": True}}]},
            {"name": "b", "envFrom": [{"configMapRef": {"name": "shared"}}]},
        ]
    }
    assert referenced_configs(spec) == [ConfigRef("configmap", "shared", False)]


def test_referenced_configs_of_an_empty_pod_spec() -> None:
    assert referenced_configs({}) == []
    assert referenced_configs({"containers": [{"name": "c", "image": "x"}]}) == []


def test_rewrite_config_refs_points_tracked_configs_at_primary_copies() -> None:
    tracked = TrackedConfigs(
        checksums=tuple(
            sorted(
                (f"{k}/{n}", "0" * 16)
                for k, n in [
                    ("configmap", "cm-vol"),
                    ("secret", "sec-vol"),
                    ("configmap", "cm-proj"),
                    ("secret", "sec-proj"),
                    ("configmap", "cm-init"),
                    ("configmap", "cm-env"),
                    ("secret", "sec-env"),
                    ("configmap", "cm-envfrom"),
                ]
            )
        ),
        configmaps=(),
        secrets=(),
    )
    original = json.dumps(POD_SPEC, sort_keys=True)
    out = rewrite_config_refs(POD_SPEC, tracked)
    assert json.dumps(POD_SPEC, sort_keys=True) == original, "the input must not be mutated"
    assert out["volumes"][0]["configMap"]["name"] == "cm-vol-primary"
    assert out["volumes"][1]["secret"]["secretName"] == "sec-vol-primary"
    assert out["volumes"][2]["projected"]["sources"][0]["configMap"]["name"] == "cm-proj-primary"
    assert out["volumes"][2]["projected"]["sources"][1]["secret"]["name"] == "sec-proj-primary"
    assert out["volumes"][2]["projected"]["sources"][2] == {"serviceAccountToken": {"path": "t"}}
    assert out["initContainers"][0]["envFrom"][0]["configMapRef"]["name"] == "cm-init-primary"
    env = out["containers"][0]["env"]
    assert env[0]["valueFrom"]["configMapKeyRef"] == {"name": "cm-env-primary", "key": "a"}
    assert env[1]["valueFrom"]["secretKeyRef"] == {"name": "sec-env-primary", "key": "b"}
    assert env[2] == {"name": "C", "value": "plain"}
    assert env[4]["valueFrom"]["configMapKeyRef"]["name"] == "cm-optional", "untracked refs keep their name"
    env_from = out["containers"][0]["envFrom"]
    assert env_from[0]["configMapRef"]["name"] == "cm-envfrom-primary"
    assert env_from[1]["secretRef"]["name"] == "sec-envfrom", "untracked refs keep their name"


def test_rewrite_config_refs_matches_kind_as_well_as_name() -> None:
    """A Secret and a ConfigMap may share a name; only the tracked kind is renamed."""
    spec = {"volumes": [{"name": "a", "configMap": {"name": "same"}}, {"name": "b", "secret": {"secretName": "same"}}]}
    tracked = TrackedConfigs((("secret/same", "0" * 16),), (), ())
    out = rewrite_config_refs(spec, tracked)
    assert out["volumes"][0]["configMap"]["name"] == "same"
    assert out["volumes"][1]["secret"]["secretName"] == "same-primary"
    assert rewrite_config_refs(spec, NO_CONFIGS) == spec
