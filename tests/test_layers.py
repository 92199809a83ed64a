"""The import graph of the code: no circle, layers that point one way, plugins that use only the core.

Read from the source with :mod:`ast` (every ``import``, also inside functions),
so a circle that Python tolerates through a late import still fails here.

The layers, from the bottom, are the sub-packages of ``bench/`` (:data:`LAYERS`):
a module imports its own layer and the layers below, never one above. The
plugins (``bench.methods``, ``bench.datasets``) sit above the maths they use
and below the registry that loads them; they never import each other: what
several plugins share lives in the core or in a ``_``-prefixed helper module.
Nor does a plugin reach another by its name, through the registry or an
import by a computed name, which the import graph cannot see. The report
reads run folders only through ``bench.run.runfolder``.

``python tests/test_layers.py`` prints the layers and what each imports.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PLUGIN_FOLDERS = {"methods": "bench.methods", "datasets": "bench.datasets"}
#: The layers from the bottom, each with the module prefixes it holds.
LAYERS = {
    "system": ("bench", "bench._compat", "bench.system", "bench.conf"),
    "contract": ("bench.api", "bench.checks"),
    "physics": ("bench.physics",),
    "scenes": ("bench.scenes",),
    "solve": ("bench.solve",),
    "score": ("bench.score",),
    "learn": ("bench.learn",),
    "plugin": tuple(PLUGIN_FOLDERS.values()),
    "registry": ("bench.registry", "bench.config"),
    "run": ("bench.run",),
    "report": ("bench.report",),
    "commands": ("bench.commands",),
}
RANK = {layer: rank for rank, layer in enumerate(LAYERS)}
#: What the report may import from the run layer: the run folder's reader alone.
REPORT_READS = "bench.run.runfolder"


def _modules() -> dict[str, Path]:
    """Module name -> file, for ``bench/`` and the plugin folders (which ``bench.methods`` and ``bench.datasets`` link to)."""
    modules = {}
    for path in sorted((ROOT / "bench").rglob("*.py")):
        if path.parent.name in PLUGIN_FOLDERS and path.parent.parent.name == "bench":
            continue  # the links: read below under their own folder
        parts = path.relative_to(ROOT).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    for folder, package in PLUGIN_FOLDERS.items():
        for path in sorted((ROOT / folder).glob("*.py")):
            modules[f"{package}.{path.stem}"] = path
    return modules


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """The modules of :data:`MODULES` that ``name`` imports (``from a import b`` counts ``a.b`` when it is a module)."""
    found = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else [])
                )
            targets = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        else:
            continue
        for target in targets:
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target and target != name and not (path.name == "__init__.py" and target.startswith(name + ".")):
                found.add(target)
    return found


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _layer(name: str) -> str:
    """The layer of a module: the one whose longest prefix names it."""
    matches = [
        (len(prefix), layer)
        for layer, prefixes in LAYERS.items()
        for prefix in prefixes
        if name == prefix or name.startswith(prefix + ".")
    ]
    if not matches:
        raise AssertionError(f"{name} is in no layer: add its sub-package to LAYERS")
    return max(matches)[1]


def layer_imports() -> dict[str, list[str]]:
    """Layer -> the layers its modules import, in layer order: the picture this test enforces."""
    found: dict[str, set[str]] = {layer: set() for layer in LAYERS}
    for name, targets in GRAPH.items():
        found[_layer(name)] |= {_layer(t) for t in targets} - {_layer(name)}
    return {layer: sorted(found[layer], key=RANK.get) for layer in LAYERS}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index, low, stack, on_stack, components = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def test_the_graph_is_read_from_every_module():
    assert {
        "bench.run.runner",
        "bench.report.html",
        "bench.run.runfolder",
        "bench.methods.wiener",
        "bench.datasets.smoke",
    } <= set(GRAPH)
    assert (
        "bench.run.runfolder" in GRAPH["bench.run.runner"] and "bench.system.measure" in GRAPH["bench.commands.timing"]
    )


def test_cycles_are_found_when_there_are_some():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_circle_anywhere():
    assert _cycles(GRAPH) == []


def test_every_module_has_a_layer_and_the_layers_are_the_folders():
    assert {_layer(name) for name in GRAPH} == set(LAYERS)
    packages = {p.name for p in (ROOT / "bench").iterdir() if (p / "__init__.py").is_file()}
    assert {f"bench.{p}" for p in packages} <= {prefix for prefixes in LAYERS.values() for prefix in prefixes}


@pytest.mark.parametrize("name", sorted(GRAPH))
def test_layers_point_one_way(name):
    layer = _layer(name)
    upward = sorted(t for t in GRAPH[name] if RANK[_layer(t)] > RANK[layer])
    assert not upward, f"{name} ({layer}) imports {', '.join(f'{t} ({_layer(t)})' for t in upward)} from above"


@pytest.mark.parametrize("name", sorted(n for n in GRAPH if _layer(n) == "report"))
def test_the_report_reads_run_folders_only(name):
    wrong = sorted(t for t in GRAPH[name] if _layer(t) == "run" and t != REPORT_READS)
    assert not wrong, f"{name} imports {wrong}: the report reads runs through {REPORT_READS} alone"


def test_the_layer_order_is_found_when_it_is_broken():
    GRAPH["bench.physics.psfs"].add("bench.score.case")
    try:
        assert "score" in layer_imports()["physics"]
    finally:
        GRAPH["bench.physics.psfs"].discard("bench.score.case")


@pytest.mark.parametrize("name", sorted(n for n in GRAPH if _layer(n) == "plugin"))
def test_plugins_never_import_other_plugins(name):
    others = sorted(t for t in GRAPH[name] if _layer(t) == "plugin" and not t.rpartition(".")[2].startswith("_"))
    assert not others, f"{name} imports the plugin(s) {others}: move what they share into bench/ or a _helper module"


#: How code reaches a plugin by its name: the registry, or an import by a computed name. A plugin
#: that does either depends on another plugin without importing it, which the graph above cannot see.
LOOKUP_MODULE = "bench.registry"
LOOKUP_CALLS = ("import_module", "__import__", "load_registry")


def _lookups(name: str, path: Path) -> list[str]:
    """What in a module can load a plugin by name: an import of :data:`LOOKUP_MODULE`, a call of :data:`LOOKUP_CALLS`."""
    found = {LOOKUP_MODULE} & _imports(name, path)
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Call):
            called = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
            if called in LOOKUP_CALLS:
                found.add(f"{called}()")
    return sorted(found)


@pytest.mark.parametrize(
    "source, found",
    [
        ("def prepare():\n    from bench.registry import load_registry\n    return load_registry().method('w')\n",
         ["bench.registry", "load_registry()"]),
        ("from bench import registry\nw = registry.load_registry().method('w')\n", ["bench.registry", "load_registry()"]),
        ("import importlib\nw = importlib.import_module('bench.methods.wiener')\n", ["import_module()"]),
        ("import importlib.resources\nfrom bench.solve.solvers import richardson_lucy\n", []),
    ],
)  # fmt: skip
def test_plugin_lookups_are_found_when_there_are_some(tmp_path, source, found):
    path = tmp_path / "plugin.py"
    path.write_text(source)
    assert _lookups("bench.methods.plugin", path) == found


@pytest.mark.parametrize("name", sorted(n for n in GRAPH if _layer(n) == "plugin"))
def test_plugins_never_look_up_other_plugins_by_name(name):
    found = _lookups(name, MODULES[name])
    assert not found, (
        f"{name} uses {', '.join(found)}: a plugin that loads another plugin by name depends on it; "
        "call the core function they share instead (bench.solve.blind, bench.solve.solvers, bench.solve.rules)"
    )


if __name__ == "__main__":
    for layer, below in layer_imports().items():
        print(f"{RANK[layer]:2d} {layer:<9} {', '.join(LAYERS[layer]):<42} imports {', '.join(below) or '-'}")
