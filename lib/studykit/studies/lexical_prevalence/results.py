"""Result objects of the lexical_prevalence steps and the names they are recorded under.

Every step of :mod:`.steps` returns one of these frozen results together with
a tuple of :class:`studykit.contract.issues.DataIssue`. Results whose keys in
``results.json`` are fixed are recorded with ``out.record_result(prefix,
result)``; results whose keys contain names taken from the data (a language,
a lemma, a year) give their flat record through ``records(name)``, where
``name`` maps a raw name to a key-safe one (``out.name`` in the notebook, so
that the mapping is kept in ``manifest.json``).

Key rule for names from data: a language code always goes through ``name``
(it also becomes a table name, which must be ASCII); a lemma is kept as it is
when it is a Unicode word (letters, digits, combining marks, ``-`` and ``_``,
starting with a letter or digit, at most 64 characters, as ``results.json``
allows), and goes through ``name`` otherwise (a pre-tokenised corpus can hold
any string as a lemma, e.g. ``a.b`` or ``<script>``).
"""
from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass, field
from typing import Callable

import pandas as pd

from studykit.contract.names import MAX_LEN
from studykit.stats.results import Result

Namer = Callable[[object], str]


def lemma_key(lemma: str, name: Namer) -> str:
    """``lemma`` when it is a Unicode word fit for a dotted key, else ``name(lemma)`` (module docstring)."""
    text = str(lemma)
    ok = (0 < len(text) <= MAX_LEN and text[0].isalnum()
          and all(ch.isalnum() or ch in "-_" or unicodedata.category(ch).startswith("M") for ch in text))
    return text if ok else name(text)


@dataclass(frozen=True)
class CorpusSummary(Result):
    """Languages analysed (both sources present) and the size of the comparison corpus.

    Recorded as ``n_languages``, ``n_docs.ai``, ``n_docs.human``, ``n_tokens``.
    """

    languages: tuple[str, ...]
    n_languages: int
    n_docs_ai: int
    n_docs_human: int
    n_tokens: int

    def records(self, name: Namer) -> dict[str, object]:
        """The flat ``results.json`` entries of this result."""
        return {"n_languages": self.n_languages, "n_docs.ai": self.n_docs_ai,
                "n_docs.human": self.n_docs_human, "n_tokens": self.n_tokens}


@dataclass(frozen=True)
class LprResult(Result):
    """Per language: the full lemma table and the top-N with bootstrap CIs.

    ``tables[language]`` has the columns of ``tables/lpr_<language>.csv``;
    ``tops[language]`` the top-N rows with ``lpr_ci_low``, ``lpr_ci_high``,
    ``lpr_se``. Recorded as ``top.<language>`` (comma-separated lemmas in rank
    order) and ``lpr.<language>.<lemma>`` for the top-N.
    """

    tables: dict = field(repr=False)
    tops: dict = field(repr=False)
    top_n: int

    #: columns of ``tables/top_lemmas.csv``
    TOP_COLUMNS = ("language", "rank", "lemma", "c_ai", "n_ai", "c_human", "n_human", "prevalence_ai",
                   "prevalence_human", "las", "lpr", "lpr_ci_low", "lpr_ci_high")

    def top_lemmas(self) -> pd.DataFrame:
        """The top-N of every language in one table (``tables/top_lemmas.csv``)."""
        rows = [self.tops[lang].assign(language=lang) for lang in sorted(self.tables)]
        cols = list(self.TOP_COLUMNS)
        return pd.concat(rows, ignore_index=True)[cols] if rows else pd.DataFrame(columns=cols)

    def records(self, name: Namer) -> dict[str, object]:
        """``top.<language>`` and ``lpr.<language>.<lemma>`` (see the class docstring)."""
        out: dict[str, object] = {}
        for lang in sorted(self.tables):
            top = self.tops[lang]
            lang_key = name(lang)
            out[f"top.{lang_key}"] = ",".join(top["lemma"])
            for lemma, lpr in zip(top["lemma"], top["lpr"]):
                out[f"lpr.{lang_key}.{lemma_key(lemma, name)}"] = float(lpr)
        return out


@dataclass(frozen=True)
class ConvergenceResult(Result):
    """Concept ranks per language (long ``matrix`` and ``wide`` pivot) and the shared top lemmas.

    Recorded as ``convergence.<concept>.languages_top`` (languages with the
    concept's lemma in their top-N), ``convergence.<concept>.languages_mapped``
    and ``convergence.shared_lemmas``.
    """

    matrix: pd.DataFrame = field(repr=False)
    wide: pd.DataFrame = field(repr=False)
    shared: pd.DataFrame = field(repr=False)

    def records(self, name: Namer) -> dict[str, object]:
        """The flat ``results.json`` entries of this result."""
        out: dict[str, object] = {}
        for concept, g in self.matrix.groupby("concept", sort=True):
            out[f"convergence.{concept}.languages_top"] = int(g["in_top"].sum())
            out[f"convergence.{concept}.languages_mapped"] = int(len(g))
        out["convergence.shared_lemmas"] = int(len(self.shared))
        return out


@dataclass(frozen=True)
class UptakeSummary(Result):
    """Uptake over languages, recorded under ``uptake.<field>``.

    Attributes
    ----------
    languages_increased : int
        Languages whose AI-word share rose (change_pct > 0).
    languages_increased_significant : int
        Languages whose AI words rose more than the baseline words: difference
        in differences > 0 with Holm-adjusted p < alpha (documents as the unit;
        lemmas for yearly-count input).
    n_languages : int
        Languages in the uptake table.
    mean_change_pct, baseline_mean_change_pct : float or None
        Mean % change over languages of the AI and the baseline set (None
        when no language has a defined change).
    baseline_languages_increased : int
    unit : str
        ``"tokens"`` (share of content tokens) or ``"documents"`` (yearly counts).
    languages_increased_significant_token_chi2 : int
        The paper's count: AI share up with the token-level chi-square p < alpha
        (tokens treated as independent; kept for comparison).
    languages_did_tested : int
        Languages with a defined difference-in-differences test.
    languages_increased_significant_documents : int
        The same count with the document-only bootstrap (lemmas treated as fixed; before the two-way test).
    languages_placebo_significant : int
        Languages whose pre-trend placebo difference in differences has Holm p < alpha (either sign).
    languages_placebo_tested : int
    languages_paper_uptake_detectable : int
        Languages whose minimum detectable effect (power 0.8) is at most the paper's +15.1 % (log 0.141).
    """

    languages_increased: int
    n_languages: int
    mean_change_pct: float | None
    baseline_mean_change_pct: float | None
    baseline_languages_increased: int
    languages_increased_significant: int
    unit: str = "tokens"
    languages_increased_significant_token_chi2: int = 0
    languages_did_tested: int = 0
    languages_increased_significant_documents: int = 0
    languages_placebo_significant: int = 0
    languages_placebo_tested: int = 0
    languages_paper_uptake_detectable: int = 0


@dataclass(frozen=True)
class UptakeResult(Result):
    """The uptake table (one row per language and word set), the word sets and the summary."""

    table: pd.DataFrame = field(repr=False)
    word_sets: dict = field(repr=False)
    summary_over_languages: UptakeSummary
    #: one row per language: difference in differences AI vs baseline (``tables/uptake_did.csv``)
    did: pd.DataFrame = field(repr=False, default=None)

    def records(self, name: Namer) -> dict[str, object]:
        """Per language: ``uptake.<language>.change_pct`` (AI set), ``.token_chi2_p_value`` (the paper's test),
        ``.did_log``, ``.did_se``, ``.did_p_value`` and ``.did_p_value_corrected`` (the two-way test over
        documents and lemmas), ``.did_p_value_documents`` and ``.did_p_value_corrected_documents`` (lemmas fixed;
        before), ``.mde_log`` and ``.mde_pct`` (minimum detectable effect at power 0.8),
        ``.paper_uptake_detectable``, ``.placebo_did_log``, ``.placebo_did_p_value``,
        ``.placebo_did_p_value_corrected``; None where undefined (the reason is in ``tables/uptake_did.csv`` and
        ``data_issues``)."""
        ai = self.table[self.table["word_set"] == "ai"].set_index("language")
        out: dict[str, object] = {}
        fields = ("did_log", "did_se", "did_p_value", "did_p_value_corrected", "did_p_value_documents",
                  "did_p_value_corrected_documents", "mde_log", "mde_pct", "placebo_did_log", "placebo_did_p_value",
                  "placebo_did_p_value_corrected")
        for row in self.did.itertuples(index=False):
            key = f"uptake.{name(row.language)}"
            values = {"change_pct": ai["change_pct"].get(row.language),
                      "token_chi2_p_value": ai["p_value"].get(row.language),
                      **{f: getattr(row, f) for f in fields}}
            for field_name, value in values.items():
                ok = value is not None and not pd.isna(value) and math.isfinite(value)
                out[f"{key}.{field_name}"] = float(value) if ok else None
            detectable = row.paper_uptake_detectable
            out[f"{key}.paper_uptake_detectable"] = None if pd.isna(detectable) else bool(detectable)
        return out


@dataclass(frozen=True)
class ExcessResult(Result):
    """Kobak et al.'s excess-word analysis: every analysed (language, year, lemma) and the flagged ones.

    Recorded as ``excess.n_words`` (distinct language-lemma pairs flagged in
    any year), ``excess.n_word_years``, ``excess.n_words_by_year.<year>``,
    ``excess.n_analysed``, and for the flags that hold at the sampling-noise
    floor ``excess.n_word_years_robust``, ``excess.n_words_robust`` and
    ``excess.n_word_years_noisy`` (flagged by the point rule only), and for the flags whose
    Benjamini-Hochberg q over all analysed word-years is below the level ``excess.n_word_years_fdr`` and
    ``excess.n_words_fdr``.
    """

    analysed: pd.DataFrame = field(repr=False)

    @property
    def words(self) -> pd.DataFrame:
        """The flagged rows (``tables/excess_words.csv``)."""
        return self.analysed[self.analysed["excess"].astype(bool)].reset_index(drop=True)

    def records(self, name: Namer) -> dict[str, object]:
        """The flat ``results.json`` entries of this result."""
        words = self.words
        out: dict[str, object] = {
            "excess.n_words": int(len(words[["language", "lemma"]].drop_duplicates())),
            "excess.n_word_years": int(len(words))}
        for year, g in words.groupby("year", sort=True):
            out[f"excess.n_words_by_year.{int(year)}"] = int(len(g))
        out["excess.n_analysed"] = int(len(self.analysed))
        robust = self.analysed[self.analysed["noise_robust"].astype(bool)] if len(self.analysed) else words
        out["excess.n_word_years_robust"] = int(len(robust))
        out["excess.n_words_robust"] = int(len(robust[["language", "lemma"]].drop_duplicates()))
        out["excess.n_word_years_noisy"] = int(len(words) - len(robust))
        fdr = self.analysed[self.analysed["fdr_robust"].astype(bool)] if len(self.analysed) else words
        out["excess.n_word_years_fdr"] = int(len(fdr))
        out["excess.n_words_fdr"] = int(len(fdr[["language", "lemma"]].drop_duplicates()))
        return out


@dataclass(frozen=True)
class TruthRecovery(Result):
    """Planted vs recovered on simulated data (``tables/truth_recovery.csv``), recorded under ``truth.``."""

    table: pd.DataFrame = field(repr=False)
    planted_in_top_k_share: float | None = None
    planted_in_top_n_share: float | None = None
    uptake_classified_correctly: int | None = None
    uptake_languages: int | None = None

    def records(self, name: Namer) -> dict[str, object]:
        """The defined fields as ``truth.<field>`` (a field is absent when it was not computed)."""
        keys = ("planted_in_top_k_share", "planted_in_top_n_share", "uptake_classified_correctly",
                "uptake_languages")
        return {f"truth.{k}": getattr(self, k) for k in keys if getattr(self, k) is not None}


@dataclass(frozen=True)
class ExcessRecovery(Result):
    """Kobak et al.'s rule against the planted truth, recorded as ``truth.excess.<field>``.

    Attributes
    ----------
    planted_flagged_post, planted_post : int
        Planted AI lemmas (in languages with planted uptake) flagged after the
        cut-off year, and how many there are.
    topic_flagged_pre, topic : int
        Planted topical bursts flagged before the cut-off, and how many.
    other_flagged : int
        Everything else flagged (false positives).
    planted_flagged_post_robust, topic_flagged_pre_robust, other_flagged_robust : int
        The same counts for the flags that hold at the sampling-noise floor.
    planted_flagged_post_fdr, topic_flagged_pre_fdr, other_flagged_fdr : int
        The same counts for the flags that hold under the false discovery rate control.
    """

    planted_flagged_post: int
    planted_post: int
    topic_flagged_pre: int
    topic: int
    other_flagged: int
    planted_flagged_post_robust: int = 0
    topic_flagged_pre_robust: int = 0
    other_flagged_robust: int = 0
    planted_flagged_post_fdr: int = 0
    topic_flagged_pre_fdr: int = 0
    other_flagged_fdr: int = 0
