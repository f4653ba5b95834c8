"""Bad input: a ValueError naming the problem, or a documented NaN with the reason in ``note``.

Unit: one call of a statistical function on one hand-made bad input.
"""
import math
import warnings

import numpy as np
import pytest

import studykit.stats as sk

NAN = float("nan")
INF = float("inf")

TWO_SAMPLE = [sk.cohens_d, sk.hedges_g, sk.vargha_delaney_a, sk.cliffs_delta, sk.rank_biserial,
              sk.welch_t, sk.mann_whitney]
PAIRED = [sk.pearson_r, sk.spearman_rho, sk.paired_t, lambda x, y: sk.cohens_d(x, y, paired=True),
          lambda x, y: sk.rank_biserial(x, y, paired=True), sk.wilcoxon,
          lambda x, y: sk.permutation_test(x, y, paired=True)]


@pytest.mark.parametrize("fn", TWO_SAMPLE + PAIRED)
@pytest.mark.parametrize("bad,match", [([], "empty"), ([1.0, NAN, 2.0, 3.0, 4.0], "NaN"),
                                        ([1.0, INF, 2.0, 3.0, 4.0], "infinite")])
def test_two_sample_bad_values(fn, bad, match):
    good = [0.5, 1.5, 2.0, 3.5, 2.2]
    with pytest.raises(ValueError, match=match):
        fn(bad, good)
    with pytest.raises(ValueError, match=match):
        fn(good, bad)


@pytest.mark.parametrize("fn", PAIRED)
def test_paired_mismatched_lengths(fn):
    with pytest.raises(ValueError, match="mismatched lengths"):
        fn([1.0, 2.0, 3.0, 4.0, 5.0], [1.0, 2.0, 3.5, 4.0])


@pytest.mark.parametrize("fn", [sk.pearson_r, sk.spearman_rho])
def test_correlation_zero_variance(fn):
    with pytest.raises(ValueError, match="zero variance"):
        fn([1.0, 1.0, 1.0, 1.0, 1.0], [1.0, 2.0, 3.0, 4.0, 5.0])


@pytest.mark.parametrize("fn", [sk.cohens_d, sk.hedges_g, sk.welch_t])
def test_zero_variance_two_groups(fn):
    with pytest.raises(ValueError, match="zero variance"):
        fn([2.0, 2.0, 2.0], [1.0, 1.0, 1.0])


def test_one_observation_groups():
    with pytest.raises(ValueError, match="at least 2"):
        sk.cohens_d([1.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="at least 2"):
        sk.welch_t([1.0, 2.0], [3.0])
    with pytest.raises(ValueError, match="zero variance"):
        sk.one_sample_t([2.0, 2.0, 2.0])
    with pytest.raises(ValueError, match="all differences are zero"):
        sk.wilcoxon([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])


@pytest.mark.parametrize("fn", [sk.cramers_v, sk.chi2_independence])
def test_tables(fn):
    with pytest.raises(ValueError, match="empty"):
        fn([])
    with pytest.raises(ValueError, match="one group"):
        fn([[1, 2, 3]])
    with pytest.raises(ValueError, match="row 1 sums to zero"):
        fn([[1, 2], [0, 0]])
    with pytest.raises(ValueError, match="column 0 sums to zero"):
        fn([[0, 2], [0, 3]])
    with pytest.raises(ValueError, match="negative"):
        fn([[1, -2], [3, 4]])
    with pytest.raises(ValueError, match="NaN"):
        fn([[1, NAN], [3, 4]])


def test_2x2_shape_and_zero_cells():
    with pytest.raises(ValueError, match="2x2"):
        sk.phi([[1, 2, 3], [4, 5, 6]])
    with pytest.raises(ValueError, match="2x2"):
        sk.odds_ratio([[1, 2, 3], [4, 5, 6]])
    p = sk.phi([[5, 0], [0, 7]])
    assert p.estimate == 1.0 and math.isnan(p.ci_low) and "zero diagonal" in p.note
    assert "zero cell" in sk.odds_ratio([[0, 3], [4, 5]]).note


def test_counts():
    with pytest.raises(ValueError, match="exceed trials"):
        sk.cohens_h(11, 10, 3, 10)
    with pytest.raises(ValueError, match="trials: must be positive"):
        sk.risk_difference(0, 0, 3, 10)
    with pytest.raises(ValueError, match="non-negative integer"):
        sk.risk_ratio(2.5, 10, 3, 10)
    with pytest.raises(ValueError, match="finite"):
        sk.cohens_h(NAN, 10, 3, 10)
    with pytest.raises(ValueError, match="zero trials"):
        sk.two_proportion_logit([1, 2], [0, 5], [1, 1], [3, 3])
    with pytest.raises(ValueError, match="NaN"):
        sk.two_proportion_logit([1, NAN], [4, 5], [1, 1], [3, 3])
    with pytest.raises(ValueError, match="broadcast"):
        sk.two_proportion_logit([1, 2], [4, 5, 6], [1], [3])
    with pytest.raises(ValueError, match="no discordant"):
        sk.mcnemar([[5, 0], [0, 5]])


def test_rank_effects_degenerate_documented():
    a = sk.vargha_delaney_a([5.0, 6.0, 7.0], [1.0, 2.0, 3.0])
    assert a.estimate == 1.0 and math.isnan(a.ci_low) and "complete separation" in a.note
    r = sk.rank_biserial([1.0, 2.0, 3.0, 4.0], paired=True)
    assert r.estimate == 1.0 and math.isnan(r.ci_low) and "same sign" in r.note


def test_kendalls_w_bad_input():
    with pytest.raises(ValueError, match="same rating"):
        sk.kendalls_w([[1, 1], [1, 1], [1, 1]])
    with pytest.raises(ValueError, match="at least 2 columns"):
        sk.kendalls_w([[1], [2], [3]])
    w = sk.kendalls_w([[1, 2], [2, 1], [3, 3]])
    assert math.isnan(w.ci_low) and "fewer than 3 raters" in w.note
    w = sk.kendalls_w([[1, 2, 5], [2, 1, 5], [3, 3, 5]])
    assert math.isnan(w.ci_low) and "same rating" in w.note
    with pytest.raises(ValueError, match="at least 3 columns"):
        sk.friedman([[1, 2], [2, 1]])


def test_information_bad_input():
    with pytest.raises(ValueError, match="negative"):
        sk.jensen_shannon([0.5, -0.5], [0.5, 0.5])
    with pytest.raises(ValueError, match="sums to zero"):
        sk.kl_divergence([0, 0], [0.5, 0.5])
    with pytest.raises(ValueError, match="mismatched shapes"):
        sk.jensen_shannon([0.5, 0.5], [0.2, 0.3, 0.5])
    with pytest.raises(ValueError, match="NaN"):
        sk.kl_divergence([NAN, 1], [0.5, 0.5])
    with pytest.raises(ValueError, match="mismatched lengths"):
        sk.mutual_information([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="missing label"):
        sk.mutual_information([1, None, 3], [1, 2, 2])


def test_parameters():
    with pytest.raises(ValueError, match="confidence"):
        sk.cohens_d([1, 2, 3], [2, 3, 5], confidence=95)
    with pytest.raises(ValueError, match="alternative"):
        sk.welch_t([1, 2, 3], [2, 3, 5], alternative="bigger")
    with pytest.raises(ValueError, match="method"):
        sk.adjust_pvalues([0.1], "bh")
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        sk.adjust_pvalues([0.1, 1.2])
    with pytest.raises(ValueError, match="alpha"):
        sk.classify_conclusion(0.1, 0.01, 0.2, 0.01, alpha=5)
    with pytest.raises(ValueError, match="exactly one"):
        sk.power_two_means(0.5)
    with pytest.raises(ValueError, match="non-zero"):
        sk.retrodesign(0, 1)
    with pytest.raises(ValueError, match="se"):
        sk.retrodesign(1, -1)
    with pytest.raises(ValueError, match="equal proportions"):
        sk.power_two_proportions(0.3, 0.3, 100)


def test_no_numpy_warnings_on_edge_cases():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sk.odds_ratio([[0, 3], [0, 5]])
        sk.risk_ratio(0, 10, 0, 12)
        sk.two_proportion_logit([0, 10, 3], [10, 10, 10], [5, 5, 0], [10, 10, 10])
        sk.exaggeration_ratio([0.0, 1.0], [0.0, 0.0])
        sk.kl_divergence([0.5, 0.5], [1.0, 0.0])
        sk.classify_conclusion([np.nan, 1.0], [0.01, np.nan], [1.0, 1.0], [0.01, 0.01])
        sk.bootstrap_ci(([2.0, 2.0, 2.0],), "mean", n_resamples=50)
        sk.mcnemar((5, 0))


def test_extreme_effects_stay_finite_and_documented(rng):
    x = rng.normal(size=3)
    d = sk.cohens_d(x + 1, x + rng.normal(0, 1e-9, 3), paired=True)   # t ~ 1e9
    assert math.isfinite(d.ci_low) and d.ci_low < d.estimate < d.ci_high and "large-sample" in d.note
    big = sk.cohens_d(rng.normal(100, 1, 200), rng.normal(0, 1, 200))
    assert big.ci_low < big.estimate < big.ci_high
    v = sk.cramers_v([[50, 51], [49, 50]])
    assert v.estimate == 0 and v.ci_high == 0 and "degenerate" in v.note
    assert sk.cramers_v([[500, 0], [0, 500]]).ci_high == 1.0
