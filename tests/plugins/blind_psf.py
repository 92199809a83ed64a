"""A blind method that returns a PSF estimate (a delta) and its input."""

import torch

from bench.api import BaseMethod, Result


class Method(BaseMethod):
    name = "blind_psf"
    blind = True

    def run(self, y, psf, optics):
        if psf is not None:
            raise ValueError("a blind method was given the PSF")
        delta = torch.zeros(1, 1, 5, 5)
        delta[..., 2, 2] = 1
        return Result(y, psf_hat=delta)
