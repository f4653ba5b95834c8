"""Analysis steps checked against independent computations; recovery of the planted hazard ratio.

Unit: a line unit (one row of the simulated line-events table), except where a test says otherwise.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from studykit.contract.errors import InputError
from studykit.files.paths import data_dir
from studykit.stats.clustered import cluster_robust_cov
from studykit.studies.code_survival import analysis as A
from studykit.studies.code_survival.load import load_line_events, prepare_events, read_truth
from studykit.studies.code_survival.simulate import simulate_line_events, write_embedded


@pytest.fixture(scope="module")
def sim():
    df, _ = load_line_events(data_dir("code_survival") / "line_events_sim.csv")
    return df


@pytest.fixture(scope="module")
def small(sim):
    """Eight of the twenty simulated repositories (faster checks)."""
    keep = sorted(sim.repo.unique())[:8]
    return sim[sim.repo.isin(keep)].reset_index(drop=True)


@pytest.fixture(scope="module")
def truth():
    return read_truth(data_dir("code_survival") / "truth.json")


def test_embedded_data_is_byte_identical(tmp_path):
    write_embedded(tmp_path)
    committed = (data_dir("code_survival") / "SHA256SUMS").read_text()
    assert (tmp_path / "SHA256SUMS").read_text() == committed


def test_recovery_of_planted_hr(sim, truth):
    rec = A.recovery(sim, truth)
    strat = rec.iloc[0]
    assert strat.model.startswith("adjusted (strata")
    assert strat.ci_low <= truth["hr_agent"] <= strat.ci_high
    assert abs(np.log(strat.estimated_hr) - np.log(truth["hr_agent"])) < 0.1
    assert strat.ci_high < 1  # the planted effect is detected


def test_recovery_other_hr_and_seed():
    df, truth = simulate_line_events(n_repos=30, units_per_repo=300, hr_agent=1.3, seed=11)
    df, _ = prepare_events(df)
    rec = A.recovery(df, truth).iloc[0]
    assert rec.ci_low <= 1.3 <= rec.ci_high and rec.ci_low > 1


def test_cox_matches_statsmodels_phreg_efron(small):
    sim = small
    from statsmodels.duration.hazard_regression import PHReg

    res, tab, _ = A.cox_agent(sim, adjusted=False, ph_test=False)
    X = (sim["author_type"] == "agent").astype(float).to_numpy()[:, None]
    ref = PHReg(sim["duration_days"].to_numpy(), X, status=sim["event"].to_numpy(), ties="efron").fit()
    assert np.log(res.hr) == pytest.approx(ref.params[0], abs=1e-5)
    assert res.se_log_hr == pytest.approx(ref.bse[0], rel=1e-4)
    assert res.p_value == pytest.approx(ref.pvalues[0], rel=1e-3)
    # adjusted, stratified by repository
    res_s, tab_s, _ = A.cox_agent(sim, adjusted=True, adjust="strata", ph_test=False)
    Xd = A.design_matrix(sim, adjusted=True)
    cols = [c for c in Xd.columns if c not in ("duration_days", "event", "repo")]
    ref_s = PHReg(Xd["duration_days"].to_numpy(), Xd[cols].to_numpy(float), status=Xd["event"].to_numpy(),
                  strata=Xd["repo"].to_numpy(), ties="efron").fit()
    assert np.log(res_s.hr) == pytest.approx(ref_s.params[cols.index("agent")], abs=1e-4)


def test_cluster_robust_se_differs_and_is_reported(small):
    sim = small
    res_c, _, ph = A.cox_agent(sim, adjusted=True, adjust="cluster", clusters=A.choose_clusters(sim, 2))
    assert res_c.variance.startswith("robust")
    assert res_c.ci_low < res_c.hr < res_c.ci_high
    assert 0 <= res_c.ph_p_value <= 1 and set(ph.term) >= {"agent", "log_commit_size"}


def test_km_and_logrank_against_manual_and_statsmodels(sim):
    from statsmodels.duration.survfunc import survdiff

    fits = A.km_fits(sim)
    sub = sim[sim.author_type == "agent"]
    t = 30.0
    times = np.sort(sub.loc[(sub.event == 1) & (sub.duration_days <= t), "duration_days"].unique())
    s = 1.0
    for tj in times:
        n = (sub.duration_days >= tj).sum()
        d = ((sub.duration_days == tj) & (sub.event == 1)).sum()
        s *= 1 - d / n
    tab = A.km_table(fits, [t])
    assert tab.set_index("group").loc["agent", "survival"] == pytest.approx(s, rel=1e-10)
    lr = A.logrank(sim)
    chi2, p = survdiff(sim.duration_days.to_numpy(), sim.event.to_numpy(), sim.author_type.to_numpy())
    assert lr.statistic == pytest.approx(chi2, rel=1e-6) and lr.p_value == pytest.approx(p, rel=1e-5)


def test_piecewise_single_window_equals_cox(small):
    sim = small
    pw = A.piecewise_hr(sim, [])
    res, _, _ = A.cox_agent(sim, adjusted=False, ph_test=False)
    assert pw.hr.iloc[0] == pytest.approx(res.hr, rel=1e-6)
    pw3 = A.piecewise_hr(sim, [30, 180])
    assert list(pw3.window_days) == ["[0, 30)", "[30, 180)", "[180, end)"]
    assert pw3.events.sum() == sim.event.sum()


def test_modified_share_counts(sim):
    share = A.modified_share(sim, 90)
    s = share.as_dict()
    win = (sim.observed_until - sim.born_at).dt.total_seconds() / 86400
    elig = sim[win >= 90]
    for g in ("agent", "human"):
        e = elig[elig.author_type == g]
        p = ((e.event == 1) & (e.duration_days <= 90)).mean()
        assert s[g] == pytest.approx(p)
    assert s["diff_pp"] == pytest.approx(100 * (s["agent"] - s["human"]))
    assert s["diff_pp_ci_low"] < s["diff_pp"] < s["diff_pp_ci_high"]
    none = A.modified_share(sim, 5000)
    assert none.note.startswith("not estimable") and "horizon_days" in none.note


def test_intent_chi2_matches_scipy(sim):
    from scipy.stats import chi2_contingency

    res = A.intent_profile(sim)
    ended = sim[sim.event == 1]
    ref = chi2_contingency(pd.crosstab(ended.author_type, ended.end_intent).to_numpy(), correction=False)
    assert res.line_chi2 == pytest.approx(ref[0], rel=1e-9)
    # the test's unit: one observation per (author type, ending commit); the simulated table's end_commit is a
    # placeholder, so ending commits are identified by (repo, ended_at)
    commits = ended.assign(key=ended.repo + ended.ended_at.astype(str)).drop_duplicates(["author_type", "key"])
    ref_c = chi2_contingency(pd.crosstab(commits.author_type, commits.end_intent).to_numpy(), correction=False)
    assert res.chi2 == pytest.approx(ref_c[0], rel=1e-9) and res.unit == "ending commits"
    assert res.n == len(commits) and "ended_at" in res.note
    assert 0 <= res.cramers_v < 0.3
    shares = res.profile.groupby("author_type")["share"].sum()
    assert np.allclose(shares, 1.0)


def test_auc_statistic_matches_sklearn():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 500).astype(float)
    s = np.round(rng.normal(y * 0.5, 1), 1)  # ties
    assert A._auc_stat(y, s) == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    Y = np.vstack([y, y[::-1]])
    S = np.vstack([s, s[::-1]])
    assert np.allclose(A._auc_stat(Y, S, axis=-1), roc_auc_score(y, s))


def test_prediction_finds_planted_text_signal_and_is_deterministic(sim):
    p1 = A.predict_modification(sim, 90, n_bootstrap=200, seed=1)
    assert p1.auc_ci_low > 0.5 and p1.auc_ci_low < p1.auc_roc < p1.auc_ci_high
    assert p1.folds == 5 and p1.n_repos == 20
    assert 0 <= p1.timing_macro_f1 <= 1 and len(p1.timing_classes) == 3

def test_prediction_is_deterministic(small):
    p1 = A.predict_modification(small, 90, n_bootstrap=100, seed=1, max_features=500)
    p2 = A.predict_modification(small, 90, n_bootstrap=100, seed=1, max_features=500)
    pd.testing.assert_frame_equal(p1.summary(), p2.summary())
    pd.testing.assert_frame_equal(p1.fold_table, p2.fold_table)
    pd.testing.assert_frame_equal(p1.timing_confusion, p2.timing_confusion)


def test_analysis_tables_are_deterministic(small):
    sim = small
    def run():
        fits = A.km_fits(sim)
        return [A.km_table(fits, [7, 30]), A.modified_share(sim, 90).table, A.cox_agent(sim, adjusted=True)[1],
                A.per_agent_hr(sim), A.intent_profile(sim).profile, A.piecewise_hr(sim, [30])]
    for a, b in zip(run(), run()):
        pd.testing.assert_frame_equal(a, b)


def test_prepare_events_bad_input(sim):
    with pytest.raises(InputError, match="missing column 'event'"):
        prepare_events(sim.drop(columns="event"))
    with pytest.raises(InputError, match="author_type"):
        prepare_events(sim.assign(author_type="robot"))
    with pytest.raises(InputError, match="no agent-authored units"):
        prepare_events(sim.assign(author_type="human"))
    with pytest.raises(InputError, match="no human-authored units"):
        prepare_events(sim.assign(author_type="agent"))
    bad = sim.copy()
    bad["born_at"] = bad["born_at"].astype(str)
    bad.loc[3, "born_at"] = "yesterday"
    with pytest.raises(InputError, match="born_at"):
        prepare_events(bad)
    bad = sim.copy()
    bad["ended_at"] = bad["ended_at"].astype(object)
    first_event = bad.index[bad.event == 1][0]
    bad.loc[first_event, "ended_at"] = None
    out, issues = prepare_events(bad.drop(columns="observed_until"))
    checks = {i.check: i.count for i in issues}
    assert checks["bad_end_time"] == 1 and checks["observed_until_inferred"] == len(out) == len(sim) - 1
    skew = sim.copy()
    skew.loc[first_event, "ended_at"] = skew.loc[first_event, "born_at"] - pd.Timedelta(days=1)
    out, issues = prepare_events(skew)
    assert ("negative_durations", 1) in {(i.check, i.count) for i in issues} and out.duration_days.min() == 0
    one = sim[sim.repo == sim.repo.iloc[0]].assign(author_type="human")
    mixed = pd.concat([one, sim[sim.repo != sim.repo.iloc[0]]])
    _, issues = prepare_events(mixed)
    assert ("repos_single_author_type", 1) in {(i.check, i.count) for i in issues}


def test_cluster_sandwich_matches_lifelines_cluster_col(small):
    """Our vectorised sandwich equals lifelines' robust cluster_col variance (tie-free data); CR1 scales it."""
    from lifelines import CoxPHFitter

    sub = small[small.repo.isin(sorted(small.repo.unique())[:6])].reset_index(drop=True)
    assert sub.duration_days[sub.event == 1].is_unique  # no tied event times
    X = A.design_matrix(sub, adjusted=True)
    ref = CoxPHFitter().fit(X, duration_col="duration_days", event_col="event", cluster_col="repo")
    names = list(ref.params_.index)
    plain = CoxPHFitter().fit(X.drop(columns="repo"), duration_col="duration_days", event_col="event")
    U = A.score_residuals(X.duration_days.to_numpy(), X.event.to_numpy(), X[names].to_numpy(float),
                          plain.params_.to_numpy())
    bread, repos = plain.variance_matrix_.to_numpy(), X.repo.to_numpy()
    V = cluster_robust_cov(bread, U, repos, small_sample=False).covariance
    assert np.sqrt(np.diag(V)) == pytest.approx(ref.standard_errors_[names].to_numpy(), rel=1e-5)
    G = X.repo.nunique()
    assert cluster_robust_cov(bread, U, repos).covariance == pytest.approx(V * G / (G - 1))
    res, _, _ = A.cox_agent(sub, adjusted=True, ph_test=False, clusters=A.choose_clusters(sub, 2))
    assert res.variance.startswith("robust, clustered by repository") and res.reference_df == G - 1


def test_few_clusters_use_the_jackknife_equal_to_lifelines_leave_one_out_fits(small):
    """Unit: one data set of 6 repositories (the clusters). With G <= JACKKNIFE_MAX_CLUSTERS the SE is the
    delete-one-cluster jackknife (CV3): sqrt((G-1)/G * sum_g (b_(g) - b)^2) from independent lifelines fits
    (Efron ties) without each repository; CI and p use t(G-1). Above the limit CR1 is used."""
    from lifelines import CoxPHFitter
    from scipy import stats

    sub = small[small.repo.isin(sorted(small.repo.unique())[:6])].reset_index(drop=True)
    X = A.design_matrix(sub, adjusted=False)

    def coef(d):
        return float(CoxPHFitter().fit(d.drop(columns="repo"), duration_col="duration_days",
                                       event_col="event").params_["agent"])

    b = coef(X)
    loo = np.array([coef(X[X.repo != g]) for g in pd.unique(X.repo)])
    G = len(loo)
    se = np.sqrt((G - 1) / G * ((loo - b) ** 2).sum())
    clusters = A.choose_clusters(sub, 2)
    assert clusters.correction.startswith("CV3") and clusters.n_clusters == G
    res, _, _ = A.cox_agent(sub, ph_test=False, clusters=clusters)
    assert "CV3" in res.variance and res.reference_df == G - 1
    assert res.se_log_hr == pytest.approx(se, rel=1e-4)  # both fits converge to about 1e-7 in each coefficient
    assert res.p_value == pytest.approx(2 * stats.t.sf(abs(b) / se, G - 1), rel=1e-4)
    assert np.log(res.ci_high) == pytest.approx(b + stats.t.ppf(0.975, G - 1) * se, rel=1e-4)
    many = A.choose_clusters(sub.assign(repo=sub.repo + "/" + sub.commit.astype(str)), 2)
    assert many.n_clusters > A.JACKKNIFE_MAX_CLUSTERS and many.correction.startswith("CR1")


def test_piecewise_window_equals_left_truncated_fit(small):
    from lifelines import CoxPHFitter

    pw = A.piecewise_hr(small, [30, 180]).set_index("window_days")
    sub = small[small.duration_days > 30]
    d = pd.DataFrame({"entry": 30.0, "T": np.minimum(sub.duration_days, 180),
                      "E": ((sub.event == 1) & (sub.duration_days <= 180)).astype(int),
                      "agent": (sub.author_type == "agent").astype(int)})
    ref = CoxPHFitter().fit(d, duration_col="T", event_col="E", entry_col="entry")
    assert pw.loc["[30, 180)", "hr"] == pytest.approx(np.exp(ref.params_["agent"]), rel=1e-6)


def test_cox_agent_on_aggregated_rows_equals_the_fit_on_units(small):
    """Aggregating identical units is exact: HR, CR1 SE and Schoenfeld p equal stats.coxph on the unit rows.

    Unit: a line unit; clusters are the commits that wrote the lines.
    """
    from studykit.stats import coxph

    cl = A.choose_clusters(small, 10**6)
    res, _, ph = A.cox_agent(small, adjusted=True, clusters=cl)
    X = A.design_matrix(small, adjusted=True)
    names = [c for c in X.columns if c not in ("duration_days", "event", "repo")]
    T, E = X["duration_days"].to_numpy(float), X["event"].to_numpy(float)
    fit = coxph.fit_cox(T, E, X[names].to_numpy(float), names=names)
    robust = fit.robust_covariance(cl.labels)
    V, G = robust.covariance, robust.n_clusters
    j = names.index("agent")
    assert np.log(res.hr) == pytest.approx(fit.coef[j], abs=1e-9)
    assert res.se_log_hr == pytest.approx(np.sqrt(V[j, j]), rel=1e-8) and res.reference_df == G - 1
    ref = coxph.schoenfeld_test(fit, T, E).set_index("term")
    assert ph.set_index("term")["p_value"].to_numpy() == pytest.approx(ref.loc[list(ph.term), "p_value"].to_numpy(),
                                                                        rel=1e-6)
