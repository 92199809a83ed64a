"""Decorrelation analysis: band-limited images of known cut-off, blur lowers it, degenerate and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import data, filters

from bench.score.resolution import decorrelation_resolution


def band_limited(cutoff: float, noise: float, seed: int = 0, side: int = 255) -> np.ndarray:
    """White noise low-passed by an ideal disc at ``cutoff`` (1 = Nyquist), plus white noise of std ``noise``."""
    rng = np.random.default_rng(seed)
    frequency = np.hypot(*np.meshgrid(2 * np.fft.fftfreq(side), 2 * np.fft.fftfreq(side), indexing="ij"))
    signal = np.real(np.fft.ifft2(np.fft.fft2(rng.standard_normal((side, side))) * (frequency < cutoff)))
    return signal / signal.std() + noise * rng.standard_normal((side, side))


@pytest.mark.parametrize("cutoff", [0.25, 0.5, 0.75])
@pytest.mark.parametrize("noise", [0.05, 0.3])
def test_finds_the_cutoff_of_a_band_limited_image(cutoff, noise):
    found = decorrelation_resolution(band_limited(cutoff, noise))
    assert found.cutoff == pytest.approx(cutoff, abs=0.03)
    assert found.resolution == pytest.approx(2 / cutoff, rel=0.1) and found.amplitude > 0.5


def test_more_blur_means_a_coarser_resolution():
    camera = data.camera().astype(float)[::2, ::2]
    rng = np.random.default_rng(1)
    found = [
        decorrelation_resolution(
            filters.gaussian(camera, sigma) + 0.01 * camera.std() * rng.standard_normal(camera.shape)
        )
        for sigma in (1, 2, 4)
    ]
    assert found[0].resolution < found[1].resolution < found[2].resolution


def test_white_noise_and_a_flat_image_have_no_cutoff():
    """Nothing decorrelates: the curve never turns down, and the resolution is undetermined (NaN), not a number."""
    for image in (np.full((64, 64), 3.0), np.random.default_rng(2).standard_normal((128, 128))):
        found = decorrelation_resolution(image)
        assert found.cutoff == 0.0 and np.isnan(found.resolution)


@pytest.mark.parametrize(
    ("image", "match"),
    [(np.zeros((8, 8)), "at least 16x16"), (np.zeros((4, 32, 32)), "2-D"), (np.full((32, 32), np.nan), "finite")],
)
def test_bad_input_is_a_clear_error(image, match):
    with pytest.raises(ValueError, match=match):
        decorrelation_resolution(image)


def test_case_scorer_reports_the_resolution_only_without_a_reference():
    from bench.score.case import CaseScorer

    image = band_limited(0.5, 0.05).astype(np.float32)
    without = CaseScorer(None, image, None)(image, None)
    assert without["resolution_px"] == pytest.approx(4.0, rel=0.1)
    assert np.isnan(CaseScorer(image, image, None)(image, None)["resolution_px"])
