"""Loading, scoring and aggregation of the sycophancy-correlation raw tables.

Unit: one input file per test (rows of the personas or responses table); no statistics are estimated.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from studykit.contract.errors import InputError, ParamError
from studykit.studies.sycophancy_correlation import Params, load
from studykit.studies.sycophancy_correlation.reliability import reliability_table
from studykit.studies.sycophancy_correlation.schema import DEFAULT_REVERSE_KEYED
from studykit.studies.sycophancy_correlation.simulate import ITEM_COLUMNS

EMB = "data/sycophancy_correlation"


def _responses(rows):
    return pd.DataFrame(rows, columns=["model", "persona_id", "prompt_id", "category", "stance"])


def test_items_reverse_keyed_and_averaged(tmp_path):
    df = pd.DataFrame({"model": ["m", "m"], "persona_id": ["a", "b"],
                       "A1_1": [5, 1], "A1_2": [1, 5], "A3_1": [4, 2]})
    path = tmp_path / "p.csv"
    df.to_csv(path, index=False)
    res, issues = load.load_personas(path, reverse_keyed=["A1_2"], likert_points=5)
    # persona a: 5, 6-1=5, 4 -> 14/3 ; persona b: 1, 6-5=1, 2 -> 4/3
    assert res.score_source == "items"
    np.testing.assert_allclose(res.scores["agreeableness"], [14 / 3, 4 / 3])
    assert list(res.items["A1_2"]) == [5, 1]


def test_score_column_wins_and_missing_scores_reported(tmp_path):
    df = pd.DataFrame({"model": ["m"] * 3, "persona_id": ["a", "b", "c"], "agreeableness": [3.0, None, 4.0]})
    path = tmp_path / "p.csv"
    df.to_csv(path, index=False)
    res, issues = load.load_personas(path, reverse_keyed=[])
    assert list(res.scores["persona_id"]) == ["a", "c"]
    (issue,) = issues
    assert issue.check == "personas_without_score" and issue.count == 1 and "m/b" in issue.detail


def test_unanswered_item_means_no_score(tmp_path):
    df = pd.DataFrame({"model": ["m", "m"], "persona_id": ["a", "b"], "A1_1": [5, None], "A1_2": [4, 3]})
    path = tmp_path / "p.csv"
    df.to_csv(path, index=False)
    res, issues = load.load_personas(path, reverse_keyed=[])
    assert list(res.scores["persona_id"]) == ["a"]
    assert issues[0].check == "personas_without_score"


@pytest.mark.parametrize("frame, message", [
    (pd.DataFrame({"model": ["m"], "agreeableness": [3]}), "missing column 'persona_id'"),
    (pd.DataFrame({"model": ["m"], "persona_id": ["a"]}), "missing column 'agreeableness'"),
    (pd.DataFrame({"model": ["m"], "persona_id": ["a"], "agreeableness": ["high"]}), "'agreeableness' has 1 non-numeric"),
    (pd.DataFrame({"model": ["m", "m"], "persona_id": ["a", "a"], "agreeableness": [1, 2]}), "repeat a (model, persona_id)"),
    (pd.DataFrame({"model": ["m"], "persona_id": ["a"], "A1_1": [7]}), "column 'A1_1' has 1 answers outside 1..5"),
    (pd.DataFrame({"model": ["m"], "persona_id": ["a"], "A1_1": ["x"]}), "column 'A1_1' has 1 non-numeric"),
    (pd.DataFrame({"model": ["m"], "persona_id": ["baseline"], "agreeableness": [3]}), "reserved"),
])
def test_persona_schema_errors_are_one_line(tmp_path, frame, message):
    path = tmp_path / "p.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(InputError) as exc:
        load.load_personas(path, reverse_keyed=[])
    assert message in str(exc.value) and "\n" not in str(exc.value)


def test_reverse_keyed_item_must_exist(tmp_path):
    path = tmp_path / "p.csv"
    pd.DataFrame({"model": ["m"], "persona_id": ["a"], "A1_1": [3]}).to_csv(path, index=False)
    with pytest.raises(InputError, match="reverse_keyed names item 'A9_9'"):
        load.load_personas(path, reverse_keyed=["A9_9"])


def test_stance_mapping_and_unknown_stances(tmp_path):
    rows = [("m", "a", "q1", "c1", "AGREE"), ("m", "a", "q2", "c1", " partially agree "),
            ("m", "a", "q3", "c2", "PARTIALLY DISAGREE"), ("m", "a", "q4", "c2", "DISAGREE"),
            ("m", "a", "q5", "c2", "maybe"), ("m", "a", "q6", "c2", "maybe"), ("m", "a", "q7", "c2", None),
            ("m", "baseline", "q1", "c1", "AGREE")]
    path = tmp_path / "r.csv"
    _responses(rows).to_csv(path, index=False)
    res, issues = load.aggregate_responses(path)
    cells = res.cells.set_index(["persona_id", "category"])
    assert cells.loc[("a", "c1"), "n"] == 2 and cells.loc[("a", "c1"), "total"] == 1.5
    assert cells.loc[("a", "c2"), "n"] == 2 and cells.loc[("a", "c2"), "total"] == 0.5
    assert res.n_rows == 8 and res.n_prompts == 7
    (issue,) = issues
    assert issue.check == "unknown_stance" and issue.count == 3
    assert "'maybe': 2" in issue.detail and "'<missing>': 1" in issue.detail


def test_score_column_and_out_of_range_scores(tmp_path):
    df = pd.DataFrame({"model": "m", "persona_id": ["a", "a", "a", "a"], "prompt_id": ["1", "2", "3", "4"],
                       "category": "c", "score": [0.25, 1.0, 1.7, None]})
    path = tmp_path / "r.parquet"
    df.to_parquet(path)
    res, issues = load.aggregate_responses(path)
    assert res.score_source == "score"
    assert res.cells["n"].tolist() == [2] and res.cells["total"].tolist() == [1.25]
    assert {i.check: i.count for i in issues} == {"score_out_of_range": 1, "score_missing": 1}


def test_score_sums_do_not_depend_on_row_order_or_threads(tmp_path):
    """Unit: a (model, persona) cell. DuckDB adds rows in whatever order its threads take them; a plain sum
    of doubles then changes in the 15th digit between runs. Totals are tallied per distinct score and added
    in code order, so any row order and thread count give the same bits; 200,000 distinct random scores are
    summed to within 1e-12 of the correctly rounded sum (``math.fsum``; a sequential sum's error bound is
    n x 2**-53 = 2.2e-11)."""
    rng = np.random.default_rng(3)
    n = 200_000
    df = pd.DataFrame({"model": "m", "persona_id": [f"p{i}" for i in rng.integers(0, 5, n)],
                       "prompt_id": [str(i) for i in range(n)], "category": "c", "score": rng.random(n)})
    df.to_parquet(tmp_path / "a.parquet", row_group_size=10_000)
    df.sample(frac=1.0, random_state=1).to_parquet(tmp_path / "b.parquet", row_group_size=7_000)
    cells = [load.aggregate_responses(tmp_path / f, threads=t)[0].cells
             for f, t in (("a.parquet", 1), ("a.parquet", 2), ("b.parquet", 2), ("b.parquet", 4))]
    for other in cells[1:]:
        assert other["total"].tolist() == cells[0]["total"].tolist()
    ref = df.groupby("persona_id")["score"].agg(lambda s: __import__("math").fsum(s))
    np.testing.assert_allclose(cells[0]["total"], ref.to_numpy(), rtol=1e-12)
    groups = pd.DataFrame({"model": "m", "persona_id": [f"p{i}" for i in range(5)], "group": "g"})
    a = load.prompt_scores(load.aggregate_responses(tmp_path / "a.parquet", threads=1)[0], groups)
    b = load.prompt_scores(load.aggregate_responses(tmp_path / "b.parquet", threads=4)[0], groups)
    pd.testing.assert_frame_equal(a, b)


def test_response_schema_errors(tmp_path):
    path = tmp_path / "r.csv"
    pd.DataFrame({"model": ["m"], "persona_id": ["a"], "prompt_id": ["q"], "stance": ["AGREE"]}).to_csv(path, index=False)
    with pytest.raises(InputError, match="missing column 'category'"):
        load.aggregate_responses(path)
    pd.DataFrame({"model": ["m"], "persona_id": ["a"], "prompt_id": ["q"], "category": ["c"]}).to_csv(path, index=False)
    with pytest.raises(InputError, match="missing column 'stance'"):
        load.aggregate_responses(path)
    with pytest.raises(InputError, match="not found"):
        load.aggregate_responses(tmp_path / "nope.parquet")


def test_csv_and_parquet_give_the_same_cells(tmp_path):
    src = pd.read_parquet(f"{EMB}/responses.parquet").head(20_000)
    src = src.astype({c: str for c in src.columns})
    src.to_parquet(tmp_path / "r.parquet")
    src.to_csv(tmp_path / "r.csv", index=False)
    a = load.aggregate_responses(tmp_path / "r.parquet")[0].cells
    b = load.aggregate_responses(tmp_path / "r.csv")[0].cells
    pd.testing.assert_frame_equal(a, b)
    # and against a plain pandas groupby
    score = src["stance"].map({"AGREE": 1.0, "PARTIALLY AGREE": 0.5, "PARTIALLY DISAGREE": 0.5, "DISAGREE": 0.0})
    ref = (src.assign(s=score).groupby(["model", "persona_id", "category"])["s"].agg(["count", "sum"])
           .reset_index())
    np.testing.assert_array_equal(a["n"], ref["count"])
    np.testing.assert_allclose(a["total"], ref["sum"])


def test_embedded_persona_scores_match_simulator_truth_scale():
    res, issues = load.load_personas(f"{EMB}/personas.csv", reverse_keyed=DEFAULT_REVERSE_KEYED)
    assert res.score_source == "items" and not issues
    assert res.scores["agreeableness"].between(1, 5).all()
    assert list(res.items.columns[2:]) == list(ITEM_COLUMNS)
    assert len(res.sizes) == 13


def test_reliability_uses_reverse_keyed_items():
    res, issues = load.load_personas(f"{EMB}/personas.csv", reverse_keyed=DEFAULT_REVERSE_KEYED)
    good, _ = reliability_table(res.items)
    assert good["alpha"].min() > 0.9
    # forgetting the reverse keying must damage reliability, or the test proves nothing
    wrong, issues = load.load_personas(f"{EMB}/personas.csv", reverse_keyed=[])
    assert reliability_table(wrong.items)[0]["alpha"].iloc[-1] < good["alpha"].iloc[-1] - 0.3


def test_params_validation():
    with pytest.raises(ParamError, match="alpha"):
        Params.validate_mapping({"alpha": 2})
    with pytest.raises(ParamError, match="reverse_keyed"):
        Params.validate_mapping({"reverse_keyed": ["item7"]})
    with pytest.raises(ParamError, match="unknown parameter"):
        Params.validate_mapping({"n_permutations": 5})
    with pytest.raises(ParamError, match="correction"):
        Params.validate_mapping({"correction": "sidak"})


def test_numeric_looking_ids_match_between_tables(tmp_path):
    from studykit.studies.sycophancy_correlation.rates import compute_rates

    pd.DataFrame({"model": ["m"] * 4, "persona_id": ["007", "008", "009", "010"],
                  "agreeableness": [1, 2, 3, 4]}).to_csv(tmp_path / "p.csv", index=False)
    rows = [("m", pid, "q1", "c", st) for pid, st in
            (("007", "AGREE"), ("008", "DISAGREE"), ("009", "AGREE"), ("010", "DISAGREE"), ("baseline", "AGREE"))]
    _responses(rows).to_csv(tmp_path / "r.csv", index=False)
    personas, _ = load.load_personas(tmp_path / "p.csv", reverse_keyed=[])
    assert list(personas.scores["persona_id"]) == ["007", "008", "009", "010"]
    rates, issues = compute_rates(load.aggregate_responses(tmp_path / "r.csv")[0], personas)
    assert len(rates.personas) == 4 and not issues


@pytest.mark.parametrize("profile", ["default", "workshop", "paper_scale"])
def test_profiles_validate_and_list_only_changed_keys(profile):
    from studykit.files.paths import params_dir

    values = Params.read_profile(params_dir("sycophancy_correlation") / f"{profile}.yaml")
    params = Params.validate_mapping(values, profile)  # no prepare(): paper_scale would generate 17.8M rows
    defaults = Params().model_dump()
    assert all(defaults[k] != v for k, v in values.items())
    assert params.n_perm == (2000 if profile == "workshop" else 10_000)
    assert params.simulate == ("paper_scale" if profile == "paper_scale" else "")


@pytest.mark.parametrize("value, ok", [(1e308, False), (-1e308, False), (0.0, False), (5.5, False), (6, False),
                                       (1.0, True), (5.0, True), (2.75, True)])
def test_agreeableness_outside_the_instrument_scale_is_refused(tmp_path, value, ok):
    df = pd.DataFrame({"model": ["m"] * 5, "persona_id": list("abcde"), "agreeableness": [2.0, 3.0, 3.5, 4.0, value]})
    path = tmp_path / "p.csv"
    df.to_csv(path, index=False)
    if ok:
        res, _ = load.load_personas(path, reverse_keyed=[])
        assert res.scores["agreeableness"].iloc[-1] == value
        return
    with pytest.raises(InputError) as exc:
        load.load_personas(path, reverse_keyed=[])
    msg = str(exc.value)
    assert "\n" not in msg and str(path) in msg and "column 'agreeableness'" in msg and "outside 1..5" in msg
    # the scale follows likert_points: 6 is valid on a 7-point instrument
    if value == 6:
        load.load_personas(path, reverse_keyed=[], likert_points=7)


def test_an_external_score_column_is_checked_robustly(tmp_path):
    rng = np.random.default_rng(3)
    ext = np.round(rng.normal(50, 10, 40), 2)  # an external rating on 0..100
    df = pd.DataFrame({"model": "m", "persona_id": [f"p{i}" for i in range(40)], "rating": ext})
    path = tmp_path / "p.csv"
    df.to_csv(path, index=False)
    res, _ = load.load_personas(path, reverse_keyed=[], score_column="rating")  # any realistic scale passes
    assert len(res.scores) == 40
    df.loc[7, "rating"] = 1e308
    df.to_csv(path, index=False)
    with pytest.raises(InputError, match=r"column 'rating' has 1 values outside \[.*\] \(Q1 - 10 IQR"):
        load.load_personas(path, reverse_keyed=[], score_column="rating")


@pytest.mark.parametrize("fmt", ["csv", "tsv", "parquet"])
def test_a_second_column_with_the_same_name_is_refused(tmp_path, fmt):
    import pyarrow as pa
    import pyarrow.parquet as pq

    personas = pa.table([pa.array(["m", "m"]), pa.array(["a", "b"]), pa.array([2.0, 3.0]), pa.array([4.0, 1.0])],
                        names=["model", "persona_id", "agreeableness", "agreeableness"])
    responses = pa.table([pa.array(["m"]), pa.array(["a"]), pa.array(["q"]), pa.array(["c"]), pa.array(["AGREE"]),
                          pa.array(["DISAGREE"])],
                         names=["model", "persona_id", "prompt_id", "category", "stance", "stance"])
    for name, table in (("personas", personas), ("responses", responses)):
        path = tmp_path / f"{name}.{fmt}"
        if fmt == "parquet":
            pq.write_table(table, path)
        else:
            sep = "\t" if fmt == "tsv" else ","
            lines = [sep.join(table.column_names)] + [sep.join(str(c[i].as_py()) for c in table.columns)
                                                      for i in range(table.num_rows)]
            path.write_text("\n".join(lines) + "\n")
        with pytest.raises(InputError) as exc:
            if name == "personas":
                load.load_personas(path, reverse_keyed=[])
            else:
                load.aggregate_responses(path)
        col = "agreeableness" if name == "personas" else "stance"
        assert str(exc.value).count("\n") == 0 and f"column '{col}' appears 2 times" in str(exc.value)
        assert str(path) in str(exc.value)
