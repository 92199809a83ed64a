import json
import subprocess
import sys

import pytest

from bench.commands.cli import main


def test_cli_list_shows_methods_and_datasets(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "fresnel-zernike" in out and "smoke" in out and "methods" in out


def test_cli_run_prints_the_leaderboard(tmp_path, capsys):
    assert main(["run", "--method", "identity", "--dataset", "smoke", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "identity" in out and "noiseless" in out and (tmp_path / "leaderboard.csv").exists()


def test_cli_prints_labels_verbatim(tmp_path, capsys):
    """Brackets in labels are text, not console markup (rich would swallow ``[num_iter=2]``)."""
    args = ["run", "--method", "richardson_lucy", "--dataset", "smoke", "--out", str(tmp_path)]
    assert main([*args, "richardson_lucy.num_iter=2"]) == 0
    assert "│ richardson_lucy[num_iter=2] " in capsys.readouterr().out


def test_cli_unknown_method_is_a_clean_error_on_stderr(capsys):
    """Errors go to stderr: stdout holds only results, for pipes and redirections."""
    assert main(["run", "--method", "nope", "--dataset", "smoke"]) == 2
    captured = capsys.readouterr()
    assert "unknown method 'nope'; available:" in captured.err and "unknown method" not in captured.out


def test_cli_starts_without_torch():
    """`bench --help` imports neither torch nor torchvision (they took seconds); deepinv still imports after bench."""
    code = (
        "import sys, bench.commands.cli; assert 'torch' not in sys.modules and 'torchvision' not in sys.modules; "
        "import deepinv; assert 'torchvision' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_cli_export_writes_each_case(tmp_path):
    assert main(["datasets", "export", "smoke", str(tmp_path)]) == 0
    meta = json.loads((tmp_path / "meta.json").read_text())
    assert len(meta) == 4 and all((tmp_path / f"{case_id}.npz").exists() for case_id in meta)


def test_a_skipped_method_fails_the_run_only_when_named(monkeypatch, tmp_path, capsys):
    """`--method all` on volumes skips the 2D-only methods: that is reported, not an exit code 1."""
    import pandas as pd

    import bench.report.tables
    import bench.run.runner
    from bench.run.runner import RunOutcome

    outcome = RunOutcome(
        tmp_path, pd.DataFrame({"status": [], "label": []}), pd.DataFrame(), skipped={"wiener": "2D only"}
    )
    monkeypatch.setattr(bench.run.runner, "run_benchmark", lambda *args, **kwargs: outcome)
    monkeypatch.setattr(bench.report.tables, "print_leaderboard", lambda *args: None)
    assert main(["run", "--method", "all", "--dataset", "smoke"]) == 0
    assert main(["run", "--method", "wiener", "--dataset", "smoke"]) == 1
    assert "no result from: wiener" in capsys.readouterr().err


def test_dry_run_lists_what_would_be_recomputed_and_why_and_runs_nothing(tmp_path, capsys):
    from tests.conftest import TEST_PLUGINS

    args = ["run", "--dataset", "smoke", "--out", str(tmp_path), "--plugins", TEST_PLUGINS, "dataset.noise=[high]"]
    assert main([*args, "--method", "exploding,identity"]) == 1  # exploding fails on both cases
    before = (tmp_path / "cases.csv").read_text()
    capsys.readouterr()
    assert main([*args, "--method", "exploding,identity,scaled", "--dry-run"]) == 0
    lines = [" ".join(line.strip("│ ").split()) for line in capsys.readouterr().out.splitlines()]
    assert "exploding │ 2 │ failed before (error)" in lines and "scaled │ 2 │ new" in lines
    assert not any(line.startswith("identity") for line in lines)  # up to date
    assert (tmp_path / "cases.csv").read_text() == before


def test_an_error_inside_bench_exits_3_and_points_to_debug(monkeypatch, capsys):
    import bench.commands.cli

    def broken(args):
        raise KeyError("internal")

    monkeypatch.setattr(bench.commands.cli, "_list", broken)
    assert main(["list"]) == 3
    assert (
        "KeyError: 'internal' (a bug in bench or a plugin; rerun with --debug for the traceback)"
        in capsys.readouterr().err
    )
    with pytest.raises(KeyError):
        main(["list", "--debug"])
