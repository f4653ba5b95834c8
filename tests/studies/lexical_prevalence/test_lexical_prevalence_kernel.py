"""The counting kernel on columns against the per-text tokenise-and-lemmatise loop it replaced.

Unit: a document (one text); the counts are documents (and tokens) per lemma, per-document content tokens
and set tokens. Texts are drawn at random from pieces that exercise the tokenizer rule (hyphens,
apostrophes, digits, combining marks, Greek capital sigma, U+FFFD, many kinds of whitespace, empty texts).
"""
from __future__ import annotations

from collections import Counter

import numpy as np
import pyarrow as pa
import pytest

from studykit.studies.lexical_prevalence.counting import CountConfig, count_batch
from studykit.studies.lexical_prevalence.documents import count_documents_in_sets
from studykit.studies.lexical_prevalence.kernel import LemmaIndex, lemma_occurrences, string_hashes
from studykit.studies.lexical_prevalence.text import LemmaMemo, PieceMemo, content_lemmas, text_lemmas, tokenize

PIECES = ["The", "crucial", "data,", "well-known", "-dash", "end-", "l'homme", "don't", "42", "x2y", "ΟΔΟΣ", "ΣΑΣ.",
          "όσοσ", "के", "में", "naïve", "Ça", "delves", "intricate", "\ufffd", "—", "a", "...", "İstanbul", "ß"]
SPACES = [" ", "  ", "\t", "\n", "\u00a0", "\u3000", "\x1c", "\u2009", "\u0085"]


def _texts(rng, n):
    out = []
    for _ in range(n):
        k = int(rng.integers(0, 14))
        words = [PIECES[i] for i in rng.integers(0, len(PIECES), k)]
        seps = [SPACES[i] for i in rng.integers(0, len(SPACES), k + 1)]
        out.append("".join(s + w for s, w in zip(seps, words)) + seps[-1])
    return out


@pytest.mark.parametrize("language", ["en", "el", "hi", "xx"])
def test_piece_memo_equals_the_regular_expression_over_the_whole_text(language):
    rng = np.random.default_rng(1)
    memo = LemmaMemo(language)
    pieces = PieceMemo(LemmaMemo(language))
    for text in _texts(rng, 400):
        lem, n_words = text_lemmas(text, pieces)
        assert lem == content_lemmas(text, memo)
        assert n_words == len(tokenize(text))


def _loop_counts(texts, language, mode, window):
    """The counts of a group of texts by the per-text loop: tokenize, lemmatise, filter, window."""
    memo = LemmaMemo(language)
    docs, toks, nd, nc, nt, empty, bad = Counter(), Counter(), 0, 0, 0, 0, 0
    for text in texts:
        words = tokenize(text)
        if not words:
            empty += 1
            continue
        bad += "\ufffd" in text
        lem = content_lemmas(text, memo)
        nd, nc, nt = nd + 1, nc + len(lem), nt + len(words)
        docs.update(set(lem) if mode == "full" else set(lem[:window]))
        toks.update(lem if mode == "full" else [])
    return docs, toks, nd, nc, nt, empty, bad


@pytest.mark.parametrize("mode", ["window", "full"])
def test_column_counts_equal_the_per_text_loop(mode):
    rng = np.random.default_rng(2)
    texts = _texts(rng, 600)
    batch = {"language": ["en"] * 300 + ["el"] * 300, "source": ["ai", "human"] * 300, "text": texts}
    cfg = CountConfig(mode=mode, window=3)
    got = count_batch(pa.RecordBatch.from_pydict(batch), cfg)
    for lang in ("en", "el"):
        empty = bad = 0
        for src in ("ai", "human"):
            rows = [t for t, l, s in zip(texts, batch["language"], batch["source"]) if (l, s) == (lang, src)]
            d, t, nd, nc, nt, e, b = _loop_counts(rows, lang, mode, 3)
            empty, bad = empty + e, bad + b
            assert got["docs"][(lang, src)] == d
            assert got["tokens"].get((lang, src), Counter()) == t
            assert (got["n_docs"][(lang, src)], got["n_content"][(lang, src)]) == (nd, nc)
        assert (got["issues"][("empty_text", lang)], got["issues"][("undecodable_bytes", lang)]) == (empty, bad)
    assert got["n_tokens"] == sum(len(tokenize(t)) for t in texts)
    # the same chunk as column lists (CSV, JSONL) counts the same
    lists = count_batch(batch, cfg)
    assert (lists["docs"], lists["tokens"], lists["issues"]) == (got["docs"], got["tokens"], got["issues"])


def test_documents_in_sets_equal_the_per_text_loop():
    rng = np.random.default_rng(3)
    texts = _texts(rng, 500)
    years = list(rng.choice([2020, 2023], 500))
    sets = {"en": {"ai": frozenset({"crucial", "delve", "intricate"}), "baseline": frozenset({"data", "naïve"})}}
    batch = {"language": ["en"] * 500, "year": years, "text": texts}
    cfg = CountConfig(mode="full", group_col="year")
    got = count_documents_in_sets(pa.RecordBatch.from_pydict(batch), cfg, sets)
    memo = LemmaMemo("en")
    want = [(y, content_lemmas(t, memo)) for t, y in zip(texts, years) if tokenize(t)]
    assert list(got["year"]) == [y for y, _ in want]
    assert list(got["n_content"]) == [len(lem) for _, lem in want]
    for name, members in sets["en"].items():
        assert list(got[name]) == [sum(x in members for x in lem) for _, lem in want]


def test_lemma_occurrences_keep_text_order_and_window():
    texts = pa.array(["crucial data crucial", "", "the delve, delves data"], type=pa.large_string())
    index = LemmaIndex()
    occ = lemma_occurrences(texts, PieceMemo(LemmaMemo("en")), index)
    lemmas = [[index.names[i] for i in occ.lemma[occ.start[d]:occ.start[d + 1]]] for d in range(3)]
    assert lemmas == [["crucial", "data", "crucial"], [], ["delve", "delve", "data"]]
    assert occ.n_words.tolist() == [3, 0, 4]


def test_string_hashes_are_equal_for_equal_strings_and_spread_otherwise():
    rng = np.random.default_rng(4)
    values = [f"d{i}\x1fen\x1f{rng.integers(3)}" for i in range(20_000)] + ["", None, "é" * 300]
    arr = pa.array(values * 2, type=pa.large_string())
    h = string_hashes(arr)
    assert np.array_equal(h[: len(values)], h[len(values):])  # equal strings, equal hashes
    assert len(np.unique(h[: len(values)])) == len(values) - 1  # None hashes as ""
    sliced = string_hashes(pa.array(values, type=pa.string()).slice(5, 100))  # offsets into a shared buffer
    assert np.array_equal(sliced, h[5:105])
