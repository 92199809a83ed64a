"""``bench timing``: every method on one fixed case per image size, and time against image size.

Per method and size: a warm-up call and several timed repeats
(:func:`bench.system.measure.repeat_timed`), the median and spread, and a power-law
fit of time against pixel count per method.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.stats
import torch

from bench.api import Case
from bench.system.measure import environment, repeat_timed
from bench.report.tables import format_seconds

__all__ = [
    "TIMING_COLUMNS",
    "ScalingFit",
    "compare_to_peer",
    "fit_scaling",
    "run_timing",
    "scaling_table",
    "timing_case",
    "timing_markdown",
]  # fmt: skip

TIMING_COLUMNS = [
    "method", "size", "pixels", "repeats", "median_s", "min_s", "max_s", "spread_pct", "megapixels_per_s",
    "peak_memory_mb", "device", "device_type", "threads", "torch", "deepinv", "cuda", "driver",
    "status", "note", "peer", "ratio_to_peer", "max_abs_diff_to_peer",
]  # fmt: skip


@dataclass(frozen=True)
class ScalingFit:
    r"""Least-squares fit of :math:`\log t = \log a + b \log N` over image sizes (N pixels).

    ``exponent`` is b (1: linear in pixels; FFT methods sit a little above),
    ``seconds_per_megapixel`` the fitted time at N = 10^6, ``r2`` the
    coefficient of determination in log space (NaN with two points).
    """

    exponent: float
    seconds_per_megapixel: float
    r2: float
    points: int


def fit_scaling(pixels: Sequence[float], seconds: Sequence[float]) -> ScalingFit:
    """Fit time against pixel count as a power law (see :class:`ScalingFit`); needs two sizes or more."""
    n, t = np.asarray(pixels, dtype=float), np.asarray(seconds, dtype=float)
    keep = (n > 0) & (t > 0) & np.isfinite(t)
    n, t = n[keep], t[keep]
    if len(np.unique(n)) < 2:
        raise ValueError(f"a time-size fit needs positive times at two sizes or more, got {len(np.unique(n))}")
    line = scipy.stats.linregress(np.log(n), np.log(t))  # r is NaN when every time is equal
    return ScalingFit(
        exponent=float(line.slope),
        seconds_per_megapixel=float(math.exp(line.intercept + line.slope * math.log(1e6))),
        r2=float(line.rvalue**2) if len(n) > 2 else math.nan,
        points=len(n),
    )


#: Settings :func:`timing_case` chooses itself: overriding them would be silently undone.
_CASE_SETTINGS = ("dataset", "dataset.size", "dataset.images", "dataset.noise", "noise")


def timing_case(size: int, image: str = "camera", noise: str = "medium", overrides: Sequence[str] = ()) -> Case:
    """The ``fresnel-zernike`` case that times methods at ``size``²: ``image`` at ``noise``, cached like any case."""
    from bench.run.cases import CaseStore, cache_dir
    from bench.config import compose, make_dataset
    from bench.registry import load_registry

    cfg = compose([*overrides, f"dataset.size={size}", f"dataset.images=[{image}]", f"noise={noise}"])
    data, params = make_dataset(cfg, load_registry())
    return CaseStore(data, params, cache_dir(cfg.cache_dir)).load()[0]


def run_timing(
    methods: str = "all",
    sizes: Sequence[int] = (256, 512, 1024),
    overrides: Sequence[str] = (),
    *,
    repeats: int = 3,
    max_call_seconds: float = 5.0,
    device: str = "cpu",
    image: str = "camera",
    noise: str = "medium",
    peer: str | None = None,
    log: Callable[[str], None] = print,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Time every method on one ``fresnel-zernike`` case per image size: ``bench timing``.

    The case is ``image`` at noise level ``noise`` (default camera, medium),
    generated at each size and cached like any case. Per method and size: one
    warm-up call, then ``repeats`` timed calls. Sizes run smallest first; a
    size whose predicted call time (the last measured median scaled linearly
    with the pixel count, a lower bound for every method here) exceeds
    ``max_call_seconds`` is skipped with that reason, which keeps the default
    command to a few minutes on 2 CPU cores; raise it for a full table.

    With ``peer`` (one of the methods), every row also gets its median over
    the peer's at the same size (``ratio_to_peer``, both timed in this run)
    and the largest absolute difference between their restorations of the
    case (``max_abs_diff_to_peer``, from one more untimed call each).

    Returns the timing table (:data:`TIMING_COLUMNS`), the per-method fit of
    time against pixel count, and the environment.
    """
    from bench.config import make_method, split_overrides
    from bench.registry import load_registry
    from bench.run.runner import call_method, resolve_methods

    torch_device = torch.device(device)
    if torch_device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device=cuda requested but torch sees no CUDA device; use --device cpu")
    sizes = sorted({int(size) for size in sizes})
    if not sizes or sizes[0] < 16:
        raise ValueError(f"sizes must be integers >= 16, got {sizes}")
    registry = load_registry()
    names = resolve_methods(methods, registry)
    if peer is not None and peer not in names:
        raise ValueError(f"--peer {peer} must be one of the timed methods: {', '.join(names)}")
    if not max_call_seconds >= 0:
        raise ValueError(f"--max-call-seconds must be a number of seconds >= 0, got {max_call_seconds}")
    hydra_overrides, method_overrides = split_overrides(overrides, list(registry.methods))
    chosen = [item for item in hydra_overrides if item.split("=", 1)[0].lstrip("+~") in _CASE_SETTINGS]
    if chosen:
        raise ValueError(
            f"bench timing times one case per --sizes (fresnel-zernike, {image} at noise {noise}); "
            f"drop {' '.join(chosen)}"
        )
    env = environment(torch_device)
    cases = {size: timing_case(size, image, noise, hydra_overrides) for size in sizes}

    rows, outputs = [], {}
    for name in names:
        method, _ = make_method(registry.method(name), method_overrides.get(name, []))
        reason = method.unavailable(torch_device)
        if reason:
            log(f"skipped {name}: {reason}")
            continue
        method.prepare(torch_device)
        last: tuple[int, float] | None = None
        for size in sizes:
            row = {"method": name, "size": size, "pixels": size * size, "status": "ok", "note": ""}
            predicted = None if last is None else last[1] * size * size / last[0]
            if predicted is not None and predicted > max_call_seconds:
                row.update(status="skipped", note=f"predicted {predicted:.1f} s per call > max {max_call_seconds:g} s")
            else:
                try:
                    timing = repeat_timed(
                        lambda: call_method(method, cases[size], torch_device), torch_device, repeats=repeats
                    )
                    row.update(
                        repeats=repeats, median_s=timing.median, min_s=min(timing.seconds), max_s=max(timing.seconds),
                        spread_pct=timing.spread_pct, megapixels_per_s=size * size / 1e6 / timing.median,
                        peak_memory_mb=timing.peak_memory_mb,
                    )  # fmt: skip
                    last = (size * size, timing.median)
                    if peer is not None:
                        outputs[name, size] = call_method(method, cases[size], torch_device).x_hat.cpu().numpy()
                except Exception as error:  # one failing method never stops the others
                    row.update(status="error", note=f"{type(error).__name__}: {error}")
            row.update({key: env[key] for key in ("device", "device_type", "threads", "cuda", "driver")})
            row.update(torch=env["versions"]["torch"], deepinv=env["versions"]["deepinv"])
            rows.append(row)
            log(
                f"{name} {size}²: {row['status']}"
                + (f" {row['median_s']:.4f} s" if row["status"] == "ok" else f" ({row['note']})")
            )
    table = pd.DataFrame(rows).reindex(columns=TIMING_COLUMNS).astype({"repeats": "Int64"})
    if peer is not None:
        table = compare_to_peer(table, outputs, peer)
    return table, scaling_table(table), env


def compare_to_peer(table: pd.DataFrame, outputs: dict[tuple[str, int], np.ndarray], peer: str) -> pd.DataFrame:
    """Fill ``peer``, ``ratio_to_peer`` and ``max_abs_diff_to_peer`` of each finished row at a size the peer finished."""
    table = table.copy()
    peer_seconds = table[(table["method"] == peer) & (table["status"] == "ok")].set_index("size")["median_s"]
    table["peer"] = peer
    for index, row in table[table["status"] == "ok"].iterrows():
        if row["size"] in peer_seconds.index:
            table.at[index, "ratio_to_peer"] = row["median_s"] / peer_seconds[row["size"]]
            difference = np.abs(outputs[row["method"], row["size"]] - outputs[peer, row["size"]])
            table.at[index, "max_abs_diff_to_peer"] = float(difference.max())
    return table


def scaling_table(table: pd.DataFrame) -> pd.DataFrame:
    """Per method, :func:`fit_scaling` over its finished sizes (methods timed at one size get no row)."""
    fits = []
    for method, rows in table[table.status == "ok"].groupby("method", sort=False):
        if rows["pixels"].nunique() < 2:
            continue
        fit = fit_scaling(rows["pixels"], rows["median_s"])
        fits.append({"method": method, "sizes": ",".join(map(str, rows["size"])), **vars(fit)})
    return pd.DataFrame(fits, columns=["method", "sizes", "exponent", "seconds_per_megapixel", "r2", "points"])


def timing_markdown(table: pd.DataFrame, fits: pd.DataFrame, env: dict[str, Any]) -> str:
    """The timing table as markdown: median (spread) per method and size, and the fitted exponent."""
    sizes = sorted(table["size"].unique())
    header = ["method", *[f"{size}²" for size in sizes], "time ∝ pixels^b", "s per Mpx (fit)"]
    lines = [
        f"Device: {env['device']}, torch {env['versions']['torch']}, deepinv {env['versions']['deepinv']}"
        + (f", CUDA {env['cuda']}, driver {env['driver']}" if env["device_type"] == "cuda" else "")
        + f", {env['threads']} threads. Median of the repeats (spread = (max − min) / median).",
        "",
        "| " + " | ".join(header) + " |",
        "| " + " | ".join(["---"] + ["---:"] * (len(header) - 1)) + " |",
    ]
    for method, rows in table.groupby("method", sort=False):
        cells = []
        for size in sizes:
            match = rows[rows["size"] == size]
            if match.empty:
                cells.append("")
            elif match.iloc[0].status == "ok":
                cells.append(f"{format_seconds(match.iloc[0].median_s)} ({match.iloc[0].spread_pct:.0f}%)")
            else:
                cells.append(match.iloc[0].status)
        fit = fits[fits.method == method]
        cells += (
            [f"{fit.iloc[0].exponent:.2f}", format_seconds(fit.iloc[0].seconds_per_megapixel)] if len(fit) else ["", ""]
        )
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    compared = table.dropna(subset=["ratio_to_peer"]) if "ratio_to_peer" in table else table.iloc[:0]
    if len(compared):
        peer = compared["peer"].iloc[0]
        lines += [
            "",
            f"Against {peer} in the same run: median time ratio (largest absolute difference of the outputs).",
            "",
        ]
        lines += ["| method | " + " | ".join(f"{size}²" for size in sizes) + " |", "| --- |" + " ---: |" * len(sizes)]
        for method, rows in compared.groupby("method", sort=False):
            by_size = rows.set_index("size")
            cells = [
                f"{by_size.at[size, 'ratio_to_peer']:.2f}× ({by_size.at[size, 'max_abs_diff_to_peer']:.2g})"
                if size in by_size.index else "" for size in sizes
            ]  # fmt: skip
            lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
