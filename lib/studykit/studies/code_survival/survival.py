"""Kaplan-Meier curves, log-rank tests and the modification share by a horizon.

Input is a checked line-events table (:func:`studykit.studies.code_survival.load.prepare_events`):
one row per unit with ``duration_days`` (time to the ending change, or to the
observation end when censored) and ``event`` (1 = modified or deleted).

References
----------
Kaplan & Meier (1958); Peto & Peto (1972) log-rank; Newcombe (1998) CI of a
difference of proportions.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd

from studykit.contract.errors import InputError
from studykit.stats.resampling import cluster_bootstrap_weights
from studykit.stats.results import Result

AGENT, HUMAN = "agent", "human"


def km_fits(df: pd.DataFrame, by: str = "author_type", confidence: float = 0.95,
            min_units: int = 1) -> dict[str, Any]:
    """Kaplan-Meier fits per group of ``by`` (groups with fewer than ``min_units`` units skipped).

    :math:`\\hat S(t) = \\prod_{t_j \\le t} (1 - d_j / n_j)` with Greenwood
    exponential (log-log) confidence intervals (lifelines' default).
    """
    from lifelines import KaplanMeierFitter

    fits = {}
    for g, sub in df[[by, "duration_days", "event"]].groupby(by, sort=True):  # only the columns used: not a copy
        # of every column (the line text) per group
        label = str(g) if g != "" else HUMAN
        if len(sub) < min_units:
            continue
        kmf = KaplanMeierFitter(alpha=1 - confidence, label=label)
        kmf.fit(sub["duration_days"].to_numpy(float), sub["event"].to_numpy(int))
        fits[label] = kmf
    return fits


def km_table(fits: dict[str, Any], times: Sequence[float]) -> pd.DataFrame:
    """Survival, CI and number at risk of each fit at ``times`` (days), plus the median survival."""
    rows = []
    for label, kmf in fits.items():
        sf = kmf.survival_function_at_times(list(times)).to_numpy()
        ci = kmf.confidence_interval_survival_function_
        lo_col, hi_col = ci.columns
        durations = kmf.durations
        med = kmf.median_survival_time_
        for t, s in zip(times, sf):
            # the CI is a step function: the last change at or before t (1 before the first event)
            idx = ci.index.searchsorted(t, side="right") - 1
            lo = float(ci[lo_col].iloc[max(idx, 0)]) if idx >= 0 else 1.0
            hi = float(ci[hi_col].iloc[max(idx, 0)]) if idx >= 0 else 1.0
            rows.append({"group": label, "time_days": float(t), "survival": float(s), "ci_low": lo,
                         "ci_high": hi, "at_risk": int(np.sum(durations >= t)), "n_units": int(len(durations)),
                         "median_days": float(med) if np.isfinite(med) else None})
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class LogRank(Result):
    """A (multi-group) log-rank test.

    Attributes
    ----------
    statistic : float
        Chi-square statistic on ``df`` degrees of freedom (unclustered), or the
        robust Wald statistic :math:`T^2` (clustered).
    df : int
    p_value : float
    groups : str
        The compared groups, comma-separated.
    method : str
        ``"log-rank"`` or the clustered score test with its reference distribution.
    n_clusters : int or None
    note : str
    """

    statistic: float
    df: int
    p_value: float
    groups: str
    method: str = "log-rank"
    n_clusters: int | None = None
    note: str = ""
    p_value_f_reference: float | None = None


#: with at most this many clusters the clustered log-rank p-value comes from the wild cluster bootstrap of the
#: score and the share interval from the delete-one-cluster jackknife (the rule of the Cox models' CV3,
#: :data:`.cox.JACKKNIFE_MAX_CLUSTERS`)
SMALL_CLUSTERS_MAX = 50
#: random Rademacher draws of the wild bootstrap when the 2^(G-1) sign vectors are too many to enumerate (G > 16)
WILD_RESAMPLES = 9999


def logrank(df: pd.DataFrame, by: str = "author_type", clusters: np.ndarray | None = None,
            strata: np.ndarray | None = None, seed: int = 0) -> LogRank:
    """(Multi-group) log-rank test of equal survival across the groups of ``by``.

    Without ``clusters`` and ``strata``: the classical test (lifelines). Otherwise
    :func:`studykit.stats.logrank_test`: with ``clusters`` (one label per row) the
    robust score test of Lin & Wei (1989). The log-rank numerator :math:`U = O - E`
    (per group but the first) is the Cox score at :math:`\\beta = 0` and equals the
    sum of the units' score residuals; its variance is estimated from the cluster
    sums, :math:`V = \\frac{G}{G-1} \\sum_c U_c U_c^\\top`, so that lines of one
    commit or repository count as one piece of evidence. :math:`T^2 = U^\\top V^{-1} U`
    is referred to :math:`F_{k, G-k}` after scaling by :math:`(G-k)/((G-1)k)`
    (Hotelling), which is :math:`t^2_{G-1}` for two groups. With ``strata`` (e.g. the
    repository of each row) the groups are compared only within strata: the
    primary test with fewer than ``min_repo_clusters`` repositories, because a
    repository frailty that the commit clusters do not capture confounds the
    pooled comparison when the agent share differs between repositories.

    **Small-cluster correction.** With at most :data:`SMALL_CLUSTERS_MAX` clusters (10-50 repositories) the
    :math:`F` reference is very conservative (1.3-1.9 % at 5 % with 12 repositories), so the p-value is that of
    the wild cluster bootstrap of the score (Rademacher weights, every sign vector when :math:`G \\le 16`;
    :func:`studykit.stats.wild_cluster_score_test`), and the :math:`F` p-value is kept in
    ``p_value_f_reference``.
    """
    from lifelines.statistics import multivariate_logrank_test

    from studykit.stats import logrank_test

    labels = df[by].astype(str)
    groups = tuple(sorted(labels.unique()))
    if len(groups) < 2:
        raise InputError(f"log-rank test needs at least two groups in column '{by}'")
    k = len(groups) - 1
    if clusters is None and strata is None:
        res = multivariate_logrank_test(df["duration_days"], labels, df["event"])
        return LogRank(float(res.test_statistic), k, float(res.p_value), ", ".join(groups))
    small = clusters is not None and len(pd.unique(np.asarray(clusters))) <= SMALL_CLUSTERS_MAX
    res = logrank_test(df["duration_days"].to_numpy(float), df["event"].to_numpy(float), labels.to_numpy(),
                       strata=strata, clusters=clusters, wild="rademacher" if small else None,
                       n_resamples=WILD_RESAMPLES, seed=seed)
    return LogRank(res.statistic, k, res.p_value, ", ".join(groups), res.method, res.n_clusters, res.note,
                   res.p_value_f)


def horizon_labels(df: pd.DataFrame, horizon_days: float) -> tuple[pd.Series, pd.Series]:
    """(eligible, modified) masks: followed at least ``horizon_days``; modified within it.

    A unit is *eligible* when its observation window (``observed_until - born_at``)
    covers the horizon, so that "not modified" is known; units modified within
    the horizon but with a shorter window are excluded too, to keep the
    denominator unbiased.
    """
    window = (df["observed_until"] - df["born_at"]).dt.total_seconds() / 86400.0
    eligible = window >= horizon_days
    modified = (df["event"] == 1) & (df["duration_days"] <= horizon_days)
    return eligible, modified & eligible


@dataclass(frozen=True)
class ModifiedShare(Result):
    """Share of units modified within a horizon by author type, and the agent - human difference.

    ``table`` has one row per author type (not recorded; saved as a table). When no unit of an author type
    is followed for the whole horizon the shares are null and ``modified_share.not_estimable`` holds the
    reason.
    """

    _record_not_estimable = True

    agent: float
    human: float
    diff_pp: float
    diff_pp_ci_low: float
    diff_pp_ci_high: float
    eligible_units: int
    not_eligible_units: int
    diff_pp_ci_low_unclustered: float | None = None
    diff_pp_ci_high_unclustered: float | None = None
    note: str = ""
    table: pd.DataFrame = field(default_factory=pd.DataFrame, compare=False, repr=False)
    diff_pp_ci_low_percentile: float | None = None
    diff_pp_ci_high_percentile: float | None = None


def modified_share(df: pd.DataFrame, horizon_days: float, confidence: float = 0.95,
                   km: dict[str, Any] | None = None, clusters: np.ndarray | None = None,
                   n_bootstrap: int = 1000, seed: int = 0) -> ModifiedShare:
    """Share of units modified within the horizon by author type, and the agent - human difference.

    Share :math:`\\hat p_g = m_g / n_g` over eligible units (:func:`horizon_labels`),
    Wilson CIs; the difference :math:`100(\\hat p_{agent} - \\hat p_{human})` in
    percentage points with Newcombe's hybrid Wilson CI
    (:func:`studykit.stats.risk_difference`). With ``clusters`` (one label per
    row) the difference's interval is a percentile cluster bootstrap instead:
    whole clusters (commits or repositories) are resampled, because lines of
    one cluster are modified together. With at most :data:`SMALL_CLUSTERS_MAX`
    clusters (10-50 repositories) that percentile interval under-covers (about 90 % at
    95 % with 12 repositories), so the interval is the delete-one-cluster
    jackknife (CV3) with a :math:`t_{G-1}` reference
    (:func:`studykit.stats.cluster_jackknife_ci`) and the percentile interval is
    kept in ``diff_pp_ci_*_percentile``. The Kaplan-Meier estimate
    :math:`1 - \\hat S(h)` over all units is given beside it.
    """
    from statsmodels.stats.proportion import proportion_confint

    from studykit.stats import risk_difference

    eligible, modified = horizon_labels(df, horizon_days)
    rows = []
    counts = {}
    for g in (AGENT, HUMAN):
        m = df["author_type"] == g
        n = int((eligible & m).sum())
        x = int((modified & m).sum())
        counts[g] = (x, n)
        lo, hi = proportion_confint(x, n, alpha=1 - confidence, method="wilson") if n else (np.nan, np.nan)
        km_mod = None
        if km is not None and g in km:
            km_mod = 1.0 - float(km[g].survival_function_at_times([horizon_days]).iloc[0])
        rows.append({"group": g, "eligible_units": n, "modified_within_horizon": x,
                     "share": x / n if n else None, "ci_low": lo if n else None, "ci_high": hi if n else None,
                     "km_share_1_minus_S": km_mod, "horizon_days": horizon_days})
    (xa, na), (xh, nh) = counts[AGENT], counts[HUMAN]
    not_eligible = int(len(df) - eligible.sum())
    if na == 0 or nh == 0:
        nan = float("nan")
        return ModifiedShare(xa / na if na else nan, xh / nh if nh else nan, nan, nan, nan, na + nh, not_eligible,
                             None, None, f"not estimable: no {'agent' if na == 0 else 'human'} units are followed "
                             f"for {horizon_days:g} days (lower horizon_days)", pd.DataFrame(rows))
    rd = risk_difference(xa, na, xh, nh, confidence=confidence)
    lo, hi, note = rd.ci_low, rd.ci_high, ""
    if clusters is not None:
        agent = (df["author_type"] == AGENT).to_numpy()
        el, mod = eligible.to_numpy(), modified.to_numpy()
        codes, counts = cluster_bootstrap_weights(np.asarray(clusters)[el], n_bootstrap, seed)
        G = counts.shape[1]
        per = np.zeros((G, 4))  # per cluster: modified agent, eligible agent, modified human, eligible human
        a, m = agent[el], mod[el]
        np.add.at(per, codes, np.column_stack([a & m, a, ~a & m, ~a]).astype(float))
        tot = counts @ per
        with np.errstate(invalid="ignore", divide="ignore"):
            diff = tot[:, 0] / tot[:, 1] - tot[:, 2] / tot[:, 3]
        ok = np.isfinite(diff)
        lo, hi = np.quantile(diff[ok], [(1 - confidence) / 2, (1 + confidence) / 2])
        note = (f"CI: percentile cluster bootstrap over {G} clusters, {int(ok.sum())} resamples"
                + (f" ({int((~ok).sum())} without both author types skipped)" if (~ok).any() else ""))
        if G <= SMALL_CLUSTERS_MAX:
            from studykit.stats import cluster_jackknife_ci

            jk = cluster_jackknife_ci(per, _share_diff, confidence=confidence)
            if np.isfinite(jk.ci_low):
                pct = (100 * float(lo), 100 * float(hi))
                return ModifiedShare(xa / na, xh / nh, 100 * rd.estimate, 100 * jk.ci_low, 100 * jk.ci_high,
                                     na + nh, not_eligible, 100 * rd.ci_low, 100 * rd.ci_high,
                                     f"CI: {jk.method} over {G} clusters (at most {SMALL_CLUSTERS_MAX}); the "
                                     "percentile cluster bootstrap is in diff_pp_ci_*_percentile",
                                     pd.DataFrame(rows), *pct)
            note += f"; the jackknife was not possible ({jk.note})"
    return ModifiedShare(xa / na, xh / nh, 100 * rd.estimate, 100 * float(lo), 100 * float(hi), na + nh,
                         not_eligible, 100 * rd.ci_low, 100 * rd.ci_high, note, pd.DataFrame(rows))


def _share_diff(tot: np.ndarray) -> np.ndarray:
    """Agent minus human share from totals (modified agent, eligible agent, modified human, eligible human)."""
    return tot[..., 0] / tot[..., 1] - tot[..., 2] / tot[..., 3]
