"""Generate each dataset's cases once, store them with a sha256 manifest, reload them.

A dataset's cases are written under ``<cache>/<name>-<key>/``, where ``key``
hashes the dataset's name, its parameters and the digest of the code that
generates them (the dataset plugin and the ``bench`` modules it imports, see
:mod:`bench.system.codeversion`: an edit of ``psfs.py`` gives new cases), as:

- ``<case_id>.npz`` holding ``y``, ``x`` and ``psf`` (the last two when known),
- ``meta.json`` mapping each case id to its metadata,
- ``manifest.json`` with the sha256 of every file, ``meta.json`` included.

The npz files are written with fixed zip timestamps, so the same seed gives
byte-identical files and identical checksums. ``bench datasets export`` writes
the same layout to a folder of the user's choosing.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import zipfile
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from bench.api import BaseDataset, Case
from bench.checks import check_image, check_psf
from bench.system.codeversion import code_digest
from bench.system.files import sha256_file, write_atomic

__all__ = ["CaseStore", "cache_dir", "npz_bytes", "validate_case"]

_FORMAT_VERSION = 1
_ARRAYS = ("y", "x", "psf")


def cache_dir(configured: str | Path | None = None) -> Path:
    """Where cases are cached: ``configured`` (the ``cache_dir`` setting), else ``$DECONV_BENCH_CACHE``, else ``~/.cache/deconv-bench``."""
    if configured:
        return Path(configured)
    return Path(os.environ.get("DECONV_BENCH_CACHE", Path.home() / ".cache" / "deconv-bench"))


def npz_bytes(arrays: Mapping[str, np.ndarray]) -> bytes:
    """An .npz archive with fixed timestamps, so equal arrays give equal bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for key, array in arrays.items():
            entry = io.BytesIO()
            np.save(entry, np.ascontiguousarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, entry.getvalue())
    return buffer.getvalue()


def validate_case(case: Case) -> Case:
    """Check a dataset's case at the boundary: finite 2D images or 3D volumes, a valid PSF, matching shapes."""
    y = check_image(case.y, name=f"{case.case_id}: y", volumes=True)
    x = None if case.x is None else check_image(case.x, name=f"{case.case_id}: x", volumes=True)
    psf = None if case.psf is None else check_psf(case.psf, name=f"{case.case_id}: psf", volumes=True)
    if x is not None and x.shape != y.shape:
        raise ValueError(f"{case.case_id}: x has shape {x.shape} but y has {y.shape}; they must match")
    if psf is not None and psf.ndim != y.ndim:
        raise ValueError(f"{case.case_id}: psf has {psf.ndim} axes but y has {y.ndim}; a volume needs a 3D PSF")
    return Case(case.case_id, y, x, psf, dict(case.meta))


class CaseStore:
    """The on-disk cache of one dataset configuration."""

    def __init__(self, dataset: BaseDataset, params: Mapping[str, Any], cache_dir: Path) -> None:
        self.dataset = dataset
        self.params = json.loads(json.dumps(dict(params), default=list))
        #: Digest of the code that generates the cases (the dataset plugin and the bench modules it uses).
        self.code = code_digest(type(dataset).__module__, __name__)
        identity = json.dumps(
            {"dataset": dataset.name, "params": self.params, "format": _FORMAT_VERSION, "code": self.code},
            sort_keys=True,
        )
        self.key = hashlib.sha256(identity.encode()).hexdigest()[:12]
        self.directory = Path(cache_dir) / f"{dataset.name}-{self.key}"

    def load(self) -> list[Case]:
        """All cases: verified from the cache, generating and storing what is missing."""
        self.directory.mkdir(parents=True, exist_ok=True)
        manifest = self._read_json("manifest.json", {"files": {}})
        metas = self._read_json("meta.json", {}) if "meta.json" in manifest["files"] else {}
        if metas:
            self._verify(self.directory / "meta.json", manifest)
        cases, changed = [], False
        for case_id in self.dataset.case_ids():
            path = self.directory / f"{case_id}.npz"
            if path.name in manifest["files"] and path.exists() and case_id in metas:
                self._verify(path, manifest)
                cases.append(self._read_case(case_id, path, metas[case_id]))
                continue
            case = validate_case(self.dataset.make_case(case_id))
            arrays = {k: getattr(case, k) for k in _ARRAYS if getattr(case, k) is not None}
            data = npz_bytes(arrays)
            write_atomic(path, data)
            manifest["files"][path.name] = hashlib.sha256(data).hexdigest()
            metas[case_id] = dict(case.meta)
            cases.append(case)
            changed = True
        if changed:
            meta_bytes = json.dumps(metas, indent=1, sort_keys=True).encode()
            write_atomic(self.directory / "meta.json", meta_bytes)
            manifest["files"]["meta.json"] = hashlib.sha256(meta_bytes).hexdigest()
            manifest.update(dataset=self.dataset.name, params=self.params, format=_FORMAT_VERSION, code=self.code)
            write_atomic(self.directory / "manifest.json", json.dumps(manifest, indent=1, sort_keys=True).encode())
        return cases

    def _verify(self, path: Path, manifest: Mapping[str, Any]) -> None:
        """Refuse a cached file whose sha256 differs from the manifest's (edited, truncated or corrupt)."""
        digest = sha256_file(path)
        if digest != manifest["files"][path.name]:
            raise ValueError(
                f"cached file {path} does not match its sha256 in manifest.json "
                f"(expected {manifest['files'][path.name]}, got {digest}); "
                f"delete {self.directory} to regenerate the cases"
            )

    def export(self, destination: Path) -> Path:
        """Copy every case, ``meta.json`` and ``manifest.json`` into ``destination``."""
        self.load()
        destination = Path(destination)
        destination.mkdir(parents=True, exist_ok=True)
        names = [f"{case_id}.npz" for case_id in self.dataset.case_ids()] + ["meta.json", "manifest.json"]
        for name in names:
            shutil.copyfile(self.directory / name, destination / name)
        return destination

    def _read_json(self, name: str, default: dict) -> dict:
        path = self.directory / name
        return json.loads(path.read_text()) if path.exists() else default

    @staticmethod
    def _read_case(case_id: str, path: Path, meta: Mapping[str, Any]) -> Case:
        with np.load(path, allow_pickle=False) as archive:
            y = archive["y"]
            optional = {k: archive[k] if k in archive else None for k in _ARRAYS if k != "y"}
        return Case(case_id, y, optional["x"], optional["psf"], dict(meta))
