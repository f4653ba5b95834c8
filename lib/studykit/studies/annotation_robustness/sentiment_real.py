"""Real data for the annotation-robustness study: human-rated sentences and real offline annotators.

``build_inputs(params)`` turns the 23,703 texts of Hutto & Gilbert (ICWSM 2014;
:mod:`.hutto_data`) into the study's raw-data files, and labels them with the
offline sentiment annotators of :mod:`.annotators`; ``real_data_findings``
summarises what the grid of tests shows on these data.

Items (one per text)
    ``item_id`` (``<source>:<ID>``), ``gold``, ``text``, the covariates
    ``source`` (tweets, movie_reviews, amazon_reviews, nyt_editorials),
    ``length`` (short / medium / long: word-count terciles of the whole corpus,
    ``words <= q1``, ``q1 < words <= q2``, ``words > q2``) and ``negation``
    (``negated`` when the text holds a negator of :data:`NEGATION_RE`, else
    ``plain``); ``human_single`` (the label of one rater drawn at random per item);
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

Slice (``sentiment_max_items``)
    A sample stratified by source: each source gets its proportional share
    (largest remainders), drawn with ``numpy.random.default_rng([seed, 2])``;
    items keep the corpus order.

Caching
    Scores and embeddings are cached per text set and annotator versions
    (``sentiment_real-scores``), items and annotations per (scores, seed, slice,
    embeddings) (``sentiment_real``), both via :func:`studykit.simcache.ensure_generated`
    under ``.cache/simulated/annotation_robustness/`` (git-ignored); the files are
    then read like any other raw data. ``sentiment_real.json`` beside them holds
    the versions, the corpus checks and their rules.
"""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from studykit.errors import InputError, ParamError
from studykit.fileio import write_json_atomic
from studykit.simcache import ensure_generated

from . import annotators as ann
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
    return ann.threshold_labels(mean_rating, threshold)


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


def single_rater_labels(items: pd.DataFrame, ratings: pd.DataFrame, seed: int) -> np.ndarray:
    """Label of one rater per item, drawn uniformly with ``default_rng([seed, 1])`` in item order.

    ``ratings`` is the long table of :class:`.hutto_data.HuttoData` (rows grouped by
    item in the order of ``items``).
    """
    n_raters = items["n_raters"].to_numpy(dtype=np.int64)
    if int(n_raters.sum()) != len(ratings) or (n_raters < 1).any():
        raise InputError("sentiment_real: ratings table does not match the items' rater counts")
    offsets = np.concatenate([[0], np.cumsum(n_raters)[:-1]])
    rng = np.random.default_rng([int(seed), 1])
    pick = np.floor(rng.random(len(items)) * n_raters).astype(np.int64)
    r = ratings["rating"].to_numpy()[offsets + pick]
    return gold_labels(r.astype(float), GOLD_THRESHOLD)


def corpus_items(corpus: hutto_data.HuttoData, seed: int) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Items of the whole corpus with gold, covariates and the single-rater label."""
    it = corpus.items
    n_words = word_counts(it["text"])
    cuts = length_cuts(n_words)
    items = pd.DataFrame({
        "item_id": it["item_id"].to_numpy(),
        "gold": gold_labels(it["rating_mean"]),
        "text": it["text"].to_numpy(),
        "source": it["source"].to_numpy(),
        "length": length_levels(n_words, cuts),
        "negation": np.where(has_negation(it["text"]), "negated", "plain").astype(object),
        "human_single": single_rater_labels(it, corpus.ratings, seed),
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
    scores = ann.lexicon_scores(items["item_id"].tolist(), items["text"].tolist())
    scores.to_parquet(folder / SCORES_FILE, index=False)
    if use_emb:
        model = ann.load_embedding_model()
        np.save(folder / EMBEDDINGS_FILE, ann.embed(items["text"].tolist(), model))
        desc = np.stack([ann.embed(list(d), model) for d in ann.LABEL_DESCRIPTIONS.values()])
        np.save(folder / DESCRIPTIONS_FILE, desc)


def build_annotations(items: pd.DataFrame, scores_dir: Path, use_emb: bool, seed: int) -> pd.DataFrame:
    """All annotations of ``items`` from the cached scores (and embeddings)."""
    scores = pd.read_parquet(scores_dir / SCORES_FILE)
    if scores["item_id"].tolist() != items["item_id"].tolist():
        raise InputError(f"sentiment_real: cached scores in {scores_dir} do not match the items")
    frames = [ann.lexicon_annotations(scores)]
    if use_emb:
        emb = np.load(scores_dir / EMBEDDINGS_FILE)
        desc = np.load(scores_dir / DESCRIPTIONS_FILE)
        frames.append(ann.zero_shot_annotations(items["item_id"].tolist(), emb,
                                                dict(zip(ann.LABEL_DESCRIPTIONS, desc))))
        frames.append(ann.logreg_annotations(items["item_id"].tolist(), emb, items["gold"].to_numpy(), seed))
    out = pd.concat(frames, ignore_index=True)
    out["label"] = out["label"].astype(str)
    return out[ann.ANNOTATION_COLUMNS]


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
    use_emb = ann.resolve_embeddings(getattr(params, "sentiment_embeddings", "auto"))
    group_columns = _group_columns(params)
    corpus = hutto_data.load_corpus()
    all_items, extra = corpus_items(corpus, seed)
    items = select_items(all_items, max_items, seed)
    versions = ann.annotator_versions(use_emb)
    text_key = _texts_digest(items)

    scores_params = {"texts_sha256": text_key, "embeddings": use_emb, "versions": versions,
                     "sdist_sha256": hutto_data.VADER_SDIST_SHA256}
    scores_dir = ensure_generated(STUDY, "sentiment_real-scores", BUILD_VERSION, scores_params,
                                  lambda folder: _write_scores(folder, items, use_emb))

    build_params = {**scores_params, "seed": seed, "max_items": max_items, "gold_threshold": GOLD_THRESHOLD,
                    "thresholds": {k: list(v) for k, v in ann.LEXICON_THRESHOLDS.items()},
                    "logreg": {"sizes": list(ann.LOGREG_SIZES), "seeds": list(ann.LOGREG_SEEDS)}}

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
    return {"items_path": str(out_dir / ITEMS_FILE), "annotations_path": str(out_dir / ANNOTATIONS_FILE),
            "group_columns": group_columns}


def build_info(params) -> dict[str, Any]:
    """The ``sentiment_real.json`` written beside the prepared items (versions, corpus checks)."""
    path = Path(str(params.items_path)).parent / INFO_FILE
    if not path.is_file():
        raise InputError(f"sentiment_real: {path} not found (run Params.prepare() with dataset=sentiment_real)")
    return json.loads(path.read_text(encoding="utf-8"))


# ---------------------------------------------------------------------------------------------
# findings
# ---------------------------------------------------------------------------------------------
_HYP_RE = re.compile(r"^(?P<label_value>.+?) ~ (?P<group_column>[^:]+): (?P<group_a>.+) vs (?P<group_b>.+)$")


def _hypothesis_table(pairs: pd.DataFrame, items: pd.DataFrame, group_columns: list[str]) -> pd.DataFrame:
    """hypothesis_id -> label_value, group_column, group_a, group_b (from pairs' columns, else from the ids)."""
    cols = ["label_value", "group_column", "group_a", "group_b"]
    if all(c in pairs.columns for c in cols):
        return pairs[["hypothesis_id", *cols]].astype(str).drop_duplicates("hypothesis_id").reset_index(drop=True)
    from .hypotheses import generate_hypotheses

    levels = {c: tuple(sorted(items[c].dropna().astype(str).unique())) for c in group_columns if c in items}
    gen = generate_hypotheses(tuple(sorted(items["gold"].dropna().astype(str).unique())), levels)
    ids = pd.Series(pairs["hypothesis_id"].astype(str).unique())
    known = gen.set_index("hypothesis_id")
    rows = []
    for h in ids:
        if h in known.index:
            r = known.loc[h]
            rows.append((h, r.label_value, r.group_column, r.group_a, r.group_b))
            continue
        m = _HYP_RE.match(h)
        if not m:
            raise InputError(f"real_data_findings: cannot read hypothesis_id '{h}' (need label ~ column: a vs b)")
        rows.append((h, *m.groups()))
    return pd.DataFrame(rows, columns=["hypothesis_id", *cols])


def _config_name(df: pd.DataFrame) -> pd.Series:
    """``model/prompt``, plus ``/T=<temperature>`` and ``/seed=<seed>`` where a model x prompt has several."""
    model, prompt = df["model"].astype(str), df["prompt"].astype(str)
    name = model + "/" + prompt
    key = [model, prompt]
    for col, tag in (("temperature", "T"), ("seed", "seed")):
        if col in df.columns:
            several = df.groupby(key, observed=True)[col].transform("nunique") > 1
            name = name.where(~several, name + f"/{tag}=" + df[col].astype(str))
    return name


def real_data_findings(pairs: pd.DataFrame, items: pd.DataFrame, params) -> dict[str, pd.DataFrame]:
    """What the real run shows beyond the simulation.

    Parameters
    ----------
    pairs : DataFrame
        The per-pair table (``tables/pairs.csv``): hypothesis_id, model, prompt,
        temperature, seed, effect, p_value, conclusion, gold_effect, gold_p_value,
        gold_conclusion, error (optionally label_value, group_column, group_a, group_b).
    items : DataFrame
        The items read by the study (item_id, gold, covariates, optional human_single).
    params : Params
        The prepared parameters (``group_columns``; ``items_path`` for the build info).

    Returns
    -------
    dict of DataFrames
        ``summary`` (key, value: the headline numbers, for ``out.record``),
        ``source_flips`` (each source comparison: gold result and which configurations
        flip it), ``flips_by_annotator`` (per model: how many source comparisons at least
        one of its configurations flips, how many all of them flip, and how many its
        threshold / wording / sample choice decides), ``risk_by_source`` (risk of the
        comparisons involving each source, by model), ``risk_by_prompt`` (risk of every
        model x prompt on all and on source hypotheses), ``human_vs_gold`` (how often
        one random rater agrees with the mean-of-raters gold, by source) and
        ``corpus_checks`` (the parsing rules applied and their counts, when the build
        info is found).
    """
    need = ["hypothesis_id", "model", "prompt", "seed", "conclusion", "gold_conclusion", "error", "gold_effect",
            "gold_p_value"]
    missing = [c for c in need if c not in pairs.columns]
    if missing:
        raise InputError(f"real_data_findings: pairs lacks column '{missing[0]}'")
    group_columns = list(getattr(params, "group_columns", COVARIATES))
    hyp = _hypothesis_table(pairs, items, group_columns)
    p = pairs.drop(columns=[c for c in ("label_value", "group_column", "group_a", "group_b") if c in pairs.columns])
    p = p.merge(hyp, on="hypothesis_id", how="left", validate="many_to_one")
    for c in ("model", "prompt", "conclusion", "gold_conclusion", "error"):
        p[c] = p[c].astype(str)
    p["config"] = _config_name(p)
    p["wrong"] = p["error"] != "correct"
    n_conf = p["config"].nunique()
    src = p[p["group_column"] == "source"]

    # ---- each source comparison ------------------------------------------------------------------
    rows = []
    for h, g in src.groupby("hypothesis_id", sort=True):
        w = g[g["wrong"]]
        first = g.iloc[0]
        rows.append({
            "hypothesis_id": h, "label_value": first.label_value, "group_a": first.group_a, "group_b": first.group_b,
            "gold_effect": float(first.gold_effect), "gold_p_value": float(first.gold_p_value),
            "gold_conclusion": first.gold_conclusion, "n_configurations": int(len(g)), "n_wrong": int(len(w)),
            "share_wrong": float(len(w) / len(g)),
            "n_type_I": int((g["error"] == "type_I").sum()), "n_type_II": int((g["error"] == "type_II").sum()),
            "n_type_S": int((g["error"] == "type_S").sum()),
            "models_flipping": ", ".join(sorted(w["model"].unique())),
            "configurations_flipping": "; ".join(sorted(w["config"].unique())),
        })
    source_flips = pd.DataFrame(rows, columns=[
        "hypothesis_id", "label_value", "group_a", "group_b", "gold_effect", "gold_p_value", "gold_conclusion",
        "n_configurations", "n_wrong", "share_wrong", "n_type_I", "n_type_II", "n_type_S", "models_flipping",
        "configurations_flipping"])

    # ---- per annotator ---------------------------------------------------------------------------------
    rows = []
    for model, g in src.groupby("model", sort=True):
        per_h = g.groupby("hypothesis_id")
        any_w = per_h["wrong"].any()
        all_w = per_h["wrong"].all()
        n_concl = per_h["conclusion"].nunique()
        rows.append({"model": model, "n_configurations": int(g["config"].nunique()),
                     "n_source_hypotheses": int(len(any_w)), "risk_source": float(g["wrong"].mean()),
                     "n_flipped_by_some_configuration": int(any_w.sum()),
                     "n_flipped_by_every_configuration": int(all_w.sum()),
                     "n_decided_by_choice": int((n_concl > 1).sum())})
    flips_by_annotator = pd.DataFrame(rows, columns=[
        "model", "n_configurations", "n_source_hypotheses", "risk_source", "n_flipped_by_some_configuration",
        "n_flipped_by_every_configuration", "n_decided_by_choice"])

    # ---- risk by source --------------------------------------------------------------------------------------
    rows = []
    sources = sorted(set(src["group_a"]) | set(src["group_b"]))
    for s in sources:
        g = src[(src["group_a"] == s) | (src["group_b"] == s)]
        rows.append({"source": s, "model": "all", "n_hypotheses": int(g["hypothesis_id"].nunique()),
                     "n_pairs": int(len(g)), "risk": float(g["wrong"].mean())})
        for model, gm in g.groupby("model", sort=True):
            rows.append({"source": s, "model": model, "n_hypotheses": int(gm["hypothesis_id"].nunique()),
                         "n_pairs": int(len(gm)), "risk": float(gm["wrong"].mean())})
    risk_by_source = pd.DataFrame(rows, columns=["source", "model", "n_hypotheses", "n_pairs", "risk"])

    # ---- by model x prompt -----------------------------------------------------------------------------------
    allp = p.groupby(["model", "prompt"], sort=True).agg(n_configurations=("config", "nunique"),
                                                          risk_all=("wrong", "mean"))
    srcp = src.groupby(["model", "prompt"], sort=True).agg(risk_source=("wrong", "mean"),
                                                           n_source_flipped=("wrong", "sum"))
    risk_by_prompt = allp.join(srcp, how="left").reset_index()

    # ---- one human rater vs the mean of raters -----------------------------------------------------------------
    human_vs_gold = pd.DataFrame(columns=["source", "n_items", "agreement", "gold_positive", "gold_neutral",
                                          "gold_negative"])
    if "human_single" in items.columns and "source" in items.columns:
        rows = []
        for s, g in [("all", items), *sorted(items.groupby("source"), key=lambda kv: kv[0])]:
            ok = g["human_single"].notna()
            rows.append({"source": s, "n_items": int(len(g)),
                         "agreement": float((g.loc[ok, "human_single"].astype(str) == g.loc[ok, "gold"].astype(str)).mean()),
                         **{f"gold_{c}": float((g["gold"].astype(str) == c).mean()) for c in ann.LABELS}})
        human_vs_gold = pd.DataFrame(rows)

    # ---- corpus checks ------------------------------------------------------------------------------------------
    try:
        checks = pd.DataFrame(build_info(params)["corpus_checks"])
    except (InputError, KeyError, TypeError, AttributeError):
        checks = pd.DataFrame(columns=["check", "count", "rule"])

    # ---- headline numbers ---------------------------------------------------------------------------------------
    gold_sig = source_flips["gold_conclusion"] != "none"
    summary = {
        "n_configurations": n_conf,
        "n_hypotheses": int(p["hypothesis_id"].nunique()),
        "risk_overall": float(p["wrong"].mean()),
        "n_source_hypotheses": int(len(source_flips)),
        "n_source_gold_significant": int(gold_sig.sum()),
        "n_source_flippable": int((source_flips["n_wrong"] > 0).sum()),
        "n_source_false_positive_possible": int(((~gold_sig) & (source_flips["n_type_I"] > 0)).sum()),
        "n_source_hideable": int((gold_sig & (source_flips["n_type_II"] > 0)).sum()),
        "n_source_reversible": int((gold_sig & (source_flips["n_type_S"] > 0)).sum()),
        "risk_source": float(src["wrong"].mean()) if len(src) else None,
    }
    for model, g in p.groupby("model", sort=True):
        summary[f"risk_by_annotator.{model}"] = float(g["wrong"].mean())
    if len(human_vs_gold):
        summary["single_rater_agreement"] = float(human_vs_gold.loc[human_vs_gold["source"] == "all",
                                                                    "agreement"].iloc[0])
    summary_df = pd.DataFrame({"key": list(summary), "value": pd.Series(list(summary.values()), dtype=object)})
    return {"summary": summary_df, "source_flips": source_flips, "flips_by_annotator": flips_by_annotator,
            "risk_by_source": risk_by_source, "risk_by_prompt": risk_by_prompt, "human_vs_gold": human_vs_gold,
            "corpus_checks": checks}
