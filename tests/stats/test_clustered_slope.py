"""ols_slope_clustered against statsmodels' one- and two-way cluster-robust OLS, its weights, edge cases and bad input.

Unit: one simulated crossed data set (rows x columns of cells, e.g. persona x prompt) per test.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats as sps

from studykit import stats
from studykit.stats.regression import slope_se


def _crossed(seed: int, n_rows: int = 12, n_cols: int = 9, slope_sd: float = 0.4, row_sd: float = 1.0):
    """A crossed design: x constant within a row, row and column effects and a column-varying slope."""
    rng = np.random.default_rng(seed)
    r, c = np.meshgrid(np.arange(n_rows), np.arange(n_cols), indexing="ij")
    r, c = r.ravel(), c.ravel()
    x_row = rng.normal(size=n_rows)
    b_col = 0.3 + rng.normal(0, slope_sd, n_cols)
    y = (rng.normal(0, row_sd, n_rows)[r] + rng.normal(size=n_cols)[c] + b_col[c] * x_row[r]
         + rng.normal(0, 0.5, r.size))
    return x_row[r], y, r, c


def _statsmodels(x, y, groups, alternative="two-sided"):
    res = sm.OLS(y, sm.add_constant(x)).fit(cov_type="cluster", cov_kwds={"groups": groups}, use_t=True)
    return res


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_two_way_matches_statsmodels(seed):
    x, y, r, c = _crossed(seed)
    groups = np.column_stack([r, c])
    ref = _statsmodels(x, y, groups)
    got = stats.ols_slope_clustered(x, y, groups)
    assert got.estimate == pytest.approx(ref.params[1], rel=1e-12)
    assert slope_se(got) == pytest.approx(ref.bse[1], rel=1e-10)
    assert got.df == min(12, 9) - 1 == ref.df_resid_inference
    assert got.p_value == pytest.approx(ref.pvalues[1], rel=1e-9)
    lo, hi = ref.conf_int()[1]
    assert (got.ci_low, got.ci_high) == (pytest.approx(lo, rel=1e-10), pytest.approx(hi, rel=1e-10))
    # the two-way variance is V_A + V_B - V_AB, each CR1 (the components are statsmodels' one-way fits)
    v_a = _statsmodels(x, y, r).cov_params()[1, 1]
    v_b = _statsmodels(x, y, c).cov_params()[1, 1]
    v_ab = _statsmodels(x, y, np.arange(len(x))).cov_params()[1, 1]
    assert slope_se(got) ** 2 == pytest.approx(v_a + v_b - v_ab, rel=1e-10)


def test_one_way_matches_statsmodels_and_one_sided_p():
    x, y, r, _ = _crossed(5)
    ref = _statsmodels(x, y, r)
    got = stats.ols_slope_clustered(x, y, r, alternative="greater")
    assert slope_se(got) == pytest.approx(ref.bse[1], rel=1e-10)
    assert got.df == 11
    assert got.p_value == pytest.approx(sps.t.sf(ref.tvalues[1], 11), rel=1e-9)
    less = stats.ols_slope_clustered(x, y, r, alternative="less")
    assert got.p_value + less.p_value == pytest.approx(1.0, abs=1e-12)


def test_frequency_weights_equal_the_expanded_observations():
    """Cells carrying the mean of w observations give the fit on the w observations themselves."""
    rng = np.random.default_rng(7)
    x, y, r, c = _crossed(7)
    w = rng.integers(1, 4, size=len(x))
    rows = np.repeat(np.arange(len(x)), w)
    y_obs = y[rows] + rng.normal(0, 0.3, rows.size)
    y_cell = np.bincount(rows, weights=y_obs) / w
    groups = np.column_stack([r, c])
    ref = _statsmodels(x[rows], y_obs, groups[rows])
    got = stats.ols_slope_clustered(x, y_cell, groups, weights=w)
    assert got.estimate == pytest.approx(ref.params[1], rel=1e-12)
    assert slope_se(got) == pytest.approx(ref.bse[1], rel=1e-10)
    assert got.effect.n == int(w.sum())


def test_labels_of_any_type_and_a_dataframe_give_the_same_result():
    x, y, r, c = _crossed(3)
    codes = stats.ols_slope_clustered(x, y, np.column_stack([r, c]))
    named = stats.ols_slope_clustered(x, y, pd.DataFrame({"persona": [f"p{i}" for i in r],
                                                          "prompt": [f"q{j:03d}" for j in c]}))
    assert named.as_dict() == codes.as_dict()


def test_crossed_design_with_prompt_slopes_widens_the_interval():
    """With a column-varying slope, the two-way SE exceeds the one-way SE by rows (the dependence it adds)."""
    x, y, r, c = _crossed(11, n_rows=30, n_cols=40, slope_sd=1.0, row_sd=0.3)
    two = slope_se(stats.ols_slope_clustered(x, y, np.column_stack([r, c])))
    one = slope_se(stats.ols_slope_clustered(x, y, r))
    assert two > 1.5 * one


def test_perfect_fit_and_bad_input():
    x = np.array([1.0, 2.0, 3.0, 1.0, 2.0, 3.0])
    g = np.column_stack([[0, 0, 0, 1, 1, 1], [0, 1, 2, 0, 1, 2]])
    exact = stats.ols_slope_clustered(x, 2 * x + 1, g)
    assert exact.estimate == pytest.approx(2.0) and math.isinf(exact.statistic) and exact.p_value == 0.0
    assert exact.ci_low == exact.ci_high and "standard error 0" in exact.note
    with pytest.raises(ValueError, match="at least 2 needed"):
        stats.ols_slope_clustered(x, x, np.column_stack([np.zeros(6), np.arange(6)]))
    with pytest.raises(ValueError, match="missing label"):
        stats.ols_slope_clustered(x, x, np.array([0, 1, None, 0, 1, 0], dtype=object))
    with pytest.raises(ValueError, match=r"shape \(n,\) or \(n, 2\)"):
        stats.ols_slope_clustered(x, x, np.zeros((6, 3)))
    with pytest.raises(ValueError, match="5 labels"):
        stats.ols_slope_clustered(x, x, np.arange(5))
    with pytest.raises(ValueError, match="weights: must be positive"):
        stats.ols_slope_clustered(x, x, g, weights=[1, 1, 0, 1, 1, 1])
    with pytest.raises(ValueError, match="x: zero variance"):
        stats.ols_slope_clustered(np.ones(6), x, g)
