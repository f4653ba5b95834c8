"""Property-based inputs through load and analysis: a clean result with data issues, or a one-line InputError.

Unit: one generated pair of input files (personas, responses) per example; the whole
analysis (load, rates, reliability, per-model tests, paired shift, gap, categories, size,
pooled model) runs through a real :class:`~studykit.contract.outputs.Outputs`, which refuses
NaN values and unsafe keys, so a silent NaN or a bad key fails the example.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings, strategies as st

from studykit.contract.errors import InputError
from studykit.contract.outputs import Outputs
from studykit.studies.sycophancy_correlation import (
    NAME, baseline_gap, categories, load, per_model, pooled, rates as rate_tables, reliability)

STANCES = ["AGREE", "PARTIALLY AGREE", "PARTIALLY DISAGREE", "DISAGREE"]
# More examples for a long local search: SYC_FUZZ_EXAMPLES=500 pytest ...
EXAMPLES = int(os.environ.get("SYC_FUZZ_EXAMPLES", "0"))
NAMES = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=10).filter(
    lambda s: s.strip() == s and s != "baseline" and s.lower() not in ("nan", "na", "null", "none", "n/a"))


def run_analysis(personas_path, responses_path, out_dir, *, n_perm: int = 100) -> dict:
    """The notebook's analysis steps (figures left out), saving through Outputs; returns results.json."""
    out = Outputs(NAME, None, out_dir)
    personas, persona_issues = load.load_personas(personas_path, reverse_keyed=[], likert_points=5)
    cells, response_issues = load.aggregate_responses(responses_path)
    rates, rate_issues = rate_tables.compute_rates(cells, personas)
    out.note_issues(persona_issues + response_issues + rate_issues)
    rel, rel_issues = reliability.reliability_table(personas.items)
    out.note_issues(rel_issues)
    if len(rel):
        out.record_result("reliability", reliability.reliability_summary(rel))
    table = per_model.per_model_table(rates, n_perm=n_perm, sizes=personas.sizes)
    shift, shift_issues = baseline_gap.paired_shifts(cells, rates)
    out.note_issues(shift_issues)
    table = baseline_gap.add_shift_columns(table, shift, rates)
    out.save_table(table, "per_model", formats=("csv",))
    out.record_many(per_model.headline(table, n_personas=rates.analysable()["persona_id"].nunique(),
                                       n_prompts=cells.n_prompts, name=out.name))
    gap = baseline_gap.trait_truthfulness_gap(table, shift)
    out.record_result("baseline_shift", baseline_gap.zone_counts(gap, table))
    cat_table, cat_issues = categories.category_correlations(rates)
    out.note_issues(cat_issues)
    out.record_result("categories", categories.category_summary(cat_table))
    size = categories.size_summary(categories.size_association(table, personas.sizes))
    if size is not None:
        out.record_result("size", size)
    out.record_result("pooled", pooled.pooled_slope(rates.analysable()))
    out.close()
    return json.loads((Path(out_dir) / "results.json").read_text())


@st.composite
def datasets(draw):
    """Valid inputs of the documented schema: 1..3 models, unicode names, optional columns or not."""
    models = draw(st.lists(NAMES, min_size=1, max_size=3, unique=True))
    personas = draw(st.lists(NAMES, min_size=4, max_size=7, unique=True))
    n_prompts = draw(st.integers(1, 4))
    cats = draw(st.lists(NAMES, min_size=1, max_size=2, unique=True))
    use_items = draw(st.booleans())
    with_size = draw(st.booleans())
    with_score = draw(st.booleans())
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    prow = []
    for m in models:
        for p in personas:
            row = {"model": m, "persona_id": p}
            if use_items:
                row.update({f"A1_{i}": int(rng.integers(1, 6)) for i in range(1, 4)})
            else:
                row["agreeableness"] = float(rng.uniform(1, 5))
            if with_size:
                row["model_params_b"] = float(models.index(m) + 1)
            prow.append(row)
    rrow = []
    for m in models:
        baseline = draw(st.booleans()) or len(models) == 1
        for p in personas + (["baseline"] if baseline else []):
            for j in range(n_prompts):
                row = {"model": m, "persona_id": p, "prompt_id": f"q{j}", "category": cats[j % len(cats)]}
                if with_score:
                    row["score"] = float(rng.choice([0.0, 0.5, 1.0, rng.uniform()]))
                else:
                    row["stance"] = str(rng.choice(STANCES))
                rrow.append(row)
    return pd.DataFrame(prow), pd.DataFrame(rrow), draw(st.sampled_from(["csv", "parquet"]))


CORRUPTIONS = ["none", "nan_score", "text_in_number", "unknown_stance", "duplicate_rows", "conflicting_duplicate",
               "negative_size", "out_of_range_score", "empty_personas", "empty_responses", "inf_agreeableness",
               "long_name", "missing_column", "nan_model", "drop_baseline"]


def corrupt(kind: str, personas: pd.DataFrame, responses: pd.DataFrame, rng) -> tuple[pd.DataFrame, pd.DataFrame]:
    personas, responses = personas.copy(), responses.copy()
    value = "score" if "score" in responses else "stance"
    if kind == "nan_score":
        col = "agreeableness" if "agreeableness" in personas else "A1_1"
        personas.loc[personas.index[0], col] = np.nan
    elif kind == "text_in_number":
        col = "agreeableness" if "agreeableness" in personas else "A1_1"
        personas[col] = personas[col].astype(object)
        personas.loc[personas.index[-1], col] = "high"
    elif kind == "unknown_stance":
        # a text column, as a spreadsheet export would hold it (a parquet column has one type, so the
        # numbers become text too)
        responses[value] = responses[value].astype(str)
        responses.loc[responses.index[:3], value] = "maybe"
    elif kind == "duplicate_rows":
        responses = pd.concat([responses, responses.sample(frac=0.5, random_state=1)], ignore_index=True)
        personas = pd.concat([personas, personas.iloc[:1]], ignore_index=True)
    elif kind == "conflicting_duplicate":
        extra = responses.iloc[:1].copy()
        extra[value] = "DISAGREE" if value == "stance" else 0.123
        responses = pd.concat([responses, extra], ignore_index=True)
        if responses.iloc[0][value] == extra.iloc[0][value]:
            responses.loc[responses.index[-1], value] = "AGREE" if value == "stance" else 0.9
    elif kind == "negative_size":
        personas["model_params_b"] = -1.5
    elif kind == "out_of_range_score":
        responses = responses.drop(columns=["stance"], errors="ignore")
        responses["score"] = rng.uniform(-0.5, 1.5, len(responses))
    elif kind == "empty_personas":
        personas = personas.iloc[:0]
    elif kind == "empty_responses":
        responses = responses.iloc[:0]
    elif kind == "inf_agreeableness" and "agreeableness" in personas:
        personas.loc[personas.index[0], "agreeableness"] = np.inf
    elif kind == "long_name":
        long = "m" * 100_000
        personas.loc[personas["model"] == personas["model"].iloc[0], "model"] = long
        responses.loc[responses["model"] == responses["model"].iloc[0], "model"] = long
    elif kind == "missing_column":
        responses = responses.drop(columns=["category"])
    elif kind == "nan_model":
        responses.loc[responses.index[0], "model"] = None
    elif kind == "drop_baseline":
        responses = responses[responses["persona_id"] != "baseline"]
    return personas, responses


def _check(personas: pd.DataFrame, responses: pd.DataFrame, fmt: str) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        personas.to_csv(tmp / "personas.csv", index=False)
        if fmt == "csv":
            responses.to_csv(tmp / "responses.csv", index=False)
        else:
            responses.to_parquet(tmp / "responses.parquet", index=False)
        try:
            results = run_analysis(tmp / "personas.csv", tmp / f"responses.{fmt}", tmp / "out")
        except InputError as exc:
            assert "\n" not in str(exc) and len(str(exc)) < 400, str(exc)
            return "error"
        issues = {k for k in results if k.startswith("data_issues.")}
        for key, val in results.items():
            if val is None:  # an undefined number is explained by a data issue or by the model's notes
                assert issues or key.startswith(("cohens_d.", "max_cohens_d", "pooled.slope_sd_between")), key
        return "issues" if issues else "clean"


@settings(max_examples=EXAMPLES or 12, deadline=None, suppress_health_check=[HealthCheck.too_slow],
          phases=[Phase.explicit, Phase.reuse, Phase.generate])  # no shrinking: the example is printed
@given(datasets())
def test_valid_inputs_give_a_result_or_a_one_line_error(data):
    personas, responses, fmt = data
    _check(personas, responses, fmt)


@settings(max_examples=EXAMPLES or 20, deadline=None, suppress_health_check=[HealthCheck.too_slow],
          phases=[Phase.explicit, Phase.reuse, Phase.generate])  # no shrinking: the example is printed
@given(datasets(), st.sampled_from(CORRUPTIONS), st.integers(0, 1000))
def test_corrupted_inputs_give_issues_or_a_one_line_error(data, kind, seed):
    personas, responses, fmt = data
    personas, responses = corrupt(kind, personas, responses, np.random.default_rng(seed))
    _check(personas, responses, fmt)


@pytest.mark.parametrize("kind, expected", [
    ("empty_personas", "error"), ("empty_responses", "error"), ("long_name", "error"),
    ("conflicting_duplicate", "error"), ("missing_column", "error"), ("text_in_number", "error"),
    ("inf_agreeableness", "error"), ("nan_model", "error"),
    ("duplicate_rows", "issues"), ("negative_size", "issues"), ("unknown_stance", "issues"),
    ("out_of_range_score", "issues"), ("nan_score", "issues"), ("drop_baseline", "issues"),
])
def test_each_corruption_has_its_documented_outcome(kind, expected):
    """The 'Robustness: cases tried' table of the study doc, one row per case."""
    rng = np.random.default_rng(0)
    models, personas_ids = ["m@v1", "mé🙂"], [f"p{i}" for i in range(6)]
    personas = pd.DataFrame([{"model": m, "persona_id": p, "agreeableness": float(rng.uniform(1, 5)),
                              "model_params_b": 1.0 + k} for k, m in enumerate(models) for p in personas_ids])
    responses = pd.DataFrame([{"model": m, "persona_id": p, "prompt_id": f"q{j}", "category": f"c{j % 2}",
                               "stance": STANCES[int(rng.integers(0, 4))]}
                              for m in models for p in personas_ids + ["baseline"] for j in range(5)])
    personas, responses = corrupt(kind, personas, responses, rng)
    assert _check(personas, responses, "parquet") == expected


EMB = Path(__file__).resolve().parents[3] / "data" / "sycophancy_correlation"


def test_duplicated_responses_leave_every_result_unchanged(tmp_path):
    """20,000 responses of the embedded data written twice: every result as on the clean data, plus the issue."""
    resp = pd.read_parquet(EMB / "responses.parquet")
    resp = resp.astype({c: str for c in resp.columns})
    dup = pd.concat([resp, resp.sample(20_000, random_state=5)], ignore_index=True)
    resp.to_parquet(tmp_path / "clean.parquet")
    dup.to_parquet(tmp_path / "dup.parquet")
    clean = run_analysis(EMB / "personas.csv", tmp_path / "clean.parquet", tmp_path / "a")
    doubled = run_analysis(EMB / "personas.csv", tmp_path / "dup.parquet", tmp_path / "b")
    assert doubled.pop("data_issues.duplicate_responses") == 20_000
    assert doubled == clean
