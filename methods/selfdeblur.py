"""SelfDeblur (Ren et al.): a deep image prior and a kernel generator fitted jointly to one image."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch

from bench.api import BaseMethod, Optics, Result
from bench.solve.blind import (
    check_fits,
    check_kernel_size,
    deconvolve,
    delta_psf,
    project_psf,
)
from bench.solve.operators import FFTConvolver, pad
from bench.solve.rules import NOISE_FLOOR
from bench.solve.solvers import noise_std


@dataclass(frozen=True)
class Budget:
    """Adam steps, the image generator's channels per scale (shallow to deep) and the kernel generator's step size."""

    iterations: int
    channels: tuple[int, ...]
    kernel_lr: float


#: Named budgets (see the class docstring for their times).
BUDGETS: dict[str, Budget] = {
    "fast": Budget(30, (8, 16, 32), 1e-3),
    "cpu": Budget(250, (16, 32, 64, 128), 1e-3),
    "full": Budget(5000, (128, 128, 128, 128, 128), 1e-4),
}
#: Ren et al.'s constants: image-input channels, kernel-input size, kernel hidden layer,
#: scale of the uniform inputs, std of the per-step perturbation of the image input.
INPUT_CHANNELS, KERNEL_INPUT, KERNEL_HIDDEN, INPUT_SCALE, INPUT_JITTER = 8, 200, 1000, 0.1, 1e-3
#: Step after which the data term is 1 - SSIM instead of the mean squared error (Ren et al., Levin set).
SSIM_AFTER = 1000
#: Precision of the fit. Hundreds of Adam steps turn float32's rounding, which differs between CPUs (vector
#: instruction sets) and thread counts, into visibly different restorations: 0.075 maximum difference between
#: 1 and 2 threads on a 128-px case in float32. In float64 the same runs agree to rounding.
FIT_DTYPE = torch.float64
#: Fractions of the run at which both learning rates are halved (Ren et al.: steps 2000, 3000, 4000 of 5000).
MILESTONES = (0.4, 0.6, 0.8)


class Generators(torch.nn.Module):
    """SelfDeblur's two generators for one image, built from ``seed`` alone.

    Image: deepinv's U-Net (encoder-decoder with skips) fed fixed uniform noise
    ``z_x`` of the scene's size, sigmoid output. Kernel: Linear(200, 1000),
    ReLU6, Linear(1000, k*k), softmax, fed fixed uniform noise ``z_k``.
    """

    def __init__(self, scene: tuple[int, int], kernel_size: int, channels: tuple[int, ...], seed: int) -> None:
        super().__init__()
        from deepinv.models import UNet

        generator = torch.Generator().manual_seed(seed)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.image = UNet(INPUT_CHANNELS, 1, residual=False, channels_per_scale=list(channels))
            self.kernel = torch.nn.Sequential(
                torch.nn.Linear(KERNEL_INPUT, KERNEL_HIDDEN),
                torch.nn.ReLU6(),
                torch.nn.Linear(KERNEL_HIDDEN, kernel_size**2),
            )
        self.kernel_size = kernel_size
        self.register_buffer("z_x", INPUT_SCALE * torch.rand(1, INPUT_CHANNELS, *scene, generator=generator))
        self.register_buffer("z_k", INPUT_SCALE * torch.rand(1, KERNEL_INPUT, generator=generator))

    def forward(self, jitter: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(1, 1, *scene) image in (0, 1) and (1, 1, k, k) kernel, the image input shifted by ``jitter``."""
        image = torch.sigmoid(self.image(self.z_x if jitter is None else self.z_x + jitter))
        kernel = torch.softmax(self.kernel(self.z_k), dim=-1)
        return image, kernel.view(1, 1, self.kernel_size, self.kernel_size)


class Method(BaseMethod):
    r"""SelfDeblur: joint Adam fit of an image generator and a kernel generator to ``y`` [1]_.

    Parameters
    ----------
    budget : {"fast", "cpu", "full"}
        ``fast`` (default): 30 Adam steps, image generator with 8/16/32
        channels, kernel step 1e-3; 4.2 s per 256 x 256 image on one CPU
        core (40 steps: 5.5 s), so the 32 fresnel-zernike cases take about
        2 minutes and ``bench run --method all`` stays under 10. A budget,
        not the method's strength: the kernel barely leaves its start.
        ``cpu``: 250 steps, 16/32/64/128 channels, kernel step 1e-3, about
        60 s per 256 x 256 image on one core (0.24 s per step, measured
        over 10). ``full``: Ren et al.'s 5000
        steps, kernel step 1e-4 and a 5-scale, 128-channel generator, for a
        GPU: about 8 s per step, 11 h per 256 x 256 image on one CPU core
        (extrapolated from 3 steps). Times measured on a shared 2-core
        machine, one thread, when the fit ran in float32; it now runs in
        float64 (:data:`FIT_DTYPE`, for results that do not depend on the
        CPU or thread count), which took 4.0 times as long as float32 for
        the ``fast`` budget at 256 x 256 in one run.
    iterations : int or None
        Overrides the budget's step count (>= 0; 0 returns the start).
    kernel_size : int
        Odd side of the estimated PSF, pixels (15: holds the bulk of the
        documented PSFs, f_c >= 0.125 and at most 0.15 waves per Zernike
        mode; the first dark ring of the widest Airy disc is at 4.9 px).
    init : {"random", "no-blur"}
        ``random`` (default): Ren et al.'s start, the generators' random
        outputs (a flat grey scene, a nearly uniform kernel). ``no-blur``
        (seed 004): step 0 is exactly ``y`` (edge-extended to the scene) and
        a delta kernel, handed over to the generators (Notes).
    ramp : float
        Fraction of the steps over which the ``no-blur`` start hands over
        to the generators, in (0, 1].
    early_stop : bool
        Stop once the generators alone fit ``y`` to its noise level (Notes).
    restore : {"shared", "generator"}
        Image returned: the blind plugins' shared non-blind solve with the
        estimated PSF (:func:`bench.solve.blind.deconvolve`, default), or
        the image generator's output, SelfDeblur's own estimate.
    kernel_lr : float or None
        Adam step of the kernel generator (None: the budget's).
    seed : int
        Seed of the generators' weights, inputs and input perturbations.

    Notes
    -----
    Fits, per image, the weights of an image generator :math:`G_x` (an
    encoder-decoder with skips, deepinv's U-Net, fed fixed noise
    :math:`z_x \sim \mathcal U[0, 0.1]^{8 \times \ldots}`, sigmoid output)
    and a kernel generator :math:`G_k` (200-1000-k² fully connected,
    softmax output, so the kernel is non-negative with unit sum) [1]_ [2]_:

    .. math::
        \min_{G_x, G_k} \|G_k(z_k) * G_x(z_x + \eta_t) - y\|_2^2,

    the convolution valid (the scene is larger than ``y`` by k - 1, so no
    boundary is assumed), :math:`\eta_t \sim \mathcal N(0, 10^{-6})` drawn
    afresh each step, by Adam (image step 1e-2, both halved at 40/60/80 % of
    the run) with the data term switched to 1 - SSIM after step 1000, as in
    Ren et al.'s code. Ren et al. also write a TV-regularised variant,
    which their released scripts leave out; it is not used here. ``y`` is
    multiplied by the power of two that puts its maximum in (0.25, 0.5]
    (exact, and it leaves the sigmoid room for peaks up to twice the
    brightest pixel; microscopy data rarely fill [0, 1]).

    No-blur start: with :math:`s_t = \min(1, t / (\text{ramp}\cdot T))` the
    scene and kernel are :math:`(1 - s_t)(\tilde y, \delta) + s_t (G_x, G_k)`,
    exactly :math:`(\tilde y, \delta)` at step 0 and SelfDeblur's from
    :math:`s_t = 1` on. Started exactly there and left alone, the data term
    has zero residual and zero gradients; the ramp is an honest way out,
    but on training images the kernel then stays close to a delta.

    Early stopping (discrepancy principle, after Shi et al.'s spectral-bias
    argument [3]_): stop once the mean squared residual of the generators
    alone reaches :math:`\hat\sigma^2`, the wavelet-MAD noise estimate
    (:func:`bench.solve.solvers.noise_std`, floor ``NOISE_FLOOR``).

    Parameter choice (training images only, 3 crops of 128 x 128 from
    ``bench.learn.sampler.DegradationSampler``, documented noise levels; never a
    test image), PSNR dB (input) and PSF-SNR dB:

    - ``init``: ``random``. With 300 steps (``cpu`` generator, kernel step
      1e-3) ``no-blur`` stopped right at the end of its ramp with kernels
      near a delta, PSF-SNR -6.9 / -19.0 dB at the low / medium levels
      against -2.1 / -4.6 for ``random``; with 60 steps they were within
      0.4 dB (``no-blur`` PSF-SNR 1.5, ``random`` 1.2).
    - kernel step: Ren et al.'s 1e-4 leaves the kernel flat within 60 steps
      (PSF-SNR 0.5 dB), 5e-3 collapses it (-7 to -14 dB), 1e-3 is best
      (1.2 to 1.6 dB); ``full`` keeps 1e-4 for its 5000 steps.
    - ``kernel_size`` 15 against 31 (``fast``, 40 steps): 16.95 against
      13.28 dB noiseless (input 25.12) and 24.08 against 23.86 medium
      (input 21.45), PSF-SNR 1.7 against 1.3.
    - ``restore``: the shared solve against the generator's image
      (``fast``): 16.7 / 23.6 / 24.3 / 23.9 against 16.6 / 16.5 / 16.5 /
      14.3 dB at noiseless / low / medium / high (input 25.1 / 24.5 / 21.5
      / 18.3), PSF-SNR 1.9 dB. On noiseless data the shared solve, run
      long, over-sharpens with the too-wide ``fast`` kernel.

    References
    ----------
    .. [1] D. Ren, K. Zhang, Q. Wang, Q. Hu and W. Zuo, "Neural blind
       deconvolution using deep priors", CVPR, pp. 3341-3350, 2020.
    .. [2] D. Ulyanov, A. Vedaldi and V. Lempitsky, "Deep image prior", CVPR,
       pp. 9446-9454, 2018.
    .. [3] Z. Shi, P. Mettes, S. Maji and C. G. M. Snoek, "On measuring and
       controlling the spectral bias of the deep image prior", International
       Journal of Computer Vision, vol. 130, pp. 885-908, 2022.
    """

    name = "selfdeblur"
    blind = True
    learned = False
    references = (
        "D. Ren, K. Zhang, Q. Wang, Q. Hu and W. Zuo, Neural blind deconvolution using deep priors, CVPR 2020, "
        "pp. 3341-3350.",
        "D. Ulyanov, A. Vedaldi and V. Lempitsky, Deep image prior, CVPR 2018, pp. 9446-9454.",
        "A. Brozova, Deep learning in zero-shot blind image deconvolution, 2022 (no-blur start, early stopping).",
    )
    requires = ("deepinv",)
    test_params = {"iterations": 4, "kernel_size": 9}
    label_parameters = ("budget",)
    #: Adam step size of the image generator (Ren et al.'s code).
    image_lr = 1e-2

    def __init__(
        self,
        *,
        budget: Literal["fast", "cpu", "full"] = "fast",
        iterations: int | None = None,
        kernel_size: int = 15,
        init: Literal["no-blur", "random"] = "random",
        ramp: float = 0.5,
        early_stop: bool = True,
        restore: Literal["generator", "shared"] = "shared",
        kernel_lr: float | None = None,
        seed: int = 0,
    ) -> None:
        if budget not in BUDGETS:
            raise ValueError(f"budget must be one of {', '.join(BUDGETS)}; got {budget!r}")
        if iterations is not None and iterations < 0:
            raise ValueError(f"iterations must be >= 0, or None for the budget's count; got {iterations}")
        if init not in ("no-blur", "random"):
            raise ValueError(f"init must be 'no-blur' or 'random', got {init!r}")
        if not 0 < ramp <= 1:
            raise ValueError(f"ramp must be a fraction of the run in (0, 1], got {ramp}")
        if restore not in ("generator", "shared"):
            raise ValueError(f"restore must be 'generator' or 'shared', got {restore!r}")
        self.budget, self.kernel_size, self.init, self.ramp = budget, check_kernel_size(kernel_size), init, ramp
        self.iterations = BUDGETS[budget].iterations if iterations is None else iterations
        if kernel_lr is not None and not kernel_lr > 0:
            raise ValueError(f"kernel_lr must be > 0, or None for the budget's step size; got {kernel_lr}")
        self.kernel_lr = BUDGETS[budget].kernel_lr if kernel_lr is None else kernel_lr
        self.early_stop, self.restore, self.seed = early_stop, restore, seed

    def run(self, y: torch.Tensor, psf: torch.Tensor | None, optics: Optics | None) -> Result:
        check_fits(y, self.kernel_size, self.name)
        sigma = float(noise_std(y, floor=NOISE_FLOOR)[0])
        x_hat, kernel, iterations = self.fit(y, sigma)
        psf_hat = project_psf(kernel).to(y.dtype)
        x_hat = x_hat.to(y.dtype)
        info = {"iterations": float(iterations), "sigma_hat": sigma}
        if self.restore == "shared":
            x_hat, solve_info = deconvolve(y, psf_hat)
            info = {**solve_info, **info}
        return Result(x_hat=x_hat, psf_hat=psf_hat, info=info)

    @staticmethod
    def scale(y: torch.Tensor) -> float:
        """Power of two that brings the brightest pixel of ``y`` into (0.25, 0.5]: exact, and room for sharper peaks."""
        peak = float(y.max())
        return 2.0 ** -math.ceil(math.log2(peak / 0.5)) if peak > 0 else 1.0

    def blend(self, step: int) -> float:
        """Weight of the generators' outputs against the no-blur start at ``step`` (1 throughout for ``random``)."""
        if self.init == "random":
            return 1.0
        return min(1.0, step / max(1.0, self.ramp * self.iterations))

    def estimates(
        self, generators: Generators, start: torch.Tensor, step: int, jitter: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Scene and kernel at ``step``: ``(1 - s) (start, delta) + s (generated)``, exactly the start at s = 0."""
        image, kernel = generators(jitter)
        s = self.blend(step)
        if s == 1:
            return image, kernel
        delta = delta_psf(1, self.kernel_size, dtype=kernel.dtype, device=kernel.device)
        return (1 - s) * start + s * image, (1 - s) * delta + s * kernel

    @staticmethod
    def ssim_loss() -> torch.nn.Module:
        """1 - SSIM (deepinv, torchmetrics' Gaussian window), the data term after :data:`SSIM_AFTER` steps."""
        from deepinv.loss.metric import SSIM

        return SSIM(train_loss=True)

    def fit(self, y: torch.Tensor, sigma: float) -> tuple[torch.Tensor, torch.Tensor, int]:
        """Fit one (1, 1, H, W) image; return its image estimate, raw kernel and the steps taken."""
        r, factor = self.kernel_size // 2, self.scale(y)
        target = y.detach().to(FIT_DTYPE) * factor
        start = pad(target, r, "edge")
        generators = Generators(tuple(start.shape[-2:]), self.kernel_size, BUDGETS[self.budget].channels, self.seed)
        generators = generators.to(y.device, FIT_DTYPE)
        jitters = torch.Generator(device=y.device).manual_seed(self.seed)
        optimizer = torch.optim.Adam(
            [{"params": generators.image.parameters(), "lr": self.image_lr},
             {"params": generators.kernel.parameters(), "lr": self.kernel_lr}]
        )  # fmt: skip
        milestones = [round(m * self.iterations) for m in MILESTONES]
        schedule = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones, gamma=0.5)
        ssim = self.ssim_loss() if self.iterations > SSIM_AFTER else None
        noise_power, step = (sigma * factor) ** 2, 0
        with torch.enable_grad():
            for step in range(self.iterations):
                jitter = INPUT_JITTER * torch.randn(generators.z_x.shape, generator=jitters, device=y.device).to(
                    FIT_DTYPE
                )
                image, kernel = self.estimates(generators, start, step, jitter)
                blurred = FFTConvolver(kernel, tuple(image.shape[-2:]), mode="valid")(image)
                mse = (blurred - target).square().mean()
                if self.early_stop and self.blend(step) == 1 and mse.item() <= noise_power:
                    break
                loss = mse if step < SSIM_AFTER else ssim(blurred, target).mean()
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                schedule.step()
            else:
                step = self.iterations
        with torch.no_grad():
            image, kernel = self.estimates(generators, start, step)
        x = image[..., r : r + y.shape[-2], r : r + y.shape[-1]] / factor
        return x.contiguous(), kernel, step
