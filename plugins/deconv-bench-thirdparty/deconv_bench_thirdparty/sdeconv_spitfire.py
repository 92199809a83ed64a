"""sdeconv's SPITFIR(e) as a deconv-bench method."""

from __future__ import annotations

import torch

from deconv_bench_thirdparty._base import SdeconvMethod, installed_version


class Method(SdeconvMethod):
    r"""sdeconv's ``Spitfire``: :math:`\min_x \rho \|h \star x - y\|^2 + (1 - \rho)\, \mathrm{HV}_w(x)`.

    HV is the sparse Hessian variation (Hessian weighted by ``weight``, the
    intensity by ``1 - weight``), minimised by Adam (step 0.01, halved every
    100 steps) until the loss changes by less than ``precision`` six times in
    a row, at most 2500 steps, on the image scaled to [0, 1]. It needs
    autograd, which the runner turns off: it is turned back on here.

    Parameters
    ----------
    weight : float in (0, 1)
        Hessian against sparsity, sdeconv's default.
    reg : float in [0, 1]
        Data term weight :math:`\rho`, sdeconv's default.
    precision : float
        Stopping tolerance on the loss, sdeconv's default.
    pad : int or None
        Reflection padding in pixels (>= 1); None: the PSF radius.
    version : str
        The sdeconv release; defaults to the installed one.
    """

    name = "sdeconv_spitfire"

    def __init__(
        self,
        *,
        weight: float = 0.6,
        reg: float = 0.995,
        precision: float = 1e-7,
        pad: int | None = None,
        version: str = installed_version("sdeconv"),
    ) -> None:
        super().__init__(version=version)
        self.weight, self.reg, self.precision = weight, reg, precision
        self.pad = self.check_padding(pad)

    def restore(self, y: torch.Tensor, psf: torch.Tensor) -> torch.Tensor:
        from sdeconv.deconv import Spitfire

        solver = Spitfire(
            psf, weight=self.weight, reg=self.reg, precision=self.precision, pad=self.padding(self.pad, psf)
        )
        with torch.enable_grad():
            return solver(y).detach()
