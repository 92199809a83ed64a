"""Speed, memory and quality of every registered method, in one asv history.

Methods come from the registry, so a new plugin gets its benchmarks without
an edit here. ``MethodSpeedSuite`` times one call of each method (``time_run``)
and its peak memory (``peakmem_run``) on one fixed fresnel-zernike case per
size (camera, noise level medium, seed 0). ``MethodQualitySuite`` runs
``bench run`` on a fixed small case set and tracks each method's mean PSNR,
SSIM and PSF-SNR, so a quality regression shows next to a speed one.

To keep the whole suite to a few minutes on 2 CPU cores, each suite first
times every method once on a 64² case (``setup_cache``, once per suite) and
skips, through ``NotImplementedError`` in ``setup``, the combinations whose
predicted time (scaled with the pixel count) exceeds a budget:
:data:`CALL_BUDGET_S` per timed call, :data:`QUALITY_BUDGET_S` per method for
the quality set. A skipped combination shows as "n/a" in asv, and ``bench
timing --max-call-seconds`` gives the full table.
"""

import math
import tempfile

import torch

import bench  # noqa: F401  (torchvision fallback before deepinv is imported)
from bench.config import make_method
from bench.system.measure import repeat_timed
from bench.registry import load_registry
from bench.run.runner import call_method, run_benchmark
from bench.commands.timing import timing_case

METHODS = sorted(load_registry().methods)
SIZES = [128, 256, 512]
DEVICES = ["cpu", "cuda"]
THREADS = 2
CALIBRATION_SIZE = 64
CALL_BUDGET_S = 5.0
QUALITY_BUDGET_S = 60.0
#: The fixed quality case set: 3 test images x 2 noise levels at 128², seed 0.
QUALITY_OVERRIDES = [
    "dataset.size=128",
    "dataset.images=[camera,moon,phantom-beads]",
    "noise=[low,high]",
    "dataset.seed=0",
]
QUALITY_CASES = 6


def _case(size):
    return timing_case(size, overrides=["dataset.seed=0"])


def _available_devices():
    return [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])


def _ready_method(name, device):
    """The method with its default parameters, prepared on ``device``, or None where it cannot run."""
    method, _ = make_method(load_registry().method(name))
    if method.unavailable(device):
        return None
    method.prepare(device)
    return method


def _calibrate():
    """{device: {method: seconds of one call at 64² after a warm-up}}; failing or unavailable methods are left out."""
    torch.set_num_threads(THREADS)
    case = _case(CALIBRATION_SIZE)
    seconds = {}
    for device in _available_devices():
        seconds[device.type] = {}
        for name in METHODS:
            try:
                method = _ready_method(name, device)
                if method is None:
                    continue
                seconds[device.type][name] = repeat_timed(
                    lambda: call_method(method, case, device), device, repeats=1
                ).median
            except Exception:  # a failing method is skipped, the others still run
                continue
    return seconds


def _check_budget(calibration, method, device, pixels, budget):
    if device not in calibration:
        raise NotImplementedError(f"no {device} device here")
    if method not in calibration[device]:
        raise NotImplementedError(f"{method} cannot run on {device} here")
    predicted = calibration[device][method] * pixels / CALIBRATION_SIZE**2
    if predicted > budget:
        raise NotImplementedError(f"{method} predicted {predicted:.1f} s > budget {budget} s")


class MethodSpeedSuite:
    """One call of each method on a fixed case: wall time (CUDA-synchronised) and peak memory."""

    params = (METHODS, SIZES, DEVICES)
    param_names = ["method", "size", "device"]
    timeout = 300
    number = 1
    repeat = (3, 5, 20.0)
    warmup_time = 0

    def setup_cache(self):
        return _calibrate()

    setup_cache.timeout = 600

    def setup(self, calibration, method, size, device):
        _check_budget(calibration, method, device, size * size, CALL_BUDGET_S)
        torch.set_num_threads(THREADS)
        self.device = torch.device(device)
        self.method = _ready_method(method, self.device)
        self.case = _case(size)
        self._run()  # warm-up: allocator, FFT plans, lazy imports

    def _run(self):
        call_method(self.method, self.case, self.device)
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def time_run(self, calibration, method, size, device):
        self._run()

    def peakmem_run(self, calibration, method, size, device):
        self._run()


class MethodQualitySuite:
    """Mean PSNR, SSIM and PSF-SNR of each method over the fixed quality case set (``bench run``, CPU)."""

    params = (METHODS,)
    param_names = ["method"]
    timeout = 300

    def setup_cache(self):
        calibration = _calibrate()["cpu"]
        budget = QUALITY_BUDGET_S / QUALITY_CASES
        fits = [m for m in METHODS if m in calibration and calibration[m] * 128**2 / CALIBRATION_SIZE**2 <= budget]
        with tempfile.TemporaryDirectory() as out:
            outcome = run_benchmark(
                ",".join(fits), "fresnel-zernike", [*QUALITY_OVERRIDES, f"out={out}"], log=lambda _: None
            )
        finished = outcome.cases[outcome.cases.status == "ok"]
        return {
            name: {metric: float(rows[metric].mean()) for metric in ("psnr", "ssim", "psf_snr")}
            for name, rows in finished.groupby("method")
            if len(rows) == QUALITY_CASES
        }

    setup_cache.timeout = 900

    def setup(self, scores, method):
        if method not in scores:
            raise NotImplementedError(f"{method} is unavailable, failed, or is over the quality budget")

    def track_psnr(self, scores, method):
        return scores[method]["psnr"]

    track_psnr.unit = "dB"

    def track_ssim(self, scores, method):
        return scores[method]["ssim"]

    track_ssim.unit = "SSIM"

    def track_psf_snr(self, scores, method):
        """NaN for methods that return no PSF."""
        value = scores[method]["psf_snr"]
        return value if math.isfinite(value) else float("nan")

    track_psf_snr.unit = "dB"
