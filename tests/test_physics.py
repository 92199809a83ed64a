import numpy as np
import pytest
import scipy.signal
import torch

from bench.degradation import NoiseLevel, blur_valid, degrade
from bench.operators import FFTConvolver, pad, psf_to_otf
from bench.psfs import zernike_psf


@pytest.fixture(scope="module")
def psf():
    return zernike_psf(np.full(8, 0.05), 0.2, size=15)


def test_zernike_psf_is_normalised_and_centred(psf):
    rows, cols = np.indices(psf.shape)
    assert psf.sum() == pytest.approx(1) and psf.min() >= 0
    assert abs((rows * psf).sum() - 7) < 1 and abs((cols * psf).sum() - 7) < 1


def test_zernike_psf_widens_when_fc_drops():
    wide, narrow = zernike_psf(np.zeros(8), 0.125, size=31), zernike_psf(np.zeros(8), 0.25, size=31)
    assert narrow.max() > 2 * wide.max()


@pytest.mark.parametrize("kwargs, message", [({"fc": 0.3}, "fc"), ({"size": 14}, "odd")])
def test_zernike_psf_rejects_bad_parameters(kwargs, message):
    args = {"coeff": np.zeros(8), "fc": 0.2, "size": 15, **kwargs}
    with pytest.raises(ValueError, match=message):
        zernike_psf(args.pop("coeff"), args.pop("fc"), **args)


@pytest.mark.parametrize("volume", [False, True])
@pytest.mark.parametrize("mode", ["same", "valid"])
def test_fft_convolver_matches_scipy_and_its_adjoint_is_exact(psf, mode, volume):
    rng = np.random.default_rng(0)
    x = rng.random((9, 14, 11) if volume else (40, 33))
    psf = rng.random((3, 5, 5)) if volume else psf
    conv = FFTConvolver(torch.from_numpy(psf)[None, None], x.shape, mode=mode)
    out = conv(torch.from_numpy(x)[None, None])[0, 0].numpy()
    np.testing.assert_allclose(out, scipy.signal.convolve(x, psf, mode=mode), atol=1e-12)
    v = torch.from_numpy(rng.standard_normal(conv.output_shape))[None, None]
    u = torch.from_numpy(x)[None, None]
    assert float((conv(u) * v).sum()) == pytest.approx(float((u * conv.adjoint(v)).sum()), rel=1e-10)


def test_psf_to_otf_gives_circular_convolution(psf):
    x = np.random.default_rng(1).random((32, 32))
    otf = psf_to_otf(torch.from_numpy(psf), (32, 32))
    out = torch.fft.irfft2(torch.fft.rfft2(torch.from_numpy(x)) * otf, s=(32, 32)).numpy()
    wrapped = np.pad(x, 7, mode="wrap")
    np.testing.assert_allclose(out, scipy.signal.convolve(wrapped, psf, mode="valid"), atol=1e-12)


def test_blur_valid_crops_the_support(psf):
    assert blur_valid(np.ones((50, 40)), psf).shape == (36, 26)


@pytest.mark.parametrize("mode, expected", [("zero", 0.0), ("mean", 2.5), ("edge", 1.0), ("reflect", 4.0)])
def test_pad_modes(mode, expected):
    x = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    assert float(pad(x, 1, mode)[0, 0, 0, 0]) == expected


def test_pad_rejects_unknown_mode():
    with pytest.raises(ValueError, match="zero, mean, edge, reflect"):
        pad(torch.zeros(1, 1, 4, 4), 1, "wrap")


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


@pytest.mark.parametrize("mode, numpy_mode", [("edge", "edge"), ("reflect", "reflect"), ("zero", "constant")])
def test_pad_on_volumes_matches_numpy(mode, numpy_mode):
    x = np.random.default_rng(4).random((4, 5, 6))
    out = pad(torch.from_numpy(x)[None, None], (1, 2, 3), mode)[0, 0].numpy()
    np.testing.assert_array_equal(out, np.pad(x, [(1, 1), (2, 2), (3, 3)], mode=numpy_mode))
