"""Real lattice light-sheet planes with the PSF measured on the same instrument (pycudadecon test data)."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from bench.api import Case
from bench.datasets._real import (
    LLS_PSF,
    LLS_PSF_PIXEL_UM,
    SHIPPED,
    ShippedPlanes,
    as_case_psf,
    case_meta,
    lattice_lightsheet_psf,
    to_unit_range,
)  # fmt: skip

RAW = "lattice_lightsheet/im_raw_z{z:02d}.tif"
#: Shipped planes of the 88-plane stage-scan volume: the cell at three depths.
PLANES = (10, 30, 50)
RAW_PIXEL_UM = 0.1015
#: Camera background of the raw volume in counts (the value pycudadecon's own tests subtract).
OFFSET = 98.0


class Dataset(ShippedPlanes):
    """Raw lattice light-sheet planes (320x256 at 101.5 nm) and the measured bead PSF's in-focus plane.

    In a lattice light-sheet microscope each raw camera frame is the plane lit
    by the sheet, which is the focal plane of the detection objective: a raw
    plane is an in-focus 2D image, and the detection PSF's in-focus plane is
    its 2D PSF (out-of-focus light from neighbouring planes, which the thin
    sheet keeps small, is not modelled). The stage-scan skew only relates
    successive planes, so no deskewing is needed in 2D.

    - ``y``: a raw plane minus the camera background (98 counts), clipped at 0,
      divided by its maximum.
    - ``psf``: plane z=30 of the measured PSF (the plane of the bead's peak,
      objective scan, 100 nm steps): a window around the peak, minus the
      plane's border median (141 counts), clipped at 0, resampled from 101.1
      to 101.5 nm per pixel. Clipping leaves a flat pedestal of the positive
      half of the background noise, about 4 % of the PSF's energy on 31x31.
      Non-blind methods get it; blind methods' estimates are scored against
      it (PSF-SNR).
    - no ground truth: no-reference scores only.

    Parameters
    ----------
    planes : list of int
        Which shipped raw planes (10, 30, 50) become cases.
    psf_size : int
        Odd side of the PSF in pixels (31 = 3.1 µm, ten lateral FWHMs).
    """

    name = "lattice-lightsheet"
    description = "real lattice light-sheet planes, PSF measured on the same instrument; PSF-SNR, no-reference"
    plane_file, shipped_planes, case_prefix = RAW, PLANES, "raw"

    def __init__(self, *, planes: Sequence[int] = PLANES, psf_size: int = 31) -> None:
        super().__init__(planes=planes, psf_size=psf_size)

    def image_shape(self) -> tuple[int, int]:
        return (320, 256)

    def make_case(self, case_id: str) -> Case:
        plane = self.plane(case_id)
        y, scale = to_unit_range(SHIPPED.read(plane), OFFSET)
        psf, background = lattice_lightsheet_psf(RAW_PIXEL_UM, size=self.psf_size)
        meta = case_meta(
            case_id, RAW_PIXEL_UM, [plane, LLS_PSF],
            psf_source=f"measured: bead, same instrument, in-focus plane, resampled {LLS_PSF_PIXEL_UM} -> {RAW_PIXEL_UM} um",
            offset=OFFSET, intensity_scale=scale, psf_background=background,
        )  # fmt: skip
        return Case(case_id, y=y.astype(np.float32), x=None, psf=as_case_psf(psf), meta=meta)
