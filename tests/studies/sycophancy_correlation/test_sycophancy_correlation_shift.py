"""The persona-induced shift test, paired over prompts: its definition and its validity under prompt dependence.

Unit: the prompt. For each model the test statistic is built from one difference per
prompt, d_j = (mean persona score on prompt j) - (baseline score on prompt j); the
simulations draw whole models (personas x prompts + a baseline sharing the prompts)
and count rejections over replicate models.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from studykit.studies.sycophancy_correlation import baseline_gap, load, per_model, rates as rate_tables
from studykit.studies.sycophancy_correlation.simulate import draw_stances

SCORES = np.array([1.0, 0.5, 0.5, 0.0])


def _null_models(reps: int, n_personas: int, n_prompts: int, seed: int, prompt_sd: float = 0.12):
    """Persona and baseline scores of ``reps`` null models with prompt effects shared by baseline and personas.

    Prompt j has a difficulty u_j ~ N(0, prompt_sd^2) that moves every answer to it, the
    baseline's included; persona p has a fixed offset v_p (centred, so that the mean persona
    equals the baseline: the null of no persona-induced shift). Stance probabilities
    0.45 + u_j (+ v_p), scores drawn with the simulator's stance model.
    """
    rng = np.random.default_rng(seed)
    u = rng.normal(0, prompt_sd, (reps, 1, n_prompts))
    v = rng.normal(0, 0.05, (1, n_personas, 1))
    v -= v.mean()
    p_persona = np.clip(0.45 + u + v, 0.02, 0.98)
    p_base = np.clip(0.45 + u[:, 0, :], 0.02, 0.98)
    personas = SCORES[draw_stances(np.broadcast_to(p_persona, (reps, n_personas, n_prompts)).copy(), rng)]
    baseline = SCORES[draw_stances(p_base, rng)]
    return personas, baseline


def _rejection_rates(reps: int, seed: int, alpha: float = 0.05) -> tuple[float, float]:
    personas, baseline = _null_models(reps, n_personas=40, n_prompts=99, seed=seed)
    paired = np.array([baseline_gap.paired_t(personas[r].mean(axis=0) - baseline[r])["p"] for r in range(reps)])
    # the test conditional on the baseline: persona rates against the baseline rate as a constant
    conditional = sps.ttest_1samp(personas.mean(axis=2), baseline.mean(axis=1)[:, None], axis=1).pvalue
    return float((paired < alpha).mean()), float((conditional < alpha).mean())


def test_paired_shift_rejects_at_about_alpha_under_shared_prompts_fast():
    """300 null models: the paired test near 0.05, the conditional test far above it."""
    paired, conditional = _rejection_rates(300, seed=1)
    assert 0.02 <= paired <= 0.09, paired  # binomial SE 0.013
    assert conditional > 0.3, conditional


@pytest.mark.slow
def test_paired_shift_rejects_at_about_alpha_under_shared_prompts_slow():
    """4,000 null models: the paired rate within 0.05 +- 0.01 (binomial SE 0.0034)."""
    paired, conditional = _rejection_rates(4000, seed=2)
    assert abs(paired - 0.05) < 0.01, paired
    assert conditional > 0.5, conditional


def test_paired_t_interval_and_p_match_scipy():
    d = np.random.default_rng(4).normal(0.03, 0.2, 50)
    res = baseline_gap.paired_t(d, confidence=0.9)
    ref = sps.ttest_1samp(d, 0.0)
    assert res["t"] == pytest.approx(ref.statistic, rel=1e-12) and res["p"] == pytest.approx(ref.pvalue, rel=1e-10)
    ci = ref.confidence_interval(0.9)
    assert (res["ci_low"], res["ci_high"]) == pytest.approx((ci.low, ci.high), rel=1e-10)
    assert res["df"] == 49
    assert np.isnan(baseline_gap.paired_t([0.1, 0.1, 0.1])["p"])
    assert "1 paired prompt" in baseline_gap.paired_t([0.2])["note"]


def _write(tmp_path, personas: np.ndarray, baseline: np.ndarray, agreeableness: np.ndarray):
    """One model's scores as the study's input files (score column; persona and prompt ids)."""
    n_p, n_j = personas.shape
    rows = [{"model": "m", "persona_id": f"p{p:02d}", "prompt_id": f"q{j:03d}", "category": f"c{j % 3}",
             "score": float(personas[p, j])} for p in range(n_p) for j in range(n_j)]
    rows += [{"model": "m", "persona_id": "baseline", "prompt_id": f"q{j:03d}", "category": f"c{j % 3}",
              "score": float(baseline[j])} for j in range(n_j)]
    pd.DataFrame(rows).to_parquet(tmp_path / "r.parquet")
    pd.DataFrame({"model": "m", "persona_id": [f"p{p:02d}" for p in range(n_p)],
                  "agreeableness": agreeableness}).to_csv(tmp_path / "p.csv", index=False)


def test_paired_shifts_pins_the_issue_definition(tmp_path):
    """per_model's mean_shift, shift_t, shift_p_value, shift_df, shift_ci_* are the paired t over prompts,
    computed by hand from the score matrix (prompts missing for some personas included)."""
    rng = np.random.default_rng(7)
    personas, baseline = rng.uniform(0, 1, (9, 12)), rng.uniform(0, 1, 12)
    agree = rng.uniform(1, 5, 9)
    _write(tmp_path, personas, baseline, agree)
    persona_data, _ = load.load_personas(tmp_path / "p.csv", reverse_keyed=[])
    cells, _ = load.aggregate_responses(tmp_path / "r.parquet")
    rates, _ = rate_tables.compute_rates(cells, persona_data)
    shifts, issues = baseline_gap.paired_shifts(cells, rates, confidence=0.95)
    table = baseline_gap.add_shift_columns(per_model.per_model_table(rates, n_perm=100), shifts, rates)
    d = personas.mean(axis=0) - baseline
    ref = sps.ttest_1samp(d, 0.0)
    row = table.iloc[0]
    assert row["mean_shift"] == pytest.approx(d.mean(), rel=1e-12)
    assert row["shift_t"] == pytest.approx(ref.statistic, rel=1e-10)
    assert row["shift_p_value"] == pytest.approx(ref.pvalue, rel=1e-9)
    assert row["shift_df"] == 11
    ci = ref.confidence_interval(0.95)
    assert (row["shift_ci_low"], row["shift_ci_high"]) == pytest.approx((ci.low, ci.high), rel=1e-10)
    # the conditional test: persona rates against the baseline rate as a constant
    cond = sps.ttest_1samp(personas.mean(axis=1), baseline.mean())
    assert row["shift_p_value_given_baseline"] == pytest.approx(cond.pvalue, rel=1e-9)
    # gaps: the same pairing within the median-split groups
    hi = agree > np.median(agree)
    gap = baseline_gap.trait_truthfulness_gap(table, shifts).iloc[0]
    d_hi = personas[hi].mean(axis=0) - baseline
    assert gap["gap_high"] == pytest.approx(d_hi.mean(), rel=1e-12)
    ci_hi = sps.ttest_1samp(d_hi, 0.0).confidence_interval(0.95)
    assert (gap["gap_high_ci_low"], gap["gap_high_ci_high"]) == pytest.approx((ci_hi.low, ci_hi.high), rel=1e-10)
    expected = "deceptive" if ci_hi.low > 0 else "truthful" if ci_hi.high < 0 else "undetermined"
    assert gap["zone"] == expected and not issues


def test_zone_needs_an_interval_that_excludes_zero():
    per = pd.DataFrame({"model": ["a", "b", "c", "d"], "baseline_rate": [0.4, 0.4, 0.4, np.nan],
                        "rate_low": 0.3, "rate_high": 0.5, "mean_shift": 0.0})
    shifts = pd.DataFrame({"model": ["a", "b", "c"], "gap_high": [0.1, -0.1, 0.01],
                           "gap_high_ci_low": [0.02, -0.2, -0.05], "gap_high_ci_high": [0.2, -0.01, 0.07]})
    zones = baseline_gap.trait_truthfulness_gap(per, shifts).set_index("model")["zone"]
    assert zones.to_dict() == {"a": "deceptive", "b": "truthful", "c": "undetermined", "d": "no baseline"}


def test_unpaired_prompts_are_left_out_and_reported(tmp_path):
    rng = np.random.default_rng(3)
    personas, baseline = rng.uniform(0, 1, (6, 8)), rng.uniform(0, 1, 8)
    _write(tmp_path, personas, baseline, rng.uniform(1, 5, 6))
    resp = pd.read_parquet(tmp_path / "r.parquet")
    resp = resp[~((resp["persona_id"] == "baseline") & resp["prompt_id"].isin(["q000", "q001"]))]
    resp.to_parquet(tmp_path / "r.parquet")
    persona_data, _ = load.load_personas(tmp_path / "p.csv", reverse_keyed=[])
    cells, _ = load.aggregate_responses(tmp_path / "r.parquet")
    rates, _ = rate_tables.compute_rates(cells, persona_data)
    shifts, issues = baseline_gap.paired_shifts(cells, rates)
    assert shifts.iloc[0]["n_prompts_paired"] == 6 and shifts.iloc[0]["shift_df"] == 5
    assert {i.check: i.count for i in issues} == {"prompts_without_pair": 2}


def test_shift_p_values_are_corrected_across_models():
    """Unit: one model's paired shift test (a row of the per-model table); the family is every tested model.

    Issue 21.5: the shift tests were counted unadjusted (7 significant in the default profile, 4 under Holm)."""
    import pandas as pd

    from studykit import stats

    table = pd.DataFrame({"model": list("abcd"), "shift_p_value": [0.01, 0.02, 0.04, float("nan")]})
    fake = type("S", (), {})()
    shifts = pd.DataFrame({"model": list("abcd"), "shift": 0.0, "shift_t": 0.0, "shift_p_value": table["shift_p_value"],
                           "shift_df": 10.0, "shift_ci_low": 0.0, "shift_ci_high": 0.0})
    fake.personas = pd.DataFrame({"model": list("abcd"), "rate": 0.5})
    base = table.assign(baseline_rate=float("nan"), note="")
    out = baseline_gap.add_shift_columns(base, shifts, fake, correction="holm")
    expected = stats.adjust_pvalues([0.01, 0.02, 0.04], method="holm")
    assert out["shift_p_value_corrected"].iloc[:3].tolist() == pytest.approx(list(expected))
    assert np.isnan(out["shift_p_value_corrected"].iloc[3])
    gap = pd.DataFrame({"zone": ["undetermined"] * 4})
    counts = baseline_gap.zone_counts(gap, out, alpha=0.05)
    assert (counts.n_shift_significant, counts.n_shift_significant_adjusted) == (3, int((expected < 0.05).sum()))
