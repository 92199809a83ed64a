"""Tests of bench.solve.solvers: Richardson-Lucy against skimage, the inverse filters, the noise estimate."""

import numpy as np
import pytest
import scipy.ndimage
import scipy.signal
import torch
from skimage.restoration import richardson_lucy as skimage_richardson_lucy

from bench.physics.degradation import blur_valid
from bench.physics.psfs import zernike_psf
from bench.solve.solvers import noise_std, regularized_inverse, richardson_lucy

NUMPY_PADS = {
    "zero": lambda a, r: np.pad(a, r, mode="constant"),
    "mean": lambda a, r: np.pad(a, r, mode="constant", constant_values=a.mean()),
    "edge": lambda a, r: np.pad(a, r, mode="edge"),
    "reflect": lambda a, r: np.pad(a, r, mode="reflect"),
}


def tensor(array):
    return torch.from_numpy(np.asarray(array, dtype=np.float32))[None, None]


@pytest.fixture(scope="module")
def psf():
    return zernike_psf(np.linspace(-0.1, 0.1, 8), 0.2, size=15)


@pytest.fixture(scope="module")
def blurred(psf):
    """A valid-blurred smooth random field in [0, 1], 48 x 40, and its sharp centre."""
    field = scipy.ndimage.gaussian_filter(np.random.default_rng(0).random((62, 54)), 1.5)
    field = (field - field.min()) / (field.max() - field.min())
    return blur_valid(field, psf), field[7:-7, 7:-7]


@pytest.mark.parametrize("mode", sorted(NUMPY_PADS))
def test_richardson_lucy_matches_skimage_on_padded_data(mode, psf, blurred):
    y, _ = blurred
    r = psf.shape[0] // 2
    expected = skimage_richardson_lucy(NUMPY_PADS[mode](y, r), psf, num_iter=30, clip=False)[r:-r, r:-r]
    out = richardson_lucy(tensor(y), tensor(psf), num_iter=30, boundary=mode)[0, 0].numpy()
    assert out.shape == y.shape
    assert np.abs(out - expected).max() < 1e-4


def test_richardson_lucy_filter_epsilon_matches_skimage(psf, blurred):
    y, _ = blurred
    r = psf.shape[0] // 2
    expected = skimage_richardson_lucy(np.pad(y, r), psf, num_iter=20, clip=False, filter_epsilon=0.05)[r:-r, r:-r]
    out = richardson_lucy(tensor(y), tensor(psf), num_iter=20, boundary="zero", filter_epsilon=0.05)[0, 0].numpy()
    assert np.abs(out - expected).max() < 1e-4


@pytest.mark.parametrize("boundary", ["valid", "reflect", "zero"])
def test_richardson_lucy_stays_positive(boundary, psf, blurred):
    noisy = np.random.default_rng(1).poisson(50 * blurred[0]) / 50
    out = richardson_lucy(tensor(noisy), tensor(psf), num_iter=40, boundary=boundary)
    assert out.min() >= 0 and torch.isfinite(out).all()


def test_richardson_lucy_valid_keeps_the_flux(psf, blurred):
    # Sum(A u) = sum(y) at every iteration; the scene's flux in the field of
    # view then matches the data's up to what the PSF spreads across the border.
    noisy = np.random.default_rng(1).poisson(50 * blurred[0]) / 50
    out = richardson_lucy(tensor(noisy), tensor(psf), num_iter=40, boundary="valid")
    assert float(out.mean()) == pytest.approx(noisy.mean(), rel=0.02)


def test_richardson_lucy_valid_keeps_a_constant_scene(psf):
    out = richardson_lucy(torch.full((1, 1, 32, 32), 0.3), tensor(psf), num_iter=20, boundary="valid")
    torch.testing.assert_close(out, torch.full_like(out, 0.3), rtol=0, atol=1e-3)


def test_richardson_lucy_valid_sharpens_noiseless_data(psf, blurred):
    y, x = blurred
    out = richardson_lucy(tensor(y), tensor(psf), num_iter=100, boundary="valid")[0, 0].numpy()
    assert np.mean((out - x) ** 2) < 0.5 * np.mean((y - x) ** 2)


def test_richardson_lucy_tv_weight_reduces_total_variation(psf, blurred):
    y, _ = blurred
    noisy = tensor(np.random.default_rng(2).poisson(30 * y) / 30)

    def total_variation(u):
        return float(u.diff(dim=-1).abs().sum() + u.diff(dim=-2).abs().sum())

    plain = richardson_lucy(noisy, tensor(psf), num_iter=30, boundary="valid")
    regularised = richardson_lucy(noisy, tensor(psf), num_iter=30, boundary="valid", tv_weight=0.05)
    assert total_variation(regularised) < 0.9 * total_variation(plain)


def test_richardson_lucy_batch_equals_single_images(psf, blurred):
    y, _ = blurred
    batch = torch.cat([tensor(y), tensor(y[::-1].copy())])
    psfs = torch.cat([tensor(psf), tensor(psf.T.copy())])
    out = richardson_lucy(batch, psfs, num_iter=10, boundary="edge")
    single = richardson_lucy(batch[[1]], psfs[[1]], num_iter=10, boundary="edge")
    torch.testing.assert_close(out[[1]], single, rtol=0, atol=1e-6)


def test_regularized_inverse_recovers_noiseless_data():
    # A scene that is zero near its border, blurred by a PSF whose OTF has no
    # zero (min 0.2): zero padding makes the model exact, so w -> 0 inverts it.
    psf = np.array([[0, 0.1, 0], [0.1, 0.6, 0.1], [0, 0.1, 0]])
    x = np.zeros((40, 36))
    x[8:-8, 8:-8] = np.random.default_rng(3).random((24, 20))
    y = scipy.signal.convolve(x, psf, mode="same")
    for regularizer in ("identity", "gradient"):
        out = regularized_inverse(tensor(y), tensor(psf), regularizer=regularizer, weight=1e-7, padding="zero")
        assert np.abs(out[0, 0].numpy() - x).max() < 1e-4


def test_regularized_inverse_smooths_more_with_a_larger_weight(psf, blurred):
    y, _ = blurred
    noisy = tensor(y + 0.05 * np.random.default_rng(4).standard_normal(y.shape))
    estimates = [
        regularized_inverse(noisy, tensor(psf), regularizer="gradient", weight=w, padding="edge")
        for w in (1e-3, 1e-2, 1e-1)
    ]
    roughness = [float(x.diff(dim=-1).square().mean()) for x in estimates]
    assert roughness[0] > roughness[1] > roughness[2]


def test_regularized_inverse_takes_one_weight_per_image(psf, blurred):
    y, _ = blurred
    batch = torch.cat([tensor(y), tensor(y)])
    weights = torch.tensor([1e-3, 1e-1])
    out = regularized_inverse(batch, tensor(psf), regularizer="identity", weight=weights, padding="edge")
    alone = regularized_inverse(batch[[1]], tensor(psf), regularizer="identity", weight=1e-1, padding="edge")
    torch.testing.assert_close(out[[1]], alone, rtol=0, atol=1e-6)
    assert not torch.allclose(out[0], out[1], atol=1e-3)


def test_noise_std_grows_with_the_noise(blurred):
    y, _ = blurred
    rng = np.random.default_rng(5)
    batch = torch.cat([tensor(y + s * rng.standard_normal(y.shape)) for s in (0.0, 0.01, 0.05)])
    sigma = noise_std(batch, floor=1e-4)
    assert sigma.shape == (3,) and sigma[0] >= 1e-4
    assert sigma[0] < sigma[1] < sigma[2]
    assert float(sigma[2]) == pytest.approx(0.05, rel=0.2)


def test_richardson_lucy_rejects_bad_boundary_listing_the_valid_ones(psf, blurred):
    with pytest.raises(ValueError, match="zero, mean, edge, reflect, valid; got 'wrap'"):
        richardson_lucy(tensor(blurred[0]), tensor(psf), num_iter=1, boundary="wrap")


def test_regularized_inverse_rejects_bad_padding_listing_the_valid_ones(psf, blurred):
    with pytest.raises(ValueError, match="zero, mean, edge, reflect; got 'wrap'"):
        regularized_inverse(tensor(blurred[0]), tensor(psf), regularizer="identity", weight=1.0, padding="wrap")


@pytest.mark.parametrize(
    "kwargs, message",
    [({"num_iter": -1}, "num_iter"), ({"tv_weight": 0.3}, "tv_weight"), ({"filter_epsilon": 0.0}, "filter_epsilon")],
)
def test_richardson_lucy_rejects_bad_options(kwargs, message, psf, blurred):
    args = {"num_iter": 1, "boundary": "valid", **kwargs}
    with pytest.raises(ValueError, match=message):
        richardson_lucy(tensor(blurred[0]), tensor(psf), **args)


@pytest.mark.parametrize("psf_shape", [(1, 1, 4, 5), (1, 3, 5), (3, 1, 5, 5)])
def test_solvers_reject_bad_psf_shapes(psf_shape, blurred):
    with pytest.raises(ValueError, match="psf"):
        richardson_lucy(tensor(blurred[0]), torch.ones(psf_shape) / 25, num_iter=1, boundary="valid")


# Volumes: the same solvers over three spatial axes.


@pytest.fixture(scope="module")
def volume():
    """A valid-blurred smooth random volume (12 x 20 x 18), its 5 x 7 x 7 PSF (anisotropic Gaussian)."""
    grid = [np.arange(n) - n // 2 for n in (5, 7, 7)]
    psf = np.exp(-(grid[0][:, None, None] ** 2 / 2 + grid[1][None, :, None] ** 2 / 3 + grid[2][None, None, :] ** 2 / 3))
    psf /= psf.sum()
    field = scipy.ndimage.gaussian_filter(np.random.default_rng(2).random((16, 26, 24)), 1.0)
    return blur_valid((field - field.min()) / (field.max() - field.min()), psf), psf


@pytest.mark.parametrize("mode", ["zero", "edge", "reflect"])
def test_richardson_lucy_on_volumes_matches_skimage(mode, volume):
    y, psf = volume
    r = tuple(k // 2 for k in psf.shape)
    padded = NUMPY_PADS[mode](y, [(n, n) for n in r])
    expected = skimage_richardson_lucy(padded, psf, num_iter=15, clip=False)[r[0] : -r[0], r[1] : -r[1], r[2] : -r[2]]
    out = richardson_lucy(tensor(y), tensor(psf), num_iter=15, boundary=mode)[0, 0].numpy()
    assert out.shape == y.shape
    assert np.abs(out - expected).max() < 1e-4


@pytest.mark.parametrize("tv_weight", [0.0, 0.05])
def test_richardson_lucy_on_a_stack_of_equal_planes_equals_the_2d_solve(tv_weight, psf, blurred):
    """A z-constant stack and a PSF one plane deep: the 3D solve (valid boundary, TV included) is the 2D one per plane."""
    y, _ = blurred
    stack = np.repeat(y[None], 4, axis=0)
    planar = richardson_lucy(tensor(y), tensor(psf), num_iter=10, boundary="valid", tv_weight=tv_weight)[0, 0]
    volumetric = richardson_lucy(tensor(stack), tensor(psf[None]), num_iter=10, boundary="valid", tv_weight=tv_weight)
    assert volumetric.shape == (1, 1, *stack.shape)
    assert float((volumetric[0, 0] - planar).abs().max()) < 1e-5


@pytest.mark.parametrize("regularizer", ["identity", "gradient"])
def test_regularized_inverse_on_volumes_matches_a_numpy_reference(regularizer, volume):
    y, psf = volume
    weight = 1e-2
    widths = [(4, 4), (6, 6), (6, 6)]  # the solver's padding: 2r, widened where needed to a 7-smooth FFT size
    padded = np.pad(y, widths, mode="edge")
    otf = np.fft.fftn(np.roll(np.pad(psf, [(0, n - k) for n, k in zip(padded.shape, psf.shape)]),
                             [-(k // 2) for k in psf.shape], axis=(0, 1, 2)))  # fmt: skip
    frequencies = np.meshgrid(*[np.fft.fftfreq(n) for n in padded.shape], indexing="ij")
    penalty = 1.0 if regularizer == "identity" else sum(4 * np.sin(np.pi * f) ** 2 for f in frequencies)
    estimate = np.fft.ifftn(otf.conj() * np.fft.fftn(padded) / (np.abs(otf) ** 2 + weight * penalty)).real
    expected = estimate[tuple(slice(a, a + n) for (a, _), n in zip(widths, y.shape))]
    out = regularized_inverse(tensor(y), tensor(psf), regularizer=regularizer, weight=weight, padding="edge")
    assert np.abs(out[0, 0].numpy() - expected).max() < 1e-4


def test_solvers_reject_a_psf_with_fewer_axes_than_the_volume(volume):
    y, psf = volume
    with pytest.raises(ValueError, match="like y"):
        richardson_lucy(tensor(y), tensor(psf[2]), num_iter=1, boundary="valid")
