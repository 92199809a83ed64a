r"""Refit the noise rules of :mod:`bench.solve.rules` on training images only, and print them next to the shipped ones.

Every method that derives a weight or an iteration count from its input's
noise does so through a :class:`bench.solve.rules.NoiseRule`,
:math:`v = c \max(\hat\sigma, \sigma_0)^p`. This script draws
``fresnel-zernike`` cases from the training split (``images="train"``,
dataset seed ``--seed``, every ``--stride``-th image, the noise levels of
``bench/conf/config.yaml``) and keeps, per case, a PSNR curve: for a
weight, the method run with the shipped rule's value for that case times
each of :data:`MULTIPLIERS`; for an iteration count, every iterate of one
Richardson-Lucy solve up to :data:`MAX_ITER`. A rule is then scored without
rerunning anything: its value for a case is read off that case's curve (a
cubic spline in the log of the weight; the count's own iterate). The scale :math:`c`
and the power :math:`p` (the shipped power and one step of ``--power-step``
either side) that maximise the mean PSNR are the refit; the floor
:math:`\sigma_0` and the cap stay as shipped.

``richardson_lucy_tv`` has two rules, its TV weight and its iteration count,
and the best count depends on the weight: its table has a third axis, the
scale of the weight rule (the shipped one times 1/3, 1 and 3). The count rule
is refitted at the shipped weight; the weight rule is refitted jointly, the
count rule refitted at each weight scale and the best pair kept.

**Tolerance.** A refit reproduces a shipped rule when the shipped rule's mean
PSNR is within the tolerance of the refit's. The gain of the refit is paired:
per training image, the mean over the noise levels of (refit - shipped) PSNR.
Its mean's standard error over the images says how much the gain would move
with another draw of training images of the same kind; a gain below twice
that (about a 95 % one-sided bound) is not a finding the training set
supports, and the shipped rule stays. The tolerance is that bound, and never
less than 0.01 dB, the precision of the published tables. A rule outside it
is ``differs``: update its constants in ``bench/solve/rules.py`` to the refit (and
regenerate the published numbers of that method) or say why not.

Examples::

    python calibration/noise_rules.py                       # every rule, 128x128, all 19 training images
    python calibration/noise_rules.py --rule wiener.weight --rule tikhonov.weight --stride 3
    python calibration/noise_rules.py --rule richardson_lucy_tv.tv_weight --tables /tmp/psnr-tables

The shipped rules were fitted at 256x256 at earlier ("provisional") noise
levels; the refit runs at 128x128, where the PSNR tables cost a quarter.
They are the slow part: on one quiet core seconds for the closed forms, a few
minutes for Richardson-Lucy, some minutes per split-Bregman or variational
rule (9 solves per case). ``--tables DIR`` keeps them, so a rerun reuses them.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from scipy.interpolate import CubicSpline

from bench.api import Case
from bench.config import compose
from bench.datasets._synthetic import SyntheticDataset
from bench.score.image import psnr
from bench.solve.operators import estimate_noise_std
from bench.registry import load_registry
from bench.solve.rules import RULES, NoiseRule
from bench.solve.solvers import richardson_lucy

#: Least tolerance, dB: the precision of the published tables.
MIN_TOLERANCE_DB = 0.01


@dataclass(frozen=True)
class Fit:
    """How to refit one rule: the method and the parameter it sets, fixed options, how the method scales it."""

    method: str
    parameter: str
    options: dict[str, object] = field(default_factory=dict)
    #: An iteration count of Richardson-Lucy: the table holds the PSNR of every iterate up to :data:`MAX_ITER`.
    count: bool = False
    #: The method divides the rule's value by the image's mean (variational's Kullback-Leibler term).
    per_mean: bool = False
    #: The TV weight of ``richardson_lucy_tv``, set by its rule at each of these multiples of the shipped scale
    #: (the table's middle axis). ``joint``: the fitted rule is the weight, refitted with the count.
    tv_scales: tuple[float, ...] = (1.0,)
    joint: bool = False

    @property
    def parameter_rule(self) -> str:
        """The ``RULES`` key of the parameter the table varies (the count, for a joint fit)."""
        return f"{self.method}{_options_label(self.options)}.{self.parameter}"

    @property
    def rule_name(self) -> str:
        """The ``RULES`` key this fit refits."""
        return f"{self.method}.tv_weight" if self.joint else self.parameter_rule


def _options_label(options: dict[str, object]) -> str:
    return f"[{','.join(f'{k}={v}' for k, v in options.items())}]" if options else ""


#: Weights tried per case: the shipped rule's value for that case times these (a factor 2 apart).
MULTIPLIERS = tuple(2.0**k for k in range(-4, 5))
_LOG_MULTIPLIERS = np.log(MULTIPLIERS)
#: The methods' default cap on a derived iteration count.
MAX_ITER = 1000
#: TV weights of richardson_lucy_tv tried, times the shipped rule's (about the first fit's 0.1, 0.3, 1 x sigma);
#: both of its rules are read off the one table.
_TV_SCALES = (1 / 3, 1.0, 3.0)

_FIT_LIST = [
    Fit("wiener", "weight"),
    Fit("tikhonov", "weight"),
    Fit("richardson_lucy", "num_iter", count=True),
    Fit("richardson_lucy_tv", "num_iter", count=True, tv_scales=_TV_SCALES),
    Fit("richardson_lucy_tv", "num_iter", count=True, tv_scales=_TV_SCALES, joint=True),
    Fit("pylops_tv", "lam"),
    Fit("pylops_tv_haar", "lam"),
    Fit("pylops_l1_haar", "lam"),
    *(
        Fit("variational", "lam", {"data": data, "prior": prior}, per_mean=data == "kl")
        for data, prior in (("l2", "tv"), ("kl", "tv"), ("kl", "l1"), ("l2", "l1"))
    ),
]
#: The refit of every rule of bench.solve.rules.RULES, by its name there.
FITS: dict[str, Fit] = {fit.rule_name: fit for fit in _FIT_LIST}


def training_cases(*, size: int, stride: int, seed: int, levels: Sequence[str]) -> list[Case]:
    """Every ``stride``-th training image at each noise level (never a test image)."""
    noise_levels = compose().noise_levels
    data = SyntheticDataset(images="train", size=size, seed=seed, noise=list(levels), noise_levels=noise_levels)
    return [data.make_case(f"{image}-{level}") for image in data.images[::stride] for level in levels]


def rule_value(rule: NoiseRule, fit: Fit, sigma: float, mean: float) -> float:
    """What the method would use for a case: the rule's value (a count, or divided by the mean where it does that)."""
    if fit.count:
        return float(rule.iterations(sigma, max_iter=MAX_ITER))
    return rule(sigma) / max(mean, 1e-3) if fit.per_mean else rule(sigma)


def psnr_table(fit: Fit, cases: Sequence[Case], sigmas: np.ndarray, means: np.ndarray) -> np.ndarray:
    """(cases, tv scales, grid) PSNR: every iterate up to :data:`MAX_ITER` of a count, else each :data:`MULTIPLIERS`.

    A count is read off one solve per case (:func:`bench.solve.solvers.richardson_lucy` with the method's own
    boundary and TV smoothing, ``on_iteration``); a weight is the method run with its parameter fixed to
    the shipped rule's value for the case times each multiplier.
    """
    method_cls = load_registry().method(fit.method)
    if fit.count:
        table = np.empty((len(cases), len(fit.tv_scales), MAX_ITER))
        defaults = method_cls(**fit.options)
        tv_rule = RULES.get(f"{fit.method}.tv_weight")
        for i, (case, sigma) in enumerate(zip(cases, sigmas, strict=True)):
            y, psf = torch.from_numpy(case.y)[None, None], torch.from_numpy(case.psf)[None, None]
            for s, scale in enumerate(fit.tv_scales):
                tv = {} if tv_rule is None else {
                    "tv_weight": replace(tv_rule, scale=tv_rule.scale * scale)(float(sigma)),
                    "tv_epsilon": defaults.tv_epsilon,
                }  # fmt: skip
                richardson_lucy(
                    y, psf, num_iter=MAX_ITER, boundary=defaults.boundary, **tv,
                    on_iteration=_recorder(table[i, s], case.x),
                )  # fmt: skip
        return table
    shipped = RULES[fit.parameter_rule]
    table = np.empty((len(cases), 1, len(MULTIPLIERS)))
    for i, (case, sigma, mean) in enumerate(zip(cases, sigmas, means, strict=True)):
        y, psf = torch.from_numpy(case.y)[None, None], torch.from_numpy(case.psf)[None, None]
        for j, multiplier in enumerate(MULTIPLIERS):
            method = method_cls(**fit.options, **{fit.parameter: multiplier * rule_value(shipped, fit, sigma, mean)})
            with torch.no_grad():
                table[i, 0, j] = psnr(case.x, method.run(y, psf, None).x_hat[0, 0].numpy(), data_range=1.0)
    return table


def _recorder(row: np.ndarray, truth: np.ndarray) -> Callable[[int, torch.Tensor], None]:
    """An ``on_iteration`` callback writing the PSNR of iterate k into ``row[k - 1]``."""

    def record(k: int, x: torch.Tensor) -> None:
        row[k - 1] = psnr(truth, x[0, 0].numpy(), data_range=1.0)

    return record


def case_psnr(rule: NoiseRule, fit: Fit, sigmas: np.ndarray, means: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Each case's PSNR with ``rule`` setting the parameter, read off its row of a (cases, grid) table.

    A count is looked up; a weight is interpolated by a cubic spline in the log of its ratio to the
    shipped rule's value, held at the ends of the multipliers (a piecewise-linear curve would peak at
    its nodes, where the shipped rule sits, and favour it).
    """
    shipped = RULES[fit.parameter_rule]
    scores = np.empty(len(sigmas))
    for k, (sigma, mean, curve) in enumerate(zip(sigmas, means, table, strict=True)):
        value = rule_value(rule, fit, sigma, mean)
        if fit.count:
            scores[k] = curve[int(value) - 1]
        else:
            ratio = math.log(value / rule_value(shipped, fit, sigma, mean))
            scores[k] = CubicSpline(_LOG_MULTIPLIERS, curve)(min(max(ratio, _LOG_MULTIPLIERS[0]), _LOG_MULTIPLIERS[-1]))
    return scores


def refit(
    shipped: NoiseRule, fit: Fit, sigmas: np.ndarray, means: np.ndarray, table: np.ndarray, powers: Sequence[float]
) -> tuple[NoiseRule, np.ndarray]:
    """The (scale, power in ``powers``) of best mean PSNR on a (cases, grid) table, floor and cap as shipped; its PSNRs."""
    best, best_scores = shipped, np.full(len(sigmas), -math.inf)
    for power in powers:
        for scale in shipped.scale * np.logspace(-1.5, 1.5, 121):
            candidate = replace(shipped, scale=float(scale), power=power)
            scores = case_psnr(candidate, fit, sigmas, means, table)
            if scores.mean() > best_scores.mean() + 1e-9:
                best, best_scores = candidate, scores
    return best, best_scores


@dataclass(frozen=True)
class Outcome:
    """One rule's refit: the shipped and found rules, their mean PSNR, the paired gain and the tolerance, dB."""

    shipped: NoiseRule
    found: NoiseRule
    shipped_psnr: float
    found_psnr: float
    gain: float
    tolerance: float
    #: The count rule found with a jointly refitted weight (richardson_lucy_tv.tv_weight), else None.
    companion: NoiseRule | None = None

    @property
    def reproduced(self) -> bool:
        return self.gain <= self.tolerance


def tolerance(gain_per_case: np.ndarray, images: Sequence[str]) -> tuple[float, float]:
    """Mean paired gain and its tolerance: twice its standard error over images, at least :data:`MIN_TOLERANCE_DB`."""
    names = list(dict.fromkeys(images))
    per_image = np.array([gain_per_case[[i for i, n in enumerate(images) if n == name]].mean() for name in names])
    spread = 2 * per_image.std(ddof=1) / math.sqrt(len(per_image)) if len(per_image) > 1 else 0.0
    return float(gain_per_case.mean()), max(float(spread), MIN_TOLERANCE_DB)


def assess(
    fit: Fit, table: np.ndarray, sigmas: np.ndarray, means: np.ndarray, images: Sequence[str], power_step: float
) -> Outcome:
    """Score the shipped rule and refit it (the TV weight jointly with the count)."""
    middle = fit.tv_scales.index(1.0)
    if not fit.joint:
        shipped = RULES[fit.rule_name]
        powers = (shipped.power - power_step, shipped.power, shipped.power + power_step)
        found, found_scores = refit(shipped, fit, sigmas, means, table[:, middle], powers)
        shipped_scores = case_psnr(shipped, fit, sigmas, means, table[:, middle])
        return Outcome(shipped, found, shipped_scores.mean(), found_scores.mean(),
                       *tolerance(found_scores - shipped_scores, images))  # fmt: skip
    weight, count = RULES[fit.rule_name], RULES[fit.parameter_rule]
    powers = (count.power - power_step, count.power, count.power + power_step)
    shipped_scores = case_psnr(count, fit, sigmas, means, table[:, middle])
    best: tuple[float, NoiseRule, NoiseRule, np.ndarray] | None = None
    for s, scale in enumerate(fit.tv_scales):
        found_count, scores = refit(count, fit, sigmas, means, table[:, s], powers)
        if best is None or scores.mean() > best[3].mean() + 1e-9:
            best = (scale, replace(weight, scale=weight.scale * scale), found_count, scores)
    assert best is not None
    _, found, found_count, found_scores = best
    return Outcome(weight, found, shipped_scores.mean(), found_scores.mean(),
                   *tolerance(found_scores - shipped_scores, images), companion=found_count)  # fmt: skip


def load_or_compute_table(
    fit: Fit, cases: Sequence[Case], sigmas: np.ndarray, means: np.ndarray, path: Path | None
) -> np.ndarray:
    """The PSNR table of ``fit`` on ``cases``: read from ``path`` if made of the same cases and values, else computed."""
    shipped = RULES[fit.parameter_rule]
    key = {"cases": np.array([c.case_id for c in cases]), "tv_scales": np.array(fit.tv_scales),
           "multipliers": np.array(MULTIPLIERS), "shipped": np.array([shipped.scale, shipped.power, shipped.floor]),
           "y_sum": np.array([float(c.y.sum(dtype=np.float64)) for c in cases])}  # fmt: skip
    if path is not None and path.exists():
        with np.load(path) as stored:
            if all(k in stored and np.array_equal(stored[k], v) for k, v in key.items()):
                return stored["table"]
    table = psnr_table(fit, cases, sigmas, means)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, table=table, **key)
    return table


def _rule_text(rule: NoiseRule) -> str:
    return f"{rule.scale:.3g} s^{rule.power:g}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--rule", action="append", metavar="NAME",
        help=f"a rule to refit (repeat, or comma-separate); default all: {', '.join(FITS)}",
    )  # fmt: skip
    parser.add_argument("--size", type=int, default=128, help="image side in pixels (default 128)")
    parser.add_argument("--stride", type=int, default=1, help="every n-th training image (default 1: all 19)")
    parser.add_argument("--seed", type=int, default=1, help="dataset seed of the training cases (default 1)")
    parser.add_argument("--levels", default="noiseless,low,medium,high", help="noise levels, comma-separated")
    parser.add_argument(
        "--power-step", type=float, default=0.25, help="powers tried: shipped and +- this (default 0.25)"
    )
    parser.add_argument("--tables", type=Path, help="folder keeping the PSNR tables, reused by a rerun")
    args = parser.parse_args(argv)
    # Commas inside brackets belong to a name (variational[data=l2,prior=tv].lam).
    names = [n.strip() for spec in args.rule or ["all"] for n in re.split(r",(?![^\[]*\])", spec) if n.strip()]
    names = list(FITS) if names == ["all"] else names
    unknown = [name for name in names if name not in FITS]
    if unknown:
        print(f"unknown rule(s) {unknown}; choose among {', '.join(FITS)}", file=sys.stderr)
        return 2
    levels = args.levels.split(",")
    cases = training_cases(size=args.size, stride=args.stride, seed=args.seed, levels=levels)
    sigmas = np.array([estimate_noise_std(case.y) for case in cases])
    means = np.array([float(case.y.mean()) for case in cases])
    images = [str(case.meta.get("image", case.case_id)) for case in cases]
    print(f"{len(cases)} training cases ({args.size}x{args.size}, seed {args.seed}, levels {args.levels})")
    print(f"{'rule':36s} {'shipped':>14s} {'found':>14s} {'PSNR':>7s} {'gain':>6s} {'tol':>5s}  verdict")
    differs = 0
    for name in names:
        fit = FITS[name]
        start = time.perf_counter()
        tag = f"{fit.parameter_rule}-{args.size}-{args.stride}-{args.seed}"
        tag = f"{tag}-{args.levels}".replace(",", "+")
        table = load_or_compute_table(fit, cases, sigmas, means, args.tables / f"{tag}.npz" if args.tables else None)
        outcome = assess(fit, table, sigmas, means, images, args.power_step)
        differs += not outcome.reproduced
        verdict = "reproduced" if outcome.reproduced else "differs"
        joint = f", with num_iter {_rule_text(outcome.companion)}" if outcome.companion else ""
        print(
            f"{name:36s} {_rule_text(outcome.shipped):>14s} {_rule_text(outcome.found):>14s} "
            f"{outcome.shipped_psnr:7.2f} {outcome.gain:+6.3f} {outcome.tolerance:5.3f}  {verdict}{joint} "
            f"({time.perf_counter() - start:.0f} s)",
            flush=True,
        )
    return 1 if differs else 0


if __name__ == "__main__":
    sys.exit(main())
