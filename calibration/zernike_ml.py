"""Choose the settings of the ``zernike-ml`` baseline on training images (never on the benchmark's test images).

Runs the method with each combination of the given parameter values on
``fresnel-zernike`` cases drawn from the training split (``images="train"``,
dataset seeds ``--seeds``, the noise levels of ``bench/conf/config.yaml``) and
prints, per setting, the mean PSF-SNR per noise level and the seconds per
image. The figures in the method's docstring come from::

    python calibration/zernike_ml.py --stride 2 --levels noiseless,high --tracks blind
    python calibration/zernike_ml.py --stride 2 --levels noiseless,high --tracks blind+optics iterations=40,60 starts=10,16

(the second was run for the combinations 60/16, 60/10 and 40/16 only).

Each line: ``track window=.. starts=.. ...  noiseless .. | high ..  (.. s/image)``.
"""

from __future__ import annotations

import argparse
import itertools
import time

import numpy as np
import torch

from bench.api import Optics
from bench.config import compose
from bench.datasets.fresnel_zernike import Dataset
from bench.methods.zernike_ml import Method
from bench.score.psf import psf_snr


def training_cases(seeds: list[int], levels: list[str], stride: int) -> list:
    """Every ``stride``-th training image of each seed, at each noise level (the image's cases stay together)."""
    noise_levels = compose().noise_levels
    cases = []
    for seed in seeds:
        dataset = Dataset(images="train", seed=seed, noise=levels, noise_levels=noise_levels)
        images = dataset.images[::stride]
        cases += [dataset.make_case(f"{image}-{level}") for image in images for level in levels]
    return cases


def evaluate(params: dict, cases: list) -> tuple[dict[str, float], float]:
    """Mean PSF-SNR per noise level and mean seconds per image of one setting."""
    method = Method(**params)
    scores: dict[str, list[float]] = {}
    start = time.perf_counter()
    for case in cases:
        y = torch.from_numpy(case.y)[None, None]
        optics = Optics(fc=case.meta["fc"]) if method.uses_optics() else None
        with torch.no_grad():
            result = method.run(y, None, optics=optics)
        scores.setdefault(case.noise, []).append(psf_snr(case.psf, result.psf_hat[0, 0].numpy()))
    seconds = (time.perf_counter() - start) / len(cases)
    return {level: float(np.mean(values)) for level, values in scores.items()}, seconds


def parse_grid(items: list[str]) -> list[dict]:
    """``key=v1,v2`` items into the list of every combination, values parsed as int, float or str."""

    def value(text: str):
        for kind in (int, float):
            try:
                return kind(text)
            except ValueError:
                pass
        return text

    axes = {}
    for item in items:
        if "=" not in item:
            raise SystemExit(f"grid items look like key=v1,v2 (for example window=32,64), got {item!r}")
        key, values = item.split("=", 1)
        axes[key] = [value(v) for v in values.split(",")]
    return [dict(zip(axes, combination)) for combination in itertools.product(*axes.values())]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("grid", nargs="*", help="parameter values to combine, key=v1,v2 (Method's keywords)")
    parser.add_argument("--seeds", default="1", help="dataset seeds, comma-separated (default 1)")
    parser.add_argument("--levels", default="noiseless,low,medium,high", help="noise levels, comma-separated")
    parser.add_argument("--stride", type=int, default=1, help="use every n-th training image (default 1: all 19)")
    parser.add_argument("--tracks", default="blind+optics,blind", help="tracks to run, comma-separated")
    args = parser.parse_args()
    torch.set_num_threads(min(2, torch.get_num_threads()))
    cases = training_cases([int(s) for s in args.seeds.split(",")], args.levels.split(","), args.stride)
    for track, params in itertools.product(args.tracks.split(","), parse_grid(args.grid) or [{}]):
        scores, seconds = evaluate({"track": track, **params}, cases)
        setting = " ".join(f"{key}={value}" for key, value in params.items())
        figures = " | ".join(f"{level} {score:5.2f}" for level, score in scores.items())
        print(f"{track:12s} {setting:40s} {figures}  ({seconds:.2f} s/image)", flush=True)


if __name__ == "__main__":
    main()
