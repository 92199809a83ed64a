"""Input validation at the boundary: images and PSFs entering the benchmark.

Each check raises ``ValueError`` naming what is wrong, the expected and the
actual value, and how to fix it. Everything inside ``bench`` trusts what
passed these checks.
"""

from __future__ import annotations

import numpy as np

__all__ = ["check_image", "check_psf", "PSF_SUM_TOLERANCE"]

#: A PSF must sum to 1 within this tolerance.
PSF_SUM_TOLERANCE = 1e-6


def check_image(image: np.ndarray, *, name: str = "image") -> np.ndarray:
    """Check a 2D finite real image and return it as float32.

    Raises
    ------
    ValueError
        If the image is not 2D, not real, empty, or holds NaN or Inf.
    """
    image = np.asarray(image)
    if image.ndim != 2:
        raise ValueError(
            f"{name} must be a 2D (H, W) array, got shape {image.shape}; "
            "for a stack or RGB image pass one plane or channel"
        )
    if image.size == 0:
        raise ValueError(f"{name} is empty (shape {image.shape})")
    if not (np.issubdtype(image.dtype, np.floating) or np.issubdtype(image.dtype, np.integer)):
        raise ValueError(f"{name} must hold real numbers, got dtype {image.dtype}")
    image = image.astype(np.float32, copy=False)
    bad = ~np.isfinite(image)
    if bad.any():
        kinds = " and ".join(k for k, m in (("NaN", np.isnan(image)), ("Inf", np.isinf(image))) if m.any())
        raise ValueError(f"{name} holds {int(bad.sum())} {kinds} value(s); replace or mask them first")
    return image


def check_psf(psf: np.ndarray, *, name: str = "psf") -> np.ndarray:
    """Check a PSF: 2D, odd size, finite, non-negative, unit sum, centred.

    Returns it as float32. Centred means its centroid lies within one
    pixel of the array centre, so a convolution does not shift the image (the
    peak may lie elsewhere: a defocused PSF is a ring).
    """
    psf = check_image(psf, name=name)
    if psf.shape[0] % 2 == 0 or psf.shape[1] % 2 == 0:
        raise ValueError(f"{name} must have odd height and width so it has a centre pixel, got {psf.shape}")
    if (psf < 0).any():
        raise ValueError(f"{name} must be non-negative, got a minimum of {psf.min():.3g}")
    total = float(psf.sum(dtype=np.float64))
    if total == 0:
        raise ValueError(f"{name} sums to zero: it holds no energy")
    if abs(total - 1) > PSF_SUM_TOLERANCE:
        raise ValueError(f"{name} must sum to 1 (tolerance {PSF_SUM_TOLERANCE:g}), got {total:.6g}; divide it by its sum")
    rows, cols = np.indices(psf.shape)
    centroid = np.array([(rows * psf).sum(dtype=np.float64), (cols * psf).sum(dtype=np.float64)]) / total
    centre = (np.array(psf.shape) - 1) / 2
    if np.abs(centroid - centre).max() > 1:
        raise ValueError(
            f"{name} must be centred: its centroid is at ({centroid[0]:.2f}, {centroid[1]:.2f}), "
            f"the array centre at ({centre[0]:.0f}, {centre[1]:.0f}); shift it (for example with "
            "scipy.ndimage.shift) or crop it around its centroid"
        )
    return psf
