"""Prediction-powered inference: formula, coverage and unbiasedness by simulation, mitigation table.

Unit: one simulated data set (texts labelled independently by humans and the model); coverage and
bias are shares and means over data sets.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from studykit.studies.annotation_robustness import Params, analysis, load, ppi


def test_ppi_mean_equals_item_level_formula():
    rng = np.random.default_rng(0)
    y_l = rng.random(60) < 0.3
    f_l = np.where(rng.random(60) < 0.8, y_l, ~y_l)
    f_u = rng.random(500) < 0.35
    theta, var, ok = ppi.ppi_mean(f_u.sum(), f_u.size, f_l.sum(), y_l.sum(), (f_l != y_l).sum(), y_l.size)
    rect = y_l.astype(float) - f_l
    assert ok
    assert theta == pytest.approx(f_u.mean() + rect.mean())
    assert var == pytest.approx(np.var(f_u.astype(float), ddof=1) / f_u.size + np.var(rect, ddof=1) / rect.size)


def _simulate_counts(rng, reps, N, n, p_y, fp, fn):
    """Counts of (y, f) cells for unlabelled (N) and labelled (n) samples of one group, per replicate."""
    cells = np.array([(1 - p_y) * (1 - fp), (1 - p_y) * fp, p_y * fn, p_y * (1 - fn)])  # (y,f)=00,01,10,11
    u = rng.multinomial(N, cells, size=reps)
    lab = rng.multinomial(n, cells, size=reps)
    f_unl = u[:, 1] + u[:, 3]
    f_lab = lab[:, 1] + lab[:, 3]
    y_lab = lab[:, 2] + lab[:, 3]
    mism = lab[:, 1] + lab[:, 2]
    llm_share = (u[:, 1] + u[:, 3] + f_lab) / (N + n)
    return (f_unl, np.full(reps, N), f_lab, y_lab, mism, np.full(reps, n)), llm_share


def test_ppi_covers_truth_and_is_unbiased_where_llm_is_biased():
    rng = np.random.default_rng(2024)
    reps = 4000
    pa, pb = 0.30, 0.22
    a, llm_a = _simulate_counts(rng, reps, 3000, 150, pa, fp=0.15, fn=0.10)
    b, llm_b = _simulate_counts(rng, reps, 3000, 150, pb, fp=0.04, fn=0.25)
    truth = pa - pb
    res = ppi.ppi_difference(a, b, alpha=0.05)
    assert res.valid.all()
    cover = np.mean((res.ci_low <= truth) & (truth <= res.ci_high))
    assert 0.935 <= cover <= 0.965, cover
    bias_ppi = res.estimate.mean() - truth
    assert abs(bias_ppi) < 4 * res.estimate.std() / np.sqrt(reps)
    # the LLM labels alone are badly biased (expected share: p(1-fn) + (1-p)fp)
    llm_diff = llm_a - llm_b
    expected_llm = (pa * 0.9 + 0.7 * 0.15) - (pb * 0.75 + 0.78 * 0.04)
    assert llm_diff.mean() == pytest.approx(expected_llm, abs=0.002)
    assert abs(llm_diff.mean() - truth) > 0.05
    # z-test p-values are uniform under a true null difference
    a0, _ = _simulate_counts(rng, reps, 3000, 150, 0.25, fp=0.15, fn=0.10)
    b0, _ = _simulate_counts(rng, reps, 3000, 150, 0.25, fp=0.04, fn=0.25)
    p0 = ppi.ppi_difference(a0, b0).p_value
    assert 0.035 <= np.mean(p0 < 0.05) <= 0.065
    assert sps.kstest(p0, "uniform").pvalue > 0.001


def test_ppi_undefined_with_too_few_labels():
    res = ppi.ppi_difference((10, 100, 1, 1, 0, 1), (10, 100, 3, 2, 1, 10))
    assert not res.valid and np.isnan(res.p_value)


@pytest.fixture(scope="module")
def mitigation_tables():
    p = Params()
    (data, hyps), _ = load.load(p)
    grid, _ = analysis.run_grid(data, hyps)
    return data, grid, ppi.mitigation(data, grid, [200, 800], 3, seed=1)


def test_mitigation_table(mitigation_tables):
    data, grid, (summ, reps) = mitigation_tables
    assert set(summ["method"]) == {"human_only", "llm_only", "ppi"}
    assert set(summ["human_labels"]) == {"none", "gold", "human_single"}
    s = summ.set_index(["method", "human_labels", "n_human"])
    # PPI removes most of the LLM labels' false positives (the paper: human labels reduce Type I errors)
    assert s.loc[("ppi", "gold", 800), "type_I_rate"] < 0.5 * s.loc[("llm_only", "none", 800), "type_I_rate"]
    # biased LLM labels give intervals that miss the gold effect; PPI intervals cover it near the nominal rate
    assert s.loc[("llm_only", "none", 800), "ci_coverage"] < 0.85
    assert s.loc[("ppi", "gold", 800), "ci_coverage"] > 0.92
    # more human labels give more power
    assert s.loc[("human_only", "gold", 800), "type_II_rate"] < s.loc[("human_only", "gold", 200), "type_II_rate"]
    assert s.loc[("ppi", "gold", 800), "type_II_rate"] < s.loc[("ppi", "gold", 200), "type_II_rate"]
    # LLM-only does not depend on n and equals the grid
    r = analysis.risk_summary(grid)
    assert s.loc[("llm_only", "none", 200), "risk"] == pytest.approx(r["overall"])
    assert len(reps) == 2 * 3 * (1 + 2 * 2)
    # deterministic
    summ2, _ = ppi.mitigation(data, grid, [200, 800], 3, seed=1)
    import pandas as pd
    pd.testing.assert_frame_equal(summ, summ2)


def test_mitigation_without_human_single():
    p = Params()
    (data, hyps), _ = load.load(p)
    items = data.items.drop(columns="human_single")
    from studykit.studies.annotation_robustness.load import read_annotations
    data2, data2_issues = load.encode(items, read_annotations(p.annotations_path), p.group_columns)
    grid, _ = analysis.run_grid(data2, None)
    summ, _ = ppi.mitigation(data2, grid, [300], 1)
    assert set(summ["human_labels"]) == {"none", "gold"}


def test_single_rater_reference_is_the_other_raters_gold():
    """With gold_without_single the human_single rows are scored against the conclusions of those labels;
    equal to gold they give the rows without it, and the reference conclusions of gold are the grid's."""
    import dataclasses

    p = Params()
    (data, hyps), _ = load.load(p)
    grid, _ = analysis.run_grid(data, hyps, alpha=p.alpha, min_group_size=p.min_group_size)
    concl, eff = ppi.reference_conclusions(data, grid.hypotheses, data.gold, p.alpha)
    gold = pd.Categorical(grid.hypotheses["gold_conclusion"], categories=list(ppi.CONCLUSIONS)).codes
    assert (concl == gold).all() and np.allclose(eff, grid.hypotheses["gold_effect"])
    base, _ = ppi.mitigation(data, grid, [200], 2, seed=1)
    same, _ = ppi.mitigation(dataclasses.replace(data, human_gold=data.gold.copy()), grid, [200], 2, seed=1)
    pd.testing.assert_frame_equal(base, same)
    # the other raters' gold: here the single rater's own labels where an item has one (a reference that
    # agrees with the rater), so the human-only Type I rate of the rater's rows changes, the gold rows do not
    own = np.where(data.human >= 0, data.human, data.gold).astype(np.int8)
    moved, _ = ppi.mitigation(dataclasses.replace(data, human_gold=own), grid, [200], 2, seed=1)
    key = ["method", "human_labels", "n_human"]
    b, m = base.set_index(key), moved.set_index(key)
    pd.testing.assert_frame_equal(b.xs("gold", level=1), m.xs("gold", level=1))
    assert not np.allclose(b.xs("human_single", level=1)["type_II_rate"], m.xs("human_single", level=1)["type_II_rate"])
