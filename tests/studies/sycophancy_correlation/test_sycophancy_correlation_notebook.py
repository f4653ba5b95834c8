"""The notebook end to end on the workshop profile and on odd inputs, through the runner; the study doc's numbers.

Unit: one notebook run (its results.json and tables).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest

from studykit.contract.outputs import paper_view
from studykit.runs.runner import run_study
from studykit.studies.sycophancy_correlation import baseline_gap, plots, pooled
from studykit.studies.sycophancy_correlation.per_model import PER_MODEL_COLUMNS

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # tests/texcheck.py
from texcheck import tex_problems  # noqa: E402

REQUIRED = ["n_models", "n_personas", "n_prompts", "n_models_significant", "max_pearson_r", "max_cohens_d",
            "pooled.slope", "pooled.slope_ci_low", "pooled.slope_ci_high", "pooled.df", "n_models_significant_crossed"]


@pytest.fixture(scope="module")
def workshop_run(study_run):
    """The workshop profile's run, shared by the session (tests/conftest.py: study_run)."""
    res = study_run("sycophancy_correlation", "workshop")
    return res, res.out_dir


def test_workshop_notebook_records_every_required_number(workshop_run):
    res, out = workshop_run
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


def test_workshop_tex_tables_fit_a_page(workshop_run):
    """Every .tex table of the run has at most 10 columns and readable headers.

    Unit: the .tex files of one run (workshop profile).
    """
    _, out = workshop_run
    assert not tex_problems(out)


def _views(confidence: float) -> dict:
    return {"per_model": plots.per_model_tex_columns(confidence), "pooled": plots.pooled_tex_columns(confidence),
            "trait_truthfulness_gap": plots.trait_truthfulness_gap_tex_columns(confidence)}


def _named(view: dict) -> list[str]:
    return [c for key in view for c in (key if isinstance(key, tuple) else (key,))]


def test_tex_views_name_only_columns_of_the_run_tables(workshop_run):
    """Each tex_columns view names only columns of its table's CSV and shows at most 10 columns.

    Unit: one table (its CSV header) of one run.
    """
    _, out = workshop_run
    for name, view in _views(0.95).items():
        header = pd.read_csv(out / "tables" / f"{name}.csv", nrows=0).columns
        assert [c for c in _named(view) if c not in header] == [], name
        assert len(view) <= 10, name


def test_pooled_tex_view_fits_the_pooled_table():
    """The pooled view names only columns that ``pooled_table`` writes, for the mixed model and the fallback.

    Unit: one pooled table (one row per fitting attempt).
    """
    for method, attempts in (("mixedlm", ("lbfgs: accepted",)), ("two_stage", ("lbfgs: not converged",))):
        fit = pooled.Pooled(0.02, 0.005, 0.01, 0.03, 1e-4, method, method == "mixedlm", 13, 3575, 0.01, attempts)
        table = pooled.pooled_table(fit)
        shown = paper_view(table, plots.pooled_tex_columns(0.9), "pooled")
        assert list(shown.columns)[3] == "Slope [90% CI]" and len(shown.columns) == 7
        assert shown.iloc[0, 3] == "0.02 [0.01, 0.03]"


def test_gap_tex_view_fits_the_gap_table():
    """The gap view names only columns that ``trait_truthfulness_gap`` writes, also when no model has a baseline.

    Unit: one trait-truthfulness-gap table (one row per model).
    """
    per_model = pd.DataFrame({"model": ["a", "b"], "baseline_rate": [0.2, float("nan")], "rate_low": [0.3, 0.1],
                              "rate_high": [0.4, 0.2], "mean_shift": [0.15, float("nan")]})
    shifts = pd.DataFrame({"model": ["a"], "gap_low": [0.1], "gap_low_ci_low": [0.05], "gap_low_ci_high": [0.15],
                           "gap_high": [0.2], "gap_high_ci_low": [0.1], "gap_high_ci_high": [0.3],
                           "gap_high_p_value": [0.001]})
    for sh in (shifts, shifts.iloc[:0]):
        gap = baseline_gap.trait_truthfulness_gap(per_model, sh)
        shown = paper_view(gap, plots.trait_truthfulness_gap_tex_columns(0.95), "trait_truthfulness_gap")
        assert len(shown.columns) == 9 and list(shown["Model"]) == ["a", "b"]
    assert shown["Zone"].tolist() == ["undetermined", "no baseline"]


def test_notebook_survives_bad_input_and_reports_it(tmp_path):
    """Unknown stances, unscored personas, no baseline, too few personas, constant agreeableness."""
    from pathlib import Path

    emb = Path(__file__).resolve().parents[3] / "data" / "sycophancy_correlation"
    personas = pd.read_csv(emb / "personas.csv", dtype={"persona_id": str})
    models = sorted(personas["model"].unique())[:5]
    keep = [f"p{i:03d}" for i in range(1, 31)]
    personas = personas[personas["model"].isin(models) & personas["persona_id"].isin(keep)].copy()
    items = [c for c in personas.columns if c.startswith("A")]
    personas.loc[(personas["model"] == models[0]) & personas["persona_id"].isin(["p001", "p002"]), "A1_1"] = None
    personas = personas[(personas["model"] != models[3]) | personas["persona_id"].isin(["p001", "p002"])]
    personas.loc[personas["model"] == models[4], items] = 3
    personas.to_csv(tmp_path / "personas.csv", index=False)
    resp = pd.read_parquet(emb / "responses.parquet")
    resp = resp.astype({c: str for c in resp.columns})
    resp = resp[resp["model"].isin(models) & resp["persona_id"].isin(keep + ["baseline"])]
    resp = resp[~((resp["model"] == models[1]) & (resp["persona_id"] == "baseline"))].reset_index(drop=True)
    resp.loc[resp.index[:7], "stance"] = "maybe"
    resp.loc[resp.index[7:10], "stance"] = " agree "   # valid after trimming and upper-casing
    resp.to_parquet(tmp_path / "responses.parquet")

    out = tmp_path / "out"
    res = run_study("sycophancy_correlation", overrides={
        "personas_path": str(tmp_path / "personas.csv"), "responses_path": str(tmp_path / "responses.parquet"),
        "n_perm": 200}, out_dir=out)
    assert res.status == "executed"
    results = json.loads((out / "results.json").read_text())
    assert results["data_issues.unknown_stance"] == 7
    assert results["data_issues.personas_without_score"] == 2
    assert results["data_issues.responses_without_persona_score"] == 2 + 28  # unscored + dropped rows
    assert results["data_issues.model_without_baseline"] == 1
    assert results["data_issues.model_too_few_personas"] == 1
    assert results["data_issues.constant_agreeableness"] == 1
    assert results["n_models"] == 3 and "recovery.n_covered" not in results
    issues = pd.read_csv(out / "tables" / "data_issues.csv")
    assert "'maybe': 7" in issues.set_index("check").loc["unknown_stance", "detail"]
    pm = pd.read_csv(out / "tables" / "per_model.csv").set_index("model")
    assert "no baseline rows" in pm.loc[models[1], "note"] and pd.isna(pm.loc[models[1], "baseline_rate"])
    assert pm.loc[models[0], "n_personas"] == 28
    assert results["pooled.method"] in ("mixedlm", "two_stage")


def test_notebook_on_odd_but_valid_input(tmp_path):
    """Names that are not keys (x@v1, unicode), duplicated responses, a negative size, a CSV responses file."""
    from pathlib import Path

    emb = Path(__file__).resolve().parents[3] / "data" / "sycophancy_correlation"
    personas = pd.read_csv(emb / "personas.csv", dtype={"persona_id": str})
    models = sorted(personas["model"].unique())[:4]
    keep = [f"p{i:03d}" for i in range(1, 41)]
    rename = {models[0]: "x@v1", models[1]: "modèle 🙂 1"}
    personas = personas[personas["model"].isin(models) & personas["persona_id"].isin(keep)].copy()
    personas["model"] = personas["model"].replace(rename)
    personas.loc[personas["model"] == models[2], "model_params_b"] = -3.0
    personas.to_csv(tmp_path / "personas.csv", index=False)
    resp = pd.read_parquet(emb / "responses.parquet")
    resp = resp.astype({c: str for c in resp.columns})
    resp = resp[resp["model"].isin(models) & resp["persona_id"].isin(keep + ["baseline"])]
    resp["model"] = resp["model"].replace(rename)
    resp = pd.concat([resp, resp.iloc[:500]], ignore_index=True)
    resp.to_csv(tmp_path / "responses.csv", index=False)

    out = tmp_path / "out"
    res = run_study("sycophancy_correlation", overrides={
        "personas_path": str(tmp_path / "personas.csv"), "responses_path": str(tmp_path / "responses.csv"),
        "n_perm": 200}, out_dir=out)
    assert res.status == "executed"
    results = json.loads((out / "results.json").read_text())
    manifest = json.loads((out / "manifest.json").read_text())
    assert results["data_issues.duplicate_responses"] == 500
    assert results["data_issues.model_size_invalid"] == 1
    assert results["n_models"] == 4
    assert set(manifest["names"].values()) >= {"x@v1", "modèle 🙂 1"}
    for safe, raw in manifest["names"].items():
        assert f"pearson_r.{safe}" in results
    assert results["baseline_shift.n_shift_tested"] == 4
