"""Speed and accuracy of Richardson-Lucy: bench.solve.solvers (torch) against scikit-image, sdeconv and RedLionfish.

Images in :class:`RichardsonLucySuite`, volumes in :class:`RichardsonLucy3DSuite`.

All solve the same case: 100 iterations on ``y`` reflect-padded by the PSF
radius r, then cropped back. bench and skimage are the same model (zero
outside the padded image, flat start, no clipping; skimage gets
``numpy.pad(y, r, "reflect")``). sdeconv (``SRichardsonLucy``) and RedLionfish
(CPU path) pad the same way but convolve circularly and start from ``y``; they
run through their deconv-bench plugins (plugins/deconv-bench-thirdparty), which
hold what RedLionfish needs to run a 2D case, and are skipped where the plugin
or the package is missing. RedLionfish computes in float32 only.

``time_`` and ``peakmem_`` are each library alone; ``track_time_ratio`` is its
median time over bench float32's, both timed in the same process one after
the other (3 calls each after a warm-up), so the ratio holds on a loaded
machine; ``track_max_abs_difference`` is its largest difference from skimage
in float64 over the whole image (intensities in [0, 1]). Torch runs on 2 CPU
threads; skimage and RedLionfish are single-threaded.
"""

import statistics
import time

import numpy as np
import torch

import bench  # noqa: F401  (torchvision fallback before deepinv is imported)
from bench.config import make_method
from bench.physics.degradation import blur_valid
from bench.physics.psfs import zernike_psf
from bench.registry import UnknownPluginError, load_registry
from bench.solve.solvers import richardson_lucy

NUM_ITER = 100
PSF_SIZE = 31
THREADS = 2
#: Third-party implementations, by their deconv-bench plugin and its iteration parameter.
PLUGINS = {"sdeconv": ("sdeconv_richardson_lucy", "niter"), "redlionfish": ("redlionfish_richardson_lucy", "niter")}
RATIO_REPEATS = 3
#: The 3D suite: fresnel-zernike-3d's default stack and PSF sizes, fewer iterations (skimage takes seconds each).
SHAPE_3D, PSF_SHAPE_3D, NUM_ITER_3D = (32, 128, 128), (15, 31, 31), 10


def _inputs(size):
    """A blurred, Poisson-noisy uniform random field and a 31x31 aberrated PSF, seeded."""
    rng = np.random.default_rng(0)
    psf = zernike_psf(rng.uniform(-0.15, 0.15, size=8), 0.2, size=PSF_SIZE)
    field = rng.random((size + PSF_SIZE - 1, size + PSF_SIZE - 1))
    blurred = blur_valid(field, psf)
    y = rng.poisson(1000 * blurred) / 1000
    return y, psf


def _skimage_rl(y, psf, dtype, num_iter=NUM_ITER):
    """skimage's RL on ``y`` reflect-padded by the PSF radius on every axis, cropped back (images or volumes)."""
    from skimage.restoration import richardson_lucy as skimage_richardson_lucy

    radii = [(k // 2, k // 2) for k in psf.shape]
    padded = np.pad(y, radii, mode="reflect").astype(dtype)
    x = skimage_richardson_lucy(padded, psf.astype(dtype), num_iter=num_iter, clip=False)
    return x[tuple(slice(r, r + n) for (r, _), n in zip(radii, y.shape))]


def _plugin(library):
    """The plugin method of a third-party library with 100 iterations and padding r; NotImplementedError if absent."""
    name, iterations = PLUGINS[library]
    try:
        method_cls = load_registry().method(name)
    except UnknownPluginError:
        raise NotImplementedError(f"{name} is not registered: install plugins/deconv-bench-thirdparty") from None
    method, _ = make_method(method_cls, [f"{iterations}={NUM_ITER}", f"pad={PSF_SIZE // 2}"])
    reason = method.unavailable(torch.device("cpu"))
    if reason:
        raise NotImplementedError(reason)
    return method


class RichardsonLucySuite:
    """100 Richardson-Lucy iterations with a 31x31 PSF, per image size, library and dtype."""

    params = ([256, 512, 1024], ["bench", "skimage", "sdeconv", "redlionfish"], ["float32", "float64"])
    param_names = ["size", "library", "dtype"]
    timeout = 900
    number = 1
    repeat = (2, 5, 20.0)  # at least 2 samples, at most 5 or 20 s: skimage at 1024² takes seconds per call

    def setup(self, size, library, dtype):
        if library == "redlionfish" and dtype == "float64":
            raise NotImplementedError("RedLionfish computes in float32 only")
        self.method = _plugin(library) if library in PLUGINS else None
        torch.set_num_threads(THREADS)
        self.y, self.psf = _inputs(size)
        self.y_t = torch.from_numpy(self.y.astype(dtype))[None, None]
        self.psf_t = torch.from_numpy(self.psf.astype(dtype))[None, None]

    def _run(self, library, dtype):
        if library == "bench":
            return richardson_lucy(self.y_t, self.psf_t, num_iter=NUM_ITER, boundary="reflect")[0, 0].numpy()
        if library == "skimage":
            return _skimage_rl(self.y, self.psf, np.dtype(dtype))
        return self.method.run(self.y_t, self.psf_t, None).x_hat[0, 0].numpy()

    def time_richardson_lucy(self, size, library, dtype):
        self._run(library, dtype)

    def peakmem_richardson_lucy(self, size, library, dtype):
        self._run(library, dtype)

    def peakmem_reference(self, size, library, dtype):
        """Baseline: the memory of the inputs alone."""

    def track_max_abs_difference(self, size, library, dtype):
        """Largest absolute difference from skimage in float64 (intensities in [0, 1])."""
        reference = _skimage_rl(self.y, self.psf, np.float64)
        return float(np.abs(self._run(library, dtype).astype(np.float64) - reference).max())

    track_max_abs_difference.unit = "intensity"

    def track_time_ratio(self, size, library, dtype):
        """Median time of this library over bench float32's, measured here one after the other."""
        y_t, psf_t = self.y_t.float(), self.psf_t.float()
        peer, this = (
            _median_seconds(run)
            for run in (
                lambda: richardson_lucy(y_t, psf_t, num_iter=NUM_ITER, boundary="reflect"),
                lambda: self._run(library, dtype),
            )
        )
        return this / peer

    track_time_ratio.unit = "x bench float32"


def _median_seconds(call):
    """Median wall time of :data:`RATIO_REPEATS` calls after a warm-up."""
    call()
    seconds = []
    for _ in range(RATIO_REPEATS):
        begin = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - begin)
    return statistics.median(seconds)


class RichardsonLucy3DSuite:
    """Richardson-Lucy on a volume, per voxel and iteration: bench.solve.solvers against skimage and RedLionfish's CPU path.

    The stack is the default size of ``fresnel-zernike-3d`` (32 x 128 x 128)
    with a 15 x 31 x 31 confocal PSF, :data:`NUM_ITER_3D` iterations, float32
    for all three. bench and skimage solve the same model (reflect padding by
    the PSF radius, as :class:`RichardsonLucySuite`); RedLionfish
    (``doRLDeconvolutionFromNpArrays(..., method="cpu")``, scipy FFTs,
    circular, from ``u_0 = y``) gets the same padded stack and an even PSF box
    (one zero plane, row and column first, where it expects the centre), so
    its result differs from the others by its own model, not by the timing.
    ``track_seconds_per_voxel_iteration`` is each library's median time over
    voxels x iterations; ``track_time_ratio`` its time over bench's, both
    timed in this process one after the other, as in the 2D suite. Torch runs
    on :data:`THREADS` threads; skimage and RedLionfish are single-threaded.
    """

    params = (["bench", "skimage", "redlionfish"],)
    param_names = ("library",)
    timeout = 900
    number = 1
    repeat = (2, 3, 30.0)

    def setup(self, library):
        from bench.physics.psfs import confocal_psf_3d
        from bench.scenes.volumes import load_volume

        if library == "redlionfish":
            try:
                import RedLionfishDeconv  # noqa: F401
            except ImportError as error:
                raise NotImplementedError(f"RedLionfish is not installed ({error}): pip install RedLionfish") from None
        torch.set_num_threads(THREADS)
        rng = np.random.default_rng(0)
        psf, _ = confocal_psf_3d(rng.uniform(-0.1, 0.1, 7), shape=PSF_SHAPE_3D, na=1.4, ni=1.518, excitation_um=0.488,
                                 emission_um=0.52, pixel_um=0.04, z_ratio=3)  # fmt: skip
        field = load_volume("phantom-cells", tuple(n + k - 1 for n, k in zip(SHAPE_3D, PSF_SHAPE_3D)), z_ratio=3)
        self.y = (rng.poisson(1000 * blur_valid(field, psf)) / 1000).astype(np.float32)
        self.psf = psf.astype(np.float32)
        self.y_t, self.psf_t = torch.from_numpy(self.y)[None, None], torch.from_numpy(self.psf)[None, None]

    def _run(self, library):
        if library == "bench":
            return richardson_lucy(self.y_t, self.psf_t, num_iter=NUM_ITER_3D, boundary="reflect")[0, 0].numpy()
        if library == "skimage":
            return _skimage_rl(self.y, self.psf, np.float32, num_iter=NUM_ITER_3D)
        from RedLionfishDeconv import doRLDeconvolutionFromNpArrays

        radii = [k // 2 for k in self.psf.shape]
        kernel = np.zeros([k + 1 for k in self.psf.shape], dtype=np.float32)
        kernel[1:, 1:, 1:] = self.psf
        padded = np.pad(self.y, [(r, r) for r in radii], mode="reflect")
        x = doRLDeconvolutionFromNpArrays(padded, kernel, niter=NUM_ITER_3D, method="cpu")
        return x[tuple(slice(r, r + n) for r, n in zip(radii, self.y.shape))]

    def time_richardson_lucy_3d(self, library):
        self._run(library)

    def peakmem_richardson_lucy_3d(self, library):
        self._run(library)

    def track_seconds_per_voxel_iteration(self, library):
        """Median seconds of one call over voxels x iterations."""
        return _median_seconds(lambda: self._run(library)) / (self.y.size * NUM_ITER_3D)

    track_seconds_per_voxel_iteration.unit = "s / (voxel x iteration)"

    def track_time_ratio(self, library):
        """Median time of this library over bench's, measured here one after the other."""
        peer, this = (_median_seconds(lambda lib=lib: self._run(lib)) for lib in ("bench", library))
        return this / peer

    track_time_ratio.unit = "x bench float32"

    def track_max_abs_difference(self, library):
        """Largest absolute difference from skimage (float32, same iterations; intensities in [0, 1])."""
        return float(np.abs(self._run(library) - _skimage_rl(self.y, self.psf, np.float32, num_iter=NUM_ITER_3D)).max())

    track_max_abs_difference.unit = "intensity"
