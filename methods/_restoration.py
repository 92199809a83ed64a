r"""Direct restoration baselines: a network maps the degraded image to the sharp one, no PSF involved.

SwinIR and NAFNet enter the leaderboard this way (Deep-Blur's learned
comparison, seed 002; SwinIR trained on synthetic degradations, seed 003).
They are blind and return no PSF, so their PSF scores stay empty. Both train
with the same recipe on the same synthetic degradations as the Deep-Blur
pipeline (training images only), so the rows compare architectures, not data:

- :class:`Standardized` wraps the network: the input is brought to zero mean
  and unit standard deviation per image and the output mapped back, so the
  network does not depend on exposure (microscopy intensities rarely fill
  [0, 1]).
- :func:`train_restoration`: Adam on the :math:`\ell_1` loss
  :math:`\|N(y) - x\|_1` (SwinIR's; NAFNet's paper uses a PSNR loss: one loss
  for both keeps the comparison about the architectures), validation PSNR of
  the input and of the output logged as training goes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from bench.api import LearnedMethod, Optics, Result
from bench.learn.checkpoints import load_checkpoint, save_checkpoint
from bench.learn.inputs import standardize
from bench.learn.recipe import fit_stage, start_training, training_card, validation_set
from bench.learn.sampler import Degradations
from bench.learn.scores import mean_psnr


class Standardized(nn.Module):
    """``network`` applied to the per-image standardised input, its output mapped back to the input's scale."""

    def __init__(self, network: nn.Module) -> None:
        super().__init__()
        self.network = network

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        z, mean, std = standardize(y)
        return mean + std * self.network(z)


def train_restoration(
    config: Any, checkpoint: Path, build: Callable[[Mapping[str, Any]], Mapping[str, nn.Module]], progress=None
) -> dict[str, float]:
    """Train the ``restoration`` network that ``build`` makes from ``config.restoration.network``."""
    cfg, device, log = start_training(config, checkpoint)
    data = Degradations(**{**cfg["degradations"], "patch": cfg["restoration"]["patch"]})
    architecture = {"restoration": cfg["restoration"]["network"]}
    networks = {name: net.to(device) for name, net in build(architecture).items()}
    network = networks["restoration"]
    validation = validation_set(cfg, data, device)
    figures = fit_stage(
        cfg, "restoration", network, data, device, log, progress,
        loss=lambda batch: F.l1_loss(network(batch.y), batch.x),
        validate=lambda: {
            "val_psnr_input": mean_psnr(validation, lambda batch: batch.y),
            "val_psnr": mean_psnr(validation, lambda batch: network(batch.y)),
        },
    )  # fmt: skip
    save_checkpoint(checkpoint, networks, architecture=architecture, card=training_card(config, figures, log))
    return figures


class DirectRestoration(LearnedMethod):
    """Base of the direct restoration plugins: one network, trained by ``bench train <name>``.

    Subclasses set ``name``, ``references`` and :meth:`build_network`.

    Parameters
    ----------
    preset : {"cpu", "gpu"}
        Which shipped checkpoint to load: ``cpu`` is the small network trained
        on 2 CPU cores, ``gpu`` the larger one trained on a GPU.
    """

    blind = True

    def __init__(self, *, preset: str = "cpu") -> None:
        self.preset = preset
        self.network: nn.Module | None = None

    @staticmethod
    def build_network(settings: Mapping[str, Any]) -> nn.Module:
        """The bare network (before :class:`Standardized`) from the ``restoration.network`` settings."""
        raise NotImplementedError

    @classmethod
    def build(cls, architecture: Mapping[str, Any]) -> dict[str, nn.Module]:
        """The networks an architecture record describes (what checkpoints store)."""
        return {"restoration": Standardized(cls.build_network(architecture["restoration"]))}

    @classmethod
    def train(cls, config: Any, checkpoint: Path, progress: Any = None) -> Mapping[str, float]:
        return train_restoration(config, checkpoint, cls.build, progress)

    def prepare(self, device: torch.device) -> None:
        path = self.checkpoint_path(self.preset)
        networks = load_checkpoint(path, self.build, recreate=self.recreate_command(self.preset))
        self.network = networks["restoration"].to(device)

    def run(self, y: torch.Tensor, psf: torch.Tensor | None, optics: Optics | None) -> Result:
        return Result(x_hat=self.network(y))
