r"""What turns a sharp scene into benchmark data: valid blur, then a named noise level.

- :func:`blur_valid` — linear convolution keeping only the pixels whose whole
  support lies in the field: the benchmark blurs a larger field and crops, so
  no method can profit from periodic boundaries.
- :class:`NoiseLevel`, :func:`select_noise_levels` — the named noise levels of the configuration.
- :func:`degrade` — poster 001 eq. 3, :math:`y = S_s Q_q(P_\gamma(h \star x) + \epsilon_\sigma)`,
  or Deep-Blur's approximation :math:`y = z + \sqrt{\alpha z + \beta}\,\eta`.

Numpy, float64. The PSFs are in :mod:`bench.physics.psfs`; the operators methods
compute with (padding, FFT convolution, the noise estimate) in :mod:`bench.solve.operators`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Mapping, Sequence

import numpy as np
import scipy.signal

__all__ = ["NoiseLevel", "blur_valid", "degrade", "select_noise_levels"]


def blur_valid(field: np.ndarray, psf: np.ndarray) -> np.ndarray:
    """Convolve a field with a PSF (2D or 3D) and keep the valid part.

    The output is smaller than ``field`` by ``psf.shape - 1``: every output
    pixel sees only true scene content, never a boundary assumption.
    """
    return scipy.signal.fftconvolve(field.astype(np.float64), psf.astype(np.float64), mode="valid")


@dataclass(frozen=True)
class NoiseLevel:
    r"""Parameters of one named noise level.

    Two models:

    ``"poisson-gaussian"`` (poster 001 eq. 3)
        :math:`y = S_s Q_q(P_\gamma(z) + \epsilon_\sigma)` with
        :math:`P_\gamma(z) = \mathrm{Poisson}(\gamma z) / \gamma`. ``gain`` is
        :math:`\gamma`, the expected photon count at intensity 1 (None: no shot
        noise); ``sigma`` the read-noise standard deviation in intensity units.
    ``"deepblur"`` (Deep-Blur, sec. 3)
        :math:`y = z + \sqrt{\alpha z + \beta}\,\eta`, :math:`\eta \sim \mathcal{N}(0, I)`.

    Both are then quantized on ``bits`` bits over [0, 1] (values outside are
    clipped, as a saturating sensor does; None: no quantization) and hit by
    salt-and-pepper noise with probability ``salt_pepper`` per pixel.
    """

    model: Literal["poisson-gaussian", "deepblur"] = "poisson-gaussian"
    gain: float | None = None
    sigma: float = 0.0
    alpha: float = 0.0
    beta: float = 0.0
    bits: int | None = 16
    salt_pepper: float = 0.0

    def __post_init__(self) -> None:
        if self.model not in ("poisson-gaussian", "deepblur"):
            raise ValueError(f"noise model must be 'poisson-gaussian' or 'deepblur', got {self.model!r}")
        if self.gain is not None and self.gain <= 0:
            raise ValueError(f"gain must be positive photons per unit intensity or null, got {self.gain}")
        for key in ("sigma", "alpha", "beta", "salt_pepper"):
            if getattr(self, key) < 0:
                raise ValueError(f"noise {key} must be >= 0, got {getattr(self, key)}")
        if self.salt_pepper > 1:
            raise ValueError(f"noise salt_pepper is a probability per pixel, in [0, 1]; got {self.salt_pepper}")
        if self.bits is not None and self.bits < 1:
            raise ValueError(f"noise bits must be a positive bit depth or null (no quantization), got {self.bits}")
        if self.model == "poisson-gaussian" and (self.alpha or self.beta):
            raise ValueError("alpha/beta belong to model 'deepblur'; use gain/sigma with 'poisson-gaussian'")
        if self.model == "deepblur" and (self.gain is not None or self.sigma):
            raise ValueError("gain/sigma belong to model 'poisson-gaussian'; use alpha/beta with 'deepblur'")


def select_noise_levels(
    names: str | Sequence[str], definitions: Mapping[str, Mapping[str, Any]] | None
) -> dict[str, NoiseLevel]:
    """The named noise levels a dataset generates, built from their definitions (config ``noise_levels``)."""
    names = [names] if isinstance(names, str) else list(names)
    definitions = dict(definitions or {})
    unknown = [n for n in names if n not in definitions]
    if unknown:
        raise ValueError(f"unknown noise level(s) {unknown}; defined levels: {', '.join(definitions) or 'none'}")
    return {n: NoiseLevel(**definitions[n]) for n in names}


def degrade(blurred: np.ndarray, level: NoiseLevel, rng: np.random.Generator) -> np.ndarray:
    """Apply a noise level to a blurred image in [0, 1] (float64 in, float64 out).

    Noise is drawn from a numpy ``Generator`` (PCG64), whose streams are the
    same on every platform, so a seeded case is reproducible bit for bit.
    """
    z = np.clip(blurred, 0, None)
    if level.model == "deepblur":
        y = z + np.sqrt(level.alpha * z + level.beta) * rng.standard_normal(z.shape)
    else:
        y = rng.poisson(level.gain * z) / level.gain if level.gain is not None else z.copy()
        if level.sigma:
            y = y + level.sigma * rng.standard_normal(z.shape)
    if level.bits is not None:
        levels = 2**level.bits - 1
        y = np.round(np.clip(y, 0, 1) * levels) / levels
    if level.salt_pepper:
        hit = rng.random(z.shape) < level.salt_pepper
        y[hit] = rng.integers(0, 2, size=int(hit.sum())).astype(np.float64)
    return y
