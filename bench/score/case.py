"""Every score of one case at once: what the case's references allow, NaN for the rest.

:class:`CaseScorer` is what the runner calls for each row of ``cases.csv``.
It combines the image scores (:mod:`bench.score.image`), the PSF scores
(:mod:`bench.score.psf`), the scores without ground truth
(:mod:`bench.score.reference_free`, :mod:`bench.score.resolution`) and the
real-data probes (:mod:`bench.score.probes`), computing each reference's
share once per case.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from typing import cast

import numpy as np

from bench.api import Case, Scoring
from bench.physics.psf_geometry import psf_fwhm
from bench.score.image import SSIMReference, affine_fit, psnr
from bench.score.probes import bead_fwhm, line_profile
from bench.score.psf import ReblurReference, psf_psnr, psf_snr
from bench.score.reference_free import RingingReference, negative_fraction, peak_ratio, reblur_residual
from bench.score.resolution import decorrelation_resolution

__all__ = ["NO_REFERENCE_SCORES", "CaseScorer", "score"]

#: Columns of :func:`score` that need no ground truth, in display order.
NO_REFERENCE_SCORES = (
    "reblur_residual", "negative_fraction", "peak_ratio", "ringing", "line_contrast", "line_fwhm_um",
    "bead_fwhm_z_um", "bead_fwhm_y_um", "bead_fwhm_x_um", "resolution_px",
)  # fmt: skip


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

    @classmethod
    def for_case(cls, case: Case) -> CaseScorer:
        """The scorer of a benchmark case (its reference, input, PSF and scoring keys)."""
        return cls(case.x, case.y, case.psf, scoring=case.scoring)

    @functools.cached_property
    def _ringing(self) -> RingingReference:
        return RingingReference(cast(np.ndarray, self.y))  # used only when y is given

    @functools.cached_property
    def _reblur(self) -> ReblurReference:
        return ReblurReference(cast(np.ndarray, self.x), cast(np.ndarray, self.psf), data_range=self.data_range)

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
                scores["reblur_psnr"] = self._reblur(psf_hat)
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
