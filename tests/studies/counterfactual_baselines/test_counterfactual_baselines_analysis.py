"""Analysis steps against direct computations and independent references (numpy, scipy, statsmodels).

Unit: one hand-made or seeded data set per test (items are the resampling unit); simulation tests say theirs.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats as sps
from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar

import studykit.stats as sst
from studykit.contract.errors import InputError
from studykit.studies.counterfactual_baselines import direction as DR, family as F, flips, load as L, power as P
from studykit.studies.counterfactual_baselines.design import build_design

PAIRS = {"swap": "swap_baseline"}


def make(o, t, b, *, model="m", task=None, p=None, items=None):
    """Long frame from per-item answers (original, target, baseline)."""
    n = len(o)
    items = items or [f"i{i:02d}" for i in range(n)]
    rows = []
    for v, k, ys in (("original", "original", o), ("swap", "target", t), ("swap_baseline", "baseline", b)):
        for j, (it, y) in enumerate(zip(items, ys)):
            r = {"item_id": it, "variant": v, "variant_kind": k, "model": model, "prediction": y}
            if task:
                r["task"] = task
            if p is not None:
                r["p_positive"] = p[v][j]
            rows.append(r)
    return pd.DataFrame(rows)


def design_and_issues(df, pairs=PAIRS, **kw):
    frame, _ = L.validate_long(df)
    return build_design(frame, pairs, **kw)


def design_of(df, pairs=PAIRS, **kw):
    return design_and_issues(df, pairs, **kw)[0]


O = [0, 0, 1, 1, 0, 1, 0, 1, 1, 0, 0, 1]
T = [1, 0, 1, 0, 1, 1, 0, 1, 0, 0, 1, 1]   # flips on items 0, 3, 4, 8, 10
B = [0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 1]   # flips on item 5


# ---- flip rates and the paired comparison ------------------------------------------------------------------
def test_flip_rates_match_direct_computation():
    d = design_of(make(O, T, B))
    rates = flips.flip_rates(d.answers, d.pairs).set_index("variant")
    ft = np.mean(np.array(O) != np.array(T))
    fb = np.mean(np.array(O) != np.array(B))
    assert rates.loc["swap", "flip_rate"] == pytest.approx(ft)
    assert rates.loc["swap_baseline", "flip_rate"] == pytest.approx(fb)
    assert rates.loc["swap_baseline", "pair"] == "swap"
    lo, hi = sps.binomtest(5, 12).proportion_ci(method="wilson")
    assert rates.loc["swap", "ci_low"] == pytest.approx(lo) and rates.loc["swap", "ci_high"] == pytest.approx(hi)


def test_majority_over_repeats_and_ties():
    df = make(O, T, B)
    reps = []
    for r in range(3):
        x = df.copy()
        x["repeat"] = r
        # repeat 2 disagrees with the others on the original of item 0: the majority keeps 0
        if r == 2:
            x.loc[(x["variant"] == "original") & (x["item_id"] == "i00"), "prediction"] = 1
        reps.append(x)
    d = design_of(pd.concat(reps))
    a = d.answers.set_index(["item_id", "variant"])
    assert a.loc[("i00", "original"), "prediction"] == "0" and a.loc[("i00", "original"), "n_repeats"] == 3
    # a 1-1 tie is broken towards the label that sorts first and reported
    tie = pd.concat([df.assign(repeat=0), df.assign(repeat=1, prediction=1 - df["prediction"])])
    d2, issues = design_and_issues(tie)
    assert (d2.answers["prediction"] == "0").all()
    assert any(i.check == "majority_tie" for i in issues)


def test_paired_bootstrap_and_mcnemar_match_direct_computation():
    rng = np.random.default_rng(5)
    n = 150
    o = rng.integers(0, 2, n)
    t = np.where(rng.random(n) < 0.25, 1 - o, o)
    b = np.where(rng.random(n) < 0.10, 1 - o, o)
    d = design_of(make(list(o), list(t), list(b)))
    tests, _ = F.compare_targets(d, n_boot=20_000, seed=3)
    row = tests[tests["metric"] == "flip_rate"].iloc[0]
    ft, fb = (t != o).astype(float), (b != o).astype(float)
    assert row["diff"] == pytest.approx(ft.mean() - fb.mean())
    # direct paired percentile bootstrap with numpy
    idx = np.random.default_rng(11).integers(0, n, (20_000, n))
    boot = ft[idx].mean(1) - fb[idx].mean(1)
    lo, hi = np.quantile(boot, [0.025, 0.975])
    assert row["ci_low"] == pytest.approx(lo, abs=0.01) and row["ci_high"] == pytest.approx(hi, abs=0.01)
    # exact McNemar against statsmodels
    bb, cc = int(((ft == 1) & (fb == 0)).sum()), int(((ft == 0) & (fb == 1)).sum())
    ref = sm_mcnemar([[0, bb], [cc, 0]], exact=True).pvalue
    assert row["p_value"] == pytest.approx(ref)
    assert row["p_value_one_sided"] == pytest.approx(sps.binomtest(bb, bb + cc, 0.5, alternative="greater").pvalue)


def test_mi_and_phi_match_stats_helpers():
    o, t = np.array(O), np.array(T)
    co = np.array([(o == 0).sum(), (o == 1).sum()], float)
    ct = np.array([(t == 0).sum(), (t == 1).sum()], float)
    variant = ["o"] * len(o) + ["t"] * len(t)
    answers = list(o) + list(t)
    assert F.mi_from_counts(co, ct) == pytest.approx(sst.mutual_information(variant, answers))
    table = np.array([[co[0], co[1]], [ct[0], ct[1]]])
    assert F.abs_phi_from_counts(co[1], ct[1], len(o)) == pytest.approx(abs(sst.phi(table).estimate))


def test_aggregate_bootstrap_matches_item_bootstrap():
    rng = np.random.default_rng(2)
    n = 120
    o = rng.integers(0, 2, n)
    t = np.where(rng.random(n) < 0.3, 1, o)  # pushes towards 1: a marginal shift
    b = np.where(rng.random(n) < 0.1, 1 - o, o)
    r = F.aggregate_bootstrap(o, t, b, 2, "phi", n_boot=20_000, seed=1, confidence=0.95)

    def stat(x, y, axis=-1):  # |phi_t| - |phi_b| from per-item codes 2*o + answer
        x, y = np.asarray(x).astype(np.int64), np.asarray(y).astype(np.int64)
        n_ = x.shape[-1]
        a = (x >> 1).sum(-1)
        return (F.abs_phi_from_counts(a, (x & 1).sum(-1), n_) - F.abs_phi_from_counts(a, (y & 1).sum(-1), n_))

    ref = sst.bootstrap_ci((2 * o + t, 2 * o + b), stat, paired=True, method="percentile", n_resamples=20_000,
                           seed=4)
    assert r["diff"] == pytest.approx(ref.estimate)
    assert r["ci_low"] == pytest.approx(ref.ci_low, abs=0.02) and r["ci_high"] == pytest.approx(ref.ci_high, abs=0.02)

    def randomization_reference(x, y, n_perm, rng):  # item-by-item swap loop, the textbook definition
        obs = stat(x, y)
        null = []
        for _ in range(n_perm):
            keep = rng.random(n) < 0.5
            null.append(stat(np.where(keep, x, y), np.where(keep, y, x)))
        null = np.array(null)
        hi = (1 + (null >= obs - 1e-12).sum()) / (n_perm + 1)
        lo = (1 + (null <= obs + 1e-12).sum()) / (n_perm + 1)
        return min(1.0, 2 * min(hi, lo))

    p2, _ = F.aggregate_randomization_p(o, t, b, 2, "phi", n_perm=2000, rng=np.random.default_rng(5))
    ref_p = randomization_reference(2 * o + t, 2 * o + b, 2000, np.random.default_rng(5))
    assert p2[0] == pytest.approx(ref_p)  # same coins, same p


def test_power_curve_uses_the_test_of_the_test_table():
    """Unit: one seeded data set of 80 items; the phi row's p and the power simulation's p on it."""
    rng = np.random.default_rng(12)
    n = 80
    o = rng.integers(0, 2, n)
    t = np.where(rng.random(n) < 0.3, 1, o)
    b = np.where(rng.random(n) < 0.1, 1 - o, o)
    d = design_of(make(list(o), list(t), list(b)))
    tests, _ = F.compare_targets(d, n_boot=999, seed=4)
    row = tests.set_index("metric").loc["phi"]
    # compare_targets draws the phi row's swap coins from this seed (the 3rd test of the cell: flip, MI, phi)
    seed = F._seed(4, 3) + 1
    p_power = P.phi_randomization_p(o[None].astype(bool), t[None].astype(bool), b[None].astype(bool), 999,
                                    np.random.default_rng(seed))
    assert row["p_value"] == pytest.approx(p_power[0])
    assert "randomization" in row["test"]


def test_divergences_per_item_match_scipy():
    po, pv = np.array([0.2, 0.9, 0.5]), np.array([0.4, 0.1, 0.5])
    js, kl = F._divergences(po, pv, 1e-4)
    for i in range(3):
        P_, Q_ = [1 - po[i], po[i]], [1 - pv[i], pv[i]]
        assert kl[i] == pytest.approx(sps.entropy(P_, Q_, base=2))
        M = (np.array(P_) + Q_) / 2
        assert js[i] == pytest.approx(0.5 * sps.entropy(P_, M, base=2) + 0.5 * sps.entropy(Q_, M, base=2))


def test_family_correction_and_significance():
    tab = pd.DataFrame({"model": "m", "task": "all", "target": list("abcd"), "metric": "flip_rate",
                        "test": "McNemar", "p_value": [0.001, 0.02, 0.03, 0.5]})
    out = F.adjust_family(tab, correction="holm", alpha=0.05)
    np.testing.assert_allclose(out["p_value_corrected"], sst.adjust_pvalues(tab["p_value"], "holm"))
    assert out["significant"].tolist() == [True, False, False, False]


def test_p_floor_check_reports_binding_floor():
    tab = pd.DataFrame({"test": ["paired bootstrap CI; paired randomization p"] * 40,
                        "p_value": [2 / 1001] + [0.5] * 39})
    tab = F.adjust_family(tab.assign(model="m", task="t", target=[f"x{i}" for i in range(40)], metric="js"),
                          correction="holm", alpha=0.05)
    rep = F.p_floor_check(tab, n_boot=1000, alpha=0.05)
    assert rep is not None and rep.count == 1
    assert F.p_floor_check(tab, n_boot=1000, alpha=0.05) == rep  # deterministic
    tab2 = F.adjust_family(tab, correction="fdr_bh", alpha=0.05)
    assert F.p_floor_check(tab2.assign(p_value=0.5), n_boot=1000, alpha=0.05) is None


def test_identical_target_and_baseline_gives_zero_not_nan():
    d = design_of(make(O, B, B))
    tests, issues = F.compare_targets(d, n_boot=500, seed=0)
    assert not tests.isna().any().any()
    assert (tests["diff"] == 0).all() and (tests["p_value"] == 1).all()
    assert any(i.check == "identical_target_and_baseline" for i in issues)


# ---- directional regression ---------------------------------------------------------------------------
def test_directional_regression_matches_statsmodels_cluster():
    rng = np.random.default_rng(8)
    n = 80
    items = [f"b{i:02d}" for i in range(n)]
    direction = np.where(np.arange(n) % 2 == 0, 1.0, -1.0)
    lo = rng.normal(0, 1.5, n)
    rows = []
    truth = []
    for m, beta in (("m1", 0.8), ("m2", 0.2)):
        kappa = rng.normal(0, 0.5, n)
        lb = lo + kappa + rng.normal(0, 0.3, n)
        lt = lo + kappa + rng.normal(0, 0.3, n) + beta * direction
        for v, k, lam in (("original", "original", lo), ("swap", "target", lt), ("swap_baseline", "baseline", lb)):
            p = 1 / (1 + np.exp(-lam))
            rows.append(pd.DataFrame({"item_id": items, "variant": v, "variant_kind": k, "model": m,
                                      "prediction": (p > 0.5).astype(int), "p_positive": p,
                                      "direction": direction if v == "swap" else np.nan}))
        truth.append(beta)
    d = design_of(pd.concat(rows, ignore_index=True))
    fr, _ = DR.directional_frame(d, eps=1e-9)
    tab, _ = DR.directional_regression(fr)
    cell = tab[(tab["scope"] == "cell") & (tab["model"] == "m1")].iloc[0]
    sub = fr[fr["model"] == "m1"]
    X = sm.add_constant(sub[["direction", "d_baseline"]].to_numpy())
    ref = sm.OLS(sub["d_target"].to_numpy(), X).fit(cov_type="cluster",
                                                     cov_kwds={"groups": pd.factorize(sub["item_id"])[0]},
                                                     use_t=True)
    assert cell["beta"] == pytest.approx(ref.params[1]) and cell["se"] == pytest.approx(ref.bse[1])
    assert cell["p_value"] == pytest.approx(ref.pvalues[1])
    assert cell["ci_low"] < 0.8 < cell["ci_high"]
    pooled = tab[tab["scope"] == "pooled"].iloc[0]
    assert pooled["n_obs"] == 2 * n and pooled["n_clusters"] == n
    assert pooled["ci_low"] < np.mean(truth) < pooled["ci_high"]


def test_constant_control_is_dropped_and_reported():
    """Unit: one hand-made directional frame of 20 items whose baseline never changes the answer."""
    n = 20
    frame = pd.DataFrame({"model": "m", "task": "t", "item_id": np.arange(n), "target": "x",
                          "direction": np.where(np.arange(n) % 2 == 0, 1.0, -1.0),
                          "d_target": np.random.default_rng(1).normal(0, 1, n), "d_baseline": 0.0,
                          "response": "answer"})
    tab, issues = DR.directional_regression(frame)
    assert (tab["control"] == "none").all()
    assert [i.check for i in issues] == ["direction_control_constant"] and issues[0].count == 2  # cell, pooled
    assert np.isfinite(tab[["beta", "se", "p_value"]].to_numpy(float)).all()


def test_directional_fit_without_residual_variance_is_not_estimable():
    """Unit: one hand-made frame where every item changes by exactly its direction (no standard error)."""
    n = 10
    direction = np.where(np.arange(n) % 2 == 0, 1.0, -1.0)
    frame = pd.DataFrame({"model": "m", "task": "t", "item_id": np.arange(n), "target": "x",
                          "direction": direction, "d_target": direction, "d_baseline": np.nan, "response": "answer"})
    tab, issues = DR.directional_regression(frame)
    assert tab.empty
    assert {i.check for i in issues} == {"direction_fit_failed"}


# ---- power helpers against references --------------------------------------------------------------------
def test_vectorised_mcnemar_and_hc1_match_references():
    b = np.array([10, 3, 0, 7])
    c = np.array([2, 3, 0, 1])
    got = P.mcnemar_exact_p(b, c)
    for i in range(4):
        ref = 1.0 if b[i] + c[i] == 0 else sst.mcnemar((b[i], c[i])).p_value
        assert got[i] == pytest.approx(ref)
    rng = np.random.default_rng(1)
    n = 60
    X = np.stack([np.ones(n), np.where(np.arange(n) % 2, 1.0, -1.0), rng.integers(-1, 2, n).astype(float)], 1)
    y = 0.3 * X[:, 1] + rng.normal(0, 1, n)
    est, p = P.ols_hc1_p(y[None], X[None], col=1)
    ref = sm.OLS(y, X).fit(cov_type="cluster", cov_kwds={"groups": np.arange(n)}, use_t=True)
    assert est[0] == pytest.approx(ref.params[1]) and p[0] == pytest.approx(ref.pvalues[1])


def test_phi_randomization_p_is_a_valid_test():
    rng = np.random.default_rng(0)
    yo = rng.random((1, 100)) < 0.5
    yt = np.where(rng.random((1, 100)) < 0.4, True, yo)  # strong push to positive
    p = P.phi_randomization_p(yo, yt, yo.copy(), 499, rng)
    assert p[0] < 0.01
    same = P.phi_randomization_p(yo, yo.copy(), yo.copy(), 499, rng)
    assert same[0] == 1.0


def test_power_curves_shape_and_null_level():
    pw = P.power_curves(200, 0.12, 0.45, [0.0, 0.2], reps=300, seed=1)
    assert set(pw["metric"]) == {"aggregate", "per-sample", "regression"}
    null = pw[pw["effect"] == 0].set_index(["scenario", "metric"])["power"]
    assert (null <= 0.1).all()  # nominal 5% (exact tests are conservative), Monte Carlo slack
    bal = pw[(pw["scenario"] == "balanced") & (pw["effect"] == 0.2)].set_index("metric")["power"]
    # the paper's claim in the balanced case: per-sample and regression far above aggregate
    assert bal["per-sample"] > bal["aggregate"] + 0.2 and bal["regression"] > bal["aggregate"] + 0.2
    assert pw.equals(P.power_curves(200, 0.12, 0.45, [0.0, 0.2], reps=300, seed=1))


# ---- bad input ------------------------------------------------------------------------------------------
def test_item_without_original_is_reported_and_left_out():
    df = make(O, T, B)
    df = df[~((df["item_id"] == "i03") & (df["variant"] == "original"))]
    d, issues = design_and_issues(df)
    assert "i03" not in set(d.answers["item_id"])
    assert any(i.check == "item_without_original" and i.count == 1 for i in issues)


def test_target_without_baseline_and_baseline_without_target():
    df = make(O, T, B)
    extra = df[df["variant"] == "swap"].assign(variant="age", variant_kind="target")
    extra_b = df[df["variant"] == "swap_baseline"].assign(variant="tone_baseline")
    d, issues = design_and_issues(pd.concat([df, extra, extra_b]))
    checks = {i.check: i for i in issues}
    assert checks["target_without_baseline"].detail == "age"
    assert checks["baseline_without_target"].detail == "tone_baseline"
    tests, _ = F.compare_targets(d, n_boot=300)
    assert set(tests["target"]) == {"swap"}
    rates = flips.flip_rates(d.answers, d.pairs)
    assert {"age", "tone_baseline"} <= set(rates["variant"])


def test_pairs_naming_unknown_or_wrong_kind_variant_is_an_error():
    with pytest.raises(InputError, match="'nope'"):
        design_of(make(O, T, B), pairs={"nope": "swap_baseline"})
    with pytest.raises(InputError, match="variant_kind"):
        design_of(make(O, T, B), pairs={"swap_baseline": "swap"})


def test_models_with_different_item_sets_are_reported():
    a = make(O, T, B, model="m1")
    b = make(O[:8], T[:8], B[:8], model="m2")
    d, issues = design_and_issues(pd.concat([a, b]))
    rep = [i for i in issues if i.check == "models_with_different_items"][0]
    assert rep.count == 1 and "m2: 8 of 12" in rep.detail
    tests, _ = F.compare_targets(d, n_boot=300)
    assert tests.set_index("model").loc["m2", "n_items"].iloc[0] == 8


def test_single_item_is_an_error():
    with pytest.raises(InputError, match="at least 2"):
        design_of(make([0], [1], [0]))


def test_too_few_items_for_a_test_is_reported_not_nan():
    d = design_of(make(O[:4], T[:4], B[:4]))
    tests, issues = F.compare_targets(d, n_boot=200, min_items=5)
    assert tests.empty and [(i.check, i.count) for i in issues] == [("too_few_items_for_test", 1)]


def test_baseline_models_filter_is_reported():
    a = make(O, T, B, model="m1")
    b = make(O, T, B, model="m2")
    d, issues = design_and_issues(pd.concat([a, b]), baseline_models=["m1"])
    assert any(i.check == "baseline_answers_not_used" and i.detail == "m2" for i in issues)
    with pytest.raises(InputError, match="baseline_models"):
        design_of(pd.concat([a, b]), baseline_models=["zz"])


# ---- determinism ------------------------------------------------------------------------------------------
def test_analysis_is_deterministic():
    rng = np.random.default_rng(4)
    o = rng.integers(0, 2, 40)
    p = {v: rng.random(40) for v in ("original", "swap", "swap_baseline")}
    df = make(list(o), list(rng.integers(0, 2, 40)), list(o), p=p, task="t")
    runs = []
    for _ in range(2):
        d = design_of(df)
        family, _ = F.run_tests(d, n_boot=500, seed=9, confidence=0.95, eps=1e-4, correction="holm",
                                alpha=0.05)
        runs.append((flips.flip_rates(d.answers, d.pairs), family.table))
    pd.testing.assert_frame_equal(runs[0][0], runs[1][0])
    pd.testing.assert_frame_equal(runs[0][1], runs[1][1])
    assert set(runs[0][1]["metric"]) == {"flip_rate", "js_divergence", "kl_divergence", "mutual_information", "phi"}


def test_original_under_another_name_and_text_labels():
    df = make(O, T, B)
    df["variant"] = df["variant"].replace({"original": "base_prompt"})
    df["prediction"] = df["prediction"].map({0: "no", 1: "yes"})
    d = design_of(df)
    assert "original" in set(d.answers["variant"]) and d.labels == ("no", "yes")
    rates = flips.flip_rates(d.answers, d.pairs).set_index("variant")
    assert rates.loc["swap", "flips"] == 5
    two = pd.concat([df, df[df["variant"] == "base_prompt"].assign(variant="other_orig")])
    with pytest.raises(InputError, match="more than one variant"):
        design_of(two)


def test_positive_label_per_task_and_skipped_with_a_note_where_none():
    """Unit: one hand-made data set with two tasks whose labels differ (routine/urgent, hire/reject)."""
    from studykit.studies.counterfactual_baselines import Params, steps

    n = 12
    direction = np.where(np.arange(n) % 2 == 0, 1.0, -1.0)
    parts = []
    for task, labs in (("triage", ("routine", "urgent")), ("hiring", ("hire", "reject"))):
        df = make(O, T, B, task=task)
        df["prediction"] = df["prediction"].map({0: labs[0], 1: labs[1]})
        df["direction"] = np.where(df["variant"] == "swap", np.tile(direction, 3), np.nan)
        parts.append(df)
    frame, _ = L.validate_long(pd.concat(parts, ignore_index=True))
    data = L.StudyData(frame=frame)
    # no positive_label fits either task ("1" is the default): everything but the directional fit runs
    params = Params(n_boot=200)
    design, _ = steps.check_design(data, params)
    assert design.task_labels == {"hiring": ("hire", "reject"), "triage": ("routine", "urgent")}
    assert design.positive_labels == {"hiring": None, "triage": None}
    assert design.pairs == PAIRS  # derived from variant_kind and the names
    family, issues = steps.compare(design, params)
    assert set(family.table["metric"]) == {"flip_rate", "mutual_information", "phi"}
    assert not any(i.check == "phi_not_defined" for i in issues)
    direction_fit, d_issues = steps.directional(design, params)
    assert direction_fit.table.empty and direction_fit.records(str) == {}
    assert [i.check for i in d_issues] == ["direction_without_positive_label"] and d_issues[0].count == 2
    _, p_issues = steps.power_curves(design, family, params.model_copy(update={"power_reps": 20}))
    assert [i.check for i in p_issues] == ["power_without_positive_label"]
    # one positive label per task: the directional fit runs on both tasks
    params2 = Params(n_boot=200, positive_label={"triage": "urgent", "hiring": "hire"})
    design2, _ = steps.check_design(data, params2)
    fit2, issues2 = steps.directional(design2, params2)
    assert set(fit2.table["task"]) == {"all", "hiring", "triage"} and not issues2
    # a label a task never gives, or a task not in the data, is a one-line error naming the parameter
    with pytest.raises(InputError, match="positive_label.*'maybe'"):
        steps.check_design(data, Params(positive_label={"triage": "maybe"}))
    with pytest.raises(InputError, match="positive_label.*task 'nope'"):
        steps.check_design(data, Params(positive_label={"nope": "x"}))
    assert Params.validate_mapping({"positive_label": 1}).positive_label == "1"
    assert Params.validate_mapping({"positive_label": {"a": 1}}).positive_label == {"a": "1"}


def test_pairs_derived_from_variant_kind_when_unambiguous():
    """Unit: variant-kind maps (no data); the derivation rule of design.derive_pairs."""
    from studykit.studies.counterfactual_baselines.design import derive_pairs

    assert derive_pairs({"original": "original", "race": "target", "reworded": "baseline"}) == {"race": "reworded"}
    kinds = {"o": "original", "gender_swap": "target", "age": "target", "gender_swap_baseline": "baseline",
             "Paraphrase-age": "baseline", "extra_baseline": "baseline"}
    assert derive_pairs(kinds) == {"age": "Paraphrase-age", "gender_swap": "gender_swap_baseline"}
    with pytest.raises(InputError, match="pairs.*two baselines"):
        derive_pairs({"t": "target", "t_baseline": "baseline", "t_paraphrase": "baseline", "u": "target"})
    with pytest.raises(InputError, match="set pairs"):
        derive_pairs({"t": "target", "u": "target", "x": "baseline", "y": "baseline"})
