r"""Shared PyLops pieces of the ``pylops_*`` methods (a helper, not a plugin).

Every PyLops method solves for the *extended field* :math:`u` of shape
:math:`(H + k - 1) \times (W + k - 1)` under the *valid* blur

.. math::
    A = P^{\mathsf T} C_h, \qquad (A u)[i, j] = \sum_{p, q} h[p, q]\, u[i + k - 1 - p,\, j + k - 1 - q],

where :math:`C_h` is the linear convolution keeping the field's size
(``pylops.signalprocessing.Convolve2D`` by FFT, centred on the PSF) and
:math:`P^{\mathsf T}` crops the :math:`r = (k - 1)/2` pixels that see outside the
field (the adjoint of ``pylops.Pad``). :math:`A u` equals
``scipy.signal.fftconvolve(u, h, "valid")``: the data are a valid crop of a
larger field, so no boundary value is assumed; the border of :math:`u` is
estimated with the rest, only the central :math:`H \times W` is returned
(Bertero and Boccacci [1]_). For a non-negative unit-sum PSF,
:math:`\|A\| \le \max |\hat h| = 1`, so a gradient step of 1 is always stable.

The solvers run in float32: three times faster than float64 here, and
PyLops' split Bregman in float64 was ten times slower still.

References
----------
.. [1] M. Bertero and P. Boccacci, "A simple method for the reduction of
   boundary effects in the Richardson-Lucy approach to image deconvolution",
   Astronomy & Astrophysics, vol. 437, no. 1, pp. 369-374, 2005.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pylops
import torch
from pylops.optimization.sparsity import splitbregman
from pylops.signalprocessing import Convolve2D

from bench.api import BaseMethod, Optics, Result
from bench.solve.operators import estimate_noise_std
from bench.solve.rules import NoiseRule

__all__ = [
    "PYLOPS_REFERENCES",
    "Haar2D",
    "PyLopsMethod",
    "SplitBregmanTV",
    "WeightRule",
    "bregman_weights",
    "centre",
    "edge_field",
    "field_shape",
    "haar_details",
    "split_bregman",
    "valid_blur",
]


#: Cited by every PyLops method: the boundary model and the library.
PYLOPS_REFERENCES: tuple[str, ...] = (
    "M. Bertero and P. Boccacci, A simple method for the reduction of boundary effects in the "
    "Richardson-Lucy approach to image deconvolution, Astronomy & Astrophysics 437(1):369-374, 2005.",
    "M. Ravasi and I. Vasconcelos, PyLops - A linear-operator Python library for scalable algebra "
    "and optimization, SoftwareX 11:100361, 2020.",
)


def field_shape(shape: tuple[int, int], psf_shape: tuple[int, int]) -> tuple[int, int]:
    """Shape of the field whose valid blur by a ``psf_shape`` PSF has ``shape``."""
    return shape[0] + psf_shape[0] - 1, shape[1] + psf_shape[1] - 1


def edge_field(y: np.ndarray, psf_shape: tuple[int, int]) -> np.ndarray:
    """The starting field: ``y`` extended by repeating its border pixels."""
    ry, rx = psf_shape[0] // 2, psf_shape[1] // 2
    return np.pad(y, ((ry, ry), (rx, rx)), mode="edge")


def centre(u: np.ndarray, psf_shape: tuple[int, int]) -> np.ndarray:
    """The central part of a field, where the data lie."""
    ry, rx = psf_shape[0] // 2, psf_shape[1] // 2
    return u[ry : u.shape[0] - ry, rx : u.shape[1] - rx]


def valid_blur(psf: np.ndarray, shape: tuple[int, int], *, dtype: Any = np.float64) -> pylops.LinearOperator:
    """The valid blur :math:`A = P^T C_h` from the field to an ``shape`` image.

    Parameters
    ----------
    psf : (k, l) ndarray
        PSF with odd sides, centred.
    shape : (H, W)
        Shape of the data (the operator's output).
    dtype : numpy dtype
        Dtype of the operator (the methods use float32).

    Returns
    -------
    pylops.LinearOperator
        Of shape :math:`(HW, (H + k - 1)(W + l - 1))`, acting on raveled arrays
        (``dims`` and ``dimsd`` carry the 2D shapes).
    """
    k, l = psf.shape
    if k % 2 == 0 or l % 2 == 0:
        raise ValueError(f"psf must have odd sides, got {psf.shape}")
    ry, rx = k // 2, l // 2
    field = field_shape(shape, psf.shape)
    conv = Convolve2D(field, h=np.asarray(psf, dtype=dtype), offset=(ry, rx), method="fft", dtype=dtype)
    crop = pylops.Pad(shape, ((ry, ry), (rx, rx)), dtype=dtype).H
    return crop @ conv


@dataclass(frozen=True)
class WeightRule:
    r"""Regularisation weight from the data by a fitted :class:`bench.solve.rules.NoiseRule`, or a fixed one.

    :math:`\lambda = c\,\max(\hat\sigma, \sigma_0)^p` with :math:`\hat\sigma` from
    :func:`bench.solve.operators.estimate_noise_std` (wavelet MAD), so the methods are never
    told the noise; :math:`\lambda` is in intensity units (data in [0, 1]). Each
    plugin's rule is ``RULES["<name>.lam"]`` in :mod:`bench.solve.rules`, and its parameters
    ``lam_scale``, ``lam_power`` and ``sigma_floor`` default to it: every fit preferred
    the smallest floor tried (1e-4 to 1e-2), noiseless data doing best almost
    unregularised within the iteration budget. ``lam`` fixes :math:`\lambda` instead.
    """

    lam: float | None
    rule: NoiseRule

    def __post_init__(self) -> None:
        if self.lam is not None and self.lam <= 0:
            raise ValueError(f"lam must be > 0 or None (derived from the data), got {self.lam}")

    def __call__(self, y: np.ndarray) -> tuple[float, float]:
        """(lam, sigma_hat) for one image."""
        sigma = estimate_noise_std(y)
        return (self.lam if self.lam is not None else self.rule(sigma)), sigma


class PyLopsMethod(BaseMethod):
    """Base of the ``pylops_*`` plugins: non-blind, the image solved in numpy by ``_solve``."""

    blind = False
    requires = ("pylops",)

    def _solve(self, y: np.ndarray, psf: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
        """Restore one (H, W) image with its (k, l) PSF; returns the image and scalars for ``info``."""
        raise NotImplementedError

    def run(self, y: torch.Tensor, psf: torch.Tensor | None, optics: Optics | None) -> Result:
        x_hat, info = self._solve(y[0, 0].detach().cpu().double().numpy(), psf[0, 0].detach().cpu().double().numpy())
        x_hat = torch.from_numpy(np.ascontiguousarray(x_hat))[None, None].to(device=y.device, dtype=y.dtype)
        return Result(x_hat=x_hat, info={key: float(value) for key, value in info.items()})


class Haar2D(pylops.LinearOperator):
    """Orthonormal multilevel 2D Haar transform, coefficients laid out as ``DWT2D``.

    Equal to ``pylops.signalprocessing.DWT2D(dims, wavelet="haar", level=level)``
    (same signs, same quadrant layout) when both sides of ``dims`` are powers
    of two. ``DWT2D`` zero-pads the field to the next power of two (286 to
    512: 3.2 times the coefficients) and goes through PyWavelets; this one
    zero-pads only to a multiple of ``2**level`` and works on strided views,
    thirty times faster on a 286 x 286 field. :math:`W^T W = I` on the field.
    """

    def __init__(self, dims: tuple[int, int], *, level: int, dtype: Any = np.float32) -> None:
        step = 2**level
        dimsd = tuple(-(-side // step) * step for side in dims)
        super().__init__(dtype=np.dtype(dtype), dims=tuple(dims), dimsd=dimsd, name="W")
        self.level = level

    def _matvec(self, x: np.ndarray) -> np.ndarray:
        c = np.zeros(self.dimsd, dtype=self.dtype)
        c[: self.dims[0], : self.dims[1]] = x.reshape(self.dims)
        h, w = self.dimsd
        for _ in range(self.level):
            a = c[:h, :w]
            x00, x01, x10, x11 = a[0::2, 0::2], a[0::2, 1::2], a[1::2, 0::2], a[1::2, 1::2]
            s0, d0, s1, d1 = x00 + x01, x00 - x01, x10 + x11, x10 - x11
            c[:h, :w] = np.block([[s0 + s1, d0 + d1], [s0 - s1, d0 - d1]]) * 0.5
            h, w = h // 2, w // 2
        return c.ravel()

    def _rmatvec(self, c: np.ndarray) -> np.ndarray:
        c = c.reshape(self.dimsd).copy()
        h, w = self.dimsd[0] >> (self.level - 1), self.dimsd[1] >> (self.level - 1)
        for _ in range(self.level):
            a = c[:h, :w]
            hh, hw = h // 2, w // 2
            lo, hi = a[:hh, :hw] + a[hh:, :hw], a[:hh, :hw] - a[hh:, :hw]
            dlo, dhi = a[:hh, hw:] + a[hh:, hw:], a[:hh, hw:] - a[hh:, hw:]
            out = np.empty_like(a)
            out[0::2, 0::2], out[0::2, 1::2] = (lo + dlo) * 0.5, (lo - dlo) * 0.5
            out[1::2, 0::2], out[1::2, 1::2] = (hi + dhi) * 0.5, (hi - dhi) * 0.5
            c[:h, :w] = out
            h, w = h * 2, w * 2
        return c[: self.dims[0], : self.dims[1]].ravel()


def haar_details(dims: tuple[int, int], *, level: int, dtype: Any = np.float32) -> pylops.LinearOperator:
    """The detail coefficients of :class:`Haar2D`, without the coarsest approximation.

    An L1 penalty on them is a smoothness prior; on the approximation it
    would pull the image's mean towards 0.
    """
    haar = Haar2D(dims, level=level, dtype=dtype)
    keep = np.ones(haar.dimsd, dtype=bool)
    keep[: haar.dimsd[0] >> level, : haar.dimsd[1] >> level] = False
    return pylops.Restriction(haar.shape[0], np.flatnonzero(keep), dtype=dtype) @ haar


def bregman_weights(lams: list[float], rhos: list[float]) -> tuple[float, list[float], list[float]]:
    r"""``mu``, ``epsRL1s`` and operator scales for ``pylops.optimization.sparsity.splitbregman``.

    PyLops' split Bregman shrinks :math:`R_i u + b_i` by :math:`\epsilon_i` and
    weighs the splitting term by :math:`\epsilon_i / \mu` against
    :math:`\|y - A u\|^2`; its fixed point therefore minimises
    :math:`\tfrac12 \|y - A u\|_2^2 + \sum_i (\epsilon_i^2 / \mu) \|R_i u\|_1`
    with augmented-Lagrangian penalties :math:`\epsilon_i / \mu`. One
    :math:`\mu` ties the penalties to the weights; handing PyLops
    :math:`s_i R_i` instead of :math:`R_i` frees them. For weights
    :math:`\lambda_i` and penalties :math:`\rho_i` (in units of
    :math:`R_i`): :math:`\mu = \lambda_1 / \rho_1^2`,
    :math:`s_i = (\rho_i \sqrt{\mu / \lambda_i})^{2/3}` (so :math:`s_1 = 1`) and
    :math:`\epsilon_i = \sqrt{\lambda_i \mu / s_i}`.

    Returns
    -------
    (mu, eps, scales)
    """
    mu = lams[0] / rhos[0] ** 2
    scales = [float((rho * np.sqrt(mu / lam)) ** (2 / 3)) for lam, rho in zip(lams, rhos, strict=True)]
    return mu, [float(np.sqrt(lam * mu / s)) for lam, s in zip(lams, scales, strict=True)], scales


def split_bregman(
    y: np.ndarray,
    psf: np.ndarray,
    penalties: Callable[[tuple[int, int]], tuple[list[pylops.LinearOperator], list[float], list[float]]],
    *,
    niter_outer: int,
    niter_inner: int,
    niter_lsqr: int,
) -> tuple[np.ndarray, int]:
    r"""Minimise :math:`\tfrac12\|y - A u\|^2 + \sum_i \lambda_i \|R_i u\|_1` by split Bregman, in float32.

    ``penalties(field_shape)`` gives the :math:`R_i`, their weights
    :math:`\lambda_i` and augmented-Lagrangian penalties :math:`\rho_i`; the
    field starts from the edge-padded data. Returns the central part of
    :math:`u` and the outer iterations run.
    """
    y, psf = y.astype(np.float32), psf.astype(np.float32)
    op = valid_blur(psf, y.shape, dtype=np.float32)
    regs, lams, rhos = penalties(op.dims)
    mu, eps, scales = bregman_weights(lams, rhos)
    u, iterations, _ = splitbregman(
        op,
        y.ravel(),
        [scale * reg if scale != 1 else reg for scale, reg in zip(scales, regs, strict=True)],
        x0=edge_field(y, psf.shape).ravel(),
        niter_outer=niter_outer,
        niter_inner=niter_inner,
        mu=mu,
        epsRL1s=eps,
        # PyLops starts its stopping test from x0 + 1.1 tol: in float32 the default
        # tol (1e-10) vanishes and the loop never runs, so use a representable one.
        tol=1e-4,
        iter_lim=niter_lsqr,
    )
    return centre(u.reshape(op.dims), psf.shape), iterations


class SplitBregmanTV(PyLopsMethod):
    """Base of ``pylops_tv`` and ``pylops_tv_haar``: anisotropic TV, plus what :meth:`penalties` adds, by split Bregman.

    See ``pylops_tv`` for the model and the parameters.
    """

    references = (
        "L. I. Rudin, S. Osher and E. Fatemi, Nonlinear total variation based noise removal algorithms, "
        "Physica D 60(1-4):259-268, 1992.",
        "T. Goldstein and S. Osher, The split Bregman method for L1-regularized problems, SIAM Journal on "
        "Imaging Sciences 2(2):323-343, 2009.",
        *PYLOPS_REFERENCES,
    )

    def __init__(
        self,
        *,
        lam: float | None,
        lam_scale: float,
        lam_power: float,
        sigma_floor: float,
        rho: float,
        niter_outer: int,
        niter_inner: int,
        niter_lsqr: int,
    ) -> None:
        self.weight = WeightRule(lam, NoiseRule(lam_scale, lam_power, sigma_floor))
        if rho <= 0:
            raise ValueError(f"rho must be > 0, got {rho}")
        if min(niter_outer, niter_inner, niter_lsqr) < 1:
            raise ValueError(f"iteration counts must be >= 1, got {niter_outer}, {niter_inner}, {niter_lsqr}")
        self.rho, self.niter_outer, self.niter_inner, self.niter_lsqr = rho, niter_outer, niter_inner, niter_lsqr

    def penalties(
        self, dims: tuple[int, int], lam: float
    ) -> tuple[list[pylops.LinearOperator], list[float], list[float]]:
        """The L1-penalised operators of the field, their weights and their augmented-Lagrangian penalties."""
        return [pylops.Gradient(dims, kind="forward", dtype=np.float32)], [lam], [self.rho]

    def _solve(self, y: np.ndarray, psf: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
        lam, sigma = self.weight(y)
        x, iterations = split_bregman(
            y,
            psf,
            lambda dims: self.penalties(dims, lam),
            niter_outer=self.niter_outer,
            niter_inner=self.niter_inner,
            niter_lsqr=self.niter_lsqr,
        )
        return x, {"lam": lam, "sigma_hat": sigma, "iterations": iterations}
