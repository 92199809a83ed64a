"""bench.system.measure: timed calls, repeated timings and the environment they are recorded with."""

import importlib.metadata
import platform
import time

import pytest
import torch

from bench.system.measure import LIBRARIES, RepeatedTiming, environment, library_versions, repeat_timed, timed

CPU = torch.device("cpu")


def test_timed_returns_the_call_result_and_a_duration_at_least_the_sleep():
    result, timing = timed(lambda: (time.sleep(0.02), "done")[1], CPU)
    assert result == "done"
    assert 0.02 <= timing.seconds < 5 and timing.peak_memory_mb >= 0
    assert timing.device == f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def test_repeat_timed_runs_warmup_plus_repeats_and_refuses_bad_counts():
    calls = []
    timing = repeat_timed(lambda: calls.append(1), CPU, repeats=3, warmup=2)
    assert len(calls) == 5 and len(timing.seconds) == 3 and all(s > 0 for s in timing.seconds)
    with pytest.raises(ValueError, match="repeats must be >= 1 and warmup >= 0, got repeats=0, warmup=1"):
        repeat_timed(lambda: None, CPU, repeats=0)


def test_repeated_timing_median_and_spread():
    timing = RepeatedTiming(seconds=(1.0, 2.0, 4.0), peak_memory_mb=1.0, device="cpu")
    assert timing.median == 2.0 and timing.spread_pct == 150.0
    assert RepeatedTiming(seconds=(0.0,), peak_memory_mb=0.0, device="cpu").spread_pct == 0.0


def test_library_versions_name_python_and_every_library():
    versions = library_versions()
    assert set(versions) == {"python", *LIBRARIES}
    assert versions["python"] == platform.python_version()
    assert versions["numpy"] == importlib.metadata.version("numpy")


def test_environment_keys_on_cpu():
    env = environment(CPU)
    assert {"device", "device_type", "threads", "cpu", "cpu_count", "platform", "cuda", "cudnn", "driver",
            "gpu_memory_gb", "versions"} <= set(env)  # fmt: skip
    assert env["device_type"] == "cpu" and env["gpu_memory_gb"] is None and env["versions"] == library_versions()
