"""Core functions checked against independent implementations (scipy, statsmodels, pingouin)
or published worked examples (cited per test).

Unit: one call on fixed data (independent observations), compared with the reference's output.
"""
import math
import warnings

import numpy as np
import pandas as pd
import pingouin as pg
import pytest
import statsmodels.api as sm
from scipy import stats
from scipy.spatial import distance
from sklearn.metrics import matthews_corrcoef, mutual_info_score
from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar
from statsmodels.stats.multitest import multipletests

import studykit.stats as sk

# mtcars (Henderson & Velleman 1981; R datasets::mtcars): mpg and am, the data of the
# R effectsize documentation examples.
MPG = np.array([21.0, 21.0, 22.8, 21.4, 18.7, 18.1, 14.3, 24.4, 22.8, 19.2, 17.8, 16.4, 17.3, 15.2, 10.4, 10.4,
                14.7, 32.4, 30.4, 33.9, 21.5, 15.5, 15.2, 13.3, 19.2, 27.3, 26.0, 30.4, 15.8, 19.7, 15.0, 21.4])
AM = np.array([1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1])


def test_mtcars_data_is_the_known_one():
    assert MPG.mean() == pytest.approx(20.090625)
    assert AM.sum() == 13


def test_cohens_d_matches_r_effectsize_mtcars():
    # R: effectsize::cohens_d(mpg ~ am, data = mtcars) -> d = -1.48, 95% CI [-2.27, -0.67]
    r = sk.cohens_d(MPG[AM == 0], MPG[AM == 1])
    assert round(r.estimate, 2) == -1.48
    assert (round(r.ci_low, 2), round(r.ci_high, 2)) == (-2.27, -0.67)


def test_hedges_g_and_rank_biserial_match_r_effectsize_mtcars():
    # R: effectsize::hedges_g(mpg ~ am, data = mtcars) -> g = -1.44, 95% CI [-2.21, -0.65]
    g = sk.hedges_g(MPG[AM == 0], MPG[AM == 1])
    assert (round(g.estimate, 2), round(g.ci_low, 2), round(g.ci_high, 2)) == (-1.44, -2.21, -0.65)
    # R: effectsize::rank_biserial(mpg ~ am, data = mtcars) -> r = -0.66 (its CI uses the null SE on
    # the Fisher-z scale; ours is the Brunner-Munzel CI, which keeps coverage away from 0)
    assert round(sk.rank_biserial(MPG[AM == 0], MPG[AM == 1]).estimate, 2) == -0.66


def test_cohens_d_and_hedges_g_match_pingouin(rng):
    x, y = rng.normal(0.5, 1, 23), rng.normal(0, 1.3, 31)
    assert sk.cohens_d(x, y).estimate == pytest.approx(pg.compute_effsize(x, y, eftype="cohen"), rel=1e-12)
    g = sk.hedges_g(x, y).estimate
    # pingouin uses the approximation J = 1 - 3/(4(n1+n2)-9); exact J differs by O(n^-2)
    assert g == pytest.approx(pg.compute_effsize(x, y, eftype="hedges"), rel=2e-4)
    d = sk.cohens_d(x, y)
    # pingouin's normal-approximation CI is close to the exact noncentral-t CI at this n
    lo, hi = pg.compute_esci(d.estimate, nx=23, ny=31, eftype="cohen")
    assert d.ci_low == pytest.approx(lo, abs=0.02) and d.ci_high == pytest.approx(hi, abs=0.02)


def test_cohens_d_ci_inverts_the_noncentral_t_exactly(rng):
    x, y = rng.normal(0.8, 1, 12), rng.normal(0, 1, 9)
    d = sk.cohens_d(x, y, confidence=0.9)
    scale = math.sqrt(12 * 9 / 21)
    t = d.estimate * scale
    assert stats.nct.cdf(t, 19, d.ci_low * scale) == pytest.approx(0.95, abs=1e-9)
    assert stats.nct.cdf(t, 19, d.ci_high * scale) == pytest.approx(0.05, abs=1e-9)


def test_paired_dz_matches_pingouin(rng):
    x = rng.normal(0, 1, 40)
    y = x + rng.normal(0.3, 0.5, 40)
    dz = sk.cohens_d(x, y, paired=True).estimate
    assert dz == pytest.approx((x - y).mean() / (x - y).std(ddof=1))
    assert sk.cohens_d(x - y).estimate == pytest.approx(dz)


def test_pearson_matches_scipy_and_pingouin(rng):
    x = rng.normal(size=50)
    y = 0.4 * x + rng.normal(size=50)
    res = sk.pearson_r(x, y)
    ref = stats.pearsonr(x, y)
    ci = ref.confidence_interval(0.95)
    assert res.statistic == pytest.approx(ref.statistic, rel=1e-12)
    assert res.p_value == pytest.approx(ref.pvalue, rel=1e-10)
    assert (res.effect.ci_low, res.effect.ci_high) == pytest.approx((ci.low, ci.high), rel=1e-10)
    pgr = pg.corr(x, y)
    assert res.effect.ci_low == pytest.approx(pgr["CI95"].iloc[0][0], abs=0.006)
    for alt in ("greater", "less"):
        assert sk.pearson_r(x, y, alternative=alt).p_value == pytest.approx(
            stats.pearsonr(x, y, alternative=alt).pvalue, rel=1e-10)


def test_spearman_matches_scipy_and_pingouin(rng):
    x = rng.normal(size=60)
    y = np.exp(x) + rng.normal(size=60)
    res = sk.spearman_rho(x, y)
    ref = stats.spearmanr(x, y)
    assert res.statistic == pytest.approx(ref.statistic, rel=1e-12)
    assert res.p_value == pytest.approx(ref.pvalue, rel=1e-10)
    assert res.statistic == pytest.approx(pg.corr(x, y, method="spearman")["r"].iloc[0], rel=1e-12)
    rho, n = res.statistic, 60
    se = math.sqrt((1 + rho ** 2 / 2) / (n - 3))  # Bonett & Wright (2000), eq. 6
    assert res.effect.ci_high == pytest.approx(math.tanh(math.atanh(rho) + 1.959963984540054 * se), rel=1e-10)


def test_cramers_v_uncorrected_matches_scipy(rng):
    t = np.array([[20, 15, 5], [10, 25, 30], [8, 12, 9]])
    v = sk.cramers_v(t, bias_correction=False)
    assert v.estimate == pytest.approx(stats.contingency.association(t, method="cramer"), rel=1e-12)
    assert v.ci_low < v.estimate < v.ci_high


def test_cramers_v_bias_corrected_matches_bergsma_formula():
    # Bergsma (2013), eq. 2.3-2.5, written out independently from the chi-square of scipy
    t = np.array([[12, 5, 7, 9], [4, 15, 6, 11]])
    chi2 = stats.chi2_contingency(t, correction=False).statistic
    n, r, k = t.sum(), 2, 4
    phi2 = max(0, chi2 / n - (k - 1) * (r - 1) / (n - 1))
    kt, rt = k - (k - 1) ** 2 / (n - 1), r - (r - 1) ** 2 / (n - 1)
    assert sk.cramers_v(t).estimate == pytest.approx(math.sqrt(phi2 / min(kt - 1, rt - 1)), rel=1e-12)


def test_cramers_v_ci_inverts_noncentral_chi2():
    t = np.array([[30, 12], [14, 28]])
    v = sk.cramers_v(t, bias_correction=False)
    chi2 = stats.chi2_contingency(t, correction=False).statistic
    n = t.sum()
    assert stats.ncx2.cdf(chi2, 1, v.ci_low ** 2 * n) == pytest.approx(0.975, abs=1e-8)
    assert stats.ncx2.cdf(chi2, 1, v.ci_high ** 2 * n) == pytest.approx(0.025, abs=1e-8)


def test_phi_matches_matthews_and_pearson():
    t = np.array([[25, 10], [8, 30]])
    a = np.repeat([1, 1, 0, 0], t.ravel())
    b = np.repeat([1, 0, 1, 0], t.ravel())
    p = sk.phi(t)
    assert p.estimate == pytest.approx(matthews_corrcoef(a, b), rel=1e-12)
    assert p.estimate == pytest.approx(stats.pearsonr(a, b).statistic, rel=1e-12)
    assert p.ci_low < p.estimate < p.ci_high


def test_phi_delta_variance_matches_numerical_gradient():
    t = np.array([[25.0, 10.0], [8.0, 30.0]])
    n = t.sum()
    p0 = (t / n).ravel()

    def f(p):
        p = p.reshape(2, 2)
        return (p[0, 0] * p[1, 1] - p[0, 1] * p[1, 0]) / math.sqrt(p.sum(1).prod() * p.sum(0).prod())

    g = np.array([(f(p0 + h) - f(p0 - h)) / 2e-7 for h in np.eye(4) * 1e-7])
    var = (p0 @ g ** 2 - (p0 @ g) ** 2) / n
    est = f(p0)
    z = 1.959963984540054
    lo = math.tanh(math.atanh(est) - z * math.sqrt(var) / (1 - est ** 2))
    assert sk.phi(t).ci_low == pytest.approx(lo, rel=1e-6)


def test_welch_t_matches_scipy(rng):
    x, y = rng.normal(1, 1, 15), rng.normal(0, 3, 40)
    res = sk.welch_t(x, y)
    ref = stats.ttest_ind(x, y, equal_var=False)
    assert res.statistic == pytest.approx(ref.statistic, rel=1e-12)
    assert res.p_value == pytest.approx(ref.pvalue, rel=1e-12)
    assert res.df == pytest.approx(ref.df, rel=1e-12)
    assert res.effect.method.startswith("Hedges")
    pgt = pg.ttest(x, y, correction=True)
    assert res.p_value == pytest.approx(pgt["p_val"].iloc[0], rel=1e-8)


def test_mean_difference_t_matches_a_hand_computed_welch_interval(rng):
    """The Welch interval of a difference of means and the one-sample interval, computed by hand from the
    textbook formulas (Welch-Satterthwaite df, t quantile), and the test equal to welch_t / one_sample_t."""
    x, y = rng.normal(1, 1, 7), rng.normal(0, 3, 30)
    res = sk.mean_difference_t(x, y, confidence=0.9)
    vx, vy = x.var(ddof=1) / x.size, y.var(ddof=1) / y.size
    df = (vx + vy) ** 2 / (vx ** 2 / (x.size - 1) + vy ** 2 / (y.size - 1))
    half = stats.t.ppf(0.95, df) * np.sqrt(vx + vy)
    d = x.mean() - y.mean()
    assert res.effect.estimate == pytest.approx(d, rel=1e-12)
    assert (res.effect.ci_low, res.effect.ci_high) == pytest.approx((d - half, d + half), rel=1e-10)
    w = sk.welch_t(x, y)
    assert (res.statistic, res.p_value, res.df) == pytest.approx((w.statistic, w.p_value, w.df), rel=1e-12)
    one = sk.mean_difference_t(x)
    h1 = stats.t.ppf(0.975, x.size - 1) * x.std(ddof=1) / np.sqrt(x.size)
    assert (one.effect.ci_low, one.effect.ci_high) == pytest.approx((x.mean() - h1, x.mean() + h1), rel=1e-10)
    assert one.p_value == pytest.approx(sk.one_sample_t(x).p_value, rel=1e-12) and one.df == x.size - 1
    assert sk.mean_difference_t(x, y, alternative="greater").p_value == pytest.approx(
        stats.ttest_ind(x, y, equal_var=False, alternative="greater").pvalue, rel=1e-12)
    with pytest.raises(ValueError, match="zero variance"):
        sk.mean_difference_t([1.0, 1.0], [2.0, 2.0])


def test_one_sample_and_paired_t_match_scipy(rng):
    x = rng.normal(0.4, 1, 25)
    y = x + rng.normal(-0.2, 0.4, 25)
    one = sk.one_sample_t(x, mu=0.1, alternative="greater")
    ref = stats.ttest_1samp(x, 0.1, alternative="greater")
    assert (one.statistic, one.p_value) == pytest.approx((ref.statistic, ref.pvalue), rel=1e-12)
    assert one.effect.estimate == pytest.approx((x.mean() - 0.1) / x.std(ddof=1))
    pr = sk.paired_t(x, y)
    ref = stats.ttest_rel(x, y)
    assert (pr.statistic, pr.p_value) == pytest.approx((ref.statistic, ref.pvalue), rel=1e-12)


def test_mann_whitney_matches_scipy_and_pingouin_rbc(rng):
    x, y = rng.normal(0.5, 1, 30), rng.normal(0, 1, 25)
    res = sk.mann_whitney(x, y)
    ref = stats.mannwhitneyu(x, y)
    assert (res.statistic, res.p_value) == pytest.approx((ref.statistic, ref.pvalue), rel=1e-12)
    pgm = pg.mwu(x, y)
    # pingouin: RBC = 1 - 2U/(n1 n2) with U of x ... sign convention differs by version; compare magnitude
    assert abs(res.effect.estimate) == pytest.approx(abs(pgm["RBC"].iloc[0]), rel=1e-12)
    assert res.effect.estimate > 0  # x is the larger sample
    assert res.effect.estimate == pytest.approx(2 * ref.statistic / (30 * 25) - 1)


def test_mcnemar_matches_statsmodels():
    for table in ([[40, 12], [4, 30]], [[5, 9], [1, 8]], [[10, 30], [25, 4]]):
        for exact in (True, False):
            res = sk.mcnemar(table, exact=exact)
            ref = sm_mcnemar(np.array(table), exact=exact, correction=True)
            assert res.p_value == pytest.approx(ref.pvalue, rel=1e-10)
            assert res.statistic == pytest.approx(ref.statistic, rel=1e-12)
    assert sk.mcnemar((12, 4)).p_value == sk.mcnemar([[40, 12], [4, 30]]).p_value


def test_chi2_independence_matches_scipy():
    t = np.array([[20, 15, 5], [10, 25, 30]])
    res = sk.chi2_independence(t)
    ref = stats.chi2_contingency(t, correction=False)
    assert (res.statistic, res.p_value, res.df) == pytest.approx((ref.statistic, ref.pvalue, ref.dof), rel=1e-12)
    small = sk.chi2_independence([[3, 1], [1, 3]])
    assert "expected count" in small.note


@pytest.fixture(autouse=True)
def _quiet_statsmodels():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", module="statsmodels")
        yield


def _glm_fit(xa, na, xb, nb):
    endog = np.array([[xa, na - xa], [xb, nb - xb]], dtype=float)
    exog = sm.add_constant(np.array([1.0, 0.0]))
    model = sm.GLM(endog, exog, family=sm.families.Binomial())
    fit = model.fit(tol=1e-12)
    # statsmodels' IRLS reports the SE from the weights of its previous iteration; for rare events
    # (1/500) that lags the MLE by ~2e-7 relative. One more IRLS step from the converged
    # coefficients evaluates the information at the MLE (the same as -inverse Hessian there).
    fit = model.fit(tol=1e-12, start_params=fit.params)
    assert np.allclose(np.sqrt(np.diag(np.linalg.inv(-model.hessian(fit.params)))), fit.bse, rtol=1e-10)
    return fit


@pytest.mark.parametrize("xa,na,xb,nb", [(30, 50, 20, 50), (3, 40, 11, 45), (180, 200, 150, 210),
                                         (1, 500, 4, 480), (999, 1000, 990, 1000)])
def test_two_proportion_logit_matches_statsmodels_glm(xa, na, xb, nb):
    fit = _glm_fit(xa, na, xb, nb)
    res = sk.two_proportion_logit(xa, na, xb, nb)
    assert float(res.log_odds_ratio) == pytest.approx(fit.params[1], rel=1e-8)
    assert float(res.se) == pytest.approx(fit.bse[1], rel=1e-8)
    assert float(res.p_value) == pytest.approx(fit.pvalues[1], rel=1e-8)
    assert bool(res.valid)


def test_two_proportion_logit_vectorised_and_invalid_cells(rng):
    na = rng.integers(20, 200, 1000)
    nb = rng.integers(20, 200, 1000)
    xa = rng.binomial(na, 0.3)
    xb = rng.binomial(nb, 0.35)
    xa[:3] = 0
    xb[3] = nb[3]
    res = sk.two_proportion_logit(xa, na, xb, nb)
    assert res.p_value.shape == (1000,)
    assert not res.valid[:4].any() and np.isnan(res.p_value[:4]).all()
    assert "4 test(s)" in res.note
    assert np.all(np.isfinite(res.diff))
    for i in (10, 500, 999):
        fit = _glm_fit(xa[i], na[i], xb[i], nb[i])
        assert res.p_value[i] == pytest.approx(fit.pvalues[1], rel=1e-8)
    one = sk.two_proportion_logit(xa, na, xb, nb, alternative="greater")
    ok = res.valid & (res.z > 0)
    assert np.allclose(one.p_value[ok], res.p_value[ok] / 2)


@pytest.mark.parametrize("method", ["bonferroni", "holm", "hochberg", "fdr_bh", "fdr_by"])
def test_adjust_pvalues_matches_statsmodels(method, rng):
    p = np.concatenate([rng.uniform(size=40), rng.uniform(0, 0.01, 10), [0.02, 0.02, 1.0, 0.0]])
    rng.shuffle(p)
    assert np.allclose(sk.adjust_pvalues(p, method), multipletests(p, method={"hochberg": "simes-hochberg"}.get(method, method))[1], rtol=1e-12, atol=0)


def test_adjust_pvalues_none_is_the_unadjusted_family_checked_like_the_others():
    """Unit: one family of p-values; method 'none' returns them (NaN kept with nan_policy='omit')."""
    p = np.array([0.01, np.nan, 0.04])
    assert np.array_equal(sk.adjust_pvalues(p, "none", nan_policy="omit"), p, equal_nan=True)
    with pytest.raises(ValueError, match="NaN"):
        sk.adjust_pvalues(p, "none")
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        sk.adjust_pvalues([0.1, 1.2], "none")


def test_adjust_pvalues_nan_policy():
    p = np.array([0.01, np.nan, 0.04])
    with pytest.raises(ValueError, match="NaN"):
        sk.adjust_pvalues(p)
    out = sk.adjust_pvalues(p, "bonferroni", nan_policy="omit")
    assert np.isnan(out[1]) and out[0] == pytest.approx(0.02)


def test_information_matches_scipy_and_sklearn(rng):
    p = rng.dirichlet(np.ones(6), size=5)
    q = rng.dirichlet(np.ones(6), size=5)
    js = sk.jensen_shannon(p, q)
    assert js.shape == (5,)
    assert np.allclose(js, distance.jensenshannon(p, q, axis=1, base=2) ** 2, rtol=1e-10)
    assert np.allclose(sk.kl_divergence(p, q), stats.entropy(p, q, base=2, axis=1), rtol=1e-12)
    assert sk.kl_divergence(p[0] * 7, q[0]) == pytest.approx(stats.entropy(p[0], q[0], base=2))
    x = rng.integers(0, 4, 300)
    y = (x + rng.integers(0, 2, 300)) % 4
    assert sk.mutual_information(x, y, base=math.e) == pytest.approx(mutual_info_score(x, y), rel=1e-12)
    assert sk.mutual_information(x.astype(str), y) == pytest.approx(mutual_info_score(x, y) / math.log(2))


def test_kl_infinite_and_smoothed():
    assert sk.kl_divergence([0.5, 0.5], [1.0, 0.0]) == math.inf
    assert math.isfinite(sk.kl_divergence([0.5, 0.5], [1.0, 0.0], eps=0.01))
    assert sk.jensen_shannon([1, 0], [0, 1]) == pytest.approx(1.0)


def test_classify_conclusion_table():
    est = np.array([0.3, -0.3, 0.3, 0.1, 0.1, np.nan])
    p = np.array([0.01, 0.01, 0.01, 0.5, 0.5, 0.01])
    ref = np.array([0.2, 0.2, 0.2, 0.2, 0.2, 0.2])
    rp = np.array([0.001, 0.001, 0.3, 0.001, 0.3, 0.001])
    assert sk.classify_conclusion(est, p, ref, rp).tolist() == [
        "correct", "type_S", "type_I", "type_II", "correct", "undefined"]
    assert sk.exaggeration_ratio([0.3, 0.1], [0.2, 0.0]).tolist() == pytest.approx([1.5, math.inf])
    assert sk.conclusion_label([0.2, -0.2, 0.2, np.nan], [0.01, 0.01, 0.3, 0.01]).tolist() == [
        "a_larger", "b_larger", "none", "none"]


def test_classify_conclusion_vectorised_millions(rng):
    n = 1_000_000
    out = sk.classify_conclusion(rng.normal(size=n), rng.uniform(size=n), rng.normal(size=n), rng.uniform(size=n))
    assert out.shape == (n,)
    assert set(np.unique(out)) <= set(sk.CONCLUSIONS)


def test_retrodesign_gelman_carlin_worked_example():
    # Gelman & Carlin (2014), sec. "Example: beauty and sex ratios": true effect 2 (percentage points),
    # s.e. 8.1 -> power 0.06, Type S rate 0.24, exaggeration ratio 9.5 (their Figure 2 / text).
    r = sk.retrodesign(2, 8.1, n_sims=200_000, seed=1)
    assert round(r.power, 2) == 0.06
    assert round(r.type_s, 2) == 0.24
    assert round(r.exaggeration, 1) == 9.5
    # Our own closed form, written out: power = 1 - Phi(1.96 - 2/8.1) + Phi(-1.96 - 2/8.1)
    z, lam = stats.norm.ppf(0.975), 2 / 8.1
    assert r.power == pytest.approx(stats.norm.sf(z - lam) + stats.norm.cdf(-z - lam), rel=1e-12)
    # simulation cross-check within Monte Carlo error
    assert r.sim_power == pytest.approx(r.power, abs=0.003)
    assert r.sim_type_s == pytest.approx(r.type_s, abs=0.02)
    assert r.sim_exaggeration == pytest.approx(r.exaggeration, rel=0.03)


def test_retrodesign_t_reference_matches_simulation():
    r = sk.retrodesign(1.0, 0.6, df=8, n_sims=400_000, seed=3)
    assert r.sim_power == pytest.approx(r.power, abs=0.003)
    assert r.sim_exaggeration == pytest.approx(r.exaggeration, rel=0.01)
    assert r.sim_type_s == pytest.approx(r.type_s, abs=0.003)
