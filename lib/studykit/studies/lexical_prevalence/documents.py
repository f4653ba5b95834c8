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

from .counting import CountConfig, _memo, _row_key
from .reading import iter_batches
from .text import CONTENT_UPOS, TOKEN_RE


def count_documents_in_sets(batch: dict[str, list], cfg: CountConfig, word_sets: dict[str, dict[str, frozenset]],
                            skip: Any = None) -> dict[str, list]:
    """Per document of one chunk: language, year, content tokens and tokens of each word set.

    The same validation, tokenising, lemmatising and content filter as
    :func:`count_batch` (full mode); rows it excludes, and the ``skip`` rows
    (exact duplicates), are left out. ``word_sets``: language -> {set name:
    lemmas}; documents of other languages are left out. Used for the
    document-level uptake test, whose unit is the document.
    """
    langs = batch["language"]
    groups = batch[cfg.date_col or cfg.group_col]
    texts = batch[cfg.text_col]
    upos = batch.get(cfg.upos_col) if cfg.upos_col else None
    keep_langs = set(cfg.languages) if cfg.languages else None
    skip_rows = set() if skip is None else set(int(i) for i in skip)
    use_upos = cfg.content_filter == "upos" and upos is not None
    names = sorted({name for sets in word_sets.values() for name in sets})
    out: dict[str, list] = {"language": [], "year": [], "n_content": [], **{name: [] for name in names}}
    for i in range(len(texts)):
        if i in skip_rows:
            continue
        try:
            key = _row_key(langs[i], groups[i], cfg, keep_langs)
        except TypeError:
            continue
        if isinstance(key, str) or key[0] not in word_sets:
            continue
        text = texts[i]
        if text.__class__ is not str:
            text = "" if text is None or isinstance(text, float) else str(text)
        words = TOKEN_RE.findall(text.lower()) if cfg.text_col == "text" else text.split()
        if not words:
            continue
        get = _memo(key[0], cfg).__getitem__
        if use_upos:
            tags = str(upos[i] or "").split()
            if len(tags) != len(words):
                continue
            lemmas = [m for m, t in zip(map(get, words), tags) if m and t.upper() in CONTENT_UPOS]
        else:
            lemmas = list(filter(None, map(get, words)))
        sets = word_sets[key[0]]
        out["language"].append(key[0])
        out["year"].append(key[1])
        out["n_content"].append(len(lemmas))
        for name in names:
            members = sets.get(name, frozenset())
            out[name].append(sum(1 for lem in lemmas if lem in members))
    return out


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
