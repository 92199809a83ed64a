"""Tests for the offline ground-truth image pool (bench.scenes.images)."""

import numpy as np
import pytest

from bench.scenes import images

SIZE = 64
ALL_NAMES = tuple(dict.fromkeys(images.TEST_IMAGES + images.TRAIN_IMAGES))


def test_test_images_fixed_list():
    assert images.TEST_IMAGES == (
        "camera",
        "coins",
        "hubble_deep_field",
        "immunohistochemistry",
        "moon",
        "phantom-filaments",
        "phantom-beads",
        "phantom-cells",
    )


@pytest.mark.parametrize("name", ALL_NAMES)
def test_load_image_shape_dtype_range(name):
    image = images.load_image(name, SIZE)
    assert image.shape == (SIZE, SIZE)
    assert image.dtype == np.float64
    assert np.all(np.isfinite(image))
    assert image.min() >= 0.0
    assert image.max() == 1.0


@pytest.mark.parametrize("name", [n for n in ALL_NAMES if n not in images.PHANTOMS])
def test_load_image_skimage_full_range(name):
    assert images.load_image(name, SIZE).min() == 0.0


@pytest.mark.parametrize("name", images.PHANTOMS)
def test_load_image_phantom_dark_background(name):
    image = images.load_image(name, 128)
    assert 0.02 <= image.min() <= 0.05
    assert np.median(image) < 0.5


@pytest.mark.parametrize("name", ["camera", *images.PHANTOMS])
def test_load_image_deterministic(name):
    first = images.load_image(name, SIZE, seed=7)
    second = images.load_image(name, SIZE, seed=7)
    assert np.array_equal(first, second)


@pytest.mark.parametrize("name", images.PHANTOMS)
def test_load_image_phantom_seed_changes_image(name):
    test = images.load_image(name, SIZE, seed=0)
    train = images.load_image(name, SIZE, seed=images.TRAIN_PHANTOM_SEED_OFFSET)
    assert not np.array_equal(test, train)


def test_load_image_phantoms_differ_for_same_seed():
    filaments, beads, cells = (images.load_image(n, SIZE, seed=0) for n in images.PHANTOMS)
    assert not np.array_equal(filaments, beads)
    assert not np.array_equal(beads, cells)


def test_load_image_unknown_name_lists_available():
    with pytest.raises(ValueError, match="unknown image 'lena'") as info:
        images.load_image("lena", SIZE)
    for name in ALL_NAMES:
        assert name in str(info.value)


@pytest.mark.parametrize("size", [15, 0, -4])
def test_load_image_small_size_raises(size):
    with pytest.raises(ValueError, match=f"size must be >= 16, got {size}"):
        images.load_image("camera", size)


def test_load_image_negative_seed_raises():
    with pytest.raises(ValueError, match="seed must be >= 0, got -1"):
        images.load_image("phantom-beads", SIZE, seed=-1)


def test_image_names_returns_splits():
    assert images.image_names("test") == images.TEST_IMAGES
    assert images.image_names("train") == images.TRAIN_IMAGES


def test_image_names_splits_disjoint_except_phantoms():
    shared = set(images.TEST_IMAGES) & set(images.TRAIN_IMAGES)
    assert shared == set(images.PHANTOMS)
    assert images.TRAIN_PHANTOM_SEED_OFFSET > 0


def test_image_names_train_has_no_duplicate_content():
    # cat is a bit-identical copy of chelsea in scikit-image and is excluded.
    assert "cat" not in images.TRAIN_IMAGES
    assert len(set(images.TRAIN_IMAGES)) == len(images.TRAIN_IMAGES)


def test_image_names_bad_split_lists_valid():
    with pytest.raises(
        ValueError,
        match=r"images must be a split \(test or train\) or a list of image names like \[camera\], got 'val'",
    ):
        images.image_names("val")


@pytest.mark.parametrize(
    "render", [images.render_filaments, images.render_beads, images.render_cells, images.render_dead_leaves]
)
def test_render_phantom_uses_given_generator(render):
    first = render(SIZE, np.random.default_rng(5))
    second = render(SIZE, np.random.default_rng(5))
    assert first.shape == (SIZE, SIZE)
    assert np.array_equal(first, second)
    assert 0.0 <= first.min() and first.max() == 1.0


def test_dead_leaves_training_only_and_seeded():
    assert "dead-leaves" in images.TRAIN_IMAGES and "dead-leaves" not in images.TEST_IMAGES
    first = images.load_image("dead-leaves", SIZE, seed=images.TRAIN_PHANTOM_SEED_OFFSET)
    second = images.load_image("dead-leaves", SIZE, seed=images.TRAIN_PHANTOM_SEED_OFFSET + 1)
    assert not np.array_equal(first, second)
    # Occlusion gives piecewise-constant regions: most neighbours share their grey level exactly.
    assert np.mean(first[:, 1:] == first[:, :-1]) > 0.3
