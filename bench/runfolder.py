"""A run folder: its one writer, its rows, its saved images.

``bench run`` holds the folder's lock (``OUT/.lock``, an exclusive ``flock``)
from the first read of ``cases.csv`` to the last write, so a second run into
the same folder waits for the first instead of overwriting its rows. Every
file is replaced atomically (:func:`bench.files.write_atomic`): a kill loses
nothing finished, and a saved image is either complete or absent.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import json
import math
import os
import socket
import zipfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np
import pandas as pd

from bench.cases import npz_bytes
from bench.files import write_atomic
from bench.report import has_labels, output_path, read_cases

__all__ = ["RunFolder", "now"]


def now() -> str:
    """The current UTC time, ISO 8601 to the second."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class RunFolder:
    """The files of one run folder, written by one process at a time (see :meth:`locked`)."""

    def __init__(self, path: Path, columns: Sequence[str]) -> None:
        self.path = Path(path)
        self.columns = list(columns)

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
        """The finished rows; a folder from before labels is brought up to date first."""
        path = self.path / "cases.csv"
        if not path.exists():
            return pd.DataFrame(columns=self.columns)
        rows = read_cases(path).reindex(columns=self.columns)
        if not has_labels(path):
            self._move_unlabelled_outputs(rows)
            self.write_csv(rows, "cases.csv")
        return rows

    def append(self, rows: pd.DataFrame, row: dict[str, Any]) -> pd.DataFrame:
        """Replace any older row of the same (method, label, dataset, case), write ``cases.csv``; return the rows."""
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

    def _move_unlabelled_outputs(self, rows: pd.DataFrame) -> None:
        """Move images saved before labels existed from ``outputs/<method>/`` to their label's folder."""
        folders = set()
        for row in rows[rows.label != rows.method].itertuples():
            source, target = output_path(self.path, row.method, row.case_id), output_path(self.path, row.label, row.case_id)
            if source.exists() and not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                source.replace(target)
                folders.add(source.parent)
        for folder in folders:
            if not any(folder.iterdir()):
                folder.rmdir()
