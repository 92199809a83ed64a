"""Tables for people: the console leaderboard of a run, ``leaderboard.md`` of a report, number formats."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from bench.report.stats import ALL_NOISE, ranking_metric
from bench.run.runfolder import METRICS

__all__ = [
    "LABELS", "format_ci", "format_interval", "format_seconds", "format_value", "markdown_report", "pooled_rows",
    "print_leaderboard", "ranked_rows",
]  # fmt: skip

#: How the metrics are labelled in tables and figures.
LABELS = {
    "psnr": "PSNR dB",
    "ssim": "SSIM",
    "psf_snr": "PSF-SNR dB",
    "psf_psnr": "PSF-PSNR dB",
    "reblur_psnr": "re-blur PSNR dB",
}


def print_leaderboard(board: pd.DataFrame, console: Console | None = None) -> None:
    """One table per dataset: method labels by PSNR averaged over noise levels, PSNR/SSIM per level.

    A table too wide for the console (at 80 columns, long labels and four
    noise levels) is printed long instead: one line per method and noise
    level, the label wrapped, so that no score is cut.
    """
    console = console or Console()
    for dataset, table_rows in board.groupby("dataset", sort=False):
        noises = list(dict.fromkeys(table_rows.noise))
        has_psf = table_rows.psf_snr_mean.notna().any()
        title = "PSNR dB / SSIM" if table_rows.psnr_mean.notna().any() else _NO_REFERENCE_TITLE
        title = f"{dataset}: {title}" + (" / PSF-SNR dB" if has_psf else "")
        means = table_rows.groupby("label").psnr_mean.mean()
        ranking = means.sort_values(ascending=False).index if means.notna().any() else sorted(means.index)
        cells = {
            (label, noise): _cell(match.iloc[0], has_psf) if len(match) else ""
            for label in ranking
            for noise in noises
            for match in [table_rows[(table_rows.label == label) & (table_rows.noise == noise)]]
        }
        times = {label: table_rows[table_rows.label == label].time_s_median for label in ranking}
        seconds = {label: f"{t.median():.3f}" if t.notna().any() else "" for label, t in times.items()}
        tracks = {label: table_rows[table_rows.label == label].track.iloc[0] for label in ranking}
        widest = max(len(label) for label in ranking) + max(len(track) for track in tracks.values())
        cell_width = max((len(Text.from_markup(cell)) for cell in cells.values()), default=0)
        wide = widest + len(noises) * (cell_width + 3) + 24 <= console.width
        table = Table(title=title, title_justify="left")
        table.add_column("method", no_wrap=wide, overflow="fold")
        table.add_column("track", no_wrap=True)
        for column in noises if wide else ("noise", "score"):
            table.add_column(column, justify="right", no_wrap=True)
        table.add_column("median s/image", justify="right")
        for label in ranking:
            if wide:
                table.add_row(escape(label), tracks[label], *(cells[label, noise] for noise in noises), seconds[label])
                continue
            for i, noise in enumerate(noises):
                first = i == 0
                table.add_row(
                    escape(label) if first else "", tracks[label] if first else "", noise, cells[label, noise],
                    seconds[label] if first else "", end_section=i == len(noises) - 1,
                )  # fmt: skip
        console.print(table)


_NO_REFERENCE_TITLE = (
    "no reference, not ranked: re-blur residual (near the noise level: explains the data) / "
    "ringing (1 = as the input, lower is better) / negative fraction (lower is better)"
)


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
        order = (
            f"Ranked by mean {LABELS.get(metric, metric)} over every case." if metric else "No ranking score: by name."
        )
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
    def invocations(run: str) -> str:
        numbers = (
            sorted({int(n) for n in cases.loc[cases["run"] == run, "invocation"].dropna()})
            if "invocation" in cases
            else []
        )
        return f" (invocations {', '.join(map(str, numbers))} of its manifest.json)" if numbers else ""

    runs = ", ".join(f"`{run}`{invocations(run)}" for run in dict.fromkeys(cases["run"]))
    devices = ", ".join(sorted(set(cases["device"].dropna().astype(str)))) if "device" in cases else "?"
    return f"Merged runs: {runs}. Device: {devices}. Intervals: 95% bootstrap over images (paired across methods)."
