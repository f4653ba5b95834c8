"""Property-based robustness: valid and corrupted long tables through load and every analysis step.

Unit: one generated data table (its rows are items x variants x models x tasks x repeats); each example
asserts an outcome, no statistic is estimated.

Valid tables follow the documented schema (required columns only or with any optional column, 1-2 models,
1-2 tasks with their own answer labels, 1-2 targets, arbitrary label strings and unicode names). Corrupted
tables apply one ordinary mistake (a missing column, blanks, wrong types, out-of-range values, duplicates, no
rows, ...). The outcome must be a clean result whose data problems are all in the returned DataIssues, or a
one-line InputError; never another exception, never NaN in a result without an issue.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from studykit.contract.errors import InputError
from studykit.contract.issues import DataIssue
from studykit.studies.counterfactual_baselines import Params, saves, steps
from studykit.studies.counterfactual_baselines.family import TEST_COLUMNS
from studykit.studies.counterfactual_baselines.load import StudyData, validate_long

PARAMS = Params(n_boot=200, power_reps=20, power_effects=[0.0, 0.1])

# unicode names without surrogates or control characters; surrounding blanks are stripped by the loader
# (a documented rule), so valid names have none
names = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=12).filter(
    lambda s: s.strip() == s and s != "")


@st.composite
def valid_tables(draw):
    """A long table of the documented schema; returns (frame, description)."""
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    models = draw(st.lists(names, min_size=1, max_size=2, unique_by=lambda s: s.strip()))
    n_tasks = draw(st.integers(1, 2))
    tasks = draw(st.lists(names, min_size=n_tasks, max_size=n_tasks, unique_by=lambda s: s.strip()))
    labels = {t: draw(st.lists(names, min_size=2, max_size=3, unique_by=lambda s: s.strip())) for t in tasks}
    n_targets = draw(st.integers(1, 2))
    targets = draw(st.lists(names.filter(lambda s: "baseline" not in s.lower()), min_size=n_targets,
                            max_size=n_targets, unique_by=lambda s: s.strip().lower()))
    n_items = draw(st.integers(2, 14))
    repeats = draw(st.integers(1, 3))
    with_task = n_tasks > 1 or draw(st.booleans())
    with_repeat = repeats > 1 or draw(st.booleans())
    with_p = draw(st.booleans())
    with_direction = draw(st.booleans())
    rows = []
    for m in models:
        for t in tasks:
            labs = labels[t]
            for i in range(n_items):
                variants = [("original", "original")]
                for tg in targets:
                    variants += [(tg, "target"), (f"{tg.strip()}_baseline", "baseline")]
                for v, kind in variants:
                    for r in range(repeats):
                        row = {"item_id": f"item {i}", "variant": v, "variant_kind": kind, "model": m,
                               "prediction": labs[int(rng.integers(0, len(labs)))]}
                        if with_task:
                            row["task"] = t
                        if with_repeat:
                            row["repeat"] = r
                        if with_p:
                            row["p_positive"] = float(rng.random())
                        if with_direction:
                            row["direction"] = (1.0 if i % 2 else -1.0) if kind == "target" else np.nan
                        rows.append(row)
    frame = pd.DataFrame(rows)
    if draw(st.booleans()):  # a few blank answers
        blank = rng.random(len(frame)) < 0.05
        frame.loc[blank, "prediction"] = None
    return frame


CORRUPTIONS = {
    # kind: the expected outcome, "error" (one-line InputError) or the DataIssue check that reports it
    "missing_required_column": "error",
    "blank_item_id": "error",
    "blank_model": "error",
    "blank_prediction": "blank_prediction",
    "exact_duplicate_rows": "duplicate_rows",
    "conflicting_duplicate_key": "error",
    "p_positive_out_of_range": "error",
    "p_positive_not_numeric": "error",
    "p_positive_blank": "blank_probability",
    "direction_out_of_range": "error",
    "unknown_variant_kind": "error",
    "no_original": "error",
    "no_rows": "error",
    "single_item": "error",
    "numeric_ids_and_labels": "ok",
    "item_without_original": "item_without_original",
}


def corrupt(frame: pd.DataFrame, kind: str, rng: np.random.Generator) -> pd.DataFrame:
    df = frame.copy()
    row = int(rng.integers(0, len(df)))
    if kind == "missing_required_column":
        return df.drop(columns=str(rng.choice(["item_id", "variant", "variant_kind", "model", "prediction"])))
    if kind == "blank_item_id":
        df.loc[row, "item_id"] = np.nan if rng.random() < 0.5 else "   "
    elif kind == "blank_model":
        df.loc[row, "model"] = None
    elif kind == "blank_prediction":
        df["prediction"] = df["prediction"].astype(object)
        df.loc[row, "prediction"] = np.nan
    elif kind == "exact_duplicate_rows":
        df = pd.concat([df, df.iloc[[row]]], ignore_index=True)
    elif kind == "conflicting_duplicate_key":
        copy = df.iloc[[row]].copy()
        copy["prediction"] = "a label nobody else gives"
        df = pd.concat([df, copy], ignore_index=True)
    elif kind == "p_positive_out_of_range":
        df["p_positive"] = 0.5
        df.loc[row, "p_positive"] = float(rng.choice([1.5, -0.2, np.inf]))
    elif kind == "p_positive_not_numeric":
        df["p_positive"] = 0.5
        df["p_positive"] = df["p_positive"].astype(object)
        df.loc[row, "p_positive"] = "high"
    elif kind == "p_positive_blank":
        df["p_positive"] = 0.5
        df.loc[row, "p_positive"] = np.nan
    elif kind == "direction_out_of_range":
        df["direction"] = np.where(df["variant_kind"] == "target", 1.0, np.nan)
        df.loc[row, "direction"] = 2.0
    elif kind == "unknown_variant_kind":
        df.loc[row, "variant_kind"] = "control"
    elif kind == "no_original":
        df = df[df["variant_kind"] != "original"]
    elif kind == "no_rows":
        df = df.iloc[:0]
    elif kind == "single_item":
        df = df[df["item_id"] == df["item_id"].iloc[0]]
    elif kind == "numeric_ids_and_labels":
        df["item_id"] = df["item_id"].factorize()[0].astype(float)
        df["prediction"] = df["prediction"].factorize()[0]
    elif kind == "item_without_original":
        first = df["item_id"].iloc[0]
        df = df[~((df["item_id"] == first) & (df["variant_kind"] == "original"))]
    return df.reset_index(drop=True)


def _finite(values) -> bool:
    return all(v is None or isinstance(v, str) or math.isfinite(float(v)) for v in values)


def run_all(frame: pd.DataFrame, params: Params = PARAMS):
    """load + every analysis step; returns ("error", message) or ("ok", issues, results)."""
    try:
        data_frame, issues = validate_long(frame, what="fuzz input")
        data = StudyData(frame=data_frame)
        design, more = steps.check_design(data, params)
        issues = list(issues) + list(more)
        rates = steps.flip_rates(design, params)
        family, more = steps.compare(design, params)
        issues += list(more)
        direction, more = steps.directional(design, params)
        issues += list(more)
        power, more = steps.power_curves(design, family, params)
        issues += list(more)
    except InputError as exc:
        return ("error", str(exc))
    return ("ok", issues, (design, rates, family, direction, power))


def check_outcome(outcome):
    if outcome[0] == "error":
        assert "\n" not in outcome[1] and outcome[1].strip(), outcome[1]
        return
    _, issues, (design, rates, family, direction, power) = outcome
    assert all(isinstance(i, DataIssue) for i in issues)
    # no NaN in any reported number: rates, the tests, the fitted directions, the power curves, the records
    assert not rates[["n_items", "flips", "flip_rate", "ci_low", "ci_high"]].isna().any().any()
    assert not family.table[TEST_COLUMNS].isna().any().any()
    if len(direction.table):
        cols = ["beta", "se", "ci_low", "ci_high", "p_value"]
        assert np.isfinite(direction.table[cols].to_numpy(float)).all()
    assert not power[["power", "ci_low", "ci_high"]].isna().any().any()
    records = {**saves.FlipRates(rates, design, PARAMS.confidence).records(str), **family.records(str),
               **direction.records(str), **saves.Power(power, ()).records(str)}
    assert _finite(records.values())
    assert design.n_items >= 2


FAST = settings(max_examples=25, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@FAST
@given(valid_tables())
def test_valid_tables_give_clean_results(frame):
    outcome = run_all(frame)
    check_outcome(outcome)
    # a valid table fails only where resampling cannot start: fewer than 2 usable items (blank answers)
    assert outcome[0] == "ok" or "usable item" in outcome[1], outcome[1]


@pytest.mark.parametrize("kind", sorted(CORRUPTIONS))
@settings(max_examples=6, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(frame=valid_tables(), seed=st.integers(0, 2**31))
def test_corrupted_tables_give_an_error_or_a_reported_issue(kind, frame, seed):
    bad = corrupt(frame, kind, np.random.default_rng(seed))
    outcome = run_all(bad)
    check_outcome(outcome)
    expected = CORRUPTIONS[kind]
    if expected == "error":
        assert outcome[0] == "error", kind
    elif expected != "ok" and outcome[0] == "ok":
        assert any(i.check == expected and i.count > 0 for i in outcome[1]), (kind, [i.check for i in outcome[1]])
    elif expected != "ok":  # the mistake left fewer than 2 usable items
        assert "usable item" in outcome[1], outcome[1]


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.data_too_large])
@given(valid_tables(), st.sampled_from(sorted(CORRUPTIONS) + ["none"]), st.integers(0, 2**31))
def test_fuzz_many_tables_slow(frame, kind, seed):
    bad = frame if kind == "none" else corrupt(frame, kind, np.random.default_rng(seed))
    check_outcome(run_all(bad))


def test_two_tasks_with_different_labels_and_no_positive_label_run_through():
    """Unit: one fixed table (issue case): routine/urgent and hire/reject, no positive_label, no pairs."""
    rng = np.random.default_rng(3)
    rows = []
    for task, labs in (("triage", ("routine", "urgent")), ("hiring", ("hire", "reject"))):
        for i in range(30):
            for v, kind in (("original", "original"), ("race_swap", "target"), ("race_swap_baseline", "baseline")):
                rows.append({"item_id": f"{task}-{i}", "variant": v, "variant_kind": kind, "model": "m@v1",
                             "task": task, "prediction": labs[int(rng.integers(0, 2))]})
    outcome = run_all(pd.DataFrame(rows))
    assert outcome[0] == "ok"
    check_outcome(outcome)
    design = outcome[2][0]
    assert design.pairs == {"race_swap": "race_swap_baseline"}
    assert set(outcome[2][2].table["metric"]) == {"flip_rate", "mutual_information", "phi"}
