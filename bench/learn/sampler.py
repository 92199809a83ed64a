"""Training pairs for learned methods: synthetic degradations of the training images, seeded.

:class:`DegradationSampler` draws training pairs from the *training* split of
:mod:`bench.scenes.images` only (never a benchmark test image), blurred by random
Fresnel/Zernike PSFs of the same model as the datasets
(:func:`bench.physics.psf_model.zernike_psf_model`, which matches
:func:`bench.physics.psfs.zernike_psfs`) and degraded by the same noise code
(:func:`bench.physics.degradation.degrade`) over a range of noise levels, :class:`Degradations`,
that covers the documented ones. The same seed gives the same batches;
:func:`validation_batches` draws a fixed validation set with a disjoint seed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from bench.physics.degradation import NoiseLevel, blur_valid, degrade
from bench.scenes.images import TRAIN_IMAGES, TRAIN_PHANTOM_SEED_OFFSET, load_image
from bench.physics.psf_model import zernike_psf_model
from bench.physics.psfs import NOLL_INDICES

__all__ = ["VALIDATION_SEED_OFFSET", "DegradationSampler", "Degradations", "TrainingBatch", "validation_batches"]

#: Seed offset of the validation sampler, so validation never repeats a training draw.
VALIDATION_SEED_OFFSET = 10**6


@dataclass(frozen=True)
class Degradations:
    r"""The training distribution :math:`\mu` of PSFs and noise (poster 001 eq. 4).

    PSF: :math:`\theta_{max} \sim \mathcal U[\text{theta\_max\_range}]`, then
    :math:`\theta_k \sim \mathcal U[-\theta_{max}, \theta_{max}]` for Noll 4-11 and
    :math:`f_c \sim \mathcal U[\text{fc\_range}]`. Noise: with probability
    ``noiseless_fraction`` quantization only, else Poisson with a gain
    log-uniform in ``gain_range`` plus Gaussian read noise uniform in
    ``sigma_range``, 16-bit quantization and salt-and-pepper. The defaults
    bracket the benchmark's documented levels (noiseless to high: gain 1000 to
    30, sigma 0.005 to 0.04) with margin on both sides, so no learned method is
    fitted to one level.
    """

    patch: int = 128
    psf_size: int = 31
    fc_range: tuple[float, float] = (0.125, 0.25)
    theta_max_range: tuple[float, float] = (0.15, 0.15)
    noiseless_fraction: float = 0.2
    gain_range: tuple[float, float] = (15.0, 3000.0)
    sigma_range: tuple[float, float] = (0.0, 0.05)
    bits: int = 16
    salt_pepper: float = 1e-5


@dataclass
class TrainingBatch:
    """A batch of training pairs, all (B, ...) tensors on the sampler's device.

    ``field`` is the sharp scene including the PSF margin (its valid blur has
    the shape of ``y``); ``x`` is its central part, aligned with ``y``.
    """

    field: torch.Tensor
    x: torch.Tensor
    y: torch.Tensor
    psf: torch.Tensor
    coeff: torch.Tensor
    fc: torch.Tensor
    theta_max: torch.Tensor


class DegradationSampler:
    """Random training pairs from the training images (seeded, reproducible).

    Parameters
    ----------
    degradations : Degradations
        Distribution of PSFs and noise.
    seed : int
        Seed of every draw (images, crops, PSFs, noise).
    device : torch.device
        Where batches are returned.
    image_size : int
        Side at which the pool's images are loaded before random crops.
    generated_per_kind : int
        How many seeded draws of each generated image (phantoms, dead leaves) the pool holds.
    psf_bank : int
        PSFs are drawn from a bank of this many, ``psf_refresh`` of which are
        replaced at every batch (:class:`bench.physics.psf_model.ZernikePSF` draws
        about a thousand per second: a refresh of the batch size makes every PSF new).
    """

    def __init__(
        self,
        degradations: Degradations,
        *,
        seed: int,
        device: torch.device | str = "cpu",
        image_size: int = 256,
        generated_per_kind: int = 6,
        psf_bank: int = 1024,
        psf_refresh: int = 4,
    ) -> None:
        self.degradations = degradations
        self.device = torch.device(device)
        self.rng = np.random.default_rng(seed)
        field = degradations.patch + degradations.psf_size - 1
        if image_size < field:
            raise ValueError(f"image_size {image_size} is smaller than a training field of {field} px")
        self.images = self._load_pool(image_size, generated_per_kind, seed)
        self.psf_refresh = psf_refresh
        self.bank = self._draw_psfs(psf_bank)

    @staticmethod
    def _load_pool(size: int, generated_per_kind: int, seed: int) -> list[np.ndarray]:
        pool = []
        for name in TRAIN_IMAGES:
            if name.startswith("phantom-") or name == "dead-leaves":
                first = TRAIN_PHANTOM_SEED_OFFSET + seed * generated_per_kind
                pool += [load_image(name, size, seed=first + i) for i in range(generated_per_kind)]
            else:
                pool.append(load_image(name, size))
        return pool

    def _draw_psfs(self, count: int) -> dict[str, torch.Tensor]:
        d = self.degradations
        theta_max = self.rng.uniform(*d.theta_max_range, size=count)
        coeff = self.rng.uniform(-1, 1, size=(count, len(NOLL_INDICES))) * theta_max[:, None]
        fc = self.rng.uniform(*d.fc_range, size=count)
        psf = zernike_psf_model(d.psf_size)(torch.from_numpy(coeff).float(), torch.from_numpy(fc).float())
        return {
            "psf": psf.double(),
            "coeff": torch.from_numpy(coeff),
            "fc": torch.from_numpy(fc),
            "theta_max": torch.from_numpy(theta_max),
        }

    def _noise_level(self) -> NoiseLevel:
        d = self.degradations
        if self.rng.uniform() < d.noiseless_fraction:
            return NoiseLevel(bits=d.bits)
        gain = math.exp(self.rng.uniform(*np.log(d.gain_range)))
        return NoiseLevel(gain=gain, sigma=self.rng.uniform(*d.sigma_range), bits=d.bits, salt_pepper=d.salt_pepper)

    def _crop(self, size: int) -> np.ndarray:
        image = self.images[self.rng.integers(len(self.images))]
        top, left = self.rng.integers(0, image.shape[0] - size + 1), self.rng.integers(0, image.shape[1] - size + 1)
        crop = np.rot90(image[top : top + size, left : left + size], k=int(self.rng.integers(4)))
        crop = crop[:, ::-1] if self.rng.uniform() < 0.5 else crop
        # Random contrast and offset: microscopy intensities rarely fill [0, 1].
        contrast = self.rng.uniform(0.4, 1.0)
        return self.rng.uniform(0, 1 - contrast) + contrast * crop

    def sample(self, batch_size: int) -> TrainingBatch:
        """Draw ``batch_size`` new pairs."""
        d = self.degradations
        if self.psf_refresh:
            fresh = self._draw_psfs(self.psf_refresh)
            slots = self.rng.choice(len(self.bank["psf"]), size=self.psf_refresh, replace=False)
            for key, values in fresh.items():
                self.bank[key][slots] = values
        chosen = torch.from_numpy(self.rng.integers(len(self.bank["psf"]), size=batch_size))
        picked = {key: values[chosen] for key, values in self.bank.items()}
        fields, ys = [], []
        for psf in picked["psf"][:, 0].numpy():
            scene = self._crop(d.patch + d.psf_size - 1)
            fields.append(scene)
            ys.append(degrade(blur_valid(scene, psf), self._noise_level(), self.rng))
        margin = d.psf_size // 2
        as_batch = lambda arrays: torch.from_numpy(np.stack(arrays)[:, None]).float().to(self.device)  # noqa: E731
        field = as_batch(fields)
        return TrainingBatch(
            field=field,
            x=field[..., margin:-margin, margin:-margin],
            y=as_batch(ys),
            psf=picked["psf"].float().to(self.device),
            coeff=picked["coeff"].float().to(self.device),
            fc=picked["fc"].float().to(self.device),
            theta_max=picked["theta_max"].float().to(self.device),
        )


def validation_batches(
    degradations: Degradations, *, seed: int, count: int, batch_size: int, device: torch.device | str, **sampler: int
) -> list[TrainingBatch]:
    """A fixed validation set from the training images, drawn with a disjoint seed.

    ``sampler`` takes :class:`DegradationSampler`'s keywords; its PSF bank is
    always one fixed PSF per validation image.
    """
    bank = {"psf_bank": count * batch_size, "psf_refresh": 0}
    draws = DegradationSampler(degradations, seed=seed + VALIDATION_SEED_OFFSET, device=device, **{**sampler, **bank})
    return [draws.sample(batch_size) for _ in range(count)]
