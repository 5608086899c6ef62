"""The notifier registry: every AlertProvider type cronary posts to is one module, registered once by its
`spec.type`; any other type is refused with the parser's words, and each renders its request in the engine
(the payloads themselves are pinned over HTTP in `tests/edges/test_alerts.py`)."""

from __future__ import annotations

import pytest

from engine.alerting import discord, generic, msteams, slack
from engine.alerting.alerts import Alert
from engine.alerting.factory import FLAGGER_ONLY_TYPES, NOTIFIERS, PROVIDER_TYPES, notifier_for, request_for
from engine.alerting.notifier import NotifierTarget
from engine.errors import SpecError

ALERT = Alert("podinfo.test", "podinfo", "test", "New revision detected", "info", (("Target", "x"),))
MODULES = (slack, msteams, discord, generic)


def test_every_type_module_is_registered_under_its_own_name() -> None:
    assert PROVIDER_TYPES == ("slack", "msteams", "discord", "generic")
    for module in MODULES:
        assert NOTIFIERS[module.NAME] is module.NOTIFIER
        assert notifier_for(module.NAME).name == module.NAME


@pytest.mark.parametrize(
    ("kind", "path", "hint", "message"),
    [
        ("rocket", "spec.type", True, "spec.type: must be one of slack, msteams, discord, generic, got 'rocket' "
         "(Flagger supports it; cronary does not post to it yet)"),
        ("gchat", "spec.type", True, "spec.type: must be one of slack, msteams, discord, generic, got 'gchat' "
         "(Flagger supports it; cronary does not post to it yet)"),
        ("teams", "spec.type", True, "spec.type: must be one of slack, msteams, discord, generic, got 'teams'"),
        ("rocket", "type", False, "type: must be one of slack, msteams, discord, generic, got 'rocket'"),
    ],
)  # fmt: skip
def test_other_types_are_refused_with_the_parsers_words(kind: str, path: str, hint: bool, message: str) -> None:
    assert kind in FLAGGER_ONLY_TYPES or kind not in NOTIFIERS
    with pytest.raises(SpecError) as refused:
        notifier_for(kind, path, flagger_hint=hint)
    assert str(refused.value) == message


@pytest.mark.parametrize(
    ("kind", "url", "authorized"),
    [
        ("slack", "https://hooks.example/x", True),
        ("msteams", "https://hooks.example/x", False),
        ("discord", "https://hooks.example/x/slack", False),
        ("generic", "https://hooks.example/x", True),
    ],
)
def test_each_type_renders_its_request(kind: str, url: str, authorized: bool) -> None:
    request = request_for(ALERT, NotifierTarget("p.ns", kind, "https://hooks.example/x", token="TOKEN"))
    assert request.url == url
    assert request.headers["Content-Type"] == "application/json"
    assert ("Authorization" in request.headers) is authorized
    assert "hooks.example" not in repr(request) and "TOKEN" not in repr(request)


def test_a_type_no_notifier_serves_is_an_error_naming_the_provider_not_its_address() -> None:
    with pytest.raises(ValueError) as refused:
        request_for(ALERT, NotifierTarget("p.ns", "rocket", "https://hooks.example/x"))
    assert str(refused.value) == "alert provider p.ns: type 'rocket' is not supported"
