import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from bench.metrics import normalize_psf, psf_psnr, psf_snr, psnr, reblur_psnr, score, ssim


@pytest.fixture
def pair():
    rng = np.random.default_rng(3)
    x = rng.random((64, 48)).astype(np.float32)
    return x, np.clip(x + 0.05 * rng.standard_normal(x.shape), 0, 1).astype(np.float32)


def test_psnr_matches_skimage(pair):
    x, y = pair
    assert abs(psnr(x, y, data_range=1.0) - peak_signal_noise_ratio(x, y, data_range=1.0)) < 1e-4


def test_ssim_matches_skimage(pair):
    x, y = pair
    reference = structural_similarity(x.astype(np.float64), y.astype(np.float64), data_range=1.0)
    assert abs(ssim(x, y, data_range=1.0) - reference) < 1e-4


def test_psnr_rejects_shape_mismatch(pair):
    x, y = pair
    with pytest.raises(ValueError, match="same shape"):
        psnr(x, y[:-1], data_range=1.0)


def gaussian_psf(size, sigma, shift=(0, 0)):
    r = np.arange(size) - size // 2
    psf = np.exp(-((r[:, None] - shift[0]) ** 2 + (r[None, :] - shift[1]) ** 2) / (2 * sigma**2))
    return psf / psf.sum()


def test_psf_snr_follows_deep_blur_eq6():
    h = gaussian_psf(15, 2.0)
    h_hat = gaussian_psf(15, 2.5)
    expected = -10 * np.log10(np.sum((h_hat - h) ** 2) / np.sum(h**2))
    assert psf_snr(h, h_hat) == pytest.approx(expected, abs=1e-9)
    assert psf_snr(h, h) == np.inf


def test_psf_snr_ignores_scale_shift_and_size():
    h = gaussian_psf(15, 2.0)
    shifted_scaled_bigger = 3.0 * gaussian_psf(21, 2.0, shift=(2, -1))
    assert psf_snr(h, shifted_scaled_bigger) > 40


def test_psf_snr_penalises_a_wrong_width():
    h = gaussian_psf(15, 1.5)
    assert psf_snr(h, gaussian_psf(15, 1.6)) > psf_snr(h, gaussian_psf(15, 3.0)) + 10


def test_normalize_psf_centres_and_sums_to_one():
    psf = normalize_psf(gaussian_psf(11, 1.0, shift=(3, 2)), 15)
    assert psf.shape == (15, 15) and psf.sum() == pytest.approx(1)
    assert np.unravel_index(psf.argmax(), psf.shape) == (7, 7)


def test_psf_psnr_uses_the_peak_as_range():
    h, h_hat = gaussian_psf(15, 2.0), gaussian_psf(15, 2.2)
    assert psf_psnr(h, h_hat) == pytest.approx(peak_signal_noise_ratio(h, h_hat, data_range=h.max()), abs=1e-6)


def test_reblur_psnr_is_infinite_for_the_true_psf_and_finite_otherwise(pair):
    x, _ = pair
    h = gaussian_psf(9, 1.5)
    assert reblur_psnr(x, h, h, data_range=1.0) == np.inf
    assert 20 < reblur_psnr(x, h, gaussian_psf(9, 2.0), data_range=1.0) < 80


def test_score_leaves_psf_metrics_empty_without_an_estimate(pair):
    x, y = pair
    scores = score(x, y, gaussian_psf(9, 1.0), None)
    assert np.isfinite(scores["psnr"]) and np.isnan(scores["psf_snr"]) and np.isnan(scores["reblur_psnr"])
