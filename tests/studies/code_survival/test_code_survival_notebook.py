"""The notebook on the workshop profile, through the runner (the doc's numbers: tests/frame/test_docnumbers.py).

Unit: one run of the whole notebook (a profile).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest

from studykit.contract.errors import ParamError
from studykit.studies.code_survival import Params, plots
from studykit.files.tablefmt import latex_escape

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from texcheck import tex_header, tex_problems  # noqa: E402

REQUIRED = ("data.n_units", "data.n_agent_units", "data.n_human_units", "data.n_repos", "modified_share.agent",
            "modified_share.human", "modified_share.diff_pp", "cox.unadjusted_hr", "cox.unadjusted_ci_low",
            "cox.unadjusted_ci_high", "cox.unadjusted_p_value", "cox.adjusted_hr", "intent.cramers_v",
            "prediction.full_auc_roc", "prediction.full_timing_macro_f1", "prediction.text_auc_roc",
            "clustering.by", "logrank.author_p_value", "intent.p_value", "primary.hr", "primary.ci_low",
            "primary.ci_high", "primary.p_value", "primary.logrank_p_value", "cox.stratified_hr",
            "logrank.author_stratified_p_value", "cox.hr_by_agent_family", "cox.hr_by_window_family")


@pytest.fixture(scope="module")
def workshop_run(study_run):
    """The workshop profile's run, shared by the session (tests/conftest.py: study_run)."""
    return study_run("code_survival", "workshop")


def test_a_horizon_beyond_follow_up_is_reported_as_not_estimable(tmp_path):
    """The workshop profile with horizon_days=400 (its lines are followed at most ~300 days): the notebook runs
    to its end and the run's last line lists the two results as not estimable (was KeyError 'fpr')."""
    from studykit.runs.runner import run_study
    from studykit.runs.runsummary import fallbacks

    res = run_study("code_survival", profile="workshop", overrides={"horizon_days": 400},
                    out_dir=tmp_path / "out")
    assert res.status == "executed"
    found = fallbacks(res.out_dir)
    assert found["modified_share.not_estimable"].startswith("not estimable: no agent units are followed for 400")
    assert found["prediction.not_estimable"].startswith("not estimable: 0 eligible units")
    assert (res.out_dir / "figures" / "roc.png").is_file()


def test_notebook_workshop(workshop_run):
    res = workshop_run
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
    # 3 repositories < min_repo_clusters: the primary results are the stratified model and log-rank test
    assert (results["primary.basis"], results["primary.cox"], results["primary.logrank"]) == (
        "stratified by repository", "cox.stratified_adjusted", "logrank.author_stratified")
    assert results["primary.hr"] == results["cox.stratified_adjusted_hr"]
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


def test_tex_tables_fit_a_page(workshop_run):
    """Unit: the .tex files of one run (the workshop profile): at most 10 columns, readable headers."""
    assert not tex_problems(workshop_run.out_dir)


def _named(view) -> set[str]:
    return {c for key in view for c in (key if isinstance(key, tuple) else (key,))}


@pytest.mark.parametrize("table, view", [
    ("cox_agent", plots.cox_agent_tex_columns(0.95)),
    ("intent_test", plots.intent_test_tex_columns(0.95)),
    ("prediction_summary", plots.prediction_summary_tex_columns(0.95)),
])
def test_tex_view_names_only_columns_of_its_table(workshop_run, table, view):
    """Unit: one table of the workshop run; its paper view names only columns of its CSV, and the .tex shows
    the view's headers in order."""
    tables = workshop_run.out_dir / "tables"
    assert _named(view) <= set(pd.read_csv(tables / f"{table}.csv").columns)
    assert tex_header((tables / f"{table}.tex").read_text(encoding="utf-8")) == [latex_escape(h) for h in view.values()]
    assert len(view) <= 10


def test_intent_test_view_keeps_only_present_columns():
    """Unit: the intent test's paper view for one table's columns: all of it for the full table, nothing for the
    empty table of a test that is not estimable, the merged CI only when its three columns are there."""
    full = plots.intent_test_tex_columns(0.9)
    assert plots.intent_test_tex_columns(0.9, _named(full)) == full
    assert plots.intent_test_tex_columns(0.9, pd.DataFrame().columns) == {}
    assert list(plots.intent_test_tex_columns(0.9, ["unit", "cramers_v", "cramers_v_ci_low"]).values()) == ["Unit"]
    assert "Cramér's V [90% CI]" in full.values()


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
