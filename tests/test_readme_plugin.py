"""The README's "Writing a method plugin" example is a working classical method: copied to a plugin folder, it runs."""

import re
from pathlib import Path

import pytest

from bench.run.runner import run_benchmark

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_example() -> str:
    """The first Python block of the README's "Writing a method plugin" section, as written there."""
    section = README.read_text().split("## Writing a method plugin", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "the README's plugin section lost its Python example"
    return match.group(1)


@pytest.mark.slow
def test_the_readme_plugin_example_runs_through_bench_run_and_beats_its_input(tmp_path):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "my_method.py").write_text(readme_example())
    outcome = run_benchmark(
        "my_method,identity", "smoke", [f"out={tmp_path / 'run'}"], plugins=[str(plugins)], log=lambda line: None
    )
    rows = outcome.cases
    assert outcome.broken == {} and outcome.failed == [] and (rows.status == "ok").all()
    mine = rows[rows.method == "my_method"].set_index("case_id")
    given = rows[rows.method == "identity"].set_index("case_id")
    noiseless = [case for case in mine.index if case.endswith("noiseless")]
    assert noiseless and (mine.loc[noiseless, "psnr"] > given.loc[noiseless, "psnr"] + 0.5).all()
