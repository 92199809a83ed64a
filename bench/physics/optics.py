r"""The microscope's optics and the PSF they imply, from psfmodels' scalar models.

:func:`microscope_optics` checks what a microscopist reads off the objective
and the camera (numerical aperture, emission wavelength, immersion index,
pixel size) into a :class:`bench.api.Optics`; ``case.meta["optics"]`` carries
it (:func:`optics_meta`) for the datasets whose optics are known, with the
pupil cut-off :math:`f_c = \mathrm{NA}\,p/\lambda` in cycles per pixel.

:func:`model_psf` computes the PSF with psfmodels (Aguet's implementation of
the scalar Gibson–Lanni model): ``born-wolf`` is the aberration-free case
(sample, immersion and design indices equal, source on the coverslip), whose
in-focus plane is the Airy pattern :math:`[2 J_1(v)/v]^2`,
:math:`v = 2\pi\,\mathrm{NA}\,r/\lambda` (tested); ``gibson-lanni`` adds the
spherical aberration of a source ``depth_um`` deep in a sample of index
``sample_index`` seen through the immersion medium.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, cast

import numpy as np

from bench.api import Optics

__all__ = ["PSF_MODELS", "default_psf_size", "microscope_optics", "model_psf", "optics_meta"]

#: The PSF models of :func:`model_psf`.
PSF_MODELS = ("born-wolf", "gibson-lanni")


def microscope_optics(na: float, wavelength_um: float, refractive_index: float, pixel_size_um: float) -> Optics:
    """:class:`bench.api.Optics` of a widefield microscope, checked: NA below the immersion index, micrometres.

    ``fc = NA * pixel / wavelength`` in cycles per pixel (above 0.5: the camera undersamples).
    """
    if min(na, wavelength_um, refractive_index, pixel_size_um) <= 0:
        raise ValueError(f"optics must be positive numbers, got NA {na}, wavelength {wavelength_um} um, "
                         f"index {refractive_index}, pixel {pixel_size_um} um")  # fmt: skip
    if na >= refractive_index:
        raise ValueError(
            f"NA {na} must be below the immersion index {refractive_index} (1.515 oil, 1.33 water, 1.0 air)"
        )
    if wavelength_um > 2:
        raise ValueError(f"wavelength_um is in micrometres (0.52 for 520 nm), got {wavelength_um}")
    return Optics(
        fc=na * pixel_size_um / wavelength_um, na=na, wavelength_um=wavelength_um,
        pixel_size_um=pixel_size_um, refractive_index=refractive_index,
    )  # fmt: skip


def optics_meta(optics: Optics) -> dict[str, float | None]:
    """The ``case.meta["optics"]`` entry that :meth:`bench.api.Optics.from_meta` reads back."""
    return dataclasses.asdict(optics)


def default_psf_size(optics: Optics) -> int:
    """Odd side covering five Airy first-zero radii, at least 15 px.

    The first zero lies at 0.61 lambda / NA, which is 0.61 / f_c pixels, so
    the cut-off alone sets the size (synthetic optics carry only f_c).
    """
    return max(15, 2 * math.ceil(5 * 0.61 / optics.fc) + 1)


def model_psf(
    optics: Optics,
    *,
    size: int | None = None,
    model: str = "born-wolf",
    sample_index: float | None = None,
    depth_um: float = 0.0,
    planes: int = 1,
    z_step_um: float | None = None,
) -> np.ndarray:
    """The PSF of ``optics``: a (size, size) in-focus plane, or a (planes, size, size) stack; float64, unit sum.

    Each pixel integrates the light over its area: psfmodels samples a grid
    ``k`` times finer (``k`` odd, at least 3, with :math:`f_c/k \\le 0.25`) and
    bins it. ``gibson-lanni`` focuses where the PSF is brightest (the focal
    shift of an index mismatch moves it from the nominal depth). A stack has
    its brightest plane in the middle, planes ``z_step_um`` apart.

    Parameters
    ----------
    optics : bench.api.Optics
        With ``na``, ``wavelength_um``, ``refractive_index`` and ``pixel_size_um`` (:func:`microscope_optics`).
    size : int, optional
        Odd side in pixels (default :func:`default_psf_size`).
    model : {"born-wolf", "gibson-lanni"}
    sample_index : float, optional
        Refractive index of the sample (``gibson-lanni``; default: the immersion's, no aberration).
    depth_um : float
        Depth of the source below the coverslip (``gibson-lanni``).
    planes : int
        Number of z planes (odd); 1 for a 2D PSF.
    z_step_um : float, optional
        Distance between planes, required when ``planes > 1``.
    """
    try:
        import psfmodels
    except ImportError:
        raise ValueError("the optics PSF needs psfmodels: pip install -c constraints.txt psfmodels==0.3.3") from None
    if model not in PSF_MODELS:
        raise ValueError(f"PSF model must be one of {', '.join(PSF_MODELS)}, got {model!r}")
    if None in (optics.na, optics.wavelength_um, optics.refractive_index, optics.pixel_size_um):
        raise ValueError(f"a model PSF needs NA, wavelength, immersion index and pixel size, got {optics}")
    size = default_psf_size(optics) if size is None else int(size)
    if size < 3 or size % 2 == 0 or planes < 1 or planes % 2 == 0:
        raise ValueError(f"PSF size and planes must be odd (size >= 3), got size {size}, planes {planes}")
    if planes > 1 and not (z_step_um and z_step_um > 0):
        raise ValueError("a PSF stack needs its z step: set z_step_um (micrometres between planes)")
    immersion = optics.refractive_index
    sample = immersion if model == "born-wolf" or sample_index is None else float(sample_index)
    depth = 0.0 if model == "born-wolf" else float(depth_um)
    factor = max(3, 2 * math.ceil((optics.fc / 0.25 - 1) / 2) + 1)
    settings: dict[str, Any] = {
        "NA": optics.na, "wvl": optics.wavelength_um, "ni": immersion, "ni0": immersion, "ns": sample, "pz": depth,
        "dxy": cast(float, optics.pixel_size_um) / factor, "model": "scalar", "oversample_factor": 1, "normalize": False,
    }  # fmt: skip
    focus = depth
    if depth > 0 and sample != immersion:  # find the brightest plane on the axis
        axis = np.linspace(0, 2 * depth + cast(float, optics.wavelength_um), 201)
        # psfmodels takes an array of z, though its hint says int | Sequence[float]
        focus = float(axis[np.argmax(psfmodels.make_psf(axis, 1, **settings)[:, 0, 0])])  # type: ignore[arg-type]
    z = focus + (np.arange(planes) - planes // 2) * (z_step_um or 0.0)
    fine = psfmodels.make_psf(z, size * factor, **settings)  # type: ignore[arg-type]  # z: an array, as above
    psf = fine.reshape(planes, size, factor, size, factor).sum(axis=(2, 4))
    psf = psf[0] if planes == 1 else psf
    return psf / psf.sum()
