"""What each notebook step saves: the steps of :mod:`.steps` wrapped as results that declare their exhibits.

The notebook runs one step per cell and writes it with ``out.save(step)`` (:mod:`studykit.contract.exhibits`); each
class lists its tables, figures, numbers and data issues in the order they are written, with captions built
from the run's parameters. The computations stay in :mod:`.steps`, :mod:`.analysis` and :mod:`.uptake`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import pandas as pd

from studykit.contract.exhibits import Figure, Record, Table, html_view
from studykit.contract.issues import DataIssue

from . import analysis, load, plots, steps
from .concepts import mapping_table

Namer = Callable[[Any], str]


@dataclass(frozen=True)
class Corpus:
    """The comparison corpus counted: per-language totals, the summary numbers, the lemmatiser table."""

    counts: Any
    summary: Any
    issues: tuple[DataIssue, ...]

    def exhibits(self, name: Namer) -> list:
        return [*self.issues, Record("", self.summary.records(name)),
                Table("lemmatizers", steps.lemmatizer_table(self.summary.languages),
                      "Lemmatiser and stop-word list per language")]

    def _repr_html_(self) -> str:
        return html_view(frame=self.counts.totals)


def corpus(params) -> Corpus:
    counts = load.count_comparison(params)
    summary, issues = steps.describe_corpus(counts)
    return Corpus(counts, summary, tuple(issues))


@dataclass(frozen=True)
class Lpr:
    """Every lemma's LPR per language, the top-N per language with bootstrap CIs, and their figure."""

    result: Any
    top: pd.DataFrame
    issues: tuple[DataIssue, ...]
    planted: Any
    top_n: int
    confidence: float
    n_bootstrap: int

    def exhibits(self, name: Namer) -> list:
        out: list = [Table(f"lpr_{name(language)}", table, f"All lemmas, {language}: window prevalence, LAS, LPR, "
                           "guard, rank", formats=("csv",)) for language, table in self.result.tables.items()]
        out += [*self.issues, Record("", self.result.records(name)),
                Table("top_lemmas", self.top,
                      f"Top-{self.top_n} AI-overused lemmas per language, LPR with {self.confidence:.0%} bootstrap "
                      f"CI ({self.n_bootstrap} resamples)", tex_columns=plots.top_lemmas_tex_columns(self.confidence)),
                Figure("top_lpr", lambda: plots.top_lpr(self.result.tops, planted=self.planted),
                       "Top lemmas per language with bootstrap CIs")]
        return out

    def _repr_html_(self) -> str:
        return html_view(frame=self.top.groupby("language").head(5))


def lpr(data: Corpus, params) -> Lpr:
    result, issues = steps.lpr_analysis(data.counts, data.summary.languages, params)
    return Lpr(result, result.top_lemmas(), tuple(issues), steps.planted_lemmas(params), params.top_n,
               params.confidence, params.n_bootstrap)


@dataclass(frozen=True)
class Convergence:
    """Ranks of each concept's lemma per language, and the lemmas in several top-N lists."""

    result: Any
    top_n: int

    def exhibits(self, name: Namer) -> list:
        conv = self.result
        return [Table("convergence_matrix", conv.wide, "Rank of each concept's lemma per language (blank: absent)"),
                Table("shared_top_lemmas", conv.shared, "Lemmas in the top-N of two or more languages"),
                Record("", conv.records(name)),
                Figure("convergence_matrix", lambda: plots.convergence_matrix(conv.matrix, self.top_n),
                       "Concept ranks per language")]

    def _repr_html_(self) -> str:
        return html_view(frame=mapping_table())


def convergence(lpr_step: Lpr, params) -> Convergence:
    return Convergence(steps.convergence(lpr_step.result, params), params.top_n)


@dataclass(frozen=True)
class Uptake:
    """Uptake in the diachronic corpus (None without one): shares pre vs post, the difference in differences."""

    diach: Any
    result: Any
    issues_before: tuple[DataIssue, ...]
    issues_after: tuple[DataIssue, ...]
    confidence: float

    def exhibits(self, name: Namer) -> list:
        if self.result is None:
            return []
        up = self.result
        return [*self.issues_before,
                Table("uptake", up.table, "Share of AI-associated vs baseline lemmas, pre vs post period "
                      f"({self.diach.unit}); % change and 2x2 chi-square", tex_columns=plots.UPTAKE_TEX_COLUMNS),
                *self.issues_after, Record("uptake", up.summary_over_languages),
                Figure("uptake_change", lambda: plots.uptake_change(up.table),
                       "% change pre -> post: AI vs baseline words"),
                Table("uptake_did", up.did, "Difference in differences of log shares (AI minus baseline): two-way "
                      "bootstrap over documents and lemmas, Holm over languages; document-only test (before), "
                      "pre-trend placebo and minimum detectable effect",
                      tex_columns=plots.uptake_did_tex_columns(self.confidence)),
                Record("", up.records(name))]

    def _repr_html_(self) -> str:
        if self.result is None:
            return html_view(["No diachronic corpus: uptake, trajectories and excess words are skipped."])
        return html_view(frame=self.result.table) + html_view(frame=self.result.did)


def uptake(lpr_step: Lpr, params) -> Uptake:
    diach = load.load_diachronic(params)
    if diach is None:
        return Uptake(None, None, (), (), params.confidence)
    before = tuple(steps.diachronic_issues(diach, params))
    sets, set_issues = steps.word_sets(diach, lpr_step.result, params)
    documents = load.count_documents(params, diach, sets)
    result, issues = steps.uptake(diach, sets, documents, params)
    return Uptake(diach, result, before + tuple(set_issues), tuple(issues), params.confidence)


@dataclass(frozen=True)
class Trajectories:
    """Yearly frequency of selected lemmas (the AI-overused ones and their baselines)."""

    table: pd.DataFrame | None
    cutoff_year: int

    def exhibits(self, name: Namer) -> list:
        if self.table is None:
            return []
        return [Table("trajectories", self.table, "Yearly frequency of selected lemmas"),
                Figure("trajectories", lambda: plots.trajectories(self.table, cutoff_year=self.cutoff_year),
                       "Per-word trajectories")]


def trajectories(up: Uptake, lpr_step: Lpr, params) -> Trajectories:
    table = None if up.diach is None else analysis.trajectories(up.diach, steps.trajectory_items(lpr_step.result,
                                                                                                params))
    return Trajectories(table, min(params.post_years) - 1)


@dataclass(frozen=True)
class Excess:
    """Excess words (Kobak et al.) per language and year, and their recovery on simulated data."""

    result: Any
    issues: tuple[DataIssue, ...]
    truth: Any
    gap_threshold: float

    def last_year(self) -> int | None:
        analysed = self.result.analysed
        return int(analysed["year"].max()) if len(analysed) else None

    def exhibits(self, name: Namer) -> list:
        if self.result is None:
            return []
        ex, year = self.result, self.last_year()
        out: list = [*self.issues,
                     Table("excess_words", ex.words, "Excess words (Kobak et al.): delta > gap threshold or log10 r > "
                           "-(log10 2/4) log10 p", tex_columns=plots.EXCESS_WORDS_TEX_COLUMNS),
                     Record("", ex.records(name))]
        if year is not None:
            out.append(Figure("excess_scatter", lambda: plots.excess_scatter(ex.analysed, year, self.gap_threshold),
                              f"Frequency vs excess ratio, {year}"))
        if self.truth is not None:
            out.append(Record("truth.excess", self.truth))
        return out

    def _repr_html_(self) -> str:
        if self.result is None:
            return html_view(["No diachronic corpus: no excess words."])
        counts = self.result.words.groupby(["language", "year", "noise_robust"]).size().unstack(fill_value=0)
        truth = "" if self.truth is None else self.truth._repr_html_()
        return counts.to_html() + truth


def excess(up: Uptake, params) -> Excess:
    if up.diach is None:
        return Excess(None, (), None, params.excess_gap_threshold)
    result, issues = steps.excess(up.diach, params)
    return Excess(result, tuple(issues), steps.excess_recovery(params, result), params.excess_gap_threshold)


@dataclass(frozen=True)
class Recovery:
    """Planted vs recovered (simulated data only; None otherwise)."""

    result: Any

    def exhibits(self, name: Namer) -> list:
        if self.result is None:
            return []
        return [Table("truth_recovery", self.result.table, "Planted vs recovered (simulated data only)"),
                Record("", self.result.records(name))]

    def _repr_html_(self) -> str:
        if self.result is None:
            return html_view(["No simulator truth beside the data: real data, nothing to recover."])
        return html_view(frame=self.result.table)


def recovery(lpr_step: Lpr, up: Uptake, params) -> Recovery:
    return Recovery(steps.truth_recovery(params, lpr_step.result, up.result))


@dataclass(frozen=True)
class JaComparisons:
    """The Japanese corpus's comparisons (per model, per register, the human-vs-human control)."""

    result: Any
    issues: tuple[DataIssue, ...]
    confidence: float

    def exhibits(self, name: Namer) -> list:
        if self.result is None:
            return []
        ja = self.result
        return [*self.issues,
                Table("ja_top_words", ja.words, "Pooled top AI-overused Japanese lemmas with glosses, and how many of "
                      "the models share each", tex_columns=plots.ja_top_words_tex_columns(self.confidence)),
                Table("ja_top_by_comparison", ja.tops, "Top lemmas per model, per register and in the human-vs-human "
                      "control", tex_columns=plots.ja_top_by_comparison_tex_columns(self.confidence)),
                Table("ja_model_agreement", ja.agreement, "How many models' top lists hold each lemma"),
                Table("ja_null_passes", ja.passes, "Lemmas passing the pooled AI-word cut-off, per comparison "
                      "(control = human vs human)"),
                Record("", ja.records(name))]

    def _repr_html_(self) -> str:
        if self.result is None:
            return html_view(["No comparisons file (the Japanese corpus profile only)."])
        return html_view(frame=self.result.words)


def ja_comparisons(data: Corpus, lpr_step: Lpr, params) -> JaComparisons:
    if not params.comparisons_path:
        return JaComparisons(None, (), params.confidence)
    from . import ja_comparisons as jc

    result, issues = jc.compare(params, data.counts.config, lpr_step.result.tops["ja"])
    return JaComparisons(result, tuple(issues), params.confidence)
