"""PSFs from the optics: Born & Wolf and Gibson-Lanni against closed forms, and a folder run with psf=model."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage
import tifffile
from scipy.special import j1

from bench.api import Optics
from bench.physics.optics import default_psf_size, microscope_optics, model_psf, optics_meta

OIL = microscope_optics(na=1.4, wavelength_um=0.52, refractive_index=1.515, pixel_size_um=0.02)


def _pixel_integrated_airy(optics: Optics, size: int, factor: int = 9) -> np.ndarray:
    """[2 J1(v) / v]^2, v = 2 pi NA r / lambda (Born & Wolf 8.5), averaged over each pixel on a finer grid."""
    fine = (np.arange(size * factor) - (size * factor - 1) / 2) * optics.pixel_size_um / factor
    v = 2 * np.pi * optics.na * np.hypot(fine[:, None], fine[None, :]) / optics.wavelength_um
    v = np.where(v == 0, 1e-12, v)
    airy = (2 * j1(v) / v) ** 2
    psf = airy.reshape(size, factor, size, factor).sum(axis=(1, 3))
    return psf / psf.sum()


def test_born_wolf_is_the_pixel_integrated_airy_pattern():
    psf = model_psf(OIL, size=41)
    reference = _pixel_integrated_airy(OIL, 41)
    assert psf.shape == (41, 41) and psf.sum() == pytest.approx(1)
    assert np.abs(psf - reference).max() < 1e-3 * reference.max()


def test_born_wolf_width_and_first_zero_follow_the_published_values():
    psf = model_psf(OIL, size=61)
    profile = psf[30] / psf[30, 30]
    radius_um = (np.arange(61) - 30) * OIL.pixel_size_um
    half = radius_um[30:][np.argmax(profile[30:] < 0.5)]  # first pixel below half maximum
    assert 2 * half == pytest.approx(0.514 * OIL.wavelength_um / OIL.na, abs=2 * OIL.pixel_size_um)
    first_zero = radius_um[30:][np.argmin(profile[30:45])]
    assert first_zero == pytest.approx(0.61 * OIL.wavelength_um / OIL.na, abs=OIL.pixel_size_um)


def test_gibson_lanni_on_the_axis_follows_the_closed_form_defocus():
    """With matched indices the on-axis intensity is |int_a^n exp(i k z s) s ds|^2, a = sqrt(n^2 - NA^2)."""
    optics = microscope_optics(na=1.2, wavelength_um=0.6, refractive_index=1.33, pixel_size_um=0.05)
    stack = model_psf(optics, size=3, model="gibson-lanni", planes=21, z_step_um=0.1)
    k, n, a = 2 * np.pi / optics.wavelength_um, optics.refractive_index, np.sqrt(1.33**2 - 1.2**2)
    z = (np.arange(21) - 10) * 0.1
    antiderivative = lambda s, kz: np.exp(1j * kz * s) * (s / (1j * kz) + 1 / kz**2)  # noqa: E731
    expected = np.array([abs(antiderivative(n, k * zi) - antiderivative(a, k * zi)) ** 2 if zi else 0 for zi in z])
    expected[10] = ((n**2 - a**2) / 2) ** 2
    on_axis = stack[:, 1, 1] / stack[10, 1, 1]
    np.testing.assert_allclose(on_axis, expected / expected[10], atol=0.02)  # pixel integration blurs a little


def test_gibson_lanni_index_mismatch_loses_peak_and_matched_indices_equal_born_wolf():
    optics = microscope_optics(na=1.4, wavelength_um=0.52, refractive_index=1.515, pixel_size_um=0.065)
    born_wolf = model_psf(optics, size=31)
    matched = model_psf(optics, size=31, model="gibson-lanni", sample_index=1.515, depth_um=5)
    np.testing.assert_allclose(matched, born_wolf, atol=1e-6)
    in_water = model_psf(optics, size=31, model="gibson-lanni", sample_index=1.33, depth_um=5)
    assert in_water.max() < 0.8 * born_wolf.max()  # spherical aberration spreads the light
    centre = np.array(scipy.ndimage.center_of_mass(in_water))
    np.testing.assert_allclose(centre, [15, 15], atol=0.01)


def test_optics_checks_and_cut_off():
    assert OIL.fc == pytest.approx(1.4 * 0.02 / 0.52)
    assert Optics.from_meta({"optics": optics_meta(OIL)}) == OIL
    with pytest.raises(ValueError, match="below the immersion index"):
        microscope_optics(na=1.4, wavelength_um=0.52, refractive_index=1.33, pixel_size_um=0.1)
    with pytest.raises(ValueError, match="micrometres"):
        microscope_optics(na=1.4, wavelength_um=520, refractive_index=1.515, pixel_size_um=0.1)
    with pytest.raises(ValueError, match="z_step_um"):
        model_psf(OIL, planes=3)


def test_default_psf_size_needs_only_the_cut_off():
    # 1.4 NA oil at 520 nm on 65 nm pixels: f_c 0.175, Airy first zero 3.49 px, five of them 17.4 px
    optics = microscope_optics(1.4, 0.52, 1.515, 0.065)
    assert default_psf_size(optics) == default_psf_size(Optics(fc=optics.fc)) == 37
    assert default_psf_size(Optics(fc=0.5)) == 15  # a fine cut-off keeps the 15 px floor


def test_folder_run_with_a_model_psf_end_to_end(tmp_path):
    from bench.run.runner import run_benchmark

    rng = np.random.default_rng(0)
    (tmp_path / "images").mkdir()
    image = scipy.ndimage.gaussian_filter(rng.random((64, 64)), 2) * 1000
    tifffile.imwrite(tmp_path / "images" / "cell.tif", image.astype(np.float32))
    overrides = [
        f"out={tmp_path / 'run'}", f"dataset.path={tmp_path / 'images'}", "dataset.psf=model", "dataset.offset=0",
        "dataset.pixel_size_um=0.065", "dataset.na=1.4", "dataset.wavelength_um=0.52", "dataset.refractive_index=1.515",
    ]  # fmt: skip
    outcome = run_benchmark("identity,wiener", "folder", overrides, log=lambda line: None)
    assert (outcome.cases.status == "ok").all() and len(outcome.cases) == 2
    assert outcome.cases.reblur_residual.notna().all()
    from bench.config import compose, make_dataset
    from bench.registry import load_registry

    dataset, _ = make_dataset(compose(overrides[1:], dataset="folder"), load_registry())
    case = dataset.make_case(dataset.case_ids()[0])
    assert case.meta["optics"]["fc"] == pytest.approx(1.4 * 0.065 / 0.52)
    assert case.psf.shape[0] % 2 == 1 and case.meta["psf_source"].startswith("model: born-wolf")


@pytest.mark.parametrize(
    ("name", "fc"), [("widefield-dapi", 1.45 * 0.130 / 0.461), ("biosr-wf-sim", 1.49 * 0.0626 / 0.52)]
)
def test_real_datasets_with_known_optics_record_them(name, fc):
    from bench.config import compose, make_dataset
    from bench.registry import load_registry

    dataset, _ = make_dataset(compose(dataset=name), load_registry())
    optics = dataset.make_case(dataset.case_ids()[0]).meta["optics"]
    assert optics["fc"] == pytest.approx(fc) and optics["fc"] == pytest.approx(
        optics["na"] * optics["pixel_size_um"] / optics["wavelength_um"]
    )
