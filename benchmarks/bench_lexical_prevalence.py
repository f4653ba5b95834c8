"""Benchmark: tokenise + lemmatise + count (window prevalence) per core, against spaCy.

Same texts for every row: the embedded comparison corpus (5 languages,
25,000 simulated text halves), repeated ``--repeat`` times. Throughput is
word tokens (this study's tokenizer) per second of one process; the
ratio column is each pipeline's time relative to ours. Times are CPU seconds of
the process (``time.process_time``), so a busy shared machine does not
inflate them; tokens/s/core = tokens / CPU seconds.

Rows
- studykit (warm memo): ``count_batch`` after one pass has filled the lemma memo (it includes the
  per-row duplicate digests)
- of which duplicate digests: ``row_digests`` alone (two BLAKE2b-64 digests per row)
- studykit (cold process): first pass in a fresh process (memo filled from the on-disk lemma cache)
- simplemma without our memo: same tokenizer, ``simplemma.lemmatize`` per token (its own LRU cache)
- spaCy tokenizer only: ``spacy.blank(lang).make_doc``
- spaCy blank + lookup lemmatizer: ``spacy.blank(lang)`` + ``lemmatizer`` (mode ``lookup``,
  spacy-lookups-data) via ``nlp.pipe``; languages without a lookup table are skipped and named
Run: ``.venv/bin/python benchmarks/bench_lexical_prevalence.py [--repeat N]``
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lib"))

from studykit.studies.lexical_prevalence.counting import CountConfig, count_batch, row_digests  # noqa: E402
from studykit.studies.lexical_prevalence.text import TOKEN_RE, stopwords  # noqa: E402

CORPUS = ROOT / "data" / "lexical_prevalence" / "corpus.parquet"


def load(repeat: int) -> dict[str, list]:
    t = pq.read_table(CORPUS, columns=["language", "source", "text"]).to_pydict()
    return {k: v * repeat for k, v in t.items()}


def n_tokens(batch) -> int:
    return sum(len(TOKEN_RE.findall(x.lower())) for x in batch["text"])


def timed(fn, *a):
    """CPU seconds of this process (robust to other jobs sharing the cores) and the result."""
    t0 = time.process_time()
    r = fn(*a)
    return time.process_time() - t0, r


def simplemma_no_memo(batch, window=12):
    import simplemma

    out: Counter = Counter()
    for lang, text in zip(batch["language"], batch["text"]):
        stop = stopwords(lang)[0]
        lem = [simplemma.lemmatize(w, lang=lang).lower() for w in TOKEN_RE.findall(text.lower())
               if len(w) > 1 and w not in stop]
        out.update(set(lem[:window]))
    return out


def spacy_pipes(langs):
    import spacy

    tok, lem, skipped = {}, {}, []
    for lang in langs:
        nlp = spacy.blank(lang)
        tok[lang] = nlp
        try:
            nlp2 = spacy.blank(lang)
            nlp2.add_pipe("lemmatizer", config={"mode": "lookup"})
            nlp2.initialize()
            lem[lang] = nlp2
        except Exception as exc:  # no lookup table for this language
            skipped.append(f"{lang} ({type(exc).__name__})")
    return tok, lem, skipped


def by_lang(batch, langs):
    return {l: [t for x, t in zip(batch["language"], batch["text"]) if x == l] for l in langs}


def spacy_tokenize(nlp, groups):
    n = 0
    for lang, texts in groups.items():
        for doc in nlp[lang].tokenizer.pipe(texts, batch_size=1000):
            n += len(doc)
    return n


def spacy_lemma_count(nlp, groups, window=12):
    out: Counter = Counter()
    for lang, texts in groups.items():
        for doc in nlp[lang].pipe(texts, batch_size=1000):
            lem = [t.lemma_.lower() for t in doc if t.is_alpha and not t.is_stop and len(t) > 1]
            out.update(set(lem[:window]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    batch = load(args.repeat)
    cfg = CountConfig()
    if args.child:  # cold-process measurement
        dt, _ = timed(count_batch, batch, cfg)
        print(dt)
        return
    ntok = n_tokens(batch)
    langs = sorted(set(batch["language"]))
    rows = []
    cold = float(subprocess.run([sys.executable, __file__, "--child", "--repeat", str(args.repeat)],
                                capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1])
    count_batch(batch, cfg)  # warm the memo
    warm = min(timed(count_batch, batch, cfg)[0] for _ in range(3))
    rows.append(("studykit tokenise+lemmatise+count (warm memo)", warm, ""))
    rows.append(("studykit, cold process (on-disk lemma cache)", cold, ""))
    digests = min(timed(row_digests, batch, cfg)[0] for _ in range(3))
    rows.append(("  of which duplicate digests (row_digests)", digests, "part of the warm row"))
    sub = {k: v[: len(v) // (4 * args.repeat)] for k, v in batch.items()}  # slow baselines: a quarter of one copy
    frac = len(sub["text"]) / len(batch["text"])
    t, _ = timed(simplemma_no_memo, sub)
    rows.append(("simplemma.lemmatize per token, no memo", t / frac, "extrapolated from 1/4 of one copy"))
    tok, lem, skipped = spacy_pipes(langs)
    groups = by_lang(batch, langs)
    t, _ = timed(spacy_tokenize, tok, groups)
    rows.append(("spaCy blank tokenizer only", t, ""))
    g2 = {l: v for l, v in by_lang(sub, langs).items() if l in lem}
    nsub = sum(len(TOKEN_RE.findall(x.lower())) for l in g2 for x in g2[l])
    t, _ = timed(spacy_lemma_count, lem, g2)
    rows.append(("spaCy blank + lookup lemmatizer + count", t * ntok / max(nsub, 1),
                 f"languages {','.join(sorted(g2))}; extrapolated" + (f"; skipped {', '.join(skipped)}" if skipped else "")))
    print(f"texts: {len(batch['text']):,}   word tokens: {ntok:,}   languages: {','.join(langs)}")
    print(f"{'pipeline':50s} {'seconds':>9s} {'tokens/s/core':>14s} {'time vs ours':>13s}  note")
    for name, sec, note in rows:
        print(f"{name:50s} {sec:9.2f} {ntok / sec:14,.0f} {sec / warm:12.1f}x  {note}")


if __name__ == "__main__":
    main()
