"""The contract every registered method must keep, on a seeded noiseless 32x32 case."""

import numpy as np
import pytest
import torch

from bench.api import Result
from bench.config import make_method
from bench.physics.degradation import NoiseLevel, blur_valid, degrade
from bench.scenes.images import load_image
from bench.score.image import psnr
from bench.physics.psfs import zernike_psf
from bench.registry import load_registry

METHODS = sorted(load_registry().methods)
#: Methods not expected to gain on a mild noiseless blur of a 32x32 crop. Direct restoration
#: networks (no PSF) trained mostly on noisy data do not sharpen it (test_restoration.py checks
#: their gain on noisy input); SelfDeblur's kernel after a few steps is too wide and the final
#: solve over-sharpens with it (its fresnel-zernike rows show the same, test_selfdeblur.py checks the fit).
#: The spectral identification reads 64-px Welch tiles and renders a 31-px PSF: a 32x32 crop holds
#: neither (test_spectral_id.py checks its estimates on 256-px training images). Deep-Blur's
#: identification reads 31-px PSFs too; since its deblurring was trained with half true PSFs it
#: trusts its estimate more and loses 0.16 dB here (test_deepblur.py checks its gain on noisy input).
NO_NOISELESS_GAIN = {"nafnet", "swinir", "selfdeblur", "psf-id-spectral", "deepblur"}
#: Methods of installed third-party packages (entry points) keep the contract, but their quality is what
#: the benchmark measures, not something this suite can require: sdeconv's Wiener with its default weight
#: loses about 20 dB on this case, its Richardson-Lucy gains 0.3 dB in 10 iterations.
BUILTIN = {name for name in METHODS if load_registry().method(name).__module__.startswith("bench.methods.")}


@pytest.fixture(scope="module")
def case():
    psf = zernike_psf(np.full(8, 0.04), 0.2, size=9)
    field = load_image("camera", 40)
    y = degrade(blur_valid(field, psf), NoiseLevel(), np.random.default_rng(0))
    to_tensor = lambda a: torch.from_numpy(a.astype(np.float32))[None, None]  # noqa: E731
    return to_tensor(y), to_tensor(psf / psf.sum()), field[4:-4, 4:-4]


def run(name, y, psf):
    method_cls = load_registry().method(name)
    overrides = [f"{key}={value}" for key, value in method_cls.test_params.items()]
    method, _ = make_method(method_cls, overrides)
    if method.unavailable(torch.device("cpu")):
        pytest.skip(method.unavailable(torch.device("cpu")))
    method.prepare(torch.device("cpu"))
    with torch.no_grad():
        return method.run(y, None if method.blind else psf, None)


def test_no_builtin_plugin_failed_to_load():
    assert not load_registry().broken, load_registry().broken


@pytest.mark.parametrize("name", METHODS)
def test_method_contract(name, case):
    y, psf, x = case
    first, second = run(name, y, psf), run(name, y, psf)
    assert isinstance(first, Result)
    assert first.x_hat.shape == y.shape and first.x_hat.dtype == torch.float32
    assert torch.isfinite(first.x_hat).all()
    torch.testing.assert_close(first.x_hat, second.x_hat, rtol=0, atol=1e-6, msg="not deterministic")
    if first.psf_hat is not None:
        assert first.psf_hat.ndim == 4 and torch.isfinite(first.psf_hat).all()


@pytest.mark.parametrize("name", [name for name in sorted(BUILTIN - NO_NOISELESS_GAIN) if name != "identity"])
def test_method_gains_on_a_noiseless_input(name, case):
    y, psf, x = case
    restored = run(name, y, psf)
    gain = psnr(x, restored.x_hat[0, 0].numpy(), data_range=1) - psnr(x, y[0, 0].numpy(), data_range=1)
    assert gain > 0.5, f"{name} gained only {gain:.2f} dB over its noiseless input"
