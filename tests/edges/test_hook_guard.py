"""`cronjob.shared.hook_guard`: the one hook-idempotency guard, used by both modes (the notes in the Canary's status
in cluster mode, in memory in GitOps mode). The modes' own tests play it end to end: killed Jobs in
`tests/cluster/test_crash_safety.py`, a refused push in `tests/gitops/test_gitops.py`."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

from cronjob.kube.api import ApiRequest, ApiResponse
from cronjob.kube.tick import StatusNotes
from cronjob.shared.hook_guard import HookGuard, HookNotes, MemoryNotes
from engine import HookRequest, HookResult
from engine.hooks import HookType
from engine.model import WebhookSpec
from harness.paths import ROOT

NOW = "2026-11-27T10:00:00Z"


class Receiver:
    """A webhook receiver that answers from a list and counts its calls."""

    def __init__(self, *answers: HookResult) -> None:
        self.answers = list(answers)
        self.calls: list[str] = []

    def __call__(self, request: HookRequest) -> HookResult:
        self.calls.append(str(request.payload.get("idempotencyKey")))
        return self.answers.pop(0) if self.answers else HookResult(True)


def request(hook_type: HookType, key: str = "key-1") -> HookRequest:
    hook = WebhookSpec(name=f"{hook_type.value}-hook", url="http://hooks.example.com/", type=hook_type)
    return HookRequest(hook, {"name": "podinfo", "namespace": "test", "idempotencyKey": key})


def status_notes(status: dict[str, Any] | None = None) -> tuple[StatusNotes, list[ApiRequest]]:
    """Cluster mode's notes over a fake API server that answers each status write with the next resourceVersion."""
    sent: list[ApiRequest] = []

    def send(api_request: ApiRequest) -> ApiResponse:
        sent.append(api_request)
        body = dict(api_request.body)
        body["metadata"] = {**body["metadata"], "resourceVersion": str(len(sent) + 1)}
        return ApiResponse(200, body, None)

    manifest = {
        "apiVersion": "flagger.app/v1beta1",
        "kind": "Canary",
        "metadata": {"name": "podinfo", "namespace": "test", "resourceVersion": "1"},
        "spec": {},
        "status": status or {"phase": "Progressing"},
    }
    return StatusNotes(send, manifest), sent


MODES = {"gitops-memory": MemoryNotes, "cluster-status": lambda: status_notes()[0]}


@pytest.mark.parametrize("mode", sorted(MODES))
@pytest.mark.parametrize("answer", [HookResult(True), HookResult(False, "load test failed")])
def test_an_answered_side_effecting_hook_is_not_called_again(mode: str, answer: HookResult) -> None:
    notes: HookNotes = MODES[mode]()
    receiver = Receiver(answer)
    guard = HookGuard(receiver, notes, NOW)
    assert guard(request(HookType.ROLLOUT)) == answer
    assert HookGuard(receiver, notes, NOW)(request(HookType.ROLLOUT)) == answer  # the decision made again
    assert receiver.calls == ["key-1"]
    assert guard(request(HookType.ROLLOUT, "key-2")) == HookResult(True)  # another decision: another key
    assert receiver.calls == ["key-1", "key-2"]


@pytest.mark.parametrize("mode", sorted(MODES))
@pytest.mark.parametrize("hook_type", [t for t in HookType if not t.has_side_effects])
def test_questions_are_asked_every_time(mode: str, hook_type: HookType) -> None:
    notes: HookNotes = MODES[mode]()
    receiver = Receiver(HookResult(False, "no"), HookResult(True))
    guard = HookGuard(receiver, notes, NOW)
    assert [guard(request(hook_type)), guard(request(hook_type))] == [HookResult(False, "no"), HookResult(True)]
    assert notes.get("key-1") is None


def test_a_call_noted_without_an_answer_is_made_again_with_the_same_key_never_taken_as_a_pass(caplog) -> None:
    called = {"name": "rollout-hook", "type": "rollout", "idempotencyKey": "key-1", "time": NOW}
    notes, sent = status_notes({"phase": "Progressing", "calledWebhooks": [called]})
    receiver = Receiver(HookResult(False, "busy"))
    assert HookGuard(receiver, notes, NOW)(request(HookType.ROLLOUT)) == HookResult(False, "busy")
    assert receiver.calls == ["key-1"]
    assert "answer was lost; calling it again with the same idempotency key" in caplog.text
    # one status write: the answer (the call was noted already), conditioned on the resourceVersion read
    [answer] = sent
    assert answer.body["metadata"]["resourceVersion"] == "1"
    assert answer.body["status"]["calledWebhooks"] == [{**called, "ok": False, "message": "busy"}]
    assert notes.manifest["metadata"]["resourceVersion"] == "2"


def test_cluster_mode_notes_the_call_before_it_is_made_and_its_answer_after() -> None:
    notes, sent = status_notes()
    seen: list[int] = []

    def receiver(hook_request: HookRequest) -> HookResult:
        seen.append(len(sent))
        return HookResult(True)

    HookGuard(receiver, notes, NOW)(request(HookType.PRE_ROLLOUT))
    assert seen == [1]  # the first note was written before the call
    before, after = (r.body["status"]["calledWebhooks"] for r in sent)
    assert before == [{"name": "pre-rollout-hook", "type": "pre-rollout", "idempotencyKey": "key-1", "time": NOW}]
    assert after == [{**before[0], "ok": True, "message": ""}]
    assert [r.body["metadata"]["resourceVersion"] for r in sent] == ["1", "2"]  # each write follows the last


def _imports_and_names(path: Path) -> tuple[set[str], set[str]]:
    tree = ast.parse(path.read_text())
    imported = {f"{n.module}.{a.name}" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names}
    names = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    return imported, names


def test_both_wings_use_the_one_guard_and_no_other_module_guards_hooks() -> None:
    for wing in ("kube", "git"):
        imported, _ = _imports_and_names(ROOT / "cronjob" / wing / "tick.py")
        assert "cronjob.shared.hook_guard.HookGuard" in imported, wing
    deciders = [
        path.relative_to(ROOT).as_posix()
        for path in sorted((ROOT / "cronjob").rglob("*.py"))
        if "has_side_effects" in _imports_and_names(path)[1]
    ]
    assert deciders == ["cronjob/shared/hook_guard.py"]
