"""The operators methods compute with (bench.solve.operators): FFT convolution and its adjoint, OTF, padding."""

import numpy as np
import pytest
import scipy.signal
import torch

from bench.solve.operators import FFTConvolver, pad, psf_to_otf
from bench.physics.psfs import zernike_psf


@pytest.fixture(scope="module")
def psf():
    return zernike_psf(np.full(8, 0.05), 0.2, size=15)


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


@pytest.mark.parametrize("mode, expected", [("zero", 0.0), ("mean", 2.5), ("edge", 1.0), ("reflect", 4.0)])
def test_pad_modes(mode, expected):
    x = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    assert float(pad(x, 1, mode)[0, 0, 0, 0]) == expected


def test_pad_rejects_unknown_mode():
    with pytest.raises(ValueError, match="zero, mean, edge, reflect"):
        pad(torch.zeros(1, 1, 4, 4), 1, "wrap")


@pytest.mark.parametrize("mode, numpy_mode", [("edge", "edge"), ("reflect", "reflect"), ("zero", "constant")])
def test_pad_on_volumes_matches_numpy(mode, numpy_mode):
    x = np.random.default_rng(4).random((4, 5, 6))
    out = pad(torch.from_numpy(x)[None, None], (1, 2, 3), mode)[0, 0].numpy()
    np.testing.assert_array_equal(out, np.pad(x, [(1, 1), (2, 2), (3, 3)], mode=numpy_mode))
