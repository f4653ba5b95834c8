"""Risk against the planted truth beside risk against gold; the effect-size view (sign, magnitude, Type M).

Unit: one (hypothesis, configuration) pair of a simulated study with planted truth; rates are
taken over the pairs of a configuration.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from studykit.studies.annotation_robustness import analysis, effect_sizes, load, recovery
from studykit.studies.annotation_robustness.simulate import SimSpec, simulate


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """3,000 simulated items, one LLM, a configuration copying gold and five labelling at random."""
    sim = simulate(SimSpec(n_items=3000, models=(("m", 0.8, 0.5),), prompts=(("p", 0.0),), temperatures=(0.0,)))
    rng = np.random.default_rng(11)
    items = sim.items
    classes = sorted(items["gold"].unique())
    extra = [pd.DataFrame({"item_id": items["item_id"], "model": "oracle", "prompt": "copy", "temperature": 0.0,
                           "seed": 0, "label": items["gold"]})]
    extra += [pd.DataFrame({"item_id": items["item_id"], "model": "noise", "prompt": "dice", "temperature": 0.0,
                            "seed": s, "label": rng.choice(classes, len(items))}) for s in range(5)]
    ann = pd.concat([sim.annotations.to_pandas(), *extra], ignore_index=True)
    data, _ = load.encode(items, ann, ["party", "year", "platform"])
    grid, _ = analysis.run_grid(data, None, min_group_size=30)
    truth_dir = tmp_path_factory.mktemp("truth")
    sim.truth_hypotheses.to_csv(truth_dir / "truth_hypotheses.csv", index=False)
    return grid, truth_dir


def test_risk_against_truth_beside_gold(study):
    grid, truth_dir = study
    table, summary = recovery.risk_against_truth(grid, truth_dir)
    by = table.set_index("model")
    # a configuration copying gold has no risk against gold and exactly gold's risk against the truth
    assert by.loc["oracle", "risk_vs_gold"] == 0.0
    assert by.loc["oracle", "risk_vs_truth"] == pytest.approx(by.loc["gold (human)", "risk_vs_truth"])
    assert by.loc["all", "risk_vs_gold"] == pytest.approx(grid.wrong.mean())
    for key in ("risk_vs_truth", "type_I_vs_truth", "type_II_vs_truth", "type_S_vs_truth", "gold_risk_vs_truth"):
        assert 0.0 <= summary[key] <= 1.0
    assert summary["risk_vs_truth"] == pytest.approx(summary["type_I_vs_truth"] + summary["type_II_vs_truth"]
                                                     + summary["type_S_vs_truth"])
    # issue 21.7: the risk the annotators add beyond gold's own, and the risk where gold reaches the truth
    assert summary["excess_risk_vs_truth"] == pytest.approx(summary["risk_vs_truth"] - summary["gold_risk_vs_truth"])
    n_h = len(grid.hypotheses)
    assert 0 < summary["n_hypotheses_gold_right"] <= n_h
    if summary["gold_risk_vs_truth"] > 0:  # gold misses something: restricting to where it is right lowers the risk
        assert summary["n_hypotheses_gold_right"] < n_h
        assert summary["risk_vs_truth_gold_right"] <= summary["risk_vs_truth"]


def test_random_labels_reject_true_nulls_at_about_alpha(study):
    """Validity: labels independent of the groups make every hypothesis null for that configuration;
    their rejection rate over 5 configurations x all hypotheses is near alpha = 0.05 (pairs of one
    hypothesis share items, so the tolerance is wide)."""
    grid, _ = study
    noise = (grid.configs["model"] == "noise").to_numpy()
    rejected = (grid.conclusion[:, noise] != analysis.NONE).mean()
    assert 0.01 <= rejected <= 0.10, rejected


def test_effect_size_view(study):
    grid, _ = study
    view = effect_sizes.effect_size_errors(grid, by="model").set_index("model")
    assert list(view.columns) == list(effect_sizes.COLUMNS)
    oracle = view.loc["oracle"]
    assert oracle.sign_error_rate == 0.0 and oracle.median_abs_error == 0.0
    assert oracle.type_M_median == pytest.approx(1.0) and oracle.share_exaggerated == 0.0
    # random labels carry no sign information: about half of the gold-significant signs are wrong
    assert 0.3 <= view.loc["noise", "sign_error_rate_gold_significant"] <= 0.7
    # ... and shrink the effects towards 0 (Type M well below 1)
    assert view.loc["noise", "type_M_median"] < 0.5
    assert view.loc["m", "sign_error_rate_gold_significant"] < view.loc["noise", "sign_error_rate_gold_significant"]
    assert view.loc["all", "n_pairs"] == view.drop(index="all")["n_pairs"].sum()


def test_truth_risk_without_matching_hypotheses_is_undefined_not_a_crash(study, tmp_path):
    grid, truth_dir = study
    other = pd.read_csv(truth_dir / "truth_hypotheses.csv").assign(hypothesis_id=lambda d: "other " + d.hypothesis_id)
    other.to_csv(tmp_path / "truth_hypotheses.csv", index=False)
    table, summary = recovery.risk_against_truth(grid, tmp_path)
    assert table.empty and all(np.isnan(v) for v in summary.values())
