"""Method labels: which parameters tell a method's runs apart, and where their images go."""

import pandas as pd
import pytest

from bench.api import BaseMethod, LearnedMethod, parameters
from bench.config import method_label
from bench.registry import load_registry
from bench.run.runfolder import output_path, read_cases


class Budgeted(BaseMethod):
    name = "budgeted"
    blind = True
    label_parameters = ("budget",)

    def __init__(self, *, iterations: int = 10, budget: str = "fast", lam: float = 0.1, sizes: tuple = (3, 5),
                 init: str | None = None, verbose: bool = False) -> None:  # fmt: skip
        pass


class Plain(BaseMethod):
    name = "plain"
    blind = False

    def __init__(self, *, weight: float | None = None) -> None:
        pass


def test_default_parameters_give_the_plain_name():
    assert method_label(Plain, parameters(Plain)) == "plain"
    assert method_label(Plain, {}) == "plain"


def test_label_parameters_are_shown_at_their_defaults_then_changed_ones_in_signature_order():
    assert method_label(Budgeted, parameters(Budgeted)) == "budgeted[budget=fast]"
    changed = {"verbose": True, "sizes": [3, 7], "lam": 1e-05, "budget": "full", "iterations": 10}
    assert method_label(Budgeted, changed) == "budgeted[budget=full,lam=1e-05,sizes=[3,7],verbose=true]"
    assert method_label(Plain, {"weight": 0.25}) == "plain[weight=0.25]"
    assert method_label(Budgeted, {"sizes": [3, 5], "init": None}) == "budgeted[budget=fast]"  # JSON form of defaults
    assert method_label(Budgeted, {"init": "zeros", "removed": 2}) == "budgeted[budget=fast,init=zeros,removed=2]"


def test_every_plugin_declares_label_parameters_it_has_and_learned_ones_show_their_preset():
    for name, method_cls in load_registry().methods.items():
        assert set(method_cls.label_parameters) <= set(parameters(method_cls)), name
        if issubclass(method_cls, LearnedMethod):
            assert method_label(method_cls, parameters(method_cls)).startswith(f"{name}[preset=cpu"), name


def test_output_folders_of_labels_are_single_portable_names():
    path = output_path("run", "m[a=1,b=x/y z]", "c1")
    assert path.parts == ("run", "outputs", "m[a=1%2Cb=x%2Fy%20z]", "c1.npz")
    assert output_path("run", "wiener", "c1").parts == ("run", "outputs", "wiener", "c1.npz")


def test_labels_written_by_a_run_are_kept_as_written(tmp_path):
    frame = pd.DataFrame({"method": ["wiener"], "label": ["wiener[weight=0.2]"], "params": ['{"weight": 0.1}']})
    frame.to_csv(tmp_path / "cases.csv", index=False)
    assert read_cases(tmp_path / "cases.csv").label.tolist() == ["wiener[weight=0.2]"]


@pytest.mark.parametrize("value, text", [(None, "null"), (True, "true"), (0.5, "0.5"), ([1, [2, 3]], "[1,[2,3]]")])
def test_label_values_are_written_as_overrides(value, text):
    assert method_label(Budgeted, {"budget": value}) == f"budgeted[budget={text}]"
