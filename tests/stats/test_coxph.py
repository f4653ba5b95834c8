"""The aggregated-row Cox fit (studykit.stats.coxph) equals Efron's Cox fit of the expanded units (lifelines,
statsmodels), its cluster-robust SE equals lifelines' ``cluster_col`` SE, its Schoenfeld test lifelines'
``proportional_hazard_test``.

Unit: a unit (one row of the expanded table, e.g. a line of code); an aggregated row stands for ``weight``
identical units, and clusters are groups of units (e.g. commits or repositories).
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from studykit.contract.errors import InputError
from studykit.stats import coxph
from studykit.stats.clustered import cluster_robust_cov
from studykit.stats.coxph import aggregate_units, fit_cox, fit_cox_rows, partial_loglik, schoenfeld_test
from studykit.stats.survival import score_residuals

TIGHT = dict(precision=1e-20, r_precision=1e-20)  # lifelines stops before its last Newton step otherwise


def tied_units(n: int = 1500, seed: int = 3, n_clusters: int = 30, n_strata: int = 1) -> pd.DataFrame:
    """Units with heavy ties: integer times, binary/ternary covariates, commits of identical lines."""
    rng = np.random.default_rng(seed)
    n_commits = n // 6
    c = rng.integers(0, n_commits, n)  # lines of a commit share covariates and usually the time
    agent = rng.integers(0, 2, n_commits)[c]
    ext = rng.integers(0, 3, n_commits)[c]
    size = np.log1p(rng.integers(1, 40, n_commits))[c]
    stratum = rng.integers(0, n_strata, n_commits)[c]
    rate = np.exp(0.4 * agent - 0.3 * (ext == 1) + 0.2 * size + 0.3 * stratum) / 30
    first = np.unique(c, return_index=True)[1]  # one unit of each commit gives the commit's rate
    t_commit = np.zeros(n_commits)
    t_commit[c[first]] = rng.exponential(1 / rate[first])
    t_commit = t_commit[c]
    same = rng.random(n) < 0.85
    t = np.where(same, t_commit, rng.exponential(1 / rate))
    follow = rng.uniform(5, 60, n_commits)[c]
    return pd.DataFrame({"T": np.ceil(np.minimum(t, follow)), "E": (t <= follow).astype(int), "agent": agent,
                         "ext1": (ext == 1).astype(int), "ext2": (ext == 2).astype(int), "size": size,
                         "cluster": c % n_clusters, "stratum": stratum})


COV = ["agent", "ext1", "ext2", "size"]


def _lifelines(df: pd.DataFrame, cov, strata=None, cluster=None):
    from lifelines import CoxPHFitter

    cols = ["T", "E", *cov, *([strata] if strata else []), *([cluster] if cluster else [])]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return CoxPHFitter().fit(df[cols], "T", "E", strata=[strata] if strata else None, cluster_col=cluster,
                                 fit_options=TIGHT)


def _efron_score_residuals_reference(T, E, X, beta, strata):
    """Literal Efron score residuals of unit data (loops over tie sets and pseudo-events), for checking."""
    U = np.zeros_like(X)
    r = np.exp(X @ beta)
    for s in np.unique(strata):
        idx = np.flatnonzero(strata == s)
        for t in np.unique(T[idx][E[idx] == 1]):
            R = idx[T[idx] >= t]
            D = R[(T[R] == t) & (E[R] == 1)]
            d = len(D)
            for ll in range(d):
                omega = np.where(np.isin(R, D), 1 - ll / d, 1.0)
                den = (omega * r[R]).sum()
                xbar = (omega * r[R]) @ X[R] / den
                U[R] -= (r[R] * omega / den)[:, None] * (X[R] - xbar)
                U[D] += (X[D] - xbar) / d
    return U


def test_aggregated_rows_equal_expanded_efron_lifelines_statsmodels():
    """Weighted rows give lifelines' and statsmodels' Efron fit of the expanded units to 1e-7."""
    from statsmodels.duration.hazard_regression import PHReg

    df = tied_units()
    rows, mapping = aggregate_units(df, "T", "E", COV, "cluster")
    assert len(rows) < 0.7 * len(df) and rows["weight"].max() > 5 and rows["weight"].sum() == len(df)
    assert (rows.iloc[mapping][["T", "E", *COV]].to_numpy() == df[["T", "E", *COV]].to_numpy()).all()
    fit = fit_cox_rows(rows, "T", "E", COV)
    assert fit.converged and fit.note == "" and fit.n_units == len(df) and fit.n_events == int(df["E"].sum())
    ref = _lifelines(df, COV)
    np.testing.assert_allclose(fit.coef, ref.params_.to_numpy(), rtol=1e-7)
    np.testing.assert_allclose(fit.se, ref.standard_errors_.to_numpy(), rtol=1e-7)
    assert fit.log_likelihood == pytest.approx(ref.log_likelihood_, rel=1e-10)
    sm = PHReg(df["T"].to_numpy(float), df[COV].to_numpy(float), status=df["E"].to_numpy(), ties="efron").fit()
    np.testing.assert_allclose(fit.coef, sm.params, rtol=1e-7)
    np.testing.assert_allclose(fit.se, sm.bse, rtol=1e-7)
    assert fit.log_likelihood == pytest.approx(sm.llf, rel=1e-10)
    b = np.array([0.2, 0.1, -0.3, 0.05])  # the log-likelihood anywhere, for profile intervals
    ll_rows = partial_loglik(rows["T"], rows["E"], rows[COV], b, weights=rows["weight"])
    model = PHReg(df["T"].to_numpy(float), df[COV].to_numpy(float), status=df["E"].to_numpy(), ties="efron")
    assert ll_rows == pytest.approx(model.loglike(b), rel=1e-10)
    # lifelines' weights_col treats a row as one tied event, a different likelihood from the expanded data's
    assert fit.table()["term"].tolist() == COV


def test_strata_equal_expanded_stratified_fit():
    """Strata on rows equal lifelines' and statsmodels' stratified Efron fit on units."""
    from statsmodels.duration.hazard_regression import PHReg

    df = tied_units(n=1200, seed=5, n_strata=3)
    rows, _ = aggregate_units(df, "T", "E", COV, "cluster", strata_col="stratum")
    fit = fit_cox_rows(rows, "T", "E", COV, strata_col="stratum")
    ref = _lifelines(df, COV, strata="stratum")
    np.testing.assert_allclose(fit.coef, ref.params_.to_numpy(), rtol=1e-7)
    np.testing.assert_allclose(fit.se, ref.standard_errors_.to_numpy(), rtol=1e-7)
    assert fit.log_likelihood == pytest.approx(ref.log_likelihood_, rel=1e-10)
    sm = PHReg(df["T"].to_numpy(float), df[COV].to_numpy(float), status=df["E"].to_numpy(), ties="efron",
               strata=df["stratum"].to_numpy()).fit()
    np.testing.assert_allclose(fit.coef, sm.params, rtol=1e-7)


def test_row_score_residuals_sum_to_expanded_efron_residuals_by_cluster():
    """Row residuals summed by cluster equal the literal per-unit Efron residuals summed by cluster.

    At an arbitrary beta (not only the estimate), with ties across clusters and strata, so the
    cluster-robust meat of the rows is that of the expanded data.
    """
    df = tied_units(n=300, seed=7, n_clusters=12, n_strata=2)
    rows, mapping = aggregate_units(df, "T", "E", COV, "cluster", strata_col="stratum")
    fit = fit_cox_rows(rows, "T", "E", COV, strata_col="stratum")
    beta = fit.coef + np.array([0.1, -0.2, 0.05, 0.1])
    # the residuals at another beta: refit with max_iter=0 is not offered, so evaluate the module's terms
    X = rows[COV].to_numpy(float)
    w = rows["weight"].to_numpy(float)
    layout = coxph._layout(rows["T"].to_numpy(float), rows["E"].to_numpy(float), w, rows["stratum"].to_numpy())
    _, grad, _, U, _ = coxph._terms(layout, X, rows["E"].to_numpy(float), w, beta, residuals=True)
    ref = _efron_score_residuals_reference(df["T"].to_numpy(float), df["E"].to_numpy(), df[COV].to_numpy(float),
                                           beta, df["stratum"].to_numpy())
    np.testing.assert_allclose(U.sum(0), grad, atol=1e-9)
    np.testing.assert_allclose(ref.sum(0), grad, atol=1e-9)
    by_cluster = pd.DataFrame(ref).groupby(df["cluster"].to_numpy()).sum()
    rows_by_cluster = pd.DataFrame(U).groupby(rows["cluster"].to_numpy()).sum()
    np.testing.assert_allclose(rows_by_cluster.to_numpy(), by_cluster.to_numpy(), atol=1e-10)
    # each unit's residual is its row's residual divided by the weight
    np.testing.assert_allclose((U / w[:, None])[mapping], ref, atol=1e-10)
    # at the estimate the residuals sum to zero
    np.testing.assert_allclose(fit.score_residuals.sum(0), 0, atol=1e-8)


def test_information_is_the_negative_hessian():
    """Score and observed information match finite differences of the log-likelihood of the rows."""
    df = tied_units(n=600, seed=11)
    rows, _ = aggregate_units(df, "T", "E", COV)
    X, E, w = rows[COV].to_numpy(float), rows["E"].to_numpy(float), rows["weight"].to_numpy(float)
    layout = coxph._layout(rows["T"].to_numpy(float), E, w, np.zeros(len(rows)))
    beta = np.array([0.3, -0.1, 0.2, 0.1])
    _, grad, info, _, _ = coxph._terms(layout, X, E, w, beta)
    h = 1e-5
    for j in range(4):
        e = np.zeros(4)
        e[j] = h
        lp, gp = coxph._terms(layout, X, E, w, beta + e)[:2]
        lm, gm = coxph._terms(layout, X, E, w, beta - e)[:2]
        assert grad[j] == pytest.approx((lp - lm) / (2 * h), rel=1e-6, abs=1e-6)
        np.testing.assert_allclose(-(gp - gm) / (2 * h), info[:, j], rtol=1e-6, atol=1e-6)


def test_cluster_robust_equals_lifelines_without_ties():
    """Without tied times the row sandwich equals lifelines' cluster_col SE (both Lin-Wei); CR1 scales it."""
    df = tied_units(n=800, seed=13, n_clusters=20)
    df["T"] = df["T"] + np.random.default_rng(0).random(len(df))  # distinct times
    rows, _ = aggregate_units(df, "T", "E", COV, "cluster")
    fit = fit_cox_rows(rows, "T", "E", COV)
    r0 = fit.robust_covariance(rows["cluster"].to_numpy(), small_sample=False)
    ref = _lifelines(df, COV, cluster="cluster")
    np.testing.assert_allclose(r0.se, ref.standard_errors_.to_numpy(), rtol=1e-6)
    r1 = fit.robust_covariance(rows["cluster"].to_numpy())
    assert r0.n_clusters == r1.n_clusters == 20 and (r0.correction, r1.correction) == ("CR0", "CR1")
    np.testing.assert_allclose(r1.covariance, r0.covariance * 20 / 19)
    with pytest.raises(InputError, match="cluster labels"):
        fit.robust_covariance(rows["cluster"].to_numpy()[1:])


def test_cluster_robust_with_ties_equals_expanded_efron_sandwich():
    """With ties the row sandwich equals the sandwich of the expanded units' Efron residuals."""
    df = tied_units(n=400, seed=17, n_clusters=15)
    rows, _ = aggregate_units(df, "T", "E", COV, "cluster")
    fit = fit_cox_rows(rows, "T", "E", COV)
    robust = fit.robust_covariance(rows["cluster"].to_numpy())
    V, G = robust.covariance, robust.n_clusters
    U = _efron_score_residuals_reference(df["T"].to_numpy(float), df["E"].to_numpy(), df[COV].to_numpy(float),
                                         fit.coef, np.zeros(len(df)))
    Uc = pd.DataFrame(U).groupby(df["cluster"].to_numpy()).sum().to_numpy()
    ref = fit.covariance @ Uc.T @ Uc @ fit.covariance * G / (G - 1)
    np.testing.assert_allclose(V, ref, rtol=1e-8)


def test_schoenfeld_test_equals_lifelines_without_ties():
    """The weighted Grambsch-Therneau test (rank time) equals lifelines' on tie-free units."""
    from lifelines.statistics import proportional_hazard_test

    df = tied_units(n=800, seed=19)
    df["T"] = df["T"] + np.random.default_rng(1).random(len(df))
    rows, _ = aggregate_units(df, "T", "E", COV)
    fit = fit_cox_rows(rows, "T", "E", COV)
    ours = schoenfeld_test(fit, rows["T"], rows["E"], rows["weight"])
    cph = _lifelines(df, COV)
    ref = proportional_hazard_test(cph, df[["T", "E", *COV]], time_transform="rank").summary
    np.testing.assert_allclose(ours["statistic"].to_numpy(), ref["test_statistic"].to_numpy(), rtol=1e-6)
    # with ties the aggregated test (mid-ranks) stays close to lifelines' (consecutive ranks in row order)
    tied = tied_units(n=800, seed=19)
    rows, _ = aggregate_units(tied, "T", "E", COV)
    fit = fit_cox_rows(rows, "T", "E", COV)
    ours = schoenfeld_test(fit, rows["T"], rows["E"], rows["weight"])
    ref = proportional_hazard_test(_lifelines(tied, COV), tied[["T", "E", *COV]], time_transform="rank").summary
    np.testing.assert_allclose(ours["p_value"].to_numpy(), ref["p"].to_numpy(), atol=0.05)


def test_separation_does_not_raise():
    """All events among agent lines: a large coefficient with a note, or non-convergence, never an exception."""
    rng = np.random.default_rng(23)
    n = 200
    agent = np.repeat([0, 1], n // 2)
    T = np.ceil(rng.uniform(1, 20, n))
    E = agent.copy()  # human lines are all censored
    fit = fit_cox(T, E, agent[:, None], names=["agent"])
    assert abs(fit.coef[0]) > 5
    assert fit.note != "" or not fit.converged


def test_no_events_and_bad_input():
    """No events gives a NaN fit with a note; bad weights and NaN covariates are one-line InputErrors."""
    fit = fit_cox([1.0, 2.0], [0, 0], [[0.0], [1.0]])
    assert fit.note == "no events" and np.isnan(fit.coef).all()
    with pytest.raises(InputError, match="weights"):
        fit_cox([1.0, 2.0], [1, 0], [[0.0], [1.0]], weights=[1.5, 1])
    with pytest.raises(InputError, match="covariates"):
        fit_cox([1.0, 2.0], [1, 0], [[np.nan], [1.0]])
    with pytest.raises(InputError, match="column"):
        aggregate_units(pd.DataFrame({"T": [1.0]}), "T", "E", [])


def test_aggregation_does_not_depend_on_unit_order():
    """Rows (and hence the fit) are the same for any order of the units."""
    df = tied_units(n=500, seed=29)
    rows1, m1 = aggregate_units(df, "T", "E", COV, "cluster")
    perm = np.random.default_rng(2).permutation(len(df))
    rows2, m2 = aggregate_units(df.iloc[perm], "T", "E", COV, "cluster")
    pd.testing.assert_frame_equal(rows1, rows2)
    assert (m1[perm] == m2).all()


def test_cluster_robust_equals_unit_breslow_sandwich_without_ties():
    """Without tied times the row sandwich equals the sandwich of the units' Breslow-form score residuals
    (studykit.stats.survival.score_residuals), the same cluster_robust_cov with other scores."""
    df = tied_units(n=600, seed=31, n_clusters=25)
    df["T"] = df["T"] + np.random.default_rng(4).random(len(df))
    rows, _ = aggregate_units(df, "T", "E", COV, "cluster")
    fit = fit_cox_rows(rows, "T", "E", COV)
    V = fit.robust_covariance(rows["cluster"].to_numpy(), small_sample=False).covariance
    U = score_residuals(df["T"].to_numpy(float), df["E"].to_numpy(), df[COV].to_numpy(float), fit.coef)
    ref = cluster_robust_cov(fit.covariance, U, df["cluster"].to_numpy(), small_sample=False)
    assert ref.n_clusters == 25
    np.testing.assert_allclose(V, ref.covariance, rtol=1e-8)
