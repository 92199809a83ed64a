r"""Every score of the benchmark, in one place.

Images are compared as float64 with ``data_range`` given explicitly (1 for
the [0, 1] synthetic images); PSNR and SSIM agree with ``skimage.metrics``.
PSFs are first brought to a common frame (:func:`normalize_psf`): unit sum,
same odd size, centroid on the centre pixel — blind deconvolution cannot tell
a shifted PSF from a shifted image, so no method is penalised for that.

Real data often has no ground truth, or a reference on another intensity
scale. :func:`affine_fit` brings an estimate onto a reference's scale (used
for PSNR/SSIM when ``Scoring.reference == "affine"``), and the no-reference
scores check that a method does no harm: :func:`reblur_residual` (does the
estimate explain the data?), :func:`negative_fraction` and :func:`peak_ratio`
(negative or exploding intensities), :func:`ringing` (oscillations added
next to bright structures) and :func:`line_profile` (contrast and width of
test lines).

Every score takes images (H, W) or volumes (D, H, W) and PSFs with as many
axes: SSIM is skimage's 7-voxel window in 3D, PSF-SNR compares 3D PSFs on a
common odd box, and the no-reference scores work voxel by voxel
(:func:`line_profile` is 2D: test lines are drawn on planes).
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Mapping, Sequence
from typing import cast

import numpy as np
import scipy.ndimage
import scipy.signal
from numpy.lib.stride_tricks import sliding_window_view
from skimage.filters import threshold_otsu

from bench.api import Case, Scoring
from bench.resolution import decorrelation_resolution

__all__ = [
    "NO_REFERENCE_SCORES", "CaseScorer", "RingingReference", "SSIMReference", "affine_fit", "bead_fwhm", "line_profile",
    "median_at", "negative_fraction", "normalize_psf", "peak_ratio", "psf_canvas", "psf_fwhm", "psf_psnr", "psf_snr", "psnr",
    "reblur_psnr",
    "reblur_residual", "ringing", "score", "seam_score", "ssim",
]  # fmt: skip

#: Columns of :func:`score` that need no ground truth, in display order.
NO_REFERENCE_SCORES = (
    "reblur_residual", "negative_fraction", "peak_ratio", "ringing", "line_contrast", "line_fwhm_um",
    "bead_fwhm_z_um", "bead_fwhm_y_um", "bead_fwhm_x_um", "resolution_px",
)  # fmt: skip
#: Window values gathered at once by :func:`median_at` (8 MB of float64).
_MEDIAN_BLOCK_VALUES = 1 << 20


def psnr(reference: np.ndarray, estimate: np.ndarray, *, data_range: float) -> float:
    r"""Peak signal-to-noise ratio in dB, :math:`10 \log_{10}(R^2 / \mathrm{MSE})`."""
    reference, estimate = _same_shape(reference, estimate)
    mse = np.mean((reference - estimate) ** 2)
    return math.inf if mse == 0 else float(10 * np.log10(data_range**2 / mse))


def ssim(reference: np.ndarray, estimate: np.ndarray, *, data_range: float) -> float:
    """Structural similarity (Wang et al. 2004) with skimage's default 7x7 window (7x7x7 on volumes); see :class:`SSIMReference`."""
    return SSIMReference(reference, data_range=data_range)(estimate)


class SSIMReference:
    r"""The reference's share of SSIM (its local means and variances), kept to score several estimates.

    ``skimage.metrics.structural_similarity`` with its defaults (7 x 7 uniform
    window, sample covariance, :math:`K_1 = 0.01`, :math:`K_2 = 0.03`, mean over
    the image less a 3-px border), computed with the same operations in the
    same order (equal to it to rounding, tested) but without recomputing the
    reference's statistics for every estimate and with a few in-place buffers
    instead of a dozen image-sized temporaries: scoring stays near the cost
    of three uniform filters per estimate.
    """

    window = 7

    def __init__(self, reference: np.ndarray, *, data_range: float) -> None:
        self.reference = np.asarray(reference, dtype=np.float64)
        self.c1, self.c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
        self.cov_norm = self.window**self.reference.ndim / (self.window**self.reference.ndim - 1)
        self.mean = self._filter(self.reference)
        squares = self._filter(self.reference * self.reference)
        self.variance = self.cov_norm * (squares - self.mean * self.mean)

    def __call__(self, estimate: np.ndarray) -> float:
        """Mean SSIM of ``estimate`` against the reference."""
        x, y = _same_shape(self.reference, estimate)
        ux, vx = self.mean, self.variance
        # skimage's expressions, evaluated in place (each comment gives the value now held)
        uy = self._filter(y)
        buffer = y * y
        vy = self._filter(buffer)  # uyy
        np.multiply(x, y, out=buffer)
        vxy = self._filter(buffer)  # uxy
        np.multiply(uy, uy, out=buffer)
        vy -= buffer
        vy *= self.cov_norm  # vy = cov_norm * (uyy - uy * uy)
        np.multiply(ux, uy, out=buffer)
        vxy -= buffer
        vxy *= self.cov_norm  # vxy = cov_norm * (uxy - ux * uy)
        a1 = buffer
        a1 *= 2
        a1 += self.c1  # A1 = 2 * ux * uy + C1 (doubling is exact: the order does not matter)
        a2 = vxy
        a2 *= 2
        a2 += self.c2  # A2 = 2 * vxy + C2
        b1 = uy
        b1 *= uy
        b1 += ux * ux
        b1 += self.c1  # B1 = ux**2 + uy**2 + C1
        b2 = vy
        b2 += vx
        b2 += self.c2  # B2 = vx + vy + C2
        a1 *= a2
        b1 *= b2
        a1 /= b1  # S = (A1 * A2) / (B1 * B2)
        pad = (self.window - 1) // 2
        return float(a1[(slice(pad, -pad),) * a1.ndim].mean(dtype=np.float64))

    def _filter(self, image: np.ndarray) -> np.ndarray:
        return scipy.ndimage.uniform_filter(image, size=self.window)


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


class CaseScorer:
    r"""Every metric of one case, with the input's share computed once and reused for each method.

    Scoring a method's output has two parts: what depends only on the case
    (the reference's blur :math:`h \star x`, the bright-structure mask and halo
    of :func:`ringing` and the input's own oscillation there) and what depends
    on the estimate. A ``CaseScorer`` keeps the first part, computed on first
    use, so scoring ``M`` methods on a case costs the case's share once, not
    ``M`` times; :func:`score` is the one-off form. Memory held: a few
    image-sized arrays per case.

    Parameters
    ----------
    x : (H, W) ndarray or None
        Reference image (exact or affine, see ``scoring``), None if there is none.
    y : (H, W) ndarray or None
        The degraded input; enables the no-reference scores of :data:`NO_REFERENCE_SCORES`.
    psf : (k, k) ndarray or None
        The case's PSF (forward model of the no-reference scores, reference of PSF estimates).
    scoring : Scoring, optional
        A case's :attr:`bench.api.Case.scoring`: exact or affine reference,
        whether ``psf`` may score PSF estimates, where test lines are.
    data_range : float
        Intensity range of PSNR and SSIM.
    """

    def __init__(
        self,
        x: np.ndarray | None,
        y: np.ndarray | None,
        psf: np.ndarray | None,
        *,
        scoring: Scoring | None = None,
        data_range: float = 1.0,
    ) -> None:
        self.x, self.y, self.psf = x, y, psf
        self.scoring = scoring or Scoring()
        self.data_range = data_range
        self._blurred_x: dict[tuple[int, ...], np.ndarray] = {}

    @classmethod
    def for_case(cls, case: Case) -> CaseScorer:
        """The scorer of a benchmark case (its reference, input, PSF and scoring keys)."""
        return cls(case.x, case.y, case.psf, scoring=case.scoring)

    @functools.cached_property
    def _ringing(self) -> RingingReference:
        return RingingReference(cast(np.ndarray, self.y))  # used only when y is given

    @functools.cached_property
    def _ssim(self) -> SSIMReference:
        return SSIMReference(cast(np.ndarray, self.x), data_range=self.data_range)  # used only when x is given

    def __call__(self, x_hat: np.ndarray, psf_hat: np.ndarray | None) -> dict[str, float]:
        """Every metric that the available references allow for one estimate; missing ones are NaN."""
        scoring, x = self.scoring, self.x
        scores = dict.fromkeys(("psnr", "ssim", "psf_snr", "psf_psnr", "reblur_psnr", *NO_REFERENCE_SCORES), math.nan)
        if x is not None:
            compared = affine_fit(x, x_hat) if scoring.reference == "affine" else x_hat
            scores["psnr"] = psnr(x, compared, data_range=self.data_range)
            scores["ssim"] = self._ssim(compared)
        if self.psf is not None and psf_hat is not None and scoring.psf_reference:
            scores["psf_snr"] = psf_snr(self.psf, psf_hat)
            scores["psf_psnr"] = psf_psnr(self.psf, psf_hat)
            if x is not None:
                scores["reblur_psnr"] = self._reblur_psnr(psf_hat)
        if self.y is not None:
            forward = self.psf if self.psf is not None else psf_hat
            scores["negative_fraction"] = negative_fraction(x_hat)
            scores["peak_ratio"] = peak_ratio(self.y, x_hat)
            if forward is not None:
                scores["reblur_residual"] = reblur_residual(self.y, x_hat, forward)
            scores["ringing"] = self._ringing(x_hat, scale_px=psf_fwhm(forward) if forward is not None else 2.0)
        if x is None and x_hat.ndim == 2 and min(x_hat.shape) >= 16:
            # No reference: how fine the restoration's detail is, by decorrelation analysis (about 1 s at 256^2).
            scores["resolution_px"] = decorrelation_resolution(x_hat).resolution
        if scoring.line_axis is not None:
            pixel = scoring.pixel_size_um[1 - scoring.line_axis] if scoring.pixel_size_um else math.nan
            contrast, width_px = line_profile(x_hat, axis=scoring.line_axis, positions=scoring.line_positions)
            scores["line_contrast"], scores["line_fwhm_um"] = contrast, width_px * pixel
        if scoring.bead_positions:
            widths = bead_fwhm(x_hat, scoring.bead_positions)
            pixels = scoring.pixel_size_um or (math.nan,) * len(widths)
            for axis, width, pixel in zip("zyx"[-len(widths) :], widths, pixels):
                scores[f"bead_fwhm_{axis}_um"] = width * pixel
        return scores

    def _reblur_psnr(self, psf_hat: np.ndarray) -> float:
        r""":func:`reblur_psnr` with :math:`h \star x` kept per common PSF canvas size."""
        psf = cast(np.ndarray, self.psf)  # called only when the case has a PSF
        size = _common_size(psf, psf_hat)
        if size not in self._blurred_x:
            x = np.asarray(self.x, dtype=np.float64)
            self._blurred_x[size] = scipy.signal.fftconvolve(x, normalize_psf(psf, size), mode="same")
        blurred = self._blurred_x[size]
        estimate = scipy.signal.fftconvolve(
            np.asarray(self.x, dtype=np.float64), normalize_psf(psf_hat, size), mode="same"
        )
        return psnr(blurred, estimate, data_range=self.data_range)


def score(
    x: np.ndarray | None,
    x_hat: np.ndarray,
    psf: np.ndarray | None,
    psf_hat: np.ndarray | None,
    *,
    data_range: float = 1.0,
    y: np.ndarray | None = None,
    scoring: Scoring | None = None,
) -> Mapping[str, float]:
    """Every metric that the available references allow; missing ones are NaN.

    The one-off form of :class:`CaseScorer` (use that to score several
    estimates of one case). ``y`` (the degraded input) enables the
    no-reference scores of :data:`NO_REFERENCE_SCORES`; ``scoring`` (a case's
    :attr:`bench.api.Case.scoring`) says whether ``x`` is an exact or an
    affine reference, whether ``psf`` may score PSF estimates, and where test
    lines are.
    """
    return CaseScorer(x, y, psf, scoring=scoring, data_range=data_range)(x_hat, psf_hat)


def affine_fit(reference: np.ndarray, estimate: np.ndarray) -> np.ndarray:
    r"""The estimate mapped by the least-squares affine fit onto the reference, :math:`a \hat x + b`.

    :math:`(a, b) = \arg\min \|a \hat x + b - x\|^2`: the scoring convention of
    CARE and BioSR for references acquired differently from the input (another
    modality, gain or background). PSNR/SSIM after the fit ignore the
    intensity scale and offset of a method's output and rank how well its
    structure matches. The reference of real data is itself band-limited, so
    the scores rank methods; they are not absolute fidelity.
    """
    reference, estimate = _same_shape(reference, estimate)
    centred = estimate - estimate.mean()
    variance = np.mean(centred**2)
    slope = np.mean(centred * (reference - reference.mean())) / variance if variance > 0 else 0.0
    return slope * centred + reference.mean()


def reblur_residual(y: np.ndarray, x_hat: np.ndarray, psf: np.ndarray) -> float:
    r"""Relative data misfit :math:`\|h \star \hat x - y\|_2 / \|y\|_2` away from the border.

    Pixels closer than half the PSF to the border are left out, so boundary
    handling does not dominate. A value near the relative noise level means
    the estimate explains the data; far above it, the estimate (or the PSF)
    does not; near 0 on noisy data, it fits the noise.
    """
    y, x_hat = _same_shape(y, x_hat)
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


def psf_fwhm(psf: np.ndarray) -> float:
    """Lateral full width at half maximum of a PSF in pixels, the diameter of the disc of equal area above half maximum.

    For a 3D PSF, measured on the plane of its maximum.
    """
    psf = np.asarray(psf, dtype=np.float64)
    if psf.ndim == 3:
        psf = psf[np.unravel_index(np.argmax(psf), psf.shape)[0]]
    return float(2 * np.sqrt(np.count_nonzero(psf >= psf.max() / 2) / np.pi))


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
    The median is taken only on :math:`H` (equal to
    ``scipy.ndimage.median_filter`` there); :class:`RingingReference` keeps the
    input's share for several estimates. On volumes the smoothing, halo and
    median are lateral, plane by plane (the threshold is the volume's):
    ringing at the lateral scale ``scale_px``.
    """
    return RingingReference(y)(x_hat, scale_px=scale_px)


class RingingReference:
    r"""The input's share of :func:`ringing`: bright mask, distance to it and, per scale, halo and oscillation.

    Built once per input ``y``; calling it scores an estimate at a cost of
    :math:`O(|H|\, w^2)`, the median window over the halo pixels only.
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
        x_hat = _same_shape(self.y, x_hat)[1]
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
        detail = image.ravel()[halo_at] - median_at(image, halo_at, window)
        level = abs(image[self.bright].mean())
        return math.sqrt(np.mean(detail**2)) / level if level > 0 else math.nan


def median_at(image: np.ndarray, flat_indices: np.ndarray, window: int) -> np.ndarray:
    """``scipy.ndimage.median_filter(image, window)`` (mode ``reflect``) at the given flat indices only.

    On a volume the window is ``(1, window, window)``: lateral, plane by plane.

    The median filter costs :math:`O(w^2)` per pixel; where a score needs it
    on a part of the image, computing it there alone keeps the cost to that
    part. Blocks of windows are gathered and partitioned, so memory stays
    bounded.
    """
    if window % 2 == 0:
        raise ValueError(f"median window must be odd, got {window}")
    image = np.asarray(image)
    radius, middle = window // 2, window * window // 2
    widths = [(0, 0)] * (image.ndim - 2) + [(radius, radius)] * 2  # a volume: the window is lateral
    windows = sliding_window_view(np.pad(image, widths, mode="symmetric"), (window, window), axis=(-2, -1))
    index = np.unravel_index(flat_indices, image.shape)
    medians = np.empty(len(flat_indices), dtype=image.dtype)
    block = max(1, _MEDIAN_BLOCK_VALUES // (window * window))
    for start in range(0, len(medians), block):
        values = windows[tuple(i[start : start + block] for i in index)].reshape(-1, window * window)
        medians[start : start + block] = np.partition(values, middle, axis=1)[:, middle]
    return medians


def line_profile(image: np.ndarray, *, axis: int, positions: tuple[int, ...] | list[int]) -> tuple[float, float]:
    r"""Contrast and width of parallel test lines, from the profile averaged along them.

    The profile is the mean of the image along ``axis`` (the lines'
    direction). Each line's peak is the profile maximum within a third of
    the smallest spacing of ``positions``. Returns

    - contrast: Michelson contrast between neighbouring lines,
      :math:`(\bar p - v)/(\bar p + v)` with :math:`\bar p` the mean of the two
      peaks and :math:`v` the minimum between them, averaged over pairs (1:
      fully resolved on a dark background, 0: merged);
    - width: the mean full width at half prominence of the peaks, in pixels
      (``scipy.signal.peak_widths``).
    """
    profile = np.asarray(image, dtype=np.float64).mean(axis=axis)
    positions = sorted(int(p) for p in positions)
    if len(positions) < 2:
        raise ValueError(f"line_profile needs at least 2 line positions, got {positions}")
    reach = max(1, cast(int, min(np.diff(positions))) // 3)
    peaks = []
    for position in positions:
        low, high = max(0, position - reach), min(len(profile), position + reach + 1)
        peaks.append(low + int(np.argmax(profile[low:high])))
    contrasts = []
    for left, right in itertools.pairwise(peaks):
        top = (profile[left] + profile[right]) / 2
        valley = profile[left : right + 1].min()
        contrasts.append((top - valley) / (top + valley) if top + valley != 0 else math.nan)
    widths = scipy.signal.peak_widths(profile, peaks, rel_height=0.5)[0]
    return float(np.mean(contrasts)), float(np.mean(widths))


def bead_fwhm(image: np.ndarray, positions: Sequence[Sequence[int]], *, reach: int = 2) -> tuple[float, ...]:
    r"""Resolution from beads: the mean full width at half maximum of the beads along each axis, in pixels.

    Each bead's centre is the brightest voxel within ``reach`` voxels of its
    position (the restoration may move a peak by a voxel); its width along an
    axis is the full width at half prominence of the profile through that
    centre (``scipy.signal.peak_widths``, linear interpolation: the
    background beside the bead does not count). A sub-resolution bead's
    width is the resolution; a wider bead's size adds to it in quadrature.
    """
    image = np.asarray(image, dtype=np.float64)
    if not positions or any(len(p) != image.ndim for p in positions):
        raise ValueError(f"bead positions must be {image.ndim} indices each, one per bead, got {positions}")
    widths = []
    for position in positions:
        window = tuple(slice(max(0, int(p) - reach), int(p) + reach + 1) for p in position)
        offset = np.unravel_index(np.argmax(image[window]), image[window].shape)
        centre = tuple(w.start + o for w, o in zip(window, offset))
        profiles = [image[centre[:a] + (slice(None),) + centre[a + 1 :]] for a in range(image.ndim)]
        widths.append([float(scipy.signal.peak_widths(f, [c], rel_height=0.5)[0][0]) for f, c in zip(profiles, centre)])
    return tuple(float(w) for w in np.mean(widths, axis=0))


def seam_score(x_hat: np.ndarray, boundaries: tuple[tuple[int, ...], ...]) -> float:
    r"""How much tiling shows: the largest step across a tile boundary relative to the typical step, 1 = no seam.

    Along each axis :math:`a`, the step profile :math:`s_a(i)` is the mean of
    :math:`|\hat x_{i+1} - \hat x_i|` over the plane between indices i and
    i + 1. The score is the largest :math:`s_a(b - 1)` at a tile boundary
    :math:`b` (``boundaries[a]``, as :attr:`bench.tiling.TilePlan.boundaries`)
    over the median of :math:`s_a`. A seam is a step that the image does not
    have elsewhere: near 1 (within the spread of the profile) there is none.
    NaN without boundaries.
    """
    x_hat = np.asarray(x_hat, dtype=np.float64)
    if len(boundaries) != x_hat.ndim:
        raise ValueError(f"boundaries must list one tuple per axis of the {x_hat.ndim}D image, got {len(boundaries)}")
    worst = math.nan
    for axis, positions in enumerate(boundaries):
        if not positions:
            continue
        others = tuple(a for a in range(x_hat.ndim) if a != axis)
        steps = np.abs(np.diff(x_hat, axis=axis)).mean(axis=others)
        typical = float(np.median(steps))
        ratio = max(steps[b - 1] for b in positions) / typical if typical > 0 else math.inf
        worst = ratio if math.isnan(worst) else max(worst, ratio)
    return float(worst)


def _same_shape(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"images must have the same shape, got {a.shape} and {b.shape}")
    return a, b


def _common_size(psf_true: np.ndarray, psf_estimate: np.ndarray) -> tuple[int, ...]:
    """The canvas that holds both PSFs: per axis, the odd size that holds either."""
    if np.ndim(psf_true) != np.ndim(psf_estimate):
        raise ValueError(
            f"PSFs must have the same number of axes, got {np.shape(psf_true)} and {np.shape(psf_estimate)}"
        )
    return tuple(int(n) + 1 - int(n) % 2 for n in np.maximum(np.shape(psf_true), np.shape(psf_estimate)))


def _common_psfs(psf_true: np.ndarray, psf_estimate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    size = _common_size(psf_true, psf_estimate)
    return normalize_psf(psf_true, size), normalize_psf(psf_estimate, size)
