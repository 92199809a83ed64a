import json

import numpy as np
import pandas as pd
import pytest

from bench.registry import UnknownPluginError
from bench.run.runner import run_benchmark
from bench.run.runfolder import read_run
from tests.conftest import TEST_PLUGINS


def run(out, methods="scaled", *overrides):
    return run_benchmark(methods, "smoke", [f"out={out}", *overrides], plugins=[TEST_PLUGINS], log=lambda line: None)


def computed(outcome):
    """The (label, case) pairs a run computed."""
    return sorted((entry["label"], entry["case_id"]) for entry in outcome.plan)


def test_runner_writes_cases_leaderboard_and_manifest(tmp_path, smoke_cases):
    outcome = run(tmp_path, "scaled,blind_psf", "save_outputs=true")
    cases = pd.read_csv(tmp_path / "cases.csv")
    assert {"method", "dataset", "case_id", "noise", "psnr", "ssim", "psf_snr", "time_s", "status", "error"} <= set(
        cases
    )
    assert len(cases) == 8 and (cases.status == "ok").all()
    assert cases.loc[cases.method == "scaled", "psf_snr"].isna().all()
    assert cases.loc[cases.method == "blind_psf", "psf_snr"].notna().all()
    board = pd.read_csv(tmp_path / "leaderboard.csv")
    assert set(board.noise) == {"noiseless", "high"} and (board.n == 2).all()
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["config"]["dataset"]["name"] == "smoke" and "torch" in manifest["versions"]
    assert (tmp_path / "outputs" / "blind_psf" / "camera-high.npz").exists()
    saved = read_run(tmp_path).case_arrays("camera-high")  # the inputs a report shows, from the folder alone
    case = next(c for c in smoke_cases if c.case_id == "camera-high")
    assert saved is not None and all(np.array_equal(saved[k], getattr(case, k)) for k in ("y", "x", "psf"))
    assert outcome.failed == [] and outcome.skipped == {} and outcome.broken == {}


def test_identity_scores_match_the_input(tmp_path, smoke_cases):
    from bench.score.image import psnr

    cases = run(tmp_path).cases.set_index("case_id")
    for case in smoke_cases:
        assert cases.loc[case.case_id, "psnr"] == pytest.approx(psnr(case.x, case.y, data_range=1.0))


def test_failing_method_leaves_error_rows_and_others_finish(tmp_path):
    outcome = run(tmp_path, "exploding,scaled")
    cases = outcome.cases
    assert (cases[cases.method == "exploding"].status == "error").all()
    assert cases[cases.method == "exploding"].error.str.contains("kaboom").all()
    assert (cases[cases.method == "scaled"].status == "ok").sum() == 4
    assert "kaboom" in (tmp_path / "errors.log").read_text()
    assert outcome.failed == ["exploding"]


def test_resume_after_crash_recomputes_nothing_finished(tmp_path):
    run(tmp_path)
    full = pd.read_csv(tmp_path / "cases.csv", dtype=str)
    full.iloc[:2].to_csv(tmp_path / "cases.csv", index=False)  # as if killed after two cases
    missing = sorted(("scaled", case_id) for case_id in full.case_id.iloc[2:])
    assert computed(run(tmp_path)) == missing
    assert computed(run(tmp_path)) == []
    assert len(pd.read_csv(tmp_path / "cases.csv")) == 4


def test_changed_parameters_are_recomputed_beside_the_default_rows(tmp_path):
    run(tmp_path)
    outcome = run(tmp_path, "scaled", "scaled.gain=0.5", "save_outputs=true")
    assert len(outcome.plan) == 4 and len(outcome.cases) == 8
    by_label = outcome.cases.groupby("label").params.agg(lambda p: {json.loads(v)["gain"] for v in p})
    assert by_label.to_dict() == {"scaled": {1.0}, "scaled[gain=0.5]": {0.5}}
    board = pd.read_csv(tmp_path / "leaderboard.csv")
    assert set(board.label) == {"scaled", "scaled[gain=0.5]"} and set(board.method) == {"scaled"}
    psnr = board.groupby("label").psnr_mean.mean()
    assert psnr["scaled[gain=0.5]"] < psnr["scaled"]  # each entry averages its own rows only
    assert (tmp_path / "outputs" / "scaled[gain=0.5]" / "camera-high.npz").exists()
    again = run(tmp_path)
    assert len(again.cases) == 8 and again.plan == []  # the default rows are still there and finished


def test_new_weights_are_recomputed_not_reused(tmp_path, monkeypatch):
    from bench.registry import load_registry

    run(tmp_path)
    keys = set(pd.read_csv(tmp_path / "cases.csv").run_key)
    scaled = load_registry((TEST_PLUGINS,)).method("scaled")
    monkeypatch.setattr(scaled, "weights_digest", lambda self: "retrained")
    outcome = run(tmp_path)
    assert len(outcome.plan) == 4 and len(outcome.cases) == 4  # the old rows replaced, not kept beside
    assert {entry["reason"] for entry in outcome.plan} == {"parameters, weights, cases or device changed"}
    assert keys.isdisjoint(outcome.cases.run_key)


def test_unavailable_method_is_skipped_with_its_reason(tmp_path):
    outcome = run(tmp_path, "not_here,scaled")
    assert outcome.skipped == {"not_here": "needs a checkpoint: run bench train not_here"}
    assert set(outcome.cases.method) == {"scaled"}


def test_unknown_method_and_dataset_list_available_names(tmp_path):
    with pytest.raises(UnknownPluginError, match="unknown method 'nope'; available: .*scaled"):
        run(tmp_path, "nope")
    with pytest.raises(UnknownPluginError, match="unknown dataset 'nope'; available: .*fresnel-zernike.*, smoke"):
        run_benchmark("scaled", "nope", [f"out={tmp_path}"], plugins=[TEST_PLUGINS])


def test_unknown_method_parameter_fails_before_running(tmp_path):
    with pytest.raises(ValueError, match=r"has no parameter\(s\) \['gian'\]; its parameters: gain"):
        run(tmp_path, "scaled", "scaled.gian=2")
    assert not (tmp_path / "cases.csv").exists()


def test_non_finite_output_is_an_error_row(tmp_path):
    cases = run(tmp_path, "scaled", "scaled.gain=.inf").cases
    assert (cases.status == "error").all() and cases.error.str.contains("NaN/Inf").all()


def test_finished_rows_read_back_keep_text_ids(tmp_path):
    """A resumed run matches finished rows by case id: ``007`` must not come back as the number 7."""
    from bench.run.runfolder import FORMAT_VERSION, RunFolder

    pd.DataFrame({"method": ["m"], "case_id": ["007"], "image": ["01"], "noise": ["0.10"], "status": ["ok"]}).to_csv(
        tmp_path / "cases.csv", index=False
    )
    (tmp_path / "manifest.json").write_text(json.dumps({"format": FORMAT_VERSION}))
    rows = RunFolder(tmp_path).read_rows()
    assert (rows.case_id.iloc[0], rows.image.iloc[0], rows.noise.iloc[0]) == ("007", "01", "0.10")


def test_a_run_folder_of_an_older_format_is_refused_with_the_command_that_recomputes_it(tmp_path):
    from bench.run.runfolder import read_run

    run(tmp_path, "wiener", "wiener.weight=0.5")
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    del manifest["format"]  # as written before run folders had a format
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    rows_before = (tmp_path / "cases.csv").read_text()
    expected = (
        rf"format 1 .* recompute it: rm -r {tmp_path} && bench run --method wiener --dataset smoke --out {tmp_path}$"
    )
    with pytest.raises(ValueError, match=expected):
        run(tmp_path, "wiener", "wiener.weight=0.5")
    with pytest.raises(ValueError, match=expected):
        read_run(tmp_path)
    assert (tmp_path / "cases.csv").read_text() == rows_before  # nothing was touched


def test_every_invocation_into_a_folder_keeps_its_record_and_its_rows_point_to_it(tmp_path):
    """Provenance accumulates: a second `bench run` into the folder adds a record, it does not replace the first."""
    from bench.report.tables import _provenance

    run(tmp_path, "identity")
    second = run(tmp_path, "scaled")
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert [record["invocation"] for record in manifest["invocations"]] == [1, 2]
    assert [record["methods"] for record in manifest["invocations"]] == [["identity"], ["scaled"]]
    assert all("finished" in record and "machine" in record for record in manifest["invocations"])
    rows = second.cases.set_index("method")
    assert set(rows.loc["identity", "invocation"]) == {1} and set(rows.loc["scaled", "invocation"]) == {2}
    assert "invocations 1, 2" in _provenance(second.cases.assign(run="r"))
