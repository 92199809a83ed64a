"""sdeconv's Richardson-Lucy as a deconv-bench method."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import torch

from deconv_bench_thirdparty._base import SdeconvMethod, installed_version


class Method(SdeconvMethod):
    r"""sdeconv's ``SRichardsonLucy``: :math:`u_{k+1} = u_k\, H^{\mathsf T}(y / H u_k)`, from :math:`u_0 = y`.

    Convolutions are circular FFTs of the reflection-padded image, with no
    guard against dividing by zero.

    Parameters
    ----------
    niter : int
        Number of iterations, sdeconv's default.
    pad : int or None
        Reflection padding in pixels (>= 1); None: the PSF radius.
    version : str
        The sdeconv release; defaults to the installed one.
    """

    name = "sdeconv_richardson_lucy"
    references = (
        (
            "W. H. Richardson, Bayesian-based iterative method of image restoration, "
            "Journal of the Optical Society of America 62(1):55-59, 1972."
        ),
        *SdeconvMethod.references,
    )
    test_params: ClassVar[Mapping[str, Any]] = {"niter": 10}

    def __init__(self, *, niter: int = 30, pad: int | None = None, version: str = installed_version("sdeconv")) -> None:
        super().__init__(version=version)
        self.niter = niter
        self.pad = self.check_padding(pad)

    def restore(self, y: torch.Tensor, psf: torch.Tensor) -> torch.Tensor:
        from sdeconv.deconv import SRichardsonLucy

        return SRichardsonLucy(psf, niter=self.niter, pad=self.padding(self.pad, psf))(y)
