"""The sentiment_real profile: items, slices, single raters, cached inputs, findings, and a run on a slice.

Unit: one small hand-made table of items or ratings (or a slice of the real data) given to one step.
"""
from __future__ import annotations

import hashlib
import json
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from studykit.contract.errors import InputError, ParamError
from studykit.studies.annotation_robustness import annotators
from studykit.studies.annotation_robustness import hutto_data, plots
from studykit.studies.annotation_robustness import sentiment_findings
from studykit.studies.annotation_robustness import sentiment_inputs


def test_gold_and_covariate_rules():
    assert sentiment_inputs.gold_labels([0.51, 0.5, -0.5, -0.51, 0.0]).tolist() == ["positive", "neutral", "neutral", "negative",
                                                                    "neutral"]
    words = sentiment_inputs.word_counts(pd.Series(["a b c", "one", "  x   y  "]))
    assert words.tolist() == [3, 1, 2]
    assert sentiment_inputs.length_levels(np.array([1, 5, 6, 10, 11]), (5.0, 10.0)).tolist() == ["short", "short", "medium",
                                                                                 "medium", "long"]
    neg = sentiment_inputs.has_negation(pd.Series(["I don't care", "not bad", "Notably good", "nothing works", "dont go",
                                     "fine"]))
    assert neg.tolist() == [True, True, False, True, True, False]


def _toy_items(n_per=(40, 30, 20, 10)):
    rows = []
    for s, n in zip(["a_src", "b_src", "c_src", "d_src"], n_per):
        rows += [(f"{s}:{i}", s) for i in range(n)]
    return pd.DataFrame(rows, columns=["item_id", "source"])


def test_slice_is_stratified_seeded_and_ordered():
    items = _toy_items()
    sl = sentiment_inputs.select_items(items, 50, seed=3)
    assert len(sl) == 50
    assert sl.groupby("source").size().to_dict() == {"a_src": 20, "b_src": 15, "c_src": 10, "d_src": 5}
    pos = items.reset_index().set_index("item_id").loc[sl["item_id"], "index"].to_numpy()
    assert (np.diff(pos) > 0).all()  # corpus order kept
    pd.testing.assert_frame_equal(sl, sentiment_inputs.select_items(items, 50, seed=3))
    assert set(sl["item_id"]) != set(sentiment_inputs.select_items(items, 50, seed=4)["item_id"])
    odd = sentiment_inputs.select_items(items, 33, seed=0).groupby("source").size()
    assert odd.sum() == 33 and odd.to_dict() == {"a_src": 13, "b_src": 10, "c_src": 7, "d_src": 3}
    assert len(sentiment_inputs.select_items(items, None, 0)) == 100 and len(sentiment_inputs.select_items(items, 1000, 0)) == 100


def test_single_rater_draw():
    items = pd.DataFrame({"item_id": ["x", "y", "z"], "n_raters": [3, 1, 2]})
    ratings = pd.DataFrame({"item_id": ["x"] * 3 + ["y"] + ["z"] * 2, "rater": [0, 1, 2, 0, 0, 1],
                            "rating": np.array([4, 4, 4, -2, 0, 0], dtype=np.int8)})
    lab, rest = sentiment_inputs.single_rater_labels(items, ratings, seed=0)
    assert lab.tolist() == ["positive", "negative", "neutral"]
    # the other raters' gold: x's two others rate 4, 4; y has no other rater; z's other rates 0
    assert rest.tolist() == ["positive", None, "neutral"]
    # uniform over an item's raters, different across seeds
    items2 = pd.DataFrame({"item_id": ["x"], "n_raters": [2]})
    r2 = pd.DataFrame({"item_id": ["x", "x"], "rater": [0, 1], "rating": np.array([1, -1], dtype=np.int8)})
    draws = [sentiment_inputs.single_rater_labels(items2, r2, seed=s) for s in range(400)]
    assert 0.4 < np.mean([d[0][0] == "positive" for d in draws]) < 0.6
    # leave-one-out: the other rater's label is always the opposite of the drawn one
    assert all({d[0][0], d[1][0]} == {"positive", "negative"} for d in draws)
    with pytest.raises(InputError, match="rater counts"):
        sentiment_inputs.single_rater_labels(items, ratings.iloc[:5], seed=0)


def test_single_rater_is_compared_with_the_other_raters_gold():
    """agreement is against gold_without_single; agreement_full_gold against the gold that includes the rater."""
    items = pd.DataFrame({"item_id": list("abcd"), "source": ["s1", "s1", "s2", "s2"],
                          "gold": ["positive", "neutral", "negative", "neutral"],
                          "human_single": ["positive", "positive", "negative", None],
                          "gold_without_single": ["negative", "positive", None, "neutral"]})
    t = sentiment_findings._human_vs_gold(items).set_index("source")
    assert t.loc["all", "agreement"] == pytest.approx(1 / 2)  # items a, b (c has no other rater, d no single)
    assert t.loc["all", "agreement_full_gold"] == pytest.approx(2 / 3)
    assert t.loc["s2", "agreement_full_gold"] == 1.0 and np.isnan(t.loc["s2", "agreement"])
    without = sentiment_findings._human_vs_gold(items.drop(columns="gold_without_single")).set_index("source")
    assert without.loc["all", "agreement"] == without.loc["all", "agreement_full_gold"] == pytest.approx(2 / 3)


def test_group_columns_rule():
    ns = types.SimpleNamespace
    assert sentiment_inputs._group_columns(ns(group_columns=["party", "year"])) == list(sentiment_inputs.COVARIATES)
    assert sentiment_inputs._group_columns(ns(group_columns=["source"])) == ["source"]
    with pytest.raises(ParamError, match="'party' is not a covariate"):
        sentiment_inputs._group_columns(ns(group_columns=["source", "party"]))


# ---- findings on a hand-made grid -----------------------------------------------------------------------------
def _pairs():
    hyps = [("positive ~ source: a_src vs b_src", "a_larger", 0.2, 0.001),
            ("negative ~ source: a_src vs b_src", "none", 0.01, 0.6),
            ("positive ~ length: long vs short", "none", 0.0, 0.9)]
    confs = [("m1", "t=1", 0), ("m1", "t=2", 0), ("m2", "n=50", 0), ("m2", "n=50", 1)]
    # error of each (hypothesis, configuration)
    err = [["correct", "type_II", "type_S", "correct"],
           ["correct", "correct", "type_I", "type_I"],
           ["type_I", "correct", "correct", "correct"]]
    concl_of = {("a_larger", "correct"): "a_larger", ("a_larger", "type_II"): "none",
                ("a_larger", "type_S"): "b_larger", ("none", "correct"): "none", ("none", "type_I"): "a_larger"}
    rows = []
    for (h, gc, ge, gp), errs in zip(hyps, err):
        for (m, p, s), e in zip(confs, errs):
            rows.append({"hypothesis_id": h, "model": m, "prompt": p, "temperature": 0.0, "seed": s, "effect": 0.1,
                         "p_value": 0.01, "conclusion": concl_of[(gc, e)], "gold_effect": ge, "gold_p_value": gp,
                         "gold_conclusion": gc, "error": e})
    return pd.DataFrame(rows)


def test_findings_counts_on_known_grid():
    items = pd.DataFrame({"item_id": list("abcd"), "gold": ["positive", "negative", "neutral", "positive"],
                          "source": ["a_src", "a_src", "b_src", "b_src"], "length": ["long", "short"] * 2,
                          "human_single": ["positive", "neutral", "neutral", None]})
    group_columns = ["source", "length"]
    f = sentiment_findings.real_data_findings(_pairs(), items, group_columns)
    s = dict(zip(f["summary"]["key"], f["summary"]["value"]))
    assert s["n_configurations"] == 4 and s["n_hypotheses"] == 3
    assert s["risk_overall"] == pytest.approx(5 / 12)
    assert s["n_source_hypotheses"] == 2 and s["n_source_gold_significant"] == 1
    assert s["n_source_flippable"] == 2 and s["n_source_false_positive_possible"] == 1
    assert s["n_source_hideable"] == 1 and s["n_source_reversible"] == 1
    assert s["risk_source"] == pytest.approx(4 / 8)
    assert s["risk_by_annotator.m1"] == pytest.approx(2 / 6) and s["risk_by_annotator.m2"] == pytest.approx(3 / 6)
    assert s["single_rater_agreement"] == pytest.approx(2 / 3)  # the NA is left out
    flips = f["source_flips"].set_index("hypothesis_id")
    first = flips.loc["positive ~ source: a_src vs b_src"]
    assert (first.n_wrong, first.n_type_II, first.n_type_S) == (2, 1, 1)
    assert first.configurations_flipping == "m1/t=2; m2/n=50/seed=0"
    by = f["flips_by_annotator"].set_index("model")
    assert by.loc["m1", "n_flipped_by_some_configuration"] == 1 and by.loc["m1", "n_decided_by_choice"] == 1
    assert by.loc["m2", "n_flipped_by_every_configuration"] == 1  # both seeds make the null significant
    assert by.loc["m2", "n_decided_by_choice"] == 1
    rs = f["risk_by_source"]
    assert rs.loc[(rs.source == "a_src") & (rs.model == "all"), "risk"].item() == pytest.approx(0.5)
    checks, issues = sentiment_inputs.corpus_checks(types.SimpleNamespace(items_path="/nonexistent/items.parquet"))
    assert checks.empty and issues == ()  # no build info beside hand-made items
    # deterministic
    g = sentiment_findings.real_data_findings(_pairs(), items, group_columns)
    for k in f:
        pd.testing.assert_frame_equal(f[k], g[k])


def test_real_tex_views_name_columns_of_their_findings():
    """Unit: the findings tables of one hand-made grid; every .tex view names only columns its table has."""
    items = pd.DataFrame({"item_id": list("abcd"), "gold": ["positive", "negative", "neutral", "positive"],
                          "source": ["a_src", "a_src", "b_src", "b_src"], "length": ["long", "short"] * 2})
    f = sentiment_findings.real_data_findings(_pairs(), items, ["source", "length"])
    assert set(plots.REAL_TEX_COLUMNS) <= set(f)
    for name, view in plots.REAL_TEX_COLUMNS.items():
        assert set(view) <= set(f[name].columns) and len(view) <= 10, name
    # the findings saved without a view are narrow enough to show every column
    assert all(len(t.columns) <= 10 for name, t in f.items() if name not in plots.REAL_TEX_COLUMNS)


def test_findings_bad_input():
    with pytest.raises(InputError, match="pairs lacks column 'error'"):
        sentiment_findings.real_data_findings(_pairs().drop(columns="error"), pd.DataFrame({"gold": []}), ["source"])


# ---- cached build on a slice, with stand-in embeddings (the wiring; the real model is tested in the run) ----------
@pytest.fixture
def fake_embeddings(monkeypatch):
    def embed(texts, model=None, batch_size=64):
        out = np.stack([np.random.default_rng(list(hashlib.sha256(t.encode()).digest()[:8])).normal(size=16)
                        for t in texts])
        return (out / np.linalg.norm(out, axis=1, keepdims=True)).astype(np.float32)

    monkeypatch.setattr(annotators, "embeddings_available", lambda: True)
    monkeypatch.setattr(annotators, "load_embedding_model", lambda: object())
    monkeypatch.setattr(annotators, "embed", embed)
    monkeypatch.setattr(annotators, "annotator_versions", lambda e: {"annotators": "test", "emb": str(e)})


def test_build_inputs_slice(tmp_path, monkeypatch, fake_embeddings):
    real_folder = hutto_data.ensure_data()  # the project cache (fetched once)
    monkeypatch.setenv("STUDYKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(hutto_data, "data_folder", lambda: real_folder)
    params = types.SimpleNamespace(seed=5, sentiment_max_items=800, sentiment_embeddings="on",
                                   group_columns=["party"])
    upd = sentiment_inputs.build_inputs(params)
    assert set(upd) == {"items_path", "annotations_path", "group_columns"}
    assert upd["group_columns"] == ["source", "length", "negation"]
    items = pd.read_parquet(upd["items_path"])
    a = pd.read_parquet(upd["annotations_path"])
    assert len(items) == 800 and items["item_id"].is_unique
    assert items.groupby("source").size().to_dict() == {"amazon_reviews": 125, "movie_reviews": 358,
                                                        "nyt_editorials": 175, "tweets": 142}
    assert set(items["gold"]) == set(annotators.LABELS) and set(items["human_single"]) <= set(annotators.LABELS)
    assert list(a.columns) == annotators.ANNOTATION_COLUMNS and set(a["label"]) <= set(annotators.LABELS)
    conf = a.groupby(["model", "prompt", "temperature", "seed"]).size()
    assert (conf == 800).all()  # every configuration labels every item
    n_lex = sum(len(t) for t in annotators.LEXICON_THRESHOLDS.values())
    assert len(conf) == n_lex + len(annotators.LABEL_DESCRIPTIONS) + len(annotators.LOGREG_SIZES[:2]) * len(annotators.LOGREG_SEEDS)
    assert set(a["model"]) == {"vader", "textblob", "afinn", "minilm-zeroshot", "minilm-logreg"}
    info = json.loads((Path(upd["items_path"]).parent / sentiment_inputs.INFO_FILE).read_text())
    assert info["n_items"] == 800 and info["n_items_corpus"] == 23_703 and info["embeddings"] is True
    checks = {c["check"]: c["count"] for c in info["corpus_checks"]}
    assert checks["ratings_mean_mismatch"] == 199
    # an item's single rater does not depend on the slice
    full, _ = sentiment_inputs.corpus_items(hutto_data.parse_folder(real_folder), seed=5)
    assert (full.set_index("item_id").loc[items["item_id"], "human_single"].to_numpy()
            == items["human_single"].to_numpy()).all()
    # cached: the same folder, files untouched
    before = Path(upd["annotations_path"]).stat().st_mtime_ns
    assert sentiment_inputs.build_inputs(params) == upd and Path(upd["annotations_path"]).stat().st_mtime_ns == before
    # byte-identical when rebuilt from scratch in another cache
    monkeypatch.setenv("STUDYKIT_CACHE", str(tmp_path / "cache2"))
    again = sentiment_inputs.build_inputs(params)
    assert again["annotations_path"] != upd["annotations_path"]
    for key in ("items_path", "annotations_path"):
        assert Path(again[key]).read_bytes() == Path(upd[key]).read_bytes()
    # the study's loader and grid read the files like any raw data
    from studykit.studies.annotation_robustness import analysis, load

    data, data_issues = load.encode(items, a, upd["group_columns"])
    assert data_issues == () and data.n_configs == len(conf)
    grid, _ = analysis.run_grid(data, None, alpha=0.05, min_group_size=30)
    pairs = analysis.pairs_frame(grid)
    params_done = types.SimpleNamespace(**{**vars(params), **upd})
    f = sentiment_findings.real_data_findings(pairs, items, params_done.group_columns)
    s = dict(zip(f["summary"]["key"], f["summary"]["value"]))
    assert s["n_source_hypotheses"] == len(f["source_flips"]) > 0
    assert 0 <= s["risk_overall"] <= 1 and not sentiment_inputs.corpus_checks(params_done)[0].empty


def test_embeddings_on_without_extra_is_a_param_error(monkeypatch):
    monkeypatch.setattr(annotators, "embeddings_available", lambda: False)
    with pytest.raises(ParamError, match="sentiment_embeddings"):
        sentiment_inputs.build_inputs(types.SimpleNamespace(seed=0, sentiment_max_items=300, sentiment_embeddings="on",
                                              group_columns=["source"]))


def test_profile_with_foreign_group_column_is_one_line_param_error():
    from studykit.files.paths import params_dir
    from studykit.studies.annotation_robustness import Params

    with pytest.raises(ParamError, match="'party' is not a covariate") as exc:
        Params.load(params_dir("annotation_robustness") / "sentiment_real.yaml",
                    {"group_columns": ["source", "party"]})
    assert "\n" not in str(exc.value)
