"""The notebook end to end on the workshop profile, through the runner."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from studykit.runner import run_study
from studykit.studies.sycophancy_correlation.per_model import PER_MODEL_COLUMNS

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
    assert "no baseline rows" in pm.loc[models[1], "notes"] and pd.isna(pm.loc[models[1], "baseline_rate"])
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
