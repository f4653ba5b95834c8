"""The notebook on the workshop profile, through the runner.

Unit: one run of the whole notebook on the workshop profile.
"""
import json

import pandas as pd

from studykit.runner import run_study


def test_workshop_notebook_runs_and_records_everything(tmp_path):
    res = run_study("lexical_prevalence", profile="workshop", out_dir=tmp_path / "out")
    assert res.status == "executed"
    out = res.out_dir
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
