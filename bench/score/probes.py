r"""Probes of real-data restorations: test lines, beads and tiling seams, scored from the image alone.

A calibration slide's test lines give contrast and width (:func:`line_profile`),
sub-resolution beads the resolution per axis (:func:`bead_fwhm`), and a tiled
restoration the size of its seams (:func:`seam_score`).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import cast

import numpy as np
import scipy.signal

__all__ = ["bead_fwhm", "line_profile", "seam_score"]


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
    :math:`b` (``boundaries[a]``, as :attr:`bench.solve.tiling.TilePlan.boundaries`)
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
