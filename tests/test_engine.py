"""The engine's documentation: the README's SLURM/PBS example renders a valid batch job for dask-jobqueue."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

README = Path(__file__).parents[1] / "README.md"


def slurm_example_arguments() -> dict:
    """The keyword arguments of ``SLURMCluster(...)`` in the README's ``slurm_workers.py`` block."""
    block = re.search(r"```python\n(# slurm_workers\.py.*?)```", README.read_text(), re.S)
    assert block, "README.md lost its slurm_workers.py example"
    tree = ast.parse(block.group(1))  # it is valid Python
    (call,) = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "SLURMCluster"]
    return {keyword.arg: ast.literal_eval(keyword.value) for keyword in call.keywords}


def test_the_readme_slurm_example_parses_and_starts_two_workers_per_job_with_the_run_s_resources():
    arguments = slurm_example_arguments()
    assert arguments["cores"] // arguments["processes"] == 4  # "2 workers x 4 threads per job"
    assert arguments["worker_extra_args"] == ["--resources", "GPU=1"]  # what --device cuda tasks ask for


@pytest.mark.parametrize("job", ["slurm.SLURMJob", "pbs.PBSJob"])
def test_the_readme_slurm_example_renders_a_batch_job_for_slurm_and_pbs(job):
    """The README says PBSCluster takes the same arguments: both render a job script, nothing is submitted."""
    jobqueue = pytest.importorskip("dask_jobqueue")
    module, name = job.split(".")
    job_cls = getattr(getattr(jobqueue, module), name)
    script = job_cls(scheduler="tcp://10.0.0.1:8786", name="worker", **slurm_example_arguments()).job_script()
    assert "source ~/deconv-bench/.venv/bin/activate" in script
    assert "tcp://10.0.0.1:8786" in script and "--nworkers 2" in script and "--nthreads 4" in script
    assert "--resources GPU=1" in script and "--nanny" in script  # nannies report how worker processes end
