"""The handcrafted blind methods: smoke runs, PSF conventions, and the pieces that estimate kernels."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal
import torch

from bench.solve.blind import delta_psf, project_psf
from bench.checks import check_psf
from bench.config import make_method
from bench.scenes.images import load_image
from bench.methods.l0_gradient import gradient_otfs
from bench.physics.psf_geometry import normalize_psf
from bench.score.psf import psf_snr
from bench.solve.operators import pad
from bench.registry import load_registry

BLIND = ("blind_richardson_lucy", "l0_gradient", "spectral_kernel")


def gaussian_psf(size: int, width: float) -> np.ndarray:
    grid = np.arange(size) - size // 2
    psf = np.exp(-(grid[:, None] ** 2 + grid[None, :] ** 2) / (2 * width**2))
    return psf / psf.sum()


def tiny(name: str):
    """The method with its test_params (a budget of about a second)."""
    method_cls = load_registry().method(name)
    method, _ = make_method(method_cls, [f"{k}={v}" for k, v in method_cls.test_params.items()])
    return method


@pytest.mark.parametrize("name", BLIND)
def test_blind_method_smoke_returns_image_and_valid_psf(name, smoke_cases):
    method = tiny(name)
    assert method.blind
    for case in [c for c in smoke_cases if c.meta["image"] == "camera"]:
        y = torch.from_numpy(case.y)[None, None]
        with torch.no_grad():
            result = method.run(y, None, None)
        assert result.x_hat.shape == y.shape and torch.isfinite(result.x_hat).all()
        k = method.kernel_size
        assert result.psf_hat.shape == (1, 1, k, k)
        check_psf(result.psf_hat[0, 0].numpy())  # non-negative, unit sum, centred
        assert np.isfinite(psf_snr(case.psf, result.psf_hat[0, 0].numpy()))


def test_project_psf_is_the_scoring_convention():
    raw = np.zeros((9, 9))
    raw[1:4, 5:8] = gaussian_psf(3, 1.0) * 5  # off-centre, unnormalised
    raw[8, 0] = -0.2  # a negative lobe, which the projection removes
    projected = project_psf(torch.from_numpy(raw)[None, None])[0, 0].numpy()
    check_psf(projected)
    np.testing.assert_allclose(projected, normalize_psf(np.clip(raw, 0, None), 9), atol=1e-12)
    assert torch.equal(project_psf(torch.zeros(1, 1, 5, 5)), delta_psf(1, 5))


@pytest.mark.parametrize("name", BLIND)
def test_blind_method_refuses_kernel_larger_than_image(name):
    method, _ = make_method(load_registry().method(name), ["kernel_size=31"])
    with pytest.raises(ValueError, match="kernel_size"):
        method.run(torch.rand(1, 1, 20, 20), None, None)


def test_spectral_phase_retrieval_recovers_a_kernel_from_its_modulus():
    method, _ = make_method(load_registry().method("spectral_kernel"), ["kernel_size=9"])
    true = np.zeros((20, 20))
    true[:9, :9] = gaussian_psf(9, 1.2) * (1 + 0.5 * (np.arange(9)[None, :] > 4))  # asymmetric
    true = np.roll(true / true.sum(), (-4, -4), axis=(0, 1))
    modulus = torch.from_numpy(np.abs(np.fft.fft2(true)))
    kernel = method._retrieve(modulus)[0, 0].numpy()
    centred = np.roll(true, (4, 4), axis=(0, 1))[:9, :9]
    assert (
        max(psf_snr(centred, kernel), psf_snr(centred, kernel[::-1, ::-1])) > 8
    )  # up to the point reflection (a flat kernel scores 0 dB)


def test_l0_kernel_step_recovers_the_blur_of_a_known_image():
    method, _ = make_method(load_registry().method("l0_gradient"), ["kernel_size=9"])
    x = torch.from_numpy(load_image("camera", 64).astype(np.float64))[None, None]
    true = gaussian_psf(9, 1.5)
    y = torch.from_numpy(scipy.signal.fftconvolve(pad(x, 4, "reflect")[0, 0].numpy(), true, mode="valid"))[None, None]
    x_padded, y_padded = pad(x, 4, "reflect"), pad(y, 4, "reflect")
    shape = tuple(x_padded.shape[-2:])
    grads, _ = gradient_otfs(shape, torch.float64)
    data_grads = method._tapered(grads * torch.fft.rfft2(y_padded), 4, shape)
    kernel = method._kernel_step(x_padded, data_grads, grads, 9, shape)
    assert psf_snr(true, kernel[0, 0].numpy()) > 10
