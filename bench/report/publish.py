"""``bench report``: merge run folders and write the tables and the static page."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from bench.report.benchopt import benchopt_columns
from bench.report.html import render_page
from bench.report.stats import load_runs, paired_differences, summarize
from bench.report.tables import markdown_report
from bench.run.runfolder import read_run

__all__ = ["write_report"]


def write_report(
    run_dirs: Iterable[Path], out: Path, *, panels: int = 3, n_boot: int = 2000, seed: int = 0
) -> list[Path]:
    """``bench report``: merge runs and write the tables and the static page into ``out``; returns the paths."""
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
