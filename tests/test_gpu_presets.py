"""The gpu presets come back from a lent device: all of them together in under 60 MiB and 7 files."""

import pytest

from bench.config import compose_training
from bench.registry import load_registry

#: Every learned method's gpu preset and the overrides that make one CPU step of it take seconds.
TARGETS = {
    "psf-id-spectral": ["identification.patch=64", "identification.batch_size=2", "deblurring.batch_size=2"],
    "deepblur": [
        "identification.patch=32",
        "identification.batch_size=2",
        "deblurring.patch=32",
        "deblurring.batch_size=2",
    ],
    "psf-id-conditioned": ["identification.patch=32", "identification.batch_size=2"],
    "nafnet": ["restoration.patch=32", "restoration.batch_size=2"],
    "swinir": ["restoration.patch=32", "restoration.batch_size=2", "restoration.network.img_size=32"],
}
STEPS = {"psf-id-spectral": ["identification", "deblurring"], "deepblur": ["identification", "deblurring"],
         "psf-id-conditioned": ["identification"], "nafnet": ["restoration"], "swinir": ["restoration"]}  # fmt: skip


@pytest.mark.slow
def test_gpu_presets_fit_what_a_lent_device_sends_back(tmp_path):
    registry = load_registry()
    for target, overrides in TARGETS.items():
        stages = [f"{stage}.steps=1" for stage in STEPS[target]]
        config = compose_training(target, [
            "preset=gpu", "device=cpu", *overrides, *stages, "validation.batches=1", "validation.batch_size=2",
            "++sampler.image_size=128", "++sampler.generated_per_kind=1", "++sampler.psf_bank=4", "++sampler.psf_refresh=2",
        ])  # fmt: skip
        registry.method(target).train(config, tmp_path / f"{target}-gpu.pt")
    weights = sorted(tmp_path.glob("*.pt"))
    total = sum(path.stat().st_size for path in weights)
    assert total < 60 * 2**20, f"{total / 2**20:.1f} MiB of gpu weights"
    assert all(path.stat().st_size <= 15 * 2**20 for path in weights)
    assert len(weights) <= 7, [path.name for path in weights]
