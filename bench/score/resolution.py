r"""Resolution without ground truth: image decorrelation analysis (Descloux, Grußmayer and Radenovic, 2019).

A microscopist's first question about a restoration with no reference is how
fine its detail is. Decorrelation analysis answers from the image alone: the
image's Fourier transform :math:`I(k)` is correlated with its phase-only
version :math:`I_n(k) = I(k)/|I(k)|` restricted to a disc of radius :math:`r`,

.. math::

    d(r) = \frac{\mathrm{Re} \sum_{|k| < r} I(k)\, I_n^*(k)}
                {\|I\|\ \sqrt{\sum_{|k| < r} |I_n(k)|^2}},

(frequencies normalised so that 1 is Nyquist). Where the image holds signal,
widening the disc adds correlated frequencies and :math:`d` grows; where noise
dominates, it adds uncorrelated ones and :math:`d` falls: the position of the
peak estimates the highest frequency with signal, :math:`k_c`. Strong low
frequencies can hide that peak, so the analysis is repeated on high-passed
copies of the image (the image minus its Gaussian blur of width :math:`g`,
for a geometric series of :math:`g`, refined once around the best), and the
highest peak frequency whose amplitude passes 0.05 is kept. The resolution is
:math:`2/k_c` pixels, the period of the finest detail.

The algorithm follows the paper's description; the code is this suite's own
(the reference implementation is the authors' ImDecorr, MATLAB and ImageJ).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter

__all__ = ["Decorrelation", "decorrelation_resolution"]

#: Peaks of smaller amplitude are noise, not signal (the paper's threshold).
MIN_AMPLITUDE = 0.05
#: A peak must rise this far above the lowest point after it (numerical noise on smooth curves).
MIN_PROMINENCE = 1e-3
#: Smallest high-pass width of the first pass, pixels.
MIN_HIGHPASS = 0.15


@dataclass(frozen=True)
class Decorrelation:
    """Result of :func:`decorrelation_resolution`.

    ``cutoff``: the highest frequency with signal, normalised (1 = Nyquist);
    0 when no curve turned down: white noise alone, a flat image, or signal up
    to Nyquist with no noise to show where it ends. ``amplitude``: the
    unfiltered curve's peak height, which grows with the image's
    signal-to-noise ratio. ``resolution``: :math:`2 / k_c` in pixels, NaN
    when the cut-off is undetermined.
    """

    cutoff: float
    amplitude: float

    @property
    def resolution(self) -> float:
        return 2.0 / self.cutoff if self.cutoff > 0 else float("nan")


def decorrelation_resolution(
    image: np.ndarray, *, radii: int = 50, highpass: int = 10, apodization: int = 20
) -> Decorrelation:
    """Decorrelation analysis of a 2-D image (see the module docstring).

    Parameters
    ----------
    image : (H, W) array
        Any intensity scale; at least 16 pixels a side.
    radii : int
        Samples of :math:`d(r)` on [0, 1] (at least 30).
    highpass : int
        High-pass widths per pass (at least 10).
    apodization : int
        Width in pixels of the cosine taper that brings the borders to the
        mean, so that the edges' discontinuity does not add a cross of false
        high frequencies (at most a quarter of the smaller side).
    """
    image = np.asarray(image, dtype=np.float64)
    if image.ndim != 2 or min(image.shape) < 16:
        raise ValueError(f"decorrelation analysis needs a 2-D image of at least 16x16 pixels, got shape {image.shape}")
    if not np.isfinite(image).all():
        raise ValueError("decorrelation analysis needs finite pixel values; replace NaN/inf first")
    radii, highpass = max(int(radii), 30), max(int(highpass), 10)
    # An odd side puts zero frequency on a pixel, and the grid is then symmetric about it.
    image = image[: image.shape[0] - 1 + image.shape[0] % 2, : image.shape[1] - 1 + image.shape[1] % 2]
    image = _apodize(image, min(apodization, min(image.shape) // 4))
    if image.std() == 0:
        return Decorrelation(0.0, 0.0)

    radius = np.hypot(
        *np.meshgrid(np.linspace(-1, 1, image.shape[0]), np.linspace(-1, 1, image.shape[1]), indexing="ij")
    )
    inside = radius < 1
    centre = (image.shape[0] // 2, image.shape[1] // 2)
    spectrum = _centred_fft((image - image.mean()) / image.std()) * inside
    phase = np.divide(spectrum, np.abs(spectrum), out=np.zeros_like(spectrum), where=np.abs(spectrum) > 0)
    phase[centre] = 0  # the mean carries no resolution
    order = np.argsort(radius[inside])
    sorted_radius, sorted_phase = radius[inside][order], phase[inside][order]
    counts = np.cumsum(np.abs(sorted_phase) ** 2)
    low_passed = np.real(np.fft.ifftshift(np.fft.ifft2(np.fft.ifftshift(spectrum))))

    def curve(filtered: np.ndarray, grid: np.ndarray) -> np.ndarray:
        transform = (_centred_fft(filtered) * inside)[inside][order]
        products = np.cumsum(np.real(transform * np.conj(sorted_phase)))
        norm = np.sqrt(np.sum(np.abs(transform) ** 2))
        taken = np.searchsorted(sorted_radius, grid, side="left")  # frequencies strictly inside each radius
        numerator = np.where(taken > 0, products[np.maximum(taken - 1, 0)], 0.0)
        denominator = norm * np.sqrt(np.where(taken > 0, counts[np.maximum(taken - 1, 0)], 0.0))
        return np.divide(numerator, denominator, out=np.zeros_like(grid), where=denominator > 0)

    grid = np.linspace(0, 1, radii)
    cutoff0, amplitude0 = _peak(grid, curve(low_passed, grid))
    widest = 2 / cutoff0 if cutoff0 > 0 else max(image.shape) / 2
    widths = np.geomspace(widest, MIN_HIGHPASS, highpass)
    peaks: list[tuple[float, float]] = []
    for refinement in range(2):
        found = [_peak(grid, curve(low_passed - gaussian_filter(low_passed, width), grid)) for width in widths]
        peaks += found
        if refinement == 0:
            widths, grid = _refine(found, widths, radii)
    peaks.append((cutoff0, amplitude0))
    significant = [cutoff for cutoff, amplitude in peaks if amplitude >= MIN_AMPLITUDE]
    return Decorrelation(max(significant, default=0.0), amplitude0 if amplitude0 >= MIN_AMPLITUDE else 0.0)


def _centred_fft(image: np.ndarray) -> np.ndarray:
    return np.fft.fftshift(np.fft.fft2(np.fft.fftshift(image)))


def _apodize(image: np.ndarray, width: int) -> np.ndarray:
    """The image with a raised-cosine taper over ``width`` pixels at each border, towards its mean."""
    if width < 1:
        return image

    def taper(side: int) -> np.ndarray:
        ramp = np.ones(side)
        edge = 0.5 - 0.5 * np.cos(np.pi * (np.arange(width) + 0.5) / width)
        ramp[:width], ramp[side - width :] = edge, edge[::-1]
        return ramp

    mask = taper(image.shape[0])[:, None] * taper(image.shape[1])[None, :]
    mean = image.mean()
    return (image - mean) * mask + mean


def _peak(grid: np.ndarray, curve: np.ndarray) -> tuple[float, float]:
    """(position, height) of the highest point of ``curve`` that the curve falls significantly below after it.

    A maximum at the end of the sampled range is no peak: the curve has not
    turned down yet. (0, 0) when there is none.
    """
    lowest_after = np.minimum.accumulate(curve[::-1])[::-1]
    candidates = np.flatnonzero(curve[:-1] - lowest_after[:-1] > MIN_PROMINENCE)
    if candidates.size == 0:
        return 0.0, 0.0
    best = candidates[np.argmax(curve[candidates])]
    return float(grid[best]), float(curve[best])


def _refine(peaks: list[tuple[float, float]], widths: np.ndarray, radii: int) -> tuple[np.ndarray, np.ndarray]:
    """Second pass: high-pass widths between the best peaks of the first, radii sampled finely around them.

    The two candidates are the highest cut-off and the best compromise of
    cut-off and amplitude (their geometric mean); peaks below
    :data:`MIN_AMPLITUDE` do not count.
    """
    cutoffs = np.array([c if a >= MIN_AMPLITUDE else 0.0 for c, a in peaks])
    amplitudes = np.array([a if a >= MIN_AMPLITUDE else 0.0 for _, a in peaks])
    balanced = np.sqrt(cutoffs * amplitudes)
    first, last = sorted((int(np.argmax(balanced)), int(np.argmax(cutoffs))))
    if first == 0:
        last = 0
    last = min(last, len(widths) - 2)
    refined_widths = np.geomspace(widths[first], widths[last + 1], len(widths))
    centre = cutoffs[int(np.argmax(balanced))]
    return refined_widths, np.linspace(max(centre - 0.05, 0.0), min(centre + 0.3, 1.0), radii)
