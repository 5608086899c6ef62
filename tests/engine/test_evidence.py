"""GitOps commit messages as evidence (`engine.evidence`) and `cronary history`'s reading of them
(`cronjob.git.history`).

The contract is the round trip: `parse_commit_message(commit_message(changes))` gives back every canary's
name, time, phase, weights, counters, revision and events (exact text, order and warning flags). It is checked
with Hypothesis on arbitrary changes (unicode, `:`, newlines and trailer-looking lines in every text), and on
real decisions: the seed scenarios played with `cronjob.local.simulation` while recording each Decision and the
status it started from, compared with the rows `cronary simulate -o json` prints. One test hands the messages
to the real `git interpret-trailers --parse`, which must see the same key/value pairs.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cronjob.local.simulation as simulation_module
from cronjob.git.history import format_history_table, timeline_from_log
from cronjob.local.inputs import build_cluster, cluster_objects, read_canary, read_scenario
from cronjob.local.simulation import SimulatedCluster, Simulation
from cronjob.shared.timeline import format_table
from engine import Decision, Event, HookOutcome, Settings
from engine.analysis import MetricVerdict
from engine.evidence import (
    Change,
    EvidenceError,
    HistoryEntry,
    commit_message,
    escape_value,
    parse_commit_message,
    subject_for,
    unescape_value,
)
from engine.model import CanaryStatus
from engine.phases import Phase
from harness.timeline_rows import simulate_cli

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "fixtures" / "seed"
CANARIES = ROOT / "fixtures" / "canaries"
SEED_CANARY = SEED / "podinfo-canary.yaml"
MESH = "smi:istio"


# ------------------------------------------------------------------------------------------- real decisions
@dataclasses.dataclass(frozen=True)
class Played:
    changes: tuple[Change, ...]
    records: tuple[dict[str, Any], ...]  # the Simulation's rows (`TickRecord.as_json`)


def play(canary: Path, scenario: Path) -> Played:
    """`Simulation.run` — the very loop `cronary simulate` runs — with every Decision kept, and the status the
    canary had when it was decided (what `run_tick` was handed). A rollback tick runs no analysis, so the
    failed checks of the last analysis before it ride along as `Change.halted`, as a shell that remembers
    them would pass them."""
    sim = Simulation(
        read_canary(str(canary), MESH),
        SimulatedCluster.of(build_cluster(cluster_objects(str(SEED / "cluster.yaml")))),
        read_scenario(str(scenario)),
        Settings(mesh_provider=MESH),
        str(scenario),
    )
    changes: list[Change] = []
    last_failed: tuple[MetricVerdict, ...] = ()
    real_run_tick = simulation_module.run_tick

    def recording_run_tick(canary_now: Any, *args: Any, **kwargs: Any) -> Decision:
        nonlocal last_failed
        decision = real_run_tick(canary_now, *args, **kwargs)
        before = canary_now.status
        rolled_back = decision.status.phase == "Failed" and before.phase != "Failed"
        halted = last_failed if rolled_back and not decision.verdicts else ()
        changes.append(Change(decision, before, halted))
        if decision.verdicts:
            last_failed = tuple(v for v in decision.verdicts if not v.passed)
        return decision

    with mock.patch.object(simulation_module, "run_tick", recording_run_tick):
        records = sim.run()
    return Played(tuple(changes), tuple(r.as_json() for r in records))


_PLAYED: dict[tuple[Path, Path], Played] = {}


def played(canary: Path, scenario: str) -> Played:
    key = (canary, SEED / scenario)
    if key not in _PLAYED:
        _PLAYED[key] = play(*key)
    return _PLAYED[key]


def subjects(canary: Path, scenario: str) -> list[str]:
    return [subject_for(c) for c in played(canary, scenario).changes]


def log_of(changes: tuple[Change, ...]) -> list[tuple[str, str]]:
    """One commit per decided tick, as `git log` lists them: newest first, with made-up oids."""
    return [(f"{i:040x}", commit_message([c])) for i, c in reversed(list(enumerate(changes, 1)))]


# -------------------------------------------------------------------------------------- readable examples
HEALTHY_SUBJECTS = [
    "podinfo.test: initializing, podinfo-primary.test not ready",
    "podinfo.test: initialized",
    "podinfo.test: new revision 69d5bc59df, scaling up canary",
    "podinfo.test: analysis started, canary weight 0 → 10",
    "podinfo.test: canary weight 10 → 20",
    "podinfo.test: canary weight 20 → 30",
    "podinfo.test: canary weight 30 → 40",
    "podinfo.test: canary weight 40 → 50",
    "podinfo.test: promoting",
    "podinfo.test: all traffic to primary",
    "podinfo.test: promotion completed",
]


def test_the_healthy_seed_rollout_reads_as_a_story_in_the_subjects() -> None:
    assert subjects(SEED_CANARY, "scenario-healthy.yaml") == HEALTHY_SUBJECTS


def test_the_failing_seed_rollout_names_each_halt_and_the_rollback() -> None:
    assert subjects(SEED_CANARY, "scenario-failing.yaml")[4:] == [
        "podinfo.test: canary weight 10 → 20",
        *(f"podinfo.test: halted (success rate 95.00% < 99%), failed checks {n}/5" for n in range(1, 6)),
        "podinfo.test: rollback (failed checks threshold reached 5)",
    ]


def test_a_step_commit_carries_every_metric_against_its_threshold_and_every_webhook() -> None:
    step = played(SEED_CANARY, "scenario-healthy.yaml").changes[5]
    assert commit_message([step]) == (
        "podinfo.test: canary weight 20 → 30\n"
        "\n"
        "Events:\n"
        "- Advance podinfo.test canary weight 30\n"
        "Metrics:\n"
        "- request-success-rate: 99.5 (threshold >= 99) passed\n"
        "- request-duration: 120 (threshold <= 500ms) passed\n"
        "Webhooks:\n"
        "- load-test (rollout): ok\n"
        "\n"
        "Canary: podinfo.test\n"
        "Phase: Progressing\n"
        "Weight: 30\n"
        "Traffic: 30\n"
        "Failed-Checks: 0\n"
        "Iterations: 0\n"
        "Revision: 69d5bc59df\n"
        "Tick: 2026-11-27T10:00:50Z\n"
        "Event: Advance podinfo.test canary weight 30\n"
    )


def test_the_rollback_commit_carries_the_halted_metric_values() -> None:
    rollback = played(SEED_CANARY, "scenario-failing.yaml").changes[-1]
    assert rollback.decision.status.phase == "Failed" and not rollback.decision.verdicts
    assert commit_message([rollback]) == (
        "podinfo.test: rollback (failed checks threshold reached 5)\n"
        "\n"
        "Events:\n"
        "- Warning: Rolling back podinfo.test failed checks threshold reached 5\n"
        "- Warning: Canary failed! Scaling down podinfo.test\n"
        "Metrics (the last analysis, before this tick):\n"
        "- request-success-rate: 95 (threshold >= 99) failed\n"
        "\n"
        "Canary: podinfo.test\n"
        "Phase: Failed\n"
        "Weight: 0\n"
        "Traffic: 0\n"
        "Failed-Checks: 0\n"
        "Iterations: 0\n"
        "Revision: 69d5bc59df\n"
        "Tick: 2026-11-27T10:01:40Z\n"
        "Warning: Rolling back podinfo.test failed checks threshold reached 5\n"
        "Warning: Canary failed! Scaling down podinfo.test\n"
    )
    # every halt before it carried its own values
    for halt in played(SEED_CANARY, "scenario-failing.yaml").changes[5:10]:
        assert "- request-success-rate: 95 (threshold >= 99) failed\n" in commit_message([halt])


def test_without_the_last_analysis_a_rollback_commit_still_says_why() -> None:
    rollback = dataclasses.replace(played(SEED_CANARY, "scenario-failing.yaml").changes[-1], halted=())
    message = commit_message([rollback])
    assert message.startswith("podinfo.test: rollback (failed checks threshold reached 5)\n\nEvents:\n")
    assert "Metrics" not in message


# The seed scenarios (and the gate scenarios on the webhook Canary): subjects that read well, and each commit
# parsed back equals the row `cronary simulate -o json` printed for that tick.
SCENARIOS = [
    pytest.param(SEED_CANARY, "scenario-healthy.yaml", id="healthy"),
    pytest.param(SEED_CANARY, "scenario-failing.yaml", id="failing"),
    pytest.param(SEED_CANARY, "scenario-no-data.yaml", id="no-data"),
    pytest.param(SEED_CANARY, "scenario-progress-deadline.yaml", id="progress-deadline"),
    pytest.param(SEED_CANARY, "scenario-restart.yaml", id="restart"),
    pytest.param(CANARIES / "podinfo-step5.yaml", "scenario-failing-step5.yaml", id="failing-step5"),
    pytest.param(CANARIES / "podinfo-promotion-steps.yaml", "scenario-healthy.yaml", id="promotion-steps"),
    pytest.param(CANARIES / "podinfo-webhooks.yaml", "scenario-webhooks-healthy.yaml", id="webhooks-healthy"),
    *(
        pytest.param(CANARIES / "podinfo-webhooks.yaml", f"scenario-gate-{gate}.yaml", id=f"gate-{gate}")
        for gate in (
            "confirm-rollout",
            "pre-rollout",
            "pre-rollout-fails",
            "load-test",
            "traffic-increase",
            "promotion",
            "promotion-failing",
            "rollback",
        )
    ),
]


@pytest.mark.parametrize(("canary", "scenario"), SCENARIOS)
def test_each_commit_parses_back_to_the_simulate_row(canary: Path, scenario: str) -> None:
    run = played(canary, scenario)
    rows = simulate_cli(canary, SEED / scenario)
    assert [r["tick"] for r in rows] == list(range(1, len(run.changes) + 1))
    assert rows == list(run.records)  # the recording did not change the rollout
    for change, row in zip(run.changes, rows):
        entries = parse_commit_message(commit_message([change]))
        assert len(entries) == 1
        entry = entries[0].as_json()
        assert {k: v for k, v in entry.items() if k not in ("canary", "revision")} == {
            k: row[k]
            for k in ("time", "phase", "canaryWeight", "failedChecks", "iterations", "trafficWeight", "events")
        }
        assert (entry["canary"], entry["revision"]) == (
            change.decision.canary.key,
            change.decision.status.last_applied_spec,
        )
        assert entries[0].warnings == tuple(e.type == "Warning" for e in change.decision.events)


@pytest.mark.parametrize(("canary", "scenario"), SCENARIOS)
def test_subjects_are_one_short_line_naming_the_canary(canary: Path, scenario: str) -> None:
    for subject in subjects(canary, scenario):
        assert subject.startswith("podinfo.test: ") and "\n" not in subject
        assert len(subject) <= 100, subject


@pytest.mark.parametrize(
    ("scenario", "expected"),
    [
        ("scenario-no-data.yaml", "podinfo.test: halted (no data for request-success-rate), failed checks 1/5"),
        (
            "scenario-progress-deadline.yaml",
            'podinfo.test: rollback (deployment "podinfo" exceeded its progress deadline)',
        ),
        ("scenario-progress-deadline.yaml", "podinfo.test: canary deployment podinfo.test not ready"),
        ("scenario-restart.yaml", "podinfo.test: new revision 74db747995, analysis restarted"),
    ],
)
def test_subjects_of_other_seed_scenarios(scenario: str, expected: str) -> None:
    assert expected in subjects(SEED_CANARY, scenario)


@pytest.mark.parametrize(
    ("scenario", "expected"),
    [
        ("scenario-gate-confirm-rollout.yaml", "podinfo.test: waiting for approval gate-rollout"),
        ("scenario-gate-traffic-increase.yaml", "podinfo.test: waiting for traffic increase approval gate-traffic"),
        ("scenario-gate-promotion.yaml", "podinfo.test: waiting for promotion approval gate-promotion"),
        ("scenario-gate-rollback.yaml", "podinfo.test: rollback (manual webhook invoked)"),
        ("scenario-gate-load-test.yaml", "podinfo.test: halted (external check load-test failed), failed checks 1/5"),
        (
            "scenario-gate-pre-rollout.yaml",
            "podinfo.test: halted (pre-rollout check pre-check failed), failed checks 1/5",
        ),
    ],
)
def test_subjects_of_the_gates(scenario: str, expected: str) -> None:
    assert expected in subjects(CANARIES / "podinfo-webhooks.yaml", scenario)


def test_a_failing_webhook_is_in_the_body_with_its_message() -> None:
    changes = played(CANARIES / "podinfo-webhooks.yaml", "scenario-gate-load-test.yaml").changes
    bodies = [commit_message([c]) for c in changes]
    assert any("- load-test (rollout): failed: simulated failure (HTTP 500)\n" in b for b in bodies)


def test_several_canaries_make_one_commit_with_a_summary_and_one_trailer_block() -> None:
    healthy = played(SEED_CANARY, "scenario-healthy.yaml").changes[5]
    halt = played(SEED_CANARY, "scenario-failing.yaml").changes[5]
    web = dataclasses.replace(halt.decision.canary, name="web", namespace="prod")
    other = dataclasses.replace(halt, decision=dataclasses.replace(halt.decision, canary=web))
    message = commit_message([healthy, other])
    paragraphs = message.split("\n\n")
    assert paragraphs[0] == "cronary: 2 canaries changed"
    assert paragraphs[1] == (
        "podinfo.test: canary weight 20 → 30\nweb.prod: halted (success rate 95.00% < 99%), failed checks 1/5"
    )
    assert paragraphs[2].startswith("[podinfo.test]\nEvents:\n")
    assert paragraphs[3].startswith(
        "[web.prod]\nEvents:\n- Warning: Halt podinfo.test advancement success rate 95.00% < 99%\n"
    )
    assert paragraphs[-1].count("Canary: ") == 2 and paragraphs[-1].startswith("Canary: podinfo.test\n")
    entries = parse_commit_message(message)
    assert [(e.canary, e.canary_weight, e.failed_checks) for e in entries] == [
        ("podinfo.test", 30, 0),
        ("web.prod", 20, 1),
    ]


def test_no_urls_or_queries_in_a_commit() -> None:
    """The hook's URL and the built-in PromQL are nowhere; a URL inside a webhook's message is cut to its origin."""
    for change in played(CANARIES / "podinfo-webhooks.yaml", "scenario-gate-load-test.yaml").changes:
        message = commit_message([change])
        assert "://" not in message and "sum(" not in message and "rate(" not in message
    change = played(SEED_CANARY, "scenario-healthy.yaml").changes[5]
    hook = HookOutcome(
        "load-test", "rollout", False, "POST https://user:token@loadtester.test:8080/run?key=s3cret: HTTP 500"
    )
    message = commit_message(
        [dataclasses.replace(change, decision=dataclasses.replace(change.decision, hooks=(hook,)))]
    )
    assert "- load-test (rollout): failed: POST https://loadtester.test:8080: HTTP 500\n" in message
    assert "s3cret" not in message and "token" not in message


# ------------------------------------------------------------------------------------------------ history
def test_history_is_oldest_first_and_filtered_by_canary() -> None:
    healthy = played(SEED_CANARY, "scenario-healthy.yaml").changes
    halt = played(SEED_CANARY, "scenario-failing.yaml").changes[5]
    web = dataclasses.replace(halt.decision.canary, name="web", namespace="prod")
    other = dataclasses.replace(halt, decision=dataclasses.replace(halt.decision, canary=web))
    commits = log_of(healthy)  # newest first
    commits.insert(3, ("f" * 40, commit_message([healthy[8], other])))  # a commit for two canaries
    commits.insert(5, ("e" * 40, 'Revert "podinfo.test: canary weight 10 → 20"\n\nThis reverts commit 123.\n'))
    commits.insert(0, ("d" * 40, "docs: a person's commit\n\nSigned-off-by: A <a@example.com>\n"))
    everything = timeline_from_log(commits, None)
    assert {e.canary for e in everything} == {"podinfo.test", "web.prod"}
    only_podinfo = timeline_from_log(commits, "podinfo.test")
    assert [e.time for e in only_podinfo] == sorted(e.time for e in only_podinfo)
    assert len(only_podinfo) == len(healthy) + 1
    assert [e.canary for e in timeline_from_log(commits, "web.prod")] == ["web.prod"]
    assert timeline_from_log(commits, "nope.none") == []


def test_the_history_table_is_the_simulate_table() -> None:
    """Every tick committed: `cronary history` prints what `cronary simulate -o table` printed."""
    run = played(SEED_CANARY, "scenario-failing.yaml")
    entries = timeline_from_log(log_of(run.changes), "podinfo.test")
    sim = Simulation(
        read_canary(str(SEED_CANARY), MESH),
        SimulatedCluster.of(build_cluster(cluster_objects(str(SEED / "cluster.yaml")))),
        read_scenario(str(SEED / "scenario-failing.yaml")),
        Settings(mesh_provider=MESH),
        "scenario-failing.yaml",
    )
    assert format_history_table(entries) == format_table(sim.run())


def test_the_history_table_of_several_canaries_has_one_table_each() -> None:
    entry = HistoryEntry(
        "a.x", "2026-11-27T10:00:00Z", "Progressing", 10, 10, 0, 0, "r", ("Advance a.x canary weight 10",), (False,)
    )
    other = dataclasses.replace(entry, canary="b.y", traffic=None, events=())
    table = format_history_table([entry, other, entry])
    assert table.startswith("CANARY a.x\nTICK")
    assert "\nCANARY b.y\nTICK" in table
    assert re.search(r"^\s+2  2026-11-27T10:00:00Z  Progressing\s+10\s+10\s+0  Advance a.x", table, re.MULTILINE)
    assert re.search(r"^\s+1  2026-11-27T10:00:00Z  Progressing\s+10\s+-\s+0  -$", table, re.MULTILINE)
    assert format_history_table([]) == format_table([])


def test_a_damaged_trailer_block_names_the_commit() -> None:
    message = "podinfo.test: x\n\nCanary: podinfo.test\nPhase: Progressing\nWeight: ten\n"
    with pytest.raises(EvidenceError, match="Failed-Checks"):
        parse_commit_message(message)
    full = commit_message([played(SEED_CANARY, "scenario-healthy.yaml").changes[5]]).replace(
        "Weight: 30", "Weight: ten"
    )
    with pytest.raises(EvidenceError, match=r"^commit 0123456789ab: canary podinfo.test: Weight: not a number: 'ten'$"):
        timeline_from_log([("0123456789abcdef", full)], None)


# ------------------------------------------------------------------------------------------------ reading
def test_messages_without_cronary_trailers_have_no_entries() -> None:
    for message in (
        "",
        "\n",
        "fix: a typo",
        "Merge branch 'main'",
        "docs\n\nSigned-off-by: A <a@example.com>\nCo-authored-by: B <b@example.com>\n",
        'Revert "podinfo.test: canary weight 10 → 20"\n\nThis reverts commit 0123abc.\n',
        "Canary: podinfo.test\nPhase: Progressing\n",  # a subject is never a trailer block
    ):
        assert parse_commit_message(message) == []


def test_tolerant_of_added_trailers_crlf_and_a_person_s_note() -> None:
    change = played(SEED_CANARY, "scenario-failing.yaml").changes[6]
    message = commit_message([change])
    expected = parse_commit_message(message)
    assert expected and expected[0].failed_checks == 2
    signed = message + "Signed-off-by: Ann <ann@example.com>\nCo-authored-by: Bob <bob@example.com>\n"
    assert parse_commit_message(signed) == expected
    assert parse_commit_message(signed.replace("\n", "\r\n")) == expected
    assert (
        parse_commit_message(message + "\nSigned-off-by: Ann <ann@example.com>\n") == expected
    )  # a separate paragraph
    noted = message.replace("\n\nCanary:", "\n\nReviewed: looks right to me, see the dashboard\n\nCanary:")
    assert parse_commit_message(noted) == expected


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("plain: text", "plain: text"),
        ("two\nlines", "two\\nlines"),
        ("crlf\r\n", "crlf\\r\\n"),
        ("tab\there", "tab\\there"),
        ("back\\slash \\n", "back\\\\slash \\\\n"),
        (" edges ", "\\u0020edges\\u0020"),
        (" ", "\\u0020"),
        ("", ""),
        (
            "nul\x00 del\x7f nel\x85 ls\u2028 ps\u2029 vt\x0b",
            "nul\\u0000 del\\u007f nel\\u0085 ls\\u2028 ps\\u2029 vt\\u000b",
        ),
        ("ünïcødé → ✓ #1 --- Canary: x", "ünïcødé → ✓ #1 --- Canary: x"),
    ],
)
def test_the_escape_rule(text: str, escaped: str) -> None:
    assert escape_value(text) == escaped
    assert unescape_value(escaped) == text


def test_a_backslash_a_person_typed_is_kept() -> None:
    assert unescape_value("C:\\dir \\x") == "C:\\dir \\x"


# ------------------------------------------------------------------------------------------------ git
def _git_pairs(message: str, cwd: Path) -> list[tuple[str, str]]:
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "LC_ALL": "C"}
    out = subprocess.run(
        ["git", "interpret-trailers", "--parse"],
        input=message.encode("utf-8"),
        capture_output=True,
        cwd=cwd,
        env=env,
        check=True,
        timeout=60,
    ).stdout.decode("utf-8")
    return [tuple(line.split(": ", 1)) if ": " in line else (line.rstrip(":"), "") for line in out.split("\n") if line]  # type: ignore[misc]


def _our_pairs(entries: list[HistoryEntry]) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for e in entries:
        traffic = "none" if e.traffic is None else str(e.traffic)
        fields = (
            e.canary,
            e.phase,
            str(e.canary_weight),
            traffic,
            str(e.failed_checks),
            str(e.iterations),
            e.revision,
            e.time,
        )
        pairs.extend(
            zip(("Canary", "Phase", "Weight", "Traffic", "Failed-Checks", "Iterations", "Revision", "Tick"), fields)
        )
        pairs.extend(("Warning" if w else "Event", text) for text, w in zip(e.events, e.warnings))
    return [(k, escape_value(v)) for k, v in pairs]


def test_git_interpret_trailers_parses_the_same_pairs(tmp_path: Path) -> None:
    assert shutil.which("git"), "git is not installed (apt-get install -y git)"
    halt = played(SEED_CANARY, "scenario-failing.yaml").changes[5]
    nasty = Event(
        "Warning",
        " Halt: two\nlines\r\nCanary: evil.ns\n\nPhase: Succeeded\n--- \n# not a comment\\n \u2028end ",
        "Progressing",
    )
    tricky = dataclasses.replace(
        halt,
        decision=dataclasses.replace(
            halt.decision,
            events=(nasty, Event("Normal", "", "Progressing"), *halt.decision.events),
            canary_weight=None,
            status=dataclasses.replace(halt.decision.status, last_applied_spec=""),
        ),
    )
    messages = [commit_message([c]) for c in played(SEED_CANARY, "scenario-failing.yaml").changes]
    messages.append(commit_message([tricky, *played(SEED_CANARY, "scenario-healthy.yaml").changes[3:6]]))
    messages.append(messages[-1] + "Signed-off-by: Ann <ann@example.com>\n")
    for message in messages:
        entries = parse_commit_message(message)
        assert entries
        git = [pair for pair in _git_pairs(message, tmp_path) if pair[0] != "Signed-off-by"]
        assert git == _our_pairs(entries)
    assert parse_commit_message(messages[-2])[0].events[0] == nasty.message


# ------------------------------------------------------------------------------------------------ Hypothesis
_BASE = read_canary(str(SEED_CANARY), MESH)

TRICKY = [
    "Canary: other.ns",
    "Phase: Succeeded",
    "Weight: 100",
    "Event: fake",
    "Warning: fake",
    "Tick:",
    "Revision: ",
    "Signed-off-by: Eve <eve@example.com>",
    "(cherry picked from commit 0123abc)",
    "---",
    "--- ",
    "# comment",
    "\\",
    "\\n",
    "\\u0020",
    "\\u12",
    ":",
    ": ",
    " ",
    "\t",
    "\n",
    "\n\n",
    "\r\n",
    "\r",
    "\x0b",
    "\x0c",
    "\x85",
    "\u2028",
    "\u2029",
    "\x00",
    "→",
    "…",
    "🙂",
]
texts = st.one_of(st.text(), st.lists(st.one_of(st.sampled_from(TRICKY), st.text(max_size=5)), max_size=8).map("".join))
names = st.one_of(st.from_regex(r"[a-z]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True), texts)
phases = st.one_of(st.sampled_from([p.value for p in Phase]), texts)
counts = st.integers(min_value=-(2**31), max_value=2**31)

events = st.builds(Event, type=st.sampled_from(["Normal", "Warning"]), message=texts, phase=phases)
verdicts = st.builds(
    MetricVerdict,
    metric=texts,
    value=st.one_of(st.none(), st.floats()),
    bound=texts,
    passed=st.booleans(),
    message=texts,
)
hook_outcomes = st.builds(HookOutcome, name=texts, type=texts, ok=st.booleans(), message=texts)
statuses = st.builds(
    CanaryStatus,
    phase=phases,
    canary_weight=counts,
    failed_checks=counts,
    iterations=counts,
    last_applied_spec=texts,
)


@st.composite
def changes(draw: st.DrawFn) -> Change:
    canary = dataclasses.replace(_BASE, name=draw(names), namespace=draw(names))
    decision = Decision(
        canary=canary,
        now=draw(st.one_of(st.just("2026-11-27T10:00:00Z"), texts)),
        due=True,
        next_due=None,
        status=draw(statuses),
        status_changed=True,
        events=tuple(draw(st.lists(events, max_size=6))),
        verdicts=tuple(draw(st.lists(verdicts, max_size=3))),
        hooks=tuple(draw(st.lists(hook_outcomes, max_size=3))),
        canary_weight=draw(st.one_of(st.none(), counts)),
    )
    return Change(decision, draw(statuses), tuple(draw(st.lists(verdicts, max_size=2))))


def expected_entry(change: Change) -> HistoryEntry:
    d, s = change.decision, change.decision.status
    return HistoryEntry(
        canary=d.canary.key,
        time=d.now,
        phase=s.phase,
        canary_weight=s.canary_weight,
        traffic=d.canary_weight,
        failed_checks=s.failed_checks,
        iterations=s.iterations,
        revision=s.last_applied_spec,
        events=tuple(e.message for e in d.events),
        warnings=tuple(e.type == "Warning" for e in d.events),
    )


RAW_BREAKS = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]")


@settings(max_examples=200)
@given(st.lists(changes(), min_size=1, max_size=4))
def test_round_trip(batch: list[Change]) -> None:
    message = commit_message(batch)
    assert parse_commit_message(message) == [expected_entry(c) for c in batch]
    assert not RAW_BREAKS.search(message), "only \\n may break a line"
    assert message.endswith("\n") and "\n\n\n" not in message


@settings(max_examples=100)
@given(changes())
def test_subject_is_one_line(change: Change) -> None:
    subject = subject_for(change)
    assert subject and "\n" not in subject and not RAW_BREAKS.search(subject)
    assert commit_message([change]).split("\n", 1)[0] == subject


@settings(max_examples=100)
@given(st.lists(changes(), min_size=1, max_size=3), st.sampled_from(["\n", "\r\n"]), st.booleans())
def test_round_trip_survives_crlf_and_added_trailers(batch: list[Change], newline: str, signed: bool) -> None:
    message = commit_message(batch)
    if signed:
        message += "Signed-off-by: Ann <ann@example.com>\nCo-authored-by: Bob <bob@example.com>\n"
    assert parse_commit_message(message.replace("\n", newline)) == [expected_entry(c) for c in batch]


@settings(max_examples=500)
@given(texts)
def test_escape_round_trip(text: str) -> None:
    escaped = escape_value(text)
    assert unescape_value(escaped) == text
    assert escaped == escaped.strip(" \t") and not RAW_BREAKS.search(escaped) and "\n" not in escaped


def test_no_changes_is_an_error() -> None:
    with pytest.raises(ValueError):
        commit_message([])
