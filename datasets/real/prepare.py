"""Derive the shipped real-data files from the upstream copies, and write SHA256SUMS.

Run once by the maintainers (not at benchmark time)::

    python datasets/real/prepare.py /path/to/shared/data/real

SOURCE is the folder of byte-identical upstream files described in each
sub-folder's README (BioSR, Haase/MPI-CBG, pycudadecon, deconwolf, sdeconv).
It checks them against SOURCE/SHA256SUMS, keeps only the 2D planes and 3D crops
the dataset plugins use, writes them with tifffile (ImageJ pixel-size metadata included),
copies the licence files and writes ``SHA256SUMS`` next to this script. The
output is deterministic: running it twice gives byte-identical files.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import numpy as np
import tifffile

from bench.system.files import sha256_file

HERE = Path(__file__).resolve().parent

#: In-focus planes, chosen as documented upstream (grid z~10, bead PSF centre
#: z=16 of 33, LLS PSF z~30); the LLS raw planes sample the cell at three depths.
GRID_PLANES = (9, 10, 11)
BEAD_PSF_PLANE = 16
LLS_RAW_PLANES = (10, 30, 50)
#: 3D crops (beads-grid-confocal-3d): the whole grid stack (21 planes, deeper than the PSF so that
#: re-blurring leaves an interior to score), the bead PSF's 17 planes around its centre (z=16 of 33:
#: the rest is < 1 % of its energy per plane), and the bead stack's 21 planes around the beads' focus
#: (z 23-24) over the box that holds its 4 beads.
GRID_STACK = np.s_[:]
BEAD_PSF_STACK = np.s_[8:25]
BEAD_STACK = np.s_[14:35, 16:132, 14:142]
Z_STEP_UM = 0.125


def _check_source(source: Path) -> None:
    for line in (source / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split(maxsplit=1)
        if sha256_file(source / name) != digest:
            raise ValueError(f"{source / name} does not match SOURCE/SHA256SUMS; use the byte-identical upstream copy")


def _write(path: Path, image: np.ndarray, pixel_um: float) -> None:
    """2D image with its lateral pixel size in ImageJ metadata (micrometres)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tifffile.imwrite(path, image, imagej=True, resolution=(1 / pixel_um, 1 / pixel_um), metadata={"unit": "um"})


def _write_stack(path: Path, stack: np.ndarray, pixel_um: float, z_um: float) -> None:
    """3D stack with its lateral pixel size and plane spacing in ImageJ metadata (micrometres)."""
    tifffile.imwrite(
        path,
        stack,
        imagej=True,
        resolution=(1 / pixel_um, 1 / pixel_um),
        metadata={"unit": "um", "spacing": z_um, "axes": "ZYX"},
    )


def prepare(source: Path) -> None:
    _check_source(source)
    biosr = source / "biosr_widefield_sim_pairs"
    for stem in ("microtubules_wf", "microtubules_sim_gt", "factin_nonlinear_wf", "factin_nonlinear_sim_gt"):
        # float64 upstream; float32 keeps 7 significant digits of values near 100 and halves the size.
        _write(HERE / "biosr_wf_sim" / f"{stem}.tif", tifffile.imread(biosr / f"{stem}.tif").astype(np.float32), 0.0626)

    haase = source / "confocal_beads_grid_haase"
    grid = tifffile.imread(haase / "DeconvolutionSampleVerticalGrid1AU-crop.tif")
    for z in GRID_PLANES:
        _write(HERE / "beads_grid_confocal" / f"grid_1AU_z{z:02d}.tif", grid[z], 0.02196)
    bead_psf = tifffile.imread(haase / "psf_avg_4beads_derived.tif")
    _write(HERE / "beads_grid_confocal" / f"psf_avg_4beads_z{BEAD_PSF_PLANE}.tif", bead_psf[BEAD_PSF_PLANE], 0.02249)
    _write_stack(HERE / "beads_grid_confocal" / "grid_1AU_stack.tif", grid[GRID_STACK], 0.02196, Z_STEP_UM)
    _write_stack(
        HERE / "beads_grid_confocal" / "psf_avg_4beads_stack.tif", bead_psf[BEAD_PSF_STACK], 0.02249, Z_STEP_UM
    )
    beads = tifffile.imread(haase / "Bead_Image1_crop.tif")
    _write_stack(HERE / "beads_grid_confocal" / "beads_stack.tif", beads[BEAD_STACK], 0.02249, Z_STEP_UM)

    lls = source / "lattice_lightsheet_pycudadecon"
    raw = tifffile.imread(lls / "im_raw.tif")
    for z in LLS_RAW_PLANES:
        _write(HERE / "lattice_lightsheet" / f"im_raw_z{z:02d}.tif", raw[z], 0.1015)
    psf = tifffile.imread(lls / "psf.tif")
    psf_plane = int(np.argmax(psf.reshape(len(psf), -1).max(axis=1)))  # the plane holding the bead's peak
    _write(HERE / "lattice_lightsheet" / f"psf_z{psf_plane}.tif", psf[psf_plane], 0.1011)

    dapi = tifffile.imread(source / "widefield_dapi_deconwolf" / "dapi_001.tif")
    in_focus = int(np.argmax(dapi.reshape(len(dapi), -1).astype(np.float64).var(axis=1)))  # maximum variance
    _write(HERE / "widefield_dapi" / f"dapi_001_z{in_focus}.tif", dapi[in_focus], 0.130)

    (HERE / "airyscan_celegans").mkdir(exist_ok=True)
    shutil.copyfile(source / "airyscan_celegans_sdeconv" / "celegans.tif", HERE / "airyscan_celegans" / "celegans.tif")

    licences = {
        "biosr_wf_sim": [biosr / "LICENSE-CC-BY-4.0.txt", biosr / "LICENSE-MIT-kernel-learning-deconvolution.txt"],
        "beads_grid_confocal": [haase / "LICENSE-CC-BY-4.0.txt"],
        "lattice_lightsheet": [lls / "LICENSE-MIT.txt"],
        # The upstream copy's "LICENSE-MIT.txt" holds the GPL-3.0 text; widefield_dapi/README.md explains.
        "widefield_dapi": [],
        "airyscan_celegans": [source / "airyscan_celegans_sdeconv" / "LICENSE-BSD-3-Clause.txt"],
    }
    for folder, files in licences.items():
        for licence in files:
            shutil.copyfile(licence, HERE / folder / licence.name)

    data = sorted(p for p in HERE.rglob("*.tif"))
    lines = [f"{sha256_file(p)}  {p.relative_to(HERE).as_posix()}" for p in data]
    (HERE / "SHA256SUMS").write_text("\n".join(lines) + "\n")
    print(f"wrote {len(data)} files, {sum(p.stat().st_size for p in data) / 1e6:.2f} MB; SHA256SUMS updated")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="folder of the upstream files (with their SHA256SUMS)")
    prepare(parser.parse_args().source)
