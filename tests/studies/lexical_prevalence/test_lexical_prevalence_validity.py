"""Validity of the uptake and excess-word tests under the dependence they are built for.

Unit: one simulated data set per replicate. Uptake: documents with
document-specific (gamma-distributed, so bursty) rates of AI and baseline
words, no change between periods; the test's unit is the document. Excess
words: documents that contain a word independently with a constant
probability across years; the bound's unit is the document.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from studykit.stats import chi2_independence
from studykit.studies.lexical_prevalence import Params, load, steps
from studykit.studies.lexical_prevalence.analysis import kobak_projection, kobak_is_excess
from studykit.studies.lexical_prevalence.uptake import did_table, document_bootstrap, excess_noise_floor

DATA = Path(__file__).resolve().parents[3] / "data" / "lexical_prevalence"
YEARS_PRE, YEARS_POST = [2020, 2021], [2023, 2024]


def bursty_documents(rng, n_docs: int, share: float = 0.03, shape: float = 0.3) -> pd.DataFrame:
    """Null data: per document n ~ 1 + Poisson(20) content tokens and, per word set, a rate
    lambda ~ Gamma(shape, share/shape) (mean ``share``; small shape = bursty), tokens ~ Bin(n, lambda)."""
    years = np.repeat(YEARS_PRE + YEARS_POST, n_docs)
    n = rng.poisson(20, len(years)) + 1
    rates = rng.gamma(shape, share / shape, size=(2, len(years))).clip(max=1)
    return pd.DataFrame({"year": years, "n_content": n, "ai": rng.binomial(n, rates[0]),
                         "baseline": rng.binomial(n, rates[1])})


def null_rejections(replicates: int, n_docs: int, n_resamples: int, languages: int = 3) -> dict[str, float]:
    """Per-language rejection rates (document bootstrap DiD, token chi-square) and the family-wise rate."""
    rng = np.random.default_rng(2026)
    did_rejects = chi_rejects = family_rejects = tests = 0
    for r in range(replicates):
        rows = []
        for lang in range(languages):
            docs = bursty_documents(rng, n_docs)
            rows.append({"language": str(lang), "method": "document-clustered bootstrap",
                         **document_bootstrap(docs, YEARS_PRE, YEARS_POST, n_resamples=n_resamples,
                                              confidence=0.95, seed=[r, lang])})
            pre, post = docs[docs["year"].isin(YEARS_PRE)], docs[docs["year"].isin(YEARS_POST)]
            o1, e1, o2, e2 = pre["ai"].sum(), pre["n_content"].sum(), post["ai"].sum(), post["n_content"].sum()
            chi_rejects += chi2_independence([[o1, e1 - o1], [o2, e2 - o2]]).p_value < 0.05
        table = did_table(rows, alpha=0.05)
        did_rejects += int((table["did_p_value"] < 0.05).sum())
        family_rejects += bool((table["did_p_value_corrected"] < 0.05).any())
        tests += languages
    return {"did": did_rejects / tests, "chi2": chi_rejects / tests, "family": family_rejects / replicates}


def test_uptake_did_rejects_near_alpha_under_bursty_documents_fast():
    """Fast sibling of the slow test: 40 replicates x 3 languages, wide tolerance."""
    rates = null_rejections(replicates=40, n_docs=150, n_resamples=150)
    assert rates["did"] <= 0.12, rates
    assert rates["family"] <= 0.15, rates
    assert rates["chi2"] > rates["did"] + 0.05, rates  # the token-level test is far too liberal here


@pytest.mark.slow
def test_uptake_did_rejects_near_alpha_under_bursty_documents():
    """400 replicates x 3 languages: per-language rate within 0.02-0.08, family-wise (Holm) at most 0.08."""
    rates = null_rejections(replicates=400, n_docs=300, n_resamples=400)
    assert 0.02 <= rates["did"] <= 0.08, rates
    assert rates["family"] <= 0.08, rates
    assert rates["chi2"] > 0.15, rates


def null_excess_words(rng, n_words: int, n_docs: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Kobak et al.'s table for words with a constant document probability in years Y-3..Y."""
    p_true = np.exp(rng.uniform(np.log(0.005), np.log(0.1), n_words))
    counts = rng.binomial(n_docs, np.broadcast_to(p_true, (4, n_words)))
    freq = (counts + 1.0) / (n_docs + 1.0)
    p3, p2, p1, p = freq
    q = kobak_projection(p3, p2)
    analysed = pd.DataFrame({"language": "xx", "year": 2024, "lemma": np.arange(n_words).astype(str),
                             "docs": counts[3], "freq": p, "freq_prev": p1, "freq_minus2": p2, "freq_minus3": p3,
                             "freq_expected": q, "delta": p - q, "ratio": p / q, "excess": kobak_is_excess(p, q, 0.01)})
    totals = pd.DataFrame({"language": "xx", "year": [2021, 2022, 2023, 2024], "n_docs": n_docs})
    return analysed, totals


def excess_null_rates(n_words: int, n_docs: int) -> dict[str, float]:
    rng = np.random.default_rng(7)
    analysed, totals = null_excess_words(rng, n_words, n_docs)
    floored = excess_noise_floor(analysed, totals, confidence=0.95, gap_threshold=0.01)
    return {"bound_above_1": float((floored["ratio_low"] > 1).mean()),
            "point_flags": float(floored["excess"].mean()), "robust_flags": float(floored["noise_robust"].mean())}


def test_excess_noise_floor_bound_is_calibrated_under_the_null_fast():
    """Fast sibling: 4,000 null words at 2,500 documents a year."""
    rates = excess_null_rates(4_000, 2_500)
    assert rates["bound_above_1"] <= 0.07, rates  # one-sided 95% bound: at most about 5% above the truth
    assert rates["robust_flags"] <= 0.05 < rates["point_flags"], rates  # false flags at most alpha


@pytest.mark.slow
def test_excess_noise_floor_bound_is_calibrated_under_the_null():
    """400,000 null words at 500 and 5,000 documents a year."""
    for n_docs in (500, 5_000):
        rates = excess_null_rates(400_000, n_docs)
        assert rates["bound_above_1"] <= 0.055, (n_docs, rates)
        assert rates["robust_flags"] <= min(0.05, rates["point_flags"]), (n_docs, rates)


def test_document_counts_add_up_to_the_token_shares(tmp_path):
    """Unit: a document. The per-document set tokens sum to the pooled counts of the uptake table."""
    df = pd.read_parquet(DATA / "diachronic.parquet")
    df = df[df["language"] == "en"].groupby("year").head(200)
    df.to_parquet(tmp_path / "d.parquet")
    params = Params(diachronic_path=str(tmp_path / "d.parquet"), n_workers=1, chunk_rows=300)
    diach = load.load_diachronic(params)
    sets = {"en": {"ai": ["emphasize", "enhance", "crucial"], "baseline": ["issue", "number", "plan"]}}
    docs = load.count_documents(params, diach, sets)
    result, _ = steps.uptake(diach, sets, docs, params.model_copy(update={"n_uptake_bootstrap": 100}))
    for row in result.table.itertuples():
        pre = docs[docs["year"].isin(params.pre_years)]
        post = docs[docs["year"].isin(params.post_years)]
        assert (row.occ_pre, row.exposure_pre) == (pre[row.word_set].sum(), pre["n_content"].sum())
        assert (row.occ_post, row.exposure_post) == (post[row.word_set].sum(), post["n_content"].sum())


def test_lemma_level_did_interval_follows_the_confidence():
    """Unit: one language's yearly counts of 3 AI and 3 baseline lemmas; the Welch interval of the
    lemma-level difference in differences widens with the confidence level and keeps its estimate."""
    from studykit.studies.lexical_prevalence.uptake import lemma_level_did

    docs = pd.DataFrame({"year": [2020] * 6 + [2024] * 6, "lemma": list("abcxyz") * 2,
                         "docs": [5, 8, 6, 7, 9, 4, 15, 20, 11, 7, 10, 5]})
    totals = pd.DataFrame({"year": [2020, 2024], "n_docs": [100, 100]})
    sets = {"ai": ["a", "b", "c"], "baseline": ["x", "y", "z"]}
    r90, r99 = (lemma_level_did(docs, totals, sets, [2020], [2024], confidence=c) for c in (0.90, 0.99))
    assert r90["did_log"] == r99["did_log"] > 0
    assert r99["did_ci_low"] < r90["did_ci_low"] < r90["did_log"] < r90["did_ci_high"] < r99["did_ci_high"]
