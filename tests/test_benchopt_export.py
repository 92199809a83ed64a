"""benchopt reads what ``bench export --format benchopt`` writes: its own reader, merger and plot command."""

import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from test_report import IMAGES, NOISES, _write_run

from bench.commands.cli import main
from bench.report.benchopt import OBJECTIVE_NAME, benchopt_results
from bench.run.runfolder import read_run

benchopt_results_module = pytest.importorskip("benchopt.results", reason="benchopt is a test extra")
pytest.importorskip("pyarrow", reason="the parquet file needs pyarrow")


def test_benchopt_results_have_one_paired_row_per_label_and_case(tmp_path):
    frame = benchopt_results([read_run(_write_run(tmp_path / "run", theta_max=0.2))])
    assert len(frame) == 3 * len(IMAGES) * len(NOISES) + 1  # three methods, and one failed row of `broken`
    assert set(frame["objective_name"]) == {OBJECTIVE_NAME}
    assert set(frame["dataset_name"]) == {f"toy[noise={noise}]" for noise in NOISES}
    assert (frame["stop_val"] == 1).all() and set(frame["sampling_strategy"]) == {"Run_once"}
    # idx_rep is the image: the same index for every solver, so benchopt pairs the rows
    reps = frame.groupby("image")["idx_rep"].unique()
    assert reps.map(len).eq(1).all() and sorted(reps.map(lambda r: r[0])) == list(range(len(IMAGES)))
    rl = frame[(frame["solver_name"] == "rl") & (frame["case_id"] == "i2-high")].iloc[0]
    assert rl["objective_value"] == rl["objective_psnr"] == 20.0 + 2 - 3 and rl["ranking_metric"] == "psnr"
    assert rl["time"] == 0.1 and rl["p_dataset_theta_max"] == 0.2 and rl["p_dataset_noise"] == "high"
    assert rl["version-torch"] == "2" and rl["benchmark-git-commit"] == "abc"
    broken = frame[frame["solver_name"] == "broken"].iloc[0]
    assert broken["status"] == "error" and pd.isna(broken["objective_value"])


def test_bench_export_writes_files_that_benchopt_reads_merges_and_plots(tmp_path):
    run = _write_run(tmp_path / "run")
    out = tmp_path / "benchmark_deconv_bench"
    assert main(["export", str(run), "--format", "benchopt", "--out", str(out)]) == 0
    parquet, csv = out / "outputs" / "deconv-bench.parquet", out / "outputs" / "deconv-bench.csv"
    from benchopt.results.result_processing import describe_results, merge_results

    for path in (parquet, csv):
        summary = describe_results(benchopt_results_module.read_results(path))
        assert summary["solvers"] == ["blur_id", "broken", "rl", "wiener"]
        assert summary["n_repetitions"] == len(IMAGES) and "objective_psnr" in summary["objective_columns"]
    merged = merge_results([parquet, csv])  # the same configurations twice: benchopt keeps one row each
    assert len(merged) == len(pd.read_csv(csv))

    benchopt = shutil.which("benchopt", path=str(Path(sys.executable).parent))
    plot = subprocess.run(
        [benchopt, "plot", str(out), "-f", str(csv), "--no-display"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert plot.returncode == 0, plot.stderr
    page = (out / "outputs" / f"{out.name}_deconv-bench.html").read_text()
    for solver in ("wiener", "rl", "blur_id"):
        assert solver in page
