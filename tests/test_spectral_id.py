"""The spectral identification network: inputs, views, training signal, and the shipped checkpoint on a training image."""

import numpy as np
import pytest
import torch

from bench.datasets.fresnel_zernike import Dataset
from bench.methods._spectral_id import SpectralIdentificationNet, _unview, _view
from bench.metrics import psf_snr
from bench.psf_model import zernike_psf_model
from bench.registry import load_registry
from bench.training import Degradations, DegradationSampler

TINY = {"window": 32, "widths": [4, 8, 8], "hidden": 16, "psf_size": 9, "theta_max": 0.15, "fc_range": [0.125, 0.25]}


def test_inputs_hold_the_spectrum_the_radius_and_the_optics_only_when_given():
    net = SpectralIdentificationNet(**TINY)
    y = torch.rand(2, 1, 64, 48)
    told, untold = net.inputs(y, torch.tensor([0.2, 0.15])), net.inputs(y, None)
    assert told.shape == untold.shape == (2, 4, 32, 32)
    assert torch.equal(told[:, :2], untold[:, :2])
    assert (told[:, 3] == 1).all() and (untold[:, 2:] == 0).all()
    assert net(y).shape == (2, 9) and net.psf(y, torch.tensor([0.2, 0.15])).shape == (2, 1, 9, 9)
    assert net.inputs(torch.rand(1, 1, 20, 20), None).shape == (1, 4, 32, 32)  # a small image: coarser spectrum


@pytest.mark.parametrize("view", range(4))
def test_views_map_back_to_the_original(view):
    image = torch.arange(35.0).reshape(1, 1, 5, 7)
    assert torch.equal(_unview(_view(image, view), view), image)


def test_a_few_steps_lower_the_loss_on_a_fixed_batch():
    torch.manual_seed(0)
    net = SpectralIdentificationNet(**TINY)
    data = Degradations(patch=64, psf_size=9, theta_max_range=(0.0, 0.15))
    batch = DegradationSampler(data, seed=0, image_size=96, generated_per_kind=1, psf_bank=8, psf_refresh=0).sample(8)
    known = torch.tensor([True, False] * 4)
    optimizer = torch.optim.Adam(net.parameters(), lr=3e-3)
    first = net.loss(batch, known, 0.1).item()
    for _ in range(30):
        optimizer.zero_grad()
        net.loss(batch, known, 0.1).backward()
        optimizer.step()
    assert net.loss(batch, known, 0.1).item() < 0.8 * first


def test_shipped_network_beats_the_unaberrated_guess_on_a_training_image():
    method_cls = load_registry().method("psf-id-spectral")
    method = method_cls()
    if method.unavailable(torch.device("cpu")):
        pytest.skip(method.unavailable(torch.device("cpu")))
    method.prepare(torch.device("cpu"))
    levels = {"noiseless": {"gain": None, "sigma": 0.0}}
    datasets = [
        Dataset(images=["astronaut", "phantom-cells"], theta_max=0.05, noise="noiseless", noise_levels=levels, seed=seed)
        for seed in (1, 2)
    ]
    cases = [data.make_case(f"{image}-noiseless") for data in datasets for image in ("astronaut", "phantom-cells")]
    gains = []
    for case in cases:
        y, fc = torch.from_numpy(case.y)[None, None], torch.tensor([case.meta["fc"]])
        with torch.no_grad():
            estimate = method.network.identify(y, fc)[0, 0].double().numpy()
        guess = zernike_psf_model(31)(torch.zeros(1, 8), fc)[0, 0].double().numpy()
        gains.append(psf_snr(case.psf, estimate) - psf_snr(case.psf, guess))
    assert np.mean(gains) > 1.0, gains
