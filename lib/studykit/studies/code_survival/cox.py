"""Cox proportional hazards models of time to modification: agent vs human lines.

Input is a checked line-events table (:func:`studykit.studies.code_survival.load.prepare_events`).

Every model is fitted exactly on aggregated rows (:mod:`studykit.stats.coxph`): units with equal
``(duration, event, covariates, cluster, stratum)`` collapse into one row weighted by their number,
and the Efron partial likelihood, its information, the score residuals of the sandwich and the
Schoenfeld test are those of the expanded units. The general statistics (the fit, the sandwich and the
delete-one-cluster jackknife of :mod:`studykit.stats.clustered`, the Schoenfeld test) live in
:mod:`studykit.stats`; this module chooses the models, the clusters and the correction, and names the results.

References
----------
Cox (1972) proportional hazards with Efron (1977) ties; Lin & Wei (1989)
robust (sandwich) variance clustered by repository; Grambsch & Therneau (1994)
scaled Schoenfeld residual test.

Size: one module for the study's Cox models (design matrix, clustering rule, coefficient table, piecewise
and per-agent hazard ratios with profile intervals), which share the design and variance helpers.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from studykit.stats import clustered, coxph
from studykit.stats.results import Result
from studykit.stats.survival import score_residuals  # noqa: F401 (the study's namespace: analysis.score_residuals)

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
    reference_df: float | None = None
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
        # the extensions by their codes (one pass over the units instead of one comparison per level)
        codes, uniques = pd.factorize(ext.to_numpy())
        kept = set(keep)
        merged = np.array([u if u in kept else "other" for u in uniques], dtype=object)
        names_, inverse = np.unique(merged, return_inverse=True)
        level_code = inverse.reshape(-1)[codes]
        sizes = np.bincount(level_code, minlength=len(names_))
        levels = sorted(range(len(names_)), key=lambda k: (-int(sizes[k]), names_[k]))
        for k in levels[1:]:
            X[f"ext[{names_[k]}]"] = (level_code == k).astype(int)
        X["log_commit_size"] = np.log1p(df["commit_lines_added"].to_numpy(float)
                                        + df["commit_lines_deleted"].to_numpy(float))
    # a covariate with one value carries no information and makes the information matrix singular
    covariates = [c for c in X.columns if c not in ("duration_days", "event", "agent", "repo")]
    constant = [c for c in covariates if _constant(X[c])]
    X = X.drop(columns=constant)
    X.attrs["dropped_constant"] = constant
    return X


def _constant(col: pd.Series) -> bool:
    """``col.nunique() < 2`` (missing values ignored), with one comparison when nothing is missing."""
    v = col.to_numpy()
    if v.dtype.kind in "biu" or (v.dtype.kind == "f" and not np.isnan(v).any()):
        return bool(len(v) == 0 or (v == v[0]).all())
    return col.nunique() < 2


class CoxFitError(ValueError):
    """A Cox fit that cannot be used: no convergence, a possibly infinite coefficient, a singular information."""


def _fit_cox(X: pd.DataFrame, strata: bool, clusters: "Clustering | None" = None
             ) -> tuple[coxph.CoxFit, pd.DataFrame]:
    """Fit on aggregated rows; returns (fit, rows). ``X`` has ``duration_days``, ``event``, covariates (``repo``).

    With ``clusters`` (labels in the order of ``X``) the rows carry a ``cluster`` code, so no row spans two
    clusters and the row score residuals sum to the clusters' score sums. Raises :class:`CoxFitError` when
    the fit has a note (separation, singular information), did not converge or has a non-finite SE.
    """
    names = _covariates(X)
    units = X if clusters is None else X.assign(cluster=pd.factorize(clusters.labels)[0])
    stratum = "repo" if strata else None
    rows, _ = coxph.aggregate_units(units, "duration_days", "event", names,
                                    "cluster" if clusters is not None else None, strata_col=stratum)
    return _fit_rows(rows, names, stratum), rows


def _covariates(X: pd.DataFrame) -> list[str]:
    return [c for c in X.columns if c not in ("duration_days", "event", "repo")]


def _fit_rows(rows: pd.DataFrame, names: list[str], stratum: str | None, residuals: bool = True) -> coxph.CoxFit:
    fit = coxph.fit_cox_rows(rows, "duration_days", "event", names, strata_col=stratum, residuals=residuals)
    if fit.note or not fit.converged or not np.all(np.isfinite(fit.se)):
        raise CoxFitError(fit.note or "no convergence")
    return fit


class _Refit:
    """``refit(keep)``: :func:`_fit_cox` of ``X[keep]`` without clusters (the jackknife's leave-one-cluster-out fits).

    The units are aggregated once (:func:`studykit.stats.coxph.aggregate_units`, without clusters) and the rows of
    each subset come from :func:`studykit.stats.coxph.subset_rows`, which equals aggregating ``X[keep]`` again
    (the same rows, order and weights, so the same fit) at the cost of a count instead of a grouping.
    """

    def __init__(self, X: pd.DataFrame, strata: bool):
        self.names = _covariates(X)
        self.stratum = "repo" if strata else None
        self.rows, self.mapping = coxph.aggregate_units(X, "duration_days", "event", self.names,
                                                        strata_col=self.stratum)

    def __call__(self, keep: np.ndarray) -> coxph.CoxFit:
        return _fit_rows(coxph.subset_rows(self.rows, self.mapping, np.asarray(keep, bool)), self.names,
                         self.stratum, residuals=False)  # the jackknife uses the coefficients only


@dataclass(frozen=True)
class Clustering(Result):
    """Which clusters the robust variances use, and the small-sample correction.

    Attributes
    ----------
    by : str
        ``"repository"`` when there are at least ``min_repos`` repositories,
        else ``"commit"`` (the commit that wrote the line).
    n_clusters : int
    n_repos : int
    min_repos : int
    correction : str
        The small-sample correction, with a :math:`t_{G-1}` reference distribution
        either way: with at most :data:`JACKKNIFE_MAX_CLUSTERS` clusters the
        delete-one-cluster jackknife (CV3, :func:`jackknife_cov`), else the
        sandwich times :math:`G/(G-1)` (CR1).
    reason : str
    """

    by: str
    n_clusters: int
    n_repos: int
    min_repos: int
    correction: str
    reason: str
    labels: np.ndarray = field(default_factory=lambda: np.zeros(0), compare=False, repr=False)


CR1 = "CR1 (sandwich x G/(G-1)) with a t(G-1) reference"
CV3 = "CV3 (delete-one-cluster jackknife) with a t(G-1) reference"
#: up to this many clusters the variance is the jackknife (one refit per cluster); above, CR1, which is then
#: close to nominal (simulation tests in tests/studies/code_survival/test_code_survival_validity.py)
JACKKNIFE_MAX_CLUSTERS = 50
#: leave-one-cluster-out refits run at once (threads: numpy's array loops release the GIL); any number gives the
#: same covariance
JACKKNIFE_THREADS = 2


def correction_for(n_clusters: int) -> str:
    """CV3 for few clusters (at most :data:`JACKKNIFE_MAX_CLUSTERS`), CR1 otherwise."""
    return CV3 if n_clusters <= JACKKNIFE_MAX_CLUSTERS else CR1


def choose_clusters(df: pd.DataFrame, min_repos: int = 10) -> Clustering:
    """Cluster by repository when there are at least ``min_repos`` of them, by commit otherwise.

    Lines of one commit share its author, its review and its later fate, and
    lines of one repository share its style and maintainers: both make lines
    dependent. Repositories are the larger cluster and are used when there are
    enough of them for the sandwich to be estimated; with fewer, commit
    clusters still capture the dependence within a change (the stratified model
    then handles the repositories). Labels are ``repo``/``commit`` pairs, so
    equal commit ids in different repositories stay apart.
    """
    n_repos = int(df["repo"].nunique())
    if n_repos >= min_repos:
        labels = df["repo"].astype(str).to_numpy()
        reason = f"{n_repos} repositories >= {min_repos}"
        by = "repository"
    else:
        labels = (df["repo"].astype(str) + "\x00" + df["commit"].astype(str)).to_numpy()
        reason = f"only {n_repos} repositories (< {min_repos}): clustered by the commit that wrote the line"
        by = "commit"
    n_clusters = int(len(pd.unique(labels)))
    return Clustering(by, n_clusters, n_repos, int(min_repos), correction_for(n_clusters), reason, labels)


def sub_clustering(clusters: Clustering, keep: np.ndarray) -> Clustering:
    """The clustering of the units ``keep`` (a boolean mask): their labels, their G, its correction."""
    labels = clusters.labels[keep]
    n_clusters = int(len(pd.unique(labels)))
    return Clustering(clusters.by, n_clusters, clusters.n_repos, clusters.min_repos, correction_for(n_clusters),
                      clusters.reason, labels)


def jackknife_cov(beta: np.ndarray, labels: np.ndarray, refit: "Callable[[np.ndarray], coxph.CoxFit]") -> np.ndarray:
    r"""Delete-one-cluster jackknife covariance (CV3) of the Cox coefficients ``beta``.

    :func:`studykit.stats.clustered.jackknife_cov` with ``refit(mask of the units kept)`` returning a
    :class:`~studykit.stats.coxph.CoxFit`. Raises :class:`CoxFitError` when a refit fails, ValueError when its
    coefficients differ in number (either way :func:`_coef_table` then uses CR1).
    """
    return clustered.jackknife_cov(beta, labels, lambda keep: refit(keep).coef, threads=JACKKNIFE_THREADS).covariance



def _lazy_refit(X: pd.DataFrame, strata: bool) -> "Callable[[np.ndarray], coxph.CoxFit]":
    """A :class:`_Refit` of ``X``, built on its first call (only the jackknife calls it)."""
    made: list[_Refit] = []

    def refit(keep: np.ndarray) -> coxph.CoxFit:
        if not made:
            made.append(_Refit(X, strata))
        return made[0](keep)

    return refit


def _coef_table(fit: coxph.CoxFit, rows: pd.DataFrame, clusters: "Clustering | None", confidence: float,
                refit: "Callable[[np.ndarray], coxph.CoxFit] | None" = None) -> tuple[pd.DataFrame, str, float]:
    """Coefficients with model-based or cluster-robust SEs; returns (table, variance label, reference df).

    The CR1 covariance is :meth:`~studykit.stats.coxph.CoxFit.robust_covariance` on the rows of :func:`_fit_cox` (exact
    Efron-form score residuals of the expanded units summed by cluster), times :math:`G/(G-1)`. With the
    CV3 correction (few clusters) and ``refit`` (the same model on a subset of the units) it is
    :func:`jackknife_cov`; when a leave-one-cluster-out fit fails, CR1, and the label says so.
    """
    from scipy.stats import norm, t as t_dist

    beta = fit.coef
    names = list(fit.names)
    if clusters is not None:
        V, correction = None, CR1
        if clusters.correction == CV3 and refit is not None:
            try:
                V, G, correction = jackknife_cov(beta, clusters.labels, refit), clusters.n_clusters, CV3
            except _fit_errors():
                correction = CR1 + " (the jackknife was not possible: a leave-one-cluster-out fit failed)"
        if V is None:
            robust = fit.robust_covariance(rows["cluster"].to_numpy())
            V, G = robust.covariance, robust.n_clusters
        se = np.sqrt(np.diag(V))
        ref_df = float(G - 1)
        variance = f"robust, clustered by {clusters.by} (G = {clusters.n_clusters}; {correction})"
        crit = float(t_dist.ppf(0.5 + confidence / 2, ref_df))
        with np.errstate(divide="ignore", invalid="ignore"):
            p = 2 * t_dist.sf(np.abs(beta / se), ref_df)
    else:
        se = fit.se
        variance = "model-based"
        ref_df = float("inf")
        crit = _z(confidence)
        p = 2 * norm.sf(np.abs(beta / se))
    tab = pd.DataFrame({"term": names, "coef": beta, "se": se, "hr": np.exp(beta),
                        "ci_low": np.exp(beta - crit * se), "ci_high": np.exp(beta + crit * se), "p_value": p})
    return tab, variance, ref_df


#: Errors of a Cox fit that mean "this model cannot be estimated on these data" (reported, not raised).
def _fit_errors() -> tuple[type[BaseException], ...]:
    return (CoxFitError, np.linalg.LinAlgError, ValueError, ZeroDivisionError, FloatingPointError)


def not_estimable(model: str, reason: str, n_units: int, n_events: int) -> CoxResult:
    """A :class:`CoxResult` without estimates, saying why (NaN fields are recorded as null with the note)."""
    nan = float("nan")
    return CoxResult(model, "agent", nan, nan, nan, nan, nan, int(n_units), int(n_events), "", None, None,
                     f"not estimable: {reason}")


def cox_agent(df: pd.DataFrame, *, adjusted: bool = False, adjust: str = "cluster", confidence: float = 0.95,
              ph_test: bool = True, clusters: Clustering | None = None, stratify: bool = False
              ) -> tuple[CoxResult, pd.DataFrame, pd.DataFrame]:
    """Cox model of the agent indicator; returns (agent result, coefficient table, PH test table).

    :math:`h_i(t) = h_0(t) \\exp(\\beta_a A_i + x_i^\\top \\beta)`, partial likelihood
    with Efron ties, fitted exactly on aggregated rows (:func:`_fit_cox`). Adjusted models add file type and commit size
    (``adjust="cluster"``) and, with ``adjust="strata"``, a baseline hazard per
    repository; ``stratify=True`` gives the unadjusted model a baseline hazard per
    repository too (the agent contrast within repositories). With ``clusters`` (:func:`choose_clusters`) the SEs are
    cluster-robust with the CR1 correction and CIs and p-values use the
    :math:`t_{G-1}` reference; without, model-based with a normal reference.
    ``ph_test`` adds the Grambsch-Therneau test on rank-transformed time (:func:`schoenfeld_test`).
    A model that cannot be fitted is returned by :func:`not_estimable`.
    """
    if adjust not in ("cluster", "strata"):
        raise ValueError("adjust must be 'cluster' or 'strata'")
    X = design_matrix(df, adjusted=adjusted)
    strata = (adjusted and adjust == "strata") or stratify
    if not adjusted:
        name = "unadjusted (strata = repo)" if strata else "unadjusted"
    else:
        name = f"adjusted ({'strata = repo' if strata else 'file type, commit size'})"
    n_events = int(X["event"].sum())
    ph = pd.DataFrame(columns=["model", "term", "statistic", "p_value"])
    empty = pd.DataFrame(columns=["model", "term", "coef", "se", "hr", "ci_low", "ci_high", "p_value"])
    if n_events == 0:
        return not_estimable(name, "no events (no line was modified)", len(X), 0), empty, ph
    try:
        fit, rows = _fit_cox(X, strata, clusters)
        tab, variance, ref_df = _coef_table(fit, rows, clusters, confidence, refit=_lazy_refit(X, strata))
    except _fit_errors() as exc:
        return not_estimable(name, f"the fit failed ({type(exc).__name__}: {str(exc).splitlines()[0][:120]})",
                             len(X), n_events), empty, ph
    row = tab[tab["term"] == "agent"].iloc[0]
    if not (np.isfinite(row.se) and np.isfinite(row.hr) and row.se > 0):
        return not_estimable(name, "the agent coefficient has no finite standard error (separation)", len(X),
                             n_events), empty, ph
    ph_p = None
    if ph_test:
        try:
            ph = schoenfeld_test(fit, rows)
            ph.insert(0, "model", name)
        except _fit_errors():
            pass  # ph stays empty and ph_p None; the note says why
        if (ph["term"] == "agent").any():
            ph_p = float(ph.loc[ph["term"] == "agent", "p_value"].iloc[0])
    dropped = X.attrs.get("dropped_constant", [])
    note = "; ".join(filter(None, [f"constant covariates dropped: {', '.join(dropped)}" if dropped else "",
                                   "Schoenfeld test failed" if ph_test and ph_p is None else ""]))
    res = CoxResult(name, "agent", float(row.hr), float(row.ci_low), float(row.ci_high), float(row.p_value),
                    float(row.se), int(len(X)), n_events, variance, ph_p,
                    ref_df if np.isfinite(ref_df) else None, note)
    tab.insert(0, "model", name)
    return res, tab, ph


def _z(confidence: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(0.5 + confidence / 2))


def schoenfeld_test(fit: coxph.CoxFit, rows: pd.DataFrame) -> pd.DataFrame:
    """Grambsch-Therneau test per covariate (scaled Schoenfeld residuals vs rank of time), on all units.

    :func:`studykit.stats.coxph.schoenfeld_test` on the weighted rows of :func:`_fit_cox`: exact for the expanded
    units (no subsample). Time enters as the rank of each event's time among the events; events with
    tied times share the mid-rank of their tie set (lifelines numbers them consecutively in row order,
    so with ties its p-value differs slightly and depends on the row order). A small p means the hazard
    ratio changes with time (non-proportional hazards); :func:`piecewise_hr` then shows how.
    """
    return coxph.schoenfeld_test(fit, rows["duration_days"], rows["event"], rows["weight"])


def piecewise_hr(df: pd.DataFrame, splits: Sequence[float], confidence: float = 0.95,
                 clusters: Clustering | None = None) -> pd.DataFrame:
    """Agent hazard ratio within time windows ``[0, s1), [s1, s2), ...`` (left truncation at the window start).

    The remedy when proportional hazards fail: a step-function hazard ratio
    :math:`\\beta_a(t) = \\beta_k` for :math:`t \\in [s_{k-1}, s_k)`. Window *k* uses
    units still at risk at :math:`s_{k-1}`, entering there, censored at :math:`s_k`.
    With ``clusters`` the SEs are cluster-robust (CR1, :math:`t_{G-1}` reference).
    """
    edges = [0.0, *splits, np.inf]
    rows = []
    for a, b in zip(edges[:-1], edges[1:]):
        at = df["duration_days"] > a if a > 0 else pd.Series(True, index=df.index)
        sub = df.loc[at, ["duration_days", "event", "author_type"]]  # not a copy of every column (the line text)
        # every unit of window k enters at the same time a, so left truncation at a equals shifting the
        # time origin to a (risk sets are identical)
        d = pd.DataFrame({"duration_days": (np.minimum(sub["duration_days"], b) - a).to_numpy(float),
                          "E": ((sub["event"] == 1) & (sub["duration_days"] <= b)).to_numpy(int),
                          "agent": (sub["author_type"] == AGENT).to_numpy(int)})
        label = f"[{a:g}, {b:g})" if np.isfinite(b) else f"[{a:g}, end)"
        if d["E"].sum() < 5 or d["agent"].nunique() < 2:
            rows.append({"window_days": label, "hr": None, "ci_low": None, "ci_high": None, "p_value": None,
                         "n_at_risk": int(len(d)), "events": int(d["E"].sum())})
            continue
        sub_clusters = None if clusters is None else sub_clustering(clusters, at.to_numpy())
        try:
            dw = d.rename(columns={"E": "event"})
            fit, rows_w = _fit_cox(dw, False, sub_clusters)
            tab, _, _ = _coef_table(fit, rows_w, sub_clusters, confidence, refit=_lazy_refit(dw, False))
            t = tab.iloc[0]
        except _fit_errors():
            t = None
        if t is None or not (np.isfinite(t.se) and t.se > 0):  # not estimable in this window (reported as empty)
            rows.append({"window_days": label, "hr": None, "ci_low": None, "ci_high": None, "p_value": None,
                         "n_at_risk": int(len(d)), "events": int(d["E"].sum())})
            continue
        rows.append({"window_days": label, "hr": float(t.hr), "ci_low": float(t.ci_low),
                     "ci_high": float(t.ci_high), "p_value": float(t.p_value),
                     "n_at_risk": int(len(d)), "events": int(d["E"].sum())})
    return pd.DataFrame(rows)


def _profile_interval(T: np.ndarray, E: np.ndarray, x: np.ndarray, beta_hat: float,
                      confidence: float) -> tuple[float, float]:
    """Profile-likelihood interval of one indicator's coefficient (Efron ties), on the log scale.

    :math:`\\{b : 2(\\ell(\\hat\\beta) - \\ell(b)) \\le \\chi^2_{1, conf}\\}` for the
    one-covariate model of ``x`` (the agent's lines against human lines), with
    :math:`\\ell` the Efron partial log-likelihood (:func:`studykit.stats.coxph.partial_loglik` on the units aggregated
    into weighted rows; equal to statsmodels ``PHReg(ties="efron")``). It stays
    valid near separation (few events), where the Wald interval fails; a bound
    that the likelihood never reaches within 20 log-units is infinite.
    """
    from scipy.optimize import brentq, minimize_scalar
    from scipy.stats import chi2

    rows, _ = coxph.aggregate_units(pd.DataFrame({"T": T, "E": E, "x": np.asarray(x, float)}), "T", "E", ["x"])
    rT, rE, rx, rw = (rows[c].to_numpy(float) for c in ("T", "E", "x", "weight"))

    def loglike(b: float) -> float:
        return float(coxph.partial_loglik(rT, rE, rx, [b], weights=rw))

    # the maximum of this two-group model (close to the multi-agent estimate, which starts the search)
    best = minimize_scalar(lambda b: -loglike(b), bracket=(beta_hat - 0.5, beta_hat + 0.5))
    top, b0 = -float(best.fun), float(best.x)
    drop = chi2.ppf(confidence, 1) / 2

    def gap(b: float) -> float:
        return top - loglike(b) - drop

    bounds = []
    for direction in (-1.0, 1.0):
        edge, inner, step = np.nan, b0, 0.25
        while step <= 20:
            outer = b0 + direction * step
            if gap(outer) > 0:
                edge = brentq(gap, min(inner, outer), max(inner, outer), xtol=1e-5)
                break
            inner, step = outer, step * 2
        bounds.append(edge if np.isfinite(edge) else direction * np.inf)
    return bounds[0], bounds[1]


def per_agent_hr(df: pd.DataFrame, min_units: int = 30, confidence: float = 0.95, *, min_events: int = 10,
                 clusters: Clustering | None = None) -> pd.DataFrame:
    """Hazard ratio of each agent vs human lines (one Cox model; cluster-robust SEs when ``clusters`` is given).

    Rules:

    - agents with fewer than ``min_units`` units are pooled as ``other agents``;
    - an agent (or the pool) with fewer than ``min_events`` modified lines is
      **not estimable**: its row has no numbers, the reason in ``note``, and its
      lines leave the model (with so few events the partial likelihood is
      nearly flat or unbounded, and a Wald interval would claim precision it
      does not have);
    - with ``clusters`` the reference distribution of an agent's contrast is
      :math:`t_{G_a - 1}`, :math:`G_a` = clusters holding the agent's lines (an
      agent whose lines come from six commits is informed by six clusters,
      whatever the total; with one cluster it is not estimable);
    - for agents with fewer than ``2 * min_events`` events (separation
      threatens) the interval is the union of the cluster-robust Wald interval
      and the profile-likelihood interval of the agent's lines against human
      lines (:func:`_profile_interval`), so that it is valid under both
      dependence and sparse events (``interval`` says which).
    """
    from scipy.stats import t as t_dist

    ag = df["agent"].where(df["author_type"] == AGENT, "")
    counts = ag[ag != ""].value_counts()
    small = set(counts[counts < min_units].index)
    ag = ag.where(~ag.isin(small), "other agents")
    levels = sorted(a for a in ag.unique() if a != "")
    events = df["event"].groupby(ag).sum()
    units = ag.value_counts()
    rows: dict[str, dict[str, Any]] = {}
    fit_levels = []
    for a in levels:
        row = {"agent": a, "units": int(units[a]), "events": int(events[a]), "hr_vs_human": None, "ci_low": None,
               "ci_high": None, "p_value": None, "interval": "", "note": ""}
        if events[a] < min_events:
            row["note"] = f"not estimable: {int(events[a])} events < {min_events} (min_agent_events)"
        else:
            fit_levels.append(a)
        rows[a] = row
    keep = (ag == "") | ag.isin(fit_levels)
    if fit_levels and int(df.loc[keep & (ag == ""), "event"].sum()) == 0:
        for a in fit_levels:
            rows[a]["note"] = "not estimable: no human line was modified (no reference hazard)"
        fit_levels = []
    if fit_levels:
        sub, sub_ag = df.loc[keep, ["duration_days", "event", "repo"]], ag[keep]
        X = pd.DataFrame({"duration_days": sub["duration_days"].to_numpy(float), "event": sub["event"].to_numpy(int),
                          "repo": sub["repo"].astype(str).to_numpy()})
        for a in fit_levels:
            X[f"agent[{a}]"] = (sub_ag == a).to_numpy(int)
        sub_clusters = None if clusters is None else sub_clustering(clusters, keep.to_numpy())
        try:
            fit, rows_w = _fit_cox(X, False, sub_clusters)
            tab, _, _ = _coef_table(fit, rows_w, sub_clusters, confidence, refit=_lazy_refit(X, False))
        except _fit_errors() as exc:
            for a in fit_levels:
                rows[a]["note"] = f"not estimable: the fit failed ({type(exc).__name__})"
            fit_levels, tab = [], None
        if tab is not None:
            tab = tab.set_index("term")
            names = [f"agent[{a}]" for a in fit_levels]
            for j, a in enumerate(fit_levels):
                t = tab.loc[names[j]]
                row = rows[a]
                if not (np.isfinite(t.se) and t.se > 0):
                    row["note"] = "not estimable: no finite standard error (separation)"
                    continue
                lo, hi, p = float(t.ci_low), float(t.ci_high), float(t.p_value)
                row["interval"] = "Wald, cluster-robust" if sub_clusters is not None else "Wald, model-based"
                if sub_clusters is not None:
                    # the contrast is informed only by the clusters holding this agent's lines, so the
                    # reference is t with (those clusters - 1) df, not t(G - 1) (effective clusters)
                    g_a = int(len(pd.unique(sub_clusters.labels[X[names[j]].to_numpy() == 1])))
                    if g_a < 2:
                        row["note"] = f"not estimable: the agent's lines come from {g_a} {sub_clusters.by}"
                        continue
                    crit = float(t_dist.ppf(0.5 + confidence / 2, g_a - 1))
                    lo, hi = float(np.exp(t.coef - crit * t.se)), float(np.exp(t.coef + crit * t.se))
                    p = float(2 * t_dist.sf(abs(t.coef / t.se), g_a - 1))
                    row["interval"] += f", t({g_a - 1}) over the agent's {g_a} clusters"
                if row["events"] < 2 * min_events:
                    pair = (X[names].to_numpy().sum(axis=1) == 0) | (X[names[j]].to_numpy() == 1)
                    plo, phi = _profile_interval(X["duration_days"].to_numpy(float)[pair],
                                                 X["event"].to_numpy(int)[pair], X[names[j]].to_numpy()[pair],
                                                 float(t.coef), confidence)
                    lo, hi = min(lo, float(np.exp(plo))), max(hi, float(np.exp(phi)))
                    row["interval"] += " united with profile likelihood (few events)"
                row.update({"hr_vs_human": float(t.hr), "ci_low": lo, "ci_high": hi, "p_value": p})
    return pd.DataFrame(list(rows.values()), columns=["agent", "units", "events", "hr_vs_human", "ci_low", "ci_high",
                                                      "p_value", "interval", "note"])


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
