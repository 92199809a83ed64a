"""Measure a call the same way everywhere: wall time, peak memory, and the machine it ran on.

On CUDA a call is bracketed by CUDA events after a synchronisation, and its
memory is the peak allocated by torch on the device during the call (weights
and inputs included: what the call needs on the GPU). On CPU the wall time
comes from ``perf_counter`` and memory is the peak resident set during the
call above the resident set before it: on Linux the kernel's high-water mark
is reset before the call (``/proc/self/clear_refs``), elsewhere the growth of
the process's all-time peak is used (0 when the call stays below an earlier
peak). One-off costs (allocator, FFT plans, lazy imports) are kept out by an
untimed warm-up call before the timed ones (:func:`repeat_timed`).

The run engine (:mod:`bench.run`) and ``bench timing`` (:mod:`bench.commands.timing`)
both measure with these, and record :func:`environment` and :func:`git_commit`.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
import platform
import re
import resource
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

import torch

__all__ = [
    "LIBRARIES", "RepeatedTiming", "Timing", "device_name", "environment", "git_commit", "library_versions",
    "nvidia_driver_version", "release_free_heap", "repeat_timed", "timed",
]  # fmt: skip

T = TypeVar("T")

#: Libraries whose versions are recorded with every run, timing table and checkpoint.
LIBRARIES = ("deconv-bench", "torch", "deepinv", "numpy", "scipy", "scikit-image", "pylops", "pandas", "hydra-core")


@dataclass(frozen=True)
class Timing:
    """Wall time of one call, its peak memory and the device it ran on."""

    seconds: float
    peak_memory_mb: float
    device: str


@dataclass(frozen=True)
class RepeatedTiming:
    """Several timed calls of the same work: their times, the largest peak memory, the device."""

    seconds: tuple[float, ...]
    peak_memory_mb: float
    device: str

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def spread_pct(self) -> float:
        """(max - min) / median in percent: how much the repeats disagree."""
        return 100 * (max(self.seconds) - min(self.seconds)) / self.median if self.median > 0 else 0.0


def device_name(device: torch.device) -> str:
    """Human-readable device: GPU model, or CPU model and torch thread count."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    cpu = platform.processor() or platform.machine()
    return f"cpu ({cpu}, {torch.get_num_threads()} threads)"


def library_versions() -> dict[str, str | None]:
    """Installed version of Python and of each library in :data:`LIBRARIES` (None if absent)."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for library in LIBRARIES:
        try:
            versions[library] = metadata.version(library)
        except metadata.PackageNotFoundError:
            versions[library] = None
    return versions


def nvidia_driver_version() -> str | None:
    """The NVIDIA kernel driver version (for example ``550.54.15``), or None without one."""
    try:
        text = Path("/proc/driver/nvidia/version").read_text()
        match = re.search(r"Kernel Module\s+(?:for \S+\s+)?([\d.]+)", text)
        if match:
            return match.group(1)
    except OSError:
        pass
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout  # fmt: skip
        return out.splitlines()[0].strip() or None
    except (OSError, subprocess.SubprocessError, IndexError):
        return None


def environment(device: torch.device) -> dict[str, Any]:
    """What a timing depends on: device, threads, CPU, GPU memory, driver and CUDA versions, libraries."""
    info: dict[str, Any] = {
        "device": device_name(device),
        "device_type": device.type,
        "threads": torch.get_num_threads(),
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "cuda": torch.version.cuda,
        "cudnn": None,
        "driver": None,
        "gpu_memory_gb": None,
        "versions": library_versions(),
    }
    if device.type == "cuda":
        properties = torch.cuda.get_device_properties(device)
        info.update(
            cudnn=torch.backends.cudnn.version(),
            driver=nvidia_driver_version(),
            gpu_memory_gb=round(properties.total_memory / 2**30, 1),
            compute_capability=f"{properties.major}.{properties.minor}",
        )
    return info


def _status_kb(field: str) -> int | None:
    try:
        match = re.search(rf"^{field}:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.MULTILINE)
    except OSError:
        return None
    return int(match.group(1)) if match else None


def _reset_peak_rss() -> bool:
    """Reset the kernel's resident-set high-water mark (Linux >= 4.0); False where impossible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return _status_kb("VmHWM") is not None


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    library = ctypes.util.find_library("c")
    return getattr(ctypes.CDLL(library), "malloc_trim", None) if library else None


def release_free_heap() -> None:
    """Return freed heap pages to the system (glibc's ``malloc_trim``; a no-op elsewhere).

    glibc keeps up to tens of MiB of freed memory resident for reuse (its
    trim threshold grows with the largest block freed). Released between
    tiles, the resident memory of tiled processing stays that of one
    tile (:func:`bench.solve.tiling.restore_tiled`); released before a measurement
    (:func:`timed`), a call that reuses those pages is charged for them.
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def timed(call: Callable[[], T], device: torch.device) -> tuple[T, Timing]:
    """Run ``call`` once and measure its time and peak memory on ``device``."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        result = call()
        end.record()
        torch.cuda.synchronize(device)
        seconds = start.elapsed_time(end) / 1000
        peak = torch.cuda.max_memory_allocated(device) / 2**20
    else:
        release_free_heap()  # freed pages the call would reuse are not resident any more: it is charged for them
        high_water = _reset_peak_rss()
        rss_before = (_status_kb("VmRSS") or 0) if high_water else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        begin = time.perf_counter()
        result = call()
        seconds = time.perf_counter() - begin
        rss_after = (_status_kb("VmHWM") or 0) if high_water else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        peak = max(rss_after - rss_before, 0) / 1024
    return result, Timing(seconds=seconds, peak_memory_mb=peak, device=device_name(device))


def repeat_timed(call: Callable[[], Any], device: torch.device, *, repeats: int = 3, warmup: int = 1) -> RepeatedTiming:
    """``warmup`` untimed calls, then ``repeats`` timed ones."""
    if repeats < 1 or warmup < 0:
        raise ValueError(f"repeats must be >= 1 and warmup >= 0, got repeats={repeats}, warmup={warmup}")
    for _ in range(warmup):
        call()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
    timings = [timed(call, device)[1] for _ in range(repeats)]
    return RepeatedTiming(
        seconds=tuple(t.seconds for t in timings),
        peak_memory_mb=max(t.peak_memory_mb for t in timings),
        device=timings[0].device,
    )


def git_commit() -> str | None:
    """The commit of the deconv-bench checkout this code runs from, or None (not a git checkout, no git)."""
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=Path(__file__).parent, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
