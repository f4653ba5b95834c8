"""What each notebook step saves: the analyses of :mod:`.analysis`, :mod:`.ppi` and friends as results that
declare their exhibits.

The notebook runs one step per cell and writes it with ``out.save(step)`` (:mod:`studykit.contract.exhibits`); each
class lists its tables, figures, numbers and data issues in the order they are written. A number that is
undefined on the data (no eligible hypothesis, pair or configuration) is recorded as ``null`` with one
``not_estimable`` data issue naming it (:func:`.summaries.recordable`), never dropped.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import pandas as pd

from studykit.contract.exhibits import Figure, Record, Table, html_view
from studykit.contract.issues import DataIssue

from . import analysis, effect_sizes, item_bootstrap, load, plots, ppi, recovery as truth
from .summaries import recordable

Namer = Callable[[Any], str]
ITEM_CONFIDENCE = 0.95  # level of the item-bootstrap intervals of the risk tables
FACTORS = ("model", "prompt", "temperature")


@dataclass(frozen=True)
class Data:
    """The items, the configurations (model x prompt x temperature) and their labels, as read and checked."""

    data: Any
    hypotheses: Any
    issues: tuple[DataIssue, ...]

    def exhibits(self, name: Namer) -> list:
        d = self.data
        return [*self.issues, Record("", {"n_items": d.n_items, "n_configurations": d.n_configs,
                                          "n_models": int(d.configs["model"].nunique()),
                                          "n_labels": int(len(d.ann_label))})]

    def by_model(self) -> pd.DataFrame:
        return self.data.configs.groupby("model").agg(
            configurations=("config_id", "size"), prompts=("prompt", "nunique"),
            temperatures=("temperature", "nunique"), mean_coverage=("coverage", "mean"))

    def _repr_html_(self) -> str:
        d = self.data
        return html_view([f"{d.n_items:,} items, classes {d.classes}, {d.n_configs} configurations, "
                          f"{len(d.ann_label):,} valid labels"]) + self.by_model().to_html()


def data(params) -> Data:
    (loaded, hypotheses), issues = load.load(params)
    return Data(loaded, hypotheses, tuple(issues))


@dataclass(frozen=True)
class Grid:
    """Every hypothesis tested with the gold labels and with each configuration's labels."""

    grid: Any
    issues: tuple[DataIssue, ...]

    def exhibits(self, name: Namer) -> list:
        g = self.grid
        return [*self.issues,
                Record("", {"n_hypotheses": len(g.hypotheses), "n_hypotheses_skipped": len(g.skipped),
                            "n_hypotheses_gold_significant": int(g.gold_significant.sum())}),
                Table("hypotheses", g.hypotheses.drop(columns=["col_idx", "a", "b", "k"]),
                      "Hypotheses with the gold test", tex_columns=plots.HYPOTHESES_TEX_COLUMNS),
                Table("hypotheses_skipped", g.skipped, "Skipped hypotheses and why")]

    def _repr_html_(self) -> str:
        g = self.grid
        return html_view([f"{len(g.hypotheses)} hypotheses evaluated ({int(g.gold_significant.sum())} significant "
                          f"with gold), {len(g.skipped)} skipped; grid of {g.error.size:,} pairs"])


def grid(d: Data, params) -> Grid:
    g, issues = analysis.run_grid(d.data, d.hypotheses, alpha=params.alpha, min_group_size=params.min_group_size)
    return Grid(g, tuple(issues))


@dataclass(frozen=True)
class Risk:
    """Every (hypothesis, configuration) pair against gold: the risk and its error types, and exaggeration."""

    pairs: pd.DataFrame
    risk: dict
    exaggeration: pd.DataFrame
    pairs_formats: tuple[str, ...]

    def exhibits(self, name: Namer) -> list:
        ex = self.exaggeration
        numbers, undefined = recordable({"exaggeration.median": ex["median"].iloc[0],
                                         "exaggeration.share_exaggerated": ex["share_exaggerated"].iloc[0]},
                                        "exaggeration (no pair significant with the gold sign under both)")
        return [Table("pairs", self.pairs, "Every (hypothesis, configuration) test against gold",
                      formats=self.pairs_formats),
                Record("risk", {k: self.risk[k] for k in ("overall", "type_I", "type_II", "type_S", "correct")}),
                Table("exaggeration", ex, "Exaggeration ratios (Type M) of same-sign significant pairs"),
                Record("", numbers), *undefined]

    def _repr_html_(self) -> str:
        return pd.Series(self.risk).round(4).to_frame("share").to_html()


def risk(g: Grid, params) -> Risk:
    return Risk(analysis.pairs_frame(g.grid), analysis.risk_summary(g.grid),
                analysis.exaggeration(g.grid, by="model"), tuple(params.pairs_formats))


@dataclass(frozen=True)
class EffectErrors:
    """Sign errors, absolute errors and Type M of the configurations' effects against the gold effects."""

    table: pd.DataFrame

    def exhibits(self, name: Namer) -> list:
        numbers, undefined = recordable({f"effect_size.{k}": self.table[k].iloc[0] for k in effect_sizes.COLUMNS},
                                        "effect sizes (no hypothesis with a gold effect)")
        return [Table("effect_size_errors", self.table, "Sign errors, absolute errors and Type M of the effects "
                      "against gold, by model"), Record("", numbers), *undefined]

    def _repr_html_(self) -> str:
        return html_view(frame=self.table.round(3))


def effect_errors(g: Grid) -> EffectErrors:
    return EffectErrors(effect_sizes.effect_size_errors(g.grid, by="model"))


@dataclass(frozen=True)
class RiskBy:
    """Risk by model, prompt and temperature: item-bootstrap intervals (items are shared by every hypothesis),
    with the interval over hypotheses beside them."""

    tables: dict  # factor -> risk_by table with item CIs
    overall: float
    overall_ci: tuple[float, float]
    confidence: float

    def exhibits(self, name: Namer) -> list:
        m, p, t = (self.tables[f] for f in FACTORS)
        level = f"{100 * self.confidence:g}%"
        return [Record("risk", {"overall_ci_low": self.overall_ci[0], "overall_ci_high": self.overall_ci[1]}),
                Table("risk_by_model", m, f"LLM-hacking risk by model ({level} item-bootstrap CI; ci_*_hypotheses: "
                      "bootstrap over hypotheses)", tex_columns=plots.risk_tex_columns("model")),
                Table("risk_by_prompt", p, "Risk by prompt", tex_columns=plots.risk_tex_columns("prompt")),
                Table("risk_by_temperature", t, "Risk by temperature",
                      tex_columns=plots.risk_tex_columns("temperature")),
                Record("risk.by_model", {name(v): r for v, r in zip(m["model"], m["risk"])}),
                Record("risk.by_prompt", {name(v): r for v, r in zip(p["prompt"], p["risk"])}),
                Record("risk.by_temperature", {f"{v:g}": r for v, r in zip(t["temperature"], t["risk"])}),
                Figure("risk_by_model", lambda: plots.risk_by_model(m, self.overall), "Risk by model with CIs")]

    def _repr_html_(self) -> str:
        return "".join(html_view(frame=self.tables[f]) for f in FACTORS)


def risk_by(d: Data, g: Grid, r: Risk, params) -> RiskBy:
    reps = item_bootstrap.risk_replicates(d.data, g.grid, n_boot=params.n_item_bootstrap, seed=params.seed)
    tables = {f: item_bootstrap.with_item_ci(analysis.risk_by(g.grid, f, n_boot=params.n_bootstrap,
                                                              seed=params.seed), f, reps, ITEM_CONFIDENCE)
              for f in FACTORS}
    lo, hi = item_bootstrap.percentile_ci(reps["all"][1], ITEM_CONFIDENCE)
    return RiskBy(tables, r.risk["overall"], (lo[0], hi[0]), ITEM_CONFIDENCE)


@dataclass(frozen=True)
class ErrorTypes:
    """The share of each error type (Type I, II, S), overall and by model."""

    table: pd.DataFrame

    def exhibits(self, name: Namer) -> list:
        return [Table("error_types", self.table, "Share of each error type, overall and by model"),
                Figure("error_types", lambda: plots.error_types(self.table), "Error types by model")]

    def _repr_html_(self) -> str:
        return html_view(frame=self.table)


def error_types(g: Grid) -> ErrorTypes:
    return ErrorTypes(analysis.error_breakdown(g.grid, by="model"))


@dataclass(frozen=True)
class Quality:
    """Annotation quality (accuracy, macro-F1) of every configuration and its relation to the risk."""

    configurations: pd.DataFrame
    by_model: pd.DataFrame
    rho: Any  # the Spearman result, or None when undefined

    def numbers(self, name: Namer) -> tuple[dict, tuple]:
        best = self.configurations.sort_values("accuracy").iloc[-1]
        m = self.by_model
        return recordable({
            **{f"accuracy.by_model.{name(v)}": a for v, a in zip(m["model"], m["accuracy"])},
            **{f"macro_f1.by_model.{name(v)}": f for v, f in zip(m["model"], m["macro_f1"])},
            "quality.spearman_accuracy_risk": None if self.rho is None else self.rho.estimate,
            "quality.spearman_p_value": None if self.rho is None else self.rho.p_value,
            "quality.best_accuracy": best["accuracy"], "quality.risk_of_best_configuration": best["risk"]},
            "annotation quality (Spearman's rho needs 4 configurations and varying accuracy and risk)")

    def exhibits(self, name: Namer) -> list:
        numbers, undefined = self.numbers(name)
        rho = numbers["quality.spearman_accuracy_risk"]
        return [Table("configurations", self.configurations, "Accuracy, macro-F1 and risk of every configuration",
                      tex_columns=plots.CONFIGURATIONS_TEX_COLUMNS),
                Table("accuracy_by_model", self.by_model, "Mean accuracy, macro-F1 and risk over each model's "
                      "configurations"),
                Record("", numbers), *undefined,
                Figure("risk_vs_accuracy", lambda: plots.risk_vs_accuracy(self.configurations, rho),
                       "Risk against annotation accuracy, one point per configuration")]

    def _repr_html_(self) -> str:
        return html_view(frame=self.by_model)


def quality(d: Data, g: Grid) -> Quality:
    q = analysis.annotation_quality(d.data, g.grid)
    return Quality(q, analysis.accuracy_by_model(q), analysis.spearman_accuracy_risk(q))


@dataclass(frozen=True)
class RiskVsGold:
    """Risk against the gold effect size and the gold p-value (binned), and the risk near the threshold."""

    by_effect: pd.DataFrame
    by_p: pd.DataFrame
    alpha: float

    def exhibits(self, name: Namer) -> list:
        numbers, undefined = recordable(
            {"risk.near_threshold": analysis.risk_near_threshold(self.by_p, self.alpha)},
            "risk near the threshold (no hypothesis with a gold p-value within a factor 5 of alpha)")
        return [Table("risk_vs_gold_effect", self.by_effect, "Risk against the gold effect size"),
                Table("risk_vs_gold_p", self.by_p, "Risk against the gold p-value"),
                Figure("risk_vs_gold", lambda: plots.risk_vs_gold(self.by_effect, self.by_p, self.alpha),
                       "Risk against gold effect and p-value"),
                Record("", numbers), *undefined]

    def _repr_html_(self) -> str:
        return html_view(frame=self.by_p)


def risk_vs_gold(g: Grid, params) -> RiskVsGold:
    by_effect, by_p = analysis.risk_vs_gold(g.grid, n_boot=params.n_bootstrap, seed=params.seed)
    return RiskVsGold(by_effect, by_p, params.alpha)


@dataclass(frozen=True)
class Hacking:
    """How many hypotheses some configuration can flip, and how few configurations suffice."""

    feasibility: pd.DataFrame
    curve: pd.DataFrame
    per_hypothesis: pd.DataFrame

    def exhibits(self, name: Namer) -> list:
        numbers, undefined = recordable(
            {key: value for r in self.feasibility.itertuples()
             for key, value in ((f"hacking.{r.key}", r.share_possible), (f"hacking.{r.key}_k50", r.k_for_50pct))},
            "hacking (no eligible hypothesis, or no number of configurations reaches 50%)")
        return [Table("hacking_feasibility", self.feasibility, "Shares of hypotheses some configuration can flip"),
                Table("hacking_curve", self.curve, "Chance of success with k configurations tried"),
                Table("hacking_per_hypothesis", self.per_hypothesis, "Configurations that flip each hypothesis",
                      tex_columns=plots.HACKING_PER_HYPOTHESIS_TEX_COLUMNS),
                Record("", numbers), *undefined,
                Figure("hacking_curve", lambda: plots.hacking_curve(self.curve), "How few configurations suffice")]

    def _repr_html_(self) -> str:
        return html_view(frame=self.feasibility)


def hacking(g: Grid) -> Hacking:
    feasibility, curve = analysis.hacking_feasibility(g.grid)
    return Hacking(feasibility, curve, analysis.hacking_per_hypothesis(g.grid))


@dataclass(frozen=True)
class SpecCurve:
    """The specification curve of one hypothesis: its conclusion under every configuration."""

    table: pd.DataFrame
    hypothesis: str

    def exhibits(self, name: Namer) -> list:
        return [Record("spec_curve", {"hypothesis": self.hypothesis,
                                      "share_wrong": float((self.table["error"].iloc[1:] != "correct").mean())}),
                Table("spec_curve", self.table, f"Specification curve of '{self.hypothesis}'",
                      tex_columns=plots.spec_curve_tex_columns()),
                Figure("spec_curve", lambda: plots.spec_curve(self.table, f"Specification curve: {self.hypothesis}"),
                       "Specification curve")]

    def _repr_html_(self) -> str:
        return self.table["conclusion"].iloc[1:].value_counts().to_frame().to_html()


def spec_curve(g: Grid, params) -> SpecCurve:
    h = analysis.choose_spec_hypothesis(g.grid, params.spec_curve_hypothesis)
    return SpecCurve(analysis.spec_curve(g.grid, h), g.grid.hypotheses["hypothesis_id"].iloc[h])


@dataclass(frozen=True)
class Mitigation:
    """Type I / Type II rates of LLM-only, human-only and prediction-powered (PPI) estimates by human sample."""

    table: pd.DataFrame
    replicates: pd.DataFrame
    alpha: float
    uses_human_single: bool

    def exhibits(self, name: Namer) -> list:
        numbers, undefined = recordable(
            {f"{ppi.record_stem(r)}.{rate}": getattr(r, rate) for r in self.table.itertuples()
             for rate in ("type_I_rate", "type_II_rate")},
            "mitigation (no gold null or no gold-significant hypothesis to count errors on)")
        return [Table("mitigation", self.table, "Type I / Type II rates by method and human sample size (mean and "
                      "sd over subsamples)", tex_columns=plots.mitigation_tex_columns(self.alpha)),
                Table("mitigation_replicates", self.replicates, "Mitigation rates of every subsample",
                      formats=("csv",)),
                Record("", numbers), *undefined,
                Record("mitigation", {"uses_human_single": self.uses_human_single}),
                Figure("mitigation", lambda: plots.mitigation(self.table),
                       "Type I and Type II rates by method and human sample size")]

    def _repr_html_(self) -> str:
        return html_view(frame=self.table[["method", "human_labels", "n_human", "type_I_rate", "type_II_rate",
                                           "type_S_rate", "ci_coverage"]].round(3))


def mitigation(d: Data, g: Grid, params) -> Mitigation:
    table, reps = ppi.mitigation(d.data, g.grid, params.human_sample_sizes, params.mitigation_replicates,
                                 seed=params.seed, alpha=params.alpha)
    return Mitigation(table, reps, params.alpha, d.data.human is not None)


@dataclass(frozen=True)
class Recovery:
    """Simulated data only: the gold results and the measured quality against the planted truth."""

    hypotheses: pd.DataFrame | None = None
    configurations: pd.DataFrame | None = None
    risk_vs_truth: pd.DataFrame | None = None
    numbers: dict | None = None

    def exhibits(self, name: Namer) -> list:
        if self.numbers is None:
            return []
        numbers, undefined = recordable({f"recovery.{k}": v for k, v in self.numbers.items()}, "recovery")
        return [Table("recovery_hypotheses", self.hypotheses, "Gold results against the planted shares"),
                Table("recovery_configurations", self.configurations, "Measured against planted accuracy"),
                Table("risk_vs_truth", self.risk_vs_truth, "Risk against the planted truth beside risk against "
                      "gold, by model"),
                Record("", numbers), *undefined]

    def _repr_html_(self) -> str:
        if self.numbers is None:
            return html_view(["No truth files beside the items: real data, nothing planted to recover."])
        return html_view(frame=self.risk_vs_truth.round(3))


def recovery(g: Grid, q: Quality, params) -> Recovery:
    folder = truth.truth_dir_for(params.items_path)
    if folder is None:
        return Recovery()
    rec_h, rec_c, rec = truth.truth_recovery(g.grid, q.configurations, folder)
    risk_table, risk_summary = truth.risk_against_truth(g.grid, folder)
    return Recovery(rec_h, rec_c, risk_table, {**rec, **risk_summary})


@dataclass(frozen=True)
class RealData:
    """The real sentiment corpus only: its parsing checks and the findings on it."""

    corpus_checks: pd.DataFrame | None = None
    issues: tuple[DataIssue, ...] = ()
    findings: dict | None = None

    def exhibits(self, name: Namer) -> list:
        if self.findings is None:
            return []
        summary = self.findings["summary"]
        numbers, undefined = recordable({f"real.{name(k)}": v for k, v in zip(summary["key"], summary["value"])},
                                        "real-data findings")
        return [*self.issues,
                Table("real_corpus_checks", self.corpus_checks, "Real data: corpus parsing rules and how often "
                      "they applied"),
                *(Table(f"real_{key}", table, f"Real data: {key.replace('_', ' ')}",
                        tex_columns=plots.REAL_TEX_COLUMNS.get(key)) for key, table in self.findings.items()),
                Record("", numbers), *undefined]

    def _repr_html_(self) -> str:
        if self.findings is None:
            return html_view(["Simulated data: the real-data section is skipped."])
        return html_view(frame=self.findings["summary"])


def real_data(d: Data, r: Risk, params) -> RealData:
    if params.dataset != "sentiment_real":
        return RealData()
    from . import sentiment_findings, sentiment_inputs

    checks, issues = sentiment_inputs.corpus_checks(params)
    return RealData(checks, tuple(issues),
                    sentiment_findings.real_data_findings(r.pairs, d.data.items, params.group_columns))


HEADLINE_KEYS = ("n_items", "n_configurations", "n_hypotheses", "n_hypotheses_skipped", "risk.overall",
                 "risk.type_I", "risk.type_II", "risk.type_S", "risk.near_threshold",
                 "quality.spearman_accuracy_risk", "exaggeration.median", "hacking.false_positive_possible",
                 "hacking.true_effect_hideable", "hacking.sign_reversible",
                 "effect_size.sign_error_rate_gold_significant", "effect_size.type_M_median",
                 "recovery.risk_vs_truth")


def headline(results: dict) -> pd.Series:
    """The run's key numbers, read back from ``results.json`` (``out.results``)."""
    return pd.Series({k: results.get(k) for k in HEADLINE_KEYS}, dtype=object)


__all__ = ["data", "grid", "risk", "effect_errors", "risk_by", "error_types", "quality", "risk_vs_gold",
           "hacking", "spec_curve", "mitigation", "recovery", "real_data", "headline"]
