r"""Networks of the learned blind pipeline (Deep-Blur, seed 002; conditioned identification, seed 001).

- :class:`ResNetEncoder` — convolutions, batch normalisation, ReLU and
  strided residual stages of torchvision's ``BasicBlock``, then global average pooling: the identification
  encoder of Deep-Blur's Fig. 1, with configurable widths (ResNet-18 is
  widths (64, 128, 256, 512), two blocks per stage).
- :class:`IdentificationNet` — the encoder regresses the Zernike coefficients
  (Noll 4-11) and the cut-off frequency of the PSF; the PSF is rebuilt with
  :func:`bench.physics.psfs.zernike_psfs`, the datasets' own model.
- :class:`ConditionedIdentificationNet` — :math:`N_w(y, f_c, \theta_{max})`:
  the same encoder modulated by the optics (FiLM: a per-channel scale and
  shift computed from :math:`(f_c, \theta_{max})` after every stage), which
  outputs the PSF at the centre of a patch directly (softmax over pixels).
- :class:`UnrolledDouglasRachford` — Deep-Blur's Algorithm 1 with ``T``
  untied DRUNet proximal networks (deepinv) and the exact FFT resolvent.

Training recipes (losses, two stages) are here too, next to the networks they
train; :mod:`bench.learn` provides the data, loop and checkpoints.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models.resnet import BasicBlock

from bench.api import LearnedMethod
from bench.learn.checkpoints import load_checkpoint, save_checkpoint
from bench.learn.inputs import standardize
from bench.learn.recipe import fit_stage, reuse_stage, start_training, training_card, validation_set
from bench.learn.sampler import Degradations
from bench.learn.scores import mean_psf_snr, mean_psnr
from bench.solve.operators import FFTConvolver, pad, psf_to_otf
from bench.physics.psfs import NOLL_INDICES, zernike_psfs
from bench.solve.rules import NOISE_FLOOR
from bench.solve.solvers import noise_std

#: Positions in the coefficient vector of the even Zernike modes (defocus,
#: astigmatism, spherical: radial order n even). Flipping all of their signs
#: gives exactly the same PSF (the PSF of -phi is the PSF of phi rotated by 180
#: degrees, and even modes are invariant under that rotation), so their global
#: sign cannot be identified from data: the loss takes the better of both signs.
EVEN_MODES = tuple(i for i, noll in enumerate(NOLL_INDICES) if noll in (4, 5, 6, 11, 12, 13, 14, 15))


def _stage(channels_in: int, width: int, blocks: int) -> nn.Sequential:
    """One ResNet stage of torchvision's basic blocks, the first halving the resolution."""
    first = BasicBlock(channels_in, width, stride=2)
    # Built after the block, so weights are drawn in the order conv1, conv2, shortcut.
    first.downsample = nn.Sequential(nn.Conv2d(channels_in, width, 1, 2, bias=False), nn.BatchNorm2d(width))
    return nn.Sequential(first, *(BasicBlock(width, width) for _ in range(blocks - 1)))


class ResNetEncoder(nn.Module):
    """Residual encoder: stem, one strided stage per width, global average pooling.

    Each stage halves the resolution; ``modulation`` (B, 2 * sum(widths)) scales
    and shifts every stage's output channels (FiLM) when given.
    """

    def __init__(self, widths: Sequence[int], blocks: int) -> None:
        super().__init__()
        self.widths = tuple(widths)
        self.stem = nn.Sequential(nn.Conv2d(1, widths[0], 3, 1, 1, bias=False), nn.BatchNorm2d(widths[0]), nn.ReLU())
        self.stages = nn.ModuleList(
            _stage(channels_in, width, blocks) for channels_in, width in zip((widths[0], *widths[:-1]), widths)
        )

    def forward(self, y: torch.Tensor, modulation: torch.Tensor | None = None) -> torch.Tensor:
        features = self.stem(standardize(y)[0])
        # Per stage, a scale and a shift of its channels: (B, 2 * width) each, in stage order.
        films = modulation.split([2 * width for width in self.widths], dim=1) if modulation is not None else None
        for i, stage in enumerate(self.stages):
            features = stage(features)
            if films is not None:
                scale, shift = films[i][..., None, None].chunk(2, dim=1)
                features = features * (1 + scale) + shift
        return features.mean(dim=(-2, -1))


class IdentificationNet(nn.Module):
    """Deep-Blur's identification network: degraded image -> Zernike coefficients and f_c -> PSF.

    The outputs are normalised: coefficients in units of ``theta_max`` and f_c
    as a position in ``fc_range`` (tanh-bounded), so the regression targets of
    eq. 4 are all of order one.
    """

    def __init__(
        self, *, widths: Sequence[int], blocks: int, psf_size: int, theta_max: float, fc_range: Sequence[float]
    ) -> None:
        super().__init__()
        self.encoder = ResNetEncoder(widths, blocks)
        self.head = nn.Linear(widths[-1], len(NOLL_INDICES) + 1)
        self.psf_size, self.theta_max = psf_size, theta_max
        self.fc_range = (float(fc_range[0]), float(fc_range[1]))

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        """Normalised parameters (B, 9): coefficients / theta_max, then f_c in [-1, 1] of its range."""
        out = self.head(self.encoder(y))
        return torch.cat([out[:, :-1], torch.tanh(out[:, -1:])], dim=1)

    def normalise(self, coeff: torch.Tensor, fc: torch.Tensor) -> torch.Tensor:
        """Physical parameters -> the normalised targets of :meth:`forward`."""
        return torch.cat([coeff / self.theta_max, _unit(fc, self.fc_range)[:, None]], dim=1)

    def physical(self, normalised: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Normalised outputs -> Zernike coefficients (B, 8) in waves and f_c (B,) in cycles/pixel."""
        low, high = self.fc_range
        return normalised[:, :-1] * self.theta_max, low + (normalised[:, -1] + 1) * (high - low) / 2

    def parameters_of(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Estimated Zernike coefficients (B, 8) in waves and f_c (B,) in cycles/pixel."""
        return self.physical(self(y))

    def psf(self, y: torch.Tensor, fc: torch.Tensor | None = None) -> torch.Tensor:
        """Estimated PSFs (B, 1, k, k), rebuilt with the datasets' diffraction model.

        ``fc`` (B,), when the optics are known, replaces the estimated cut-off
        (the ``blind+optics`` track, as in Deep-Blur's own experiments, which fix it).
        """
        coeff, fc_hat = self.parameters_of(y)
        fc = fc_hat if fc is None else fc.reshape(-1).to(fc_hat)
        return zernike_psfs(coeff, fc.clamp(1e-3, 0.25), size=self.psf_size)

    def loss(
        self, y: torch.Tensor, coeff: torch.Tensor, fc: torch.Tensor, psf: torch.Tensor, psf_weight: float
    ) -> torch.Tensor:
        r"""Deep-Blur eq. 4 on normalised parameters, plus ``psf_weight`` times the relative PSF error.

        The parameter term takes the better of both signs of the even modes,
        which no image can tell apart. The PSF term,
        :math:`\|h(\hat\theta) - h\|^2 / \|h\|^2 = 10^{-\text{PSF-SNR}/10}`, weighs each
        coefficient by its effect on the PSF: with eq. 4 alone a small network
        on a CPU budget regresses to the mean coefficients, whose rebuilt PSF
        (a sharp, unaberrated Airy pattern) scored -5 dB PSF-SNR after 450
        steps; with the PSF term (full 256 pupil in that trial) it reached +1.5 dB
        after 50. The PSF is
        rendered on a 128-pupil grid (:func:`bench.physics.psfs.zernike_psfs`) to keep
        its gradient cheap.
        """
        estimate, target = self(y), self.normalise(coeff, fc)
        flipped = target.clone()
        flipped[:, list(EVEN_MODES)] *= -1
        error = torch.minimum(((estimate - target) ** 2).sum(1), ((estimate - flipped) ** 2).sum(1))
        loss = 0.5 * error.mean()
        if psf_weight:
            rendered = zernike_psfs(*self.physical(estimate), size=self.psf_size, pupil_size=128)
            relative = ((rendered - psf) ** 2).sum(dim=(-2, -1)) / (psf**2).sum(dim=(-2, -1))
            loss = loss + psf_weight * relative.mean()
        return loss


class ConditionedIdentificationNet(nn.Module):
    r"""Poster 001's :math:`N_w(y, f_c, \theta_{max})`: the PSF at the centre of a patch, given the optics.

    The conditioning enters every encoder stage by FiLM. The output is a
    softmax over the ``psf_size``\ :sup:`2` pixels: non-negative and unit sum by
    construction, with no parametric model, so it can express PSFs outside the
    Zernike family.
    """

    def __init__(
        self,
        *,
        widths: Sequence[int],
        blocks: int,
        psf_size: int,
        fc_range: Sequence[float],
        theta_max_range: Sequence[float],
    ) -> None:
        super().__init__()
        self.encoder = ResNetEncoder(widths, blocks)
        self.film = nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 2 * sum(widths)))
        nn.init.zeros_(self.film[-1].weight)
        nn.init.zeros_(self.film[-1].bias)
        self.head = nn.Linear(widths[-1], psf_size * psf_size)
        self.psf_size = psf_size
        self.fc_range, self.theta_max_range = tuple(map(float, fc_range)), tuple(map(float, theta_max_range))

    def forward(self, y: torch.Tensor, fc: torch.Tensor, theta_max: torch.Tensor) -> torch.Tensor:
        """PSFs (B, 1, k, k) of patches ``y`` (B, 1, P, P) for optics ``fc``, ``theta_max`` (B,)."""
        condition = torch.stack([_unit(fc, self.fc_range), _unit(theta_max, self.theta_max_range)], dim=1)
        logits = self.head(self.encoder(y, self.film(condition)))
        return logits.softmax(dim=1).view(-1, 1, self.psf_size, self.psf_size)

    def loss(self, batch, data_weight: float) -> torch.Tensor:
        r"""Poster eq. 4: :math:`\|\hat h - h\|_1 + \lambda \|\hat h \star x - y\|_1` (the second as a per-pixel mean)."""
        psf = self(batch.y, batch.fc, batch.theta_max)
        psf_error = (psf - batch.psf).abs().sum(dim=(-2, -1)).mean()
        reblurred = FFTConvolver(psf, tuple(batch.field.shape[-2:]), mode="valid")(batch.field)
        return psf_error + data_weight * (reblurred - batch.y).abs().mean()


def _unit(value: torch.Tensor, bounds: Sequence[float]) -> torch.Tensor:
    """Map ``bounds`` to [-1, 1] (a degenerate range maps to 0)."""
    low, high = bounds
    return torch.zeros_like(value) if high == low else 2 * (value - low) / (high - low) - 1


class UnrolledDouglasRachford(nn.Module):
    r"""Deep-Blur's deblurring network (Algorithm 1): Douglas-Rachford unrolled over ``T`` iterations.

    .. math::

        z_0 = R(0),\quad x_{t+1} = \mathrm{PN}_t(z_t),\quad
        z_{t+1} = z_t + R(2 x_{t+1} - z_t) - x_{t+1},

    with the data-term resolvent :math:`R(v) = (A^\top A + \lambda_t I)^{-1}(A^\top y + \lambda_t v)`,
    exact by FFT on an image extended by reflection (the network learns to
    absorb the boundary), and :math:`\lambda_t = e^{a_t}(\hat\sigma + 0.01)`
    growing with the estimated noise level :math:`\hat\sigma`, as a Wiener
    filter's would; :math:`a_t` is learned. Each proximal network is a deepinv
    DRUNet given :math:`\hat\sigma` as its noise-level map. Returns
    :math:`x_T`.
    """

    def __init__(self, *, iterations: int, channels: Sequence[int], blocks: int) -> None:
        super().__init__()
        from deepinv.models import DRUNet

        self.proximal = nn.ModuleList(
            DRUNet(1, 1, nc=tuple(channels), nb=blocks, pretrained=None) for _ in range(iterations)
        )
        # exp(a) (0.02 + 0.01) = 3e-2, the official code's lambda, at a medium noise level.
        self.log_weight = nn.Parameter(torch.full((iterations,), math.log(1.0)))

    def forward(self, y: torch.Tensor, psf: torch.Tensor) -> torch.Tensor:
        sigma = noise_std(y, floor=NOISE_FLOOR).to(y)[:, None, None, None]
        height, width = y.shape[-2:]
        margin = psf.shape[-1] // 2 + 1
        # DRUNet halves the resolution three times: make the extended side a multiple of 8.
        extra_h, extra_w = (-(height + 2 * margin)) % 8, (-(width + 2 * margin)) % 8
        extended = F.pad(pad(y, margin, "reflect"), (0, extra_w, 0, extra_h), mode="replicate")
        shape = tuple(extended.shape[-2:])
        otf = psf_to_otf(psf, shape)
        data = torch.fft.rfft2(extended) * otf.conj()
        power = otf.abs() ** 2

        def resolvent(v: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
            return torch.fft.irfft2((data + weight * torch.fft.rfft2(v)) / (power + weight), s=shape)

        weights = torch.exp(self.log_weight)[:, None, None, None, None] * (sigma + 0.01)
        z = resolvent(torch.zeros_like(extended), weights[0])
        for t, network in enumerate(self.proximal):
            x = network(z, sigma)
            z = z + resolvent(2 * x - z, weights[t]) - x
        return x[..., margin : margin + height, margin : margin + width]


def build_deepblur(architecture: Mapping[str, Any]) -> dict[str, nn.Module]:
    """The identification and deblurring networks an architecture record describes."""
    return {
        "identification": IdentificationNet(**architecture["identification"]),
        "deblurring": UnrolledDouglasRachford(**architecture["deblurring"]),
    }


def build_conditioned(architecture: Mapping[str, Any]) -> dict[str, nn.Module]:
    """The conditioned identification network an architecture record describes."""
    return {"identification": ConditionedIdentificationNet(**architecture["identification"])}


def train_deepblur(config: Any, checkpoint: Path, progress=None) -> dict[str, float]:
    """Deep-Blur's two stages (sec. 2.3): identification by eq. 4, then deblurring by eq. 5.

    The deblurring network is trained on the PSFs *estimated* by the frozen
    identification network, so it learns to absorb identification errors;
    ``deblurring.true_psf_fraction`` of the samples get the true PSF instead, so
    that it also learns to use an accurate one (a small CPU identification
    network alone would teach it to distrust every PSF). ``identification.init``
    names a checkpoint whose identification network is reused instead of trained.
    """
    cfg, device, log = start_training(config, checkpoint)
    id_data = Degradations(**{**cfg["degradations"], "patch": cfg["identification"]["patch"]})
    architecture = {
        "identification": {
            **cfg["identification"]["network"],
            "psf_size": id_data.psf_size,
            "theta_max": id_data.theta_max_range[1],
            "fc_range": list(id_data.fc_range),
        },
        "deblurring": cfg["deblurring"]["network"],
    }
    networks = {name: net.to(device) for name, net in build_deepblur(architecture).items()}
    identification, deblurring = networks["identification"], networks["deblurring"]

    if not reuse_stage(cfg, "identification", identification, build_deepblur):
        id_val = validation_set(cfg, id_data, device, seed_shift=0)
        fit_stage(
            cfg, "identification", identification, id_data, device, log, progress,
            loss=lambda batch: identification.loss(
                batch.y, batch.coeff, batch.fc, batch.psf, cfg["identification"]["psf_weight"]
            ),
            validate=lambda: {"val_psf_snr": mean_psf_snr(id_val, lambda batch: identification.psf(batch.y))},
        )  # fmt: skip
    # Frozen, in evaluation mode: batch normalisation uses and keeps its trained statistics.
    identification.eval().requires_grad_(False)

    db_data = Degradations(**{**cfg["degradations"], "patch": cfg["deblurring"]["patch"]})
    db_val = validation_set(cfg, db_data, device, seed_shift=1)

    def deblurring_figures() -> dict[str, float]:
        return {
            "val_psf_snr": mean_psf_snr(db_val, lambda batch: identification.psf(batch.y)),
            "val_psnr_input": mean_psnr(db_val, lambda batch: batch.y),
            "val_psnr": mean_psnr(db_val, lambda batch: deblurring(batch.y, identification.psf(batch.y))),
            "val_psnr_oracle": mean_psnr(db_val, lambda batch: deblurring(batch.y, batch.psf)),
        }

    true_fraction = cfg["deblurring"].get("true_psf_fraction", 0.0)
    generator = torch.Generator().manual_seed(cfg["seed"])

    def deblurring_loss(batch) -> torch.Tensor:
        with torch.no_grad():
            estimated = identification.psf(batch.y)
        given = (torch.rand(len(batch.y), generator=generator) < true_fraction).to(batch.y.device)
        psf = torch.where(given[:, None, None, None], batch.psf, estimated)
        return F.mse_loss(deblurring(batch.y, psf), batch.x)

    figures = fit_stage(
        cfg, "deblurring", deblurring, db_data, device, log, progress,
        loss=deblurring_loss, validate=deblurring_figures, seed_shift=1,
    )  # fmt: skip
    save_checkpoint(checkpoint, networks, architecture=architecture, card=training_card(config, figures, log))
    return figures


def train_conditioned(config: Any, checkpoint: Path, progress=None) -> dict[str, float]:
    """The conditioned identification network, trained with poster 001's loss (eq. 4)."""
    cfg, device, log = start_training(config, checkpoint)
    data = Degradations(**{**cfg["degradations"], "patch": cfg["identification"]["patch"]})
    architecture = {
        "identification": {
            **cfg["identification"]["network"],
            "psf_size": data.psf_size,
            "fc_range": list(data.fc_range),
            "theta_max_range": list(data.theta_max_range),
        }
    }
    networks = {name: net.to(device) for name, net in build_conditioned(architecture).items()}
    network = networks["identification"]
    val = validation_set(cfg, data, device, seed_shift=0)
    figures = fit_stage(
        cfg, "identification", network, data, device, log, progress,
        loss=lambda batch: network.loss(batch, cfg["identification"]["data_weight"]),
        validate=lambda: {"val_psf_snr": mean_psf_snr(val, lambda batch: network(batch.y, batch.fc, batch.theta_max))},
    )  # fmt: skip
    save_checkpoint(checkpoint, networks, architecture=architecture, card=training_card(config, figures, log))
    return figures


DEEPBLUR_REFERENCE = (
    'V. Debarnot and P. Weiss, "Deep-blur: Blind identification and deblurring with convolutional '
    'neural networks", Biological Imaging, vol. 4, e13, 2024.'
)


class DeepBlurNetworks(LearnedMethod):
    """What ``deepblur`` and ``deepblur-oracle`` share: the networks of ``bench train deepblur``, loaded once.

    Subclasses set ``preset`` in ``__init__`` and read ``self.networks``
    (``identification``, ``deblurring``) in ``run``.
    """

    references = (DEEPBLUR_REFERENCE,)
    test_params: Mapping[str, Any] = {}
    preset: str

    @classmethod
    def train(cls, config: Any, checkpoint: Path, progress: Any = None) -> Mapping[str, float]:
        return train_deepblur(config, checkpoint, progress)

    def prepare(self, device: torch.device) -> None:
        path = self.checkpoint_path(self.preset)
        networks = load_checkpoint(path, build_deepblur, recreate=self.recreate_command(self.preset))
        self.networks = {name: net.to(device) for name, net in networks.items()}
