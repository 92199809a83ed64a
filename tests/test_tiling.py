"""Tiled restoration (bench.solve.tiling): partition of unity, equality with the untiled solve, peak memory under the cap."""

import numpy as np
import pytest
import torch

from bench.physics.degradation import NoiseLevel, blur_valid, degrade
from bench.system.measure import release_free_heap, timed
from bench.score.probes import seam_score
from bench.physics.psfs import confocal_psf_3d, widefield_psf_3d
from bench.solve.solvers import richardson_lucy
from bench.solve.tiling import (
    MemoryModel,
    measure_memory,
    plan_tiles,
    restore_tiled,
)
from bench.scenes.volumes import load_volume

CPU = torch.device("cpu")


def rl(psf, num_iter):
    psf_t = torch.from_numpy(psf.astype(np.float32))[None, None]
    return lambda block: richardson_lucy(torch.from_numpy(block)[None, None], psf_t, num_iter=num_iter,
                                         boundary="valid")[0, 0].numpy()  # fmt: skip


def stack(shape, psf, seed=0):
    """Beads blurred (valid) by ``psf``, low noise: a stack as a microscope gives it."""
    field = load_volume("phantom-beads", tuple(n + k - 1 for n, k in zip(shape, psf.shape)), seed=seed, z_ratio=3)
    level = NoiseLevel(gain=1000, sigma=0.005)
    return degrade(blur_valid(field, psf), level, np.random.default_rng(seed)).astype(np.float32)


@pytest.fixture(scope="module")
def psf():
    coeff = np.random.default_rng(1).uniform(-0.1, 0.1, 7)
    return confocal_psf_3d(coeff, shape=(7, 15, 15), na=1.4, ni=1.518, excitation_um=0.488, emission_um=0.52,
                           pixel_um=0.04, z_ratio=3)[0]  # fmt: skip


def test_tile_weights_sum_to_one_so_identity_is_exact():
    plan = plan_tiles((12, 70, 90), (5, 9, 9), memory_bytes=3 * 2**20, memory=MemoryModel(40))
    assert np.prod(plan.counts) > 4
    y = np.random.default_rng(0).random(plan.shape).astype(np.float32)
    np.testing.assert_allclose(restore_tiled(lambda block: block, y, plan), y, rtol=0, atol=1e-6)


def test_plan_shrinks_tiles_to_the_cap_and_names_the_cap_it_cannot_meet():
    big = plan_tiles((32, 512, 512), (15, 31, 31), memory_bytes=1024 * 2**20, memory=MemoryModel(65))
    small = plan_tiles((32, 512, 512), (15, 31, 31), memory_bytes=256 * 2**20, memory=MemoryModel(65))
    assert np.prod(small.counts) > np.prod(big.counts) >= 1
    with pytest.raises(ValueError, match="raise it to at least"):
        plan_tiles((32, 512, 512), (15, 31, 31), memory_bytes=2**20, memory=MemoryModel(65))


def test_tiled_richardson_lucy_equals_the_untiled_solve_without_seams(psf):
    y = stack((16, 96, 96), psf)
    restore = rl(psf, 20)
    plan = plan_tiles(y.shape, psf.shape, memory_bytes=12 * 2**20, memory=MemoryModel(65))
    assert plan.counts[1] * plan.counts[2] >= 4
    untiled, tiled = restore(y), restore_tiled(restore, y, plan)
    assert np.abs(tiled - untiled).max() < 0.01 * untiled.max()
    assert seam_score(tiled, plan.boundaries) < 1.2 * seam_score(untiled, plan.boundaries) + 0.2


def test_measured_memory_model_bounds_the_peaks_it_was_fitted_on(psf):
    restore = rl(psf, 2)
    # Tiles 8x larger apart in scene voxels than 32/48 px: page-level noise of the heap moved the slope
    # measured on those from 37 to 57 alone, and to 16 once, late in a full test session.
    model = measure_memory(restore, psf.shape, [(8, 64, 64), (8, 128, 128)])
    assert 20 < model.bytes_per_voxel < 200  # float32 RL: about 31 live, 55 resident
    with pytest.raises(ValueError, match="two sizes or more"):
        measure_memory(restore, psf.shape, [(8, 32, 32)])


@pytest.mark.slow
def test_tiled_richardson_lucy_on_a_stack_four_times_the_cap(tmp_path, capsys):
    """A 36 MiB stack read from and written to HDF5 under a 9 MiB cap, against the untiled solve in memory.

    The tiles are sized from RL's memory measured on small tiles; the cap
    less 3 MiB for HDF5 is what the plan may give a tile. HDF5 runs without a
    chunk cache (h5py's default cache held about 7.5 MiB more here, measured)
    and then needs 0.5-1.6 MiB of its own. The peak is the growth of the resident set during
    the tiled call, freed heap returned to the system first. The PSF is
    fresnel-zernike-3d's widefield one in a 5 x 9 x 9 box: with the 7 x 15 x
    15 box of the other tests, the smallest tile (two PSF radii of margin and
    one of blend on each side) alone needs about 8 MiB.
    """
    h5py = pytest.importorskip("h5py")
    coeff = np.random.default_rng(1).uniform(-0.1, 0.1, 7)
    psf = widefield_psf_3d(coeff, shape=(5, 9, 9), na=1.2, ni=1.33, wavelength_um=0.52, pixel_um=0.065, z_ratio=3)[0]
    restore = rl(psf, 5)
    y = stack((16, 768, 768), psf)
    cap = y.nbytes / 4
    hdf5_allowance = 3 * 2**20
    # Fitted from the plan's tiles up (it reads about 16 x 65 x 63): at 48-80 px the fixed part ranged 0-4.4 MiB.
    model = measure_memory(restore, psf.shape, [(16, 64, 64), (16, 96, 96), (16, 128, 128)])
    plan = plan_tiles(y.shape, psf.shape, memory_bytes=cap - hdf5_allowance, memory=model)
    with h5py.File(tmp_path / "stack.h5", "w") as file:
        file.create_dataset("y", data=y, chunks=(16, 32, 32))
        file.create_dataset("x", shape=y.shape, dtype="f4", chunks=(16, 32, 32), fillvalue=0)
    del y  # the tiled run sees the stack only through HDF5
    with h5py.File(tmp_path / "stack.h5", "r+", rdcc_nbytes=0) as file:
        release_free_heap()  # what the heap holds from before is not the tiled call's
        _, tiled_timing = timed(lambda: restore_tiled(restore, file["y"], plan, out=file["x"]), CPU)
        tiled, y = file["x"][...], file["y"][...]
    untiled, untiled_timing = timed(lambda: restore(y), CPU)
    difference = np.abs(tiled - untiled)
    with capsys.disabled():
        print(
            f"\nstack {y.nbytes / 2**20:.0f} MiB, cap {cap / 2**20:.0f} MiB, model {model.bytes_per_voxel:.1f} B/voxel"
            f" + {model.fixed_bytes / 2**20:.2f} MiB, tiles {plan.counts} of {plan.core};"
            f" peak tiled {tiled_timing.peak_memory_mb:.2f} MiB ({tiled_timing.seconds:.1f} s),"
            f" untiled {untiled_timing.peak_memory_mb:.0f} MiB ({untiled_timing.seconds:.1f} s);"
            f" max |tiled - untiled| {difference.max():.2e} (max {untiled.max():.2f},"
            f" rms {np.sqrt(np.mean(difference**2)):.1e}); seam score tiled"
            f" {seam_score(tiled, plan.boundaries):.3f}, untiled {seam_score(untiled, plan.boundaries):.3f}"
        )
    assert tiled_timing.peak_memory_mb * 2**20 < cap
    assert difference.max() < 0.01 * untiled.max()
    assert seam_score(tiled, plan.boundaries) < 1.2 * seam_score(untiled, plan.boundaries) + 0.2
