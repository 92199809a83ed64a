"""The datasets' PSFs (bench.physics.psfs): normalised, centred, narrower at a higher cut-off, bad parameters refused."""

import numpy as np
import pytest

from bench.physics.psfs import zernike_psf


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
