"""The 3D track: phantom volumes, the fresnel-zernike-3d dataset, the runner and the scores on volumes."""

import json

import numpy as np
import pytest
import scipy.ndimage
from skimage.metrics import structural_similarity

from bench.api import BaseMethod, Result
from bench.run.cases import CaseStore
from bench.config import compose, make_dataset
from bench.score.case import score
from bench.score.image import ssim
from bench.score.probes import seam_score
from bench.score.psf import psf_snr
from bench.physics.psfs import confocal_psf_3d, widefield_psf_3d
from bench.registry import load_registry
from bench.report.publish import write_report
from bench.run.runner import run_benchmark
from bench.scenes.volumes import TRAIN_PHANTOM_SEED_OFFSET, VOLUME_PHANTOMS, load_volume

TINY = [
    "dataset.shape=[10,24,24]",
    "dataset.psf_shape=[5,9,9]",
    "dataset.images=[phantom-beads]",
    "dataset.noise=[high]",
]


@pytest.mark.parametrize("name", VOLUME_PHANTOMS)
def test_volume_phantoms_are_deterministic_volumes_in_unit_range(name):
    volume = load_volume(name, (12, 40, 36), z_ratio=3)
    assert volume.shape == (12, 40, 36) and volume.dtype == np.float64
    assert volume.max() == 1.0 and 0.02 <= volume.min() <= 0.05
    np.testing.assert_array_equal(volume, load_volume(name, (12, 40, 36), z_ratio=3))
    assert not np.array_equal(volume, load_volume(name, (12, 40, 36), seed=TRAIN_PHANTOM_SEED_OFFSET, z_ratio=3))


def test_volume_phantoms_refuse_bad_shapes_with_the_fix():
    with pytest.raises(ValueError, match=r"\(D, H, W\) with every side >= 8"):
        load_volume("phantom-beads", (4, 40, 40))
    with pytest.raises(ValueError, match="available: phantom-filaments"):
        load_volume("camera", (8, 8, 8))


@pytest.fixture(scope="module")
def tiny_cases(tmp_path_factory):
    dataset, params = make_dataset(compose([*TINY, "dataset.images=[phantom-beads,phantom-cells]"], dataset="fresnel-zernike-3d"),
                                   load_registry())  # fmt: skip
    return CaseStore(dataset, params, tmp_path_factory.mktemp("cache-3d")).load(), dataset, params


def test_3d_cases_are_valid_blurred_volumes_with_their_sampling(tiny_cases):
    cases, _, _ = tiny_cases
    assert [c.case_id for c in cases] == [f"{p}-{m}-high" for p in ("phantom-beads", "phantom-cells")
                                          for m in ("widefield", "confocal")]  # fmt: skip
    for case in cases:
        assert case.y.shape == case.x.shape == (10, 24, 24) and case.psf.shape == (5, 9, 9)
        centroid = np.array(scipy.ndimage.center_of_mass(case.psf))
        assert np.abs(centroid - (2, 4, 4)).max() <= 1  # what bench.checks.check_psf requires
        dz, dy, dx = case.meta["pixel_size_um"]
        assert dy == dx == case.meta["optics"]["pixel_um"] and dz == pytest.approx(3 * dx * 13 / 12)
    assert cases[0].meta["image"] == "phantom-beads-widefield"


def test_widefield_psfs_spread_over_every_plane_and_confocal_ones_gather_near_focus():
    from bench.datasets.fresnel_zernike_3d import OPTICS

    coeff = np.random.default_rng(7).uniform(-0.1, 0.1, 7)
    widefield, dz = widefield_psf_3d(coeff, shape=(15, 31, 31), z_ratio=3, **OPTICS["widefield"])
    confocal, _ = confocal_psf_3d(coeff, shape=(15, 31, 31), z_ratio=3, **OPTICS["confocal"])
    for psf in (widefield, confocal):
        assert psf.shape == (15, 31, 31) and psf.min() >= 0 and psf.sum() == pytest.approx(1)
    planes = widefield.sum(axis=(1, 2)), confocal.sum(axis=(1, 2))
    assert planes[0][0] / planes[0].max() > 0.4 and planes[1][0] / planes[1].max() < 0.3
    assert dz == pytest.approx(0.065 * 3 * 23 / 22)  # deepinv's n planes on linspace(-n/2, n/2, n), n = 15 + 2 * 4


def test_confocal_psf_refuses_pixels_that_alias_it():
    with pytest.raises(ValueError, match="alias"):
        confocal_psf_3d(np.zeros(7), shape=(5, 9, 9), na=1.4, ni=1.518, excitation_um=0.488, emission_um=0.52,
                        pixel_um=0.065, z_ratio=3)  # fmt: skip


def test_3d_cases_are_byte_identical_when_regenerated(tiny_cases, tmp_path):
    _, dataset, params = tiny_cases
    manifests = []
    for folder in ("a", "b"):
        store = CaseStore(dataset, params, tmp_path / folder)
        store.load()
        manifests.append(json.loads((store.directory / "manifest.json").read_text())["files"])
    assert manifests[0] == manifests[1]


class PlanesOnly(BaseMethod):
    """A 2D-only method (the default ``dims``)."""

    name = "planes_only"
    blind = True

    def run(self, y, psf, optics):
        return Result(y)


def test_runner_restores_volumes_and_skips_2d_methods_with_the_reason(tmp_path, monkeypatch):
    monkeypatch.setitem(load_registry().methods, "planes_only", PlanesOnly)
    outcome = run_benchmark("identity,richardson_lucy,wiener,planes_only", "fresnel-zernike-3d",
                            [f"out={tmp_path}", *TINY, "save_outputs=true"], log=lambda line: None)  # fmt: skip
    assert outcome.skipped == {"planes_only": "restores 2D data only; this dataset's cases are 3D"}
    cases = outcome.cases
    assert (cases.status == "ok").all() and len(cases) == 6
    scores = cases.set_index("label").groupby(level=0).psnr.mean()
    assert scores["richardson_lucy"] > scores["identity"] + 1
    with np.load(tmp_path / "outputs" / "richardson_lucy" / "phantom-beads-confocal-high.npz") as saved:
        assert saved["x_hat"].shape == (10, 24, 24)
    write_report([tmp_path], tmp_path / "report", n_boot=10, panels=1)
    page = (tmp_path / "report" / "leaderboard.html").read_text()
    assert "No image panels" not in page and "xz below, yz right" in page and "data:image/png;base64" in page


def test_ssim_on_volumes_is_skimage_3d():
    rng = np.random.default_rng(5)
    x = rng.random((9, 20, 16))
    y = np.clip(x + 0.1 * rng.standard_normal(x.shape), 0, 1)
    assert ssim(x, y, data_range=1.0) == pytest.approx(structural_similarity(x, y, data_range=1.0), abs=1e-12)


def test_psf_snr_on_3d_psfs_ignores_a_shift_and_the_box():
    def gaussian(shape, shift=(0, 0, 0)):
        grid = np.indices(shape) - (np.array(shape) // 2 + shift)[:, None, None, None]
        return np.exp(-(grid**2).sum(axis=0))  # narrow: its truncation by either box is negligible

    psf = gaussian((7, 11, 11))
    assert psf_snr(psf, gaussian((9, 11, 17), shift=(1, -2, 1))) > 60  # a whole-voxel shift, a larger box
    assert psf_snr(psf, psf**1.2) < 30


def test_score_on_a_volume_fills_every_generalised_column(tiny_cases):
    case = tiny_cases[0][0]
    scores = score(case.x, case.y, case.psf, case.psf**1.1, y=case.y, scoring=case.scoring)
    for column in ("psnr", "ssim", "psf_snr", "reblur_psnr", "reblur_residual", "negative_fraction", "peak_ratio"):
        assert np.isfinite(scores[column]), column
    assert scores["ringing"] == pytest.approx(1.0)
    assert np.isnan(scores["line_contrast"])


def test_seam_score_sees_a_step_at_a_tile_boundary_and_nothing_elsewhere():
    smooth = scipy.ndimage.gaussian_filter(np.random.default_rng(6).random((8, 40, 40)), 2)
    assert seam_score(smooth, ((), (20,), (20,))) < 2
    stepped = smooth.copy()
    stepped[:, 20:] += 0.05
    assert seam_score(stepped, ((), (20,), (20,))) > 5
