"""Run methods on a dataset's cases: isolate, time, score, write as you go, resume.

Every (method label, case) result is appended to ``cases.csv`` and the file is
replaced atomically, so a crash loses nothing finished. Each row carries its
``label`` (:func:`bench.config.method_label`): runs of one method with other
parameters (``budget=full`` after ``budget=fast``) add rows beside the older
ones, a rerun with the same label replaces them. A rerun into the same folder
skips every row already finished with the same method parameters, weights
(checkpoint sha256), dataset configuration and device. An exception in a
method becomes a row with ``status=error`` and its message; the other methods
go on.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import subprocess
import tempfile
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import pandas as pd
import torch
from omegaconf import OmegaConf

from bench.api import BaseMethod, Case, track_of
from bench.cases import CaseStore, default_cache_dir
from bench.config import compose, make_dataset, make_method, method_label, method_parameters, split_overrides
from bench.images_out import restoration_path, write_restoration
from bench.metrics import CaseScorer
from bench.registry import Registry, load_registry
from bench.report import has_labels, leaderboard, output_path, read_cases
from bench.timing import device_name, environment, timed

__all__ = ["CASE_COLUMNS", "RunOutcome", "call_method", "resolve_methods", "run_benchmark"]

CASE_COLUMNS = [
    "method", "label", "dataset", "case_id", "image", "noise", "blind", "track",
    "psnr", "ssim", "psf_snr", "psf_psnr", "reblur_psnr",
    "reblur_residual", "negative_fraction", "peak_ratio", "ringing", "line_contrast", "line_fwhm_um",
    "time_s", "peak_memory_mb", "device", "status", "error", "params", "info", "run_key",
]  # fmt: skip


@dataclass
class RunOutcome:
    """Where a run wrote its files, its tables, and the methods it skipped (with reasons)."""

    out: Path
    cases: pd.DataFrame
    leaderboard: pd.DataFrame
    skipped: dict[str, str] = field(default_factory=dict)


def resolve_methods(spec: str, registry: Registry) -> list[str]:
    """Method names from ``all`` or ``name[,name...]``; unknown names raise, listing the available ones."""
    if spec == "all":
        return sorted(registry.methods)
    names = [name.strip() for name in spec.split(",") if name.strip()]
    for name in names:
        registry.method(name)
    return names


def run_benchmark(
    methods: str = "all",
    dataset: str = "fresnel-zernike",
    overrides: Sequence[str] = (),
    *,
    progress: Callable[[Iterable[Any], int, str], Iterable[Any]] | None = None,
    log: Callable[[str], None] = print,
) -> RunOutcome:
    """Run ``methods`` on ``dataset`` with hydra and method overrides; see ``bench run --help``.

    ``progress(iterable, total, description)`` wraps the loop over cases (a
    progress bar); ``log`` receives one line per skipped method.
    """
    registry = load_registry()
    names = resolve_methods(methods, registry)
    hydra_overrides, method_overrides = split_overrides(overrides, list(registry.methods))
    for name in method_overrides:
        if name not in names:
            raise ValueError(f"override for {name!r}, which is not in this run ({', '.join(names)})")
        make_method(registry.method(name), method_overrides[name])  # bad parameters fail before any work
    cfg = compose(hydra_overrides, dataset=dataset)
    device = torch.device(cfg.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device=cuda requested but torch sees no CUDA device; use --device cpu")
    data, data_params = make_dataset(cfg, registry)
    store = CaseStore(data, data_params, Path(cfg.cache_dir) if cfg.cache_dir else default_cache_dir())
    cases = store.load()
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)

    rows = _read_rows(out / "cases.csv")
    manifest = _manifest(cfg, names, store, device)
    _write_text(out / "manifest.json", json.dumps(manifest, indent=1, default=str))
    skipped: dict[str, str] = {}
    scorers = {case.case_id: CaseScorer.for_case(case) for case in cases}  # the input's share, once per case
    for name in names:
        rows, reason = _run_method(
            registry.method(name), method_overrides.get(name, []), cases, data.name, store.key,
            device, rows, out, bool(cfg.save_outputs), progress, scorers,
        )  # fmt: skip
        if reason:
            skipped[name] = reason
            log(f"skipped {name}: {reason}")
    board = leaderboard(rows)
    _write_csv(board, out / "leaderboard.csv")
    manifest.update(finished=_now(), skipped=skipped)
    _write_text(out / "manifest.json", json.dumps(manifest, indent=1, default=str))
    return RunOutcome(out=out, cases=rows, leaderboard=board, skipped=skipped)


def _run_method(
    method_cls: type[BaseMethod],
    overrides: list[str],
    cases: list[Case],
    dataset: str,
    dataset_key: str,
    device: torch.device,
    rows: pd.DataFrame,
    out: Path,
    save_outputs: bool,
    progress: Callable | None,
    scorers: dict[str, CaseScorer],
) -> tuple[pd.DataFrame, str | None]:
    """Run one method on every unfinished case; returns the updated rows and a skip reason."""
    name = method_cls.name
    params = method_parameters(method_cls, overrides)  # unknown names were rejected by run_benchmark
    label = method_label(method_cls, params)
    params_json = json.dumps(params, sort_keys=True, default=str)
    try:
        method = method_cls(**params)
    except Exception as error:  # bad values: every case of this method fails the same way
        error_text = f"{type(error).__name__}: {error}"
        return _record_all(rows, out, method_cls, label, params_json, cases, dataset, error_text, device), None
    reason = method.unavailable(device) or method.unsupported_dims({case.y.ndim for case in cases})
    if reason:
        return rows, reason
    digest = method.weights_digest()
    key = f"{params_json}|{dataset_key}|{device.type}" + (f"|{digest}" if digest else "")
    run_key = hashlib.sha256(key.encode()).hexdigest()[:12]
    done = set(rows.loc[(rows.method == name) & (rows.run_key == run_key) & (rows.status == "ok"), "case_id"])
    if save_outputs:  # a row finished without --save-outputs is redone to save its images
        done = {case_id for case_id in done if output_path(out, label, case_id).exists()}
    todo = [case for case in cases if case.case_id not in done]
    if not todo:
        return rows, None
    try:
        method.prepare(device)
        call_method(method, todo[0], device)  # warm-up, not timed
    except Exception:
        pass  # the timed call below fails the same way and records why
    iterator = progress(todo, len(todo), label) if progress else todo
    for case in iterator:
        output = output_path(out, label, case.case_id) if save_outputs else None
        image = restoration_path(out, label, case.case_id)
        row = _run_case(method, case, device, output, scorers[case.case_id], image)
        row.update(method=name, label=label, dataset=dataset, params=params_json, run_key=run_key)
        rows = _append(rows, row, out)
    return rows, None


def call_method(method: BaseMethod, case: Case, device: torch.device):
    """Run ``method`` on one case: its arrays as (1, 1, H, W) or (1, 1, D, H, W) tensors on ``device``, no autograd.

    What the method is told follows its track (:func:`bench.api.track_of`): the
    PSF for ``non-blind``, the case's optics for ``blind+optics``, nothing else for ``blind``.
    """
    y = torch.from_numpy(case.y)[None, None].to(device)
    track, extra = track_of(method), {}
    if track == "non-blind":
        if case.psf is None:
            raise ValueError(f"{method.name} is non-blind but case {case.case_id} has no PSF; run blind methods on it")
        psf = torch.from_numpy(case.psf)[None, None].to(device)
    else:
        psf = None
    if track == "blind+optics":
        if case.optics is None:
            raise ValueError(
                f"{method.name} runs in the blind+optics track but case {case.case_id} states no optics "
                f"(meta 'optics' or 'fc'); run it with {method.name}.track=blind"
            )
        extra["optics"] = case.optics
    with torch.no_grad():
        return method.run(y, psf, **extra)


def _run_case(
    method: BaseMethod, case: Case, device: torch.device, output: Path | None, scorer: CaseScorer, image: Path
) -> dict[str, Any]:
    """One timed, scored call, its restoration written as a TIFF to ``image`` (and arrays to ``output`` if given)."""
    row = _case_row(case, method.blind, device)
    row["track"] = track_of(method)
    try:
        result, timing = timed(lambda: call_method(method, case, device), device)
        x_hat = _to_image(result.x_hat, case.y.shape, "x_hat")
        psf_hat = None if result.psf_hat is None else _to_image(result.psf_hat, None, "psf_hat")
        row.update(scorer(x_hat, psf_hat))
        write_restoration(image, x_hat, case.meta)
        row.update(time_s=timing.seconds, peak_memory_mb=timing.peak_memory_mb, status="ok", error="")
        row["info"] = json.dumps({k: v for k, v in result.info.items() if isinstance(v, (int, float, str, bool))})
        if output is not None:
            arrays = {"x_hat": x_hat} if psf_hat is None else {"x_hat": x_hat, "psf_hat": psf_hat}
            output.parent.mkdir(parents=True, exist_ok=True)
            np.savez_compressed(output, **arrays)
    except Exception as error:
        row.update(status="error", error=f"{type(error).__name__}: {error}".strip())
        row["traceback"] = traceback.format_exc(limit=-3)
    return row


def _to_image(tensor: torch.Tensor, shape: tuple[int, ...] | None, what: str) -> np.ndarray:
    """(1, 1, H, W) or (1, 1, D, H, W) tensor -> finite float32 (H, W) or (D, H, W) array, or a clear error."""
    if not isinstance(tensor, torch.Tensor) or tensor.ndim not in (4, 5) or tensor.shape[:2] != (1, 1):
        got = getattr(tensor, "shape", type(tensor))
        raise ValueError(f"method returned {what} of shape {got}, expected (1, 1, H, W) or (1, 1, D, H, W)")
    array = tensor[0, 0].detach().float().cpu().numpy()
    if shape is not None and array.shape != shape:
        raise ValueError(f"method returned {what} of shape {array.shape}, expected {shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"method returned {what} with {int((~np.isfinite(array)).sum())} NaN/Inf values")
    return array


def _case_row(case: Case, blind: bool, device: torch.device) -> dict[str, Any]:
    """The columns of a row that come from the case and the run, before the method is called."""
    return {
        "case_id": case.case_id, "image": case.meta.get("image", case.case_id), "noise": case.noise,
        "blind": blind, "device": device_name(device),
    }  # fmt: skip


def _record_all(
    rows: pd.DataFrame, out: Path, method_cls: type[BaseMethod], label: str, params_json: str, cases: list[Case],
    dataset: str, error: str, device: torch.device,
) -> pd.DataFrame:
    """An error row for every case: the method could not be built."""
    for case in cases:
        row = _case_row(case, method_cls.blind, device)
        row.update(method=method_cls.name, label=label, dataset=dataset, status="error", error=error,
                   params=params_json, run_key="")  # fmt: skip
        rows = _append(rows, row, out)
    return rows


def _append(rows: pd.DataFrame, row: dict[str, Any], out: Path) -> pd.DataFrame:
    """Replace any older row of the same (method, label, dataset, case) and write cases.csv atomically."""
    trace = row.pop("traceback", None)
    if trace:
        with open(out / "errors.log", "a") as log:
            log.write(f"--- {row['label']} {row['case_id']}\n{trace}\n")
    same = (rows.method == row["method"]) & (rows.label == row["label"]) & (rows.dataset == row["dataset"])
    keep = ~(same & (rows.case_id == row["case_id"]))
    new = pd.DataFrame([{column: row.get(column, math.nan) for column in CASE_COLUMNS}])
    rows = new if rows.empty else pd.concat([rows[keep], new], ignore_index=True)
    _write_csv(rows, out / "cases.csv")
    return rows


def _read_rows(path: Path) -> pd.DataFrame:
    """The finished rows of a run folder; a folder from before labels is brought up to date first."""
    if not path.exists():
        return pd.DataFrame(columns=CASE_COLUMNS)
    rows = read_cases(path).reindex(columns=CASE_COLUMNS)
    if not has_labels(path):
        _move_unlabelled_outputs(rows, path.parent)
        _write_csv(rows, path)
    return rows


def _move_unlabelled_outputs(rows: pd.DataFrame, out: Path) -> None:
    """Move the images a run saved before labels existed from ``outputs/<method>/`` to their label's folder."""
    folders = set()
    for row in rows[rows.label != rows.method].itertuples():
        source, target = output_path(out, row.method, row.case_id), output_path(out, row.label, row.case_id)
        if source.exists() and not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            source.replace(target)
            folders.add(source.parent)
    for folder in folders:
        if not any(folder.iterdir()):
            folder.rmdir()


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    _write_text(path, frame.to_csv(index=False))


def _write_text(path: Path, text: str) -> None:
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, prefix=f".{path.name}.") as handle:
        handle.write(text)
    os.replace(handle.name, path)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _manifest(cfg, names: list[str], store: CaseStore, device: torch.device) -> dict[str, Any]:
    """What a reader needs to reproduce the run: config, code version, libraries, machine."""
    machine = environment(device)
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=Path(__file__).parent, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = None
    return {
        "started": _now(),
        "methods": names,
        "config": OmegaConf.to_container(cfg, resolve=True),
        "dataset_cache": str(store.directory),
        "seed": cfg.dataset.get("seed"),
        "git_commit": commit,
        "versions": machine.pop("versions"),
        "machine": machine,
    }
