r"""Shared non-blind deconvolution solvers (torch, batched, any device, float32).

- :func:`richardson_lucy` — Richardson–Lucy, optionally total-variation
  regularised, either on ``y`` padded by the PSF radius with a zero-outside
  linear convolution (exactly ``skimage.restoration.richardson_lucy`` applied
  to ``numpy.pad(y, r, mode)``) or with the valid-convolution model of
  Bertero and Boccacci, which estimates the scene beyond the field of view.
- :func:`richardson_lucy_from_noise` — the same for one image, its iteration count (and TV weight)
  set from its noise estimate by fitted rules (:mod:`bench.solve.rules`): what the ``richardson_lucy``
  and ``richardson_lucy_tv`` plugins run, and the blind plugins' final solve (:func:`bench.solve.blind.deconvolve`).
- :func:`regularized_inverse` — closed-form Wiener / Tikhonov filters in Fourier.
- :func:`noise_std` — :func:`bench.solve.operators.estimate_noise_std` for a batch.

Every function takes images ``y`` of shape (B, 1, H, W) and ``psf`` of shape
(B, 1, k, l) or (1, 1, k, l), or volumes (B, 1, D, H, W) and PSFs (B or 1,
1, m, k, l) (odd sides, centred, unit sum), works on ``y.device`` in
``y.dtype``, and never clips its output. Volumes go through the same code as
images: every FFT, padding and difference runs over the spatial axes.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Literal

import torch
import torch.nn.functional as F

from bench.solve.operators import PaddingMode, estimate_noise_std, pad, psf_to_otf
from bench.solve.rules import NOISE_FLOOR, NoiseRule

__all__ = [
    "BOUNDARIES", "PADDINGS", "Boundary", "check_richardson_lucy_options", "noise_std", "regularized_inverse", "richardson_lucy", "richardson_lucy_from_noise",
    "richardson_lucy_operator",
]  # fmt: skip

#: Extensions of ``y`` by :func:`bench.solve.operators.pad`.
PADDINGS: tuple[str, ...] = ("zero", "mean", "edge", "reflect")
#: Boundary models of :func:`richardson_lucy`: a padding, or ``"valid"``.
BOUNDARIES: tuple[str, ...] = (*PADDINGS, "valid")
Boundary = Literal["zero", "mean", "edge", "reflect", "valid"]

#: Pixels of the extended scene whose light reaches the data with a total
#: weight :math:`A^{\mathsf T}\mathbb 1` below this are not estimated (kept at 0).
_SENSITIVITY_FLOOR = 1e-3


def noise_std(y: torch.Tensor, *, floor: float = 0.0) -> torch.Tensor:
    """Noise standard deviation of each image of a (B, 1, H, W) or (B, 1, D, H, W) batch, at least ``floor``.

    Wavelet MAD estimate (:func:`bench.solve.operators.estimate_noise_std`), computed on
    the CPU in float64. Returns a (B,) float64 CPU tensor.
    """
    images = y.detach()[:, 0].to("cpu", torch.float64).numpy()
    return torch.tensor([max(estimate_noise_std(image), floor) for image in images], dtype=torch.float64)


def richardson_lucy(
    y: torch.Tensor,
    psf: torch.Tensor,
    *,
    num_iter: int,
    boundary: Boundary,
    tv_weight: float = 0.0,
    tv_epsilon: float = 1e-3,
    filter_epsilon: float = 1e-12,
    on_iteration: Callable[[int, torch.Tensor], None] | None = None,
) -> torch.Tensor:
    r"""Richardson–Lucy deconvolution, optionally with total-variation regularisation.

    Parameters
    ----------
    y : (B, 1, H, W) or (B, 1, D, H, W) float tensor
        Blurred, noisy images or volumes, non-negative (Poisson model).
    psf : (B or 1, 1, k, l) or (B or 1, 1, m, k, l) float tensor
        Non-negative PSFs with odd sides, centred, unit sum, as many axes as ``y``.
    num_iter : int
        Number of updates, >= 0. RL is regularised by stopping early: more
        iterations sharpen and amplify noise.
    boundary : {"zero", "mean", "edge", "reflect", "valid"}
        A padding mode extends ``y`` by the PSF radius :math:`r` with
        :func:`bench.solve.operators.pad` and deconvolves the padded image with a
        zero-outside convolution (skimage's model). ``"valid"`` assumes
        nothing outside: the scene is estimated on the domain larger by
        :math:`r` on each side, whose valid convolution is ``y`` [3]_. Both
        return the central (H, W) (or (D, H, W)).
    tv_weight : float in [0, 0.25)
        :math:`\lambda` of the TV term (0: plain RL). As
        :math:`|\operatorname{div} n| < 2\sqrt 2` for a field of unit vectors,
        below 0.25 the denominator of the update stays above 0.29 where
        :math:`A^{\mathsf T}\mathbb 1 = 1`.
    tv_epsilon : float
        Smoothing :math:`\varepsilon` of :math:`|\nabla u|`, in intensity units
        per pixel; only used when ``tv_weight > 0``.
    filter_epsilon : float
        Where the blurred estimate :math:`A u` is below this value (> 0) the
        ratio :math:`y / A u` is set to 0, as skimage's ``filter_epsilon``. The
        default only guards against dividing by zero or by round-off
        negatives; it also reproduces skimage's ``filter_epsilon=None``, which
        adds 1e-12 to :math:`A u`, a no-op in float32 above 3e-5.
    on_iteration : callable, optional
        Called after update k (1 to ``num_iter``) as ``on_iteration(k, x)``
        with the current estimate, a view to copy if kept: one run gives the
        whole path of iterates (PSNR against iterations, stopping studies).

    Returns
    -------
    tensor of the shape of ``y``

    Notes
    -----
    With :math:`A` the blur from the scene domain :math:`\Omega` to the data
    and :math:`u_0` flat, the update is (Richardson [1]_, Lucy [2]_, boundary
    normalisation of Bertero and Boccacci [3]_, TV term of Dey et al. [4]_):

    .. math::
        u_{k+1} = \frac{u_k}{A^{\mathsf T}\mathbb 1 - \lambda \operatorname{div}
        \left(\nabla u_k / |\nabla u_k|_\varepsilon\right)}
        \; A^{\mathsf T}\!\left(\frac{y}{A u_k}\right),
        \qquad |g|_\varepsilon = \sqrt{g_x^2 + g_y^2 (+ g_z^2) + \varepsilon^2},

    a fixed-point iteration for
    :math:`\min_{u \ge 0} \sum (A u - y \log A u) + \lambda \mathrm{TV}_\varepsilon(u)`.
    :math:`\nabla` is the forward difference (Neumann boundary; on volumes
    also along z, in voxels, whatever the z step) and
    :math:`\operatorname{div}` its negative adjoint. With a padding,
    :math:`\Omega` is the padded image, :math:`y` the padded data and :math:`A`
    the ``same`` convolution with zero outside :math:`\Omega`; skimage takes
    :math:`A^{\mathsf T}\mathbb 1 = 1` there, and so does this function, so for
    :math:`\lambda = 0` the result equals ``skimage.restoration.richardson_lucy(
    numpy.pad(y, r, mode), psf, num_iter, clip=False)`` cropped, to float32
    round-off. With ``"valid"``, :math:`A` is the valid convolution from
    :math:`\Omega` ((H + 2r) x (W + 2r)) to the data, :math:`A^{\mathsf T}\mathbb 1`
    falls from 1 to 0 over the outer :math:`2r` pixels of :math:`\Omega`, and
    pixels where it is below 1e-3, which barely reach the data, stay 0; near
    them the denominator is kept above :math:`A^{\mathsf T}\mathbb 1 / 2`.
    Iterates from a flat start do not depend on its value; :math:`u_0 = 1/2`
    is skimage's choice.

    Implementation: both convolutions are circular real FFTs, of size
    :math:`L \ge |\Omega| + r` for a padding and :math:`L \ge |\Omega|` for
    ``"valid"``, with :math:`u` in the corner of a zero-filled buffer; no
    wrap-around reaches the pixels used, so they are exact linear
    convolutions at the smallest FFT size. The PSF is transformed once and
    the buffers are allocated once.

    References
    ----------
    .. [1] W. H. Richardson, "Bayesian-based iterative method of image
       restoration", Journal of the Optical Society of America, vol. 62,
       no. 1, pp. 55-59, 1972.
    .. [2] L. B. Lucy, "An iterative technique for the rectification of
       observed distributions", The Astronomical Journal, vol. 79, no. 6,
       pp. 745-754, 1974.
    .. [3] M. Bertero and P. Boccacci, "A simple method for the reduction of
       boundary effects in the Richardson-Lucy approach to image
       deconvolution", Astronomy & Astrophysics, vol. 437, no. 1,
       pp. 369-374, 2005.
    .. [4] N. Dey, L. Blanc-Féraud, C. Zimmer, P. Roux, Z. Kam, J.-C.
       Olivo-Marin and J. Zerubia, "Richardson-Lucy algorithm with total
       variation regularization for 3D confocal microscope deconvolution",
       Microscopy Research and Technique, vol. 69, no. 4, pp. 260-266, 2006.

    Examples
    --------
    >>> import torch
    >>> from bench.solve.solvers import richardson_lucy
    >>> y = torch.rand(1, 1, 16, 16)
    >>> psf = torch.full((1, 1, 3, 3), 1 / 9)
    >>> richardson_lucy(y, psf, num_iter=10, boundary="valid").shape
    torch.Size([1, 1, 16, 16])
    """
    radii = _check_inputs(y, psf)
    if boundary not in BOUNDARIES:
        raise ValueError(f"boundary must be one of {', '.join(BOUNDARIES)}; got {boundary!r}")
    if num_iter < 0:
        raise ValueError(f"num_iter must be >= 0, got {num_iter}")
    if not 0 <= tv_weight < 0.25:
        raise ValueError(f"tv_weight must be in [0, 0.25) so the TV-RL denominator stays positive, got {tv_weight}")
    if not filter_epsilon > 0:
        raise ValueError(f"filter_epsilon must be > 0 (it guards the division y / Au), got {filter_epsilon}")
    size = y.shape[2:]
    dims = tuple(range(-len(size), 0))
    omega = tuple(n + 2 * r for n, r in zip(size, radii))
    interior: tuple[Any, ...] = (..., *(slice(r, r + n) for r, n in zip(radii, size)))
    scene: tuple[Any, ...] = (..., *(slice(0, n) for n in omega))
    if boundary == "valid":
        data, data_region = y, interior
        fft_shape = tuple(_fast_length(n) for n in omega)
    else:
        data, data_region = pad(y, radii, boundary), scene
        fft_shape = tuple(_fast_length(n + r) for n, r in zip(omega, radii))
    otf = psf_to_otf(psf.to(y.dtype), fft_shape)
    u_buffer = y.new_zeros(y.shape[0], 1, *fft_shape)
    ratio_buffer = torch.zeros_like(u_buffer)
    u, ratio = u_buffer[scene], ratio_buffer[data_region]
    u.fill_(0.5)

    # Transforms write into two buffers allocated once: memory stays flat over the iterations instead of
    # churning FFT-sized temporaries, which glibc keeps resident as a fragmented heap.
    spectrum = otf.new_empty(*u_buffer.shape[:-1], otf.shape[-1])
    convolved = torch.empty_like(u_buffer)

    def convolve(buffer: torch.Tensor, *, adjoint: bool = False) -> torch.Tensor:
        torch.fft.rfftn(buffer, dim=dims, out=spectrum)
        if adjoint:  # s * conj(otf) = conj(conj(s) * otf): in place, without a conjugated copy of the OTF
            spectrum.conj_physical_().mul_(otf).conj_physical_()
        else:
            spectrum.mul_(otf)
        return torch.fft.irfftn(spectrum, s=fft_shape, dim=dims, out=convolved)

    def adjoint(buffer: torch.Tensor) -> torch.Tensor:
        return convolve(buffer, adjoint=True)[scene]

    with torch.no_grad():
        sensitivity = inverse_sensitivity = None
        if boundary == "valid":
            ratio.fill_(1.0)
            sensitivity = adjoint(ratio_buffer).clone()
            unseen = sensitivity < _SENSITIVITY_FLOOR
            u.masked_fill_(unseen, 0.0)
            if tv_weight > 0:
                half_sensitivity = sensitivity.clamp(min=_SENSITIVITY_FLOOR) / 2
            else:  # plain RL only divides by it: keep the inverse, in the same memory
                inverse_sensitivity, sensitivity = sensitivity.reciprocal_().masked_fill_(unseen, 0.0), None
            del unseen
        for iteration in range(num_iter):
            blurred = convolve(u_buffer)[data_region]
            torch.div(data, blurred, out=ratio)
            if blurred.min() < filter_epsilon:  # rare: zeros or round-off negatives
                ratio.masked_fill_(blurred < filter_epsilon, 0.0)
            correction = adjoint(ratio_buffer)
            if tv_weight > 0:
                curvature = _divergence_of_normal(u, tv_epsilon).mul_(-tv_weight)
                if sensitivity is None:
                    correction.div_(curvature.add_(1))
                else:
                    correction.div_(torch.maximum(curvature.add_(sensitivity), half_sensitivity))
            elif inverse_sensitivity is not None:
                correction.mul_(inverse_sensitivity)
            u.mul_(correction)
            if on_iteration is not None:
                on_iteration(iteration + 1, u[interior])
    return u[interior].clone()


def check_richardson_lucy_options(num_iter: int | None, max_iter: int, boundary: str) -> None:
    """Refuse options :func:`richardson_lucy_from_noise` cannot take, naming the option and the allowed values."""
    if num_iter is not None and num_iter < 1:
        raise ValueError(f"num_iter must be >= 1 or None (derived from the noise), got {num_iter}")
    if max_iter < 1:
        raise ValueError(f"max_iter must be >= 1, got {max_iter}")
    if boundary not in BOUNDARIES:
        raise ValueError(f"boundary must be one of {', '.join(BOUNDARIES)}; got {boundary!r}")


def richardson_lucy_from_noise(
    y: torch.Tensor,
    psf: torch.Tensor,
    *,
    iterations: NoiseRule,
    max_iter: int,
    boundary: Boundary,
    num_iter: int | None = None,
    tv_weight: NoiseRule | float = 0.0,
    tv_epsilon: float = 1e-3,
) -> tuple[torch.Tensor, dict[str, float]]:
    """:func:`richardson_lucy` of one (1, 1, ...) image with its count and TV weight from its noise estimate.

    The count is ``num_iter``, else ``iterations.iterations(sigma, max_iter=max_iter)``; the TV weight
    is ``tv_weight`` itself (a float; 0 is plain RL) or the rule's value. ``sigma`` is :func:`noise_std`
    floored at :data:`bench.solve.rules.NOISE_FLOOR`. Returns the estimate and the count, the TV weight and
    ``sigma`` (``iterations``, ``tv_weight``, ``sigma_hat``).
    """
    sigma = float(noise_std(y, floor=NOISE_FLOOR)[0])
    weight = tv_weight(sigma) if isinstance(tv_weight, NoiseRule) else tv_weight
    count = num_iter or iterations.iterations(sigma, max_iter=max_iter)
    x_hat = richardson_lucy(y, psf, num_iter=count, boundary=boundary, tv_weight=weight, tv_epsilon=tv_epsilon)
    return x_hat, {"iterations": float(count), "tv_weight": float(weight), "sigma_hat": sigma}


def richardson_lucy_operator(
    y: torch.Tensor,
    forward: Callable[[torch.Tensor], torch.Tensor],
    adjoint: Callable[[torch.Tensor], torch.Tensor],
    *,
    num_iter: int,
    filter_epsilon: float = 1e-12,
) -> torch.Tensor:
    r"""Richardson-Lucy for any non-negative linear operator (a space-varying blur, say).

    :math:`u_{k+1} = u_k\, A^{\mathsf T}(y / A u_k) / A^{\mathsf T}\mathbb 1` from a flat start at
    the mean of ``y``; ``forward`` maps the estimate to the data's shape and
    ``adjoint`` back. For a single convolution use :func:`richardson_lucy`,
    which also handles the boundary.
    """
    data = y.clamp(min=0)
    sensitivity = adjoint(torch.ones_like(data)).clamp(min=_SENSITIVITY_FLOOR)
    estimate = torch.ones_like(sensitivity) * data.mean(dim=(-2, -1), keepdim=True)
    for _ in range(num_iter):
        blurred = forward(estimate)
        ratio = torch.where(blurred > filter_epsilon, data / blurred.clamp(min=filter_epsilon), torch.zeros_like(data))
        estimate = estimate * adjoint(ratio) / sensitivity
    return estimate


def regularized_inverse(
    y: torch.Tensor,
    psf: torch.Tensor,
    *,
    regularizer: Literal["identity", "gradient"],
    weight: float | torch.Tensor,
    padding: PaddingMode,
) -> torch.Tensor:
    r"""Closed-form quadratically regularised deconvolution (Wiener / Tikhonov) in Fourier.

    Parameters
    ----------
    y : (B, 1, H, W) or (B, 1, D, H, W) float tensor
        Blurred, noisy images or volumes.
    psf : (B or 1, 1, k, l) or (B or 1, 1, m, k, l) float tensor
        PSFs with odd sides, centred, unit sum, as many axes as ``y``.
    regularizer : {"identity", "gradient"}
        :math:`R = I` (Wiener filter with a white-signal prior [1]_) or
        :math:`R = \nabla` (Tikhonov–Miller, a smoothness prior [2]_, [3]_).
    weight : float or (B,) tensor
        :math:`w > 0`, dimensionless (the OTF is 1 at zero frequency); one per
        image or one for all.
    padding : {"zero", "mean", "edge", "reflect"}
        Extension of ``y`` (:func:`bench.solve.operators.pad`) by twice the PSF
        radius, widened to a fast FFT size, before the circular FFT: the seam
        of the periodic extension then lies a PSF width away from the data.
        The estimate is cropped back to the shape of ``y``.

    Returns
    -------
    tensor of the shape of ``y``

    Notes
    -----
    With :math:`H`, :math:`\tilde Y` the transforms of the PSF and of the
    padded data and :math:`|D|^2 = 4\sin^2(\pi \nu_x) + 4\sin^2(\pi \nu_y)`
    (:math:`+ 4\sin^2(\pi \nu_z)` on volumes) that of the forward-difference
    gradient (:math:`\nu` in cycles per pixel),

    .. math::
        \hat X = \frac{\overline{H}\, \tilde Y}{|H|^2 + w\, |R|^2}, \qquad
        |R|^2 = 1 \text{ (identity) or } |D|^2 \text{ (gradient)},

    the minimiser of :math:`\|h \circledast x - \tilde y\|^2 + w \|R x\|^2` on
    the padded periodic domain: one forward and one inverse real FFT.

    References
    ----------
    .. [1] N. Wiener, *Extrapolation, Interpolation, and Smoothing of
       Stationary Time Series*, MIT Press, 1949.
    .. [2] A. N. Tikhonov and V. Y. Arsenin, *Solutions of Ill-Posed Problems*,
       Winston, 1977.
    .. [3] K. S. Miller, "Least squares methods for ill-posed problems with a
       prescribed bound", SIAM Journal on Mathematical Analysis, vol. 1,
       no. 1, pp. 52-74, 1970.

    Examples
    --------
    >>> import torch
    >>> from bench.solve.solvers import regularized_inverse
    >>> y = torch.rand(2, 1, 16, 16)
    >>> psf = torch.full((1, 1, 3, 3), 1 / 9)
    >>> regularized_inverse(y, psf, regularizer="gradient", weight=1e-2, padding="edge").shape
    torch.Size([2, 1, 16, 16])
    """
    radii = _check_inputs(y, psf)
    if padding not in PADDINGS:
        raise ValueError(f"padding must be one of {', '.join(PADDINGS)}; got {padding!r}")
    if regularizer not in ("identity", "gradient"):
        raise ValueError(f"regularizer must be 'identity' or 'gradient', got {regularizer!r}")
    weight = torch.as_tensor(weight, dtype=y.dtype, device=y.device).reshape(-1, *(1,) * (y.ndim - 1))
    if weight.shape[0] not in (1, y.shape[0]) or not bool((weight > 0).all()):
        raise ValueError(
            f"weight must be > 0, one value or one per image ({y.shape[0]}), got {weight.flatten().tolist()}"
        )
    size = y.shape[2:]
    dims = tuple(range(-len(size), 0))
    widths = tuple(_fast_pad(n, 2 * r) for n, r in zip(size, radii))
    padded = pad(y, widths, padding)
    shape = padded.shape[2:]
    with torch.no_grad():
        otf = psf_to_otf(psf.to(y.dtype), shape)
        penalty = 1.0 if regularizer == "identity" else _gradient_symbol(shape, y)
        spectrum = otf.conj() * torch.fft.rfftn(padded, dim=dims) / (otf.abs().square() + weight * penalty)
        x = torch.fft.irfftn(spectrum, s=shape, dim=dims)[(..., *(slice(w, w + n) for w, n in zip(widths, size)))]
    return x.contiguous()


def _gradient_symbol(shape: tuple[int, ...], like: torch.Tensor) -> torch.Tensor:
    r""":math:`|D|^2 = \sum_i 4\sin^2(\pi \nu_i)` on the real-FFT grid of ``shape`` (last axis halved)."""
    axes = len(shape)
    terms = []
    for axis, n in enumerate(shape):
        frequencies = torch.fft.rfftfreq(n) if axis == axes - 1 else torch.fft.fftfreq(n)
        frequencies = frequencies.to(device=like.device, dtype=like.dtype)
        terms.append(4 * torch.sin(math.pi * frequencies.reshape([-1 if a == axis else 1 for a in range(axes)])) ** 2)
    penalty = terms[0]
    for term in terms[1:]:
        penalty = penalty + term
    return penalty


def _check_inputs(y: torch.Tensor, psf: torch.Tensor) -> tuple[int, ...]:
    """Validate the shapes of y and the PSF; return the PSF radii per spatial axis ((ry, rx) or (rz, ry, rx))."""
    if y.ndim not in (4, 5) or y.shape[1] != 1:
        raise ValueError(f"y must have shape (B, 1, H, W) or (B, 1, D, H, W), got {tuple(y.shape)}")
    if psf.ndim != y.ndim or psf.shape[1] != 1 or psf.shape[0] not in (1, y.shape[0]):
        sides = ", ".join("kl" if y.ndim == 4 else "mkl")
        raise ValueError(f"psf must have shape ({y.shape[0]} or 1, 1, {sides}) like y, got {tuple(psf.shape)}")
    kernel = psf.shape[2:]
    if any(k % 2 == 0 for k in kernel):
        raise ValueError(f"psf must have odd sides so it has a centre pixel, got {'x'.join(map(str, kernel))}")
    return tuple(k // 2 for k in kernel)


def _is_smooth(n: int) -> bool:
    """True if n has no prime factor above 7 (fast sizes for MKL, pocketfft and cuFFT)."""
    for p in (2, 3, 5, 7):
        while n % p == 0:
            n //= p
    return n == 1


def _fast_length(n: int) -> int:
    """Smallest even FFT length >= n with no prime factor above 7."""
    m = n + n % 2
    while not _is_smooth(m):
        m += 2
    return m


def _fast_pad(n: int, width: int) -> int:
    """Smallest padding width >= ``width`` such that n + 2 * width has no prime factor above 7."""
    while not _is_smooth(n + 2 * width):
        width += 1
    return width


def _divergence_of_normal(u: torch.Tensor, epsilon: float) -> torch.Tensor:
    r""":math:`\operatorname{div}(\nabla u / |\nabla u|_\varepsilon)`, forward differences, Neumann boundary.

    Over the spatial axes of a (B, 1, H, W) or (B, 1, D, H, W) tensor, x first, then y (and z).
    """
    axes = tuple(range(-1, 1 - u.ndim, -1))
    gradients = [
        F.pad(u.narrow(a, 1, u.shape[a] - 1) - u.narrow(a, 0, u.shape[a] - 1), _end_widths(a, (0, 1))) for a in axes
    ]
    squares = gradients[0].square()
    for gradient in gradients[1:]:
        squares = squares + gradient.square()
    norm = torch.sqrt(squares + epsilon**2)

    def backward_difference(axis: int, gradient: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        normal = gradient / norm
        return normal, F.pad(normal.narrow(axis, 0, normal.shape[axis] - 1), _end_widths(axis, (1, 0)))

    # The first axis starts the sum (no zeros tensor: this runs at every RL-TV iteration).
    normal, shifted = backward_difference(axes[0], gradients[0])
    divergence = normal - shifted
    for axis, gradient in zip(axes[1:], gradients[1:]):
        normal, shifted = backward_difference(axis, gradient)
        divergence = divergence + normal - shifted
    return divergence


def _end_widths(axis: int, widths: tuple[int, int]) -> list[int]:
    """``F.pad`` widths that pad only the (negative) ``axis`` by ``widths`` (before, after)."""
    return [0, 0] * (-axis - 1) + list(widths)
