"""The notebook on a small slice of the sentiment_real profile, through the runner (real data, real annotators).

Unit: one run of the notebook on a slice of the real data through the runner.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest

from studykit.runs.runner import run_study
from studykit.studies.annotation_robustness import annotators

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from texcheck import tex_problems  # noqa: E402

SLICE = {"sentiment_max_items": 400, "human_sample_sizes": [50, 100], "mitigation_replicates": 3,
         "n_bootstrap": 200}


@pytest.fixture(scope="module")
def slice_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("sentiment") / "out"
    res = run_study("annotation_robustness", profile="sentiment_real", overrides=SLICE, out_dir=out)
    return res, json.loads((res.out_dir / "results.json").read_text())


def test_slice_runs_and_records_like_the_default(slice_run):
    res, r = slice_run
    assert res.status == "executed"
    emb = annotators.embeddings_available()
    assert r["n_items"] == 400
    n_conf = 12 + (5 + 2 * 3 if emb else 0)  # lexicon x thresholds, zero-shot wordings, logreg sizes x seeds
    assert r["n_configurations"] == n_conf
    # the same numbers as the default profile, with real annotators as the models
    models = {"vader", "textblob", "afinn"} | ({"minilm-zeroshot", "minilm-logreg"} if emb else set())
    for m in models:
        assert 0 <= r[f"risk.by_model.{m}"] <= 1 and 0.2 < r[f"accuracy.by_model.{m}"] < 0.95
    assert r["risk.overall"] == pytest.approx(r["risk.type_I"] + r["risk.type_II"] + r["risk.type_S"])
    for k in ("hacking.false_positive_possible", "hacking.true_effect_hideable", "hacking.sign_reversible",
              "n_hypotheses", "n_hypotheses_skipped"):
        assert k in r
    assert r["mitigation.uses_human_single"] is True
    # the real-data section
    assert r["real.n_source_hypotheses"] > 0
    assert 0 <= r["real.n_source_flippable"] <= r["real.n_source_hypotheses"]
    assert r["real.risk_overall"] == pytest.approx(r["risk.overall"])
    assert 0.4 < r["real.single_rater_agreement"] < 0.9  # one rater vs the mean of about twenty
    # the corpus parsing rules that applied are reported as data issues
    assert r["data_issues.ratings_mean_mismatch"] == 199 and r["data_issues.html_entities_unescaped"] > 0


def test_slice_tables(slice_run):
    res, r = slice_run
    tables = res.out_dir / "tables"
    pairs = pd.read_csv(tables / "pairs.csv")
    assert {"hypothesis_id", "model", "prompt", "error", "gold_conclusion"} <= set(pairs.columns)
    assert len(pairs) == r["n_hypotheses"] * r["n_configurations"]
    flips = pd.read_csv(tables / "real_source_flips.csv")
    assert len(flips) == r["real.n_source_hypotheses"]
    assert (flips["n_wrong"] > 0).sum() == r["real.n_source_flippable"]
    src_pairs = pairs[pairs["hypothesis_id"].str.contains(" ~ source: ")]
    assert (src_pairs["error"] != "correct").groupby(src_pairs["hypothesis_id"]).sum().sort_index().tolist() == \
        flips.set_index("hypothesis_id")["n_wrong"].sort_index().tolist()
    for name in ("real_flips_by_annotator", "real_risk_by_source", "real_human_vs_gold", "real_corpus_checks",
                 "mitigation", "risk_by_model"):
        assert (tables / f"{name}.csv").is_file(), name
    assert len(list((res.out_dir / "figures").glob("*.png"))) >= 5
    assert not tex_problems(res.out_dir)  # every .tex table of the real-data run fits a page
