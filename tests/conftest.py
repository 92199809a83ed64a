"""Shared fixtures: an isolated case cache, one Dask cluster for every run, the smoke dataset's cases."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import scipy.signal
import torch
from skimage.data import camera
from skimage.transform import resize

import bench  # noqa: F401  (installs the torchvision fallback before deepinv is imported)
from bench.run.cases import CaseStore
from bench.config import compose, make_dataset
from bench.run.engine import EngineSettings, dask_client
from bench.registry import load_registry

#: Method plugins that misbehave on purpose (bench run --plugins), never shipped in methods/.
TEST_PLUGINS = str(Path(__file__).parent / "plugins")


@pytest.fixture(scope="session", autouse=True)
def shared_scheduler():
    """One local cluster (2 workers, 1.5 GiB each) that every run of the tests uses.

    Runs find it through ``$DECONV_BENCH_SCHEDULER``; a test that needs its
    own cluster passes ``engine.scheduler=null``. Workers start their imports
    only when a run first sends them a task.
    """
    settings = EngineSettings(workers=2, threads=1, memory_limit="1.5GiB")
    with dask_client(settings) as client:
        os.environ["DECONV_BENCH_SCHEDULER"] = client.scheduler.address
        yield client.scheduler.address
        del os.environ["DECONV_BENCH_SCHEDULER"]


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory, monkeypatch):
    """Every test writes generated cases to one temporary cache, never to ~/.cache."""
    monkeypatch.setenv("DECONV_BENCH_CACHE", str(tmp_path_factory.getbasetemp() / "case-cache"))


@pytest.fixture(scope="session")
def smoke_cases(tmp_path_factory):
    """The smoke dataset's cases (2 images x 2 noise levels, 64x64)."""
    dataset, params = make_dataset(compose(dataset="smoke"), load_registry())
    return CaseStore(dataset, params, tmp_path_factory.mktemp("smoke-cache")).load()


@pytest.fixture(scope="module")
def noiseless_case():
    """A 48x48 crop of camera blurred (valid) by a 9x9 Gaussian PSF, 16-bit quantized."""
    field = resize(camera().astype(np.float64) / 255, (56, 56), anti_aliasing=True)
    grid = np.arange(9) - 4
    psf = np.exp(-(grid[:, None] ** 2 + grid[None, :] ** 2) / (2 * 1.5**2))
    psf /= psf.sum()
    y = np.round(scipy.signal.fftconvolve(field, psf, mode="valid") * 65535) / 65535
    as_tensor = lambda a: torch.from_numpy(a.astype(np.float32))[None, None]
    return as_tensor(y), as_tensor(psf), field[4:-4, 4:-4]


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip_gpu = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip_gpu)


def gain_on_a_noisy_training_image(name: str, size: int) -> float:
    """PSNR gain (dB) of a shipped method on a medium-noise blurred training image of ``size`` px.

    Non-blind methods get the true PSF, blind ones only the image, as in a run.
    """
    from bench.physics.degradation import NoiseLevel, blur_valid, degrade
    from bench.scenes.images import TRAIN_IMAGES, load_image
    from bench.score.image import psnr
    from bench.physics.psfs import zernike_psf

    field = load_image(TRAIN_IMAGES[0], size)
    psf = zernike_psf(np.full(8, 0.05), 0.18, size=31)
    y = degrade(blur_valid(field, psf), NoiseLevel(gain=200, sigma=0.02), np.random.default_rng(0)).astype(np.float32)
    method = load_registry().method(name)()
    method.prepare(torch.device("cpu"))
    given = None if method.blind else torch.from_numpy(psf / psf.sum()).float()[None, None]
    with torch.no_grad():
        x_hat = method.run(torch.from_numpy(y)[None, None], given, None).x_hat[0, 0].numpy()
    x = field[15:-15, 15:-15]
    return psnr(x, x_hat, data_range=1) - psnr(x, y, data_range=1)
