"""Bring your own data: a folder of 2D TIFF/PNG images, an optional PSF file and optional references."""

from __future__ import annotations

import hashlib
import io
import warnings
from pathlib import Path
from typing import Sequence

import imageio.v3 as iio
import numpy as np
import tifffile

from bench.api import BaseDataset, Case, Optics
from bench.physics.camera import (
    OFFSET_WARNING_FRACTION,
    PSF_BACKGROUND_WARNING_FRACTION,
    estimate_offset,
    estimate_psf_background,
)
from bench.checks import check_image, check_psf
from bench.datasets._real import (
    as_case_psf,
    normalize_reference,
    prepare_psf,
    resample_psf,
    to_unit_range,
)
from bench.system.files import sha256_file
from bench.physics.optics import microscope_optics, model_psf, optics_meta

SUFFIXES = (".tif", ".tiff", ".png")
#: Pixel sizes closer than this (relative) are taken as equal.
PIXEL_TOLERANCE = 1e-3


class Dataset(BaseDataset):
    """Every 2D TIFF/PNG image of a folder becomes a case; the PSF and references are optional.

    ``bench run --method all --dataset folder dataset.path=DIR dataset.psf=PSF.tif dataset.pixel_size_um=0.065``
    benchmarks every method on your own microscope's images.

    - ``y``: each image minus ``offset``, clipped at 0, divided by its maximum.
      ``offset="auto"`` estimates each image's camera offset from its dark
      pixels (:func:`bench.physics.camera.estimate_offset`); left unset (None), nothing
      is subtracted, with a warning when the estimate exceeds 2 % of an
      image's maximum (raw camera data).
    - ``psf``: the PSF file minus ``psf_background``, clipped at 0, normalised to
      unit sum. ``psf_background="auto"`` takes the median of the PSF's border
      (:func:`bench.physics.camera.estimate_psf_background`); unset, nothing is
      subtracted, with a warning when that flat background would hold more than
      2 % of the PSF's intensity. It must be 2D, odd-sized and centred (within a pixel), unless its
      pixel size differs from the images': then it is resampled to theirs
      (:func:`bench.datasets._real.resample_psf`, which centres it) or, with
      ``resample_psf=false``, refused. Without a PSF only blind methods run;
      non-blind ones fail with a message saying so.

    Each case's ``meta`` records the offset and PSF background used, their
    estimates and where they came from (``given``, ``auto`` or ``unset``).
    - ``psf="model"``: the PSF of the optics (``na``, ``wavelength_um``,
      ``refractive_index``, ``pixel_size_um``) from :func:`bench.physics.optics.model_psf`,
      ``psf_model`` ``born-wolf`` (aberration-free) or ``gibson-lanni`` (a
      source ``depth_um`` deep in a sample of index ``sample_index``). Given
      optics also go into ``meta["optics"]``, whatever the PSF.
    - ``x``: a reference image of the same file stem in ``references``, if
      given. ``reference="affine"`` (default) for a reference from another
      acquisition (another modality, exposure or microscope): percentile
      normalised, and estimates are affine-fitted to it before PSNR/SSIM.
      ``reference="exact"``: on the images' intensity scale (same offset and
      scale as ``y``), compared as is.

    Every image, PSF and reference is checked when the dataset is built, with
    an error naming the file and the fix. Case ids end with a hash of the
    pixel values (image, reference, PSF), so the case cache never serves a
    stale case after a file changes.

    Parameters
    ----------
    path : str
        Folder of the images (``*.tif``, ``*.tiff``, ``*.png``; 2D, one channel).
    psf : str or None
        File of the 2D PSF, or ``model`` for the PSF of the optics below.
    pixel_size_um : float, (float, float) or None
        Pixel size of the images in micrometres, one number or (dy, dx).
    psf_pixel_size_um : float or None
        Pixel size of the PSF if it differs from the images'.
    resample_psf : bool
        Resample a PSF of another pixel size (False: refuse it).
    psf_background : float, "auto" or None
        Subtracted from the PSF before clipping at 0 and normalising.
    references : str or None
        Folder of references named like the images.
    reference : {"affine", "exact"}
        How references relate to the images (see above).
    offset : float, "auto" or None
        Camera offset subtracted from the images (and exact references).
    na, wavelength_um, refractive_index : float or None
        Objective NA, emission wavelength (micrometres) and immersion index (1.515 oil, 1.33 water, 1.0 air).
    psf_model : {"born-wolf", "gibson-lanni"}
        Model of ``psf="model"``.
    sample_index, depth_um : float or None, float
        Sample refractive index and source depth below the coverslip (``gibson-lanni``).
    """

    name = "folder"
    description = "your own 2D TIFF/PNG images (+ optional PSF and references): dataset.path=DIR"

    def __init__(
        self,
        *,
        path: str | None = None,
        psf: str | None = None,
        pixel_size_um: float | Sequence[float] | None = None,
        psf_pixel_size_um: float | None = None,
        resample_psf: bool = True,
        psf_background: float | str | None = None,
        references: str | None = None,
        reference: str = "affine",
        offset: float | str | None = None,
        na: float | None = None,
        wavelength_um: float | None = None,
        refractive_index: float | None = None,
        psf_model: str = "born-wolf",
        sample_index: float | None = None,
        depth_um: float = 0.0,
    ) -> None:
        if path is None:
            raise ValueError(
                "dataset.path is not set: bench run --dataset folder dataset.path=DIR (a folder of TIFF/PNG images)"
            )
        if reference not in ("affine", "exact"):
            raise ValueError(f"dataset.reference must be 'affine' or 'exact', got {reference!r}")
        self.reference = reference
        self.pixel_size_um = _pixel_pair(pixel_size_um, "pixel_size_um")
        self.files = _image_files(Path(path), "image")
        self.images = {stem: _read_2d(file) for stem, file in self.files.items()}
        self.offsets = self._offsets(_camera_value(offset, "offset"))
        smallest = min(min(image.shape) for image in self.images.values())
        self.optics = self._optics(na, wavelength_um, refractive_index, needed=psf == "model")
        self.psf, self.psf_source, self.psf_background, self.psf_is_model = None, None, {}, psf == "model"
        if psf == "model":
            self.psf = model_psf(self.optics, model=psf_model, sample_index=sample_index, depth_um=depth_um)
            if self.psf.shape[0] > smallest:
                raise ValueError(f"the model PSF ({self.psf.shape[0]} px) is larger than the smallest image; crop less")
            self.psf_source = f"model: {psf_model}, NA {na}, {wavelength_um} um, immersion {refractive_index}"
        elif psf is not None:
            background = _camera_value(psf_background, "psf_background")
            self.psf = self._load_psf(Path(psf), psf_pixel_size_um, resample_psf, background, smallest)
            self.psf_source = f"user file {Path(psf).name}"
        self.references: dict[str, np.ndarray] = {}
        self.reference_files: dict[str, Path] = {}
        if references is not None:
            self.references = self._load_references(Path(references))
        self._ids = {f"{stem}-{self._digest(stem)[:8]}": stem for stem in self.images}

    def case_ids(self) -> list[str]:
        return list(self._ids)

    def image_shape(self) -> tuple[int, int]:
        return next(iter(self.images.values())).shape

    def make_case(self, case_id: str) -> Case:
        if case_id not in self._ids:
            raise ValueError(f"unknown case {case_id!r}; cases are: {', '.join(self.case_ids())}")
        stem = self._ids[case_id]
        offset = self.offsets[stem]["offset"]
        try:
            y, scale = to_unit_range(self.images[stem], offset)
        except ValueError as error:
            raise ValueError(f"{self.files[stem]}: {error}; lower dataset.offset") from None
        x = None
        if stem in self.references:
            reference = self.references[stem]
            if self.reference == "affine":
                try:
                    x = normalize_reference(reference)
                except ValueError as error:
                    raise ValueError(
                        f"reference of {self.files[stem]}: {error}; remove it or give one with structure"
                    ) from None
            else:
                x = np.clip(reference - offset, 0, None) / scale
        meta = {
            "image": stem,
            "noise": "real",
            "pixel_size_um": None if self.pixel_size_um is None else list(self.pixel_size_um),
            "files": {f.name: sha256_file(f) for f in (self.files[stem], self.reference_files.get(stem)) if f},
            "reference": self.reference,
            "psf_source": self.psf_source,
            "psf_reference": not self.psf_is_model,  # a model PSF is a guess, not a reference for PSF estimates
            **self.offsets[stem],
            **self.psf_background,
            "intensity_scale": scale,
            "optics": None if self.optics is None else optics_meta(self.optics),
        }
        x = None if x is None else x.astype(np.float32)
        psf = None if self.psf is None else as_case_psf(self.psf)
        return Case(case_id, y=y.astype(np.float32), x=x, psf=psf, meta=meta)

    def _optics(
        self, na: float | None, wavelength_um: float | None, refractive_index: float | None, *, needed: bool
    ) -> Optics | None:
        """The optics when NA, wavelength and immersion index are all given (with a pixel size), else None."""
        given = {"na": na, "wavelength_um": wavelength_um, "refractive_index": refractive_index}
        missing = [f"dataset.{key}" for key, value in given.items() if value is None]
        if len(missing) == len(given) and not needed:
            return None
        if self.pixel_size_um is None:
            missing.append("dataset.pixel_size_um")
        if missing:
            raise ValueError(f"the optics need {', '.join(missing)} (NA, emission wavelength in um, immersion index)")
        if self.pixel_size_um[0] != self.pixel_size_um[1]:
            raise ValueError("optics need square pixels (dy = dx)")
        return microscope_optics(float(na), float(wavelength_um), float(refractive_index), self.pixel_size_um[0])

    def _offsets(self, offset: float | str | None) -> dict[str, dict[str, float | str]]:
        """Per image: the offset subtracted, its estimate and source; a warning for raw data left unset."""
        offsets, raw = {}, []
        for stem, image in self.images.items():
            estimate = estimate_offset(image)
            if offset is None and estimate > OFFSET_WARNING_FRACTION * float(image.max()):
                raw.append(f"{self.files[stem].name} ({estimate:.4g})")
            used = estimate if offset == "auto" else offset or 0.0
            source = "auto" if offset == "auto" else "unset" if offset is None else "given"
            offsets[stem] = {"offset": used, "offset_estimate": estimate, "offset_source": source}
        if raw:
            warnings.warn(
                f"dataset.offset is not set, but {len(raw)} image(s) look like raw camera data, their dark level "
                f"well above 0: {', '.join(raw[:5])}{' ...' if len(raw) > 5 else ''}; set dataset.offset=auto to "
                "subtract each image's estimate (or a number of counts, or 0 to keep it)",
                UserWarning,
                stacklevel=3,
            )
        return offsets

    def _load_psf(
        self, file: Path, psf_pixel: float | None, resample: bool, background: float | str | None, smallest: int
    ) -> np.ndarray:
        if not file.is_file():
            raise ValueError(f"PSF file {file} does not exist; set dataset.psf to a 2D TIFF/PNG file or null")
        raw = _read_2d(file)
        if raw.min() < 0:
            raise ValueError(
                f"PSF {file} has negative values (minimum {raw.min():.3g}); subtract its background and clip at 0 first"
            )
        estimate = estimate_psf_background(raw)
        if background is None and estimate * raw.size > PSF_BACKGROUND_WARNING_FRACTION * raw.sum():
            warnings.warn(
                f"dataset.psf_background is not set, but PSF {file.name} sits on a flat background of about "
                f"{estimate:.4g} (the median of its border), {100 * estimate * raw.size / raw.sum():.0f} % of its "
                "intensity; set dataset.psf_background=auto to subtract it (or a number, or 0 to keep it)",
                UserWarning,
                stacklevel=4,
            )
        used = estimate if background == "auto" else background or 0.0
        source = "auto" if background == "auto" else "unset" if background is None else "given"
        self.psf_background = {
            "psf_background": used,
            "psf_background_estimate": estimate,
            "psf_background_source": source,
        }
        psf = prepare_psf(raw, background=used, name=f"PSF {file}")
        psf_pixel = _pixel_pair(psf_pixel, "psf_pixel_size_um")
        if psf_pixel is not None and self.pixel_size_um is None:
            raise ValueError("dataset.psf_pixel_size_um is set but dataset.pixel_size_um is not; give both")
        if psf_pixel is not None and not np.allclose(psf_pixel, self.pixel_size_um, rtol=PIXEL_TOLERANCE):
            if not resample:
                raise ValueError(
                    f"PSF {file} has pixel size {psf_pixel} um but the images have {self.pixel_size_um} um; "
                    "resample it to the images' pixel size, or set dataset.resample_psf=true"
                )
            if psf_pixel[0] != psf_pixel[1] or self.pixel_size_um[0] != self.pixel_size_um[1]:
                raise ValueError("resampling needs square pixels (dy = dx) for both the PSF and the images")
            psf = resample_psf(psf, psf_pixel[0], self.pixel_size_um[0])
        psf = check_psf(as_case_psf(psf), name=f"PSF {file}")
        if max(psf.shape) > smallest:
            raise ValueError(f"PSF {file} ({psf.shape}) is larger than the smallest image ({smallest} px); crop it")
        return psf.astype(np.float64)

    def _load_references(self, folder: Path) -> dict[str, np.ndarray]:
        files = _image_files(folder, "reference")
        missing = sorted(set(self.images) - set(files))
        if missing:
            raise ValueError(f"no reference in {folder} for image(s) {missing}; name each reference like its image")
        references = {}
        for stem, image in self.images.items():
            reference = _read_2d(files[stem])
            if reference.shape != image.shape:
                raise ValueError(f"reference {files[stem]} has shape {reference.shape}, its image {image.shape}")
            references[stem] = reference
        self.reference_files = {stem: files[stem] for stem in self.images}
        return references

    def _digest(self, stem: str) -> str:
        """sha256 over the pixel values of an image, its reference and the PSF."""
        digest = hashlib.sha256(self.images[stem].tobytes())
        for array in (self.references.get(stem), self.psf):
            if array is not None:
                digest.update(np.ascontiguousarray(array).tobytes())
        return digest.hexdigest()


def _camera_value(value: float | str | None, key: str) -> float | str | None:
    """A camera setting: None (unset), "auto" (estimate it) or a number."""
    if value is None or value == "auto":
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"dataset.{key} must be a number, auto or null, got {value!r}") from None


def _pixel_pair(value: float | Sequence[float] | None, key: str) -> tuple[float, float] | None:
    if value is None:
        return None
    pair = (float(value), float(value)) if np.isscalar(value) else tuple(float(v) for v in value)
    if len(pair) != 2 or min(pair) <= 0:
        raise ValueError(f"dataset.{key} must be a positive number or [dy, dx] in micrometres, got {value!r}")
    return pair


def _image_files(folder: Path, what: str) -> dict[str, Path]:
    if not folder.is_dir():
        raise ValueError(f"{what} folder {folder} does not exist or is not a folder")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in SUFFIXES and p.is_file())
    if not files:
        raise ValueError(f"{what} folder {folder} holds no TIFF or PNG image ({', '.join(SUFFIXES)})")
    by_stem: dict[str, Path] = {}
    for file in files:
        if file.stem in by_stem:
            raise ValueError(f"{file.name} and {by_stem[file.stem].name} in {folder} share a name; keep one")
        by_stem[file.stem] = file
    return by_stem


def _read_2d(file: Path) -> np.ndarray:
    """A 2D one-channel image as float64, or an error naming the file and the fix."""
    data = file.read_bytes()
    axes = ""
    try:
        if file.suffix.lower() in (".tif", ".tiff"):
            with tifffile.TiffFile(io.BytesIO(data)) as tiff:
                image, axes = tiff.asarray(), tiff.series[0].axes
        else:
            image = iio.imread(data)
    except Exception as error:
        raise ValueError(f"cannot read {file}: {error}") from None
    axes = "".join(axis for axis, n in zip(axes, image.shape) if n > 1) if len(axes) == image.ndim else ""
    image = np.squeeze(image)
    if image.ndim == 3 and image.shape[-1] in (3, 4) and "Z" not in axes:
        raise ValueError(f"{file} is a colour image {image.shape}; save one channel as a 2D grayscale image")
    if image.ndim != 2:
        # The TIFF's own axes say what the extra dimensions are (ImageJ/OME: C channels, Z planes, T times).
        advice = {"C": "one channel", "Z": "its in-focus plane", "T": "one time point"}
        extra = [advice[axis] for axis in axes if axis in advice] or ["one 2D plane (of a z-stack, the in-focus one)"]
        named = f" (axes {axes})" if axes else ""
        raise ValueError(f"{file} has shape {image.shape}{named}; save a single 2D image: {', '.join(extra)}")
    return check_image(image, name=str(file)).astype(np.float64)
