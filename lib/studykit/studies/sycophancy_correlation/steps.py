"""The notebook's steps, each a frozen result that declares what it saves (:mod:`studykit.contract.exhibits`).

Each function is pure (tables and parameters in, a result out); the notebook writes a step's tables, figures,
numbers and data issues with one call, ``out.save(step)``, and shows the step (``_repr_html_``). The statistics
are in the modules named in the package docstring; this module only says which of their outputs are exhibits.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import pandas as pd

from studykit.contract.exhibits import Figure, Record, Table, html_view
from studykit.contract.issues import DataIssue

from . import aggregated, aggregated_tests, baseline_gap, categories, crossed, load, per_model as per_model_tests
from . import plots, pooled as pooled_model, rates as rate_tables, recovery, reliability as scale_reliability
from . import simulate as simulator


@dataclass(frozen=True)
class ResponseData:
    """Personas with their agreeableness, responses aggregated to cells, rates per model x persona."""

    personas: Any
    cells: Any
    rates: Any
    issues: tuple[DataIssue, ...]

    def exhibits(self, name: Callable[[Any], str]) -> list:
        return [*self.issues,
                Table("models", self.rates.models, "Models and whether they enter the per-model analysis"),
                Table("persona_rates", self.rates.personas, "Persona agreeableness and sycophancy rate per model",
                      formats=("csv",))]

    def line(self) -> str:
        return (f"{self.cells.n_rows:,} responses ({self.cells.score_source}), {self.cells.n_prompts:,} prompts; "
                f"score from {self.personas.score_source}")

    def _repr_html_(self) -> str:
        return html_view([self.line()], self.rates.models)


def response_data(params) -> ResponseData:
    """Read the personas and responses of ``params`` and compute the rates (section 1 of the notebook)."""
    personas, persona_issues = load.load_personas(params.personas_path, reverse_keyed=params.reverse_keyed,
                                                  likert_points=params.likert_points,
                                                  score_column=params.agreeableness_column)
    cells, response_issues = load.aggregate_responses(params.responses_path)
    rates, rate_issues = rate_tables.compute_rates(cells, personas)
    return ResponseData(personas, cells, rates, tuple(persona_issues) + tuple(response_issues) + tuple(rate_issues))


@dataclass(frozen=True)
class ScaleReliability:
    """Cronbach's alpha of the agreeableness items per model (and over all models)."""

    table: pd.DataFrame
    issues: tuple[DataIssue, ...]

    def exhibits(self, name: Callable[[Any], str]) -> list:
        out: list = [*self.issues, Table("reliability", self.table, "Cronbach's alpha of the agreeableness items")]
        if len(self.table):
            out.append(Record("reliability", scale_reliability.reliability_summary(self.table)))
        return out

    def _repr_html_(self) -> str:
        return html_view(frame=self.table)


def scale_reliability_step(data: ResponseData, params) -> ScaleReliability:
    table, issues = scale_reliability.reliability_table(data.personas.items, params.confidence)
    return ScaleReliability(table, tuple(issues))


PER_MODEL_SHOWN = ["model", "n_personas", "pearson_r", "r_ci_low", "r_ci_high", "p_value_corrected", "significant",
                   "cohens_d", "slope", "n_tests_significant", "significant_paper_rule", "mean_shift", "shift_p_value",
                   "slope_crossed", "slope_crossed_ci_low", "slope_crossed_ci_high", "slope_crossed_p_value_corrected",
                   "significant_crossed"]


@dataclass(frozen=True)
class PerModel:
    """Per-model tests: persona-averaged (conditional on the prompts) and crossed (persona x prompt), the shift
    from the assistant baseline, and the headline counts."""

    table: pd.DataFrame
    crossed_fits: pd.DataFrame
    shifts: pd.DataFrame
    issues: tuple[DataIssue, ...]
    n_personas: int
    n_prompts: int
    correction: str
    confidence: float

    def exhibits(self, name: Callable[[Any], str]) -> list:
        return [*self.issues,
                Table("per_model", self.table, "Per-model agreeableness-sycophancy statistics",
                      tex_columns=plots.per_model_tex_columns(self.confidence)),
                Record("", self.records(name))]

    def records(self, name: Callable[[Any], str]) -> dict:
        """The headline counts and the per-model numbers of both designs (:func:`.per_model.headline`,
        :func:`.crossed.headline`); ``name`` maps a model name to its key (``out.name``)."""
        return {**per_model_tests.headline(self.table, n_personas=self.n_personas, n_prompts=self.n_prompts,
                                           name=name),
                **crossed.headline(self.table, name=name)}

    def lines(self) -> list[str]:
        h = self.records(str)
        max_d = "undefined" if h["max_cohens_d"] is None else f"{h['max_cohens_d']:.3f}"
        return [f"significant (persona-averaged, given these prompts; {self.correction} across models): "
                f"{h['n_models_significant']} of {h['n_models']}; paper's 3-of-6 rule: "
                f"{h['n_models_significant_paper_rule']}",
                f"significant (crossed design, primary; {self.correction} across models): "
                f"{h['n_models_significant_crossed']} of {h['n_models']}",
                f"max r = {h['max_pearson_r']:.3f}, max d = {max_d}"]

    def _repr_html_(self) -> str:
        return html_view(self.lines(), self.table[[c for c in PER_MODEL_SHOWN if c in self.table.columns]])


def per_model_step(data: ResponseData, params) -> PerModel:
    """Every per-model test (sections 3-4 of the notebook)."""
    rates, cells = data.rates, data.cells
    fits = crossed.crossed_slopes(cells, rates, confidence=params.confidence)
    table = per_model_tests.per_model_table(rates, alpha=params.alpha, correction=params.correction,
                                            n_perm=params.n_perm, seed=params.seed, confidence=params.confidence,
                                            sizes=data.personas.sizes)
    shifts, shift_issues = baseline_gap.paired_shifts(cells, rates, confidence=params.confidence)
    table = baseline_gap.add_shift_columns(table, shifts, rates, correction=params.correction)
    table = crossed.add_crossed_columns(table, fits, alpha=params.alpha, correction=params.correction)
    return PerModel(table, fits, shifts, tuple(shift_issues), int(rates.analysable()["persona_id"].nunique()),
                    int(cells.n_prompts), params.correction, params.confidence)


@dataclass(frozen=True)
class Figures:
    """The per-model figures: scatter grid, forest plot, median-split violins."""

    rates: Any
    per_model: pd.DataFrame

    def order(self) -> list[str]:
        return list(self.per_model.sort_values("pearson_r")["model"])

    def exhibits(self, name: Callable[[Any], str]) -> list:
        persona_rates = self.rates.analysable()
        return [Figure("scatter_grid", lambda: plots.scatter_grid(persona_rates, self.per_model),
                       "Persona sycophancy rate vs agreeableness per model, with OLS line and baseline"),
                Figure("forest", lambda: plots.forest(self.per_model), "Pearson r and Cohen's d per model with CIs"),
                Figure("violins_high_low",
                       lambda: plots.violins(per_model_tests.split_groups(persona_rates), self.order()),
                       "Median split: persona rates of low vs high agreeableness personas")]


@dataclass(frozen=True)
class Gap:
    """Persona scores relative to the assistant baseline, and the trait-truthfulness zones."""

    table: pd.DataFrame
    zones: Any
    confidence: float

    def exhibits(self, name: Callable[[Any], str]) -> list:
        return [Table("trait_truthfulness_gap", self.table, "Persona scores relative to the assistant baseline, "
                      "paired over prompts (low/high A: personas below/above the model's median agreeableness)",
                      tex_columns=plots.trait_truthfulness_gap_tex_columns(self.confidence)),
                Record("baseline_shift", self.zones), Record("", {"n_models_deceptive_zone": self.zones.n_deceptive})]

    def _repr_html_(self) -> str:
        return html_view(frame=self.table)


def gap_step(per_model: PerModel, params) -> Gap:
    table = baseline_gap.trait_truthfulness_gap(per_model.table, per_model.shifts)
    return Gap(table, baseline_gap.zone_counts(table, per_model.table, alpha=params.alpha), params.confidence)


@dataclass(frozen=True)
class Categories:
    """Per-category correlations (heatmap) and their summary."""

    table: pd.DataFrame
    issues: tuple[DataIssue, ...]
    order: tuple[str, ...]

    def exhibits(self, name: Callable[[Any], str]) -> list:
        return [*self.issues, Table("category_correlations", self.table, "Pearson r per model x category"),
                Figure("category_heatmap", lambda: plots.category_heatmap(self.table, list(self.order)),
                       "Agreeableness-sycophancy r per model x prompt category"),
                Record("categories", categories.category_summary(self.table))]

    def _repr_html_(self) -> str:
        return html_view(frame=self.table)


def categories_step(data: ResponseData, figures: Figures, params) -> Categories:
    table, issues = categories.category_correlations(data.rates, confidence=params.confidence)
    return Categories(table, tuple(issues), tuple(figures.order()[::-1]))


@dataclass(frozen=True)
class Size:
    """Association of model size with the per-model effects (when the personas file gives sizes)."""

    table: pd.DataFrame
    summary: Any
    per_model: pd.DataFrame

    def exhibits(self, name: Callable[[Any], str]) -> list:
        out: list = [Table("size_association", self.table, "Association of model size with per-model effects")]
        if self.summary is not None:
            out += [Record("size", self.summary),
                    Figure("size_vs_r", lambda: plots.size_plot(self.per_model), "Per-model r against model size")]
        return out

    def _repr_html_(self) -> str:
        return html_view(frame=self.table)


def size_step(data: ResponseData, per_model: PerModel) -> Size:
    table = categories.size_association(per_model.table, data.personas.sizes)
    return Size(table, categories.size_summary(table), per_model.table)


@dataclass(frozen=True)
class PooledSlope:
    """The pooled slope across models (mixed model, t reference on the number of models)."""

    pooled: Any
    confidence: float
    caption: str = "Pooled slope and how it was fitted"

    def table(self) -> pd.DataFrame:
        return pooled_model.pooled_table(self.pooled)

    def exhibits(self, name: Callable[[Any], str]) -> list:
        return [Record("pooled", self.pooled),
                Table("pooled", self.table(), self.caption, tex_columns=plots.pooled_tex_columns(self.confidence))]

    def _repr_html_(self) -> str:
        return html_view(frame=self.table())


def pooled_step(data: ResponseData, params) -> PooledSlope:
    return PooledSlope(pooled_model.pooled_slope(data.rates.analysable(), confidence=params.confidence),
                       params.confidence)


@dataclass(frozen=True)
class Recovery:
    """Estimated vs planted slopes when the simulator's truth lies beside the responses (else nothing)."""

    table: pd.DataFrame | None
    truth: dict | None

    def exhibits(self, name: Callable[[Any], str]) -> list:
        if self.truth is None:
            return []
        return [Table("recovery", self.table, "Estimated vs planted slopes (simulated data)"),
                Record("recovery", recovery.recovery_summary(self.table, self.truth))]

    def _repr_html_(self) -> str:
        if self.truth is None:
            return html_view(["No simulator truth beside the responses file: real data, nothing to recover."])
        return html_view(frame=self.table)


def recovery_step(per_model: PerModel, params) -> Recovery:
    truth = simulator.find_truth(params.responses_path)
    return Recovery(None if truth is None else recovery.recovery_table(per_model.table, truth), truth)


# ---- aggregated rates (data_format: rates) ------------------------------------------------------------------
@dataclass(frozen=True)
class RateData:
    """Aggregated rows (trait score, rate and trials per measurement) and the persona means (the unit)."""

    rows: Any
    persona_means: pd.DataFrame
    issues: tuple[DataIssue, ...]

    def exhibits(self, name: Callable[[Any], str]) -> list:
        return [*self.issues,
                Table("persona_means", self.persona_means, "Persona means (the unit of the per-model tests): "
                      "agreeableness score and trial-weighted sycophancy rate per model x persona")]

    def line(self) -> str:
        r = self.rows
        return (f"{len(r.rows):,} rows ({len(r.personas):,} under a persona, {len(r.baseline):,} baseline) "
                f"from {r.source}")

    def _repr_html_(self) -> str:
        return html_view([self.line()], self.persona_means)


def rate_data(params) -> RateData:
    rows, issues = load.load_rates(params)
    return RateData(rows, aggregated.persona_table(rows), tuple(issues))


RATES_SHOWN = ["model", "n_personas", "shift", "shift_p_value_corrected", "manipulation",
               "manipulation_p_value_corrected",
               "persona_r", "slope", "slope_p_value_corrected", "rows_r", "note"]


@dataclass(frozen=True)
class RatesPerModel:
    """Per model: shift and manipulation check against the baseline, persona-level association."""

    table: pd.DataFrame
    issues: tuple[DataIssue, ...]
    confidence: float

    def exhibits(self, name: Callable[[Any], str]) -> list:
        return [*self.issues,
                Table("per_model_rates", self.table, "Per model: shift and manipulation check against the baseline, "
                      "persona-level association (persona = unit)",
                      tex_columns=plots.per_model_rates_tex_columns(self.confidence)),
                Record("", self.records(name))]

    def records(self, name: Callable[[Any], str]) -> dict:
        """The per-model numbers of ``results.json``: counts and ``<number>.<model>`` keys (``name`` maps a model
        name to its key: ``out.name``, which keeps the mapping in the manifest)."""
        per_model = self.table

        def f(v):
            return None if pd.isna(v) else float(v)

        tested = per_model["slope"].notna()
        out = {
            "n_models": int(len(per_model)),
            "n_personas_max": int(per_model["n_personas"].max()) if len(per_model) else 0,
            "n_rows": int(per_model["n_rows"].sum()),
            "n_models_shift_significant": int(per_model["shift_significant"].sum()),
            "n_models_shift_significant_up": int((per_model["shift_significant"] & (per_model["shift"] > 0)).sum()),
            "n_models_manipulation_significant": int(per_model["manipulation_significant"].sum()),
            "n_models_manipulation_significant_up": int((per_model["manipulation_significant"]
                                                         & (per_model["manipulation"] > 0)).sum()),
            "n_models_association_tested": int(tested.sum()),
            "n_models_association_significant": int(per_model["slope_significant"].sum()),
            "n_models_association_significant_positive": int((per_model["slope_significant"]
                                                              & (per_model["slope"] > 0)).sum()),
            "n_models_persona_r_positive": int((per_model["persona_r"] > 0).sum()),
            "max_persona_r": f(per_model["persona_r"].max()),
            "min_persona_r": f(per_model["persona_r"].min()),
        }
        for _, r in per_model.iterrows():
            key = name(r["model"])
            for col in ("shift", "shift_p_value_corrected", "manipulation", "manipulation_p_value_corrected",
                        "persona_r", "slope", "slope_p_value_corrected", "rows_r"):
                out[f"{col}.{key}"] = f(r[col])
        return out

    def _repr_html_(self) -> str:
        return html_view(frame=self.table[RATES_SHOWN])


def rates_per_model_step(data: RateData, params) -> RatesPerModel:
    table, issues = aggregated_tests.per_model_rates(data.rows, alpha=params.alpha, correction=params.correction,
                                                     confidence=params.confidence)
    return RatesPerModel(table, tuple(issues), params.confidence)


@dataclass(frozen=True)
class RatesAcross:
    """Across models: the mean of the per-model estimates, the between-model association, the pooled slope on
    the persona means, and the scatter grid of the persona means."""

    across: Any
    between: Any
    pooled: Any
    persona_means: pd.DataFrame
    per_model: pd.DataFrame
    confidence: float

    def exhibits(self, name: Callable[[Any], str]) -> list:
        out: list = [Record("across_models", self.across)]
        if self.between is not None:
            out.append(Record("between_models", self.between))
        if self.pooled is not None:
            out += PooledSlope(self.pooled, self.confidence, "Pooled slope on the persona means (models as "
                               "clusters)").exhibits(name)
        view = self.per_model.assign(significant=self.per_model["slope_significant"],
                                     pearson_r=self.per_model["persona_r"])
        out.append(Figure("scatter_grid", lambda: plots.scatter_grid(self.persona_means, view),
                          "Persona means (the unit): sycophancy rate vs agreeableness score, with the persona-level "
                          "OLS line and the baseline rate"))
        return out

    def _repr_html_(self) -> str:
        pooled = "" if self.pooled is None else html_view(frame=pooled_model.pooled_table(self.pooled))
        return pooled + self.across._repr_html_()


def rates_across_step(data: RateData, per_model: RatesPerModel, params) -> RatesAcross:
    across, pooled = aggregated_tests.pooled_rates(data.rows, per_model.table, confidence=params.confidence)
    between = aggregated_tests.between_models(data.rows, confidence=params.confidence)
    return RatesAcross(across, between, pooled, data.persona_means, per_model.table, params.confidence)
