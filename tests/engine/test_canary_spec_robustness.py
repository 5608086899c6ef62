"""Bad input never crashes a parser: any JSON-like value gives a parsed object or one `SpecError`.

The project rule is one clear line naming the file and the field path, exit status 2. `cronary validate` turns
a `SpecError` into that line, and cluster mode (`cronjob.kube.read.parse_entry`) marks just that Canary
invalid; any other exception is a traceback, or a tick aborted for every canary. So: take a valid manifest
(the seed Canary, the same as v1beta1, `full()` of `test_canary_spec_errors.py` that sets every field), apply
a few random mutations (replace any node, at any depth, by a random JSON value; delete a key or a list item;
add a key, often one the parser reads, with a random value), and check that the parser returns or raises a
`SpecError` with a non-empty `path` and `message`.

The same property covers the other parsers that read user input: MetricTemplates, AlertProviders, and the
`cronary simulate` metrics / webhooks / scenario readers of `cronjob/local/inputs.py` (whose error is `InputError`).

Hypothesis runs derandomized and without an example database, so CI is reproducible.
`test_canary_spec_errors.py` pins the path and message of every crash this found.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_canary_spec_errors import full

from cronjob.local import inputs
from cronjob.shared.errors import InputError
from cronjob.shared.yamlio import load_single
from engine.alerting.providers import AlertProviderSpec, parse_alert_provider
from engine.analysis import MetricTemplateSpec, parse_metric_template
from engine.canary_spec import parse_canary
from engine.errors import SpecError
from engine.model import Canary
from engine.routers.factory import resolve_provider
from harness.paths import FIXTURES, SEED

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)
"""Any value YAML or JSON can give (NaN and infinities included)."""


def _v1beta1(doc: dict[str, Any]) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    doc["apiVersion"] = "flagger.app/v1beta1"
    doc["spec"]["analysis"] = doc["spec"].pop("canaryAnalysis")
    return doc


SEED_CANARY = load_single(str(SEED / "podinfo-canary.yaml"))
METRIC_TEMPLATE = load_single(str(FIXTURES / "objects" / "metric-template.yaml"))
ALERT_PROVIDER = load_single(str(FIXTURES / "objects" / "alert-provider.yaml"))
CANARY_BASES = {
    "seed-v1alpha3": SEED_CANARY,
    "seed-v1beta1": _v1beta1(SEED_CANARY),
    "webhooks-v1beta1": load_single(str(FIXTURES / "canaries" / "podinfo-webhooks.yaml")),
    "full-v1beta1": full(),
}

SCENARIO = {
    "description": "a healthy rollout",
    "start": "2026-11-27T10:00:00Z",
    "ticks": 40,
    "metrics": {"request-success-rate": 99.5, "request-duration": 120, "errors": None},
    "webhooks": {"load-test": "pass", "rollback-gate": "fail"},
    "steps": [
        {"at": 3, "image": "quay.io/stefanprodan/podinfo:1.7.1"},
        {
            "at": 6,
            "metrics": {"request-duration": 800},
            "webhooks": {"rollback-gate": "pass"},
            "ready": {"target": False},
        },
        {"at": 9, "image": {"podinfod": "quay.io/stefanprodan/podinfo:1.8.0"}, "ready": True},
    ],
}


def _field_names(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value).union(*(_field_names(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_field_names(v) for v in value))
    return set()


# Keys an added key is often drawn from: every field the bases set (the parser reads them), plus the ones
# they leave out, so that an added key reaches a branch a base does not take.
KNOWN_KEYS = sorted(
    _field_names([*CANARY_BASES.values(), METRIC_TEMPLATE, ALERT_PROVIDER, SCENARIO])
    | {
        "iterations",
        "stepWeights",
        "mirror",
        "match",
        "sessionAffinity",
        "cookieName",
        "exact",
        "prefix",
        "suffix",
        "regex",
        "thresholdRange",
        "min",
        "max",
        "templateRef",
        "templateVariables",
        "query",
        "status",
        "conditions",
        "trackedConfigs",
        "targetPort",
        "primaryScalerReplicas",
        "minReplicas",
        "maxReplicas",
        "uid",
        "portName",
        "trafficDistribution",
    }
)
KEYS = st.sampled_from(KNOWN_KEYS) | st.text(max_size=8)


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """The path of every node of `value`, the root (`()`) first."""
    found = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            found.extend(_paths(item, (*path, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(_paths(item, (*path, index)))
    return found


def _node(doc: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        doc = doc[key]
    return doc


@st.composite
def mutated(draw: st.DrawFn, bases: dict[str, Any]) -> Any:
    """One of `bases` after 1..3 random mutations (a fresh copy: the bases stay as they are).

    The node to mutate is chosen uniformly among all nodes but the root (`test_parse_canary_of_any_document`
    replaces the root) with a seeded `Random`: Hypothesis' own `sampled_from` prefers the first elements, the
    root and `apiVersion`, and would seldom reach a field three levels down."""
    rnd = draw(st.randoms(use_true_random=True))
    doc = copy.deepcopy(bases[rnd.choice(sorted(bases))])
    for _ in range(rnd.choice((1, 1, 1, 2, 2, 3))):
        paths = _paths(doc)[1:]
        if not paths:  # everything deleted (or a scalar put in the root's place)
            break
        path = rnd.choice(paths)
        parent, key = _node(doc, path[:-1]), path[-1]
        op = rnd.choice(("replace", "replace", "delete", "add"))
        if op == "replace":
            parent[key] = draw(JSON)
        elif op == "delete":
            del parent[key]
        elif isinstance(parent[key], dict):
            parent[key][draw(KEYS)] = draw(JSON)
        elif isinstance(parent[key], list):
            parent[key].insert(rnd.randint(0, len(parent[key])), draw(JSON))
        else:
            parent[key] = {draw(KEYS): draw(JSON)}
    return doc


def _check_spec_error(error: SpecError) -> None:
    assert isinstance(error.path, str) and error.path, error
    assert isinstance(error.message, str) and error.message, error
    assert str(error) == f"{error.path}: {error.message}"


def _parses_or_spec_error(parse: Callable[[Any], Any], doc: Any, kind: type) -> Any:
    """`parse(doc)`: a `kind`, or None after a well-formed SpecError; anything else fails the test."""
    try:
        parsed = parse(doc)
    except SpecError as error:
        _check_spec_error(error)
        return None
    except Exception as error:
        raise AssertionError(f"{error!r} instead of a SpecError, for {doc!r}") from error
    assert isinstance(parsed, kind)
    return parsed


# ------------------------------------------------------------------------------------------------ Canary
@settings(max_examples=300)
@given(mutated(CANARY_BASES))
def test_parse_canary_returns_a_canary_or_raises_spec_error(doc: Any) -> None:
    canary = _parses_or_spec_error(parse_canary, doc, Canary)
    if canary is not None:
        # what `parse_entry` does next with it, in cluster mode
        _parses_or_spec_error(lambda c: resolve_provider(c.spec.provider, "smi:istio"), canary, object)
        assert canary.key and canary.spec.analysis.max_weight in range(1, 101)


@settings(max_examples=300)
@given(JSON)
def test_parse_canary_of_any_document(doc: Any) -> None:
    _parses_or_spec_error(parse_canary, doc, Canary)


def test_the_bases_are_valid() -> None:
    for doc in CANARY_BASES.values():
        assert isinstance(parse_canary(copy.deepcopy(doc)), Canary)
    assert isinstance(parse_metric_template(copy.deepcopy(METRIC_TEMPLATE)), MetricTemplateSpec)
    assert isinstance(parse_alert_provider(copy.deepcopy(ALERT_PROVIDER)), AlertProviderSpec)
    with mock.patch.object(inputs, "load_single", return_value=copy.deepcopy(SCENARIO)):
        assert len(inputs.read_scenario("scenario.yaml").steps) == 3


# Hypothesis picks one node of ~150 per mutation, so a field three levels down is hit a few times in 300
# examples. The sweep below is exhaustive instead: every node of every base, replaced by each odd value or
# deleted, and every map given each field the parser reads, set to a value of the wrong type.
ODD_VALUES = (
    None,
    True,
    False,
    0,
    -1,
    1.5,
    2**64,
    float("nan"),
    float("inf"),
    "",
    "x",
    "²",
    "١٢",
    "-1",
    "1e3",
    "99999999999999h",
    [],
    [None],
    ["x"],
    [{}],
    {},
    {"x": None},
    {"exact": 1},
    {"exact": "a", "regex": "b"},
)
WRONG_TYPES = (1.5, "x", [{}], {"exact": []})


def _single_mutations(base: Any) -> Iterator[Any]:
    """`base` mutated in place, one mutation at a time (each undone before the next; copying a whole
    manifest per mutation would take most of the time): the parsers do not modify what they read."""
    doc = copy.deepcopy(base)
    for path in _paths(base)[1:]:
        parent, key = _node(doc, path[:-1]), path[-1]
        original = parent[key]
        for value in ODD_VALUES:
            parent[key] = value
            yield doc
        del parent[key]
        yield doc
        if isinstance(parent, dict):
            parent[key] = original
        else:
            parent.insert(key, original)
    for path in _paths(base):
        node = _node(doc, path)
        if isinstance(node, dict):
            for key in KNOWN_KEYS:
                if key in node:
                    continue
                for value in WRONG_TYPES:
                    node[key] = value
                    yield doc
                del node[key]
    assert doc == base, "a mutation was not undone"


@pytest.mark.parametrize("base", sorted(CANARY_BASES))
def test_every_single_mutation_of_a_canary(base: str) -> None:
    for doc in _single_mutations(CANARY_BASES[base]):
        _parses_or_spec_error(parse_canary, doc, Canary)


@pytest.mark.parametrize(
    "parse,base",
    [
        pytest.param(parse_metric_template, METRIC_TEMPLATE, id="MetricTemplate"),
        pytest.param(parse_alert_provider, ALERT_PROVIDER, id="AlertProvider"),
    ],
)
def test_every_single_mutation_of_another_manifest(parse: Callable[[Any], Any], base: Any) -> None:
    for doc in _single_mutations(base):
        _parses_or_spec_error(parse, doc, object)


# ------------------------------------------------------------------------------------- other engine parsers
@settings(max_examples=300)
@given(mutated({"template": METRIC_TEMPLATE}))
def test_parse_metric_template_returns_a_template_or_raises_spec_error(doc: Any) -> None:
    _parses_or_spec_error(parse_metric_template, doc, MetricTemplateSpec)


@settings(max_examples=300)
@given(mutated({"provider": ALERT_PROVIDER}))
def test_parse_alert_provider_returns_a_provider_or_raises_spec_error(doc: Any) -> None:
    _parses_or_spec_error(parse_alert_provider, doc, AlertProviderSpec)


# ----------------------------------------------------------------------- cronary simulate's input files
def _reads_or_input_error(read: Callable[[], Any]) -> None:
    try:
        read()
    except InputError as error:
        assert error.source and isinstance(error.path, str) and error.message, error
        assert "\n" not in error.source and error.line.startswith(f"{error.source}: ")


@settings(max_examples=300)
@given(mutated({"scenario": SCENARIO}))
def test_read_scenario_returns_a_scenario_or_raises_input_error(doc: Any) -> None:
    with mock.patch.object(inputs, "load_single", return_value=doc):
        _reads_or_input_error(lambda: inputs.read_scenario("scenario.yaml"))


@settings(max_examples=300)
@given(mutated({"metrics": SCENARIO["metrics"], "webhooks": SCENARIO["webhooks"]}))
def test_metrics_and_webhooks_files_read_or_raise_input_error(doc: Any) -> None:
    with mock.patch.object(inputs, "load_single", return_value=doc):
        _reads_or_input_error(lambda: inputs.read_metrics_file("metrics.yaml"))
    _reads_or_input_error(lambda: inputs.hook_results("webhooks.yaml", "", doc))
