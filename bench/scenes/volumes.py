"""Offline 3D fluorescence phantoms: filaments, beads and cells as (D, H, W) volumes.

The volume counterparts of the phantoms of :mod:`bench.scenes.images`, rendered from
a seed on voxels that are ``z_ratio`` times deeper than wide (a z step of
200 nm over 65 nm pixels is ``z_ratio`` ≈ 3): every length below is in
lateral pixels and converted to planes by that ratio, so a bead is round in
micrometres, not in voxels. Each kind draws from its own random stream, also
distinct from the 2D phantoms'.

The split is the one of :mod:`bench.scenes.images`: test volumes use ``seed=0``,
training volumes seeds ``>= TRAIN_PHANTOM_SEED_OFFSET``.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter

from bench.scenes.images import TRAIN_PHANTOM_SEED_OFFSET, finish, splat

__all__ = ["TRAIN_PHANTOM_SEED_OFFSET", "VOLUME_PHANTOMS", "load_volume"]

VOLUME_PHANTOMS: tuple[str, ...] = ("phantom-filaments", "phantom-beads", "phantom-cells")

# Second entry of the seed sequence: one stream per kind, none shared with bench.scenes.images.
_STREAM = {"phantom-filaments": 0x3F1, "phantom-beads": 0x3BE, "phantom-cells": 0x3CE}
_MIN_SIDE = 8


def load_volume(name: str, shape: tuple[int, int, int], *, seed: int = 0, z_ratio: float = 1.0) -> np.ndarray:
    """Render one 3D phantom as a float64 (D, H, W) volume in [0, 1] (peak exactly 1, background 0.02-0.05).

    Parameters
    ----------
    name : {"phantom-filaments", "phantom-beads", "phantom-cells"}
        Microtubule-like curves, sub-resolution beads, or flat cells with a
        nucleus and vesicles.
    shape : (int, int, int)
        (D, H, W) in voxels, each at least 8.
    seed : int
        0 for test volumes, ``>= TRAIN_PHANTOM_SEED_OFFSET`` for training.
    z_ratio : float
        Voxel depth over voxel width (> 0).

    The same ``(name, shape, seed, z_ratio)`` gives a bit-identical volume.
    """
    if name not in _STREAM:
        raise ValueError(f"unknown volume phantom {name!r}; available: {', '.join(VOLUME_PHANTOMS)}")
    if len(shape) != 3 or min(shape) < _MIN_SIDE:
        raise ValueError(f"shape must be (D, H, W) with every side >= {_MIN_SIDE}, got {tuple(shape)}")
    if seed < 0 or not z_ratio > 0:
        raise ValueError(f"seed must be >= 0 and z_ratio > 0, got seed={seed}, z_ratio={z_ratio}")
    rng = np.random.default_rng([seed, _STREAM[name]])
    renderer = {"phantom-filaments": _filaments, "phantom-beads": _beads, "phantom-cells": _cells}[name]
    return finish(renderer(tuple(int(n) for n in shape), float(z_ratio), rng), rng)


def _spots(shape, z_ratio, centres, sigma, flux):
    """:func:`bench.scenes.images.splat` with centres (n, 3) in lateral-pixel units (z included) and round spots."""
    return splat(shape, (centres[:, 0] / z_ratio, centres[:, 1], centres[:, 2]), (sigma / z_ratio, sigma, sigma), flux)


def _filaments(shape, z_ratio, rng):
    """Smooth 3D curves (curvature varying between knots, mostly lateral), Gaussian cross-section 0.7-1 px.

    As many per 40 px of depth as the 2D phantom has in its plane, so planes are about as busy.
    """
    depth, height, width = shape[0] * z_ratio, shape[1], shape[2]
    step, points, sigmas, fluxes = 0.5, [], [], []
    layers = max(1.0, depth / 40)  # as many filaments per 40 px of depth as a 2D phantom of the same width has
    for _ in range(round(np.clip(round(max(height, width) / 12.8), 20, 40) * layers)):
        length = rng.uniform(0.4, 1.2) * max(height, width)
        s = np.arange(0.0, length, step)
        knots = np.linspace(0.0, length, max(2, round(8 * length / max(height, width))))
        azimuth = (
            rng.uniform(0, 2 * np.pi) + np.cumsum(np.interp(s, knots, rng.normal(0, 3 / width, knots.size))) * step
        )
        elevation = np.interp(s, knots, rng.normal(0, 0.4, knots.size))  # mostly lateral, as in a flat cell
        path = np.cumsum(np.stack([np.sin(elevation), np.cos(elevation) * np.sin(azimuth),
                                   np.cos(elevation) * np.cos(azimuth)], axis=1), axis=0) * step  # fmt: skip
        path += rng.uniform(0, 1, 3) * (depth, height, width) - path[s.size // 2]
        keep = np.all((path > -4) & (path < np.array([depth, height, width]) + 3), axis=1)
        points.append(path[keep])
        sigmas.append(np.full(keep.sum(), rng.uniform(0.7, 1.0)))
        fluxes.append(np.full(keep.sum(), rng.uniform(0.3, 1.0) * step))
    return _spots(shape, z_ratio, np.concatenate(points), np.concatenate(sigmas), np.concatenate(fluxes))


def _beads(shape, z_ratio, rng):
    """Sub-resolution beads (sigma 0.6-1.2 px), log-normal brightness, a third of them in small clusters."""
    extent = np.array([shape[0] * z_ratio, shape[1], shape[2]])
    n_beads = max(1, round(shape[1] * shape[2] * extent[0] / 8000))
    n_clustered = n_beads // 3
    n_clusters = max(1, n_clustered // 8)
    centres = rng.uniform(0.1, 0.9, (n_clusters, 3)) * extent
    spread = rng.uniform(3.0, 8.0, n_clusters)
    member = rng.integers(0, n_clusters, n_clustered)
    clustered = centres[member] + rng.normal(0.0, 1.0, (n_clustered, 3)) * spread[member, None]
    scattered = rng.uniform(0, 1, (n_beads - n_clustered, 3)) * extent
    sigma = rng.uniform(0.6, 1.2, n_beads)
    flux = rng.lognormal(0.0, 0.3, n_beads) * (2 * np.pi) ** 1.5 * sigma**3 / z_ratio  # peak about the brightness
    return _spots(shape, z_ratio, np.concatenate([clustered, scattered]), sigma, flux)


def _cells(shape, z_ratio, rng):
    """Flat ellipsoidal cells (textured cytoplasm fading to the edge, brighter nucleus, vesicles) on a dark field."""
    depth, height, width = shape
    n_cells = int(np.clip(round(height * width / 20000), 5, 12))
    mean_a = np.sqrt(0.4 * height * width / n_cells / (np.pi * 0.75))
    smooth = [(s / z_ratio, s, s) for s in (max(height, width) / 40, max(1.0, max(height, width) / 150))]
    coarse, fine = (gaussian_filter(rng.standard_normal(shape), sigma, mode="wrap") for sigma in smooth)
    coarse, fine = coarse / coarse.std(), fine / fine.std()
    z, y, x = np.meshgrid(np.arange(depth) * z_ratio, np.arange(height), np.arange(width), indexing="ij", sparse=True)
    signal, puncta = np.zeros(shape), []
    for _ in range(n_cells):
        a = mean_a * rng.uniform(0.8, 1.2)
        b, c = a * rng.uniform(0.6, 0.9), min(a * rng.uniform(0.25, 0.4), 0.4 * depth * z_ratio)
        centre = np.array([rng.uniform(0.3, 0.7) * depth * z_ratio, *rng.uniform(0.1, 0.9, 2) * (height, width)])
        phi = rng.uniform(0, np.pi)
        u = (x - centre[2]) * np.cos(phi) + (y - centre[1]) * np.sin(phi)
        v = -(x - centre[2]) * np.sin(phi) + (y - centre[1]) * np.cos(phi)
        w = z - centre[0]
        rho = np.sqrt((u / a) ** 2 + (v / b) ** 2 + (w / c) ** 2)
        cell = 0.5 * (1 + np.tanh((1 - rho) * c))  # about a 1 px edge along the thinnest axis
        nucleus_rho = np.sqrt((u / (0.5 * b)) ** 2 + (v / (0.4 * b)) ** 2 + (w / (0.7 * c)) ** 2)
        nucleus = 0.5 * (1 + np.tanh((1 - nucleus_rho) * 0.7 * c))
        level = rng.uniform(0.25, 0.45)
        cytoplasm = level * np.clip(1 + 0.3 * coarse, 0.2, None) * (1 - 0.6 * np.clip(rho, 0, 1) ** 2)
        nuclear = level * rng.uniform(1.6, 2.2) * np.clip(1 + 0.15 * fine, 0.2, None)
        signal = np.maximum(signal, cell * ((1 - nucleus) * cytoplasm + nucleus * nuclear))
        n_puncta = rng.poisson(a * b / 80)
        direction = rng.normal(size=(n_puncta, 3))
        direction /= np.linalg.norm(direction, axis=1, keepdims=True)
        radius = 0.8 * rng.uniform(0, 1, n_puncta) ** (1 / 3)
        local = direction * radius[:, None] * (c, b, a)  # (w, v, u) semi-axes
        lateral_u, lateral_v = local[:, 2], local[:, 1]
        puncta.append(np.stack([
            centre[0] + local[:, 0],
            centre[1] + lateral_u * np.sin(phi) + lateral_v * np.cos(phi),
            centre[2] + lateral_u * np.cos(phi) - lateral_v * np.sin(phi),
            rng.uniform(0.8, 1.3, n_puncta),
            level * rng.uniform(0.8, 2.0, n_puncta),
        ], axis=1))  # fmt: skip
    spots = np.concatenate(puncta)
    flux = spots[:, 4] * (2 * np.pi) ** 1.5 * spots[:, 3] ** 3 / z_ratio
    return signal + _spots(shape, z_ratio, spots[:, :3], spots[:, 3], flux)
