"""Streaming, parallel lemma counting over a corpus of texts.

The corpus is read in chunks of ``chunk_rows`` rows (Parquet record batches,
CSV chunks or JSONL lines; :mod:`.reading`), never as one DataFrame of strings. Each chunk is
counted by :func:`count_batch`, a pure function of (chunk, :class:`CountConfig`)
that returns integer counts; chunks run in parallel in a process pool, or on a
Dask cluster when a scheduler address is given, and the counts are merged by
integer addition, so every schedule (serial, processes, Dask, any chunking)
gives identical results. At most ``2 * workers`` chunks are in flight, which
bounds memory.

Two counting modes:

``window`` (comparison corpus)
    for each (language, source) the number of documents whose first ``K``
    content tokens contain each lemma (the prevalence numerator ``c``), and
    the number of documents ``n``.
``full`` (diachronic corpus)
    for each (language, year) the number of content tokens of each lemma, the
    number of documents containing it, the content-token total and ``n``.

Duplicates: exact duplicates share their key (``doc_id``, language, source or
year), so the counting pass hashes every row's key (:func:`key_hashes`), and
only the rows whose key hash repeats get two 64-bit BLAKE2b digests, one of
their content (``doc_id``, language, source or year, text, upos) and one of
their key, in a reading pass of their own. When two rows have the same content
digest, the corpus is counted a second time without the later copies (exact
duplicate documents are dropped, first copy kept, reported as
``duplicate_document``); rows that share a key but differ in content are all
kept and reported as ``duplicate_doc_id``. Corpora without repeated keys are
read once.

Memoisation: each worker process keeps one :class:`~.text.LemmaMemo` per
(language, filter), so a surface form is lemmatised once per process, and
one :class:`~.text.PieceMemo` over it, so a whitespace-separated piece of raw
text is tokenised once per process.
"""
from __future__ import annotations

import dataclasses
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .kernel import (LemmaIndex, as_counter_items, as_text, chunk_texts, count_lemmas, group_texts, key_hashes,
                     lemma_occurrences, n_rows, row_digests)
from .parallel import run_dask, run_processes
from .reading import count_rows, iter_batches, peek_columns  # noqa: F401 (peek_columns: re-exported)
from .text import CONTENT_UPOS, LemmaMemo, PieceMemo, TokenMemo, save_lemma_cache, text_lemmas

SOURCES = ("ai", "human")


@dataclass(frozen=True)
class CountConfig:
    """What :func:`count_batch` counts (picklable; sent to every worker)."""

    mode: str = "window"               # "window" | "full"
    window: int = 12                   # K content tokens (window mode)
    content_filter: str = "stopwords"  # "stopwords" | "upos" | "none"
    group_col: str = "source"          # "source" | "year"
    text_col: str = "text"             # "text" | "tokens"
    upos_col: str | None = None
    date_col: str | None = None        # group from a date column (first 4 characters = year)
    languages: tuple[str, ...] | None = None
    id_col: str | None = None          # document id (duplicate detection); None: no id column read


# --------------------------------------------------------------------------- counting kernel
_MEMOS: dict[tuple[str, str, str], dict] = {}


def _memo(language: str, cfg: CountConfig) -> dict:
    key = (language, cfg.content_filter, cfg.text_col)
    m = _MEMOS.get(key)
    if m is None:
        flt = "none" if cfg.content_filter == "upos" else cfg.content_filter
        m = (LemmaMemo(language, flt) if cfg.text_col == "text" else TokenMemo(language, flt))
        _MEMOS[key] = m
    return m


_PIECES: dict[tuple[str, str], PieceMemo] = {}
_INDEXES: dict[tuple[str, str], LemmaIndex] = {}


def _index(language: str, cfg: CountConfig) -> LemmaIndex:
    """This process's lemma numbering for (language, filter) (:mod:`.kernel`)."""
    return _INDEXES.setdefault((language, cfg.content_filter), LemmaIndex())


def _pieces(language: str, cfg: CountConfig) -> PieceMemo:
    """The piece memo over :func:`_memo`'s lemma memo (raw text input only)."""
    key = (language, cfg.content_filter)
    m = _PIECES.get(key)
    if m is None:
        m = _PIECES[key] = PieceMemo(_memo(language, cfg))
    return m


def _group_value(raw: Any, cfg: CountConfig) -> Any:
    """Normalised group (source 'ai'/'human' or an int year); None when invalid."""
    if raw is None or (isinstance(raw, float) and math.isnan(raw)):
        return None
    if cfg.group_col == "source":
        s = str(raw).strip().lower()
        return s if s in SOURCES else None
    if cfg.date_col:
        s = str(raw).strip()[:4]
        return int(s) if s.isdigit() else None
    try:
        f = float(raw)
    except (TypeError, ValueError):
        return None
    return int(f) if f.is_integer() and 1000 <= f <= 9999 else None


def group_rows(batch: pa.RecordBatch | dict[str, list], cfg: CountConfig, skip: Any = None,
               issues: Counter | None = None) -> dict[tuple, np.ndarray]:
    """Row positions of each valid (language, group) of a chunk, in row order; excluded rows counted in ``issues``.

    ``skip`` rows are counted as ``duplicate_document``, invalid rows by the issue name
    :func:`_row_key` gives. Arrow chunks are validated once per distinct (language, group)
    value pair (dictionary-encoded), column lists once per row with a cache.
    """
    issues = Counter() if issues is None else issues
    n = n_rows(batch)
    skipped = np.zeros(n, dtype=bool)
    if skip is not None and len(skip):
        skipped[np.asarray(skip, dtype=np.int64)] = True
    keep_langs = set(cfg.languages) if cfg.languages else None
    if not isinstance(batch, dict):
        try:
            return _group_encoded(batch, cfg, skipped, keep_langs, issues)
        except (pa.ArrowNotImplementedError, pa.ArrowInvalid, TypeError):  # e.g. a list column: row by row
            batch = {c: batch.column(c).to_pylist() for c in ("language", cfg.date_col or cfg.group_col)}
    langs, groups = batch["language"], batch[cfg.date_col or cfg.group_col]
    key_cache: dict[tuple, Any] = {}
    grouped: dict[tuple, list] = {}
    for i in range(n):
        raw = (langs[i], groups[i])
        if skipped[i]:
            issues[("duplicate_document", _language_raw(raw[0]))] += 1
            continue
        try:
            key = key_cache[raw]
        except KeyError:
            key = key_cache[raw] = _row_key(raw[0], raw[1], cfg, keep_langs)
        except TypeError:  # unhashable cell
            key = _row_key(raw[0], raw[1], cfg, keep_langs)
        if isinstance(key, str):
            if key:
                issues[(key, _language_raw(raw[0]))] += 1
            continue
        grouped.setdefault(key, []).append(i)
    return {k: np.asarray(v, dtype=np.int64) for k, v in grouped.items()}


def _language_raw(value: Any) -> str:
    return value.strip().lower() if isinstance(value, str) else ""


def _group_encoded(batch: pa.RecordBatch, cfg: CountConfig, skipped: np.ndarray, keep_langs: set[str] | None,
                   issues: Counter) -> dict[tuple, np.ndarray]:
    """:func:`group_rows` for an Arrow chunk: one :func:`_row_key` call per distinct (language, group)."""
    codes, values = [], []
    for name in ("language", cfg.date_col or cfg.group_col):
        enc = pc.dictionary_encode(batch.column(name))
        distinct = enc.dictionary.to_pylist() + [None]  # the last code: missing
        codes.append(pc.fill_null(enc.indices, len(distinct) - 1).to_numpy(zero_copy_only=False).astype(np.int64))
        values.append(distinct)
    width = len(values[1])
    pair = codes[0] * width + codes[1]
    if skipped.any():
        per_language = np.bincount(codes[0][skipped], minlength=len(values[0]))
        for li in np.flatnonzero(per_language):
            issues[("duplicate_document", _language_raw(values[0][li]))] += int(per_language[li])
        pair = np.where(skipped, -1, pair)
    order = np.argsort(pair, kind="stable")
    sorted_pair = pair[order]
    starts = np.flatnonzero(np.r_[True, sorted_pair[1:] != sorted_pair[:-1]]) if len(pair) else np.zeros(0, int)
    grouped: dict[tuple, list[np.ndarray]] = {}
    for lo, hi in zip(starts, np.r_[starts[1:], len(pair)]):
        p = int(sorted_pair[lo])
        if p < 0:
            continue
        lang, graw = values[0][p // width], values[1][p % width]
        key = _row_key(lang, graw, cfg, keep_langs)
        if isinstance(key, str):
            if key:
                issues[(key, _language_raw(lang))] += int(hi - lo)
            continue
        grouped.setdefault(key, []).append(order[lo:hi])
    return {k: np.sort(np.concatenate(v)) for k, v in grouped.items()}


def count_batch(batch: pa.RecordBatch | dict[str, list], cfg: CountConfig, skip: Any = None) -> dict[str, Any]:
    """Count one chunk (an Arrow record batch or a dict of equal-length column lists); see the module docstring.

    ``skip``: row positions of this chunk to leave out as exact duplicates of
    earlier rows (counted as ``duplicate_document``). The result holds the
    rows' key hashes (``keys``, :func:`key_hashes`) for duplicate detection across chunks.

    Rows are validated and grouped by (language, group) with per-value caches; each
    group's raw texts are counted on columns (:mod:`.kernel`), pre-tokenised texts (and
    texts Arrow cannot hold) by a per-text loop of C-level calls (:func:`_count_texts`).
    Returns a plain dict of Counters keyed by (language, group), cheap to pickle and
    merged by addition.
    """
    texts, upos = chunk_texts(batch, cfg)
    issues: Counter = Counter()
    grouped = group_rows(batch, cfg, skip, issues)
    docs: dict[tuple, Counter] = {}
    toks: dict[tuple, Counter] = {}
    n_docs: Counter = Counter()
    n_content: Counter = Counter()
    n_tokens = 0
    full = cfg.mode == "full"
    split_text = cfg.text_col == "text"
    for key in sorted(grouped, key=repr):
        lang = key[0]
        rows = grouped[key].tolist()
        memo = _memo(lang, cfg)
        tlist = group_texts(texts, rows) if split_text else [as_text(texts[i]) for i in rows]
        if isinstance(tlist, list):
            tags = [upos[i] for i in rows] if upos is not None else None
            got = _count_texts(tlist, tags, lang, cfg, issues)
        else:
            got = _count_columns(tlist, lang, cfg)
        d, t, nd, nc, nt, empty, bad = got
        if empty:
            issues[("empty_text", lang)] += empty
        if bad:
            issues[("undecodable_bytes", lang)] += bad
        if split_text and not getattr(memo, "known", True) and nd:
            issues[("no_lemmatizer", lang)] += nd
        if nd:
            n_docs[key] += nd
            n_content[key] += nc
            n_tokens += nt
            docs[key] = d
            if full:
                toks[key] = t
    lemmas = {}
    for (lang, flt, tc), m in _MEMOS.items():
        if isinstance(m, LemmaMemo) and m.known and m.new:
            lemmas.setdefault(m.lemma_code, {}).update(m.take_new())
    return {"docs": docs, "tokens": toks, "n_docs": n_docs, "n_content": n_content,
            "n_tokens": n_tokens, "issues": issues, "lemmas": lemmas, "keys": key_hashes(batch, cfg)}


def _count_columns(texts: pa.Array, lang: str, cfg: CountConfig) -> tuple:
    """(docs Counter, tokens Counter, documents, content tokens, word tokens, empty, undecodable) of raw texts."""
    index = _index(lang, cfg)
    occ = lemma_occurrences(texts, _pieces(lang, cfg), index)
    used = occ.n_words > 0
    bad = int((pc.match_substring(texts, "\ufffd").to_numpy(zero_copy_only=False) & used).sum())
    full = cfg.mode == "full"
    doc_counts, tok_counts = count_lemmas(occ, len(index.names), window=None if full else cfg.window)
    return (Counter(as_counter_items(doc_counts, index.names)),
            Counter(as_counter_items(tok_counts, index.names)) if full else Counter(),
            int(used.sum()), len(occ.lemma), int(occ.n_words.sum()), int((~used).sum()), bad)


def _count_texts(tlist: list[str], tags: list | None, lang: str, cfg: CountConfig, issues: Counter) -> tuple:
    """The per-text loop of :func:`_count_columns` (pre-tokenised texts, upos tags, texts Arrow cannot hold)."""
    get = _memo(lang, cfg).__getitem__
    pieces = _pieces(lang, cfg) if cfg.text_col == "text" else None
    use_upos = cfg.content_filter == "upos" and tags is not None
    full = cfg.mode == "full"
    acc: list[str] = []
    tok_acc: list[str] = []
    nd = nc = nt = empty = bad = 0
    for j, text in enumerate(tlist):
        if pieces is not None:
            lem, n_words = text_lemmas(text, pieces)
        else:
            words = text.split()
            n_words = len(words)
        if not n_words:
            empty += 1
            continue
        if "\ufffd" in text:
            bad += 1
        if pieces is None:
            if use_upos:
                tag = str(tags[j] or "").split()
                if len(tag) != len(words):
                    issues[("upos_misaligned", lang)] += 1
                    continue
                lem = [m for m, t in zip(map(get, words), tag) if m and t.upper() in CONTENT_UPOS]
            else:
                lem = list(filter(None, map(get, words)))
        nd += 1
        nt += n_words
        nc += len(lem)
        if full:
            tok_acc.extend(lem)
            acc.extend(set(lem))
        else:
            acc.extend(set(lem[:cfg.window]))
    return Counter(acc), Counter(tok_acc), nd, nc, nt, empty, bad


def _row_key(lang: Any, graw: Any, cfg: CountConfig, keep_langs: set[str] | None) -> Any:
    """(language, group) for a valid row; an issue name (str) or '' (skipped silently: excluded language)."""
    if lang is None or isinstance(lang, float) or not str(lang).strip():
        return "missing_language"
    lang = str(lang).strip().lower()
    if keep_langs is not None and lang not in keep_langs:
        return ""
    g = _group_value(graw, cfg)
    if g is None:
        return "bad_" + ("source" if cfg.group_col == "source" else "year")
    return (lang, g)


def merge_counts(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Sum chunk counts (order-independent integer addition)."""
    out: dict[str, Any] = {"docs": {}, "tokens": {}, "n_docs": Counter(), "n_content": Counter(),
                           "n_tokens": 0, "issues": Counter()}
    for p in parts:
        _merge_into(out, p)
    return out


def _merge_into(out: dict[str, Any], p: dict[str, Any]) -> None:
    for name in ("docs", "tokens"):
        for k, c in p[name].items():
            if k in out[name]:
                out[name][k].update(c)
            else:
                out[name][k] = Counter(c)
    out["n_docs"].update(p["n_docs"])
    out["n_content"].update(p["n_content"])
    out["issues"].update(p["issues"])
    out["n_tokens"] += p["n_tokens"]
    for code, new in p.get("lemmas", {}).items():
        out.setdefault("lemmas", {}).setdefault(code, {}).update(new)


# --------------------------------------------------------------------------- drivers
@dataclass(frozen=True)
class CorpusCounts:
    """Merged counts of one corpus.

    ``docs``: language, <group>, lemma, docs (documents whose window -- or,
    in full mode, whole text -- contains the lemma); ``tokens`` (full mode):
    language, <group>, lemma, tokens; ``totals``: language, <group>, n_docs,
    n_content_tokens; ``issues``: check, language, count; ``n_tokens``: word
    tokens tokenised (before the content filter).
    """

    group_col: str
    docs: pd.DataFrame
    tokens: pd.DataFrame
    totals: pd.DataFrame
    issues: pd.DataFrame
    n_tokens: int
    config: CountConfig = field(default_factory=CountConfig)
    #: chunk number -> row positions dropped as exact duplicates (for later passes over the same file)
    duplicate_rows: dict = field(default_factory=dict, repr=False)


def to_frames(merged: dict[str, Any], cfg: CountConfig) -> CorpusCounts:
    """Merged counters -> sorted DataFrames (deterministic row order)."""
    g = cfg.group_col

    def long(name: str, value: str) -> pd.DataFrame:
        rows_l, rows_g, rows_w, rows_v = [], [], [], []
        for (lang, grp), c in merged[name].items():
            if not c:
                continue
            rows_l.extend([lang] * len(c))
            rows_g.extend([grp] * len(c))
            rows_w.extend(c.keys())
            rows_v.extend(c.values())
        df = pd.DataFrame({"language": rows_l, g: rows_g, "lemma": rows_w,
                           value: np.asarray(rows_v, dtype=np.int64)})
        if g == "year":
            df[g] = df[g].astype(np.int64)
        return df.sort_values(["language", g, "lemma"], kind="mergesort").reset_index(drop=True)

    keys = sorted(merged["n_docs"])
    totals = pd.DataFrame({
        "language": [k[0] for k in keys], g: [k[1] for k in keys],
        "n_docs": np.array([merged["n_docs"][k] for k in keys], dtype=np.int64),
        "n_content_tokens": np.array([merged["n_content"][k] for k in keys], dtype=np.int64),
    })
    if g == "year":
        totals[g] = totals[g].astype(np.int64)
    ik = sorted(merged["issues"])
    issues = pd.DataFrame({"check": [k[0] for k in ik], "language": [k[1] for k in ik],
                           "count": np.array([merged["issues"][k] for k in ik], dtype=np.int64)})
    return CorpusCounts(g, long("docs", "docs"), long("tokens", "tokens"), totals, issues,
                        int(merged["n_tokens"]), cfg)


def count_corpus(path: str | Path, cfg: CountConfig, *, n_workers: int = 2, chunk_rows: int = 20_000,
                 dask_scheduler: Any = None, progress: bool = False, desc: str = "counting") -> CorpusCounts:
    """Stream ``path`` in chunks and count it (serial, processes or Dask); see the module docstring.

    ``dask_scheduler`` is a scheduler address (``tcp://host:8786``) or a
    ``distributed.Client``; the same :func:`count_batch` is then run on the
    cluster's workers (which must be able to import studykit). A corpus with
    exact duplicate rows is counted twice, the second time without the later
    copies.
    """
    path = Path(path)
    columns = (["language", cfg.date_col or cfg.group_col, cfg.text_col] + ([cfg.upos_col] if cfg.upos_col else [])
               + ([cfg.id_col] if cfg.id_col else []))
    run = dict(n_workers=n_workers, chunk_rows=chunk_rows, dask_scheduler=dask_scheduler, progress=progress)
    merged, hashes = _count_pass(path, cfg, columns, desc=desc, skip=None, **run)
    sizes = [len(hashes[i]) for i in sorted(hashes)]
    keys = np.concatenate([hashes[i] for i in sorted(hashes)]) if hashes else np.zeros(0, np.uint64)
    # only rows whose key repeats can be exact duplicates: compare those by their full content
    _, inverse, count = np.unique(keys, return_inverse=True, return_counts=True)
    candidate = count[inverse] > 1
    later_copy = np.zeros(len(keys), dtype=bool)
    repeated_keys = 0
    skip: dict[int, np.ndarray] = {}
    if candidate.any():
        content, key_digest = _candidate_digests(path, cfg, columns, chunk_rows, candidate, sizes)
        copy = np.ones(len(content), dtype=bool)
        copy[np.unique(content, return_index=True)[1]] = False
        later_copy[candidate] = copy
        kept_keys = key_digest[~copy]
        repeated_keys = len(kept_keys) - len(np.unique(kept_keys))
    if later_copy.any():
        bounds = np.cumsum([0] + sizes)
        skip = {i: np.flatnonzero(later_copy[bounds[i]:bounds[i + 1]]) for i in range(len(bounds) - 1)}
        merged, _ = _count_pass(path, cfg, columns, desc=desc + " (without duplicates)", skip=skip, **run)
    if repeated_keys and cfg.id_col:
        merged["issues"][("duplicate_doc_id", "")] += repeated_keys
    save_lemma_cache(merged.get("lemmas", {}))
    return dataclasses.replace(to_frames(merged, cfg), duplicate_rows={i: v for i, v in skip.items() if len(v)})


def _candidate_digests(path: Path, cfg: CountConfig, columns: list[str], chunk_rows: int, candidate: np.ndarray,
                       sizes: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """(content digest, key digest) of the candidate rows (:func:`row_digests`), in row order, read again."""
    bounds = np.cumsum([0] + sizes)
    content, keys = [], []
    for i, batch in enumerate(iter_batches(path, columns, chunk_rows)):
        rows = np.flatnonzero(candidate[bounds[i]:bounds[i + 1]])
        if not len(rows):
            continue
        if isinstance(batch, dict):
            part = {c: [v[j] for j in rows] for c, v in batch.items()}
        else:
            part = batch.take(pa.array(rows)).to_pydict()
        c, k = row_digests(part, cfg)
        content.append(c)
        keys.append(k)
    return np.concatenate(content), np.concatenate(keys)


def _count_pass(path: Path, cfg: CountConfig, columns: list[str], *, n_workers: int, chunk_rows: int,
                dask_scheduler: Any, progress: bool, desc: str,
                skip: dict[int, np.ndarray] | None) -> tuple[dict[str, Any], dict[int, tuple]]:
    """One pass over the corpus: merged counts and the row key hashes of every chunk (by chunk number)."""
    total_rows = count_rows(path)
    reader_issues: Counter = Counter()
    batches = iter_batches(path, columns, chunk_rows, reader_issues)
    tasks = ((i, b, None if skip is None else skip.get(i)) for i, b in enumerate(batches))
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=total_rows, desc=desc, unit="docs", unit_scale=True, mininterval=1.0)
    merged = merge_counts([])
    hashes: dict[int, np.ndarray] = {}

    def done(index: int, part: dict[str, Any], rows: int) -> None:
        hashes[index] = part.pop("keys")
        _merge_into(merged, part)
        if bar is not None:
            bar.update(rows)

    try:
        if dask_scheduler is not None:
            run_dask(count_batch, tasks, cfg, dask_scheduler, n_workers, done)
        elif n_workers <= 1:
            for i, b, sk in tasks:
                done(i, count_batch(b, cfg, sk), n_rows(b))
        else:
            run_processes(count_batch, tasks, cfg, n_workers, done)
    finally:
        if bar is not None:
            bar.close()
    merged["issues"].update(reader_issues)
    return merged, hashes
