"""Grid tests, error classification, summaries and recovery of planted truth.

Unit: the embedded data set (or a small hand-made grid); a test is one hypothesis x configuration
pair, whose two groups hold different texts (the texts are the independent units).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from sklearn.metrics import accuracy_score, f1_score

from studykit.studies.annotation_robustness import Params, analysis, counts, load, recovery
from studykit.studies.annotation_robustness.columns import ERROR_TYPES, PAIR_COLUMNS


@pytest.fixture(scope="module")
def embedded():
    p = Params()
    (data, hyps), _ = load.load(p)
    grid, _ = analysis.run_grid(data, hyps, alpha=p.alpha, min_group_size=p.min_group_size)
    return p, data, grid


def _glm_p(x_a, n_a, x_b, n_b, tol):
    y = np.r_[np.ones(x_a), np.zeros(n_a - x_a), np.ones(x_b), np.zeros(n_b - x_b)]
    g = np.r_[np.ones(n_a), np.zeros(n_b)]
    fit = sm.GLM(y, sm.add_constant(g), family=sm.families.Binomial()).fit(tol=tol, tol_criterion="params", maxiter=200)
    return fit.pvalues[1], fit.params[1]


def test_grid_p_values_equal_statsmodels_glm(embedded):
    """p-values of a random sample of pairs equal statsmodels GLM (tol=1e-12) to 1e-8."""
    _, _, grid = embedded
    rng = np.random.default_rng(1)
    H, C = grid.shape
    flat = rng.choice(H * C, 40, replace=False)
    for f in flat:
        h, c = divmod(int(f), C)
        if not grid.defined[h, c]:
            continue
        p_glm, b_glm = _glm_p(int(grid.x_a[h, c]), int(grid.n_a[h, c]), int(grid.x_b[h, c]), int(grid.n_b[h, c]), 1e-12)
        assert grid.p_value[h, c] == pytest.approx(p_glm, rel=1e-8, abs=1e-14)
        assert np.sign(grid.effect[h, c]) == np.sign(b_glm)
    # the gold test too
    for h in rng.choice(H, 5, replace=False):
        r = grid.hypotheses.iloc[h]
        p_glm, _ = _glm_p(r.gold_x_a, r.gold_n_a, r.gold_x_b, r.gold_n_b, 1e-12)
        assert r.gold_p_value == pytest.approx(p_glm, rel=1e-8, abs=1e-14)


def test_counts_equal_pandas_groupby(embedded):
    """The bincount hot path equals a plain pandas groupby on the same rows."""
    _, data, grid = embedded
    codes, levels = data.groups["platform"]
    cnt = counts.label_counts(data, "platform")
    df = pd.DataFrame({"c": data.ann_config, "l": codes[data.ann_item], "k": data.ann_label})
    ref = df.groupby(["c", "l", "k"]).size()
    for (c, l, k), v in ref.sample(50, random_state=0).items():
        assert cnt[c, l, k] == v
    assert cnt.sum() == len(df)
    # per hypothesis counts: recount one pair by hand
    h = grid.hypotheses.iloc[7]
    j = 3
    codes, levels = data.groups[h.group_column]
    rows = data.ann_config == j
    lv = codes[data.ann_item[rows]]
    lab = data.ann_label[rows]
    k = data.classes.index(h.label_value)
    a, b = levels.index(h.group_a), levels.index(h.group_b)
    assert grid.x_a[7, j] == np.sum((lv == a) & (lab == k)) and grid.n_a[7, j] == np.sum(lv == a)
    assert grid.x_b[7, j] == np.sum((lv == b) & (lab == k)) and grid.n_b[7, j] == np.sum(lv == b)


def test_risk_shares_sum_to_one_and_pairs_table(embedded):
    _, _, grid = embedded
    r = analysis.risk_summary(grid)
    assert r["correct"] + r["type_I"] + r["type_II"] + r["type_S"] == pytest.approx(1.0)
    assert r["overall"] == pytest.approx(1.0 - r["correct"])
    for e in ("type_I", "type_II", "type_S"):
        assert r[e] > 0, f"the simulator should produce {e} errors"
    pairs = analysis.pairs_frame(grid)
    assert list(pairs.columns[: len(PAIR_COLUMNS)]) == list(PAIR_COLUMNS)
    assert len(pairs) == grid.error.size
    # error column agrees with the definitions
    sig = pairs["conclusion"] != "none"
    gsig = pairs["gold_conclusion"] != "none"
    assert (pairs.loc[sig & ~gsig, "error"] == "type_I").all()
    assert (pairs.loc[~sig & gsig, "error"] == "type_II").all()
    opp = sig & gsig & (pairs["conclusion"].astype(str) != pairs["gold_conclusion"].astype(str))
    assert (pairs.loc[opp, "error"] == "type_S").all()
    assert (pairs.loc[~opp & ~(sig ^ gsig), "error"] == "correct").all()


def test_risk_by_model_is_mean_of_its_pairs(embedded):
    _, _, grid = embedded
    t = analysis.risk_by(grid, "model", n_boot=200)
    pairs = analysis.pairs_frame(grid)
    direct = pairs.assign(w=pairs["error"] != "correct").groupby("model", observed=True)["w"].mean()
    for r in t.itertuples():
        assert r.risk == pytest.approx(direct[r.model])
        assert r.ci_low <= r.risk <= r.ci_high


def test_quality_equals_sklearn(embedded):
    _, data, grid = embedded
    q = analysis.annotation_quality(data, grid)
    for j in (0, 17, 40):
        rows = data.ann_config == j
        y_pred = data.ann_label[rows]
        y_true = data.gold[data.ann_item[rows]]
        assert q.loc[j, "accuracy"] == pytest.approx(accuracy_score(y_true, y_pred))
        assert q.loc[j, "macro_f1"] == pytest.approx(f1_score(y_true, y_pred, average="macro"))


def test_hacking_curve_matches_brute_force(embedded):
    _, _, grid = embedded
    per = analysis.hacking_per_hypothesis(grid)
    C = grid.shape[1]
    m = per.loc[~grid.gold_significant, "n_false_positive"].to_numpy()
    rng = np.random.default_rng(0)
    k = 3
    draws = np.array([[rng.choice(C, k, replace=False) for _ in range(400)]])
    # Monte Carlo of "at least one of k random configurations flips": configurations 0..m-1 flip w.l.o.g.
    mc = np.mean([(draws[0] < mi).any(axis=1).mean() for mi in m])
    exact = analysis._p_at_least_one(m, C, k).mean()
    assert exact == pytest.approx(mc, abs=0.03)
    feas, curve = analysis.hacking_feasibility(grid)
    fp = feas.set_index("key").loc["false_positive_possible"]
    assert fp.share_possible == pytest.approx((m > 0).mean())
    c1 = curve[(curve["key"] == "false_positive_possible")]
    assert np.all(np.diff(c1["prob_success"]) >= -1e-12)  # more tries never hurt
    assert c1["prob_success"].iloc[-1] == pytest.approx(fp.share_possible)


def test_spec_curve(embedded):
    _, _, grid = embedded
    h = analysis.choose_spec_hypothesis(grid)
    s = analysis.spec_curve(grid, h)
    assert len(s) == grid.shape[1] + 1 and s["rank"].iloc[0] == 0
    body = s.iloc[1:]
    assert body["effect"].is_monotonic_increasing
    assert ((body["ci_low"] <= body["effect"]) & (body["effect"] <= body["ci_high"])).all()
    hid = grid.hypotheses["hypothesis_id"].iloc[5]
    assert analysis.choose_spec_hypothesis(grid, hid) == 5
    from studykit.contract.errors import ParamError
    with pytest.raises(ParamError, match="spec_curve_hypothesis"):
        analysis.choose_spec_hypothesis(grid, "no such hypothesis")


def test_recovery_of_planted_truth(embedded):
    p, data, grid = embedded
    q = analysis.annotation_quality(data, grid)
    _, _, rec = recovery.truth_recovery(grid, q, recovery.truth_dir_for(p.items_path))
    assert rec["n_planted_big_effects"] >= 10
    assert rec["gold_finds_big_effects"] >= 0.75
    assert rec["gold_type_I_on_true_nulls"] <= 0.15
    assert rec["accuracy_max_abs_error"] < 0.04
    assert rec["accuracy_correlation"] > 0.98


def _with_extra_configs(data_items, ann, rng):
    n = len(data_items)
    oracle = pd.DataFrame({"item_id": data_items["item_id"], "model": "oracle", "prompt": "copy", "temperature": 0.0,
                           "seed": 0, "label": data_items["gold"]})
    classes = sorted(data_items["gold"].unique())
    noise = pd.DataFrame({"item_id": data_items["item_id"], "model": "noise", "prompt": "dice", "temperature": 0.0,
                          "seed": 0, "label": rng.choice(classes, n)})
    return pd.concat([ann, oracle, noise], ignore_index=True)


def test_oracle_has_no_risk_and_noise_misses_real_effects():
    from studykit.studies.annotation_robustness.simulate import SimSpec, simulate

    sim = simulate(SimSpec(n_items=3000, models=(("m", 0.8, 0.5),), prompts=(("p", 0.0),), temperatures=(0.0,)))
    ann = _with_extra_configs(sim.items, sim.annotations.to_pandas(), np.random.default_rng(3))
    data, data_issues = load.encode(sim.items, ann, ["party", "year", "platform"])
    grid, _ = analysis.run_grid(data, None, min_group_size=30)
    q = analysis.annotation_quality(data, grid).set_index("model")
    assert q.loc["oracle", "risk"] == 0.0 and q.loc["oracle", "accuracy"] == 1.0
    j = int(q.loc["noise", "config_id"])
    gs = grid.gold_significant
    err = grid.error[:, j]
    # pure noise has no signal: it misses almost every real effect (Type II) ...
    assert (err[gs] == ERROR_TYPES.index("type_II")).mean() > 0.85
    # ... and rejects gold nulls at about the nominal rate only
    assert (err[~gs] == ERROR_TYPES.index("type_I")).mean() < 0.15
    # the planted large effects are found by gold
    th = sim.truth_hypotheses.set_index("hypothesis_id")
    big = th.loc[grid.hypotheses["hypothesis_id"], "true_diff"].abs().to_numpy() >= 0.08
    assert big.sum() >= 5 and gs[big].mean() >= 0.9


def test_analysis_is_deterministic(embedded):
    p, data, grid = embedded
    (data2, hyps2), _ = load.load(p)
    grid2, _ = analysis.run_grid(data2, hyps2, alpha=p.alpha, min_group_size=p.min_group_size)
    pd.testing.assert_frame_equal(analysis.pairs_frame(grid), analysis.pairs_frame(grid2))
    for f in (lambda g: analysis.risk_by(g, "model", n_boot=300, seed=4),
              lambda g: analysis.risk_vs_gold(g, n_boot=300, seed=4)[1],
              lambda g: analysis.hacking_feasibility(g)[0]):
        pd.testing.assert_frame_equal(f(grid), f(grid2))


def test_single_temperature_single_prompt():
    """Real-data shape: temperature 0 only, one prompt per model, no seed column."""
    from studykit.studies.annotation_robustness.simulate import SimSpec, simulate

    sim = simulate(SimSpec(n_items=800, prompts=(("p", 0.0),), temperatures=(0.0,)))
    ann = sim.annotations.to_pandas().drop(columns="seed")
    data, data_issues = load.encode(sim.items, ann, ["party", "platform"])
    grid, _ = analysis.run_grid(data, None, min_group_size=20)
    assert grid.shape[1] == 8
    for f in ("model", "prompt", "temperature"):
        t = analysis.risk_by(grid, f, n_boot=200)
        assert np.isfinite(t["risk"]).all()
    from studykit.studies.annotation_robustness import ppi
    summ, _ = ppi.mitigation(data, grid, [100], 2)
    assert set(summ["human_labels"]) == {"none", "gold", "human_single"}


def test_no_gold_significant_hypothesis_is_handled():
    """Every summary works (undefined -> None and a not_estimable issue) when gold finds nothing.

    Unit: one toy data set with three configurations and no gold-significant hypothesis.
    """
    from studykit.studies.annotation_robustness import ppi, summaries

    rng = np.random.default_rng(5)
    n = 400
    items = pd.DataFrame({"item_id": np.arange(n), "gold": np.tile(["a", "b"], n // 2), "g": np.repeat(["x", "y"], n // 2)})
    ann = pd.concat([pd.DataFrame({"item_id": items["item_id"], "model": m, "prompt": "p", "temperature": 0.0,
                                   "label": rng.choice(["a", "b"], n)}) for m in ("m1", "m2", "m3")])
    data, data_issues = load.encode(items, ann, ["g"])
    grid, _ = analysis.run_grid(data, None, min_group_size=10)
    assert not grid.gold_significant.any()
    ex = analysis.exaggeration(grid)
    feas, _ = analysis.hacking_feasibility(grid)
    values, issues = summaries.recordable({"median": ex["median"].iloc[0], "ok": 0.5, "name": "text",
                                           "reversible": feas.set_index("key").loc["sign_reversible", "share_possible"]},
                                          "toy")
    assert values == {"median": None, "ok": 0.5, "name": "text", "reversible": None}
    assert [(i.check, i.count) for i in issues] == [("not_estimable", 2)] and "median" in issues[0].detail
    summ, _ = ppi.mitigation(data, grid, [50], 2)
    assert summ["type_II_rate"].isna().all() and summ["type_I_rate"].notna().all()
    analysis.risk_vs_gold(grid, n_boot=100)
    analysis.risk_by(grid, "model", n_boot=100)


@pytest.mark.slow
def test_paper_scale_profile_prepares_and_analyses():
    """paper_scale: 13M labels generated into the cache on first use, about 2,400 hypotheses."""
    from studykit.files.paths import params_dir

    p = Params.load(params_dir("annotation_robustness") / "paper_scale.yaml")
    assert p.items_path.endswith("items.parquet") and ".cache" in p.annotations_path
    assert Params.load(params_dir("annotation_robustness") / "paper_scale.yaml").items_path == p.items_path
    (data, hyps), _ = load.load(p)
    assert len(data.ann_label) > 12_900_000
    grid, _ = analysis.run_grid(data, hyps, alpha=p.alpha, min_group_size=p.min_group_size)
    assert grid.shape == (2480, 504)
    assert 0.1 < analysis.risk_summary(grid)["overall"] < 0.4
