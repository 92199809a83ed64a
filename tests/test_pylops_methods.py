"""The PyLops methods: their valid blur, Haar transform, split-Bregman weights, and a gain on a noiseless case."""

import importlib

import numpy as np
import pylops
import pytest
import scipy.signal
import torch
from pylops.optimization.sparsity import splitbregman
from pylops.signalprocessing import DWT2D
from pylops.utils import dottest
from skimage.metrics import peak_signal_noise_ratio

from bench.methods._pylops import Haar2D, bregman_weights, valid_blur

PYLOPS_METHODS = ("pylops_least_squares", "pylops_l1_haar", "pylops_tv", "pylops_tv_haar")


@pytest.mark.parametrize("shape, psf_shape", [((48, 40), (9, 9)), ((20, 30), (5, 7))])
def test_valid_blur_matches_fftconvolve_valid(shape, psf_shape):
    rng = np.random.default_rng(0)
    psf = rng.random(psf_shape)
    psf /= psf.sum()
    field = rng.random((shape[0] + psf_shape[0] - 1, shape[1] + psf_shape[1] - 1))
    op = valid_blur(psf, shape)
    assert op.shape == (shape[0] * shape[1], field.size)
    expected = scipy.signal.fftconvolve(field, psf, "valid")
    np.testing.assert_allclose((op @ field.ravel()).reshape(shape), expected, atol=1e-12)


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-10), (np.float32, 1e-4)])
def test_valid_blur_passes_dottest(dtype, rtol):
    psf = np.ones((9, 9)) / 81
    op = valid_blur(psf, (32, 24), dtype=dtype)
    assert dottest(op, *op.shape, rtol=rtol)


@pytest.mark.parametrize("size, level", [(8, 1), (64, 3), (64, 6)])
def test_haar2d_equals_dwt2d_on_power_of_two(size, level):
    x = np.random.default_rng(1).random(size * size)
    expected = DWT2D((size, size), wavelet="haar", level=level) @ x
    np.testing.assert_allclose(Haar2D((size, size), level=level, dtype=np.float64) @ x, expected, atol=1e-12)


def test_haar2d_is_an_isometry_with_exact_adjoint_on_any_shape():
    op = Haar2D((37, 50), level=3, dtype=np.float64)
    assert op.shape == (40 * 56, 37 * 50)
    x = np.random.default_rng(2).random(37 * 50)
    np.testing.assert_allclose(op.H @ (op @ x), x, atol=1e-12)
    assert dottest(op, *op.shape, rtol=1e-10)


def test_bregman_weights_minimise_the_weighted_l1_problem():
    # denoising with R = I and R = 2I: the minimiser of 1/2|y - u|^2 + l1|u|_1 + l2|2u|_1 is soft(y, l1 + 2 l2)
    y = np.random.default_rng(3).standard_normal(40)
    identity = pylops.Identity(40)
    mu, eps, scales = bregman_weights([0.2, 0.1], [1.0, 0.5])
    regs = [scale * reg for scale, reg in zip(scales, [identity, 2 * identity])]
    u = splitbregman(identity, y, regs, niter_outer=300, niter_inner=1, mu=mu, epsRL1s=eps, iter_lim=20)[0]
    np.testing.assert_allclose(u, np.sign(y) * np.maximum(np.abs(y) - 0.4, 0), atol=1e-6)


@pytest.mark.parametrize("name", PYLOPS_METHODS)
def test_method_beats_its_noiseless_input(name, noiseless_case):
    y, psf, x = noiseless_case
    method_cls = importlib.import_module(f"bench.methods.{name}").Method
    with torch.no_grad():
        result = method_cls(**method_cls.test_params).run(y, psf, None)
    assert result.x_hat.shape == y.shape and result.x_hat.dtype == y.dtype and result.psf_hat is None
    before = peak_signal_noise_ratio(x, y[0, 0].double().numpy(), data_range=1)
    after = peak_signal_noise_ratio(x, result.x_hat[0, 0].double().numpy(), data_range=1)
    assert after > before + 1, f"{name}: {after:.2f} dB after, {before:.2f} dB before"
    assert result.info["iterations"] >= 1


def test_least_squares_discrepancy_stops_early_on_noisy_data(noiseless_case):
    y, psf, _ = noiseless_case
    noisy = y + 0.05 * torch.randn(y.shape, generator=torch.Generator().manual_seed(0))
    method = importlib.import_module("bench.methods.pylops_least_squares").Method(niter=50)
    assert method.run(noisy, psf, None).info["iterations"] < method.run(y, psf, None).info["iterations"]
