"""sdeconv's Wiener filter as a deconv-bench method."""

from __future__ import annotations

import torch

from deconv_bench_thirdparty._base import SdeconvMethod, installed_version


class Method(SdeconvMethod):
    r"""sdeconv's ``SWiener``: :math:`\hat x = F^{-1}[\bar H Y / (|H|^2 + \beta |L|^2)]`, L the Laplacian.

    Parameters
    ----------
    beta : float
        Regularisation weight, sdeconv's default.
    pad : int or None
        Reflection padding before the circular FFT filter, in pixels (>= 1);
        None: the PSF radius.
    version : str
        The sdeconv release; defaults to the installed one.
    """

    name = "sdeconv_wiener"

    def __init__(
        self, *, beta: float = 1e-5, pad: int | None = None, version: str = installed_version("sdeconv")
    ) -> None:
        super().__init__(version=version)
        self.beta = beta
        self.pad = self.check_padding(pad)

    def restore(self, y: torch.Tensor, psf: torch.Tensor) -> torch.Tensor:
        from sdeconv.deconv import SWiener

        return SWiener(psf, beta=self.beta, pad=self.padding(self.pad, psf))(y)
