"""bootstrap_ci and permutation_test against scipy.stats (same seed -> same interval) and a
straightforward unchunked implementation.

Unit: one resampling call on fixed data with a fixed seed; resamples are of independent observations
(rows, or pairs for paired designs).
"""
import numpy as np
import pytest
from scipy import special, stats

import studykit.stats as sk
from studykit.stats.resampling import MeanContrast


def _scipy_boot(data, statistic, method, paired, seed, n_resamples=2000, confidence=0.95):
    res = stats.bootstrap(data, statistic, n_resamples=n_resamples, method="BCa" if method == "bca" else method,
                          paired=paired, vectorized=True, confidence_level=confidence,
                          rng=np.random.default_rng(seed))
    return res.confidence_interval.low, res.confidence_interval.high, res.standard_error


def _median_diff(x, y, axis=-1):
    return np.median(x, axis=axis) - np.median(y, axis=axis)


def _ratio_of_means(x, y, axis=-1):
    return np.mean(x, axis=axis) / np.mean(y, axis=axis)


@pytest.mark.parametrize("method", ["bca", "percentile"])
@pytest.mark.parametrize("statistic", ["mean_diff", _median_diff, _ratio_of_means])
def test_paired_bootstrap_equals_scipy_with_same_seed(method, statistic, rng):
    n = 57  # odd on purpose
    x = rng.gamma(2.0, 1.0, n) + 1
    y = x + rng.normal(0.3, 1, n)
    sstat = (lambda a, b, axis=-1: a.mean(axis) - b.mean(axis)) if statistic == "mean_diff" else statistic
    lo, hi, se = _scipy_boot((x, y), sstat, method, True, seed=7)
    for batch in (None, 1, 333, 2000):
        res = sk.bootstrap_ci((x, y), statistic, n_resamples=2000, method=method, paired=True, seed=7,
                              batch_size=batch)
        assert (res.ci_low, res.ci_high) == pytest.approx((lo, hi), rel=1e-11, abs=1e-13)
        assert res.se == pytest.approx(se, rel=1e-10)
        assert res.ci_low <= res.estimate <= res.ci_high


@pytest.mark.parametrize("method", ["bca", "percentile"])
@pytest.mark.parametrize("statistic", ["mean_diff", _median_diff, _ratio_of_means])
def test_unpaired_bootstrap_equals_scipy_on_the_same_resamples(method, statistic, rng):
    """Unpaired samples draw from one child stream each; scipy, given that same bootstrap
    distribution (``bootstrap_result``), must give the same BCa / percentile interval."""
    x = rng.gamma(2.0, 1.0, 41) + 1
    y = rng.gamma(2.0, 1.2, 48) + 1
    sstat = (lambda a, b, axis=-1: a.mean(axis) - b.mean(axis)) if statistic == "mean_diff" else statistic
    rngs = [np.random.default_rng(c) for c in np.random.SeedSequence(5).spawn(2)]
    boot = sstat(x[rngs[0].integers(0, 41, (2000, 41))], y[rngs[1].integers(0, 48, (2000, 48))])
    prior = stats.bootstrap((x, y), sstat, n_resamples=10, vectorized=True, method="percentile")
    prior.bootstrap_distribution = boot  # scipy then computes its interval from our resamples
    ref = stats.bootstrap((x, y), sstat, n_resamples=0, bootstrap_result=prior, vectorized=True,
                          method="BCa" if method == "bca" else method)
    for batch in (None, 3, 2000):
        res = sk.bootstrap_ci((x, y), statistic, n_resamples=2000, method=method, seed=5, batch_size=batch)
        assert (res.ci_low, res.ci_high) == pytest.approx(
            (ref.confidence_interval.low, ref.confidence_interval.high), rel=1e-11)


def _straightforward_bca_paired_mean(d, n_resamples, seed, confidence=0.95):
    """Textbook BCa (Efron & Tibshirani 1993, eq. 14.9-14.15): all resamples at once, n x n jackknife."""
    n = d.size
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, (n_resamples, n))
    boot = d[idx].mean(axis=1)
    theta = d.mean()
    z0 = special.ndtri(((boot < theta).sum() + (boot <= theta).sum()) / (2 * n_resamples))
    loo = np.array([np.delete(d, i).mean() for i in range(n)])
    u = loo.mean() - loo
    a = (u ** 3).sum() / (6 * ((u ** 2).sum()) ** 1.5)
    za = special.ndtri((1 - confidence) / 2)
    q = [special.ndtr(z0 + (z0 + z) / (1 - a * (z0 + z))) for z in (za, -za)]
    return np.quantile(boot, q)


def test_bootstrap_chunked_equals_straightforward_implementation(rng):
    x = rng.exponential(1.0, 801)
    y = rng.exponential(1.2, 801)
    ref = _straightforward_bca_paired_mean(x - y, 3000, seed=11)
    for batch in (None, 7, 3000):
        res = sk.bootstrap_ci((x, y), sk.mean_diff, paired=True, n_resamples=3000, seed=11, batch_size=batch)
        assert (res.ci_low, res.ci_high) == pytest.approx(tuple(ref), rel=1e-12)
        # the generic (non-declared) statistic takes the chunked-jackknife path: same interval
        generic = sk.bootstrap_ci((x, y), lambda a, b, axis=-1: np.mean(a - b, axis=axis), paired=True,
                                  n_resamples=3000, seed=11, batch_size=batch)
        assert (generic.ci_low, generic.ci_high) == pytest.approx(tuple(ref), rel=1e-12)


def test_bootstrap_one_sample_and_seed_determinism(rng):
    x = rng.lognormal(size=200)
    a = sk.bootstrap_ci((x,), "mean", seed=3, n_resamples=1000)
    b = sk.bootstrap_ci((x,), "mean", seed=3, n_resamples=1000)
    c = sk.bootstrap_ci((x,), "mean", seed=4, n_resamples=1000)
    assert a == b and a != c
    lo, hi, _ = _scipy_boot((x,), lambda v, axis=-1: v.mean(axis), "bca", False, seed=3, n_resamples=1000)
    assert (a.ci_low, a.ci_high) == pytest.approx((lo, hi), rel=1e-12)


def test_bootstrap_degenerate_gives_documented_nan():
    res = sk.bootstrap_ci(([1.0, 1.0, 1.0, 1.0],), "mean", n_resamples=100)
    assert np.isnan(res.ci_low) and "BCa undefined" in res.note
    pct = sk.bootstrap_ci(([1.0, 1.0, 1.0, 1.0],), "mean", n_resamples=100, method="percentile")
    assert pct.ci_low == pct.ci_high == 1.0


def test_bootstrap_bad_input():
    with pytest.raises(ValueError, match="mismatched lengths"):
        sk.bootstrap_ci(([1, 2, 3], [1, 2]), "mean_diff", paired=True)
    with pytest.raises(ValueError, match="NaN"):
        sk.bootstrap_ci(([1, 2, np.nan],), "mean")
    with pytest.raises(ValueError, match="sequence of samples"):
        sk.bootstrap_ci(np.arange(5.0), "mean")
    with pytest.raises(ValueError, match="method"):
        sk.bootstrap_ci(([1, 2, 3],), "mean", method="basic")
    with pytest.raises(ValueError, match="known statistic"):
        sk.bootstrap_ci(([1, 2, 3],), "mean_diff")


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_permutation_exact_paired_equals_scipy(alternative, rng):
    x = rng.normal(0.4, 1, 10)
    y = rng.normal(0, 1, 10)
    ref = stats.permutation_test((x, y), lambda a, b, axis=-1: np.mean(a - b, axis=axis), vectorized=True,
                                 permutation_type="samples", alternative=alternative, n_resamples=np.inf)
    res = sk.permutation_test(x, y, paired=True, alternative=alternative, n_resamples=5000)
    assert res.p_value == pytest.approx(ref.pvalue, rel=1e-12)
    assert res.statistic == pytest.approx(ref.statistic)
    assert "exact" in res.note
    gen = sk.permutation_test(x, y, lambda a, b, axis=-1: np.mean(a, axis=axis) - np.mean(b, axis=axis),
                              paired=True, alternative=alternative, n_resamples=5000)
    assert gen.p_value == pytest.approx(ref.pvalue, rel=1e-12)


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_permutation_exact_unpaired_equals_scipy(alternative, rng):
    x = rng.normal(0.8, 1, 7)
    y = rng.normal(0, 1, 6)
    ref = stats.permutation_test((x, y), lambda a, b, axis=-1: np.mean(a, axis=axis) - np.mean(b, axis=axis),
                                 vectorized=True, alternative=alternative, n_resamples=np.inf)
    res = sk.permutation_test(x, y, alternative=alternative, n_resamples=2000)
    assert res.p_value == pytest.approx(ref.pvalue, rel=1e-12)
    gen = sk.permutation_test(x, y, _median_diff, alternative=alternative, n_resamples=2000)
    ref2 = stats.permutation_test((x, y), _median_diff, vectorized=True, alternative=alternative,
                                  n_resamples=np.inf)
    assert gen.p_value == pytest.approx(ref2.pvalue, rel=1e-12)


@pytest.mark.parametrize("paired", [True, False])
def test_permutation_monte_carlo_agrees_with_scipy(paired, rng):
    n = 60
    x = rng.normal(0.25, 1, n)
    y = rng.normal(0, 1, n)
    ref = stats.permutation_test((x, y), lambda a, b, axis=-1: np.mean(a, axis=axis) - np.mean(b, axis=axis),
                                 vectorized=True, permutation_type="samples" if paired else "independent",
                                 n_resamples=20000, rng=np.random.default_rng(1))
    res = sk.permutation_test(x, y, paired=paired, n_resamples=20000, seed=2)
    # both are Monte Carlo estimates of the same p; SE <= sqrt(p(1-p)/20000) each
    se = np.sqrt(2 * ref.pvalue * (1 - ref.pvalue) / 20000)
    assert abs(res.p_value - ref.pvalue) < 5 * se + 1e-4
    assert "Monte Carlo" in res.note
    again = sk.permutation_test(x, y, paired=paired, n_resamples=20000, seed=2, batch_size=333)
    assert again.p_value == res.p_value


def test_permutation_null_is_calibrated(rng):
    # under H0 the Monte Carlo p-value is (super-)uniform: P(p <= 0.1) ~ 0.1
    ps = [sk.permutation_test(rng.normal(size=15), rng.normal(size=15), n_resamples=199, seed=s).p_value
          for s in range(300)]
    assert 0.05 < np.mean(np.array(ps) <= 0.1) < 0.16


def test_mean_contrast_wrong_arity():
    with pytest.raises(ValueError, match="takes 1 sample"):
        sk.bootstrap_ci(([1.0, 2, 3], [1.0, 2, 4]), MeanContrast((1.0,)))


def test_bootstrap_memory_is_bounded_without_n_by_n_jackknife(rng):
    """n = 3,000 pairs: an n x n jackknife matrix alone would be 72 MB, all resamples at once 24 MB."""
    import tracemalloc

    n = 3000
    x = rng.normal(size=n)
    y = x + rng.normal(size=n)
    tracemalloc.start()
    try:
        generic = sk.bootstrap_ci((x, y), lambda a, b, axis=-1: np.mean(a - b, axis=axis), paired=True,
                                  n_resamples=1000, seed=1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16e6, f"peak {peak / 1e6:.1f} MB"
    declared = sk.bootstrap_ci((x, y), sk.mean_diff, paired=True, n_resamples=1000, seed=1)
    assert (generic.ci_low, generic.ci_high) == pytest.approx((declared.ci_low, declared.ci_high), rel=1e-12)
