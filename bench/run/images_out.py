"""Restored images as float32 TIFFs that Fiji and napari open with their scale and pixel size.

Every row a run finishes leaves ``<run>/images/<label>/<case_id>.tif``: the
method's estimate in the input's intensity units (camera counts above the
offset for real data: ``x_hat * meta["intensity_scale"]``; the benchmark's
[0, 1] scale for synthetic data), with the pixel size of ``meta["pixel_size_um"]``
in the ImageJ metadata (µm). Folder names are shell-safe: a label such as
``nafnet[preset=cpu]`` becomes ``nafnet_preset_cpu``, so no quoting is needed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import tifffile

__all__ = ["restoration_path", "safe_name", "write_restoration"]


def safe_name(label: str) -> str:
    """A label as a shell-safe folder name: runs of characters outside ``[A-Za-z0-9._-]`` become ``_``."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", label).strip("_") or "_"


def restoration_path(out: Path, label: str, case_id: str) -> Path:
    """Where the TIFF of a method label's restoration of a case goes in a run folder."""
    return Path(out) / "images" / safe_name(label) / f"{safe_name(case_id)}.tif"


def write_restoration(path: Path, x_hat: np.ndarray, meta: Mapping[str, Any]) -> Path:
    """Write ``x_hat`` (the benchmark's scale) as a float32 ImageJ TIFF in the input's units; returns the path.

    The ImageJ ``Info`` records the case's image and the scale applied, so a
    reader can return to the benchmark's scale.
    """
    scale = float(meta.get("intensity_scale", 1.0))
    pixel = meta.get("pixel_size_um")
    resolution = None if pixel is None else (1 / float(pixel[1]), 1 / float(pixel[0]))  # pixels per um, x then y
    path.parent.mkdir(parents=True, exist_ok=True)
    info = {"image": meta.get("image"), "intensity_scale": scale, "units": "input counts above offset"}
    tifffile.imwrite(
        path,
        (np.asarray(x_hat, dtype=np.float64) * scale).astype(np.float32),
        imagej=True,
        resolution=resolution,
        metadata={"unit": "um" if pixel is not None else "pixel", "Info": json.dumps(info)},
    )
    return path
