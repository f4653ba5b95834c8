"""The notebook on the workshop profile through the runner; the embedded data is reproducible.

Unit: one run of the notebook through the runner (the workshop profile), and its output folder.
"""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pandas as pd
import pytest

from studykit.files.fileio import sha256_file
from studykit.files.paths import data_dir
from studykit.studies.annotation_robustness import plots, write_embedded
from studykit.studies.annotation_robustness.columns import PAIR_COLUMNS

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from texcheck import tex_header, tex_problems  # noqa: E402


def test_embedded_data_is_byte_identical(tmp_path):
    write_embedded(tmp_path)
    committed = data_dir("annotation_robustness")
    sums = dict(line.split()[::-1] for line in (committed / "SHA256SUMS").read_text().splitlines())
    for name, digest in sums.items():
        assert sha256_file(committed / name) == digest, f"committed {name} does not match SHA256SUMS"
        assert sha256_file(tmp_path / name) == digest, f"regenerated {name} differs"


@pytest.fixture(scope="module")
def workshop_run(study_run):
    """The notebook run once on the workshop profile, shared by the session (tests/conftest.py: study_run)."""
    return study_run("annotation_robustness", "workshop")


def test_notebook_runs_on_workshop_profile(workshop_run):
    """Unit: one run of the notebook (its results.json and tables)."""
    res = workshop_run
    out = res.out_dir
    results = json.loads((out / "results.json").read_text())
    for key in ("n_items", "n_configurations", "n_hypotheses", "n_hypotheses_skipped", "risk.overall", "risk.type_I",
                "risk.type_II", "risk.type_S", "exaggeration.median", "hacking.false_positive_possible",
                "hacking.true_effect_hideable", "hacking.sign_reversible"):
        assert key in results, key
    assert results["n_items"] == 3000 and results["n_configurations"] == 72 and results["n_hypotheses"] == 76
    assert math.isclose(results["risk.type_I"] + results["risk.type_II"] + results["risk.type_S"] + results["risk.correct"],
                        1.0)
    assert math.isclose(results["risk.overall"], 1.0 - results["risk.correct"])
    models = [k.split(".", 2)[2] for k in results if k.startswith("risk.by_model.")]
    assert len(models) == 8
    for m in models:
        assert 0.0 <= results[f"risk.by_model.{m}"] <= 1.0
        assert 0.5 <= results[f"accuracy.by_model.{m}"] <= 1.0
    # the worst model is riskier than the best one (better annotators reduce risk)
    acc = {m: results[f"accuracy.by_model.{m}"] for m in models}
    assert results[f"risk.by_model.{max(acc, key=acc.get)}"] < results[f"risk.by_model.{min(acc, key=acc.get)}"]
    assert results["mitigation.uses_human_single"] is True
    assert results["recovery.gold_finds_big_effects"] >= 0.75
    pairs = pd.read_csv(out / "tables" / "pairs.csv")
    assert list(pairs.columns[: len(PAIR_COLUMNS)]) == list(PAIR_COLUMNS)
    assert len(pairs) == results["n_hypotheses"] * results["n_configurations"]
    assert pairs["error"].ne("correct").mean() == pytest.approx(results["risk.overall"])
    issues = pd.read_csv(out / "tables" / "data_issues.csv")
    assert {"invalid_labels", "missing_labels", "partial_coverage"} <= set(issues["check"])
    for name in ("risk_by_model", "error_types", "configurations", "risk_vs_gold_effect", "risk_vs_gold_p",
                 "hacking_feasibility", "spec_curve", "mitigation"):
        assert (out / "tables" / f"{name}.csv").is_file(), name
    for name in ("risk_by_model", "error_types", "risk_vs_accuracy", "risk_vs_gold", "spec_curve", "hacking_curve",
                 "mitigation"):
        assert (out / "figures" / f"{name}.png").is_file(), name
    mit = pd.read_csv(out / "tables" / "mitigation.csv")
    assert set(mit["human_labels"]) == {"none", "gold", "human_single"}


def test_tex_tables_fit_a_page(workshop_run):
    """Unit: the .tex files of one run: at most 10 columns each, readable headers."""
    assert not tex_problems(workshop_run.out_dir)


def _source_columns(view) -> list[str]:
    return [c for key in view for c in (key if isinstance(key, tuple) else (key,))]


@pytest.mark.parametrize("table, view", [
    ("configurations", plots.CONFIGURATIONS_TEX_COLUMNS),
    ("hypotheses", plots.HYPOTHESES_TEX_COLUMNS),
    ("hacking_per_hypothesis", plots.HACKING_PER_HYPOTHESIS_TEX_COLUMNS),
    ("spec_curve", plots.spec_curve_tex_columns(0.95)),
    ("mitigation", plots.mitigation_tex_columns(0.05)),
])
def test_tex_view_names_columns_of_its_table(workshop_run, table, view):
    """Unit: one paper-table view against the CSV header of its table in one run, and its .tex header."""
    tables = workshop_run.out_dir / "tables"
    header = pd.read_csv(tables / f"{table}.csv", nrows=0).columns
    assert set(_source_columns(view)) <= set(header)
    shown = [h.replace("\\%", "%") for h in tex_header((tables / f"{table}.tex").read_text(encoding="utf-8"))]
    assert shown == list(view.values())
    assert len(view) <= 10
