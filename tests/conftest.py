"""Shared fixtures: an isolated case cache and the smoke dataset's cases."""

from __future__ import annotations

import pytest
import torch

import bench  # noqa: F401  (installs the torchvision fallback before deepinv is imported)
from bench.cases import CaseStore
from bench.config import compose, make_dataset
from bench.registry import load_registry


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory, monkeypatch):
    """Every test writes generated cases to one temporary cache, never to ~/.cache."""
    monkeypatch.setenv("DECONV_BENCH_CACHE", str(tmp_path_factory.getbasetemp() / "case-cache"))


@pytest.fixture(scope="session")
def smoke_cases(tmp_path_factory):
    """The smoke dataset's cases (2 images x 2 noise levels, 64x64)."""
    dataset, params = make_dataset(compose(dataset="smoke"), load_registry())
    return CaseStore(dataset, params, tmp_path_factory.mktemp("smoke-cache")).load()


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip_gpu = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip_gpu)
