"""Is zernike-ml limited by its search or by its image model? Fit from random starts and from the true coefficients.

On training images only (fresnel-zernike, images="train", seed 1, every ``--stride``-th case, f_c given): for
each case the best of the method's random starts and a single start at the true Zernike coefficients, both
run to convergence. If the truth-started fit kept a lower negative log-likelihood, a better start (a network's
estimate) would help; if it drifts away to a likelihood as good as the random starts', the optimum itself is
wrong and only a better image model can help.

    python calibration/zernike_ml_truth_start.py --stride 3
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

import bench  # noqa: F401  (torchvision fix before deepinv)
from bench.datasets.fresnel_zernike import Dataset
from bench.methods.zernike_ml import Method
from bench.score.psf import psf_snr

LEVELS = {
    "noiseless": {"gain": None, "sigma": 0.0},
    "low": {"gain": 1000, "sigma": 0.005, "salt_pepper": 1e-5},
    "medium": {"gain": 100, "sigma": 0.02, "salt_pepper": 1e-5},
    "high": {"gain": 30, "sigma": 0.04, "salt_pepper": 1e-5},
}


def best_reflection_snr(truth: np.ndarray, estimate: np.ndarray) -> float:
    """PSF-SNR at the better of the estimate and its point reflection (no power spectrum tells them apart)."""
    return max(psf_snr(truth, estimate), psf_snr(truth, estimate[::-1, ::-1].copy()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stride", type=int, default=3, help="use every n-th training case")
    args = parser.parse_args()
    torch.set_num_threads(1)
    dataset = Dataset(images="train", seed=1, noise=list(LEVELS), noise_levels=LEVELS)
    method = Method()
    rows: dict[str, list[tuple[float, float, float, float]]] = {}
    for case_id in dataset.case_ids()[:: args.stride]:
        case = dataset.make_case(case_id)
        y = torch.from_numpy(case.y)[None, None].double()
        truth = torch.tensor([case.meta["zernike_coeff"]], dtype=torch.float64)
        fits = [method._fit(y, case.meta["fc"], method.window), method._fit(y, case.meta["fc"], method.window, truth)]
        row = [
            value for psf, _, nll in fits for value in (best_reflection_snr(case.psf, psf[0, 0].double().numpy()), nll)
        ]
        rows.setdefault(case.noise, []).append(tuple(row))
    for level, values in rows.items():
        v = np.array(values)
        print(
            f"{level}: random starts PSF-SNR {v[:, 0].mean():.2f} dB, NLL {v[:, 1].mean():.4f} | truth start "
            f"PSF-SNR {v[:, 2].mean():.2f} dB, NLL {v[:, 3].mean():.4f} | truth start lower NLL in "
            f"{int((v[:, 3] < v[:, 1]).sum())}/{len(v)} cases"
        )


if __name__ == "__main__":
    main()
