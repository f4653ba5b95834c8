"""Reading the comparison and diachronic corpora: schema checks, then streamed counting.

Rules for bad input (every one reported, none a crash):

- missing file or required column, no text column, ``content_filter: upos``
  without an ``upos`` column: one-line :class:`~studykit.contract.errors.InputError`;
- a requested language absent from the corpus: InputError naming it;
- rows with an empty or missing language, a source other than ai/human, or
  an unreadable year: excluded and counted (``missing_language``,
  ``bad_source``, ``bad_year``);
- empty texts (no word token): excluded and counted (``empty_text``);
- undecodable bytes (mixed encodings): decoded as UTF-8 with U+FFFD, the text
  kept and counted (``undecodable_bytes``);
- a language simplemma does not know: lowercased forms used as lemmas,
  counted per document (``no_lemmatizer``);
- a language with only one source: excluded from the LPR analysis
  (``single_source_language``, by :func:`studykit.studies.lexical_prevalence.analysis.usable_languages`);
- exact duplicate documents (same ``doc_id``, language, source or year,
  text and upos): later copies dropped, the first kept, counted
  (``duplicate_document``); the same ``doc_id``, language and source or
  year with different text: every row kept, counted (``duplicate_doc_id``);
- years in neither ``pre_years`` nor ``post_years``: kept for trajectories
  and excess words, counted (``years_outside_periods``).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from studykit.contract.errors import InputError
from studykit.files.paths import resolve
from studykit.files.tables import read_table, require_columns

from .counting import CorpusCounts, CountConfig, count_corpus
from .documents import document_table
from .reading import peek_columns
from .schema import CORPUS_REQUIRED, DIACHRONIC_REQUIRED, YEARLY_COUNTS_REQUIRED, Params
from .uptake import lemma_columns


def _file(path: str | None, what: str) -> Path:
    if not path:
        raise InputError(f"{what}: no file given")
    p = resolve(path)
    if not p.is_file():
        raise InputError(f"{what} file not found: {p}")
    return p


def _text_col(cols: list[str], what: str, path: Path) -> str:
    if "text" in cols:
        return "text"
    if "tokens" in cols:
        return "tokens"
    raise InputError(f"{what} {path}: missing column 'text' (or 'tokens')")


def corpus_config(params: Params, path: Path, *, diachronic: bool = False) -> CountConfig:
    """Check the header of ``path`` and say how to count it."""
    what = "diachronic corpus" if diachronic else "corpus"
    cols = peek_columns(path)
    require_columns(pd.DataFrame(columns=cols), DIACHRONIC_REQUIRED if diachronic else CORPUS_REQUIRED,
                    f"{what} {path}")
    text_col = _text_col(cols, what, path)
    upos_col = None
    if params.content_filter == "upos":
        if "upos" not in cols or text_col != "tokens":
            raise InputError(f"{what} {path}: content_filter 'upos' needs columns 'tokens' and 'upos'")
        upos_col = "upos"
    date_col = None
    if diachronic:
        if "year" not in cols:
            if "date" not in cols:
                raise InputError(f"{what} {path}: missing column 'year' (or 'date')")
            date_col = "date"
    return CountConfig(mode="full" if diachronic else "window", window=params.window_tokens,
                       content_filter=params.content_filter, group_col="year" if diachronic else "source",
                       text_col=text_col, upos_col=upos_col, date_col=date_col, id_col="doc_id",
                       languages=tuple(params.languages) if params.languages else None)


def count_comparison(params: Params, *, dask_client=None) -> CorpusCounts:
    """Stream the comparison corpus and count window prevalence per (language, source)."""
    path = _file(params.corpus_path, "corpus")
    cfg = corpus_config(params, path)
    counts = count_corpus(path, cfg, n_workers=params.n_workers, chunk_rows=params.chunk_rows,
                          dask_scheduler=dask_client or params.dask_scheduler, progress=params.progress,
                          desc="comparison corpus")
    _check_languages(params, counts.totals, "corpus", path)
    return counts


def _check_languages(params: Params, totals: pd.DataFrame, what: str, path: Path) -> None:
    """Requested languages must be in the comparison corpus (the diachronic one may lack some: no uptake there)."""
    if params.languages and what == "corpus":
        have = set(totals["language"])
        for lang in params.languages:
            if lang not in have:
                raise InputError(f"parameter 'languages': language '{lang}' has no usable text in {what} {path}")
    if totals.empty:
        raise InputError(f"{what} {path}: no usable rows (check columns language, source/year and text)")


@dataclass(frozen=True)
class Diachronic:
    """Yearly counts per language: ``docs`` (language, year, lemma, docs), ``tokens``
    (language, year, lemma, tokens; None for yearly-count input), ``totals``
    (language, year, n_docs, n_content_tokens; the latter NaN for yearly-count input),
    ``issues`` (check, language, count) and ``unit``: 'tokens' or 'documents'."""

    docs: pd.DataFrame
    tokens: pd.DataFrame | None
    totals: pd.DataFrame
    issues: pd.DataFrame
    unit: str
    n_tokens: int = 0
    path: Path | None = None
    config: CountConfig | None = None
    duplicate_rows: dict | None = None


def load_diachronic(params: Params, *, dask_client=None) -> Diachronic | None:
    """Count the diachronic corpus, or read its yearly counts; None when no path is given."""
    if not params.diachronic_path:
        return None
    path = _file(params.diachronic_path, "diachronic corpus")
    cols = peek_columns(path)
    if "docs_with_lemma" in cols:
        return read_yearly_counts(path, params.languages)
    cfg = corpus_config(params, path, diachronic=True)
    counts = count_corpus(path, cfg, n_workers=params.n_workers, chunk_rows=params.chunk_rows,
                          dask_scheduler=dask_client or params.dask_scheduler, progress=params.progress,
                          desc="diachronic corpus")
    _check_languages(params, counts.totals, "diachronic corpus", path)
    return Diachronic(counts.docs, counts.tokens, counts.totals, counts.issues, "tokens", counts.n_tokens,
                      path, cfg, counts.duplicate_rows)


def count_documents(params: Params, diach: Diachronic, word_sets: dict[str, dict[str, list[str]]]) -> pd.DataFrame | None:
    """Per-document tokens of each word set in the diachronic corpus (the unit of the uptake test).

    A second streamed pass over the diachronic texts, in-process, skipping the
    rows dropped as exact duplicates; None for yearly-count input (no documents).
    """
    if diach.unit != "tokens" or diach.path is None:
        return None
    # one column per lemma (``ai.000``, ..., ``baseline.000``, ...: the two-way bootstrap resamples lemmas)
    # and the set totals ``ai`` and ``baseline``
    singletons = {lang: {col: [lemma] for name, lemmas in sets.items()
                         for col, lemma in zip(lemma_columns(sets)[name], lemmas)}
                  for lang, sets in word_sets.items()}
    table = document_table(diach.path, diach.config, singletons, chunk_rows=params.chunk_rows,
                           duplicate_rows=diach.duplicate_rows)
    names = sorted({name for sets in word_sets.values() for name in sets} | {"ai", "baseline"})
    for name in names:
        cols = [c for c in table.columns if c.startswith(f"{name}.")]
        table[name] = table[cols].sum(axis=1).astype(np.int64) if cols else np.zeros(len(table), np.int64)
    return table


def read_yearly_counts(path: str | Path, languages: list[str] | None = None) -> Diachronic:
    """Read yearly document counts (language, lemma, year, docs_with_lemma, n_docs) with checks."""
    p = Path(path)
    df = read_table(p, what="yearly counts")
    require_columns(df, YEARLY_COUNTS_REQUIRED, f"yearly counts {p}")
    df = df[list(YEARLY_COUNTS_REQUIRED)].copy()
    for c in ("year", "docs_with_lemma", "n_docs"):
        v = pd.to_numeric(df[c], errors="coerce")
        bad = v.isna() | (v < 0) | (v != np.floor(v))
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(f"yearly counts {p}: column '{c}' has a non-integer or negative value "
                             f"({df[c].iloc[i]!r}, row {i + 1})")
        df[c] = v.astype(np.int64)
    df["language"] = df["language"].astype(str).str.strip().str.lower()
    df["lemma"] = df["lemma"].astype(str).str.strip().str.lower()
    if (df["docs_with_lemma"] > df["n_docs"]).any():
        i = int(np.flatnonzero((df["docs_with_lemma"] > df["n_docs"]).to_numpy())[0])
        raise InputError(f"yearly counts {p}: docs_with_lemma exceeds n_docs in row {i + 1}")
    nd = df.groupby(["language", "year"])["n_docs"].nunique()
    if (nd > 1).any():
        lang, year = nd[nd > 1].index[0]
        raise InputError(f"yearly counts {p}: column 'n_docs' differs within language '{lang}', year {year}")
    if df.duplicated(["language", "year", "lemma"]).any():
        r = df[df.duplicated(["language", "year", "lemma"])].iloc[0]
        raise InputError(f"yearly counts {p}: lemma '{r['lemma']}' appears twice for {r['language']} {r['year']}")
    if languages:
        df = df[df["language"].isin(languages)]
        if df.empty:
            raise InputError(f"yearly counts {p}: none of the requested languages {languages} is present")
    totals = (df.groupby(["language", "year"], as_index=False)["n_docs"].first()
              .assign(n_content_tokens=np.nan).sort_values(["language", "year"]).reset_index(drop=True))
    docs = (df.rename(columns={"docs_with_lemma": "docs"})[["language", "year", "lemma", "docs"]]
            .sort_values(["language", "year", "lemma"]).reset_index(drop=True))
    issues = pd.DataFrame({"check": pd.Series(dtype=str), "language": pd.Series(dtype=str),
                           "count": pd.Series(dtype=np.int64)})
    return Diachronic(docs, None, totals, issues, "documents")
