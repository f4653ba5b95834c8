"""Parameters and raw-data columns of the lexical_prevalence study."""
from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from studykit.contract.params import InputPath, StudyParams

NAME = "lexical_prevalence"

#: comparison corpus: one row per text
CORPUS_REQUIRED = ("doc_id", "language", "source")
#: one of these holds the text
TEXT_COLUMNS = ("text", "tokens")
CORPUS_OPTIONAL = ("pair_id", "upos")
#: diachronic corpus: one row per text, with ``year`` or ``date``
DIACHRONIC_REQUIRED = ("doc_id", "language")
#: alternative diachronic input: yearly document counts per lemma
YEARLY_COUNTS_REQUIRED = ("language", "lemma", "year", "docs_with_lemma", "n_docs")

LPR_TABLE_COLUMNS = ("lemma", "c_ai", "n_ai", "c_human", "n_human", "prevalence_ai", "prevalence_human",
                     "las", "lpr", "guard_ok", "rank")


class Params(StudyParams):
    """Parameters of the lexical_prevalence notebook (defaults run the embedded data)."""

    study = NAME

    corpus_path: str | None = InputPath(
        "data/lexical_prevalence/corpus.parquet", columns=(*CORPUS_REQUIRED, "|".join(TEXT_COLUMNS)),
        description="comparison corpus (CSV/Parquet/JSONL): doc_id, language, source, text|tokens")
    diachronic_path: str | None = InputPath(
        "data/lexical_prevalence/diachronic.parquet", optional=True,
        description="diachronic corpus (doc_id, language, year|date, text|tokens) or yearly counts "
                    "(language, lemma, year, docs_with_lemma, n_docs); null skips uptake and excess words")
    languages: list[str] | None = Field(None, description="languages to analyse (default: all present)")
    window_tokens: int = Field(12, ge=1, le=10_000, description="K: prevalence counted in the first K content tokens")
    min_count_guard: int = Field(20, ge=0, description="guard: LPR set to 0 unless c_ai >= this")
    top_n: int = Field(20, ge=1, le=1000, description="N: AI-overused lemmas kept per language (the AI word set)")
    pre_years: list[int] = Field([2020, 2021], min_length=1, description="years of the pre period (uptake)")
    post_years: list[int] = Field([2023, 2024], min_length=1, description="years of the post period (uptake)")
    placebo_pre_years: list[int] = Field([2018, 2019], description="pre-trend placebo: the earlier of two periods "
                                                                   "before any release (empty: no placebo)")
    placebo_post_years: list[int] = Field([2020, 2021], description="pre-trend placebo: the later period, tested "
                                                                    "against placebo_pre_years like the uptake")
    seed: int = Field(20260, ge=0, description="seed of every random step (bootstraps, baseline draw)")

    content_filter: Literal["stopwords", "upos", "none"] = Field(
        "stopwords", description="content words: not a stop word, UPOS NOUN/VERB/ADJ/ADV, or every token")
    n_bootstrap: int = Field(2000, ge=100, le=1_000_000, description="bootstrap resamples for LPR CIs")
    confidence: float = Field(0.95, gt=0.5, lt=1, description="level of CIs; 1 - confidence is the alpha of the uptake test")
    baseline_lpr_tolerance: float = Field(0.1, gt=0, description="baseline words: |LPR| <= this")
    baseline_candidates: int = Field(5, ge=1, description="nearest-frequency candidates per AI word")
    excess_min_freq: float = Field(1e-4, ge=0, lt=1, description="Kobak et al.: p > this in year Y and Y-1")
    excess_min_docs: int = Field(30, ge=0, description="and at least this many documents in Y and Y-1")
    excess_gap_threshold: float = Field(0.01, gt=0, description="Kobak et al.: excess when delta > this")
    excess_noise_confidence: float = Field(
        0.95, gt=0.5, lt=1, description="one-sided level of the lower bounds on the excess ratio and gap "
                                        "(flagged words below them are reported as noisy)")
    n_uptake_bootstrap: int = Field(1000, ge=100, le=100_000,
                                    description="document-clustered bootstrap resamples for the uptake test")
    trajectory_lemmas: list[str] = Field([], description="'lang:lemma' items to plot; empty = top 3 per language")

    n_workers: int = Field(2, ge=1, le=256, json_schema_extra={"workers": True},
                           description="processes for counting (1 = in-process); capped by the machine's cores "
                                       "and memory")
    chunk_rows: int = Field(20_000, ge=100, description="rows per streamed chunk")
    dask_scheduler: str | None = Field(None, description="Dask scheduler address; counting runs there")
    progress: bool = Field(False, description="progress bars while counting")

    simulation: Literal["none", "paper_scale"] = Field(
        "none", description="paper_scale: generate the 34-language corpus into .cache/ on first use")
    sim_pairs: int = Field(100_000, ge=10, description="paper_scale: text pairs per language")
    sim_languages: int = Field(34, ge=1, le=34, description="paper_scale: number of languages")
    sim_docs_per_year: int = Field(5_000, ge=10, description="paper_scale: diachronic documents per language-year")

    real_corpus: Literal["none", "ja_tech_blogs"] = Field(
        "none", description="ja_tech_blogs: tokenise the Japanese AI/human article corpus at ja_corpus_dir "
                            "once into .cache/ (needs the 'japanese' extra) and analyse it")
    ja_corpus_dir: str | None = InputPath(
        None, kind="dir", description="ja_tech_blogs: the excess-vocabulary-ja folder holding data/")
    comparisons_path: str | None = InputPath(
        None, description="further comparisons, one label per 'language' (set by ja_tech_blogs; null: none)")

    @field_validator("languages")
    @classmethod
    def _langs(cls, v: list[str] | None) -> list[str] | None:
        if v is None:
            return v
        out = [str(x).strip().lower() for x in v]
        if not out or any(not x for x in out):
            raise ValueError("languages must be a non-empty list of language codes")
        return out

    @field_validator("trajectory_lemmas")
    @classmethod
    def _traj(cls, v: list[str]) -> list[str]:
        for item in v:
            if ":" not in item:
                raise ValueError(f"trajectory_lemmas items must look like 'en:emphasize', got '{item}'")
        return v

    @model_validator(mode="after")
    def _years(self) -> "Params":
        both = set(self.pre_years) & set(self.post_years)
        if both:
            raise ValueError(f"pre_years and post_years overlap in {sorted(both)}")
        placebo = set(self.placebo_pre_years) & set(self.placebo_post_years)
        if placebo:
            raise ValueError(f"placebo_pre_years and placebo_post_years overlap in {sorted(placebo)}")
        if bool(self.placebo_pre_years) != bool(self.placebo_post_years):
            raise ValueError("placebo_pre_years and placebo_post_years: give both or leave both empty")
        return self

    def prepare(self) -> "Params":
        """paper_scale: generate (once, cached) the simulated corpora and point the paths at them;
        ja_tech_blogs: tokenise the real Japanese corpus (once, cached) and point the paths at it."""
        if self.real_corpus == "ja_tech_blogs":
            return self._prepare_ja()
        if self.simulation != "paper_scale":
            return self
        from .simulate import ensure_paper_scale

        folder = ensure_paper_scale(self.sim_languages, self.sim_pairs, self.sim_docs_per_year, self.seed,
                                    n_workers=self.n_workers, progress=self.progress)
        return self.model_copy(update={"corpus_path": str(folder / "corpus.parquet"),
                                       "diachronic_path": str(folder / "diachronic.parquet")})

    def _prepare_ja(self) -> "Params":
        from studykit.contract.errors import InputError
        from studykit.contract.extras import require
        from studykit.files.paths import resolve

        from .ja_corpus import SOURCE_HINT, ensure_tokenised

        require("japanese", "lexical_prevalence profile ja_tech_blogs (MeCab tokenising)")
        if not self.ja_corpus_dir:
            raise InputError(f"parameter 'ja_corpus_dir' is not set ({SOURCE_HINT})")
        folder = ensure_tokenised(resolve(self.ja_corpus_dir), n_workers=self.n_workers)
        return self.model_copy(update={"corpus_path": str(folder / "corpus.parquet"),
                                       "diachronic_path": str(folder / "diachronic.parquet"),
                                       "comparisons_path": str(folder / "comparisons.parquet")})
