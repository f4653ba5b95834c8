"""The notebook on the workshop profile, through the runner.

Unit: one run of the whole notebook on the workshop profile (shared by the tests of this module).
"""
import json
import sys
from pathlib import Path

import pandas as pd
import pytest

from studykit.studies.lexical_prevalence import plots

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from texcheck import tex_problems  # noqa: E402


@pytest.fixture(scope="module")
def workshop_run(study_run):
    """The workshop profile's run, shared by the session (tests/conftest.py: study_run)."""
    return study_run("lexical_prevalence", "workshop").out_dir


def test_workshop_notebook_runs_and_records_everything(workshop_run):
    out = workshop_run
    r = json.loads((out / "results.json").read_text())
    assert r["n_languages"] == 2 and r["n_docs.ai"] == 5000 and r["n_docs.human"] == 5000
    for lang in ("en", "de"):
        top = r[f"top.{lang}"].split(",")
        assert len(top) == 20
        for lem in top:
            assert isinstance(r[f"lpr.{lang}.{lem}"], float)
        t = pd.read_csv(out / "tables" / f"lpr_{lang}.csv")
        assert list(t.columns[:11]) == ["lemma", "c_ai", "n_ai", "c_human", "n_human", "prevalence_ai",
                                        "prevalence_human", "las", "lpr", "guard_ok", "rank"]
        assert t["lemma"].head(20).tolist() == top
    assert r["uptake.languages_increased"] == 2
    assert r["uptake.mean_change_pct"] > 20 and abs(r["uptake.baseline_mean_change_pct"]) < 10
    assert r["excess.n_words"] > 0
    assert r["truth.planted_in_top_k_share"] == 1.0
    for name in ("top_lemmas", "convergence_matrix", "uptake", "excess_words", "trajectories", "data_issues"):
        assert (out / "tables" / f"{name}.csv").is_file(), name
    for name in ("top_lpr", "convergence_matrix", "uptake_change", "trajectories", "excess_scatter"):
        assert (out / "figures" / f"{name}.png").is_file(), name


def test_workshop_tex_tables_fit_a_page(workshop_run):
    """Unit: the .tex files of one run (every table at most 10 columns, readable headers)."""
    assert not tex_problems(workshop_run)


@pytest.mark.parametrize("table, view", [
    ("top_lemmas", plots.top_lemmas_tex_columns(0.9)), ("uptake", plots.UPTAKE_TEX_COLUMNS),
    ("uptake_did", plots.uptake_did_tex_columns(0.9)), ("excess_words", plots.EXCESS_WORDS_TEX_COLUMNS)])
def test_tex_views_name_only_columns_of_their_tables(workshop_run, table, view):
    """Unit: one table's paper view against the CSV header of the workshop run; at most 10 columns shown."""
    header = pd.read_csv(workshop_run / "tables" / f"{table}.csv", nrows=0).columns
    named = [c for key in view for c in (key if isinstance(key, tuple) else (key,))]
    assert set(named) <= set(header), set(named) - set(header)
    assert len(view) <= 10
    assert all("90% CI" in h for k, h in view.items() if isinstance(k, tuple))
