"""PSF geometry: a PSF on a given canvas, brought to a common frame, and its width.

Blind deconvolution cannot tell a shifted PSF from a shifted image, so PSFs
are compared after :func:`normalize_psf` (unit sum, same odd size, centroid
on the centre pixel). The solvers use the same frame to project their
estimates, the scores to compare them, the report to draw them.
"""

from __future__ import annotations

import numpy as np
import scipy.ndimage

__all__ = ["common_psf_size", "common_psfs", "normalize_psf", "psf_canvas", "psf_fwhm"]


def psf_canvas(psf: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``psf`` (float64) centred on a zero canvas of ``shape``: cropped around its centre where larger, padded where smaller."""
    psf = np.asarray(psf, dtype=np.float64)
    canvas = np.zeros(shape)
    kept = [min(k, n) for k, n in zip(psf.shape, shape)]
    source = tuple(slice((k - m) // 2, (k - m) // 2 + m) for k, m in zip(psf.shape, kept))
    canvas[tuple(slice((n - m) // 2, (n - m) // 2 + m) for n, m in zip(shape, kept))] = psf[source]
    return canvas


def normalize_psf(psf: np.ndarray, size: int | tuple[int, ...]) -> np.ndarray:
    """A PSF on a canvas of ``size`` (one odd side for every axis, or one per axis), unit sum, centroid centred.

    Negative values (some estimators produce them) are kept: clipping would
    hide an error the score should see. The centroid is computed on the
    positive part and moved by a whole-pixel shift, so the shape is untouched.
    """
    psf = np.asarray(psf, dtype=np.float64)
    shape = (size,) * psf.ndim if isinstance(size, int) else tuple(size)
    canvas = psf_canvas(psf, shape)
    positive = np.clip(canvas, 0, None)
    if positive.sum() > 0:
        centroid = np.array(scipy.ndimage.center_of_mass(positive))
        shift = np.round((np.array(shape) - 1) / 2 - centroid).astype(int)
        canvas = np.roll(canvas, tuple(shift), axis=tuple(range(canvas.ndim)))
    total = canvas.sum()
    if total == 0:
        raise ValueError("the PSF sums to zero and cannot be normalised")
    return canvas / total


def common_psf_size(psf_true: np.ndarray, psf_estimate: np.ndarray) -> tuple[int, ...]:
    """The canvas that holds both PSFs: per axis, the odd size that holds either."""
    if np.ndim(psf_true) != np.ndim(psf_estimate):
        raise ValueError(
            f"PSFs must have the same number of axes, got {np.shape(psf_true)} and {np.shape(psf_estimate)}"
        )
    return tuple(int(n) + 1 - int(n) % 2 for n in np.maximum(np.shape(psf_true), np.shape(psf_estimate)))


def common_psfs(psf_true: np.ndarray, psf_estimate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both PSFs through :func:`normalize_psf` on their :func:`common_psf_size` canvas: the frame they are compared in."""
    size = common_psf_size(psf_true, psf_estimate)
    return normalize_psf(psf_true, size), normalize_psf(psf_estimate, size)


def psf_fwhm(psf: np.ndarray) -> float:
    """Lateral full width at half maximum of a PSF in pixels, the diameter of the disc of equal area above half maximum.

    For a 3D PSF, measured on the plane of its maximum.
    """
    psf = np.asarray(psf, dtype=np.float64)
    if psf.ndim == 3:
        psf = psf[np.unravel_index(np.argmax(psf), psf.shape)[0]]
    return float(2 * np.sqrt(np.count_nonzero(psf >= psf.max() / 2) / np.pi))
