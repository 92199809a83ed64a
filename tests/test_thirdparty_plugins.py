"""The separate plugin package plugins/deconv-bench-thirdparty, seen through the entry points it declares.

CI installs only deconv-bench, so these tests declare the package's entry points
themselves (read from its pyproject.toml, the package put on ``sys.path``): the
registry and ``bench list`` are tested with and without it, whether or not it or
the packages it wraps are installed. Tests that run the wrapped packages skip
where they are missing.
"""

import importlib.metadata
import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
import tomllib
import torch

from bench.commands.cli import main
from bench.config import make_method
from bench.registry import load_registry

PLUGIN = Path(__file__).parents[1] / "plugins" / "deconv-bench-thirdparty"
GROUP = "deconv_bench.methods"
DECLARED = tomllib.loads((PLUGIN / "pyproject.toml").read_text())["project"]["entry-points"][GROUP]


def _entry_points(declared):
    """A stand-in for importlib.metadata.entry_points with only ``declared`` in the methods group."""
    points = [importlib.metadata.EntryPoint(name, value, GROUP) for name, value in declared.items()]
    return lambda group: points if group == GROUP else []


@pytest.fixture
def registry_with(monkeypatch):
    """``registry_with(declared)``: a fresh registry whose only entry points are ``declared``."""
    monkeypatch.syspath_prepend(str(PLUGIN))

    def build(declared):
        monkeypatch.setattr(importlib.metadata, "entry_points", _entry_points(declared))
        load_registry.cache_clear()
        return load_registry()

    yield build
    load_registry.cache_clear()


def test_bench_list_without_the_plugin_package_lists_none_of_its_methods(registry_with, capsys):
    registry = registry_with({})
    assert not set(DECLARED) & set(registry.methods) and not registry.broken
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert " identity " in out and not any(f" {name} " in out for name in DECLARED)


def test_bench_list_with_the_plugin_package_shows_each_method_ready_or_why_not(registry_with, capsys):
    registry = registry_with(DECLARED)
    assert not registry.broken, registry.broken
    assert set(DECLARED) <= set(registry.methods)
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in DECLARED:
        line = next(line for line in out.splitlines() if f" {name} " in line)
        module = registry.methods[name].module.split(".")[0]  # find_spec of "a.b" raises if "a" is missing
        if importlib.util.find_spec(module) is not None:
            assert "ready" in line and "unavailable" not in line, line
        else:
            assert "unavailable" in line and "ready" not in line, line


def test_a_package_that_fails_to_import_leaves_only_its_methods_unavailable(registry_with, monkeypatch):
    registry = registry_with(DECLARED)
    monkeypatch.setitem(sys.modules, "sdeconv", None)  # import sdeconv now raises ImportError
    monkeypatch.setitem(sys.modules, "sdeconv.deconv", None)
    cpu = torch.device("cpu")
    for name in ("sdeconv_wiener", "sdeconv_richardson_lucy", "sdeconv_spitfire"):
        method, _ = make_method(registry.method(name))
        reason = method.unavailable(cpu)
        assert reason.startswith("sdeconv cannot be imported") and "plugins/deconv-bench-thirdparty" in reason
    redlionfish, _ = make_method(registry.method("redlionfish_richardson_lucy"))
    installed = importlib.util.find_spec("RedLionfishDeconv") is not None
    assert (redlionfish.unavailable(cpu) is None) == installed


def test_rows_are_labelled_with_the_installed_version_and_another_is_refused(registry_with):
    from bench.config import method_label

    method_cls = registry_with(DECLARED).method("sdeconv_wiener")
    method, params = make_method(method_cls)
    installed = method.version
    assert method_label(method_cls, params) == f"sdeconv_wiener[version={installed}]"
    with pytest.raises(ValueError, match="is installed, not 0.0.1"):
        make_method(method_cls, ["version=0.0.1"])


def test_sdeconv_and_redlionfish_richardson_lucy_agree_on_the_same_padded_case(registry_with):
    """Both are circular RL from u0 = y on the reflection-padded image: equal when the PSF is centred alike."""
    pytest.importorskip("sdeconv")
    pytest.importorskip("RedLionfishDeconv")
    registry = registry_with(DECLARED)
    rng = np.random.default_rng(0)
    grid = np.arange(9) - 4
    psf = np.exp(-(grid[:, None] ** 2 + (grid[None, :] / 1.5) ** 2) / 4).astype(np.float32)
    y = torch.from_numpy(rng.random((1, 1, 40, 48), dtype=np.float32) + 0.1)
    psf_t = torch.from_numpy(psf / psf.sum())[None, None]
    outputs = []
    for name in ("sdeconv_richardson_lucy", "redlionfish_richardson_lucy"):
        method, _ = make_method(registry.method(name), ["niter=20"])
        with torch.no_grad():
            outputs.append(method.run(y, psf_t, None).x_hat)
    assert outputs[0].shape == outputs[1].shape == y.shape
    torch.testing.assert_close(outputs[0], outputs[1], rtol=0, atol=1e-5)
