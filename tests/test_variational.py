"""The autograd variational method: options, non-negativity, gain on a noiseless case."""

import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio

from bench.methods.variational import DATA_TERMS, PRIORS, Method


@pytest.mark.parametrize("data", DATA_TERMS)
@pytest.mark.parametrize("prior", PRIORS)
def test_variational_beats_its_noiseless_input(data, prior, noiseless_case):
    y, psf, x = noiseless_case
    with torch.no_grad():  # the runner may call under no_grad; the method must still optimise
        result = Method(data=data, prior=prior, niter=100).run(y, psf, None)
    assert result.x_hat.shape == y.shape and result.x_hat.dtype == y.dtype
    before = peak_signal_noise_ratio(x, y[0, 0].double().numpy(), data_range=1)
    after = peak_signal_noise_ratio(x, result.x_hat[0, 0].double().numpy(), data_range=1)
    assert after > before + 1, f"{data}/{prior}: {after:.2f} dB after, {before:.2f} dB before"


def test_variational_kl_output_is_non_negative(noiseless_case):
    y, psf, _ = noiseless_case
    noisy = (y + 0.1 * torch.randn(y.shape, generator=torch.Generator().manual_seed(0))).clamp(min=0)
    result = Method(data="kl", prior="tv", niter=30).run(noisy, psf, None)
    assert result.x_hat.min() >= 0
    assert torch.isfinite(result.x_hat).all()


def test_variational_weight_grows_with_the_noise(noiseless_case):
    y, psf, _ = noiseless_case
    noisy = y + 0.05 * torch.randn(y.shape, generator=torch.Generator().manual_seed(1))
    quiet, loud = Method(niter=1).run(y, psf, None).info, Method(niter=1).run(noisy, psf, None).info
    assert loud["sigma_hat"] > 10 * quiet["sigma_hat"]
    assert loud["lam"] > 100 * quiet["lam"]


def test_variational_restores_each_image_of_a_batch(noiseless_case):
    y, psf, _ = noiseless_case
    method = Method(niter=20)
    batch = method.run(torch.cat([y, y.flip(-1)]), torch.cat([psf, psf]), None)
    torch.testing.assert_close(batch.x_hat[:1], method.run(y, psf, None).x_hat, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(batch.x_hat[1:], method.run(y.flip(-1), psf, None).x_hat, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("option, value, valid", [("data", "poisson", "l2, kl"), ("prior", "l2", "tv, l1")])
def test_variational_rejects_an_unknown_option_naming_the_choices(option, value, valid):
    with pytest.raises(ValueError, match=f"{option} must be one of {valid}; got '{value}'"):
        Method(**{option: value})
