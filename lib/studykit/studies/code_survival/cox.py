"""Cox proportional hazards models of time to modification: agent vs human lines.

Input is a checked line-events table (:func:`studykit.studies.code_survival.load.prepare_events`).

References
----------
Cox (1972) proportional hazards with Efron (1977) ties; Lin & Wei (1989)
robust (sandwich) variance clustered by repository; Grambsch & Therneau (1994)
scaled Schoenfeld residual test.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd

from studykit.stats.results import Result

AGENT = "agent"


@dataclass(frozen=True)
class CoxResult(Result):
    """Hazard ratio of one covariate from a Cox model (Efron ties)."""

    model: str
    term: str
    hr: float
    ci_low: float
    ci_high: float
    p_value: float
    se_log_hr: float
    n_units: int
    n_events: int
    variance: str
    ph_p_value: float | None = None
    note: str = ""


def design_matrix(df: pd.DataFrame, adjusted: bool, max_ext: int = 6, min_ext_units: int = 30) -> pd.DataFrame:
    """Covariates for the Cox models.

    ``agent`` (1 = agent-authored); adjusted models add file-type indicators
    (the ``max_ext`` most common extensions with at least ``min_ext_units``
    units; reference = the most common, rarer ones pooled as ``other``) and
    ``log_commit_size`` = :math:`\\log(1 + \\text{lines added} + \\text{lines deleted})`
    of the commit that wrote the line.
    """
    X = pd.DataFrame({"duration_days": df["duration_days"].to_numpy(float), "event": df["event"].to_numpy(int),
                      "agent": (df["author_type"] == AGENT).to_numpy(int), "repo": df["repo"].astype(str).to_numpy()})
    if adjusted:
        ext = df["file_ext"].fillna("").astype(str)
        counts = ext.value_counts()
        keep = [e for e in counts.index[:max_ext] if counts[e] >= min_ext_units]
        ext = ext.where(ext.isin(keep), "other")
        levels = sorted(ext.unique(), key=lambda e: (-int((ext == e).sum()), e))
        for e in levels[1:]:
            X[f"ext[{e}]"] = (ext == e).to_numpy(int)
        X["log_commit_size"] = np.log1p(df["commit_lines_added"].to_numpy(float)
                                        + df["commit_lines_deleted"].to_numpy(float))
    return X


def _fit_cox(X: pd.DataFrame, strata: bool, duration_col: str = "duration_days", event_col: str = "event"):
    from lifelines import CoxPHFitter

    cph = CoxPHFitter()
    cols = [c for c in X.columns if c != "repo" or strata]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cph.fit(X[cols], duration_col=duration_col, event_col=event_col, strata=["repo"] if strata else None)
    return cph


def cluster_robust_cov(T: np.ndarray, E: np.ndarray, X: np.ndarray, beta: np.ndarray, inv_info: np.ndarray,
                       groups: np.ndarray) -> np.ndarray:
    r"""Cluster-robust (sandwich) covariance of Cox coefficients (Lin & Wei 1989).

    :math:`V = \mathcal I^{-1} \big(\sum_c U_c U_c^\top\big) \mathcal I^{-1}`, where
    :math:`U_c = \sum_{i \in c} U_i` sums the score residuals of cluster *c*,
    :math:`U_i = \delta_i (x_i - \bar x(t_i)) - r_i \sum_{t_j \le t_i} \delta_j (x_i - \bar x(t_j)) / S_0(t_j)`,
    :math:`r_i = e^{x_i^\top\beta}`, :math:`S_0(t) = \sum_{T_k \ge t} r_k`,
    :math:`\bar x(t) = \sum_{T_k \ge t} r_k x_k / S_0(t)` (Breslow form of the residuals; identical to the
    Efron form without tied event times). Vectorised with cumulative sums, :math:`O(np)`; it replaces
    lifelines' ``cluster_col`` path, whose per-row loop takes minutes at 200,000 rows (the two agree to
    1e-6 on tie-free data, see the tests).
    """
    order = np.argsort(T, kind="mergesort")
    T, E, X, g = T[order], E[order].astype(float), X[order], np.asarray(groups)[order]
    r = np.exp(X @ beta)
    rx = r[:, None] * X
    rc_r = np.cumsum(r[::-1])[::-1]
    rc_rx = np.cumsum(rx[::-1], axis=0)[::-1]
    first = np.searchsorted(T, T, side="left")
    last = np.searchsorted(T, T, side="right") - 1
    S0 = rc_r[first]
    xbar = rc_rx[first] / S0[:, None]
    cH = np.cumsum(E / S0)
    cG = np.cumsum((E / S0)[:, None] * xbar, axis=0)
    H = cH[last]
    G = cG[last]
    U = E[:, None] * (X - xbar) - r[:, None] * (X * H[:, None] - G)
    codes, _ = pd.factorize(g)
    Uc = np.zeros((codes.max() + 1, X.shape[1]))
    np.add.at(Uc, codes, U)
    B = Uc.T @ Uc
    return inv_info @ B @ inv_info


def _coef_table(cph, X: pd.DataFrame | None, cluster: bool, confidence: float) -> tuple[pd.DataFrame, str]:
    from scipy.stats import norm

    beta = cph.params_.to_numpy()
    names = list(cph.params_.index)
    if cluster:
        V = cluster_robust_cov(X["duration_days"].to_numpy(float), X["event"].to_numpy(int),
                               X[names].to_numpy(float), beta, cph.variance_matrix_.to_numpy(), X["repo"].to_numpy())
        se = np.sqrt(np.diag(V))
        variance = "robust, clustered by repository"
    else:
        se = cph.standard_errors_.to_numpy()
        variance = "model-based"
    z = _z(confidence)
    p = 2 * norm.sf(np.abs(beta / se))
    tab = pd.DataFrame({"term": names, "coef": beta, "se": se, "hr": np.exp(beta), "ci_low": np.exp(beta - z * se),
                        "ci_high": np.exp(beta + z * se), "p_value": p})
    return tab, variance


def cox_agent(df: pd.DataFrame, *, adjusted: bool = False, adjust: str = "cluster", confidence: float = 0.95,
              ph_test: bool = True) -> tuple[CoxResult, pd.DataFrame, pd.DataFrame]:
    """Cox model of the agent indicator; returns (agent result, coefficient table, PH test table).

    :math:`h_i(t) = h_0(t) \\exp(\\beta_a A_i + x_i^\\top \\beta)`, partial likelihood
    with Efron ties (lifelines). Unadjusted: model-based SEs. Adjusted:
    file type and commit size, with either repository-clustered sandwich SEs
    (``adjust="cluster"``) or a baseline hazard per repository
    (``adjust="strata"``). ``ph_test`` adds the Grambsch-Therneau test of the
    agent term on rank-transformed time.
    """
    if adjust not in ("cluster", "strata"):
        raise ValueError("adjust must be 'cluster' or 'strata'")
    X = design_matrix(df, adjusted=adjusted)
    cluster = adjusted and adjust == "cluster"
    strata = adjusted and adjust == "strata"
    cph = _fit_cox(X, strata)
    tab, variance = _coef_table(cph, X, cluster, confidence)
    if not strata:
        X = X.drop(columns="repo")
    ph_p = None
    ph = pd.DataFrame(columns=["term", "statistic", "p_value"])
    if ph_test:
        ph = schoenfeld_test(cph, X)
        ph_p = float(ph.loc[ph["term"] == "agent", "p_value"].iloc[0]) if (ph["term"] == "agent").any() else None
    row = tab[tab["term"] == "agent"].iloc[0]
    name = "unadjusted" if not adjusted else f"adjusted ({'repo-clustered SE' if cluster else 'strata = repo'})"
    res = CoxResult(name, "agent", float(row.hr), float(row.ci_low), float(row.ci_high), float(row.p_value),
                    float(row.se), int(len(X)), int(X["event"].sum()), variance, ph_p)
    tab.insert(0, "model", name)
    ph.insert(0, "model", name)
    return res, tab, ph


def _z(confidence: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(0.5 + confidence / 2))


def schoenfeld_test(cph: Any, X: pd.DataFrame, max_rows: int = 100_000) -> pd.DataFrame:
    """Grambsch-Therneau test per covariate (scaled Schoenfeld residuals vs rank of time).

    A small p means the hazard ratio changes with time (non-proportional
    hazards); :func:`piecewise_hr` then shows how.
    """
    from lifelines.statistics import proportional_hazard_test

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = proportional_hazard_test(cph, X, time_transform="rank")
    s = res.summary
    idx = s.index.get_level_values(0) if isinstance(s.index, pd.MultiIndex) else s.index
    return pd.DataFrame({"term": list(idx), "statistic": s["test_statistic"].to_numpy(),
                         "p_value": s["p"].to_numpy()})


def piecewise_hr(df: pd.DataFrame, splits: Sequence[float], confidence: float = 0.95) -> pd.DataFrame:
    """Agent hazard ratio within time windows ``[0, s1), [s1, s2), ...`` (left truncation at the window start).

    The remedy when proportional hazards fail: a step-function hazard ratio
    :math:`\\beta_a(t) = \\beta_k` for :math:`t \\in [s_{k-1}, s_k)`. Window *k* uses
    units still at risk at :math:`s_{k-1}`, entering there, censored at :math:`s_k`.
    """
    from lifelines import CoxPHFitter

    edges = [0.0, *splits, np.inf]
    z = _z(confidence)
    rows = []
    for a, b in zip(edges[:-1], edges[1:]):
        at = df["duration_days"] > a if a > 0 else pd.Series(True, index=df.index)
        sub = df[at]
        # every unit of window k enters at the same time a, so left truncation at a equals shifting the
        # time origin to a (risk sets are identical); this avoids lifelines' slow entry_col path
        d = pd.DataFrame({"T": np.minimum(sub["duration_days"], b) - a,
                          "E": ((sub["event"] == 1) & (sub["duration_days"] <= b)).astype(int),
                          "agent": (sub["author_type"] == AGENT).astype(int)})
        label = f"[{a:g}, {b:g})" if np.isfinite(b) else f"[{a:g}, end)"
        if d["E"].sum() < 5 or d["agent"].nunique() < 2:
            rows.append({"window_days": label, "hr": None, "ci_low": None, "ci_high": None, "p_value": None,
                         "n_at_risk": int(len(d)), "events": int(d["E"].sum())})
            continue
        cph = CoxPHFitter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cph.fit(d, duration_col="T", event_col="E")
        coef, se = float(cph.params_["agent"]), float(cph.standard_errors_["agent"])
        rows.append({"window_days": label, "hr": np.exp(coef), "ci_low": np.exp(coef - z * se),
                     "ci_high": np.exp(coef + z * se), "p_value": float(cph.summary.loc["agent", "p"]),
                     "n_at_risk": int(len(d)), "events": int(d["E"].sum())})
    return pd.DataFrame(rows)


def per_agent_hr(df: pd.DataFrame, min_units: int = 30, confidence: float = 0.95) -> pd.DataFrame:
    """Hazard ratio of each agent vs human lines (one Cox model, repository-clustered SEs).

    Agents with fewer than ``min_units`` units are pooled as ``other agents``.
    """

    ag = df["agent"].where(df["author_type"] == AGENT, "")
    counts = ag[ag != ""].value_counts()
    small = set(counts[counts < min_units].index)
    ag = ag.where(~ag.isin(small), "other agents")
    levels = sorted(a for a in ag.unique() if a != "")
    X = pd.DataFrame({"T": df["duration_days"].to_numpy(float), "E": df["event"].to_numpy(int),
                      "repo": df["repo"].astype(str).to_numpy()})
    for a in levels:
        X[f"agent[{a}]"] = (ag == a).to_numpy(int)
    cph = _fit_cox(X, strata=False, duration_col="T", event_col="E")
    tab, _ = _coef_table(cph, X.rename(columns={"T": "duration_days", "E": "event"}), X["repo"].nunique() > 1,
                         confidence)
    tab = tab.set_index("term")
    rows = []
    for a in levels:
        t = tab.loc[f"agent[{a}]"]
        m = ag == a
        rows.append({"agent": a, "units": int(m.sum()), "events": int(df.loc[m, "event"].sum()),
                     "hr_vs_human": float(t.hr), "ci_low": float(t.ci_low), "ci_high": float(t.ci_high),
                     "p_value": float(t.p_value)})
    return pd.DataFrame(rows)


def recovery(df: pd.DataFrame, truth: dict[str, Any], confidence: float = 0.95) -> pd.DataFrame:
    """Planted vs estimated agent hazard ratio on simulated line events.

    The estimand is the conditional HR given repository, file type and
    commit size, estimated by the adjusted Cox model stratified by repository.
    The unadjusted estimate is shown too (it mixes in the repository frailty
    and the file-type mix, so it need not cover the truth).
    """
    rows = []
    for adjusted, adjust in ((True, "strata"), (False, "cluster")):
        res, _, _ = cox_agent(df, adjusted=adjusted, adjust=adjust, confidence=confidence, ph_test=False)
        rows.append({"model": res.model, "planted_hr": truth["hr_agent"], "estimated_hr": res.hr,
                     "ci_low": res.ci_low, "ci_high": res.ci_high,
                     "covers_truth": bool(res.ci_low <= truth["hr_agent"] <= res.ci_high),
                     "n_units": res.n_units, "n_events": res.n_events})
    return pd.DataFrame(rows)
