"""Real widefield image of a DAPI-stained nucleus (deconwolf demo) with the PSF of its stated optics."""

from __future__ import annotations

import numpy as np

from bench.api import BaseDataset, Case
from bench.datasets._real import SHIPPED, as_case_psf, case_meta, optics_psf, to_unit_range
from bench.physics.optics import microscope_optics, optics_meta

PLANE = "widefield_dapi/dapi_001_z19.tif"
PIXEL_UM = 0.130
#: Optics of the upstream demo (deconwolf demo/makefile): NA 1.45, emission 461 nm, immersion n = 1.512.
NA, WAVELENGTH_UM, IMMERSION_INDEX = 1.45, 0.461, 1.512
#: Camera offset in counts (upstream: "about 1750"; the stack's minimum is 1758).
OFFSET = 1750.0


class Dataset(BaseDataset):
    r"""The in-focus plane (z=19 of 40, maximum variance) of a widefield DAPI stack, 201x101 at 130 nm.

    - ``y``: the plane minus the camera offset (1750 counts), clipped at 0,
      divided by its maximum.
    - ``psf``: the in-focus, aberration-free PSF of the stated optics
      (:func:`bench.datasets._real.optics_psf`), integrated over the 130 nm
      pixel. :math:`f_c = 1.45 \times 0.130 / 0.461 = 0.41` cycles/px: the
      camera undersamples this objective (Nyquist asks for 80 nm), so the
      in-plane PSF is only about 1.1 px wide. Most of the haze in a widefield
      plane is out-of-focus light from the rest of the nucleus, which a 2D
      model cannot remove.
    - no ground truth: a "do no harm" case. The no-reference scores
      (re-blur residual, negative and exploding intensities, ringing) and image
      panels show whether a method adds artefacts.

    Parameters
    ----------
    psf_size : int
        Odd side of the model PSF in pixels.
    """

    name = "widefield-dapi"
    description = "real widefield DAPI nucleus (deconwolf demo), model PSF of the stated optics; no reference"

    def __init__(self, *, psf_size: int = 15) -> None:
        self.psf_size = int(psf_size)

    def case_ids(self) -> list[str]:
        return ["dapi-z19"]

    def image_shape(self) -> tuple[int, int]:
        return (201, 101)

    def make_case(self, case_id: str) -> Case:
        if case_id not in self.case_ids():
            raise ValueError(f"unknown case {case_id!r}; cases are: {', '.join(self.case_ids())}")
        y, scale = to_unit_range(SHIPPED.read(PLANE), OFFSET)
        psf, fc = optics_psf(NA, WAVELENGTH_UM, PIXEL_UM, size=self.psf_size)
        meta = case_meta(
            case_id, PIXEL_UM, [PLANE],
            psf_source="model: in-focus diffraction-limited widefield PSF of the stated optics",
            fc=fc, na=NA, wavelength_um=WAVELENGTH_UM, offset=OFFSET, intensity_scale=scale,
            optics=optics_meta(microscope_optics(NA, WAVELENGTH_UM, IMMERSION_INDEX, PIXEL_UM)),
        )  # fmt: skip
        return Case(case_id, y=y.astype(np.float32), x=None, psf=as_case_psf(psf), meta=meta)
