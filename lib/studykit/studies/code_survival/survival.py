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

from studykit.errors import InputError
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
    for g, sub in df.groupby(by, sort=True):
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
        Chi-square statistic on ``df`` degrees of freedom.
    df : int
    p_value : float
    groups : str
        The compared groups, comma-separated.
    """

    statistic: float
    df: int
    p_value: float
    groups: str


def logrank(df: pd.DataFrame, by: str = "author_type") -> LogRank:
    """(Multi-group) log-rank test of equal survival across the groups of ``by``."""
    from lifelines.statistics import multivariate_logrank_test

    groups = tuple(sorted(df[by].astype(str).unique()))
    if len(groups) < 2:
        raise InputError(f"log-rank test needs at least two groups in column '{by}'")
    res = multivariate_logrank_test(df["duration_days"], df[by].astype(str), df["event"])
    return LogRank(float(res.test_statistic), len(groups) - 1, float(res.p_value), ", ".join(groups))


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

    ``table`` has one row per author type (not recorded; saved as a table).
    """

    agent: float
    human: float
    diff_pp: float
    diff_pp_ci_low: float
    diff_pp_ci_high: float
    eligible_units: int
    not_eligible_units: int
    table: pd.DataFrame = field(default_factory=pd.DataFrame, compare=False, repr=False)


def modified_share(df: pd.DataFrame, horizon_days: float, confidence: float = 0.95,
                   km: dict[str, Any] | None = None) -> ModifiedShare:
    """Share of units modified within the horizon by author type, and the agent - human difference.

    Share :math:`\\hat p_g = m_g / n_g` over eligible units (:func:`horizon_labels`),
    Wilson CIs; the difference :math:`100(\\hat p_{agent} - \\hat p_{human})` in
    percentage points with Newcombe's hybrid Wilson CI
    (:func:`studykit.stats.risk_difference`). The Kaplan-Meier estimate
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
    if na == 0 or nh == 0:
        raise InputError(f"no {'agent' if na == 0 else 'human'} units are followed for {horizon_days:g} days; "
                         "lower horizon_days")
    rd = risk_difference(xa, na, xh, nh, confidence=confidence)
    return ModifiedShare(xa / na, xh / nh, 100 * rd.estimate, 100 * rd.ci_low, 100 * rd.ci_high, na + nh,
                         int(len(df) - eligible.sum()), pd.DataFrame(rows))
