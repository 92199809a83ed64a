"""The degraded image itself: the reference row of every table."""

from __future__ import annotations

import torch

from bench.api import BaseMethod, Optics, Result


class Method(BaseMethod):
    r"""No deconvolution: returns the degraded image unchanged.

    Notes
    -----
    .. math::
        \hat x = y

    Its scores are those of the input, the bar every method must clear: a
    method that scores below ``identity`` at some noise level does harm there.
    It ignores the PSF and has no parameters.
    """

    name = "identity"
    blind = False
    learned = False
    dims = (2, 3)  # images and volumes alike
    references = ()
    test_params = {}

    def run(self, y: torch.Tensor, psf: torch.Tensor | None, optics: Optics | None) -> Result:
        return Result(x_hat=y.clone(), psf_hat=None, info={})
