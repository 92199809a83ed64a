"""The training loop's guard against updates that would wreck a run."""

import csv
import math

import pytest
import torch

from bench.config import compose_training
from bench.learn.loop import SpikeGuard, TrainingLog, check_stage_settings, fit
from bench.learn.recipe import start_training


def test_guard_refuses_non_finite_and_spiking_updates_only():
    guard = SpikeGuard(factor=10.0, window=20, warmup=5)
    norms = [1.0, 1.3, 0.8, 1.1, 0.9, 1.2]
    assert all(guard.admits(0.5, norm) for norm in norms)
    assert not guard.admits(math.nan, 1.0)
    assert not guard.admits(0.5, math.inf)
    assert guard.admits(0.5, 9.0)  # large, but under ten times the median
    assert not guard.admits(0.5, 50.0)
    assert guard.skipped == 3


def test_guard_accepts_a_lasting_change_of_scale():
    guard = SpikeGuard(factor=10.0, window=20, warmup=5)
    for _ in range(20):
        guard.admits(0.5, 1.0)
    admitted = [guard.admits(0.5, 100.0) for _ in range(20)]
    assert not admitted[0] and admitted[-1]


class _Batches:
    def sample(self, size: int) -> torch.Tensor:
        return torch.randn(size, 3)


def _fit_line(tmp_path, **adam) -> torch.Tensor:
    """A linear model after 30 steps of fit on a fixed problem, Adam set by ``adam``."""
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    target = torch.tensor([[1.0], [-2.0], [0.5]])
    fit(model, lambda batch: ((model(batch) - batch @ target) ** 2).mean(), _Batches(), stage="s", steps=30,
        batch_size=16, learning_rate=0.05, validate=dict, validate_every=30, log=TrainingLog(tmp_path / "log.csv"),
        **adam)  # fmt: skip
    return model.weight.detach().clone()


def test_fit_passes_adam_beta2_to_the_optimizer(tmp_path):
    default = _fit_line(tmp_path)
    assert torch.equal(default, _fit_line(tmp_path, adam_beta2=0.999))
    assert not torch.allclose(default, _fit_line(tmp_path, adam_beta2=0.99))


@pytest.mark.parametrize("beta2", [0.0, 1.0, 1.5])
def test_fit_refuses_an_adam_beta2_outside_the_unit_interval(tmp_path, beta2):
    with pytest.raises(ValueError, match=r"s\.adam_beta2 must be strictly between 0 and 1"):
        _fit_line(tmp_path, adam_beta2=beta2)


@pytest.mark.parametrize(
    "key, value",
    [("steps", 0), ("steps", -5), ("steps", 2.5), ("batch_size", 0), ("learning_rate", -1.0),
     ("learning_rate", math.nan), ("max_minutes", 0)],
)  # fmt: skip
def test_settings_no_stage_can_run_with_are_refused_by_their_key(key, value):
    settings = {"steps": 10, "batch_size": 4, "learning_rate": 1e-3, key: value}
    with pytest.raises(ValueError, match=rf"^restoration\.{key} must be "):
        check_stage_settings("restoration", **settings)


def test_a_bad_later_stage_is_refused_before_the_first_stage_trains(tmp_path):
    config = compose_training("deepblur", ["deblurring.adam_beta2=1.5"])
    with pytest.raises(ValueError, match=r"deblurring\.adam_beta2 must be strictly between 0 and 1"):
        start_training(config, tmp_path / "deepblur.pt")


@pytest.mark.parametrize("method", ["deepblur", "nafnet", "swinir", "psf-id-spectral", "psf-id-conditioned"])
@pytest.mark.parametrize("preset", ["cpu", "gpu"])
def test_every_shipped_preset_passes_the_settings_check(tmp_path, method, preset):
    start_training(compose_training(method, [f"preset={preset}"]), tmp_path / f"{method}.pt")


def test_fit_skips_a_poisoned_step_and_keeps_training(tmp_path):
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    target = torch.tensor([[1.0], [-2.0], [0.5]])
    calls = iter(range(10**6))

    def loss(batch: torch.Tensor) -> torch.Tensor:
        value = ((model(batch) - batch @ target) ** 2).mean()
        return value * math.nan if next(calls) == 60 else value

    log = TrainingLog(tmp_path / "log.csv")
    fit(model, loss, _Batches(), stage="s", steps=200, batch_size=16, learning_rate=0.05,
        validate=dict, validate_every=100, log=log)  # fmt: skip
    assert all(torch.isfinite(p).all() for p in model.parameters())
    rows = list(csv.DictReader((tmp_path / "log.csv").open()))
    assert [int(row["skipped_steps"]) for row in rows] == [1, 1]
    assert float(rows[-1]["loss"]) < 0.01


@pytest.mark.parametrize("factor", [0.5, 1.0])
def test_guard_factor_must_leave_room_above_the_median(factor):
    with pytest.raises(ValueError, match="factor"):
        SpikeGuard(factor=factor)
