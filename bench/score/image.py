r"""Image scores against a reference: PSNR, SSIM and the affine fit for references on another intensity scale.

Images are compared as float64 with ``data_range`` given explicitly (1 for
the [0, 1] synthetic images); PSNR and SSIM agree with ``skimage.metrics``
(tested). Every score takes images (H, W) or volumes (D, H, W): SSIM is
skimage's 7-voxel window in 3D.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.ndimage

__all__ = ["SSIMReference", "affine_fit", "psnr", "same_shape", "ssim"]


def psnr(reference: np.ndarray, estimate: np.ndarray, *, data_range: float) -> float:
    r"""Peak signal-to-noise ratio in dB, :math:`10 \log_{10}(R^2 / \mathrm{MSE})`."""
    reference, estimate = same_shape(reference, estimate)
    mse = np.mean((reference - estimate) ** 2)
    return math.inf if mse == 0 else float(10 * np.log10(data_range**2 / mse))


def ssim(reference: np.ndarray, estimate: np.ndarray, *, data_range: float) -> float:
    """Structural similarity (Wang et al. 2004) with skimage's default 7x7 window (7x7x7 on volumes); see :class:`SSIMReference`."""
    return SSIMReference(reference, data_range=data_range)(estimate)


class SSIMReference:
    r"""The reference's share of SSIM (its local means and variances), kept to score several estimates.

    ``skimage.metrics.structural_similarity`` with its defaults (7 x 7 uniform
    window, sample covariance, :math:`K_1 = 0.01`, :math:`K_2 = 0.03`, mean over
    the image less a 3-px border), computed with the same operations in the
    same order (equal to it to rounding, tested) but without recomputing the
    reference's statistics for every estimate and with a few in-place buffers
    instead of a dozen image-sized temporaries: scoring stays near the cost
    of three uniform filters per estimate.
    """

    window = 7

    def __init__(self, reference: np.ndarray, *, data_range: float) -> None:
        self.reference = np.asarray(reference, dtype=np.float64)
        self.c1, self.c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
        self.cov_norm = self.window**self.reference.ndim / (self.window**self.reference.ndim - 1)
        self.mean = self._filter(self.reference)
        squares = self._filter(self.reference * self.reference)
        self.variance = self.cov_norm * (squares - self.mean * self.mean)

    def __call__(self, estimate: np.ndarray) -> float:
        """Mean SSIM of ``estimate`` against the reference."""
        x, y = same_shape(self.reference, estimate)
        ux, vx = self.mean, self.variance
        # skimage's expressions, evaluated in place (each comment gives the value now held)
        uy = self._filter(y)
        buffer = y * y
        vy = self._filter(buffer)  # uyy
        np.multiply(x, y, out=buffer)
        vxy = self._filter(buffer)  # uxy
        np.multiply(uy, uy, out=buffer)
        vy -= buffer
        vy *= self.cov_norm  # vy = cov_norm * (uyy - uy * uy)
        np.multiply(ux, uy, out=buffer)
        vxy -= buffer
        vxy *= self.cov_norm  # vxy = cov_norm * (uxy - ux * uy)
        a1 = buffer
        a1 *= 2
        a1 += self.c1  # A1 = 2 * ux * uy + C1 (doubling is exact: the order does not matter)
        a2 = vxy
        a2 *= 2
        a2 += self.c2  # A2 = 2 * vxy + C2
        b1 = uy
        b1 *= uy
        b1 += ux * ux
        b1 += self.c1  # B1 = ux**2 + uy**2 + C1
        b2 = vy
        b2 += vx
        b2 += self.c2  # B2 = vx + vy + C2
        a1 *= a2
        b1 *= b2
        a1 /= b1  # S = (A1 * A2) / (B1 * B2)
        pad = (self.window - 1) // 2
        return float(a1[(slice(pad, -pad),) * a1.ndim].mean(dtype=np.float64))

    def _filter(self, image: np.ndarray) -> np.ndarray:
        return scipy.ndimage.uniform_filter(image, size=self.window)


def affine_fit(reference: np.ndarray, estimate: np.ndarray) -> np.ndarray:
    r"""The estimate mapped by the least-squares affine fit onto the reference, :math:`a \hat x + b`.

    :math:`(a, b) = \arg\min \|a \hat x + b - x\|^2`: the scoring convention of
    CARE and BioSR for references acquired differently from the input (another
    modality, gain or background). PSNR/SSIM after the fit ignore the
    intensity scale and offset of a method's output and rank how well its
    structure matches. The reference of real data is itself band-limited, so
    the scores rank methods; they are not absolute fidelity.
    """
    reference, estimate = same_shape(reference, estimate)
    centred = estimate - estimate.mean()
    variance = np.mean(centred**2)
    slope = np.mean(centred * (reference - reference.mean())) / variance if variance > 0 else 0.0
    return slope * centred + reference.mean()


def same_shape(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two images as float64, or a ``ValueError`` naming both shapes when they differ."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"images must have the same shape, got {a.shape} and {b.shape}")
    return a, b
