r"""The forward model of the benchmark: PSFs, blur, noise, and the blur operators methods share.

Data generation (numpy, float64):

- :func:`zernike_psf` — Fresnel/Zernike PSF :math:`h(\theta) = |\mathcal{F}(P_{f_c}
  e^{-i 2\pi \phi_\theta})|^2`, :math:`\phi_\theta = \sum_k \theta_k Z_k`, from deepinv's
  ``DiffractionBlurGenerator``.
- :func:`widefield_psf_3d`, :func:`confocal_psf_3d` — 3D PSFs (D, H, W) of a
  widefield and a confocal microscope with Zernike aberrations, from deepinv's
  ``DiffractionBlurGenerator3D`` and ``ConfocalBlurGenerator3D``.
- :func:`blur_valid` — linear convolution keeping only the pixels whose whole
  support lies in the field: the benchmark blurs a larger field and crops, so
  no method can profit from periodic boundaries.
- :func:`degrade` — poster 001 eq. 3, :math:`y = S_s Q_q(P_\gamma(h \star x) + \epsilon_\sigma)`,
  or Deep-Blur's approximation :math:`y = z + \sqrt{\alpha z + \beta}\,\eta`.

Operators for methods (torch, batched, any device):

- :func:`pad` — boundary extension (zero, mean, edge, reflect).
- :class:`FFTConvolver` — linear (non-circular) convolution by FFT with a PSF
  transformed once, and its adjoint.
- :func:`psf_to_otf` — the transfer function for circular convolution.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Literal, Mapping, Sequence

import numpy as np
import scipy.fft
import scipy.ndimage
import scipy.signal
import torch
import torch.nn.functional as F

__all__ = [
    "NOLL_INDICES",
    "FFTConvolver",
    "NoiseLevel",
    "PaddingMode",
    "blur_valid",
    "confocal_psf_3d",
    "degrade",
    "estimate_noise_std",
    "pad",
    "psf_to_otf",
    "select_noise_levels",
    "widefield_psf_3d",
    "zernike_psf",
    "zernike_psfs",
]

#: Noll indices of the aberrations: defocus, astigmatism x2, coma x2, trefoil x2, spherical.
NOLL_INDICES: tuple[int, ...] = (4, 5, 6, 7, 8, 9, 10, 11)

PaddingMode = Literal["zero", "mean", "edge", "reflect"]


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
    coeff = torch.as_tensor(coeff, dtype=torch.float64)[None]
    psf = generator.step(coeff_ill=coeff, coeff_coll=coeff)["filter"][0, 0].numpy()
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


def blur_valid(field: np.ndarray, psf: np.ndarray) -> np.ndarray:
    """Convolve a field with a PSF (2D or 3D) and keep the valid part.

    The output is smaller than ``field`` by ``psf.shape - 1``: every output
    pixel sees only true scene content, never a boundary assumption.
    """
    return scipy.signal.fftconvolve(field.astype(np.float64), psf.astype(np.float64), mode="valid")


@dataclass(frozen=True)
class NoiseLevel:
    r"""Parameters of one named noise level.

    Two models:

    ``"poisson-gaussian"`` (poster 001 eq. 3)
        :math:`y = S_s Q_q(P_\gamma(z) + \epsilon_\sigma)` with
        :math:`P_\gamma(z) = \mathrm{Poisson}(\gamma z) / \gamma`. ``gain`` is
        :math:`\gamma`, the expected photon count at intensity 1 (None: no shot
        noise); ``sigma`` the read-noise standard deviation in intensity units.
    ``"deepblur"`` (Deep-Blur, sec. 3)
        :math:`y = z + \sqrt{\alpha z + \beta}\,\eta`, :math:`\eta \sim \mathcal{N}(0, I)`.

    Both are then quantized on ``bits`` bits over [0, 1] (values outside are
    clipped, as a saturating sensor does; None: no quantization) and hit by
    salt-and-pepper noise with probability ``salt_pepper`` per pixel.
    """

    model: Literal["poisson-gaussian", "deepblur"] = "poisson-gaussian"
    gain: float | None = None
    sigma: float = 0.0
    alpha: float = 0.0
    beta: float = 0.0
    bits: int | None = 16
    salt_pepper: float = 0.0

    def __post_init__(self) -> None:
        if self.model not in ("poisson-gaussian", "deepblur"):
            raise ValueError(f"noise model must be 'poisson-gaussian' or 'deepblur', got {self.model!r}")
        if self.gain is not None and self.gain <= 0:
            raise ValueError(f"gain must be positive photons per unit intensity or null, got {self.gain}")
        for key in ("sigma", "alpha", "beta", "salt_pepper"):
            if getattr(self, key) < 0:
                raise ValueError(f"noise {key} must be >= 0, got {getattr(self, key)}")
        if self.model == "poisson-gaussian" and (self.alpha or self.beta):
            raise ValueError("alpha/beta belong to model 'deepblur'; use gain/sigma with 'poisson-gaussian'")
        if self.model == "deepblur" and (self.gain is not None or self.sigma):
            raise ValueError("gain/sigma belong to model 'poisson-gaussian'; use alpha/beta with 'deepblur'")


def select_noise_levels(
    names: str | Sequence[str], definitions: Mapping[str, Mapping[str, Any]] | None
) -> dict[str, NoiseLevel]:
    """The named noise levels a dataset generates, built from their definitions (config ``noise_levels``)."""
    names = [names] if isinstance(names, str) else list(names)
    definitions = dict(definitions or {})
    unknown = [n for n in names if n not in definitions]
    if unknown:
        raise ValueError(f"unknown noise level(s) {unknown}; defined levels: {', '.join(definitions) or 'none'}")
    return {n: NoiseLevel(**definitions[n]) for n in names}


def degrade(blurred: np.ndarray, level: NoiseLevel, rng: np.random.Generator) -> np.ndarray:
    """Apply a noise level to a blurred image in [0, 1] (float64 in, float64 out).

    Noise is drawn from a numpy ``Generator`` (PCG64), whose streams are the
    same on every platform, so a seeded case is reproducible bit for bit.
    """
    z = np.clip(blurred, 0, None)
    if level.model == "deepblur":
        y = z + np.sqrt(level.alpha * z + level.beta) * rng.standard_normal(z.shape)
    else:
        y = rng.poisson(level.gain * z) / level.gain if level.gain is not None else z.copy()
        if level.sigma:
            y = y + level.sigma * rng.standard_normal(z.shape)
    if level.bits is not None:
        levels = 2**level.bits - 1
        y = np.round(np.clip(y, 0, 1) * levels) / levels
    if level.salt_pepper:
        hit = rng.random(z.shape) < level.salt_pepper
        y[hit] = rng.integers(0, 2, size=int(hit.sum())).astype(np.float64)
    return y


def estimate_noise_std(y: np.ndarray) -> float:
    """Standard deviation of the noise in an image, by the wavelet MAD of skimage.

    Methods use it to set their regularisation from the data alone, never from
    the ground truth.
    """
    from skimage.restoration import estimate_sigma

    return float(estimate_sigma(np.asarray(y, dtype=np.float64)))


def pad(x: torch.Tensor, width: int | Sequence[int], mode: PaddingMode) -> torch.Tensor:
    """Extend a (B, C, H, W) batch of images, or a (B, C, D, H, W) batch of volumes, by ``width`` pixels on every side.

    ``width`` is one value for every spatial axis or one per axis (``(wy, wx)``,
    ``(wz, wy, wx)``). ``zero`` puts 0 outside, ``mean`` each image's mean,
    ``edge`` repeats the border pixel, ``reflect`` mirrors without repeating the border.
    """
    widths = (width,) * (x.ndim - 2) if isinstance(width, int) else tuple(width)
    spatial = tuple(range(-len(widths), 0))
    torch_widths = tuple(w for w in reversed(widths) for _ in (0, 1))  # F.pad lists the last axis first
    if mode == "zero":
        return F.pad(x, torch_widths)
    if mode == "mean":
        mean = x.mean(dim=spatial, keepdim=True)
        return F.pad(x - mean, torch_widths) + mean
    if mode == "edge":
        return F.pad(x, torch_widths, mode="replicate")
    if mode == "reflect":
        if any(w >= n for w, n in zip(widths, x.shape[-len(widths) :])):
            raise ValueError(f"reflect padding of {width} px needs an image larger than that, got {tuple(x.shape[2:])}")
        return F.pad(x, torch_widths, mode="reflect")
    raise ValueError(f"padding must be one of zero, mean, edge, reflect; got {mode!r}")


class FFTConvolver:
    """Linear convolution with fixed PSFs, by FFT, and its adjoint, for images or volumes.

    The PSF is transformed once; each call costs one forward and one inverse
    real FFT of a size large enough that nothing wraps around.

    Parameters
    ----------
    psf : (B, 1, k, l) or (B, 1, m, k, l) tensor
        PSFs, centred (odd sizes).
    shape : (H, W) or (D, H, W)
        Shape of the images the operator applies to; its length is the number of spatial axes.
    mode : {"same", "valid"}
        ``same``: output ``shape``, the image is zero outside its support (as
        ``scipy.signal.convolve(mode="same")``). ``valid``: output
        ``shape - psf.shape + 1``, only pixels that see no boundary.
    """

    def __init__(self, psf: torch.Tensor, shape: Sequence[int], *, mode: Literal["same", "valid"]) -> None:
        kernel = psf.shape[-len(shape) :]
        self.input_shape = tuple(shape)
        self.dims = tuple(range(-len(shape), 0))
        self.fft_shape = tuple(scipy.fft.next_fast_len(n + k - 1, real=True) for n, k in zip(shape, kernel))
        if mode == "same":
            self.offset, self.output_shape = tuple(k // 2 for k in kernel), self.input_shape
        elif mode == "valid":
            self.offset = tuple(k - 1 for k in kernel)
            self.output_shape = tuple(n - k + 1 for n, k in zip(shape, kernel))
        else:
            raise ValueError(f"mode must be 'same' or 'valid', got {mode!r}")
        self.otf = torch.fft.rfftn(psf, s=self.fft_shape, dim=self.dims)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        spectrum = torch.fft.rfftn(x, s=self.fft_shape, dim=self.dims) * self.otf
        full = torch.fft.irfftn(spectrum, s=self.fft_shape, dim=self.dims)
        return full[(..., *(slice(o, o + n) for o, n in zip(self.offset, self.output_shape)))]

    def adjoint(self, y: torch.Tensor) -> torch.Tensor:
        """Correlation with the PSF, the exact adjoint of :meth:`__call__`."""
        widths = zip(self.offset, self.fft_shape, self.output_shape)
        embedded = F.pad(y, tuple(w for o, L, n in reversed(list(widths)) for w in (o, L - o - n)))
        spectrum = torch.fft.rfftn(embedded, dim=self.dims) * self.otf.conj()
        full = torch.fft.irfftn(spectrum, s=self.fft_shape, dim=self.dims)
        return full[(..., *(slice(0, n) for n in self.input_shape))]


def psf_to_otf(psf: torch.Tensor, shape: Sequence[int]) -> torch.Tensor:
    """Real-FFT transfer function of a centred PSF for circular convolution on ``shape`` (2 or 3 axes)."""
    kernel = psf.shape[-len(shape) :]
    dims = tuple(range(-len(shape), 0))
    embedded = F.pad(psf, tuple(w for n, k in zip(reversed(shape), reversed(kernel)) for w in (0, n - k)))
    embedded = torch.roll(embedded, shifts=tuple(-(k // 2) for k in kernel), dims=dims)
    return torch.fft.rfftn(embedded, dim=dims)
