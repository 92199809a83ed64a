"""Synthetic volumes: 3D phantoms, widefield and confocal 3D PSFs with aberrations, valid blur, core noise."""

from __future__ import annotations

import functools
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from bench.api import BaseDataset, Case
from bench.physics.degradation import blur_valid, degrade, select_noise_levels
from bench.scenes.images import TRAIN_PHANTOM_SEED_OFFSET
from bench.physics.psfs import NOLL_INDICES_3D, confocal_psf_3d, widefield_psf_3d
from bench.scenes.volumes import VOLUME_PHANTOMS, load_volume

MICROSCOPES = ("widefield", "confocal")
#: Optics of each microscope: keyword arguments of its PSF function in bench.physics.psfs.
OPTICS = {
    "widefield": {"na": 1.2, "ni": 1.33, "wavelength_um": 0.52, "pixel_um": 0.065},
    "confocal": {
        "na": 1.4,
        "ni": 1.518,
        "excitation_um": 0.488,
        "emission_um": 0.52,
        "pixel_um": 0.04,
        "pinhole_au": 1.0,
    },
}


class Dataset(BaseDataset):
    r"""3D fluorescence phantoms blurred by widefield or confocal 3D PSFs, at named noise levels.

    For each phantom and microscope a PSF is drawn once (shared by the noise
    levels, a paired design) with Zernike aberrations
    :math:`\theta_k \sim \mathcal U[-\theta_{max}, \theta_{max}]` waves, Noll
    5-11 (:data:`bench.physics.psfs.NOLL_INDICES_3D`: defocus only moves the focal
    plane in a stack). The two microscopes image the same phantom volume:

    - ``widefield``: :func:`bench.physics.psfs.widefield_psf_3d` (deepinv's
      ``DiffractionBlurGenerator3D``), water objective NA 1.2, emission 520 nm,
      65 nm pixels;
    - ``confocal``: :func:`bench.physics.psfs.confocal_psf_3d` (deepinv's
      ``ConfocalBlurGenerator3D``), oil objective NA 1.4, excitation 488 nm,
      emission 520 nm, pinhole 1 Airy unit, 40 nm pixels (finer: the confocal
      OTF reaches twice as far).

    The phantom (:func:`bench.scenes.volumes.load_volume`) is rendered on a field
    larger than the volume by ``psf_shape - 1`` and blurred with a valid
    convolution, so the data have no boundary assumption; then the noise level
    of :func:`bench.physics.degradation.degrade` is applied voxel by voxel.
    ``meta["pixel_size_um"]`` is (dz, dy, dx); dz is the plane spacing the PSF
    was sampled at (``z_ratio`` lateral pixels times n/(n-1), deepinv's
    sampling of n planes, ~4% above nominal).

    Parameters
    ----------
    shape : (int, int, int)
        (D, H, W) of the degraded and ground-truth volumes, voxels.
    psf_shape : (int, int, int)
        Odd (D, H, W) of the PSF box.
    z_ratio : int
        Nominal plane spacing in lateral pixels (3: 195 nm widefield, 120 nm confocal planes).
    theta_max : float
        Aberration coefficients are uniform in [-theta_max, theta_max] waves.
    microscopes : list of {"widefield", "confocal"}
    optics : mapping
        Per microscope, keyword arguments of its PSF function (na, ni,
        wavelengths, pixel_um, pinhole_au) that replace those of :data:`OPTICS`.
    images : "test", "train" or list of str
        Phantoms of :data:`bench.scenes.volumes.VOLUME_PHANTOMS`; "train" renders them
        with seeds offset by :data:`bench.scenes.images.TRAIN_PHANTOM_SEED_OFFSET`.
    noise, noise_levels, seed
        As for ``fresnel-zernike``.
    """

    name = "fresnel-zernike-3d"
    description = "3D phantoms, widefield and confocal 3D Zernike PSFs, Poisson-Gaussian noise, valid blur"

    def __init__(
        self,
        *,
        shape: Sequence[int] = (32, 128, 128),
        psf_shape: Sequence[int] = (15, 31, 31),
        z_ratio: int = 3,
        theta_max: float = 0.1,
        microscopes: Sequence[str] = MICROSCOPES,
        optics: Mapping[str, Mapping[str, float]] | None = None,
        images: str | Sequence[str] = "test",
        noise: str | Sequence[str] = ("low", "high"),
        noise_levels: Mapping[str, Mapping[str, Any]] | None = None,
        seed: int = 0,
    ) -> None:
        self.shape, self.psf_shape = tuple(int(n) for n in shape), tuple(int(n) for n in psf_shape)
        self.z_ratio, self.theta_max, self.seed = int(z_ratio), float(theta_max), int(seed)
        self.microscopes = [str(m) for m in microscopes]
        self.optics = {m: {**OPTICS.get(m, {}), **(optics or {}).get(m, {})} for m in self.microscopes}
        self.images = list(VOLUME_PHANTOMS if images in ("test", "train") else images)
        self.phantom_seed = TRAIN_PHANTOM_SEED_OFFSET + seed if images == "train" else seed
        self.noise_levels = select_noise_levels(noise, noise_levels)
        if len(self.shape) != 3 or len(self.psf_shape) != 3 or any(n % 2 == 0 for n in self.psf_shape):
            raise ValueError(f"shape must be (D, H, W) and psf_shape three odd sides, got {shape} and {psf_shape}")
        unknown = [m for m in self.microscopes if m not in MICROSCOPES] + [
            i for i in self.images if i not in VOLUME_PHANTOMS
        ]
        if unknown:
            raise ValueError(f"unknown microscope(s) or phantom(s) {unknown}; use {MICROSCOPES} and {VOLUME_PHANTOMS}")

    def case_ids(self) -> list[str]:
        return list(self._cases)

    @functools.cached_property
    def _cases(self) -> dict[str, tuple[str, str, str]]:
        return {
            f"{image}-{microscope}-{noise}": (image, microscope, noise)
            for image in self.images for microscope in self.microscopes for noise in self.noise_levels
        }  # fmt: skip

    def image_shape(self) -> tuple[int, ...]:
        return self.shape

    @functools.lru_cache(maxsize=None)
    def _field(self, image: str) -> np.ndarray:
        """The phantom on the field larger by the PSF, shared by both microscopes."""
        field_shape = tuple(n + k - 1 for n, k in zip(self.shape, self.psf_shape))
        return load_volume(image, field_shape, seed=self.phantom_seed, z_ratio=self.z_ratio)

    @functools.lru_cache(maxsize=None)
    def _psf(self, image: str, microscope: str) -> tuple[np.ndarray, np.ndarray, float]:
        """The PSF of one phantom under one microscope, its coefficients and plane spacing (um)."""
        rng = np.random.default_rng([self.seed, self.images.index(image), MICROSCOPES.index(microscope)])
        coeff = rng.uniform(-self.theta_max, self.theta_max, size=len(NOLL_INDICES_3D))
        make = widefield_psf_3d if microscope == "widefield" else confocal_psf_3d
        psf, z_step = make(coeff, shape=self.psf_shape, z_ratio=self.z_ratio, **self.optics[microscope])
        return psf, coeff, z_step

    def make_case(self, case_id: str) -> Case:
        if case_id not in self._cases:
            raise ValueError(f"unknown case {case_id!r}; cases are: {', '.join(self.case_ids())}")
        image, microscope, noise = self._cases[case_id]
        field = self._field(image)
        psf, coeff, z_step = self._psf(image, microscope)
        noise_rng = np.random.default_rng(
            [self.seed, self.images.index(image), MICROSCOPES.index(microscope), zlib.crc32(noise.encode())]
        )
        y = degrade(blur_valid(field, psf), self.noise_levels[noise], noise_rng)
        margins = tuple(slice(k // 2, k // 2 + n) for k, n in zip(self.psf_shape, self.shape))
        pixel = self.optics[microscope]["pixel_um"]
        psf32 = psf.astype(np.float32)
        meta = {
            "image": f"{image}-{microscope}",
            "phantom": image,
            "microscope": microscope,
            "noise": noise,
            "noise_params": vars(self.noise_levels[noise]),
            "optics": self.optics[microscope],
            "zernike_coeff": coeff.tolist(),
            "noll_indices": list(NOLL_INDICES_3D),
            "theta_max": self.theta_max,
            "pixel_size_um": [z_step, pixel, pixel],
            "seed": self.seed,
        }
        return Case(case_id, y=y.astype(np.float32), x=field[margins].astype(np.float32),
                    psf=psf32 / psf32.sum(dtype=np.float64).astype(np.float32), meta=meta)  # fmt: skip
