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

from .counting import CountConfig, _as_text, _columns, _index, _memo, _pieces, _row_key, group_texts
from .kernel import lemma_occurrences
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
    langs, groups, texts, upos = _columns(batch, cfg)
    keep_langs = set(cfg.languages) if cfg.languages else None
    skip_rows = set() if skip is None else set(int(i) for i in skip)
    names = sorted({name for sets in word_sets.values() for name in sets})
    rows, keys = [], []
    for i in range(len(langs)):
        if i in skip_rows:
            continue
        try:
            key = _row_key(langs[i], groups[i], cfg, keep_langs)
        except TypeError:
            continue
        if isinstance(key, str) or key[0] not in word_sets:
            continue
        rows.append(i)
        keys.append(key)
    n = len(rows)
    used = np.zeros(n, dtype=bool)
    n_content = np.zeros(n, dtype=np.int64)
    in_sets = {name: np.zeros(n, dtype=np.int64) for name in names}
    by_language: dict[str, list[int]] = {}
    for j, key in enumerate(keys):
        by_language.setdefault(key[0], []).append(j)
    for lang, where in by_language.items():
        sets = word_sets[lang]
        own = [rows[j] for j in where]
        tl = group_texts(texts, own) if cfg.text_col == "text" else [_as_text(texts[i]) for i in own]
        if isinstance(tl, list):
            got = _document_loop(tl, [upos[i] for i in own] if upos is not None else None, lang, cfg, sets, names)
        else:
            got = _document_columns(tl, lang, cfg, sets, names)
        ok, content, per_set = got
        used[where] = ok
        n_content[where] = content
        for name in names:
            in_sets[name][where] = per_set[name]
    return {"language": np.array([k[0] for k in keys], dtype=object)[used],
            "year": np.array([k[1] for k in keys], dtype=np.int64)[used],
            "n_content": n_content[used], **{name: v[used] for name, v in in_sets.items()}}


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
