"""The learned blind pipeline: networks, training loop, checkpoints (tiny configurations, seconds)."""

import pytest
import torch

from bench.api import LearnedMethod
from bench.learn.checkpoints import CheckpointError, load_checkpoint, save_checkpoint
from bench.learn.loop import TrainingLog, fit
from bench.learn.sampler import DegradationSampler, Degradations
from bench.methods._deepblur import (
    EVEN_MODES,
    ConditionedIdentificationNet,
    IdentificationNet,
    UnrolledDouglasRachford,
    build_deepblur,
)
from bench.physics.psfs import zernike_psfs
from bench.registry import load_registry

TINY = {
    "identification": {"widths": [4, 8], "blocks": 1, "psf_size": 9, "theta_max": 0.15, "fc_range": [0.125, 0.25]},
    "deblurring": {"iterations": 2, "channels": [4, 8, 8, 8], "blocks": 1},
}
DATA = Degradations(patch=32, psf_size=9)


@pytest.fixture(scope="module")
def sampler():
    return DegradationSampler(DATA, seed=0, image_size=48, generated_per_kind=1, psf_bank=8, psf_refresh=2)


def test_sampler_is_seeded_and_consistent(sampler):
    again = DegradationSampler(DATA, seed=0, image_size=48, generated_per_kind=1, psf_bank=8, psf_refresh=2)
    first, second = sampler.sample(3), again.sample(3)
    torch.testing.assert_close(first.y, second.y)
    assert first.field.shape == (3, 1, 40, 40) and first.y.shape == first.x.shape == (3, 1, 32, 32)
    torch.testing.assert_close(first.psf.sum(dim=(-2, -1)), torch.ones(3, 1))
    # The bank's PSF is the model's PSF of the bank's parameters.
    torch.testing.assert_close(first.psf, zernike_psfs(first.coeff, first.fc, size=9), atol=1e-6, rtol=0)


def test_sampler_never_uses_test_images(monkeypatch):
    import bench.learn.sampler
    from bench.scenes.images import TEST_IMAGES, TRAIN_IMAGES, TRAIN_PHANTOM_SEED_OFFSET, load_image

    loaded = []
    monkeypatch.setattr(
        bench.learn.sampler,
        "load_image",
        lambda name, size, seed=0: loaded.append((name, seed)) or load_image(name, size, seed=seed),
    )
    DegradationSampler(DATA, seed=0, image_size=48, generated_per_kind=2, psf_bank=2, psf_refresh=0)
    names = {name for name, _ in loaded}
    assert names == set(TRAIN_IMAGES) and not names & (set(TEST_IMAGES) - set(TRAIN_IMAGES))
    assert all(seed >= TRAIN_PHANTOM_SEED_OFFSET for name, seed in loaded if name in TEST_IMAGES)


def test_identification_shapes_and_determinism(sampler):
    torch.manual_seed(0)
    net = IdentificationNet(**TINY["identification"]).eval()
    y = sampler.sample(2).y
    psf = net.psf(y)
    assert net(y).shape == (2, 9) and psf.shape == (2, 1, 9, 9)
    torch.testing.assert_close(psf.sum(dim=(-2, -1)), torch.ones(2, 1))
    torch.testing.assert_close(net.psf(y), psf, rtol=0, atol=0)
    coeff, fc = net.parameters_of(y)
    assert ((fc >= 0.125) & (fc <= 0.25)).all()


def test_identification_loss_ignores_the_unidentifiable_even_sign(sampler):
    net = IdentificationNet(**TINY["identification"]).eval()
    batch = sampler.sample(2)
    flipped = batch.coeff.clone()
    flipped[:, list(EVEN_MODES)] *= -1
    assert torch.allclose(zernike_psfs(flipped, batch.fc, size=9), batch.psf, atol=1e-6)
    for weight in (0.0, 1.0):
        same = (
            net.loss(batch.y, flipped, batch.fc, batch.psf, weight),
            net.loss(batch.y, batch.coeff, batch.fc, batch.psf, weight),
        )
        assert same[0].item() == pytest.approx(same[1].item())


def test_conditioned_network_outputs_a_psf_and_uses_the_condition(sampler):
    torch.manual_seed(0)
    net = ConditionedIdentificationNet(
        widths=[4, 8], blocks=1, psf_size=9, fc_range=[0.125, 0.25], theta_max_range=[0.02, 0.15]
    )
    with torch.no_grad():
        net.film[-1].weight.normal_()  # zero-initialised: give the condition an effect
    net.eval()
    batch = sampler.sample(2)
    psf = net(batch.y, batch.fc, batch.theta_max)
    assert psf.shape == (2, 1, 9, 9) and (psf >= 0).all()
    torch.testing.assert_close(psf.sum(dim=(-2, -1)), torch.ones(2, 1))
    other = net(batch.y, torch.full((2,), 0.13), batch.theta_max)
    assert not torch.allclose(psf, other)


def test_conditioned_method_says_to_prepare_before_use():
    method = load_registry().method("psf-id-conditioned")()
    with pytest.raises(RuntimeError, match=r"call prepare\(device\) first"):
        method.run(torch.rand(1, 1, 64, 64), None, None)


def test_unrolled_network_keeps_shape_and_is_deterministic(sampler):
    torch.manual_seed(0)
    net = UnrolledDouglasRachford(**TINY["deblurring"]).eval()
    batch = sampler.sample(2)
    y = batch.y[..., :30, :27]  # sides that are not multiples of 8
    with torch.no_grad():
        first, second = net(y, batch.psf), net(y, batch.psf)
    assert first.shape == y.shape and torch.isfinite(first).all()
    torch.testing.assert_close(first, second, rtol=0, atol=0)


def test_a_few_training_steps_lower_the_loss(sampler, tmp_path):
    torch.manual_seed(0)
    net = IdentificationNet(**TINY["identification"])
    batch = sampler.sample(8)
    fixed = type("Fixed", (), {"sample": lambda self, size: batch})()
    loss = lambda b: net.loss(b.y, b.coeff, b.fc, b.psf, 1.0)  # noqa: E731
    before = loss(batch).item()
    log = TrainingLog(tmp_path / "log.csv")
    fit(net, loss, fixed, stage="identification", steps=30, batch_size=8, learning_rate=3e-3,
        validate=lambda: {"val": loss(batch).item()}, validate_every=10, log=log)  # fmt: skip
    net.eval()
    assert loss(batch).item() < 0.7 * before
    assert [row["step"] for row in log.rows] == [10, 20, 30]
    assert (tmp_path / "log.csv").read_text().startswith("stage,step,loss")


def test_checkpoint_round_trip_in_float16(tmp_path, sampler):
    torch.manual_seed(0)
    networks = {name: net.eval() for name, net in build_deepblur(TINY).items()}
    path = save_checkpoint(tmp_path / "tiny.pt", networks, architecture=TINY, card={"command": "bench train x"})
    loaded = load_checkpoint(path, build_deepblur, recreate="bench train x")
    y = sampler.sample(1).y
    with torch.no_grad():
        for net in networks.values():  # the saved weights are the float16-rounded ones
            for p in net.parameters():
                p.copy_(p.half().float())
        torch.testing.assert_close(loaded["identification"](y), networks["identification"](y))
    card = (tmp_path / "tiny.json").read_text()
    assert '"sha256"' in card and '"git_commit"' in card and '"command": "bench train x"' in card


def test_large_checkpoints_are_split_into_parts_that_round_trip(tmp_path, sampler):
    torch.manual_seed(0)
    networks = {name: net.eval() for name, net in build_deepblur(TINY).items()}
    limit = 0.005  # MiB: forces several parts for the tiny networks
    path = save_checkpoint(tmp_path / "big.pt", networks, architecture=TINY, card={}, max_file_mib=limit)
    parts = sorted(tmp_path.glob("big.part*.pt"))
    assert len(parts) > 2
    for part in parts:  # file size = tensor bytes plus pickle overhead
        payload = sum(t.numel() * t.element_size() for s in torch.load(part)["weights"].values() for t in s.values())
        assert payload <= limit * 2**20
    assert '"parts"' in (tmp_path / "big.json").read_text()
    loaded = load_checkpoint(path, build_deepblur, recreate="bench train x")
    y = sampler.sample(1).y
    with torch.no_grad():
        for p in networks["identification"].parameters():
            p.copy_(p.half().float())
        torch.testing.assert_close(loaded["identification"](y), networks["identification"](y))
    parts[1].write_bytes(parts[1].read_bytes()[:-1] + b"x")
    with pytest.raises(CheckpointError, match=r"checkpoint part .*big\.part2\.pt is corrupt .*`bench train x`"):
        load_checkpoint(path, build_deepblur, recreate="bench train x")
    parts[1].unlink()
    with pytest.raises(
        CheckpointError, match=r"missing checkpoint part .*big\.part2\.pt: recreate it with `bench train x`"
    ):
        load_checkpoint(path, build_deepblur, recreate="bench train x")
    with pytest.raises(ValueError, match=r"tensor .* alone takes"):
        save_checkpoint(tmp_path / "x.pt", networks, architecture=TINY, card={}, max_file_mib=1e-6)


def test_missing_and_corrupt_checkpoints_name_the_file_and_the_command(tmp_path):
    with pytest.raises(
        CheckpointError, match=r"missing checkpoint .*nope\.pt: recreate it with `bench train deepblur preset=cpu`"
    ):
        load_checkpoint(tmp_path / "nope.pt", build_deepblur, recreate="bench train deepblur preset=cpu")
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(
        CheckpointError, match=r"bad\.pt is corrupt .*recreate it with `bench train deepblur preset=cpu`"
    ):
        load_checkpoint(tmp_path / "bad.pt", build_deepblur, recreate="bench train deepblur preset=cpu")


LEARNED = sorted(name for name, cls in load_registry().methods.items() if cls.learned)


def test_every_learned_plugin_is_a_learned_method():
    assert {"deepblur", "deepblur-oracle", "psf-id-conditioned", "nafnet", "swinir"} <= set(LEARNED)
    assert load_registry().method("deepblur-oracle").training_target() == "deepblur"


@pytest.mark.parametrize("name", LEARNED)
def test_learned_plugins_report_a_missing_preset(name):
    method_cls = load_registry().method(name)
    assert issubclass(method_cls, LearnedMethod)
    reason = method_cls(preset="nonexistent").unavailable(torch.device("cpu"))
    target = method_cls.training_target()
    assert (
        reason
        == f"missing checkpoint {target}-nonexistent.pt: recreate it with `bench train {target} preset=nonexistent`"
    )


@pytest.mark.parametrize("name", LEARNED)
def test_shipped_cpu_checkpoints_load(name):
    method = load_registry().method(name)()
    assert method.unavailable(torch.device("cpu")) is None, "the cpu checkpoint must ship with the project"
    method.prepare(torch.device("cpu"))


def test_bench_train_rejects_a_method_without_weights(capsys):
    from bench.commands.cli import main

    assert main(["train", "wiener"]) == 2
    assert "'wiener' has nothing to train; learned methods:" in capsys.readouterr().err


def test_training_configurations_compose():
    from bench.config import compose_training

    assert compose_training("deepblur").identification.network.widths == [16, 32, 64, 128]
    gpu = compose_training("deepblur", ["preset=gpu", "seed=3"])
    assert gpu.identification.network.widths == [32, 64, 128, 256] and gpu.seed == 3 and gpu.degradations.psf_size == 31
    with pytest.raises(ValueError, match="no training configuration 'deepblur-tpu'; available: deepblur-cpu"):
        compose_training("deepblur", ["preset=tpu"])


def test_product_convolution_of_a_constant_grid_is_a_convolution():
    from bench.methods.psf_id_conditioned import product_convolution
    from bench.solve.operators import pad

    torch.manual_seed(0)
    psf = zernike_psfs(torch.full((1, 8), 0.05), torch.tensor([0.2]), size=9)
    grid = psf[:, 0][:, None].expand(1, 9, 9, 9)  # 3 x 3 windows of 24 px, step 12, on 48 x 48
    forward, adjoint = product_convolution(grid, (48, 48), 24, 12)
    x = torch.rand(1, 1, 48, 48)
    expected = torch.nn.functional.conv2d(pad(x, 4, "reflect"), psf.flip(-1, -2))
    torch.testing.assert_close(forward(x), expected, atol=1e-5, rtol=0)
    v = torch.rand(1, 1, 48, 48)  # the adjoint is the adjoint
    torch.testing.assert_close((forward(x) * v).sum(), (x * adjoint(v)).sum(), atol=1e-3, rtol=1e-5)
    with pytest.raises(ValueError, match="a grid of 9 PSFs does not match 2 x 2 windows"):
        product_convolution(grid, (48, 48), 24, 24)


def test_overrides_may_follow_options(monkeypatch):
    import bench.commands.cli

    seen = {}
    monkeypatch.setattr(bench.commands.cli, "_train", lambda args: seen.update(vars(args)) or 0)
    assert bench.commands.cli.main(["train", "deepblur", "--out", "x.pt", "seed=1", "preset=gpu"]) == 0
    assert seen["overrides"] == ["seed=1", "preset=gpu"] and str(seen["out"]) == "x.pt"
    with pytest.raises(SystemExit):
        bench.commands.cli.main(["train", "deepblur", "--out", "x.pt", "--bogus"])


@pytest.mark.parametrize("name", ["deepblur", "deepblur-oracle"])
def test_shipped_deepblur_restores_a_noisy_blurred_training_image(name):
    """The shipped cpu networks gain over a medium-noise blurred training image, blind and given the true PSF."""
    from tests.conftest import gain_on_a_noisy_training_image

    assert gain_on_a_noisy_training_image(name, 158) > 1.0


def test_deblurring_stage_can_reuse_a_trained_identification(tmp_path):
    """``identification.init``: the identification network is loaded, not retrained; the deblurring stage trains."""
    from omegaconf import OmegaConf

    from bench.methods._deepblur import train_deepblur

    def config(**identification):
        return OmegaConf.create({
            "method": "deepblur", "preset": "tiny", "seed": 0, "device": "cpu",
            "degradations": {"psf_size": 9},
            "identification": {
                "network": {"widths": [4, 8], "blocks": 1}, "patch": 32, "psf_weight": 1.0, "steps": 2,
                "batch_size": 2, "learning_rate": 1e-3, **identification,
            },
            "deblurring": {
                "network": {"iterations": 1, "channels": [4, 4, 4, 4], "blocks": 1}, "patch": 32, "steps": 2,
                "batch_size": 2, "learning_rate": 1e-3,
            },
            "sampler": {"image_size": 48, "generated_per_kind": 1, "psf_bank": 4},
            "validation": {"batches": 1, "batch_size": 2, "every": 2},
        })  # fmt: skip

    first = tmp_path / "first.pt"
    train_deepblur(config(), first)
    second = tmp_path / "second.pt"
    train_deepblur(config(init=str(first), learning_rate=1.0), second)  # a retrained stage would move far
    trained = [load_checkpoint(path, build_deepblur, recreate="bench train deepblur") for path in (first, second)]
    for a, b in zip(
        trained[0]["identification"].state_dict().values(), trained[1]["identification"].state_dict().values()
    ):
        assert torch.equal(a, b)
    assert [row.split(",")[0] for row in (tmp_path / "second.log.csv").read_text().splitlines()[1:]] == ["deblurring"]
