"""logrank_test against lifelines and statsmodels (classical and stratified), a hand computation, clusters.

Unit: one simulated data set of independent survival times per test (the clustered tests: one data set of
lines clustered in commits).
"""
from __future__ import annotations

import numpy as np
import pytest

from studykit.contract.errors import InputError
from studykit.stats import logrank_test


def _data(seed: int, n: int = 300, groups: int = 2, strata: int = 3, ties: bool = False):
    rng = np.random.default_rng(seed)
    g = rng.integers(0, groups, n)
    s = rng.integers(0, strata, n)
    t = rng.exponential(1 / (0.5 + 0.3 * g + 0.4 * s))
    if ties:
        t = np.ceil(t * 4) / 4
    c = rng.exponential(2.0, n)
    return np.minimum(t, c), (t <= c).astype(int), np.array(["g0", "g1", "g2"])[g], np.array(["s0", "s1", "s2"])[s]


@pytest.mark.parametrize("groups, ties", [(2, False), (3, False), (2, True), (3, True)])
def test_unstratified_equals_lifelines(groups, ties):
    from lifelines.statistics import multivariate_logrank_test

    T, E, g, _ = _data(1, groups=groups, ties=ties)
    ref = multivariate_logrank_test(T, g, E)
    r = logrank_test(T, E, g)
    assert r.df == groups - 1 and r.n_strata == 1 and r.n_clusters is None
    assert r.statistic == pytest.approx(ref.test_statistic, rel=1e-9)
    assert r.p_value == pytest.approx(ref.p_value, rel=1e-8)


@pytest.mark.parametrize("groups, ties", [(2, False), (3, False), (2, True), (3, True)])
def test_stratified_equals_statsmodels_survdiff(groups, ties):
    from statsmodels.duration.survfunc import survdiff

    T, E, g, s = _data(2, groups=groups, ties=ties)
    chi2, p = survdiff(T, E, g, strata=s)
    r = logrank_test(T, E, g, strata=s)
    assert r.n_strata == 3 and r.method.startswith("stratified (3 strata)")
    assert r.statistic == pytest.approx(chi2, rel=1e-9)
    assert r.p_value == pytest.approx(p, rel=1e-8)
    # pooling the strata (whose baseline hazards differ) gives another statistic
    assert logrank_test(T, E, g).statistic != pytest.approx(chi2, rel=1e-3)


def test_stratified_is_the_sum_of_per_stratum_observed_minus_expected_by_hand():
    """Two strata of three units each, computed by hand: O - E and the hypergeometric variance add up."""
    T = [1, 2, 3, 1, 2, 3]
    E = [1, 1, 1, 1, 0, 1]
    g = ["a", "b", "a", "b", "a", "b"]
    s = ["x", "x", "x", "y", "y", "y"]
    # stratum x: t=1: 3 at risk (b: 1), a dies -> E_b = 1/3, V = 1/3*2/3; t=2: 2 at risk (b: 1), b dies ->
    # O_b = 1, E_b = 1/2, V = 1/4; t=3: 1 at risk (a) -> E_b = 0, V = 0. O - E = 1 - 5/6 = 1/6, V = 2/9 + 1/4.
    # stratum y: t=1: 3 at risk (b: 2), b dies -> O_b = 1, E_b = 2/3, V = 2/9; t=3: 1 at risk (b), b dies ->
    # O_b = 1, E_b = 1, V = 0. O - E = 1/3 + 0 = 1/3, V = 2/9.
    u = 1 / 6 + 1 / 3
    v = 2 / 9 + 1 / 4 + 2 / 9
    r = logrank_test(T, E, g, strata=s)
    assert r.observed_minus_expected == pytest.approx(u)
    assert r.statistic == pytest.approx(u * u / v)


def test_clustered_without_dependence_is_close_to_the_classical_test_and_f_reference():
    """One unit per cluster: the robust variance estimates the same quantity (ratio near 1)."""
    from scipy.stats import f as f_dist

    T, E, g, s = _data(3, n=2000)
    r = logrank_test(T, E, g, strata=s, clusters=np.arange(len(T)))
    classical = logrank_test(T, E, g, strata=s)
    assert r.n_clusters == 2000
    assert r.statistic == pytest.approx(classical.statistic, rel=0.15)
    assert r.p_value == pytest.approx(f_dist.sf(r.statistic * 1999 / 1999, 1, 1999))


def test_clustered_uses_cluster_sums():
    """Duplicating every unit (two copies per cluster) leaves the clustered statistic unchanged, while the
    classical one doubles: the copies count as one piece of evidence."""
    T, E, g, s = _data(4, n=400)
    cl = np.arange(400)
    one = logrank_test(T, E, g, strata=s, clusters=cl)
    two = logrank_test(np.r_[T, T], np.r_[E, E], np.r_[g, g], strata=np.r_[s, s], clusters=np.r_[cl, cl])
    assert two.statistic == pytest.approx(one.statistic, rel=0.02)
    assert logrank_test(np.r_[T, T], np.r_[E, E], np.r_[g, g], strata=np.r_[s, s]).statistic == pytest.approx(
        2 * logrank_test(T, E, g, strata=s).statistic, rel=0.02)


def test_too_few_clusters_and_bad_input():
    T, E, g, _ = _data(5, n=50)
    r = logrank_test(T, E, g, clusters=np.zeros(50))
    assert np.isnan(r.p_value) and r.note.startswith("not estimable: 1 clusters")
    with pytest.raises(InputError, match="two groups"):
        logrank_test(T, E, np.full(50, "a"))
    with pytest.raises(InputError, match="differ in length"):
        logrank_test(T, E[:-1], g)
    with pytest.raises(InputError, match="events 0 or 1"):
        logrank_test(T, E * 2, g)
