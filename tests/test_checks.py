import numpy as np
import pytest

from bench.checks import check_image, check_psf


def test_check_image_accepts_integers_as_float32():
    assert check_image(np.ones((4, 5), dtype=np.uint16)).dtype == np.float32


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_check_image_rejects_non_finite_values(bad):
    image = np.zeros((8, 8))
    image[2, 3] = bad
    with pytest.raises(ValueError, match="NaN|Inf"):
        check_image(image)


@pytest.mark.parametrize("shape", [(8,), (2, 8, 8), (8, 8, 3)])
def test_check_image_rejects_wrong_dimensions(shape):
    with pytest.raises(ValueError, match=r"2D \(H, W\)"):
        check_image(np.zeros(shape))


def test_check_image_rejects_complex():
    with pytest.raises(ValueError, match="real"):
        check_image(np.zeros((4, 4), dtype=complex))


def delta(size=5):
    psf = np.zeros((size, size))
    psf[size // 2, size // 2] = 1
    return psf


def test_check_psf_accepts_a_delta():
    assert check_psf(delta()).sum() == 1


def test_check_psf_rejects_negative_values():
    psf = delta()
    psf[0, 0] = -0.1
    psf[2, 2] = 1.1
    with pytest.raises(ValueError, match="non-negative"):
        check_psf(psf)


def test_check_psf_rejects_zero_sum():
    with pytest.raises(ValueError, match="sums to zero"):
        check_psf(np.zeros((5, 5)))


def test_check_psf_names_the_sum_it_got():
    with pytest.raises(ValueError, match="must sum to 1.*got 0.98"):
        check_psf(delta() * 0.98)


def test_check_psf_rejects_even_size():
    with pytest.raises(ValueError, match="odd"):
        check_psf(np.full((4, 4), 1 / 16))


def test_check_psf_rejects_off_centre():
    psf = np.zeros((9, 9))
    psf[1, 1] = 1
    with pytest.raises(ValueError, match="centred"):
        check_psf(psf)
