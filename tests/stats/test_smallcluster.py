"""Small-cluster corrections: the wild cluster bootstrap score test and the CV3 jackknife interval.

Unit: one vector of unit scores (or one table of unit values) in clusters per test; the rejection-rate test uses
simulated data sets of independent clusters. Each method is checked against an independent computation (a loop
over itertools' sign vectors, the CR3 sandwich of the intercept-only regression, a leave-one-out loop over
the units), and ``logrank_test(..., wild=...)`` against the score residuals it bootstraps.
"""
from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from studykit.contract.errors import InputError
from studykit.stats import cluster_jackknife_ci, logrank_test, wild_cluster_score_test
from studykit.stats.smallcluster import wild_weights
from studykit.stats.survival import score_residuals


def _loop_statistic(Uc: np.ndarray, w: np.ndarray) -> float:
    """T(w) = U(w)' (sum_c w_c^2 U_c U_c')^+ U(w), one cluster at a time."""
    k = Uc.shape[1]
    u, S = np.zeros(k), np.zeros((k, k))
    for c in range(len(Uc)):
        u += w[c] * Uc[c]
        S += w[c] ** 2 * np.outer(Uc[c], Uc[c])
    return float(u @ np.linalg.pinv(S) @ u)


@pytest.mark.parametrize("k", [1, 2])
def test_enumerated_rademacher_equals_a_loop_over_every_sign_vector(k):
    rng = np.random.default_rng(3)
    n, G = 200, 9
    U = rng.normal(0.2, 1, (n, k))
    cl = rng.integers(0, G, n)
    Uc = np.array([U[cl == c].sum(0) for c in range(G)])  # clusters in label order; T does not depend on it
    stats = [_loop_statistic(Uc, np.array(s)) for s in itertools.product((-1.0, 1.0), repeat=G)]
    obs = _loop_statistic(Uc, np.ones(G))
    r = wild_cluster_score_test(U, cl)
    assert r.enumerated and r.n_resamples == 2 ** (G - 1) and r.n_clusters == G and r.df == k
    assert r.statistic == pytest.approx(obs, rel=1e-10)
    assert r.p_value == pytest.approx(np.mean(np.array(stats) >= obs - 1e-12), abs=1e-12)


def test_random_webb_weights_equal_a_loop_with_the_same_draws():
    rng = np.random.default_rng(4)
    n, G, B = 300, 14, 500
    U = rng.normal(0, 1, (n, 2)) + np.repeat(rng.normal(0, 1, (G, 2)), n // G + 1, axis=0)[:n]
    cl = np.repeat(np.arange(G), n // G + 1)[:n]
    r = wild_cluster_score_test(U, cl, weights="webb", n_resamples=B, seed=11)
    W = wild_weights("webb", G, B, np.random.default_rng(11))
    assert set(np.round(np.abs(W).ravel() ** 2, 12)) == {0.5, 1.0, 1.5}
    Uc = np.array([U[cl == c].sum(0) for c in range(G)])
    obs = _loop_statistic(Uc, np.ones(G))
    hits = sum(_loop_statistic(Uc, W[b]) >= obs - 1e-12 for b in range(B))
    assert not r.enumerated and r.n_resamples == B
    assert r.p_value == pytest.approx((1 + hits) / (B + 1), abs=1e-12)


def test_rademacher_draws_when_too_many_sign_vectors():
    rng = np.random.default_rng(5)
    U, cl = rng.normal(size=400), rng.integers(0, 20, 400)
    r = wild_cluster_score_test(U, cl, n_resamples=999, seed=1)
    assert not r.enumerated and r.n_resamples == 999 and 0 < r.p_value <= 1
    assert r.p_value == wild_cluster_score_test(U, cl, n_resamples=999, seed=1).p_value  # deterministic


def test_wild_score_test_holds_its_size_with_twelve_skewed_clusters():
    """Null scores of unequal clusters (sizes 5-80) with a cluster effect: rejection near 5 % (300 data sets);
    the self-normalised t(G-1) test of the same statistic is conservative."""
    from scipy.stats import t as t_dist

    wild = tdist = 0
    reps, G = 300, 12
    for i in range(reps):
        rng = np.random.default_rng(1000 + i)
        sizes = rng.integers(5, 81, G)
        cl = np.repeat(np.arange(G), sizes)
        U = (rng.normal(0, 1, G)[cl] + rng.normal(0, 1, len(cl)))
        r = wild_cluster_score_test(U, cl)
        wild += r.p_value < 0.05
        tt = np.sqrt(r.statistic * (G - 1) / G)  # the CR1 t statistic
        tdist += 2 * t_dist.sf(tt, G - 1) < 0.05
    assert 0.02 <= wild / reps <= 0.09
    assert tdist / reps < wild / reps


def test_wild_score_test_bad_input_and_too_few_clusters():
    with pytest.raises(InputError, match="weights"):
        wild_cluster_score_test([1.0, 2.0], ["a", "b"], weights="mammen")
    with pytest.raises(InputError, match="length"):
        wild_cluster_score_test([1.0, 2.0], ["a"])
    with pytest.raises(InputError, match="finite"):
        wild_cluster_score_test([1.0, np.nan], ["a", "b"])
    r = wild_cluster_score_test([1.0, 2.0], ["a", "a"])
    assert np.isnan(r.p_value) and r.note.startswith("not estimable")


def _clustered_survival(seed: int, G: int = 12):
    rng = np.random.default_rng(seed)
    cl = np.repeat(np.arange(G), rng.integers(10, 40, G))
    z = rng.gamma(2.0, 0.5, G)[cl]
    g = (rng.random(len(cl)) < rng.uniform(0.2, 0.8, G)[cl]).astype(int)
    t = rng.exponential(1 / z)
    c = rng.exponential(2.0, len(cl))
    return np.minimum(t, c), (t <= c).astype(int), np.array(["a", "b"])[g], cl


def test_logrank_wild_bootstraps_the_log_rank_score_residuals():
    T, E, g, cl = _clustered_survival(6)
    plain = logrank_test(T, E, g, clusters=cl)
    wild = logrank_test(T, E, g, clusters=cl, wild="rademacher")
    U = score_residuals(T, E, (g == "b").astype(float), np.zeros(1))
    ref = wild_cluster_score_test(U, cl)
    assert wild.p_value == ref.p_value and wild.p_value_f == plain.p_value and plain.p_value_f is None
    assert wild.statistic == plain.statistic and "wild cluster bootstrap" in wild.method
    # the CR0 statistic of the bootstrap is the CR1 statistic times G / (G - 1)
    assert ref.statistic == pytest.approx(plain.statistic * 12 / 11, rel=1e-10)
    strat = logrank_test(T, E, g, clusters=cl, strata=cl % 3, wild="rademacher")
    Us = score_residuals(T, E, (g == "b").astype(float), np.zeros(1), cl % 3)
    assert strat.p_value == wild_cluster_score_test(Us, cl).p_value and strat.method.startswith("stratified")


def test_jackknife_of_a_mean_equals_the_cr3_sandwich_of_the_intercept_regression():
    """For the mean of unit values CV3 equals (X'X)^-1 sum_g X_g'(I - H_gg)^-1 u_g u_g'(I - H_gg)^-1 X_g (X'X)^-1
    times (G - 1)/G with X a column of ones (computed with matrices, not the closed form)."""
    rng = np.random.default_rng(7)
    G = 11
    cl = np.repeat(np.arange(G), rng.integers(3, 15, G))
    y = rng.normal(rng.normal(0, 1, G)[cl], 1)
    n, theta = len(y), y.mean()
    meat = 0.0
    for c in range(G):
        m = cl == c
        ng = int(m.sum())
        Hgg = np.full((ng, ng), 1.0 / n)
        a = np.ones(ng) @ np.linalg.inv(np.eye(ng) - Hgg) @ (y[m] - theta)
        meat += a ** 2
    V = (G - 1) / G * meat / n ** 2
    X = np.column_stack([np.bincount(cl, weights=y), np.bincount(cl)])
    r = cluster_jackknife_ci(X, lambda s: s[..., 0] / s[..., 1], confidence=0.9)
    from scipy.stats import t as t_dist

    assert r.estimate == pytest.approx(theta, rel=1e-12) and r.se == pytest.approx(np.sqrt(V), rel=1e-10)
    crit = t_dist.ppf(0.95, G - 1)
    assert (r.ci_low, r.ci_high, r.df) == (pytest.approx(theta - crit * np.sqrt(V)),
                                            pytest.approx(theta + crit * np.sqrt(V)), G - 1)


def test_jackknife_of_a_share_difference_equals_a_leave_one_out_loop_over_units():
    rng = np.random.default_rng(8)
    df = pd.DataFrame({"cl": rng.integers(0, 13, 900), "agent": rng.random(900) < 0.4,
                       "mod": rng.random(900) < 0.3})
    diff = lambda d: d.loc[d.agent, "mod"].mean() - d.loc[~d.agent, "mod"].mean()  # noqa: E731
    est = diff(df)
    loo = np.array([diff(df[df.cl != c]) for c in range(13)])
    se = np.sqrt(12 / 13 * np.sum((loo - est) ** 2))
    X = np.array([[((df.cl == c) & df.agent & df["mod"]).sum(), ((df.cl == c) & df.agent).sum(),
                   ((df.cl == c) & ~df.agent & df["mod"]).sum(), ((df.cl == c) & ~df.agent).sum()]
                  for c in range(13)])
    r = cluster_jackknife_ci(X, lambda s: s[..., 0] / s[..., 1] - s[..., 2] / s[..., 3])
    assert r.estimate == pytest.approx(est, rel=1e-12) and r.se == pytest.approx(se, rel=1e-10)


def test_jackknife_bad_input_and_undefined_leave_one_out():
    f = lambda s: s[..., 0] / s[..., 1]  # noqa: E731
    with pytest.raises(InputError, match="confidence"):
        cluster_jackknife_ci([[1, 2], [1, 2]], f, confidence=1.5)
    with pytest.raises(InputError, match="array"):
        cluster_jackknife_ci([1, 2, 3], f)
    r = cluster_jackknife_ci([[1, 2], [0, 0], [1, 0]], f)  # leaving out the first cluster leaves 1/0
    assert np.isnan(r.ci_low) and "undefined without 1 of the 3 clusters" in r.note
    assert cluster_jackknife_ci([[1, 2]], f).note.startswith("not estimable")


def test_module_examples_run():
    """The docstring examples of ``smallcluster`` (kept here, not in test_docstrings' list, to keep that file's
    list unchanged for parallel branches)."""
    import doctest

    import studykit.stats.smallcluster as mod

    res = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert res.failed == 0 and res.attempted >= 4
