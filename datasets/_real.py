r"""Helpers shared by the real-data dataset plugins (not a plugin itself).

- :class:`ShippedData` reads the files under ``datasets/real/`` after checking
  each against ``datasets/real/SHA256SUMS``.
- :func:`to_unit_range` and :func:`normalize_reference` put camera counts on
  the benchmark's [0, 1] scale and record how, so counts can be recovered.
- :func:`resample_psf` puts a measured PSF on another pixel size;
  :func:`optics_psf` builds the diffraction-limited PSF of stated optics.
- :class:`ShippedPlanes` is the base of the datasets whose cases are shipped
  z planes of one stack.

Pixel sizes are in micrometres, as ``(dy, dx)`` in every case's ``meta``.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import Any, ClassVar, Sequence

import numpy as np
import scipy.ndimage
import tifffile

from bench.api import BaseDataset
from bench.system.files import sha256_file
from bench.physics.psfs import NOLL_INDICES, zernike_psf

__all__ = [
    "DATA_DIR",
    "SHIPPED",
    "ShippedData",
    "ShippedDataError",
    "ShippedPlanes",
    "as_case_psf",
    "case_meta",
    "centre_crop",
    "normalize_reference",
    "optics_psf",
    "prepare_psf",
    "resample_psf",
    "to_unit_range",
]

#: The shipped real data, installed with the package (``bench.datasets`` package data).
DATA_DIR = Path(__file__).resolve().parent / "real"


class ShippedDataError(ValueError):
    """A shipped data file is missing, unlisted or differs from its checksum."""


class ShippedData:
    """Files of a data folder, each verified against the folder's ``SHA256SUMS`` when read.

    ``SHA256SUMS`` has one ``<sha256 hex>  <relative path>`` line per file (the
    ``sha256sum`` format, so ``cd datasets/real && sha256sum -c SHA256SUMS``
    checks them by hand too).
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @functools.cached_property
    def manifest(self) -> dict[str, str]:
        """Relative path -> expected sha256."""
        path = self.root / "SHA256SUMS"
        if not path.is_file():
            raise ShippedDataError(
                f"checksum manifest {path} is missing; reinstall deconv-bench "
                "(pip install -c constraints.txt -e .) or restore datasets/real/ from git"
            )
        entries = (line.split(maxsplit=1) for line in path.read_text().splitlines() if line.strip())
        return {name.strip(): digest for digest, name in entries}

    def path(self, name: str) -> Path:
        """Absolute path of ``name`` (relative to the root) after checking its sha256."""
        if name not in self.manifest:
            raise ShippedDataError(f"{name} is not listed in {self.root / 'SHA256SUMS'}; only listed files are read")
        path = self.root / name
        if not path.is_file():
            raise ShippedDataError(
                f"shipped data file {path} is missing; reinstall deconv-bench "
                "(pip install -c constraints.txt -e .) or restore it with `git checkout -- datasets/real`"
            )
        digest = sha256_file(path)
        if digest != self.manifest[name]:
            raise ShippedDataError(
                f"shipped data file {path} does not match its sha256 in SHA256SUMS "
                f"(expected {self.manifest[name]}, got {digest}): it was modified or corrupted. "
                "Restore it with `git checkout -- datasets/real` or reinstall deconv-bench; if you "
                "changed it on purpose, regenerate it with datasets/real/prepare.py, which rewrites SHA256SUMS"
            )
        return path

    def read(self, name: str) -> np.ndarray:
        """The verified TIFF image ``name`` as an array (original dtype)."""
        return tifffile.imread(self.path(name))

    def sha256(self, name: str) -> str:
        """Checksum of ``name`` recorded in the manifest (case metadata cites it)."""
        return self.manifest[name]


#: The data shipped with deconv-bench.
SHIPPED = ShippedData(DATA_DIR)


def to_unit_range(raw: np.ndarray, offset: float) -> tuple[np.ndarray, float]:
    """Counts -> [0, 1]: subtract the detector offset, clip at 0, divide by the maximum.

    Returns the image (float64) and the scale, so ``counts = y * scale + offset``
    wherever ``raw > offset``. Clipping removes only the noise below the
    offset; Poisson-based methods need non-negative data.
    """
    shifted = np.clip(np.asarray(raw, dtype=np.float64) - offset, 0, None)
    scale = float(shifted.max())
    if scale <= 0:
        raise ValueError(f"image holds no signal above the offset {offset}: its maximum is {float(np.max(raw))}")
    return shifted / scale, scale


def normalize_reference(reference: np.ndarray, *, low: float = 0.1, high: float = 99.9) -> np.ndarray:
    """Percentile normalisation of a reference (CARE's convention): its ``low``..``high`` percentiles go to 0..1.

    A sparse reference (a few beads on a dark field) is flat between those
    percentiles: its minimum and maximum go to 0..1 instead. Only a constant
    reference cannot be scored.
    """
    reference = np.asarray(reference, dtype=np.float64)
    p_low, p_high = np.percentile(reference, [low, high])
    if p_high <= p_low:
        p_low, p_high = reference.min(), reference.max()
    if p_high <= p_low:
        raise ValueError(f"the reference is constant ({p_low:g}); it cannot be scored")
    return (reference - p_low) / (p_high - p_low)


def prepare_psf(psf: np.ndarray, *, background: float = 0.0, name: str = "psf") -> np.ndarray:
    """Subtract a background, clip at 0 and normalise to unit sum (float64)."""
    psf = np.clip(np.asarray(psf, dtype=np.float64) - background, 0, None)
    total = psf.sum()
    if not total > 0:
        raise ValueError(f"{name} holds no energy above its background {background:g}")
    return psf / total


def resample_psf(
    psf: np.ndarray,
    from_um: float | Sequence[float],
    to_um: float | Sequence[float],
    *,
    size: int | Sequence[int] | None = None,
) -> np.ndarray:
    r"""A PSF sampled at ``from_um`` per pixel, resampled to ``to_um``, centred, odd-sized, unit sum.

    The output grid is centred on the PSF's centroid, so the result is centred
    by construction (no separate sub-pixel shift). Along an axis where the
    pixels grow (``to_um > from_um``) the PSF is first smoothed by a Gaussian
    whose variance is the difference of the two pixel boxes', :math:`(k^2 - 1)/12`
    input pixels² with :math:`k = to/from`, so the coarse pixel integrates light
    as a camera pixel does. Values are interpolated with cubic splines and clipped at 0.

    Parameters
    ----------
    psf : (H, W) or (D, H, W) ndarray
        Non-negative PSF (background already removed).
    from_um, to_um : float or sequence of float
        Pixel size of ``psf`` and of the target grid, micrometres: one for
        every axis, or one per axis ((dz, dy, dx) for a volume).
    size : int or sequence of int, optional
        Odd side(s) of the output; default: the same physical extent as the
        input (for an image, the smaller side's, on both axes).
    """
    psf = np.asarray(psf, dtype=np.float64)
    from_um, to_um = (np.broadcast_to(np.asarray(v, dtype=np.float64), (psf.ndim,)) for v in (from_um, to_um))
    if (from_um <= 0).any() or (to_um <= 0).any():
        raise ValueError(f"pixel sizes must be positive micrometres, got {from_um.tolist()} and {to_um.tolist()}")
    ratio = to_um / from_um
    if size is None:
        extents = [min(psf.shape)] * psf.ndim if psf.ndim == 2 else list(psf.shape)
        size = [round(n / r) for n, r in zip(extents, ratio)]
        size = [n - (1 - n % 2) for n in size]
    sizes = list(np.broadcast_to(np.asarray(size, dtype=int), (psf.ndim,)))
    if any(n < 1 or n % 2 == 0 for n in sizes):
        raise ValueError(f"output PSF size must be a positive odd number per axis, got {size}")
    centroid = np.array(scipy.ndimage.center_of_mass(psf))
    if (ratio > 1).any():
        psf = scipy.ndimage.gaussian_filter(psf, np.sqrt(np.clip(ratio**2 - 1, 0, None) / 12), mode="constant")
    axes = [c + (np.arange(n) - n // 2) * r for c, n, r in zip(centroid, sizes, ratio)]
    coords = np.stack(np.meshgrid(*axes, indexing="ij"))
    resampled = np.clip(scipy.ndimage.map_coordinates(psf, coords, order=3, mode="constant"), 0, None)
    return resampled / resampled.sum()


def optics_psf(na: float, wavelength_um: float, pixel_um: float, *, size: int) -> tuple[np.ndarray, float]:
    r"""In-focus, aberration-free widefield PSF of stated optics, integrated over the camera pixel.

    The pupil cut-off is :math:`f_c = \mathrm{NA}\, p / \lambda` cycles per pixel
    (the Airy FWHM is :math:`0.514/f_c` px). The PSF comes from deepinv's
    diffraction generator (:func:`bench.physics.psfs.zernike_psf`, all Zernike
    coefficients 0) on a grid ``k`` times finer (``k`` odd, at least 3, so that
    :math:`f_c/k \le 0.25`: no aliasing even when the camera undersamples), then
    each ``k`` x ``k`` block is summed: a camera pixel integrates the light
    falling on its area. Scalar paraxial model, no vectorial high-NA effects.

    Returns the (size, size) PSF (float64, unit sum) and :math:`f_c`.
    """
    if size % 2 == 0:
        raise ValueError(f"PSF size must be odd, got {size}")
    fc = na * pixel_um / wavelength_um
    factor = max(3, 2 * math.ceil((fc / 0.25 - 1) / 2) + 1)
    fine = zernike_psf(np.zeros(len(NOLL_INDICES)), fc / factor, size=size * factor)
    psf = fine.reshape(size, factor, size, factor).sum(axis=(1, 3))
    return psf / psf.sum(), fc


def case_meta(image: str, pixel_um: float, files: list[str], **extra: Any) -> dict[str, Any]:
    """Metadata shared by the real-data cases: image name, pixel size, the shipped files and their sha256."""
    return {
        "image": image,
        "noise": "real",
        "pixel_size_um": [pixel_um, pixel_um],
        "files": {name: SHIPPED.sha256(name) for name in files},
        **extra,
    }


def centre_crop(image: np.ndarray, size: int | None) -> np.ndarray:
    """The central ``size`` x ``size`` part of an image (the whole image for None)."""
    if size is None:
        return image
    height, width = image.shape
    if not 0 < size <= min(height, width):
        raise ValueError(
            f"crop must be between 1 and {min(height, width)} px for this {height}x{width} image, got {size}"
        )
    top, left = (height - size) // 2, (width - size) // 2
    return image[top : top + size, left : left + size]


def as_case_psf(psf: np.ndarray) -> np.ndarray:
    """float32 PSF summing to 1 in float32 arithmetic (what :func:`bench.checks.check_psf` requires)."""
    psf32 = np.asarray(psf, dtype=np.float32)
    return psf32 / psf32.sum(dtype=np.float64).astype(np.float32)


class ShippedPlanes(BaseDataset):
    """Base of the real datasets whose cases are shipped z planes of one stack, ids ``<case_prefix>-zNN``.

    Subclasses set the class attributes and keep their own keyword-only
    ``__init__`` (its defaults are the dataset's documented parameters),
    which calls this one.
    """

    #: Shipped file of plane ``z``: a format string with the field ``z``.
    plane_file: ClassVar[str]
    #: The z planes shipped.
    shipped_planes: ClassVar[tuple[int, ...]]
    #: Case ids are ``f"{case_prefix}-z{z:02d}"``.
    case_prefix: ClassVar[str]

    def __init__(self, *, planes: Sequence[int], psf_size: int) -> None:
        unknown = [z for z in planes if z not in self.shipped_planes]
        if unknown:
            raise ValueError(
                f"plane(s) {unknown} are not shipped; available: {', '.join(map(str, self.shipped_planes))}"
            )
        self.planes, self.psf_size = [int(z) for z in planes], int(psf_size)
        self._files = {f"{self.case_prefix}-z{z:02d}": self.plane_file.format(z=z) for z in self.planes}

    def case_ids(self) -> list[str]:
        return list(self._files)

    def plane(self, case_id: str) -> str:
        """The shipped file of a case's plane; an error listing the cases for an unknown id."""
        if case_id not in self._files:
            raise ValueError(f"unknown case {case_id!r}; cases are: {', '.join(self._files)}")
        return self._files[case_id]


# --- shipped data that several datasets read (the real planes, and measured-psf's semi-synthetic cases)

#: BioSR pairs: (widefield input, SIM reference), both on the 62.6 nm camera grid.
BIOSR_PAIRS = {
    "microtubules": ("biosr_wf_sim/microtubules_wf.tif", "biosr_wf_sim/microtubules_sim_gt.tif"),
    "factin": ("biosr_wf_sim/factin_nonlinear_wf.tif", "biosr_wf_sim/factin_nonlinear_sim_gt.tif"),
}
BIOSR_PIXEL_UM = 0.0626

#: The MPI-CBG confocal (beads-grid-confocal, 2D and 3D): the line grid's pixel, and the detector
#: offset in counts (the minimum of both 8-bit stacks and the median of the mostly empty bead stack).
CONFOCAL_GRID_PIXEL_UM = 0.02196
CONFOCAL_OFFSET = 1.0
#: The MPI-CBG confocal's 4-bead average PSF and its pixel.
BEAD_PSF = "beads_grid_confocal/psf_avg_4beads_z16.tif"
BEAD_PIXEL_UM = 0.02249

#: The lattice light-sheet's measured bead PSF (its in-focus plane) and its pixel.
LLS_PSF = "lattice_lightsheet/psf_z30.tif"
LLS_PSF_PIXEL_UM = 0.1011
#: Width in pixels of the PSF plane's border whose median is its background (about 141 counts).
LLS_PSF_BORDER = 16


def bead_psf(pixel_um: float, *, size: int | None = None) -> np.ndarray:
    """The confocal bead PSF's in-focus plane resampled to ``pixel_um`` (default size: its ±0.45 µm extent)."""
    return resample_psf(prepare_psf(SHIPPED.read(BEAD_PSF)), BEAD_PIXEL_UM, pixel_um, size=size)


def lattice_lightsheet_psf(pixel_um: float, *, size: int) -> tuple[np.ndarray, float]:
    """The measured lattice light-sheet PSF's in-focus plane on a ``pixel_um`` grid, ``size`` x ``size``, and its background in counts.

    A window around the bead's peak (the rest of the plane is background
    noise, which would pull the centroid), minus the median of the plane's
    border, clipped at 0, resampled by :func:`resample_psf`.
    """
    measured = SHIPPED.read(LLS_PSF).astype(np.float64)
    border = np.ones(measured.shape, bool)
    border[LLS_PSF_BORDER:-LLS_PSF_BORDER, LLS_PSF_BORDER:-LLS_PSF_BORDER] = False
    background = float(np.median(measured[border]))
    peak = np.unravel_index(np.argmax(measured), measured.shape)
    half = math.ceil(size * pixel_um / LLS_PSF_PIXEL_UM / 2) + 2
    window = measured[peak[0] - half : peak[0] + half + 1, peak[1] - half : peak[1] + half + 1]
    return resample_psf(prepare_psf(window, background=background), LLS_PSF_PIXEL_UM, pixel_um, size=size), background
