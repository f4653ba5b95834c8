"""Per-model statistics against scipy/statsmodels, decision rules, bad-input rules, pooled model.

Unit: the persona (per-model tests over a model's personas); the model for the correction and the pooled model.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests

from studykit.studies.sycophancy_correlation import (
    baseline_gap as bg, categories, per_model as pmt, pooled as pl, rates as rt, recovery)
from studykit.studies.sycophancy_correlation.load import PersonaData


def _toy(n=40, slope=0.05, seed=1, intercept=0.4):
    rng = np.random.default_rng(seed)
    a = rng.uniform(1, 5, n)
    r = intercept + slope * (a - 3) + rng.normal(0, 0.05, n)
    return a, r


def test_model_tests_against_scipy_and_statsmodels():
    a, r = _toy()
    row = pmt.model_tests(a, r, 0.45, n_perm=4000, seed=7)
    assert row["pearson_r"] == pytest.approx(sps.pearsonr(a, r).statistic, abs=1e-12)
    assert row["pearson_p_value"] == pytest.approx(sps.pearsonr(a, r, alternative="greater").pvalue, rel=1e-9)
    assert row["pearson_p_value_two_sided"] == pytest.approx(sps.pearsonr(a, r).pvalue, rel=1e-9)
    z, h = np.arctanh(row["pearson_r"]), 1.959963984540054 / np.sqrt(len(a) - 3)
    assert (row["r_ci_low"], row["r_ci_high"]) == pytest.approx((np.tanh(z - h), np.tanh(z + h)), abs=1e-9)
    assert row["spearman_rho"] == pytest.approx(sps.spearmanr(a, r).statistic, abs=1e-12)
    assert row["spearman_p_value"] == pytest.approx(sps.spearmanr(a, r, alternative="greater").pvalue, rel=1e-9)
    hi, lo = a > np.median(a), a < np.median(a)
    assert row["welch_p_value"] == pytest.approx(
        sps.ttest_ind(r[hi], r[lo], equal_var=False, alternative="greater").pvalue, rel=1e-9)
    assert row["mwu_p_value"] == pytest.approx(
        sps.mannwhitneyu(r[hi], r[lo], alternative="greater").pvalue, rel=1e-6)
    sp = np.sqrt(((hi.sum() - 1) * r[hi].var(ddof=1) + (lo.sum() - 1) * r[lo].var(ddof=1)) / (hi.sum() + lo.sum() - 2))
    d = (r[hi].mean() - r[lo].mean()) / sp
    assert row["cohens_d"] == pytest.approx(d, rel=1e-9)
    dfree = hi.sum() + lo.sum() - 2
    assert row["hedges_g"] == pytest.approx(d * (1 - 3 / (4 * dfree - 1)), rel=1e-3)
    assert row["d_ci_low"] < row["cohens_d"] < row["d_ci_high"]
    lr = sps.linregress(a, r)
    assert row["slope"] == pytest.approx(lr.slope, rel=1e-9)
    assert row["slope_p_value"] == pytest.approx(row["pearson_p_value"], rel=1e-6)  # same t test
    ols = sm.OLS(r, sm.add_constant(a)).fit()
    assert (row["slope_ci_low"], row["slope_ci_high"]) == pytest.approx(tuple(ols.conf_int()[1]), rel=1e-9)
    assert row["baseline_rate"] == 0.45
    ref = sps.permutation_test((r[hi], r[lo]), lambda x, y, axis: x.mean(axis) - y.mean(axis),
                               n_resamples=4000, alternative="greater", random_state=0, vectorized=True)
    assert row["perm_p_value"] == pytest.approx(ref.pvalue, abs=0.03)


def _rates_from(df: pd.DataFrame, baseline: dict[str, float] | None = None):
    """Rates from a persona table (model, persona_id, agreeableness, rate) with 10 responses each."""
    rows = [{"model": r.model, "persona_id": r.persona_id, "category": "c", "n": 10, "total": 10 * r.rate}
            for r in df.itertuples()]
    for m, b in (baseline or {}).items():
        rows.append({"model": m, "persona_id": "baseline", "category": "c", "n": 10, "total": 10 * b})
    cells = pd.DataFrame(rows)
    scores = PersonaData(df[["model", "persona_id", "agreeableness"]].dropna(), None, None, "column")
    return rt.compute_rates(cells, scores)


def _toy_models(n_models=4, n=30, seed=0):
    parts = []
    for k in range(n_models):
        a, r = _toy(n, slope=0.02 * k, seed=seed + k, intercept=0.3 + 0.37 * ((k * 0.618) % 1) * 0.5)
        parts.append(pd.DataFrame({"model": f"m{k}", "persona_id": [f"p{i}" for i in range(n)],
                                   "agreeableness": a, "rate": r}))
    return pd.concat(parts, ignore_index=True)


def test_correction_and_both_decision_rules():
    rates, issues = _rates_from(_toy_models(), {f"m{k}": 0.4 for k in range(4)})
    pm = pmt.per_model_table(rates, alpha=0.05, correction="holm", n_perm=500)
    holm = multipletests(pm["pearson_p_value"], method="holm")[1]
    np.testing.assert_allclose(pm["p_value_corrected"], holm)
    assert (pm["significant"] == (holm < 0.05)).all()
    counts = (pm[list(pmt.PAPER_TESTS)] < 0.05).sum(axis=1)
    assert (pm["n_tests_significant"] == counts).all()
    assert (pm["significant_paper_rule"] == (counts >= 3)).all()
    none = pmt.per_model_table(rates, correction="none", n_perm=500)
    np.testing.assert_allclose(none["p_value_corrected"], none["pearson_p_value"])
    bonf = pmt.per_model_table(rates, correction="bonferroni", n_perm=500)
    np.testing.assert_allclose(bonf["p_value_corrected"], np.minimum(1, 4 * bonf["pearson_p_value"]))
    assert list(pm.columns[:20]) == pmt.PER_MODEL_COLUMNS[:20]


def test_model_without_baseline_keeps_correlations_and_explains_gaps():
    rates, issues = _rates_from(_toy_models(), {"m0": 0.4, "m1": 0.4, "m2": 0.4})
    issue = {i.check: i for i in issues}["model_without_baseline"]
    assert issue.count == 1 and issue.detail == "m3"
    pm = pmt.per_model_table(rates, n_perm=500).set_index("model")
    assert np.isfinite(pm.loc["m3", "pearson_r"])
    assert np.isnan(pm.loc["m3", "baseline_rate"])
    assert "no baseline rows" in pm.loc["m3", "note"]
    assert pm.loc["m0", "note"] == ""
    gap = bg.trait_truthfulness_gap(pm.reset_index(), pd.DataFrame()).set_index("model")
    assert gap.loc["m3", "zone"] == "no baseline"


@pytest.mark.parametrize("n_personas", [2, 3])
def test_model_with_too_few_personas_is_left_out(n_personas):
    df = _toy_models()
    df = df[(df["model"] != "m1") | (df["persona_id"].isin([f"p{i}" for i in range(n_personas)]))]
    rates, issues = _rates_from(df, {f"m{k}": 0.4 for k in range(4)})
    issue = {i.check: i for i in issues}["model_too_few_personas"]
    assert issue.count == 1 and issue.detail == "m1"
    pm = pmt.per_model_table(rates, n_perm=500)
    assert "m1" not in set(pm["model"]) and len(pm) == 3
    assert "m1" not in set(rates.analysable()["model"])


def test_constant_agreeableness_and_constant_rate():
    df = _toy_models()
    df.loc[df["model"] == "m2", "agreeableness"] = 3.0
    df.loc[df["model"] == "m3", "rate"] = 0.5
    rates, issues = _rates_from(df, {f"m{k}": 0.4 for k in range(4)})
    checks = {i.check: i for i in issues}
    assert checks["constant_agreeableness"].detail == "m2"
    assert checks["constant_rate"].detail == "m3"
    pm = pmt.per_model_table(rates, n_perm=500)
    assert list(pm["model"]) == ["m0", "m1"]
    assert pm[["pearson_r", "pearson_p_value", "p_value_corrected"]].notna().all().all()


def test_personas_without_score_or_responses_are_reported():
    df = _toy_models()
    scores = df[["model", "persona_id", "agreeableness"]].copy()
    scores = pd.concat([scores, pd.DataFrame({"model": ["m0"], "persona_id": ["ghost"], "agreeableness": [2.0]})])
    cells = pd.DataFrame({"model": df["model"], "persona_id": df["persona_id"], "category": "c", "n": 10,
                          "total": 10 * df["rate"]})
    cells = pd.concat([cells, pd.DataFrame({"model": ["m1"], "persona_id": ["unscored"], "category": ["c"],
                                            "n": [5], "total": [2.0]})])
    rates, issues = rt.compute_rates(cells, scores[scores["persona_id"] != "p0"])
    checks = {i.check: i for i in issues}
    assert checks["responses_without_persona_score"].count == 4 + 1  # p0 of four models + 'unscored'
    assert checks["personas_without_responses"].count == 1
    assert "m0/ghost" in checks["personas_without_responses"].detail
    assert not rates.personas["persona_id"].isin(["ghost", "unscored", "p0"]).any()


def test_median_ties_are_in_neither_group():
    hi, lo = pmt.median_split(np.array([1, 2, 3, 3, 3, 4, 5.0]))
    assert hi.tolist() == [False, False, False, False, False, True, True]
    assert lo.tolist() == [True, True, False, False, False, False, False]


def test_per_model_table_is_deterministic():
    rates, issues = _rates_from(_toy_models(), {f"m{k}": 0.4 for k in range(4)})
    a = pmt.per_model_table(rates, n_perm=1000, seed=3)
    b = pmt.per_model_table(rates, n_perm=1000, seed=3)
    pd.testing.assert_frame_equal(a, b)
    c1, _ = categories.category_correlations(rates)
    c2, _ = categories.category_correlations(rates)
    pd.testing.assert_frame_equal(c1, c2)
    assert pl.pooled_slope(rates.analysable()) == pl.pooled_slope(rates.analysable())


def test_mixed_model_matches_a_direct_statsmodels_fit():
    df = _toy_models(n_models=6, n=60, seed=10)
    pooled = pl.pooled_slope(df)
    assert pooled.method == "mixedlm" and pooled.converged
    d = df.assign(a_c=df["agreeableness"] - df["agreeableness"].mean(), y=df["rate"] * 100)
    ref = smf.mixedlm("y ~ a_c", d, groups=d["model"], re_formula="~a_c").fit(reml=True, method=["lbfgs"])
    assert pooled.slope == pytest.approx(ref.fe_params["a_c"] / 100, rel=1e-4)
    assert pooled.slope_se == pytest.approx(ref.bse_fe["a_c"] / 100, rel=1e-3)
    # the interval and p-value use t with models - 1 df (not the normal: the SE rests on 6 model slopes)
    h = sps.t.ppf(0.975, 5) * pooled.slope_se
    assert pooled.df == 5
    assert (pooled.slope_ci_low, pooled.slope_ci_high) == pytest.approx((pooled.slope - h, pooled.slope + h), rel=1e-12)
    assert pooled.slope_p_value == pytest.approx(2 * sps.t.sf(abs(pooled.slope / pooled.slope_se), 5), rel=1e-12)


def test_mixed_model_fallback_is_two_stage_and_reported():
    df = _toy_models(n_models=5, n=40, seed=20)
    pooled = pl.pooled_slope(df, optimizers=())
    slopes = [sps.linregress(s["agreeableness"], s["rate"]).slope for _, s in df.groupby("model")]
    assert pooled.method == "two_stage" and not pooled.converged
    assert pooled.slope == pytest.approx(np.mean(slopes))
    ci = sps.t.interval(0.95, len(slopes) - 1, loc=np.mean(slopes), scale=sps.sem(slopes))
    assert (pooled.slope_ci_low, pooled.slope_ci_high) == pytest.approx(ci)
    assert "two_stage: fallback used" in set(pl.pooled_table(pooled)["attempt"])
    two = pl.pooled_slope(df[df["model"].isin(["m0", "m1"])])
    assert two.method == "two_stage" and "need 3" in two.attempts[0]
    # the fallback channel: the record says what was used instead and why, and the run summary lists it
    rec = two.as_record("pooled")
    assert rec["pooled.fallback"] == "two_stage instead of mixedlm (mixedlm: only 2 models (need 3))"
    assert "pooled.fallback" not in pl.pooled_slope(df).as_record("pooled")  # the mixed model was accepted


def test_category_correlations_mark_undefined_cells():
    df = _toy_models(n_models=2, n=20)
    rows = [{"model": r.model, "persona_id": r.persona_id, "category": "c1", "n": 10, "total": 10 * r.rate}
            for r in df.itertuples()]
    rows += [{"model": r.model, "persona_id": r.persona_id, "category": "c2", "n": 10, "total": 5.0}
             for r in df.itertuples()]
    rates, issues = rt.compute_rates(pd.DataFrame(rows), df[["model", "persona_id", "agreeableness"]])
    table, issues = categories.category_correlations(rates)
    c2 = table[table["category"] == "c2"]
    assert c2["r"].isna().all() and (c2["note"] != "").all()
    assert issues[0].check == "category_r_undefined" and issues[0].count == 2
    c1 = table[table["category"] == "c1"].set_index("model")
    sub = df[df["model"] == "m1"]
    assert c1.loc["m1", "r"] == pytest.approx(sps.pearsonr(sub["agreeableness"], sub["rate"]).statistic)


def test_size_association_against_scipy():
    pm = pd.DataFrame({"model": list("abcde"), "pearson_r": [0.1, 0.5, 0.3, 0.8, 0.6],
                       "cohens_d": [0.2, 1.0, 0.5, 2.0, 1.1], "slope": [0.01, 0.05, 0.02, 0.1, 0.06],
                       "mean_shift": [0.0, -0.1, 0.1, 0.05, -0.02]})
    sizes = pd.Series({"a": 0.6, "b": 2.0, "c": 4.0, "d": 8.0, "e": 20.0})
    t = categories.size_association(pm, sizes).set_index("statistic")
    assert t.loc["pearson_r", "spearman_rho"] == pytest.approx(sps.spearmanr(sizes.values, pm["pearson_r"]).statistic)
    assert t.loc["slope", "pearson_r_log10"] == pytest.approx(
        sps.pearsonr(np.log10(sizes.values), pm["slope"]).statistic)
    assert categories.size_association(pm, None).empty


def test_vectorised_category_correlations_equal_stats_pearson_r():
    from studykit import stats

    df = _toy_models(n_models=3, n=25)
    rng = np.random.default_rng(5)
    rows = []
    for r in df.itertuples():
        for k in range(4):
            rows.append({"model": r.model, "persona_id": r.persona_id, "category": f"c{k}", "n": 6,
                         "total": 6 * float(np.clip(r.rate + rng.normal(0, 0.05), 0, 1))})
    rates, issues = rt.compute_rates(pd.DataFrame(rows), df[["model", "persona_id", "agreeableness"]])
    table, issues = categories.category_correlations(rates, confidence=0.9)
    assert not issues and len(table) == 12
    for row in table.itertuples():
        sub = rates.categories[(rates.categories["model"] == row.model) & (rates.categories["category"] == row.category)]
        ref = stats.pearson_r(sub["agreeableness"], sub["rate"], confidence=0.9)
        assert row.r == pytest.approx(ref.statistic, abs=1e-12)
        assert row.p_value_two_sided == pytest.approx(ref.p_value, rel=1e-8)
        assert (row.r_ci_low, row.r_ci_high) == pytest.approx((ref.effect.ci_low, ref.effect.ci_high), abs=1e-12)


def test_no_or_one_analysable_model():
    from studykit.contract.errors import InputError

    df = _toy_models(n_models=2)
    df.loc[df["model"] == "m1", "agreeableness"] = 2.0
    rates, issues = _rates_from(df, {"m0": 0.4})
    pooled = pl.pooled_slope(rates.analysable())
    assert pooled.method == "single_model" and pooled.as_record("pooled")["pooled.slope_sd_between"] is None
    sub = rates.analysable()
    assert pooled.slope == pytest.approx(sps.linregress(sub["agreeableness"], sub["rate"]).slope)
    df.loc[df["model"] == "m0", "agreeableness"] = 2.0
    with pytest.raises(InputError, match="no model has at least 4 personas"):
        pmt.per_model_table(_rates_from(df, {"m0": 0.4})[0])
