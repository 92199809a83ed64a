"""The fast Zernike PSF model against deepinv's generator, and the identification helpers built on it."""

import numpy as np
import pytest
import torch

from bench.physics.degradation import blur_valid
from bench.solve.identification import EVEN_MODES, ODD_MODES, choose_reflection, otf_power, welch_power
from bench.score.psf import psf_snr
from bench.physics.psf_model import ZernikePSF, zernike_psf_model
from bench.physics.psfs import NOLL_INDICES, zernike_psf, zernike_psfs


def _draws(count: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    rng = np.random.default_rng(seed)
    coeff = rng.uniform(-0.15, 0.15, size=(count, len(NOLL_INDICES)))
    fc = rng.uniform(0.125, 0.25, size=count)
    return torch.from_numpy(coeff), torch.from_numpy(fc)


def test_fast_model_equals_the_datasets_psfs_in_float64_and_float32():
    coeff, fc = _draws(6)
    reference = zernike_psfs(coeff, fc, size=31)  # deepinv's generator, as the datasets use it
    fast64 = ZernikePSF(31, dtype=torch.float64)(coeff, fc)
    fast32 = zernike_psf_model(31)(coeff.float(), fc.float())
    for i in range(len(coeff)):
        assert psf_snr(reference[i, 0].numpy(), fast64[i, 0].numpy()) > 60
        assert psf_snr(reference[i, 0].numpy(), fast32[i, 0].double().numpy()) > 25
    assert fast32.dtype == torch.float32
    assert torch.allclose(fast32.sum(dim=(-2, -1)), torch.ones(len(coeff), 1))


def test_fast_model_matches_a_dataset_case_and_other_sizes():
    coeff, fc = _draws(1, seed=3)
    reference = zernike_psf(coeff[0].numpy(), float(fc[0]), size=21)
    fast = ZernikePSF(21, dtype=torch.float64)(coeff, fc)[0, 0].numpy()
    assert psf_snr(reference, fast) > 60


def test_fast_model_is_differentiable_in_coefficients_and_cut_off():
    coeff, fc = _draws(2)
    coeff, fc = coeff.float().requires_grad_(), fc.float().requires_grad_()
    psf = zernike_psf_model(31)(coeff, fc)
    (psf[:, 0, 15, 15].sum()).backward()
    assert torch.isfinite(coeff.grad).all() and coeff.grad.abs().sum() > 0
    assert torch.isfinite(fc.grad).all() and fc.grad.abs().sum() > 0


def test_fast_model_refuses_bad_shapes_and_ranges():
    with pytest.raises(ValueError, match="odd"):
        ZernikePSF(30)
    with pytest.raises(ValueError, match="fc_max"):
        ZernikePSF(31, fc_max=0.3)
    with pytest.raises(ValueError, match=r"shape \(B, 8\)"):
        zernike_psf_model(31)(torch.zeros(2, 7), torch.full((2,), 0.2))


def test_sign_ambiguities_even_flip_is_identical_odd_flip_is_the_point_reflection():
    coeff, fc = _draws(3, seed=1)
    model = ZernikePSF(31, dtype=torch.float64)
    even, odd = coeff.clone(), coeff.clone()
    even[:, list(EVEN_MODES)] *= -1
    odd[:, list(ODD_MODES)] *= -1
    psf = model(coeff, fc)
    assert torch.allclose(model(even, fc), psf, atol=1e-12)
    assert torch.allclose(model(odd, fc), psf.flip(-2, -1), atol=1e-12)


def test_welch_power_of_white_noise_is_its_variance_and_otf_power_is_one_at_zero():
    generator = torch.Generator().manual_seed(0)
    noise = 0.1 * torch.randn(2, 1, 256, 192, generator=generator)
    power = welch_power(noise, 64)
    assert power.shape == (2, 64, 64)
    assert abs(power.mean().item() - 0.01) < 5e-4
    assert torch.allclose(power, power.flip(-2, -1).roll((1, 1), dims=(-2, -1)))  # P(-k) = P(k)
    otf = otf_power(zernike_psf_model(31)(torch.zeros(1, 8), torch.tensor([0.125])), 64)
    assert otf[0, 32, 32].item() == pytest.approx(1.0, abs=1e-5)
    assert otf[0, 32, 32 + 20].item() < 1e-4  # beyond the cut-off 2 fc = 0.25 cycles/pixel (16 bins)
    with pytest.raises(ValueError, match="smaller than the 64-px"):
        welch_power(noise[..., :32], 64)


def test_choose_reflection_picks_the_psf_that_blurred_a_sharp_image():
    from bench.scenes.images import load_image

    coeff = torch.tensor([[0.0, 0.05, -0.03, 0.14, -0.12, 0.1, 0.0, 0.02]], dtype=torch.float64)
    psf = ZernikePSF(31, dtype=torch.float64)(coeff, torch.tensor([0.2], dtype=torch.float64))
    field = load_image("brick", 256 + 30)  # a training image
    y = torch.from_numpy(blur_valid(field, psf[0, 0].numpy()))[None, None]
    sigma = torch.tensor([0.0])
    assert torch.equal(choose_reflection(y, psf, sigma), psf)
    assert torch.equal(choose_reflection(y, psf.flip(-2, -1), sigma), psf)
