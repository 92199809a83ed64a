"""Discover, validate and look up method and dataset plugins.

Built-in plugins are the modules of ``bench.methods`` and ``bench.datasets``
(the ``methods/`` and ``datasets/`` folders); third-party packages add theirs
through the entry-point groups ``deconv_bench.methods`` and
``deconv_bench.datasets``, each entry point naming the plugin class; plugin
folders given to :func:`load_registry` (``bench run --plugins DIR``) add the
``Method`` or ``Dataset`` class of each of their ``*.py`` files. A plugin that
fails to import or to validate is recorded with its source and error and the
others still load.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.abc
import importlib.machinery
import importlib.metadata
import importlib.util
import inspect
import pkgutil
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, cast

from bench.api import BaseDataset, BaseMethod

__all__ = ["BrokenPlugin", "Registry", "UnknownPluginError", "load_registry"]

#: Package under which plugins from folders are imported (``deconv_bench_plugins.<stem>_<folder hash>``).
FOLDER_PACKAGE = "deconv_bench_plugins"

_GROUPS = {"method": "deconv_bench.methods", "dataset": "deconv_bench.datasets"}
_PACKAGES = {"method": "bench.methods", "dataset": "bench.datasets"}
_CLASS_NAMES = {"method": "Method", "dataset": "Dataset"}
_BASES = {"method": BaseMethod, "dataset": BaseDataset}


class UnknownPluginError(ValueError):
    """A method or dataset name that no plugin registered."""


@dataclass(frozen=True)
class BrokenPlugin:
    """A plugin that could not be loaded: where it came from and why."""

    kind: str
    source: str
    error: str


@dataclass
class Registry:
    """Every loaded plugin by name, and every plugin that failed to load."""

    methods: dict[str, type[BaseMethod]] = field(default_factory=dict)
    datasets: dict[str, type[BaseDataset]] = field(default_factory=dict)
    broken: list[BrokenPlugin] = field(default_factory=list)

    def method(self, name: str) -> type[BaseMethod]:
        """The method class called ``name``."""
        return self._lookup("method", self.methods, name)

    def dataset(self, name: str) -> type[BaseDataset]:
        """The dataset class called ``name``."""
        return self._lookup("dataset", self.datasets, name)

    def _lookup(self, kind: str, table: dict[str, type], name: str) -> type:
        if name in table:
            return table[name]
        hint = [b for b in self.broken if b.kind == kind and name.replace("-", "_") in b.source]
        reason = f" ({hint[0].source} failed to load: {hint[0].error.splitlines()[-1]})" if hint else ""
        raise UnknownPluginError(f"unknown {kind} {name!r}{reason}; available: {', '.join(sorted(table)) or 'none'}")

    def add(self, kind: str, plugin: object, source: str, stem: str | None = None) -> None:
        """Validate ``plugin`` and register it, or record why it was rejected."""
        table: dict[str, Any] = self.methods if kind == "method" else self.datasets
        checked = cast("type[BaseMethod] | type[BaseDataset]", plugin)  # once _validate has passed
        try:
            _validate(kind, plugin, stem)
            if checked.name in table:
                raise ValueError(
                    f"duplicate {kind} name {checked.name!r}, already registered by "
                    f"{cast(ModuleType, inspect.getmodule(table[checked.name])).__name__}; rename one of them"
                )
        except (TypeError, ValueError) as error:
            self.broken.append(BrokenPlugin(kind, source, str(error)))
            return
        table[checked.name] = checked


#: The arguments of every method's ``run``, whatever its track: the runner passes all three.
RUN_ARGUMENTS = ["self", "y", "psf", "optics"]


def _validate(kind: str, plugin: object, stem: str | None) -> None:
    """Raise with a fix if ``plugin`` breaks the contract of ``bench.api``."""
    base = _BASES[kind]
    if not (isinstance(plugin, type) and issubclass(plugin, base)):
        raise TypeError(f"expected a subclass of {base.__name__}, got {plugin!r}")
    name = getattr(plugin, "name", None)
    if not isinstance(name, str) or not name:
        raise TypeError(f"{plugin.__name__} must set a class attribute name = '<{kind} name>'")
    if stem is not None and name.replace("-", "_") != stem:
        raise ValueError(f"{kind} name {name!r} does not match its file {stem}.py; rename one so they agree")
    init = getattr(plugin, "__init__")  # the class's own, not an instance's (mypy: misc)
    own_init = init is not object.__init__
    for parameter in inspect.signature(init).parameters.values() if own_init else ():
        if parameter.name == "self":
            continue
        if parameter.kind is not inspect.Parameter.KEYWORD_ONLY:
            raise TypeError(
                f"{name}: __init__ argument {parameter.name!r} must be keyword-only (put it after *; "
                "no *args or **kwargs, which would swallow misspelt parameters)"
            )
        if kind == "method" and parameter.default is inspect.Parameter.empty:
            raise TypeError(f"{name}: __init__ argument {parameter.name!r} needs a default value")
    if kind == "method":
        if not isinstance(plugin.__dict__.get("blind", getattr(plugin, "blind", None)), bool):
            raise TypeError(f"{name}: class attribute blind must be True or False")
        run_args = list(inspect.signature(cast("type[BaseMethod]", plugin).run).parameters.values())
        if [p.name for p in run_args] != RUN_ARGUMENTS or any(p.default is not p.empty for p in run_args):
            got = ", ".join(str(p) for p in run_args)
            raise TypeError(
                f"{name}: run must be defined as run(self, y, psf, optics), the one signature of every method "
                f"(psf and optics are None where its track does not show them); got run({got})"
            )


def _load_builtins(registry: Registry, kind: str) -> None:
    package = importlib.import_module(_PACKAGES[kind])
    for module_info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        stem = module_info.name
        if stem.startswith("_") or stem.startswith("template_"):
            continue
        source = f"{package.__name__.replace('bench.', '')}/{stem}.py"
        try:
            module = importlib.import_module(f"{package.__name__}.{stem}")
            plugin = getattr(module, _CLASS_NAMES[kind])
        except Exception:  # a broken plugin file must not stop the others
            registry.broken.append(BrokenPlugin(kind, source, traceback.format_exc(limit=-1).strip()))
            continue
        registry.add(kind, plugin, source, stem)


def _load_entry_points(registry: Registry, kind: str) -> None:
    for entry_point in importlib.metadata.entry_points(group=_GROUPS[kind]):
        source = f"entry point {entry_point.name} = {entry_point.value}"
        try:
            plugin = entry_point.load()
        except Exception:
            registry.broken.append(BrokenPlugin(kind, source, traceback.format_exc(limit=-1).strip()))
            continue
        registry.add(kind, plugin, source)


def _load_folder(registry: Registry, folder: str) -> None:
    """Import each ``*.py`` of ``folder`` (not ``_*``) and register its ``Method`` and ``Dataset`` classes."""
    directory = Path(folder)
    if not directory.is_dir():
        registry.broken.append(BrokenPlugin("method", folder, f"plugin folder {folder} does not exist"))
        return
    for path in sorted(directory.glob("*.py")):
        if path.stem.startswith("_"):
            continue
        name = f"{FOLDER_PACKAGE}.{path.stem}_{hashlib.sha256(str(directory.resolve()).encode()).hexdigest()[:8]}"
        try:
            # a *.py path always has a spec and a source loader
            spec = cast(importlib.machinery.ModuleSpec, importlib.util.spec_from_file_location(name, path))
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            cast(importlib.abc.Loader, spec.loader).exec_module(module)
        except Exception:
            sys.modules.pop(name, None)
            registry.broken.append(BrokenPlugin("method", str(path), traceback.format_exc(limit=-1).strip()))
            continue
        for kind, class_name in _CLASS_NAMES.items():
            if hasattr(module, class_name):
                registry.add(kind, getattr(module, class_name), str(path), path.stem)


def load_registry(plugin_folders: tuple[str, ...] = ()) -> Registry:
    """Load every built-in and entry-point plugin, and those of ``plugin_folders``, once per process."""
    return _cached_registry(tuple(plugin_folders))


@functools.cache
def _cached_registry(plugin_folders: tuple[str, ...]) -> Registry:
    registry = Registry()
    for kind in ("method", "dataset"):
        _load_builtins(registry, kind)
        _load_entry_points(registry, kind)
    for folder in plugin_folders:
        _load_folder(registry, folder)
    return registry


# load_registry.cache_clear(): reload after installing a plugin (setattr: a function has no such attribute to mypy)
setattr(load_registry, "cache_clear", _cached_registry.cache_clear)
