"""Offline pool of ground-truth images for the synthetic datasets.

Every image is available without a download: the photographs and scans that
ship inside scikit-image, plus three procedurally rendered fluorescence-like
phantoms (filaments, beads, cells).

The pool is split once, here, so that no learned method can be tuned on the
images it is scored on:

* ``TEST_IMAGES`` are used by the benchmark only. They must never enter
  training, validation or hyper-parameter tuning of any method.
* ``TRAIN_IMAGES`` may be used freely by learned methods. They are the other
  bundled scikit-image images (``cat`` is left out because scikit-image ships
  it as a bit-identical copy of ``chelsea``) plus the three phantoms.

Training also has ``dead-leaves``: occluding discs with power-law radii, the
scale-invariant image model whose edge statistics are close to natural
images' (Achddou, Gousseau, Ladjal), rendered from a seed like the phantoms.

The phantoms appear in both splits because they are generators, not fixed
images. The split is by seed: test phantoms are rendered with ``seed=0``;
training phantoms must use seeds ``>= TRAIN_PHANTOM_SEED_OFFSET`` (1000), so
no training phantom is ever the same random draw as a test phantom.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import skimage.data
from scipy.ndimage import gaussian_filter
from scipy.special import erf
from skimage.color import rgb2gray
from skimage.transform import resize
from skimage.util import img_as_float64

PHANTOMS: tuple[str, ...] = ("phantom-filaments", "phantom-beads", "phantom-cells")

TEST_IMAGES: tuple[str, ...] = (
    "camera",
    "coins",
    "hubble_deep_field",
    "immunohistochemistry",
    "moon",
    *PHANTOMS,
)

TRAIN_IMAGES: tuple[str, ...] = (
    "astronaut",
    "brick",
    "cell",
    "chelsea",
    "clock",
    "coffee",
    "grass",
    "gravel",
    "horse",
    "microaneurysms",
    "page",
    "retina",
    "rocket",
    "shepp_logan_phantom",
    "text",
    *PHANTOMS,
    "dead-leaves",
)

TRAIN_PHANTOM_SEED_OFFSET: int = 1000
"""Smallest phantom seed allowed for training; test phantoms use seed 0."""

_SPLITS: dict[str, tuple[str, ...]] = {"test": TEST_IMAGES, "train": TRAIN_IMAGES}
_ALL_NAMES: tuple[str, ...] = tuple(dict.fromkeys(TEST_IMAGES + TRAIN_IMAGES))
_MIN_SIZE = 16

# Second entry of the seed sequence, so each phantom kind draws an independent
# random stream even for the same user seed.
_PHANTOM_STREAM: dict[str, int] = {
    "phantom-filaments": 0xF1,
    "phantom-beads": 0xBE,
    "phantom-cells": 0xCE,
    "dead-leaves": 0xDE,
}


def image_names(split: str) -> tuple[str, ...]:
    """Names of the images in one split.

    Parameters
    ----------
    split : {"test", "train"}
        ``"test"`` for benchmark-only images, ``"train"`` for images that
        learned methods may train on.

    Returns
    -------
    tuple of str
        Image names accepted by :func:`load_image`.
    """
    if split not in _SPLITS:
        raise ValueError(
            f"images must be a split ({' or '.join(sorted(_SPLITS))}) or a list of image names like [camera], "
            f"got {split!r}"
        )
    return _SPLITS[split]


def load_image(name: str, size: int, *, seed: int = 0) -> np.ndarray:
    """Load one ground-truth image as a square float64 array in ``[0, 1]``.

    scikit-image images are converted to grayscale, resized with
    anti-aliasing so that the shorter side equals ``size``, centre-cropped to
    ``size x size`` and min-max rescaled to the full ``[0, 1]`` range, so all
    images share a common intensity scale. Phantoms are rendered directly at
    ``size`` from ``seed`` (``seed`` is ignored for the other images). The
    output is deterministic: the same ``(name, size, seed)`` always gives a
    bit-identical array.

    Parameters
    ----------
    name : str
        One of ``TEST_IMAGES`` or ``TRAIN_IMAGES``.
    size : int
        Side length in pixels, at least 16.
    seed : int, optional
        Non-negative seed of the phantom; 0 for test phantoms,
        ``>= TRAIN_PHANTOM_SEED_OFFSET`` for training phantoms.

    Returns
    -------
    numpy.ndarray
        Array of shape ``(size, size)`` and dtype float64 with values in
        ``[0, 1]``.
    """
    if name not in _ALL_NAMES:
        raise ValueError(f"unknown image {name!r}; available: {', '.join(_ALL_NAMES)}")
    if size < _MIN_SIZE:
        raise ValueError(f"size must be >= {_MIN_SIZE}, got {size}")
    if name in _PHANTOM_STREAM:
        if seed < 0:
            raise ValueError(f"seed must be >= 0, got {seed}")
        rng = np.random.default_rng([seed, _PHANTOM_STREAM[name]])
        return _RENDERERS[name](size, rng)
    return _load_skimage(name, size)


def _load_skimage(name: str, size: int) -> np.ndarray:
    """Grayscale, resize (shorter side = size), centre-crop, min-max rescale."""
    image = img_as_float64(getattr(skimage.data, name)())
    if image.ndim == 3:
        image = rgb2gray(image)
    rows, cols = image.shape
    scale = size / min(rows, cols)
    shape = (max(size, round(rows * scale)), max(size, round(cols * scale)))
    image = resize(image, shape, order=1, anti_aliasing=True)
    top = (shape[0] - size) // 2
    left = (shape[1] - size) // 2
    image = image[top : top + size, left : left + size]
    low, high = image.min(), image.max()
    return (image - low) / (high - low)


def splat(
    shape: tuple[int, ...],
    centres: Sequence[np.ndarray],
    sigmas: Sequence[np.ndarray],
    flux: np.ndarray,
) -> np.ndarray:
    """Sum pixel-integrated Gaussians at sub-pixel positions, in 2D or 3D.

    Each Gaussian is integrated exactly over the pixel (or voxel) area
    (difference of error functions, separable per axis), so narrow spots keep
    their sub-pixel position and total flux. ``centres`` and ``sigmas`` hold
    one array per axis of ``shape`` (in the array's axis order, so (y, x) or
    (z, y, x)), ``flux`` the flux of each spot; pixel ``(r, c)`` covers
    ``[c - 0.5, c + 0.5] x [r - 0.5, r + 0.5]``. Spots are added in chunks
    of a few million weights, so long 3D filaments stay within memory.
    """
    size = int(np.prod(shape))
    if len(flux) == 0:
        return np.zeros(shape)
    radii = [int(np.ceil(4 * sigma.max())) for sigma in sigmas]
    per_spot = int(np.prod([2 * r + 1 for r in radii]))
    chunk = max(1, _SPLAT_CHUNK // per_spot)
    total: np.ndarray = np.zeros(size)
    for first in range(0, len(flux), chunk):
        spots = slice(first, first + chunk)
        weights = flux[spots].reshape(-1, *(1,) * len(shape))
        flat = np.zeros((1,) * (len(shape) + 1), dtype=np.int64)
        inside = np.ones((1,) * (len(shape) + 1), dtype=bool)
        for axis, (n, centre, sigma, radius) in enumerate(zip(shape, centres, sigmas, radii)):
            centre, scale = centre[spots, None], np.sqrt(2) * sigma[spots, None]
            index = np.rint(centre).astype(np.int64) + np.arange(-radius, radius + 1)
            weight = 0.5 * (erf((index + 0.5 - centre) / scale) - erf((index - 0.5 - centre) / scale))
            along = [2 * radius + 1 if a == axis else 1 for a in range(len(shape))]
            weights = weights * weight.reshape(len(index), *along)
            flat = flat * n + index.reshape(len(index), *along)
            inside = inside & ((index >= 0) & (index < n)).reshape(len(index), *along)
        inside = np.broadcast_to(inside, weights.shape)
        flat = np.broadcast_to(flat, weights.shape)
        part = np.bincount(flat[inside], weights=weights[inside], minlength=size)
        total = part if first == 0 else total + part
    return total.reshape(shape)


#: Largest number of spot weights :func:`splat` holds at once (8 M, 64 MB in float64).
_SPLAT_CHUNK = 2**23


def finish(signal: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Scale the signal to peak 1 on top of a small uniform background."""
    background = rng.uniform(0.02, 0.05)
    # Written as 1 - ... so the peak is exactly 1.0 and never rounds above it.
    return 1.0 - (1.0 - background) * (1.0 - signal / signal.max())


def render_filaments(size: int, rng: np.random.Generator) -> np.ndarray:
    """Render a microtubule-like phantom of long, smoothly curved filaments.

    Filaments are curves of continuously varying curvature (so they bend
    gently, like microtubules), sampled every 0.5 px and drawn as Gaussian
    lines of width sigma 0.7-1 px (pixel-integrated, so sub-pixel accurate),
    each with its own brightness. Crossings add up; the result is scaled to
    peak 1 above a background of 0.02-0.05.

    Parameters
    ----------
    size : int
        Side length in pixels.
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    numpy.ndarray
        ``(size, size)`` float64 image in ``[0, 1]``.
    """
    n_filaments = int(np.clip(round(size / 12.8), 20, 40))
    step = 0.5
    xs, ys, sigmas, fluxes = [], [], [], []
    for _ in range(n_filaments):
        length = rng.uniform(0.4, 1.2) * size
        s = np.arange(0.0, length, step)
        # Curvature interpolated between random knots: continuous, so the
        # curve is smooth; radius of curvature is typically ~size / 3.
        knots = np.linspace(0.0, length, max(2, round(8 * length / size)))
        curvature = np.interp(s, knots, rng.normal(0.0, 3.0 / size, knots.size))
        theta = rng.uniform(0.0, 2 * np.pi) + np.cumsum(curvature) * step
        # Start point chosen so the filament's midpoint lies in the image.
        x = np.cumsum(np.cos(theta)) * step
        y = np.cumsum(np.sin(theta)) * step
        middle = s.size // 2
        x += rng.uniform(0, size) - x[middle]
        y += rng.uniform(0, size) - y[middle]
        keep = (x > -4) & (x < size + 3) & (y > -4) & (y < size + 3)
        xs.append(x[keep])
        ys.append(y[keep])
        sigmas.append(np.full(keep.sum(), rng.uniform(0.7, 1.0)))
        fluxes.append(np.full(keep.sum(), rng.uniform(0.3, 1.0) * step))
    sigma = np.concatenate(sigmas)
    signal = splat((size, size), (np.concatenate(ys), np.concatenate(xs)), (sigma, sigma), np.concatenate(fluxes))
    return finish(signal, rng)


def render_beads(size: int, rng: np.random.Generator) -> np.ndarray:
    """Render sub-resolution beads / puncta, some of them clustered.

    About ``size**2 / 400`` point-like spots (Gaussian sigma 0.6-1.2 px,
    integrated over each pixel) with log-normally varying brightness; about
    a third of them sit in small clusters, the rest are spread uniformly.

    Parameters
    ----------
    size : int
        Side length in pixels.
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    numpy.ndarray
        ``(size, size)`` float64 image in ``[0, 1]``.
    """
    n_beads = max(1, round(size * size / 400))
    n_clustered = n_beads // 3
    n_clusters = max(1, n_clustered // 8)
    centres = rng.uniform(0.1 * size, 0.9 * size, (n_clusters, 2))
    spread = rng.uniform(3.0, 8.0, n_clusters)
    member = rng.integers(0, n_clusters, n_clustered)
    clustered = centres[member] + rng.normal(0.0, 1.0, (n_clustered, 2)) * spread[member, None]
    scattered = rng.uniform(-0.5, size - 0.5, (n_beads - n_clustered, 2))
    xy = np.concatenate([clustered, scattered])
    sigma = rng.uniform(0.6, 1.2, n_beads)
    # Flux scaled by 2*pi*sigma^2 so `brightness` is roughly the peak value.
    brightness = rng.lognormal(0.0, 0.3, n_beads)
    signal = splat((size, size), (xy[:, 1], xy[:, 0]), (sigma, sigma), brightness * 2 * np.pi * sigma**2)
    return finish(signal, rng)


def _blob(
    u: np.ndarray,
    v: np.ndarray,
    semi_axes: tuple[float, float],
    harmonics: np.ndarray,
    phases: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Soft mask (1 px edge) and normalised radius of a wobbly ellipse.

    ``u, v`` are pixel offsets in the ellipse's own frame; the boundary radius
    is modulated by ``harmonics[k] * cos((k + 2) * angle + phases[k])``.
    """
    a, b = semi_axes
    rho = np.hypot(u / a, v / b)
    angle = np.arctan2(v / b, u / a)
    orders = np.arange(2, 2 + harmonics.size)[:, None, None]
    wobble = harmonics[:, None, None] * np.cos(orders * angle + phases[:, None, None])
    boundary = 1.0 + wobble.sum(axis=0)
    # (boundary - rho) * a is roughly the signed distance to the edge in px.
    mask = 0.5 * (1.0 + np.tanh((boundary - rho) * 0.5 * (a + b)))
    return mask, rho / boundary


def render_cells(size: int, rng: np.random.Generator) -> np.ndarray:
    """Render a field of fluorescently stained cells.

    A few elliptical cells (5-12, more for larger images, together covering
    about 40 % of the field) with smooth, slightly irregular boundaries. The
    cytoplasm carries low-frequency texture and fades towards the thin cell
    edge; the nucleus is brighter with finer texture; bright puncta (vesicles)
    are scattered in the cytoplasm. Cells do not overlap much; where they do,
    the brighter one wins. Dark background of 0.02-0.05 in between.

    Parameters
    ----------
    size : int
        Side length in pixels.
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    numpy.ndarray
        ``(size, size)`` float64 image in ``[0, 1]``.
    """
    n_cells = int(np.clip(round(size * size / 20000), 5, 12))
    mean_a = np.sqrt(0.4 * size * size / n_cells / (np.pi * 0.75))
    coarse = gaussian_filter(rng.standard_normal((size, size)), size / 40, mode="wrap")
    coarse /= coarse.std()
    fine = gaussian_filter(rng.standard_normal((size, size)), max(1.0, size / 150), mode="wrap")
    fine /= fine.std()
    signal = np.zeros((size, size))
    placed: list[tuple[float, float, float]] = []
    puncta: list[np.ndarray] = []
    for _ in range(n_cells):
        a = mean_a * rng.uniform(0.8, 1.2)
        b = a * rng.uniform(0.6, 0.9)
        for _ in range(100):
            cx, cy = rng.uniform(0.1 * size, 0.9 * size, 2)
            if all(np.hypot(cx - px, cy - py) > 0.8 * (a + pa) for px, py, pa in placed):
                break
        else:
            continue
        placed.append((cx, cy, a))
        phi = rng.uniform(0.0, np.pi)
        cos, sin = np.cos(phi), np.sin(phi)
        half = int(np.ceil(1.4 * a)) + 2
        r0, r1 = max(0, int(cy) - half), min(size, int(cy) + half + 1)
        c0, c1 = max(0, int(cx) - half), min(size, int(cx) + half + 1)
        yy, xx = np.mgrid[r0:r1, c0:c1].astype(np.float64)
        u = (xx - cx) * cos + (yy - cy) * sin
        v = -(xx - cx) * sin + (yy - cy) * cos
        cell, rho = _blob(u, v, (a, b), rng.uniform(0.0, 0.05, 3), rng.uniform(0, 2 * np.pi, 3))
        # Nucleus: smaller, off-centre ellipse with its own orientation.
        nu = u - rng.uniform(-0.2, 0.2) * a
        nv = v - rng.uniform(-0.2, 0.2) * b
        psi = rng.uniform(0.0, np.pi)
        nucleus_axes = (0.55 * b * rng.uniform(0.9, 1.1), 0.45 * b * rng.uniform(0.9, 1.1))
        nucleus, _ = _blob(
            nu * np.cos(psi) + nv * np.sin(psi),
            -nu * np.sin(psi) + nv * np.cos(psi),
            nucleus_axes,
            rng.uniform(0.0, 0.05, 2),
            rng.uniform(0, 2 * np.pi, 2),
        )
        level = rng.uniform(0.25, 0.45)
        # Cytoplasm fades towards the thin cell edge.
        edge_fade = 1.0 - 0.6 * np.clip(rho, 0.0, 1.0) ** 2
        cytoplasm = level * np.clip(1.0 + 0.3 * coarse[r0:r1, c0:c1], 0.2, None) * edge_fade
        nuclear_level = level * rng.uniform(1.6, 2.2)
        nuclear = nuclear_level * np.clip(1.0 + 0.15 * fine[r0:r1, c0:c1], 0.2, None)
        value = cell * ((1.0 - nucleus) * cytoplasm + nucleus * nuclear)
        signal[r0:r1, c0:c1] = np.maximum(signal[r0:r1, c0:c1], value)
        # Vesicles: uniform inside the cell (normalised radius <= 0.8).
        n_puncta = rng.poisson(a * b / 80)
        radius = 0.8 * np.sqrt(rng.uniform(0.0, 1.0, n_puncta))
        angle = rng.uniform(0.0, 2 * np.pi, n_puncta)
        pu, pv = radius * a * np.cos(angle), radius * b * np.sin(angle)
        sigma = rng.uniform(0.8, 1.3, n_puncta)
        peak = level * rng.uniform(0.8, 2.0, n_puncta)
        puncta.append(np.stack([cx + pu * cos - pv * sin, cy + pu * sin + pv * cos, sigma, peak]))
    spots = np.concatenate(puncta, axis=1)
    signal += splat((size, size), (spots[1], spots[0]), (spots[2], spots[2]), spots[3] * 2 * np.pi * spots[2] ** 2)
    return finish(signal, rng)


def render_dead_leaves(size: int, rng: np.random.Generator) -> np.ndarray:
    """Render a dead-leaves image: opaque discs stacked front to back until the field is covered.

    Radii follow the scale-invariant density :math:`r^{-3}` between 1 px and
    ``size / 3``; each disc has a uniform grey level and one in three carries a
    sinusoidal texture, so training sees flat regions, sharp occlusion edges
    and fine periodic detail at every scale. Min-max rescaled to [0, 1].
    """
    r_min, r_max = 1.0, size / 3
    image = np.zeros((size, size))
    uncovered = np.ones((size, size), dtype=bool)
    rows, cols = np.mgrid[0:size, 0:size]
    while uncovered.any():
        # Inverse CDF of the density r^-3 truncated to [r_min, r_max].
        u = rng.uniform()
        radius = 1 / np.sqrt(1 / r_min**2 - u * (1 / r_min**2 - 1 / r_max**2))
        cy, cx = rng.uniform(-radius, size + radius, 2)
        top, bottom = max(int(cy - radius), 0), min(int(cy + radius) + 2, size)
        left, right = max(int(cx - radius), 0), min(int(cx + radius) + 2, size)
        if top >= bottom or left >= right:
            continue
        window = (slice(top, bottom), slice(left, right))
        inside = ((rows[window] - cy) ** 2 + (cols[window] - cx) ** 2 <= radius**2) & uncovered[window]
        if not inside.any():
            continue
        level = np.full(inside.shape, rng.uniform())
        if rng.uniform() < 1 / 3:
            period, angle, contrast = rng.uniform(3, 20), rng.uniform(0, np.pi), rng.uniform(0.1, 0.5)
            phase = (np.cos(angle) * cols[window] + np.sin(angle) * rows[window]) * 2 * np.pi / period
            level = level + contrast * np.sin(phase)
        image[window][inside] = level[inside]
        uncovered[window][inside] = False
    low, high = image.min(), image.max()
    return (image - low) / (high - low)


_RENDERERS = {
    "phantom-filaments": render_filaments,
    "phantom-beads": render_beads,
    "phantom-cells": render_cells,
    "dead-leaves": render_dead_leaves,
}
