"""bench.physics.camera: detector offset of a raw image and flat background of a measured PSF."""

import numpy as np
import pytest

from bench.physics.camera import estimate_offset, estimate_psf_background


def test_estimate_offset_finds_the_dark_level_under_noise_and_signal():
    rng = np.random.default_rng(0)
    image = 100.0 + rng.normal(0, 3, (128, 128))
    image[32:96, 32:96] += 500.0  # sample in the middle, dark background around it
    assert estimate_offset(image) == pytest.approx(100.0, abs=2.0)


def test_estimate_offset_of_a_flat_image_is_its_level_and_follows_percentile():
    assert estimate_offset(np.full((16, 16), 7, dtype=np.uint16)) == pytest.approx(7.0)
    ramp = np.tile(np.arange(100, dtype=float), (4, 1))
    assert estimate_offset(ramp, percentile=50, smoothing_px=0.0) == pytest.approx(49.5)


def test_estimate_psf_background_is_the_border_median_ignoring_a_hot_pixel():
    psf = np.full((32, 32), 5.0)
    psf[12:20, 12:20] = 1000.0  # the bead, inside the 4-pixel border frame
    psf[0, 0] = 1e6  # a hot pixel on the border
    assert estimate_psf_background(psf) == 5.0


def test_estimate_psf_background_frame_is_at_least_one_pixel():
    psf = np.arange(9.0).reshape(3, 3)  # round(0.125 * 3) = 0 -> frame of 1: every pixel but the centre
    assert estimate_psf_background(psf) == np.median(np.delete(psf.ravel(), 4))
