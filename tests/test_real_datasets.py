"""Real data: shipped files and checksums, the real and semi-synthetic datasets, and their scores."""

from __future__ import annotations

import math
import shutil

import numpy as np
import pytest
import scipy.ndimage
import tifffile
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from bench.api import Scoring
from bench.run.cases import validate_case
from bench.config import compose, make_dataset
from bench.datasets import widefield_dapi
from bench.datasets._real import (
    DATA_DIR,
    SHIPPED,
    ShippedData,
    ShippedDataError,
    optics_psf,
    resample_psf,
)
from bench.physics.psf_geometry import psf_fwhm
from bench.score.case import CaseScorer, score
from bench.score.image import affine_fit
from bench.score.probes import bead_fwhm, line_profile
from bench.score.reference_free import ringing
from bench.registry import load_registry
from bench.run.runner import run_benchmark
from bench.solve.solvers import richardson_lucy

#: name -> (number of cases, image shape, PSF shape, pixel size in µm, has a reference)
DOCUMENTED = {
    "biosr-wf-sim": (2, (256, 256), (31, 31), 0.0626, True),
    "beads-grid-confocal": (3, (150, 150), (41, 41), 0.02196, False),
    "lattice-lightsheet": (3, (320, 256), (31, 31), 0.1015, False),
    "widefield-dapi": (1, (201, 101), (15, 15), 0.130, False),
    "airyscan-celegans": (1, (310, 310), (13, 13), 0.0426, False),
    "measured-psf": (16, (128, 128), (51, 51), 0.0626, True),
}


def build(name: str):
    dataset, _ = make_dataset(compose(dataset=name), load_registry())
    return dataset, [validate_case(dataset.make_case(case_id)) for case_id in dataset.case_ids()]


def test_shipped_files_are_all_listed_and_verify():
    on_disk = sorted(p.relative_to(DATA_DIR).as_posix() for p in DATA_DIR.rglob("*.tif"))
    assert on_disk == sorted(SHIPPED.manifest)
    for name in SHIPPED.manifest:
        assert SHIPPED.path(name).is_file()
    assert sum((DATA_DIR / name).stat().st_size for name in on_disk) < 20e6


def test_every_shipped_folder_has_a_licence_and_a_readme():
    for folder in {name.split("/")[0] for name in SHIPPED.manifest}:
        assert list((DATA_DIR / folder).glob("LICENSE*")), folder
        assert (DATA_DIR / folder / "README.md").is_file(), folder


@pytest.fixture
def copied_data(tmp_path):
    shutil.copytree(DATA_DIR, tmp_path / "real", ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return ShippedData(tmp_path / "real")


def test_tampered_file_is_rejected_with_its_name_and_the_fix(copied_data):
    name = "widefield_dapi/dapi_001_z19.tif"
    path = copied_data.root / name
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ShippedDataError, match=r"dapi_001_z19\.tif does not match its sha256.*git checkout"):
        copied_data.read(name)


def test_missing_and_unlisted_files_are_rejected(copied_data):
    (copied_data.root / "widefield_dapi/dapi_001_z19.tif").unlink()
    with pytest.raises(ShippedDataError, match=r"dapi_001_z19\.tif is missing; reinstall"):
        copied_data.read("widefield_dapi/dapi_001_z19.tif")
    with pytest.raises(ShippedDataError, match="not listed"):
        copied_data.read("widefield_dapi/other.tif")


def test_dataset_refuses_a_tampered_file(copied_data, monkeypatch):
    path = copied_data.root / widefield_dapi.PLANE
    path.write_bytes(path.read_bytes()[:-1] + b"\0")
    monkeypatch.setattr(widefield_dapi, "SHIPPED", copied_data)
    with pytest.raises(ShippedDataError, match="dapi_001_z19"):
        widefield_dapi.Dataset().make_case("dapi-z19")


@pytest.mark.parametrize("name", sorted(DOCUMENTED))
def test_dataset_yields_cases_of_documented_shapes_and_pixel_sizes(name):
    count, shape, psf_shape, pixel, has_reference = DOCUMENTED[name]
    dataset, cases = build(name)
    assert len(cases) == count and dataset.image_shape() == shape
    for case in cases:
        assert case.y.shape == shape and case.y.dtype == np.float32
        assert case.psf.shape == psf_shape
        assert case.meta["pixel_size_um"] == [pixel, pixel]
        assert (case.x is not None) == has_reference
        assert 0 <= case.y.min() and case.y.max() <= 1


def test_shipped_tiffs_carry_the_pixel_sizes_the_datasets_state():
    stated = {"biosr_wf_sim": 0.0626, "widefield_dapi": 0.130, "airyscan_celegans": 0.0426, "lattice_lightsheet/im": 0.1015,
              "lattice_lightsheet/psf": 0.1011, "beads_grid_confocal/grid": 0.02196, "beads_grid_confocal/psf": 0.02249,
              "beads_grid_confocal/beads": 0.02249}  # fmt: skip
    for name in SHIPPED.manifest:
        with tifffile.TiffFile(DATA_DIR / name) as tif:
            numerator, denominator = tif.pages[0].tags["XResolution"].value
        pixel = next(v for k, v in stated.items() if name.startswith(k))
        assert denominator / numerator == pytest.approx(pixel, rel=2e-3), name


def test_biosr_is_scored_after_an_affine_fit_with_the_stated_optics():
    _, cases = build("biosr-wf-sim")
    case = cases[0]
    assert case.scoring.reference == "affine"
    assert case.meta["fc"] == pytest.approx(1.49 * 0.0626 / 0.52)
    assert np.percentile(case.x, 0.1) == pytest.approx(0, abs=1e-5)
    assert np.percentile(case.x, 99.9) == pytest.approx(1, abs=1e-5)


def test_grid_lines_are_found_and_deconvolution_scores_on_them():
    _, cases = build("beads-grid-confocal")
    positions = cases[0].scoring.line_positions
    assert len(positions) == 4 and list(positions) == sorted(positions)
    smoothed = scipy.ndimage.gaussian_filter(cases[1].y, 3)  # a blurrier image has wider, less separated lines
    raw = score(None, cases[1].y, cases[1].psf, None, y=cases[1].y, scoring=cases[1].scoring)
    blurred = score(None, smoothed, cases[1].psf, None, y=cases[1].y, scoring=cases[1].scoring)
    assert blurred["line_fwhm_um"] > raw["line_fwhm_um"] and blurred["line_contrast"] < raw["line_contrast"]
    assert 0.1 < raw["line_fwhm_um"] < 0.4  # lines near the confocal resolution, in micrometres


def test_celegans_demo_psf_does_not_score_psf_estimates():
    _, (case,) = build("airyscan-celegans")
    scores = score(None, case.y, case.psf, case.psf, y=case.y, scoring=case.scoring)
    assert math.isnan(scores["psf_snr"]) and not case.scoring.psf_reference
    assert scores["reblur_residual"] > 0 and scores["ringing"] == pytest.approx(1)


def test_affine_fit_scoring_on_a_known_case():
    rng = np.random.default_rng(0)
    reference = rng.random((48, 40))
    estimate = reference + 0.05 * rng.standard_normal(reference.shape)
    scoring = Scoring(reference="affine")
    slope, intercept = np.polyfit(estimate.ravel(), reference.ravel(), 1)
    fitted = slope * estimate + intercept
    scores = score(reference, 3.0 * estimate - 7.0, None, None, scoring=scoring)  # any gain and offset
    assert scores["psnr"] == pytest.approx(peak_signal_noise_ratio(reference, fitted, data_range=1.0), abs=1e-6)
    assert scores["ssim"] == pytest.approx(structural_similarity(reference, fitted, data_range=1.0), abs=1e-6)
    assert score(reference, 2 * reference + 1, None, None, scoring=scoring)["psnr"] > 200  # exact up to rounding
    assert score(reference, 2 * reference + 1, None, None)["psnr"] < 10  # exact scoring sees the scale
    assert np.allclose(affine_fit(reference, np.ones_like(reference)), reference.mean())


def test_line_profile_on_two_gaussian_lines():
    columns = np.arange(64)
    sigma = 3.0
    profile = np.exp(-((columns - 24) ** 2) / (2 * sigma**2)) + np.exp(-((columns - 40) ** 2) / (2 * sigma**2))
    contrast, width = line_profile(np.tile(profile, (10, 1)), axis=0, positions=[23, 41])
    valley = 2 * np.exp(-(8**2) / (2 * sigma**2))
    peak = profile[24]
    assert contrast == pytest.approx((peak - valley) / (peak + valley), rel=1e-6)
    assert width == pytest.approx(2 * math.sqrt(2 * math.log(2)) * sigma, rel=0.05)


def test_ringing_is_one_for_the_input_grows_with_ripples_and_ignores_sharpening():
    image = np.zeros((96, 96))
    image[40:56, 40:56] = 1.0
    y = scipy.ndimage.gaussian_filter(image, 2) + 0.01 * np.random.default_rng(1).standard_normal(image.shape)
    distance = scipy.ndimage.distance_transform_edt(image == 0)
    ripples = y + 0.2 * np.cos(2 * np.pi * distance / 4) * np.exp(-distance / 6) * (distance > 0)
    sharpened = image + 0.01 * np.random.default_rng(1).standard_normal(image.shape)  # a perfect deconvolution
    assert ringing(y, y, scale_px=4) == pytest.approx(1)
    assert ringing(y, ripples, scale_px=4) > 2
    assert ringing(y, sharpened, scale_px=4) < 1
    assert ringing(y, scipy.ndimage.gaussian_filter(y, 2), scale_px=4) < 1


def test_optics_psf_has_the_airy_width_and_handles_undersampling():
    psf, fc = optics_psf(1.0, 0.5, 0.0625, size=41)  # fc = 0.125: well sampled
    assert fc == pytest.approx(0.125)
    assert psf_fwhm(psf) == pytest.approx(0.514 / fc, rel=0.1)
    undersampled, fc = optics_psf(1.45, 0.461, 0.130, size=15)  # fc = 0.41 > 0.25
    assert fc > 0.25 and undersampled.sum() == pytest.approx(1) and undersampled.argmax() == 15 * 7 + 7


def test_resample_psf_keeps_physical_width_and_centres():
    grid = np.arange(61) - 30.4  # off-centre by 0.4 px
    psf = np.exp(-(grid[:, None] ** 2 + grid[None, :] ** 2) / (2 * 5.0**2))
    coarse = resample_psf(psf / psf.sum(), 0.02, 0.05)
    assert coarse.shape[0] % 2 == 1 and coarse.sum() == pytest.approx(1)
    centre = (coarse.shape[0] - 1) / 2
    assert np.allclose(scipy.ndimage.center_of_mass(coarse), centre, atol=0.05)
    expected_sigma_um = math.sqrt((5.0 * 0.02) ** 2 + (0.05**2 - 0.02**2) / 12)  # plus the larger pixel's box
    assert psf_fwhm(coarse) * 0.05 == pytest.approx(2.355 * expected_sigma_um, rel=0.15)


def test_run_on_a_real_dataset_writes_the_no_reference_columns(tmp_path):
    outcome = run_benchmark("identity,wiener", "widefield-dapi", [f"out={tmp_path}"], log=lambda line: None)
    rows = outcome.cases.set_index("method")
    assert (rows.status == "ok").all()
    assert rows.loc["identity", "ringing"] == pytest.approx(1) and rows.loc["identity", "peak_ratio"] == 1
    for column in ("reblur_residual", "negative_fraction", "peak_ratio", "ringing"):
        assert np.isfinite(rows.loc["wiener", column]), column
    assert np.isnan(rows.loc["wiener", "psnr"])


@pytest.mark.parametrize("name", ["beads-grid-confocal", "lattice-lightsheet"])
def test_plane_datasets_refuse_unshipped_planes_and_unknown_cases(name):
    dataset_cls = load_registry().dataset(name)
    first, *_ = dataset_cls.shipped_planes
    dataset = dataset_cls(planes=[first])
    assert dataset.case_ids() == [f"{dataset_cls.case_prefix}-z{first:02d}"]
    with pytest.raises(ValueError, match=r"plane\(s\) \[99\] are not shipped; available"):
        dataset_cls(planes=[99])
    with pytest.raises(ValueError, match=r"unknown case 'other'; cases are"):
        dataset.make_case("other")


def test_bead_fwhm_of_gaussian_beads_is_their_width_per_axis():
    z, y, x = np.meshgrid(np.arange(20), np.arange(40), np.arange(40), indexing="ij")
    sigmas, centres = (2.0, 1.5, 1.0), [(9, 10, 12), (10, 28, 27)]
    volume = sum(np.exp(-((z - c[0]) ** 2 / (2 * sigmas[0] ** 2) + (y - c[1]) ** 2 / (2 * sigmas[1] ** 2)
                          + (x - c[2]) ** 2 / (2 * sigmas[2] ** 2))) for c in centres)  # fmt: skip
    widths = bead_fwhm(volume + 0.1, [(c[0] + 1, c[1] - 1, c[2]) for c in centres])  # off by a voxel: found anyway
    np.testing.assert_allclose(widths, [2.3548 * s for s in sigmas], rtol=0.05)
    with pytest.raises(ValueError, match="3 indices each"):
        bead_fwhm(volume, [(1, 2)])


def test_real_confocal_stacks_are_3d_cases_and_restoration_narrows_the_beads():
    """The shipped stacks with the measured 3D PSF; RL narrows the beads along z, y and x (the resolution scores)."""
    _, cases = build("beads-grid-confocal-3d")
    grid, beads = cases
    assert grid.y.shape == (21, 150, 150) and beads.y.shape == (21, 116, 128) and grid.psf.shape == (17, 41, 41)
    assert grid.meta["pixel_size_um"] == [0.125, 0.02196, 0.02196] and beads.meta["pixel_size_um"] == [
        0.125,
        0.02249,
        0.02249,
    ]
    assert len(beads.meta["beads"]["positions"]) == 4 and grid.x is None
    scorer = CaseScorer.for_case(beads)
    raw = scorer(beads.y, None)
    restored = richardson_lucy(torch.from_numpy(beads.y)[None, None], torch.from_numpy(beads.psf)[None, None], num_iter=20,
                               boundary="valid")[0, 0].numpy()  # fmt: skip
    sharp = scorer(restored, None)
    assert (
        0.4 < raw["bead_fwhm_z_um"] < 0.8 and 0.1 < raw["bead_fwhm_x_um"] < 0.3
    )  # confocal: ~0.6 um axially, ~0.2 laterally
    for axis in "zyx":
        assert sharp[f"bead_fwhm_{axis}_um"] < 0.8 * raw[f"bead_fwhm_{axis}_um"], axis
    assert np.isfinite(CaseScorer.for_case(grid)(grid.y, None)["reblur_residual"])
