r"""The PSFs of the synthetic datasets: 2D Fresnel/Zernike, 3D widefield and confocal (deepinv's generators).

- :func:`zernike_psf` — Fresnel/Zernike PSF :math:`h(\theta) = |\mathcal{F}(P_{f_c}
  e^{-i 2\pi \phi_\theta})|^2`, :math:`\phi_\theta = \sum_k \theta_k Z_k`, from deepinv's
  ``DiffractionBlurGenerator``; :func:`zernike_psfs` is its batched,
  differentiable form, which learned methods use to rebuild their estimates
  (:mod:`bench.physics.psf_model` computes the same PSFs faster, for training).
- :func:`widefield_psf_3d`, :func:`confocal_psf_3d` — 3D PSFs (D, H, W) of a
  widefield and a confocal microscope with Zernike aberrations, from deepinv's
  ``DiffractionBlurGenerator3D`` and ``ConfocalBlurGenerator3D``.

What turns a scene into data with these PSFs is in :mod:`bench.physics.degradation`.
"""

from __future__ import annotations

import functools

import numpy as np
import scipy.ndimage
import torch

__all__ = ["NOLL_INDICES", "NOLL_INDICES_3D", "confocal_psf_3d", "widefield_psf_3d", "zernike_psf", "zernike_psfs"]

#: Noll indices of the aberrations: defocus, astigmatism x2, coma x2, trefoil x2, spherical.
NOLL_INDICES: tuple[int, ...] = (4, 5, 6, 7, 8, 9, 10, 11)


def zernike_psf(coeff: np.ndarray, fc: float, *, size: int) -> np.ndarray:
    """Diffraction-limited PSF with Zernike aberrations, normalised to unit sum.

    Parameters
    ----------
    coeff : (8,) ndarray
        Zernike coefficients in waves for :data:`NOLL_INDICES`.
    fc : float
        Cut-off frequency of the pupil in cycles per pixel, in (0, 0.25]
        (0.25 is Nyquist sampling; the Airy FWHM is about 0.514 / fc pixels).
    size : int
        Odd side length of the PSF in pixels.

    Returns
    -------
    (size, size) float64 ndarray, non-negative, summing to 1, centroid at the centre.
    """
    coeff = np.asarray(coeff, dtype=np.float64)
    if coeff.shape != (len(NOLL_INDICES),):
        raise ValueError(f"coeff must have shape ({len(NOLL_INDICES)},) for Noll {NOLL_INDICES}, got {coeff.shape}")
    if not 0 < fc <= 0.25:
        raise ValueError(f"fc must be in (0, 0.25] cycles/pixel, got {fc}")
    psf = zernike_psfs(torch.from_numpy(coeff)[None], torch.tensor([fc], dtype=torch.float64), size=size)
    return psf[0, 0].numpy()


def zernike_psfs(coeff: torch.Tensor, fc: torch.Tensor, *, size: int, pupil_size: int = 256) -> torch.Tensor:
    """Batched, differentiable :func:`zernike_psf` on the device and dtype of ``coeff``.

    ``coeff`` is (B, 8) in waves, ``fc`` (B,) in cycles per pixel; returns
    (B, 1, size, size) PSFs, non-negative, unit sum, centred. Learned methods
    rebuild their PSF estimates with it, so an estimate and the dataset's PSF
    come from exactly the same model (the datasets' 256 x 256 pupil sampling).
    A coarser ``pupil_size`` is 4 to 16 times cheaper and within 25-35 dB of
    it (PSF-SNR): good enough inside a training loss, not for data.
    """
    if size % 2 == 0:
        raise ValueError(f"PSF size must be odd, got {size}")
    generator = _zernike_generator(size, pupil_size, coeff.dtype, str(coeff.device))
    psf = generator.step(coeff=coeff, fc=fc.reshape(-1, 1).to(coeff))["filter"].clamp(min=0)
    return psf / psf.sum(dim=(-2, -1), keepdim=True)


@functools.lru_cache(maxsize=8)
def _zernike_generator(size: int, pupil_size: int, dtype: torch.dtype, device: str):
    from deepinv.physics.generator import DiffractionBlurGenerator

    # center=True adds the tilt that puts the centroid at the array centre: a
    # shift of the whole image is not blur, and a blind method cannot see it.
    # (Set in the constructor: deepinv 0.5 fails when it is passed to step.)
    return DiffractionBlurGenerator(
        (size, size),
        zernike_index=NOLL_INDICES,
        pupil_size=(pupil_size, pupil_size),
        center=True,
        dtype=dtype,
        device=device,
    )


#: Noll indices of the 3D aberrations: those of :data:`NOLL_INDICES` but defocus, which in a
#: stack only moves the focal plane (an axial shift, not blur: the 3D PSFs are centred anyway).
NOLL_INDICES_3D: tuple[int, ...] = NOLL_INDICES[1:]

#: Planes and pixels computed beyond each side of a 3D PSF's box, so it can be cropped around its centroid.
_PSF_3D_MARGIN = 4


def widefield_psf_3d(
    coeff: np.ndarray,
    *,
    shape: tuple[int, int, int],
    na: float,
    ni: float,
    wavelength_um: float,
    pixel_um: float,
    z_ratio: float,
) -> tuple[np.ndarray, float]:
    r"""Widefield 3D PSF with Zernike aberrations (deepinv's ``DiffractionBlurGenerator3D``), centred, unit sum.

    The pupil :math:`\mathbb 1_{|\rho| \le f_c} e^{-i 2\pi \sum_k \theta_k Z_k}` with
    :math:`f_c = \mathrm{NA}\,p/\lambda` cycles per pixel is propagated to each
    plane by :math:`e^{-i 2\pi z \sqrt{k_b^2 - \rho^2}}`, :math:`k_b = n_i p/\lambda`;
    the PSF is :math:`|\mathcal F(\cdot)|^2` per plane, a scalar paraxial model.
    Each plane of a widefield PSF carries about the same light, so the box
    truncates it: the truncated PSF is both the blur of the data and the PSF
    given to methods.

    Parameters
    ----------
    coeff : (7,) ndarray
        Zernike coefficients in waves for :data:`NOLL_INDICES_3D`.
    shape : (int, int, int)
        Odd (D, H, W) of the PSF box, voxels.
    na, ni : float
        Numerical aperture and refractive index of the immersion (``na < ni``).
    wavelength_um, pixel_um : float
        Emission wavelength and lateral pixel size, micrometres (``na * pixel / wavelength <= 0.25``).
    z_ratio : float
        Nominal plane spacing over the lateral pixel size.

    Returns
    -------
    psf : (D, H, W) float64 ndarray
        Non-negative, unit sum, cropped around its centroid (within a voxel of the centre).
    z_step_um : float
        The plane spacing actually sampled: deepinv places ``n`` planes on
        ``linspace(-n/2, n/2, n) * z_ratio``, a step of ``z_ratio * n / (n - 1)`` pixels.
    """
    fc, kb = na * pixel_um / wavelength_um, ni * pixel_um / wavelength_um
    _check_3d_optics(shape, fc, kb)
    depth = shape[0] + 2 * _PSF_3D_MARGIN
    generator = _generator_3d("widefield", (depth, shape[1] + 2 * _PSF_3D_MARGIN, shape[2] + 2 * _PSF_3D_MARGIN),
                              fc=fc, kb=kb, z_ratio=z_ratio)  # fmt: skip
    psf = generator.step(coeff=torch.as_tensor(coeff, dtype=torch.float64)[None])["filter"][0, 0].numpy()
    return _centred_crop(psf, shape), pixel_um * z_ratio * depth / (depth - 1)


def confocal_psf_3d(
    coeff: np.ndarray,
    *,
    shape: tuple[int, int, int],
    na: float,
    ni: float,
    excitation_um: float,
    emission_um: float,
    pixel_um: float,
    z_ratio: int,
    pinhole_au: float = 1.0,
) -> tuple[np.ndarray, float]:
    r"""Confocal 3D PSF (deepinv's ``ConfocalBlurGenerator3D``), centred, unit sum.

    :math:`h = h_{ill} \cdot (h_{det} \star D)`: the widefield PSF of
    :func:`widefield_psf_3d` at the excitation wavelength times the one at the
    emission wavelength convolved in each plane with the pinhole disc
    ``pinhole_au`` Airy units in radius. Both paths share the aberrations
    ``coeff`` (one objective). ``z_ratio`` is an integer here (deepinv
    rounds the ratio down); the other parameters and the returned plane
    spacing are those of :func:`widefield_psf_3d`. The confocal OTF reaches
    :math:`2(f_{ill} + f_{det})` cycles per pixel, which must stay below
    Nyquist (0.5): confocal pixels are finer.
    """
    fc_ill, fc_det = na * pixel_um / excitation_um, na * pixel_um / emission_um
    _check_3d_optics(shape, fc_ill, ni * pixel_um / excitation_um)
    if 2 * (fc_ill + fc_det) > 0.5:
        raise ValueError(
            f"confocal pixels of {pixel_um} um alias this PSF: its OTF reaches {2 * (fc_ill + fc_det):.2f} cycles/px "
            f"> 0.5; use pixels below {0.25 / (na / excitation_um + na / emission_um):.3f} um"
        )
    if int(z_ratio) != z_ratio or z_ratio < 1:
        raise ValueError(f"confocal z_ratio must be a whole number >= 1 (deepinv rounds it down), got {z_ratio}")
    depth = shape[0] + 2 * _PSF_3D_MARGIN
    box = (depth, shape[1] + 2 * _PSF_3D_MARGIN, shape[2] + 2 * _PSF_3D_MARGIN)
    # Lengths in lateral pixels (pixel size 1), so deepinv's int(pixelsize_Z / pixelsize_XY) is exact.
    generator = _generator_3d("confocal", box, na=na, ni=ni, excitation_px=excitation_um / pixel_um,
                              emission_px=emission_um / pixel_um, z_ratio=int(z_ratio), pinhole_au=pinhole_au)  # fmt: skip
    aberrations = torch.as_tensor(coeff, dtype=torch.float64)[None]
    psf = generator.step(coeff_ill=aberrations, coeff_coll=aberrations)["filter"][0, 0].numpy()
    return _centred_crop(psf, shape), pixel_um * int(z_ratio) * depth / (depth - 1)


def _check_3d_optics(shape: tuple[int, ...], fc: float, kb: float) -> None:
    if len(shape) != 3 or any(n % 2 == 0 for n in shape):
        raise ValueError(f"a 3D PSF shape must be three odd sides (D, H, W), got {tuple(shape)}")
    if not 0 < fc <= 0.25:
        raise ValueError(f"NA * pixel / wavelength = {fc:.3f} cycles/px must be in (0, 0.25]: use smaller pixels")
    if not kb > fc:
        raise ValueError("the immersion index ni must exceed the numerical aperture na")


@functools.lru_cache(maxsize=4)
def _generator_3d(kind: str, box: tuple[int, int, int], **optics: float):
    from deepinv.physics.generator import ConfocalBlurGenerator3D, DiffractionBlurGenerator3D

    common = {"zernike_index": NOLL_INDICES_3D, "pupil_size": (256, 256), "dtype": torch.float64}
    if kind == "widefield":
        # center=True tilts the pupil so the in-focus plane's centroid is centred laterally (as in 2D).
        return DiffractionBlurGenerator3D(box, fc=optics["fc"], kb=optics["kb"], stepz_pixel=optics["z_ratio"],
                                          center=True, **common)  # fmt: skip
    return ConfocalBlurGenerator3D(
        box,
        NI=optics["ni"],
        NA=optics["na"],
        lambda_ill=optics["excitation_px"],
        lambda_coll=optics["emission_px"],
        pixelsize_XY=1.0,
        pixelsize_Z=float(optics["z_ratio"]),
        pinhole_radius=optics["pinhole_au"],
        **common,
    )


def _centred_crop(psf: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The ``shape`` box of ``psf`` around its centroid (rounded), renormalised to unit sum."""
    centroid = np.rint(scipy.ndimage.center_of_mass(psf)).astype(int)
    start = [min(max(c - n // 2, 0), m - n) for c, n, m in zip(centroid, shape, psf.shape)]
    box = np.clip(psf[tuple(slice(a, a + n) for a, n in zip(start, shape))], 0, None)
    return box / box.sum()
