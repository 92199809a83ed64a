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
from importlib.resources import files
from typing import Any, Mapping, Sequence

from omegaconf import DictConfig, OmegaConf

from bench.api import BaseDataset, BaseMethod, parameters
from bench.registry import Registry

__all__ = [
    "compose", "compose_training", "make_dataset", "make_method", "method_label", "method_parameters", "split_overrides",
]  # fmt: skip


def split_overrides(overrides: Sequence[str], method_names: Sequence[str]) -> tuple[list[str], dict[str, list[str]]]:
    """Separate hydra overrides from ``<method>.<param>=value`` ones.

    Returns the hydra overrides and, per method name, its ``param=value`` items.
    """
    hydra_overrides: list[str] = []
    method_overrides: dict[str, list[str]] = {}
    for item in overrides:
        if "=" not in item:
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
    has_yaml = dataset is None or files("bench.conf.dataset").joinpath(f"{dataset}.yaml").is_file()
    if dataset is not None:
        overrides.insert(0, f"dataset={dataset}" if has_yaml else "~dataset")
    with initialize_config_module(config_module="bench.conf", version_base=None):
        cfg = hydra_compose(config_name="config", overrides=overrides)
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
    with initialize_config_module(config_module="bench.conf.train", version_base=None):
        return hydra_compose(config_name=name, overrides=rest)


def make_dataset(cfg: DictConfig, registry: Registry) -> tuple[BaseDataset, dict[str, Any]]:
    """Instantiate the configured dataset; returns it and its resolved parameters."""
    params = OmegaConf.to_container(cfg.dataset, resolve=True)
    name = params.pop("name")
    dataset_cls = registry.dataset(name)
    accepted = parameters(dataset_cls)
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise ValueError(f"dataset {name!r} has no parameter(s) {unknown}; its parameters: {', '.join(accepted)}")
    dataset = dataset_cls(**params)
    resolved = {k: params.get(k, v) for k, v in accepted.items()}
    return dataset, resolved


def method_parameters(method_cls: type[BaseMethod], overrides: Sequence[str] = ()) -> dict[str, Any]:
    """A method's defaults with ``param=value`` overrides applied; unknown names raise, listing the parameters."""
    defaults = parameters(method_cls)
    given: Mapping[str, Any] = OmegaConf.to_container(OmegaConf.from_dotlist(list(overrides))) if overrides else {}
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise ValueError(
            f"method {method_cls.name!r} has no parameter(s) {unknown}; "
            f"its parameters: {', '.join(defaults) or 'none'}"
        )
    return {**defaults, **given}


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
