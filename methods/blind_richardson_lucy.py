"""Blind Richardson–Lucy: alternating multiplicative image and PSF updates (deepinv's BlindRL), then a shared solve."""

from __future__ import annotations

import numpy as np
import torch

from bench.api import BaseMethod, Optics, Result
from bench.solve.blind import check_fits, check_kernel_size, deconvolve, project_psf
from bench.solve.operators import pad
from bench.physics.psfs import NOLL_INDICES, zernike_psf
from bench.solve.rules import NOISE_FLOOR, RULES
from bench.solve.solvers import noise_std


class Method(BaseMethod):
    r"""Blind Richardson–Lucy (Fish et al.) from the aberration-free PSF, stopped early, then ``richardson_lucy_tv``.

    Parameters
    ----------
    kernel_size : int
        Odd side of the estimated PSF, pixels.
    max_iter : int
        Cap of the number of alternations (one PSF update, one image update).
    fc : float
        Cut-off frequency (cycles/pixel) of the starting PSF, the
        diffraction-limited PSF without aberrations (:func:`bench.physics.psfs.zernike_psf`
        with zero Zernike coefficients): 0.1875, the middle of the documented
        range [0.125, 0.25] of the fresnel-zernike data.

    Notes
    -----
    With :math:`y` reflect-padded by the kernel radius and circular
    convolutions, deepinv's ``BlindRL`` [3]_ alternates the multiplicative
    EM updates of the Poisson likelihood for the PSF and for the image [1]_ [2]_,

    .. math::
        h \leftarrow \Pi_\Delta\!\left[\frac{h}{\tilde x * \mathbb 1}\,
        \tilde x * \frac{y}{x * h}\right], \qquad
        x \leftarrow \frac{x}{\tilde h * \mathbb 1}\, \tilde h * \frac{y}{h * x},

    (:math:`\tilde z` the flipped :math:`z`, :math:`\Pi_\Delta` the unit-sum
    normalisation) from :math:`x = y` and the aberration-free PSF. Left
    running, the PSF update fits the noise; the number of alternations is
    the early-stopping count of ``richardson_lucy`` for the wavelet-MAD noise
    estimate :math:`\hat\sigma`, :math:`K = \min(K_{max}, 0.15\,\hat\sigma^{-5/4})`
    (about 30, 7 and 3.5 at the low, medium and high levels; the cap on
    noiseless data). The PSF is then projected
    (:func:`bench.solve.blind.project_psf`) and the image restored by the
    shared non-blind solve (:func:`bench.solve.blind.deconvolve`).

    Parameter choice (never on test images): the start and the stopping
    rule come from the documented data (the f_c range) and from the rule
    already calibrated for ``richardson_lucy`` on training images; the cap
    of 20 keeps the method near 1 s per 256 x 256 image. On 4 training
    images a flat 31 x 31 start (deepinv's default) was far worse: the
    final solve then amplified the wide kernel's errors (11 dB on
    noiseless data against 27 dB from a narrow start).

    References
    ----------
    .. [1] D. A. Fish, A. M. Brinicombe, E. R. Pike and J. G. Walker, "Blind
       deconvolution by means of the Richardson-Lucy algorithm", Journal of
       the Optical Society of America A, vol. 12, no. 1, pp. 58-65, 1995.
    .. [2] T. J. Holmes, "Blind deconvolution of quantum-limited incoherent
       imagery: maximum-likelihood approach", Journal of the Optical Society
       of America A, vol. 9, no. 7, pp. 1052-1061, 1992.
    .. [3] J. Tachella et al., "DeepInverse: a Python package for solving
       imaging inverse problems with deep learning", 2025 (``deepinv.optim.BlindRL``).
    """

    name = "blind_richardson_lucy"
    blind = True
    learned = False
    references = (
        "D. A. Fish, A. M. Brinicombe, E. R. Pike and J. G. Walker, Blind deconvolution by means of the "
        "Richardson-Lucy algorithm, Journal of the Optical Society of America A 12(1):58-65, 1995.",
        "T. J. Holmes, Blind deconvolution of quantum-limited incoherent imagery: maximum-likelihood approach, "
        "Journal of the Optical Society of America A 9(7):1052-1061, 1992.",
    )
    requires = ("deepinv",)
    test_params = {"kernel_size": 9, "max_iter": 5}

    def __init__(self, *, kernel_size: int = 31, max_iter: int = 20, fc: float = 0.1875) -> None:
        self.kernel_size = check_kernel_size(kernel_size)
        if max_iter < 1:
            raise ValueError(f"max_iter must be >= 1, got {max_iter}")
        if not 0 < fc <= 0.25:
            raise ValueError(f"fc must be in (0, 0.25] cycles/pixel, got {fc}")
        self.max_iter, self.fc = max_iter, fc

    def run(self, y: torch.Tensor, psf: torch.Tensor | None, optics: Optics | None) -> Result:
        from deepinv.optim import BlindRL

        check_fits(y, self.kernel_size, self.name)
        r = self.kernel_size // 2
        start = zernike_psf(np.zeros(len(NOLL_INDICES)), self.fc, size=self.kernel_size)
        start = torch.from_numpy(start)[None, None].to(y)
        stopping = RULES["richardson_lucy.num_iter"]
        count = stopping.iterations(float(noise_std(y, floor=NOISE_FLOOR)[0]), max_iter=self.max_iter)
        padded = pad(y, r, "reflect").clamp(min=1e-6)  # the Poisson updates need positive data
        solver = BlindRL(kernel_size=self.kernel_size, use_fft=True, max_iter=count, init=(padded, start))
        psf_hat = project_psf(solver(padded)[1])
        x_hat, info = deconvolve(y, psf_hat)
        return Result(x_hat=x_hat, psf_hat=psf_hat, info={**info, "blind_iterations": float(count)})
