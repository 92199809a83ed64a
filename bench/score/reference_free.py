r"""Scores that need no ground truth: does a restoration explain the data, and does it do no harm?

:func:`reblur_residual` (does the estimate explain the data?),
:func:`negative_fraction` and :func:`peak_ratio` (negative or exploding
intensities), :func:`ringing` (oscillations added next to bright
structures). Each works voxel by voxel on images (H, W) and volumes (D, H, W).
"""

from __future__ import annotations

import math
from typing import cast

import numpy as np
import scipy.ndimage
import scipy.signal
from skimage.filters import threshold_otsu

from bench.score.image import same_shape

__all__ = ["RingingReference", "negative_fraction", "peak_ratio", "reblur_residual", "ringing"]


def reblur_residual(y: np.ndarray, x_hat: np.ndarray, psf: np.ndarray) -> float:
    r"""Relative data misfit :math:`\|h \star \hat x - y\|_2 / \|y\|_2` away from the border.

    Pixels closer than half the PSF to the border are left out, so boundary
    handling does not dominate. A value near the relative noise level means
    the estimate explains the data; far above it, the estimate (or the PSF)
    does not; near 0 on noisy data, it fits the noise.
    """
    y, x_hat = same_shape(y, x_hat)
    psf = np.asarray(psf, dtype=np.float64)
    reblurred = scipy.signal.fftconvolve(x_hat, psf / psf.sum(), mode="same")
    inner = tuple(slice(k // 2, n - k // 2 or None) for k, n in zip(psf.shape, y.shape))
    norm = np.linalg.norm(y[inner])
    return float(np.linalg.norm(reblurred[inner] - y[inner]) / norm) if norm > 0 else math.nan


def negative_fraction(x_hat: np.ndarray) -> float:
    r"""Share of the estimate's absolute intensity that is negative, :math:`\sum \max(-\hat x, 0) / \sum |\hat x|`.

    Fluorescence is non-negative: 0 is ideal.
    """
    x_hat = np.asarray(x_hat, dtype=np.float64)
    total = np.abs(x_hat).sum()
    return float(np.clip(-x_hat, 0, None).sum() / total) if total > 0 else math.nan


def peak_ratio(y: np.ndarray, x_hat: np.ndarray) -> float:
    """Maximum of the estimate over the maximum of the input: flags exploding intensities.

    Deconvolution concentrates light back into small objects, so values of a
    few are legitimate (more for point-like objects and wide PSFs); orders of
    magnitude are not.
    """
    peak = float(np.max(y))
    return float(np.max(x_hat)) / peak if peak > 0 else math.nan


def ringing(y: np.ndarray, x_hat: np.ndarray, *, scale_px: float) -> float:
    r"""Oscillation added in the dark surroundings of bright structures, estimate relative to input.

    Ringing (Gibbs-like ripples, dark halos) and amplified noise show up next
    to bright objects, where the true image is smooth background. The score:

    1. bright structures :math:`B`: the input smoothed by a 1-px Gaussian, above
       its Otsu threshold;
    2. halo :math:`H`: pixels outside :math:`B` at a distance from it between
       ``scale_px / 2`` and ``3 * scale_px`` (``scale_px``: the PSF's FWHM, the
       scale of ringing), past the blurred edge itself;
    3. oscillation of an image :math:`u`: RMS over :math:`H` of
       :math:`u - \mathrm{median}_w(u)`, the median filter over a window of
       :math:`w = 2\,\mathrm{round}(s) + 1` px (:math:`s` = ``scale_px``), which
       keeps monotone edges and removes oscillations, so sharpening an edge
       does not count; divided by the mean of :math:`u` over :math:`B` (scale
       invariant);
    4. ringing = oscillation(:math:`\hat x`) / oscillation(:math:`y`).

    1 means no oscillation was added next to objects (the input's value);
    above 1, ringing or amplified noise; below 1, the halo was smoothed (or
    the edges sharpened). NaN when the input has no bright structure or no halo.
    :class:`RingingReference` keeps the input's share for several estimates. On volumes the smoothing, halo and
    median are lateral, plane by plane (the threshold is the volume's):
    ringing at the lateral scale ``scale_px``.
    """
    return RingingReference(y)(x_hat, scale_px=scale_px)


class RingingReference:
    r"""The input's share of :func:`ringing`: bright mask, distance to it and, per scale, halo and oscillation.

    Built once per input ``y``; calling it scores an estimate at the cost of one
    median filter (``scipy.ndimage.median_filter``) of the estimate.
    """

    def __init__(self, y: np.ndarray) -> None:
        self.y = y
        planes = (0.0,) * (np.ndim(y) - 2)  # volumes: smoothing, distance and median are lateral, plane by plane
        smooth = scipy.ndimage.gaussian_filter(np.asarray(y, dtype=np.float64), (*planes, 1.0, 1.0))
        self.bright: np.ndarray | None = None if np.ptp(smooth) == 0 else smooth > threshold_otsu(smooth)
        self.distance: np.ndarray | None
        if self.bright is None:
            self.distance = None
        else:
            outside = (~self.bright).reshape(-1, *self.bright.shape[-2:])
            distance = [scipy.ndimage.distance_transform_edt(plane) for plane in outside]
            self.distance = np.stack(distance).reshape(self.bright.shape)
        self._scales: dict[float, tuple[np.ndarray, int, float]] = {}

    def __call__(self, x_hat: np.ndarray, *, scale_px: float) -> float:
        """ringing(y, x_hat) at ``scale_px``; see :func:`ringing`."""
        x_hat = same_shape(self.y, x_hat)[1]
        if self.bright is None:
            return math.nan
        if scale_px not in self._scales:
            distance = cast(np.ndarray, self.distance)  # set whenever bright is
            halo = (distance > scale_px / 2) & (distance <= 3 * scale_px)
            halo_at = np.flatnonzero(halo)
            window = 2 * max(1, round(scale_px)) + 1
            valid = self.bright.any() and halo_at.size >= 16
            reference = self._oscillation(np.asarray(self.y, dtype=np.float64), halo_at, window) if valid else math.nan
            self._scales[scale_px] = halo_at, window, reference
        halo_at, window, reference = self._scales[scale_px]
        if not reference > 0:
            return math.nan
        return self._oscillation(x_hat, halo_at, window) / reference

    def _oscillation(self, image: np.ndarray, halo_at: np.ndarray, window: int) -> float:
        lateral = (1,) * (image.ndim - 2) + (window, window)  # volumes: the window is lateral, plane by plane
        median = scipy.ndimage.median_filter(image, size=lateral, mode="reflect")
        detail = image.ravel()[halo_at] - median.ravel()[halo_at]
        level = abs(image[self.bright].mean())
        return math.sqrt(np.mean(detail**2)) / level if level > 0 else math.nan
