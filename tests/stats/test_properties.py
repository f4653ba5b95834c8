"""Invariants checked with hypothesis: bounds, symmetry under swapping groups, the CI containing
the estimate, p-values in [0, 1], invariance to row order.  Example counts are modest on purpose.

Unit: one generated input (independent values drawn by hypothesis) to one statistical function.
"""
import math
import os

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import studykit.stats as sk

# Default: 30 derandomized examples per property (fast, the same on every run and in CI).
# STUDYKIT_HYPOTHESIS_EXAMPLES=500 explores with fresh random examples.
_N = int(os.environ.get("STUDYKIT_HYPOTHESIS_EXAMPLES", "30"))
SETTINGS = settings(max_examples=_N, deadline=None, derandomize=_N <= 30, database=None,
                    suppress_health_check=[HealthCheck.too_slow])

values = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False, width=32)
samples = arrays(np.float64, st.integers(5, 30), elements=values)


def _varied(x):
    return np.ptp(x) > 1e-3 * (1 + np.abs(x).max())


def _ci_ok(e, lo=-math.inf, hi=math.inf):
    if math.isnan(e.ci_low):
        assert e.note, "NaN CI without a note"
        return
    assert lo <= e.ci_low <= e.estimate <= e.ci_high <= hi


@SETTINGS
@given(samples, samples)
def test_two_sample_effects_swap_symmetry_and_bounds(x, y):
    assume(_varied(x) and _varied(y))
    d, d_sw = sk.cohens_d(x, y), sk.cohens_d(y, x)
    assert math.isclose(d.estimate, -d_sw.estimate, rel_tol=1e-9, abs_tol=1e-12)
    assert math.isclose(d.ci_low, -d_sw.ci_high, rel_tol=1e-6, abs_tol=1e-9)
    _ci_ok(d)
    _ci_ok(sk.hedges_g(x, y))
    a, a_sw = sk.vargha_delaney_a(x, y), sk.vargha_delaney_a(y, x)
    assert math.isclose(a.estimate, 1 - a_sw.estimate, abs_tol=1e-12)
    _ci_ok(a, 0, 1)
    c = sk.cliffs_delta(x, y)
    _ci_ok(c, -1, 1)
    assert math.isclose(c.estimate, -sk.cliffs_delta(y, x).estimate, abs_tol=1e-12)
    for res in (sk.welch_t(x, y), sk.mann_whitney(x, y), sk.permutation_test(x, y, n_resamples=200)):
        assert 0 <= res.p_value <= 1
    assert math.isclose(sk.welch_t(x, y).p_value, sk.welch_t(y, x).p_value, rel_tol=1e-9)
    assert math.isclose(sk.mann_whitney(x, y).p_value, sk.mann_whitney(y, x).p_value, rel_tol=1e-9)


@SETTINGS
@given(samples, st.integers(0, 2 ** 32 - 1))
def test_paired_effects_row_order_invariance(x, seed):
    rng = np.random.default_rng(seed)
    y = x * 0.5 + rng.normal(0, 10, x.size)
    assume(_varied(x) and _varied(y) and _varied(x - y))
    perm = rng.permutation(x.size)
    for fn in (sk.pearson_r, sk.spearman_rho, sk.paired_t, sk.wilcoxon):
        a, b = fn(x, y), fn(x[perm], y[perm])
        assert math.isclose(a.statistic, b.statistic, rel_tol=1e-9, abs_tol=1e-12)
        assert math.isclose(a.p_value, b.p_value, rel_tol=1e-7, abs_tol=1e-12)
        assert 0 <= a.p_value <= 1
        _ci_ok(a.effect, -math.inf if fn is sk.paired_t else -1, math.inf if fn is sk.paired_t else 1)
    r = sk.rank_biserial(x, y, paired=True)
    _ci_ok(r, -1, 1)
    assert math.isclose(r.estimate, -sk.rank_biserial(y, x, paired=True).estimate, abs_tol=1e-12)


tables = arrays(np.int64, st.tuples(st.integers(2, 4), st.integers(2, 4)), elements=st.integers(0, 40))


@SETTINGS
@given(tables, st.booleans())
def test_contingency_bounds_and_order(t, corr):
    assume((t.sum(0) > 0).all() and (t.sum(1) > 0).all() and t.sum() > 8)
    v = sk.cramers_v(t, bias_correction=corr)
    _ci_ok(v, 0, 1 + 1e-12)
    # permuting rows / columns or transposing does not change V
    assert math.isclose(v.estimate, sk.cramers_v(t[::-1, ::-1], bias_correction=corr).estimate, abs_tol=1e-12)
    assert math.isclose(v.estimate, sk.cramers_v(t.T, bias_correction=corr).estimate, abs_tol=1e-12)
    assert 0 <= sk.chi2_independence(t).p_value <= 1


tables22 = arrays(np.int64, (2, 2), elements=st.integers(0, 60))


@SETTINGS
@given(tables22)
def test_2x2_effects(t):
    assume((t.sum(0) > 0).all() and (t.sum(1) > 0).all())
    p = sk.phi(t)
    _ci_ok(p, -1, 1)
    assert math.isclose(p.estimate, -sk.phi(t[::-1]).estimate, abs_tol=1e-12)
    o = sk.odds_ratio(t, haldane=True)
    _ci_ok(o, 0)
    o_sw = sk.odds_ratio(t[::-1], haldane=True)
    assert math.isclose(o.estimate * o_sw.estimate, 1.0, rel_tol=1e-9)
    x1, n1, x2, n2 = int(t[0, 0]), int(t[0].sum()), int(t[1, 0]), int(t[1].sum())
    rd = sk.risk_difference(x1, n1, x2, n2)
    _ci_ok(rd, -1, 1)
    rd_sw = sk.risk_difference(x2, n2, x1, n1)
    assert math.isclose(rd.ci_low, -rd_sw.ci_high, abs_tol=1e-12)
    h = sk.cohens_h(x1, n1, x2, n2)
    _ci_ok(h, -math.pi, math.pi)
    lg = sk.two_proportion_logit(x1, n1, x2, n2)
    if bool(lg.valid):
        assert 0 <= float(lg.p_value) <= 1
        assert math.isclose(float(lg.p_value), float(sk.two_proportion_logit(x2, n2, x1, n1).p_value), rel_tol=1e-9)
    if t[0, 1] + t[1, 0] > 0:
        assert 0 <= sk.mcnemar(t).p_value <= 1


@st.composite
def prob_pairs(draw):
    k = draw(st.integers(2, 8))
    el = st.floats(0, 1, allow_nan=False)
    return draw(arrays(np.float64, k, elements=el)), draw(arrays(np.float64, k, elements=el))


@SETTINGS
@given(prob_pairs())
def test_divergences(pq):
    p, q = pq
    assume(p.sum() > 0 and q.sum() > 0)
    js = sk.jensen_shannon(p, q)
    assert 0 <= js <= 1 + 1e-12
    assert math.isclose(js, sk.jensen_shannon(q, p), abs_tol=1e-12)
    perm = np.random.default_rng(0).permutation(p.size)
    assert math.isclose(js, sk.jensen_shannon(p[perm], q[perm]), abs_tol=1e-12)
    assert sk.kl_divergence(p, q) >= 0
    assert math.isclose(sk.kl_divergence(p, p), 0.0, abs_tol=1e-12)


@SETTINGS
@given(arrays(np.float64, st.integers(1, 60), elements=st.floats(0, 1, allow_nan=False)),
       st.sampled_from(["bonferroni", "holm", "hochberg", "fdr_bh", "fdr_by"]))
def test_adjusted_pvalues_bounds_and_order(p, method):
    adj = sk.adjust_pvalues(p, method)
    assert np.all((adj >= p - 1e-15) & (adj <= 1))
    perm = np.random.default_rng(1).permutation(p.size)
    assert np.allclose(sk.adjust_pvalues(p[perm], method), adj[perm])
    order = np.argsort(p, kind="stable")
    assert np.all(np.diff(adj[order]) >= -1e-15)


@SETTINGS
@given(arrays(np.float64, st.integers(5, 40), elements=values), st.integers(0, 1000))
def test_bootstrap_contains_estimate_for_mean(x, seed):
    assume(_varied(x))
    for method in ("bca", "percentile"):
        r = sk.bootstrap_ci((x,), "mean", n_resamples=300, method=method, seed=seed)
        assert r.ci_low <= r.ci_high
        if method == "bca":
            assert r.ci_low <= r.estimate <= r.ci_high


@SETTINGS
@given(arrays(np.float64, st.integers(3, 25), elements=values), st.integers(3, 8), st.integers(0, 1000))
def test_kendalls_w_bounds_and_row_order(scores, m, seed):
    rng = np.random.default_rng(seed)
    ratings = scores[:, None] + rng.normal(0, 100, (scores.size, m))
    w = sk.kendalls_w(ratings)
    _ci_ok(w, 0, 1)
    perm = rng.permutation(scores.size)
    assert math.isclose(w.estimate, sk.kendalls_w(ratings[perm]).estimate, abs_tol=1e-12)
    assert math.isclose(w.estimate, sk.kendalls_w(ratings[:, ::-1]).estimate, abs_tol=1e-12)


@SETTINGS
@given(st.floats(-5, 5).filter(lambda v: abs(v) > 1e-3), st.floats(0.05, 10))
def test_retrodesign_bounds(d, s):
    r = sk.retrodesign(d, s)
    assert 0.05 - 1e-12 <= r.power <= 1
    assert 0 <= r.type_s <= 0.5
    assert r.exaggeration >= 1 - 1e-9
    assert r == sk.retrodesign(-d, s)
