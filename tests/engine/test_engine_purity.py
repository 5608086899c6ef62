"""The engine is pure: no I/O, no clock, no randomness, no environment — proven four ways.

(a) every `engine/*.py` imports only from an allow-list of pure standard-library modules and engine itself;
(b) no engine source calls the clock, the environment, randomness, uuid4 or open();
(c) a whole seed rollout is decided while the clock, environment, randomness, files and sockets all raise;
(d) the import-linter contracts in pyproject.toml hold (`lint-imports` exits 0).
"""

from __future__ import annotations

import ast
import builtins
import os
import random
import socket
import subprocess
import sys
import threading
import time
import uuid
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from unittest import mock

import pytest

from harness.paths import ROOT, SEED

ENGINE = ROOT / "engine"
ENGINE_FILES = sorted(ENGINE.rglob("*.py"))  # sub-packages too

# Pure standard-library modules: no I/O, clock, randomness or environment. (`functools` is here for
# `lru_cache`/`cached_property`, whose caches change speed, never results.)
PURE_STDLIB = {
    "__future__",
    "collections",
    "dataclasses",
    "enum",
    "typing",
    "re",
    "json",
    "hashlib",
    "hmac",
    "copy",
    "math",
    "datetime",
    "functools",
}


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) for every import, relative imports resolved against the module's own package."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = list(path.relative_to(ROOT).parts[:-1]) if path.is_relative_to(ROOT) else []  # ["engine", "routers"]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)] if node.level - 1 < len(package) else []
                found.append((node.lineno, ".".join([*base, *([node.module] if node.module else [])]) or "."))
            else:
                found.append((node.lineno, node.module or ""))
    return found


def test_engine_has_modules() -> None:
    assert len(ENGINE_FILES) > 5, "engine/*.py not found: the purity scan would prove nothing"


@pytest.mark.parametrize("path", ENGINE_FILES, ids=_rel)
def test_engine_module_imports_only_pure_modules(path: Path) -> None:
    bad = [
        f"{_rel(path)}:{line}: import {module}"
        for line, module in _imports(path)
        if module.split(".")[0] not in PURE_STDLIB and not (module == "engine" or module.startswith("engine."))
    ]
    assert not bad, "engine imports outside the pure allow-list:\n" + "\n".join(bad)


# Calls that read the clock, the environment or randomness, by fully qualified name (after resolving the
# file's imports: `from datetime import datetime` makes `datetime.now` mean `datetime.datetime.now`).
FORBIDDEN_CALLS = {
    "datetime.datetime.now",
    "datetime.datetime.utcnow",
    "datetime.datetime.today",
    "datetime.date.today",
    "os.getenv",
    "os.urandom",
    "os.getpid",
    "uuid.uuid1",
    "uuid.uuid4",
    "builtins.open",
}
FORBIDDEN_MODULES = ("time", "random", "secrets", "os", "socket", "subprocess", "uuid")  # any call into these
FORBIDDEN_BUILTINS = {"open", "input", "print", "breakpoint", "exec", "eval", "__import__"}


def _dotted(node: ast.AST) -> list[str]:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return list(reversed(parts))


def _aliases(tree: ast.AST) -> dict[str, str]:
    """Local name -> fully qualified name, from the file's import statements."""
    out: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                out[alias.asname or alias.name.split(".")[0]] = alias.name if alias.asname else alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            for alias in node.names:
                out[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return out


def outside_world_calls(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    aliases = _aliases(tree)
    bad: list[str] = []
    for node in ast.walk(tree):
        dotted = _dotted(node) if isinstance(node, ast.Attribute) else []
        if dotted and dotted[0] in aliases and ".".join([aliases[dotted[0]], *dotted[1:]]) == "os.environ":
            bad.append(f"{path.name}:{node.lineno}: os.environ")
        if not isinstance(node, ast.Call):
            continue
        dotted = _dotted(node.func)
        if not dotted:
            continue
        if len(dotted) == 1 and dotted[0] in FORBIDDEN_BUILTINS and dotted[0] not in aliases:
            bad.append(f"{path.name}:{node.lineno}: {dotted[0]}()")
            continue
        if dotted[0] not in aliases:
            continue  # a local variable or parameter (`self.now`, `secrets.append`)
        qualified = ".".join([aliases[dotted[0]], *dotted[1:]])
        if qualified in FORBIDDEN_CALLS or qualified.split(".")[0] in FORBIDDEN_MODULES:
            bad.append(f"{path.name}:{node.lineno}: {qualified}()")
    return bad


@pytest.mark.parametrize("path", ENGINE_FILES, ids=_rel)
def test_engine_module_calls_no_clock_environment_randomness_or_files(path: Path) -> None:
    bad = outside_world_calls(path)
    assert not bad, f"{_rel(path)} reaches for the outside world:\n" + "\n".join(bad)


def test_the_scanner_catches_what_it_should(tmp_path: Path) -> None:
    """The two scans above flag these lines (so a silent pass means something), and not local names."""
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import os\nimport time\nfrom random import random\nfrom datetime import datetime, date\nimport uuid\n"
        "x = datetime.now()\ny = os.environ['HOME']\nz = time.time()\nopen('f')\nrandom()\n"
        "d = date.today()\nu = uuid.uuid4()\nsecrets = []\nsecrets.append(1)\nself_now = x.now\n"
    )
    assert {"os", "time", "random", "uuid"} <= {m for _, m in _imports(sample)}
    found = {line.split(": ", 1)[1] for line in outside_world_calls(sample)}
    assert found == {
        "datetime.datetime.now()",
        "os.environ",
        "time.time()",
        "open()",
        "random.random()",
        "datetime.date.today()",
        "uuid.uuid4()",
    }


# -------------------------------------------------------------------------------- (c) runtime proof
class ImpureCall(AssertionError):
    pass


def _trap(owner: object, name: str, what: str):
    """A patch of `owner.name` that raises in the thread under test. Other threads (the session's HTTP servers and
    Prometheus harness) keep the real function: the trap is for the engine, not for them."""
    original, test_thread = getattr(owner, name), threading.get_ident()

    def boom(*args, **kwargs):
        if threading.get_ident() != test_thread:
            return original(*args, **kwargs)
        raise ImpureCall(f"the engine called {what}")

    return mock.patch.object(owner, name, boom)


class _TrapDatetime(datetime):
    """`datetime` whose clock readers raise; engine modules see this class under the name `datetime`."""

    @classmethod
    def now(cls, tz=None):  # type: ignore[override]
        raise ImpureCall("the engine called datetime.now()")

    @classmethod
    def utcnow(cls):  # type: ignore[override]
        raise ImpureCall("the engine called datetime.utcnow()")

    @classmethod
    def today(cls):  # type: ignore[override]
        raise ImpureCall("the engine called datetime.today()")


def _impure_world_raises(stack: ExitStack) -> None:
    patches = [
        _trap(os._Environ, "__getitem__", "os.environ[...]"),
        _trap(os, "getenv", "os.getenv"),
        _trap(os, "urandom", "os.urandom"),
        _trap(random, "random", "random.random"),
        _trap(random, "randint", "random.randint"),
        _trap(random, "choice", "random.choice"),
        _trap(random, "getrandbits", "random.getrandbits"),
        _trap(uuid, "uuid4", "uuid.uuid4"),
        _trap(uuid, "uuid1", "uuid.uuid1"),
        _trap(time, "time", "time.time"),
        _trap(time, "time_ns", "time.time_ns"),
        _trap(time, "localtime", "time.localtime"),
        _trap(time, "sleep", "time.sleep"),
        _trap(builtins, "open", "open()"),
        _trap(socket, "socket", "socket.socket"),
        _trap(socket, "create_connection", "socket.create_connection"),
        _trap(subprocess, "Popen", "subprocess.Popen"),
    ]
    # Engine modules that imported `datetime` get the trap class instead (the C type itself cannot be patched).
    for name, module in sorted(sys.modules.items()):
        if (name == "engine" or name.startswith("engine.")) and getattr(module, "datetime", None) is datetime:
            patches.append(mock.patch.object(module, "datetime", _TrapDatetime))
    for patch in patches:
        stack.enter_context(patch)


def _seed_simulation():
    from cronjob.local.inputs import build_cluster, cluster_objects, read_canary, read_scenario
    from cronjob.local.simulation import SimulatedCluster, Simulation
    from engine import Settings

    canary = read_canary(str(SEED / "podinfo-canary.yaml"), "smi:istio")
    cluster = SimulatedCluster.of(build_cluster(cluster_objects(str(SEED / "cluster.yaml"))))
    scenario = read_scenario(str(SEED / "scenario-healthy.yaml"))
    return Simulation(canary, cluster, scenario, Settings(mesh_provider="smi:istio"), "scenario-healthy.yaml")


def test_a_whole_seed_rollout_is_decided_with_the_outside_world_unreachable() -> None:
    import engine.tick  # noqa: F401  (engine modules loaded before patching their `datetime`)

    reference = [r.as_json() for r in _seed_simulation().run()]
    simulation = _seed_simulation()  # files are read here, before the world is cut off
    with ExitStack() as stack:
        _impure_world_raises(stack)
        records = [r.as_json() for r in simulation.run()]
    assert records == reference
    assert records[-1]["phase"] == "Succeeded"
    assert any("Advance podinfo.test canary weight 50" in r["events"] for r in records)


def test_the_trap_really_traps() -> None:
    """The patches do bite (otherwise the test above would prove nothing)."""
    import engine.timefmt as timefmt

    with ExitStack() as stack:
        _impure_world_raises(stack)
        with pytest.raises(ImpureCall):
            time.time()
        with pytest.raises(ImpureCall):
            os.environ["PATH"]
        with pytest.raises(ImpureCall):
            open(__file__)  # noqa: SIM115 (must raise before opening)
        with pytest.raises(ImpureCall):
            timefmt.datetime.now()
        with pytest.raises(ImpureCall):
            socket.socket()


# -------------------------------------------------------------------------------- (d) import-linter
def test_import_linter_contracts_hold() -> None:
    lint = Path(sys.executable).parent / "lint-imports"
    if not lint.exists():
        lint = ROOT / ".venv" / "bin" / "lint-imports"
    assert lint.exists(), f"lint-imports not installed ({lint}); install import-linter into the venv"
    result = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"lint-imports exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
