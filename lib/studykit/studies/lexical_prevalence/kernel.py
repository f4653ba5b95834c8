"""The counting kernel on columns: raw texts -> content-lemma occurrences, and the counts built from them.

A chunk of raw texts (an Arrow string array, one language) is split at whitespace by
Arrow (:func:`pyarrow.compute.utf8_split_whitespace`; the same whitespace as
``str.split``) and the pieces are dictionary-encoded, so Python touches each *distinct*
piece of the chunk once: the piece memo (:class:`~.text.PieceMemo`) gives its number of
word tokens and its content lemmas, and a per-language :class:`LemmaIndex` numbers the
lemmas. Everything per token is then integer arithmetic in numpy:

- ``n_words[d]`` (word tokens of document ``d``) sums the pieces' token counts;
- the content-lemma occurrences (document, lemma id) of every document, in text order,
  are the pieces' lemma lists laid end to end (:func:`lemma_occurrences`);
- window prevalence counts each lemma once per document among the document's first
  ``K`` content lemmas, :math:`c_w = \\sum_d 1[w \\in \\{l_{d1}, \\dots, l_{dK}\\}]`;
  full mode counts every occurrence (tokens) and each lemma once per document
  (documents), :func:`count_lemmas`.

The result equals the per-text loop ``filter(None, map(memo, tokenize(text)))`` exactly
(:class:`~.text.PieceMemo` gives the reason); a test compares them.

Row keys of a chunk are hashed here too (:func:`string_hashes`), to find the rows whose
(document id, language, group) repeats in the corpus: only those can be exact
duplicates, and only those are compared by their full content (:mod:`.counting`).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from itertools import chain
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .text import PieceMemo

if TYPE_CHECKING:
    from .counting import CountConfig


class LemmaIndex(dict):
    """lemma -> integer id (0, 1, ... in order of first use); ``names[i]`` is lemma ``i``."""

    def __init__(self):
        super().__init__()
        self.names: list[str] = []

    def __missing__(self, lemma: str) -> int:
        i = self[lemma] = len(self.names)
        self.names.append(lemma)
        return i


@dataclass(frozen=True)
class Occurrences:
    """Content-lemma occurrences of a chunk of documents, in document and text order.

    ``n_words``: word tokens per document; ``doc``: document of each occurrence;
    ``lemma``: its lemma id (:class:`LemmaIndex`); ``start``: first occurrence of each
    document (``start[d]:start[d + 1]``, length documents + 1).
    """

    n_words: np.ndarray
    doc: np.ndarray
    lemma: np.ndarray
    start: np.ndarray


def _offsets(arr: pa.Array) -> np.ndarray:
    """Offsets of a (large) list or string array, as int64, relative to its values."""
    width = np.int64 if pa.types.is_large_list(arr.type) or pa.types.is_large_string(arr.type) else np.int32
    off = np.frombuffer(arr.buffers()[1], dtype=width)[arr.offset:arr.offset + len(arr) + 1]
    return off.astype(np.int64)


def lemma_occurrences(texts: pa.Array, pieces: PieceMemo, index: LemmaIndex) -> Occurrences:
    """Word counts and content-lemma occurrences of every text (module docstring).

    ``texts``: Arrow strings without nulls. Piece ``p`` has :math:`w_p` word tokens and
    content lemmas :math:`(l_{p1}, \\dots, l_{pm_p})`; a document with pieces
    :math:`p_1 \\dots p_r` has :math:`\\sum_i w_{p_i}` word tokens and the lemmas of its
    pieces in order.
    """
    split = pc.utf8_split_whitespace(texts)
    if isinstance(split, pa.ChunkedArray):
        split = split.combine_chunks()
    per_doc = np.diff(_offsets(split))
    encoded = pc.dictionary_encode(split.flatten())
    piece = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
    distinct = encoded.dictionary.to_pylist()
    lemmas = list(map(pieces.__getitem__, distinct))  # fills pieces.words too
    words = np.fromiter(map(pieces.words.__getitem__, distinct), dtype=np.int64, count=len(distinct))
    n_lem = np.fromiter(map(len, lemmas), dtype=np.int64, count=len(distinct))
    ids = np.fromiter(map(index.__getitem__, chain.from_iterable(lemmas)), dtype=np.int64, count=int(n_lem.sum()))
    first = np.concatenate([[0], np.cumsum(n_lem)[:-1]]) if len(n_lem) else n_lem
    n_docs = len(per_doc)
    doc_of_piece = np.repeat(np.arange(n_docs), per_doc)
    n_words = np.bincount(doc_of_piece, weights=words[piece], minlength=n_docs).astype(np.int64)
    count = n_lem[piece]
    total = int(count.sum())
    begin = np.cumsum(count) - count  # where each piece's lemmas go in the occurrence list
    where = np.repeat(first[piece] - begin, count) + np.arange(total)
    doc = np.repeat(doc_of_piece, count)
    start = np.concatenate([[0], np.cumsum(np.bincount(doc, minlength=n_docs))])
    return Occurrences(n_words, doc, ids[where] if total else np.zeros(0, np.int64), start)


def _distinct_per_doc(doc: np.ndarray, lemma: np.ndarray, n_lemmas: int) -> np.ndarray:
    """Number of documents holding each lemma id (each (document, lemma) pair counted once)."""
    if not len(doc):
        return np.zeros(n_lemmas, dtype=np.int64)
    pairs = np.sort(doc * n_lemmas + lemma)
    first = np.r_[True, pairs[1:] != pairs[:-1]]
    return np.bincount(pairs[first] % n_lemmas, minlength=n_lemmas)


def count_lemmas(occ: Occurrences, n_lemmas: int, *, window: int | None) -> tuple[np.ndarray, np.ndarray | None]:
    """(documents per lemma id, tokens per lemma id or None).

    ``window``: count a lemma in a document when it is among the document's first
    ``window`` content lemmas (window mode, no token counts); None: whole documents, with
    token counts (full mode).
    """
    if window is not None:
        rank = np.arange(len(occ.doc)) - occ.start[occ.doc]
        keep = rank < window
        return _distinct_per_doc(occ.doc[keep], occ.lemma[keep], n_lemmas), None
    return (_distinct_per_doc(occ.doc, occ.lemma, n_lemmas),
            np.bincount(occ.lemma, minlength=n_lemmas))


def as_counter_items(counts: np.ndarray, names: list[str]) -> dict[str, int]:
    """{lemma: count} for the ids with a count above 0."""
    nz = np.flatnonzero(counts)
    return dict(zip([names[i] for i in nz], counts[nz].tolist()))


def string_hashes(values: pa.Array) -> np.ndarray:
    """A 64-bit hash of every string (nulls hash as empty strings), computed on the Arrow buffers.

    :math:`h = \\mathrm{mix}(\\sum_i (b_i + 1) P^{n-1-i} + n Q \\bmod 2^{64})` over the UTF-8
    bytes :math:`b_0 \\dots b_{n-1}`, with the splitmix64 finaliser as ``mix``. Not a
    cryptographic hash: equal strings always hash equally, and rows whose hashes repeat are
    compared by their full content by the caller, so a collision costs only that comparison.
    """
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    values = pc.fill_null(values.cast(pa.large_string()), "")
    off = _offsets(values)
    n = len(values)
    if not n:
        return np.zeros(0, np.uint64)
    data = values.buffers()[2]
    raw = (np.frombuffer(data, dtype=np.uint8, count=int(off[-1])) if data is not None
           else np.zeros(0, np.uint8))[off[0]:off[-1]].astype(np.uint64)
    length = np.diff(off)
    with np.errstate(over="ignore"):
        powers = np.cumprod(np.full(max(int(length.max()), 1), np.uint64(0x100000001B3)), dtype=np.uint64)
        powers = np.concatenate([[np.uint64(1)], powers[:-1]])
        pos = np.arange(len(raw), dtype=np.int64) + off[0]
        end = np.repeat(off[1:], length)
        terms = (raw + np.uint64(1)) * powers[end - 1 - pos]
        h = np.zeros(n, dtype=np.uint64)
        nonempty = length > 0
        if nonempty.any():
            h[nonempty] = np.add.reduceat(terms, (off[:-1] - off[0])[nonempty])
        h += length.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        h ^= h >> np.uint64(30)
        h *= np.uint64(0xBF58476D1CE4E5B9)
        h ^= h >> np.uint64(27)
        h *= np.uint64(0x94D049BB133111EB)
        h ^= h >> np.uint64(31)
    return h


# ---- row keys and digests of a chunk (duplicate detection, :mod:`.counting`)
def _digest(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little")


def _key_strings(batch: dict[str, list], cfg: CountConfig) -> list[str]:
    n = len(batch["language"])
    ids = batch[cfg.id_col] if cfg.id_col else [""] * n
    groups = batch[cfg.date_col or cfg.group_col]
    return ["\x1f".join((str(i), str(l), str(g))) for i, l, g in zip(ids, batch["language"], groups)]


def row_digests(batch: dict[str, list], cfg: CountConfig) -> tuple[np.ndarray, np.ndarray]:
    """(content digest, key digest) of every row of a chunk, as uint64 arrays (see :mod:`.counting`)."""
    n = len(batch["language"])
    upos = batch.get(cfg.upos_col) if cfg.upos_col else None
    keys = _key_strings(batch, cfg)
    texts = batch[cfg.text_col]
    content = [k + "\x1e" + str(t) + ("\x1e" + str(upos[j]) if upos is not None else "")
               for j, (k, t) in enumerate(zip(keys, texts))]
    return (np.fromiter(map(_digest, content), dtype=np.uint64, count=n),
            np.fromiter(map(_digest, keys), dtype=np.uint64, count=n))


def key_hashes(batch: pa.RecordBatch | dict[str, list], cfg: CountConfig) -> np.ndarray:
    """A 64-bit hash of every row's (document id, language, group), to find keys that repeat.

    Arrow chunks (Parquet) are hashed on their buffers (:func:`string_hashes`),
    column chunks (CSV, JSONL) by their key digest; one file gives one kind of chunk.
    """
    if isinstance(batch, dict):
        return np.fromiter(map(_digest, _key_strings(batch, cfg)), dtype=np.uint64, count=len(batch["language"]))
    n = batch.num_rows
    parts = [batch.column(cfg.id_col) if cfg.id_col else pa.array([""] * n), batch.column("language"),
             batch.column(cfg.date_col or cfg.group_col)]
    parts = [p.cast(pa.large_string()) if not pa.types.is_large_string(p.type) else p for p in parts]
    joined = pc.binary_join_element_wise(*parts, pa.scalar("\x1f", pa.large_string()), null_handling="replace",
                                         null_replacement="")
    return string_hashes(joined)


def n_rows(batch: pa.RecordBatch | dict[str, list]) -> int:
    """Rows of a chunk."""
    return len(batch["language"]) if isinstance(batch, dict) else batch.num_rows


# ---- the columns of a chunk
def chunk_texts(batch: pa.RecordBatch | dict[str, list], cfg: CountConfig) -> tuple[Any, list | None]:
    """(texts, upos tags) of a chunk: the texts as they come (an Arrow array or a list), the tags as a list."""
    if isinstance(batch, dict):
        return batch[cfg.text_col], batch.get(cfg.upos_col) if cfg.upos_col else None
    return batch.column(cfg.text_col), batch.column(cfg.upos_col).to_pylist() if cfg.upos_col else None


def as_text(text: Any) -> str:
    if text.__class__ is not str:
        text = "" if text is None or isinstance(text, float) else str(text)
    return text


def group_texts(texts: Any, rows: list[int]) -> pa.Array | list[str]:
    """The texts of ``rows`` as an Arrow string array without nulls (missing text: ""), or as a list of
    str when Arrow cannot hold them (lone surrogates from JSON)."""
    if isinstance(texts, (pa.Array, pa.ChunkedArray)) and (pa.types.is_string(texts.type)
                                                           or pa.types.is_large_string(texts.type)):
        return pc.fill_null(texts.take(pa.array(rows, type=pa.int64())), "")
    values = texts.take(pa.array(rows, type=pa.int64())).to_pylist() if isinstance(
        texts, (pa.Array, pa.ChunkedArray)) else [texts[i] for i in rows]
    values = [as_text(t) for t in values]
    try:
        return pa.array(values, type=pa.large_string())
    except (pa.ArrowException, UnicodeError):
        return values
