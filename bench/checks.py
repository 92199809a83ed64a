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


def check_image(image: np.ndarray, *, name: str = "image", volumes: bool = False) -> np.ndarray:
    """Check a 2D finite real image (or, with ``volumes``, a 3D (D, H, W) volume too) and return it as float32.

    Raises
    ------
    ValueError
        If the image has another number of axes, is not real, empty, or holds NaN or Inf.
    """
    image = np.asarray(image)
    if image.ndim != 2 and not (volumes and image.ndim == 3):
        expected = "a 2D (H, W) image or a 3D (D, H, W) volume" if volumes else "a 2D (H, W) array"
        raise ValueError(
            f"{name} must be {expected}, got shape {image.shape}; for a stack or RGB image pass one plane or channel"
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


def check_psf(psf: np.ndarray, *, name: str = "psf", volumes: bool = False) -> np.ndarray:
    """Check a PSF: 2D (or 3D with ``volumes``), odd sizes, finite, non-negative, unit sum, centred.

    Returns it as float32. Centred means its centroid lies within one
    pixel of the array centre, so a convolution does not shift the image (the
    peak may lie elsewhere: a defocused PSF is a ring).
    """
    psf = check_image(psf, name=name, volumes=volumes)
    if any(n % 2 == 0 for n in psf.shape):
        sides = "depth, height and width" if psf.ndim == 3 else "height and width"
        raise ValueError(f"{name} must have odd {sides} so it has a centre pixel, got {psf.shape}")
    if (psf < 0).any():
        raise ValueError(f"{name} must be non-negative, got a minimum of {psf.min():.3g}")
    total = float(psf.sum(dtype=np.float64))
    if total == 0:
        raise ValueError(f"{name} sums to zero: it holds no energy")
    if abs(total - 1) > PSF_SUM_TOLERANCE:
        raise ValueError(
            f"{name} must sum to 1 (tolerance {PSF_SUM_TOLERANCE:g}), got {total:.6g}; divide it by its sum"
        )
    centroid = np.array([(index * psf).sum(dtype=np.float64) for index in np.indices(psf.shape)]) / total
    centre = (np.array(psf.shape) - 1) / 2
    if np.abs(centroid - centre).max() > 1:
        raise ValueError(
            f"{name} must be centred: its centroid is at ({', '.join(f'{c:.2f}' for c in centroid)}), "
            f"the array centre at ({', '.join(f'{c:.0f}' for c in centre)}); shift it (for example with "
            "scipy.ndimage.shift) or crop it around its centroid"
        )
    return psf
