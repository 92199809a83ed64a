"""The refit of the noise rules (calibration/noise_rules.py): it finds a known optimum and runs on training cases."""

import numpy as np
import pytest

from bench.solve.rules import RULES
from calibration import noise_rules
from calibration.noise_rules import FITS, MIN_TOLERANCE_DB, MULTIPLIERS, case_psnr, main, refit, tolerance


def test_every_shipped_rule_has_a_refit():
    assert set(FITS) == set(RULES)


def test_refit_finds_the_rule_that_maximises_the_psnr_read_off_each_curve():
    """Each case's PSNR peaks at the weight 2 * sigma**1.5: the refit of wiener.weight must find c = 2, p = 1.5."""
    fit, shipped = FITS["wiener.weight"], RULES["wiener.weight"]  # 1 * sigma: the table is relative to it
    sigmas = np.array([3e-3, 1e-2, 3e-2, 1e-1])
    best = 2 * sigmas**1.5
    tried = np.log(np.array(MULTIPLIERS))[None, :] + np.log(sigmas)[:, None]
    table = -((tried - np.log(best)[:, None]) ** 2)
    found, scores = refit(shipped, fit, sigmas, np.ones_like(sigmas), table, [1.0, 1.25, 1.5])
    assert found.power == 1.5 and found.scale == pytest.approx(2, rel=0.05)
    assert scores.mean() > case_psnr(shipped, fit, sigmas, np.ones_like(sigmas), table).mean()
    assert found.floor == shipped.floor


def test_a_count_is_read_off_its_iterate_exactly():
    fit, rule = FITS["richardson_lucy.num_iter"], RULES["richardson_lucy.num_iter"]
    sigmas = np.array([1e-3, 2e-2])
    table = np.tile(np.arange(1000.0), (2, 1))  # PSNR = count - 1
    expected = [rule.iterations(s, max_iter=1000) - 1 for s in sigmas]
    np.testing.assert_array_equal(case_psnr(rule, fit, sigmas, np.ones(2), table), expected)


def test_the_tolerance_is_twice_the_standard_error_of_the_per_image_gain():
    gain, bound = tolerance(np.array([0.1, 0.3, 0.2, 0.2, 0.6, 0.4]), ["a", "a", "b", "b", "c", "c"])
    assert gain == pytest.approx(0.3)  # per image 0.2, 0.2, 0.5
    assert bound == pytest.approx(2 * np.std([0.2, 0.2, 0.5], ddof=1) / np.sqrt(3))
    assert tolerance(np.zeros(4), ["a", "a", "b", "b"]) == (0.0, MIN_TOLERANCE_DB)


@pytest.mark.slow
def test_the_script_refits_on_training_cases_and_prints_shipped_found_gain_and_tolerance(capsys, tmp_path, monkeypatch):
    args = ["--size", "32", "--stride", "9", "--levels", "noiseless,high", "--tables", str(tmp_path)]
    main(["--rule", "wiener.weight", "--rule", "richardson_lucy_tv.tv_weight", *args])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "6 training cases (32x32, seed 1, levels noiseless,high)"  # 3 of the 19 training images
    assert lines[2].startswith("wiener.weight") and lines[2].split()[-3] in ("reproduced", "differs")
    assert lines[3].startswith("richardson_lucy_tv.tv_weight") and "with num_iter" in lines[3]
    assert len(list(tmp_path.glob("*.npz"))) == 2  # kept: a rerun reads them
    monkeypatch.setattr(noise_rules, "psnr_table", lambda *args: pytest.fail("the kept table was recomputed"))
    main(["--rule", "wiener.weight", *args])
    assert capsys.readouterr().out.splitlines()[2].split()[:7] == lines[2].split()[:7]


def test_unknown_rules_are_refused_with_the_list_and_names_with_commas_are_kept_whole(capsys):
    assert main(["--rule", "wiener.wieght,variational[data=l2,prior=tv].lam,variational[data=l3,prior=tv].lam"]) == 2
    assert (
        "unknown rule(s) ['wiener.wieght', 'variational[data=l3,prior=tv].lam']; choose among"
        in capsys.readouterr().err
    )
