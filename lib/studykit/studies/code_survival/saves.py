"""What each notebook step saves: the steps of :mod:`.steps` wrapped as results that declare their exhibits.

The notebook runs one step per cell and writes it with ``out.save(step)`` (:mod:`studykit.contract.exhibits`); each
class lists its tables, figures, numbers and data issues in the order they are written, with captions built
from the run's parameters (the horizon, the confidence level).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import pandas as pd

from studykit.contract.exhibits import Figure, Record, Table, html_view
from studykit.contract.issues import DataIssue

from . import analysis, byrepo, load, plots, steps

Namer = Callable[[Any], str]


@dataclass(frozen=True)
class Data:
    """The line events (mined, read or simulated), who wrote them, and how inference is clustered."""

    events: pd.DataFrame
    issues: tuple[DataIssue, ...]
    mining_report: Any
    units: pd.DataFrame
    agents: pd.DataFrame
    clusters: Any

    def exhibits(self, name: Namer) -> list:
        table, formats = load.events_for_output(self.events)
        return [*self.issues,
                Table("line_events", table, "Line events the run used (one row per unit)", formats=formats),
                Table("units_by_repo", self.units, "Units, events and commits by repository and author type"),
                Record("data", steps.unit_counts(self.events)),
                Table("agents_by_repo", self.agents, "Agent commits and line units by repository and agent "
                      "(marked_commits: every non-merge commit the agent rules marked)"),
                Record("", self.records(name)),
                Record("clustering", self.clusters)]

    def records(self, name: Namer) -> dict[str, Any]:
        """``data.agent_units.<repo>``, ``data.agent_commits.<repo>`` (commits with units) and, when mined,
        ``data.agent_marked_commits.<repo>``: the ``(all agents)`` rows of :func:`.byrepo.agents_by_repo`."""
        table = self.agents
        out: dict[str, Any] = {}
        for _, r in table[table["agent"] == byrepo.ALL_AGENTS].iterrows():
            key = name(r["repo"])
            out[f"data.agent_units.{key}"] = int(r["units"])
            out[f"data.agent_commits.{key}"] = int(r["commits"])
            if "marked_commits" in table.columns:
                out[f"data.agent_marked_commits.{key}"] = int(r["marked_commits"])
        return out

    def _repr_html_(self) -> str:
        return (self.clusters._repr_html_() + html_view(frame=self.units)
                + html_view(frame=self.agents[self.agents.agent == byrepo.ALL_AGENTS]))


def data(params) -> Data:
    events, issues, report = load.load_input(params)
    return Data(events, tuple(issues), report, load.units_summary(events), byrepo.agents_by_repo(events, report),
                steps.clustering(events, params))


@dataclass(frozen=True)
class Survival:
    """Kaplan-Meier curves by author type and by agent, and the log-rank tests."""

    km: Any
    logrank: Any

    def exhibits(self, name: Namer) -> list:
        km = self.km
        return [Table("km_by_author", km.by_author, "Kaplan-Meier survival by author type"),
                Table("km_by_agent", km.by_agent, "Kaplan-Meier survival by agent"),
                Figure("km_by_author", lambda: plots.km_curves(km.fits_author, "Lines not yet modified, by author "
                       "type"), "Kaplan-Meier curves by author type"),
                Figure("km_by_agent", lambda: plots.km_curves(km.fits_agent, "Lines not yet modified, by agent",
                       ci=False), "Kaplan-Meier curves by agent"),
                Table("logrank", self.logrank.table, "Log-rank tests (clustered score test; the classical test for "
                      "comparison)"),
                Record("logrank", self.logrank)]

    def _repr_html_(self) -> str:
        return html_view(frame=self.logrank.table)


def survival(d: Data, params) -> Survival:
    return Survival(steps.kaplan_meier(d.events, params), steps.logrank_tests(d.events, params, d.clusters))


@dataclass(frozen=True)
class Share:
    """The share of units modified within the horizon, agent vs human."""

    share: Any
    horizon_days: float

    def exhibits(self, name: Namer) -> list:
        return [Table("modified_share", self.share.table, f"Share of units modified within {self.horizon_days:g} "
                      "days"),
                Record("modified_share", self.share)]

    def _repr_html_(self) -> str:
        return html_view(frame=self.share.table)


def share(d: Data, s: Survival, params) -> Share:
    return Share(steps.modification_share(d.events, params, s.km, d.clusters), params.horizon_days)


@dataclass(frozen=True)
class Cox:
    """Cox models, agent vs human: hazard ratios, all coefficients, the PH test, HRs within time windows."""

    cox: Any
    issues: tuple[DataIssue, ...]
    confidence: float

    def exhibits(self, name: Namer) -> list:
        cox = self.cox
        return [*self.issues,
                Table("cox_agent", cox.table, "Agent vs human hazard ratio (Efron ties; cluster-robust SEs as named "
                      "in the variance column, t(G-1) reference)",
                      tex_columns=plots.cox_agent_tex_columns(self.confidence)),
                Table("cox_coefficients", cox.coefficients, "All Cox coefficients"),
                Table("ph_test", cox.ph_table, "Grambsch-Therneau test of proportional hazards (rank time)"),
                Table("hr_by_time_window", cox.windows, "Agent HR within time windows"),
                Record("cox", cox), Record("", self.records(name))]

    def records(self, name: Namer) -> dict[str, Any]:
        """``cox.hr_by_window.<window>``, ``cox.hr_by_window_p_value.<window>``,
        ``cox.hr_by_window_p_value_corrected.<window>`` (Holm over the estimable windows,
        :func:`.steps.with_holm`) and ``cox.hr_by_window_family``. Window keys are built from the
        ``ph_split_days`` parameter (:func:`.steps.window_key`), not from data, so ``name`` is not needed."""
        windows = self.cox.windows
        out: dict[str, Any] = {}
        for _, r in windows.iterrows():
            key = steps.window_key(str(r["window_days"]))
            out[f"cox.hr_by_window.{key}"] = steps.finite(r["hr"])
            out[f"cox.hr_by_window_p_value.{key}"] = steps.finite(r["p_value"])
            out[f"cox.hr_by_window_p_value_corrected.{key}"] = steps.finite(r.get("p_value_corrected"))
        m = int(windows["p_value_corrected"].notna().sum()) if "p_value_corrected" in windows.columns else 0
        out["cox.hr_by_window_family"] = f"Holm over the {m} estimable time windows (the agent HR in each window)"
        return out

    def _repr_html_(self) -> str:
        return html_view(frame=self.cox.table)


def cox(d: Data, params) -> Cox:
    fit, issues = steps.cox_models(d.events, params, d.clusters)
    return Cox(fit, tuple(issues), params.confidence)


@dataclass(frozen=True)
class PerAgent:
    """The hazard ratio of each agent's lines against human lines (Holm across agents)."""

    table: pd.DataFrame
    issues: tuple[DataIssue, ...]
    cox: Any

    def exhibits(self, name: Namer) -> list:
        return [*self.issues,
                Table("hr_by_agent", self.table, "Hazard ratio of each agent vs human lines (cluster-robust SEs; not "
                      "estimable below min_agent_events)"),
                Figure("hr_forest", lambda: plots.hr_forest(self.table, self.cox.unadjusted, self.cox.adjusted),
                       "Per-agent hazard ratios next to the agent-vs-human gap"),
                Record("", self.records(name))]

    def records(self, name: Namer) -> dict[str, Any]:
        """``cox.hr_by_agent.<agent>``: each agent's HR, ``None`` for a not-estimable agent (its reason is in the
        table's ``note`` and in the ``agents_not_estimable`` data issue); ``name`` makes agent names key-safe.
        With ``p_value_corrected`` (:func:`.steps.with_holm`) also ``cox.hr_by_agent_p_value.<agent>``,
        ``cox.hr_by_agent_p_value_corrected.<agent>`` and ``cox.hr_by_agent_family`` (what the Holm family is)."""
        table = self.table
        out: dict[str, Any] = {}
        for agent, hr in zip(table["agent"], table["hr_vs_human"]):
            out[f"cox.hr_by_agent.{name(agent)}"] = steps.finite(hr)
        if "p_value_corrected" in table.columns:
            for agent, p, ph in zip(table["agent"], table["p_value"], table["p_value_corrected"]):
                out[f"cox.hr_by_agent_p_value.{name(agent)}"] = steps.finite(p)
                out[f"cox.hr_by_agent_p_value_corrected.{name(agent)}"] = steps.finite(ph)
            m = int(table["p_value_corrected"].notna().sum())
            out["cox.hr_by_agent_family"] = (f"Holm over the {m} estimable agents (each agent's HR vs human lines, "
                                             "one Cox model)")
        return out

    def _repr_html_(self) -> str:
        return html_view(frame=self.table)


def per_agent(d: Data, c: Cox, params) -> PerAgent:
    table, issues = steps.per_agent(d.events, params, d.clusters)
    return PerAgent(table, tuple(issues), c.cox)


@dataclass(frozen=True)
class ByRepo:
    """The unadjusted agent-vs-human hazard ratio within each repository (descriptive)."""

    table: pd.DataFrame

    def exhibits(self, name: Namer) -> list:
        return [Table("hr_by_repo", self.table, "Agent vs human hazard ratio within each repository (unadjusted, "
                      "clustered by commit)"),
                Record("", self.records(name))]

    def records(self, name: Namer) -> dict[str, Any]:
        """``cox.hr_by_repo.<repo>``: each repository's HR, None when not estimable (the reason is in the table)."""
        return {f"cox.hr_by_repo.{name(repo)}": steps.finite(hr)
                for repo, hr in zip(self.table["repo"], self.table["hr"])}

    def _repr_html_(self) -> str:
        return html_view(frame=self.table)


def by_repo(d: Data, params) -> ByRepo:
    return ByRepo(byrepo.hr_by_repo(d.events, params.confidence))


@dataclass(frozen=True)
class Primary:
    """The primary result: which model and test answer the question for this many repositories."""

    primary: Any

    def exhibits(self, name: Namer) -> list:
        return [Record("primary", self.primary)]

    def _repr_html_(self) -> str:
        return self.primary._repr_html_()


def primary(c: Cox, s: Survival, d: Data) -> Primary:
    return Primary(steps.primary_result(c.cox, s.logrank, d.clusters))


@dataclass(frozen=True)
class Intent:
    """What kind of change ends a line, by author type (over ending commits)."""

    intent: Any
    confidence: float

    def exhibits(self, name: Namer) -> list:
        it = self.intent
        return [Table("intent_profile", it.profile, "Intent of the ending change by author type (ending commits and "
                      "lines)"),
                Table("intent_test", it.test_table, "Chi-square test over ending commits and bias-corrected "
                      "Cramér's V", tex_columns=plots.intent_test_tex_columns(self.confidence, it.test_table.columns)),
                Figure("intent_profile", lambda: plots.intent_bars(it.profile), "Intent of the ending change (share "
                       "of ending commits)"),
                Record("intent", it)]

    def _repr_html_(self) -> str:
        return html_view(frame=self.intent.test_table)


def intent(d: Data, params) -> Intent:
    return Intent(analysis.intent_profile(d.events, params.confidence), params.confidence)


@dataclass(frozen=True)
class Prediction:
    """Prediction of modification within the horizon (text only; text + process features)."""

    pred: Any
    summary: pd.DataFrame
    confidence: float

    def exhibits(self, name: Namer) -> list:
        full = self.pred.full
        return [Table("prediction_summary", self.summary, "Prediction of modification within the horizon: text "
                      "only and text + process features",
                      tex_columns=plots.prediction_summary_tex_columns(self.confidence)),
                Table("prediction_folds", full.fold_table, "AUC-ROC per repository-grouped fold (text + process "
                      "features)"),
                Table("timing_confusion", full.timing_confusion, "Timing bins: confusion matrix (out of fold, text + "
                      "process features)"),
                Figure("roc", lambda: plots.roc_curve_plot(full.roc, full.auc_roc), "Out-of-fold ROC curve (text + "
                       "process features)"),
                Record("prediction", self.pred)]

    def _repr_html_(self) -> str:
        return self.summary.T.to_html()


def prediction(d: Data, params) -> Prediction:
    pred = steps.predictions(d.events, params, d.clusters)
    return Prediction(pred, analysis.prediction_table(pred.text, pred.full), params.confidence)


@dataclass(frozen=True)
class Recovery:
    """Planted vs estimated hazard ratios: the embedded simulated table, and the analysed table when simulated."""

    check: Any
    main: Any

    def exhibits(self, name: Namer) -> list:
        out: list = []
        if self.check is not None:
            out += [Table("recovery", self.check.table, "Planted vs estimated agent hazard ratio on simulated line "
                          "events"), Record("recovery", self.check)]
        if self.main is not None:
            out += [Table("recovery_main", self.main.table, "Planted vs estimated agent HR on the analysed "
                          "(simulated) table"), Record("recovery_main", self.main)]
        return out

    def _repr_html_(self) -> str:
        return "".join(html_view(frame=r.table) for r in (self.check, self.main) if r is not None)


def recovery(d: Data, params) -> Recovery:
    truth = load.truth_beside(params.line_events_path)
    main = steps.recovery(d.events, truth, params.confidence) if truth is not None else None
    return Recovery(steps.recovery_check(params), main)
