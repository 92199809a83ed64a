"""The ``bench`` command line: list plugins, run the benchmark, time methods, report, export datasets.

Exit codes: 0 success; 1 ``bench run`` finished but a method delivered
nothing (every case failed, timed out or crashed, or a method named in
``--method`` was skipped, or a plugin failed to import); 2 bad input (arguments, overrides, paths), said in
one or two lines; 3 an unexpected error inside bench (``--debug`` shows its
traceback).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

__all__ = ["main"]

# Rich assumes 80 columns when output is not a terminal (CI logs, files):
# give the leaderboard room there instead of wrapping every cell.
console = Console() if sys.stdout.isatty() else Console(width=160)
#: Errors, warnings and progress go to stderr, so that stdout holds only the results (pipes, `> file`).
messages = Console(stderr=True) if sys.stderr.isatty() else Console(stderr=True, width=160)


#: Exit codes of ``bench``.
EXIT_OK, EXIT_METHOD_FAILED, EXIT_BAD_INPUT, EXIT_INTERNAL = 0, 1, 2, 3


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", help="show the traceback of an error")
    parser = argparse.ArgumentParser(
        prog="bench", description="Benchmark deconvolution methods for microscopy.", parents=[common],
        epilog="Exit codes: 0 success, 1 a method delivered nothing, 2 bad input, 3 internal error.",
    )  # fmt: skip
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser("list", help="list methods and datasets, with why a method cannot run here", parents=[common])

    run = commands.add_parser(
        "run",
        help="run methods on a dataset and print the leaderboard",
        parents=[common],
        epilog="OVERRIDES are hydra overrides of bench/conf/config.yaml (noise=high, dataset.size=128, "
        "noise_levels.high.sigma=0.1, timeout_s=60, +method_timeout_s.selfdeblur=3600) or method parameters "
        "(<method>.<param>=value, see `bench list`). Exit code 1: a method delivered no row (all cases failed, "
        "timed out or crashed), a named method was skipped, or a plugin failed to import; under --method all, "
        "methods that cannot run here are listed as skipped without failing the run.",
    )
    run.add_argument("--method", default="all", help="'all' or comma-separated names (default: all)")
    run.add_argument("--dataset", default="fresnel-zernike", help="dataset name (default: fresnel-zernike)")
    run.add_argument("--out", help="output folder (default: results/runs/<dataset>)")
    run.add_argument("--device", choices=("cpu", "cuda"), help="torch device (default: cpu)")
    run.add_argument("--save-outputs", action="store_true", help="save restored images to OUT/outputs/")
    run.add_argument("--workers", type=_positive_int, help="local Dask worker processes (default: 1)")
    run.add_argument("--threads", type=_positive_int, help="threads per worker (default: cores // workers)")
    run.add_argument(
        "--scheduler", help="address of a running Dask scheduler (tcp://host:8786) instead of local workers"
    )
    run.add_argument("--timeout", type=_seconds, help="seconds per method and case before it is stopped (default: 600)")
    run.add_argument(
        "--plugins", action="append", default=[], metavar="DIR", help="also load the method plugins of DIR (repeatable)"
    )
    run.add_argument("--dry-run", action="store_true", help="say what would be computed and why, run nothing")
    run.add_argument("overrides", nargs="*", metavar="OVERRIDES")

    timing = commands.add_parser(
        "timing",
        parents=[common],
        help="time methods per image size: median and spread of repeats, fit of time against pixels",
        epilog="Each size times one fresnel-zernike case (camera, noise medium) after a warm-up. OVERRIDES as for run.",
    )
    timing.add_argument("--method", default="all", help="'all' or comma-separated names (default: all)")
    timing.add_argument("--sizes", default="256,512,1024", help="comma-separated image sides (default: 256,512,1024)")
    timing.add_argument("--repeats", type=_positive_int, default=3, help="timed calls per method and size (default: 3)")
    timing.add_argument(
        "--max-call-seconds", type=float, default=5.0,
        help="skip a size whose predicted time per call exceeds this (default: 5; raise it for a full table)",
    )  # fmt: skip
    timing.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="torch device (default: cpu)")
    timing.add_argument("--out", type=Path, help="output folder (default: results/timing-<device>)")
    timing.add_argument(
        "--peer", help="a timed method: add each method's time ratio and largest output difference to it"
    )
    timing.add_argument("overrides", nargs="*", metavar="OVERRIDES")

    report = commands.add_parser(
        "report",
        help="merge runs into leaderboard.csv, leaderboard.md and a static HTML page with figures",
        parents=[common],
    )
    report.add_argument("runs", nargs="+", type=Path, metavar="RUN_DIR", help="folders written by `bench run`")
    report.add_argument("--out", type=Path, default=Path("results/leaderboard"), help="(default: results/leaderboard)")
    report.add_argument(
        "--panels", type=_whole_number(0), default=3, help="cases shown as image panels per dataset (default: 3)"
    )
    report.add_argument("--bootstrap", type=_positive_int, default=2000, help="bootstrap resamples (default: 2000)")

    export_results = commands.add_parser(
        "export",
        help="write merged runs in another tool's result format (benchopt: a folder `benchopt plot` renders)",
        parents=[common],
    )
    export_results.add_argument("runs", nargs="+", type=Path, metavar="RUN_DIR", help="folders written by `bench run`")
    export_results.add_argument("--format", choices=("benchopt",), default="benchopt", help="(default: benchopt)")
    export_results.add_argument(
        "--out", type=Path, default=Path("results/benchopt"), help="(default: results/benchopt)"
    )

    train = commands.add_parser(
        "train",
        parents=[common],
        help="train a learned method and write its checkpoint",
        epilog="OVERRIDES are hydra overrides of bench/conf/train/<method>-<preset>.yaml "
        "(preset=gpu, device=cuda, seed=1, identification.steps=100).",
    )
    train.add_argument("method", help="a learned method (see `bench list`)")
    train.add_argument("--out", type=Path, help="checkpoint file (default: the one the method loads)")
    train.add_argument("overrides", nargs="*", metavar="OVERRIDES")

    datasets = commands.add_parser("datasets", help="dataset utilities")
    dataset_commands = datasets.add_subparsers(dest="dataset_command", required=True)
    export = dataset_commands.add_parser(
        "export", help="write every case as DIR/<case_id>.npz + meta.json", parents=[common]
    )
    export.add_argument("name")
    export.add_argument("directory", type=Path)
    export.add_argument("overrides", nargs="*", metavar="OVERRIDES")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``bench`` console script."""
    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    # Overrides may follow an option (`bench train deepblur --out x.pt seed=1`), where
    # argparse stops collecting positionals: take the key=value leftovers as overrides.
    if extra and hasattr(args, "overrides") and all("=" in item and not item.startswith("-") for item in extra):
        args.overrides = [*args.overrides, *extra]
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    commands = {
        "list": _list, "run": _run, "timing": _timing, "report": _report, "export": _export_results, "train": _train,
    }  # fmt: skip
    try:
        return commands.get(args.command, _export)(args)
    except Exception as error:
        if args.debug:
            raise
        code, message = _explain(error)
        messages.print(f"[red]error:[/red] {escape(message)}", soft_wrap=True)  # one line, however long
        return code


def _explain(error: Exception) -> tuple[int, str]:
    """Exit code and one-line message for an error that reached the command line."""
    if isinstance(error, ValueError):  # bad user input, already said with its fix
        return EXIT_BAD_INPUT, str(error)
    if isinstance(error, (FileExistsError, NotADirectoryError)):  # mkdir or a path through a file
        return (
            EXIT_BAD_INPUT,
            f"{error.filename} is (or is under) a file where a folder is expected; choose another path",
        )
    if isinstance(error, OSError):  # the file system refused: read-only, full, missing
        where = f" {error.filename}" if error.filename else ""
        return (
            EXIT_BAD_INPUT,
            f"cannot write or read{where}: {error.strerror or error}; check the path, its permissions and free space",
        )
    return (
        EXIT_INTERNAL,
        f"{type(error).__name__}: {error} (a bug in bench or a plugin; rerun with --debug for the traceback)",
    )


def _whole_number(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number >= ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number >= {minimum}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be a whole number >= {minimum}, got {value}")
        return value

    return parse


_positive_int = _whole_number(1)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be seconds (a number >= 0, 0 for no limit), got {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be seconds (a number >= 0, 0 for no limit), got {text}")
    return value


def _list(args: argparse.Namespace) -> int:
    import torch

    from bench.api import parameters
    from bench.config import compose, make_dataset
    from bench.registry import load_registry

    registry = load_registry()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    methods = Table(title="methods", title_justify="left")
    for column in ("name", "blind", "learned", "parameters", "status"):
        methods.add_column(column)
    for name, method_cls in sorted(registry.methods.items()):
        params = parameters(method_cls)
        try:
            reason = method_cls(**params).unavailable(device)
        except Exception as error:
            reason = f"cannot be built: {error}"
        status = f"[yellow]unavailable: {reason}[/yellow]" if reason else "[green]ready[/green]"
        described = ", ".join(f"{k}={v}" for k, v in params.items())
        methods.add_row(name, _yes(method_cls.blind), _yes(method_cls.learned), described, status)
    console.print(methods)

    datasets = Table(title="datasets", title_justify="left")
    for column in ("name", "cases", "image size", "description"):
        datasets.add_column(column)
    for name, dataset_cls in sorted(registry.datasets.items()):
        try:
            dataset, _ = make_dataset(compose(dataset=name), registry)
            size = "x".join(map(str, dataset.image_shape()))
            datasets.add_row(name, str(len(dataset.case_ids())), size, dataset_cls.description)
        except Exception as error:
            datasets.add_row(name, "?", "?", f"[red]cannot be built: {error}[/red]")
    console.print(datasets)

    for broken in registry.broken:
        messages.print(f"[red]failed to load {broken.kind} {broken.source}:[/red] {escape(str(broken.error))}")
    return 0


def _run(args: argparse.Namespace) -> int:
    from bench.report.tables import print_leaderboard
    from bench.run.runner import run_benchmark

    quoted = lambda text: None if text is None else "'" + text.replace("'", "\\'") + "'"
    if args.scheduler is not None and not args.scheduler.strip():
        raise ValueError("--scheduler needs an address like tcp://host:8786; leave it out for local workers")
    options = {
        "out": quoted(args.out), "device": args.device, "save_outputs": "true" if args.save_outputs else None,
        "engine.workers": args.workers, "engine.threads": args.threads, "engine.scheduler": quoted(args.scheduler),
        "timeout_s": args.timeout,
    }  # fmt: skip
    overrides = [*args.overrides, *(f"{key}={value}" for key, value in options.items() if value is not None)]
    log = lambda line: messages.print(f"[yellow]{escape(line)}[/yellow]")
    if args.dry_run:
        outcome = run_benchmark(args.method, args.dataset, overrides, plugins=args.plugins, dry_run=True, log=log)
        return _print_plan(outcome)
    messages.print("[dim]loading methods and datasets, starting workers...[/dim]")
    with _task_bars(label_width=22) as progress:
        outcome = run_benchmark(args.method, args.dataset, overrides, plugins=args.plugins, progress=progress, log=log)
    print_leaderboard(outcome.leaderboard, console)
    failed = outcome.cases[outcome.cases.status.isin(["error", "timeout", "crashed"])]
    for _, row in failed.drop_duplicates("label").iterrows():
        count = (failed.label == row.label).sum()
        messages.print(f"[red]{escape(row.label)} failed on {count} case(s):[/red] {escape(str(row.error))}")
    console.print(f"results in {outcome.out}/ (cases.csv, leaderboard.csv, manifest.json)")
    # Under --method all, a method that cannot run here (2D-only on volumes, GPU-only) is reported, not a failure.
    skipped = [] if args.method == "all" else list(outcome.skipped)
    dropped = [*outcome.failed, *skipped, *outcome.broken]
    if dropped:
        messages.print(f"[red]no result from:[/red] {escape(', '.join(dropped))}")
        return EXIT_METHOD_FAILED
    return EXIT_OK


def _print_plan(outcome) -> int:
    """``bench run --dry-run``: per label, how many cases would be computed, and why."""
    table = Table(title=f"would compute (into {outcome.out})", title_justify="left")
    for column in ("label", "cases", "why"):
        table.add_column(column)
    plan: dict[tuple[str, str], list[str]] = {}
    for entry in outcome.plan:
        plan.setdefault((entry["label"], entry["reason"]), []).append(entry["case_id"])
    for (label, reason), case_ids in plan.items():
        table.add_row(escape(label), str(len(case_ids)), escape(reason))
    console.print(table if plan else "nothing to compute: every row is up to date")
    for name, reason in outcome.skipped.items():
        console.print(f"[yellow]would skip {escape(name)}: {escape(reason)}[/yellow]")
    return EXIT_OK


def _timing(args: argparse.Namespace) -> int:
    import json

    from bench.commands.timing import run_timing, timing_markdown

    try:
        sizes = [int(size) for size in args.sizes.split(",") if size.strip()]
    except ValueError:
        raise ValueError(f"--sizes must be comma-separated integers, got {args.sizes!r}") from None
    out = args.out or Path(f"results/timing-{args.device}")
    out.mkdir(parents=True, exist_ok=True)  # before timing: a bad --out fails at once
    table, fits, env = run_timing(
        args.method, sizes, args.overrides, repeats=args.repeats, max_call_seconds=args.max_call_seconds,
        device=args.device, peer=args.peer, log=lambda line: console.print(line, highlight=False),
    )  # fmt: skip
    table.to_csv(out / "timing.csv", index=False)
    fits.to_csv(out / "timing-fit.csv", index=False)
    (out / "timing.md").write_text(timing_markdown(table, fits, env))
    (out / "environment.json").write_text(json.dumps(env, indent=1, default=str))
    console.print(timing_markdown(table, fits, env), highlight=False)
    console.print(f"results in {out}/ (timing.csv, timing-fit.csv, timing.md, environment.json)")
    return 0


def _report(args: argparse.Namespace) -> int:
    from bench.report.publish import write_report

    written = write_report(args.runs, args.out, panels=args.panels, n_boot=args.bootstrap)
    console.print(f"wrote {', '.join(str(path) for path in written)}")
    return 0


def _export_results(args: argparse.Namespace) -> int:
    from bench.report.benchopt import write_benchopt

    written = write_benchopt(args.runs, args.out)
    console.print(f"wrote {', '.join(str(path) for path in written)}; render with `benchopt plot {args.out}`")
    return 0


def _train(args: argparse.Namespace) -> int:
    from bench.api import LearnedMethod
    from bench.config import compose_training
    from bench.registry import load_registry

    registry = load_registry()
    method_cls = registry.method(args.method)
    if not issubclass(method_cls, LearnedMethod):
        learned = sorted(name for name, cls in registry.methods.items() if issubclass(cls, LearnedMethod))
        raise ValueError(f"{args.method!r} has nothing to train; learned methods: {', '.join(learned) or 'none'}")
    target = method_cls.training_target()
    if target != args.method:
        console.print(f"{args.method} uses the networks of {target}: training {target}")
    target_cls = registry.method(target)
    if not issubclass(target_cls, LearnedMethod):
        raise ValueError(f"{args.method!r} trains the networks of {target!r}, which is not a learned method")
    cfg = compose_training(target, args.overrides)
    checkpoint = args.out or target_cls.checkpoint_path(cfg.preset)
    if Path(checkpoint).is_dir():
        raise ValueError(f"--out {checkpoint} is a folder; give the checkpoint's file path ({checkpoint}/{target}.pt)")
    Path(checkpoint).parent.mkdir(parents=True, exist_ok=True)  # before training: a bad --out fails at once
    with _progress_bar(label_width=16) as progress:
        figures = target_cls.train(cfg, Path(checkpoint), progress)
    console.print("validation: " + ", ".join(f"{key} {value:.2f}" for key, value in figures.items()))
    console.print(f"wrote {checkpoint} (+ .json card, .log.csv)")
    return 0


def _export(args: argparse.Namespace) -> int:
    from bench.run.cases import CaseStore, cache_dir
    from bench.config import compose, make_dataset
    from bench.registry import load_registry

    registry = load_registry()
    cfg = compose(args.overrides, dataset=args.name)
    dataset, params = make_dataset(cfg, registry)
    cache = cache_dir(cfg.cache_dir)
    destination = CaseStore(dataset, params, cache).export(args.directory)
    console.print(f"wrote {len(dataset.case_ids())} cases of {args.name} to {destination}/")
    return 0


@contextlib.contextmanager
def _task_bars(*, label_width: int) -> Iterator[Callable[[str, int], Callable[[], None]]]:
    """Rich progress bars for tasks finishing in any order; yields ``start(label, total)`` -> ``advance()``."""
    columns = (
        TextColumn(f"{{task.description:<{label_width}}}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=messages) as bar:

        def start(label: str, total: int) -> Callable[[], None]:
            task = bar.add_task(escape(label), total=total)
            return lambda: bar.advance(task)

        yield start


@contextlib.contextmanager
def _progress_bar(*, label_width: int) -> Iterator[Callable[[Iterable, int, str], Iterator]]:
    """:func:`_task_bars` for loops; yields ``progress(items, total, description)``, which iterates with a bar."""
    with _task_bars(label_width=label_width) as start:

        def progress(items: Iterable, total: int, description: str) -> Iterator:
            advance = start(description, total)
            for item in items:
                yield item
                advance()

        yield progress


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


if __name__ == "__main__":
    sys.exit(main())
