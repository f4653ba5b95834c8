"""The notebook end to end on the workshop profile, through the runner."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from studykit.runner import run_study
from studykit.studies.sycophancy_correlation.analysis import PER_MODEL_COLUMNS

REQUIRED = ["n_models", "n_personas", "n_prompts", "n_models_significant", "max_pearson_r", "max_cohens_d",
            "pooled.slope", "pooled.slope_ci_low", "pooled.slope_ci_high"]


@pytest.fixture(scope="module")
def workshop_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("syc") / "out"
    res = run_study("sycophancy_correlation", profile="workshop", out_dir=out)
    return res, out


def test_workshop_notebook_records_every_required_number(workshop_run):
    res, out = workshop_run
    assert res.status == "executed"
    results = json.loads((out / "results.json").read_text())
    for key in REQUIRED:
        assert key in results, key
    assert results["n_models"] == 13 and results["n_personas"] == 275 and results["n_prompts"] == 99
    for model in ("simlm-0.6b", "simlm-4b", "simlm-20b"):
        assert f"pearson_r.{model}" in results and f"cohens_d.{model}" in results
    assert 8 <= results["n_models_significant"] <= 11
    assert results["pooled.slope_ci_low"] < results["recovery.true_pooled_slope"] < results["pooled.slope_ci_high"]
    assert results["recovery.n_covered"] >= 11
    assert results["pooled.method"] == "mixedlm"
    assert results["max_pearson_r"] == max(v for k, v in results.items() if k.startswith("pearson_r."))


def test_workshop_notebook_writes_tables_and_figures(workshop_run):
    _, out = workshop_run
    pm = pd.read_csv(out / "tables" / "per_model.csv")
    assert [c for c in PER_MODEL_COLUMNS if c not in pm.columns] == []
    assert len(pm) == 13 and pm["significant"].dtype == bool
    results = json.loads((out / "results.json").read_text())
    assert int(pm["significant"].sum()) == results["n_models_significant"]
    for name in ("category_correlations", "reliability", "trait_truthfulness_gap", "pooled", "recovery",
                 "size_association", "data_issues", "persona_rates", "models"):
        assert (out / "tables" / f"{name}.csv").is_file(), name
    assert pd.read_csv(out / "tables" / "data_issues.csv").empty
    for fig in ("scatter_grid", "forest", "category_heatmap", "violins_high_low", "size_vs_r"):
        assert (out / "figures" / f"{fig}.png").stat().st_size > 5_000, fig
        assert (out / "figures" / f"{fig}.svg").is_file()
