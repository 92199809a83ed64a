"""Deep-Blur's deblurring network given the true PSF: what identification errors cost."""

from __future__ import annotations

import torch

from bench.api import Optics, Result
from bench.methods._deepblur import DeepBlurNetworks


class Method(DeepBlurNetworks):
    """The deblurring network of ``deepblur`` with the true PSF instead of the identified one.

    Non-blind. The gap between this row and ``deepblur`` is the price of blind
    identification; it uses the networks trained by ``bench train deepblur``
    (the deblurring network was trained on *estimated* PSFs, Deep-Blur eq. 5).

    Parameters
    ----------
    preset : {"cpu", "gpu"}
        Which shipped ``deepblur`` checkpoint to load.
    """

    name = "deepblur-oracle"
    blind = False
    trained_by = "deepblur"
    label_parameters = ("preset",)

    def __init__(self, *, preset: str = "cpu") -> None:
        self.preset = preset
        self.networks: dict[str, torch.nn.Module] = {}

    def run(self, y: torch.Tensor, psf: torch.Tensor | None, optics: Optics | None) -> Result:
        return Result(x_hat=self.networks["deblurring"](y, psf))
