"""The fast paths of the aggregated-row Cox fit give the same bits as the paths they replace: the hashed grouping
of :func:`studykit.stats.coxph.aggregate_units` equals pandas' groupby, :func:`~studykit.stats.coxph.subset_rows`
equals aggregating the subset again, a fit without residuals equals the fit with them, and the delete-one-cluster
jackknife gives the same covariance in threads.

Unit: a unit (one row of the expanded table, e.g. a line of code); an aggregated row stands for ``weight``
identical units, and clusters are groups of units (e.g. repositories), the unit the jackknife leaves out.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from studykit.stats import coxph
from studykit.stats.clustered import jackknife_cov


def _groupby(df: pd.DataFrame, keys: list[str]) -> tuple[pd.DataFrame, np.ndarray]:
    """The reference: aggregate_units before the fast path (a sorted pandas groupby)."""
    g = df[keys].groupby(keys, sort=True, dropna=False, observed=True)
    return g.size().rename("weight").reset_index(), g.ngroup().to_numpy()


def _units(rng: np.random.Generator, n: int) -> pd.DataFrame:
    return pd.DataFrame({
        "T": rng.integers(0, 6, n).astype(float) * rng.choice([1.0, 0.5], n),
        "E": rng.integers(0, 2, n),
        "x": rng.integers(-2, 3, n),
        "z": rng.normal(size=n).round(1),
        "repo": rng.choice(["b", "a", "c@", "é", ""], n),
        "flag": rng.integers(0, 2, n).astype(bool),
        "big": rng.integers(0, 2, n) * (1 << 40),  # an integer range too wide for offsets
    })


@pytest.mark.parametrize("seed", range(12))
def test_hashed_grouping_equals_pandas_groupby(seed):
    rng = np.random.default_rng(seed)
    df = _units(rng, int(rng.integers(1, 400)))
    cols = list(df.columns)
    keys = [cols[i] for i in rng.permutation(len(cols))[: int(rng.integers(2, len(cols) + 1))]]
    fast = coxph._aggregate_codes(df, keys, "weight")
    assert fast is not None
    ref = _groupby(df, keys)
    pd.testing.assert_frame_equal(fast[0], ref[0], check_exact=True)
    assert np.array_equal(fast[1], ref[1])


def test_grouping_with_missing_values_falls_back_to_groupby():
    df = pd.DataFrame({"T": [1.0, np.nan, 1.0, 2.0], "E": [1, 0, 1, 1], "x": [0, 1, 0, 1]})
    assert coxph._aggregate_codes(df, ["T", "E", "x"], "weight") is None
    rows, mapping = coxph.aggregate_units(df, "T", "E", ["x"])
    ref = _groupby(df, ["T", "E", "x"])
    pd.testing.assert_frame_equal(rows, ref[0])
    assert np.array_equal(mapping, ref[1])


@pytest.mark.parametrize("seed", range(8))
def test_subset_rows_equals_aggregating_the_subset(seed):
    rng = np.random.default_rng(100 + seed)
    df = _units(rng, 300)
    rows, mapping = coxph.aggregate_units(df, "T", "E", ["x", "z"], strata_col="repo")
    keep = rng.random(len(df)) < rng.uniform(0.1, 0.95)
    got = coxph.subset_rows(rows, mapping, keep)
    want, _ = coxph.aggregate_units(df[keep], "T", "E", ["x", "z"], strata_col="repo")
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    # and the fits on them are the same bits
    a = coxph.fit_cox_rows(got, "T", "E", ["x", "z"], strata_col="repo")
    b = coxph.fit_cox_rows(want, "T", "E", ["x", "z"], strata_col="repo")
    assert np.array_equal(a.coef, b.coef) and np.array_equal(a.information, b.information)


def test_subset_rows_refuses_a_mask_of_another_length():
    df = pd.DataFrame({"T": [1.0, 2.0], "E": [1, 0], "x": [0, 1]})
    rows, mapping = coxph.aggregate_units(df, "T", "E", ["x"])
    with pytest.raises(Exception, match="subset_rows: 3 flags for 2 units"):
        coxph.subset_rows(rows, mapping, np.ones(3, bool))


@pytest.mark.parametrize("stratified", [False, True])
def test_fit_without_residuals_equals_the_fit_with_them(stratified):
    rng = np.random.default_rng(7)
    n = 400
    X = np.column_stack([rng.integers(0, 2, n), rng.normal(size=n)])
    T = np.round(rng.exponential(np.exp(-0.5 * X[:, 0])), 1)  # rounded: tied event times (Efron)
    E = (rng.random(n) < 0.7).astype(float)
    strata = rng.integers(0, 3, n) if stratified else None
    with_res = coxph.fit_cox(T, E, X, strata=strata)
    bare = coxph.fit_cox(T, E, X, strata=strata, residuals=False)
    assert np.array_equal(bare.coef, with_res.coef)
    assert np.array_equal(bare.information, with_res.information)
    assert np.array_equal(bare.covariance, with_res.covariance)
    assert bare.log_likelihood == with_res.log_likelihood and bare.n_iter == with_res.n_iter
    assert bare.score_residuals.shape == (0, 2) and with_res.score_residuals.shape == (n, 2)


def test_jackknife_in_threads_equals_serial():
    rng = np.random.default_rng(3)
    n, G = 600, 9
    labels = rng.choice([f"r{g}" for g in range(G)], n)
    x = rng.integers(0, 2, n).astype(float)
    T = rng.exponential(np.exp(-0.3 * x))
    E = (rng.random(n) < 0.8).astype(float)

    def refit(keep):
        return coxph.fit_cox(T[keep], E[keep], x[keep], residuals=False).coef

    beta = coxph.fit_cox(T, E, x).coef
    one = jackknife_cov(beta, labels, refit, threads=1)
    two = jackknife_cov(beta, labels, refit, threads=2)
    assert np.array_equal(one.covariance, two.covariance) and one.n_clusters == two.n_clusters == G


def test_jackknife_in_threads_raises_the_first_failure_in_cluster_order():
    labels = np.array(["a", "b", "c", "d"] * 3)
    calls = []

    def refit(keep):
        left = str(labels[~keep][0])
        calls.append(left)
        if left == "b":
            return np.zeros(2)  # a changed model
        if left == "d":
            raise RuntimeError("refit without d failed")
        return np.zeros(1)

    for threads in (1, 2):
        with pytest.raises(ValueError, match="changes the model"):
            jackknife_cov(np.zeros(1), labels, refit, threads=threads)
