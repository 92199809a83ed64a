"""Merge runs and measure how sure a ranking is: variants, bootstrap intervals, paired significance.

Intervals are 95 % percentile bootstrap intervals, resampling images with
replacement (a cluster bootstrap: every noise level of an image shares its
PSF, so the cases of one image are not independent). The same resamples are
used for every method of a table, so differences between methods are paired.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from bench.run.runfolder import METRICS, Run

__all__ = [
    "ALL_NOISE", "MIN_IMAGES", "RANKING_METRICS", "bootstrap_mean", "load_runs", "metric_columns", "paired_differences",
    "ranking_metric", "summarize",
]  # fmt: skip

#: Numeric per-case columns that are not scores.
_NOT_METRICS = {"time_s", "peak_memory_mb", "blind"}
#: Scores that can order a table, all higher-is-better; the no-reference ones other than line
#: contrast have an ideal value rather than a direction (re-blur residual near the noise level).
#: Scores that may order a table, in order of preference. Only scores every method has: PSF scores
#: exist for blind rows only (a non-blind row shows none), so ranking by them on data without reference
#: images put a blind method above non-blind ones that could not be compared. ``line_contrast`` is the
#: documented no-reference criterion of the line-grid data (higher is better); other data without a
#: reference are not ranked.
RANKING_METRICS = ("psnr", "ssim", "line_contrast")
#: Fewest images (bootstrap units) for an interval or a significance test: below it the
#: bootstrap distribution has a handful of distinct values and its percentiles mean little.
MIN_IMAGES = 5
#: Label of the rows pooled over every noise level.
ALL_NOISE = "all"


def load_runs(runs: Sequence[Run]) -> pd.DataFrame:
    """Every run's rows in one table, with the dataset's configuration as ``p_dataset_*`` columns.

    ``variant`` names one dataset configuration: the dataset name, followed by
    the parameters that differ between the merged runs of that dataset
    (``fresnel-zernike[theta_max=0.3]``). A (variant, label, case) finished in
    several runs keeps the row of the last run given.
    """
    frames = []
    for index, run in enumerate(runs):
        if run.cases.empty:
            continue
        frame = run.cases.copy()
        for key, value in _dataset_params(run.manifest).items():
            frame[f"p_dataset_{key}"] = value
        frame["run"] = str(run.directory)
        frame["_run_index"] = index
        frames.append(frame)
    if not frames:
        raise ValueError("the runs hold no rows; run `bench run` first")
    cases = pd.concat(frames, ignore_index=True)
    cases["variant"] = _variants(cases)
    cases = cases.sort_values("_run_index", kind="stable")
    cases = cases.drop_duplicates(["variant", "label", "case_id"], keep="last").drop(columns="_run_index")
    cases["image"] = cases.get("image", cases["case_id"]).fillna(cases["case_id"])  # runs without images: a case each
    return cases.reset_index(drop=True)


def _dataset_params(manifest: dict[str, Any]) -> dict[str, Any]:
    """Scalar parameters of the run's dataset configuration (lists joined by commas), without name and noise."""
    config = dict(manifest.get("config", {}).get("dataset", {}))
    params = {}
    for key, value in sorted(config.items()):
        if key in ("name", "noise", "noise_levels"):
            continue
        if isinstance(value, (list, tuple)) and all(isinstance(v, (int, float, str, bool)) for v in value):
            value = ",".join(map(str, value))
        if isinstance(value, (int, float, str, bool)):
            params[key] = value
    return params


def _variants(cases: pd.DataFrame) -> pd.Series:
    params = [c for c in cases.columns if c.startswith("p_dataset_")]
    labels = pd.Series(cases["dataset"].astype(str), index=cases.index)
    for dataset, rows in cases.groupby("dataset", sort=False):
        varying = [c for c in params if rows[c].astype(str).nunique() > 1]
        if varying:
            suffix = (
                rows[varying]
                .astype(str)
                .apply(
                    lambda r: "[" + ",".join(f"{c.removeprefix('p_dataset_')}={v}" for c, v in r.items()) + "]", axis=1
                )
            )
            labels[rows.index] = dataset + suffix
    return labels


def metric_columns(cases: pd.DataFrame) -> list[str]:
    """The scores present: :data:`METRICS` first, then any other numeric per-case column a plugin added."""
    known = [m for m in METRICS if m in cases.columns]
    extra = [
        c for c in cases.columns
        if c not in METRICS and c not in _NOT_METRICS and not c.startswith("p_dataset_")
        and pd.api.types.is_numeric_dtype(cases[c]) and not pd.api.types.is_bool_dtype(cases[c])
    ]  # fmt: skip
    return known + extra


def ranking_metric(cases: pd.DataFrame) -> str | None:
    """The metric that orders a table: the first of :data:`RANKING_METRICS` with a value, else None."""
    for metric in RANKING_METRICS:
        if metric in cases and cases[metric].notna().any():
            return metric
    return None


# ----------------------------------------------------------------------------- bootstrap


def _resamples(n_units: int, n_boot: int, seed: int) -> np.ndarray:
    """(n_boot, n_units) unit indices drawn with replacement, from a fixed seed."""
    return np.random.default_rng(seed).integers(0, n_units, size=(n_boot, n_units))


def _interval(samples: np.ndarray, confidence: float) -> tuple[float, float]:
    samples = samples[np.isfinite(samples)]
    if samples.size == 0:
        return math.nan, math.nan
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(samples, [tail, 100 - tail])
    return float(low), float(high)


def bootstrap_mean(
    values: Sequence[float],
    units: Sequence[Any] | None = None,
    *,
    n_boot: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float, float]:
    """Mean of ``values`` and its percentile bootstrap interval; NaN values are left out.

    ``units`` groups values that must be resampled together (the cases of
    one image); by default every value is its own unit.
    """
    numbers = np.asarray(values, dtype=float)
    labels = (np.arange(len(numbers)) if units is None else np.asarray(units)).astype(str)
    universe = sorted(set(labels[np.isfinite(numbers)]))
    return _bootstrap(numbers, labels, universe, _resamples(len(universe), n_boot, seed), confidence)


def summarize(cases: pd.DataFrame, *, n_boot: int = 2000, confidence: float = 0.95, seed: int = 0) -> pd.DataFrame:
    """Per (variant, noise, label) and pooled over noise levels (noise ``all``): means with bootstrap intervals.

    Columns: variant, dataset, noise, method, label, blind, track, n, n_failed, for each
    metric ``<metric>_mean``, ``<metric>_ci_low``, ``<metric>_ci_high``, then
    ``time_s_median``, ``peak_memory_mb_median``, device, and the
    ``p_dataset_*`` columns. Inside one (variant, noise) every method is
    resampled with the same image draws.
    """
    metrics = metric_columns(cases)
    params = [c for c in cases.columns if c.startswith("p_dataset_")]
    rows = []
    for variant, variant_cases in cases.groupby("variant", sort=False):
        noises = list(dict.fromkeys(variant_cases["noise"]))
        for noise in [*noises, ALL_NOISE] if len(noises) > 1 else noises:
            group = variant_cases if noise == ALL_NOISE else variant_cases[variant_cases["noise"] == noise]
            images = sorted(group["image"].astype(str).unique())
            draws = _resamples(len(images), n_boot, seed)
            for label, method_cases in group.groupby("label", sort=False):
                ok = method_cases[method_cases["status"] == "ok"]
                row = {
                    "variant": variant, "dataset": method_cases["dataset"].iloc[0], "noise": noise,
                    "method": method_cases["method"].iloc[0], "label": label,
                    "blind": _is_true(method_cases["blind"]) if "blind" in method_cases else False,
                    "track": method_cases["track"].iloc[0] if "track" in method_cases else None,
                    "n": len(ok), "n_failed": len(method_cases) - len(ok),
                }  # fmt: skip
                units = ok["image"].astype(str).to_numpy()
                for metric in metrics:
                    mean, low, high = _bootstrap(ok[metric].to_numpy(dtype=float), units, images, draws, confidence)
                    if len(images) < MIN_IMAGES:
                        low = high = math.nan
                    row.update({f"{metric}_mean": mean, f"{metric}_ci_low": low, f"{metric}_ci_high": high})
                row["time_s_median"] = ok["time_s"].median() if "time_s" in ok else math.nan
                row["peak_memory_mb_median"] = ok["peak_memory_mb"].median() if "peak_memory_mb" in ok else math.nan
                row["device"] = ", ".join(sorted(set(ok["device"].dropna().astype(str)))) if "device" in ok else ""
                row.update({p: method_cases[p].iloc[0] for p in params})
                rows.append(row)
    columns = ["variant", "dataset", "noise", "method", "label", "blind", "track", "n", "n_failed"]
    columns += [f"{m}_{s}" for m in metrics for s in ("mean", "ci_low", "ci_high")]
    columns += ["time_s_median", "peak_memory_mb_median", "device", *params]
    return pd.DataFrame(rows).reindex(columns=columns)


def _is_true(flags: pd.Series) -> bool:
    """Whether a column of flags read from CSV (bool, "True"/"False" or empty) holds a true value."""
    return bool(flags.dropna().astype(str).str.lower().eq("true").any())


def _bootstrap(
    values: np.ndarray, units: np.ndarray, universe: list[str], draws: np.ndarray, confidence: float
) -> tuple[float, float, float]:
    """Mean of the finite ``values`` and the interval of their means over ``draws`` of whole units.

    ``draws`` index ``universe`` (:func:`_resamples`); a unit drawn without a value adds nothing.
    """
    keep = np.isfinite(values)
    if not keep.any():
        return math.nan, math.nan, math.nan
    sums, counts = _sums_on(values[keep], units[keep], universe)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sums[draws].sum(axis=1) / counts[draws].sum(axis=1)
    return float(values[keep].mean()), *_interval(means, confidence)


def _sums_on(values: np.ndarray, units: np.ndarray, universe: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Sum and count per unit, indexed like ``universe`` (units without a value get 0 and 0)."""
    index = {unit: i for i, unit in enumerate(universe)}
    positions = np.array([index[unit] for unit in units], dtype=int)
    size = len(universe)
    return np.bincount(positions, weights=values, minlength=size), np.bincount(positions, minlength=size).astype(float)


def paired_differences(
    cases: pd.DataFrame,
    *,
    top: int = 5,
    metric: str | None = None,
    n_boot: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """Which differences between the ``top`` methods of each variant are significant.

    Methods, told apart by label (``method_a`` and ``method_b`` hold labels),
    are ranked by their mean ``metric`` (default :func:`ranking_metric`) over
    every case of the variant; for each pair, the mean difference over the
    cases both finished and its paired cluster-bootstrap interval at level
    ``1 - (1 - confidence) / m`` (Bonferroni over the m pairs of the variant).
    A difference is significant when that interval excludes 0.
    """
    rows = []
    for variant, group in cases[cases["status"] == "ok"].groupby("variant", sort=False):
        measure = metric or ranking_metric(group)
        if measure is None or group[measure].notna().sum() == 0 or group["image"].nunique() < MIN_IMAGES:
            continue
        ranked = group.groupby("label")[measure].mean().dropna().sort_values(ascending=False).index[:top]
        pairs = [(a, b) for i, a in enumerate(ranked) for b in ranked[i + 1 :]]
        level = 1 - (1 - confidence) / max(len(pairs), 1)
        table = group.pivot_table(index="case_id", columns="label", values=measure, aggfunc="first")
        images = group.drop_duplicates("case_id").set_index("case_id")["image"].astype(str)
        for a, b in pairs:
            difference = (table[a] - table[b]).dropna()
            mean, low, high = bootstrap_mean(
                difference.to_numpy(),
                images.loc[difference.index].to_numpy(),
                n_boot=n_boot,
                confidence=level,
                seed=seed,
            )
            rows.append({
                "variant": variant, "metric": measure, "method_a": a, "method_b": b, "mean_difference": mean,
                "ci_low": low, "ci_high": high, "confidence": level, "n_cases": len(difference),
                "significant": bool(low > 0 or high < 0),
            })  # fmt: skip
    columns = ["variant", "metric", "method_a", "method_b", "mean_difference", "ci_low", "ci_high", "confidence"]
    return pd.DataFrame(rows, columns=[*columns, "n_cases", "significant"])
