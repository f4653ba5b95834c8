"""Multiplicity of the per-agent and per-window HRs (issue 21, point 5): Holm within each named family.

Unit: one per-agent or per-window table (built by hand, or by the study from one simulated data set of line
units); the family is the table's rows that have a p-value (estimable agents or windows).
"""
from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from studykit.studies.code_survival import analysis as A
from studykit.studies.code_survival import saves, steps

sys.path.insert(0, str(Path(__file__).parent))
from test_code_survival_fewrepos import few_repo_lines  # noqa: E402


def test_holm_over_the_estimable_rows_equals_statsmodels():
    from statsmodels.stats.multitest import multipletests

    tab = pd.DataFrame({"agent": list("abcdefg"),
                        "p_value": [0.018, None, 0.04, 0.3, np.nan, 0.001, 0.6]})
    out = steps.with_holm(tab)
    ok = tab["p_value"].notna().to_numpy()
    ref = multipletests(tab.loc[ok, "p_value"].astype(float), method="holm")[1]
    assert np.allclose(out.loc[ok, "p_value_corrected"].astype(float), ref)
    assert out.loc[~ok, "p_value_corrected"].isna().all() and list(out["agent"]) == list("abcdefg")
    assert steps.with_holm(tab.assign(p_value=None))["p_value_corrected"].isna().all()  # no estimable row: no family


def test_per_agent_and_window_records_name_the_family():
    agents = steps.with_holm(pd.DataFrame({"agent": ["jules", "claude", "idle"], "hr_vs_human": [0.5, 1.2, None],
                                           "p_value": [0.018, 0.4, None]}))
    rec = saves.PerAgent(agents, (), cox=None).records(str)
    assert rec["cox.hr_by_agent_p_value_corrected.jules"] == pytest.approx(0.036)
    assert rec["cox.hr_by_agent_p_value_corrected.claude"] == pytest.approx(0.4)
    assert rec["cox.hr_by_agent_p_value.jules"] == 0.018 and rec["cox.hr_by_agent_p_value_corrected.idle"] is None
    assert rec["cox.hr_by_agent_family"].startswith("Holm over the 2 estimable agents")
    windows = steps.with_holm(pd.DataFrame({"window_days": ["[0, 30)", "[30, 180)", "[180, end)"],
                                            "hr": [0.7, None, 0.35], "p_value": [0.2, None, 0.0002]}))
    wrec = saves.Cox(SimpleNamespace(windows=windows), (), 0.95).records(str)
    assert wrec["cox.hr_by_window_p_value_corrected.180_end"] == pytest.approx(0.0004)
    assert wrec["cox.hr_by_window_p_value_corrected.0_30"] == pytest.approx(0.2)
    assert wrec["cox.hr_by_window.30_180"] is None and wrec["cox.hr_by_window_p_value_corrected.30_180"] is None
    assert wrec["cox.hr_by_window_family"].startswith("Holm over the 2 estimable time windows")
    assert steps.window_key("[7.5, 30)") == "7p5_30"


def test_study_tables_carry_holm_columns():
    """Unit: one simulated data set of 4 repositories with two agents; the per-agent and per-window tables of
    the notebook's steps have ``p_value_corrected`` >= ``p_value`` on every estimable row."""
    df = few_repo_lines(11)
    rng = np.random.default_rng(0)
    commits = df.loc[df.author_type == "agent", "commit"].unique()
    second = set(rng.choice(commits, len(commits) // 2, replace=False))
    df["agent"] = np.where(df.commit.isin(second) & (df.author_type == "agent"), "a2", df["agent"])
    params = SimpleNamespace(confidence=0.95, adjust="cluster", ph_alpha=0.05, ph_split_days=[30.0, 180.0],
                             min_agent_units=30, min_agent_events=10, seed=0)
    cl = A.choose_clusters(df, 10)
    table, _ = steps.per_agent(df, params, cl)
    est = table["p_value"].notna()
    assert est.sum() == 2 and (table.loc[est, "p_value_corrected"] >= table.loc[est, "p_value"] - 1e-15).all()
    assert table.loc[est, "p_value_corrected"].max() == pytest.approx(min(1.0, max(table.loc[est, "p_value"].max(),
                                                                        2 * table.loc[est, "p_value"].min())))
    cox, _ = steps.cox_models(df, params, cl)
    w = cox.windows
    assert "p_value_corrected" in w.columns
    e = w["p_value"].notna()
    assert (w.loc[e, "p_value_corrected"] >= w.loc[e, "p_value"] - 1e-15).all()
