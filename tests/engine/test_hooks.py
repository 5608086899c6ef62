"""`engine.hooks`: a webhook type's one home — the enum and the row of its traits every other module reads."""

from __future__ import annotations

import ast

import pytest

from engine.canary_spec import parse_canary
from engine.errors import SpecError
from engine.hooks import HOOK_TYPES, SPELLINGS, HookType
from engine.messages import HOOK_PASSED
from engine.phases import Phase
from harness.paths import ROOT


def test_the_table_has_a_row_for_every_hook_type() -> None:
    assert list(HOOK_TYPES) == list(HookType)
    for hook_type, row in HOOK_TYPES.items():
        assert row.phases, f"{hook_type.value}: a hook type is called in some phase"
        assert not (row.gate and row.side_effects), f"{hook_type.value}: a question or an action, never both"


@pytest.mark.parametrize(
    ("hook_type", "gate", "side_effects"),
    [
        (HookType.CONFIRM_ROLLOUT, True, False),
        (HookType.CONFIRM_TRAFFIC_INCREASE, True, False),
        (HookType.CONFIRM_PROMOTION, True, False),
        (HookType.PRE_ROLLOUT, False, True),
        (HookType.ROLLOUT, False, True),
        (HookType.POST_ROLLOUT, False, True),
        (HookType.ROLLBACK, False, False),
        (HookType.EVENT, False, False),
    ],
    ids=lambda v: getattr(v, "value", v),
)
def test_a_hook_type_knows_whether_it_is_a_gate_or_an_action(
    hook_type: HookType, gate: bool, side_effects: bool
) -> None:
    assert (hook_type.is_gate, hook_type.has_side_effects) == (gate, side_effects)


def test_the_phases_each_type_is_called_in() -> None:
    """Pinned here; `tests/engine/test_properties.py` checks every hook a random rollout asks against them."""
    phases = {t.value: {p.value for p in row.phases} for t, row in HOOK_TYPES.items()}
    assert phases == {
        "confirm-rollout": {"Initialized", "Waiting", "Succeeded", "Failed"},
        "pre-rollout": {"Progressing"},
        "rollout": {"Progressing"},
        "confirm-traffic-increase": {"Progressing"},
        "confirm-promotion": {"Progressing"},
        "post-rollout": {"Succeeded", "Failed"},
        "rollback": {"Progressing", "WaitingPromotion"},
        "event": {p.value for p in Phase},
    }


def test_the_passed_messages_come_from_the_rows_with_their_identities() -> None:
    assert {t.value: (m.id, m.text, m.type) for t, m in HOOK_PASSED.items()} == {
        "confirm-rollout": ("confirm-rollout-passed", "Confirm-rollout check {hook} passed", "Normal"),
        "confirm-traffic-increase": (
            "confirm-traffic-increase-passed",
            "Confirm-traffic-increase check {hook} passed",
            "Normal",
        ),
        "confirm-promotion": ("confirm-promotion-passed", "Confirm-promotion check {hook} passed", "Normal"),
        "pre-rollout": ("pre-rollout-passed", "Pre-rollout check {hook} passed", "Normal"),
        "post-rollout": ("post-rollout-passed", "Post-rollout check {hook} passed", "Normal"),
    }


def _canary(hook_type: str | None) -> dict[str, object]:
    hook: dict[str, object] = {"name": "h", "url": "http://hooks.test/"}
    if hook_type is not None:
        hook["type"] = hook_type
    return {
        "apiVersion": "flagger.app/v1beta1",
        "kind": "Canary",
        "metadata": {"name": "podinfo", "namespace": "test"},
        "spec": {
            "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "podinfo"},
            "service": {"port": 9898},
            "analysis": {"interval": "1m", "threshold": 1, "stepWeight": 10, "webhooks": [hook]},
        },
    }


@pytest.mark.parametrize("spelling", sorted(SPELLINGS))
def test_every_spelling_parses_to_its_type(spelling: str) -> None:
    parsed = parse_canary(_canary(spelling))
    assert parsed.spec.effective_analysis.webhooks[0].type is SPELLINGS[spelling]


def test_flaggers_empty_type_and_a_missing_one_mean_rollout() -> None:
    assert SPELLINGS[""] is HookType.ROLLOUT
    assert parse_canary(_canary(None)).spec.effective_analysis.webhooks[0].type is HookType.ROLLOUT


def test_an_unknown_type_is_refused_naming_every_type() -> None:
    with pytest.raises(SpecError) as caught:
        parse_canary(_canary("pre-flight"))
    assert str(caught.value) == (
        "spec.analysis.webhooks[0].type: must be one of confirm-rollout, pre-rollout, rollout, "
        "confirm-traffic-increase, confirm-promotion, post-rollout, rollback, event, got 'pre-flight'"
    )


def test_hook_type_has_one_home() -> None:
    """`HookType` is defined in `engine/hooks.py` and imported from there only (no re-export elsewhere)."""
    for path in sorted([*ROOT.glob("engine/**/*.py"), *ROOT.glob("cronjob/**/*.py"), *ROOT.glob("tests/**/*.py")]):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and node.name == "HookType":
                assert path == ROOT / "engine" / "hooks.py", path
            if isinstance(node, ast.ImportFrom) and any(alias.name == "HookType" for alias in node.names):
                assert node.module in ("engine.hooks", "hooks") or (node.level == 1 and node.module == "hooks"), (
                    path,
                    node.module,
                )
