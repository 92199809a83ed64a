"""Real confocal line-grid sample with the PSF measured from beads on the same microscope (MPI-CBG)."""

from __future__ import annotations

import functools
from typing import Sequence

import numpy as np
import scipy.ndimage
import scipy.signal

from bench.api import Case
from bench.datasets._real import (
    BEAD_PIXEL_UM,
    BEAD_PSF,
    CONFOCAL_GRID_PIXEL_UM,
    CONFOCAL_OFFSET,
    SHIPPED,
    ShippedPlanes,
    as_case_psf,
    bead_psf,
    case_meta,
    to_unit_range,
)  # fmt: skip

GRID = "beads_grid_confocal/grid_1AU_z{z:02d}.tif"
#: Shipped in-focus planes of the grid stack (the focus is z~10 of 21, 125 nm steps).
PLANES = (9, 10, 11)


class Dataset(ShippedPlanes):
    """In-focus planes of a confocal (1 Airy unit) stack of fluorescent vertical lines, 150x150 at 21.96 nm.

    - ``y``: the plane minus the detector offset (1 count), clipped at 0 and
      divided by its maximum. Counts are 1..8 per pixel: Poisson-limited data.
    - ``psf``: the average of 4 beads imaged on the same microscope (in-focus
      plane z=16 of the 33-plane average derived from Haase's bead stack),
      resampled from its 22.49 nm pixel to the grid's 21.96 nm (2.4 %) by
      :func:`bench.datasets._real.resample_psf`. Non-blind methods get it;
      blind methods' estimates are scored against it (PSF-SNR).
    - no ground truth: ``meta["line_profile"]`` holds the lines' positions
      (peaks of the column profile of the planes' mean, smoothed by 2 px), and
      the runner scores the estimate's line contrast and width (µm) across
      them (:func:`bench.score.probes.line_profile`).

    Parameters
    ----------
    planes : list of int
        Which shipped z planes (9, 10, 11) become cases.
    psf_size : int
        Odd side of the resampled PSF in pixels (41 keeps the ±0.45 µm support).
    """

    name = "beads-grid-confocal"
    description = "real confocal line grid (MPI-CBG), measured bead PSF; line contrast/width, PSF-SNR"
    plane_file, shipped_planes, case_prefix = GRID, PLANES, "grid"

    def __init__(self, *, planes: Sequence[int] = PLANES, psf_size: int = 41) -> None:
        super().__init__(planes=planes, psf_size=psf_size)

    def image_shape(self) -> tuple[int, int]:
        return (150, 150)

    @functools.cached_property
    def line_positions(self) -> list[int]:
        """Columns of the grid's lines: peaks of the planes' mean column profile (smoothed 2 px, prominence > 10 %)."""
        profile = np.mean([SHIPPED.read(GRID.format(z=z)).astype(np.float64).mean(axis=0) for z in PLANES], axis=0)
        profile = scipy.ndimage.gaussian_filter1d(profile, 2.0)
        peaks, _ = scipy.signal.find_peaks(profile, prominence=0.1 * np.ptp(profile))
        return [int(p) for p in peaks]

    def make_case(self, case_id: str) -> Case:
        plane = self.plane(case_id)
        y, scale = to_unit_range(SHIPPED.read(plane), CONFOCAL_OFFSET)
        psf = bead_psf(CONFOCAL_GRID_PIXEL_UM, size=self.psf_size)
        meta = case_meta(
            case_id, CONFOCAL_GRID_PIXEL_UM, [plane, BEAD_PSF],
            psf_source=f"measured: 4-bead average, same microscope, resampled {BEAD_PIXEL_UM} -> {CONFOCAL_GRID_PIXEL_UM} um",
            line_profile={"axis": 0, "positions": self.line_positions},
            offset=CONFOCAL_OFFSET, intensity_scale=scale,
        )  # fmt: skip
        return Case(case_id, y=y.astype(np.float32), x=None, psf=as_case_psf(psf), meta=meta)
