"""Semi-synthetic data: clean images blurred by real measured PSFs, outside the Zernike family, with ground truth."""

from __future__ import annotations

import functools
import zlib
from typing import Any, Mapping, Sequence

import numpy as np

from bench.api import BaseDataset, Case
from bench.datasets._real import (
    BEAD_PIXEL_UM,
    BIOSR_PAIRS,
    BIOSR_PIXEL_UM,
    LLS_PSF_PIXEL_UM,
    SHIPPED,
    as_case_psf,
    bead_psf,
    centre_crop,
    lattice_lightsheet_psf,
    normalize_reference,
)  # fmt: skip
from bench.physics.degradation import blur_valid, degrade, select_noise_levels
from bench.scenes.images import load_image

#: Every image lives on the BioSR grid: its SIM references are real 62.6 nm images.
PIXEL_UM = BIOSR_PIXEL_UM
#: Clean images: BioSR SIM references (real structures) and the benchmark's test phantoms (seed 0).
SIM_IMAGES = {"sim-microtubules": BIOSR_PAIRS["microtubules"][1], "sim-factin": BIOSR_PAIRS["factin"][1]}
PHANTOMS = ("phantom-filaments", "phantom-beads")


class Dataset(BaseDataset):
    """Clean images blurred by the measured confocal-bead and lattice light-sheet PSFs, then the core noise.

    The PSFs are the in-focus planes of the two measured PSFs shipped with
    deconv-bench, resampled (:func:`bench.datasets._real.resample_psf`) from
    their own pixel (22.49 nm, 101.1 nm) to 62.6 nm, the grid of the BioSR
    SIM references, so they keep their physical size:

    - ``confocal-bead``: the 4-bead average of the MPI-CBG confocal (FWHM
      about 0.21 µm, 3.4 px), slightly elliptical;
    - ``lattice-lightsheet``: the lattice light-sheet detection PSF (FWHM
      about 0.32 µm, 5 px), asymmetric, with a noise pedestal of about 4 %.

    Neither is a Zernike-aberrated Airy pattern with f_c in [0.125, 0.25]: this is
    where blind methods trained on that model show whether they generalise.
    Both PSFs are zero-padded to one odd size, so each image has one field for
    both PSFs (a paired design). As in ``fresnel-zernike``, each image is
    rendered on a field larger by ``psf_size - 1`` px and blurred with a valid
    convolution (no periodic boundary), then degraded by a named noise level
    (:func:`bench.physics.degradation.degrade`).

    Clean images: the SIM references' central crops with their 0.1–99.9
    percentiles mapped to [0, 1] and clipped there, and the test phantoms.

    Parameters
    ----------
    size : int
        Side of the degraded and ground-truth images, pixels.
    images : list of str
        ``sim-microtubules``, ``sim-factin``, ``phantom-filaments``, ``phantom-beads``.
    psfs : list of str
        ``confocal-bead``, ``lattice-lightsheet``.
    noise, noise_levels, seed
        As in ``fresnel-zernike``.
    """

    name = "measured-psf"
    description = "SIM references + phantoms blurred by measured confocal/LLS PSFs (non-Zernike), core noise"

    def __init__(
        self,
        *,
        size: int = 128,
        images: Sequence[str] = (*SIM_IMAGES, *PHANTOMS),
        psfs: Sequence[str] = ("confocal-bead", "lattice-lightsheet"),
        noise: str | Sequence[str] = ("low", "high"),
        noise_levels: Mapping[str, Mapping[str, Any]] | None = None,
        seed: int = 0,
    ) -> None:
        self.size, self.seed = int(size), int(seed)
        self.images, self.psfs = list(images), list(psfs)
        for kind, given, known in (("image", self.images, (*SIM_IMAGES, *PHANTOMS)), ("psf", self.psfs, _PSFS)):
            unknown = [g for g in given if g not in known]
            if unknown:
                raise ValueError(f"unknown {kind}(s) {unknown}; available: {', '.join(known)}")
        self.noise_levels = select_noise_levels(noise, noise_levels)

    @functools.cached_property
    def _cases(self) -> dict[str, tuple[str, str, str]]:
        return {
            f"{image}-{psf}-{noise}": (image, psf, noise)
            for image in self.images for psf in self.psfs for noise in self.noise_levels
        }  # fmt: skip

    def case_ids(self) -> list[str]:
        return list(self._cases)

    def image_shape(self) -> tuple[int, int]:
        return (self.size, self.size)

    @functools.cached_property
    def psf_bank(self) -> dict[str, np.ndarray]:
        """The measured PSFs on the 62.6 nm grid, zero-padded to one odd size."""
        psfs = {name: make() for name, make in _PSFS.items() if name in self.psfs}
        side = max(p.shape[0] for p in psfs.values())
        return {name: np.pad(p, (side - p.shape[0]) // 2) for name, p in psfs.items()}

    @functools.lru_cache(maxsize=None)
    def _field(self, image: str) -> np.ndarray:
        side = self.size + next(iter(self.psf_bank.values())).shape[0] - 1
        if image in SIM_IMAGES:
            sim = centre_crop(SHIPPED.read(SIM_IMAGES[image]), side)
            return np.clip(normalize_reference(sim), 0, 1)
        return load_image(image, side, seed=0)

    def make_case(self, case_id: str) -> Case:
        if case_id not in self._cases:
            raise ValueError(f"unknown case {case_id!r}; cases are: {', '.join(self.case_ids())}")
        image, psf_name, noise = self._cases[case_id]
        field, psf = self._field(image), self.psf_bank[psf_name]
        margin = psf.shape[0] // 2
        rng = np.random.default_rng(
            [self.seed, self.images.index(image), self.psfs.index(psf_name), zlib.crc32(noise.encode())]
        )
        y = degrade(blur_valid(field, psf), self.noise_levels[noise], rng)
        meta = {
            "image": image,
            "noise": noise,
            "noise_params": vars(self.noise_levels[noise]),
            "psf_name": psf_name,
            "psf_source": _SOURCES[psf_name],
            "pixel_size_um": [PIXEL_UM, PIXEL_UM],
            "seed": self.seed,
        }
        return Case(
            case_id, y=y.astype(np.float32), x=field[margin:-margin, margin:-margin].astype(np.float32),
            psf=as_case_psf(psf), meta=meta,
        )  # fmt: skip


#: Side of the lattice light-sheet PSF on the 62.6 nm grid: 3.2 µm, as its 31 px at 101.5 nm in lattice-lightsheet.
LLS_PSF_SIZE = 51


def _lattice_lightsheet() -> np.ndarray:
    return lattice_lightsheet_psf(PIXEL_UM, size=LLS_PSF_SIZE)[0]


_PSFS = {"confocal-bead": lambda: bead_psf(PIXEL_UM), "lattice-lightsheet": _lattice_lightsheet}
_SOURCES = {
    "confocal-bead": f"measured: MPI-CBG confocal 4-bead average, resampled {BEAD_PIXEL_UM} -> {PIXEL_UM} um",
    "lattice-lightsheet": f"measured: lattice light-sheet bead, in-focus plane, resampled {LLS_PSF_PIXEL_UM} -> {PIXEL_UM} um",
}
