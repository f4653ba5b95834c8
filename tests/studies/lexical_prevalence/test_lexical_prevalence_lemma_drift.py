"""Lemmas are a sample too: the uptake test under lemma-specific drift, the placebo and the excess-word FDR.

Unit: one simulated data set per replicate. Uptake: documents (bursty, gamma-distributed rates) x lemmas
(20 AI and 20 baseline words, each with its own log-drift between periods, SD 0.3, and no difference between
the sets: a true null); the old test resamples documents only, the new one documents and lemmas (two-way).
Yearly counts: lemma counts of each period drawn binomially from documents, no drift, for the lemma-level
Welch t (before) and its two-way replacement. Excess words: null words with a constant document probability
across years, all flags being false.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from studykit.studies.lexical_prevalence.analysis import kobak_is_excess, kobak_projection
from studykit.studies.lexical_prevalence.uptake import (did_table, document_bootstrap, excess_noise_floor, lemma_columns,
                                                         lemma_level_did, two_way_did, yearly_two_way_did)

PRE, POST = [2020, 2021], [2023, 2024]
N_LEMMAS = 20


def drifting_documents(rng, n_docs: int, drift_sd: float = 0.3, shape: float = 0.5) -> tuple[pd.DataFrame, dict]:
    """Per document 1 + Poisson(60) content tokens; lemma j of 40 has a base rate (log-uniform 0.001-0.01 per
    token), a drift exp(delta_j), delta_j ~ N(0, drift_sd), in the post years, and a document-lemma burst factor
    Gamma(shape, 1/shape); tokens ~ Poisson(n_d * rate_j * drift_j * burst_dj). AI and baseline sets are drawn
    alike, so the difference in differences is null on average over lemma draws."""
    years = np.repeat(PRE + POST, n_docs)
    post = np.isin(years, POST)
    n = rng.poisson(60, len(years)) + 1
    rate = np.exp(rng.uniform(np.log(0.001), np.log(0.01), 2 * N_LEMMAS))
    drift = np.exp(rng.normal(0, drift_sd, 2 * N_LEMMAS)) if drift_sd > 0 else np.ones(2 * N_LEMMAS)
    burst = rng.gamma(shape, 1 / shape, size=(len(years), 2 * N_LEMMAS))
    mean = n[:, None] * rate[None] * np.where(post[:, None], drift[None], 1.0) * burst
    x = rng.poisson(mean)
    cols = lemma_columns({"ai": ["w"] * N_LEMMAS, "baseline": ["w"] * N_LEMMAS})
    frame = pd.DataFrame(x, columns=cols["ai"] + cols["baseline"])
    frame.insert(0, "n_content", n)
    frame.insert(0, "year", years)
    frame["ai"] = frame[cols["ai"]].sum(axis=1)
    frame["baseline"] = frame[cols["baseline"]].sum(axis=1)
    return frame, cols


def drift_rejections(replicates: int, n_docs: int = 200, n_resamples: int = 199, languages: int = 2,
                     drift_sd: float = 0.3, seed: int = 21) -> dict[str, float]:
    """Per-test and family-wise (Holm over ``languages``) null rejection of the document-only and two-way tests."""
    rng = np.random.default_rng(seed)
    old = new = old_family = new_family = 0
    for r in range(replicates):
        rows = []
        for lang in range(languages):
            docs, cols = drifting_documents(rng, n_docs, drift_sd)
            before = document_bootstrap(docs, PRE, POST, n_resamples=n_resamples, confidence=0.95, seed=[r, lang])
            after = two_way_did(docs, cols, PRE, POST, n_resamples=n_resamples, confidence=0.95, seed=[r, lang, 1])
            rows.append({"language": str(lang), **after, "did_p_value_documents": before["did_p_value"]})
        table = did_table(rows, alpha=0.05)
        old += int((table["did_p_value_documents"] < 0.05).sum())
        new += int((table["did_p_value"] < 0.05).sum())
        old_family += bool((table["did_p_value_corrected_documents"] < 0.05).any())
        new_family += bool((table["did_p_value_corrected"] < 0.05).any())
    tests = replicates * languages
    return {"documents": old / tests, "two_way": new / tests, "documents_family": old_family / replicates,
            "two_way_family": new_family / replicates}


def test_two_way_did_holds_alpha_under_lemma_drift_fast():
    """100 replicates x 2 languages (200 tests): the two-way test near 5 %, the document-only test above it."""
    rates = drift_rejections(100)
    assert 0.005 <= rates["two_way"] <= 0.09, rates
    assert rates["two_way_family"] <= 0.15, rates
    assert rates["documents"] >= rates["two_way"] + 0.03, rates


@pytest.mark.slow
def test_two_way_did_holds_alpha_under_lemma_drift():
    """400 replicates x 3 languages at 300 documents a year: two-way within 0.02-0.07, family-wise (Holm) at
    most 0.08; document-only above 0.09."""
    rates = drift_rejections(400, n_docs=300, n_resamples=399, languages=3, seed=22)
    assert 0.02 <= rates["two_way"] <= 0.07, rates
    assert rates["two_way_family"] <= 0.08, rates
    assert rates["documents"] > 0.09, rates


def yearly_counts(rng, n_pre: int, n_post: int, drift_sd: float = 0.0) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Yearly document counts of 20 AI and 20 baseline lemmas: docs_with_lemma ~ Bin(n_docs, p_j), AI lemmas
    rarer (p log-uniform in 0.0005-0.005) than baseline lemmas (0.005-0.05), ``n_pre`` documents a year before
    the cut-off and ``n_post`` after (periods of unequal size, as in most corpora), and a lemma drift
    exp(delta_j), delta_j ~ N(0, drift_sd), after the cut-off (none by default: a plain null)."""
    lemmas = [f"a{i}" for i in range(N_LEMMAS)] + [f"b{i}" for i in range(N_LEMMAS)]
    p = np.exp(np.concatenate([rng.uniform(np.log(0.0005), np.log(0.005), N_LEMMAS),
                               rng.uniform(np.log(0.005), np.log(0.05), N_LEMMAS)]))
    drift = np.exp(rng.normal(0, drift_sd, len(lemmas))) if drift_sd > 0 else np.ones(len(lemmas))
    rows = []
    for year in PRE + POST:
        n = n_post if year in POST else n_pre
        pj = np.clip(p * (drift if year in POST else 1.0), 0, 1)
        rows.append(pd.DataFrame({"year": year, "lemma": lemmas, "docs": rng.binomial(n, pj)}))
    totals = pd.DataFrame({"year": PRE + POST, "n_docs": [n_pre] * len(PRE) + [n_post] * len(POST)})
    return pd.concat(rows, ignore_index=True), totals, {"ai": lemmas[:N_LEMMAS], "baseline": lemmas[N_LEMMAS:]}


def yearly_rejections(replicates: int, n_pre: int = 1000, n_post: int = 300, n_resamples: int = 199,
                      drift_sd: float = 0.0, seed: int = 23) -> dict[str, float]:
    """Null rejection of the lemma-level Welch t (before) and the lemma bootstrap of the pooled DiD (after)."""
    rng = np.random.default_rng(seed)
    welch = new = 0
    for r in range(replicates):
        docs, totals, sets = yearly_counts(rng, n_pre, n_post, drift_sd)
        welch += lemma_level_did(docs, totals, sets, PRE, POST)["did_p_value"] < 0.05
        new += yearly_two_way_did(docs, totals, sets, PRE, POST, n_resamples=n_resamples, confidence=0.95,
                                  seed=[r])["did_p_value"] < 0.05
    return {"welch": welch / replicates, "two_way": new / replicates}


def test_yearly_two_way_did_holds_alpha_fast():
    """200 null replicates of yearly counts: the lemma bootstrap at most 0.09, the Welch t far above."""
    for drift_sd in (0.0, 0.3):
        rates = yearly_rejections(200, drift_sd=drift_sd)
        assert rates["two_way"] <= 0.09, (drift_sd, rates)
        assert rates["welch"] >= 0.12, (drift_sd, rates)


@pytest.mark.slow
def test_yearly_two_way_did_holds_alpha():
    """1,000 null replicates: the lemma bootstrap at most 0.07, with and without drift; the Welch t above 0.12."""
    for drift_sd in (0.0, 0.3):
        rates = yearly_rejections(1000, n_resamples=399, drift_sd=drift_sd, seed=24)
        assert rates["two_way"] <= 0.07, (drift_sd, rates)
        assert rates["welch"] >= 0.12, (drift_sd, rates)


def excess_table(rng, n_null: int, n_true: int, n_docs: int) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """Kobak et al.'s table for ``n_null`` words with a constant document probability in years Y-3..Y and
    ``n_true`` words whose probability triples in year Y (true excess); returns the truth mask too."""
    n = n_null + n_true
    p_true = np.exp(rng.uniform(np.log(0.005), np.log(0.1), n))
    lift = np.ones((4, n))
    lift[3, n_null:] = 3.0
    counts = rng.binomial(n_docs, np.clip(p_true * lift, 0, 1))
    p3, p2, p1, p = (counts + 1.0) / (n_docs + 1.0)
    q = kobak_projection(p3, p2)
    analysed = pd.DataFrame({"language": "xx", "year": 2024, "lemma": np.arange(n).astype(str),
                             "docs": counts[3], "freq": p, "freq_prev": p1, "freq_minus2": p2, "freq_minus3": p3,
                             "freq_expected": q, "delta": p - q, "ratio": p / q, "excess": kobak_is_excess(p, q, 0.01)})
    totals = pd.DataFrame({"language": "xx", "year": [2021, 2022, 2023, 2024], "n_docs": n_docs})
    return analysed, totals, np.arange(n) >= n_null


def excess_error_rates(replicates: int, n_null: int, n_true: int, n_docs: int = 2_500, seed: int = 25) -> dict:
    """Mean false discovery proportion (and the share of replicates with any false flag) of the noise floor
    alone and of the FDR-controlled flags, and the share of true excess words each keeps."""
    rng = np.random.default_rng(seed)
    fdp = {"noise_robust": [], "fdr_robust": []}
    any_false = {"noise_robust": 0, "fdr_robust": 0}
    kept = {"noise_robust": [], "fdr_robust": []}
    for _ in range(replicates):
        analysed, totals, truth = excess_table(rng, n_null, n_true, n_docs)
        floored = excess_noise_floor(analysed, totals, confidence=0.95, gap_threshold=0.01)
        for rule in fdp:
            flags = floored[rule].to_numpy(bool)
            false = int((flags & ~truth).sum())
            fdp[rule].append(false / max(int(flags.sum()), 1))
            any_false[rule] += false > 0
            if truth.any():
                kept[rule].append(float(flags[truth].mean()))
    return {**{f"fdr.{k}": float(np.mean(v)) for k, v in fdp.items()},
            **{f"any_false.{k}": v / replicates for k, v in any_false.items()},
            **{f"kept.{k}": float(np.mean(v)) if v else float("nan") for k, v in kept.items()}}


def test_excess_fdr_controls_false_discoveries_fast():
    """200 replicates of 2,000 null words (and 1,980 null + 20 true): with no true excess word the FDR flags
    are wrong in at most 8 % of replicates (the FDR is then the family-wise rate), the noise floor alone in
    most; with true words the mean false discovery proportion stays at most 0.05."""
    null = excess_error_rates(200, 2_000, 0)
    assert null["any_false.fdr_robust"] <= 0.08, null
    assert null["any_false.noise_robust"] >= 0.5, null
    mixed = excess_error_rates(200, 1_980, 20)
    assert mixed["fdr.fdr_robust"] <= 0.05 < mixed["fdr.noise_robust"], mixed
    assert mixed["kept.fdr_robust"] >= 0.4, mixed


@pytest.mark.slow
def test_excess_fdr_controls_false_discoveries():
    """1,000 replicates each, at 500 and 5,000 documents a year."""
    for n_docs in (500, 5_000):
        null = excess_error_rates(1000, 2_000, 0, n_docs=n_docs, seed=26)
        assert null["any_false.fdr_robust"] <= 0.065, (n_docs, null)
        mixed = excess_error_rates(1000, 1_980, 20, n_docs=n_docs, seed=27)
        assert mixed["fdr.fdr_robust"] <= 0.055, (n_docs, mixed)


def test_two_way_and_document_only_tests_share_the_estimate():
    """Unit: one simulated language. Both bootstraps recompute the same D from the same sums; the two-way one
    draws lemma weights too, so its SE is at least the document-only SE here (drift SD 0.3)."""
    docs, cols = drifting_documents(np.random.default_rng(3), 150)
    before = document_bootstrap(docs, PRE, POST, n_resamples=400, confidence=0.95, seed=1)
    after = two_way_did(docs, cols, PRE, POST, n_resamples=400, confidence=0.95, seed=1)
    assert after["did_log"] == pytest.approx(before["did_log"], abs=1e-12)
    assert after["did_ci_low"] < after["did_log"] < after["did_ci_high"]
    assert after["did_se"] > before["did_se"]
    short = two_way_did(docs, {"ai": cols["ai"][:1], "baseline": cols["baseline"]}, PRE, POST, n_resamples=100,
                        confidence=0.95, seed=1)
    assert "did_p_value" not in short and "cannot be resampled" in short["note"]


def test_excess_p_value_agrees_with_the_noise_floor():
    """Unit: one table of 3,000 words. The per-flag noise floor is the excess p-value at level a before the
    Bonferroni factor of the two rules: noise_robust == excess & (excess_p_value / 2 < a); FDR flags are a subset."""
    analysed, totals, _ = excess_table(np.random.default_rng(4), 2_900, 100, 2_500)
    floored = excess_noise_floor(analysed, totals, confidence=0.95, gap_threshold=0.01)
    excess = floored["excess"].to_numpy(bool)
    assert np.array_equal(floored["noise_robust"].to_numpy(bool),
                          excess & (floored["excess_p_value"].to_numpy() / 2 < 0.05))
    assert not (floored["fdr_robust"] & ~floored["noise_robust"]).any()
    q = floored["excess_p_value_corrected"]
    assert q.between(0, 1).all() and (q >= floored["excess_p_value"] - 1e-15).all()


def test_a_set_of_one_lemma_falls_back_to_the_document_only_test_and_says_so(tmp_path):
    """Unit: one language of the embedded diachronic corpus (150 documents a year) with a single AI lemma:
    lemmas cannot be resampled, so the document-only test decides, labelled in ``method``, the note and a data
    issue; with three lemmas a set the two-way test decides."""
    from pathlib import Path

    from studykit.studies.lexical_prevalence import Params, load, steps

    df = pd.read_parquet(Path(__file__).resolve().parents[3] / "data" / "lexical_prevalence" / "diachronic.parquet")
    df[df["language"] == "en"].groupby("year").head(150).to_parquet(tmp_path / "d.parquet")
    params = Params(diachronic_path=str(tmp_path / "d.parquet"), n_workers=1, chunk_rows=300, n_uptake_bootstrap=100)
    diach = load.load_diachronic(params)
    one = {"en": {"ai": ["emphasize"], "baseline": ["issue", "number"]}}
    result, issues = steps.uptake(diach, one, load.count_documents(params, diach, one), params)
    row = result.did.iloc[0]
    assert row["method"].startswith("document-clustered") and row["did_p_value"] == row["did_p_value_documents"]
    assert "cannot be resampled" in row["note"] and "uptake_lemmas_fixed" in {i.check for i in issues}
    three = {"en": {"ai": ["emphasize", "enhance", "crucial"], "baseline": ["issue", "number", "plan"]}}
    result, issues = steps.uptake(diach, three, load.count_documents(params, diach, three), params)
    row = result.did.iloc[0]
    assert row["method"].startswith("two-way") and row["did_p_value"] > row["did_p_value_documents"]
    assert np.isfinite(row["placebo_did_p_value"]) and np.isfinite(row["mde_log"])
