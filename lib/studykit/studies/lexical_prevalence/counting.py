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

Duplicates: every row gets two 64-bit BLAKE2b digests, one of its content
(``doc_id``, language, source or year, text, upos) and one of its key
(``doc_id``, language, source or year). When two rows have the same content
digest, the corpus is counted a second time without the later copies (exact
duplicate documents are dropped, first copy kept, reported as
``duplicate_document``); rows that share a key but differ in content are all
kept and reported as ``duplicate_doc_id``. Corpora without duplicates are
read once.

Memoisation: each worker process keeps one :class:`~.text.LemmaMemo` per
(language, filter), so a surface form is lemmatised once per process.
"""
from __future__ import annotations

import dataclasses
import hashlib
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from studykit.errors import ParamError

from .reading import count_rows, iter_batches, peek_columns  # noqa: F401 (peek_columns: re-exported)
from .text import CONTENT_UPOS, TOKEN_RE, LemmaMemo, TokenMemo, save_lemma_cache

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


def _digest(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little")


def row_digests(batch: dict[str, list], cfg: CountConfig) -> tuple[np.ndarray, np.ndarray]:
    """(content digest, key digest) of every row of a chunk, as uint64 arrays (see the module docstring)."""
    n = len(batch["language"])
    ids = batch[cfg.id_col] if cfg.id_col else [""] * n
    groups = batch[cfg.date_col or cfg.group_col]
    upos = batch.get(cfg.upos_col) if cfg.upos_col else None
    keys = ["\x1f".join((str(i), str(l), str(g))) for i, l, g in zip(ids, batch["language"], groups)]
    texts = batch[cfg.text_col]
    content = [k + "\x1e" + str(t) + ("\x1e" + str(upos[j]) if upos is not None else "")
               for j, (k, t) in enumerate(zip(keys, texts))]
    return (np.fromiter(map(_digest, content), dtype=np.uint64, count=n),
            np.fromiter(map(_digest, keys), dtype=np.uint64, count=n))


def count_batch(batch: dict[str, list], cfg: CountConfig, skip: Any = None) -> dict[str, Any]:
    """Count one chunk (a dict of equal-length column lists); see the module docstring.

    ``skip``: row positions of this chunk to leave out as exact duplicates of
    earlier rows (counted as ``duplicate_document``). The result holds the
    rows' digests (``digests``) for duplicate detection across chunks.

    Two passes: rows are validated and grouped by (language, group) with
    per-value caches, then each group runs a tight loop of C-level calls
    (regex ``findall``, ``map`` over the memo, ``filter``, ``set``) whose
    window lemma sets are counted once per group. Returns a plain dict of
    Counters keyed by (language, group), cheap to pickle and merged by addition.
    """
    langs = batch["language"]
    groups = batch[cfg.date_col or cfg.group_col]
    texts = batch[cfg.text_col]
    upos = batch.get(cfg.upos_col) if cfg.upos_col else None
    keep_langs = set(cfg.languages) if cfg.languages else None
    issues: Counter = Counter()
    key_cache: dict[tuple, Any] = {}
    grouped: dict[tuple, list] = {}
    grouped_upos: dict[tuple, list] = {}
    skip_rows = set() if skip is None else set(int(i) for i in skip)
    for i in range(len(texts)):
        raw = (langs[i], groups[i])
        if i in skip_rows:
            lang_raw = raw[0].strip().lower() if isinstance(raw[0], str) else ""
            issues[("duplicate_document", lang_raw)] += 1
            continue
        try:
            key = key_cache[raw]
        except KeyError:
            key = _row_key(raw[0], raw[1], cfg, keep_langs)
            key_cache[raw] = key
        except TypeError:  # unhashable cell
            key = _row_key(raw[0], raw[1], cfg, keep_langs)
        if isinstance(key, str):
            if key:
                issues[(key, raw[0].strip().lower() if isinstance(raw[0], str) else "")] += 1
            continue
        text = texts[i]
        if text.__class__ is not str:
            text = "" if text is None or isinstance(text, float) else str(text)
        lst = grouped.get(key)
        if lst is None:
            lst = grouped[key] = []
            grouped_upos[key] = []
        lst.append(text)
        if upos is not None:
            grouped_upos[key].append(upos[i])
    docs: dict[tuple, Counter] = {}
    toks: dict[tuple, Counter] = {}
    n_docs: Counter = Counter()
    n_content: Counter = Counter()
    n_tokens = 0
    window = cfg.window
    full = cfg.mode == "full"
    use_upos = cfg.content_filter == "upos" and upos is not None
    split_text = cfg.text_col == "text"
    findall = TOKEN_RE.findall
    for key in sorted(grouped, key=repr):
        lang = key[0]
        tlist = grouped[key]
        memo = _memo(lang, cfg)
        get = memo.__getitem__
        acc: list[str] = []
        tok_acc: list[str] = []
        nd = nc = nt = empty = bad = 0
        for j, text in enumerate(tlist):
            words = findall(text.lower()) if split_text else text.split()
            if not words:
                empty += 1
                continue
            if "\ufffd" in text:
                bad += 1
            if use_upos:
                tags = str(grouped_upos[key][j] or "").split()
                if len(tags) != len(words):
                    issues[("upos_misaligned", lang)] += 1
                    continue
                lem = [m for m, t in zip(map(get, words), tags) if m and t.upper() in CONTENT_UPOS]
            else:
                lem = list(filter(None, map(get, words)))
            nd += 1
            nt += len(words)
            nc += len(lem)
            if full:
                tok_acc.extend(lem)
                acc.extend(set(lem))
            else:
                acc.extend(set(lem[:window]))
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
            docs[key] = Counter(acc)
            if full:
                toks[key] = Counter(tok_acc)
    lemmas = {}
    for (lang, flt, tc), m in _MEMOS.items():
        if isinstance(m, LemmaMemo) and m.known and m.new:
            lemmas.setdefault(m.lemma_code, {}).update(m.take_new())
    return {"docs": docs, "tokens": toks, "n_docs": n_docs, "n_content": n_content,
            "n_tokens": n_tokens, "issues": issues, "lemmas": lemmas, "digests": row_digests(batch, cfg)}


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
    merged, digests = _count_pass(path, cfg, columns, desc=desc, skip=None, **run)
    content = np.concatenate([digests[i][0] for i in sorted(digests)]) if digests else np.zeros(0, np.uint64)
    keys = np.concatenate([digests[i][1] for i in sorted(digests)]) if digests else np.zeros(0, np.uint64)
    later_copy = np.ones(len(content), dtype=bool)
    later_copy[np.unique(content, return_index=True)[1]] = False
    skip: dict[int, np.ndarray] = {}
    if later_copy.any():
        bounds = np.cumsum([0] + [len(digests[i][0]) for i in sorted(digests)])
        skip = {i: np.flatnonzero(later_copy[bounds[i]:bounds[i + 1]]) for i in range(len(bounds) - 1)}
        merged, _ = _count_pass(path, cfg, columns, desc=desc + " (without duplicates)", skip=skip, **run)
    kept_keys = keys[~later_copy]
    repeated_keys = len(kept_keys) - len(np.unique(kept_keys))
    if repeated_keys and cfg.id_col:
        merged["issues"][("duplicate_doc_id", "")] += repeated_keys
    save_lemma_cache(merged.get("lemmas", {}))
    return dataclasses.replace(to_frames(merged, cfg), duplicate_rows={i: v for i, v in skip.items() if len(v)})


def _count_pass(path: Path, cfg: CountConfig, columns: list[str], *, n_workers: int, chunk_rows: int,
                dask_scheduler: Any, progress: bool, desc: str,
                skip: dict[int, np.ndarray] | None) -> tuple[dict[str, Any], dict[int, tuple]]:
    """One pass over the corpus: merged counts and the row digests of every chunk (by chunk number)."""
    total_rows = count_rows(path)
    reader_issues: Counter = Counter()
    batches = iter_batches(path, columns, chunk_rows, reader_issues)
    tasks = ((i, b, None if skip is None else skip.get(i)) for i, b in enumerate(batches))
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=total_rows, desc=desc, unit="docs", unit_scale=True, mininterval=1.0)
    merged = merge_counts([])
    digests: dict[int, tuple] = {}

    def done(index: int, part: dict[str, Any], rows: int) -> None:
        digests[index] = part.pop("digests")
        _merge_into(merged, part)
        if bar is not None:
            bar.update(rows)

    try:
        if dask_scheduler is not None:
            _run_dask(tasks, cfg, dask_scheduler, n_workers, done)
        elif n_workers <= 1:
            for i, b, sk in tasks:
                done(i, count_batch(b, cfg, sk), len(b["language"]))
        else:
            _run_processes(tasks, cfg, n_workers, done)
    finally:
        if bar is not None:
            bar.close()
    merged["issues"].update(reader_issues)
    return merged, digests


def _run_processes(tasks, cfg, n_workers, done) -> None:
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    with ProcessPoolExecutor(max_workers=n_workers) as pool:
        inflight: dict = {}
        for i, b, sk in tasks:
            inflight[pool.submit(count_batch, b, cfg, sk)] = (i, len(b["language"]))
            if len(inflight) >= 2 * n_workers:
                finished, _ = wait(list(inflight), return_when=FIRST_COMPLETED)
                for f in finished:
                    done(*_with_result(inflight.pop(f), f))
        for f in list(inflight):
            done(*_with_result(inflight.pop(f), f))


def _with_result(info: tuple[int, int], future) -> tuple[int, dict, int]:
    return info[0], future.result(), info[1]


def _run_dask(tasks, cfg, scheduler, n_workers, done) -> None:
    try:
        from distributed import Client
    except ImportError:  # pragma: no cover
        raise ParamError("parameter 'dask_scheduler': the 'distributed' package is not installed") from None
    own = False
    if isinstance(scheduler, Client):
        client = scheduler
    else:
        try:
            client = Client(str(scheduler), timeout="20s", set_as_default=False)
        except Exception as exc:
            raise ParamError(f"parameter 'dask_scheduler': cannot connect to {scheduler}: {exc}") from None
        own = True
    try:
        from distributed import as_completed

        n_cluster = max(1, len(client.scheduler_info().get("workers", {})))
        limit = 2 * n_cluster
        ac = as_completed(loop=client.loop)
        sizes: dict = {}
        for i, b, sk in tasks:
            fut = client.submit(count_batch, b, cfg, sk, pure=False)
            sizes[fut.key] = (i, len(b["language"]))
            ac.add(fut)
            if ac.count() >= limit:
                f = next(ac)
                done(*_with_result(sizes.pop(f.key), f))
        for f in ac:
            done(*_with_result(sizes.pop(f.key), f))
    finally:
        if own:
            client.close()
