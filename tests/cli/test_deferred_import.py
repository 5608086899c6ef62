"""`cronjob.shared.deferred_import`: submodules import without their packages' `__init__`, which runs, once, on the first
other use — and the official Kubernetes client, imported that way, is the complete client when asked."""

from __future__ import annotations

import importlib
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from cronjob.shared.deferred_import import DeferredPackage, deferring, import_deferred

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def fakepkg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, list[str]]]:
    """A package `fakepkg_<n>` whose `__init__`s record that they ran (into a list the test reads):
    fakepkg/__init__.py (defines HEAVY), fakepkg/sub/__init__.py, fakepkg/sub/leaf.py (defines VALUE)."""
    name = f"fakepkg_{tmp_path.name.replace('-', '_')}"
    ran: list[str] = []
    root = tmp_path / name
    (root / "sub").mkdir(parents=True)
    record = "import builtins; builtins._deferred_import_test_ran.append(__name__)\n"
    (root / "__init__.py").write_text(record + "HEAVY = 'loaded'\nfrom . import sub\n")
    (root / "sub" / "__init__.py").write_text(record + "SUB = 'sub loaded'\n")
    (root / "sub" / "leaf.py").write_text(record + "VALUE = 42\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr("builtins._deferred_import_test_ran", ran, raising=False)
    yield name, ran
    for module in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
        del sys.modules[module]


def test_a_submodule_imports_without_running_the_packages_above_it(fakepkg: tuple[str, list[str]]) -> None:
    name, ran = fakepkg
    (leaf,) = import_deferred(f"{name}.sub.leaf")
    assert leaf.VALUE == 42
    assert ran == [f"{name}.sub.leaf"]
    assert isinstance(sys.modules[name], DeferredPackage)
    assert isinstance(sys.modules[f"{name}.sub"], DeferredPackage)


def test_the_first_other_use_of_a_package_runs_its_init_once(fakepkg: tuple[str, list[str]]) -> None:
    name, ran = fakepkg
    import_deferred(f"{name}.sub.leaf")
    package = sys.modules[name]
    assert package.HEAVY == "loaded"
    assert package.HEAVY == "loaded"
    assert ran == [f"{name}.sub.leaf", name]
    assert type(package) is type(sys)  # a plain module again
    assert package.sub is sys.modules[f"{name}.sub"]


def test_from_import_completes_the_package(fakepkg: tuple[str, list[str]]) -> None:
    name, ran = fakepkg
    import_deferred(f"{name}.sub.leaf")
    namespace: dict[str, object] = {}
    exec(f"from {name}.sub import SUB", namespace)
    assert namespace["SUB"] == "sub loaded"
    assert ran == [f"{name}.sub.leaf", f"{name}.sub"]


def test_threads_asking_at_once_all_get_the_complete_package(fakepkg: tuple[str, list[str]]) -> None:
    name, ran = fakepkg
    import_deferred(f"{name}.sub.leaf")
    package = sys.modules[name]
    start = threading.Barrier(8)
    seen: list[str] = []

    def ask() -> None:
        start.wait()
        seen.append(package.HEAVY)

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == ["loaded"] * 8
    assert ran.count(name) == 1


def test_a_package_init_reading_its_own_missing_name_gets_an_attribute_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As for any module being initialized: no endless recursion through the deferral."""
    root = tmp_path / "selfref_pkg"
    root.mkdir()
    (root / "__init__.py").write_text(
        "import sys\ntry:\n    sys.modules[__name__].LATER\nexcept AttributeError as err:\n    SEEN = str(err)\nLATER = 1\n"
    )
    (root / "leaf.py").write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        import_deferred("selfref_pkg.leaf")
        package = sys.modules["selfref_pkg"]
        assert package.LATER == 1
        assert "has no attribute 'LATER'" in package.SEEN
    finally:
        for module in [m for m in sys.modules if m.split(".")[0] == "selfref_pkg"]:
            del sys.modules[module]


def test_a_missing_name_is_still_an_attribute_error(fakepkg: tuple[str, list[str]]) -> None:
    name, _ = fakepkg
    import_deferred(f"{name}.sub.leaf")
    with pytest.raises(AttributeError):
        sys.modules[name].NOT_THERE  # noqa: B018


def test_imports_outside_the_block_are_ordinary(fakepkg: tuple[str, list[str]]) -> None:
    name, ran = fakepkg
    with deferring("some_other_package"):
        importlib.import_module(f"{name}.sub.leaf")
    assert ran == [name, f"{name}.sub", f"{name}.sub.leaf"]  # ordinary: every __init__ ran on the way
    assert not any(type(f).__name__ == "_DeferringFinder" for f in sys.meta_path)


def test_names_from_two_packages_are_refused() -> None:
    with pytest.raises(ValueError, match="one package"):
        import_deferred("json.decoder", "email.utils")


def test_the_kubernetes_client_imported_deferred_is_the_complete_client_when_asked() -> None:
    """In a fresh interpreter (this one has imported `kubernetes` already): the tick's modules load without
    kube_config, the dynamic client or pydantic; afterwards the package is whole."""
    script = textwrap.dedent(
        """
        import sys
        from cronjob.shared.deferred_import import import_deferred
        rest, configuration, incluster = import_deferred(
            "kubernetes.client.rest", "kubernetes.client.configuration", "kubernetes.config.incluster_config")
        rest.RESTClientObject(configuration.Configuration())
        heavy = [m for m in ("kubernetes.config.kube_config", "kubernetes.dynamic", "kubernetes.watch",
                             "kubernetes.client.api_client", "pydantic", "yaml", "oauthlib") if m in sys.modules]
        print("heavy before:", heavy)
        import kubernetes
        from kubernetes import config, client
        print("version:", kubernetes.__version__)
        print("load_kube_config:", callable(config.load_kube_config))
        print("ApiClient:", client.ApiClient.__name__)
        print("watch:", kubernetes.watch.Watch.__name__)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out[0] == "heavy before: []"
    assert out[1].startswith("version: ") and out[1] != "version: "
    assert out[2:] == ["load_kube_config: True", "ApiClient: ApiClient", "watch: Watch"]
