"""The static leaderboard page of ``bench report``: one self-contained HTML file, figures by matplotlib.

Everything is inline (CSS, a few lines of JavaScript to sort the tables, the
figures as base64 PNG), so the file can be mailed, attached to a paper's
supplement or served by any static host. Per dataset variant the page shows
the sortable ranking with 95 % bootstrap intervals, which differences between
the top methods are significant, PSNR and PSF-SNR against the noise level,
time against quality, and image panels (degraded, restored by every method,
reference, estimated against true PSF) for a few cases saved with
``bench run --save-outputs``, read from the run folder alone (its ``inputs/`` and ``outputs/``). Datasets run at several ``theta_max`` get PSNR
and PSF-SNR against θ_max. Methods are named by their label
(``name[param=value,...]``), so two budgets of one method are two entries.
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, cast, overload

import numpy as np
import pandas as pd

from bench.physics.psf_geometry import psf_canvas
from bench.report.stats import ALL_NOISE, MIN_IMAGES, ranking_metric
from bench.report.tables import (
    LABELS,
    format_ci,
    format_seconds,
    format_value,
    pooled_rows,
    ranked_rows,
)
from bench.run.runfolder import Run

if TYPE_CHECKING:
    from matplotlib.colors import ListedColormap

__all__ = ["render_page"]

_CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1320px;padding:0 24px 48px;color:#1b1f24}
h1{margin:24px 0 4px}h2{margin-top:40px;border-bottom:2px solid #d0d7de;padding-bottom:4px}h3{margin:24px 0 8px}
.meta{color:#57606a;font-size:13px}nav a{margin-right:14px}
.scroll{overflow-x:auto;margin:8px 0 16px}table{border-collapse:collapse;font-size:13px}
th,td{padding:4px 8px;border-bottom:1px solid #e5e8eb;text-align:right;white-space:nowrap}
th{background:#f3f5f7;position:sticky;top:0;cursor:pointer;user-select:none}
th:hover{background:#e6ebf0}th[data-order=asc]::after{content:" ▲"}th[data-order=desc]::after{content:" ▼"}
td.name,th.name{text-align:left;font-weight:600}tbody tr:nth-child(even){background:#fafbfc}
.ci{display:block;color:#6e7781;font-size:12px}.yes{color:#1a7f37;font-weight:600}.no{color:#6e7781}
figure{margin:12px 0 24px}figure img{max-width:100%;border:1px solid #e5e8eb}figcaption{color:#57606a;font-size:13px}
.note{background:#fff8c5;border:1px solid #d4a72c;padding:8px 12px;border-radius:6px}
"""

_SORT_JS = """
document.querySelectorAll("table.sortable th").forEach((th, col) => th.addEventListener("click", () => {
  const body = th.closest("table").tBodies[0], asc = th.dataset.order !== "asc";
  th.closest("tr").querySelectorAll("th").forEach(h => delete h.dataset.order);
  th.dataset.order = asc ? "asc" : "desc";
  const key = row => row.cells[col].dataset.v ?? row.cells[col].textContent;
  [...body.rows].sort((a, b) => {
    const x = key(a), y = key(b), nx = parseFloat(x), ny = parseFloat(y);
    if (isNaN(nx) !== isNaN(ny)) return isNaN(nx) ? 1 : -1;
    const order = isNaN(nx) ? String(x).localeCompare(String(y)) : nx - ny;
    return asc ? order : -order;
  }).forEach(row => body.appendChild(row));
}));
"""


def render_page(
    runs: Sequence[Run], cases: pd.DataFrame, summary: pd.DataFrame, significance: pd.DataFrame, *, panels: int = 3
) -> str:
    """The whole page as one HTML string."""
    import matplotlib

    matplotlib.use("Agg")
    variants = list(dict.fromkeys(summary["variant"]))
    colors = _colors(summary["label"].unique())  # one colour per method label on the whole page
    body = [
        "<h1>deconv-bench leaderboard</h1>",
        f"<p class=meta>{_escape(_provenance(runs))}</p>",
        "<nav>" + "".join(f'<a href="#{_anchor(v)}">{_escape(v)}</a>' for v in variants) + "</nav>",
    ]
    for variant in variants:
        rows = summary[summary["variant"] == variant]
        variant_cases = cases[cases["variant"] == variant]
        pairs = significance[significance["variant"] == variant]
        body += _variant_section(variant, rows, variant_cases, pairs, runs, panels, colors)
    for dataset, rows in summary.groupby("dataset", sort=False):
        if "p_dataset_theta_max" in rows and rows["p_dataset_theta_max"].nunique() > 1:
            body += [f"<h2>{_escape(dataset)}: robustness to θ<sub>max</sub></h2>", _theta_figure(rows, colors)]
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width,initial-scale=1">'
        f"<title>deconv-bench leaderboard</title><style>{_CSS}</style></head><body>"
        + "\n".join(body)
        + f"<script>{_SORT_JS}</script></body></html>\n"
    )


def _variant_section(variant, rows, cases, pairs, runs, panels, colors) -> list[str]:
    metric = ranking_metric(cases)
    out = [f'<h2 id="{_anchor(variant)}">{_escape(variant)}</h2>']
    out.append(
        f"<p class=meta>{cases['case_id'].nunique()} cases, {rows['label'].nunique()} methods; "
        + (f"ranked by mean {LABELS.get(metric, metric)} over every case" if metric else "no ranking score, by name")
        + f"; under each mean its 95% bootstrap interval (images resampled, paired across methods; none with "
        f"fewer than {MIN_IMAGES} images). Peak memory: on CUDA torch's peak allocation, on CPU the "
        "growth of the resident set during the call (0 when it reuses memory freed by earlier calls). "
        "Click a column to sort.</p>"
    )
    out.append(_ranking_table(rows, metric))
    if len(pairs):
        out.append(_significance_table(pairs))
    out.append(_noise_figure(rows, colors))
    out.append(_time_quality_figure(rows, metric, colors))
    out += _panels(cases, runs, panels)
    return out


def _ranking_table(rows: pd.DataFrame, metric: str | None) -> str:
    pooled = ranked_rows(pooled_rows(rows), metric)
    noises = [n for n in dict.fromkeys(rows["noise"]) if n != ALL_NOISE]
    metrics = [m for m in _metrics(rows) if pooled[f"{m}_mean"].notna().any()]
    per_noise = metric if metric and len(noises) > 1 else None
    head = ["#", "method", "track", *[LABELS.get(m, m) for m in metrics]]
    head += [f"{LABELS.get(per_noise, per_noise).split()[0]} {n}" for n in noises] if per_noise else []
    head += ["median time / image", "peak memory MB", "n", "failed"]
    lines = ["<div class=scroll><table class=sortable><thead><tr>"]
    lines += [f"<th{' class=name' if h == 'method' else ''}>{_escape(h)}</th>" for h in head]
    lines.append("</tr></thead><tbody>")
    for rank, (_, row) in enumerate(pooled.iterrows(), start=1):
        cells = [_td(rank, str(rank)), f'<td class=name data-v="{_escape(row["label"])}">{_escape(row["label"])}</td>']
        cells.append(f"<td class={'yes' if row['blind'] else 'no'}>{_escape(row['track'])}</td>")
        for m in metrics:
            cells.append(_metric_td(row, m))
        for noise in noises if per_noise else []:
            match = rows[(rows["label"] == row["label"]) & (rows["noise"] == noise)]
            cells.append(_metric_td(match.iloc[0], cast(str, per_noise)) if len(match) else "<td></td>")
        cells.append(_td(row["time_s_median"], format_seconds(row["time_s_median"])))
        memory = row["peak_memory_mb_median"]
        cells.append(_td(memory, f"{memory:.0f}" if np.isfinite(memory) else "–"))
        cells += [_td(row["n"], str(int(row["n"]))), _td(row["n_failed"], str(int(row["n_failed"])))]
        lines.append("<tr>" + "".join(cells) + "</tr>")
    lines.append("</tbody></table></div>")
    return "".join(lines)


def _metric_td(row: pd.Series, metric: str) -> str:
    mean = row.get(f"{metric}_mean", math.nan)
    if not np.isfinite(mean):
        return '<td data-v="">–</td>'
    return f'<td data-v="{mean}">{format_value(mean, metric)}<span class=ci>{format_ci(row, metric)}</span></td>'


def _td(value: Any, text: str) -> str:
    value = "" if value is None or (isinstance(value, float) and not np.isfinite(value)) else value
    return f'<td data-v="{value}">{_escape(text)}</td>'


def _significance_table(pairs: pd.DataFrame) -> str:
    metric = pairs["metric"].iloc[0]
    lines = [
        f"<h3>Are the top methods different? ({_escape(LABELS.get(metric, metric))})</h3>",
        f"<p class=meta>Mean difference A − B over the cases both finished; paired bootstrap interval at "
        f"level {pairs['confidence'].iloc[0]:.4f} (95% Bonferroni-corrected over the {len(pairs)} pairs). "
        "Significant when the interval excludes 0.</p>",
        "<table class=sortable><thead><tr><th class=name>A</th><th class=name>B</th><th>mean A − B</th>"
        "<th>interval</th><th>cases</th><th>significant</th></tr></thead><tbody>",
    ]
    for _, pair in pairs.iterrows():
        verdict = '<td class=yes data-v="1">yes</td>' if pair["significant"] else '<td class=no data-v="0">no</td>'
        lines.append(
            f"<tr><td class=name>{_escape(pair['method_a'])}</td><td class=name>{_escape(pair['method_b'])}</td>"
            f"{_td(pair['mean_difference'], f'{pair.mean_difference:+.3f}')}"
            f"<td>[{pair['ci_low']:+.3f}, {pair['ci_high']:+.3f}]</td>{_td(pair['n_cases'], str(pair['n_cases']))}{verdict}</tr>"
        )
    lines.append("</tbody></table>")
    return "".join(lines)


# ----------------------------------------------------------------------------- figures


def _metrics(rows: pd.DataFrame) -> list[str]:
    return [c.removesuffix("_mean") for c in rows.columns if c.endswith("_mean")]


def _colors(labels: Sequence[str]) -> dict[str, Any]:
    import matplotlib.pyplot as plt

    colormap = cast("ListedColormap", plt.get_cmap("tab10" if len(labels) <= 10 else "tab20"))  # both are listed
    palette = cast(Sequence[Any], colormap.colors)  # a tuple of RGB tuples
    return {label: palette[i % len(palette)] for i, label in enumerate(sorted(labels))}


_MARKERS = "osD^v<>pXh*P"


def _marker(colors: dict, label: str) -> str:
    """A marker per method label, fixed by its place among the page's labels like its colour."""
    return _MARKERS[list(colors).index(label) % len(_MARKERS)]


def _curves(axis, frame: pd.DataFrame, x: str, metric: str, colors: dict, categorical: bool) -> None:
    """One line per method label with its bootstrap interval as error bars."""
    positions = {v: i for i, v in enumerate(dict.fromkeys(frame[x]))}
    for label, rows in frame.groupby("label", sort=True):
        rows = rows[rows[f"{metric}_mean"].notna()]
        if rows.empty:
            continue
        xs = rows[x].map(positions) if categorical else rows[x].astype(float)
        mean = rows[f"{metric}_mean"].to_numpy()
        error = np.vstack([mean - rows[f"{metric}_ci_low"].to_numpy(), rows[f"{metric}_ci_high"].to_numpy() - mean])
        axis.errorbar(xs, mean, yerr=np.clip(error, 0, None), label=label, color=colors[label],
                      marker=_marker(colors, label), capsize=3, lw=1.6, ms=5)  # fmt: skip
    if categorical:
        axis.set_xticks(list(positions.values()), list(positions))
    axis.set_ylabel(LABELS.get(metric, metric))
    axis.grid(alpha=0.3)


def _noise_figure(rows: pd.DataFrame, colors: dict) -> str:
    import matplotlib.pyplot as plt

    levels = rows[rows["noise"] != ALL_NOISE]
    metrics = [m for m in ("psnr", "psf_snr") if f"{m}_mean" in levels and levels[f"{m}_mean"].notna().any()]
    if levels["noise"].nunique() < 2 or not metrics:
        return ""
    figure, axes = plt.subplots(1, len(metrics), figsize=(6.2 * len(metrics) + 2.6, 4.4), squeeze=False)
    for axis, metric in zip(axes[0], metrics):
        _curves(axis, levels, "noise", metric, colors, categorical=True)
        axis.set_xlabel("noise level")
        axis.set_title(f"{LABELS.get(metric, metric)} against noise level")
    _legend(figure, axes[0][-1])
    return _figure_html(figure, "Mean over images at each noise level, error bars: 95% bootstrap interval. "
                        "PSF-SNR only for methods that estimate a PSF.")  # fmt: skip


def _theta_figure(rows: pd.DataFrame, colors: dict) -> str:
    import matplotlib.pyplot as plt

    pooled = pooled_rows(rows)
    metrics = [m for m in ("psnr", "psf_snr") if f"{m}_mean" in pooled and pooled[f"{m}_mean"].notna().any()]
    if not metrics:
        return ""
    figure, axes = plt.subplots(1, len(metrics), figsize=(6.2 * len(metrics) + 2.6, 4.4), squeeze=False)
    for axis, metric in zip(axes[0], metrics):
        _curves(
            axis, pooled.sort_values("p_dataset_theta_max"), "p_dataset_theta_max", metric, colors, categorical=False
        )
        axis.set_xlabel("θ_max (Zernike coefficients uniform in [−θ_max, θ_max], waves)")
        axis.set_title(f"{LABELS.get(metric, metric)} against θ_max")
    _legend(figure, axes[0][-1])
    return _figure_html(figure, "Mean over every case of each configuration, error bars: 95% bootstrap interval.")


def _time_quality_figure(rows: pd.DataFrame, metric: str | None, colors: dict) -> str:
    import matplotlib.pyplot as plt

    pooled = pooled_rows(rows)
    pooled = pooled[pooled["time_s_median"].gt(0) & pooled[f"{metric}_mean"].notna()] if metric else pooled.iloc[:0]
    if pooled.empty or metric is None:  # no metric: pooled is empty
        return ""
    figure, axis = plt.subplots(figsize=(11.5, 5.6))
    for i, (_, row) in enumerate(pooled.sort_values(f"{metric}_mean").iterrows()):
        mean = row[f"{metric}_mean"]
        error = [[max(mean - row[f"{metric}_ci_low"], 0)], [max(row[f"{metric}_ci_high"] - mean, 0)]]
        axis.errorbar(row["time_s_median"], mean, yerr=error, fmt=_marker(colors, row["label"]), color=colors[row["label"]],
                      capsize=3, ms=7, label=row["label"])  # fmt: skip
        # alternate the label side so neighbours with close scores do not print over each other
        axis.annotate(row["label"], (row["time_s_median"], mean), textcoords="offset points", fontsize=9,
                      xytext=(7, 3) if i % 2 else (-7, 3), ha="left" if i % 2 else "right")  # fmt: skip
    axis.set_xscale("log")
    axis.set_xlabel(f"median time per image, s ({', '.join(sorted(set(pooled['device'].astype(str))))})")
    axis.set_ylabel(f"mean {LABELS.get(metric, metric)}")
    axis.set_title("Quality against time: up and to the left is better")
    axis.grid(alpha=0.3, which="both")
    _legend(figure, axis)
    return _figure_html(
        figure, "Median time per image (log scale) against mean score over every case, with its 95% interval."
    )


def _legend(figure, axis) -> None:
    handles, labels = axis.get_legend_handles_labels()
    for other in figure.axes:
        for handle, label in zip(*other.get_legend_handles_labels()):
            if label not in labels:
                handles.append(handle)
                labels.append(label)
    figure.legend(handles, labels, loc="center right", fontsize=9, frameon=False)
    figure.tight_layout(rect=(0, 0, 1 - 2.4 / figure.get_figwidth(), 1))


def _figure_html(figure, caption: str, dpi: int = 100) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    plt.close(figure)
    data = base64.b64encode(buffer.getvalue()).decode()
    return f'<figure><img alt="{_escape(caption)}" src="data:image/png;base64,{data}"><figcaption>{_escape(caption)}</figcaption></figure>'


# ----------------------------------------------------------------------------- image panels


def _panels(cases: pd.DataFrame, runs: Sequence[Run], count: int) -> list[str]:
    """Image panels for up to ``count`` cases of the middle noise level whose outputs were saved."""
    if count <= 0:
        return []
    by_directory = {str(run.directory): run for run in runs}
    outputs = [by_directory[r.run].output(r.label, r.case_id) for r in cases.itertuples()]
    cases = cases.assign(output_file=outputs)
    has_output = np.array([path.exists() for path in outputs], dtype=bool)
    saved = cases[(cases["status"] == "ok").to_numpy() & has_output]
    if saved.empty:
        return ["<p class=note>No image panels: run with <code>--save-outputs</code> to save restored images.</p>"]
    noises = list(dict.fromkeys(cases["noise"]))
    noise = noises[len(noises) // 2]
    chosen = saved[saved["noise"] == noise] if (saved["noise"] == noise).any() else saved
    case_ids = list(dict.fromkeys(chosen["case_id"]))
    picks = [case_ids[round(i)] for i in np.linspace(0, len(case_ids) - 1, min(count, len(case_ids)))]
    out = ["<h3>Image panels</h3>"]
    for case_id in picks:
        rows = cases[(cases["case_id"] == case_id) & (cases["status"] == "ok")]
        run = by_directory[rows["run"].iloc[0]]
        arrays = run.case_arrays(case_id)
        if arrays is None:
            out.append(
                f"<p class=note>{_escape(case_id)}: {_escape(run.directory)} holds no inputs of this case; "
                "rerun the same <code>bench run ... --save-outputs</code> into it to add them (nothing is recomputed).</p>"
            )
            continue
        out.append(_panel_figure(case_id, arrays, rows))
    return out


def _panel_figure(case_id: str, arrays: dict, rows: pd.DataFrame) -> str:
    """Degraded, reference and every restoration on one grey scale; the PSF estimates beside the true PSF."""
    import matplotlib.pyplot as plt

    restored = []
    for row in rows.sort_values("label").itertuples():
        if row.output_file.exists():
            with np.load(row.output_file, allow_pickle=False) as archive:
                restored.append((row, archive["x_hat"], archive["psf_hat"] if "psf_hat" in archive else None))
    y, x, psf = (_orthogonal_views(arrays[key], psf=key == "psf") for key in ("y", "x", "psf"))
    restored = [
        (row, _orthogonal_views(x_hat), _orthogonal_views(psf_hat, psf=True)) for row, x_hat, psf_hat in restored
    ]
    estimates = [(row.label, psf_hat, row) for row, _, psf_hat in restored if psf_hat is not None]
    psf_tiles = ([("true PSF", psf, None)] if psf is not None else []) + estimates
    tiles: list[tuple[str, np.ndarray, Any]] = [("degraded input", y, None)]
    tiles += [("reference", x, None)] if x is not None else []
    if psf is not None and not estimates:  # no estimate to compare: the true PSF is one more tile
        tiles.append(("true PSF", psf, "psf"))
        psf_tiles = []
    tiles += [(row.label, x_hat, row) for row, x_hat, _ in restored]
    columns = 5
    image_rows = math.ceil(len(tiles) / columns)
    psf_rows = math.ceil(len(psf_tiles) / (2 * columns))
    figure = plt.figure(figsize=(2.9 * columns, 3.45 * image_rows + 2.1 * psf_rows + 0.5))
    grid = figure.add_gridspec(image_rows + psf_rows, 2 * columns, height_ratios=[3.45] * image_rows + [2.1] * psf_rows)
    low, high = np.nanpercentile(x if x is not None else y, [0.5, 99.5])
    crop = _psf_crop(psf if psf is not None else estimates[0][1]) if psf is not None or estimates else 0
    for i, (title, image, row) in enumerate(tiles):
        axis = figure.add_subplot(grid[i // columns, 2 * (i % columns) : 2 * (i % columns) + 2])
        if isinstance(row, str):
            axis.imshow(_center(image, crop), cmap="magma", interpolation="nearest")
        else:
            axis.imshow(image, cmap="gray", vmin=low, vmax=high, interpolation="nearest")
        score = (
            ""
            if row is None or isinstance(row, str)
            else f"\n{format_value(row.psnr, 'psnr')} dB / {format_value(row.ssim, 'ssim')}"
        )
        axis.set_title(f"{_wrap(title, 32)}{score}", fontsize=11)
        axis.axis("off")
    if psf_tiles:
        peak = max(float(np.max(_center(kernel, crop))) for _, kernel, _ in psf_tiles)
        for i, (title, kernel, row) in enumerate(psf_tiles):
            axis = figure.add_subplot(grid[image_rows + i // (2 * columns), i % (2 * columns)])
            axis.imshow(_center(kernel, crop), cmap="magma", vmin=0, vmax=peak, interpolation="nearest")
            snr = "" if row is None else f"\nPSF-SNR {format_value(row.psf_snr, 'psf_snr')} dB"
            axis.set_title(f"{_wrap(title, 20)}{snr}", fontsize=9)
            axis.axis("off")
    title = f"{case_id}: PSNR dB / SSIM under each restored image"
    figure.suptitle(title + ("; bottom: PSFs, unit sum, one colour scale" if psf_tiles else ""), fontsize=12)
    figure.tight_layout()
    caption = f"{case_id}: every restoration on the grey scale of the reference (0.5–99.5 percentiles)."
    if arrays["y"].ndim == 3:
        caption += " Volumes: xy plane, xz below, yz right, through the centre (z in planes, not to scale)."
    return _figure_html(figure, caption, dpi=90)


@overload
def _orthogonal_views(image: np.ndarray, *, psf: bool = False) -> np.ndarray: ...
@overload
def _orthogonal_views(image: np.ndarray | None, *, psf: bool = False) -> np.ndarray | None: ...
def _orthogonal_views(image: np.ndarray | None, *, psf: bool = False) -> np.ndarray | None:
    """A 2D view of an image or volume: an image as it is; a volume's xy plane with its xz plane below and its yz plane
    to the right, through the centre, z in voxels (Fiji's orthogonal views, blanks NaN); a 3D PSF's central xy plane."""
    if image is None or image.ndim == 2:
        return image
    depth, height, width = image.shape
    if psf:
        return image[depth // 2]
    views = np.full((height + 2 + depth, width + 2 + depth), np.nan, dtype=np.float32)
    views[:height, :width] = image[depth // 2]
    views[height + 2 :, :width] = image[:, height // 2, :]
    views[:height, width + 2 :] = image[:, :, width // 2].T
    return views


def _psf_crop(psf: np.ndarray) -> int:
    """Odd side of the central window holding the PSF's bright part (at least 15 px)."""
    psf = np.asarray(psf, dtype=float)
    rows, cols = np.nonzero(psf > 0.01 * psf.max())
    radius = max(np.abs(rows - psf.shape[0] // 2).max(), np.abs(cols - psf.shape[1] // 2).max(), 7)
    return int(2 * radius + 1)


def _center(psf: np.ndarray, size: int) -> np.ndarray:
    """The PSF scaled to unit sum, on a ``size`` x ``size`` window around its centre (zero-padded)."""
    psf = np.asarray(psf, dtype=float)
    return psf_canvas(psf / max(float(np.sum(psf)), 1e-12), (size, size))


# ----------------------------------------------------------------------------- text helpers


def _provenance(runs: Sequence[Run]) -> str:
    parts = []
    for run in runs:
        manifest = run.manifest
        versions = manifest.get("versions", {})
        parts.append(
            f"{run.directory}: commit {str(manifest.get('git_commit') or '?')[:10]}, "
            f"{manifest.get('machine', {}).get('device', '?')}, torch {versions.get('torch', '?')}, "
            f"deepinv {versions.get('deepinv', '?')}, started {manifest.get('started', '?')}"
        )
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return f"Generated {generated} by `bench report` from " + "; ".join(parts) + "."


def _wrap(label: str, width: int) -> str:
    """A method label over lines of about ``width`` characters: broken before its brackets, then after commas."""
    if len(label) <= width or "[" not in label:
        return label
    name, items = label.split("[", 1)
    lines = [name, ""]
    for item in ("[" + items).split(","):
        if lines[-1] and len(lines[-1]) + 1 + len(item) > width:
            lines[-1] += ","
            lines.append(item)
        else:
            lines[-1] += ("," if lines[-1] else "") + item
    return "\n".join(lines)


def _anchor(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text).strip("-").lower()


def _escape(value: Any) -> str:
    return html.escape(str(value), quote=True)
