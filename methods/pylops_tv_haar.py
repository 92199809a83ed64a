"""Total variation plus Haar-wavelet L1 deconvolution by split Bregman (PyLops)."""

from __future__ import annotations

import numpy as np
import pylops
import torch

from bench.api import BaseMethod, Result
from bench.methods._pylops import PYLOPS_REFERENCES, haar_details, noise_weight, solve_batch, split_bregman


class Method(BaseMethod):
    r"""TV + Haar L1 deconvolution of the extended field by split Bregman.

    Parameters
    ----------
    lam : float or None
        Fixed TV weight :math:`\lambda` (intensity units, data in [0, 1]);
        None derives it from the data by :math:`\lambda = c \max(\hat\sigma,
        \sigma_0)^p`.
    lam_scale, lam_power : float
        :math:`c > 0` and :math:`p` of that rule.
    sigma_floor : float
        :math:`\sigma_0 > 0`, the least noise assumed. The fit preferred the
        smallest value tried (1e-4 to 1e-2): noiseless data do best almost
        unregularised within the iteration budget.
    haar_ratio : float, > 0
        :math:`\beta`, the Haar weight relative to the TV weight (0.25 and 1
        tied on training images; 2 was worse).
    level : int, >= 1
        Decomposition levels of the Haar transform (5, as ``pylops_l1_haar``).
    rho, rho_haar : float, > 0
        Augmented-Lagrangian penalties of the TV and Haar terms, relative to
        the data term (:math:`\|A\| \le 1`).
    niter_outer, niter_inner, niter_lsqr : int, >= 1
        Bregman updates, shrinkages per update, LSQR iterations per shrinkage.

    Notes
    -----
    Minimises, over the field :math:`u` of size :math:`(H + k - 1) \times
    (W + k - 1)` whose valid blur is the data (see ``bench.methods._pylops``;
    no boundary condition is assumed [1]_),

    .. math::
        \tfrac12 \|y - A u\|_2^2 + \lambda \left(\|D_x u\|_1 + \|D_y u\|_1\right)
        + \beta \lambda \|W u\|_1,

    with forward differences :math:`D_x, D_y` (anisotropic TV, as PyLops'
    split Bregman [2]_ shrinks entry by entry) and :math:`W` the Haar detail
    coefficients (``bench.methods._pylops.haar_details``; penalising the
    approximation too would pull the mean towards 0, since PyLops starts the
    split variables at 0). The slides of seed 003 found this combination
    sharpest. Here it ties TV: with :math:`\lambda = 3.4\,\hat\sigma^2`
    (fitted on 7 training images at the four provisional noise levels,
    :math:`\hat\sigma` from :func:`bench.physics.estimate_noise_std`) it
    scores 26.46 dB mean PSNR against 26.45 dB for TV, and run to
    convergence it is not better than TV either. A larger Haar penalty
    ``rho_haar`` cost up to 3 dB on noiseless data within the 20 x 5 LSQR
    budget (about 0.6 s per 256 x 256 image with a 31 x 31 PSF on one core).

    References
    ----------
    .. [1] M. Bertero and P. Boccacci, "A simple method for the reduction of
       boundary effects in the Richardson-Lucy approach to image
       deconvolution", Astronomy & Astrophysics, 437(1), 369-374, 2005.
    .. [2] T. Goldstein and S. Osher, "The split Bregman method for
       L1-regularized problems", SIAM J. Imaging Sciences, 2(2), 323-343, 2009.
    .. [3] L. I. Rudin, S. Osher and E. Fatemi, "Nonlinear total variation
       based noise removal algorithms", Physica D, 60(1-4), 259-268, 1992.
    """

    name = "pylops_tv_haar"
    blind = False
    learned = False
    references = (
        "L. I. Rudin, S. Osher and E. Fatemi, Nonlinear total variation based noise removal algorithms, "
        "Physica D 60(1-4):259-268, 1992.",
        "T. Goldstein and S. Osher, The split Bregman method for L1-regularized problems, SIAM Journal on "
        "Imaging Sciences 2(2):323-343, 2009.",
        *PYLOPS_REFERENCES,
    )
    requires = ("pylops",)
    test_params = {"niter_outer": 5, "level": 3}

    def __init__(
        self,
        *,
        lam: float | None = None,
        lam_scale: float = 3.4,
        lam_power: float = 2.0,
        sigma_floor: float = 1e-4,
        haar_ratio: float = 1.0,
        level: int = 5,
        rho: float = 0.03,
        rho_haar: float = 3e-4,
        niter_outer: int = 20,
        niter_inner: int = 1,
        niter_lsqr: int = 5,
    ) -> None:
        if lam is not None and lam <= 0:
            raise ValueError(f"lam must be > 0 or None (derived from the data), got {lam}")
        if min(lam_scale, sigma_floor, haar_ratio, rho, rho_haar) <= 0:
            raise ValueError(
                "lam_scale, sigma_floor, haar_ratio, rho and rho_haar must be > 0, "
                f"got {lam_scale}, {sigma_floor}, {haar_ratio}, {rho}, {rho_haar}"
            )
        if min(level, niter_outer, niter_inner, niter_lsqr) < 1:
            counts = (level, niter_outer, niter_inner, niter_lsqr)
            raise ValueError(f"level and iteration counts must be >= 1, got {counts}")
        self.lam, self.lam_scale, self.lam_power, self.sigma_floor = lam, lam_scale, lam_power, sigma_floor
        self.haar_ratio, self.level, self.rho, self.rho_haar = haar_ratio, level, rho, rho_haar
        self.niter_outer, self.niter_inner, self.niter_lsqr = niter_outer, niter_inner, niter_lsqr

    def _solve(self, y: np.ndarray, psf: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
        lam, sigma = noise_weight(y, scale=self.lam_scale, power=self.lam_power, sigma_floor=self.sigma_floor)
        lam = self.lam if self.lam is not None else lam
        x, iterations = split_bregman(
            y,
            psf,
            lambda dims: [
                pylops.Gradient(dims, kind="forward", dtype=np.float32),
                haar_details(dims, level=self.level, dtype=np.float32),
            ],
            [lam, self.haar_ratio * lam],
            rhos=[self.rho, self.rho_haar],
            niter_outer=self.niter_outer,
            niter_inner=self.niter_inner,
            niter_lsqr=self.niter_lsqr,
        )
        return x, {"lam": lam, "sigma_hat": sigma, "iterations": iterations}

    def run(self, y: torch.Tensor, psf: torch.Tensor | None) -> Result:
        if psf is None:
            raise ValueError(f"{self.name} is non-blind: it needs the PSF, got None")
        x_hat, info = solve_batch(y, psf, self._solve)
        return Result(x_hat=x_hat, psf_hat=None, info=info)
