"""The notebook's analysis steps: each takes the line events and the parameters and returns one result.

Every step is a pure function returning a :class:`studykit.stats.results.Result`
(its scalar fields are recorded with ``out.record_result``; its DataFrame
fields are saved with ``out.save_table``), so that a notebook cell reads as
the method: one computation, the saving calls, the displayed table.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from studykit.stats.results import Result
from studykit.studies.code_survival import cox as cx
from studykit.studies.code_survival import load
from studykit.studies.code_survival.survival import LogRank, km_fits, km_table, logrank

AGENT, HUMAN = "agent", "human"


@dataclass(frozen=True)
class UnitCounts(Result):
    """Size of the analysed table: units by author type, repositories."""

    n_units: int
    n_agent_units: int
    n_human_units: int
    n_repos: int


def unit_counts(events: pd.DataFrame) -> UnitCounts:
    """Units (all, agent, human) and repositories of the line-events table."""
    n_agent = int((events["author_type"] == AGENT).sum())
    return UnitCounts(int(len(events)), n_agent, int(len(events) - n_agent), int(events["repo"].nunique()))


def agent_groups(events: pd.DataFrame) -> pd.DataFrame:
    """The events with a ``group`` column: the agent's name for agent lines, ``human`` otherwise."""
    return events.assign(group=events["agent"].where(events["agent"] != "", HUMAN))


@dataclass(frozen=True)
class KaplanMeier(Result):
    """Kaplan-Meier fits and tables by author type and by agent (nothing to record)."""

    fits_author: dict = field(default_factory=dict, compare=False, repr=False)
    fits_agent: dict = field(default_factory=dict, compare=False, repr=False)
    by_author: pd.DataFrame = field(default_factory=pd.DataFrame, compare=False, repr=False)
    by_agent: pd.DataFrame = field(default_factory=pd.DataFrame, compare=False, repr=False)


def kaplan_meier(events: pd.DataFrame, params: Any) -> KaplanMeier:
    """Kaplan-Meier curves by author type and by agent (agents with ``min_agent_units`` units or more)."""
    fits_author = km_fits(events, "author_type", confidence=params.confidence)
    fits_agent = km_fits(agent_groups(events), "group", confidence=params.confidence,
                         min_units=params.min_agent_units)
    return KaplanMeier(fits_author, fits_agent, km_table(fits_author, params.km_times_days),
                       km_table(fits_agent, params.km_times_days))


@dataclass(frozen=True)
class LogRankTests(Result):
    """Log-rank tests agent vs human (``author_*``) and across agents and humans (``by_agent_*``)."""

    author: LogRank
    by_agent: LogRank
    table: pd.DataFrame = field(default_factory=pd.DataFrame, compare=False, repr=False)


def logrank_tests(events: pd.DataFrame, params: Any) -> LogRankTests:
    """Log-rank test of agent vs human lines, and of every agent and human lines."""
    author = logrank(events, "author_type")
    by_agent = logrank(agent_groups(events), "group")
    table = pd.DataFrame([{"comparison": "agent vs human", **author.as_dict()},
                          {"comparison": "by agent (and human)", **by_agent.as_dict()}])
    return LogRankTests(author, by_agent, table)


@dataclass(frozen=True)
class CoxModels(Result):
    """The unadjusted and adjusted agent-vs-human Cox models, their PH checks and per-window HRs."""

    unadjusted: cx.CoxResult
    adjusted: cx.CoxResult
    ph_violated: bool
    table: pd.DataFrame = field(default_factory=pd.DataFrame, compare=False, repr=False)
    coefficients: pd.DataFrame = field(default_factory=pd.DataFrame, compare=False, repr=False)
    ph_table: pd.DataFrame = field(default_factory=pd.DataFrame, compare=False, repr=False)
    windows: pd.DataFrame = field(default_factory=pd.DataFrame, compare=False, repr=False)


def cox_models(events: pd.DataFrame, params: Any) -> CoxModels:
    """Unadjusted and adjusted Cox models of the agent indicator, Schoenfeld checks, HRs per time window.

    ``ph_violated`` is True when either model's Grambsch-Therneau p-value for
    the agent term is below ``ph_alpha``.
    """
    unadj, coef_u, ph_u = cx.cox_agent(events, adjusted=False, confidence=params.confidence)
    adj, coef_a, ph_a = cx.cox_agent(events, adjusted=True, adjust=params.adjust, confidence=params.confidence)
    ph_ps = [p for p in (unadj.ph_p_value, adj.ph_p_value) if p is not None]
    windows = cx.piecewise_hr(events, params.ph_split_days, params.confidence)
    return CoxModels(unadj, adj, bool(ph_ps and min(ph_ps) < params.ph_alpha),
                     pd.DataFrame([unadj.as_dict(), adj.as_dict()]), pd.concat([coef_u, coef_a]),
                     pd.concat([ph_u, ph_a]), windows)


@dataclass(frozen=True)
class Recovery(Result):
    """Planted vs estimated agent HR (adjusted Cox model stratified by repository) on simulated events."""

    planted_hr: float
    estimated_hr: float
    ci_low: float
    ci_high: float
    covers: bool
    table: pd.DataFrame = field(default_factory=pd.DataFrame, compare=False, repr=False)


def recovery(events: pd.DataFrame, truth: dict[str, Any], confidence: float) -> Recovery:
    """The recovery table of :func:`cox.recovery` with its first (stratified, adjusted) row as the result."""
    table = cx.recovery(events, truth, confidence)
    first = table.iloc[0]
    return Recovery(float(truth["hr_agent"]), float(first.estimated_hr), float(first.ci_low), float(first.ci_high),
                    bool(first.covers_truth), table)


def recovery_check(params: Any) -> Recovery | None:
    """Recovery of the planted HR on the embedded simulated table named by ``recovery_path`` (None if unset)."""
    if not (params.recovery_path and params.recovery_truth_path):
        return None
    sim_events, _ = load.load_line_events(params.recovery_path)
    return recovery(sim_events, load.read_truth(params.recovery_truth_path), params.confidence)
