"""Inputs of the ``sentiment_real`` profile: human-rated sentences and real offline annotators.

``build_inputs(params)`` turns the 23,703 texts of Hutto & Gilbert (ICWSM 2014;
:mod:`.hutto_data`) into the study's raw-data files, and labels them with the
offline sentiment annotators of :mod:`.annotators`. What the grid of tests shows
on these data is summarised by :mod:`.sentiment_findings`.

Items (one per text)
    ``item_id`` (``<source>:<ID>``), ``gold``, ``text``, the covariates
    ``source`` (tweets, movie_reviews, amazon_reviews, nyt_editorials),
    ``length`` (short / medium / long: word-count terciles of the whole corpus,
    ``words <= q1``, ``q1 < words <= q2``, ``words > q2``) and ``negation``
    (``negated`` when the text holds a negator of :data:`NEGATION_RE`, else
    ``plain``); ``human_single`` (the label of one rater drawn at random per item);
    ``gold_without_single`` (gold from the other raters; see Single rater);
    and, for reference, ``rating_mean``, ``rating_sd``, ``n_raters``, ``n_words``.

Gold
    From the published mean rating :math:`\\bar r` on -4..4 of about 20 raters:
    ``positive`` if :math:`\\bar r > 0.5`, ``negative`` if :math:`\\bar r < -0.5`,
    ``neutral`` otherwise (:data:`GOLD_THRESHOLD`). A single rater's integer
    rating r gets the same rule (r >= 1 positive, r <= -1 negative, 0 neutral).

Single rater
    For every item of the corpus (in canonical order, so an item's draw does
    not depend on the slice) one position is drawn uniformly among its ratings
    with ``numpy.random.default_rng([seed, 1])``.
    The single rater is one of the raters whose mean is ``gold``, so ``gold``
    flatters it; comparisons of ``human_single`` use ``gold_without_single``
    instead: the same rule applied to the mean of the item's *other* listed
    ratings (leave that rater out; empty for an item with one rating).

Slice (``sentiment_max_items``)
    A sample stratified by source: each source gets its proportional share
    (largest remainders), drawn with ``numpy.random.default_rng([seed, 2])``;
    items keep the corpus order.

Caching
    Scores and embeddings are cached per text set and annotator versions
    (``sentiment_real-scores``), items and annotations per (scores, seed, slice,
    embeddings) (``sentiment_real``), both via :func:`studykit.runs.simcache.ensure_generated`
    under ``.cache/simulated/annotation_robustness/`` (git-ignored); the files are
    then read like any other raw data. ``sentiment_real.json`` beside them holds
    the versions, the corpus checks and their rules. Finding those folders again
    needs the texts' digest, so the answer is remembered in
    ``sentiment_real-inputs-<hash>.json`` beside them, keyed by everything it
    depends on (the corpus files, the parameters, the annotator versions, every
    file of ``lib/``): an unchanged run does not parse the corpus again.
"""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from studykit.contract.errors import InputError, ParamError
from studykit.files.fileio import write_json_atomic
from studykit.contract.issues import DataIssue, Issues
from studykit.runs.simcache import ensure_generated

from . import annotators
from . import hutto_data

STUDY = "annotation_robustness"
GOLD_THRESHOLD = 0.5
COVARIATES: tuple[str, ...] = ("source", "length", "negation")
LENGTH_LEVELS = ("short", "medium", "long")
NEGATION_RE = re.compile(
    r"\b(?:not|no|never|none|nobody|nothing|neither|nor|nowhere|cannot|without|dont|cant|wont|isnt|arent|wasnt"
    r"|werent|didnt|doesnt|couldnt|shouldnt|wouldnt|aint)\b|n['\u2019]t\b", re.IGNORECASE)
INFO_FILE = "sentiment_real.json"
ITEMS_FILE = "items.parquet"
ANNOTATIONS_FILE = "annotations.parquet"
SCORES_FILE = "scores.parquet"
EMBEDDINGS_FILE = "embeddings.npy"
DESCRIPTIONS_FILE = "label_descriptions.npy"
BUILD_VERSION = "1"

CITATION = ("Hutto, C.J. & Gilbert, E.E. (2014). VADER: A Parsimonious Rule-based Model for Sentiment Analysis "
            "of Social Media Text. Eighth International Conference on Weblogs and Social Media (ICWSM-14).")


# ---------------------------------------------------------------------------------------------
# items
# ---------------------------------------------------------------------------------------------
def gold_labels(mean_rating, threshold: float = GOLD_THRESHOLD) -> np.ndarray:
    """positive if mean > t, negative if mean < -t, neutral otherwise."""
    return annotators.threshold_labels(mean_rating, threshold)


def word_counts(texts: pd.Series) -> np.ndarray:
    """Whitespace-separated tokens per text."""
    return texts.str.split().str.len().fillna(0).to_numpy(dtype=np.int64)


def length_cuts(n_words: np.ndarray) -> tuple[float, float]:
    """Tercile cut points (q1, q2) of the word counts (numpy's linear quantiles)."""
    q1, q2 = np.quantile(np.asarray(n_words, dtype=float), [1 / 3, 2 / 3])
    return float(q1), float(q2)


def length_levels(n_words: np.ndarray, cuts: tuple[float, float]) -> np.ndarray:
    n = np.asarray(n_words)
    return np.where(n <= cuts[0], "short", np.where(n <= cuts[1], "medium", "long")).astype(object)


def has_negation(texts: pd.Series) -> np.ndarray:
    return texts.str.contains(NEGATION_RE, regex=True).to_numpy(dtype=bool)


def single_rater_labels(items: pd.DataFrame, ratings: pd.DataFrame, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Label of one rater per item, drawn uniformly with ``default_rng([seed, 1])`` in item order, and the
    gold label of the item's other raters (the mean of its other listed ratings; None with one rating).

    ``ratings`` is the long table of :class:`.hutto_data.HuttoData` (rows grouped by
    item in the order of ``items``).
    """
    n_raters = items["n_raters"].to_numpy(dtype=np.int64)
    if int(n_raters.sum()) != len(ratings) or (n_raters < 1).any():
        raise InputError("sentiment_real: ratings table does not match the items' rater counts")
    offsets = np.concatenate([[0], np.cumsum(n_raters)[:-1]])
    rng = np.random.default_rng([int(seed), 1])
    pick = np.floor(rng.random(len(items)) * n_raters).astype(np.int64)
    all_r = ratings["rating"].to_numpy(dtype=float)
    r = all_r[offsets + pick]
    others = n_raters > 1
    with np.errstate(invalid="ignore", divide="ignore"):
        rest_mean = (np.add.reduceat(all_r, offsets) - r) / (n_raters - 1)
    rest = gold_labels(np.where(others, rest_mean, 0.0), GOLD_THRESHOLD).astype(object)
    rest[~others] = None
    return gold_labels(r, GOLD_THRESHOLD), rest


def corpus_items(corpus: hutto_data.HuttoData, seed: int) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Items of the whole corpus with gold, covariates and the single-rater label."""
    it = corpus.items
    n_words = word_counts(it["text"])
    cuts = length_cuts(n_words)
    single, rest = single_rater_labels(it, corpus.ratings, seed)
    items = pd.DataFrame({
        "item_id": it["item_id"].to_numpy(),
        "gold": gold_labels(it["rating_mean"]),
        "text": it["text"].to_numpy(),
        "source": it["source"].to_numpy(),
        "length": length_levels(n_words, cuts),
        "negation": np.where(has_negation(it["text"]), "negated", "plain").astype(object),
        "human_single": single,
        "gold_without_single": rest,
        "rating_mean": it["rating_mean"].to_numpy(dtype=float),
        "rating_sd": it["rating_sd"].to_numpy(dtype=float),
        "n_raters": it["n_raters"].to_numpy(dtype=np.int64),
        "n_words": n_words,
    })
    return items, {"length_cuts_words": list(cuts)}


def select_items(items: pd.DataFrame, max_items: int | None, seed: int) -> pd.DataFrame:
    """Stratified-by-source random slice of ``max_items`` items (all items when None or larger)."""
    if max_items is None or max_items >= len(items):
        return items.reset_index(drop=True)
    sizes = items.groupby("source", sort=True).size()
    quota = sizes / sizes.sum() * max_items
    take = np.floor(quota).astype(int)
    rest = max_items - int(take.sum())
    if rest:
        order = (quota - take).sort_values(ascending=False, kind="stable").index[:rest]
        take[order] += 1
    rng = np.random.default_rng([int(seed), 2])
    keep = np.zeros(len(items), dtype=bool)
    for src in sizes.index:  # sorted, fixed order of draws
        pos = np.flatnonzero(items["source"].to_numpy() == src)
        keep[rng.choice(pos, size=int(take[src]), replace=False)] = True
    return items.loc[keep].reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# build
# ---------------------------------------------------------------------------------------------
def _texts_digest(items: pd.DataFrame) -> str:
    h = hashlib.sha256()
    for i, t in zip(items["item_id"], items["text"]):
        h.update(f"{i}\0{t}\n".encode("utf-8"))
    return h.hexdigest()


def _group_columns(params) -> list[str]:
    """The covariates to test: the study's ``group_columns`` when they are all covariates here,
    all of :data:`COVARIATES` when none is (e.g. the simulated data's defaults), an error otherwise."""
    given = list(getattr(params, "group_columns", None) or [])
    ours = [c for c in given if c in COVARIATES]
    if given and len(ours) == len(given):
        return given
    if ours:
        bad = [c for c in given if c not in COVARIATES][0]
        raise ParamError(f"parameter 'group_columns': '{bad}' is not a covariate of the sentiment_real data "
                         f"({', '.join(COVARIATES)})")
    return list(COVARIATES)


def _write_scores(folder: Path, items: pd.DataFrame, use_emb: bool) -> None:
    scores = annotators.lexicon_scores(items["item_id"].tolist(), items["text"].tolist())
    scores.to_parquet(folder / SCORES_FILE, index=False)
    if use_emb:
        model = annotators.load_embedding_model()
        np.save(folder / EMBEDDINGS_FILE, annotators.embed(items["text"].tolist(), model))
        desc = np.stack([annotators.embed(list(d), model) for d in annotators.LABEL_DESCRIPTIONS.values()])
        np.save(folder / DESCRIPTIONS_FILE, desc)


def build_annotations(items: pd.DataFrame, scores_dir: Path, use_emb: bool, seed: int) -> pd.DataFrame:
    """All annotations of ``items`` from the cached scores (and embeddings)."""
    scores = pd.read_parquet(scores_dir / SCORES_FILE)
    if scores["item_id"].tolist() != items["item_id"].tolist():
        raise InputError(f"sentiment_real: cached scores in {scores_dir} do not match the items")
    frames = [annotators.lexicon_annotations(scores)]
    if use_emb:
        emb = np.load(scores_dir / EMBEDDINGS_FILE)
        desc = np.load(scores_dir / DESCRIPTIONS_FILE)
        frames.append(annotators.zero_shot_annotations(items["item_id"].tolist(), emb,
                                                dict(zip(annotators.LABEL_DESCRIPTIONS, desc))))
        frames.append(annotators.logreg_annotations(items["item_id"].tolist(), emb, items["gold"].to_numpy(), seed))
    out = pd.concat(frames, ignore_index=True)
    out["label"] = out["label"].astype(str)
    return out[annotators.ANNOTATION_COLUMNS]


def build_inputs(params) -> dict[str, Any]:
    """Build (once) and return the inputs of the ``sentiment_real`` profile.

    Reads ``params.seed``, ``params.sentiment_max_items``,
    ``params.sentiment_embeddings`` and ``params.group_columns``; fetches the
    corpus on first use (:func:`.hutto_data.ensure_data`). Returns the
    parameter updates ``items_path``, ``annotations_path`` (absolute paths of
    cached Parquet files) and ``group_columns``; ``hypotheses_path`` is left as
    given (None: every class x pair of covariate levels).
    """
    seed = int(getattr(params, "seed", 0))
    max_items = getattr(params, "sentiment_max_items", None)
    use_emb = annotators.resolve_embeddings(getattr(params, "sentiment_embeddings", "auto"))
    group_columns = _group_columns(params)
    folder = hutto_data.ensure_data()
    memo = _memo_path(folder, {"seed": seed, "max_items": max_items, "embeddings": use_emb,
                               "group_columns": group_columns, "versions": annotators.annotator_versions(use_emb)})
    known = _read_memo(memo)
    if known is not None:
        return known
    corpus = hutto_data.load_corpus()
    all_items, extra = corpus_items(corpus, seed)
    items = select_items(all_items, max_items, seed)
    versions = annotators.annotator_versions(use_emb)
    text_key = _texts_digest(items)

    scores_params = {"texts_sha256": text_key, "embeddings": use_emb, "versions": versions,
                     "sdist_sha256": hutto_data.VADER_SDIST_SHA256}
    scores_dir = ensure_generated(STUDY, "sentiment_real-scores", BUILD_VERSION, scores_params,
                                  lambda folder: _write_scores(folder, items, use_emb))

    build_params = {**scores_params, "seed": seed, "max_items": max_items, "gold_threshold": GOLD_THRESHOLD,
                    "single_rater_reference": "gold_without_single",
                    "thresholds": {k: list(v) for k, v in annotators.LEXICON_THRESHOLDS.items()},
                    "logreg": {"sizes": list(annotators.LOGREG_SIZES), "seeds": list(annotators.LOGREG_SEEDS)}}

    def write(folder: Path) -> None:
        items.to_parquet(folder / ITEMS_FILE, index=False)
        annotations = build_annotations(items, scores_dir, use_emb, seed)
        annotations.to_parquet(folder / ANNOTATIONS_FILE, index=False)
        info = {
            "citation": CITATION,
            "source": f"{hutto_data.VADER_SDIST} (sha256 {hutto_data.VADER_SDIST_SHA256}), "
                      f"{hutto_data.INNER_ARCHIVE}",
            "n_items_corpus": int(len(all_items)), "n_items": int(len(items)),
            "n_items_by_source": {k: int(v) for k, v in items.groupby("source").size().items()},
            "n_annotation_rows": int(len(annotations)),
            "n_configurations": int(annotations[["model", "prompt", "temperature", "seed"]].drop_duplicates().shape[0]),
            "embeddings": use_emb, "versions": versions, "seed": seed, "max_items": max_items,
            "gold_threshold": GOLD_THRESHOLD, "covariates": list(COVARIATES), **extra,
            "corpus_checks": [{"check": k, "count": int(c), "rule": r} for k, (c, r) in corpus.issues.items()],
        }
        write_json_atomic(folder / INFO_FILE, info)

    out_dir = ensure_generated(STUDY, "sentiment_real", BUILD_VERSION, build_params, write)
    result = {"items_path": str(out_dir / ITEMS_FILE), "annotations_path": str(out_dir / ANNOTATIONS_FILE),
              "group_columns": group_columns}
    write_json_atomic(memo, result)
    return result


def _memo_path(corpus_folder: Path, settings: dict[str, Any]) -> Path:
    """Where :func:`build_inputs` remembers its answer for these corpus files, settings and ``lib/``."""
    from studykit.runs.cachekey import lib_fingerprint
    from studykit.files.paths import cache_dir

    files = sorted(p for p in Path(corpus_folder).iterdir() if p.is_file())
    stats = [[p.name, p.stat().st_size, p.stat().st_mtime_ns] for p in files]
    blob = json.dumps({"build": BUILD_VERSION, "corpus": [str(corpus_folder), stats], "settings": settings,
                       "lib": lib_fingerprint()}, sort_keys=True, default=str)
    key = hashlib.sha256(blob.encode()).hexdigest()[:16]
    return cache_dir() / "simulated" / STUDY / f"sentiment_real-inputs-{key}.json"


def _read_memo(memo: Path) -> dict[str, Any] | None:
    """The remembered answer when its files are still complete cache entries, else None."""
    try:
        known = json.loads(memo.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    paths = [Path(str(known.get(k, ""))) for k in ("items_path", "annotations_path")] if isinstance(known, dict) \
        else []
    if len(paths) != 2 or not all(p.is_file() and (p.parent / ".complete").is_file() for p in paths):
        return None
    return known


def build_info(params) -> dict[str, Any]:
    """The ``sentiment_real.json`` written beside the prepared items (versions, corpus checks)."""
    path = Path(str(params.items_path)).parent / INFO_FILE
    if not path.is_file():
        raise InputError(f"sentiment_real: {path} not found (run Params.prepare() with dataset=sentiment_real)")
    return json.loads(path.read_text(encoding="utf-8"))


def corpus_checks(params) -> tuple[pd.DataFrame, Issues]:
    """The corpus parsing rules of :mod:`.hutto_data` and how often each applied.

    Returns ``(checks, issues)``: the table (check, count, rule) of every rule, and one
    :class:`~studykit.contract.issues.DataIssue` per rule that applied to at least one text.
    """
    try:
        checks = pd.DataFrame(build_info(params)["corpus_checks"], columns=["check", "count", "rule"])
    except (InputError, KeyError, TypeError, AttributeError):
        checks = pd.DataFrame(columns=["check", "count", "rule"])
    issues = tuple(DataIssue(str(c), int(n), str(r), "Hutto & Gilbert corpus, all 23,703 texts")
                   for c, n, r in checks[["check", "count", "rule"]].itertuples(index=False) if n)
    return checks, issues

def embeddings_left_out(params) -> Issues:
    """``sentiment_real`` with ``sentiment_embeddings: auto`` and no ``embeddings`` extra runs the three lexicon
    and word-count annotator families only: said as a data issue, so the run's last line shows it."""
    if getattr(params, "dataset", None) != "sentiment_real" or getattr(params, "sentiment_embeddings", "") != "auto":
        return ()
    if annotators.embeddings_available():
        return ()
    from studykit.contract.extras import install_hint

    return (DataIssue("embeddings_not_run", 2,
                      "the embeddings extra is not installed, so the two embedding annotator families "
                      "(minilm-zeroshot, minilm-logreg) are not run and 3 of 5 families label the texts; "
                      f"install it with {install_hint('embeddings')} or set sentiment_embeddings: off to say "
                      "this is intended"),)
