"""Speed and accuracy of Richardson-Lucy: bench.solvers (torch) against scikit-image.

Both solve the same problem: 100 iterations on ``y`` reflect-padded by the
PSF radius, zero-outside ``same`` convolution, from a flat start, no
clipping; skimage gets ``numpy.pad(y, r, "reflect")`` and is cropped back.
Torch runs on 2 CPU threads; skimage is single-threaded.
"""

import numpy as np
import torch

import bench  # noqa: F401  (torchvision fallback before deepinv is imported)
from bench.physics import blur_valid, zernike_psf
from bench.solvers import richardson_lucy

NUM_ITER = 100
PSF_SIZE = 31
THREADS = 2


def _inputs(size):
    """A blurred, Poisson-noisy uniform random field and a 31x31 aberrated PSF, seeded."""
    rng = np.random.default_rng(0)
    psf = zernike_psf(rng.uniform(-0.15, 0.15, size=8), 0.2, size=PSF_SIZE)
    field = rng.random((size + PSF_SIZE - 1, size + PSF_SIZE - 1))
    blurred = blur_valid(field, psf)
    y = rng.poisson(1000 * blurred) / 1000
    return y, psf


def _skimage_rl(y, psf, dtype):
    from skimage.restoration import richardson_lucy as skimage_richardson_lucy

    r = psf.shape[0] // 2
    padded = np.pad(y, r, mode="reflect").astype(dtype)
    x = skimage_richardson_lucy(padded, psf.astype(dtype), num_iter=NUM_ITER, clip=False)
    return x[r:-r, r:-r]


class RichardsonLucySuite:
    """100 Richardson-Lucy iterations with a 31x31 PSF, per image size, library and dtype."""

    params = ([256, 512, 1024], ["bench", "skimage"], ["float32", "float64"])
    param_names = ["size", "library", "dtype"]
    timeout = 600
    number = 1
    repeat = (2, 5, 20.0)  # at least 2 samples, at most 5 or 20 s: skimage at 1024² takes seconds per call

    def setup(self, size, library, dtype):
        torch.set_num_threads(THREADS)
        self.y, self.psf = _inputs(size)
        self.y_t = torch.from_numpy(self.y.astype(dtype))[None, None]
        self.psf_t = torch.from_numpy(self.psf.astype(dtype))[None, None]

    def _run(self, library, dtype):
        if library == "bench":
            return richardson_lucy(self.y_t, self.psf_t, num_iter=NUM_ITER, boundary="reflect")[0, 0].numpy()
        return _skimage_rl(self.y, self.psf, np.dtype(dtype))

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
