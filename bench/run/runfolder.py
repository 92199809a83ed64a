"""A run folder, the one place that knows its files: columns, format version, paths; its one writer.

``bench run`` writes a folder and everything else reads it through this module:

- ``cases.csv``: one row per (method label, case), the columns :data:`CASE_COLUMNS`;
- ``manifest.json``: configuration, code and machine of the latest ``bench run`` into the folder, and in
  ``invocations`` those of every earlier one (rows name theirs in the ``invocation`` column); ``format``,
  :data:`FORMAT_VERSION`;
- ``leaderboard.csv``: :func:`leaderboard` of the rows;
- ``outputs/<label>/<case_id>.npz``: the saved restorations (:func:`output_path`);
- ``inputs/<case_id>.npz``: with the restorations, each case's ``y``, ``x`` and ``psf`` as the methods
  got them (:func:`input_path`), so a report of the folder needs nothing but the folder;
- ``errors.log``: the traceback of each failed case.

A folder written by an older version (no ``format`` in its manifest, or
another number) is refused with the command that recomputes it.

``bench run`` holds the folder's lock (``OUT/.lock``, an exclusive ``flock``)
from the first read of ``cases.csv`` to the last write, so a second run into
the same folder waits for the first instead of overwriting its rows. Every
file is replaced atomically (:func:`bench.system.files.write_atomic`): a kill loses
nothing finished, and a saved image is either complete or absent.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import json
import math
import os
import shlex
import socket
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import pandas as pd

from bench.api import Case
from bench.run.cases import npz_bytes
from bench.system.files import write_atomic
from bench.score.case import NO_REFERENCE_SCORES

__all__ = [
    "CASE_COLUMNS", "FORMAT_VERSION", "METRICS", "Run", "RunFolder", "input_path", "leaderboard", "now", "output_path",
    "read_cases", "read_run",
]  # fmt: skip

#: Version of the folder's layout, in ``manifest.json`` as ``format``. 2: rows carry their label
#: and track, images lie under ``outputs/<label>/``. Folders without it are from before labels.
FORMAT_VERSION = 2

CASE_COLUMNS = [
    "method", "label", "dataset", "case_id", "image", "noise", "blind", "track",
    "psnr", "ssim", "psf_snr", "psf_psnr", "reblur_psnr",
    *NO_REFERENCE_SCORES,
    "time_s", "peak_memory_mb", "device", "threads", "load_avg", "status", "error", "params", "info", "run_key", "code",
    "invocation",
]  # fmt: skip

#: Scores aggregated by the leaderboards, in display order (the no-reference ones serve real data).
METRICS = ("psnr", "ssim", "psf_snr", "psf_psnr", "reblur_psnr", *NO_REFERENCE_SCORES)

#: Columns read as text (a case id ``007`` stays ``007``).
_TEXT_COLUMNS = {
    "method": str, "label": str, "track": str, "error": str, "run_key": str, "code": str, "params": str, "info": str,
    "case_id": str, "image": str, "noise": str,
}  # fmt: skip


def now() -> str:
    """The current UTC time, ISO 8601 to the second."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def output_path(run: Path | str, label: str, case_id: str) -> Path:
    """Where ``bench run --save-outputs`` writes a label's images of a case (``outputs/<label>/<case_id>.npz``).

    The folder is the label percent-encoded but for ``[]=+`` (``a[x=1,y=2]``
    becomes ``a[x=1%2Cy=2]``; ``/``, ``:`` and spaces are encoded too), a valid
    name on every system; a plain method name is its own folder.
    """
    return Path(run) / "outputs" / quote(str(label), safe="[]=+") / f"{case_id}.npz"


def input_path(run: Path | str, case_id: str) -> Path:
    """Where ``bench run --save-outputs`` writes a case's inputs and reference (``inputs/<case_id>.npz``)."""
    return Path(run) / "inputs" / f"{case_id}.npz"


def read_cases(path: Path) -> pd.DataFrame:
    """A ``cases.csv`` with its text columns as text, empty cells as NaN."""
    return pd.read_csv(path, keep_default_na=False, na_values=[""], dtype=_TEXT_COLUMNS)


def read_manifest(directory: Path) -> dict[str, Any]:
    """A run folder's ``manifest.json``, refused (with the command that recomputes it) unless of :data:`FORMAT_VERSION`."""
    path = Path(directory) / "manifest.json"
    try:
        manifest = json.loads(path.read_text()) if path.exists() else {}
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON ({error}); recompute the run with bench run") from None
    found = manifest.get("format", 1)
    if found != FORMAT_VERSION:
        raise ValueError(
            f"{directory} is a run folder of format {found} (this deconv-bench reads format {FORMAT_VERSION}); "
            f"recompute it: {_rerun_command(Path(directory), manifest)}"
        )
    return manifest


def _rerun_command(directory: Path, manifest: Mapping[str, Any]) -> str:
    """The shell command that recomputes a run folder from what its manifest says (or its rows, without one)."""
    methods = manifest.get("methods")
    dataset = manifest.get("config", {}).get("dataset", {}).get("name")
    cases = directory / "cases.csv"
    if (not methods or not dataset) and cases.exists():
        rows = pd.read_csv(cases, usecols=lambda c: c in ("method", "dataset"), dtype=str)
        methods = methods or sorted(rows.get("method", pd.Series(dtype=str)).dropna().unique())
        dataset = dataset or next(iter(rows.get("dataset", pd.Series(dtype=str)).dropna()), None)
    folder = shlex.quote(str(directory))
    return (f"rm -r {folder} && bench run --method {','.join(methods) if methods else 'all'} "
            f"--dataset {dataset or 'NAME'} --out {folder}")  # fmt: skip


@dataclass(frozen=True)
class Run:
    """One ``bench run`` folder: its per-case rows and its manifest."""

    directory: Path
    cases: pd.DataFrame
    manifest: dict[str, Any]

    def output(self, label: str, case_id: str) -> Path:
        """Where this run saved the images of a row, if it saved them."""
        return output_path(self.directory, label, case_id)

    def case_arrays(self, case_id: str) -> dict[str, np.ndarray | None] | None:
        """``y``, ``x`` and ``psf`` of a case as saved in the folder (``x`` or ``psf`` None if unknown); None if not saved."""
        path = input_path(self.directory, case_id)
        if not path.exists():
            return None
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] if key in archive else None for key in ("y", "x", "psf")}


def read_run(directory: Path) -> Run:
    """A run folder's ``cases.csv`` (every column kept) and ``manifest.json``; an older format is refused."""
    directory = Path(directory)
    path = directory / "cases.csv"
    if not path.exists():
        raise ValueError(f"{directory} has no cases.csv; pass folders written by `bench run` (results/runs/<dataset>)")
    try:
        cases = read_cases(path)
    except (ValueError, pd.errors.ParserError) as error:
        raise ValueError(f"{path} cannot be read as a run's rows ({error}); recompute the run with bench run") from None
    return Run(directory, cases, read_manifest(directory))


class RunFolder:
    """The files of one run folder, written by one process at a time (see :meth:`locked`)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.columns = list(CASE_COLUMNS)
        #: Number of the ``bench run`` writing now (see :meth:`start_invocation`); new rows carry it.
        self.invocation: int | None = None

    def start_invocation(self, manifest: Mapping[str, Any]) -> dict[str, Any]:
        """``manifest`` with the folder's history: every earlier invocation's record kept, this one appended.

        A folder receives many ``bench run`` calls (other methods, resumed
        runs, other machines); each gets the next number, its record
        (configuration, time, machine, versions) stays in ``invocations``,
        and each row it writes carries the number in its ``invocation`` column.
        """
        path = self.path / "manifest.json"
        previous = json.loads(path.read_text()) if path.exists() else {}
        history = list(previous.get("invocations", [])) if previous.get("format") == FORMAT_VERSION else []
        self.invocation = len(history) + 1
        record = {"invocation": self.invocation, **manifest}
        return {**manifest, "invocation": self.invocation, "invocations": [*history, record]}

    @contextlib.contextmanager
    def locked(self, log: Callable[[str], None] = print) -> Iterator[RunFolder]:
        """Hold the folder's lock; wait, saying so, while another run holds it."""
        with open(self.path / ".lock", "a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                holder = handle.read().strip() or "another process"
                log(f"waiting for {holder} to finish writing {self.path}")
                fcntl.flock(handle, fcntl.LOCK_EX)
            handle.seek(0)
            handle.truncate()
            handle.write(f"bench run (pid {os.getpid()} on {socket.gethostname()}, since {now()})")
            handle.flush()
            try:
                yield self
            finally:
                handle.truncate(0)
                fcntl.flock(handle, fcntl.LOCK_UN)

    def read_rows(self) -> pd.DataFrame:
        """The finished rows; a folder of an older format is refused (:func:`read_manifest`)."""
        path = self.path / "cases.csv"
        if not path.exists():
            return pd.DataFrame(columns=self.columns)
        read_manifest(self.path)
        return read_cases(path).reindex(columns=self.columns)

    def append(self, rows: pd.DataFrame, row: dict[str, Any]) -> pd.DataFrame:
        """Replace any older row of the same (method, label, dataset, case), write ``cases.csv``; return the rows."""
        if self.invocation is not None:
            row.setdefault("invocation", self.invocation)
        trace = row.pop("traceback", None)
        if trace:
            with open(self.path / "errors.log", "a") as log:
                log.write(f"--- {row['label']} {row['case_id']}\n{trace}\n")
        same = (rows.method == row["method"]) & (rows.label == row["label"]) & (rows.dataset == row["dataset"])
        keep = ~(same & (rows.case_id == row["case_id"]))
        new = pd.DataFrame([{column: row.get(column, math.nan) for column in self.columns}])
        rows = new if rows.empty else pd.concat([rows[keep], new], ignore_index=True)
        self.write_csv(rows, "cases.csv")
        return rows

    def write_csv(self, frame: pd.DataFrame, name: str) -> None:
        write_atomic(self.path / name, frame.to_csv(index=False))

    def write_json(self, data: Mapping[str, Any], name: str) -> None:
        write_atomic(self.path / name, json.dumps(data, indent=1, default=str))

    def write_output(self, label: str, case_id: str, arrays: Mapping[str, np.ndarray]) -> None:
        """Save a restoration (``x_hat``, ``psf_hat``) as ``outputs/<label>/<case_id>.npz``, atomically."""
        path = output_path(self.path, label, case_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, npz_bytes(arrays))

    def write_input(self, case: Case) -> None:
        """Save a case's ``y``, ``x`` and ``psf`` (those it has) as ``inputs/<case_id>.npz``, unless already there."""
        path = input_path(self.path, case.case_id)
        if path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {key: getattr(case, key) for key in ("y", "x", "psf") if getattr(case, key) is not None}
        write_atomic(path, npz_bytes(arrays))

    def output_ok(self, label: str, case_id: str) -> bool:
        """Whether a saved restoration exists and reads back whole (a partial or corrupt file is redone)."""
        path = output_path(self.path, label, case_id)
        try:
            with zipfile.ZipFile(path) as archive:
                if "x_hat.npy" not in archive.namelist() or archive.testzip() is not None:
                    return False
                np.load(io.BytesIO(archive.read("x_hat.npy")), allow_pickle=False)
        except (OSError, ValueError, zipfile.BadZipFile):
            return False
        return True


def leaderboard(cases: pd.DataFrame) -> pd.DataFrame:
    """One row per (dataset, label, noise): n, mean and std of each metric, median time, device.

    Only finished rows are scored; ``n_failed`` counts the others so a method
    cannot climb the table by failing on hard cases.
    """
    columns = ["dataset", "method", "label", "track", "noise", "n", "n_failed"]
    columns += [f"{m}_{s}" for m in METRICS for s in ("mean", "std")] + ["time_s_median", "device"]
    if cases.empty:
        return pd.DataFrame(columns=columns)
    keys = ["dataset", "method", "label", "track", "noise"]
    cases = cases.reindex(columns=[*cases.columns, *(m for m in METRICS if m not in cases.columns)])  # absent: empty
    ok = cases[cases.status == "ok"]
    board = ok.groupby(keys, sort=False).agg(
        n=("case_id", "size"),
        **{f"{m}_{s}": (m, s) for m in METRICS for s in ("mean", "std")},
        time_s_median=("time_s", "median"),
        device=("device", lambda d: ", ".join(sorted(set(d)))),
    )
    failed = cases[cases.status != "ok"].groupby(keys, sort=False).size().rename("n_failed")
    board = board.join(failed, how="outer").reset_index()
    board["n"] = board["n"].fillna(0).astype(int)
    board["n_failed"] = board["n_failed"].fillna(0).astype(int)
    noise_order = {noise: i for i, noise in enumerate(dict.fromkeys(cases.noise))}
    board = board.assign(_order=board.noise.map(noise_order)).sort_values(["dataset", "_order", "label"])
    return board.reindex(columns=columns).reset_index(drop=True)
