"""The document-level pass over the diachronic corpus: per document, content tokens and tokens of each word set.

The uptake test (:mod:`.uptake`) resamples documents, so it needs one row per
document; the merged counts of :mod:`.counting` have lost the documents. This
pass re-reads the corpus in chunks, in-process, with the same validation,
tokeniser, lemmatiser and content filter as :func:`.counting.count_batch`, and
skips the rows that the first pass dropped as exact duplicates.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from .counting import CountConfig, _index, _memo, _pieces, group_rows
from .kernel import as_text, chunk_texts, group_texts, lemma_occurrences
from .reading import iter_batches
from .text import CONTENT_UPOS, text_lemmas


def count_documents_in_sets(batch: pa.RecordBatch | dict[str, list], cfg: CountConfig,
                            word_sets: dict[str, dict[str, frozenset]], skip: Any = None) -> dict[str, np.ndarray]:
    """Per document of one chunk: language, year, content tokens and tokens of each word set.

    The same validation, tokenising, lemmatising and content filter as
    :func:`count_batch` (full mode); rows it excludes, and the ``skip`` rows
    (exact duplicates), are left out. ``word_sets``: language -> {set name:
    lemmas}; documents of other languages are left out. Documents come in the
    chunk's row order. Used for the document-level uptake test, whose unit is the
    document. Raw texts are counted on columns (:mod:`.kernel`): with
    :math:`o_{dk} = 1` when the k-th content lemma of document d is in set S, the set's
    tokens in d are :math:`\\sum_k o_{dk}`.
    """
    texts, upos = chunk_texts(batch, cfg)
    names = sorted({name for sets in word_sets.values() for name in sets})
    by_language: dict[str, list[np.ndarray]] = {}
    years: dict[str, list[np.ndarray]] = {}
    for key, rows in group_rows(batch, cfg, skip).items():
        if key[0] in word_sets:
            by_language.setdefault(key[0], []).append(rows)
            years.setdefault(key[0], []).append(np.full(len(rows), key[1], dtype=np.int64))
    parts = []
    for lang in sorted(by_language):
        rows = np.concatenate(by_language[lang])
        own = rows.tolist()
        tl = group_texts(texts, own) if cfg.text_col == "text" else [as_text(texts[i]) for i in own]
        if isinstance(tl, list):
            tags = [upos[i] for i in own] if upos is not None else None
            ok, content, per_set = _document_loop(tl, tags, lang, cfg, word_sets[lang], names)
        else:
            ok, content, per_set = _document_columns(tl, lang, cfg, word_sets[lang], names)
        parts.append((rows[ok], np.full(int(ok.sum()), lang, dtype=object), np.concatenate(years[lang])[ok],
                      content[ok], {name: v[ok] for name, v in per_set.items()}))
    if not parts:
        return {"language": np.zeros(0, dtype=object), "year": np.zeros(0, np.int64),
                "n_content": np.zeros(0, np.int64), **{name: np.zeros(0, np.int64) for name in names}}
    order = np.argsort(np.concatenate([p[0] for p in parts]), kind="stable")  # the chunk's row order
    return {"language": np.concatenate([p[1] for p in parts])[order],
            "year": np.concatenate([p[2] for p in parts])[order],
            "n_content": np.concatenate([p[3] for p in parts])[order],
            **{name: np.concatenate([p[4][name] for p in parts])[order] for name in names}}


def _document_columns(texts: pa.Array, lang: str, cfg: CountConfig, sets: dict[str, frozenset],
                      names: list[str]) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """(has a word token, content tokens, tokens per set) of every raw text, on columns."""
    index = _index(lang, cfg)
    occ = lemma_occurrences(texts, _pieces(lang, cfg), index)
    n_docs = len(occ.n_words)
    per_set = {}
    for name in names:
        member = np.zeros(len(index.names), dtype=np.float64)
        ids = [index.get(lem) for lem in sets.get(name, frozenset())]
        member[[i for i in ids if i is not None and i < len(member)]] = 1.0
        per_set[name] = np.bincount(occ.doc, weights=member[occ.lemma], minlength=n_docs).astype(np.int64)
    return occ.n_words > 0, np.diff(occ.start), per_set


def _document_loop(tlist: list[str], tags: list | None, lang: str, cfg: CountConfig, sets: dict[str, frozenset],
                   names: list[str]) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """The per-text loop of :func:`_document_columns` (pre-tokenised texts, upos tags, texts Arrow cannot hold)."""
    use_upos = cfg.content_filter == "upos" and tags is not None
    ok = np.zeros(len(tlist), dtype=bool)
    content = np.zeros(len(tlist), dtype=np.int64)
    per_set = {name: np.zeros(len(tlist), dtype=np.int64) for name in names}
    for j, text in enumerate(tlist):
        if cfg.text_col == "text":
            lemmas, n_words = text_lemmas(text, _pieces(lang, cfg))
            if not n_words:
                continue
        else:
            words = text.split()
            if not words:
                continue
            get = _memo(lang, cfg).__getitem__
            if use_upos:
                tag = str(tags[j] or "").split()
                if len(tag) != len(words):
                    continue
                lemmas = [m for m, t in zip(map(get, words), tag) if m and t.upper() in CONTENT_UPOS]
            else:
                lemmas = list(filter(None, map(get, words)))
        ok[j] = True
        content[j] = len(lemmas)
        for name in names:
            members = sets.get(name, frozenset())
            per_set[name][j] = sum(1 for lem in lemmas if lem in members)
    return ok, content, per_set


def document_table(path: str | Path, cfg: CountConfig, word_sets: dict[str, dict[str, list[str]]], *,
                   chunk_rows: int, duplicate_rows: dict | None = None) -> pd.DataFrame:
    """One row per usable document of ``path`` in the languages of ``word_sets``:
    language, year, n_content and one column of set tokens per set name (see
    :func:`count_documents_in_sets`). Read in chunks of ``chunk_rows`` rows, in-process."""
    path = Path(path)
    columns = ["language", cfg.date_col or cfg.group_col, cfg.text_col] + ([cfg.upos_col] if cfg.upos_col else [])
    frozen = {lang: {name: frozenset(lemmas) for name, lemmas in sets.items()} for lang, sets in word_sets.items()}
    parts = [pd.DataFrame(count_documents_in_sets(b, cfg, frozen, (duplicate_rows or {}).get(i)))
             for i, b in enumerate(iter_batches(path, columns, chunk_rows))]
    names = sorted({name for sets in word_sets.values() for name in sets})
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=["language", "year", "n_content", *names])
    return table.astype({"year": np.int64, "n_content": np.int64, **{name: np.int64 for name in names}})
