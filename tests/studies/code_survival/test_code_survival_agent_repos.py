"""The real-data profile agent_repos: git bundles of public repositories with agent commits.

Unit: line unit for the survival models, clustered by commit (fewer than 10 repositories); the fast test mines
one of the two bundles (a slice of the profile), the slow one runs the whole profile and checks the doc's numbers.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from studykit.contract.errors import InputError, ParamError
from studykit.contract.profiles import resolve_params
from studykit.runs.runner import run_study

SHARED = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "code_survival"
needs_shared = pytest.mark.skipif(not (SHARED / "claude-code-action.bundle").is_file(),
                                  reason=f"the git bundles are not at {SHARED} (../shared absent)")


@needs_shared
def test_profile_slice_one_bundle(tmp_path, monkeypatch):
    monkeypatch.setenv("STUDYKIT_CACHE", str(tmp_path / "cache"))
    res = run_study("code_survival", profile="agent_repos", out_dir=tmp_path / "run", progress=False,
                    overrides={"bundles": [str(SHARED / "claude-code-action.bundle")], "n_bootstrap": 100,
                               "prediction_max_units": 3000, "tfidf_max_features": 500})
    r = json.loads((res.out_dir / "results.json").read_text())
    assert r["data.n_repos"] == 1 and r["data.n_units"] > 10_000
    assert r["clustering.by"] == "commit"
    assert r["data.n_agent_units"] > 1000                      # claude-code-action has agent commits
    assert 0 < r["cox.unadjusted_ci_low"] < r["cox.unadjusted_hr"] < r["cox.unadjusted_ci_high"]
    # not-estimable agents are recorded as null with a data issue, never as a number
    agents = {k: v for k, v in r.items() if k.startswith("cox.hr_by_agent.")}
    assert agents and all(v is None or v > 0 for v in agents.values())


def test_missing_bundles_are_one_line_saying_where_the_data_comes_from(tmp_path):
    with pytest.raises((InputError, ParamError)) as info:
        resolve_params("code_survival", "agent_repos", overrides={"bundles": [str(tmp_path / "x.bundle")]})
    msg = str(info.value)
    assert "\n" not in msg and "x.bundle" in msg


@pytest.mark.slow
@needs_shared
def test_doc_numbers_match_the_agent_repos_run(tmp_path):
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from test_code_survival_notebook import _doc_numbers_match

    _doc_numbers_match("agent_repos", run_study("code_survival", profile="agent_repos",
                                                out_dir=tmp_path / "out").out_dir)


@pytest.mark.slow
@needs_shared
def test_real_slice_equals_statsmodels_efron(study_run):
    """On a slice of the mined real table of ``agent_repos`` (two public repositories; commits of identical
    lines) the row fit equals PHReg on the units. Unit: one line unit of the slice."""
    import numpy as np
    import pandas as pd
    from statsmodels.duration.hazard_regression import PHReg

    from studykit.stats.coxph import aggregate_units, fit_cox_rows

    real = study_run("code_survival", "agent_repos").out_dir / "tables" / "line_events.parquet"
    ev = pd.read_parquet(real, columns=["duration_days", "event", "author_type", "commit_lines_added",
                                        "commit_lines_deleted", "repo", "commit"]).iloc[::20]
    df = pd.DataFrame({"T": ev["duration_days"].to_numpy(), "E": ev["event"].to_numpy(),
                       "agent": (ev["author_type"] == "agent").astype(int).to_numpy(),
                       "size": np.log1p(ev["commit_lines_added"] + ev["commit_lines_deleted"]).to_numpy(),
                       "cluster": (ev["repo"] + ":" + ev["commit"]).to_numpy()})
    rows, _ = aggregate_units(df, "T", "E", ["agent", "size"], "cluster")
    fit = fit_cox_rows(rows, "T", "E", ["agent", "size"])
    sm = PHReg(df["T"].to_numpy(float), df[["agent", "size"]].to_numpy(float), status=df["E"].to_numpy(),
               ties="efron").fit()
    np.testing.assert_allclose(fit.coef, sm.params, rtol=1e-7)
    np.testing.assert_allclose(fit.se, sm.bse, rtol=1e-7)
