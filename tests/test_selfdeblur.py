"""SelfDeblur: contract on smoke, the exact no-blur start, seeds, parameter checks and early stopping."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bench.solve.blind import delta_psf
from bench.checks import check_psf
from bench.config import make_method
from bench.methods.selfdeblur import Generators, Method
from bench.solve.operators import pad
from bench.registry import load_registry


@pytest.fixture(scope="module")
def y(smoke_cases):
    """A 64x64 smoke image (camera, high noise)."""
    case = next(c for c in smoke_cases if c.meta["image"] == "camera" and c.noise == "high")
    return torch.from_numpy(case.y)[None, None]


def test_selfdeblur_smoke_returns_finite_image_and_valid_psf(y):
    method_cls = load_registry().method("selfdeblur")
    method, _ = make_method(method_cls, [f"{k}={v}" for k, v in method_cls.test_params.items()])
    with torch.no_grad():  # as the runner calls it: the fit must still get gradients
        result = method.run(y, None, None)
    assert result.x_hat.shape == (1, 1, 64, 64) and torch.isfinite(result.x_hat).all()
    k = method.kernel_size
    assert result.psf_hat.shape == (1, 1, k, k)
    check_psf(result.psf_hat[0, 0].numpy())  # non-negative, unit sum, centred
    assert result.info["iterations"] == method_cls.test_params["iterations"]


def test_selfdeblur_no_blur_start_is_exactly_y_and_a_delta(y):
    method = Method(init="no-blur", kernel_size=9, iterations=10)
    target = y * method.scale(y)
    start = pad(target, 4, "edge")
    generators = Generators(tuple(start.shape[-2:]), 9, (8, 16), seed=0)
    scene, kernel = method.estimates(generators, start, step=0)
    assert torch.equal(scene, start) and torch.equal(kernel, delta_psf(1, 9, dtype=kernel.dtype))
    assert torch.equal(scene[..., 4:-4, 4:-4] / method.scale(y), y)  # the scaling is exact (a power of two)
    moved, _ = method.estimates(generators, start, step=1)
    assert not torch.equal(moved, start)  # then the generators take over
    result = Method(init="no-blur", kernel_size=9, iterations=0, restore="generator").run(y, None, None)
    assert torch.equal(result.x_hat, y) and torch.equal(result.psf_hat, delta_psf(1, 9, dtype=y.dtype))


def test_selfdeblur_random_start_is_not_the_no_blur_solution(y):
    result = Method(init="random", kernel_size=9, iterations=0, restore="generator").run(y, None, None)
    assert (result.x_hat - y).abs().max() > 0.05
    assert not torch.equal(result.psf_hat, delta_psf(1, 9, dtype=y.dtype))


def test_selfdeblur_is_deterministic_given_its_seed(y):
    runs = [Method(kernel_size=9, iterations=3, seed=seed).run(y, None, None) for seed in (0, 0, 1)]
    assert torch.equal(runs[0].x_hat, runs[1].x_hat) and torch.equal(runs[0].psf_hat, runs[1].psf_hat)
    assert not torch.equal(runs[0].x_hat, runs[2].x_hat)


def test_selfdeblur_does_not_depend_on_the_thread_count(y):
    """The fit runs in float64: a different summation order (threads here, a CPU's vector unit elsewhere)
    must not change the restoration, as float32's rounding amplified over the Adam steps did."""
    threads = torch.get_num_threads()
    try:
        runs = []
        for count in (1, 2):
            torch.set_num_threads(count)
            runs.append(Method(kernel_size=9, iterations=30).run(y, None, None).x_hat)
    finally:
        torch.set_num_threads(threads)
    assert (runs[0] - runs[1]).abs().max() < 1e-6


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"budget": "huge"}, "budget"),
        ({"iterations": -1}, "iterations"),
        ({"init": "zeros"}, "init"),
        ({"ramp": 0.0}, "ramp"),
        ({"restore": "wiener"}, "restore"),
        ({"kernel_lr": 0.0}, "kernel_lr"),
        ({"kernel_size": 8}, "kernel_size"),
    ],
)
def test_selfdeblur_rejects_bad_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        Method(**params)


def test_selfdeblur_refuses_kernel_larger_than_image():
    with pytest.raises(ValueError, match="kernel_size"):
        Method(kernel_size=31).run(torch.rand(1, 1, 20, 20), None, None)


def test_selfdeblur_stops_at_the_noise_level():
    """Flat scene plus noise: the generators fit it to the noise level long before 300 steps."""
    rng = np.random.default_rng(0)
    y = torch.from_numpy(0.3 + 0.05 * rng.standard_normal((32, 32))).float()[None, None]
    stopped = Method(kernel_size=5, iterations=300, ramp=0.1).run(y, None, None)
    assert 0 < stopped.info["iterations"] < 300
    assert Method(kernel_size=5, iterations=30, ramp=0.1, early_stop=False).run(y, None, None).info["iterations"] == 30
