"""How far can a power-spectrum identification go? A Whittle fit told the true sharp image's spectrum.

On training images only (fresnel-zernike, images="train", seed 1, every ``--stride``-th case, f_c given). The
expected Welch spectrum of ``y`` for candidate coefficients theta is computed from the *true* sharp field blurred
by the candidate PSF, plus the true noise variance, so the image model is exact and only theta is fitted (Adam on
the Whittle negative log-likelihood, through :class:`bench.physics.psf_model.ZernikePSF`). Starts: the truth; the
``psf-id-spectral`` network's estimate and its point reflection; the truth perturbed by N(0, s^2) per mode, two
draws per scale s. Each start's result is scored by PSF-SNR at the better reflection; a group of starts by its
lowest-NLL member.

What it answers: from the truth, how precise the spectrum is (no phase-blind method can do better); from
perturbed starts, how wide the basin around the truth is; from the network, whether the shipped estimate lies in
that basin, i.e. whether a local fit with a good image model would refine it.

``--multistart`` asks instead whether several starts find the truth's basin without knowing it: the network's
estimate and its reflection, those plus 16 starts around the estimate (N(0, 0.06^2) per mode, half of them
reflected), and 16 starts drawn uniformly in the dataset's +-theta_max. Each group is scored by its lowest-NLL
member, with that NLL minus the NLL of the fit from the truth (0: the group found the truth's basin or one as
likely). Its draws are seeded per case, so ``--offset`` splits a run across processes without changing it.

``--image-model welch`` replaces the exact image model by the best a stationary one can be: the expected Welch
spectrum is the sharp image's own Welch spectrum (same 64-px tiles, over the region ``y`` sees) times the
candidate's |OTF|^2, plus the noise. It is what a network predicting the sharp spectrum from ``y`` would give
at best; the exact model differs from it by the phases, i.e. by where in each tile the structures lie.

    python calibration/spectrum_oracle.py --stride 3
    python calibration/spectrum_oracle.py --multistart --stride 6
    python calibration/spectrum_oracle.py --multistart --image-model welch --stride 3
"""

from __future__ import annotations

import argparse
from typing import Callable

import numpy as np
import torch
from zernike_ml_truth_start import LEVELS, best_reflection_snr

import bench  # noqa: F401  (torchvision fix before deepinv)
from bench.datasets.fresnel_zernike import Dataset
from bench.physics.degradation import blur_valid
from bench.solve.identification import ODD_MODES, otf_power, welch_power
from bench.methods.psf_id_spectral import Method as Spectral
from bench.physics.psf_model import zernike_psf_model

PERTURBATIONS = (0.02, 0.04, 0.07)
DRAWS = 2
#: --multistart: starts around the network's estimate (spread per mode, waves) and starts drawn in +-theta_max.
CLOUD_SPREAD, CLOUD_STARTS, WIDE_STARTS = 0.06, 16, 16


def valid_blur(field_spectrum: torch.Tensor, psfs: torch.Tensor, side: int) -> torch.Tensor:
    """(B, 1, side - k + 1, ...) valid convolutions of a field (given by its rfft2) with (B, 1, k, k) PSFs."""
    k = psfs.shape[-1]
    canvas = torch.zeros(len(psfs), side, side, dtype=psfs.dtype)
    canvas[:, :k, :k] = psfs[:, 0]
    full = torch.fft.irfft2(field_spectrum * torch.fft.rfft2(canvas), s=(side, side))
    return full[:, None, k - 1 :, k - 1 :]


def blurred_power(field: np.ndarray, image_model: str, side: int) -> Callable[[torch.Tensor], torch.Tensor]:
    """The expected Welch spectrum of a field blurred by (B, 1, k, k) PSFs, by the ``exact`` or ``welch`` model."""
    sharp = torch.from_numpy(field)
    if image_model == "exact":
        field_spectrum = torch.fft.rfft2(sharp)
        return lambda psfs: welch_power(valid_blur(field_spectrum, psfs, field.shape[0]))
    margin = (field.shape[0] - side) // 2  # the sharp pixels under y's, (k - 1) / 2 in from each side
    sharp_power = welch_power(sharp[None, None, margin : margin + side, margin : margin + side])
    return lambda psfs: sharp_power * otf_power(psfs, sharp_power.shape[-1])


def fit(
    y: torch.Tensor,
    field: np.ndarray,
    fc: float,
    noise_var: float,
    starts: torch.Tensor,
    iterations: int,
    image_model: str = "exact",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Whittle fit of the coefficients from each start with the given image model: (PSFs, NLL per start)."""
    model = zernike_psf_model(31, dtype=torch.float64)
    power = blurred_power(field, image_model, y.shape[-1])
    observed = welch_power(y)[0]
    fcs = torch.full((len(starts),), fc, dtype=torch.float64)
    theta = starts.clone().requires_grad_(True)
    optimizer = torch.optim.Adam([theta], lr=0.005)

    def nll() -> tuple[torch.Tensor, torch.Tensor]:
        psfs = model(theta, fcs)
        expected = power(psfs) + noise_var
        return (expected.log() + observed / expected).mean(dim=(-2, -1)), psfs

    for iteration in range(iterations):
        if iteration == iterations // 2:
            optimizer.param_groups[0]["lr"] = 0.001
        optimizer.zero_grad()
        nll()[0].sum().backward()
        optimizer.step()
    with torch.no_grad():
        values, psfs = nll()
    return psfs, values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stride", type=int, default=3, help="use every n-th training case")
    parser.add_argument("--offset", type=int, default=0, help="start at the n-th training case")
    parser.add_argument("--iterations", type=int, default=150, help="Adam steps per fit")
    parser.add_argument("--multistart", action="store_true", help="fit from many starts instead (see above)")
    parser.add_argument(
        "--image-model",
        choices=("exact", "welch"),
        default="exact",
        help="the sharp image's field or its Welch spectrum",
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    dataset = Dataset(images="train", seed=1, noise=list(LEVELS), noise_levels=LEVELS)
    spectral = Spectral(track="blind+optics")
    spectral.prepare(torch.device("cpu"))
    network = spectral.networks["identification"]
    if args.multistart:
        groups = [f"{g} (NLL - NLL from truth, PSF-SNR)" for g in ("network", "network + cloud", "wide", "truth")]
    else:
        groups = ["network alone", "fit from the network", "fit from the truth"]
        groups += [f"fit from truth + N(0, {s}^2)" for s in PERTURBATIONS]
    rows: dict[str, list[list[float]]] = {}
    case_ids = dataset.case_ids()
    for index in range(args.offset, len(case_ids), args.stride):
        case_id = case_ids[index]
        case = dataset.make_case(case_id)
        image, level = case.meta["image"], case.meta["noise"]
        field, psf, coeff, fc = dataset._scene(image)
        y = torch.from_numpy(case.y)[None, None].double()
        with torch.no_grad():
            estimate = network.physical(network(y.float(), torch.tensor([fc])))[0].double()
        reflected = estimate.clone()
        reflected[:, list(ODD_MODES)] *= -1
        truth = torch.from_numpy(coeff)[None]
        if args.multistart:
            draws = torch.Generator().manual_seed(index)
            cloud = estimate + CLOUD_SPREAD * torch.randn(
                CLOUD_STARTS, len(coeff), generator=draws, dtype=torch.float64
            )
            cloud[CLOUD_STARTS // 2 :, list(ODD_MODES)] *= -1
            wide = torch.rand(WIDE_STARTS, len(coeff), generator=draws, dtype=torch.float64) * 2 - 1
            starts = torch.cat([estimate, reflected, truth, cloud, dataset.theta_max * wide])
            members = [[0, 1], [0, 1, *range(3, 3 + CLOUD_STARTS)], list(range(3 + CLOUD_STARTS, len(starts))), [2]]
        else:
            perturbed = [truth + s * torch.randn(DRAWS, len(coeff), dtype=torch.float64) for s in PERTURBATIONS]
            starts = torch.cat([estimate, reflected, truth, *perturbed])
            members = [[0, 1], [2]] + [[3 + DRAWS * i + d for d in range(DRAWS)] for i in range(len(PERTURBATIONS))]
        noise = LEVELS[level]
        blurred_mean = float(blur_valid(field, psf).mean())  # the datasets' own blur
        noise_var = (blurred_mean / noise["gain"] if noise["gain"] else 0.0) + noise["sigma"] ** 2 + 1 / (12 * 65535**2)
        psfs, nll = fit(y, field, fc, noise_var, starts, args.iterations, args.image_model)
        scores = [best_reflection_snr(psf, p[0].numpy()) for p in psfs]
        best = [min(group, key=lambda i: float(nll[i])) for group in members]
        if args.multistart:
            row = [v for i in best for v in (float(nll[i] - nll[2]), scores[i])]
        else:
            alone = zernike_psf_model(31, dtype=torch.float64)(estimate, torch.tensor([fc], dtype=torch.float64))
            row = [best_reflection_snr(psf, alone[0, 0].detach().numpy())] + [scores[i] for i in best]
        rows.setdefault(level, []).append(row)
        print(case_id, " ".join(f"{v:6.2f}" for v in row), flush=True)
    print("means per noise level (PSF-SNR in dB, best reflection); columns:", " | ".join(groups))
    for level, values in rows.items():
        print(f"{level:>10} (n={len(values)}): " + " | ".join(f"{v:6.2f}" for v in np.mean(values, axis=0)))


if __name__ == "__main__":
    main()
