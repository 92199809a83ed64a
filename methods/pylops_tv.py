"""Anisotropic total-variation deconvolution by split Bregman (PyLops)."""

from __future__ import annotations

from bench.methods._pylops import SplitBregmanTV
from bench.solve.rules import RULES

LAM = RULES["pylops_tv.lam"]


class Method(SplitBregmanTV):
    r"""Total-variation deconvolution of the extended field by split Bregman.

    Parameters
    ----------
    lam, lam_scale, lam_power, sigma_floor : float
        The weight :math:`\lambda`: fixed (``lam``), or by default
        :math:`c \max(\hat\sigma, \sigma_0)^p` from the data
        (:class:`bench.methods._pylops.WeightRule`, the rule ``RULES["pylops_tv.lam"]``
        of :mod:`bench.solve.rules`).
    rho : float, > 0
        Augmented-Lagrangian penalty, relative to the data term
        (:math:`\|A\| \le 1`); it also sets how far the fixed budget gets.
    niter_outer, niter_inner, niter_lsqr : int, >= 1
        Bregman updates, shrinkages per update, LSQR iterations per shrinkage.

    Notes
    -----
    Minimises, over the field :math:`u` of size :math:`(H + k - 1) \times
    (W + k - 1)` whose valid blur is the data (see ``bench.methods._pylops``;
    no boundary condition is assumed [1]_),

    .. math::
        \tfrac12 \|y - A u\|_2^2 + \lambda \left(\|D_x u\|_1 + \|D_y u\|_1\right),

    with forward differences :math:`D_x, D_y`. PyLops' split Bregman [2]_
    shrinks each entry of :math:`D u` separately, so the TV is anisotropic.
    Each shrinkage follows an LSQR solve of
    :math:`\min_u \|y - Au\|^2 + \rho \|d - b - Du\|^2`, warm-started.

    The method is not told the noise: :math:`\hat\sigma` is
    :func:`bench.solve.operators.estimate_noise_std` and :math:`\lambda =
    c \max(\hat\sigma, \sigma_0)^p` with :math:`c, p, \sigma_0` the rule
    ``RULES["pylops_tv.lam"]`` of :mod:`bench.solve.rules`, fitted to the mean PSNR
    on training images by ``python calibration/noise_rules.py`` (which prints
    the constants and the PSNR they reach; :math:`p` near the MAP scaling 2).
    ``rho = 0.03`` was the best of 0.001-0.3 within the budget; 20 outer
    iterations of 5 LSQR steps (about 0.4 s per 256 x 256 image with a
    31 x 31 PSF on one core) are within 0.3 dB of 100 x 10.

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

    name = "pylops_tv"
    test_params = {"niter_outer": 5}

    def __init__(
        self,
        *,
        lam: float | None = None,
        lam_scale: float = LAM.scale,
        lam_power: float = LAM.power,
        sigma_floor: float = LAM.floor,
        rho: float = 0.03,
        niter_outer: int = 20,
        niter_inner: int = 1,
        niter_lsqr: int = 5,
    ) -> None:
        super().__init__(
            lam=lam, lam_scale=lam_scale, lam_power=lam_power, sigma_floor=sigma_floor, rho=rho,
            niter_outer=niter_outer, niter_inner=niter_inner, niter_lsqr=niter_lsqr,
        )  # fmt: skip
