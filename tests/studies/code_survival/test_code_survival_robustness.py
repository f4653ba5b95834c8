"""Robustness: documented-but-odd and corrupted line-events tables through load and every analysis step.

Unit: a line-events table (each test builds one); the assertions are about rules (clean result with
data issues, or a one-line InputError), not about estimates.
"""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from studykit.contract.errors import InputError
from studykit.contract.outputs import Outputs
from studykit.stats.results import Result
from studykit.studies.code_survival import Params, analysis, steps
from studykit.studies.code_survival.load import prepare_events
from studykit.studies.code_survival.schema import REQUIRED_COLUMNS

FAST = Params().model_copy(update={"n_bootstrap": 100, "tfidf_max_features": 50, "cv_folds": 2,
                                   "min_agent_units": 5, "min_agent_events": 3})


def table(n_repos=3, units=80, seed=0, agents=("claude", "copilot"), hr=0.8, required_only=True):
    """A small valid line-events table: commits of 1-6 lines, exponential times, censoring at 400 days."""
    rng = np.random.default_rng(seed)
    rows = []
    start = pd.Timestamp("2024-01-01", tz="UTC")
    for r in range(n_repos):
        i = 0
        c = 0
        while i < units:
            size = int(rng.integers(1, 7))
            is_agent = rng.random() < 0.45
            agent = agents[int(rng.integers(len(agents)))] if is_agent else ""
            born = start + pd.Timedelta(days=float(rng.uniform(0, 200)))
            for _ in range(size):
                t = rng.exponential(120 * (1 / hr if is_agent else 1.0))
                event = int(t < 400 - (born - start).days)
                rows.append({"unit_id": f"u{i}", "repo": f"r{r}", "path": f"src/m{i % 7}.py", "commit": f"c{r}_{c}",
                             "author_type": "agent" if is_agent else "human", "agent": agent,
                             "born_at": born.strftime("%Y-%m-%dT%H:%M:%SZ"),
                             "ended_at": (born + pd.Timedelta(days=t)).strftime("%Y-%m-%dT%H:%M:%SZ") if event else "",
                             "event": event, "end_intent": ["corrective", "adaptive", "perfective", "other"][i % 4]
                             if event else "", "text": f"x{i % 11} = f({i % 5})",
                             "commit_lines_added": size, "commit_lines_deleted": int(rng.integers(0, 3))})
                i += 1
            c += 1
    df = pd.DataFrame(rows)
    return df[list(REQUIRED_COLUMNS)] if required_only else df


def _nan_without_note(result: Result, where: str) -> list[str]:
    """Fields of a result (nested ones included) that are NaN/None while the result has no note."""
    bad = []
    d = result.as_dict()
    note = d.get("note", "")
    for f in type(result).__dataclass_fields__:
        v = getattr(result, f)
        if isinstance(v, Result):
            bad += _nan_without_note(v, f"{where}.{f}")
        elif isinstance(v, float) and math.isnan(v) and not note:
            bad.append(f"{where}.{f}")
    return bad


def run_everything(events: pd.DataFrame, params=FAST, prediction: bool = True) -> dict:
    """Every analysis step of the notebook; returns the results and all issues."""
    clusters = steps.clustering(events, params)
    km = steps.kaplan_meier(events, params)
    out = {"clustering": clusters, "logrank": steps.logrank_tests(events, params, clusters),
           "share": steps.modification_share(events, params, km, clusters)}
    out["cox"], cox_issues = steps.cox_models(events, params, clusters)
    out["per_agent"], agent_issues = steps.per_agent(events, params, clusters)
    out["intent"] = analysis.intent_profile(events, params.confidence)
    if prediction:
        out["prediction"] = steps.predictions(events, params, clusters)
    out["issues"] = cox_issues + agent_issues
    return out


def check_clean(res: dict) -> None:
    bad = []
    for k, v in res.items():
        if isinstance(v, Result):
            bad += _nan_without_note(v, k)
    pa = res["per_agent"]
    missing = pa["hr_vs_human"].isna() & (pa["note"] == "")
    assert not missing.any(), pa[missing]
    assert not bad, bad


def test_required_columns_only_runs_and_drops_constant_covariates():
    events, issues = prepare_events(table())
    checks = {i.check: i for i in issues}
    assert "commit_lines_added" in checks["optional_columns_absent"].detail
    res = run_everything(events)
    check_clean(res)
    cox_issues = {i.check: i for i in res["issues"]}
    assert "log_commit_size" in cox_issues["constant_covariates_dropped"].detail
    assert "log_commit_size" in res["cox"].adjusted.note and np.isfinite(res["cox"].adjusted.hr)


def test_nan_in_repo_or_unit_id_is_dropped_and_reported():
    df = table()
    df.loc[3, "repo"] = np.nan
    df.loc[7, "unit_id"] = None
    df.loc[9, "unit_id"] = "  "
    events, issues = prepare_events(df)
    assert {i.check: i.count for i in issues}["missing_ids"] == 3 and len(events) == len(df) - 3
    check_clean(run_everything(events, prediction=True))


@pytest.mark.parametrize("bad", [1e30, "many", -3, np.nan, 2.5])
def test_bad_commit_sizes_are_replaced_and_reported(bad):
    df = table(required_only=False)
    df["commit_lines_added"] = df["commit_lines_added"].astype(object)
    df.loc[[2, 5], "commit_lines_added"] = bad
    events, issues = prepare_events(df)
    issue = {i.check: i for i in issues}["bad_commit_size"]
    assert issue.count == 2 and "commit_lines_added" in issue.rule
    good = pd.to_numeric(df.commit_lines_added.drop([2, 5])).median()
    assert (events.loc[[2, 5], "commit_lines_added"] == int(good)).all()


def test_agent_names_from_data_become_safe_keys(tmp_path):
    events, _ = prepare_events(table(agents=("claude@bot", "dé🙂 agent")))
    per_agent, _ = steps.per_agent(events, FAST, steps.clustering(events, FAST))
    out = Outputs("code_survival", None, tmp_path / "run")
    out.record_many({out.name(r.agent): r.hr_vs_human for r in per_agent.itertuples()}, prefix="cox.hr_by_agent")
    manifest = json.loads(out.close().read_text())
    assert "claude@bot" in manifest["names"].values()
    saved = json.loads((tmp_path / "run" / "results.json").read_text())
    assert len([k for k in saved if k.startswith("cox.hr_by_agent.")]) == 2


def test_dates_in_the_future_are_dropped_and_reported():
    df = table()
    df.loc[0, "born_at"] = "2099-01-01T00:00:00Z"
    events, issues = prepare_events(df)
    checks = {i.check: i for i in issues}
    assert checks["future_dates"].count == 1 and "2099" in checks["future_dates"].detail
    assert "negative_durations" not in checks and events.duration_days.max() < 500


def test_every_row_duplicated_gives_the_same_results_and_an_issue():
    df = table()
    once, _ = prepare_events(df)
    twice, issues = prepare_events(pd.concat([df, df], ignore_index=True))
    assert {i.check: i.count for i in issues}["duplicate_rows"] == len(df)
    pd.testing.assert_frame_equal(once, twice)


def test_conflicting_rows_with_one_unit_id_are_refused():
    df = table()
    df.loc[1, "unit_id"] = df.loc[0, "unit_id"]
    with pytest.raises(InputError, match="unit_id"):
        prepare_events(df)


def test_models_that_cannot_be_fitted_are_not_estimable_and_the_rest_runs():
    df = table()
    df["event"] = 0
    df["ended_at"] = ""
    events, _ = prepare_events(df)
    res = run_everything(events)
    check_clean(res)
    assert res["cox"].unadjusted.note.startswith("not estimable")
    assert res["intent"].note.startswith("not estimable")
    assert res["prediction"].full.note and res["prediction"].full.auc_roc is None
    assert {i.check for i in res["issues"]} >= {"cox_not_estimable", "agents_not_estimable"}


def test_no_line_followed_for_the_horizon_is_recorded_as_not_estimable():
    import matplotlib.pyplot as plt

    from studykit.studies.code_survival import plots

    events, _ = prepare_events(table())
    res = run_everything(events, FAST.model_copy(update={"horizon_days": 5000.0}))
    check_clean(res)
    rec = res["share"].as_record("modified_share")
    assert rec["modified_share.not_estimable"].startswith("not estimable: no agent units are followed for 5000 days")
    assert rec["modified_share.agent"] is None
    rec = res["prediction"].as_record("prediction")
    assert rec["prediction.not_estimable"].startswith("not estimable: 0 eligible units")
    plt.close(plots.roc_curve_plot(res["prediction"].full.roc, res["prediction"].full.auc_roc))  # was KeyError 'fpr'
    ok = run_everything(events)  # estimable: no such key
    assert "modified_share.not_estimable" not in ok["share"].as_record("modified_share")
    assert "prediction.not_estimable" not in ok["prediction"].as_record("prediction")


def test_one_repository_and_one_agent_event():
    df = table(n_repos=1, units=60, agents=("solo",))
    events, _ = prepare_events(df)
    res = run_everything(events)
    check_clean(res)
    assert res["clustering"].by == "commit"


# ---- property-based fuzzer ------------------------------------------------------------------------------
NAMES = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12)
CORRUPTIONS = ("none", "nan_cell", "duplicates", "bad_type", "out_of_range", "empty", "drop_required")


@st.composite
def tables(draw):
    n_repos = draw(st.integers(1, 4))
    agents = tuple(draw(st.lists(NAMES, min_size=1, max_size=3, unique=True)))
    df = table(n_repos=n_repos, units=draw(st.integers(8, 40)), seed=draw(st.integers(0, 10**6)), agents=agents,
               required_only=draw(st.booleans()))
    df["repo"] = df["repo"].map({f"r{i}": draw(NAMES) + f"#{i}" for i in range(n_repos)})
    kind = draw(st.sampled_from(CORRUPTIONS))
    col = draw(st.sampled_from(list(df.columns)))
    rows = draw(st.lists(st.integers(0, len(df) - 1), min_size=1, max_size=5))
    df = df.astype(object)
    if kind == "nan_cell":
        df.loc[rows, col] = np.nan
    elif kind == "duplicates":
        df = pd.concat([df, df.iloc[rows]], ignore_index=True)
    elif kind == "bad_type":
        df.loc[rows, col] = draw(st.sampled_from(["many", "", "2024-13-45", "☃", -1, 1e308, True]))
    elif kind == "out_of_range":
        df.loc[rows, col] = draw(st.sampled_from([1e30, -5, "2099-01-01T00:00:00Z", "1900-01-01", 2]))
    elif kind == "empty":
        df = df.iloc[:0]
    elif kind == "drop_required":
        df = df.drop(columns=col)
    return df


def _fuzz_once(df: pd.DataFrame, analyse: bool) -> None:
    try:
        events, issues = prepare_events(df)
    except InputError as exc:
        assert "\n" not in str(exc) and len(str(exc)) < 400
        return
    assert len(events) and events["duration_days"].notna().all()
    if analyse:
        check_clean(run_everything(events, prediction=True))


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(tables())
def test_fuzz_load(df):
    """Any table of the schema, corrupted or not: a clean table with issues, or a one-line InputError."""
    _fuzz_once(df, analyse=False)


@settings(max_examples=6, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(tables())
def test_fuzz_load_and_analysis_fast(df):
    """Fast sibling of the slow fuzzer: a few tables through load and every analysis step."""
    _fuzz_once(df, analyse=True)


@pytest.mark.slow
@settings(max_examples=80, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(tables())
def test_fuzz_load_and_analysis_slow(df):
    _fuzz_once(df, analyse=True)


def test_notebook_on_odd_input(tmp_path):
    """Unit: one whole run. Required columns only, unsafe agent names, duplicated rows, a 2099 date, 'many'."""
    from studykit.runs.runner import run_study

    df = table(n_repos=3, units=120, agents=("claude@bot", "copilot"), required_only=False)
    df = df.drop(columns=["commit_lines_deleted"]).astype(object)
    df.loc[4, "commit_lines_added"] = "many"
    df.loc[5, "born_at"] = "2099-05-01T00:00:00Z"
    df = pd.concat([df, df.iloc[:30]], ignore_index=True)
    path = tmp_path / "events.csv"
    df.to_csv(path, index=False)
    res = run_study("code_survival", overrides={"line_events_path": str(path), "recovery_path": None,
                                                "n_bootstrap": 100, "tfidf_max_features": 100, "cv_folds": 3},
                    out_dir=tmp_path / "out")
    assert res.status == "executed"
    results = json.loads((res.out_dir / "results.json").read_text())
    for check in ("duplicate_rows", "future_dates", "bad_commit_size", "optional_columns_absent"):
        assert results[f"data_issues.{check}"] >= 1, check
    manifest = json.loads((res.out_dir / "manifest.json").read_text())
    assert "claude@bot" in manifest["names"].values()
