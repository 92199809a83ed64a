"""The steps every training recipe takes, read from its composed configuration (``bench/conf/train/``).

A recipe (``train_*`` next to the networks it trains, in ``methods/_*.py``)
calls :func:`start_training` (resolved configuration, seeded initialisation,
log beside the checkpoint), :func:`validation_set` and :func:`fit_stage` for
each of its stages (the sampler and :func:`bench.learn.loop.fit` with that
stage's settings), or :func:`reuse_stage` for a stage whose ``init`` names a
trained checkpoint, and writes :func:`training_card` with
:func:`bench.learn.checkpoints.save_checkpoint`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Mapping

import torch
from torch import nn

from bench.learn.checkpoints import load_checkpoint
from bench.learn.loop import ADAM_BETA2, Progress, TrainingLog, check_stage_settings, fit
from bench.learn.sampler import DegradationSampler, Degradations, TrainingBatch, validation_batches

__all__ = ["fit_stage", "reuse_stage", "start_training", "training_card", "validation_set"]


def start_training(config: Any, checkpoint: Path) -> tuple[dict[str, Any], torch.device, TrainingLog]:
    """Resolve a composed training configuration, seed the network initialisation, open the log beside ``checkpoint``."""
    from omegaconf import OmegaConf

    resolved = OmegaConf.to_container(config, resolve=True)
    if not isinstance(resolved, dict):
        raise TypeError(
            f"a training configuration is a mapping (bench.config.compose_training), got {type(resolved).__name__}"
        )
    cfg = {str(key): value for key, value in resolved.items()}
    for stage, settings in cfg.items():  # every stage's settings, before the first stage trains
        if isinstance(settings, dict) and "steps" in settings:
            check_stage_settings(stage, **_optimiser_settings(settings))
    torch.manual_seed(cfg["seed"])
    return cfg, torch.device(cfg["device"]), TrainingLog(Path(checkpoint).with_suffix(".log.csv"))


def validation_set(
    cfg: Mapping[str, Any], degradations: Degradations, device: torch.device, *, seed_shift: int = 0
) -> list[TrainingBatch]:
    """The configured validation batches (``cfg["validation"]``) for one training stage."""
    v = cfg["validation"]
    return validation_batches(
        degradations, seed=cfg["seed"] + seed_shift, count=v["batches"], batch_size=v["batch_size"], device=device,
        **cfg.get("sampler", {}),
    )  # fmt: skip


def fit_stage(
    cfg: Mapping[str, Any],
    stage: str,
    network: nn.Module,
    degradations: Degradations,
    device: torch.device,
    log: TrainingLog,
    progress: Progress | None,
    *,
    loss: Callable[[TrainingBatch], torch.Tensor],
    validate: Callable[[], Mapping[str, float]],
    seed_shift: int = 0,
) -> dict[str, float]:
    """:func:`bench.learn.loop.fit` one stage with the settings of ``cfg[stage]``.

    Steps, batch size and learning rate are required; ``adam_beta2`` (default
    Adam's 0.999) and ``max_minutes`` are optional.
    """
    # The optional ``sampler`` section holds DegradationSampler keywords (pool size, PSF bank).
    sampler = DegradationSampler(degradations, seed=cfg["seed"] + seed_shift, device=device, **cfg.get("sampler", {}))
    return fit(
        network, loss, sampler, stage=stage, **_optimiser_settings(cfg[stage]), validate=validate,
        validate_every=cfg["validation"]["every"], log=log, progress=progress,
    )  # fmt: skip


def _optimiser_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The keywords of :func:`bench.learn.loop.fit` that a stage's settings give (missing ones as None)."""
    return {
        "steps": settings.get("steps"),
        "batch_size": settings.get("batch_size"),
        "learning_rate": settings.get("learning_rate"),
        "adam_beta2": settings.get("adam_beta2", ADAM_BETA2),
        "max_minutes": settings.get("max_minutes"),
    }


def training_card(config: Any, figures: Mapping[str, float], log: TrainingLog) -> dict[str, Any]:
    """What a checkpoint's JSON card records besides what :func:`bench.learn.checkpoints.save_checkpoint` adds."""
    from omegaconf import OmegaConf

    last_of_stage = {row["stage"]: row for row in log.rows}
    return {
        "command": f"bench train {config.method} preset={config.preset}",
        "config": OmegaConf.to_container(config, resolve=True),
        "validation": dict(figures),
        "training_minutes": round(sum(row["minutes"] for row in last_of_stage.values()), 1),
        "log": log.path.name,
    }


def reuse_stage(
    cfg: Mapping[str, Any], stage: str, network: nn.Module, build: Callable[[Mapping[str, Any]], dict[str, nn.Module]]
) -> bool:
    """Load ``network`` from the checkpoint that ``cfg[stage]["init"]`` names, if any; True when it did.

    The stage is then not trained: its network is the one stored under ``stage``
    in that checkpoint (whose card's command trains it).
    """
    source = cfg[stage].get("init")
    if not source:
        return False
    trained = load_checkpoint(source, build, recreate=f"bench train {cfg['method']}")
    network.load_state_dict(trained[stage].state_dict())
    return True
