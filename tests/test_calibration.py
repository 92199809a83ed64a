"""The refit of the noise rules (calibration/noise_rules.py): it finds a known optimum and runs on training cases."""

import numpy as np
import pytest

from bench.rules import RULES, NoiseRule
from calibration.noise_rules import FITS, Fit, main, mean_psnr, refit


def test_every_shipped_rule_but_the_jointly_fitted_tv_weight_has_a_refit():
    assert set(RULES) - set(FITS) == {"richardson_lucy_tv.tv_weight"}
    assert set(FITS) <= set(RULES)


def test_refit_finds_the_rule_that_maximises_the_psnr_read_off_each_curve():
    """Each case's PSNR peaks at the weight 2 * sigma**1.5: the refit must find c = 2, p = 1.5."""
    grid = tuple(np.logspace(-6, 0, 61))
    sigmas = np.array([1e-3, 3e-3, 1e-2, 3e-2, 1e-1])
    best = 2 * sigmas**1.5
    table = -((np.log(np.array(grid))[None, :] - np.log(best)[:, None]) ** 2)
    fit, shipped = Fit("wiener", "weight", grid), NoiseRule(scale=1.0, power=1.25, floor=1e-4)
    found, score = refit(shipped, fit, sigmas, np.ones_like(sigmas), table, [1.0, 1.25, 1.5])
    assert found.power == 1.5 and found.scale == pytest.approx(2, rel=0.05)
    assert score > mean_psnr(shipped, fit, sigmas, np.ones_like(sigmas), table)
    assert found.floor == shipped.floor


def test_the_script_refits_on_training_cases_and_prints_shipped_and_found(capsys):
    main(["--rules", "wiener.weight", "--size", "32", "--stride", "9", "--levels", "noiseless,high"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "6 training cases (32x32, seed 1, levels noiseless,high)"  # 3 of the 19 training images
    assert lines[2].startswith("wiener.weight") and ("reproduced" in lines[2] or "differs (shipped kept)" in lines[2])


def test_unknown_rules_are_refused_with_the_list_and_names_with_commas_are_kept_whole(capsys):
    assert main(["--rules", "wiener.wieght,variational[data=l2,prior=tv].lam,variational[data=l3,prior=tv].lam"]) == 2
    assert (
        "unknown rule(s) ['wiener.wieght', 'variational[data=l3,prior=tv].lam']; choose among"
        in capsys.readouterr().err
    )
