"""The notebook on the workshop profile through the runner; the embedded data is reproducible."""
from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from studykit.fileio import sha256_file
from studykit.paths import data_dir
from studykit.studies.annotation_robustness import write_embedded
from studykit.studies.annotation_robustness.columns import PAIR_COLUMNS


def test_embedded_data_is_byte_identical(tmp_path):
    write_embedded(tmp_path)
    committed = data_dir("annotation_robustness")
    sums = dict(line.split()[::-1] for line in (committed / "SHA256SUMS").read_text().splitlines())
    for name, digest in sums.items():
        assert sha256_file(committed / name) == digest, f"committed {name} does not match SHA256SUMS"
        assert sha256_file(tmp_path / name) == digest, f"regenerated {name} differs"


def test_notebook_runs_on_workshop_profile(tmp_path):
    from studykit.runner import run_study

    res = run_study("annotation_robustness", profile="workshop", out_dir=tmp_path / "out")
    assert res.status == "executed"
    out = res.out_dir
    results = json.loads((out / "results.json").read_text())
    for key in ("n_items", "n_configurations", "n_hypotheses", "n_hypotheses_skipped", "risk.overall", "risk.type_I",
                "risk.type_II", "risk.type_S", "exaggeration.median", "hacking.false_positive_possible",
                "hacking.true_effect_hideable", "hacking.sign_reversible"):
        assert key in results, key
    assert results["n_items"] == 3000 and results["n_configurations"] == 72 and results["n_hypotheses"] == 76
    assert math.isclose(results["risk.type_I"] + results["risk.type_II"] + results["risk.type_S"] + results["risk.correct"],
                        1.0)
    assert math.isclose(results["risk.overall"], 1.0 - results["risk.correct"])
    models = [k.split(".", 2)[2] for k in results if k.startswith("risk.by_model.")]
    assert len(models) == 8
    for m in models:
        assert 0.0 <= results[f"risk.by_model.{m}"] <= 1.0
        assert 0.5 <= results[f"accuracy.by_model.{m}"] <= 1.0
    # the worst model is riskier than the best one (better annotators reduce risk)
    acc = {m: results[f"accuracy.by_model.{m}"] for m in models}
    assert results[f"risk.by_model.{max(acc, key=acc.get)}"] < results[f"risk.by_model.{min(acc, key=acc.get)}"]
    assert results["mitigation.uses_human_single"] is True
    assert results["recovery.gold_finds_big_effects"] >= 0.75
    pairs = pd.read_csv(out / "tables" / "pairs.csv")
    assert list(pairs.columns[: len(PAIR_COLUMNS)]) == list(PAIR_COLUMNS)
    assert len(pairs) == results["n_hypotheses"] * results["n_configurations"]
    assert pairs["error"].ne("correct").mean() == pytest.approx(results["risk.overall"])
    issues = pd.read_csv(out / "tables" / "data_issues.csv")
    assert {"invalid_labels", "missing_labels", "partial_coverage"} <= set(issues["check"])
    for name in ("risk_by_model", "error_types", "configurations", "risk_vs_gold_effect", "risk_vs_gold_p",
                 "hacking_feasibility", "spec_curve", "mitigation"):
        assert (out / "tables" / f"{name}.csv").is_file(), name
    for name in ("risk_by_model", "error_types", "risk_vs_accuracy", "risk_vs_gold", "spec_curve", "hacking_curve",
                 "mitigation"):
        assert (out / "figures" / f"{name}.png").is_file(), name
    mit = pd.read_csv(out / "tables" / "mitigation.csv")
    assert set(mit["human_labels"]) == {"none", "gold", "human_single"}
