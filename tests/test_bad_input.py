"""Every bad input gets a one- or two-line error naming the problem, exit code 2, and no traceback.

Each entry is (arguments, expected fragment of the message). ``{file}`` is an
existing file, ``{dir}`` an empty folder, ``{plugins}`` the test plugins,
``{badcsv}`` a run folder with an empty ``cases.csv``, ``{badmanifest}`` one
whose ``manifest.json`` is not JSON.
Every case fails before any method runs.
"""

from __future__ import annotations

import pytest

from bench.commands.cli import main
from tests.conftest import TEST_PLUGINS

RUN = ["run", "--dataset", "smoke", "--method", "identity", "--out", "{dir}/run"]  # a later --out wins

BAD_INPUTS = [
    # method and dataset names
    (["run", "--dataset", "smoke", "--method", "nope"], "unknown method 'nope'; available:"),
    (["run", "--dataset", "smoke", "--method", ","], "--method needs 'all' or method names"),
    (["run", "--dataset", "nope", "--method", "identity"], "unknown dataset 'nope'; available:"),
    (["run", "--dataset", "smoke", "--method", "identity,nope"], "unknown method 'nope'"),
    (["run", "--dataset", "smoke", "--method", "scaled"], "unknown method 'scaled'"),  # a test plugin without --plugins
    ([*RUN, "--plugins", "/nonexistent"], "--plugins /nonexistent: no such folder"),
    ([*RUN, "--plugins", "{file}"], "no such folder"),
    ([*RUN, "--method", "identity,identity"], "--method names identity more than once; name each method once"),
    # engine
    ([*RUN, "--workers", "0"], "--workers: must be a whole number >= 1, got 0"),
    ([*RUN, "--workers", "two"], "--workers: must be a whole number >= 1, got 'two'"),
    ([*RUN, "--workers", "-3"], "must be a whole number >= 1, got -3"),
    ([*RUN, "--threads", "0"], "--threads: must be a whole number >= 1, got 0"),
    ([*RUN, "--threads", "1.5"], "--threads: must be a whole number >= 1, got '1.5'"),
    ([*RUN, "--workers", "3", "engine.cores=2"], "3 worker(s) x 1 thread(s) = 3 exceeds the 2 core(s)"),
    (
        [*RUN, "--workers", "2", "--threads", "2", "engine.cores=2"],
        "2 worker(s) x 2 thread(s) = 4 exceeds the 2 core(s)",
    ),
    ([*RUN, "engine.workers=-1"], "engine.workers must be a whole number >= 1, got -1"),
    ([*RUN, "engine.workers=abc"], "engine.workers must be a whole number >= 1, got 'abc'"),
    ([*RUN, "engine.threads=1.5"], "engine.threads must be a whole number >= 1, got 1.5"),
    ([*RUN, "engine.cores=0"], "engine.cores must be a whole number >= 1, got 0"),
    ([*RUN, "engine.retries=-1"], "engine.retries must be a whole number >= 0, got -1"),
    ([*RUN, "engine.retries=yes"], "engine.retries must be a whole number >= 0, got 'yes'"),
    (
        [*RUN, "engine.memory_limit=lots"],
        "engine.memory_limit must be auto, a size like 4GiB or 0 (no limit), got 'lots'",
    ),
    ([*RUN, "--scheduler", "localhost:8786"], "--scheduler must be an address like tcp://host:8786"),
    ([*RUN, "--scheduler", ""], "--scheduler needs an address like tcp://host:8786; leave it out for local workers"),
    ([*RUN, "--scheduler", "tcp://"], "--scheduler must be an address like tcp://host:8786, got 'tcp://'"),
    ([*RUN, "--scheduler", "tcp://localhost"], "--scheduler must be an address like tcp://host:8786"),
    ([*RUN, "--scheduler", "tcp://localhost:99999"], "got 'tcp://localhost:99999'"),
    ([*RUN, "+engine.nope=1"], "unknown engine setting(s) ['nope']; the engine's settings: cores, memory_limit"),
    ([*RUN, "engine.memory_limit=-1GiB"], "engine.memory_limit must be auto, a size like 4GiB or 0 (no limit)"),
    ([*RUN, "engine.nope=1"], "unknown setting 'engine.nope'"),
    # timeouts
    ([*RUN, "--timeout", "-1"], "--timeout: must be seconds (a number >= 0, 0 for no limit), got -1"),
    ([*RUN, "--timeout", "soon"], "--timeout: must be seconds (a number >= 0, 0 for no limit), got 'soon'"),
    ([*RUN, "--timeout", "nan"], "must be seconds"),
    ([*RUN, "timeout_s=abc"], "timeouts are seconds >= 0 (0 or null: no limit), got 'abc' for identity"),
    ([*RUN, "timeout_s=-5"], "timeouts are seconds >= 0 (0 or null: no limit), got -5 for identity"),
    ([*RUN, "+method_timeout_s.nope=3"], "method_timeout_s names ['nope'], which are not in this run"),
    ([*RUN, "+method_timeout_s.identity=-1"], "got -1 for identity"),
    ([*RUN, "method_timeout_s.identity=3"], "to add a key to a mapping write +method_timeout_s.identity=..."),
    ([*RUN, "method_timeout_s=3"], "method_timeout_s maps method names to seconds, got 3; write +method_timeout_s"),
    # hydra overrides
    ([*RUN, "nope=1"], "unknown setting 'nope'"),
    ([*RUN, "+nope=1"], "unknown setting 'nope': settings are the keys of bench/conf/config.yaml"),
    ([*RUN, "dataset=fresnel-zernike"], "choose the dataset with --dataset, not a dataset=... override"),
    ([*RUN, "noise=high"], "noise=... does not apply to dataset 'smoke', whose levels are dataset.noise="),
    (
        ["run", "--dataset", "widefield-dapi", "--method", "identity", "noise=high"],
        "noise=... does not apply to dataset 'widefield-dapi', which has no noise levels",
    ),
    ([*RUN, "dataset.noise=[]"], "dataset 'smoke' has no cases with these settings"),
    ([*RUN, "dataset.images=[]"], "give at least one image and one noise level"),
    ([*RUN, "dataset.images=camera"], "images must be a split (test or train) or a list of image names like [camera]"),
    ([*RUN, "dataset.size=0"], "size must be >= 16 pixels, got 0"),
    ([*RUN, "dataset.psf_size=-3"], "psf_size must be an odd number of pixels, got -3"),
    ([*RUN, "dataset.seed=-1"], "seed must be a whole number >= 0, got -1"),
    ([*RUN, "dataset.theta_max=-1"], "theta_max must be >= 0 waves"),
    ([*RUN, "noise"], "override 'noise' must look like key=value"),
    ([*RUN, "=3"], "override '=3' must look like key=value"),
    ([*RUN, "noise=[low"], "bad override: no viable alternative at input '[low'"),
    ([*RUN, "dataset.noise=[nope]"], "unknown noise level(s) ['nope']; defined levels:"),
    ([*RUN, "dataset.nope=1"], "unknown setting 'dataset.nope'"),
    ([*RUN, "dataset.size=abc"], "dataset.size=abc is not an integer"),
    ([*RUN, "dataset.seed=abc"], "dataset.seed=abc is not an integer"),
    ([*RUN, "dataset.size=-5"], "size must be >= 16"),
    ([*RUN, "noise_levels.high.sigma=abc"], "dataset 'smoke' cannot be built"),
    ([*RUN, "noise_levels.high.bits=0"], "noise bits must be a positive bit depth or null"),
    ([*RUN, "noise_levels.high.salt_pepper=2"], "noise salt_pepper is a probability per pixel, in [0, 1]"),
    ([*RUN, "device=tpu"], "device must be cpu, cuda or cuda:N, got 'tpu'"),
    ([*RUN, "save_outputs=maybe"], "save_outputs must be true or false, got 'maybe'"),
    (["run", "--dataset", "smoke", "--method", "identity", "out="], "out must be a folder path"),
    ([*RUN, "--device", "gpu"], "argument --device: invalid choice: 'gpu'"),
    ([*RUN, "--device", "cuda", "engine.scheduler=null"], "torch sees no CUDA device; use --device cpu"),
    ([*RUN, "--wrkers", "2"], "unrecognized arguments: --wrkers"),
    # method parameters
    ([*RUN, "wiener.weight=0.1"], "override for 'wiener', which is not in this run (identity)"),
    (
        ["run", "--dataset", "smoke", "--method", "wiener", "wiener.nope=1"],
        "method 'wiener' has no parameter(s) ['nope']",
    ),
    (
        ["run", "--dataset", "smoke", "--method", "wiener", "wiener.weight=abc"],
        "wiener.weight=abc is not a number or null",
    ),
    (
        ["run", "--dataset", "smoke", "--method", "wiener", "wiener.padding=circular"],
        "wiener.padding=circular is not one of",
    ),
    (
        ["run", "--dataset", "smoke", "--method", "richardson_lucy", "richardson_lucy.num_iter=2.5"],
        "is not an integer or null",
    ),
    (
        ["run", "--dataset", "smoke", "--method", "richardson_lucy", "richardson_lucy.num_iter=true"],
        "is not an integer or null",
    ),
    (
        ["run", "--dataset", "smoke", "--method", "richardson_lucy", "richardson_lucy.max_iter=[1,2]"],
        "is not an integer",
    ),
    (
        ["run", "--dataset", "smoke", "--method", "selfdeblur", "selfdeblur.budget=huge"],
        "is not one of 'fast', 'cpu', 'full'",
    ),
    (["run", "--dataset", "smoke", "--method", "selfdeblur", "selfdeblur.early_stop=3"], "is not true or false"),
    (["run", "--dataset", "smoke", "--method", "deepblur", "deepblur.preset=1"], "deepblur.preset=1 is not a text"),
    # output and cache paths
    ([*RUN, "--out", "{file}"], "is a file, not a folder; choose another --out"),
    ([*RUN, "--out", "{file}/sub"], "is a file, not a folder; choose another --out"),
    ([*RUN, "--out", "/dev/full"], "/dev/full is a file, not a folder"),
    ([*RUN, "--out", "/proc/deconv-bench-run"], "cannot create output folder /proc/deconv-bench-run"),
    ([*RUN, "cache_dir={file}"], "is (or is under) a file where a folder is expected; choose another path"),
    # other commands
    (["report", "{badcsv}"], "cases.csv cannot be read as a run's rows (No columns to parse from file)"),
    (["report", "{badmanifest}"], "manifest.json is not valid JSON"),
    (["report", "{dir}", "--panels", "-1"], "argument --panels: must be a whole number >= 0, got -1"),
    (["report", "{dir}", "--bootstrap", "0"], "argument --bootstrap: must be a whole number >= 1, got 0"),
    (["export", "{badmanifest}"], "manifest.json is not valid JSON"),
    (
        ["timing", "--max-call-seconds", "-1", "--sizes", "16"],
        "--max-call-seconds must be a number of seconds >= 0, got -1.0",
    ),
    (["timing", "--sizes", "16", "dataset.size=64"], "bench timing times one case per --sizes"),
    (["timing", "--sizes", "16", "noise=high"], "drop noise=high"),
    (["timing", "--method", "identity", "--sizes", "16", "--out", "{file}"], "a file where a folder is expected"),
    (["train", "deepblur", "--out", "{dir}"], "is a folder; give the checkpoint's file path"),
    (["train", "deepblur", "--out", "{file}/x.pt"], "is (or is under) a file where a folder is expected"),
    (
        ["train", "deepblur", "seed=abc"],
        "seed=abc is not an integer; its default in bench/conf/train/deepblur-cpu.yaml",
    ),
    (["train", "deepblur", "seed=1.5"], "seed=1.5 is not an integer"),
    (["timing", "--sizes", "a,b"], "--sizes must be comma-separated integers, got 'a,b'"),
    (["timing", "--sizes", "8"], "sizes must be integers >= 16, got [8]"),
    (["timing", "--repeats", "0"], "--repeats: must be a whole number >= 1, got 0"),
    (["timing", "--method", "nope", "--sizes", "16"], "unknown method 'nope'"),
    (["timing", "--device", "cuda", "--sizes", "16"], "torch sees no CUDA device"),
    (["train", "wiener"], "'wiener' has nothing to train; learned methods:"),
    (["train", "nope"], "unknown method 'nope'"),
    (["train", "deepblur", "preset=tpu"], "no training configuration 'deepblur-tpu'"),
    (
        ["train", "deepblur", "nope=1"],
        "unknown setting 'nope': settings are the keys of bench/conf/train/deepblur-cpu.yaml",
    ),
    (["datasets", "export", "nope", "{dir}"], "unknown dataset 'nope'"),
    (["datasets", "export", "smoke", "{dir}", "nope=1"], "unknown setting 'nope'"),
    (["datasets", "export", "smoke", "{file}"], "is (or is under) a file where a folder is expected"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    ([], "the following arguments are required: command"),
]


@pytest.mark.parametrize(("args", "expected"), BAD_INPUTS, ids=[" ".join(args) or "(none)" for args, _ in BAD_INPUTS])
def test_bad_input_is_a_short_clear_error(args, expected, tmp_path, capsys):
    if "cuda" in args and __import__("torch").cuda.is_available():
        pytest.skip("this machine has CUDA")
    file = tmp_path / "a-file"
    file.write_text("not a folder")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty-csv").mkdir()
    (tmp_path / "empty-csv" / "cases.csv").write_text("")
    (tmp_path / "bad-manifest").mkdir()
    (tmp_path / "bad-manifest" / "cases.csv").write_text("method,case_id,status\nidentity,a,ok\n")
    (tmp_path / "bad-manifest" / "manifest.json").write_text("{not json")
    values = {
        "file": str(file), "dir": str(tmp_path / "empty"), "plugins": TEST_PLUGINS,
        "badcsv": str(tmp_path / "empty-csv"), "badmanifest": str(tmp_path / "bad-manifest"),
    }  # fmt: skip
    args = [arg.format(**values) for arg in args]
    try:
        code = main(args)
    except SystemExit as exit_:  # argparse
        code = exit_.code
    captured = capsys.readouterr()
    message = " ".join((captured.out + captured.err).split())  # rich wraps long lines
    assert code == 2, message
    assert expected in message
    assert "Traceback" not in message
    text = captured.out + captured.err
    error_lines = [line for line in text[text.index("error:") :].splitlines() if line.strip()]  # after argparse's usage
    assert len(error_lines) <= 2, error_lines


def test_the_table_holds_at_least_sixty_inputs():
    assert len(BAD_INPUTS) >= 60


def test_debug_shows_the_traceback(capsys):
    with pytest.raises(ValueError, match="unknown method 'nope'"):
        main(["run", "--debug", "--dataset", "smoke", "--method", "nope"])
