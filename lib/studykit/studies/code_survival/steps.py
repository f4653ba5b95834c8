"""The notebook's analysis steps: each takes the line events and the parameters and returns one result.

Every step is a pure function returning a :class:`studykit.stats.results.Result`
(its scalar fields are recorded with ``out.record_result``; its DataFrame
fields are saved with ``out.save_table``), so that a notebook cell reads as
the method: one computation, the saving calls, the displayed table.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from studykit.issues import DataIssue
from studykit.stats.results import Result
from studykit.studies.code_survival import cox as cx
from studykit.studies.code_survival import load
from studykit.studies.code_survival.cox import Clustering, choose_clusters
from studykit.studies.code_survival.prediction import PredictionResult, predict_modification
from studykit.studies.code_survival.survival import LogRank, ModifiedShare, km_fits, km_table, logrank, modified_share

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


def clustering(events: pd.DataFrame, params: Any) -> Clustering:
    """The clusters of every interval and test below (:func:`.cox.choose_clusters` with ``min_repo_clusters``)."""
    return choose_clusters(events, params.min_repo_clusters)


@dataclass(frozen=True)
class LogRankTests(Result):
    """Clustered log-rank tests agent vs human (``author_*``) and across agents and humans (``by_agent_*``).

    ``author_unclustered`` is the classical test that treats lines as independent (for comparison).
    """

    author: LogRank
    by_agent: LogRank
    author_unclustered: LogRank
    table: pd.DataFrame = field(default_factory=pd.DataFrame, compare=False, repr=False)


def logrank_tests(events: pd.DataFrame, params: Any, clusters: Clustering) -> LogRankTests:
    """Log-rank tests of agent vs human lines and of every agent and human lines, clustered; plus the classical one."""
    author = logrank(events, "author_type", clusters=clusters.labels)
    by_agent = logrank(agent_groups(events), "group", clusters=clusters.labels)
    plain = logrank(events, "author_type")
    table = pd.DataFrame([{"comparison": "agent vs human", **author.as_dict()},
                          {"comparison": "by agent (and human)", **by_agent.as_dict()},
                          {"comparison": "agent vs human, lines as independent (comparison only)",
                           **plain.as_dict()}])
    return LogRankTests(author, by_agent, plain, table)


def modification_share(events: pd.DataFrame, params: Any, km: KaplanMeier, clusters: Clustering) -> ModifiedShare:
    """Share modified within ``horizon_days`` by author type; the difference's CI from a cluster bootstrap."""
    return modified_share(events, params.horizon_days, params.confidence, km=km.fits_author, clusters=clusters.labels,
                          n_bootstrap=params.n_bootstrap, seed=params.seed)


@dataclass(frozen=True)
class CoxModels(Result):
    """The agent-vs-human Cox models (cluster-robust), their PH checks and per-window HRs.

    ``unadjusted_model_based`` is the unadjusted model with model-based SEs (lines
    as independent), kept for comparison.
    """

    unadjusted: cx.CoxResult
    adjusted: cx.CoxResult
    unadjusted_model_based: cx.CoxResult
    ph_violated: bool
    table: pd.DataFrame = field(default_factory=pd.DataFrame, compare=False, repr=False)
    coefficients: pd.DataFrame = field(default_factory=pd.DataFrame, compare=False, repr=False)
    ph_table: pd.DataFrame = field(default_factory=pd.DataFrame, compare=False, repr=False)
    windows: pd.DataFrame = field(default_factory=pd.DataFrame, compare=False, repr=False)


def cox_models(events: pd.DataFrame, params: Any, clusters: Clustering) -> tuple[CoxModels, tuple[DataIssue, ...]]:
    """Unadjusted and adjusted Cox models of the agent indicator, Schoenfeld checks, HRs per time window.

    Every model uses cluster-robust SEs (CR1, or the CV3 jackknife with at most
    50 clusters) and a :math:`t_{G-1}` reference (``clusters``). ``ph_violated`` is True when
    either model's Grambsch-Therneau p-value for the agent term is below
    ``ph_alpha``. Issues: covariates dropped because they are constant, and
    models that could not be estimated.
    """
    unadj, coef_u, ph_u = cx.cox_agent(events, adjusted=False, confidence=params.confidence, clusters=clusters)
    adj, coef_a, ph_a = cx.cox_agent(events, adjusted=True, adjust=params.adjust, confidence=params.confidence,
                                     clusters=clusters)
    naive, _, _ = cx.cox_agent(events, adjusted=False, confidence=params.confidence, ph_test=False)
    naive = replace(naive, model="unadjusted, lines as independent (comparison only)")
    ph_ps = [p for p in (unadj.ph_p_value, adj.ph_p_value) if p is not None]
    windows = cx.piecewise_hr(events, params.ph_split_days, params.confidence, clusters=clusters)
    dropped = cx.design_matrix(events, adjusted=True).attrs["dropped_constant"]
    issues = []
    if dropped:
        issues.append(DataIssue("constant_covariates_dropped", len(dropped),
                                "covariates with one value dropped from the adjusted Cox model", ", ".join(dropped)))
    for res in (unadj, adj):
        if res.note.startswith("not estimable"):
            issues.append(DataIssue("cox_not_estimable", 1, f"{res.model} Cox model reported without estimates",
                                    res.note))
    return CoxModels(unadj, adj, naive, bool(ph_ps and min(ph_ps) < params.ph_alpha),
                     pd.DataFrame([unadj.as_dict(), adj.as_dict(), naive.as_dict()]), pd.concat([coef_u, coef_a]),
                     pd.concat([ph_u, ph_a]), windows), tuple(issues)


def per_agent(events: pd.DataFrame, params: Any, clusters: Clustering) -> tuple[pd.DataFrame, tuple[DataIssue, ...]]:
    """Per-agent HRs (:func:`.cox.per_agent_hr`); agents that are not estimable are reported as an issue too."""
    table = cx.per_agent_hr(events, params.min_agent_units, params.confidence, min_events=params.min_agent_events,
                            clusters=clusters)
    bad = table[table["note"].str.startswith("not estimable")]
    issues = ()
    if len(bad):
        issues = (DataIssue("agents_not_estimable", int(len(bad)),
                            f"per-agent HR reported without numbers (fewer than {params.min_agent_events} events or "
                            "no fit)", ", ".join(f"{a} ({e} events)" for a, e in zip(bad.agent, bad.events))),)
    return table, issues


def per_agent_records(table: pd.DataFrame, name: Any) -> dict[str, Any]:
    """``cox.hr_by_agent.<agent>``: each agent's HR, ``None`` for a not-estimable agent (its reason is in the
    table's ``note`` and in the ``agents_not_estimable`` data issue); ``name`` makes agent names key-safe."""
    out: dict[str, Any] = {}
    for agent, hr in zip(table["agent"], table["hr_vs_human"]):
        value = float(hr) if pd.notna(hr) and np.isfinite(hr) else None
        out[f"cox.hr_by_agent.{name(agent)}"] = value
    return out


@dataclass(frozen=True)
class Predictions(Result):
    """Prediction with the text alone (``text_*``) and with text plus process features (``full_*``)."""

    text: PredictionResult
    full: PredictionResult

    _record_not_estimable = True  # records ``prediction.not_estimable`` with the reason

    @property
    def note(self) -> str:
        """The reason when a model is not estimable (``"not estimable: ..."``), else empty."""
        for r in (self.full, self.text):
            i = (r.note or "").find("not estimable")
            if i >= 0:
                return r.note[i:]
        return ""


def predictions(events: pd.DataFrame, params: Any, clusters: Clustering) -> Predictions:
    """Both prediction models of :func:`.prediction.predict_modification`, AUC intervals resampling clusters."""
    kw = dict(bins_days=params.timing_bins_days, folds=params.cv_folds, max_features=params.tfidf_max_features,
              max_units=params.prediction_max_units, n_bootstrap=params.n_bootstrap, confidence=params.confidence,
              seed=params.seed, clusters=clusters.labels)
    return Predictions(predict_modification(events, params.horizon_days, features="text", **kw),
                       predict_modification(events, params.horizon_days, features="text+process", **kw))


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
