"""Aggregate per-case rows into leaderboards: means with bootstrap intervals, significance, publication.

:func:`leaderboard` and :func:`print_leaderboard` are the per-run table that
``bench run`` writes and prints. :func:`write_report` is ``bench report``: it
merges the ``cases.csv`` of several runs (a run per dataset, or a sweep of one
dataset parameter such as ``dataset.theta_max``), and writes ``cases.csv``,
``leaderboard.csv`` (also under benchopt's column names; not a benchopt result
file, which ``bench export --format benchopt`` writes), ``significance.csv``,
``leaderboard.md`` and the static page ``leaderboard.html`` (:mod:`bench.report.html`).

Rows are grouped and shown by ``label``, the method with the parameters that
tell its runs apart (:func:`bench.config.method_label`): a ``budget=full`` and a
``budget=fast`` run of one method are two entries; ``method`` stays the plugin
name.

Intervals are 95 % percentile bootstrap intervals, resampling images with
replacement (a cluster bootstrap: every noise level of an image shares its
PSF, so the cases of one image are not independent). The same resamples are
used for every method of a table, so differences between methods are paired.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence
from urllib.parse import quote

import numpy as np
import pandas as pd
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bench.config import method_label
from bench.metrics import NO_REFERENCE_SCORES

__all__ = [
    "METRICS", "Run", "benchopt_dataset_name", "bootstrap_mean", "has_labels", "leaderboard", "load_runs", "output_path", "paired_differences",
    "print_leaderboard", "read_cases", "read_run", "summarize", "write_report",
]  # fmt: skip

#: Scores aggregated by the leaderboard, in display order (the no-reference ones serve real data).
METRICS = ("psnr", "ssim", "psf_snr", "psf_psnr", "reblur_psnr", *NO_REFERENCE_SCORES)
#: How the metrics are labelled in tables and figures.
LABELS = {"psnr": "PSNR dB", "ssim": "SSIM", "psf_snr": "PSF-SNR dB", "psf_psnr": "PSF-PSNR dB", "reblur_psnr": "re-blur PSNR dB"}
#: Numeric per-case columns that are not scores.
_NOT_METRICS = {"time_s", "peak_memory_mb", "blind"}
#: Scores that can order a table, all higher-is-better; the no-reference ones other than line
#: contrast have an ideal value rather than a direction (re-blur residual near the noise level).
RANKING_METRICS = ("psnr", "ssim", "psf_snr", "psf_psnr", "reblur_psnr", "line_contrast")
#: Fewest images (bootstrap units) for an interval or a significance test: below it the
#: bootstrap distribution has a handful of distinct values and its percentiles mean little.
MIN_IMAGES = 5
#: Label of the rows pooled over every noise level.
ALL_NOISE = "all"


def leaderboard(cases: pd.DataFrame) -> pd.DataFrame:
    """One row per (dataset, label, noise): n, mean and std of each metric, median time, device.

    Only finished rows are scored; ``n_failed`` counts the others so a method
    cannot climb the table by failing on hard cases.
    """
    columns = ["dataset", "method", "label", "track", "noise", "n", "n_failed"]
    columns += [f"{m}_{s}" for m in METRICS for s in ("mean", "std")] + ["time_s_median", "device"]
    if cases.empty:
        return pd.DataFrame(columns=columns)
    keys = ["dataset", "method", "label", "track", "noise"]
    cases = cases.reindex(columns=[*cases.columns, *(m for m in METRICS if m not in cases.columns)])  # older runs
    ok = cases[cases.status == "ok"]
    board = ok.groupby(keys, sort=False).agg(
        n=("case_id", "size"),
        **{f"{m}_{s}": (m, s) for m in METRICS for s in ("mean", "std")},
        time_s_median=("time_s", "median"),
        device=("device", lambda d: ", ".join(sorted(set(d)))),
    )
    failed = cases[cases.status != "ok"].groupby(keys, sort=False).size().rename("n_failed")
    board = board.join(failed, how="outer").reset_index()
    board["n"] = board["n"].fillna(0).astype(int)
    board["n_failed"] = board["n_failed"].fillna(0).astype(int)
    noise_order = {noise: i for i, noise in enumerate(dict.fromkeys(cases.noise))}
    board = board.assign(_order=board.noise.map(noise_order)).sort_values(["dataset", "_order", "label"])
    return board.reindex(columns=columns).reset_index(drop=True)


def print_leaderboard(board: pd.DataFrame, console: Console | None = None) -> None:
    """One table per dataset: method labels by PSNR averaged over noise levels, PSNR/SSIM per level."""
    console = console or Console()
    for dataset, table_rows in board.groupby("dataset", sort=False):
        noises = list(dict.fromkeys(table_rows.noise))
        has_psf = table_rows.psf_snr_mean.notna().any()
        title = "PSNR dB / SSIM" if table_rows.psnr_mean.notna().any() else _NO_REFERENCE_TITLE
        table = Table(title=f"{dataset}: {title}" + (" / PSF-SNR dB" if has_psf else ""), title_justify="left")
        table.add_column("method", no_wrap=True)
        table.add_column("track", no_wrap=True)
        for noise in noises:
            table.add_column(noise, justify="right")
        table.add_column("median s/image", justify="right")
        ranking = table_rows.groupby("label").psnr_mean.mean().sort_values(ascending=False).index
        for label in ranking:
            cells = []
            for noise in noises:
                match = table_rows[(table_rows.label == label) & (table_rows.noise == noise)]
                cells.append(_cell(match.iloc[0], has_psf) if len(match) else "")
            times = table_rows[table_rows.label == label].time_s_median
            track = table_rows[table_rows.label == label].track.iloc[0]
            table.add_row(escape(label), track, *cells, f"{times.median():.3f}" if times.notna().any() else "")
        console.print(table)


_NO_REFERENCE_TITLE = "no reference: re-blur residual / ringing / negative fraction"


def _cell(row: pd.Series, has_psf: bool) -> str:
    if row.n == 0:
        return f"[red]failed ({row.n_failed})[/red]"
    if math.isnan(row.psnr_mean):  # no reference: the do-no-harm scores
        text = f"{row.reblur_residual_mean:.3f} / {row.ringing_mean:.2f} / {row.negative_fraction_mean:.3f}"
    else:
        text = f"{row.psnr_mean:.2f} / {row.ssim_mean:.3f}"
    if has_psf:
        text += f" / {row.psf_snr_mean:.1f}" if not math.isnan(row.psf_snr_mean) else " / –"
    if row.n_failed:
        text += f" [red]({row.n_failed} failed)[/red]"
    return text


# ----------------------------------------------------------------------------- merging runs


@dataclass(frozen=True)
class Run:
    """One ``bench run`` folder: its per-case rows and its manifest."""

    directory: Path
    cases: pd.DataFrame
    manifest: dict[str, Any]
    #: False for a run written before labels, whose images lie under ``outputs/<method>/``.
    labelled: bool = True

    def output(self, method: str, label: str, case_id: str) -> Path:
        """Where this run saved the images of a row, if it saved them."""
        return output_path(self.directory, label if self.labelled else method, case_id)


def read_run(directory: Path) -> Run:
    """A run folder's ``cases.csv`` (every column kept) and ``manifest.json`` (empty if absent)."""
    directory = Path(directory)
    path = directory / "cases.csv"
    if not path.exists():
        raise ValueError(f"{directory} has no cases.csv; pass folders written by `bench run` (results/runs/<dataset>)")
    manifest_path = directory / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    return Run(directory, read_cases(path), manifest, labelled=has_labels(path))


def has_labels(path: Path) -> bool:
    """Whether a ``cases.csv`` was written with its ``label`` column (runs from before labels were not)."""
    return "label" in pd.read_csv(path, nrows=0).columns


def read_cases(path: Path) -> pd.DataFrame:
    """A ``cases.csv`` with its text columns as text (a case id ``007`` stays ``007``), empty cells as NaN.

    Rows written before labels existed get theirs from ``method`` and ``params``.
    """
    text_columns = {"error": str, "run_key": str, "code": str, "params": str, "info": str, "case_id": str, "image": str, "noise": str}
    cases = pd.read_csv(path, keep_default_na=False, na_values=[""], dtype=text_columns | {"label": str})
    if "method" not in cases:
        return cases
    if "label" not in cases:
        cases.insert(cases.columns.get_loc("method") + 1, "label", pd.Series(None, index=cases.index, dtype=object))
    missing = cases["label"].isna()
    if missing.any():
        params = cases["params"].fillna("") if "params" in cases else pd.Series("", index=cases.index)
        keys = list(zip(cases.loc[missing, "method"], params[missing]))
        labels = {key: _label_from_text(*key) for key in set(keys)}
        cases.loc[missing, "label"] = [labels[key] for key in keys]
    return _with_tracks(cases)


def _with_tracks(cases: pd.DataFrame) -> pd.DataFrame:
    """Rows written before tracks existed get theirs from ``blind``: ``blind`` or ``non-blind`` (nobody had optics)."""
    if "track" not in cases:
        cases.insert(cases.columns.get_loc("label") + 1, "track", pd.Series(None, index=cases.index, dtype=object))
    missing = cases["track"].isna()
    if missing.any():
        blind = cases.loc[missing, "blind"].astype(str).str.lower().eq("true") if "blind" in cases else False
        cases.loc[missing, "track"] = np.where(blind, "blind", "non-blind")
    return cases


def _label_from_text(method: str, params: Any) -> str:
    """The label of a method name and its JSON parameters; the name alone for an unknown method or unreadable JSON."""
    from bench.registry import load_registry

    method_cls = load_registry().methods.get(method)
    try:
        values = json.loads(params)
    except (TypeError, ValueError):
        return method
    return method_label(method_cls, values) if method_cls is not None and isinstance(values, dict) else method


def output_path(run: Path | str, label: str, case_id: str) -> Path:
    """Where ``bench run --save-outputs`` writes a label's images of a case (``outputs/<label>/<case_id>.npz``).

    The folder is the label percent-encoded but for ``[]=+`` (``a[x=1,y=2]``
    becomes ``a[x=1%2Cy=2]``; ``/``, ``:`` and spaces are encoded too), a valid
    name on every system; a plain method name is its own folder.
    """
    return Path(run) / "outputs" / quote(str(label), safe="[]=+") / f"{case_id}.npz"


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
            suffix = rows[varying].astype(str).apply(
                lambda r: "[" + ",".join(f"{c.removeprefix('p_dataset_')}={v}" for c, v in r.items()) + "]", axis=1
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
    values = np.asarray(values, dtype=float)
    units = (np.arange(len(values)) if units is None else np.asarray(units)).astype(str)
    universe = sorted(set(units[np.isfinite(values)]))
    return _bootstrap(values, units, universe, _resamples(len(universe), n_boot, seed), confidence)


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
                difference.to_numpy(), images.loc[difference.index].to_numpy(), n_boot=n_boot, confidence=level, seed=seed
            )
            rows.append({
                "variant": variant, "metric": measure, "method_a": a, "method_b": b, "mean_difference": mean,
                "ci_low": low, "ci_high": high, "confidence": level, "n_cases": len(difference),
                "significant": bool(low > 0 or high < 0),
            })  # fmt: skip
    columns = ["variant", "metric", "method_a", "method_b", "mean_difference", "ci_low", "ci_high", "confidence"]
    return pd.DataFrame(rows, columns=[*columns, "n_cases", "significant"])


# ----------------------------------------------------------------------------- publication


def benchopt_dataset_name(variant: str, noise: str) -> str:
    """A variant at a noise level in benchopt's ``Name[param=value,...]`` form: ``toy[theta_max=0.1,noise=high]``."""
    return f"{variant[:-1]},noise={noise}]" if variant.endswith("]") else f"{variant}[noise={noise}]"


def benchopt_columns(summary: pd.DataFrame) -> pd.DataFrame:
    """The summary with benchopt's result names added: solver_name, dataset_name, objective_*, p_dataset_*.

    ``solver_name`` is the label and ``dataset_name`` the variant with the
    noise level, both in benchopt's ``Name[param=value,...]`` form: the
    parameters that tell the runs or the merged configurations apart. These
    are aggregated rows, not a benchopt result file (no ``idx_rep``,
    ``stop_val``): :mod:`bench.report.benchopt` writes that one, per case.
    """
    frame = summary.copy()
    metrics = [c.removesuffix("_mean") for c in summary.columns if c.endswith("_mean")]
    frame["solver_name"] = frame["label"]
    frame["dataset_name"] = [benchopt_dataset_name(v, n) for v, n in zip(frame["variant"], frame["noise"])]
    frame["objective_name"] = "deconvolution"
    for metric in metrics:
        frame[f"objective_{metric}"] = frame[f"{metric}_mean"]
    frame["p_dataset_noise"] = frame["noise"]
    frame["time"] = frame["time_s_median"]
    return frame


def markdown_report(summary: pd.DataFrame, significance: pd.DataFrame, cases: pd.DataFrame) -> str:
    """``leaderboard.md``: per variant, the ranking with intervals, PSNR per noise level, and the significant pairs."""
    lines = ["# Leaderboard", "", _provenance(cases), ""]
    for variant, rows in summary.groupby("variant", sort=False):
        metric = ranking_metric(cases[cases["variant"] == variant])
        pooled = pooled_rows(rows)
        noises = [n for n in dict.fromkeys(rows["noise"]) if n != ALL_NOISE]
        present = [m for m in METRICS if f"{m}_mean" in rows and rows[f"{m}_mean"].notna().any()]
        shown = ([metric] if metric else []) + [m for m in present if m != metric][: 3 if metric else 4]
        header = ["#", "method", "track", *[f"{LABELS.get(m, m)} (95% CI)" for m in shown]]
        header += [f"PSNR {n}" for n in noises if len(noises) > 1 and metric == "psnr"] + ["median s/image", "failed"]
        order = f"Ranked by mean {LABELS.get(metric, metric)} over every case." if metric else "No ranking score: by name."
        lines += [f"## {variant}", "", order, ""]
        lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for rank, (_, row) in enumerate(ranked_rows(pooled, metric).iterrows(), start=1):
            cells = [str(rank), row["label"], str(row["track"])]
            cells += [format_interval(row, m) for m in shown]
            if len(noises) > 1 and metric == "psnr":
                for noise in noises:
                    match = rows[(rows["label"] == row["label"]) & (rows["noise"] == noise)]
                    cells.append(format_value(match.iloc[0]["psnr_mean"], "psnr") if len(match) else "")
            cells += [format_seconds(row["time_s_median"]), str(int(row["n_failed"]))]
            lines.append("| " + " | ".join(cells) + " |")
        pairs = significance[significance["variant"] == variant]
        if len(pairs):
            lines += ["", f"Differences between the top {pairs[['method_a', 'method_b']].stack().nunique()} methods "
                      f"(paired bootstrap over images, Bonferroni level {pairs['confidence'].iloc[0]:.3f}):", ""]  # fmt: skip
            lines += ["| A | B | mean A − B | interval | significant |", "|---|---|---|---|---|"]
            for _, pair in pairs.iterrows():
                lines.append(
                    f"| {pair.method_a} | {pair.method_b} | {pair.mean_difference:+.3f} | "
                    f"[{pair.ci_low:+.3f}, {pair.ci_high:+.3f}] | {'**yes**' if pair.significant else 'no'} |"
                )
        lines.append("")
    return "\n".join(lines)


def pooled_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows pooled over noise levels, or the only level's rows."""
    return rows[rows["noise"] == ALL_NOISE] if (rows["noise"] == ALL_NOISE).any() else rows


def ranked_rows(pooled: pd.DataFrame, metric: str | None) -> pd.DataFrame:
    """Best mean ``metric`` first (ties and missing scores by label), or by label without a metric."""
    if metric is None or f"{metric}_mean" not in pooled:
        return pooled.sort_values("label")
    return pooled.sort_values([f"{metric}_mean", "label"], ascending=[False, True], na_position="last")


def format_value(value: float, metric: str) -> str:
    """dB scores with 2 decimals, SSIM with 3, other scores with 3 significant digits."""
    if value is None or not np.isfinite(value):
        return "–"
    if metric == "ssim":
        return f"{value:.3f}"
    return f"{value:.2f}" if metric in ("psnr", "psf_snr", "psf_psnr", "reblur_psnr") else f"{value:.3g}"


def format_interval(row: pd.Series, metric: str) -> str:
    """``mean [low, high]``; the mean alone without an interval, ``–`` without a value."""
    mean = row.get(f"{metric}_mean", math.nan)
    if not np.isfinite(mean):
        return "–"
    return f"{format_value(mean, metric)} {format_ci(row, metric)}".strip()


def format_ci(row: pd.Series, metric: str) -> str:
    """``[low, high]``, or an empty string when there is no interval (fewer than :data:`MIN_IMAGES` images)."""
    low, high = row.get(f"{metric}_ci_low", math.nan), row.get(f"{metric}_ci_high", math.nan)
    if not (np.isfinite(low) and np.isfinite(high)):
        return ""
    return f"[{format_value(low, metric)}, {format_value(high, metric)}]"


def format_seconds(value: float) -> str:
    if value is None or not np.isfinite(value):
        return "–"
    if value < 1e-3:
        return f"{value * 1e6:.0f} µs"
    return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"


def _provenance(cases: pd.DataFrame) -> str:
    runs = ", ".join(f"`{run}`" for run in dict.fromkeys(cases["run"]))
    devices = ", ".join(sorted(set(cases["device"].dropna().astype(str)))) if "device" in cases else "?"
    return f"Merged runs: {runs}. Device: {devices}. Intervals: 95% bootstrap over images (paired across methods)."


def write_report(
    run_dirs: Iterable[Path], out: Path, *, panels: int = 3, n_boot: int = 2000, seed: int = 0
) -> list[Path]:
    """``bench report``: merge runs and write the tables and the static page into ``out``; returns the paths."""
    from bench.report.html import render_page

    runs = [read_run(Path(directory)) for directory in run_dirs]
    cases = load_runs(runs)
    summary = summarize(cases, n_boot=n_boot, seed=seed)
    significance = paired_differences(cases, n_boot=n_boot, seed=seed)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = {
        "cases.csv": cases.to_csv(index=False),
        "leaderboard.csv": benchopt_columns(summary).to_csv(index=False),
        "significance.csv": significance.to_csv(index=False),
        "leaderboard.md": markdown_report(summary, significance, cases),
        "leaderboard.html": render_page(runs, cases, summary, significance, panels=panels),
    }
    for name, text in written.items():
        (out / name).write_text(text)
    return [out / name for name in written]
