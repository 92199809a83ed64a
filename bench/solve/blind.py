"""What the blind methods share: PSF projection, kernel-size checks and the final non-blind solve."""

from __future__ import annotations

import numpy as np
import torch

from bench.physics.psf_geometry import normalize_psf
from bench.solve.rules import RULES
from bench.solve.solvers import richardson_lucy_from_noise

__all__ = ["check_kernel_size", "deconvolve", "delta_psf", "project_psf"]


def check_kernel_size(kernel_size: int) -> int:
    """Validate the side of the PSF to estimate: odd and at least 3."""
    if kernel_size < 3 or kernel_size % 2 == 0:
        raise ValueError(f"kernel_size must be odd and >= 3 (the PSF needs a centre pixel), got {kernel_size}")
    return kernel_size


def check_fits(y: torch.Tensor, kernel_size: int, name: str) -> None:
    """Refuse images too small for the kernel: every side must be at least the kernel side.

    The shape itself, (1, 1, H, W), is the runner's to guarantee (see :meth:`bench.api.BaseMethod.run`).
    """
    if min(y.shape[-2:]) < kernel_size:
        raise ValueError(
            f"{name}: the image ({y.shape[-2]}x{y.shape[-1]}) is smaller than the kernel to estimate "
            f"({kernel_size}x{kernel_size}); pass {name}.kernel_size=<odd size below the image side>"
        )


def project_psf(psf: torch.Tensor) -> torch.Tensor:
    """Bring estimated kernels to the benchmark's PSF convention.

    Negative values are set to 0, then each kernel is put through
    :func:`bench.physics.psf_geometry.normalize_psf` (unit sum, centroid moved to the centre
    pixel by a whole-pixel roll), the frame every PSF is scored in. A kernel
    with no positive mass becomes a delta, the no-blur kernel.

    Parameters
    ----------
    psf : (B, 1, k, k) tensor, k odd

    Returns
    -------
    (B, 1, k, k) tensor, same dtype and device, non-negative, unit sum, centred.
    """
    size = psf.shape[-1]
    kernels = psf.detach().clamp(min=0)[:, 0].to("cpu", torch.float64).numpy()
    out = np.stack([normalize_psf(k, size) if k.sum() > 0 else delta_psf(1, size)[0, 0].numpy() for k in kernels])
    return torch.from_numpy(out)[:, None].to(device=psf.device, dtype=psf.dtype)


def delta_psf(
    batch: int, size: int, *, dtype: torch.dtype = torch.float64, device: torch.device | str = "cpu"
) -> torch.Tensor:
    """(batch, 1, size, size) kernels that are 1 at the centre pixel and 0 elsewhere: no blur."""
    psf = torch.zeros(batch, 1, size, size, dtype=dtype, device=device)
    psf[..., size // 2, size // 2] = 1.0
    return psf


def deconvolve(y: torch.Tensor, psf_hat: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
    """The non-blind solve every blind method ends with, given its estimated PSF.

    What the ``richardson_lucy_tv`` plugin runs with its defaults: valid
    boundary (the data are valid crops), TV weight and iteration count from
    the wavelet-MAD noise estimate of ``y`` by its rules in :mod:`bench.solve.rules`,
    fitted on the training images with true PSFs. One shared solver means the
    blind rows differ only by their PSF estimates, and a blind row can be read
    against the non-blind ``richardson_lucy_tv`` row as the price of not
    knowing the PSF.
    """
    return richardson_lucy_from_noise(
        y,
        psf_hat.to(y.dtype),
        iterations=RULES["richardson_lucy_tv.num_iter"],
        max_iter=1000,
        boundary="valid",
        tv_weight=RULES["richardson_lucy_tv.tv_weight"],
    )
