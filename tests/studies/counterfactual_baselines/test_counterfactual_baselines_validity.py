"""Validity of the tests under the null: rejection rates near alpha, for each statistical choice of the study.

Unit: one simulated data set of items (the resampling and clustering unit) per repetition; each test
reports the share of null data sets in which a test rejects at 0.05.

* aggregate metrics (MI, |phi|): the paired randomization test that the test table and the power curves
  share, on data where target and baseline are exchangeable within items but correlated through an
  item-level rewording effect;
* the primary family (flip rate) and the secondary family, each corrected on its own: family-wise error
  at most alpha when no target has an effect;
* the directional coefficient with and without the baseline control, whose change shares the original's
  score with the outcome: both near alpha when the planted direction effect is 0.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from studykit.studies.counterfactual_baselines import direction as DR
from studykit.studies.counterfactual_baselines import family as F
from studykit.studies.counterfactual_baselines import load as L
from studykit.studies.counterfactual_baselines import power as P
from studykit.studies.counterfactual_baselines import simulate as S
from studykit.studies.counterfactual_baselines.design import build_design

ALPHA = 0.05


# ---- aggregate metrics: the randomization test of the test table = the power curves' test -----------------
# The randomization test is exact, so it never rejects above alpha; with 0/1 answers |phi_t| - |phi_b| takes
# few values (about 9% of the swap distribution ties with the observed value), so it rejects 1-4% at 0.05
# depending on the positive rate. The bootstrap percentile p it replaces rejected 0 of 300 null data sets.
def test_aggregate_test_null_rejection_near_alpha_fast():
    """Unit: 2,000 simulated null data sets of 150 items, vectorised (the power simulation's null)."""
    res = P.simulate_pvalues(150, 0.15, 0.2, 0.0, 2000, np.random.default_rng(7), "balanced", n_perm=199)
    rate = float((res["aggregate"] < ALPHA).mean())
    assert 0.015 <= rate <= 0.065, rate


@pytest.mark.slow
def test_aggregate_test_null_rejection_near_alpha_slow():
    """Unit: 10,000 simulated null data sets of 150 items per scenario and positive rate."""
    for scenario in P.SCENARIOS:
        for pos_rate in (0.2, 0.4):
            res = P.simulate_pvalues(150, 0.15, pos_rate, 0.0, 10_000, np.random.default_rng(8), scenario,
                                     n_perm=499)
            rate = float((res["aggregate"] < ALPHA).mean())
            assert 0.005 <= rate <= 0.055, (scenario, pos_rate, rate)


# ---- primary and secondary families ------------------------------------------------------------------------
def _null_family(seed: int, n_items: int = 80, n_boot: int = 200) -> pd.DataFrame:
    """Corrected test table of one simulated data set with four null targets (item-correlated rewording)."""
    cfg = S.SimConfig(n_items=n_items, n_bios=4, models=("m",), rewording_sd=(1.0,), tasks={"t": (0.0, 2.5)},
                      targets=("a", "b", "c", "d"), effects={}, bio_beta=(0.0,), truth_items=1000)
    data, _, _ = S.simulate(cfg, seed)
    frame, _ = L.validate_long(data[data["task"] == "t"])
    design, _ = build_design(frame)
    tests, _ = F.compare_targets(design, n_boot=n_boot, seed=seed)
    return F.adjust_family(tests, correction="holm", alpha=ALPHA, primary_metric="flip_rate")


def _familywise_errors(n_sims: int, **kw) -> pd.Series:
    """Share of null data sets with any significant test, per family, two-sided and one-sided (issue 21.5)."""
    hits = []
    for s in range(n_sims):
        tab = _null_family(3000 + s, **kw)
        two = tab.groupby("family")["significant"].any()
        one = tab.groupby("family")["significant_one_sided"].any().rename(lambda f: f"{f}_one_sided")
        hits.append(pd.concat([two, one]))
    return pd.DataFrame(hits).mean()


def test_primary_and_secondary_family_error_at_most_alpha_fast():
    """Unit: 25 simulated null data sets of 80 items x 4 targets (binomial 99% bound at 5%: 5 of 25); the
    one-sided families (the paper's question: does the edit flip more than its rewording?) too."""
    fwer = _familywise_errors(25)
    assert set(fwer.index) == {"primary", "secondary", "primary_one_sided", "secondary_one_sided"}
    assert (fwer <= 5 / 25).all(), fwer.to_dict()


@pytest.mark.slow
def test_primary_and_secondary_family_error_at_most_alpha_slow():
    """Unit: 300 simulated null data sets of 80 items x 4 targets."""
    fwer = _familywise_errors(300, n_boot=1000)
    assert (fwer <= 0.075).all(), fwer.to_dict()


def test_primary_family_is_corrected_on_its_own():
    """Unit: a hand-made table of p-values; Holm within each family, not over both."""
    tab = pd.DataFrame({"model": "m", "task": "t", "target": ["a", "b", "a", "b", "a", "b"],
                        "metric": ["flip_rate", "flip_rate", "phi", "phi", "js_divergence", "js_divergence"],
                        "test": "x", "p_value": [0.02, 0.5, 0.9, 0.9, 0.9, 0.9]})
    out = F.adjust_family(tab, correction="holm", alpha=ALPHA, primary_metric="flip_rate").set_index(
        ["metric", "target"])
    assert out.loc[("flip_rate", "a"), "p_value_corrected"] == pytest.approx(0.04)  # 2 primary tests, not 6
    assert out.loc[("flip_rate", "a"), "significant"] and out.loc[("flip_rate", "a"), "family"] == "primary"
    assert (out.xs("phi")["family"] == "secondary").all()
    one = F.adjust_family(tab, correction="holm", alpha=ALPHA)
    assert (one["family"] == "all").all() and not one["significant"].any()


def test_one_sided_p_values_are_corrected_in_their_own_family():
    """Unit: a hand-made table of two- and one-sided p-values; Holm on the one-sided ones within each family."""
    tab = pd.DataFrame({"model": "m", "task": "t", "target": ["a", "b", "a", "b"],
                        "metric": ["flip_rate", "flip_rate", "phi", "phi"], "test": "x",
                        "p_value": [0.04, 0.5, 0.9, 0.9], "p_value_one_sided": [0.02, 0.75, 0.01, 0.6]})
    out = F.adjust_family(tab, correction="holm", alpha=ALPHA, primary_metric="flip_rate").set_index(
        ["metric", "target"])
    assert out.loc[("flip_rate", "a"), "p_value_corrected_one_sided"] == pytest.approx(0.04)
    assert out.loc[("flip_rate", "a"), "significant_one_sided"] and not out.loc[("flip_rate", "a"), "significant"]
    assert out.loc[("phi", "a"), "p_value_corrected_one_sided"] == pytest.approx(0.02)  # the secondary family's own Holm


# ---- directional coefficient with and without the baseline control ----------------------------------------
def _direction_null(n_sims: int, n_items: int = 60, seed: int = 0) -> pd.Series:
    rng = np.random.default_rng(seed)
    hits = []
    direction = np.where(np.arange(n_items) % 2 == 0, 1.0, -1.0)
    for _ in range(n_sims):
        s_o = rng.normal(0, 1.5, n_items)
        kappa = rng.normal(0, 0.8, n_items)  # rewording effect shared by target and baseline of an item
        s_b = s_o + kappa + rng.normal(0, 0.5, n_items)
        s_t = s_o + kappa + rng.normal(0, 0.5, n_items) + 0.2  # a common shift, no directional effect
        frame = pd.DataFrame({"model": "m", "task": "t", "item_id": np.arange(n_items), "target": "x",
                              "direction": direction, "d_target": s_t - s_o, "d_baseline": s_b - s_o,
                              "response": "logit"})
        tab, _ = DR.directional_regression(frame)
        cell = tab[tab["scope"] == "cell"].iloc[0]
        hits.append({"with_control": cell["p_value"] < ALPHA, "without_control": cell["p_value_no_control"] < ALPHA})
    return pd.DataFrame(hits).mean()


def test_direction_null_rejection_near_alpha_with_and_without_control_fast():
    """Unit: 150 simulated null data sets of 60 items (binomial sd of the rate at 5%: 0.018)."""
    rate = _direction_null(150)
    assert ((rate >= 0.01) & (rate <= 0.10)).all(), rate.to_dict()


@pytest.mark.slow
def test_direction_null_rejection_near_alpha_with_and_without_control_slow():
    """Unit: 2,000 simulated null data sets of 60 items."""
    rate = _direction_null(2000, seed=1)
    assert ((rate >= 0.035) & (rate <= 0.065)).all(), rate.to_dict()


# ------------------------------------------------------------------ power at the observed concordance (issue 21.6)
def test_concordant_flips_have_the_planted_marginals_and_phi():
    """Unit: one simulated (target, baseline) flip pair per item; 400 x 500 items per planted rho."""
    for r, rho in ((0.15, 0.0), (0.15, 0.4), (0.3, 0.57), (0.1, -0.05)):
        ft, fb = P.concordant_flips(r, rho, (400, 500), np.random.default_rng(11))
        assert abs(ft.mean() - r) < 0.005 and abs(fb.mean() - r) < 0.005
        assert abs(P.flip_concordance(ft.ravel(), fb.ravel()) - rho) < 0.01
    assert np.isnan(P.flip_concordance(np.zeros(5, bool), np.array([1, 0, 1, 0, 0], bool)))


def test_per_sample_test_holds_alpha_and_gains_power_under_concordant_flips():
    """Unit: one simulated data set of 134 items (MedPerturb's median per test) per repetition, 600 per point.

    Under the null (effect 0) with target and baseline flips correlated at rho = 0.4 (MedPerturb's mean), the
    exact McNemar test rejects at most alpha (it conditions on the discordant items, so concordance cannot make
    it liberal); at effect 0.1 its power is higher than under independent flips (the issue's 0.137 -> 0.183).
    """
    null = P.simulate_pvalues(134, 0.144, 0.6, 0.0, 600, np.random.default_rng(3), "balanced", n_perm=99,
                              concordance=0.4)
    assert (null["per-sample"] < 0.05).mean() <= 0.065
    power = {rho: (P.simulate_pvalues(134, 0.144, 0.6, 0.1, 600, np.random.default_rng(4), "balanced", n_perm=99,
                                      concordance=rho)["per-sample"] < 0.05).mean() for rho in (0.0, 0.4)}
    assert power[0.4] > power[0.0] + 0.02, power


def test_observed_concordance_is_the_mean_phi_over_tested_cells():
    """Unit: one model x task cell of 8 items with an original, a target and a baseline answer."""
    answers = pd.DataFrame({
        "model": "m", "task": "t", "item_id": np.repeat(np.arange(8), 3),
        "variant": ["original", "swap", "swap_baseline"] * 8,
        "prediction": ["a", "b", "b", "a", "b", "b", "a", "a", "a", "a", "a", "a",
                       "a", "b", "a", "a", "a", "b", "a", "a", "a", "a", "a", "a"]})
    tests = pd.DataFrame({"model": ["m"], "task": ["t"], "target": ["swap"], "baseline": ["swap_baseline"]})
    ft = np.array([1, 1, 0, 0, 1, 0, 0, 0], bool)
    fb = np.array([1, 1, 0, 0, 0, 1, 0, 0], bool)
    phi, n = P.observed_concordance(tests, answers)
    assert n == 1 and phi == pytest.approx(P.flip_concordance(ft, fb)) and phi == pytest.approx(7 / 15)
