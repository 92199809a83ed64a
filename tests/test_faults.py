"""Methods that misbehave (tests/plugins/) cannot change other methods' rows or stop the run.

Each fault runs beside well-behaved methods (``scaled``, ``blind_psf``,
``identity``) on one smoke case; their rows must equal a run without the
fault, column by column, and ``bench run`` must exit 1 (the faulty method
delivered nothing) or 0 (it delivered rows).
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

import pandas as pd
import pytest

from bench.commands.cli import main
from bench.run.engine import EXIT_TOPIC, START_TOPIC, _ExitLog, worker_exit
from bench.run.runner import run_benchmark
from bench.run.runfolder import read_cases
from tests.conftest import TEST_PLUGINS

GOOD = "scaled,blind_psf,identity"
ONE_CASE = ["dataset.images=[camera]", "dataset.noise=[high]"]
SCORES = ["method", "case_id", "psnr", "ssim", "psf_snr", "reblur_residual", "peak_ratio", "status", "error", "info"]


def cli_run(out, methods, *overrides):
    args = ["run", "--method", methods, "--dataset", "smoke", "--out", str(out), "--plugins", TEST_PLUGINS]
    return main([*args, *ONE_CASE, *overrides])


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The well-behaved methods' rows when nothing misbehaves."""
    out = tmp_path_factory.mktemp("reference")
    assert cli_run(out, GOOD) == 0
    return read_cases(out / "cases.csv")


def rows_of(out, methods):
    rows = read_cases(out / "cases.csv")
    return rows[rows.method.isin(methods.split(","))].sort_values(["method", "case_id"]).reset_index(drop=True)


def assert_good_rows_exact(out, reference):
    pd.testing.assert_frame_equal(
        rows_of(out, GOOD)[SCORES], reference.sort_values(["method", "case_id"]).reset_index(drop=True)[SCORES]
    )


def test_in_place_changes_reach_no_other_method(tmp_path, reference):
    assert cli_run(tmp_path, f"in_place,{GOOD}") == 0
    assert_good_rows_exact(tmp_path, reference)
    in_place = rows_of(tmp_path, "in_place,identity")
    assert in_place.psnr.iloc[0] == in_place.psnr.iloc[1]  # it returned its untouched input, scored on the true x


@pytest.mark.parametrize(
    ("fault", "status", "message"),
    [
        ("sys_exit", "crashed", "the method called sys.exit(0)"),
        ("corrupt_checkpoint", "error", "corrupt_checkpoint-cpu.pt is corrupt"),
        ("exploding", "error", "RuntimeError: kaboom"),
    ],
)
def test_a_failing_method_leaves_the_others_exact(tmp_path, reference, fault, status, message):
    assert cli_run(tmp_path, f"{fault},{GOOD}") == 1
    assert_good_rows_exact(tmp_path, reference)
    (row,) = rows_of(tmp_path, fault).itertuples()
    assert row.status == status and message in row.error


def test_corrupt_checkpoint_names_the_file_and_the_training_command(tmp_path):
    assert cli_run(tmp_path, "corrupt_checkpoint") == 1
    (row,) = rows_of(tmp_path, "corrupt_checkpoint").itertuples()
    assert row.error.startswith("prepare: CheckpointError: checkpoint ")
    assert "recreate it with `bench train corrupt_checkpoint preset=cpu`" in row.error


@pytest.mark.slow
@pytest.mark.parametrize(
    ("fault", "status", "message"),
    [
        ("hang", "timeout", "no result after 3 s (timeout_s); worker restarted"),
        (
            "os_exit",
            "crashed",
            "exited with status 3 (os._exit(3), or exit(3) in native code the method called) "
            "while running it; 2 attempt(s)",
        ),
        (
            "segfault",
            "crashed",
            "killed by SIGSEGV (segmentation fault: a crash in native code the method called) "
            "while running it; 2 attempt(s)",
        ),
        ("memory_hog", "crashed", ""),  # killed at the worker's 1.5 GiB limit, or MemoryError at 3 GiB
    ],
)
def test_a_method_that_ends_its_worker_leaves_the_others_exact(tmp_path, reference, fault, status, message):
    limits = ["timeout_s=120", *(["+method_timeout_s.hang=3"] if fault == "hang" else [])]
    assert cli_run(tmp_path, f"{fault},{GOOD}", *limits) == 1
    assert_good_rows_exact(tmp_path, reference)
    (row,) = rows_of(tmp_path, fault).itertuples()
    assert row.status == status and message in row.error


class Nanny:
    """What :class:`bench.run.engine._ExitLog` uses of a Dask nanny: its address and ``log_event``."""

    address = "tcp://10.0.0.7:40123"

    def __init__(self):
        self.events = []

    def log_event(self, topic, message):
        self.events.append((topic, message))


@pytest.mark.parametrize(
    ("exitcode", "how"),
    [
        (-11, "killed by SIGSEGV (segmentation fault: a crash in native code the method called)"),
        (-9, "killed by SIGKILL (often the out-of-memory killer, see `dmesg`, or a user: kill -9)"),
        (-6, "killed by SIGABRT (aborted by native code, for example a failed assertion in a C library)"),
        (3, "exited with status 3 (os._exit(3), or exit(3) in native code the method called)"),
        (255, "killed by an unknown signal"),
    ],
)
def test_a_nanny_reports_how_its_worker_process_ended(exitcode, how):
    from distributed.nanny import WorkerProcess

    nanny = Nanny()
    message = WorkerProcess._death_message(None, 4242, exitcode)  # what the installed distributed logs
    _ExitLog(nanny).emit(logging.makeLogRecord({"msg": message}))
    assert nanny.events == [(EXIT_TOPIC, {"pid": 4242, "host": "10.0.0.7", "how": how})]


def test_a_memory_limit_stop_is_told_before_the_signal_it_sent():
    nanny = Nanny()
    for message in (
        "Worker tcp://10.0.0.7:40555 (pid=4242) exceeded 95% memory budget. Restarting...",
        "Worker process 4242 was killed by signal 15",
        "Worker process 4242 was killed by signal 9",  # the same number on another host
    ):
        _ExitLog(nanny).emit(logging.makeLogRecord({"msg": message}))
    nanny.events[2][1]["host"] = "10.0.0.8"

    class Client:
        def get_events(self, topic):
            return [(0.0, event) for name, event in nanny.events if name == topic]

    how = "stopped by Dask at 95% of its memory limit (engine.memory_limit; raise it or use less)"
    assert worker_exit(Client(), 4242, "10.0.0.7") == how
    assert (
        worker_exit(Client(), 4242, "10.0.0.8")
        == "killed by SIGKILL (often the out-of-memory killer, see `dmesg`, or a user: kill -9)"
    )
    assert worker_exit(Client(), 4243, "10.0.0.7", wait_s=0) is None


@pytest.mark.slow
def test_a_worker_killed_mid_task_costs_no_row(tmp_path):
    """Two methods x two datasets on a fresh 2-worker cluster; one worker is killed while it runs a task."""
    from bench.run.engine import EngineSettings, dask_client

    with dask_client(EngineSettings(workers=2, threads=1, retries=1)) as client:
        killed = []

        def kill_first_slow_task() -> None:
            deadline = time.monotonic() + 120
            while not killed and time.monotonic() < deadline:
                for _, message in client.get_events(START_TOPIC):
                    if message["key"].startswith("slow["):  # label slow[seconds=2]
                        time.sleep(0.3)  # inside the method's sleep
                        os.kill(message["pid"], signal.SIGKILL)
                        killed.append(message["pid"])
                        return
                time.sleep(0.05)

        killer = threading.Thread(target=kill_first_slow_task)
        killer.start()
        outcomes = [
            run_benchmark(
                "slow,scaled",
                "smoke",
                [
                    f"out={tmp_path / f'seed{seed}'}",
                    f"dataset.seed={seed}",
                    f"engine.scheduler={client.scheduler.address}",
                    "slow.seconds=2",
                ],
                plugins=[TEST_PLUGINS],
                log=lambda line: None,
            )  # fmt: skip
            for seed in (0, 1)
        ]
        killer.join()
    assert killed
    for outcome in outcomes:
        assert len(outcome.cases) == 8 and (outcome.cases.status == "ok").all()


@pytest.mark.slow
def test_two_runs_into_one_folder_lose_no_row(tmp_path):
    command = [
        sys.executable,
        "-m",
        "bench.commands.cli",
        "run",
        "--dataset",
        "smoke",
        "--out",
        str(tmp_path),
        "--plugins",
        TEST_PLUGINS,
    ]
    runs = [subprocess.Popen([*command, "--method", methods]) for methods in ("identity,scaled", "blind_psf,wiener")]
    assert [run.wait(timeout=300) for run in runs] == [0, 0]
    rows = pd.read_csv(tmp_path / "cases.csv")
    assert len(rows) == 16 and (rows.status == "ok").all()
    assert sorted(set(rows.method)) == ["blind_psf", "identity", "scaled", "wiener"]


@pytest.mark.slow
def test_an_edited_plugin_is_recomputed_and_the_others_are_not(tmp_path):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    shutil.copy(os.path.join(TEST_PLUGINS, "scaled.py"), plugins / "scaled.py")

    def run():
        # A fresh cluster per run: a long-lived worker would keep the plugin it imported first.
        return run_benchmark(
            "scaled,identity", "smoke", [f"out={tmp_path / 'run'}", "engine.scheduler=null"],
            plugins=[str(plugins)], log=lambda line: None,
        )  # fmt: skip

    first = run()
    source = (plugins / "scaled.py").read_text()
    (plugins / "scaled.py").write_text(source.replace("y * self.gain", "y * self.gain * 0.5"))
    dry = run_benchmark("scaled,identity", "smoke", [f"out={tmp_path / 'run'}"], plugins=[str(plugins)], dry_run=True)
    assert {(entry["label"], entry["reason"]) for entry in dry.plan} == {("scaled", "code changed")}
    second = run()
    assert sorted(entry["label"] for entry in second.plan) == ["scaled"] * 4
    before, after = (outcome.cases.set_index(["method", "case_id"]).sort_index() for outcome in (first, second))
    assert (after.loc["scaled", "psnr"] != before.loc["scaled", "psnr"]).all()  # the edited code ran
    kept = ["psnr", "ssim", "time_s", "run_key", "code"]  # the same time: the row was not recomputed
    pd.testing.assert_frame_equal(after.loc["identity", kept], before.loc["identity", kept])
