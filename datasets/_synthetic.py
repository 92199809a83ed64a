"""Synthetic microscopy data: Fresnel/Zernike PSFs, Poisson–Gaussian noise, no wrap-around (``fresnel-zernike``, ``smoke``)."""

from __future__ import annotations

import functools
import zlib
from typing import Any, Mapping, Sequence

import numpy as np

from bench.api import BaseDataset, Case
from bench.physics.degradation import blur_valid, degrade, select_noise_levels
from bench.scenes.images import TRAIN_PHANTOM_SEED_OFFSET, image_names, load_image
from bench.physics.psfs import NOLL_INDICES, zernike_psf


class SyntheticDataset(BaseDataset):
    r"""Test images blurred by random diffraction-limited PSFs at named noise levels.

    For each image a PSF is drawn once (paired design: every noise level of an
    image shares its PSF, so differences between levels are due to noise
    alone):

    .. math::

        h = |\mathcal{F}(\mathbb{1}_{|\rho| \le f_c}\, e^{-i 2\pi \sum_k \theta_k Z_k})|^2,
        \quad \theta_k \sim \mathcal{U}[-\theta_{max}, \theta_{max}],\ k \in \{4..11\} \text{ (Noll)},
        \quad f_c \sim \mathcal{U}[f_{c,min}, f_{c,max}]

    The image is rendered on a field larger by ``psf_size - 1`` and blurred
    with a valid convolution, so ``y`` has no periodic boundary; then the
    noise level is applied (:func:`bench.physics.degradation.degrade`).

    Parameters
    ----------
    size : int
        Side of the degraded and ground-truth images, in pixels.
    psf_size : int
        Odd side of the PSF, in pixels.
    fc_range : (float, float)
        Range of the pupil cut-off frequency, cycles/pixel (0.25 = Nyquist).
    theta_max : float
        Zernike coefficients are uniform in [-theta_max, theta_max] waves.
    images : "test", "train" or list of str
        Which images of :mod:`bench.scenes.images` to use. The benchmark uses
        "test"; "train" is for training learned methods (its phantoms use
        seeds offset by :data:`bench.scenes.images.TRAIN_PHANTOM_SEED_OFFSET`).
    noise : str or list of str
        Names of the noise levels to generate, keys of ``noise_levels``.
    noise_levels : mapping
        Definition of every named level, keyword arguments of
        :class:`bench.physics.degradation.NoiseLevel`.
    seed : int
        Seed of every random draw; equal seeds give byte-identical cases.
    """

    def __init__(
        self,
        *,
        size: int = 256,
        psf_size: int = 31,
        fc_range: Sequence[float] = (0.125, 0.25),
        theta_max: float = 0.15,
        images: str | Sequence[str] = "test",
        noise: str | Sequence[str] = ("noiseless", "low", "medium", "high"),
        noise_levels: Mapping[str, Mapping[str, Any]] | None = None,
        seed: int = 0,
    ) -> None:
        self.size, self.psf_size, self.seed = int(size), int(psf_size), int(seed)
        self.fc_range = (float(fc_range[0]), float(fc_range[1]))
        self.theta_max = float(theta_max)
        self.images = list(image_names(images) if isinstance(images, str) else images)
        self.phantom_seed = TRAIN_PHANTOM_SEED_OFFSET + seed if images == "train" else seed
        self.noise_levels = select_noise_levels(noise, noise_levels)
        if self.size < 16:
            raise ValueError(f"size must be >= 16 pixels, got {self.size}")
        if self.psf_size < 1 or self.psf_size % 2 == 0:
            raise ValueError(f"psf_size must be an odd number of pixels, got {self.psf_size}")
        if self.seed < 0:
            raise ValueError(f"seed must be a whole number >= 0, got {self.seed}")
        if not self.theta_max >= 0:
            raise ValueError(f"theta_max must be >= 0 waves (coefficients in [-theta_max, theta_max]), got {theta_max}")
        if not 0 < self.fc_range[0] <= self.fc_range[1] <= 0.25:
            raise ValueError(f"fc_range must satisfy 0 < min <= max <= 0.25 cycles/pixel, got {self.fc_range}")

    def case_ids(self) -> list[str]:
        return list(self._cases)

    @functools.cached_property
    def _cases(self) -> dict[str, tuple[str, str]]:
        return {f"{image}-{noise}": (image, noise) for image in self.images for noise in self.noise_levels}

    def image_shape(self) -> tuple[int, int]:
        return (self.size, self.size)

    @functools.lru_cache(maxsize=None)
    def _scene(self, image: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        """The field, PSF, Zernike coefficients and f_c of an image, shared by its noise levels."""
        image_rng = np.random.default_rng([self.seed, self.images.index(image)])
        coeff = image_rng.uniform(-self.theta_max, self.theta_max, size=len(NOLL_INDICES))
        fc = float(image_rng.uniform(*self.fc_range))
        psf = zernike_psf(coeff, fc, size=self.psf_size)
        field = load_image(image, self.size + self.psf_size - 1, seed=self.phantom_seed)
        return field, psf, coeff, fc

    def make_case(self, case_id: str) -> Case:
        if case_id not in self._cases:
            raise ValueError(f"unknown case {case_id!r}; cases are: {', '.join(self.case_ids())}")
        image, noise = self._cases[case_id]
        field, psf, coeff, fc = self._scene(image)
        margin = self.psf_size // 2
        noise_rng = np.random.default_rng([self.seed, self.images.index(image), zlib.crc32(noise.encode())])
        y = degrade(blur_valid(field, psf), self.noise_levels[noise], noise_rng)
        psf32 = psf.astype(np.float32)
        meta = {
            "image": image,
            "noise": noise,
            "noise_params": vars(self.noise_levels[noise]),
            "fc": fc,
            "zernike_coeff": coeff.tolist(),
            "noll_indices": list(NOLL_INDICES),
            "theta_max": self.theta_max,
            "seed": self.seed,
        }
        return Case(
            case_id,
            y=y.astype(np.float32),
            x=field[margin:-margin, margin:-margin].astype(np.float32),
            psf=psf32 / psf32.sum(),
            meta=meta,
        )
