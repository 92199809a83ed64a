"""The bring-your-own `folder` dataset: cases from a temporary folder, and its errors."""

from __future__ import annotations

import imageio.v3 as iio
import numpy as np
import pytest
import scipy.ndimage
import scipy.signal
import tifffile

from bench.run.cases import validate_case
from bench.datasets.folder import Dataset


def gaussian_psf(size: int, sigma: float, shift: float = 0.0) -> np.ndarray:
    grid = np.arange(size) - size // 2 - shift
    psf = np.exp(-(grid[:, None] ** 2 + grid[None, :] ** 2) / (2 * sigma**2))
    return (psf / psf.sum()).astype(np.float32)


@pytest.fixture
def folder(tmp_path):
    """Two images (a 16-bit TIFF with a camera offset and an 8-bit PNG), their references and a PSF."""
    rng = np.random.default_rng(0)
    images, references = tmp_path / "images", tmp_path / "references"
    images.mkdir()
    references.mkdir()
    truth = scipy.ndimage.gaussian_filter(rng.random((40, 48)), 1) * 1000
    tifffile.imwrite(images / "cell.tif", (truth + 100).astype(np.uint16))
    tifffile.imwrite(references / "cell.tif", (2 * truth + 100).astype(np.float32))
    iio.imwrite(images / "beads.png", (rng.random((32, 32)) * 255).astype(np.uint8))
    iio.imwrite(references / "beads.png", (rng.random((32, 32)) * 255).astype(np.uint8))
    tifffile.imwrite(tmp_path / "psf.tif", gaussian_psf(9, 1.5))
    return tmp_path


def test_folder_yields_one_checked_case_per_image(folder):
    dataset = Dataset(path=str(folder / "images"), psf=str(folder / "psf.tif"), pixel_size_um=0.1,
                      references=str(folder / "references"), offset=100)  # fmt: skip
    cases = {dataset.make_case(i).meta["image"]: validate_case(dataset.make_case(i)) for i in dataset.case_ids()}
    assert sorted(cases) == ["beads", "cell"]
    cell = cases["cell"]
    assert cell.y.shape == cell.x.shape == (40, 48) and cell.psf.shape == (9, 9)
    assert cell.y.min() >= 0 and cell.y.max() == pytest.approx(1)
    assert cell.meta["pixel_size_um"] == [0.1, 0.1] and cell.scoring.reference == "affine"
    assert np.percentile(cell.x, 99.9) == pytest.approx(1, abs=1e-5)


def test_exact_references_share_the_images_intensity_scale(folder):
    dataset = Dataset(path=str(folder / "images"), references=str(folder / "references"), reference="exact", offset=100)
    cell = dataset.make_case(next(i for i in dataset.case_ids() if i.startswith("cell")))
    assert cell.x.max() == pytest.approx(2 * cell.y.max(), rel=0.01)  # the reference was twice the signal
    assert cell.psf is None and cell.scoring.reference == "exact"


def test_case_ids_change_when_a_file_changes(folder):
    before = Dataset(path=str(folder / "images")).case_ids()
    image = tifffile.imread(folder / "images" / "cell.tif")
    tifffile.imwrite(folder / "images" / "cell.tif", image + 1)
    after = Dataset(path=str(folder / "images")).case_ids()
    assert [i for i in before if i.startswith("beads")] == [i for i in after if i.startswith("beads")]
    assert set(before) != set(after)


def test_psf_of_another_pixel_size_is_resampled_or_refused(folder):
    tifffile.imwrite(folder / "fine_psf.tif", gaussian_psf(19, 3.0))  # 0.05 um pixels: twice as fine
    kwargs = dict(
        path=str(folder / "images"), psf=str(folder / "fine_psf.tif"), pixel_size_um=0.1, psf_pixel_size_um=0.05
    )
    dataset = Dataset(**kwargs)
    psf = dataset.make_case(dataset.case_ids()[0]).psf
    assert psf.shape == (9, 9) and psf.sum() == pytest.approx(1, abs=1e-6)
    assert np.unravel_index(psf.argmax(), psf.shape) == (4, 4)
    with pytest.raises(
        ValueError, match=r"pixel size \(0.05, 0.05\) um but the images have \(0.1, 0.1\).*resample_psf"
    ):
        Dataset(**kwargs, resample_psf=False)


@pytest.mark.parametrize(
    ("psf", "message"),
    [
        (np.ones((3, 9, 9), np.float32), r"shape \(3, 9, 9\).*save a single 2D image: one 2D plane"),
        (gaussian_psf(8, 1.5), "odd height and width"),
        (gaussian_psf(9, 1.0) - 0.01, "negative values"),
        (gaussian_psf(9, 1.0, shift=2.5), "must be centred"),
        (gaussian_psf(41, 3.0), "larger than the smallest image"),
        (np.zeros((9, 9), np.float32), "holds no energy"),
    ],
)
def test_wrong_psf_is_refused_with_a_reason(folder, psf, message):
    tifffile.imwrite(folder / "bad_psf.tif", psf, photometric="minisblack")
    with pytest.raises(ValueError, match=message):
        Dataset(path=str(folder / "images"), psf=str(folder / "bad_psf.tif"))


def test_nan_image_is_refused_naming_the_file(folder):
    image = np.ones((16, 16), np.float32)
    image[3, 4] = np.nan
    tifffile.imwrite(folder / "images" / "broken.tif", image)
    with pytest.raises(ValueError, match=r"broken\.tif holds 1 NaN"):
        Dataset(path=str(folder / "images"))


def test_empty_or_missing_folder_is_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("not an image")
    with pytest.raises(ValueError, match="holds no TIFF or PNG image"):
        Dataset(path=str(tmp_path / "empty"))
    with pytest.raises(ValueError, match="does not exist"):
        Dataset(path=str(tmp_path / "nowhere"))
    with pytest.raises(ValueError, match="dataset.path is not set"):
        Dataset()


def test_colour_stack_and_unmatched_reference_are_refused(folder, tmp_path):
    iio.imwrite(folder / "images" / "rgb.png", np.zeros((16, 16, 3), np.uint8))
    with pytest.raises(ValueError, match="colour image"):
        Dataset(path=str(folder / "images"))
    (folder / "images" / "rgb.png").unlink()
    (folder / "references" / "beads.png").unlink()
    with pytest.raises(ValueError, match=r"no reference .* for image\(s\) \['beads'\]"):
        Dataset(path=str(folder / "images"), references=str(folder / "references"))


def _camera_folder(root, *, offset: float, psf_background: float):
    """Sparse beads blurred and counted like a camera, plus ``offset``; a bead PSF on a flat ``psf_background``."""
    rng = np.random.default_rng(7)
    truth = np.zeros((72, 72))
    truth[rng.integers(8, 64, 25), rng.integers(8, 64, 25)] = 1.0
    truth = scipy.ndimage.gaussian_filter(truth, 1.0) * 4000
    psf = gaussian_psf(15, 1.6).astype(np.float64)
    counts = rng.poisson(scipy.signal.fftconvolve(truth, psf, mode="same").clip(0) + 5) + rng.normal(
        0, 1.5, truth.shape
    )
    (root / "images").mkdir(parents=True)
    (root / "references").mkdir()
    tifffile.imwrite(root / "images" / "beads.tif", np.round(counts.clip(0) + offset).astype(np.uint16))
    tifffile.imwrite(root / "references" / "beads.tif", (truth + 5 + offset).astype(np.float32))
    measured = rng.poisson(psf / psf.max() * 2000 + psf_background).astype(np.float32)
    tifffile.imwrite(root / "psf.tif", measured)
    return root


def _camera_dataset(root, **camera):
    return Dataset(path=str(root / "images"), psf=str(root / "psf.tif"), references=str(root / "references"),
                   reference="exact", **camera)  # fmt: skip


def test_raw_camera_data_warns_and_auto_estimates_offset_and_psf_background(tmp_path):
    import torch

    from bench.config import make_method
    from bench.score.case import score
    from bench.registry import load_registry
    from bench.run.runner import call_method

    raw_root = _camera_folder(tmp_path / "raw", offset=100, psf_background=50)
    with pytest.warns(UserWarning) as caught:
        _camera_dataset(raw_root)
    messages = " ".join(str(w.message) for w in caught)
    assert "dataset.offset=auto" in messages and "dataset.psf_background=auto" in messages

    raw = _camera_dataset(raw_root, offset="auto", psf_background="auto")
    raw_case = raw.make_case(raw.case_ids()[0])
    assert raw_case.meta["offset_source"] == raw_case.meta["psf_background_source"] == "auto"
    assert raw_case.meta["offset"] == pytest.approx(100 + 5, rel=0.05)  # offset + the uniform background
    assert raw_case.meta["psf_background"] == pytest.approx(50, rel=0.05)

    clean = _camera_dataset(_camera_folder(tmp_path / "clean", offset=0, psf_background=0), offset=5, psf_background=0)
    clean_case = clean.make_case(clean.case_ids()[0])
    for name in ("identity", "wiener", "richardson_lucy"):
        method, _ = make_method(load_registry().method(name))
        scores = []
        for case in (raw_case, clean_case):
            x_hat = call_method(method, case, torch.device("cpu")).x_hat[0, 0].numpy()
            scores.append(score(case.x, x_hat, case.psf, None, y=case.y, scoring=case.scoring))
        assert scores[0]["psnr"] == pytest.approx(scores[1]["psnr"], abs=0.1), name
        assert scores[0]["ssim"] == pytest.approx(scores[1]["ssim"], abs=0.05), name


def test_restorations_are_written_as_tiffs_in_the_input_scale_with_the_pixel_size(folder, tmp_path):
    from bench.run.images_out import restoration_path, safe_name
    from bench.run.runner import run_benchmark

    overrides = [f"out={tmp_path / 'run'}", f"dataset.path={folder / 'images'}", f"dataset.psf={folder / 'psf.tif'}",
                 "dataset.pixel_size_um=[0.1,0.12]", "dataset.offset=100"]  # fmt: skip
    outcome = run_benchmark("identity", "folder", overrides, log=lambda line: None)
    row = outcome.cases[outcome.cases.image == "cell"].iloc[0]
    path = restoration_path(tmp_path / "run", row.label, row.case_id)
    assert safe_name("nafnet[preset=cpu]") == "nafnet_preset_cpu" and path.exists()
    with tifffile.TiffFile(path) as tif:
        image = tif.asarray()
        page = tif.pages[0]
        x_res, y_res = (page.tags[name].value for name in ("XResolution", "YResolution"))
        assert tif.imagej_metadata["unit"] == "um"
    raw = tifffile.imread(folder / "images" / "cell.tif").astype(np.float64)
    assert image.dtype == np.float32
    np.testing.assert_allclose(image, np.clip(raw - 100, 0, None), rtol=1e-6)  # identity: the input, in counts
    assert x_res[1] / x_res[0] == pytest.approx(0.12) and y_res[1] / y_res[0] == pytest.approx(0.1)


@pytest.mark.parametrize(("axes", "advice"), [("CYX", "one channel"), ("ZYX", "its in-focus plane")])
def test_a_multi_plane_tiff_is_told_what_its_axes_are(tmp_path, axes, advice):
    """A 2-channel TIFF gets advice about channels, not about z-stacks (the TIFF's own axes say which)."""
    import tifffile

    from bench.datasets.folder import _read_2d

    path = tmp_path / "two.tif"
    tifffile.imwrite(path, np.ones((2, 32, 32), np.float32), imagej=True, metadata={"axes": axes})
    with pytest.raises(ValueError, match=f"axes {axes}.*{advice}$"):
        _read_2d(path)


def test_a_sparse_bead_reference_is_scored_and_a_constant_one_is_refused_by_name():
    """Beads on a dark field are flat between the 0.1 and 99.9 percentiles: min..max serve instead."""
    from bench.datasets._real import normalize_reference

    beads = np.zeros((64, 64))
    beads[10, 10] = beads[40, 30] = 1000.0
    normalised = normalize_reference(beads)
    assert normalised.max() == 1.0 and normalised.min() == 0.0
    with pytest.raises(ValueError, match="constant"):
        normalize_reference(np.full((8, 8), 3.0))
