"""`engine.messages`: Flagger's event messages, one named template each, the only way the tick says something."""

from __future__ import annotations

import ast

from engine.hooks import HookType
from engine.messages import HOOK_PASSED, MESSAGES, NEW_REVISION, PRE_ROLLOUT_FAILED, Message
from harness.paths import ROOT


def test_each_message_has_an_identity_of_its_own() -> None:
    identities = [m.id for m in MESSAGES]
    assert len(identities) == len(set(identities)) > 30
    assert all(m.type in ("Normal", "Warning") for m in MESSAGES)
    assert set(HOOK_PASSED) == {t for t in HookType if t not in (HookType.ROLLOUT, HookType.ROLLBACK, HookType.EVENT)}


def test_an_event_carries_the_identity_and_the_values_of_its_message() -> None:
    event = NEW_REVISION.event("Progressing", target="podinfo.test")
    assert (event.type, event.message, event.phase, event.reason) == (
        "Normal",
        "New revision detected! Scaling up podinfo.test",
        "Progressing",
        "Synced",
    )
    assert (event.message_id, event.values) == ("new-revision", (("target", "podinfo.test"),))
    assert PRE_ROLLOUT_FAILED.fields == ("canary", "hook", "answer")


def test_a_url_in_a_value_is_cut_to_its_origin_in_the_text_and_the_values() -> None:
    said = PRE_ROLLOUT_FAILED.event(
        "Progressing", canary="podinfo.test", hook="pre", answer="see https://u:p@hooks.example.com/a?token=x"
    )
    assert "token" not in said.message and "u:p" not in said.message
    assert said.message.endswith("see https://hooks.example.com")
    assert dict(said.values)["answer"] == "see https://hooks.example.com"


def test_the_tick_words_no_event_itself() -> None:
    """Every event of `engine.tick` comes from a `Message`: it builds no `Event` and formats no event text."""
    tree = ast.parse((ROOT / "engine" / "tick.py").read_text(encoding="utf-8"))
    built = [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("Event", "Message")
    ]
    assert not built
    assert isinstance(NEW_REVISION, Message)
