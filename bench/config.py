"""Configuration: hydra composition of ``bench/conf`` plus method parameter overrides.

The run configuration (dataset, noise levels, output, device) is composed by
hydra from ``bench/conf/config.yaml`` and the ``dataset`` group, so any key can
be overridden (``noise=high``, ``dataset.size=128``). A method's parameters are
the keyword-only arguments of its ``__init__``; ``<method>.<param>=value``
overrides them, checked against the signature. :func:`method_label` names a
method with the parameters that tell its runs apart (``richardson_lucy[max_iter=50]``).
"""

from __future__ import annotations

import json
import re
import types
import typing
from importlib.resources import files
from typing import Any, Callable, Mapping, Sequence, cast

from omegaconf import DictConfig, OmegaConf

from bench.api import BaseDataset, BaseMethod, parameters
from bench.registry import Registry

__all__ = [
    "check_types", "compose", "compose_training", "make_dataset", "make_method", "method_label", "method_parameters", "split_overrides",
]  # fmt: skip


def split_overrides(overrides: Sequence[str], method_names: Sequence[str]) -> tuple[list[str], dict[str, list[str]]]:
    """Separate hydra overrides from ``<method>.<param>=value`` ones.

    Returns the hydra overrides and, per method name, its ``param=value`` items.
    """
    hydra_overrides: list[str] = []
    method_overrides: dict[str, list[str]] = {}
    for item in overrides:
        if "=" not in item or not item.split("=", 1)[0].strip("+~"):
            raise ValueError(f"override {item!r} must look like key=value (for example noise=high)")
        head = item.split("=", 1)[0].split(".", 1)[0]
        if head in method_names and "." in item.split("=", 1)[0]:
            method_overrides.setdefault(head, []).append(item.split(".", 1)[1])
        else:
            hydra_overrides.append(item)
    return hydra_overrides, method_overrides


def compose(overrides: Sequence[str] = (), *, dataset: str | None = None) -> DictConfig:
    """Compose the run configuration with hydra.

    ``dataset`` selects a file of ``bench/conf/dataset``; a dataset without one
    (a third-party plugin) gets ``{name: dataset}`` and its signature defaults.
    """
    from hydra import compose as hydra_compose
    from hydra import initialize_config_module

    overrides = list(overrides)
    keys = {item.split("=", 1)[0].lstrip("+~") for item in overrides}
    if dataset is not None and "dataset" in keys:
        raise ValueError(f"choose the dataset with --dataset, not a dataset=... override (--dataset {dataset} given)")
    has_yaml = dataset is None or files("bench.conf.dataset").joinpath(f"{dataset}.yaml").is_file()
    if dataset is not None:
        overrides.insert(0, f"dataset={dataset}" if has_yaml else "~dataset")
    with initialize_config_module(config_module="bench.conf", version_base=None):
        cfg = _hydra_call(
            lambda: hydra_compose(config_name="config", overrides=overrides), overrides, "bench/conf/config.yaml"
        )
    settings = OmegaConf.load(str(files("bench.conf").joinpath("config.yaml")))
    unknown = sorted(set(cfg) - set(settings) - {"dataset"})
    if unknown:
        raise ValueError(
            f"unknown setting {unknown[0]!r}: settings are the keys of bench/conf/config.yaml "
            "(method parameters: <method>.<param>=value, see bench list)"
        )
    if (
        has_yaml
        and "noise" in keys
        and not ("noise" in cfg.dataset and OmegaConf.is_interpolation(cfg.dataset, "noise"))
    ):
        levels = cfg.dataset.get("noise")
        raise ValueError(
            f"noise=... does not apply to dataset {cfg.dataset.name!r}"
            + (
                f", whose levels are dataset.noise={list(levels)}; override dataset.noise"
                if levels
                else ", which has no noise levels"
            )
        )
    if not has_yaml:
        OmegaConf.set_struct(cfg, False)
        cfg.dataset = {"name": dataset}
    return cfg


def compose_training(method: str, overrides: Sequence[str] = ()) -> DictConfig:
    """Compose the training configuration ``bench/conf/train/<method>-<preset>.yaml`` with hydra.

    ``preset=cpu|gpu`` among ``overrides`` picks the file (default cpu); the
    other overrides apply to it.
    """
    from hydra import compose as hydra_compose
    from hydra import initialize_config_module

    presets = [item.split("=", 1)[1] for item in overrides if item.startswith("preset=")]
    rest = [item for item in overrides if not item.startswith("preset=")]
    name = f"{method}-{presets[-1] if presets else 'cpu'}"
    available = sorted(f.name[:-5] for f in files("bench.conf.train").iterdir() if f.name.endswith(".yaml"))
    if name not in available:
        raise ValueError(f"no training configuration {name!r}; available: {', '.join(available)}")
    source = f"bench/conf/train/{name}.yaml"
    with initialize_config_module(config_module="bench.conf.train", version_base=None):
        cfg = _hydra_call(lambda: hydra_compose(config_name=name, overrides=rest), rest, source)
        defaults = hydra_compose(config_name=name)
    for key in (item.split("=", 1)[0] for item in rest if not item.startswith("~")):
        default, value = OmegaConf.select(defaults, key), OmegaConf.select(cfg, key)
        if isinstance(default, (bool, int, float, str)) and not _fits(type(default), value):
            raise ValueError(
                f"{key}={_label_value(value)} is not {_describe(type(default))}; its default in {source} is "
                f"{_label_value(default)}"
            )
    return cfg


def _hydra_call(call: Callable[[], DictConfig], overrides: Sequence[str], source: str) -> DictConfig:
    """Compose ``source`` with hydra; its errors (bad syntax, unknown keys) become one-line ``ValueError``s."""
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    try:
        return call()
    except (HydraException, OmegaConfBaseException) as error:
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        unknown = re.match(r"Could not override '([^']+)'", lines[0]) if lines else None
        if unknown:
            key = unknown.group(1)
            message = (
                f"unknown setting {key!r}: settings are the keys of {source} (method parameters: "
                f"<method>.<param>=value, see bench list); to add a key to a mapping write +{key}=..."
            )
        else:
            message = "bad override: " + " ".join(lines[:2])
        raise ValueError(f"{message} (overrides: {' '.join(overrides)})") from None


def make_dataset(cfg: DictConfig, registry: Registry) -> tuple[BaseDataset, dict[str, Any]]:
    """Instantiate the configured dataset; returns it and its resolved parameters."""
    params = cast(dict[str, Any], OmegaConf.to_container(cfg.dataset, resolve=True))  # a mapping in config.yaml
    name = params.pop("name")
    dataset_cls = registry.dataset(name)
    accepted = parameters(dataset_cls)
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise ValueError(f"dataset {name!r} has no parameter(s) {unknown}; its parameters: {', '.join(accepted)}")
    check_types(dataset_cls, params, "dataset.{}", accepted)
    try:
        dataset = dataset_cls(**params)
    except TypeError as error:  # a value of the wrong kind deeper down (a noise level's sigma given as text)
        raise ValueError(
            f"dataset {name!r} cannot be built: {error}; check the dataset.* and noise_levels.* overrides"
        ) from None
    resolved = {k: params.get(k, v) for k, v in accepted.items()}
    return dataset, resolved


def method_parameters(method_cls: type[BaseMethod], overrides: Sequence[str] = ()) -> dict[str, Any]:
    """A method's defaults with ``param=value`` overrides applied; unknown names raise, listing the parameters."""
    defaults = parameters(method_cls)
    given = (
        cast(Mapping[str, Any], OmegaConf.to_container(OmegaConf.from_dotlist(list(overrides)))) if overrides else {}
    )
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise ValueError(
            f"method {method_cls.name!r} has no parameter(s) {unknown}; its parameters: {', '.join(defaults) or 'none'}"
        )
    check_types(method_cls, given, f"{method_cls.name}.{{}}", defaults)
    return {**defaults, **given}


def check_types(plugin: type, given: Mapping[str, Any], name: str, defaults: Mapping[str, Any]) -> None:
    """Refuse a parameter value that does not fit the type hint of the plugin's ``__init__`` (one-line error).

    ``name`` formats a parameter's name for the message (``wiener.{}``).
    """
    try:
        hints = typing.get_type_hints(getattr(plugin, "__init__"))  # the class's own (mypy: misc)
    except Exception:  # an annotation that does not resolve: the plugin checks its own values
        return
    for key, value in given.items():
        if key in hints and not _fits(hints[key], value):
            raise ValueError(
                f"{name.format(key)}={_label_value(value)} is not {_describe(hints[key])}; "
                f"its default is {_label_value(defaults.get(key))} (see bench list)"
            )


def _fits(hint: Any, value: Any) -> bool:
    """Whether ``value`` (as parsed from an override) fits a parameter's type hint; unknown hints accept anything."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_fits(item, value) for item in typing.get_args(hint))
    if origin is typing.Literal:
        return value in typing.get_args(hint)
    checks = {
        type(None): lambda: value is None,
        bool: lambda: isinstance(value, bool),
        int: lambda: isinstance(value, int) and not isinstance(value, bool),
        float: lambda: isinstance(value, (int, float)) and not isinstance(value, bool),
        str: lambda: isinstance(value, str),
    }
    return checks[hint]() if hint in checks else True


def _describe(hint: Any) -> str:
    """A type hint in words: ``an integer or null``, ``one of 'fast', 'cpu'``."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(item) for item in typing.get_args(hint))
    if origin is typing.Literal:
        return "one of " + ", ".join(map(repr, typing.get_args(hint)))
    words = {type(None): "null", bool: "true or false", int: "an integer", float: "a number", str: "a text"}
    return words.get(hint, getattr(hint, "__name__", str(hint)))


def make_method(method_cls: type[BaseMethod], overrides: Sequence[str] = ()) -> tuple[BaseMethod, dict[str, Any]]:
    """Instantiate a method with its defaults and ``param=value`` overrides; returns it and its parameters."""
    params = method_parameters(method_cls, overrides)
    return method_cls(**params), params


def method_label(method_cls: type[BaseMethod], params: Mapping[str, Any]) -> str:
    """The name a method's results go by, benchopt style: ``name[param=value,...]``, or ``name``.

    The brackets list the class's ``label_parameters`` (its budget or variant,
    shown even at their defaults) in their declared order, then every other
    parameter of ``params`` whose value differs from its default, in signature
    order (parameters the signature no longer has, sorted, at the end). Values
    are written as overrides (``null``, ``true``, ``0.001``, ``[1,2]``), so an
    item can be given back to ``bench run`` as ``<name>.<param>=<value>``.
    """
    defaults = {key: _as_json(value) for key, value in parameters(method_cls).items()}
    given = {key: _as_json(value) for key, value in params.items()}
    values = {**defaults, **given}
    shown = [key for key in method_cls.label_parameters if key in values]
    changed = [key for key in [*defaults, *sorted(set(given) - set(defaults))] if key not in shown]
    shown += [key for key in changed if key not in defaults or json.dumps(values[key]) != json.dumps(defaults[key])]
    items = ",".join(f"{key}={_label_value(values[key])}" for key in shown)
    return f"{method_cls.name}[{items}]" if items else method_cls.name


def _as_json(value: Any) -> Any:
    """``value`` as it reads back from the JSON ``params`` of ``cases.csv`` (tuples as lists, paths as text)."""
    return json.loads(json.dumps(value, sort_keys=True, default=str))


def _label_value(value: Any) -> str:
    """A parameter value in override syntax, without spaces."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ",".join(map(_label_value, value)) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{key}:{_label_value(item)}" for key, item in value.items()) + "}"
    return repr(value) if isinstance(value, float) else str(value)
