"""Recovery of planted truth: planted target effects are found, null targets are rejected at the nominal rate.

Unit: the embedded data set (one recovery check), or one simulated null data set of items per repetition.
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from studykit.files.paths import data_dir
from studykit.files.fileio import sha256_file
from studykit.studies.counterfactual_baselines import family as F, load as L, simulate as S
from studykit.studies.counterfactual_baselines.design import build_design


def test_embedded_data_is_byte_identical(tmp_path):
    S.write_embedded(tmp_path)
    committed = data_dir("counterfactual_baselines")
    for name in ("counterfactual.csv", "truth_flip_rates.csv", "truth_direction.csv", "SHA256SUMS"):
        assert sha256_file(tmp_path / name) == sha256_file(committed / name), name
    for line in (committed / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split()
        assert sha256_file(committed / name) == digest


@pytest.fixture(scope="module")
def embedded_results(default_run):
    """The default profile's recovery and direction tables (the embedded data with its planted truth)."""
    return (pd.read_csv(default_run / "tables" / "recovery.csv"), pd.read_csv(default_run / "tables" / "tests.csv"),
            pd.read_csv(default_run / "tables" / "direction.csv"), json.loads((default_run / "results.json").read_text()))


def test_planted_targets_found_and_null_targets_not(embedded_results):
    rec, tests, _, _ = embedded_results
    fr = rec[rec["quantity"] == "flip_rate_diff"]
    planted = fr[fr["planted_effect"]]
    assert len(planted) == 4 and planted["detected_any_metric"].all()
    assert fr[~fr["planted_effect"]]["detected_any_metric"].sum() == 0
    # the bootstrap CI of the flip-rate difference covers the planted expected difference for most targets
    assert fr["covered"].mean() >= 0.85
    # the model_b gender swap (items moved both ways): per-sample metrics see it, aggregate ones do not
    t = tests.set_index(["model", "task", "target", "metric"])
    for task in ("triage", "referral"):
        assert t.loc[("model_b", task, "gender_swap", "js_divergence"), "significant"]
        assert not t.loc[("model_b", task, "gender_swap", "phi"), "significant"]


def test_directional_coefficients_recovered(embedded_results):
    _, _, direction, res = embedded_results
    truth_dir = pd.read_csv(data_dir("counterfactual_baselines") / "truth_direction.csv")
    d = direction.set_index(["scope", "model"])
    for r in truth_dir.itertuples():
        got = d.loc[(r.scope, r.model)]
        assert got["ci_low"] <= r.beta <= got["ci_high"], (r.scope, r.model)
        # without the baseline control the interval is wider but still covers the planted coefficient
        assert got["ci_low_no_control"] <= r.beta <= got["ci_high_no_control"], (r.scope, r.model)
    assert res["direction.beta"] == pytest.approx(0.3, abs=0.06)
    assert res["direction.p_value"] < 1e-6
    assert d.loc[("cell", "model_c"), "p_value"] > 0.05  # planted 0


def _null_data(seed: int, n_items: int = 120) -> pd.DataFrame:
    cfg = S.SimConfig(n_items=n_items, n_bios=4, models=("m",), rewording_sd=(1.0,), tasks={"t": (0.0, 2.5)},
                      targets=("x",), effects={}, bio_beta=(0.0,), truth_items=2000)
    data, _, _ = S.simulate(cfg, seed)
    return data[data["task"] == "t"]


def _null_rejections(n_sims: int, n_boot: int) -> pd.Series:
    hits = []
    for s in range(n_sims):
        frame, _ = L.validate_long(_null_data(1000 + s))
        d, _ = build_design(frame, {"x": "x_baseline"})
        tests, _ = F.compare_targets(d, n_boot=n_boot, seed=s)
        hits.append(tests.set_index("metric")["p_value"] < 0.05)
    return pd.DataFrame(hits).mean()


def test_null_target_rejection_rate_is_nominal_fast():
    rate = _null_rejections(40, 400)
    # 40 null data sets: each metric rejects at about 5% (binomial 99% bound for 40 draws at 5%: 6 hits)
    assert (rate <= 6 / 40).all(), rate.to_dict()


@pytest.mark.slow
def test_null_target_rejection_rate_is_nominal_slow():
    rate = _null_rejections(300, 1000)
    assert (rate <= 0.085).all(), rate.to_dict()
    assert (rate >= 0.01).any(), rate.to_dict()
