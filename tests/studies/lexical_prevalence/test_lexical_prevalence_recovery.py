"""Recovery of the planted truth on the embedded data, determinism and the simulator's byte-identity.

Unit: a planted lemma of one language (recovery), a language (uptake), a language-year-lemma (excess words).
"""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from studykit.studies.lexical_prevalence import Params, analysis as A, load, steps
from studykit.studies.lexical_prevalence.simulate import SimConfig, write_embedded

ROOT = Path(__file__).resolve().parents[3]
DATA = ROOT / "data" / "lexical_prevalence"


@pytest.fixture(scope="module")
def embedded():
    params = Params(n_workers=1, n_bootstrap=300, languages=["en", "fr", "pl"])
    counts = load.count_comparison(params)
    langs, single = A.usable_languages(counts.totals)
    res, _ = steps.lpr_analysis(counts, langs, params)
    diach = load.load_diachronic(params)
    return params, counts, res, diach


def test_planted_lemmas_rank_at_the_top(embedded):
    params, counts, res, _ = embedded
    truth = pd.read_csv(DATA / "truth_planted.csv", keep_default_na=False)
    truth = truth[truth["kind"] == "ai_overuse"]
    assert sorted(res.tables) == ["en", "fr", "pl"]
    for lang, g in truth[truth["language"].isin(res.tables)].groupby("language"):
        planted = set(g["lemma"])
        top_k = set(res.tables[lang]["lemma"].head(len(planted)))
        assert top_k == planted, lang
        top = res.tops[lang]
        assert (top["lpr_ci_low"].head(len(planted)) > 0).all()
        # CI brackets the point estimate
        assert ((top["lpr_ci_low"] <= top["lpr"]) & (top["lpr"] <= top["lpr_ci_high"])).all()


def test_planted_uptake_is_recovered_and_baseline_is_flat(embedded):
    params, _, res, diach = embedded
    sets = {}
    for lang in res.tops:
        ai = res.tops[lang]["lemma"].tolist()
        sets[lang] = {"ai": ai, "baseline": A.baseline_words(res.tables[lang], ai, tolerance=0.1, candidates=5,
                                                             seed=A.language_seed(params.seed, lang, 2))}
    table = A.uptake_table(diach, sets, params.pre_years, params.post_years)
    truth = pd.read_csv(DATA / "truth_uptake.csv").groupby("language")["uptake"].first()
    ai = table[table["word_set"] == "ai"].set_index("language")
    for lang, has in truth[truth.index.isin(res.tables)].items():
        if has:
            assert ai.loc[lang, "change_pct"] > 20 and ai.loc[lang, "p_value"] < 1e-6, lang
        else:
            assert ai.loc[lang, "p_value"] > 0.001, lang  # no planted uptake: no strong change
    base = table[table["word_set"] == "baseline"]
    assert (base["n_lemmas"] >= 10).all()  # fewer when |LPR| <= 0.1 candidates run out (reported)
    assert abs(base["change_pct"].mean()) < 10
    assert (base["p_value"] > 0.001).all()


def test_kobak_flags_planted_words_after_the_cutoff_and_topic_bursts_before(embedded):
    params, _, _, diach = embedded
    ex = A.excess_vocabulary(diach.docs, diach.totals, min_freq=params.excess_min_freq,
                             min_docs=params.excess_min_docs)
    truth = pd.read_csv(DATA / "truth_planted.csv", keep_default_na=False)
    ex_words = ex[ex["excess"]]
    topic = truth[truth["kind"] == "topic_burst"]
    flagged_2021 = set(map(tuple, ex_words[ex_words["year"] == 2021][["language", "lemma"]].to_numpy()))
    topic = topic[topic["language"].isin(["en", "fr", "pl"])]
    hits = sum((l, w) in flagged_2021 for l, w in topic[["language", "lemma"]].to_numpy())
    assert hits >= 0.8 * len(topic)
    ai = truth[truth["kind"] == "ai_overuse"]
    flagged_post = set(map(tuple, ex_words[ex_words["year"] >= 2023][["language", "lemma"]].to_numpy()))
    up = pd.read_csv(DATA / "truth_uptake.csv").groupby("language")["uptake"].first()
    ai_up = {(l, w) for l, w in ai[["language", "lemma"]].to_numpy() if l in ("en", "fr", "pl") and up[l]}
    assert len(flagged_post & ai_up) >= 0.5 * len(ai_up)  # recall of planted uptake words at min_docs = 30
    no_uptake = set(up[~up].index)
    assert not any(l in no_uptake for l, _ in flagged_post & set(map(tuple, ai[["language", "lemma"]].to_numpy())))


def test_analysis_is_deterministic(embedded):
    params, counts, res, diach = embedded
    again, _ = steps.lpr_analysis(counts, sorted(res.tables), params)
    for lang in res.tables:
        pd.testing.assert_frame_equal(res.tables[lang], again.tables[lang])
        pd.testing.assert_frame_equal(res.tops[lang], again.tops[lang])
    e1 = A.excess_vocabulary(diach.docs, diach.totals)
    e2 = A.excess_vocabulary(diach.docs, diach.totals)
    pd.testing.assert_frame_equal(e1, e2)


def test_simulator_is_byte_identical(tmp_path):
    cfg = SimConfig(languages=("en", "de"), n_pairs=60, docs_per_year=40, vocab_size=1500)
    a = write_embedded(tmp_path / "a", cfg)
    b = write_embedded(tmp_path / "b", cfg)
    for x, y in zip(a, b):
        assert x.read_bytes() == y.read_bytes(), x.name
    assert (tmp_path / "a" / "SHA256SUMS").read_text().count("\n") == 5


def test_embedded_data_matches_its_checksums():
    import hashlib

    for line in (DATA / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split()
        assert hashlib.sha256((DATA / name).read_bytes()).hexdigest() == digest, name


def test_paper_scale_prepare_generates_into_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("STUDYKIT_CACHE", str(tmp_path / "cache"))
    p = Params(simulation="paper_scale", sim_languages=1, sim_pairs=40, sim_docs_per_year=20, n_workers=1).prepare()
    corpus = pd.read_parquet(p.corpus_path)
    assert sorted(corpus["language"].unique()) == ["ar"]
    assert len(corpus) == 2 * 40
    assert Path(p.diachronic_path).is_file() and (Path(p.corpus_path).parent / "truth_planted.csv").is_file()
    again = Params(simulation="paper_scale", sim_languages=1, sim_pairs=40, sim_docs_per_year=20, n_workers=1).prepare()
    assert again.corpus_path == p.corpus_path  # cached, not regenerated
