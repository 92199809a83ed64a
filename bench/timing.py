"""Time one call of a method the same way for every method, on CPU or CUDA.

On CUDA the call is bracketed by CUDA events after a synchronisation and the
peak allocated device memory is read from torch; on CPU the wall time comes
from ``perf_counter`` and memory is the growth of the process's peak resident
set during the call (0 when the call stays below an earlier peak). The runner
makes one warm-up call per method before the timed ones, so one-off costs
(allocator, FFT plans, lazy imports) are not counted.
"""

from __future__ import annotations

import platform
import resource
import time
from dataclasses import dataclass
from typing import Callable, TypeVar

import torch

__all__ = ["Timing", "device_name", "timed"]

T = TypeVar("T")


@dataclass(frozen=True)
class Timing:
    """Wall time of one call, its peak memory and the device it ran on."""

    seconds: float
    peak_memory_mb: float
    device: str


def device_name(device: torch.device) -> str:
    """Human-readable device: GPU model, or CPU model and torch thread count."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    cpu = platform.processor() or platform.machine()
    return f"cpu ({cpu}, {torch.get_num_threads()} threads)"


def timed(call: Callable[[], T], device: torch.device) -> tuple[T, Timing]:
    """Run ``call`` once and measure it on ``device``."""
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
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        begin = time.perf_counter()
        result = call()
        seconds = time.perf_counter() - begin
        peak = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    return result, Timing(seconds=seconds, peak_memory_mb=peak, device=device_name(device))
