"""PSNR against iterations of the iterative methods on the 3D cases, and the noise rule's count against the oracle's.

For every case of ``fresnel-zernike-3d`` (the benchmark's test volumes by
default, ``--images train`` for the training renders) and each of
``richardson_lucy`` and ``richardson_lucy_tv``, one run of
:func:`bench.solve.solvers.richardson_lucy` with the method's own boundary and TV
weight records the PSNR of every iterate (``on_iteration``) up to
``--max-iter`` (raised to the rule's count where that is larger). It then
compares the count the method's noise rule gives (its ``bench.solve.rules.RULES`` entry for the
estimated noise, as ``bench run`` uses it) with the oracle count, the
iterate of highest PSNR, which needs the ground truth. Nothing is fitted:
the rules keep the constants calibrated on 2D training images.

Writes to ``--out`` (default ``results/stopping-3d``):

- ``psnr_by_iteration.csv``: case, method, iteration, psnr;
- ``stopping.csv`` and ``stopping.md``: per case and method the rule's
  count and PSNR, the oracle's, and the loss of the rule in dB;
- ``psnr_by_iteration.png``: the curves, the rule's and the oracle's counts marked.

Run as ``python scripts/stopping_3d.py`` (the published figures:
the dataset's default cases; ``--shape 16 64 64`` for a quick look).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from bench.config import compose
from bench.datasets.fresnel_zernike_3d import Dataset
from bench.methods.richardson_lucy import Method as RichardsonLucy
from bench.methods.richardson_lucy_tv import Method as RichardsonLucyTV
from bench.score.image import psnr
from bench.solve.rules import NOISE_FLOOR, RULES, NoiseRule
from bench.solve.solvers import noise_std, richardson_lucy

METHODS = {"richardson_lucy": RichardsonLucy, "richardson_lucy_tv": RichardsonLucyTV}
#: Each method's rules: its iteration count, and its TV weight (0: plain RL).
METHOD_RULES: dict[str, tuple[NoiseRule, NoiseRule | float]] = {
    "richardson_lucy": (RULES["richardson_lucy.num_iter"], 0.0),
    "richardson_lucy_tv": (RULES["richardson_lucy_tv.num_iter"], RULES["richardson_lucy_tv.tv_weight"]),
}


def psnr_path(case, method, max_iter: int) -> tuple[list[float], int]:
    """PSNR of every iterate of ``method``'s solve on ``case`` and the count its noise rule gives."""
    y = torch.from_numpy(case.y)[None, None]
    psf = torch.from_numpy(case.psf)[None, None]
    sigma = float(noise_std(y, floor=NOISE_FLOOR)[0])
    iterations, weight = METHOD_RULES[method.name]
    rule = method.num_iter or iterations.iterations(sigma, max_iter=method.max_iter)
    tv = {"tv_weight": weight(sigma), "tv_epsilon": method.tv_epsilon} if isinstance(weight, NoiseRule) else {}
    path: list[float] = []
    richardson_lucy(
        y, psf, num_iter=max(max_iter, rule), boundary=method.boundary, **tv,
        on_iteration=lambda _, x: path.append(psnr(case.x, x[0, 0].numpy(), data_range=1.0)),
    )  # fmt: skip
    return path, rule


def summarise(curves: pd.DataFrame, rules: dict[tuple[str, str], int]) -> pd.DataFrame:
    """Per case and method: the rule's count and PSNR, the oracle's, and the rule's loss."""
    rows = []
    for (case_id, method), curve in curves.groupby(["case", "method"], sort=False):
        by_count = curve.set_index("iteration")["psnr"]
        rule = rules[case_id, method]
        rows.append({
            "case": case_id, "method": method, "rule_iter": rule, "rule_psnr": by_count[rule],
            "oracle_iter": int(by_count.idxmax()), "oracle_psnr": by_count.max(),
            "loss_db": by_count.max() - by_count[rule], "at_cap": by_count.idxmax() == by_count.index.max(),
        })  # fmt: skip
    return pd.DataFrame(rows)


def plot(curves: pd.DataFrame, summary: pd.DataFrame, path: Path) -> None:
    """One panel per case, PSNR against iterations (log), a line per method, rule (x) and oracle (o) marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cases = list(dict.fromkeys(curves["case"]))
    columns = 4
    rows = -(-len(cases) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 2.6 * rows), squeeze=False)
    for axis, case_id in zip(axes.flat, cases):
        for colour, (method, curve) in zip(("C0", "C1"), curves[curves["case"] == case_id].groupby("method")):
            axis.semilogx(curve["iteration"], curve["psnr"], color=colour, label=method)
            row = summary[(summary["case"] == case_id) & (summary["method"] == method)].iloc[0]
            axis.plot(row["rule_iter"], row["rule_psnr"], "x", color=colour, markersize=8)
            axis.plot(row["oracle_iter"], row["oracle_psnr"], "o", color=colour, fillstyle="none")
        axis.set_title(case_id, fontsize=8)
        axis.tick_params(labelsize=7)
    for axis in list(axes.flat)[len(cases) :]:
        axis.axis("off")
    axes[0, 0].legend(fontsize=7)
    figure.supxlabel("iterations (x: noise rule, o: oracle)", fontsize=9)
    figure.supylabel("PSNR (dB)", fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=90)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-iter", type=int, default=120)
    parser.add_argument("--images", default="test", choices=("test", "train"))
    parser.add_argument("--out", type=Path, default=Path("results/stopping-3d"))
    parser.add_argument(
        "--noise",
        default="low,high",
        help="comma-separated noise levels of bench/conf/config.yaml (default: the dataset's)",
    )
    parser.add_argument("--shape", type=int, nargs=3, default=None, help="D H W (default: the dataset's, 32 128 128)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    size = {"shape": args.shape} if args.shape else {}
    dataset = Dataset(images=args.images, noise=args.noise.split(","), noise_levels=compose().noise_levels, **size)
    records, rules = [], {}
    for case_id in dataset.case_ids():
        case = dataset.make_case(case_id)
        for name, method_class in METHODS.items():
            path, rules[case_id, name] = psnr_path(case, method_class(), args.max_iter)
            records += [{"case": case_id, "method": name, "iteration": k + 1, "psnr": p} for k, p in enumerate(path)]
            print(
                f"{case_id:32s} {name:20s} rule {rules[case_id, name]:4d} oracle {int(np.argmax(path)) + 1:4d}",
                flush=True,
            )
    curves = pd.DataFrame(records)
    summary = summarise(curves, rules)
    args.out.mkdir(parents=True, exist_ok=True)
    curves.to_csv(args.out / "psnr_by_iteration.csv", index=False, float_format="%.3f")
    summary.to_csv(args.out / "stopping.csv", index=False, float_format="%.3f")
    (args.out / "stopping.md").write_text(summary.to_markdown(index=False, floatfmt=".2f") + "\n")
    plot(curves, summary, args.out / "psnr_by_iteration.png")
    print(summary.to_string(index=False, float_format="%.2f"))


if __name__ == "__main__":
    main()
