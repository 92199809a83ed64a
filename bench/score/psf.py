r"""PSF scores of a blind method's estimate against the true PSF, in the common frame of :func:`~bench.physics.psf_geometry.normalize_psf`.

- PSF-SNR (Deep-Blur eq. 6): :math:`-10 \log_{10}(\|\hat h - h\|^2 / \|h\|^2)` in dB;
- PSF-PSNR (poster 001): PSNR with the true PSF's peak as data range;
- re-blur PSNR: PSNR of :math:`\hat h \star x` against :math:`h \star x`, how
  well the estimated PSF explains the blur of the image.

3D PSFs are compared on a common odd box.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.signal

from bench.physics.psf_geometry import common_psf_size, common_psfs, normalize_psf
from bench.score.image import psnr

__all__ = ["ReblurReference", "psf_psnr", "psf_snr", "reblur_psnr"]


def psf_snr(psf_true: np.ndarray, psf_estimate: np.ndarray) -> float:
    r"""Deep-Blur eq. 6: :math:`-10 \log_{10}(\|\hat h - h\|^2 / \|h\|^2)` in dB, after normalisation."""
    true, estimate = common_psfs(psf_true, psf_estimate)
    error = np.sum((estimate - true) ** 2)
    return math.inf if error == 0 else float(-10 * np.log10(error / np.sum(true**2)))


def psf_psnr(psf_true: np.ndarray, psf_estimate: np.ndarray) -> float:
    """PSNR of the estimated PSF with the true PSF's peak as data range (poster 001), after normalisation."""
    true, estimate = common_psfs(psf_true, psf_estimate)
    return psnr(true, estimate, data_range=float(true.max()))


def reblur_psnr(x: np.ndarray, psf_true: np.ndarray, psf_estimate: np.ndarray, *, data_range: float) -> float:
    r"""PSNR of :math:`\hat h \star x` against :math:`h \star x`: how well the estimated PSF explains the blur."""
    return ReblurReference(x, psf_true, data_range=data_range)(psf_estimate)


class ReblurReference:
    r"""The reference's share of :func:`reblur_psnr`, :math:`h \star x` per common canvas size, kept to score several PSF estimates."""

    def __init__(self, x: np.ndarray, psf_true: np.ndarray, *, data_range: float) -> None:
        self.x = np.asarray(x, dtype=np.float64)
        self.psf_true = psf_true
        self.data_range = data_range
        self._blurred: dict[tuple[int, ...], np.ndarray] = {}

    def __call__(self, psf_estimate: np.ndarray) -> float:
        """reblur_psnr(x, psf_true, psf_estimate); see :func:`reblur_psnr`."""
        size = common_psf_size(self.psf_true, psf_estimate)
        if size not in self._blurred:
            self._blurred[size] = scipy.signal.fftconvolve(self.x, normalize_psf(self.psf_true, size), mode="same")
        estimate = scipy.signal.fftconvolve(self.x, normalize_psf(psf_estimate, size), mode="same")
        return psnr(self._blurred[size], estimate, data_range=self.data_range)
