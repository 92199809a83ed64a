r"""What blind PSF identification in the Zernike model needs, shared by its learned and classical methods.

- **Ambiguities of the model.** :math:`h(-\theta)` is :math:`h(\theta)` rotated
  by 180 degrees, and the even modes (defocus, astigmatism, spherical) are
  unchanged by that rotation: flipping every even coefficient gives exactly
  the same PSF (:data:`EVEN_MODES`), flipping every odd one (coma, trefoil,
  :data:`ODD_MODES`) gives its point reflection. The point reflection keeps
  :math:`|\mathrm{OTF}|` and changes only its phase, which a power spectrum
  cannot see, yet it costs about 0 dB PSF-SNR on the datasets' PSFs: it is
  chosen from the image by :func:`choose_reflection`.
- **Windowed power spectra** (:func:`welch_power`): the Welch average of Hann-windowed
  periodograms, :math:`E[I(k)] \approx |H(k)|^2 S_x(k) + N`, where the blur
  shows directly, whatever the image size.
"""

from __future__ import annotations

import torch

from bench.solve.operators import pad, psf_to_otf
from bench.physics.psfs import NOLL_INDICES

__all__ = ["EVEN_MODES", "ODD_MODES", "choose_reflection", "frequency_radius", "otf_power", "welch_power"]

#: Positions of the even Zernike modes (radial order n even) in the coefficient vector.
EVEN_MODES: tuple[int, ...] = tuple(i for i, noll in enumerate(NOLL_INDICES) if noll in (4, 5, 6, 11))
#: Positions of the odd modes (coma, trefoil): their global sign is the PSF's point reflection.
ODD_MODES: tuple[int, ...] = tuple(i for i in range(len(NOLL_INDICES)) if i not in EVEN_MODES)


def welch_power(y: torch.Tensor, window: int = 64) -> torch.Tensor:
    r"""Welch power spectra of images: mean Hann-windowed periodogram of half-overlapping tiles.

    Parameters
    ----------
    y : (B, 1, H, W) tensor, H and W >= ``window``
    window : int
        Side of the tiles; the spectrum has ``window`` x ``window`` frequencies.

    Returns
    -------
    (B, window, window) tensor
        :math:`\hat S(k)`, zero frequency at ``[window // 2, window // 2]``
        (``fftshift`` order), in intensity² per unit window energy, so that white noise
        of variance :math:`\sigma^2` gives :math:`\sigma^2` at every frequency.
    """
    if min(y.shape[-2:]) < window:
        raise ValueError(f"images of {tuple(y.shape[-2:])} px are smaller than the {window}-px spectrum window")
    tiles = y[:, 0].unfold(1, window, window // 2).unfold(2, window, window // 2)  # (B, nh, nw, w, w)
    tiles = tiles - tiles.mean(dim=(-2, -1), keepdim=True)
    hann = torch.hann_window(window, periodic=False, dtype=y.dtype, device=y.device)
    taper = hann[:, None] * hann[None, :]
    half = torch.fft.rfft2(tiles * taper)
    half = (half.real**2 + half.imag**2).mean(dim=(1, 2)) / (taper**2).sum()  # (B, w, w // 2 + 1)
    # A real image's spectrum is centrosymmetric: P(-k) = P(k) fills the other half-plane.
    rows = (-torch.arange(window, device=y.device)) % window
    cols = torch.arange(window // 2 + 1, window, device=y.device)
    full = torch.cat([half, half[:, rows][:, :, window - cols]], dim=-1)
    return torch.fft.fftshift(full, dim=(-2, -1))


def frequency_radius(
    window: int, *, dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu"
) -> torch.Tensor:
    """|k| in cycles per pixel on the (window, window) grid of :func:`welch_power`."""
    k = (torch.arange(window, dtype=dtype, device=device) - window // 2) / window
    return torch.sqrt(k[:, None] ** 2 + k[None, :] ** 2)


def otf_power(psf: torch.Tensor, window: int) -> torch.Tensor:
    """|OTF|² of (B, 1, k, k) PSFs on the (window, window) grid of :func:`welch_power` (B, window, window)."""
    if psf.shape[-1] > window:
        raise ValueError(f"a {psf.shape[-1]}-px PSF does not fit the {window}-px spectrum window")
    return torch.fft.fftshift(torch.fft.fft2(_centred_canvas(psf[:, 0], window)).abs() ** 2, dim=(-2, -1))


def _centred_canvas(psf: torch.Tensor, size: int) -> torch.Tensor:
    """(B, k, k) PSFs on a (B, size, size) canvas whose origin is their centre (for FFTs)."""
    k = psf.shape[-1]
    canvas = psf.new_zeros(psf.shape[0], size, size)
    canvas[:, :k, :k] = psf
    return torch.roll(canvas, shifts=(-(k // 2), -(k // 2)), dims=(-2, -1))


def choose_reflection(y: torch.Tensor, psf: torch.Tensor, noise_std: torch.Tensor) -> torch.Tensor:
    r"""Of each PSF and its point reflection, the one that explains the image better.

    Both candidates have the same :math:`|\mathrm{OTF}|`; a wrong phase turns
    the Wiener deconvolution's edges into asymmetric ripples, which spreads the
    gradient energy. The candidate whose Wiener estimate has the sparser
    gradients, by the normalised sparsity :math:`\|\nabla x\|_1 / \|\nabla x\|_2`
    (Krishnan, Tay and Fergus, CVPR 2011), is kept. On training images with
    the true coefficients it picks the right one in 97 / 87 / 84 / 76 % of
    cases from noiseless to high noise.

    Parameters
    ----------
    y : (B, 1, H, W) tensor
    psf : (B, 1, k, k) tensor, centred
    noise_std : (B,) tensor
        Noise estimates of ``y`` (intensity units), which set the Wiener weight.

    Returns
    -------
    (B, 1, k, k) tensor: ``psf`` or ``psf.flip(-2, -1)`` per image.
    """
    margin = psf.shape[-1] // 2 + 1
    extended = pad(y, margin, "reflect")
    shape = tuple(extended.shape[-2:])
    spectrum = torch.fft.rfft2(extended)
    weight = (30 * (noise_std.to(y) + 1e-3) ** 2 + 1e-4)[:, None, None, None]
    candidates = (psf, psf.flip(-2, -1))
    sparsity = []
    for candidate in candidates:
        otf = psf_to_otf(candidate.to(y), shape)
        x = torch.fft.irfft2(spectrum * otf.conj() / (otf.abs() ** 2 + weight), s=shape)
        x = x[..., margin:-margin, margin:-margin]
        gradients = torch.cat([x.diff(dim=-1).flatten(1), x.diff(dim=-2).flatten(1)], dim=1)
        sparsity.append(gradients.abs().sum(1) / gradients.norm(dim=1).clamp(min=1e-12))
    keep = (sparsity[0] <= sparsity[1])[:, None, None, None]
    return torch.where(keep, candidates[0], candidates[1])
