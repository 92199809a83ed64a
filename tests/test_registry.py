import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import bench.methods
from bench.api import BaseMethod, Result
from bench.registry import Registry, UnknownPluginError, _load_builtins, load_registry


def write_plugins(tmp_path, monkeypatch, **files):
    for stem, source in files.items():
        (tmp_path / f"{stem}.py").write_text(textwrap.dedent(source))
    monkeypatch.setattr(bench.methods, "__path__", [str(tmp_path)])
    registry = Registry()
    _load_builtins(registry, "method")
    return registry


GOOD = """
    from bench.api import BaseMethod, Result
    class Method(BaseMethod):
        name = "{name}"
        blind = False
        def run(self, y, psf, optics):
            return Result(y)
"""


def test_broken_plugin_is_reported_and_others_load(tmp_path, monkeypatch):
    registry = write_plugins(
        tmp_path, monkeypatch, good_one=GOOD.format(name="good_one"), broken="import no_such_module\n"
    )
    assert list(registry.methods) == ["good_one"]
    (broken,) = registry.broken
    assert broken.source.endswith("broken.py") and "no_such_module" in broken.error


def test_name_must_match_file(tmp_path, monkeypatch):
    registry = write_plugins(tmp_path, monkeypatch, stem=GOOD.format(name="other"))
    assert not registry.methods and "does not match its file stem.py" in registry.broken[0].error


def test_template_and_private_files_are_not_plugins(tmp_path, monkeypatch):
    registry = write_plugins(tmp_path, monkeypatch, _helper="raise RuntimeError", template_x="raise RuntimeError")
    assert not registry.methods and not registry.broken


class Good(BaseMethod):
    name = "good"
    blind = True

    def run(self, y, psf, optics):
        return Result(y)


def test_duplicate_name_is_rejected():
    registry = Registry()
    registry.add("method", Good, "a.py")
    registry.add("method", Good, "b.py")
    assert list(registry.methods) == ["good"] and "duplicate method name 'good'" in registry.broken[0].error


@pytest.mark.parametrize(
    "attributes, message",
    [
        ({"blind": "no"}, "blind must be True or False"),
        ({"run": lambda self, image: None}, r"run\(self, y, psf, optics\)"),
        ({"run": lambda self, y, psf: None}, r"got run\(self, y, psf\)"),
        ({"run": lambda self, y, psf, optics=None: None}, r"got run\(self, y, psf, optics=None\)"),
        ({"__init__": lambda self, weight=1.0: None}, "keyword-only"),
    ],
)
def test_contract_violations_are_rejected_with_a_fix(attributes, message):
    registry = Registry()
    registry.add("method", type("Bad", (Good,), attributes), "bad.py")
    assert not registry.methods
    assert re.search(message, registry.broken[0].error)


def test_non_plugin_object_is_rejected():
    registry = Registry()
    registry.add("method", object, "entry point x")
    assert "subclass of BaseMethod" in registry.broken[0].error


def test_unknown_name_lists_available_ones():
    registry = load_registry()
    with pytest.raises(UnknownPluginError, match="unknown method 'nope'; available: .*"):
        registry.method("nope")
    with pytest.raises(UnknownPluginError, match="fresnel-zernike.*smoke"):
        registry.dataset("nope")


def test_plugin_folders_never_shadow_a_top_level_datasets_package(tmp_path):
    """From the checkout's root, a regular `datasets` package (HuggingFace) still wins over datasets/."""
    root = Path(__file__).resolve().parents[1]
    (tmp_path / "datasets").mkdir()
    (tmp_path / "datasets" / "__init__.py").write_text("ORIGIN = 'third party'\n")
    code = "import datasets, bench.datasets, bench.methods; print(datasets.ORIGIN)"
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "third party"
    assert not (root / "datasets" / "__init__.py").exists() and not (root / "methods" / "__init__.py").exists()
