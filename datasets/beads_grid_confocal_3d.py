"""Real confocal stacks (MPI-CBG): the line grid and the beads, with the 3D PSF measured from the beads."""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
import scipy.ndimage

from bench.api import BaseDataset, Case
from bench.datasets._real import (
    BEAD_PIXEL_UM,
    CONFOCAL_GRID_PIXEL_UM,
    CONFOCAL_OFFSET,
    SHIPPED,
    as_case_psf,
    case_meta,
    prepare_psf,
    resample_psf,
    to_unit_range,
)

GRID_STACK = "beads_grid_confocal/grid_1AU_stack.tif"
BEAD_STACK = "beads_grid_confocal/beads_stack.tif"
BEAD_PSF_STACK = "beads_grid_confocal/psf_avg_4beads_stack.tif"
#: Plane spacing of both stacks and of the PSF (ImageJ ``spacing``), micrometres.
Z_STEP_UM = 0.125
#: The cases and their (D, H, W).
SHAPES = {"grid-3d": (21, 150, 150), "beads-3d": (21, 116, 128)}
CASES = tuple(SHAPES)


class Dataset(BaseDataset):
    """Two real confocal stacks with the PSF measured on the same microscope; no ground truth.

    - ``grid-3d``: the line grid (pinhole 1 Airy unit), the whole stack, 21 x
      150 x 150 at 125 x 21.96 x 21.96 nm, 1..8 counts per voxel
      (Poisson-limited). Scored by the no-reference scores (the line scores
      are 2D: ``beads-grid-confocal`` has them on the in-focus planes).
    - ``beads-3d``: the bead stack the PSF was derived from, 21 x 116 x 128
      at 125 x 22.49 x 22.49 nm, with its 4 beads. Scored as well by the
      beads' width after restoration along z, y and x in micrometres
      (:func:`bench.score.probes.bead_fwhm`): the resolution a restoration reaches.
      The PSF is the average of these same beads, so this case measures how
      far a method sharpens towards the beads' true size, not how well it
      generalises.

    ``y`` is the stack minus the detector offset (1 count), clipped at 0 and
    divided by its maximum (:func:`bench.datasets._real.to_unit_range`). The
    PSF is the 4-bead average (17 planes around its centre), resampled
    laterally to the grid's pixel by :func:`bench.datasets._real.resample_psf`
    for ``grid-3d``, unit sum. ``meta["pixel_size_um"]`` is (dz, dy, dx).

    Parameters
    ----------
    cases : list of {"grid-3d", "beads-3d"}
    psf_size : int
        Odd lateral side of the PSF in pixels (41 keeps the ±0.45 µm support).
    """

    name = "beads-grid-confocal-3d"
    description = (
        "real confocal stacks (MPI-CBG line grid, beads), measured 3D bead PSF; no-reference and bead FWHM scores"
    )

    def __init__(self, *, cases: Sequence[str] = CASES, psf_size: int = 41) -> None:
        unknown = [c for c in cases if c not in CASES]
        if unknown:
            raise ValueError(f"unknown case(s) {unknown}; cases are: {', '.join(CASES)}")
        self.cases, self.psf_size = list(cases), int(psf_size)

    def case_ids(self) -> list[str]:
        return list(self.cases)

    def image_shape(self) -> tuple[int, int, int]:
        """The first case's (D, H, W): the two stacks differ laterally."""
        return SHAPES[self.cases[0]]

    @functools.cached_property
    def bead_positions(self) -> list[list[int]]:
        """(z, y, x) of the beads: maxima of the offset-free stack smoothed by 2 voxels, above 20 % of the brightest."""
        stack = np.clip(SHIPPED.read(BEAD_STACK).astype(np.float64) - CONFOCAL_OFFSET, 0, None)
        smooth = scipy.ndimage.gaussian_filter(stack, 2.0)
        peaks = (smooth == scipy.ndimage.maximum_filter(smooth, size=11)) & (smooth > 0.2 * smooth.max())
        return np.argwhere(peaks).tolist()

    def make_case(self, case_id: str) -> Case:
        if case_id not in self.cases:
            raise ValueError(f"unknown case {case_id!r}; cases are: {', '.join(self.cases)}")
        stack_file, pixel = (
            (GRID_STACK, CONFOCAL_GRID_PIXEL_UM) if case_id == "grid-3d" else (BEAD_STACK, BEAD_PIXEL_UM)
        )
        y, scale = to_unit_range(SHIPPED.read(stack_file), CONFOCAL_OFFSET)
        psf = prepare_psf(SHIPPED.read(BEAD_PSF_STACK))
        psf = resample_psf(psf, (Z_STEP_UM, BEAD_PIXEL_UM, BEAD_PIXEL_UM), (Z_STEP_UM, pixel, pixel),
                           size=(psf.shape[0], self.psf_size, self.psf_size))  # fmt: skip
        extra = {"beads": {"positions": self.bead_positions}} if case_id == "beads-3d" else {}
        meta = case_meta(
            case_id, pixel, [stack_file, BEAD_PSF_STACK],
            psf_source=f"measured: 4-bead average, same microscope, resampled {BEAD_PIXEL_UM} -> {pixel} um laterally",
            offset=CONFOCAL_OFFSET, intensity_scale=scale, **extra,
        )  # fmt: skip
        meta["pixel_size_um"] = [Z_STEP_UM, pixel, pixel]
        return Case(case_id, y=y.astype(np.float32), x=None, psf=as_case_psf(psf), meta=meta)
