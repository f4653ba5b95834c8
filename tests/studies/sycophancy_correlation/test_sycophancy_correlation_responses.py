"""The response reader on integer codes against a plain pandas computation of the documented rules.

Unit: one response (a row of the responses table); the cells are model x persona x category sums and the
prompt scores model x prompt x persona-group sums. The reader (DuckDB codes + numpy counting) replaced a
DuckDB GROUP BY with a hash-based duplicate check; these tests hold it to the rules on small random tables
with exact duplicates, unknown and missing stances, both file formats and both scoring columns.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from studykit.contract.errors import InputError
from studykit.studies.sycophancy_correlation import load, responses
from studykit.studies.sycophancy_correlation.schema import STANCE_SCORES

STANCES = ["AGREE", "DISAGREE", " partially agree ", "PARTIALLY DISAGREE", "maybe", None]


def _table(rng, *, score: bool) -> pd.DataFrame:
    rows = [(f"m{m}", p, f"q{q}", f"c{rng.integers(3)}")
            for m in range(rng.integers(1, 4))
            for p in [f"p{i}" for i in range(rng.integers(2, 6))] + ["baseline"]
            for q in range(rng.integers(1, 9)) if rng.random() > 0.15]
    df = pd.DataFrame(rows, columns=["model", "persona_id", "prompt_id", "category"])
    if score:
        df["score"] = rng.choice([0.0, 0.25, 0.5, 1.0, 0.1, 0.7, 1.5, -0.2, np.nan], size=len(df))
    else:
        df["stance"] = rng.choice(np.array(STANCES, dtype=object), size=len(df))
    copies = df.sample(len(df) // 5, random_state=int(rng.integers(1 << 30)))
    return pd.concat([df, copies]).sample(frac=1, random_state=int(rng.integers(1 << 30)))


def _scored(df: pd.DataFrame) -> pd.Series:
    """The documented scoring rule, in pandas: stance map after strip/upper, or scores in [0, 1]."""
    if "score" in df:
        return df["score"].where(df["score"].between(0, 1))
    return df["stance"].str.strip().str.upper().map(STANCE_SCORES)


def _reference_cells(df: pd.DataFrame) -> pd.DataFrame:
    d = df.drop_duplicates().assign(s=lambda x: _scored(x))
    ref = (d.groupby(["model", "persona_id", "category"], dropna=False)["s"]
           .agg(n="count", total="sum").reset_index())
    return ref.astype({"n": np.int64, "total": float})


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_cells_and_prompt_scores_equal_a_pandas_groupby(tmp_path, seed, fmt):
    rng = np.random.default_rng(seed)
    df = _table(rng, score=seed % 3 == 2)
    path = tmp_path / f"r.{fmt}"
    df.to_parquet(path) if fmt == "parquet" else df.to_csv(path, index=False)
    res, issues = load.aggregate_responses(path)
    ref = _reference_cells(df)
    pd.testing.assert_frame_equal(res.cells, ref, check_exact="score" not in df, rtol=1e-13)
    n_copies = len(df) - len(df.drop_duplicates())
    assert {i.check: i.count for i in issues}.get("duplicate_responses", 0) == n_copies
    assert res.n_rows == len(df) and res.n_prompts == df["prompt_id"].nunique()
    # prompt scores: personas split into two groups, baseline rows their own group
    personas = ref.loc[ref["persona_id"] != "baseline", ["model", "persona_id"]].drop_duplicates()
    groups = personas.assign(group=np.where(np.arange(len(personas)) % 2, "high", "low"))
    got = load.prompt_scores(res, groups)
    d = df.drop_duplicates().assign(s=lambda x: _scored(x)).dropna(subset=["s"])
    d = d.merge(pd.concat([groups, groups[["model"]].drop_duplicates().assign(persona_id="baseline",
                                                                           group="baseline")]),
                on=["model", "persona_id"])
    want = (d.groupby(["model", "prompt_id", "group"])["s"].agg(n="count", total="sum").reset_index()
            .astype({"n": np.int64, "total": float}))
    pd.testing.assert_frame_equal(got, want, check_exact="score" not in df, rtol=1e-13)


def test_sums_do_not_depend_on_the_row_order(tmp_path):
    rng = np.random.default_rng(7)
    df = _table(rng, score=True).drop_duplicates(["model", "persona_id", "prompt_id"])
    df["score"] = rng.random(len(df))  # sums of arbitrary floats: the order of additions matters
    df.to_parquet(tmp_path / "a.parquet")
    df.iloc[::-1].to_parquet(tmp_path / "b.parquet")
    a = load.aggregate_responses(tmp_path / "a.parquet")[0].cells
    b = load.aggregate_responses(tmp_path / "b.parquet")[0].cells
    pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_scored_tally_dense_and_sorted_paths_agree(monkeypatch):
    rng = np.random.default_rng(3)
    keys = [(rng.integers(0, 40, 5000), 40), (rng.integers(0, 7, 5000), 7)]
    values = np.array([0.0, 0.25, 0.5, np.nan, 1.0])
    code = rng.integers(0, len(values), 5000)
    dense = responses.scored_tally(keys, code, values)
    monkeypatch.setattr(responses, "_DENSE_FACTOR", 0)  # keys sorted instead of counted in place
    monkeypatch.setattr(responses, "count_keys", lambda key, size: np.unique(key, return_counts=True))
    sparse = responses.scored_tally(keys, code, values)
    for a, b in zip(dense[0] + list(dense[1:]), sparse[0] + list(sparse[1:])):
        np.testing.assert_array_equal(a, b)
    # against a direct computation
    g = keys[0][0] * 7 + keys[1][0]
    s = values[code]
    for j, combo in enumerate(dense[0][0] * 7 + dense[0][1]):
        sel = (g == combo) & ~np.isnan(s)
        assert dense[2][j] == sel.sum() and dense[3][j] == pytest.approx(s[sel].sum(), rel=1e-15)


def test_conflicting_duplicates_are_refused(tmp_path):
    df = pd.DataFrame({"model": ["m"] * 3, "persona_id": ["a"] * 3, "prompt_id": ["q1", "q1", "q2"],
                       "category": ["c"] * 3, "stance": ["AGREE", "DISAGREE", "AGREE"]})
    df.to_parquet(tmp_path / "r.parquet")
    with pytest.raises(InputError, match=r"1 \(model, persona_id, prompt_id\) keys have rows with different category or stance"):
        load.aggregate_responses(tmp_path / "r.parquet")
