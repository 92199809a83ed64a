import json
import math

import numpy as np
import pandas as pd
import pytest

from bench.commands.cli import main
from bench.report.publish import write_report
from bench.report.stats import bootstrap_mean, load_runs, paired_differences, summarize
from bench.run.runfolder import FORMAT_VERSION, input_path, leaderboard, read_run

IMAGES = ["i0", "i1", "i2", "i3", "i4"]  # 5: the fewest images that get intervals
NOISES = ["low", "high"]


def _write_run(directory, *, theta_max=0.15, reference=True):
    """A run of three methods on 5 images x 2 noise levels with known scores, outputs and the cases' inputs.

    ``wiener`` scores ``base + 1`` on every case, ``rl`` exactly ``base``, and the
    blind ``blur_id`` ``base + 1`` or ``base - 1`` alternately inside each image
    (paired differences to ``rl``: +1, -1 per image, mean 0). ``blur_id`` returns a PSF.
    """
    (directory / "outputs").mkdir(parents=True)
    (directory / "inputs").mkdir()
    rng = np.random.default_rng(0)
    grid = np.arange(7) - 3
    psf = np.exp(-(grid[:, None] ** 2 + grid[None, :] ** 2) / 2.0)
    psf /= psf.sum()
    rows = []
    for i, image in enumerate(IMAGES):
        for j, noise in enumerate(NOISES):
            case_id = f"{image}-{noise}"
            x = rng.random((16, 16)).astype(np.float32)
            arrays = {"y": x, "psf": psf.astype(np.float32)} | ({"x": x} if reference else {})
            np.savez(input_path(directory, case_id), **arrays)
            base = 20.0 + i - 3 * j
            for method, psnr, blind in (
                ("wiener", base + 1, False),
                ("rl", base, False),
                ("blur_id", base + (-1) ** j, True),
            ):
                (directory / "outputs" / method).mkdir(exist_ok=True)
                output = {"x_hat": x} | ({"psf_hat": psf} if blind else {})
                np.savez(directory / "outputs" / method / f"{case_id}.npz", **output)
                rows.append({
                    "method": method, "label": method, "track": "blind" if blind else "non-blind", "dataset": "toy", "case_id": case_id, "image": image, "noise": noise,
                    "blind": blind, "psnr": psnr if reference else math.nan, "ssim": 0.5 if reference else math.nan,
                    "psf_snr": 10.0 + i if blind else math.nan, "psf_psnr": math.nan, "reblur_psnr": math.nan,
                    "time_s": {"wiener": 0.01, "rl": 0.1, "blur_id": 1.0}[method], "peak_memory_mb": 5.0,
                    "device": "cpu (x86_64, 2 threads)", "status": "ok", "error": "", "params": "{}", "info": "{}",
                    "run_key": "k",
                })  # fmt: skip
    rows.append(
        rows[-1]
        | {"method": "broken", "label": "broken", "status": "error", "error": "ValueError: boom", "psnr": math.nan}
    )
    pd.DataFrame(rows).to_csv(directory / "cases.csv", index=False)
    manifest = {
        "format": FORMAT_VERSION,
        "config": {"dataset": {"name": "toy", "theta_max": theta_max, "size": 16, "fc_range": [0.1, 0.2],
                               "noise": NOISES, "noise_levels": {}}},
        "git_commit": "abc", "versions": {"torch": "2"}, "machine": {"device": "cpu"},
    }  # fmt: skip
    (directory / "manifest.json").write_text(json.dumps(manifest))
    return directory


def test_bootstrap_mean_of_constant_values_has_a_zero_width_interval():
    assert bootstrap_mean([5.0] * 12) == (5.0, 5.0, 5.0)
    assert all(math.isnan(v) for v in bootstrap_mean([math.nan, math.nan]))


def test_bootstrap_mean_matches_the_normal_interval_on_a_large_sample():
    values = np.random.default_rng(1).normal(size=400)
    mean, low, high = bootstrap_mean(values, n_boot=4000)
    half_width = 1.96 * values.std(ddof=1) / np.sqrt(len(values))
    assert mean == pytest.approx(values.mean())
    assert low == pytest.approx(mean - half_width, abs=0.2 * half_width)
    assert high == pytest.approx(mean + half_width, abs=0.2 * half_width)


def test_bootstrap_mean_resamples_whole_units():
    """Two units of ten equal values: resampling units can only give means 1, 2 or 3."""
    values = [1.0] * 10 + [3.0] * 10
    _, low, high = bootstrap_mean(values, ["a"] * 10 + ["b"] * 10)
    assert (low, high) == (1.0, 3.0)
    _, low_independent, high_independent = bootstrap_mean(values)
    assert 1.3 < low_independent < 2 < high_independent < 2.7


def test_summarize_pools_noise_levels_and_leaves_missing_metrics_empty(tmp_path):
    cases = load_runs([read_run(_write_run(tmp_path / "run"))])
    summary = summarize(cases, n_boot=500).set_index(["noise", "method"])
    wiener = summary.loc[("all", "wiener")]
    assert wiener["psnr_mean"] == pytest.approx(np.mean([20 + i - 3 * j + 1 for i in range(5) for j in range(2)]))
    assert wiener["psnr_ci_low"] < wiener["psnr_mean"] < wiener["psnr_ci_high"]
    assert summary.loc[("low", "wiener"), "ssim_ci_low"] == summary.loc[("low", "wiener"), "ssim_ci_high"] == 0.5
    assert math.isnan(wiener["psf_snr_mean"]) and summary.loc[("all", "blur_id"), "psf_snr_mean"] == pytest.approx(12.0)
    assert summary.loc[("high", "broken"), "n"] == 0 and summary.loc[("high", "broken"), "n_failed"] == 1


def test_too_few_images_get_no_interval_and_no_significance_test(tmp_path):
    cases = load_runs([read_run(_write_run(tmp_path / "run"))])
    few = cases[cases["image"] != "i4"]
    summary = summarize(few, n_boot=100)
    assert summary["psnr_mean"].notna().any() and summary["psnr_ci_low"].isna().all()
    assert paired_differences(few, n_boot=100).empty


def test_paired_differences_find_a_constant_gap_and_not_a_zero_mean_one(tmp_path):
    cases = load_runs([read_run(_write_run(tmp_path / "run"))])
    pairs = paired_differences(cases, n_boot=500).set_index(["method_a", "method_b"])
    exact = pairs.loc[("wiener", "rl")]
    assert (exact.mean_difference, exact.ci_low, exact.ci_high, exact.significant) == (1.0, 1.0, 1.0, True)
    assert exact.confidence == pytest.approx(1 - 0.05 / 3)
    zero_mean = pairs.loc[("blur_id", "rl")] if ("blur_id", "rl") in pairs.index else pairs.loc[("rl", "blur_id")]
    assert zero_mean.mean_difference == 0 and not zero_mean.significant


def test_report_writes_benchopt_columns_markdown_and_a_page_naming_every_method(tmp_path):
    run = _write_run(tmp_path / "run")
    written = write_report([run], tmp_path / "out", n_boot=200)
    assert sorted(p.name for p in written) == sorted(
        ["cases.csv", "leaderboard.csv", "significance.csv", "leaderboard.md", "leaderboard.html"]
    )
    board = pd.read_csv(tmp_path / "out" / "leaderboard.csv")
    for column in ("solver_name", "dataset_name", "objective_name", "objective_psnr", "objective_psf_snr",
                   "p_dataset_noise", "p_dataset_theta_max", "p_dataset_fc_range", "psnr_ci_low", "time"):  # fmt: skip
        assert column in board.columns, column
    assert set(board["dataset_name"]) == {"toy[noise=low]", "toy[noise=high]", "toy[noise=all]"}
    markdown = (tmp_path / "out" / "leaderboard.md").read_text()
    assert "## toy" in markdown and "| 1 | wiener |" in markdown
    page = (tmp_path / "out" / "leaderboard.html").read_text()
    for method in ("wiener", "rl", "blur_id", "broken"):
        assert f">{method}<" in page, method
    assert page.count("data:image/png;base64,") >= 4  # noise curves, time-quality scatter, panels
    # three panels of the middle noise level ("high"), evenly spread over the five images
    assert "<h3>Image panels</h3>" in page
    for case_id in ("i0-high", "i2-high", "i4-high"):
        assert f"{case_id}: every restoration on the grey scale" in page, case_id
    assert "i1-high:" not in page and "i0-low:" not in page
    assert "<script>" in page and "http" not in page.split("<body>")[1].replace("https://", "")


def test_report_merges_a_theta_sweep_into_variants_and_handles_data_without_reference(tmp_path):
    runs = [_write_run(tmp_path / "a", theta_max=0.1), _write_run(tmp_path / "b", theta_max=0.3)]
    write_report(runs, tmp_path / "out", n_boot=100, panels=1)
    board = pd.read_csv(tmp_path / "out" / "leaderboard.csv")
    assert set(board["variant"]) == {"toy[theta_max=0.1]", "toy[theta_max=0.3]"}
    assert "toy[theta_max=0.1,noise=high]" in set(board["dataset_name"])
    assert "<h2>toy: robustness to θ<sub>max</sub></h2>" in (tmp_path / "out" / "leaderboard.html").read_text()
    no_reference = _write_run(tmp_path / "c", reference=False)
    write_report([no_reference], tmp_path / "nr", n_boot=100)
    board = pd.read_csv(tmp_path / "nr" / "leaderboard.csv")
    assert board["psnr_mean"].isna().all() and board["psf_snr_mean"].notna().any()


def test_leaderboard_of_a_run_still_counts_failures(tmp_path):
    cases = read_run(_write_run(tmp_path / "run")).cases
    board = leaderboard(cases)
    assert board.loc[board.method == "broken", "n_failed"].sum() == 1 and "psnr_mean" in board


def test_cli_report_rejects_a_folder_without_cases(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    assert "has no cases.csv" in capsys.readouterr().err


def test_report_shows_each_label_of_a_method_as_its_own_entry_with_its_image_panels(tmp_path):
    """Two budgets of ``rl`` in one run: two ranked entries, benchopt solver names, panels read from their folders."""
    from bench.run.runfolder import output_path

    run = _write_run(tmp_path / "run")
    cases = pd.read_csv(run / "cases.csv")
    full = cases[cases.method == "rl"].assign(label="rl[budget=full,tol=0.1]", psnr=lambda c: c.psnr + 2)
    cases = pd.concat([cases.assign(label=cases.method), full], ignore_index=True)
    cases.to_csv(run / "cases.csv", index=False)
    for case_id in full.case_id:  # only this label saved images: the panels must find them under its folder
        output_path(run, "rl[budget=full,tol=0.1]", case_id).parent.mkdir(parents=True, exist_ok=True)
        (run / "outputs" / "wiener" / f"{case_id}.npz").rename(output_path(run, "rl[budget=full,tol=0.1]", case_id))
    for method in ("wiener", "rl", "blur_id"):
        for path in (run / "outputs" / method).glob("*.npz"):
            path.unlink()
    write_report([run], tmp_path / "out", n_boot=100, panels=1)
    board = pd.read_csv(tmp_path / "out" / "leaderboard.csv")
    pooled = board[board.noise == "all"].set_index("label")
    assert pooled.loc["rl[budget=full,tol=0.1]", "method"] == "rl" == pooled.loc["rl", "method"]
    assert pooled.loc["rl[budget=full,tol=0.1]", "solver_name"] == "rl[budget=full,tol=0.1]"
    assert pooled.loc["rl[budget=full,tol=0.1]", "psnr_mean"] == pytest.approx(pooled.loc["rl", "psnr_mean"] + 2)
    assert "| 1 | rl[budget=full,tol=0.1] |" in (tmp_path / "out" / "leaderboard.md").read_text()
    page = (tmp_path / "out" / "leaderboard.html").read_text()
    assert ">rl[budget=full,tol=0.1]<" in page and ">rl<" in page and "No image panels" not in page


def test_image_panels_come_from_the_run_folder_alone_and_missing_inputs_name_the_rerun(tmp_path):
    run = _write_run(tmp_path / "run")
    for path in (run / "inputs").glob("*.npz"):
        path.unlink()
    write_report([run], tmp_path / "out", n_boot=100, panels=1)
    page = (tmp_path / "out" / "leaderboard.html").read_text()
    assert "holds no inputs of this case" in page and "--save-outputs</code> into it" in page


def test_report_refuses_a_run_of_an_older_format_naming_the_command_that_recomputes_it(tmp_path, capsys):
    run = _write_run(tmp_path / "run")
    manifest = json.loads((run / "manifest.json").read_text())
    (run / "manifest.json").write_text(json.dumps({**manifest, "format": 1, "methods": ["wiener", "rl"]}))
    assert main(["report", str(run), "--out", str(tmp_path / "out")]) == 2
    out = " ".join(capsys.readouterr().err.split())
    assert f"recompute it: rm -r {run} && bench run --method wiener,rl --dataset toy --out {run}" in out
    assert not (tmp_path / "out").exists()


def test_a_leaderboard_too_wide_for_80_columns_is_printed_long_with_every_score_whole():
    from rich.console import Console

    from bench.report.tables import print_leaderboard

    label = "psf-id-spectral[preset=cpu,track=blind+optics,restore=unrolled]"
    board = pd.DataFrame([
        {"dataset": "fresnel-zernike", "noise": noise, "label": label, "track": "blind+optics", "psnr_mean": 24.5 + i,
         "ssim_mean": 0.6, "psf_snr_mean": 3.1, "n": 8, "n_failed": 0, "time_s_median": 1.0}
        for i, noise in enumerate(["noiseless", "low", "medium", "high"])
    ])  # fmt: skip
    for width in (80, 200):
        console = Console(width=width, record=True)
        print_leaderboard(board, console)
        text = console.export_text()
        assert all(f"{24.5 + i:.2f} / 0.600 / 3.1" in text for i in range(4)), text
        assert max(len(line) for line in text.splitlines()) <= width
