"""Run methods on a dataset's cases: plan, run each (method, case) on a Dask worker, write as you go, resume.

The client (this process) plans the run, submits one task per unfinished
(method label, case) to :mod:`bench.run.engine` and is the only writer: each
row is added to ``cases.csv`` atomically as its task finishes, under the run
folder's lock (:class:`bench.run.runfolder.RunFolder`), so a crash loses nothing
finished and two runs into one folder lose no row.

A worker (:func:`run_task`) builds the method once per process, runs
``prepare`` and one untimed warm-up call, then the timed call on a copy of the
case's arrays, and scores it. Each row's ``status`` says what happened:

- ``ok``: scored;
- ``error``: the method raised (message in ``error``, traceback in
  ``errors.log``), including in ``prepare`` or the warm-up;
- ``timeout``: no result within the method's ``timeout_s``; its worker was
  restarted;
- ``crashed``: the method ended its worker (segfault, ``os._exit``,
  ``sys.exit``, out of memory).

Each row carries its ``label`` (:func:`bench.config.method_label`) and a
``run_key`` hashing the method parameters, weights (checkpoint sha256), the
cases (dataset configuration and the code generating them), the device and
``code``, the digest of the method's code (:mod:`bench.system.codeversion`). A
rerun into the same folder recomputes exactly the rows whose key changed,
that did not finish ``ok``, or (with ``--save-outputs``) whose saved images
are missing or unreadable; ``bench run --dry-run`` lists them with the reason.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import os
import re
import traceback
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd
import torch
from omegaconf import OmegaConf

from bench.api import BaseMethod, Case, track_of
from bench.run.cases import CaseStore, cache_dir
from bench.system.codeversion import code_digest
from bench.config import (
    compose,
    make_dataset,
    method_label,
    method_parameters,
    split_overrides,
)
from bench.run.images_out import restoration_path, write_restoration
from bench.system.measure import device_name, environment, git_commit, timed
from bench.score.case import CaseScorer
from bench.registry import Registry, load_registry
from bench.run.engine import Task, TaskFailure, dask_client, engine_settings, run_tasks
from bench.run.runfolder import FORMAT_VERSION, RunFolder, leaderboard, now

__all__ = ["RunOutcome", "call_method", "method_code", "resolve_methods", "run_benchmark", "run_task"]

#: Modules besides a method's own whose code shapes its rows (the scores).
SCORING_MODULES = ("bench.score.case",)


@dataclass
class RunOutcome:
    """What a run did: its folder and tables, and which methods did not deliver.

    ``skipped`` maps methods that cannot run here to the reason, ``broken``
    plugin files that failed to import (with ``--method all``) to their error,
    ``failed`` lists labels without a single ``ok`` row among this run's
    cases; ``plan`` holds one entry per (label, case) computed (or, in a dry
    run, to compute) with the reason.
    """

    out: Path
    cases: pd.DataFrame
    leaderboard: pd.DataFrame
    skipped: dict[str, str] = field(default_factory=dict)
    broken: dict[str, str] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)
    plan: list[dict[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _MethodRun:
    """One method label of the run: how to build it and the key its rows must carry."""

    method_cls: type[BaseMethod]
    params: dict[str, Any]
    label: str
    run_key: str
    code: str
    timeout_s: float | None
    track: str


def resolve_methods(spec: str, registry: Registry) -> list[str]:
    """Method names from ``all`` or ``name[,name...]``; unknown names raise, listing the available ones."""
    if spec == "all":
        return sorted(registry.methods)
    names = [name.strip() for name in spec.split(",") if name.strip()]
    if not names:
        raise ValueError(f"--method needs 'all' or method names, got {spec!r}")
    for name in names:
        registry.method(name)
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"--method names {', '.join(repeated)} more than once; name each method once")
    return names


def method_code(method_cls: type[BaseMethod]) -> str:
    """Digest of the code behind a method's rows: its plugin, the bench modules it uses, the scoring."""
    return code_digest(method_cls.__module__, *SCORING_MODULES)


def run_benchmark(
    methods: str = "all",
    dataset: str = "fresnel-zernike",
    overrides: Sequence[str] = (),
    *,
    plugins: Sequence[str] = (),
    dry_run: bool = False,
    progress: Callable[[str, int], Callable[[], None]] | None = None,
    log: Callable[[str], None] = print,
) -> RunOutcome:
    """Run ``methods`` on ``dataset`` with hydra and method overrides; see ``bench run --help``.

    ``plugins`` are extra plugin folders (``--plugins``); ``dry_run`` plans
    without running or writing anything. ``progress(label, total)`` returns a
    function called once per finished case of that label (a progress bar);
    ``log`` receives one line per skipped or broken method and per warning.
    """
    for plugin_folder in plugins:
        if not Path(plugin_folder).is_dir():
            raise ValueError(f"--plugins {plugin_folder}: no such folder (give a folder of method plugin files)")
    plugins = tuple(str(Path(plugin_folder).resolve()) for plugin_folder in plugins)
    registry = load_registry(plugins)
    names = resolve_methods(methods, registry)
    broken = (
        {b.source: b.error.splitlines()[-1] for b in registry.broken if b.kind == "method"} if methods == "all" else {}
    )
    hydra_overrides, method_overrides = split_overrides(overrides, list(registry.methods))
    for name in method_overrides:
        if name not in names:
            raise ValueError(f"override for {name!r}, which is not in this run ({', '.join(names)})")
    params = {name: method_parameters(registry.method(name), method_overrides.get(name, [])) for name in names}
    cfg = compose(hydra_overrides, dataset=dataset)
    device = _device(cfg.device)
    if not isinstance(cfg.save_outputs, bool):
        raise ValueError(f"save_outputs must be true or false, got {cfg.save_outputs!r}")
    engine = cast(dict[str, Any], OmegaConf.to_container(cfg.engine, resolve=True))  # a mapping in config.yaml
    settings = engine_settings(engine, gpu=device.type == "cuda")
    if device.type == "cuda" and not settings.scheduler and not torch.cuda.is_available():
        raise ValueError("device=cuda requested but torch sees no CUDA device; use --device cpu")
    timeouts = _timeouts(cfg, names)
    data, data_params = make_dataset(cfg, registry)
    store = CaseStore(data, data_params, cache_dir(cfg.cache_dir))
    cases = store.load()
    if not cases:
        raise ValueError(
            f"dataset {data.name!r} has no cases with these settings (an empty dataset.images or dataset.noise?); "
            "give at least one image and one noise level"
        )
    folder = RunFolder(_output_folder(cfg.out, create=not dry_run))
    for source, error in broken.items():
        log(f"failed to load {source}: {error}")
    if dry_run:
        return _dry_run(registry, names, params, timeouts, cases, data.name, store.key, device, folder, cfg, broken)
    with folder.locked(log):
        return _run(registry, names, params, timeouts, cases, data.name, store, device, folder, cfg, broken, settings,
                    plugins, progress, log)  # fmt: skip


def _run(registry, names, params, timeouts, cases, dataset, store, device, folder, cfg, broken, settings, plugins,
         progress, log) -> RunOutcome:  # fmt: skip
    """The run proper, under the folder's lock: plan, submit, write each row as it comes."""
    rows = folder.read_rows()
    manifest = folder.start_invocation(_manifest(cfg, names, store, device, plugins))
    folder.write_json(manifest, "manifest.json")
    save_outputs = bool(cfg.save_outputs)
    for case in cases if save_outputs else ():
        folder.write_input(case)
    dims = {case.y.ndim for case in cases}
    skipped: dict[str, str] = {}
    plan: list[dict[str, str]] = []
    tasks: list[Task] = []
    runs: dict[str, _MethodRun] = {}
    scorers = {case.case_id: CaseScorer.for_case(case) for case in cases}  # the input's share, once per case
    work: dict[str, tuple[_MethodRun, Case]] = {}  # task key -> what it computes
    for name in names:
        run, reason = _plan_method(registry.method(name), params[name], timeouts[name], store.key, device, dims)
        if isinstance(reason, str):
            skipped[name] = reason
            log(f"skipped {name}: {reason}")
            continue
        runs[run.label] = run
        if reason is not None:  # the method cannot be built: every case fails the same way
            for case in cases:
                rows = folder.append(rows, _failure_row(run, case, dataset, device, "error", reason))
            continue
        for case, why in _todo(run, cases, rows, folder, save_outputs):
            plan.append({"label": run.label, "case_id": case.case_id, "reason": why})
            key = f"{run.label}|{case.case_id}|{uuid.uuid4().hex[:12]}"
            work[key] = (run, case)
            task_args = (name, run.params, plugins, run.code, case, scorers[case.case_id], device.type)
            tasks.append(Task(key, run_task, task_args, run.timeout_s, {"GPU": 1} if device.type == "cuda" else {}))
    advance = {}
    for label in dict.fromkeys(entry["label"] for entry in plan):
        advance[label] = progress(label, sum(entry["label"] == label for entry in plan)) if progress else _nothing
    if tasks:
        with dask_client(settings) as client:
            for task, result in run_tasks(client, tasks, settings.threads, log=log):
                run, case = work[task.key]
                if isinstance(result, TaskFailure):
                    row = _failure_row(run, case, dataset, device, result.status, result.error)
                else:
                    row = dict(result)
                    outputs = row.pop("outputs", None)
                    if outputs is not None:
                        write_restoration(
                            restoration_path(folder.path, run.label, case.case_id), outputs["x_hat"], case.meta
                        )
                        if save_outputs:
                            folder.write_output(run.label, case.case_id, outputs)
                    row.update(label=run.label, track=run.track, dataset=dataset, run_key=run.run_key, code=run.code,
                               params=_params_json(run.params))  # fmt: skip
                rows = folder.append(rows, row)
                advance[run.label]()
    board = leaderboard(rows)
    folder.write_csv(board, "leaderboard.csv")
    mine = rows[rows.label.isin(list(runs)) & rows.case_id.isin([case.case_id for case in cases])]
    failed = sorted(label for label in runs if not (mine[mine.label == label].status == "ok").any())
    warnings = _load_warnings(rows[rows.label.isin([p["label"] for p in plan])])
    for warning in warnings:
        log(f"warning: {warning}")
    outcome = {"finished": now(), "skipped": skipped, "broken_plugins": broken, "failed": failed, "warnings": warnings}
    manifest.update(outcome)
    manifest["invocations"][-1].update(outcome)
    folder.write_json(manifest, "manifest.json")
    return RunOutcome(folder.path, rows, board, skipped, broken, failed, plan, warnings)


def _nothing() -> None:
    """A progress callback that shows nothing."""


def _plan_method(
    method_cls: type[BaseMethod],
    params: dict[str, Any],
    timeout_s: float | None,
    dataset_key: str,
    device: torch.device,
    dims: set[int],
) -> tuple[_MethodRun, str | None | Exception]:
    """The label and key of a method's rows; a skip reason (str), a build error, or None when it can run."""
    label = method_label(method_cls, params)
    code = method_code(method_cls)
    try:
        method = method_cls(**params)
    except Exception as error:  # bad values: reported on every case
        run = _MethodRun(method_cls, params, label, "", code, timeout_s, "blind" if method_cls.blind else "non-blind")
        return run, RuntimeError(f"{type(error).__name__}: {error}")
    reason = method.unavailable(device) or method.unsupported_dims(dims)
    digest = method.weights_digest()
    key = f"{_params_json(params)}|{dataset_key}|{device.type}|{code}" + (f"|{digest}" if digest else "")
    run_key = hashlib.sha256(key.encode()).hexdigest()[:12]
    run = _MethodRun(method_cls, params, label, run_key, code, timeout_s, track_of(method))
    return run, reason


def _todo(
    run: _MethodRun, cases: list[Case], rows: pd.DataFrame, folder: RunFolder, save_outputs: bool
) -> list[tuple[Case, str]]:
    """The cases of ``run`` to compute and why: no row, failed, stale key, or missing saved images."""
    mine = rows[(rows.method == run.method_cls.name) & (rows.label == run.label)].drop_duplicates(
        "case_id", keep="last"
    )
    by_case = mine.set_index("case_id")
    todo = []
    for case in cases:
        if case.case_id not in by_case.index:
            todo.append((case, "new"))
            continue
        row = by_case.loc[case.case_id]
        if row.status != "ok":
            todo.append((case, f"failed before ({row.status})"))
        elif row.code != run.code:
            todo.append((case, "code changed"))
        elif row.run_key != run.run_key:
            todo.append((case, "parameters, weights, cases or device changed"))
        elif save_outputs and not folder.output_ok(run.label, case.case_id):
            todo.append((case, "saved images missing or unreadable"))
    return todo


def _dry_run(registry, names, params, timeouts, cases, dataset, dataset_key, device, folder, cfg, broken) -> RunOutcome:
    """What a run would compute and why, touching nothing."""
    rows = folder.read_rows()
    plan, skipped, dims = [], {}, {case.y.ndim for case in cases}
    for name in names:
        run, reason = _plan_method(registry.method(name), params[name], timeouts[name], dataset_key, device, dims)
        if isinstance(reason, str):
            skipped[name] = reason
        elif reason is not None:
            plan += [
                {"label": run.label, "case_id": case.case_id, "reason": f"cannot be built ({reason})"} for case in cases
            ]
        else:
            todo = _todo(run, cases, rows, folder, bool(cfg.save_outputs))
            plan += [{"label": run.label, "case_id": case.case_id, "reason": why} for case, why in todo]
    return RunOutcome(folder.path, rows, pd.DataFrame(), skipped, broken, [], plan)


def _timeouts(cfg, names: Sequence[str]) -> dict[str, float | None]:
    """Each method's wall-clock limit per case: ``method_timeout_s.<name>``, else ``timeout_s`` (0 or null: none)."""
    if not OmegaConf.is_dict(cfg.method_timeout_s):
        raise ValueError(
            f"method_timeout_s maps method names to seconds, got {cfg.method_timeout_s!r}; "
            "write +method_timeout_s.NAME=SECONDS, or timeout_s=SECONDS for every method"
        )
    per_method = cast(dict[str, Any], OmegaConf.to_container(cfg.method_timeout_s, resolve=True))  # checked: a mapping
    unknown = sorted(set(per_method) - set(names))
    if unknown:
        raise ValueError(f"method_timeout_s names {unknown}, which are not in this run ({', '.join(names)})")
    limits = {}
    for name in names:
        value = per_method.get(name, cfg.timeout_s)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0):
            raise ValueError(f"timeouts are seconds >= 0 (0 or null: no limit), got {value!r} for {name}")
        limits[name] = float(value) if value else None
    return limits


def _device(name: Any) -> torch.device:
    """The torch device of ``device=``: cpu, cuda or cuda:N."""
    if not isinstance(name, str) or not re.fullmatch(r"cpu|cuda(:\d+)?", name):
        raise ValueError(f"device must be cpu, cuda or cuda:N, got {name!r}")
    return torch.device(name)


def _output_folder(path: Any, *, create: bool) -> Path:
    """The run folder, created if needed; a file in the way or an unwritable place is a clear error."""
    if not isinstance(path, str) or not path.strip():
        raise ValueError(f"out must be a folder path, got {path!r}")
    out = Path(path)
    for parent in [out, *out.parents]:
        if parent.exists() and not parent.is_dir():
            raise ValueError(f"output folder {out}: {parent} is a file, not a folder; choose another --out")
    if not create:
        return out
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ValueError(f"cannot create output folder {out}: {error.strerror}; choose another --out") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise ValueError(f"output folder {out} is not writable; choose another --out or fix its permissions")
    return out


def _params_json(params: Mapping[str, Any]) -> str:
    return json.dumps(params, sort_keys=True, default=str)


def _failure_row(
    run: _MethodRun, case: Case, dataset: str, device: torch.device, status: str, error: Any
) -> dict[str, Any]:
    """A row for a case without a result (build error, timeout, crash)."""
    row = _case_row(case, run.method_cls.blind, device)
    row.update(method=run.method_cls.name, label=run.label, track=run.track, dataset=dataset, status=status, error=str(error),
               params=_params_json(run.params), run_key=run.run_key, code=run.code)  # fmt: skip
    return row


def _load_warnings(rows: pd.DataFrame) -> list[str]:
    """A warning when this run's timings were taken with more runnable threads than cores."""
    cores = os.cpu_count() or 1
    load = pd.to_numeric(rows.load_avg, errors="coerce").max() if len(rows) else float("nan")
    if load > cores:
        return [
            f"timings taken on a loaded machine: load average up to {load:.1f} on {cores} core(s); "
            "compare times only from a quiet machine"
        ]
    return []


# --- worker side -------------------------------------------------------------------------------------------


@functools.cache
def _imported_code(name: str, plugins: tuple[str, ...]) -> str:
    """:func:`method_code` when this process first used the method: the code it runs, even if edited since."""
    return method_code(load_registry(plugins).method(name))


@functools.cache
def _worker_method(name: str, params_json: str, plugins: tuple[str, ...], device_type: str) -> dict[str, Any]:
    """The method instance of this worker process, prepared once: ``{"method", "error", "warm"}``."""
    method_cls = load_registry(plugins).method(name)
    state: dict[str, Any] = {"method": None, "error": None, "traceback": None, "warm": False}
    try:
        method = method_cls(**json.loads(params_json))
        method.prepare(torch.device(device_type))
        state["method"] = method
    except Exception as error:
        state.update(error=f"prepare: {type(error).__name__}: {error}", traceback=traceback.format_exc(limit=-3))
    return state


def run_task(
    name: str,
    params: dict[str, Any],
    plugins: tuple[str, ...],
    code: str,
    case: Case,
    scorer: CaseScorer,
    device_type: str,
) -> dict[str, Any]:
    """Worker side of one (method, case) task: the method's row for ``case``, its images under ``outputs``.

    The method is built and prepared once per worker process and warmed up by
    one untimed call; errors of ``prepare`` and of the warm-up are reported
    on the row. The method gets copies of the case's arrays, so nothing it
    does to them reaches the scoring or another method.
    """
    device = torch.device(device_type)
    method_cls = load_registry(plugins).method(name)
    row = _case_row(case, method_cls.blind, device)
    row["method"] = name
    here = _imported_code(name, plugins)
    if here != code:
        return {**row, "status": "error", "error": f"this worker has other code for {name} (digest {here}, run "
                f"expects {code}); install the same version of deconv-bench and plugins on every worker"}  # fmt: skip
    state = _worker_method(name, _params_json(params), plugins, device_type)
    if state["error"]:
        return {**row, "status": "error", "error": state["error"], "traceback": state["traceback"]}
    if not state["warm"]:
        failure = _guarded(lambda: call_method(state["method"], copy.deepcopy(case), device), "warm-up: ")
        if failure:
            return {**row, **failure}
        state["warm"] = True
    row.update(_run_case(state["method"], case, device, scorer))
    return row


def _guarded(call: Callable[[], Any], prefix: str = "") -> dict[str, Any] | None:
    """Run ``call``; None if it returned, else the status and error of what it raised.

    ``sys.exit`` and ``MemoryError`` are ``crashed`` (they would end a process
    on their own), any other exception is ``error``.
    """
    try:
        call()
    except SystemExit as error:
        return {"status": "crashed", "error": f"{prefix}the method called sys.exit({error.code!r})"}
    except MemoryError as error:
        return {"status": "crashed", "error": f"{prefix}out of memory (MemoryError: {error})"}
    except Exception as error:
        return {"status": "error", "error": f"{prefix}{type(error).__name__}: {error}".strip(),
                "traceback": traceback.format_exc(limit=-3)}  # fmt: skip
    return None


def call_method(method: BaseMethod, case: Case, device: torch.device):
    """Run ``method`` on one case: its arrays as (1, 1, H, W) or (1, 1, D, H, W) tensors on ``device``, no autograd.

    What the method is told follows its track (:func:`bench.api.track_of`): the
    PSF for ``non-blind``, the case's optics for ``blind+optics``, nothing else for ``blind``.
    """
    y = torch.from_numpy(case.y)[None, None].to(device)
    track = track_of(method)
    psf = optics = None
    if track == "non-blind":
        if case.psf is None:
            raise ValueError(f"{method.name} is non-blind but case {case.case_id} has no PSF; run blind methods on it")
        psf = torch.from_numpy(case.psf)[None, None].to(device)
    if track == "blind+optics":
        if case.optics is None:
            raise ValueError(
                f"{method.name} runs in the blind+optics track but case {case.case_id} states no optics "
                f"(meta 'optics' or 'fc'); run it with {method.name}.track=blind"
            )
        optics = case.optics
    with torch.no_grad():
        return method.run(y, psf, optics)


def _run_case(method: BaseMethod, case: Case, device: torch.device, scorer: CaseScorer) -> dict[str, Any]:
    """One timed, scored call on a copy of ``case``; the row holds its images under ``outputs`` (the client saves them)."""
    row: dict[str, Any] = {"threads": torch.get_num_threads()}
    load_before = os.getloadavg()[0]
    outcome: dict[str, Any] = {}

    def call() -> None:
        outcome["result"], outcome["timing"] = timed(lambda: call_method(method, copy.deepcopy(case), device), device)

    failure = _guarded(call)
    row["load_avg"] = max(load_before, os.getloadavg()[0])
    if failure:
        return {**row, **failure}
    result, timing = outcome["result"], outcome["timing"]
    try:
        x_hat = _to_image(result.x_hat, case.y.shape, "x_hat")
        psf_hat = None if result.psf_hat is None else _to_image(result.psf_hat, None, "psf_hat")
        row.update(scorer(x_hat, psf_hat))
    except Exception as error:
        return {**row, "status": "error", "error": f"{type(error).__name__}: {error}".strip(),
                "traceback": traceback.format_exc(limit=-3)}  # fmt: skip
    row.update(time_s=timing.seconds, peak_memory_mb=timing.peak_memory_mb, status="ok", error="")
    row["info"] = json.dumps({k: v for k, v in result.info.items() if isinstance(v, (int, float, str, bool))})
    row["outputs"] = {"x_hat": x_hat} if psf_hat is None else {"x_hat": x_hat, "psf_hat": psf_hat}
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


def _manifest(cfg, names: list[str], store: CaseStore, device: torch.device, plugins: Sequence[str]) -> dict[str, Any]:
    """What a reader needs to reproduce the run: config, code version, libraries, machine."""
    machine = environment(device)
    return {
        "format": FORMAT_VERSION,
        "started": now(),
        "methods": names,
        "plugin_folders": list(plugins),
        "config": OmegaConf.to_container(cfg, resolve=True),
        "dataset_cache": str(store.directory),
        "cases_code": store.code,
        "seed": cfg.dataset.get("seed"),
        "git_commit": git_commit(),
        "versions": machine.pop("versions"),
        "machine": machine,
    }
