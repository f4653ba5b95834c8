"""Other people's data: every odd or broken input is a one-line InputError or a reported DataIssue.

Unit: one generated data set (items, annotations and optionally a hypotheses file, written
as CSV and read by the study's loader) per example; no statistic is estimated, the checks
are on the shape of the outcome (error, issues, undefined numbers).
"""
from __future__ import annotations

import json
import math
import types

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from studykit.contract.errors import InputError
from studykit.contract.issues import DataIssue
from studykit.studies.annotation_robustness import analysis, effect_sizes, load, ppi, summaries


# ---- the analysis steps of the notebook, in order, collecting what it records ---------------------
def analyse(items_path, annotations_path, group_columns, hypotheses_path=None, min_group_size=2):
    """Load and run every analysis step; returns (numbers recorded, issues noted, pairs table).

    Mirrors the notebook: the same calls and the same ``summaries.recordable`` rule for the
    numbers that can be undefined.
    """
    params = types.SimpleNamespace(items_path=str(items_path), annotations_path=str(annotations_path),
                                   hypotheses_path=None if hypotheses_path is None else str(hypotheses_path),
                                   group_columns=list(group_columns))
    (data, hyps), issues = load.load(params)
    grid, grid_issues = analysis.run_grid(data, hyps, alpha=0.05, min_group_size=min_group_size)
    issues = issues + grid_issues
    pairs = analysis.pairs_frame(grid)
    numbers = {f"risk.{k}": v for k, v in analysis.risk_summary(grid).items()}
    exag = analysis.exaggeration(grid, by="model")
    view = effect_sizes.effect_size_errors(grid, by="model")
    found_view = summaries.recordable({f"effect_size.{k}": view[k].iloc[0] for k in effect_sizes.COLUMNS}, "effect sizes")
    found = [summaries.recordable({"exaggeration.median": exag["median"].iloc[0]}, "exaggeration"), found_view]
    for factor in ("model", "prompt", "temperature"):
        table = analysis.risk_by(grid, factor, n_boot=100, seed=0)
        numbers.update({f"risk.by_{factor}.{i}": v for i, v in enumerate(table["risk"])})
    quality = analysis.annotation_quality(data, grid)
    rho = analysis.spearman_accuracy_risk(quality)
    found.append(summaries.recordable({"quality.rho": None if rho is None else rho.estimate,
                                       "quality.best": quality["accuracy"].max()}, "quality"))
    analysis.risk_vs_gold(grid, n_boot=100, seed=0)
    feas, _ = analysis.hacking_feasibility(grid)
    found.append(summaries.recordable({f"hacking.{r.key}": r.share_possible for r in feas.itertuples()}, "hacking"))
    spec = analysis.spec_curve(grid, analysis.choose_spec_hypothesis(grid))
    assert len(spec) == grid.shape[1] + 1
    mit, _ = ppi.mitigation(data, grid, [4], 1, seed=0, alpha=0.05)
    found.append(summaries.recordable({f"{ppi.record_stem(r)}.type_I_rate": r.type_I_rate for r in mit.itertuples()},
                                      "mitigation"))
    for values, more in found:
        numbers.update(values)
        issues = issues + more
    return numbers, issues, pairs


def check_outcome(numbers, issues, pairs):
    """Every problem is a DataIssue; an undefined number is null and named by a not_estimable issue."""
    assert all(isinstance(i, DataIssue) and i.count > 0 for i in issues)
    not_estimable = " ".join(i.detail for i in issues if i.check == "not_estimable")
    for key, value in numbers.items():
        if value is None:
            assert key.split(".")[-1] in not_estimable or key in not_estimable, key
        elif not isinstance(value, (str, bool)):
            assert math.isfinite(float(value)), key
    if pairs["p_value"].isna().any():
        assert any(i.check == "llm_test_undefined" for i in issues)
    assert 0 <= numbers["risk.overall"] <= 1


def run_case(tmp_path, items, annotations, group_columns, hypotheses=None, min_group_size=2):
    """Write the tables as CSV and analyse them; returns ``("error", message)`` or ``("ok", issues)``."""
    items.to_csv(tmp_path / "items.csv", index=False)
    annotations.to_csv(tmp_path / "annotations.csv", index=False)
    hyp_path = None
    if hypotheses is not None:
        hyp_path = tmp_path / "hypotheses.csv"
        hypotheses.to_csv(hyp_path, index=False)
    try:
        numbers, issues, pairs = analyse(tmp_path / "items.csv", tmp_path / "annotations.csv", group_columns,
                                         hyp_path, min_group_size)
    except InputError as exc:
        assert "\n" not in str(exc) and str(exc)
        return "error", str(exc)
    check_outcome(numbers, issues, pairs)
    return "ok", issues


def toy(n=120, seed=0, models=("m1", "m2", "m3"), levels=("x", "y")):
    """Items with two gold classes and one group column; each model copies gold 80% of the time."""
    rng = np.random.default_rng(seed)
    items = pd.DataFrame({"item_id": [f"t{i}" for i in range(n)], "gold": rng.choice(["pos", "neg"], n),
                          "grp": rng.choice(list(levels), n)})
    rows = [pd.DataFrame({"item_id": items["item_id"], "model": m, "prompt": "p", "temperature": 0.0, "seed": 0,
                          "label": np.where(rng.random(n) < 0.8, items["gold"], rng.choice(["pos", "neg"], n))})
            for m in models]
    return items, pd.concat(rows, ignore_index=True)


def checks(issues):
    return {i.check: i.count for i in issues}


# ---- the cases of the robustness table in docs/studies/annotation_robustness.md ------------------------
def test_hypotheses_file_with_one_row(tmp_path):
    items, ann = toy()
    hyps = pd.DataFrame({"hypothesis_id": ["h1"], "label_value": ["pos"], "group_column": ["grp"],
                         "group_a": ["x"], "group_b": ["y"]})
    status, issues = run_case(tmp_path, items, ann, ["grp"], hyps)
    assert status == "ok"
    by_effect, _ = analysis.risk_vs_gold(
        analysis.run_grid(load.encode(items, ann, ["grp"])[0], hyps, min_group_size=2)[0], n_boot=100)
    assert len(by_effect) == 1 and by_effect["n_hypotheses"].item() == 1


@pytest.mark.parametrize("temperature", [-3.0, 1e308, float("inf"), "hot"])
def test_impossible_temperature_is_refused(tmp_path, temperature):
    items, ann = toy()
    ann["temperature"] = ann["temperature"].astype(object)
    ann.loc[5, "temperature"] = temperature
    status, message = run_case(tmp_path, items, ann, ["grp"])
    assert status == "error" and "annotations file" in message and "'temperature'" in message


def test_non_numeric_year_is_missing_and_reported(tmp_path):
    items, ann = toy(levels=("2019", "2020", "2021"))
    items.loc[:9, "grp"] = "twenty-twenty"
    status, issues = run_case(tmp_path, items, ann, ["grp"])
    assert status == "ok" and checks(issues)["non_numeric_group_value"] == 10
    assert checks(issues)["missing_group_value"] == 10
    data, _ = load.encode(items, ann, ["grp"])
    assert "twenty-twenty" not in data.groups["grp"][1]


def test_single_level_group_column_is_reported_or_refused(tmp_path):
    items, ann = toy()
    items["constant"] = "only"
    status, issues = run_case(tmp_path, items, ann, ["grp", "constant"])
    assert status == "ok" and checks(issues)["group_column_single_level"] == 1
    status, message = run_case(tmp_path, items, ann, ["constant"])
    assert status == "error" and "fewer than two levels" in message


def test_duplicated_rows_and_keys(tmp_path):
    items, ann = toy()
    doubled = pd.concat([items, items.iloc[:7]], ignore_index=True)
    status, issues = run_case(tmp_path, doubled, pd.concat([ann, ann.iloc[:11]]), ["grp"])
    assert status == "ok" and checks(issues)["duplicate_items"] == 7 and checks(issues)["duplicate_annotations"] == 11
    conflicting = pd.concat([items, items.iloc[:1].assign(gold="neg" if items.gold[0] == "pos" else "pos")])
    status, message = run_case(tmp_path, conflicting, ann, ["grp"])
    assert status == "error" and "different values" in message
    hyps = pd.DataFrame({"hypothesis_id": ["h1", "h2"], "label_value": ["pos"] * 2, "group_column": ["grp"] * 2,
                         "group_a": ["x"] * 2, "group_b": ["y"] * 2})
    status, issues = run_case(tmp_path, items, ann, ["grp"], hyps)
    assert status == "ok" and checks(issues)["duplicate_hypotheses"] == 1


@pytest.mark.parametrize("hyps, match", [
    (pd.DataFrame(columns=["hypothesis_id", "label_value", "group_column", "group_a", "group_b"]), "no rows"),
    (pd.DataFrame({"hypothesis_id": ["h1"], "label_value": ["pos"], "group_column": [None], "group_a": ["x"],
                   "group_b": ["y"]}), "'group_column' has 1 missing"),
])
def test_bad_hypotheses_file_is_refused(tmp_path, hyps, match):
    items, ann = toy()
    status, message = run_case(tmp_path, items, ann, ["grp"], hyps)
    assert status == "error" and match in message and "hypotheses file" in message


def test_one_configuration_reports_rho_as_not_estimable(tmp_path):
    items, ann = toy(models=("only",))
    status, issues = run_case(tmp_path, items, ann, ["grp"])
    assert status == "ok" and any(i.check == "not_estimable" and "quality.rho" in i.detail for i in issues)


# ---- the fuzzer ------------------------------------------------------------------------------------------
NAME = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=8)
CORRUPTIONS = ("none", "nan_gold", "nan_label", "foreign_label", "dup_annotations", "dup_items", "conflicting_item",
               "temperature_range", "temperature_text", "drop_column", "empty_annotations", "nan_group",
               "one_row_hypotheses", "dup_hypotheses", "all_gold_one_class", "nan_model")


@st.composite
def study_inputs(draw):
    """Valid tables of the documented schema, then at most one corruption."""
    classes = draw(st.lists(NAME, min_size=2, max_size=3, unique_by=lambda s: s.strip().lower()))
    n_cols = draw(st.integers(1, 2))
    columns = [f"g{j}" for j in range(n_cols)]
    levels = {c: draw(st.lists(NAME, min_size=2, max_size=3, unique_by=lambda s: s.strip().lower()))
              for c in columns}
    n = draw(st.integers(8, 40))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    items = pd.DataFrame({"item_id": [f"i{k}" for k in range(n)], "gold": rng.choice(classes, n)})
    for c in columns:
        items[c] = rng.choice(levels[c], n)
    if draw(st.booleans()):
        items["human_single"] = rng.choice(classes, n)
    models = draw(st.lists(NAME, min_size=1, max_size=3, unique_by=lambda s: s.strip().lower()))
    with_seed = draw(st.booleans())
    frames = []
    for j, m in enumerate(models):
        frame = pd.DataFrame({"item_id": items["item_id"], "model": m, "prompt": draw(NAME),
                              "temperature": draw(st.sampled_from([0.0, 0.7, 1.0, 2.0])),
                              "label": np.where(rng.random(n) < 0.75, items["gold"], rng.choice(classes, n))})
        if with_seed:
            frame["seed"] = j
        frames.append(frame)
    ann = pd.concat(frames, ignore_index=True)
    hyps = None
    corruption = draw(st.sampled_from(CORRUPTIONS))
    if corruption == "nan_gold":
        items.loc[: n // 3, "gold"] = None
    elif corruption == "nan_label":
        ann.loc[::3, "label"] = None
    elif corruption == "foreign_label":
        ann.loc[::4, "label"] = "\u00bfunclear?"
    elif corruption == "dup_annotations":
        ann = pd.concat([ann, ann.iloc[::5]], ignore_index=True)
    elif corruption == "dup_items":
        items = pd.concat([items, items.iloc[:3]], ignore_index=True)
    elif corruption == "conflicting_item":
        items = pd.concat([items, items.iloc[:1].assign(**{columns[0]: "other level"})], ignore_index=True)
    elif corruption == "temperature_range":
        ann.loc[0, "temperature"] = draw(st.sampled_from([-3.0, 1e308, float("inf")]))
    elif corruption == "temperature_text":
        ann["temperature"] = ann["temperature"].astype(object)
        ann.loc[0, "temperature"] = "warm"
    elif corruption == "drop_column":
        ann = ann.drop(columns=draw(st.sampled_from(["label", "model", "temperature"])))
    elif corruption == "empty_annotations":
        ann = ann.iloc[:0]
    elif corruption == "nan_group":
        items.loc[::2, columns[0]] = None
    elif corruption == "one_row_hypotheses":
        hyps = pd.DataFrame({"hypothesis_id": [draw(NAME)], "label_value": [classes[0]], "group_column": [columns[0]],
                             "group_a": [levels[columns[0]][0]], "group_b": [levels[columns[0]][1]]})
    elif corruption == "dup_hypotheses":
        row = {"label_value": classes[0], "group_column": columns[0], "group_a": levels[columns[0]][0],
               "group_b": levels[columns[0]][1]}
        hyps = pd.DataFrame([{"hypothesis_id": "h1", **row}, {"hypothesis_id": "h2", **row}])
    elif corruption == "all_gold_one_class":
        items["gold"] = classes[0]
    elif corruption == "nan_model":
        ann.loc[0, "model"] = None
    return items, ann, columns, hyps, corruption


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(case=study_inputs())
def test_fuzzed_inputs_end_in_a_clean_result_or_a_one_line_error(tmp_path, case):
    """Unit: one generated data set. Never another exception; never an unreported undefined number."""
    items, ann, columns, hyps, corruption = case
    status, detail = run_case(tmp_path, items, ann, columns, hyps)
    event(f"{corruption}: {status}")
    if corruption in ("temperature_range", "temperature_text", "drop_column", "empty_annotations",
                      "conflicting_item", "all_gold_one_class", "nan_model"):
        assert status == "error", (corruption, detail)
    if status == "ok" and corruption in ("dup_annotations", "dup_items", "nan_label", "foreign_label",
                                         "dup_hypotheses"):
        expected = {"dup_annotations": "duplicate_annotations", "dup_items": "duplicate_items",
                    "nan_label": "missing_labels", "foreign_label": "invalid_labels",
                    "dup_hypotheses": "duplicate_hypotheses"}[corruption]
        assert expected in checks(detail), (corruption, checks(detail))


# ---- the whole notebook on odd inputs ------------------------------------------------------------------------
def test_notebook_on_odd_inputs(tmp_path):
    """Unit: one run of the notebook. Unicode and key-unsafe model names, a non-numeric year, a constant
    group column, three configurations, and a hypotheses file with one row and a repeated one."""
    from studykit.runs.runner import run_study

    rng = np.random.default_rng(3)
    n = 300
    items = pd.DataFrame({"item_id": np.arange(n), "gold": rng.choice(["pro", "contra"], n),
                          "year": rng.choice(["2019", "2020", "2021"], n), "constant": "same",
                          "lang": rng.choice(["dé🙂", "<b>en</b>"], n)})
    items.loc[:14, "year"] = "twenty-twenty"
    frames = [pd.DataFrame({"item_id": items["item_id"], "model": m, "prompt": "p 1", "temperature": 0.5,
                            "label": np.where(rng.random(n) < 0.8, items["gold"], rng.choice(["pro", "contra"], n))})
              for m in ("claude@bot", "dé🙂", "x" * 120)]
    items.to_csv(tmp_path / "items.csv", index=False)
    pd.concat(frames).to_csv(tmp_path / "annotations.csv", index=False)
    pd.DataFrame({"hypothesis_id": ["<img src=x>", "again"], "label_value": ["pro", "pro"],
                  "group_column": ["lang", "lang"], "group_a": ["dé🙂"] * 2, "group_b": ["<b>en</b>"] * 2}
                 ).to_csv(tmp_path / "hypotheses.csv", index=False)
    overrides = {"items_path": str(tmp_path / "items.csv"), "annotations_path": str(tmp_path / "annotations.csv"),
                 "hypotheses_path": str(tmp_path / "hypotheses.csv"), "group_columns": ["year", "constant", "lang"],
                 "human_sample_sizes": [50], "mitigation_replicates": 2, "n_bootstrap": 100}
    res = run_study("annotation_robustness", overrides=overrides, out_dir=tmp_path / "out")
    results = json.loads((res.out_dir / "results.json").read_text())
    assert results["n_hypotheses"] == 1 and results["n_configurations"] == 3
    for check in ("non_numeric_group_value", "group_column_single_level", "duplicate_hypotheses", "not_estimable"):
        assert results[f"data_issues.{check}"] >= 1, check
    assert results["quality.spearman_accuracy_risk"] is None
    names = json.loads((res.out_dir / "manifest.json").read_text())["names"]
    assert {"claude@bot", "dé🙂", "x" * 120} <= set(names.values())
    for key, value in results.items():
        assert value is None or not isinstance(value, float) or math.isfinite(value), key
