"""The Japanese tech-blog corpus (excess-vocabulary-ja): reading, tokenising once, caching.

Source: the ``data/`` folder of the public repository kenimo49/excess-vocabulary-ja
(MIT), shipped read-only in ``../shared/data/excess_vocabulary_ja/``; see its README.
It is read in place and never copied into the repository: the tokenised
corpus is written into the git-ignored cache,
``.cache/lexical_prevalence/ja_tech_blogs/<key>/``, where ``key`` hashes the
bytes of every article, the tokeniser versions and :data:`TOKENISER_VERSION`,
so an unchanged corpus is tokenised once. Every article must be UTF-8: another encoding is refused in one
line naming the file (:func:`check_utf8`).

Documents (one row each, :func:`read_documents`)

============  ==========================================================  =====
subset        what                                                        n
============  ==========================================================  =====
ai_tech       ``ai_samples/<model>/<theme>_<trial>.md`` (metadata.json)    350
human_tech    ``human_corpus/{qiita,zenn}/<theme>/<id>.md`` (metadata)     700
ai_register   ``ai_samples_diverse/<register>/<model>/*.md``               270
control       ``control_corpus/{beginner,expert}/*.md``                    200
============  ==========================================================  =====

Files written by :func:`ensure_tokenised`

- ``documents.parquet``: doc_id, subset, source (``ai``/``human``), model,
  register, theme, platform, level, year, n_chars, language (``ja``),
  tokens (space-joined UniDic lemmas), upos (space-joined UPOS tags);
- ``corpus.parquet``: the study's comparison corpus, ai_tech (source ``ai``)
  against human_tech (source ``human``);
- ``diachronic.parquet``: the human_tech articles with their creation year;
- ``comparisons.parquet``: the further comparisons of :func:`comparison_corpus`,
  one "language" label per comparison;
- ``glosses.json``: UniDic's English glosses of loanword lemmas.
"""
from __future__ import annotations

import hashlib
import json
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd

from studykit.contract.errors import InputError
from studykit.files.paths import cache_dir

TOKENISER_VERSION = "3"
SOURCE_HINT = ("the excess-vocabulary-ja corpus (kenimo49/excess-vocabulary-ja, MIT) is read from "
               "../shared/data/excess_vocabulary_ja/ beside the project; pass another copy with "
               "--set ja_corpus_dir=PATH")

DOC_COLUMNS = ("doc_id", "subset", "source", "model", "register", "theme", "platform", "level", "year",
               "n_chars", "language", "tokens", "upos")


def _json(path: Path) -> list | dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: file not found ({SOURCE_HINT})") from None
    except ValueError as exc:
        raise InputError(f"{path}: not valid JSON ({exc})") from None


def read_documents(root: str | Path) -> pd.DataFrame:
    """One row per article (no text): doc_id (path under ``data/``), subset, source and metadata.

    Raises a one-line :class:`~studykit.contract.errors.InputError` when ``root`` (the
    folder holding ``data/``) is missing or a metadata file names an absent article.
    """
    root = Path(root)
    data = root / "data"
    if not data.is_dir():
        raise InputError(f"{data}: folder not found ({SOURCE_HINT})")
    rows: list[dict] = []

    for m in _json(data / "ai_samples" / "metadata.json"):
        rows.append({"doc_id": m["file"].removeprefix("data/"), "subset": "ai_tech", "source": "ai",
                     "model": m["model_key"], "register": "tech", "theme": m["theme_slug"]})
    for m in _json(data / "human_corpus" / "metadata.json"):
        rows.append({"doc_id": m["file"].removeprefix("data/"), "subset": "human_tech", "source": "human",
                     "register": "tech", "theme": m["theme_slug"], "platform": m["source"],
                     "year": int(str(m["created_at"])[:4])})
    for path in sorted((data / "ai_samples_diverse").glob("*/*/*.md")):
        register, model = path.parent.parent.name, path.parent.name
        rows.append({"doc_id": path.relative_to(data).as_posix(), "subset": "ai_register", "source": "ai",
                     "model": model, "register": register})
    for path in sorted((data / "control_corpus").glob("*/*.md")):
        rows.append({"doc_id": path.relative_to(data).as_posix(), "subset": "control", "source": "human",
                     "register": "qa", "level": path.parent.name})
    docs = pd.DataFrame(rows)
    for col in ("model", "register", "theme", "platform", "level"):
        if col not in docs:
            docs[col] = None
    docs["year"] = docs.get("year", pd.Series(dtype="float")).astype("Int64")
    missing = [d for d in docs["doc_id"] if not (data / d).is_file()]
    if missing:
        raise InputError(f"{data / missing[0]}: article named in metadata.json not found "
                         f"({len(missing)} missing)")
    dup = docs["doc_id"].duplicated()
    if dup.any():
        raise InputError(f"{data}: article {docs.loc[dup, 'doc_id'].iloc[0]} listed twice in metadata.json")
    return docs.sort_values("doc_id", kind="mergesort").reset_index(drop=True)


def _analyse_files(paths: list[str]) -> list[tuple[int, str, str, list[tuple[str, str]]]]:
    from .japanese import analyse

    out = []
    for p in paths:
        text = Path(p).read_text(encoding="utf-8")
        a = analyse(text)
        out.append((len(text), " ".join(a.lemmas), " ".join(a.upos), list(a.glosses)))
    return out


def tokenise(root: str | Path, docs: pd.DataFrame, *, n_workers: int = 2) -> tuple[pd.DataFrame, dict[str, str]]:
    """Add n_chars, language, tokens and upos to ``docs``; also return the loanword glosses.

    Files are analysed in ``n_workers`` processes (one MeCab tagger each) in
    fixed chunks; the result does not depend on ``n_workers``.
    """
    data = Path(root) / "data"
    paths = [str(data / d) for d in docs["doc_id"]]
    size = 64
    chunks = [paths[i:i + size] for i in range(0, len(paths), size)]
    if n_workers > 1 and len(chunks) > 1:
        with ProcessPoolExecutor(max_workers=n_workers) as pool:
            parts = list(pool.map(_analyse_files, chunks))
    else:
        parts = [_analyse_files(c) for c in chunks]
    flat = [row for part in parts for row in part]
    out = docs.copy()
    out["n_chars"] = [r[0] for r in flat]
    out["language"] = "ja"
    out["tokens"] = [r[1] for r in flat]
    out["upos"] = [r[2] for r in flat]
    glosses: dict[str, str] = {}
    for r in flat:
        for lemma, gloss in r[3]:
            glosses.setdefault(lemma, gloss)
    return out[list(DOC_COLUMNS)], dict(sorted(glosses.items()))


def comparison_corpus(documents: pd.DataFrame) -> pd.DataFrame:
    """The further comparisons, each under its own label in the ``language`` column.

    ======================  =====================================  ==========================
    label                   side ``ai``                            side ``human``
    ======================  =====================================  ==========================
    ``model.<model>``       ai_tech articles of one model          every human_tech article
    ``register.<register>`` ai_register articles of one register   every human_tech article
    ``control.beginner``    control, beginner questions            control, expert questions
    ``control.expert``      control, expert questions              control, beginner questions
    ======================  =====================================  ==========================

    The control rows are a human-vs-human null: whatever passes the AI-word
    thresholds there measures what register and topic alone produce.
    Columns: doc_id, language (the label), source, tokens, upos.
    """
    cols = ["doc_id", "tokens", "upos"]
    human = documents[documents["subset"] == "human_tech"][cols]
    parts = []
    for model, g in documents[documents["subset"] == "ai_tech"].groupby("model", sort=True):
        parts += [g[cols].assign(language=f"model.{model}", source="ai"),
                  human.assign(language=f"model.{model}", source="human")]
    for register, g in documents[documents["subset"] == "ai_register"].groupby("register", sort=True):
        parts += [g[cols].assign(language=f"register.{register}", source="ai"),
                  human.assign(language=f"register.{register}", source="human")]
    control = documents[documents["subset"] == "control"]
    for level, other in (("beginner", "expert"), ("expert", "beginner")):
        parts += [control[control["level"] == level][cols].assign(language=f"control.{level}", source="ai"),
                  control[control["level"] == other][cols].assign(language=f"control.{level}", source="human")]
    out = pd.concat(parts, ignore_index=True)
    return out[["doc_id", "language", "source", "tokens", "upos"]]


def corpus_key(root: str | Path, docs: pd.DataFrame) -> str:
    """SHA-256 (16 hex digits) of every article's bytes, the metadata and the tokeniser versions."""
    from .japanese import tagger_version

    data = Path(root) / "data"
    h = hashlib.sha256()
    h.update(f"{TOKENISER_VERSION}|{tagger_version()}".encode())
    for meta in ("ai_samples/metadata.json", "human_corpus/metadata.json"):
        h.update((data / meta).read_bytes())
    for d in docs["doc_id"]:
        raw = (data / d).read_bytes()
        check_utf8(data / d, raw)
        h.update(d.encode())
        h.update(raw)
    return h.hexdigest()[:16]


def check_utf8(path: Path, raw: bytes) -> None:
    """Refuse (one line naming the file) an article that is not UTF-8 text.

    Rule: every article of the corpus is UTF-8 (as the upstream repository ships it). An article in another
    encoding (a Shift-JIS or EUC-JP export, say) is refused before tokenising, naming the file, the first bad
    byte and the encoding it decodes as, rather than being skipped: one missing article would silently change
    a side of every comparison.
    """
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        guess = ""
        for enc in ("shift_jis", "euc_jp", "cp932", "iso2022_jp"):
            try:
                raw.decode(enc)
            except UnicodeDecodeError:
                continue
            guess = f"; it decodes as {enc.replace('_', '-').upper()}, convert it with iconv -f {enc} -t utf-8"
            break
        raise InputError(f"{path}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start:,}){guess}; "
                         "every article of the corpus must be UTF-8") from None


def ensure_tokenised(root: str | Path, *, n_workers: int = 2) -> Path:
    """The cache folder with the tokenised corpus files (see the module docstring), made once."""
    from studykit.files.fileio import write_text_atomic
    from studykit.files.folders import building_dir

    docs = read_documents(root)
    target = cache_dir() / "lexical_prevalence" / "ja_tech_blogs" / corpus_key(root, docs)
    if (target / ".complete").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with building_dir(target) as tmp:
        table, glosses = tokenise(root, docs, n_workers=max(1, min(n_workers, os.cpu_count() or 1)))
        table.to_parquet(tmp / "documents.parquet", index=False)
        tech = table[table["subset"].isin(["ai_tech", "human_tech"])]
        tech[["doc_id", "language", "source", "model", "theme", "tokens", "upos"]].to_parquet(
            tmp / "corpus.parquet", index=False)
        human = table[table["subset"] == "human_tech"]
        human[["doc_id", "language", "year", "tokens", "upos"]].to_parquet(tmp / "diachronic.parquet", index=False)
        comparison_corpus(table).to_parquet(tmp / "comparisons.parquet", index=False)
        write_text_atomic(tmp / "glosses.json", json.dumps(glosses, ensure_ascii=False, indent=0, sort_keys=True))
        (tmp / ".complete").write_text(TOKENISER_VERSION)
    return target
