"""Refit the noise rules of :mod:`bench.rules` on training images only, and print them next to the shipped ones.

Every method that derives a weight or an iteration count from its input's
noise does so through a :class:`bench.rules.NoiseRule`,
:math:`v = c \\max(\\hat\\sigma, \\sigma_0)^p`. This script draws
``fresnel-zernike`` cases from the training split (``images="train"``,
dataset seed ``--seed``, every ``--stride``-th image, the noise levels of
``bench/conf/config.yaml``), runs each method with its parameter fixed to
each value of a grid, and keeps the PSNR of every (case, value). A rule is
then scored without rerunning anything: its value for a case is read off
that case's PSNR curve (linear in the log of the value). The scale :math:`c`
and the power :math:`p` (the shipped power and one step of ``--power-step``
either side) that maximise the mean PSNR are the refit; the floor
:math:`\\sigma_0` and the cap stay as shipped.

Each line prints the shipped rule and its mean PSNR, the best scale at the
shipped power, and the refit (scale and power) with its mean PSNR. A refit reproduces the shipped rule when the shipped rule's mean PSNR
is within ``--tolerance`` dB (default 0.05) of the refit's: the objective is
flat near its optimum, so the constants themselves can move while the
restorations do not. A rule outside the tolerance is reported as
``differs``; the shipped constants are never changed by this script.

Examples::

    python calibration/noise_rules.py                                  # every rule, 128x128, every 2nd image
    python calibration/noise_rules.py --rules wiener.weight,tikhonov.weight --size 256 --stride 1

The rules were first fitted at 256x256 on the 18 training images at the
"provisional" noise levels of the time, which the current levels replaced:
expect small differences at other sizes and levels.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from bench.api import Case
from bench.config import compose
from bench.datasets._synthetic import SyntheticDataset
from bench.metrics import psnr
from bench.operators import estimate_noise_std
from bench.registry import load_registry
from bench.rules import RULES, NoiseRule


@dataclass(frozen=True)
class Fit:
    """How to refit one rule: the method and the parameter it sets, the values to try, fixed options."""

    method: str
    parameter: str
    grid: tuple[float, ...]
    options: dict[str, object] = field(default_factory=dict)
    #: An iteration count: the rule's value is rounded and capped at ``max_iter`` (1000, the methods' default).
    count: bool = False
    #: The method divides the rule's value by the image's mean (variational's Kullback-Leibler term).
    per_mean: bool = False


_WEIGHTS = tuple(float(v) for v in np.logspace(-5, 1, 19))
_LAMBDAS = tuple(float(v) for v in np.logspace(-7, -1, 13))
_COUNTS = (1, 2, 3, 5, 8, 13, 20, 32, 50, 80, 125, 200, 320, 500, 1000)

#: The refit of every rule of bench.rules.RULES (richardson_lucy_tv.tv_weight is not refitted here:
#: it was chosen among c in {0.1, 0.3, 1} with the count refitted for each, a joint search).
FITS: dict[str, Fit] = {
    "wiener.weight": Fit("wiener", "weight", _WEIGHTS),
    "tikhonov.weight": Fit("tikhonov", "weight", _WEIGHTS),
    "richardson_lucy.num_iter": Fit("richardson_lucy", "num_iter", _COUNTS, count=True),
    "richardson_lucy_tv.num_iter": Fit("richardson_lucy_tv", "num_iter", _COUNTS, count=True),
    "pylops_tv.lam": Fit("pylops_tv", "lam", _LAMBDAS),
    "pylops_tv_haar.lam": Fit("pylops_tv_haar", "lam", _LAMBDAS),
    "pylops_l1_haar.lam": Fit("pylops_l1_haar", "lam", _LAMBDAS),
    **{
        f"variational[data={data},prior={prior}].lam": Fit(
            "variational", "lam", _LAMBDAS, {"data": data, "prior": prior}, per_mean=data == "kl"
        )
        for data, prior in (("l2", "tv"), ("kl", "tv"), ("kl", "l1"), ("l2", "l1"))
    },
}
MAX_ITER = 1000


def training_cases(*, size: int, stride: int, seed: int, levels: Sequence[str]) -> list[Case]:
    """Every ``stride``-th training image at each noise level (never a test image)."""
    noise_levels = compose().noise_levels
    data = SyntheticDataset(images="train", size=size, seed=seed, noise=list(levels), noise_levels=noise_levels)
    return [data.make_case(f"{image}-{level}") for image in data.images[::stride] for level in levels]


def psnr_table(fit: Fit, cases: Sequence[Case]) -> np.ndarray:
    """(cases, grid) PSNR of the method run with its parameter at each grid value."""
    method_cls = load_registry().method(fit.method)
    table = np.empty((len(cases), len(fit.grid)))
    for j, value in enumerate(fit.grid):
        method = method_cls(**fit.options, **{fit.parameter: int(value) if fit.count else value})
        for i, case in enumerate(cases):
            y, psf = torch.from_numpy(case.y)[None, None], torch.from_numpy(case.psf)[None, None]
            with torch.no_grad():
                x_hat = method.run(y, psf).x_hat[0, 0].numpy()
            table[i, j] = psnr(case.x, x_hat, data_range=1.0)
    return table


def mean_psnr(rule: NoiseRule, fit: Fit, sigmas: np.ndarray, means: np.ndarray, table: np.ndarray) -> float:
    """Mean PSNR of ``rule`` over the cases, each read off its PSNR curve at the value the method would use."""
    log_grid = np.log(np.asarray(fit.grid, dtype=float))
    scores = []
    for sigma, mean, curve in zip(sigmas, means, table, strict=True):
        value = rule.iterations(sigma, max_iter=MAX_ITER) if fit.count else rule(sigma)
        value = value / max(mean, 1e-3) if fit.per_mean else value
        scores.append(np.interp(math.log(value), log_grid, curve))
    return float(np.mean(scores))


def refit(
    shipped: NoiseRule, fit: Fit, sigmas: np.ndarray, means: np.ndarray, table: np.ndarray, powers: Sequence[float]
) -> tuple[NoiseRule, float]:
    """The (scale, power in ``powers``) of best mean PSNR, the floor and cap as shipped; and that PSNR."""
    best, best_score = shipped, -math.inf
    for power in powers:
        for scale in shipped.scale * np.logspace(-1.5, 1.5, 121):
            candidate = replace(shipped, scale=float(scale), power=power)
            score = mean_psnr(candidate, fit, sigmas, means, table)
            if score > best_score + 1e-9:
                best, best_score = candidate, score
    return best, best_score


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", default="all", help=f"comma-separated names, or all: {', '.join(FITS)}")
    parser.add_argument("--size", type=int, default=128, help="image side in pixels (default 128)")
    parser.add_argument("--stride", type=int, default=2, help="every n-th training image (default 2)")
    parser.add_argument("--seed", type=int, default=1, help="dataset seed of the training cases (default 1)")
    parser.add_argument("--levels", default="noiseless,low,medium,high", help="noise levels, comma-separated")
    parser.add_argument(
        "--power-step", type=float, default=0.25, help="powers tried: shipped and +- this (default 0.25)"
    )
    parser.add_argument("--tolerance", type=float, default=0.05, help="dB: shipped within this of the refit reproduces")
    args = parser.parse_args(argv)
    # Commas inside brackets belong to a name (variational[data=l2,prior=tv].lam).
    names = list(FITS) if args.rules == "all" else [n.strip() for n in re.split(r",(?![^\[]*\])", args.rules)]
    unknown = [name for name in names if name not in FITS]
    if unknown:
        print(f"unknown rule(s) {unknown}; choose among {', '.join(FITS)}", file=sys.stderr)
        return 2
    cases = training_cases(size=args.size, stride=args.stride, seed=args.seed, levels=args.levels.split(","))
    sigmas = np.array([estimate_noise_std(case.y) for case in cases])
    means = np.array([float(case.y.mean()) for case in cases])
    print(f"{len(cases)} training cases ({args.size}x{args.size}, seed {args.seed}, levels {args.levels})")
    print(
        f"{'rule':38s} {'shipped c, p':>16s} {'PSNR':>7s}   {'c at same p':>9s}   {'refit c, p':>16s} {'PSNR':>7s}  verdict"
    )
    differs = 0
    for name in names:
        fit, shipped = FITS[name], RULES[name]
        start = time.perf_counter()
        table = psnr_table(fit, cases)
        steps = (shipped.power - args.power_step, shipped.power, shipped.power + args.power_step)
        same_power, _ = refit(shipped, fit, sigmas, means, table, [shipped.power])
        found, found_score = refit(shipped, fit, sigmas, means, table, steps)
        shipped_score = mean_psnr(shipped, fit, sigmas, means, table)
        verdict = "reproduced" if found_score - shipped_score <= args.tolerance else "differs (shipped kept)"
        differs += verdict != "reproduced"
        print(
            f"{name:38s} {shipped.scale:9.4g}, {shipped.power:5.2f} {shipped_score:7.2f}   {same_power.scale:9.4g}   "
            f"{found.scale:9.4g}, {found.power:5.2f} {found_score:7.2f}  {verdict} ({time.perf_counter() - start:.0f} s)",
            flush=True,
        )
    return 1 if differs else 0


if __name__ == "__main__":
    sys.exit(main())
