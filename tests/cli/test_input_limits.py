"""Every input file goes through one reader with explicit limits (`cronjob/shared/reader.py`; docs/cli.md, "How input
files are read"), and every time cronary accepts or reads is range-checked and named by its field path
(`engine/timefmt.py`; docs/cli.md, "Times").

Each class of bad input goes through the real command line: `cronary` as a subprocess with a timeout where the
input could hang or blow up a process (pipes, devices, alias bombs, deep nesting, huge files), click's CliRunner
(in process, faster) elsewhere. Each must exit 2 with exactly one line on stderr naming the file and the field
path, no traceback, and nothing on stdout (`render` writes only to stdout); `tick` must not have sent anything
to the API server. No timing is asserted: the subprocess timeout is what "does not hang" means here.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from cronjob.cli import main
from cronjob.shared.errors import InputError
from cronjob.shared.reader import LIMITS, Limits, decode, load_bytes, parse_yaml, read_file
from engine.errors import SpecError
from engine.targets.deployment import deployment_readiness
from engine.timefmt import EARLIEST, LATEST, add_seconds, read_time
from harness.paths import ROOT, SEED

CRONARY = Path(sys.executable).parent / "cronary"
TIMEOUT = 60  # seconds: far above what any of these takes; a hang fails instead of stalling the suite
CANARY = str(SEED / "podinfo-canary.yaml")
CLUSTER = str(SEED / "cluster.yaml")
SCENARIO = str(SEED / "scenario-healthy.yaml")
NOW = "2026-11-27T10:00:00Z"
CANARY_TEXT = (SEED / "podinfo-canary.yaml").read_text(encoding="utf-8")
CLUSTER_TEXT = (SEED / "cluster.yaml").read_text(encoding="utf-8")
SCENARIO_TEXT = (SEED / "scenario-healthy.yaml").read_text(encoding="utf-8")
METRICS_TEXT = "request-success-rate: 99.5\nrequest-duration: 120\n"
WEBHOOKS_TEXT = "load-test: pass\n"
RANGE = "must be a time from 1970-01-01T00:00:00Z to 9000-01-01T00:00:00Z"
RFC3339 = "must be an RFC 3339 time like 2026-11-27T10:00:00Z"


# ---------------------------------------------------------------------------------------------- running cronary
@dataclass(frozen=True)
class Ran:
    exit_code: int
    stdout: str
    stderr: str


def in_process(argv: list[str]) -> Ran:
    result = CliRunner().invoke(main, argv)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception  # a traceback: the test fails with it
    return Ran(result.exit_code, result.stdout, result.stderr)


def as_process(argv: list[str]) -> Ran:
    assert CRONARY.exists(), f"{CRONARY} not found: install the project into the venv (pip install -e .)"
    done = subprocess.run(
        [str(CRONARY), *argv], cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL
    )
    return Ran(done.returncode, done.stdout, done.stderr)


def one_line(ran: Ran) -> str:
    """The bad-input contract: exit 2, one line on stderr, nothing on stdout, no traceback; the line without
    its `error: ` prefix. `tick` prints its one line as a JSON log line on stdout instead (docs/cli.md)."""
    assert ran.exit_code == 2, f"exit {ran.exit_code}\nstdout: {ran.stdout[:300]}\nstderr: {ran.stderr[:2000]}"
    if ran.stdout.startswith("{"):
        assert ran.stderr == "" and "Traceback" not in ran.stdout, ran.stderr
        lines = ran.stdout.splitlines()
        assert len(lines) == 1, f"expected exactly one JSON line: {ran.stdout!r}"
        record = json.loads(lines[0])
        assert record["level"] == "error", record
        return str(record["msg"])
    assert "Traceback" not in ran.stderr, ran.stderr
    assert ran.stdout == "", f"nothing may be written on bad input, got {ran.stdout[:300]!r}"
    lines = ran.stderr.splitlines()
    assert len(lines) == 1 and ran.stderr.endswith("\n"), f"expected exactly one line on stderr: {ran.stderr!r}"
    assert lines[0].startswith("error: "), lines[0]
    return lines[0][len("error: ") :]


def expect(ran: Ran, file: str, path: str, message: str) -> None:
    """One line `FILE: PATH: message` (`FILE: message` when `path` is empty); `path` and `message` are regexes
    (a path a few hundred levels deep is shown by its start and its end)."""
    line = one_line(ran)
    where = f"{re.escape(file)}: " + (f"(?P<path>{path}): " if path else "")
    found = re.match(where, line)
    assert found, f"expected {file!r} and the path {path!r} at the start of {line!r}"
    assert re.search(message, line[found.end() :]), f"{message!r} not in {line!r}"


# ---------------------------------------------------------------------------------------------- each file, each command
# A role is where a file goes on the command line: every input file cronary reads from disk.
ROLES: dict[str, Callable[[str], list[str]]] = {
    "canary-render": lambda f: [
        "render",
        f,
        "--cluster",
        CLUSTER,
        "--mesh-provider",
        "smi:istio",
        "--now",
        NOW,
        "-o",
        "json",
    ],
    "canary-validate": lambda f: ["validate", f],
    "canary-simulate": lambda f: [
        "simulate",
        f,
        "--cluster",
        CLUSTER,
        "--scenario",
        SCENARIO,
        "--mesh-provider",
        "smi:istio",
    ],
    "cluster": lambda f: ["render", CANARY, "--cluster", f, "--mesh-provider", "smi:istio", "--now", NOW],
    "scenario": lambda f: ["simulate", CANARY, "--cluster", CLUSTER, "--scenario", f, "--mesh-provider", "smi:istio"],
    "metrics": lambda f: [
        "render",
        CANARY,
        "--cluster",
        CLUSTER,
        "--mesh-provider",
        "smi:istio",
        "--now",
        NOW,
        "--metrics",
        f,
    ],
    "webhooks": lambda f: [
        "render",
        CANARY,
        "--cluster",
        CLUSTER,
        "--mesh-provider",
        "smi:istio",
        "--now",
        NOW,
        "--webhooks",
        f,
    ],
}
GOOD_TEXT = {
    "canary-render": CANARY_TEXT,
    "canary-validate": CANARY_TEXT,
    "canary-simulate": CANARY_TEXT,
    "cluster": CLUSTER_TEXT,
    "scenario": SCENARIO_TEXT,
    "metrics": METRICS_TEXT,
    "webhooks": WEBHOOKS_TEXT,
}

LOL = "".join(f"  {b}: &{b} [{', '.join([f'*{a}'] * 9)}]\n" for a, b in zip("abcdefgh", "bcdefghi"))
BOMB = 'x:\n  a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n' + LOL


@dataclass(frozen=True)
class BadFile:
    """A class of bad file: its bytes (made from the role's good file), the field path of the line, the
    message (a regex), and whether it must run as a subprocess (it could hang or exhaust the process)."""

    make: Callable[[str], bytes]
    path: str
    message: str
    process: bool = False
    roles: tuple[str, ...] = tuple(ROLES)  # where it is tried (a file of 100,000 nodes takes seconds to read)


BAD_FILES: dict[str, BadFile] = {
    "latin-1": BadFile(
        lambda good: good.encode() + "# café\n".encode("latin-1"),
        "",
        r"^not UTF-8 text \(byte 0xe9 at offset \d+; cronary reads UTF-8 only\)$",
    ),
    "utf-16-without-bom": BadFile(
        lambda good: good.encode("utf-16-le"),
        "",
        r"^not UTF-8 text \(a NUL byte at offset 1: UTF-16, or not text at all; cronary reads UTF-8 only\)$",
    ),
    "utf-16-with-bom": BadFile(
        lambda good: good.encode("utf-16"),
        "",
        r"^not UTF-8 text \(it starts with a UTF-16 byte order mark; cronary reads UTF-8 only\)$",
    ),
    "nested-300-deep": BadFile(
        lambda good: ("deep: " + "[" * 300 + "]" * 300 + "\n" + good).encode(),
        r"deep(\[0\]){25}\.\.\.(\[0\]){26}",
        r"^nested more than 100 levels deep \(line 1, column 106\)$",
        True,
    ),
    "nested-300-deep-block": BadFile(
        lambda good: ("".join("  " * i + f"k{i}:\n" for i in range(300)) + "  " * 300 + "x\n").encode(),
        r"k0\.k1\.k2\.\S*\.\.\.\S*\.k98\.k99",
        r"^nested more than 100 levels deep \(line 101, column 201\)$",
        True,
    ),
    "alias-bomb": BadFile(
        lambda good: (BOMB + good).encode(),
        r"x\.f\[0\]",
        r"^more than 100,000 YAML nodes \(the alias \*e repeats 66,430 nodes: an alias bomb\?\) \(line 7, column 10\)$",
        True,
    ),
    "1001-aliases": BadFile(
        lambda good: ("one: &one 1\nmany: [" + "*one, " * 1001 + "]\n" + good).encode(),
        r"many\[1000\]",
        r"^more than 1,000 aliases \(line 2, column \d+\)$",
    ),
    "recursive-alias": BadFile(
        lambda good: ("loop: &loop [*loop]\n" + good).encode(),
        r"loop\[0\]",
        r"^the alias \*loop is inside the node it names \(recursive data\)",
    ),
    "100001-nodes": BadFile(
        lambda good: ("many: [" + "0," * 100_001 + "]\n" + good).encode(),
        r"many\[99997\]",
        r"^more than 100,000 YAML nodes \(line 1, column \d+\)$",
        True,
        ("canary-validate", "cluster"),
    ),
    "5000-digit-integer": BadFile(
        lambda good: ("big:\n  number: " + "9" * 5000 + "\n" + good).encode(),
        r"big\.number",
        r"^an integer of 5,000 characters: at most 100 are read \(line 2, column 11\)$",
    ),
    "binary-tag": BadFile(
        lambda good: ("blob: !!binary aGVsbG8=\n" + good).encode(), "blob", r"^the tag !!binary is not read by cronary"
    ),
    "set-tag": BadFile(
        lambda good: ("names: !!set {a, b}\n" + good).encode(), "names", r"^the tag !!set is not read by cronary"
    ),
    "custom-tag": BadFile(
        lambda good: ("ref: !Ref other\n" + good).encode(), "ref", r"^the tag !Ref is not read by cronary"
    ),
    "int-tag-on-words": BadFile(
        lambda good: ("count: !!int many\n" + good).encode(), "count", r"^'many' is not a valid !!int"
    ),
    "list-as-map-key": BadFile(
        lambda good: ("? [a, b]\n: c\n" + good).encode(),
        "",
        r"^a map key must be a string, number, boolean or null, not a map or list \(line 1, column 3\)$",
    ),
    "larger-than-4-mib": BadFile(
        lambda good: (good + "#" + "x" * (4 * 1024 * 1024) + "\n").encode(),
        "",
        r"^too large: more than 4,194,304 bytes \(4 MiB\), the limit for an input file$",
        True,
    ),
}


@pytest.mark.parametrize(
    "kind,role", [pytest.param(k, r, id=f"{k}-{r}") for k, bad in BAD_FILES.items() for r in bad.roles]
)
def test_a_bad_file_is_one_line_naming_file_and_field(tmp_path: Path, kind: str, role: str) -> None:
    bad = BAD_FILES[kind]
    file = tmp_path / f"{kind}.yaml"
    file.write_bytes(bad.make(GOOD_TEXT[role]))
    argv = ROLES[role](str(file))
    expect((as_process if bad.process else in_process)(argv), str(file), bad.path, bad.message)


def test_the_bad_files_are_bad_only_in_the_bad_part(tmp_path: Path) -> None:
    """The good files each role starts from pass, so each case above fails for its own reason."""
    for role, argv_of in ROLES.items():
        file = tmp_path / f"{role}.yaml"
        file.write_text(GOOD_TEXT[role], encoding="utf-8")
        ran = in_process(argv_of(str(file)))
        assert ran.exit_code == 0, (role, ran.stderr)


# Not files: a named pipe (nobody writes to it: opening it blocking would hang), a directory, character devices.
NOT_FILES = {
    "named-pipe": "a named pipe",
    "directory": "a directory",
    "dev-zero": "a character device",
    "dev-null": "a character device",
}


def not_a_file(tmp_path: Path, kind: str) -> str:
    if kind == "named-pipe":
        os.mkfifo(tmp_path / "pipe.yaml")
        return str(tmp_path / "pipe.yaml")
    if kind == "directory":
        return str(tmp_path)
    return "/dev/zero" if kind == "dev-zero" else "/dev/null"


@pytest.mark.parametrize("role", list(ROLES))
@pytest.mark.parametrize("kind", list(NOT_FILES))
def test_a_pipe_directory_or_device_is_one_line_not_a_hang(tmp_path: Path, kind: str, role: str) -> None:
    path = not_a_file(tmp_path, kind)
    expect(as_process(ROLES[role](path)), path, "", rf"^not a regular file \({NOT_FILES[kind]}\)$")


def test_a_file_of_exactly_4_mib_is_read(tmp_path: Path) -> None:
    file = tmp_path / "cluster.yaml"
    padding = 4 * 1024 * 1024 - len(CLUSTER_TEXT.encode()) - 2
    file.write_bytes(CLUSTER_TEXT.encode() + b"#" + b"x" * padding + b"\n")
    assert file.stat().st_size == LIMITS.max_bytes
    ran = as_process(ROLES["cluster"](str(file)))
    assert ran.exit_code == 0, ran.stderr


# ---------------------------------------------------------------------------------------------- the limits, at their edges
def small(**limits: int) -> Limits:
    return Limits(**{**vars(LIMITS), **limits})


@pytest.mark.parametrize(
    "limit,value,inside,outside,message",
    [
        pytest.param(
            "max_depth", 5, "[" * 5 + "]" * 5, "[" * 6 + "]" * 6, "nested more than 5 levels deep", id="depth"
        ),
        pytest.param("max_nodes", 5, "[1, 2, 3, 4]", "[1, 2, 3, 4, 5]", "more than 5 YAML nodes", id="nodes"),
        pytest.param(
            "max_nodes",
            9,
            "a: &a [1, 2]\nb: *a",
            "a: &a [1, 2]\nb: *a\nc: 3",
            "more than 9 YAML nodes",
            id="nodes-with-aliases-expanded",
        ),
        pytest.param(
            "max_aliases",
            5,
            "a: &a 1\nb: [*a, *a, *a, *a, *a]",
            "a: &a 1\nb: [*a, *a, *a, *a, *a, *a]",
            "more than 5 aliases",
            id="aliases",
        ),
        pytest.param(
            "max_int_chars",
            5,
            "a: 12345",
            "a: 123456",
            "an integer of 6 characters: at most 5 are read",
            id="integer-characters",
        ),
    ],
)
def test_each_limit_holds_at_its_edge(limit: str, value: int, inside: str, outside: str, message: str) -> None:
    limits = small(**{limit: value})
    parse_yaml(inside, "f.yaml", limits)
    with pytest.raises(InputError) as caught:
        parse_yaml(outside, "f.yaml", limits)
    assert message in caught.value.message


def test_the_size_limit_holds_at_its_edge_for_repository_files() -> None:
    limits = small(max_bytes=10)
    assert load_bytes(b"a: 1234567", "f.yaml", limits) == [{"a": 1234567}]
    with pytest.raises(InputError, match=r"too large: more than 10 bytes"):
        load_bytes(b"a: 12345678", "f.yaml", limits)


def test_the_size_limit_holds_at_its_edge_for_files(tmp_path: Path) -> None:
    file = tmp_path / "f.yaml"
    file.write_bytes(b"a: 1\n" * 3)
    assert read_file(str(file), small(max_bytes=15)) == b"a: 1\n" * 3
    with pytest.raises(InputError, match="too large"):
        read_file(str(file), small(max_bytes=14))


def test_the_size_limit_holds_whatever_stat_says() -> None:
    """`read_file` reads at most one byte past the limit: a /proc file is regular, `stat` says 0 bytes."""
    assert os.stat("/proc/self/status").st_size == 0
    with pytest.raises(InputError, match="too large"):
        read_file("/proc/self/status", small(max_bytes=100))


def test_aliases_and_merge_keys_within_the_limits_still_work() -> None:
    docs = parse_yaml(
        "base: &base {a: 1}\nlist: &l [1, 2]\nuse: {<<: *base, b: 2, l: *l}\nagain: &base 5\nlast: *base\n", "f.yaml"
    )
    assert docs == [{"base": {"a": 1}, "list": [1, 2], "use": {"a": 1, "b": 2, "l": [1, 2]}, "again": 5, "last": 5}]


def test_a_utf8_bom_is_allowed() -> None:
    assert decode("\ufeffa: 1\n".encode(), "f.yaml") == "a: 1\n"


def test_the_limits_in_the_docs_are_the_limits_in_the_code() -> None:
    """docs/cli.md states every limit; it must state the ones the reader enforces."""
    docs = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    section = " ".join(docs[docs.index("## How input files are read") :].split())
    for fragment in (
        f"at most {LIMITS.max_bytes // (1024 * 1024)} MiB ({LIMITS.max_bytes:,} bytes)",
        f"nested at most {LIMITS.max_depth} levels deep",
        f"at most {LIMITS.max_nodes:,} nodes",
        f"at most {LIMITS.max_aliases:,} aliases",
        f"integers of at most {LIMITS.max_int_chars} characters",
        f"from {EARLIEST:%Y-%m-%dT%H:%M:%SZ} to {LATEST:%Y-%m-%dT%H:%M:%SZ}",
    ):
        assert fragment in section, f"docs/cli.md does not say {fragment!r}"


# ---------------------------------------------------------------------------------------------- timestamps are text
def test_a_yaml_timestamp_is_read_as_its_text(tmp_path: Path) -> None:
    """Unquoted times and dates (even impossible ones) are strings where a string is expected, and come out as
    the same text (JSON output could not even print a datetime)."""
    file = tmp_path / "canary.yaml"
    file.write_text(
        CANARY_TEXT.replace(
            "  namespace: test\n",
            "  namespace: test\n  annotations:\n    deployed: 2026-11-27T10:00:00Z\n    planned: 2026-02-30\n",
            1,
        )
    )
    ran = in_process(ROLES["canary-render"](str(file)))
    assert ran.exit_code == 0, ran.stderr
    assert '"deployed": "2026-11-27T10:00:00Z"' in ran.stdout and '"planned": "2026-02-30"' in ran.stdout


@pytest.mark.parametrize(
    "role,old,new,path,message",
    [
        pytest.param(
            "canary-validate",
            "threshold: 5",
            "threshold: 2026-02-30",
            "spec.canaryAnalysis.threshold",
            "must be an integer, got '2026-02-30'",
            id="feb-30-as-a-number",
        ),
        pytest.param(
            "canary-render",
            "threshold: 5",
            "threshold: 2026-11-27T24:00:00Z",
            "spec.canaryAnalysis.threshold",
            "must be an integer, got '2026-11-27T24:00:00Z'",
            id="hour-24-as-a-number",
        ),
        pytest.param(
            "metrics",
            "request-duration: 120",
            "request-duration: 2026-02-30",
            "request-duration",
            "must be a number or null, got '2026-02-30'",
            id="feb-30-as-a-metric",
        ),
        pytest.param(
            "scenario",
            "ticks: 40",
            "ticks: 2026-02-30",
            "ticks",
            "must be an integer 1..100000, got '2026-02-30'",
            id="feb-30-as-ticks",
        ),
        pytest.param(
            "webhooks",
            "load-test: pass",
            "load-test: 2026-11-27T24:00:00Z",
            "load-test",
            "must be pass or fail, got '2026-11-27T24:00:00Z'",
            id="hour-24-as-a-hook-result",
        ),
    ],
)
def test_an_impossible_timestamp_in_any_field_is_that_fields_error(
    tmp_path: Path, role: str, old: str, new: str, path: str, message: str
) -> None:
    file = tmp_path / "f.yaml"
    assert old in GOOD_TEXT[role]
    file.write_text(GOOD_TEXT[role].replace(old, new, 1), encoding="utf-8")
    expect(in_process(ROLES[role](str(file))), str(file), re.escape(path), re.escape(message))


# ---------------------------------------------------------------------------------------------- times
BAD_TIMES = {
    "year-9999": ("9999-12-31T23:59:59Z", RANGE),
    "year-1": ("0001-01-01T00:00:00Z", RANGE),
    "year-1-east-of-utc": ("0001-01-01T00:00:00+01:00", RANGE),
    "just-after-the-latest": ("9000-01-01T00:00:01Z", RANGE),
    "feb-30": ("2026-02-30T10:00:00Z", RFC3339),
    "hour-24": ("2026-11-27T24:00:00Z", RFC3339),
    "words": ("tomorrow", RFC3339),
}


@pytest.mark.parametrize("command", ["render", "tick"])
@pytest.mark.parametrize("kind", list(BAD_TIMES))
def test_a_bad_now_is_one_line_and_tick_sends_nothing(emulator, tmp_path: Path, kind: str, command: str) -> None:
    text, message = BAD_TIMES[kind]
    if command == "render":
        argv = ROLES["cluster"](CLUSTER)[:-1] + [text]
    else:
        argv = [
            "tick",
            "--once",
            "--no-lease",
            "--kubeconfig",
            emulator.write_kubeconfig(tmp_path / "kubeconfig"),
            "--now",
            text,
        ]
    line = one_line(in_process(argv))
    assert line == f"--now: {message}, got {text!r}"
    assert emulator.requests == []


@pytest.mark.parametrize("kind", list(BAD_TIMES))
def test_a_bad_scenario_start_names_the_field(tmp_path: Path, kind: str) -> None:
    text, message = BAD_TIMES[kind]
    file = tmp_path / "scenario.yaml"
    file.write_text(SCENARIO_TEXT.replace("start: 2026-11-27T10:00:00Z", f"start: {text}"), encoding="utf-8")
    expect(in_process(ROLES["scenario"](str(file))), str(file), "start", re.escape(f"{message}, got {text!r}"))


def test_a_scenario_start_that_is_not_text_names_the_field(tmp_path: Path) -> None:
    file = tmp_path / "scenario.yaml"
    file.write_text(SCENARIO_TEXT.replace("start: 2026-11-27T10:00:00Z", "start: 1764237600"), encoding="utf-8")
    expect(in_process(ROLES["scenario"](str(file))), str(file), "start", re.escape(f"{RFC3339}, got 1764237600"))


def test_a_scenario_whose_ticks_would_pass_the_latest_time_is_one_line(tmp_path: Path) -> None:
    """Tick n is at start + (n - 1) intervals; where that passes the latest time, simulate stops with a line,
    not an OverflowError."""
    file = tmp_path / "scenario.yaml"
    file.write_text(
        SCENARIO_TEXT.replace("start: 2026-11-27T10:00:00Z", "start: 8999-12-31T23:59:00Z"), encoding="utf-8"
    )
    expect(
        in_process(ROLES["scenario"](str(file))),
        str(file),
        "ticks",
        re.escape(
            "tick 8 (7 intervals of 10s after start) would come after 9000-01-01T00:00:00Z, the latest time cronary reads"
        ),
    )


STATUS_FIELDS = {
    "lastTransitionTime": ("status:\n  phase: Progressing\n  lastTransitionTime: {}\n", "status.lastTransitionTime"),
    "lastDecisionTime": ("status:\n  phase: Progressing\n  lastDecisionTime: {}\n", "status.lastDecisionTime"),
    "condition-lastUpdateTime": (
        "status:\n  phase: Progressing\n  conditions:\n  - type: Promoted\n    lastUpdateTime: {}\n",
        "status.conditions[0].lastUpdateTime",
    ),
    "condition-lastTransitionTime": (
        "status:\n  phase: Progressing\n  conditions:\n  - type: Promoted\n    lastTransitionTime: {}\n",
        "status.conditions[0].lastTransitionTime",
    ),
}


@pytest.mark.parametrize("role", ["canary-render", "canary-validate"])
@pytest.mark.parametrize("field", list(STATUS_FIELDS))
@pytest.mark.parametrize("kind", ["year-9999", "year-1", "feb-30", "hour-24"])
def test_a_status_time_the_engine_cannot_use_names_the_field(tmp_path: Path, kind: str, field: str, role: str) -> None:
    text, message = BAD_TIMES[kind]
    block, path = STATUS_FIELDS[field]
    file = tmp_path / "canary.yaml"
    file.write_text(CANARY_TEXT + block.format(text), encoding="utf-8")
    expect(in_process(ROLES[role](str(file))), str(file), re.escape(path), re.escape(f"{message}, got {text!r}"))


@pytest.mark.parametrize("key", ["lastUpdateTime", "lastTransitionTime"])
@pytest.mark.parametrize("kind", ["year-9999", "year-1", "feb-30", "hour-24"])
def test_a_bad_deployment_condition_time_in_the_cluster_file_names_the_field(
    tmp_path: Path, kind: str, key: str
) -> None:
    text, message = BAD_TIMES[kind]
    file = tmp_path / "cluster.yaml"
    old = '  - type: Available\n    status: "True"\n'
    assert old in CLUSTER_TEXT
    file.write_text(CLUSTER_TEXT.replace(old, f"{old}    {key}: {text}\n", 1), encoding="utf-8")
    expect(
        in_process(ROLES["cluster"](str(file))),
        str(file),
        re.escape(f"[1].status.conditions[0].{key}"),
        re.escape(f"{message}, got {text!r}"),
    )


def stuck_deployment(update_time: str) -> dict[str, Any]:
    return {
        "metadata": {"name": "podinfo-primary", "namespace": "test", "generation": 1},
        "spec": {"replicas": 1},
        "status": {
            "observedGeneration": 1,
            "replicas": 1,
            "updatedReplicas": 1,
            "availableReplicas": 0,
            "conditions": [
                {
                    "type": "Available",
                    "status": "False",
                    "reason": "MinimumReplicasUnavailable",
                    "lastUpdateTime": update_time,
                },
                {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated"},
            ],
        },
    }


@pytest.mark.parametrize("kind", ["year-9999", "year-1", "feb-30", "hour-24", "words"])
def test_the_engine_reports_a_deployment_time_it_cannot_use_with_its_path(kind: str) -> None:
    """In `tick` the cluster's Deployments are not checked beforehand: the engine reads the time where it needs
    it (the progress deadline) and raises a SpecError naming the Deployment and the field — that canary's error
    line — never an OverflowError."""
    text, message = BAD_TIMES[kind]
    with pytest.raises(SpecError) as caught:
        deployment_readiness(
            stuck_deployment(text), ready_threshold=100, progress_deadline_seconds=2**31 - 1, now=LATEST
        )
    assert (caught.value.path, caught.value.message) == (
        "Deployment test/podinfo-primary: status.conditions[0].lastUpdateTime",
        f"{message}, got {text!r}",
    )


def test_the_extreme_times_in_range_do_not_overflow() -> None:
    """The latest time plus the longest progress deadline (int32 seconds) and the longest interval (Go's
    longest duration) stays inside `datetime`."""
    ready = deployment_readiness(
        stuck_deployment("9000-01-01T00:00:00Z"), ready_threshold=100, progress_deadline_seconds=2**31 - 1, now=LATEST
    )
    assert not ready.ready and ready.retriable
    assert add_seconds(LATEST, 2_562_047 * 3600) is None
    assert add_seconds(EARLIEST, 2_562_047 * 3600) is not None
    assert read_time("9000-01-01T00:00:00Z") == LATEST and read_time("1970-01-01T00:00:00Z") == EARLIEST
    assert read_time("2026-11-27T10:00:00") == read_time("2026-11-27T10:00:00Z")  # no offset: UTC


def test_a_canary_at_the_latest_time_with_the_longest_interval_is_decided(tmp_path: Path) -> None:
    """`lastDecisionTime + interval` at the very edge: a clean "not due", no overflow."""
    file = tmp_path / "canary.yaml"
    text = CANARY_TEXT.replace("interval: 10s", "interval: 153722867m", 1)  # Go's longest duration, in minutes
    file.write_text(
        text + "status:\n  phase: Progressing\n  lastDecisionTime: 9000-01-01T00:00:00Z\n", encoding="utf-8"
    )
    ran = in_process(
        ["render", str(file), "--cluster", CLUSTER, "--mesh-provider", "smi:istio", "--now", "9000-01-01T00:00:00Z"]
    )
    assert ran.exit_code == 0, ran.stderr
    assert "# not due: podinfo.test is next decided at 9292-" in ran.stdout


# ---------------------------------------------------------------------------------------------- tick: one canary at a time
def test_tick_reports_a_deployment_time_it_cannot_use_for_that_canary_only(
    emulator, tmp_path: Path, prometheus, httpserver
) -> None:
    """The primary's Available condition says "MinimumReplicasUnavailable since 9999": the engine cannot add the
    progress deadline to that. The canary's tick fails with a line naming the Deployment and the field; another
    canary in the namespace is decided; the tick exits 1."""
    from harness.cluster import SeedCluster

    httpserver.expect_request("/", method="POST").respond_with_data("ok")
    cluster = SeedCluster(emulator, tmp_path, prometheus.url, httpserver.url_for("/")).install()
    target = cluster.deployment("podinfo")
    assert target is not None
    target["metadata"] = {"name": "podinfo", "namespace": "test", "generation": 1}
    emulator.create(json.loads(json.dumps(target).replace("podinfo", "other")))  # its own target
    other = cluster.seed_canary("other")
    other["spec"]["targetRef"]["name"] = "other"
    del other["spec"]["autoscalerRef"]
    emulator.create(other)
    assert cluster.tick().exit_code == 0  # both initializing: their primaries created
    primary = cluster.deployment("podinfo-primary")
    assert primary is not None
    primary["status"] = {
        **stuck_deployment("9999-12-31T23:59:59Z")["status"],
        "observedGeneration": primary["metadata"]["generation"],
    }
    emulator.replace(primary)
    emulator.advance(10)
    run = cluster.tick()
    assert run.exit_code == 1, run.output
    errors = [log for log in run.logs if log["level"] == "error"]
    assert [log["canary"] for log in errors] == ["podinfo.test"], errors
    assert (
        "podinfo.test could not be decided: SpecError: Deployment test/podinfo-primary: status.conditions[0].lastUpdateTime: "
        + RANGE
        in errors[0]["msg"]
    )
    assert "Overflow" not in run.output
    assert cluster.status("other")["lastDecisionTime"] == "2026-11-27T10:00:10Z"
    assert cluster.status("podinfo")["lastDecisionTime"] == "2026-11-27T10:00:00Z"


# ---------------------------------------------------------------------------------------------- files in a GitOps repository
@pytest.fixture
def gitops(tmp_path: Path, prometheus, httpserver) -> Any:
    """The seed in a GitOps repository (`--no-cluster`), plus a second canary `other` (the seed renamed)."""
    from harness.gitops import APP, GitOpsRepo

    httpserver.expect_request("/", method="POST").respond_with_data("ok")
    repo = GitOpsRepo(tmp_path, prometheus.url, httpserver.url_for("/")).seed()
    files = {}
    for name in ("canary", "deployment", "horizontalpodautoscaler"):
        files[f"apps/other/{name}.yaml"] = repo.developer.read(f"{APP}/{name}.yaml").replace(b"podinfo", b"other")
    repo.human_commit(files, "other: deploy with a canary")
    return repo


def cronary_commits(repo: Any) -> list[Any]:
    return [c for c in repo.log() if c.email != "dana@example.com"]


@pytest.mark.parametrize(
    "content,message",
    [
        pytest.param(
            b"canary: test/podinfo\nstatus:\n  phase: Initialized\n  lastTransitionTime: 9999-12-31T23:59:59Z\n",
            "status.lastTransitionTime: " + RANGE,
            id="year-9999",
        ),
        pytest.param(
            b"canary: test/podinfo\nstatus:\n  phase: Initialized\n  lastDecisionTime: 2026-02-30T10:00:00Z\n",
            "status.lastDecisionTime: " + RFC3339,
            id="feb-30",
        ),
        pytest.param(
            ("canary: test/podinfo\nstatus: {phase: Initialized}\n" + BOMB).encode(),
            "x.f[0]: more than 100,000 YAML nodes (the alias *e repeats 66,430 nodes: an alias bomb?)",
            id="alias-bomb",
        ),
        pytest.param(
            b"canary: test/podinfo\nstatus: {phase: Initialized}\n# caf\xe9\n",
            "not UTF-8 text (byte 0xe9",
            id="latin-1",
        ),
    ],
)
def test_an_unreadable_status_file_in_git_is_that_canarys_error(gitops: Any, content: bytes, message: str) -> None:
    """status.yaml is read through the same reader: a bad one is that canary's error line naming the file (and
    the field); nothing is committed for it, and the other canary is decided."""
    gitops.human_commit({"cronary/test/podinfo/status.yaml": content}, "a hand-edited state")
    run = gitops.tick()
    assert run.exit_code == 1, run.output
    errors = [log for log in run.logs if log["level"] == "error"]
    assert [log["canary"] for log in errors] == ["podinfo.test"], errors
    assert f"Canary podinfo.test is invalid: cronary/test/podinfo/status.yaml: {message}" in errors[0]["msg"]
    assert "Traceback" not in run.output
    assert gitops.developer.read("cronary/test/podinfo/status.yaml") == content
    assert (gitops.read("cronary/test/other/status.yaml") or {}).get("status", {}).get("phase") == "Initializing"


def test_an_unreadable_manifest_in_git_is_skipped_with_a_warning(gitops: Any) -> None:
    """With `--no-cluster`, a file under the manifests path that the reader refuses is named in a warning and
    skipped; the canaries in the other files are decided."""
    gitops.human_commit(
        {"apps/podinfo/notes.yaml": "# café\n".encode("latin-1"), "apps/other/bomb.yaml": BOMB.encode()}, "odd files"
    )
    run = gitops.tick()
    assert run.exit_code == 0, run.output
    warnings = [log["msg"] for log in run.logs if log["level"] == "warn" and log["msg"].startswith("skipped: ")]
    assert warnings == [
        "skipped: apps/other/bomb.yaml: x.f[0]: more than 100,000 YAML nodes (the alias *e repeats 66,430 nodes: an alias bomb?) (line 7, column 10)",
        "skipped: apps/podinfo/notes.yaml: not UTF-8 text (byte 0xe9 at offset 5; cronary reads UTF-8 only)",
    ]
    for name in ("podinfo", "other"):
        assert (gitops.read(f"cronary/test/{name}/status.yaml") or {}).get("status", {}).get("phase") == "Initializing"


def test_repository_files_are_read_with_the_same_limits() -> None:
    """`git_layout.load` (status.yaml, committed objects, approvals) is the reader's `load_bytes`."""
    from cronjob.git.layout import load

    assert load(b"a: 2026-11-27T10:00:00Z\n", "f.yaml") == {"a": "2026-11-27T10:00:00Z"}
    for data, message in (
        (BOMB.encode(), "more than 100,000 YAML nodes"),
        (b"a: 1\n---\nb: 2\n", "must hold one YAML document, found 2"),
        (b"#" * (LIMITS.max_bytes + 1), "too large"),
    ):
        with pytest.raises(InputError, match=re.escape(message)):
            load(data, "f.yaml")


# ---------------------------------------------------------------------------------------------- any text at all
TOKENS = [
    *"ab01:-[]{},&*!?|>'\"#% \n\t.~<=",
    "!!binary ",
    "!!int ",
    "!!set ",
    "&a ",
    "*a",
    "<<: ",
    "2026-02-30",
    "9" * 120,
    "\ufeff",
    "\x00",
    "\xe9",
    "\x07",
]
YAMLISH = st.lists(st.sampled_from(TOKENS), max_size=40).map("".join)


@settings(max_examples=500)
@given(text=YAMLISH)
def test_the_reader_raises_nothing_but_input_error(text: str) -> None:
    """Whatever the bytes, the reader returns plain documents or raises `InputError` (one line) — never a
    ruamel, Unicode, recursion or conversion error."""
    try:
        docs = load_bytes(text.encode("utf-8", "surrogatepass"), "f.yaml")
    except InputError as err:
        assert err.line.startswith("f.yaml: ") and "\n" not in err.line
        return
    assert all(_plain(doc) for doc in docs)


def _plain(value: Any) -> bool:
    """Only what JSON has: maps with scalar keys, lists, strings, numbers, booleans, null."""
    if isinstance(value, dict):
        return all(isinstance(k, (str, int, float, bool, type(None))) and _plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    return isinstance(value, (str, int, float, bool, type(None)))
