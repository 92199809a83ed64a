r"""Every score of the benchmark, in one place.

Images are compared as float64 with ``data_range`` given explicitly (1 for
the [0, 1] synthetic images); PSNR and SSIM agree with ``skimage.metrics``.
PSFs are first brought to a common frame (:func:`normalize_psf`): unit sum,
same odd size, centroid on the centre pixel — blind deconvolution cannot tell
a shifted PSF from a shifted image, so no method is penalised for that.
"""

from __future__ import annotations

import math
from typing import Mapping

import numpy as np
import scipy.ndimage
import scipy.signal
from skimage.metrics import structural_similarity

__all__ = ["normalize_psf", "psf_psnr", "psf_snr", "psnr", "reblur_psnr", "score", "ssim"]


def psnr(reference: np.ndarray, estimate: np.ndarray, *, data_range: float) -> float:
    r"""Peak signal-to-noise ratio in dB, :math:`10 \log_{10}(R^2 / \mathrm{MSE})`."""
    reference, estimate = _same_shape(reference, estimate)
    mse = np.mean((reference - estimate) ** 2)
    return math.inf if mse == 0 else float(10 * np.log10(data_range**2 / mse))


def ssim(reference: np.ndarray, estimate: np.ndarray, *, data_range: float) -> float:
    """Structural similarity (Wang et al. 2004) with skimage's default 7x7 window."""
    reference, estimate = _same_shape(reference, estimate)
    return float(structural_similarity(reference, estimate, data_range=data_range))


def normalize_psf(psf: np.ndarray, size: int) -> np.ndarray:
    """A PSF on a ``size`` x ``size`` canvas, unit sum, centroid moved to the centre pixel.

    Negative values (some estimators produce them) are kept: clipping would
    hide an error the score should see. The centroid is computed on the
    positive part and moved by a whole-pixel shift, so the shape is untouched.
    """
    psf = np.asarray(psf, dtype=np.float64)
    canvas = np.zeros((size, size))
    h, w = min(psf.shape[0], size), min(psf.shape[1], size)
    top, left = (psf.shape[0] - h) // 2, (psf.shape[1] - w) // 2
    canvas[(size - h) // 2 : (size - h) // 2 + h, (size - w) // 2 : (size - w) // 2 + w] = psf[top : top + h, left : left + w]
    positive = np.clip(canvas, 0, None)
    if positive.sum() > 0:
        centroid = np.array(scipy.ndimage.center_of_mass(positive))
        shift = np.round((size - 1) / 2 - centroid).astype(int)
        canvas = np.roll(canvas, tuple(shift), axis=(0, 1))
    total = canvas.sum()
    if total == 0:
        raise ValueError("the PSF sums to zero and cannot be normalised")
    return canvas / total


def psf_snr(psf_true: np.ndarray, psf_estimate: np.ndarray) -> float:
    r"""Deep-Blur eq. 6: :math:`-10 \log_{10}(\|\hat h - h\|^2 / \|h\|^2)` in dB, after :func:`normalize_psf`."""
    true, estimate = _common_psfs(psf_true, psf_estimate)
    error = np.sum((estimate - true) ** 2)
    return math.inf if error == 0 else float(-10 * np.log10(error / np.sum(true**2)))


def psf_psnr(psf_true: np.ndarray, psf_estimate: np.ndarray) -> float:
    """PSNR of the estimated PSF with the true PSF's peak as data range (poster 001), after normalisation."""
    true, estimate = _common_psfs(psf_true, psf_estimate)
    return psnr(true, estimate, data_range=float(true.max()))


def reblur_psnr(x: np.ndarray, psf_true: np.ndarray, psf_estimate: np.ndarray, *, data_range: float) -> float:
    r"""PSNR of :math:`\hat h \star x` against :math:`h \star x`: how well the estimated PSF explains the blur."""
    true, estimate = _common_psfs(psf_true, psf_estimate)
    x = np.asarray(x, dtype=np.float64)
    return psnr(
        scipy.signal.fftconvolve(x, true, mode="same"),
        scipy.signal.fftconvolve(x, estimate, mode="same"),
        data_range=data_range,
    )


def score(
    x: np.ndarray | None,
    x_hat: np.ndarray,
    psf: np.ndarray | None,
    psf_hat: np.ndarray | None,
    *,
    data_range: float = 1.0,
) -> Mapping[str, float]:
    """Every metric that the available references allow; missing ones are NaN."""
    scores = dict.fromkeys(("psnr", "ssim", "psf_snr", "psf_psnr", "reblur_psnr"), math.nan)
    if x is not None:
        scores["psnr"] = psnr(x, x_hat, data_range=data_range)
        scores["ssim"] = ssim(x, x_hat, data_range=data_range)
    if psf is not None and psf_hat is not None:
        scores["psf_snr"] = psf_snr(psf, psf_hat)
        scores["psf_psnr"] = psf_psnr(psf, psf_hat)
        if x is not None:
            scores["reblur_psnr"] = reblur_psnr(x, psf, psf_hat, data_range=data_range)
    return scores


def _same_shape(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"images must have the same shape, got {a.shape} and {b.shape}")
    return a, b


def _common_psfs(psf_true: np.ndarray, psf_estimate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    size = max(*np.shape(psf_true), *np.shape(psf_estimate))
    size += 1 - size % 2
    return normalize_psf(psf_true, size), normalize_psf(psf_estimate, size)
