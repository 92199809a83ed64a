"""Direct restoration baselines (NAFNet, SwinIR): networks, exposure independence, training, checkpoints."""

import pytest
import torch
import torch.nn.functional as F

from bench.learn.checkpoints import load_checkpoint, save_checkpoint
from bench.learn.loop import TrainingLog, fit
from bench.learn.sampler import DegradationSampler, Degradations
from bench.methods._restoration import Standardized, train_restoration
from bench.methods.nafnet import NAFNet
from bench.registry import load_registry
from tests.conftest import gain_on_a_noisy_training_image

TINY = {
    "nafnet": {"width": 4, "encoder_blocks": [1, 1], "middle_blocks": 1, "decoder_blocks": [1, 1]},
    "swinir": {"img_size": 16, "embed_dim": 8, "depths": [1], "num_heads": [2], "window_size": 4, "mlp_ratio": 2},
}


def perturbed(networks):
    """Give zero-initialised parameters (NAFNet's residual scales) values, so the tests see every branch."""
    torch.manual_seed(1)
    with torch.no_grad():
        for net in networks.values():
            for p in net.parameters():
                p.add_(0.1 * torch.randn_like(p))
    return {name: net.eval() for name, net in networks.items()}


@pytest.mark.parametrize("name", sorted(TINY))
def test_any_image_size_keeps_its_shape_and_is_deterministic(name):
    torch.manual_seed(0)
    net = perturbed(load_registry().method(name).build({"restoration": TINY[name]}))["restoration"]
    y = torch.rand(2, 1, 23, 30)  # sides that are multiples of neither the windows nor the downsampling
    with torch.no_grad():
        first, second = net(y), net(y)
    assert first.shape == y.shape and torch.isfinite(first).all()
    torch.testing.assert_close(first, second, rtol=0, atol=0)
    assert not torch.allclose(first, y)


@pytest.mark.parametrize("name", sorted(TINY))
def test_restoration_does_not_depend_on_exposure(name):
    torch.manual_seed(0)
    net = perturbed(load_registry().method(name).build({"restoration": TINY[name]}))["restoration"]
    y = torch.rand(1, 1, 24, 24)
    with torch.no_grad():
        torch.testing.assert_close(net(7 * y + 3), 7 * net(y) + 3, rtol=1e-4, atol=1e-4)


def test_nafnet_rejects_unmatched_levels():
    with pytest.raises(ValueError, match=r"as many decoder levels as encoder levels, got \[1, 1\] and \[1\]"):
        NAFNet(width=4, encoder_blocks=[1, 1], middle_blocks=1, decoder_blocks=[1])


@pytest.mark.parametrize("name", sorted(TINY))
def test_checkpoint_round_trip(name, tmp_path):
    method_cls = load_registry().method(name)
    architecture = {"restoration": TINY[name]}
    torch.manual_seed(0)
    networks = perturbed(method_cls.build(architecture))
    path = save_checkpoint(tmp_path / f"{name}.pt", networks, architecture=architecture, card={"command": "x"})
    loaded = load_checkpoint(path, method_cls.build, recreate="x")
    y = torch.rand(1, 1, 20, 20)
    with torch.no_grad():
        for p in networks["restoration"].parameters():  # the stored weights are the float16-rounded ones
            p.copy_(p.half().float())
        torch.testing.assert_close(loaded["restoration"](y), networks["restoration"](y))


def test_training_lowers_the_loss(tmp_path):
    torch.manual_seed(0)
    net = load_registry().method("nafnet").build({"restoration": TINY["nafnet"]})["restoration"]
    batch = DegradationSampler(Degradations(patch=32, psf_size=9), seed=0, image_size=48, psf_bank=4).sample(8)
    fixed = type("Fixed", (), {"sample": lambda self, size: batch})()
    loss = lambda b: F.l1_loss(net(b.y), b.x)  # noqa: E731, the training loss of train_restoration
    before = loss(batch).item()
    fit(net, loss, fixed, stage="restoration", steps=30, batch_size=8, learning_rate=3e-3,
        validate=dict, validate_every=30, log=TrainingLog(tmp_path / "log.csv"))  # fmt: skip
    with torch.no_grad():
        after = loss(batch).item()
    assert after < 0.9 * before, (before, after)


def test_bench_train_writes_a_loadable_checkpoint_with_its_card_and_log(tmp_path):
    from omegaconf import OmegaConf

    config = OmegaConf.create({
        "method": "nafnet", "preset": "tiny", "seed": 0, "device": "cpu",
        "degradations": {"psf_size": 9},
        "restoration": {"network": TINY["nafnet"], "patch": 32, "steps": 4, "batch_size": 2, "learning_rate": 1e-3},
        "sampler": {"image_size": 48, "generated_per_kind": 1, "psf_bank": 4},
        "validation": {"batches": 1, "batch_size": 4, "every": 2},
    })  # fmt: skip
    figures = train_restoration(config, tmp_path / "nafnet-tiny.pt", load_registry().method("nafnet").build)
    log = (tmp_path / "nafnet-tiny.log.csv").read_text().splitlines()
    assert log[0] == "stage,step,loss,skipped_steps,learning_rate,minutes,val_psnr_input,val_psnr" and len(log) == 3
    assert set(figures) == {"val_psnr_input", "val_psnr"}
    card = (tmp_path / "nafnet-tiny.json").read_text()
    assert '"command": "bench train nafnet preset=tiny"' in card and '"val_psnr"' in card
    loaded = load_checkpoint(tmp_path / "nafnet-tiny.pt", load_registry().method("nafnet").build, recreate="x")
    assert isinstance(loaded["restoration"], Standardized)


@pytest.mark.parametrize("name", sorted(TINY))
def test_shipped_network_restores_a_noisy_blurred_image(name):
    """The trained cpu checkpoint gains over a medium-noise blurred training image (it learned something)."""
    assert gain_on_a_noisy_training_image(name, 94) > 1.0
