"""Training learned methods: synthetic degradations, the optimisation loop, checkpoints.

Every learned plugin trains the same way (``bench train METHOD preset=cpu|gpu``):

- :class:`DegradationSampler` draws training pairs from the *training* split of
  :mod:`bench.images` only (never a benchmark test image), blurred by random
  Fresnel/Zernike PSFs of the same model as the datasets
  (:func:`bench.physics.zernike_psfs`) and degraded by the same noise code
  (:func:`bench.physics.degrade`) over a range of noise levels that covers the
  documented ones. It is seeded: the same seed gives the same batches.
- :func:`fit` runs Adam with a cosine schedule, shows a progress bar and
  writes a CSV log of the loss and of validation figures.
- :func:`save_checkpoint` stores weights in float16 (small enough to ship)
  next to a JSON card with the command, configuration, git commit and final
  validation figures; :func:`load_checkpoint` reads them back with
  ``torch.load(..., weights_only=True)`` and explains how to recreate a file
  that is missing or corrupt.
"""

from __future__ import annotations

import csv
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import torch
from torch import nn

from bench.files import sha256_file
from bench.images import TRAIN_IMAGES, TRAIN_PHANTOM_SEED_OFFSET, load_image
from bench.measure import git_commit, library_versions
from bench.metrics import psf_snr, psnr
from bench.physics import NOLL_INDICES, NoiseLevel, blur_valid, degrade
from bench.psf_model import zernike_psf_model

__all__ = [
    "CheckpointError",
    "DegradationSampler",
    "Degradations",
    "TrainingBatch",
    "fit",
    "fit_stage",
    "load_checkpoint",
    "mean_psf_snr",
    "mean_psnr",
    "save_checkpoint",
    "standardize",
    "start_training",
    "training_card",
    "validation_set",
]

#: Seed offset of the validation sampler, so validation never repeats a training draw.
VALIDATION_SEED_OFFSET = 10**6


@dataclass(frozen=True)
class Degradations:
    r"""The training distribution :math:`\mu` of PSFs and noise (poster 001 eq. 4).

    PSF: :math:`\theta_{max} \sim \mathcal U[\text{theta\_max\_range}]`, then
    :math:`\theta_k \sim \mathcal U[-\theta_{max}, \theta_{max}]` for Noll 4-11 and
    :math:`f_c \sim \mathcal U[\text{fc\_range}]`. Noise: with probability
    ``noiseless_fraction`` quantization only, else Poisson with a gain
    log-uniform in ``gain_range`` plus Gaussian read noise uniform in
    ``sigma_range``, 16-bit quantization and salt-and-pepper. The defaults
    bracket the benchmark's documented levels (noiseless to high: gain 1000 to
    30, sigma 0.005 to 0.04) with margin on both sides, so no learned method is
    fitted to one level.
    """

    patch: int = 128
    psf_size: int = 31
    fc_range: tuple[float, float] = (0.125, 0.25)
    theta_max_range: tuple[float, float] = (0.15, 0.15)
    noiseless_fraction: float = 0.2
    gain_range: tuple[float, float] = (15.0, 3000.0)
    sigma_range: tuple[float, float] = (0.0, 0.05)
    bits: int = 16
    salt_pepper: float = 1e-5


@dataclass
class TrainingBatch:
    """A batch of training pairs, all (B, ...) tensors on the sampler's device.

    ``field`` is the sharp scene including the PSF margin (its valid blur has
    the shape of ``y``); ``x`` is its central part, aligned with ``y``.
    """

    field: torch.Tensor
    x: torch.Tensor
    y: torch.Tensor
    psf: torch.Tensor
    coeff: torch.Tensor
    fc: torch.Tensor
    theta_max: torch.Tensor


class DegradationSampler:
    """Random training pairs from the training images (seeded, reproducible).

    Parameters
    ----------
    degradations : Degradations
        Distribution of PSFs and noise.
    seed : int
        Seed of every draw (images, crops, PSFs, noise).
    device : torch.device
        Where batches are returned.
    image_size : int
        Side at which the pool's images are loaded before random crops.
    generated_per_kind : int
        How many seeded draws of each generated image (phantoms, dead leaves) the pool holds.
    psf_bank : int
        PSFs are drawn from a bank of this many, ``psf_refresh`` of which are
        replaced at every batch (:class:`bench.psf_model.ZernikePSF` draws
        about a thousand per second: a refresh of the batch size makes every PSF new).
    """

    def __init__(
        self,
        degradations: Degradations,
        *,
        seed: int,
        device: torch.device | str = "cpu",
        image_size: int = 256,
        generated_per_kind: int = 6,
        psf_bank: int = 1024,
        psf_refresh: int = 4,
    ) -> None:
        self.degradations = degradations
        self.device = torch.device(device)
        self.rng = np.random.default_rng(seed)
        field = degradations.patch + degradations.psf_size - 1
        if image_size < field:
            raise ValueError(f"image_size {image_size} is smaller than a training field of {field} px")
        self.images = self._load_pool(image_size, generated_per_kind, seed)
        self.psf_refresh = psf_refresh
        self.bank = self._draw_psfs(psf_bank)

    @staticmethod
    def _load_pool(size: int, generated_per_kind: int, seed: int) -> list[np.ndarray]:
        pool = []
        for name in TRAIN_IMAGES:
            if name.startswith("phantom-") or name == "dead-leaves":
                first = TRAIN_PHANTOM_SEED_OFFSET + seed * generated_per_kind
                pool += [load_image(name, size, seed=first + i) for i in range(generated_per_kind)]
            else:
                pool.append(load_image(name, size))
        return pool

    def _draw_psfs(self, count: int) -> dict[str, torch.Tensor]:
        d = self.degradations
        theta_max = self.rng.uniform(*d.theta_max_range, size=count)
        coeff = self.rng.uniform(-1, 1, size=(count, len(NOLL_INDICES))) * theta_max[:, None]
        fc = self.rng.uniform(*d.fc_range, size=count)
        psf = zernike_psf_model(d.psf_size)(torch.from_numpy(coeff).float(), torch.from_numpy(fc).float())
        return {
            "psf": psf.double(),
            "coeff": torch.from_numpy(coeff),
            "fc": torch.from_numpy(fc),
            "theta_max": torch.from_numpy(theta_max),
        }

    def _noise_level(self) -> NoiseLevel:
        d = self.degradations
        if self.rng.uniform() < d.noiseless_fraction:
            return NoiseLevel(bits=d.bits)
        gain = math.exp(self.rng.uniform(*np.log(d.gain_range)))
        return NoiseLevel(gain=gain, sigma=self.rng.uniform(*d.sigma_range), bits=d.bits, salt_pepper=d.salt_pepper)

    def _crop(self, size: int) -> np.ndarray:
        image = self.images[self.rng.integers(len(self.images))]
        top, left = self.rng.integers(0, image.shape[0] - size + 1), self.rng.integers(0, image.shape[1] - size + 1)
        crop = np.rot90(image[top : top + size, left : left + size], k=self.rng.integers(4))
        crop = crop[:, ::-1] if self.rng.uniform() < 0.5 else crop
        # Random contrast and offset: microscopy intensities rarely fill [0, 1].
        contrast = self.rng.uniform(0.4, 1.0)
        return self.rng.uniform(0, 1 - contrast) + contrast * crop

    def sample(self, batch_size: int) -> TrainingBatch:
        """Draw ``batch_size`` new pairs."""
        d = self.degradations
        if self.psf_refresh:
            fresh = self._draw_psfs(self.psf_refresh)
            slots = self.rng.choice(len(self.bank["psf"]), size=self.psf_refresh, replace=False)
            for key, values in fresh.items():
                self.bank[key][slots] = values
        chosen = torch.from_numpy(self.rng.integers(len(self.bank["psf"]), size=batch_size))
        picked = {key: values[chosen] for key, values in self.bank.items()}
        fields, ys = [], []
        for psf in picked["psf"][:, 0].numpy():
            field = self._crop(d.patch + d.psf_size - 1)
            fields.append(field)
            ys.append(degrade(blur_valid(field, psf), self._noise_level(), self.rng))
        margin = d.psf_size // 2
        as_batch = lambda arrays: torch.from_numpy(np.stack(arrays)[:, None]).float().to(self.device)  # noqa: E731
        field = as_batch(fields)
        return TrainingBatch(
            field=field,
            x=field[..., margin:-margin, margin:-margin],
            y=as_batch(ys),
            psf=picked["psf"].float().to(self.device),
            coeff=picked["coeff"].float().to(self.device),
            fc=picked["fc"].float().to(self.device),
            theta_max=picked["theta_max"].float().to(self.device),
        )


def standardize(y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Zero mean, unit standard deviation per image (over the last two axes); returns it, the means and the deviations.

    What a network reads, so that it does not depend on exposure; the deviation is at least 1e-6.
    """
    mean = y.mean(dim=(-2, -1), keepdim=True)
    std = y.std(dim=(-2, -1), keepdim=True).clamp(min=1e-6)
    return (y - mean) / std, mean, std


def validation_batches(
    degradations: Degradations, *, seed: int, count: int, batch_size: int, device, **sampler: int
) -> list[TrainingBatch]:
    """A fixed validation set from the training images, drawn with a disjoint seed.

    ``sampler`` takes :class:`DegradationSampler`'s keywords; its PSF bank is
    always one fixed PSF per validation image.
    """
    bank = {"psf_bank": count * batch_size, "psf_refresh": 0}
    sampler = DegradationSampler(degradations, seed=seed + VALIDATION_SEED_OFFSET, device=device, **{**sampler, **bank})
    return [sampler.sample(batch_size) for _ in range(count)]


@dataclass
class TrainingLog:
    """Rows of the CSV training log, written as they come."""

    path: Path
    rows: list[dict[str, Any]] = field(default_factory=list)

    def write(self, row: Mapping[str, Any]) -> None:
        self.rows.append(dict(row))
        columns = list(dict.fromkeys(key for r in self.rows for key in r))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            writer.writerows(self.rows)


def fit(
    model: nn.Module,
    loss: Callable[[TrainingBatch], torch.Tensor],
    sampler: DegradationSampler,
    *,
    stage: str,
    steps: int,
    batch_size: int,
    learning_rate: float,
    validate: Callable[[], Mapping[str, float]],
    validate_every: int,
    log: TrainingLog,
    progress: Callable[[Iterable[int], int, str], Iterable[int]] | None = None,
    max_minutes: float | None = None,
) -> dict[str, float]:
    """Minimise ``loss`` over fresh batches with Adam and a cosine learning rate.

    Adam with the paper's defaults (Deep-Blur sec. 2.3: lr 1e-3, betas
    (0.9, 0.999)), the learning rate decayed to zero along a cosine, gradients
    clipped at norm 1 for stability with the small batches a CPU allows.
    ``max_minutes`` stops the stage early, validated, when its time is up (a
    lent GPU's session is short). Returns the last validation figures.
    """
    parameters = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(parameters, lr=learning_rate)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    iterate = progress(range(steps), steps, stage) if progress else range(steps)
    start, running, figures = time.perf_counter(), [], {}
    for step in iterate:
        model.train()
        value = loss(sampler.sample(batch_size))
        optimizer.zero_grad(set_to_none=True)
        value.backward()
        torch.nn.utils.clip_grad_norm_(parameters, 1.0)
        optimizer.step()
        schedule.step()
        running.append(value.item())
        out_of_time = max_minutes is not None and time.perf_counter() - start > 60 * max_minutes
        if (step + 1) % validate_every == 0 or step + 1 == steps or out_of_time:
            model.eval()
            with torch.no_grad():
                figures = dict(validate())
            log.write(
                {
                    "stage": stage,
                    "step": step + 1,
                    "loss": float(np.mean(running)),
                    "learning_rate": schedule.get_last_lr()[0],
                    "minutes": (time.perf_counter() - start) / 60,
                    **figures,
                }
            )
            running = []
        if out_of_time:
            break
    model.eval()
    return figures


def start_training(config: Any, checkpoint: Path) -> tuple[dict[str, Any], torch.device, TrainingLog]:
    """Resolve a composed training configuration, seed the network initialisation, open the log beside ``checkpoint``."""
    from omegaconf import OmegaConf

    cfg = OmegaConf.to_container(config, resolve=True)
    torch.manual_seed(cfg["seed"])
    return cfg, torch.device(cfg["device"]), TrainingLog(Path(checkpoint).with_suffix(".log.csv"))


def validation_set(
    cfg: Mapping[str, Any], degradations: Degradations, device: torch.device, *, seed_shift: int = 0
) -> list[TrainingBatch]:
    """The configured validation batches (``cfg["validation"]``) for one training stage."""
    v = cfg["validation"]
    return validation_batches(
        degradations, seed=cfg["seed"] + seed_shift, count=v["batches"], batch_size=v["batch_size"], device=device,
        **cfg.get("sampler", {}),
    )  # fmt: skip


def fit_stage(
    cfg: Mapping[str, Any],
    stage: str,
    network: nn.Module,
    degradations: Degradations,
    device: torch.device,
    log: TrainingLog,
    progress: Callable[[Iterable[int], int, str], Iterable[int]] | None,
    *,
    loss: Callable[[TrainingBatch], torch.Tensor],
    validate: Callable[[], Mapping[str, float]],
    seed_shift: int = 0,
) -> dict[str, float]:
    """:func:`fit` one stage with the settings of ``cfg[stage]`` (steps, batch size, learning rate)."""
    settings = cfg[stage]
    # The optional ``sampler`` section holds DegradationSampler keywords (pool size, PSF bank).
    sampler = DegradationSampler(degradations, seed=cfg["seed"] + seed_shift, device=device, **cfg.get("sampler", {}))
    return fit(
        network, loss, sampler,
        stage=stage, steps=settings["steps"], batch_size=settings["batch_size"],
        learning_rate=settings["learning_rate"], validate=validate,
        validate_every=cfg["validation"]["every"], log=log, progress=progress,
        max_minutes=settings.get("max_minutes"),
    )  # fmt: skip


def mean_psnr(batches: Sequence[TrainingBatch], restore: Callable[[TrainingBatch], torch.Tensor]) -> float:
    """Mean PSNR (data range 1) of ``restore(batch)`` against the sharp images, over batches."""
    return _mean_score(batches, lambda batch: batch.x, restore, lambda x, x_hat: psnr(x, x_hat, data_range=1.0))


def mean_psf_snr(batches: Sequence[TrainingBatch], estimate: Callable[[TrainingBatch], torch.Tensor]) -> float:
    """Mean PSF-SNR (Deep-Blur eq. 6, :func:`bench.metrics.psf_snr`) of ``estimate(batch)`` over batches."""
    return _mean_score(batches, lambda batch: batch.psf, estimate, psf_snr)


def _mean_score(batches, reference, estimate, metric) -> float:
    """Mean of ``metric(reference, estimate)`` over every image of every batch."""
    return float(np.mean([
        metric(true, guess)
        for batch in batches
        for true, guess in zip(reference(batch)[:, 0].cpu().numpy(), estimate(batch)[:, 0].cpu().numpy())
    ]))  # fmt: skip


def training_card(config: Any, figures: Mapping[str, float], log: TrainingLog) -> dict[str, Any]:
    """What a checkpoint's JSON card records besides what :func:`save_checkpoint` adds."""
    from omegaconf import OmegaConf

    last_of_stage = {row["stage"]: row for row in log.rows}
    return {
        "command": f"bench train {config.method} preset={config.preset}",
        "config": OmegaConf.to_container(config, resolve=True),
        "validation": dict(figures),
        "training_minutes": round(sum(row["minutes"] for row in last_of_stage.values()), 1),
        "log": log.path.name,
    }


class CheckpointError(RuntimeError):
    """A checkpoint is missing, unreadable or does not match the network."""


#: Largest checkpoint file written, MiB: the project ships files of at most 16 MiB.
MAX_FILE_MIB = 15.0


def save_checkpoint(
    path: Path,
    networks: Mapping[str, nn.Module],
    *,
    architecture: Mapping[str, Any],
    card: Mapping[str, Any],
    max_file_mib: float = MAX_FILE_MIB,
) -> Path:
    """Write the networks' weights in float16 and their ``architecture`` to ``path``, and a JSON card beside it.

    ``architecture`` (plain numbers, strings and lists) is what rebuilds the
    networks at load time. Weights beyond ``max_file_mib`` go to part files
    ``<stem>.part<i>.pt`` beside ``path``, whose names and sha256 ``path``
    records, so a paper-sized network ships in files small enough for the
    repository. The card gets every file's sha256, parameter counts, git
    commit and library versions on top of what the caller gives (command,
    configuration, validation figures).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    weights = {
        name: {key: (t.half() if t.is_floating_point() else t).cpu() for key, t in net.state_dict().items()}
        for name, net in networks.items()
    }
    parts = _split(weights, int(max_file_mib * 2**20))
    part_paths = [path.with_name(f"{path.stem}.part{i}.pt") for i in range(1, len(parts))] if len(parts) > 1 else []
    for part_path, part in zip(part_paths, parts[1:]):
        torch.save({"weights": part}, part_path)
    torch.save(
        {
            "architecture": dict(architecture),
            "weights": parts[0],
            "parts": {p.name: sha256_file(p) for p in part_paths},
        },
        path,
    )
    files = [path, *part_paths]
    versions = library_versions()
    full_card = {
        **card,
        "file": path.name,
        "sha256": sha256_file(path),
        "size_mib": round(sum(f.stat().st_size for f in files) / 2**20, 2),
        **({"parts": [p.name for p in part_paths]} if part_paths else {}),
        "parameters": {name: sum(p.numel() for p in net.parameters()) for name, net in networks.items()},
        "git_commit": git_commit() or "unknown",
        "versions": {lib: versions[lib] or "not installed" for lib in ("deconv-bench", "torch", "deepinv")},
    }
    path.with_suffix(".json").write_text(json.dumps(full_card, indent=2, default=str) + "\n")
    return path


def _split(
    weights: Mapping[str, Mapping[str, torch.Tensor]], max_bytes: int
) -> list[dict[str, dict[str, torch.Tensor]]]:
    """Group the tensors, in order, into parts of at most ``max_bytes`` each (the first holds at least one)."""
    parts: list[dict[str, dict[str, torch.Tensor]]] = [{}]
    size = 0
    for name, state in weights.items():
        for key, tensor in state.items():
            nbytes = tensor.numel() * tensor.element_size()
            if nbytes > max_bytes:
                raise ValueError(
                    f"tensor {name}.{key} alone takes {nbytes / 2**20:.1f} MiB, over {max_bytes / 2**20:.1f}"
                )
            if size + nbytes > max_bytes and size:
                parts.append({})
                size = 0
            parts[-1].setdefault(name, {})[key] = tensor
            size += nbytes
    return parts


def load_checkpoint(
    path: Path, build: Callable[[Mapping[str, Any]], Mapping[str, nn.Module]], *, recreate: str
) -> dict[str, nn.Module]:
    """Rebuild the networks saved by :func:`save_checkpoint` (in eval mode, float32).

    ``build`` maps the stored architecture to freshly initialised networks;
    ``recreate`` is the command that rebuilds the file. Every error names the
    file (or the part file) and that command.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"missing checkpoint {path}: recreate it with `{recreate}`")
    try:
        stored = torch.load(path, map_location="cpu", weights_only=True)
        weights = {name: dict(state) for name, state in stored["weights"].items()}
        for part_name, digest in stored.get("parts", {}).items():
            for name, state in _load_part(path.with_name(part_name), digest, recreate).items():
                weights.setdefault(name, {}).update(state)
        networks = dict(build(stored["architecture"]))
        for name, net in networks.items():
            reference = net.state_dict()
            net.load_state_dict({key: t.to(reference[key].dtype) for key, t in weights[name].items()})
            net.eval()
    except CheckpointError:
        raise
    except Exception as error:
        raise CheckpointError(
            f"checkpoint {path} is corrupt or does not match its networks "
            f"({type(error).__name__}: {str(error).strip().splitlines()[0]}); "
            f"recreate it with `{recreate}`"
        ) from error
    return networks


def _load_part(path: Path, digest: str, recreate: str) -> dict[str, dict[str, torch.Tensor]]:
    """The weights of one part file, after checking it is there and has the sha256 its checkpoint recorded."""
    if not path.is_file():
        raise CheckpointError(f"missing checkpoint part {path}: recreate it with `{recreate}`")
    if sha256_file(path) != digest:
        raise CheckpointError(f"checkpoint part {path} is corrupt (sha256 differs): recreate it with `{recreate}`")
    return torch.load(path, map_location="cpu", weights_only=True)["weights"]
