"""cronbach_alpha and ols_slope against pingouin and statsmodels, their NaN cases and bad input.

Unit: one simulated data set per test (respondents x items for alpha, (x, y) pairs for the slope).
"""
from __future__ import annotations

import doctest
import math

import numpy as np
import pandas as pd
import pingouin as pg
import pytest
import statsmodels.api as sm
from scipy import stats as sps

from studykit import stats
from studykit.stats import regression, reliability
from studykit.stats.regression import slope_se


@pytest.mark.parametrize("module", [reliability, regression])
def test_doctests_pass(module):
    assert doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE).failed == 0


@pytest.mark.parametrize("seed", [3, 4, 5])
def test_cronbach_alpha_matches_pingouin(seed):
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=80)
    items = pd.DataFrame({f"i{k}": np.clip(np.rint(3 + latent + rng.normal(0, 0.9, 80)), 1, 5) for k in range(6)})
    ours = stats.cronbach_alpha(items, confidence=0.95)
    ref_alpha, ref_ci = pg.cronbach_alpha(items, ci=0.95)
    assert isinstance(ours, stats.EffectSize)
    assert ours.estimate == pytest.approx(ref_alpha, abs=1e-12)
    # pingouin rounds its CI to 3 decimals
    assert ours.ci_low == pytest.approx(ref_ci[0], abs=6e-4)
    assert ours.ci_high == pytest.approx(ref_ci[1], abs=6e-4)
    assert ours.n == 80 and ours.note == ""
    # Listwise deletion: the same alpha as pingouin (whose CI keeps the n before deletion in its df;
    # ours uses the complete rows, n = 79).
    items.iloc[4, 2] = np.nan
    ours = stats.cronbach_alpha(items, confidence=0.95)
    assert ours.estimate == pytest.approx(pg.cronbach_alpha(items, nan_policy="listwise")[0], abs=1e-12)
    assert ours.n == 79


def test_cronbach_alpha_feldt_ci_formula():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 4)) + rng.normal(size=(30, 1))
    res = stats.cronbach_alpha(x, confidence=0.9)
    n, k = x.shape
    a = k / (k - 1) * (1 - x.var(axis=0, ddof=1).sum() / x.sum(axis=1).var(ddof=1))
    assert res.estimate == pytest.approx(a, rel=1e-12)
    assert res.ci_low == pytest.approx(1 - (1 - a) * sps.f.ppf(0.95, n - 1, (n - 1) * (k - 1)), rel=1e-10)
    assert res.ci_high == pytest.approx(1 - (1 - a) * sps.f.ppf(0.05, n - 1, (n - 1) * (k - 1)), rel=1e-10)


@pytest.mark.parametrize("items, reason", [
    (np.ones((1, 3)), "at least 2 complete rows"),
    (np.array([[1.0], [2.0], [3.0]]), "2 items"),
    (np.full((5, 3), 2.0), "zero variance"),
    (np.array([[1.0, np.nan], [np.nan, 2.0], [3.0, 3.0]]), "at least 2 complete rows"),
    (np.empty((0, 4)), "at least 2 complete rows"),
])
def test_cronbach_alpha_undefined_is_nan_with_a_reason(items, reason):
    res = stats.cronbach_alpha(items)
    assert math.isnan(res.estimate) and math.isnan(res.ci_low) and reason in res.note
    assert res.as_record("a")["a.estimate"] is None


@pytest.mark.parametrize("bad, message", [
    ([1, 2, 3], "2-D"),
    ([["a", "b"], ["c", "d"]], "numeric"),
    ([[1.0, np.inf], [2.0, 3.0]], "infinite"),
])
def test_cronbach_alpha_refuses_bad_input(bad, message):
    with pytest.raises(ValueError, match=message):
        stats.cronbach_alpha(bad)


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_ols_slope_matches_statsmodels_and_scipy(alternative):
    rng = np.random.default_rng(11)
    x = rng.uniform(1, 5, 40)
    y = 0.3 + 0.05 * x + rng.normal(0, 0.1, 40)
    res = stats.ols_slope(x, y, confidence=0.9, alternative=alternative)
    fit = sm.OLS(y, sm.add_constant(x)).fit()
    assert res.estimate == pytest.approx(fit.params[1], rel=1e-12)
    assert (res.ci_low, res.ci_high) == pytest.approx(tuple(fit.conf_int(alpha=0.1)[1]), rel=1e-12)
    assert res.statistic == pytest.approx(fit.tvalues[1], rel=1e-10) and res.df == 38
    lr = sps.linregress(x, y, alternative=alternative)
    assert res.p_value == pytest.approx(lr.pvalue, rel=1e-8)
    assert slope_se(res) == pytest.approx(fit.bse[1], rel=1e-9)


def test_ols_slope_perfect_fit_and_bad_input():
    res = stats.ols_slope([1, 2, 3, 4], [2, 4, 6, 8], alternative="greater")
    assert res.statistic == math.inf and res.p_value == 0.0 and "perfect fit" in res.note
    assert res.estimate == pytest.approx(2.0)
    with pytest.raises(ValueError, match="x: zero variance"):
        stats.ols_slope([1, 1, 1], [1, 2, 3])
    with pytest.raises(ValueError, match="at least 3"):
        stats.ols_slope([1, 2], [1, 2])
    with pytest.raises(ValueError, match="NaN"):
        stats.ols_slope([1, 2, np.nan], [1, 2, 3])
    with pytest.raises(ValueError, match="mismatched"):
        stats.ols_slope([1, 2, 3, 4], [1, 2, 3])


def test_results_can_be_recorded(tmp_path):
    """Both results pass through Outputs.record_result, including the NaN case."""
    import json

    from studykit.contract.outputs import Outputs

    out = Outputs("fixture", None, tmp_path / "run")
    out.record_result("alpha_nan", stats.cronbach_alpha(np.full((4, 3), 1.0)))
    out.record_result("slope", stats.ols_slope([1, 2, 3, 4], [1, 3, 2, 4]))
    saved = json.loads((tmp_path / "run" / "results.json").read_text())
    assert saved["alpha_nan.estimate"] is None and saved["alpha_nan.note"]
    assert saved["slope.effect_estimate"] == pytest.approx(0.8)
