r"""The spectral identification network: Zernike PSF parameters from windowed power spectra (issue 11's CPU design).

Deep-Blur's ResNet reads the PSF from raw pixels, where the blur is mixed with
the scene; on a CPU budget it stays near 2 dB PSF-SNR. Here the input is the
log Welch spectrum of the image (:func:`bench.solve.identification.welch_power`),
where :math:`\log E[I(k)] = \log(|H(k)|^2 S_x(k) + N)` shows the blur's
:math:`|\mathrm{OTF}|^2` directly: its cut-off :math:`2 f_c`, its zero rings
(defocus, spherical) and their ellipticity (astigmatism). Beside the spectrum
the network gets the frequency radius and, when the optics are known, the
radius in units of the cut-off :math:`2 f_c`, with a flag saying so: one
network serves both blind tracks (trained with the optics dropped for half of
the samples, so that without them it marginalises :math:`f_c`).

The spectrum cannot see the PSF's point reflection (the global sign of the odd
modes, coma and trefoil), and nothing can see the global sign of the even
modes: the loss is taken at the better of the PSF and its reflection, and
:func:`bench.solve.identification.choose_reflection` picks the reflection from the
image at inference. :math:`\theta_{max}` is marginalised (drawn in [0, 0.15]
during training), never estimated.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from bench.solve.identification import EVEN_MODES, ODD_MODES, choose_reflection, frequency_radius, welch_power
from bench.learn.checkpoints import save_checkpoint
from bench.learn.recipe import fit_stage, reuse_stage, start_training, training_card, validation_set
from bench.learn.sampler import Degradations, TrainingBatch
from bench.learn.scores import mean_psf_snr, mean_psnr
from bench.methods._deepblur import UnrolledDouglasRachford
from bench.physics.psf_model import zernike_psf_model
from bench.physics.psfs import NOLL_INDICES
from bench.solve.solvers import noise_std

__all__ = ["SpectralIdentificationNet", "build_spectral", "train_spectral"]


class SpectralIdentificationNet(nn.Module):
    """Log power spectrum (+ frequency maps) -> normalised Zernike coefficients and f_c.

    Parameters
    ----------
    window : int
        Side of the Welch tiles, hence of the spectrum the network reads.
    widths : sequence of int
        Channels of the stem and of the strided convolution stages after it (each halves the resolution).
    hidden : int
        Width of the fully connected layer; the spectrum's positions are
        frequencies, so the features are flattened, not pooled.
    psf_size, theta_max, fc_range
        The PSF model: side in pixels, coefficient scale (waves) and f_c range (cycles/pixel).
    """

    def __init__(
        self,
        *,
        window: int,
        widths: Sequence[int],
        hidden: int,
        psf_size: int,
        theta_max: float,
        fc_range: Sequence[float],
    ) -> None:
        super().__init__()
        self.window, self.psf_size, self.theta_max = window, psf_size, theta_max
        self.fc_range = (float(fc_range[0]), float(fc_range[1]))
        # The stem halves the resolution at once: the 64 x 64 spectrum is smooth at the scale of two bins.
        layers: list[nn.Module] = [nn.Conv2d(4, widths[0], 4, stride=2, padding=1), nn.ReLU()]
        for channels_in, width in itertools.pairwise(widths):
            layers += [
                nn.Conv2d(channels_in, width, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU(),
                nn.Conv2d(width, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU(),
            ]  # fmt: skip
        side = window // 2 ** len(widths)
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Linear(widths[-1] * side * side, hidden),
            nn.ReLU(),
            nn.Linear(hidden, len(NOLL_INDICES) + 1),
        )
        self.register_buffer("radius", frequency_radius(window) / 0.5, persistent=False)

    def inputs(self, y: torch.Tensor, fc: torch.Tensor | None) -> torch.Tensor:
        """(B, 4, window, window): centred log spectrum, |k|/0.5, |k|/(2 f_c) and the known-optics flag."""
        window = min(self.window, *y.shape[-2:])
        power = welch_power(y, window)
        if window < self.window:  # a small image: its coarser spectrum, resampled to the network's grid
            power = nn.functional.interpolate(power[:, None], size=self.window, mode="bilinear")[:, 0]
        log_power = torch.log(power + 1e-10 * power.mean(dim=(-2, -1), keepdim=True))
        log_power = log_power - log_power.mean(dim=(-2, -1), keepdim=True)
        batch = len(y)
        radius = self.radius.expand(batch, -1, -1)
        if fc is None:
            relative, known = torch.zeros_like(radius), torch.zeros_like(radius)
        else:
            relative = (radius * 0.25 / fc.reshape(-1, 1, 1).to(radius)).clamp(max=2.0)
            known = torch.ones_like(radius)
        return torch.stack([log_power, radius, relative, known], dim=1)

    def forward(self, y: torch.Tensor, fc: torch.Tensor | None = None) -> torch.Tensor:
        """Normalised parameters (B, 9): coefficients / theta_max, then f_c in [-1, 1] of its range."""
        return self._predict(self.inputs(y, fc))

    def _predict(self, inputs: torch.Tensor) -> torch.Tensor:
        out = self.head(self.features(inputs))
        return torch.cat([out[:, :-1], torch.tanh(out[:, -1:])], dim=1)

    def physical(self, normalised: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Normalised outputs -> coefficients (B, 8) in waves and f_c (B,) in cycles/pixel."""
        low, high = self.fc_range
        return normalised[:, :-1] * self.theta_max, low + (normalised[:, -1] + 1) * (high - low) / 2

    def psf(self, y: torch.Tensor, fc: torch.Tensor | None = None) -> torch.Tensor:
        """PSF estimates (B, 1, k, k) up to their point reflection; the given f_c is used when known."""
        coeff, fc_hat = self.physical(self(y, fc))
        fc_used = fc_hat if fc is None else fc.reshape(-1).to(fc_hat).clamp(1e-3, 0.25)
        model = zernike_psf_model(self.psf_size, device=str(y.device))
        return model(coeff, fc_used).to(y.dtype)

    def identify(self, y: torch.Tensor, fc: torch.Tensor | None = None, *, views: int = 4) -> torch.Tensor:
        """PSF estimates (B, 1, k, k) averaged over ``views`` mirrored views, the reflection chosen from the image.

        Mirroring or transposing the image mirrors or transposes its PSF, and
        the spectrum then shows the blur from another orientation: each view's
        estimate is mapped back, put in the first view's reflection, and the
        estimates averaged (test-time augmentation; a half turn is no new view,
        the spectrum does not change).
        """
        estimates = [_unview(self.psf(_view(y, view), fc), view) for view in range(views)]
        first = estimates[0]
        aligned = [first] + [_nearer_reflection(estimate, first) for estimate in estimates[1:]]
        mean = torch.stack(aligned).mean(dim=0)
        return choose_reflection(y, mean / mean.sum(dim=(-2, -1), keepdim=True), noise_std(y))

    def loss(self, batch: TrainingBatch, known: torch.Tensor, parameter_weight: float) -> torch.Tensor:
        """Relative PSF error at the better reflection, plus sign-invariant coefficient regression.

        ``known`` (B,) marks the samples whose optics the network is told.
        """
        inputs = self.inputs(batch.y, batch.fc)
        inputs[~known, 2:] = 0.0  # these samples are not told their optics
        out = self._predict(inputs)
        coeff, fc_hat = self.physical(out)
        model = zernike_psf_model(self.psf_size, device=str(batch.y.device))
        estimate = model(coeff, torch.where(known, batch.fc, fc_hat))
        energy = (batch.psf**2).sum(dim=(-2, -1))
        errors = [
            ((candidate - batch.psf) ** 2).sum(dim=(-2, -1)) / energy for candidate in (estimate, estimate.flip(-2, -1))
        ]
        psf_error = torch.minimum(*errors)[:, 0]
        target = batch.coeff / self.theta_max
        distances = []
        for flip_even in (1.0, -1.0):
            for flip_odd in (1.0, -1.0):
                signs = torch.ones(len(NOLL_INDICES), device=target.device)
                signs[list(EVEN_MODES)], signs[list(ODD_MODES)] = flip_even, flip_odd
                distances.append(((out[:, :-1] - target * signs) ** 2).sum(1))
        fc_target = 2 * (batch.fc - self.fc_range[0]) / (self.fc_range[1] - self.fc_range[0]) - 1
        fc_error = torch.where(known, torch.zeros_like(fc_target), (out[:, -1] - fc_target) ** 2)
        parameters = torch.stack(distances).min(dim=0).values + fc_error
        return (psf_error + parameter_weight * parameters).mean()


def _view(image: torch.Tensor, view: int) -> torch.Tensor:
    """View 0: as is; 1: mirrored left-right; 2: transposed; 3: transposed then mirrored."""
    image = image.transpose(-2, -1) if view >= 2 else image
    return image.flip(-1) if view % 2 else image


def _unview(psf: torch.Tensor, view: int) -> torch.Tensor:
    """The PSF of the original image from the PSF of its ``view`` (the inverse of :func:`_view`)."""
    psf = psf.flip(-1) if view % 2 else psf
    return psf.transpose(-2, -1) if view >= 2 else psf


def _nearer_reflection(psf: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Each PSF or its point reflection, whichever is nearer to ``reference`` (both (B, 1, k, k))."""
    reflected = psf.flip(-2, -1)
    keep = ((psf - reference) ** 2).sum(dim=(-2, -1), keepdim=True) <= ((reflected - reference) ** 2).sum(
        dim=(-2, -1), keepdim=True
    )
    return torch.where(keep, psf, reflected)


def build_spectral(architecture: Mapping[str, Any]) -> dict[str, nn.Module]:
    """The networks an architecture record describes: identification, and the unrolled deblurring if trained."""
    networks: dict[str, nn.Module] = {"identification": SpectralIdentificationNet(**architecture["identification"])}
    if "deblurring" in architecture:
        networks["deblurring"] = UnrolledDouglasRachford(**architecture["deblurring"])
    return networks


def train_spectral(config: Any, checkpoint: Path, progress: Any = None) -> dict[str, float]:
    """Train the identification (half of the samples told their f_c), then, if configured, the deblurring stage.

    ``identification.init`` names a checkpoint whose identification network is
    reused instead of trained (its card's command is the one that trains it).
    """
    cfg, device, log = start_training(config, checkpoint)
    settings = cfg["identification"]
    data = Degradations(**{**cfg["degradations"], "patch": settings["patch"]})
    architecture = {
        "identification": {
            **settings["network"], "psf_size": data.psf_size, "theta_max": data.theta_max_range[1],
            "fc_range": list(data.fc_range),
        }
    }  # fmt: skip
    if cfg.get("deblurring"):
        architecture["deblurring"] = cfg["deblurring"]["network"]
    networks = {name: net.to(device) for name, net in build_spectral(architecture).items()}
    network = networks["identification"]
    val = validation_set(cfg, data, device)
    figures: dict[str, float] = {}
    if not reuse_stage(cfg, "identification", network, build_spectral):
        generator = torch.Generator().manual_seed(cfg["seed"])

        def loss(batch: TrainingBatch) -> torch.Tensor:
            known = torch.rand(len(batch.y), generator=generator) < settings["optics_fraction"]
            return network.loss(batch, known.to(batch.y.device), settings["parameter_weight"])

        figures = fit_stage(
            cfg, "identification", network, data, device, log, progress, loss=loss,
            validate=lambda: {
                "val_psf_snr_optics": mean_psf_snr(val, lambda batch: network.identify(batch.y, batch.fc)),
                "val_psf_snr_blind": mean_psf_snr(val, lambda batch: network.identify(batch.y)),
            },
        )  # fmt: skip
    if "deblurring" in networks:
        figures = {**figures, **_fit_deblurring(cfg, network, networks["deblurring"], data, device, log, progress)}
    save_checkpoint(checkpoint, networks, architecture=architecture, card=training_card(config, figures, log))
    return figures


def _fit_deblurring(
    cfg: Mapping[str, Any],
    identification: SpectralIdentificationNet,
    deblurring: nn.Module,
    data: Degradations,
    device: torch.device,
    log: Any,
    progress: Any,
) -> dict[str, float]:
    """Deep-Blur's eq. 5 on this network's estimates: the unrolled deblurring learns from the PSFs it will be given.

    The PSF is identified on the whole training patch (the spectrum needs its
    Welch tiles), the loss taken on its centre ``deblurring.patch`` pixels
    (a valid blur's data is complete on any crop), which keeps the unrolled
    network's cost that of a small patch. Each batch is told its f_c with
    probability ``identification.optics_fraction``, as in the two tracks.
    """
    identification.eval().requires_grad_(False)
    side = cfg["deblurring"]["patch"]
    generator = torch.Generator().manual_seed(cfg["seed"] + 1)

    def centre(image: torch.Tensor) -> torch.Tensor:
        crop = min(side, *image.shape[-2:])  # a training patch smaller than the configured crop is taken whole
        top, left = (image.shape[-2] - crop) // 2, (image.shape[-1] - crop) // 2
        return image[..., top : top + crop, left : left + crop]

    def loss(batch: TrainingBatch) -> torch.Tensor:
        known = bool(torch.rand((), generator=generator) < cfg["identification"]["optics_fraction"])
        with torch.no_grad():
            psf = identification.identify(batch.y, batch.fc if known else None)
        return F.mse_loss(deblurring(centre(batch.y), psf), centre(batch.x))

    # Validation: the frozen identification's PSFs computed once on the whole patches, the PSNR on the centres.
    val = validation_set(cfg, data, device, seed_shift=1)
    with torch.no_grad():
        estimates = {
            "optics": [identification.identify(batch.y, batch.fc) for batch in val],
            "blind": [identification.identify(batch.y) for batch in val],
            "oracle": [batch.psf for batch in val],
        }
    centres = [dataclasses.replace(batch, y=centre(batch.y), x=centre(batch.x)) for batch in val]
    index = {id(batch): i for i, batch in enumerate(centres)}

    def psnr_given(track: str) -> float:
        return mean_psnr(centres, lambda batch: deblurring(batch.y, estimates[track][index[id(batch)]]))

    return fit_stage(
        cfg, "deblurring", deblurring, data, device, log, progress, loss=loss, seed_shift=1,
        validate=lambda: {
            "val_psnr_input": mean_psnr(centres, lambda batch: batch.y),
            **{f"val_psnr_{track}": psnr_given(track) for track in estimates},
        },
    )  # fmt: skip
