"""Valid blur and noise levels (bench.physics.degradation): the crop, each noise model's statistics, bad levels refused."""

import numpy as np
import pytest

from bench.physics.degradation import NoiseLevel, blur_valid, degrade
from bench.physics.psfs import zernike_psf


@pytest.fixture(scope="module")
def psf():
    return zernike_psf(np.full(8, 0.05), 0.2, size=15)


def test_blur_valid_crops_the_support(psf):
    assert blur_valid(np.ones((50, 40)), psf).shape == (36, 26)


def test_degrade_noiseless_only_quantizes():
    z = np.linspace(0, 1, 101)[None]
    y = degrade(z, NoiseLevel(), np.random.default_rng(0))
    assert np.abs(y - z).max() <= 0.5 / 65535 + 1e-12


def test_degrade_noise_grows_with_lower_gain():
    z = np.full((128, 128), 0.5)
    spread = [np.std(degrade(z, NoiseLevel(gain=g, salt_pepper=0), np.random.default_rng(0))) for g in (1000, 100, 25)]
    assert spread[0] < spread[1] < spread[2]
    assert spread[2] == pytest.approx(np.sqrt(0.5 / 25), rel=0.05)


def test_degrade_deepblur_model_variance():
    z = np.full((256, 256), 0.5)
    y = degrade(z, NoiseLevel(model="deepblur", alpha=0.02, beta=0.001, bits=None), np.random.default_rng(0))
    assert np.var(y) == pytest.approx(0.02 * 0.5 + 0.001, rel=0.05)


def test_degrade_salt_and_pepper_hits_extremes():
    y = degrade(np.full((200, 200), 0.5), NoiseLevel(salt_pepper=0.01), np.random.default_rng(0))
    assert 200 < np.isin(y, (0.0, 1.0)).sum() < 600


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"model": "gauss"}, "noise model"),
        ({"gain": 0}, "gain"),
        ({"sigma": -1}, "sigma"),
        ({"alpha": 0.1}, "deepblur"),
    ],
)
def test_noise_level_rejects_bad_parameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        NoiseLevel(**kwargs)
