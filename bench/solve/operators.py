"""What methods compute with: padding, FFT convolution and its adjoint, PSF to OTF, the noise estimate.

- :func:`pad` — boundary extension (zero, mean, edge, reflect).
- :class:`FFTConvolver` — linear (non-circular) convolution by FFT with a PSF
  transformed once, and its adjoint.
- :func:`psf_to_otf` — the transfer function for circular convolution.
- :func:`estimate_noise_std` — the noise level of an image from the image alone.

Torch, batched, any device (the noise estimate: numpy). How the benchmark's
data are made is in :mod:`bench.physics.psfs` and :mod:`bench.physics.degradation`.
"""

from __future__ import annotations

from typing import Literal, Sequence

import numpy as np
import scipy.fft
import torch
import torch.nn.functional as F

__all__ = ["FFTConvolver", "PaddingMode", "estimate_noise_std", "pad", "psf_to_otf"]

PaddingMode = Literal["zero", "mean", "edge", "reflect"]


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
