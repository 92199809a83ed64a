import json

import pandas as pd
import pytest
import torch

from bench.api import BaseMethod, Result
from bench.registry import UnknownPluginError, load_registry
from bench.runner import run_benchmark


class Scaled(BaseMethod):
    """Returns the input times a gain; counts its calls to check resuming."""

    name = "scaled"
    blind = False
    calls = 0

    def __init__(self, *, gain: float = 1.0) -> None:
        self.gain = gain

    def run(self, y, psf):
        type(self).calls += 1
        return Result(y * self.gain, info={"gain": self.gain})


class Exploding(BaseMethod):
    name = "exploding"
    blind = True

    def run(self, y, psf):
        raise RuntimeError("kaboom")


class BlindWithPsf(BaseMethod):
    name = "blind_psf"
    blind = True

    def run(self, y, psf):
        assert psf is None
        delta = torch.zeros(1, 1, 5, 5)
        delta[..., 2, 2] = 1
        return Result(y, psf_hat=delta)


class NotHere(BaseMethod):
    name = "not_here"
    blind = True

    def unavailable(self, device):
        return "needs a checkpoint: run bench train not_here"


@pytest.fixture
def plugins(monkeypatch):
    methods = load_registry().methods
    for plugin in (Scaled, Exploding, BlindWithPsf, NotHere):
        monkeypatch.setitem(methods, plugin.name, plugin)
    Scaled.calls = 0


def run(out, methods="scaled", *overrides):
    return run_benchmark(methods, "smoke", [f"out={out}", *overrides], log=lambda line: None)


def test_runner_writes_cases_leaderboard_and_manifest(plugins, tmp_path):
    outcome = run(tmp_path, "scaled,blind_psf", "save_outputs=true")
    cases = pd.read_csv(tmp_path / "cases.csv")
    assert {"method", "dataset", "case_id", "noise", "psnr", "ssim", "psf_snr", "time_s", "status", "error"} <= set(cases)
    assert len(cases) == 8 and (cases.status == "ok").all()
    assert cases.loc[cases.method == "scaled", "psf_snr"].isna().all()
    assert cases.loc[cases.method == "blind_psf", "psf_snr"].notna().all()
    board = pd.read_csv(tmp_path / "leaderboard.csv")
    assert set(board.noise) == {"noiseless", "high"} and (board.n == 2).all()
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["config"]["dataset"]["name"] == "smoke" and "torch" in manifest["versions"]
    assert (tmp_path / "outputs" / "blind_psf" / "camera-high.npz").exists()
    assert outcome.leaderboard.equals(outcome.leaderboard)


def test_identity_scores_match_the_input(plugins, tmp_path, smoke_cases):
    from bench.metrics import psnr

    cases = run(tmp_path).cases.set_index("case_id")
    for case in smoke_cases:
        assert cases.loc[case.case_id, "psnr"] == pytest.approx(psnr(case.x, case.y, data_range=1.0))


def test_failing_method_leaves_error_rows_and_others_finish(plugins, tmp_path):
    cases = run(tmp_path, "exploding,scaled").cases
    assert (cases[cases.method == "exploding"].status == "error").all()
    assert cases[cases.method == "exploding"].error.str.contains("kaboom").all()
    assert (cases[cases.method == "scaled"].status == "ok").sum() == 4
    assert "kaboom" in (tmp_path / "errors.log").read_text()


def test_resume_after_crash_recomputes_nothing_finished(plugins, tmp_path):
    run(tmp_path)
    full = pd.read_csv(tmp_path / "cases.csv")
    full.iloc[:2].to_csv(tmp_path / "cases.csv", index=False)  # as if killed after two cases
    Scaled.calls = 0
    run(tmp_path)
    assert Scaled.calls == 1 + 2  # one warm-up, then only the two missing cases
    Scaled.calls = 0
    run(tmp_path)
    assert Scaled.calls == 0
    assert len(pd.read_csv(tmp_path / "cases.csv")) == 4


def test_changed_parameters_are_recomputed_beside_the_default_rows(plugins, tmp_path):
    run(tmp_path)
    Scaled.calls = 0
    outcome = run(tmp_path, "scaled", "scaled.gain=0.5", "save_outputs=true")
    assert Scaled.calls == 5 and len(outcome.cases) == 8
    by_label = outcome.cases.groupby("label").params.agg(lambda p: {json.loads(v)["gain"] for v in p})
    assert by_label.to_dict() == {"scaled": {1.0}, "scaled[gain=0.5]": {0.5}}
    board = pd.read_csv(tmp_path / "leaderboard.csv")
    assert set(board.label) == {"scaled", "scaled[gain=0.5]"} and set(board.method) == {"scaled"}
    psnr = board.groupby("label").psnr_mean.mean()
    assert psnr["scaled[gain=0.5]"] < psnr["scaled"]  # each entry averages its own rows only
    assert (tmp_path / "outputs" / "scaled[gain=0.5]" / "camera-high.npz").exists()
    Scaled.calls = 0
    assert len(run(tmp_path).cases) == 8 and Scaled.calls == 0  # the default rows are still there and finished


def test_new_weights_are_recomputed_not_reused(plugins, tmp_path, monkeypatch):
    run(tmp_path)
    keys = set(pd.read_csv(tmp_path / "cases.csv").run_key)
    Scaled.calls = 0
    monkeypatch.setattr(Scaled, "weights_digest", lambda self: "retrained")
    outcome = run(tmp_path)
    assert Scaled.calls == 5 and len(outcome.cases) == 4  # the old rows replaced, not kept beside
    assert keys.isdisjoint(outcome.cases.run_key)


def test_unavailable_method_is_skipped_with_its_reason(plugins, tmp_path):
    outcome = run(tmp_path, "not_here,scaled")
    assert outcome.skipped == {"not_here": "needs a checkpoint: run bench train not_here"}
    assert set(outcome.cases.method) == {"scaled"}


def test_unknown_method_and_dataset_list_available_names(plugins, tmp_path):
    with pytest.raises(UnknownPluginError, match="unknown method 'nope'; available: .*scaled"):
        run(tmp_path, "nope")
    with pytest.raises(UnknownPluginError, match="unknown dataset 'nope'; available: .*fresnel-zernike.*, smoke"):
        run_benchmark("scaled", "nope", [f"out={tmp_path}"])


def test_unknown_method_parameter_fails_before_running(plugins, tmp_path):
    with pytest.raises(ValueError, match=r"has no parameter\(s\) \['gian'\]; its parameters: gain"):
        run(tmp_path, "scaled", "scaled.gian=2")
    assert not (tmp_path / "cases.csv").exists()


def test_non_finite_output_is_an_error_row(plugins, tmp_path):
    cases = run(tmp_path, "scaled", "scaled.gain=.inf").cases
    assert (cases.status == "error").all() and cases.error.str.contains("NaN/Inf").all()


def test_finished_rows_read_back_keep_text_ids(tmp_path):
    """A resumed run matches finished rows by case id: ``007`` must not come back as the number 7."""
    from bench.runner import _read_rows

    pd.DataFrame({"method": ["m"], "case_id": ["007"], "image": ["01"], "noise": ["0.10"], "status": ["ok"]}).to_csv(
        tmp_path / "cases.csv", index=False
    )
    rows = _read_rows(tmp_path / "cases.csv")
    assert (rows.case_id.iloc[0], rows.image.iloc[0], rows.noise.iloc[0]) == ("007", "01", "0.10")


def test_a_run_folder_from_before_labels_is_labelled_and_keeps_its_saved_images(plugins, tmp_path):
    run(tmp_path, "scaled", "scaled.gain=0.5", "save_outputs=true")
    old = pd.read_csv(tmp_path / "cases.csv").drop(columns="label")  # as written before labels existed
    old.to_csv(tmp_path / "cases.csv", index=False)
    (tmp_path / "outputs" / "scaled[gain=0.5]").rename(tmp_path / "outputs" / "scaled")
    Scaled.calls = 0
    cases = run(tmp_path, "scaled", "scaled.gain=0.5", "save_outputs=true").cases
    assert Scaled.calls == 0 and set(cases.label) == {"scaled[gain=0.5]"}  # finished rows and images found
    assert "label" in pd.read_csv(tmp_path / "cases.csv").columns
    assert sorted(p.name for p in (tmp_path / "outputs").iterdir()) == ["scaled[gain=0.5]"]
    assert len(list((tmp_path / "outputs" / "scaled[gain=0.5]").glob("*.npz"))) == 4
