"""Aggregate per-case rows into the leaderboard and print it."""

from __future__ import annotations

import math

import pandas as pd
from rich.console import Console
from rich.table import Table

from bench.metrics import NO_REFERENCE_SCORES

__all__ = ["METRICS", "leaderboard", "print_leaderboard"]

#: Scores aggregated by the leaderboard, in display order (the no-reference ones serve real data).
METRICS = ("psnr", "ssim", "psf_snr", "psf_psnr", "reblur_psnr", *NO_REFERENCE_SCORES)


def leaderboard(cases: pd.DataFrame) -> pd.DataFrame:
    """One row per (dataset, method, noise): n, mean and std of each metric, median time, device.

    Only finished rows are scored; ``n_failed`` counts the others so a method
    cannot climb the table by failing on hard cases.
    """
    columns = ["dataset", "method", "noise", "n", "n_failed"]
    columns += [f"{m}_{s}" for m in METRICS for s in ("mean", "std")] + ["time_s_median", "device"]
    if cases.empty:
        return pd.DataFrame(columns=columns)
    keys = ["dataset", "method", "noise"]
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
    board = board.assign(_order=board.noise.map(noise_order)).sort_values(["dataset", "_order", "method"])
    return board.reindex(columns=columns).reset_index(drop=True)


def print_leaderboard(board: pd.DataFrame, console: Console | None = None) -> None:
    """One table per dataset: methods by PSNR averaged over noise levels, PSNR/SSIM per level."""
    console = console or Console()
    for dataset, table_rows in board.groupby("dataset", sort=False):
        noises = list(dict.fromkeys(table_rows.noise))
        has_psf = table_rows.psf_snr_mean.notna().any()
        title = "PSNR dB / SSIM" if table_rows.psnr_mean.notna().any() else _NO_REFERENCE_TITLE
        table = Table(title=f"{dataset}: {title}" + (" / PSF-SNR dB" if has_psf else ""), title_justify="left")
        table.add_column("method", no_wrap=True)
        for noise in noises:
            table.add_column(noise, justify="right")
        table.add_column("median s/image", justify="right")
        ranking = table_rows.groupby("method").psnr_mean.mean().sort_values(ascending=False).index
        for method in ranking:
            cells = []
            for noise in noises:
                match = table_rows[(table_rows.method == method) & (table_rows.noise == noise)]
                cells.append(_cell(match.iloc[0], has_psf) if len(match) else "")
            times = table_rows[table_rows.method == method].time_s_median
            table.add_row(method, *cells, f"{times.median():.3f}" if times.notna().any() else "")
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
