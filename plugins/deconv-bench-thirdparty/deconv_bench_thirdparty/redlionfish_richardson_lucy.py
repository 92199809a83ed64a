"""RedLionfish's CPU Richardson-Lucy as a deconv-bench method."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import torch

from deconv_bench_thirdparty._base import ThirdPartyMethod, installed_version


class Method(ThirdPartyMethod):
    r"""RedLionfish's Richardson–Lucy on the CPU (scipy FFTs), from :math:`u_0 = y`.

    RedLionfish deconvolves volumes with circular convolutions and has no
    padding option; the wrapper adapts a 2D case to it:

    - ``y`` is reflection-padded by ``pad`` (as sdeconv pads) and cropped back;
    - the volume holds two copies of the image: with a single plane, the
      package's ``circulify3D`` leaves every axis unshifted and the result is
      displaced by half the image;
    - the PSF gets a leading zero plane, row and column, so its centre sits at
      index n/2 of each even side, where the package expects it (with the odd
      31 x 31 PSF as given, results are shifted by one pixel).

    Parameters
    ----------
    niter : int
        Number of iterations, RedLionfish's default.
    pad : int or None
        Reflection padding in pixels (>= 0); None: the PSF radius.
    version : str
        The RedLionfish release; defaults to the installed one.
    """

    name = "redlionfish_richardson_lucy"
    distribution = "RedLionfish"
    module = "RedLionfishDeconv"
    references = (
        (
            "L. M. A. Perdigão, E. L. Ho, Z. C. Cheng, N. B.-Y. Yee, T. Glen, L. Wu, M. Grange, M. Basham and "
            "M. C. Darrow, RedLionfish - fast Richardson-Lucy deconvolution package for Napari, 2021 "
            "(github.com/rosalindfranklininstitute/RedLionfish)."
        ),
    )
    test_params: ClassVar[Mapping[str, Any]] = {"niter": 10}

    def __init__(
        self, *, niter: int = 10, pad: int | None = None, version: str = installed_version("RedLionfish")
    ) -> None:
        super().__init__(version=version)
        if pad is not None and pad < 0:
            raise ValueError(f"pad must be >= 0 or None (the PSF radius), got {pad}")
        self.niter = niter
        self.pad = pad

    def restore(self, y: torch.Tensor, psf: torch.Tensor) -> np.ndarray:
        from RedLionfishDeconv import doRLDeconvolutionFromNpArrays

        r = self.padding(self.pad, psf)
        image = np.pad(y.cpu().numpy(), r, mode="reflect")
        kernel = np.zeros((2, psf.shape[0] + 1, psf.shape[1] + 1), dtype=np.float32)
        kernel[1, 1:, 1:] = psf.cpu().numpy()
        volume = np.stack([image, image])
        result = doRLDeconvolutionFromNpArrays(volume, kernel, niter=self.niter, method="cpu")
        if result is None:  # its CPU path logs the exception and returns None
            raise RuntimeError("RedLionfish returned no result (run with logging at INFO level to see why)")
        height, width = y.shape
        return result[0, r : r + height, r : r + width]
