"""The two-way (pigeonhole) bootstrap against an exact variance and under crossed random effects.

Unit: one bootstrap call on a fixed rows x columns table with a fixed seed (exactness, invariance), and for
the rejection-rate tests one simulated crossed table per replicate (rows and columns both random samples).
"""
import numpy as np
import pytest
from scipy import stats

import studykit.stats as sk


def _grand_sum(x):
    return lambda w, u: np.einsum("bi,ij,bj->b", w, x, u)


def _exact_pigeonhole_variance(x: np.ndarray) -> float:
    """Var*(w'Xu) for w ~ Mult(R, 1/R), u ~ Mult(C, 1/C) independent: E[ww'] = I - J/R + 11', so
    Var = tr(E[ww'] X E[uu'] X') - (1'X1)^2 (computed with dense matrices, not with the library)."""
    r, c = x.shape
    eww = np.eye(r) - np.ones((r, r)) / r + np.ones((r, r))
    euu = np.eye(c) - np.ones((c, c)) / c + np.ones((c, c))
    return float(np.trace(eww @ x @ euu @ x.T) - x.sum() ** 2)


def test_weights_keep_each_stratum_size_and_average_one():
    strata = np.array(["a"] * 3 + ["b"] * 7 + ["c"])
    w = sk.stratified_weights(strata, 5000, seed=4)
    assert w.shape == (5000, 11)
    assert (w[:, :3].sum(axis=1) == 3).all() and (w[:, 3:10].sum(axis=1) == 7).all() and (w[:, 10] == 1).all()
    assert np.allclose(w.mean(axis=0), 1.0, atol=0.06)
    # multinomial variance within a stratum of n: (n - 1)/n
    assert w[:, 3:10].var(axis=0).mean() == pytest.approx(6 / 7, rel=0.05)


def test_pigeonhole_variance_of_a_sum_matches_the_exact_formula():
    x = np.random.default_rng(0).gamma(2.0, 1.0, size=(12, 7))
    reps = sk.pigeonhole_bootstrap(_grand_sum(x), np.zeros(12), np.zeros(7), n_resamples=40_000, seed=1)
    assert reps.var(ddof=1) == pytest.approx(_exact_pigeonhole_variance(x), rel=0.04)
    assert reps.mean() == pytest.approx(x.sum(), rel=0.01)


def test_same_seed_same_replicates_for_any_batch_size():
    x = np.arange(20.0).reshape(5, 4)
    a = sk.pigeonhole_bootstrap(_grand_sum(x), [0, 0, 1, 1, 1], [0, 1, 0, 1], n_resamples=301, seed=9)
    b = sk.pigeonhole_bootstrap(_grand_sum(x), [0, 0, 1, 1, 1], [0, 1, 0, 1], n_resamples=301, seed=9,
                                batch_size=7)
    assert np.array_equal(a, b)


def test_replicate_test_matches_a_direct_computation():
    rng = np.random.default_rng(2)
    reps = rng.normal([0.3, 0.0], [0.1, 0.2], size=(999, 2))
    r = sk.replicate_test([0.3, 0.0], reps, confidence=0.9)
    se = reps.std(axis=0, ddof=1)
    assert np.allclose(r["se"], se)
    assert r["p_value"][0] == pytest.approx(2 * stats.norm.sf(0.3 / se[0]))
    assert r["p_value"][1] == 1.0
    assert r["ci_low"][0] == pytest.approx(np.quantile(reps[:, 0], 0.05))
    assert r["ci_high"][1] == pytest.approx(np.quantile(reps[:, 1], 0.95))


@pytest.mark.parametrize("call, message", [
    (lambda: sk.stratified_weights([], 10), "strata"),
    (lambda: sk.stratified_weights([0, 1], 0), "n_resamples"),
    (lambda: sk.pigeonhole_bootstrap(lambda w, u: w.sum(1), [0], [[0, 1]]), "col_strata"),
    (lambda: sk.replicate_test(0.0, [1.0]), "replicates"),
    (lambda: sk.replicate_test([0.0, 1.0], np.zeros((5, 3))), "shape"),
])
def test_bad_input_is_one_clear_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def crossed_null_rejections(replicates: int, rows: int = 30, cols: int = 20, n_resamples: int = 199,
                            seed: int = 5) -> dict[str, float]:
    """y_ij = a_i + b_j + e_ij with a, b, e ~ N(0, 1): test mean = 0 with the two-way and the row-only bootstrap."""
    rng = np.random.default_rng(seed)
    two_way = one_way = 0
    for r in range(replicates):
        y = rng.normal(size=(rows, 1)) + rng.normal(size=(1, cols)) + rng.normal(size=(rows, cols))
        estimate = y.mean()
        reps = sk.pigeonhole_bootstrap(lambda w, u: np.einsum("bi,ij,bj->b", w, y, u) / y.size, np.zeros(rows),
                                       np.zeros(cols), n_resamples=n_resamples, seed=[seed, r])
        rows_only = sk.pigeonhole_bootstrap(lambda w, u: w @ y.mean(axis=1) / rows, np.zeros(rows),
                                            np.zeros(cols), n_resamples=n_resamples, seed=[seed, r])
        two_way += sk.replicate_test(estimate, reps)["p_value"] < 0.05
        one_way += sk.replicate_test(estimate, rows_only)["p_value"] < 0.05
    return {"two_way": two_way / replicates, "rows_only": one_way / replicates}


def test_two_way_bootstrap_holds_alpha_under_crossed_random_effects_fast():
    """200 replicates: the two-way test rejects near 5 %, the rows-only bootstrap far more often."""
    rates = crossed_null_rejections(200)
    assert 0.01 <= rates["two_way"] <= 0.09, rates
    assert rates["rows_only"] >= 0.15, rates


@pytest.mark.slow
def test_two_way_bootstrap_holds_alpha_under_crossed_random_effects():
    """1,000 replicates: two-way within 0.03-0.07."""
    rates = crossed_null_rejections(1000, n_resamples=399, seed=6)
    assert 0.03 <= rates["two_way"] <= 0.07, rates
    assert rates["rows_only"] >= 0.17, rates


def test_unit_bootstrap_resamples_units_within_strata_and_ignores_the_batch_size():
    """Each replicate's weights keep every stratum's size; replicates do not depend on batch_size; the SD of
    a mean's replicates is the bootstrap SE sqrt((n-1)/n) * s / sqrt(n) of the plain bootstrap."""
    x = np.random.default_rng(0).normal(size=40)
    strata = np.r_[np.zeros(15), np.ones(25)]
    seen = []
    stat = lambda w: (seen.append(w) or np.c_[w @ x / w.sum(axis=1), w[:, :15].sum(axis=1), w[:, 15:].sum(axis=1)])
    a = sk.unit_bootstrap(stat, strata, n_resamples=300, seed=5, batch_size=7)
    b = sk.unit_bootstrap(stat, strata, n_resamples=300, seed=5, batch_size=300)
    assert a.shape == (300, 3) and np.array_equal(a[:, 1:], b[:, 1:]) and np.allclose(a[:, 0], b[:, 0], rtol=1e-12)
    assert np.array_equal(np.concatenate(seen[:43]), seen[43])  # the same weights, in batches of 7 or at once
    assert (a[:, 1] == 15).all() and (a[:, 2] == 25).all()
    plain = sk.unit_bootstrap(lambda w: w @ x / 40, [0] * 40, n_resamples=20000, seed=1)
    assert plain.std() == pytest.approx(x.std() / np.sqrt(40), rel=0.03)
    with pytest.raises(ValueError, match="n_resamples"):
        sk.unit_bootstrap(stat, strata, n_resamples=0)
