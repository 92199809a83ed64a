"""bench.config: splitting overrides, method parameters checked against the signature, row labels."""

from typing import Literal

import pytest

from bench.api import BaseMethod
from bench.config import compose, make_method, method_label, method_parameters, split_overrides


class _Toy(BaseMethod):
    name = "toy"
    blind = False
    label_parameters = ("budget",)

    def __init__(
        self,
        *,
        budget: Literal["fast", "slow"] = "fast",
        steps: int = 10,
        weight: float = 0.001,
        clip: bool | None = None,
        sizes: tuple = (1, 2),
    ):
        self.budget, self.steps, self.weight, self.clip, self.sizes = budget, steps, weight, clip, sizes


def test_split_overrides_separates_method_parameters_from_hydra_settings():
    hydra, methods = split_overrides(
        ["noise=high", "toy.steps=5", "dataset.size=64", "toy.weight=0.1", "other.x=1"], ["toy", "wiener"]
    )
    assert hydra == ["noise=high", "dataset.size=64", "other.x=1"]
    assert methods == {"toy": ["steps=5", "weight=0.1"]}


@pytest.mark.parametrize("item", ["noise", "=3", "+=1"])
def test_split_overrides_refuses_an_item_without_key_and_value(item):
    with pytest.raises(ValueError, match=r"must look like key=value \(for example noise=high\)"):
        split_overrides([item], ["toy"])


def test_method_parameters_apply_parsed_overrides_over_the_defaults():
    params = method_parameters(_Toy, ["steps=5", "clip=true", "budget=slow"])
    assert params == {"budget": "slow", "steps": 5, "weight": 0.001, "clip": True, "sizes": (1, 2)}
    method, made = make_method(_Toy, ["weight=2"])
    assert made["weight"] == 2 and method.weight == 2 and method.steps == 10


def test_method_parameters_refuse_an_unknown_name_listing_the_parameters():
    with pytest.raises(ValueError, match=r"method 'toy' has no parameter\(s\) \['iters'\]; its parameters: budget, "):
        method_parameters(_Toy, ["iters=3"])


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("steps=2.5", "toy.steps=2.5 is not an integer; its default is 10"),
        ("steps=true", "toy.steps=true is not an integer; its default is 10"),
        ("weight=abc", "toy.weight=abc is not a number; its default is 0.001"),
        ("budget=medium", "toy.budget=medium is not one of 'fast', 'slow'; its default is fast"),
        ("clip=3", "toy.clip=3 is not true or false or null; its default is null"),
    ],
)
def test_method_parameters_refuse_a_value_of_the_wrong_type_naming_the_default(item, message):
    with pytest.raises(ValueError) as error:
        method_parameters(_Toy, [item])
    assert str(error.value) == message + " (see bench list)"


def test_method_label_shows_label_parameters_and_changed_ones_in_signature_order():
    assert method_label(_Toy, {}) == "toy[budget=fast]"
    params = {"weight": 0.01, "steps": 10, "budget": "slow", "clip": False, "sizes": [1, 2]}
    assert method_label(_Toy, params) == "toy[budget=slow,weight=0.01,clip=false]"
    assert (
        method_label(_Toy, {"sizes": (3,), "zeta": None, "alpha": 1}) == "toy[budget=fast,sizes=[3],alpha=1,zeta=null]"
    )


def test_method_label_without_label_parameters_is_the_bare_name():
    class Plain(BaseMethod):
        name = "plain"
        blind = True

        def __init__(self, *, k: int = 1):
            self.k = k

    assert method_label(Plain, {"k": 1}) == "plain"
    assert method_label(Plain, {"k": 2}) == "plain[k=2]"


def test_compose_refuses_an_unknown_setting_naming_where_settings_live():
    with pytest.raises(
        ValueError, match=r"unknown setting 'no_such_key': settings are the keys of bench/conf/config.yaml"
    ):
        compose(["no_such_key=1"])
