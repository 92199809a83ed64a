"""Digest of the code that produced a result, so caches notice when it changes.

A cached case or result row is valid only for the code that made it: a
plugin file, a shared solver, a calibrated constant in ``bench/solve/rules.py``.
:func:`code_digest` hashes the source files of the given modules and of every
``bench`` module they import, followed through their own imports (read from
the source with :mod:`ast`, nothing executed), so an edit anywhere in that
closure changes the digest while edits elsewhere (the report, the CLI) do
not. Third-party libraries are not hashed: their versions are in each run's
``manifest.json``.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib.util
import sys
from pathlib import Path

__all__ = ["code_digest", "module_closure"]

_OWN_PACKAGES = ("bench",)


def code_digest(*modules: str) -> str:
    """sha256 (12 hex digits) of the sources of ``modules`` and the ``bench`` modules they import.

    Parameters
    ----------
    modules : str
        Importable module names (``bench.methods.wiener``, ``bench.score.case``)
        or module names already in :data:`sys.modules` (plugins loaded from a
        folder).
    """
    files: set[Path] = set()
    for module in modules:
        files |= module_closure(module)
    digest = hashlib.sha256()
    for path in sorted(files, key=lambda p: (p.name, str(p))):
        digest.update(path.name.encode() + b"\0" + _source(path, *_stamp(path)) + b"\0")
    return digest.hexdigest()[:12]


def module_closure(module: str) -> set[Path]:
    """Source files of ``module`` and, transitively, of every ``bench`` module it imports."""
    seen: set[Path] = set()
    pending = [module]
    while pending:
        path = _module_file(pending.pop())
        if path is None or path in seen:
            continue
        seen.add(path)
        pending.extend(_imports(path, *_stamp(path)))
    return seen


def _stamp(path: Path) -> tuple[int, int]:
    """Modification time and size: the cache key of a file's parse (an edit changes it)."""
    stat = path.stat()
    return stat.st_mtime_ns, stat.st_size


def _module_file(name: str) -> Path | None:
    """The source file of a module, from :data:`sys.modules` or its import spec; None if not Python source."""
    module = sys.modules.get(name)
    origin = getattr(module, "__file__", None)
    if origin is None:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            return None
        origin = spec.origin if spec is not None else None
    return Path(origin).resolve() if origin and origin.endswith(".py") else None


@functools.lru_cache(maxsize=1024)
def _source(path: Path, mtime_ns: int, size: int) -> bytes:
    return path.read_bytes()


@functools.lru_cache(maxsize=1024)
def _imports(path: Path, mtime_ns: int, size: int) -> tuple[str, ...]:
    """The ``bench`` modules a source file imports (``from bench.physics import psfs`` gives ``bench.physics.psfs``)."""
    tree = ast.parse(_source(path, mtime_ns, size), filename=str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
            names += [f"{node.module}.{alias.name}" for alias in node.names]  # submodules imported by name
    own = [name for name in names if name.split(".")[0] in _OWN_PACKAGES]
    # A module's parent packages run on import too (bench/__init__.py).
    parents = {".".join(name.split(".")[:i]) for name in own for i in range(1, name.count(".") + 1)}
    return tuple(sorted(set(own) | parents))
