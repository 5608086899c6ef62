"""`cronjob.shared.selectors`: Kubernetes label selectors, as `--selector` is checked and matched locally."""

from __future__ import annotations

import pytest

from cronjob.shared.selectors import parse_selector

LABELS = {"team": "a", "tier": "web", "empty": ""}


@pytest.mark.parametrize(
    ("selector", "matches"),
    [
        ("team=a", True),
        ("team==a", True),
        ("team=b", False),
        ("team!=b", True),
        ("missing!=x", True),  # != holds for an absent label, as in Kubernetes
        ("team in (a,b)", True),
        ("team in (b, c)", False),
        ("team notin (b)", True),
        ("missing notin (b)", True),
        ("tier", True),
        ("missing", False),
        ("!missing", True),
        ("!tier", False),
        ("empty=", True),
        ("team=a,tier=web", True),
        ("team=a,tier=db", False),
        ("team in (a,b),tier notin (db)", True),
    ],
)
def test_a_selector_matches_labels_as_the_api_server_does(selector: str, matches: bool) -> None:
    assert parse_selector(selector).matches(LABELS) is matches


@pytest.mark.parametrize("selector", ["team=a;rm -rf", "!team=a", "team in a", "=a", "team=a,", "team>1", "team in (a"])
def test_what_is_not_a_selector_is_refused(selector: str) -> None:
    with pytest.raises(ValueError):
        parse_selector(selector)
