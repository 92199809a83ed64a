r"""The datasets' Fresnel/Zernike PSF model, batched and fast enough for training and per-image fits.

deepinv's ``DiffractionBlurGenerator`` (which the datasets use, through
:func:`bench.physics.psfs.zernike_psf`) re-evaluates every Zernike polynomial on a
256 x 256 pupil grid and runs two full 256 x 256 FFTs per PSF: about half a
second per call on 2 CPU cores. :class:`ZernikePSF` computes the same PSF,
on the same pupil grid, with three observations:

- a Zernike polynomial of the scaled coordinates :math:`(X/f_c, Y/f_c)` is a
  polynomial of degree :math:`\le 4` in :math:`(X, Y)` whose monomial weights
  scale as :math:`f_c^{-(a+b)}`, so the phase of a whole batch is one
  ``(B, 15) @ (15, N^2)`` product over precomputed monomials;
- only the pupil disc (radius :math:`f_c \le 0.25` of the grid) is non-zero,
  and only a ``size`` x ``size`` crop of the PSF is kept, so a separable
  matrix DFT restricted to the disc replaces the full FFT;
- deepinv's centring adds the tilt that moves the centroid of the crop to its
  centre, which is the same DFT evaluated at shifted output positions.

It is differentiable (autograd through the coefficients and f_c) and agrees
with deepinv's generator to float precision (tested: PSF-SNR above 60 dB in
float64).
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch

from bench.physics.psfs import NOLL_INDICES

__all__ = ["ZernikePSF", "zernike_psf_model"]

#: Monomials x^a y^b of total degree <= 4: Noll 4-11 are polynomials of radial order <= 4.
_MONOMIALS: tuple[tuple[int, int], ...] = tuple((a, d - a) for d in range(5) for a in range(d + 1))


class ZernikePSF(torch.nn.Module):
    r"""Batched PSFs :math:`h = |\mathcal F(P_{f_c} e^{-i 2\pi \sum_k \theta_k Z_k})|^2` on deepinv's pupil grid.

    Parameters
    ----------
    size : int
        Odd side of the PSF, in pixels.
    pupil_size : int
        Side of deepinv's pupil grid (the datasets use 256); the PSF pixel is
        ``(pupil_size - 1) / pupil_size`` of an image pixel there, as in deepinv.
    fc_max : float
        Largest cut-off frequency the model will be asked for, cycles/pixel (<= 0.25).
    dtype : torch.dtype
        ``torch.float32`` (training) or ``torch.float64`` (reference precision).
    """

    # Buffers (registered in __init__, moved with the module).
    indices: torch.Tensor
    offsets: torch.Tensor
    radius: torch.Tensor
    monomials: torch.Tensor
    weights: torch.Tensor
    degrees: torch.Tensor

    def __init__(
        self, size: int, *, pupil_size: int = 256, fc_max: float = 0.25, dtype: torch.dtype = torch.float32
    ) -> None:
        super().__init__()
        if size % 2 == 0:
            raise ValueError(f"PSF size must be odd, got {size}")
        if not 0 < fc_max <= 0.25:
            raise ValueError(f"fc_max must be in (0, 0.25] cycles/pixel, got {fc_max}")
        self.size, self.pupil_size, self.fc_max = size, pupil_size, fc_max
        grid = np.linspace(-0.5, 0.5, pupil_size)
        self.step = float(grid[1] - grid[0])
        # Pupil samples that can be inside the disc (plus the bump's edge) for any fc <= fc_max.
        keep = np.flatnonzero(np.abs(grid) <= fc_max + 2 * self.step)
        coords = torch.from_numpy(grid[keep])
        # Output positions of the crop, relative to the PSF centre, as deepinv crops its fftshifted FFT.
        self.register_buffer("indices", torch.from_numpy(keep.astype(np.float64)).to(dtype), persistent=False)
        self.register_buffer("offsets", torch.arange(size, dtype=dtype) - size // 2, persistent=False)
        y, x = torch.meshgrid(coords, coords, indexing="ij")
        self.register_buffer("radius", torch.sqrt(x**2 + y**2).to(dtype), persistent=False)
        monomials = torch.stack([x**a * y**b for a, b in _MONOMIALS]).to(dtype)  # (M, n, n)
        self.register_buffer("monomials", monomials, persistent=False)
        self.register_buffer("weights", _zernike_monomial_weights().to(dtype), persistent=False)  # (8, M)
        self.register_buffer("degrees", torch.tensor([a + b for a, b in _MONOMIALS], dtype=dtype), persistent=False)

    def pupil(self, coeff: torch.Tensor, fc: torch.Tensor) -> torch.Tensor:
        """Complex pupil functions (B, n, n) on the kept part of the grid, as deepinv builds them."""
        coeff = coeff.to(self.weights.dtype)
        fc = fc.reshape(-1, 1).to(coeff)
        # Z_k(x / fc, y / fc) = sum_m w_km (x^a y^b) fc^-(a+b): one product for the whole batch.
        scaled = (coeff @ self.weights) * fc ** (-self.degrees)  # (B, M)
        phase = torch.einsum("bm,mij->bij", scaled, self.monomials)
        rho = self.radius[None] / fc[..., None]
        edge = (self.step / fc)[..., None]
        aperture = _bump(rho, 1 - edge / 2, edge / 2)
        return aperture * torch.exp(-2j * math.pi * phase)

    def _intensity(self, pupil: torch.Tensor, shift_y: torch.Tensor, shift_x: torch.Tensor) -> torch.Tensor:
        """|DFT|^2 of the pupils at the crop's positions moved by (shift_y, shift_x) pixels (B,)."""
        n = self.pupil_size
        rows = (self.offsets[None] + shift_y[:, None])[..., None] * self.indices  # (B, size, n_kept)
        cols = (self.offsets[None] + shift_x[:, None])[..., None] * self.indices
        rows = torch.exp(-2j * math.pi * rows / n)
        cols = torch.exp(-2j * math.pi * cols / n)
        field = rows @ pupil @ cols.transpose(-2, -1)
        return field.real**2 + field.imag**2

    def forward(self, coeff: torch.Tensor, fc: torch.Tensor) -> torch.Tensor:
        """PSFs (B, 1, size, size), non-negative, unit sum, centroid at the centre pixel.

        Parameters
        ----------
        coeff : (B, 8) tensor
            Zernike coefficients in waves for Noll 4-11.
        fc : (B,) tensor
            Cut-off frequencies in cycles/pixel, in (0, fc_max].
        """
        if coeff.ndim != 2 or coeff.shape[1] != len(NOLL_INDICES):
            raise ValueError(f"coeff must have shape (B, {len(NOLL_INDICES)}), got {tuple(coeff.shape)}")
        pupil = self.pupil(coeff, fc)
        zero = torch.zeros(len(coeff), dtype=self.offsets.dtype, device=self.offsets.device)
        first = self._intensity(pupil, zero, zero)
        # deepinv centres with a tilt computed from the first crop's centroid: a shift of the DFT's samples.
        total = first.sum(dim=(-2, -1))
        centroid_y = (first.sum(dim=-1) * self.offsets).sum(-1) / total
        centroid_x = (first.sum(dim=-2) * self.offsets).sum(-1) / total
        psf = self._intensity(pupil, centroid_y, centroid_x)
        psf = psf / psf.sum(dim=(-2, -1), keepdim=True)
        return psf[:, None]


@functools.lru_cache(maxsize=8)
def zernike_psf_model(size: int, dtype: torch.dtype = torch.float32, device: str = "cpu") -> ZernikePSF:
    """A shared :class:`ZernikePSF` for the datasets' pupil grid (256) and ``fc <= 0.25``."""
    return ZernikePSF(size, dtype=dtype).to(device)


def _bump(x: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """deepinv's smooth aperture edge: 1 on [0, a], falling to 0 on [a, a + b] (``bump_function``)."""
    from deepinv.physics.generator.blur import bump_function

    return bump_function(x, a, b)


@functools.lru_cache(maxsize=1)
def _zernike_monomial_weights() -> torch.Tensor:
    """(8, 15) weights expressing deepinv's Noll 4-11 polynomials in the monomials x^a y^b.

    Fitted by least squares on a grid of points, which is exact for
    polynomials of degree <= 4 (the residual is checked), so deepinv stays
    the one definition of the Zernike normalisation and orientation.
    """
    from deepinv.physics.generator.blur import DiffractionBlurGenerator
    from deepinv.physics.generator.zernike import Zernike

    pairs = DiffractionBlurGenerator._zernike_index_to_nm_list(list(NOLL_INDICES))
    t = torch.linspace(-0.7, 0.7, 9, dtype=torch.float64)  # inside the unit disc, where deepinv evaluates
    y, x = torch.meshgrid(t, t, indexing="ij")
    design = torch.stack([(x**a * y**b).flatten() for a, b in _MONOMIALS], dim=1)
    values = torch.stack([Zernike.cartesian_evaluate(n, m, x, y).flatten() for n, m in pairs], dim=1)
    weights = torch.linalg.lstsq(design, values).solution
    residual = (design @ weights - values).abs().max().item()
    if residual > 1e-9:
        raise RuntimeError(f"deepinv's Zernike polynomials are not degree-4 polynomials here (residual {residual})")
    return weights.T.contiguous()
