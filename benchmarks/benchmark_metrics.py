"""Cost of scoring one restored image: per method, and once per case, against skimage's SSIM.

Every row of ``cases.csv`` is scored by :class:`bench.score.case.CaseScorer`;
its per-method cost (``time_score_method``: the input's share already
computed, as in a run with several methods) must stay a small multiple of
one ``skimage.metrics.structural_similarity`` call (``time_ssim_skimage``,
the peer measured in the same run) at every size. ``time_score_case`` adds
the input's share (bright mask, halo, the input's own ringing, ``h * x``),
paid once per case. The case is the fresnel-zernike timing case (camera,
noise medium, seed 0); the estimate is its ground truth plus seeded noise
and the PSF estimate a slightly wider PSF, so the blind-only scores run too.
"""

import numpy as np
import scipy.ndimage
from skimage.metrics import structural_similarity

from bench.score.case import CaseScorer
from bench.commands.timing import timing_case


class ScoringSuite:
    """Scoring one estimate of a size² case: per method (input's share cached), per case, and the SSIM peer."""

    params = ([256, 1024, 2048],)
    param_names = ("size",)
    timeout = 300
    number = 1
    repeat = (3, 10, 20.0)

    def setup(self, size):
        self.case = timing_case(size, overrides=["dataset.seed=0"])
        rng = np.random.default_rng(0)
        self.x_hat = (self.case.x + 0.02 * rng.standard_normal(self.case.x.shape)).astype(np.float32)
        self.psf_hat = scipy.ndimage.gaussian_filter(self.case.psf, 0.5).astype(np.float32)
        self.scorer = CaseScorer.for_case(self.case)
        self.scorer(self.x_hat, self.psf_hat)  # the input's share, computed once

    def time_score_method(self, size):
        self.scorer(self.x_hat, self.psf_hat)

    def time_score_case(self, size):
        CaseScorer.for_case(self.case)(self.x_hat, self.psf_hat)

    def time_ssim_skimage(self, size):
        structural_similarity(self.case.x.astype(np.float64), self.x_hat.astype(np.float64), data_range=1.0)

    def peakmem_score_method(self, size):
        self.scorer(self.x_hat, self.psf_hat)
