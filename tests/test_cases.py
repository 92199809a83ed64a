import json

import numpy as np
import pytest

from bench.run.cases import CaseStore
from bench.config import compose, make_dataset
from bench.registry import load_registry


def smoke_store(tmp_path, *overrides):
    dataset, params = make_dataset(compose(list(overrides), dataset="smoke"), load_registry())
    return CaseStore(dataset, params, tmp_path)


def manifest(store):
    return json.loads((store.directory / "manifest.json").read_text())["files"]


def test_smoke_cases_have_documented_shapes(smoke_cases):
    assert len(smoke_cases) == 4
    for case in smoke_cases:
        assert case.y.shape == case.x.shape == (64, 64) and case.psf.shape == (15, 15)
        assert case.y.dtype == np.float32 and abs(case.psf.sum() - 1) < 1e-6
        assert {"fc", "zernike_coeff", "noise", "noise_params", "image"} <= set(case.meta)


def test_same_seed_gives_byte_identical_cases(tmp_path):
    first, second = smoke_store(tmp_path / "a"), smoke_store(tmp_path / "b")
    first.load(), second.load()
    assert manifest(first) == manifest(second)


def test_different_seed_gives_different_cases(tmp_path):
    first, second = smoke_store(tmp_path / "a"), smoke_store(tmp_path / "b", "dataset.seed=1")
    first.load(), second.load()
    assert set(manifest(first).values()).isdisjoint(manifest(second).values())


def test_second_load_reuses_the_cache(tmp_path, monkeypatch):
    smoke_store(tmp_path).load()
    store = smoke_store(tmp_path)
    monkeypatch.setattr(store.dataset, "make_case", lambda case_id: pytest.fail("regenerated a cached case"))
    assert len(store.load()) == 4


def test_tampered_cache_is_rejected(tmp_path):
    store = smoke_store(tmp_path)
    store.load()
    path = store.directory / "camera-high.npz"
    path.write_bytes(path.read_bytes()[:-1] + b"x")
    with pytest.raises(ValueError, match="camera-high.npz.*sha256"):
        smoke_store(tmp_path).load()


def test_noise_levels_share_the_image_and_psf(smoke_cases):
    by_id = {case.case_id: case for case in smoke_cases}
    clean, noisy = by_id["camera-noiseless"], by_id["camera-high"]
    np.testing.assert_array_equal(clean.psf, noisy.psf)
    np.testing.assert_array_equal(clean.x, noisy.x)
    assert np.abs(clean.y - noisy.y).mean() > 0.01


def test_unknown_noise_level_lists_the_defined_ones():
    with pytest.raises(ValueError, match="unknown noise level.*noiseless, low, medium, high"):
        make_dataset(compose(["noise=loud"]), load_registry())


def test_export_writes_npz_and_meta(tmp_path):
    out = smoke_store(tmp_path / "cache").export(tmp_path / "export")
    meta = json.loads((out / "meta.json").read_text())
    assert sorted(meta) == sorted(p.stem for p in out.glob("*.npz"))
    with np.load(out / "camera-high.npz") as arrays:
        assert set(arrays.files) == {"y", "x", "psf"}


class BadDataset:
    """A dataset plugin whose single case is broken in the way the test asks."""

    name = "bad"

    def __init__(self, y, psf):
        self.y, self.psf = y, psf

    def case_ids(self):
        return ["only"]

    def make_case(self, case_id):
        from bench.api import Case

        return Case(case_id, self.y, None, self.psf, {})


def delta(size=5):
    psf = np.zeros((size, size), dtype=np.float32)
    psf[size // 2, size // 2] = 1
    return psf


@pytest.mark.parametrize(
    "y, psf, message",
    [
        (np.full((8, 8), np.nan), delta(), "only: y holds 64 NaN"),
        (np.zeros((2, 2, 8, 8)), delta(), r"only: y must be a 2D \(H, W\) image or a 3D \(D, H, W\) volume, got shape"),
        (np.zeros((2, 8, 8)), delta(), "only: psf has 2 axes but y has 3; a volume needs a 3D PSF"),
        (np.zeros((8, 8)), -delta(), "only: psf must be non-negative"),
        (np.zeros((8, 8)), 0 * delta(), "only: psf sums to zero"),
    ],
)
def test_store_rejects_broken_cases_with_a_message(tmp_path, y, psf, message):
    with pytest.raises(ValueError, match=message):
        CaseStore(BadDataset(y, psf), {}, tmp_path).load()
