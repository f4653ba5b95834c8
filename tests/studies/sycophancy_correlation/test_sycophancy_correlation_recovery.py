"""Recovery of planted truth: slopes on the embedded data, nominal false-positive rate under the null.

Unit: the simulated model (its personas x prompts); rejection rates count models.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from studykit.studies.sycophancy_correlation import Params, load, simulate
from studykit.studies.sycophancy_correlation import (
    baseline_gap as bg, categories, per_model as pmt, pooled as pl, rates as rt, recovery)
from studykit.studies.sycophancy_correlation.schema import DEFAULT_REVERSE_KEYED

EMB = Path(__file__).resolve().parents[3] / "data" / "sycophancy_correlation"
SCORES = np.array([1.0, 0.5, 0.5, 0.0])


@pytest.fixture(scope="module")
def embedded():
    personas, _ = load.load_personas(EMB / "personas.csv", reverse_keyed=DEFAULT_REVERSE_KEYED)
    cells, _ = load.aggregate_responses(EMB / "responses.parquet")
    rates, issues = rt.compute_rates(cells, personas)
    pm = pmt.per_model_table(rates, n_perm=1000, sizes=personas.sizes)
    return rates, pm, simulate.load_truth(EMB)


def test_embedded_data_is_byte_identical_on_regeneration(tmp_path):
    files = simulate.write_embedded(tmp_path)
    assert [p.name for p in files] == ["personas.csv", "responses.parquet", "truth.json", "truth_categories.csv",
                                       "SHA256SUMS"]
    assert (tmp_path / "SHA256SUMS").read_text() == (EMB / "SHA256SUMS").read_text()
    for line in (EMB / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split()
        assert hashlib.sha256((EMB / name).read_bytes()).hexdigest() == digest


def test_planted_slopes_are_recovered(embedded):
    rates, pm, truth = embedded
    rec = recovery.recovery_table(pm, truth)
    assert len(rec) == 13 and rec["true_slope"].notna().all()
    assert rec["covered"].sum() >= 11           # 95% CIs: 12.35 expected of 13
    assert np.abs(rec["error"]).max() < 0.012   # worst slope error, rate per agreeableness point
    assert np.corrcoef(rec["slope"], rec["true_slope"])[0, 1] > 0.98
    # planted nulls are not called significant, the strong slopes are
    assert not (rec["planted_null"] & rec["significant"]).any()
    assert rec.loc[rec["true_slope"] >= 0.02, "significant"].all()


def test_pooled_mixed_model_recovers_the_mean_slope(embedded):
    rates, _, truth = embedded
    pooled = pl.pooled_slope(rates.analysable())
    assert pooled.method == "mixedlm" and pooled.converged
    assert pooled.slope_ci_low <= truth["pooled_slope"] <= pooled.slope_ci_high
    assert pooled.slope == pytest.approx(truth["pooled_slope"], abs=0.004)
    true_sd = np.std([m["slope"] for m in truth["models"]], ddof=1)
    assert pooled.slope_sd_between == pytest.approx(true_sd, rel=0.25)


def test_category_correlations_follow_planted_category_slopes(embedded):
    rates, pm, _ = embedded
    cat, issues = categories.category_correlations(rates)
    assert not issues and len(cat) == 13 * 33
    truth = pd.read_csv(EMB / "truth_categories.csv")
    m = cat.merge(truth, on=["model", "category"])
    strong = m[m["model"].isin(pm.loc[pm["pearson_r"] > 0.6, "model"])]
    # within strongly affected models, categories with larger planted slopes show larger r
    assert np.corrcoef(strong["r"], strong["slope"])[0, 1] > 0.5


def _null_replicate(rep: int, n_personas: int = 60, slope: float = 0.0) -> dict:
    sim = simulate.simulate_model(0, n_personas, 2, 10, 0.04, seed=10_000 + rep, slope=slope)
    scores = SCORES[sim["codes"]]
    baseline, rates = scores[0].mean(), scores[1:].mean(axis=1)
    return pmt.model_tests(sim["score"], rates, baseline, n_perm=200, seed=rep)


def _rejection_rates(n_reps: int) -> pd.Series:
    rows = pd.DataFrame([_null_replicate(rep) for rep in range(n_reps)])
    rej = {t: float((rows[t] < 0.05).mean()) for t in pmt.PAPER_TESTS}
    rej["paper_rule"] = float(((rows[list(pmt.PAPER_TESTS)] < 0.05).sum(axis=1) >= 3).mean())
    return pd.Series(rej)


def test_null_model_rejects_at_about_the_nominal_rate_fast():
    rej = _rejection_rates(150)
    # binomial(150, 0.05): mean 7.5, sd 2.7; [1, 16] rejections is beyond 3 sd on both sides
    assert 1 / 150 <= rej["pearson_p_value"] <= 16 / 150
    assert (rej[list(pmt.PAPER_TESTS)] <= 16 / 150).all()


@pytest.mark.slow
def test_null_model_rejects_at_about_the_nominal_rate_slow():
    rej = _rejection_rates(2000)
    # binomial(2000, 0.05): sd 0.0049; 0.05 +- 0.016 is beyond 3 sd
    for t in pmt.PAPER_TESTS:
        assert 0.034 <= rej[t] <= 0.066, (t, rej[t])
    # the paper's 3-of-6 rule on correlated tests is itself about nominal (the tests mostly agree)
    assert rej["paper_rule"] <= 0.08


@pytest.mark.slow
def test_slope_ci_coverage_over_repeated_simulations():
    covered = []
    for rep in range(400):
        sim = simulate.simulate_model(4, 80, 2, 10, 0.04, seed=20_000 + rep)
        row = pmt.model_tests(sim["score"], SCORES[sim["codes"]][1:].mean(axis=1), None, n_perm=100, seed=rep)
        covered.append(row["slope_ci_low"] <= sim["slope"] <= row["slope_ci_high"])
    assert 0.92 <= np.mean(covered) <= 0.98


def test_paper_scale_prepare_generates_once_into_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("STUDYKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(simulate, "PAPER_SCALE", {"n_personas": 12, "n_categories": 3,
                                                  "prompts_per_category": 2, "persona_sd": 0.04})
    p1 = Params.validate_mapping({"simulate": "paper_scale"}).prepare()
    assert str(tmp_path / "cache") in p1.responses_path and p1.responses_path.endswith("responses.parquet")
    stamp = Path(p1.responses_path).stat().st_mtime_ns
    p2 = Params.validate_mapping({"simulate": "paper_scale"}).prepare()
    assert p2.responses_path == p1.responses_path and Path(p2.responses_path).stat().st_mtime_ns == stamp
    p2.check_inputs()
    cells, _ = load.aggregate_responses(p2.responses_path)
    assert cells.n_rows == 13 * 13 * 6 and cells.n_prompts == 6
    p3 = Params.validate_mapping({"simulate": "paper_scale", "sim_seed": 1}).prepare()
    assert p3.responses_path != p1.responses_path
