"""Seeded simulator of AI vs human text halves and of a diachronic news corpus.

What it mimics (Juzek 2026 design): per language, pairs of second halves of
news sentences, one written by a human and one by a model. Both sides draw
word forms i.i.d. from the language's real word-frequency distribution
(wordfreq's ``best`` list, top ``vocab_size`` forms that are pure letter
tokens; Speer 2022, CC BY-SA 4.0), i.e. a unigram model with the true Zipf
shape. The AI side *overuses* a known set of ``n_planted`` lemmas: lemma
``k`` is inserted into an AI text with probability ``u_k`` (the planted
uplift, uniform on ``uplift_range``) at a random position among the first
eight tokens, as one of its inflected surface forms found in the frequency
list (weighted by frequency), so that recovering it requires lemmatisation.
In the nine languages of :mod:`.concepts`, four of the planted lemmas are
translations of shared concepts ('emphasize' always, as in 24 of 34
languages in the paper, plus three drawn at random), the rest are random
mid-frequency content lemmas (frequency rank 150-3000, lemma = form,
not a stop word, >= 4 letters).

Diachronic corpus: ``docs_per_year`` human texts per language and year
(2018-2024 by default). After ``cutoff_year`` the planted AI lemmas leak into
human writing in the languages with uptake: lemma ``k`` is inserted with
probability ``adoption[year] * u_k``. A share ``no_uptake_share`` of the
languages has no uptake (their truth row says so). Three random content
lemmas per language also have a topical burst in 2020-2021 (like 'pandemic'),
the kind of content-word excess Kobak et al. see before ChatGPT.

Everything is seeded from ``seed`` and the language code (CRC32), so a
language's planted set is the same in every profile with the same seed.
"""
from __future__ import annotations

import json
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from studykit.files.floats import stable_json, write_csv

from .concepts import CONCEPTS
from .text import TOKEN_RE, LemmaMemo, stopwords

SIM_VERSION = "1"
EMBEDDED_LANGUAGES = ("en", "de", "fr", "es", "pl")
#: 34 languages with both a wordfreq list and a simplemma lemmatiser ('sh' uses simplemma 'hbs')
PAPER_LANGUAGES = ("ar", "bg", "ca", "cs", "da", "de", "el", "en", "es", "fa", "fi", "fr", "he", "hi", "hu",
                   "id", "is", "it", "lt", "lv", "mk", "ms", "nb", "nl", "pl", "pt", "ro", "ru", "sh", "sk",
                   "sl", "sv", "tr", "uk")
CORPUS_SCHEMA = {"doc_id": "string", "pair_id": "string", "language": "string", "source": "string", "text": "string"}
DIACHRONIC_SCHEMA = {"doc_id": "string", "language": "string", "year": "int64", "text": "string"}


@dataclass(frozen=True)
class SimConfig:
    """Simulator settings (defaults: the embedded data)."""

    languages: tuple[str, ...] = EMBEDDED_LANGUAGES
    n_pairs: int = 2500
    years: tuple[int, ...] = (2018, 2019, 2020, 2021, 2022, 2023, 2024)
    docs_per_year: int = 2500
    cutoff_year: int = 2022
    adoption: tuple[tuple[int, float], ...] = ((2023, 0.15), (2024, 0.3))
    no_uptake_share: float = 0.2
    n_planted: int = 8
    n_concepts: int = 4
    uplift_range: tuple[float, float] = (0.04, 0.12)
    n_topic: int = 3
    topic_burst: tuple[tuple[int, float], ...] = ((2020, 0.06), (2021, 0.04))
    vocab_size: int = 10_000
    mean_len: float = 16.0
    seed: int = 20260


def _rng(seed: int, language: str, stream: int) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(language.encode()), stream])


@dataclass
class Vocabulary:
    words: list[str]
    probs: np.ndarray
    cum: np.ndarray
    lemmas: list[str]
    freq: dict[str, float] = field(default_factory=dict)


def vocabulary(language: str, size: int) -> Vocabulary:
    """The top ``size`` pure-letter word forms of wordfreq's list with their frequencies."""
    import wordfreq

    fd = wordfreq.get_frequency_dict(language, wordlist="best")
    words = []
    for w in wordfreq.top_n_list(language, int(size * 1.6) + 200, wordlist="best"):
        if TOKEN_RE.fullmatch(w) and w == w.lower():
            words.append(w)
            if len(words) >= size:
                break
    f = np.array([fd[w] for w in words], dtype=float)
    probs = f / f.sum()
    memo = LemmaMemo(language, "none")
    return Vocabulary(words, probs, np.cumsum(probs), [memo.lemma(w) for w in words],
                      dict(zip(words, f.tolist())))


def plant(language: str, vocab: Vocabulary, cfg: SimConfig) -> pd.DataFrame:
    """The planted AI-overused lemmas (and topical-burst lemmas) of one language."""
    rng = _rng(cfg.seed, language, 0)
    stop = stopwords(language)[0]
    memo = LemmaMemo(language, "none")
    rows = []
    chosen: set[str] = set()
    concepts = [c for c, forms in CONCEPTS.items() if language in forms]
    picked: list[tuple[str, str]] = []
    if concepts:
        others = [c for c in concepts if c != "emphasize"]
        k = max(0, min(cfg.n_concepts, cfg.n_planted) - 1)
        extra = list(rng.choice(others, size=min(k, len(others)), replace=False))
        for c in ["emphasize", *extra]:
            form = CONCEPTS[c][language]
            picked.append((memo.lemma(form), c))
    for lem, _ in picked:
        chosen.add(lem)
    lo, hi = 150, min(3000, len(vocab.words))
    cands = [w for w, l in zip(vocab.words[lo:hi], vocab.lemmas[lo:hi])
             if w == l and len(w) >= 4 and w not in stop and w not in chosen]
    n_rand = cfg.n_planted - len(picked) + cfg.n_topic
    rand = list(rng.choice(cands, size=n_rand, replace=False))
    picked += [(w, "") for w in rand[: cfg.n_planted - len(picked)]]
    topic = rand[len(rand) - cfg.n_topic:] if cfg.n_topic else []
    uplifts = rng.uniform(*cfg.uplift_range, size=len(picked))
    by_lemma: dict[str, list[str]] = {}
    for w, l in zip(vocab.words, vocab.lemmas):
        by_lemma.setdefault(l, []).append(w)
    for (lem, concept), u in zip(picked, uplifts):
        forms = by_lemma.get(lem) or [lem]
        rows.append({"language": language, "lemma": lem, "kind": "ai_overuse", "concept": concept,
                     "uplift": float(u), "surface_forms": " ".join(forms)})
    for lem in topic:
        rows.append({"language": language, "lemma": lem, "kind": "topic_burst", "concept": "",
                     "uplift": 0.0, "surface_forms": " ".join(by_lemma.get(lem) or [lem])})
    return pd.DataFrame(rows)


def _texts(rng: np.random.Generator, vocab: Vocabulary, n: int, mean_len: float,
           insert: list[tuple[np.ndarray, list[str], np.ndarray]]) -> list[str]:
    """``n`` texts of i.i.d. Zipf tokens; ``insert`` = (probability per text, forms, form weights)."""
    lens = 6 + rng.poisson(max(mean_len - 6, 0.1), size=n)
    idx = np.searchsorted(vocab.cum, rng.random(int(lens.sum())) * vocab.cum[-1], side="right")
    idx = np.minimum(idx, len(vocab.words) - 1)
    words = np.asarray(vocab.words, dtype=object)[idx].tolist()
    ins: dict[int, list[tuple[int, str]]] = {}
    for prob, forms, weights in insert:
        hit = np.flatnonzero(rng.random(n) < prob)
        if not len(hit):
            continue
        pos = rng.integers(0, np.minimum(lens[hit], 8))
        which = rng.choice(len(forms), size=len(hit), p=weights)
        for i, p_, f in zip(hit.tolist(), pos.tolist(), which.tolist()):
            ins.setdefault(i, []).append((p_, forms[f]))
    comma = rng.integers(2, np.maximum(lens - 1, 3))
    use_comma = rng.random(n) < 0.5
    out = []
    start = 0
    for i in range(n):
        end = start + int(lens[i])
        toks = words[start:end]
        start = end
        if i in ins:
            for p_, f in sorted(ins[i], reverse=True):
                toks.insert(p_, f)
        if use_comma[i] and comma[i] < len(toks):
            toks[comma[i]] = toks[comma[i]] + ","
        s = " ".join(toks)
        out.append(s[:1].upper() + s[1:] + ".")
    return out


def no_uptake_languages(cfg: SimConfig) -> tuple[str, ...]:
    """The ``round(no_uptake_share * L)`` languages without uptake (seeded choice, sorted)."""
    k = int(round(cfg.no_uptake_share * len(cfg.languages)))
    rng = np.random.default_rng([cfg.seed, 7])
    return tuple(sorted(rng.choice(sorted(cfg.languages), size=k, replace=False).tolist())) if k else ()


def _forms(row: pd.Series, vocab: Vocabulary) -> tuple[list[str], np.ndarray]:
    forms = row["surface_forms"].split()
    w = np.array([vocab.freq.get(f, 0.0) for f in forms])
    w = np.ones(len(forms)) if w.sum() <= 0 else w
    return forms, w / w.sum()


def simulate_language(language: str, cfg: SimConfig) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(corpus, diachronic, planted truth, uptake truth) for one language."""
    vocab = vocabulary(language, cfg.vocab_size)
    planted = plant(language, vocab, cfg)
    ai = planted[planted["kind"] == "ai_overuse"]
    topic = planted[planted["kind"] == "topic_burst"]
    # --- comparison corpus
    rng = _rng(cfg.seed, language, 1)
    n = cfg.n_pairs
    human = _texts(rng, vocab, n, cfg.mean_len, [])
    ins = [(np.full(n, float(r["uplift"])), *_forms(r, vocab)) for _, r in ai.iterrows()]
    aitexts = _texts(rng, vocab, n, cfg.mean_len, ins)
    pid = [f"{language}-{i:06d}" for i in range(n)]
    corpus = pd.DataFrame({
        "doc_id": [p + "-h" for p in pid] + [p + "-a" for p in pid],
        "pair_id": pid + pid, "language": language,
        "source": ["human"] * n + ["ai"] * n, "text": human + aitexts})
    # --- diachronic corpus
    has_uptake = language not in no_uptake_languages(cfg)
    adoption = dict(cfg.adoption)
    bursts = dict(cfg.topic_burst)
    frames = []
    uptake_rows = []
    for year in cfg.years:
        r = _rng(cfg.seed, language, 10 + int(year))
        a = adoption.get(year, 0.0) if (has_uptake and year > cfg.cutoff_year) else 0.0
        d = cfg.docs_per_year
        ins = [(np.full(d, a * float(row["uplift"])), *_forms(row, vocab)) for _, row in ai.iterrows()] if a else []
        b = bursts.get(year, 0.0)
        if b:
            ins += [(np.full(d, b), *_forms(row, vocab)) for _, row in topic.iterrows()]
        texts = _texts(r, vocab, d, cfg.mean_len, ins)
        frames.append(pd.DataFrame({"doc_id": [f"{language}-{year}-{i:06d}" for i in range(d)],
                                    "language": language, "year": np.int64(year), "text": texts}))
        uptake_rows.append({"language": language, "year": int(year), "uptake": has_uptake, "adoption": a,
                            "topic_burst": b})
    diachronic = pd.concat(frames, ignore_index=True)
    return corpus, diachronic, planted, pd.DataFrame(uptake_rows)


def _write_parquet(df: pd.DataFrame, path: Path, schema: dict[str, str], row_group: int = 50_000) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(df.astype(schema), preserve_index=False)
    table = table.replace_schema_metadata(None)
    pq.write_table(table, path, compression="zstd", row_group_size=row_group)


def write_embedded(out_dir: Path, cfg: SimConfig | None = None) -> list[Path]:
    """Write the embedded corpora, the truth files and SHA256SUMS into ``out_dir`` (byte-identical)."""
    from studykit.files.fileio import sha256_file, write_text_atomic

    cfg = cfg or SimConfig()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    parts = [simulate_language(lang, cfg) for lang in cfg.languages]
    corpus = pd.concat([p[0] for p in parts], ignore_index=True)
    diachronic = pd.concat([p[1] for p in parts], ignore_index=True)
    planted = pd.concat([p[2] for p in parts], ignore_index=True)
    uptake = pd.concat([p[3] for p in parts], ignore_index=True)
    paths = [out_dir / "corpus.parquet", out_dir / "diachronic.parquet", out_dir / "truth_planted.csv",
             out_dir / "truth_uptake.csv", out_dir / "truth_config.json"]
    _write_parquet(corpus, paths[0], CORPUS_SCHEMA)
    _write_parquet(diachronic, paths[1], DIACHRONIC_SCHEMA)
    write_csv(planted, paths[2])
    write_csv(uptake, paths[3])
    write_text_atomic(paths[4], json.dumps(stable_json({"simulator_version": SIM_VERSION, **asdict(cfg)}),
                                           sort_keys=True, indent=1) + "\n")
    sums = "".join(f"{sha256_file(p)}  {p.name}\n" for p in paths)
    write_text_atomic(out_dir / "SHA256SUMS", sums)
    return paths + [out_dir / "SHA256SUMS"]


# --------------------------------------------------------------------------- paper scale
def _paper_part(args: tuple[str, SimConfig, str]) -> str:
    language, cfg, folder = args
    corpus, diachronic, planted, uptake = simulate_language(language, cfg)
    base = Path(folder) / f"part-{language}"
    _write_parquet(corpus, base.with_suffix(".corpus.parquet"), CORPUS_SCHEMA)
    _write_parquet(diachronic, base.with_suffix(".diachronic.parquet"), DIACHRONIC_SCHEMA)
    write_csv(planted, base.with_suffix(".planted.csv"))
    write_csv(uptake, base.with_suffix(".uptake.csv"))
    return language


def _concat_parquet(parts: list[Path], target: Path) -> None:
    """Stream row groups of ``parts`` into one file (bounded memory)."""
    import pyarrow.parquet as pq

    writer = None
    try:
        for p in parts:
            pf = pq.ParquetFile(p)
            for i in range(pf.num_row_groups):
                t = pf.read_row_group(i)
                if writer is None:
                    writer = pq.ParquetWriter(target, t.schema, compression="zstd")
                writer.write_table(t)
            p.unlink()
    finally:
        if writer is not None:
            writer.close()


def write_paper_scale(folder: Path, cfg: SimConfig, n_workers: int = 2, progress: bool = False) -> None:
    """Generate the paper-scale corpora language by language (in parallel), then concatenate."""
    folder = Path(folder)
    jobs = [(lang, cfg, str(folder)) for lang in cfg.languages]
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(jobs), desc="simulating languages", unit="lang")
    if n_workers <= 1:
        for j in jobs:
            _paper_part(j)
            if bar is not None:
                bar.update(1)
    else:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=n_workers) as pool:
            for _ in pool.map(_paper_part, jobs):
                if bar is not None:
                    bar.update(1)
    if bar is not None:
        bar.close()
    langs = list(cfg.languages)
    _concat_parquet([folder / f"part-{l}.corpus.parquet" for l in langs], folder / "corpus.parquet")
    _concat_parquet([folder / f"part-{l}.diachronic.parquet" for l in langs], folder / "diachronic.parquet")
    for kind, name in (("planted", "truth_planted.csv"), ("uptake", "truth_uptake.csv")):
        files = [folder / f"part-{l}.{kind}.csv" for l in langs]
        write_csv(pd.concat([pd.read_csv(f, keep_default_na=False) for f in files], ignore_index=True),
                  folder / name)
        for f in files:
            f.unlink()
    config = stable_json({"simulator_version": SIM_VERSION, **asdict(cfg)})
    (folder / "truth_config.json").write_text(json.dumps(config, sort_keys=True, indent=1) + "\n")


def paper_scale_config(n_languages: int, n_pairs: int, docs_per_year: int, seed: int) -> SimConfig:
    return SimConfig(languages=PAPER_LANGUAGES[:n_languages], n_pairs=n_pairs, docs_per_year=docs_per_year,
                     seed=seed)


def ensure_paper_scale(n_languages: int, n_pairs: int, docs_per_year: int, seed: int, *,
                       n_workers: int = 2, progress: bool = False) -> Path:
    """The cached paper-scale folder, generated on first use (``studykit.runs.simcache``)."""
    from studykit.runs.simcache import ensure_generated

    cfg = paper_scale_config(n_languages, n_pairs, docs_per_year, seed)
    key = asdict(cfg)
    return ensure_generated("lexical_prevalence", "paper_scale", SIM_VERSION, key,
                            lambda folder: write_paper_scale(folder, cfg, n_workers=n_workers, progress=progress))
