"""Import modules of a large package without running the `__init__` of every package above them.

The official Kubernetes client's top-level `__init__` imports every subsystem it has — kube_config (with
oauthlib, requests and PyYAML), the dynamic client, watch, stream, informers, leader election — and its
`ApiClient` imports pydantic. That is about 0.4 s of a CronJob tick's start-up, spent on code an in-cluster
tick never runs: it needs `kubernetes.client.configuration`, `kubernetes.client.rest` and
`kubernetes.config.incluster_config`, which are small.

`deferring(root)` imports with every package under `root` made a *deferred package*: the real package
module, with its `__path__` and spec set (so its submodules import as usual), whose `__init__` runs in place
the first time anything else is looked up on it. Nothing is stubbed or copied: code that later does
`from kubernetes import config` or reads `kubernetes.__version__` gets the complete package, initialised
by its own `__init__`.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import threading
import types
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

_lock = threading.RLock()  # one completion at a time; another thread asking meanwhile waits for it


class DeferredPackage(types.ModuleType):
    """A package module whose `__init__` has not run yet; it runs on the first missing attribute."""

    def __getattr__(self, name: str) -> Any:
        complete(self)
        if type(self) is DeferredPackage:  # its `__init__` is running in this thread: the name is not set yet
            raise AttributeError(f"partially initialized module {self.__name__!r} has no attribute {name!r}")
        return getattr(self, name)


def complete(module: types.ModuleType) -> None:
    """Run a deferred package's own `__init__` in its module (no-op for any other module, and while that
    `__init__` is already running in this thread). The module is a plain module once `__init__` has run."""
    with _lock:
        if type(module) is not DeferredPackage or module.__dict__.get("__completing__"):
            return
        spec = module.__spec__
        assert spec is not None and isinstance(spec.loader, _DeferringLoader)
        real = spec.loader.real
        spec.loader = module.__loader__ = real
        module.__dict__["__completing__"] = True
        try:
            real.exec_module(module)
        finally:
            del module.__dict__["__completing__"]
            module.__class__ = types.ModuleType


class _DeferringLoader(importlib.abc.Loader):
    def __init__(self, real: importlib.abc.Loader) -> None:
        self.real = real

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType | None:
        return None  # the default module object; exec_module turns it into a DeferredPackage

    def exec_module(self, module: types.ModuleType) -> None:
        module.__class__ = DeferredPackage


class _DeferringFinder(importlib.abc.MetaPathFinder):
    """Finds packages under `root` as usual, then hands them to a loader that defers their `__init__`."""

    def __init__(self, root: str) -> None:
        self.root = root

    def find_spec(
        self, name: str, path: Sequence[str] | None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if name != self.root and not name.startswith(self.root + "."):
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.submodule_search_locations is None or spec.loader is None:
            return spec  # a plain module (or not found): imported as usual
        spec.loader = _DeferringLoader(spec.loader)
        return spec


@contextmanager
def deferring(root: str) -> Iterator[None]:
    """Within this block, packages under `root` imported for the first time are deferred packages."""
    finder = _DeferringFinder(root)
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)


def import_deferred(*names: str) -> list[types.ModuleType]:
    """Import `names` (modules under one root package) with the packages above them deferred."""
    roots = {name.partition(".")[0] for name in names}
    if len(roots) != 1:
        raise ValueError(f"modules of one package expected, got {sorted(roots)}")
    with deferring(roots.pop()):
        return [importlib.import_module(name) for name in names]
