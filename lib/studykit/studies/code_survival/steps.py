"""The notebook's analysis steps: each takes the line events and the parameters and returns one result.

Every step is a pure function returning a :class:`studykit.stats.results.Result`;
:mod:`.saves` wraps each as a result that declares its exhibits (its tables,
figures and recorded fields), which the notebook writes with one call
(``out.save(step)``), so that a notebook cell reads as the method.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from studykit.contract.issues import DataIssue
from studykit.stats.results import Result
from studykit.studies.code_survival import cox as cx
from studykit.studies.code_survival import load
from studykit.studies.code_survival.cox import Clustering, choose_clusters
from studykit.studies.code_survival.prediction import PredictionResult, predict_modification
from studykit.studies.code_survival.survival import LogRank, ModifiedShare, km_fits, km_table, logrank, modified_share

AGENT, HUMAN = "agent", "human"
#: the columns Kaplan-Meier curves and log-rank tests read
SURVIVAL_COLUMNS = ("duration_days", "event")


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


def agent_groups(events: pd.DataFrame, columns: tuple[str, ...] | None = None) -> pd.DataFrame:
    """The events with a ``group`` column: the agent's name for agent lines, ``human`` otherwise (only
    ``columns`` of the events beside it when given: the survival steps need ``duration_days`` and ``event``, and a
    copy of every column of millions of lines costs seconds)."""
    sub = events if columns is None else events[list(columns)]
    return sub.assign(group=events["agent"].where(events["agent"] != "", HUMAN))


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
    fits_agent = km_fits(agent_groups(events, SURVIVAL_COLUMNS), "group", confidence=params.confidence,
                         min_units=params.min_agent_units)
    return KaplanMeier(fits_author, fits_agent, km_table(fits_author, params.km_times_days),
                       km_table(fits_agent, params.km_times_days))


def clustering(events: pd.DataFrame, params: Any) -> Clustering:
    """The clusters of every interval and test below (:func:`.cox.choose_clusters` with ``min_repo_clusters``)."""
    return choose_clusters(events, params.min_repo_clusters)


def stratified_primary(clusters: Clustering) -> bool:
    """True when the primary results compare agent and human lines within repositories (strata = repo).

    With fewer than ``min_repo_clusters`` repositories the inference is clustered by commit, which does not
    capture a shared repository frailty: when the agent share differs between repositories, a repository
    whose lines are modified faster and that holds many agent lines makes the pooled comparison reject a true
    null far too often (46 % at 5 % with 4 repositories in the issue's simulation; ``test_code_survival_fewrepos``).
    Stratifying by repository removes the repositories' baseline hazards from the comparison.
    """
    return clusters.n_repos < clusters.min_repos


ROLE_PRIMARY = "primary"
ROLE_POOLED = "descriptive (pooled over repositories)"
ROLE_SECONDARY = "secondary"
ROLE_COMPARISON = "comparison only: lines as independent"


@dataclass(frozen=True)
class LogRankTests(Result):
    """Clustered log-rank tests agent vs human (``author_*``, pooled; ``author_stratified_*``, within
    repositories) and across agents and humans (``by_agent_*``).

    ``primary`` names the primary test: ``author_stratified`` with fewer than ``min_repo_clusters``
    repositories (:func:`stratified_primary`), else ``author``. ``author_unclustered`` is the classical test
    that treats lines as independent (for comparison).
    """

    author: LogRank
    by_agent: LogRank
    author_unclustered: LogRank
    author_stratified: LogRank
    primary: str
    table: pd.DataFrame = field(default_factory=pd.DataFrame, compare=False, repr=False)


def logrank_tests(events: pd.DataFrame, params: Any, clusters: Clustering) -> LogRankTests:
    """Log-rank tests of agent vs human lines (pooled and stratified by repository) and of every agent and human
    lines, clustered; plus the classical one. The table's ``role`` column says which one is primary. With at most
    50 clusters (10-50 repositories) the clustered p-values come from the wild cluster bootstrap of the score
    (:func:`.survival.logrank`; the ``F`` reference's p-value is in ``p_value_f_reference``)."""
    kw = dict(clusters=clusters.labels, seed=params.seed)
    author = logrank(events, "author_type", **kw)
    by_agent = logrank(agent_groups(events, SURVIVAL_COLUMNS), "group", **kw)
    plain = logrank(events, "author_type")
    strat = logrank(events, "author_type", strata=events["repo"].astype(str).to_numpy(), **kw)
    within = stratified_primary(clusters)
    table = pd.DataFrame([{"comparison": "agent vs human, within repositories (stratified by repository)",
                           "role": ROLE_PRIMARY if within else ROLE_SECONDARY, **strat.as_dict()},
                          {"comparison": "agent vs human, pooled", "role": ROLE_POOLED if within else ROLE_PRIMARY,
                           **author.as_dict()},
                          {"comparison": "by agent (and human), pooled",
                           "role": ROLE_POOLED if within else ROLE_SECONDARY, **by_agent.as_dict()},
                          {"comparison": "agent vs human, pooled, lines as independent", "role": ROLE_COMPARISON,
                           **plain.as_dict()}])
    return LogRankTests(author, by_agent, plain, strat, "author_stratified" if within else "author", table)


def modification_share(events: pd.DataFrame, params: Any, km: KaplanMeier, clusters: Clustering) -> ModifiedShare:
    """Share modified within ``horizon_days`` by author type; the difference's CI from a cluster bootstrap."""
    return modified_share(events, params.horizon_days, params.confidence, km=km.fits_author, clusters=clusters.labels,
                          n_bootstrap=params.n_bootstrap, seed=params.seed)


@dataclass(frozen=True)
class CoxModels(Result):
    """The agent-vs-human Cox models (cluster-robust), their PH checks and per-window HRs.

    ``stratified`` (unadjusted) and ``stratified_adjusted`` (file type, commit size) have a baseline hazard
    per repository: the agent contrast within repositories, primary with fewer than ``min_repo_clusters``
    repositories (:func:`stratified_primary`; ``primary`` names the primary model). ``unadjusted`` and
    ``adjusted`` (with ``adjust: cluster``) pool the repositories. ``unadjusted_model_based`` is the unadjusted
    model with model-based SEs (lines as independent), kept for comparison.
    """

    unadjusted: cx.CoxResult
    adjusted: cx.CoxResult
    unadjusted_model_based: cx.CoxResult
    stratified: cx.CoxResult
    stratified_adjusted: cx.CoxResult
    primary: str
    ph_violated: bool
    table: pd.DataFrame = field(default_factory=pd.DataFrame, compare=False, repr=False)
    coefficients: pd.DataFrame = field(default_factory=pd.DataFrame, compare=False, repr=False)
    ph_table: pd.DataFrame = field(default_factory=pd.DataFrame, compare=False, repr=False)
    windows: pd.DataFrame = field(default_factory=pd.DataFrame, compare=False, repr=False)


def cox_models(events: pd.DataFrame, params: Any, clusters: Clustering) -> tuple[CoxModels, tuple[DataIssue, ...]]:
    """Unadjusted and adjusted Cox models of the agent indicator, pooled and stratified by repository, Schoenfeld
    checks, HRs per time window.

    Every model uses cluster-robust SEs (CR1, or the CV3 jackknife with at most
    50 clusters) and a :math:`t_{G-1}` reference (``clusters``). The primary model is the adjusted model of
    ``adjust`` with at least ``min_repo_clusters`` repositories (clustered by repository), else the adjusted
    model stratified by repository (clustered by commit). ``ph_violated`` is True when
    either pooled model's Grambsch-Therneau p-value for the agent term is below
    ``ph_alpha``. Issues: covariates dropped because they are constant, and
    models that could not be estimated.
    """
    kw = dict(confidence=params.confidence, clusters=clusters)
    unadj, coef_u, ph_u = cx.cox_agent(events, adjusted=False, **kw)
    adj, coef_a, ph_a = cx.cox_agent(events, adjusted=True, adjust=params.adjust, **kw)
    naive, _, _ = cx.cox_agent(events, adjusted=False, confidence=params.confidence, ph_test=False)
    naive = replace(naive, model="unadjusted, lines as independent (comparison only)")
    strat, coef_s, _ = cx.cox_agent(events, adjusted=False, stratify=True, ph_test=False, **kw)
    if params.adjust == "strata":
        strat_adj, coef_sa = adj, coef_a.iloc[0:0]
    else:
        strat_adj, coef_sa, _ = cx.cox_agent(events, adjusted=True, adjust="strata", ph_test=False, **kw)
    within = stratified_primary(clusters)
    primary = "stratified_adjusted" if within else "adjusted"
    ph_ps = [p for p in (unadj.ph_p_value, adj.ph_p_value) if p is not None]
    windows = with_holm(cx.piecewise_hr(events, params.ph_split_days, params.confidence, clusters=clusters))
    dropped = cx.design_matrix(events, adjusted=True).attrs["dropped_constant"]
    issues = []
    if dropped:
        issues.append(DataIssue("constant_covariates_dropped", len(dropped),
                                "covariates with one value dropped from the adjusted Cox model", ", ".join(dropped)))
    for res in (unadj, adj, strat, strat_adj) if params.adjust != "strata" else (unadj, adj, strat):
        if res.note.startswith("not estimable"):
            issues.append(DataIssue("cox_not_estimable", 1, f"{res.model} Cox model reported without estimates",
                                    res.note))
    pooled_role = ROLE_POOLED if within else ROLE_SECONDARY
    rows = [(strat_adj, ROLE_PRIMARY if within else ROLE_SECONDARY), (strat, ROLE_SECONDARY),
            (unadj, pooled_role), (adj, ROLE_PRIMARY if not within else pooled_role), (naive, ROLE_COMPARISON)]
    if params.adjust == "strata":  # the adjusted model is the stratified adjusted one: one row
        rows = [(strat_adj, ROLE_PRIMARY), (strat, ROLE_SECONDARY), (unadj, pooled_role), (naive, ROLE_COMPARISON)]
    table = pd.DataFrame([{"role": role, **res.as_dict()} for res, role in rows])
    return CoxModels(unadj, adj, naive, strat, strat_adj, primary, bool(ph_ps and min(ph_ps) < params.ph_alpha),
                     table, pd.concat([c for c in (coef_u, coef_a, coef_s, coef_sa) if len(c)] or [coef_u]),
                     pd.concat([ph_u, ph_a]), windows), tuple(issues)


@dataclass(frozen=True)
class Primary(Result):
    """The primary agent-vs-human results, copied from the model and test they come from.

    ``basis`` says whether they compare lines within repositories (``stratified by repository``, with fewer
    than ``min_repo_clusters`` repositories) or pooled over them (clustered by repository); ``cox`` and
    ``logrank`` name the ``results.json`` prefixes the numbers are copied from. Every other agent-vs-human
    number of a run with few repositories is descriptive.
    """

    basis: str
    cox: str
    hr: float
    ci_low: float
    ci_high: float
    p_value: float
    logrank: str
    logrank_p_value: float
    note: str = ""


def primary_result(cox: CoxModels, logrank_res: LogRankTests, clusters: Clustering) -> Primary:
    """The primary Cox model (``cox.primary``) and log-rank test (``logrank.primary``) in one record."""
    model = getattr(cox, cox.primary)
    test = getattr(logrank_res, logrank_res.primary)
    if stratified_primary(clusters):
        basis = "stratified by repository"
        note = (f"{clusters.n_repos} repositories < min_repo_clusters ({clusters.min_repos}): agent and human lines "
                "are compared within repositories (clustered by commit); pooled numbers are descriptive")
    else:
        basis = "pooled, clustered by repository"
        note = f"{clusters.n_repos} repositories >= min_repo_clusters ({clusters.min_repos})"
    if model.note.startswith("not estimable"):
        note = f"{note}; {model.note}"
    return Primary(basis, f"cox.{cox.primary}", model.hr, model.ci_low, model.ci_high, model.p_value,
                   f"logrank.{logrank_res.primary}", test.p_value, note)


def per_agent(events: pd.DataFrame, params: Any, clusters: Clustering) -> tuple[pd.DataFrame, tuple[DataIssue, ...]]:
    """Per-agent HRs (:func:`.cox.per_agent_hr`); agents that are not estimable are reported as an issue too."""
    table = with_holm(cx.per_agent_hr(events, params.min_agent_units, params.confidence,
                                      min_events=params.min_agent_events, clusters=clusters))
    bad = table[table["note"].str.startswith("not estimable")]
    issues = ()
    if len(bad):
        issues = (DataIssue("agents_not_estimable", int(len(bad)),
                            f"per-agent HR reported without numbers (fewer than {params.min_agent_events} events or "
                            "no fit)", ", ".join(f"{a} ({e} events)" for a, e in zip(bad.agent, bad.events))),)
    return table, issues


def with_holm(table: pd.DataFrame, p_col: str = "p_value") -> pd.DataFrame:
    """``table`` with ``p_value_corrected``: Holm-adjusted ``p_col`` over the rows that have a p-value (one family).

    :math:`\\tilde p_{(i)} = \\max_{j \\le i} \\min(1, (m - j + 1) p_{(j)})` over the :math:`m` tests of the
    family (Holm 1979; :func:`studykit.stats.adjust_pvalues`); rows without a p-value (not estimable) are not
    in the family and get none. The family of the per-agent table is the estimable agents' tests of their HR
    against human lines; of the per-window table, the estimable time windows' tests of the agent HR.
    """
    from studykit.stats import adjust_pvalues

    p = pd.to_numeric(table[p_col], errors="coerce").to_numpy(float)
    holm = np.full(len(p), np.nan)
    if np.isfinite(p).any():
        holm = adjust_pvalues(p, "holm", nan_policy="omit")
    return table.assign(p_value_corrected=[float(v) if np.isfinite(v) else None for v in holm])


def finite(v: Any) -> float | None:
    """``v`` as a float, ``None`` when it is missing or not finite (a key of ``results.json``)."""
    return float(v) if v is not None and pd.notna(v) and np.isfinite(v) else None


def window_key(label: str) -> str:
    """A key-safe name of a time window: ``[0, 30)`` -> ``0_30``, ``[180, end)`` -> ``180_end``."""
    return label.strip("[)").replace(", ", "_").replace(".", "p")


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
