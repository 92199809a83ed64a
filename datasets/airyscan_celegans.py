"""Real Airyscan confocal image of a C. elegans intestine (sdeconv sample): a "do no harm" case."""

from __future__ import annotations

import numpy as np

from bench.api import BaseDataset, Case
from bench.datasets._real import SHIPPED, as_case_psf, case_meta, to_unit_range

IMAGE = "airyscan_celegans/celegans.tif"
#: ImageJ metadata of the file: 23.47 pixels per micrometre.
PIXEL_UM = 0.0426
#: Border cut as upstream does (``[3:-3, 3:-3]``), leaving 310x310.
BORDER = 3
#: The PSF of sdeconv's own examples on this image: a Gaussian of sigma 1.5 px on 13x13.
DEMO_PSF_SIGMA, DEMO_PSF_SIZE = 1.5, 13


class Dataset(BaseDataset):
    """A 2D Airyscan image (310x310 at 42.6 nm), already processed by the Airyscan pipeline.

    - ``y``: the image divided by its maximum (no offset is documented).
    - ``psf``: no PSF was measured and the optics are not recorded. Non-blind
      methods get the Gaussian (sigma 1.5 px) that sdeconv's own examples use
      on this image, marked ``psf_reference = False``: blind methods' PSF
      estimates are not scored against a guess.
    - no ground truth. The image is already sharp, so gains are small; the
      case checks that methods do no harm (no-reference scores and panels).
    """

    name = "airyscan-celegans"
    description = "real Airyscan C. elegans image (sdeconv), demo Gaussian PSF; do-no-harm, no reference"

    def case_ids(self) -> list[str]:
        return ["celegans"]

    def image_shape(self) -> tuple[int, int]:
        return (316 - 2 * BORDER, 316 - 2 * BORDER)

    def make_case(self, case_id: str) -> Case:
        if case_id not in self.case_ids():
            raise ValueError(f"unknown case {case_id!r}; cases are: {', '.join(self.case_ids())}")
        y, scale = to_unit_range(SHIPPED.read(IMAGE)[BORDER:-BORDER, BORDER:-BORDER], 0.0)
        grid = np.arange(DEMO_PSF_SIZE) - DEMO_PSF_SIZE // 2
        psf = np.exp(-(grid[:, None] ** 2 + grid[None, :] ** 2) / (2 * DEMO_PSF_SIGMA**2))
        meta = case_meta(
            case_id, PIXEL_UM, [IMAGE],
            psf_source=f"demo guess: Gaussian sigma {DEMO_PSF_SIGMA} px from sdeconv's examples, not measured",
            psf_reference=False, intensity_scale=scale,
        )  # fmt: skip
        return Case(case_id, y=y.astype(np.float32), x=None, psf=as_case_psf(psf / psf.sum()), meta=meta)
