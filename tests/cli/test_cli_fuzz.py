"""The CLI's output contract under fuzzing (issue 12): whatever the files and flags, every command ends with exit
status 0, 1 or 2, never a traceback, never a hang, never a credential in its output, and a bad-input exit (2)
is one line on stderr with nothing on stdout.

Hypothesis mutates the seed's files (the Canary, `--cluster`, `--scenario`, `--metrics`) at two levels: a node
of the parsed document replaced by a hostile value (an impossible date, a 5,000-digit integer, year 9999, NaN,
a URL carrying a password), or the text itself damaged (truncated, a snippet spliced in, an alias bomb, deep
nesting, not UTF-8). Flags are drawn from hostile values too. Runs in process (click's CliRunner), derandomized,
so CI is reproducible. The classes of input tried are tabled in docs/cli.md ("Bad input").
"""

from __future__ import annotations

import copy
import json
import os
import random
import signal
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from hypothesis import given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from cronjob.cli import main

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "fixtures" / "seed"
SECRETS = ("hunter2", "s3cr3t-token", "pathtoken")
HOSTILE_URL = "https://admin:hunter2@prom.example.com:9090/pathtoken/api?token=s3cr3t-token"


HOSTILE_VALUES: list[Any] = [
    "2026-02-30",
    "2026-11-27T24:00:00Z",
    "9999-12-31T23:59:59Z",
    "0001-01-01T00:00:00Z",
    10**5000 - 1,
    -1,
    0,
    2**63,
    1e308,
    float("nan"),
    float("inf"),
    None,
    "",
    "\x00",
    "ünïcødé",
    "🐛" * 50,
    HOSTILE_URL,
    [],
    {},
    [[[[[[]]]]]],
    {"a": {"b": {"c": None}}},
    True,
    "99999999999999m",
    "-10s",
    "1.5",
    "x" * 100_000,
]

TEXT_DAMAGE: dict[str, Callable[[str, random.Random], bytes]] = {
    "truncated": lambda text, rng: text[: rng.randrange(len(text))].encode(),
    "alias-bomb": lambda text, rng: (
        text
        + "\nbomb: &a ["
        + ",".join(["x"] * 10)
        + "]\n"
        + "".join(f"b{i}: &b{i} [" + ",".join([f"*{'a' if i == 0 else f'b{i - 1}'}"] * 10) + "]\n" for i in range(9))
    ).encode(),
    "deep-nesting": lambda text, rng: (text + "\ndeep: " + "[" * 5000 + "]" * 5000 + "\n").encode(),
    "latin-1": lambda text, rng: (text + "\n# café naïve\n").encode("latin-1"),
    "utf-16": lambda text, rng: text.encode("utf-16"),
    "nul-bytes": lambda text, rng: text.replace("\n", "\n\x00", 3).encode(),
    "spliced-snippet": lambda text, rng: _splice(text, rng).encode(),
    "tabs": lambda text, rng: text.replace("  ", "\t", 5).encode(),
    "duplicate-document": lambda text, rng: (text + "\n---\n" + text).encode(),
    "bare-scalar": lambda text, rng: b"42\n",
    "empty": lambda text, rng: b"",
}

SNIPPETS = [
    "key: [unclosed",
    "? complex\n: key",
    "*undefined_alias",
    "!!python/object:os.system ls",
    "a: !!binary AAAA",
    "%YAML 9.9",
    "{{{{",
    "- - - -",
    "ts: 2026-13-45T99:99:99Z",
    f"url: {HOSTILE_URL}",
]


def _splice(text: str, rng: random.Random) -> str:
    lines = text.splitlines()
    lines.insert(rng.randrange(len(lines) + 1), rng.choice(SNIPPETS))
    return "\n".join(lines) + "\n"


def _yaml() -> YAML:
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    return yaml


def _documents(path: Path) -> list[Any]:
    return [d for d in _yaml().load_all(path.read_text()) if d is not None]


def _nodes(tree: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from _nodes(value, (*path, key))
    elif isinstance(tree, list):
        for index, value in enumerate(tree):
            yield from _nodes(value, (*path, index))


def _replace(tree: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    tree = copy.deepcopy(tree)
    node = tree
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return tree


def _dump(documents: list[Any]) -> bytes:
    from io import StringIO

    out = StringIO()
    yaml = _yaml()
    yaml.width = 10**9
    yaml.dump_all(documents, out)
    return out.getvalue().encode()


@st.composite
def damaged_file(draw: st.DrawFn, path: Path) -> tuple[str, bytes]:
    """(how it was damaged, the bytes)."""
    text = path.read_text()
    if draw(st.booleans()):
        documents = _documents(path)
        index = draw(st.integers(0, len(documents) - 1))
        nodes = list(_nodes(documents[index]))
        where = draw(st.sampled_from(nodes[1:] or nodes))
        value = draw(st.sampled_from(range(len(HOSTILE_VALUES))))
        documents[index] = _replace(documents[index], where, HOSTILE_VALUES[value])
        try:
            return f"node {'.'.join(map(str, where))} := #{value}", _dump(documents)
        except Exception:
            pass
    damage = draw(st.sampled_from(sorted(TEXT_DAMAGE)))
    seed = draw(st.integers(0, 2**16))
    return f"text {damage}", TEXT_DAMAGE[damage](text, random.Random(seed))


class Hung(Exception):
    pass


@contextmanager
def at_most(seconds: int) -> Iterator[None]:
    """Fails a call that hangs (a limit far above any normal run, to catch a hang, not to time anything)."""

    def expired(*_: Any) -> None:
        raise Hung(f"no answer in {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def invoke(args: list[str], cwd: Path) -> Result:
    """Run a command in an empty working directory and check that it wrote nothing there."""
    with at_most(60), tempfile.TemporaryDirectory(dir=cwd) as work:
        here = os.getcwd()
        os.chdir(work)
        try:
            result = CliRunner().invoke(main, args)
            written = list(Path(".").rglob("*"))
        finally:
            os.chdir(here)
    assert not written, f"{args}: wrote {written}"
    return result


def assert_contract(result: Result, what: str) -> None:
    """Exit 0, 1 or 2; no traceback; no credential; on exit 2, one stderr line and nothing on stdout."""
    exc = result.exception
    assert exc is None or isinstance(exc, SystemExit), f"{what}: {type(exc).__name__}: {exc}"
    assert result.exit_code in (0, 1, 2), f"{what}: exit {result.exit_code}\n{result.output}"
    everything = result.stdout + result.stderr
    assert "Traceback" not in everything, f"{what}:\n{everything}"
    for secret in SECRETS:
        assert secret not in result.stderr, f"{what}: {secret!r} printed:\n{result.stderr}"
    if what.startswith(
        ("tick", "history")
    ):  # their stdout is log lines; render and simulate print the user's own Canary
        for secret in SECRETS:
            assert secret not in result.stdout, f"{what}: {secret!r} printed:\n{result.stdout}"
    if result.exit_code == 2:
        if what.startswith(("tick", "history")) and not result.stderr:  # tick: its one line is a JSON log line
            lines = result.stdout.splitlines()
            assert len(lines) == 1 and json.loads(lines[0])["level"] == "error", f"{what}:\n{result.stdout}"
            return
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, f"{what}: {len(lines)} lines on stderr:\n{result.stderr}"
        assert result.stdout == "", f"{what}: stdout on a bad-input exit:\n{result.stdout[:500]}"


FILES = {
    "canary": SEED / "podinfo-canary.yaml",
    "cluster": SEED / "cluster.yaml",
    "scenario": SEED / "scenario-healthy.yaml",
}


def seed_args(command: str, files: dict[str, Path]) -> list[str]:
    canary = [str(files["canary"])]
    cluster = ["--cluster", str(files["cluster"])]
    if command == "validate":
        return ["validate", *canary]
    if command == "render":
        return ["render", *canary, *cluster, "--mesh-provider", "smi:istio", "--now", "2026-11-27T10:00:00Z"]
    return [
        "simulate",
        *canary,
        *cluster,
        "--scenario",
        str(files["scenario"]),
        "--mesh-provider",
        "smi:istio",
        "-o",
        "json",
    ]


@pytest.mark.parametrize("command", ["validate", "render", "simulate"])
@pytest.mark.parametrize("which", sorted(FILES))
@settings(max_examples=120)
@given(data=st.data())
def test_a_damaged_file_ends_in_the_output_contract(
    tmp_path: Path, command: str, which: str, data: st.DataObject
) -> None:
    if command == "validate" and which != "canary":
        return  # validate reads only Canaries
    if command == "render" and which == "scenario":
        return
    how, content = data.draw(damaged_file(FILES[which]))
    damaged = tmp_path / f"{which}.yaml"
    damaged.write_bytes(content)
    files = {**FILES, which: damaged}
    assert_contract(invoke(seed_args(command, files), tmp_path), f"{command} with {which} {how}")


FLAG_VALUES = st.sampled_from(
    [
        "",
        "x",
        "-1",
        "0",
        "9" * 400,
        "2026-02-30T00:00:00Z",
        "9999-12-31T23:59:59Z",
        "0001-01-01T00:00:00Z",
        "nan",
        HOSTILE_URL,
        "smi:nope",
        "../../etc/passwd",
        "\x7f",
        "main.lock",
    ]
)


@pytest.mark.parametrize(
    "flag",
    ["--now", "--mesh-provider", "--prometheus", "-o", "--selector-labels", "--include-label-prefix"],
)
@settings(max_examples=120)
@given(value=FLAG_VALUES)
def test_a_hostile_flag_ends_in_the_output_contract(tmp_path: Path, flag: str, value: str) -> None:
    for command in ("render", "simulate"):
        args = seed_args(command, FILES)
        if flag in args:
            at = args.index(flag)
            args = [*args[:at], *args[at + 2 :]]
        assert_contract(invoke([*args, flag, value], tmp_path), f"{command} {flag} {value!r}")


@pytest.mark.parametrize(
    "flag", ["--git-branch", "--git-path", "--now", "--budget", "--concurrency", "--request-timeout"]
)
@settings(max_examples=120)
@given(value=FLAG_VALUES)
def test_a_hostile_tick_flag_ends_in_the_output_contract(tmp_path: Path, flag: str, value: str) -> None:
    """Flags of `tick` and `history` that are checked before anything is read or written (a repository path
    that does not exist: nothing is cloned or pushed)."""
    repo = tmp_path / "no-such-remote.git"
    for args in (
        ["tick", "--once", "--no-cluster", "--git-repo", str(repo), "--mesh-provider", "smi:istio", flag, value],
        ["history", "--git-repo", str(repo), flag, value],
    ):
        result = invoke(args, tmp_path)
        assert_contract(result, f"{args[0]} {flag} {value!r}")
