"""Real widefield images restored and scored against SIM images of the same cells (BioSR)."""

from __future__ import annotations

import functools
from typing import Sequence

import numpy as np

from bench.api import BaseDataset, Case
from bench.datasets._real import (
    BIOSR_PAIRS,
    BIOSR_PIXEL_UM,
    SHIPPED,
    as_case_psf,
    case_meta,
    centre_crop,
    normalize_reference,
    optics_psf,
)  # fmt: skip
from bench.physics.optics import microscope_optics, optics_meta

#: Oil immersion, implied by the NA 1.49 objective (not recorded in the files).
IMMERSION_INDEX = 1.515


class Dataset(BaseDataset):
    r"""BioSR widefield images (input) with SIM reconstructions of the same field (reference).

    Each widefield image is the mean of the 9 (linear SIM, microtubules) or
    more (nonlinear SIM, F-actin) raw SIM frames at BioSR's SNR level 9; the
    reference is the high-SNR SIM reconstruction of the same cell,
    block-averaged onto the widefield's 62.6 nm grid (Qiao et al. 2021).

    - ``y``: the widefield crop divided by its maximum (no offset: the
      upstream files are rescaled to mean 100, not counts).
    - ``x``: the SIM crop with its 0.1 and 99.9 percentiles mapped to 0 and 1.
    - ``psf`` (non-blind methods only): the in-focus, aberration-free PSF of
      the stated optics, :func:`bench.datasets._real.optics_psf` with
      :math:`f_c = \mathrm{NA}\,p/\lambda` (0.179 cycles/px for NA 1.49,
      520 nm, 62.6 nm), integrated over the pixel. Blind methods get nothing.

    Scoring: ``meta["reference"] = "affine"``. PSNR/SSIM compare the SIM
    reference with the estimate after a least-squares affine intensity fit
    (:func:`bench.score.image.affine_fit`). The reference is itself band-limited
    (SIM PSF, then block averaging) and comes from another acquisition, so the
    scores rank methods; they do not measure absolute fidelity.

    Parameters
    ----------
    samples : list of str
        Which pairs: ``microtubules``, ``factin``.
    crop : int or None
        Side of the central crop in pixels (None: the whole 502x502 field).
    na, wavelength_um : float
        Objective NA and emission wavelength (µm) of the model PSF. The files
        do not record them; NA 1.49 is the TIRF objective of the BioSR
        multimodal SIM and 0.52 µm the green emission of its labels.
    psf_size : int
        Odd side of the model PSF in pixels.
    """

    name = "biosr-wf-sim"
    description = "real widefield (BioSR) vs SIM reference of the same cell, affine-fit PSNR/SSIM, model PSF"

    def __init__(
        self,
        *,
        samples: Sequence[str] = ("microtubules", "factin"),
        crop: int | None = 256,
        na: float = 1.49,
        wavelength_um: float = 0.52,
        psf_size: int = 31,
    ) -> None:
        unknown = [s for s in samples if s not in BIOSR_PAIRS]
        if unknown:
            raise ValueError(f"unknown BioSR sample(s) {unknown}; available: {', '.join(BIOSR_PAIRS)}")
        self.samples, self.crop = list(samples), crop
        self.na, self.wavelength_um, self.psf_size = float(na), float(wavelength_um), int(psf_size)

    def case_ids(self) -> list[str]:
        return list(self.samples)

    def image_shape(self) -> tuple[int, int]:
        return (self.crop, self.crop) if self.crop else (502, 502)

    @functools.cached_property
    def model_psf(self) -> tuple[np.ndarray, float]:
        """The PSF of the stated optics and its cut-off :math:`f_c`, the same for every case."""
        return optics_psf(self.na, self.wavelength_um, BIOSR_PIXEL_UM, size=self.psf_size)

    def make_case(self, case_id: str) -> Case:
        if case_id not in self.samples:
            raise ValueError(f"unknown case {case_id!r}; cases are: {', '.join(self.samples)}")
        widefield, sim = BIOSR_PAIRS[case_id]
        raw = centre_crop(SHIPPED.read(widefield).astype(np.float64), self.crop)
        reference = centre_crop(SHIPPED.read(sim).astype(np.float64), self.crop)
        psf, fc = self.model_psf
        scale = float(raw.max())
        meta = case_meta(
            case_id, BIOSR_PIXEL_UM, [widefield, sim],
            reference="affine", psf_source="model: in-focus diffraction-limited widefield PSF of the stated optics",
            fc=fc, na=self.na, wavelength_um=self.wavelength_um, crop=self.crop, intensity_scale=scale,
            optics=optics_meta(microscope_optics(self.na, self.wavelength_um, IMMERSION_INDEX, BIOSR_PIXEL_UM)),
        )  # fmt: skip
        return Case(
            case_id,
            y=(raw / scale).astype(np.float32),
            x=normalize_reference(reference).astype(np.float32),
            psf=as_case_psf(psf),
            meta=meta,
        )
