import importlib.metadata
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from bench.commands.cli import main
from bench.system.measure import environment, repeat_timed, timed
from bench.commands.timing import fit_scaling, run_timing, scaling_table, timing_markdown

CPU = torch.device("cpu")


def test_fit_scaling_recovers_a_power_law():
    pixels = np.array([256, 512, 1024]) ** 2
    fit = fit_scaling(pixels, 3e-6 * pixels**1.5)
    assert fit.exponent == pytest.approx(1.5)
    assert fit.seconds_per_megapixel == pytest.approx(3e-6 * 1e9)
    assert fit.r2 == pytest.approx(1.0) and fit.points == 3


def test_fit_scaling_with_two_sizes_has_no_r2_and_one_size_is_refused():
    assert math.isnan(fit_scaling([100, 400], [1.0, 4.0]).r2)
    with pytest.raises(ValueError, match="two sizes or more"):
        fit_scaling([100, 100], [1.0, 1.1])


def test_repeat_timed_warms_up_then_times_each_repeat():
    calls = []
    timing = repeat_timed(lambda: calls.append(1), CPU, repeats=4, warmup=2)
    assert len(calls) == 6 and len(timing.seconds) == 4
    assert timing.median == pytest.approx(np.median(timing.seconds)) and timing.spread_pct >= 0
    with pytest.raises(ValueError, match="repeats must be >= 1"):
        repeat_timed(lambda: None, CPU, repeats=0)


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux's resettable peak RSS")
def test_timed_measures_the_peak_memory_of_the_call_on_cpu():
    def allocate():
        block = np.ones(80 * 2**20 // 8)  # 80 MiB, freed before the call returns
        return float(block[-1])

    result, timing = timed(allocate, CPU)
    assert result == 1.0 and timing.seconds > 0
    assert 70 < timing.peak_memory_mb < 200
    assert "threads" in timing.device


def test_environment_names_device_threads_and_versions():
    env = environment(CPU)
    assert env["device_type"] == "cpu" and env["threads"] == torch.get_num_threads()
    assert env["versions"]["torch"] == importlib.metadata.version("torch")
    assert env["driver"] is None and "deconv-bench" in env["versions"]


def test_run_timing_skips_sizes_predicted_too_slow_and_fits_the_rest():
    table, fits, env = run_timing("identity,wiener", [32, 48], max_call_seconds=1e9, repeats=2, log=lambda _: None)
    assert list(table["status"]) == ["ok"] * 4 and (table["median_s"] > 0).all()
    assert set(fits["method"]) == {"identity", "wiener"}
    skipped, _, _ = run_timing("wiener", [32, 48], max_call_seconds=0.0, repeats=1, log=lambda _: None)
    assert list(skipped["status"]) == ["ok", "skipped"] and "predicted" in skipped["note"].iloc[1]
    assert "| wiener |" in timing_markdown(table, fits, env)


def test_run_timing_compares_every_method_to_a_peer_timed_in_the_same_run():
    table, fits, env = run_timing("identity,wiener", [32], repeats=1, peer="identity", log=lambda _: None)
    rows = table.set_index("method")
    assert rows.at["identity", "ratio_to_peer"] == 1 and rows.at["identity", "max_abs_diff_to_peer"] == 0
    assert rows.at["wiener", "ratio_to_peer"] > 0 and rows.at["wiener", "max_abs_diff_to_peer"] > 0
    assert "Against identity in the same run" in timing_markdown(table, fits, env)
    with pytest.raises(ValueError, match="--peer tikhonov must be one of the timed methods"):
        run_timing("identity,wiener", [32], peer="tikhonov", log=lambda _: None)


def test_scaling_table_ignores_failed_and_single_size_methods():
    table = pd.DataFrame({
        "method": ["a", "a", "b", "c", "c"], "size": [32, 64, 32, 32, 64], "pixels": [1024, 4096, 1024, 1024, 4096],
        "median_s": [1.0, 4.0, 1.0, 1.0, np.nan], "status": ["ok", "ok", "ok", "ok", "error"],
    })  # fmt: skip
    fits = scaling_table(table)
    assert list(fits["method"]) == ["a"] and fits["exponent"].iloc[0] == pytest.approx(1.0)


def test_cli_timing_writes_the_tables(tmp_path, capsys):
    assert main(["timing", "--method", "identity", "--sizes", "32,48", "--repeats", "1", "--out", str(tmp_path)]) == 0
    for name in ("timing.csv", "timing-fit.csv", "timing.md", "environment.json"):
        assert (tmp_path / name).exists()
    assert main(["timing", "--sizes", "a,b"]) == 2 and "--sizes must be" in capsys.readouterr().err


@pytest.mark.gpu
def test_timed_on_cuda_uses_events_and_reports_device_memory():
    device = torch.device("cuda")
    result, timing = timed(lambda: torch.ones(2**24, device=device).sum(), device)
    assert result.item() == 2**24 and timing.seconds > 0
    assert timing.peak_memory_mb >= 64 and timing.device == torch.cuda.get_device_name(device)
    assert environment(device)["gpu_memory_gb"] > 0


def test_fit_scaling_r2_is_below_one_for_a_noisy_power_law_and_undefined_for_constant_times():
    pixels = np.array([64, 128, 256, 512]) ** 2
    seconds = 1e-6 * pixels * np.array([1.0, 1.3, 0.8, 1.1])
    log_n, log_t = np.log(pixels), np.log(seconds)
    expected = np.corrcoef(log_n, log_t)[0, 1] ** 2
    assert fit_scaling(pixels, seconds).r2 == pytest.approx(expected) and expected < 0.999
    assert math.isnan(fit_scaling(pixels, np.ones(4)).r2)
