"""The notebook on the workshop profile, through the runner."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from studykit.errors import ParamError
from studykit.studies.code_survival import Params

REQUIRED = ("data.n_units", "data.n_agent_units", "data.n_human_units", "data.n_repos", "modified_share.agent",
            "modified_share.human", "modified_share.diff_pp", "cox.unadjusted_hr", "cox.unadjusted_ci_low",
            "cox.unadjusted_ci_high", "cox.unadjusted_p_value", "cox.adjusted_hr", "intent.cramers_v",
            "prediction.auc_roc", "prediction.timing_macro_f1")


def test_notebook_workshop(tmp_path):
    from studykit.runner import run_study

    res = run_study("code_survival", profile="workshop", out_dir=tmp_path / "out")
    assert res.status == "executed"
    out = res.out_dir
    results = json.loads((out / "results.json").read_text())
    for key in REQUIRED:
        assert key in results and results[key] is not None, key
    assert results["data.n_repos"] == 3
    assert results["data.n_units"] == results["data.n_agent_units"] + results["data.n_human_units"] > 500
    assert 0 < results["cox.unadjusted_ci_low"] < results["cox.unadjusted_hr"] < results["cox.unadjusted_ci_high"]
    assert results["modified_share.diff_pp"] == pytest.approx(
        100 * (results["modified_share.agent"] - results["modified_share.human"]))
    assert results["recovery.covers"] is True
    events = pd.read_csv(out / "tables" / "line_events.csv")
    assert len(events) == results["data.n_units"]
    assert {"unit_id", "repo", "path", "commit", "author_type", "agent", "born_at", "ended_at", "event",
            "end_intent", "text"} <= set(events.columns)
    for name in ("km_by_author", "cox_agent", "hr_by_agent", "intent_profile", "prediction_summary", "recovery",
                 "data_issues", "ph_test", "hr_by_time_window"):
        assert (out / "tables" / f"{name}.csv").is_file(), name
    for name in ("km_by_author", "km_by_agent", "hr_forest", "intent_profile", "roc"):
        assert (out / "figures" / f"{name}.png").is_file(), name
    issues = pd.read_csv(out / "tables" / "data_issues.csv")
    assert "mining_excluded_lines" in set(issues["check"])


def test_params_errors():
    with pytest.raises(ParamError, match="horizon_days"):
        Params.validate_mapping({"horizon_days": -1})
    with pytest.raises(ParamError, match="timing_bins_days"):
        Params.validate_mapping({"timing_bins_days": [30, 7]})
    with pytest.raises(ParamError, match="observation_end"):
        Params.validate_mapping({"observation_end": "last tuesday"})
    assert Params.validate_mapping({"observation_end": "2025-12-31"}).observation_end == "2025-12-31"
    with pytest.raises(ParamError, match="unknown parameter"):
        Params.validate_mapping({"horizon": 3})
