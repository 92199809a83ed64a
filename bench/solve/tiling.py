r"""Restore images and stacks larger than memory in overlapping tiles, without seams.

Any restoration that maps an array to an array of the same shape (a method's
solve with its parameters fixed) runs tile by tile:

1. :func:`plan_tiles` cuts the stack into *cores* as large as a memory cap
   allows. Each tile reads its core widened by ``blend`` (the cross-fade with
   its neighbours) and by ``margin`` (context that is restored and thrown
   away); at the stack's border the same width is read, shifted inward, so
   every tile has one shape and the memory of one tile is reused by the next.
2. The restoration sees each tile as a stack of its own. With the ``valid``
   boundary of :func:`bench.solve.solvers.richardson_lucy` a tile is exactly what
   it is, a crop of a larger blurred scene, and the scene beyond the tile is
   estimated rather than assumed; the margin keeps what remains of the tile's
   edge effects out of the part that is kept.
3. :func:`restore_tiled` adds each tile's kept part into the output weighted
   by a separable linear ramp that rises over the ``2 * blend`` voxels
   around each core boundary: the weights of neighbouring tiles sum to 1
   everywhere, so nothing is normalised afterwards and any residual
   difference between two tiles is spread over the ramp instead of being a
   step.

Input and output are any array-likes with ``shape`` and numpy slicing (numpy
arrays, ``h5py`` datasets, zarr arrays): only one tile and one output block
are in memory at a time, so a stack on disk can be many times the cap.
:func:`bench.score.probes.seam_score` measures what seam is left.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from bench.system.measure import release_free_heap, timed

__all__ = ["MemoryModel", "Tile", "TilePlan", "measure_memory", "plan_tiles", "restore_tiled"]

#: Bytes per voxel of a tile besides the restoration's own memory: the block as read and its float32 copy
#: (blending afterwards needs 12 bytes per voxel at most, once the restoration's workspace is freed).
_IO_BYTES_PER_VOXEL = 8


@dataclass(frozen=True)
class MemoryModel:
    """Peak memory of one call of a restoration on a tile: ``fixed_bytes + bytes_per_voxel * scene voxels``.

    The scene is the tile widened by the PSF (what a ``valid`` solve
    estimates). Get it from :func:`measure_memory` rather than guessing.
    """

    bytes_per_voxel: float
    fixed_bytes: float = 0.0

    def tile_bytes(self, read: tuple[int, ...], psf_shape: tuple[int, ...]) -> float:
        """Peak bytes of restoring a tile of shape ``read``, the block itself included."""
        scene = math.prod(r + k - 1 for r, k in zip(read, psf_shape))
        return self.fixed_bytes + self.bytes_per_voxel * scene + _IO_BYTES_PER_VOXEL * math.prod(read)


def measure_memory(
    restore: Callable[[np.ndarray], np.ndarray],
    psf_shape: tuple[int, ...],
    shapes: Sequence[tuple[int, ...]],
    *,
    repeats: int = 2,
) -> MemoryModel:
    """Measure a restoration's :class:`MemoryModel` on random tiles of ``shapes`` (two or more, that fit).

    Each call's peak is the growth of the resident set (``bench.system.measure.timed``,
    freed heap returned to the system first, so reused pages are counted),
    after one untimed call on the smallest shape that keeps one-off costs out
    (the first FFT of a process maps about 11 MiB of MKL). The model is the
    line through the peaks (the largest of ``repeats`` calls each: the heap's
    state moves them by about 10 %) against scene voxels, raised until no
    measurement lies above it: an upper bound on the sizes measured, which
    should bracket the tiles the plan will choose.
    """
    if len({math.prod(s) for s in shapes}) < 2:
        raise ValueError(
            f"measure_memory needs tiles of two sizes or more to separate fixed and per-voxel memory, got {shapes}"
        )
    rng = np.random.default_rng(0)
    blocks = [rng.uniform(0.5, 1.0, shape).astype(np.float32) for shape in sorted(shapes, key=math.prod)]
    restore(blocks[0])
    scenes = np.array([math.prod(n + k - 1 for n, k in zip(b.shape, psf_shape)) for b in blocks], dtype=float)
    peaks = np.array([max(_peak_bytes(restore, block) for _ in range(repeats)) for block in blocks])
    slope = max(float(np.polyfit(scenes, peaks, 1)[0]), 0.0)
    return MemoryModel(bytes_per_voxel=slope, fixed_bytes=max(float(np.max(peaks - slope * scenes)), 0.0))


def _peak_bytes(restore: Callable[[np.ndarray], np.ndarray], block: np.ndarray) -> float:
    return timed(lambda: restore(block), torch.device("cpu"))[1].peak_memory_mb * 2**20


@dataclass(frozen=True)
class Tile:
    """One tile: what it reads, what part of its result it keeps, where that goes and with what weight.

    The weight is separable: the outer product of ``ramps``, one float32 ramp per axis.
    """

    read: tuple[slice, ...]
    keep: tuple[slice, ...]
    write: tuple[slice, ...]
    ramps: tuple[np.ndarray, ...]

    def weighted(self, restored: np.ndarray) -> np.ndarray:
        """The kept part of ``restored`` times the weight, as one new float32 array (no weight-sized temporaries)."""
        result = np.array(restored[self.keep], dtype=np.float32)
        for axis, ramp in enumerate(self.ramps):
            result *= ramp.reshape((-1,) + (1,) * (len(self.ramps) - 1 - axis))
        return result


@dataclass(frozen=True)
class TilePlan:
    """Cores of at most ``core`` voxels per axis over ``shape``, read with ``margin`` + ``blend`` around them."""

    shape: tuple[int, ...]
    core: tuple[int, ...]
    margin: tuple[int, ...]
    blend: tuple[int, ...]

    @property
    def counts(self) -> tuple[int, ...]:
        """Number of tiles along each axis."""
        return tuple(math.ceil(n / c) for n, c in zip(self.shape, self.core))

    @property
    def boundaries(self) -> tuple[tuple[int, ...], ...]:
        """Per axis, the indices where one core ends and the next begins."""
        return tuple(tuple(range(c, n, c)) for n, c in zip(self.shape, self.core))

    def tiles(self) -> Iterator[Tile]:
        """Every tile, in C order of the tile grid."""
        axes = [list(self._axis_tiles(axis)) for axis in range(len(self.shape))]
        for combination in itertools.product(*axes):
            read, keep, write, ramps = zip(*combination)
            yield Tile(read=read, keep=keep, write=write, ramps=tuple(r.astype(np.float32) for r in ramps))

    def _axis_tiles(self, axis: int) -> Iterator[tuple[slice, slice, slice, np.ndarray]]:
        n, core, margin, blend = self.shape[axis], self.core[axis], self.margin[axis], self.blend[axis]
        width = min(core + 2 * (margin + blend), n)
        for start in range(0, n, core):
            stop = min(start + core, n)
            low, high = max(start - blend, 0), min(stop + blend, n)
            # Every tile reads the same width (more context on the inner side at the stack's border): the
            # restoration then allocates the same buffers for every tile and the peak stays that of one tile.
            read_low = min(max(low - margin, 0), n - width)
            read_high = read_low + width
            index = np.arange(low, high) + 0.5
            ramp = np.ones(high - low)
            if start > 0:
                ramp = np.minimum(
                    ramp, np.clip((index - (start - blend)) / (2 * blend), 0, 1) if blend else index >= start
                )
            if stop < n:
                ramp = np.minimum(
                    ramp, np.clip(((stop + blend) - index) / (2 * blend), 0, 1) if blend else index < stop
                )
            yield slice(read_low, read_high), slice(low - read_low, high - read_low), slice(low, high), ramp


def plan_tiles(
    shape: tuple[int, ...],
    psf_shape: tuple[int, ...],
    *,
    memory_bytes: float,
    memory: MemoryModel,
    margin: tuple[int, ...] | None = None,
    blend: tuple[int, ...] | None = None,
) -> TilePlan:
    """The largest tiles whose restoration fits in ``memory_bytes``.

    Parameters
    ----------
    shape, psf_shape : tuple of int
        The stack (D, H, W) (or image (H, W)) and its PSF.
    memory_bytes : float
        The cap on the peak memory of :func:`restore_tiled`: one tile's
        block and its restoration (``memory``), as only one tile is in
        memory at a time; the output lives in ``out`` (on disk for a stack
        larger than memory).
    memory : MemoryModel
        The restoration's memory, from :func:`measure_memory`; for
        Richardson-Lucy in float32 about 55 bytes per scene voxel of
        resident memory (31 live, the rest freed heap that glibc keeps).
    margin, blend : tuple of int, optional
        Context thrown away and cross-fade half-width per axis; default
        twice the PSF's radius and its radius (at least 1 voxel each).

    Cores shrink along the axis where they are largest (lateral axes first
    when equal) until a tile fits; a cap too small for any tile is an error
    that names the smallest workable cap.
    """
    if len(shape) != len(psf_shape):
        raise ValueError(f"the stack {tuple(shape)} and its PSF {tuple(psf_shape)} must have the same number of axes")
    radius = [k // 2 for k in psf_shape]
    margin = tuple(margin) if margin is not None else tuple(max(1, 2 * r) for r in radius)
    blend = tuple(blend) if blend is not None else tuple(max(1, r) for r in radius)

    def tile_bytes(core: list[int]) -> float:
        return memory.tile_bytes(
            tuple(min(c + 2 * (m + b), n) for c, m, b, n in zip(core, margin, blend, shape)), psf_shape
        )

    counts = [1] * len(shape)
    core = list(shape)
    while tile_bytes(core) > memory_bytes:
        # A core narrower than two blends would let its two ramps overlap: weights would not sum to 1.
        splittable = [a for a in range(len(shape)) if math.ceil(shape[a] / (counts[a] + 1)) >= 2 * blend[a]]
        if not splittable:
            raise ValueError(
                f"a memory cap of {memory_bytes / 2**20:.1f} MiB cannot hold one tile with margins {margin} and "
                f"blends {blend}; raise it to at least {tile_bytes(core) / 2**20:.1f} MiB or lower the margins"
            )
        axis = max(splittable, key=lambda a: (core[a], a))
        counts[axis] += 1
        core[axis] = math.ceil(shape[axis] / counts[axis])
    return TilePlan(shape=tuple(shape), core=tuple(core), margin=margin, blend=blend)


def restore_tiled(restore: Callable[[np.ndarray], np.ndarray], y: Any, plan: TilePlan, out: Any | None = None) -> Any:
    """Run ``restore`` tile by tile over ``y`` and blend the tiles into ``out``.

    Parameters
    ----------
    restore : callable
        Maps a float32 tile to its restoration, same shape. Parameters a
        method would derive from the data (iteration count, weights) must be
        fixed for the whole stack beforehand, or tiles differ and seams appear.
    y : array-like
        The stack, of shape ``plan.shape`` (numpy array, h5py dataset, ...).
    plan : TilePlan
        From :func:`plan_tiles`.
    out : array-like, optional
        Where to write, zero-filled, of shape ``plan.shape`` (a numpy array by default).

    Notes
    -----
    The peak is that of one tile (``plan``'s memory model) plus what ``y``
    and ``out`` keep themselves: h5py's default chunk caches held about
    7.5 MiB more in the test of a 36 MiB stack; opened with ``rdcc_nbytes=0``
    HDF5 needed 0.5-1.6 MiB. Leave that out of the cap given to :func:`plan_tiles`.

    Returns
    -------
    ``out``
    """
    if tuple(y.shape) != plan.shape:
        raise ValueError(f"the stack has shape {tuple(y.shape)} but the plan was made for {plan.shape}")
    out = np.zeros(plan.shape, dtype=np.float32) if out is None else out
    for tile in plan.tiles():
        block = np.asarray(y[tile.read], dtype=np.float32)
        restored = np.asarray(restore(block), dtype=np.float32)
        if restored.shape != block.shape:
            raise ValueError(f"restore returned shape {restored.shape} for a tile of shape {block.shape}")
        del block
        weighted = tile.weighted(restored)
        del restored
        weighted += out[tile.write]
        out[tile.write] = weighted
        del weighted
        release_free_heap()
    return out
