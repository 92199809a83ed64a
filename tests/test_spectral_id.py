"""The spectral identification network: inputs, views, training signal, and the shipped checkpoint on a training image."""

import numpy as np
import pytest
import torch

from bench.datasets.fresnel_zernike import Dataset
from bench.learn.sampler import DegradationSampler, Degradations
from bench.methods._spectral_id import SpectralIdentificationNet, _unview, _view
from bench.score.psf import psf_snr
from bench.physics.psf_model import zernike_psf_model
from bench.registry import load_registry

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
        Dataset(
            images=["astronaut", "phantom-cells"], theta_max=0.05, noise="noiseless", noise_levels=levels, seed=seed
        )
        for seed in (1, 2)
    ]
    cases = [data.make_case(f"{image}-noiseless") for data in datasets for image in ("astronaut", "phantom-cells")]
    gains = []
    for case in cases:
        y, fc = torch.from_numpy(case.y)[None, None], torch.tensor([case.meta["fc"]])
        with torch.no_grad():
            estimate = method.networks["identification"].identify(y, fc)[0, 0].double().numpy()
        guess = zernike_psf_model(31)(torch.zeros(1, 8), fc)[0, 0].double().numpy()
        gains.append(psf_snr(case.psf, estimate) - psf_snr(case.psf, guess))
    assert np.mean(gains) > 1.0, gains


def test_a_deblurring_stage_trains_on_the_networks_estimates_and_serves_the_unrolled_restore(tmp_path, monkeypatch):
    """A tiny two-stage run: the checkpoint holds both networks, and ``restore=unrolled`` restores with them."""
    from omegaconf import OmegaConf

    from bench.methods._spectral_id import train_spectral
    from bench.methods.psf_id_spectral import Method

    config = OmegaConf.create({
        "method": "psf-id-spectral", "preset": "tiny", "seed": 0, "device": "cpu",
        "degradations": {"psf_size": 9, "theta_max_range": [0.05, 0.15]},
        "identification": {
            "network": {"window": 16, "widths": [4, 8], "hidden": 8}, "patch": 32, "optics_fraction": 0.5,
            "parameter_weight": 0.1, "steps": 2, "batch_size": 2, "learning_rate": 1e-3,
        },
        "deblurring": {
            "network": {"iterations": 1, "channels": [4, 4, 4, 4], "blocks": 1}, "patch": 16, "steps": 2,
            "batch_size": 2, "learning_rate": 1e-3,
        },
        "sampler": {"image_size": 48, "generated_per_kind": 1, "psf_bank": 4},
        "validation": {"batches": 1, "batch_size": 2, "every": 2},
    })  # fmt: skip
    figures = train_spectral(config, tmp_path / "psf-id-spectral-tiny.pt")
    assert {"val_psf_snr_optics", "val_psnr_optics", "val_psnr_blind", "val_psnr_oracle"} <= set(figures)
    monkeypatch.setattr(
        Method, "checkpoint_path", classmethod(lambda cls, preset: tmp_path / f"{cls.name}-{preset}.pt")
    )
    method = Method(preset="tiny", restore="unrolled")
    method.prepare(torch.device("cpu"))
    y = torch.rand(1, 1, 40, 40)
    result = method.run(y, None, None)
    assert result.x_hat.shape == y.shape and torch.isfinite(result.x_hat).all() and result.psf_hat.shape[-1] == 9
    shared = Method(preset="tiny")
    shared.prepare(torch.device("cpu"))
    assert not torch.equal(shared.run(y, None, None).x_hat, result.x_hat)


def test_unrolled_restore_needs_a_checkpoint_with_a_deblurring_network(tmp_path, monkeypatch):
    from bench.learn.checkpoints import save_checkpoint
    from bench.methods._spectral_id import build_spectral
    from bench.methods.psf_id_spectral import Method

    identification = {
        "window": 16,
        "widths": [4, 8],
        "hidden": 8,
        "psf_size": 9,
        "theta_max": 0.15,
        "fc_range": [0.125, 0.25],
    }
    architecture = {"identification": identification}
    save_checkpoint(
        tmp_path / "psf-id-spectral-tiny.pt", build_spectral(architecture), architecture=architecture, card={}
    )
    monkeypatch.setattr(
        Method, "checkpoint_path", classmethod(lambda cls, preset: tmp_path / f"{cls.name}-{preset}.pt")
    )
    with pytest.raises(ValueError, match="no deblurring network"):
        Method(preset="tiny", restore="unrolled").prepare(torch.device("cpu"))
