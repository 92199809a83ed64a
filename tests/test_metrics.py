import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from bench.physics.psf_geometry import normalize_psf

from bench.score.case import score

from bench.score.image import psnr, ssim

from bench.score.psf import psf_psnr, psf_snr, reblur_psnr


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


@pytest.mark.parametrize("data_range", [1.0, 255.0])
def test_ssim_reference_equals_skimage_for_several_estimates(pair, data_range):
    from bench.score.image import SSIMReference

    x, y = (image.astype(np.float64) * data_range for image in pair)
    reference = SSIMReference(x, data_range=data_range)
    for estimate in (y, 0.5 * y + 0.2, np.zeros_like(y)):
        expected = structural_similarity(x, estimate, data_range=data_range)
        assert reference(estimate) == pytest.approx(expected, abs=1e-12)


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


def _ringing_by_full_median_filter(y, x_hat, scale_px):
    """The definition of bench.score.reference_free.ringing, with scipy's median filter over the whole image."""
    import math

    import scipy.ndimage
    from skimage.filters import threshold_otsu

    y, x_hat = np.asarray(y, dtype=np.float64), np.asarray(x_hat, dtype=np.float64)
    smooth = scipy.ndimage.gaussian_filter(y, 1.0)
    bright = smooth > threshold_otsu(smooth)
    distance = scipy.ndimage.distance_transform_edt(~bright)
    halo = (distance > scale_px / 2) & (distance <= 3 * scale_px)
    window = 2 * max(1, round(scale_px)) + 1

    def oscillation(image):
        detail = image - scipy.ndimage.median_filter(image, window)
        return math.sqrt(np.mean(detail[halo] ** 2)) / abs(image[bright].mean())

    return oscillation(x_hat) / oscillation(y)


@pytest.fixture
def blurred_case():
    """A blurred, noisy phantom of bright discs, its PSF and two estimates (one sharper, one noisier)."""
    import scipy.signal

    rng = np.random.default_rng(5)
    x = np.zeros((96, 80))
    x[rng.integers(5, 91, 30), rng.integers(5, 75, 30)] = 1.0
    x = np.clip(scipy.signal.fftconvolve(x, gaussian_psf(9, 1.2), mode="same") * 4, 0, 1)
    h = gaussian_psf(15, 2.0)
    y = scipy.signal.fftconvolve(x, h, mode="same") + 0.01 * rng.standard_normal(x.shape)
    estimates = [x + 0.02 * rng.standard_normal(x.shape), y + 0.05 * rng.standard_normal(x.shape)]
    return x.astype(np.float32), y.astype(np.float32), h, [e.astype(np.float32) for e in estimates]


@pytest.mark.parametrize("scale_px", [2.0, 3.4])
def test_ringing_equals_its_definition_with_a_full_median_filter(blurred_case, scale_px):
    from bench.score.reference_free import ringing

    _, y, _, estimates = blurred_case
    for x_hat in estimates:
        assert ringing(y, x_hat, scale_px=scale_px) == pytest.approx(
            _ringing_by_full_median_filter(y, x_hat, scale_px), abs=1e-12
        )


def test_case_scorer_reuses_the_input_share_and_equals_score(blurred_case):
    from bench.api import Scoring
    from bench.score.case import CaseScorer

    x, y, h, estimates = blurred_case
    scorer = CaseScorer(x, y, h, scoring=Scoring())
    psf_hats = [gaussian_psf(15, 2.3), gaussian_psf(21, 1.8)]  # two canvas sizes for reblur_psnr
    for x_hat in estimates:
        for psf_hat in psf_hats:
            once = score(x, x_hat, h, psf_hat, y=y)
            assert scorer(x_hat, psf_hat) == pytest.approx(once, nan_ok=True, abs=0)
    assert len(scorer._reblur._blurred) == 2  # one h * x per canvas size, not one per call
    assert scorer(x, h)["reblur_psnr"] == np.inf
