"""Loading and bad-input rules of the annotation-robustness study.

Unit: one input file or table handed to the loaders (a hand-made toy with one problem at a time).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from studykit.contract.errors import InputError, ParamError
from studykit.studies.annotation_robustness import Params, analysis, load


def _toy(n=200, seed=0):
    rng = np.random.default_rng(seed)
    items = pd.DataFrame({"item_id": [f"t{i}" for i in range(n)],
                          "gold": rng.choice(["pos", "neg", "neu"], n),
                          "grp": rng.choice(["x", "y"], n)})
    rows = []
    for model in ("m1", "m2"):
        for prompt in ("p1", "p2"):
            lab = np.where(rng.random(n) < 0.8, items["gold"], rng.choice(["pos", "neg", "neu"], n))
            rows.append(pd.DataFrame({"item_id": items["item_id"], "model": model, "prompt": prompt,
                                      "temperature": 0.0, "seed": 0, "label": lab}))
    return items, pd.concat(rows, ignore_index=True)


def _issue(issues, check):
    """Count of the DataIssue named ``check`` (0 when absent)."""
    return sum(i.count for i in issues if i.check == check)


def test_clean_toy_has_no_issues():
    items, ann = _toy()
    data, data_issues = load.encode(items, ann, ["grp"])
    assert data.n_items == 200 and data.n_configs == 4
    assert data_issues == ()
    assert len(data.ann_label) == len(ann)
    assert list(data.configs["model"]) == ["m1", "m1", "m2", "m2"]


@pytest.mark.parametrize("drop, table", [("gold", "items"), ("item_id", "items"), ("label", "annotations"),
                                          ("temperature", "annotations"), ("model", "annotations")])
def test_missing_column_is_one_line_error_naming_it(drop, table):
    items, ann = _toy()
    if table == "items":
        items = items.drop(columns=drop)
    else:
        ann = ann.drop(columns=drop)
    with pytest.raises(InputError, match=f"missing column '{drop}'") as exc:
        load.encode(items, ann, ["grp"])
    assert "\n" not in str(exc.value)


def test_missing_group_column_is_named():
    items, ann = _toy()
    with pytest.raises(InputError, match="missing group column 'party'"):
        load.encode(items, ann, ["party"])


def test_bad_rows_are_counted_and_left_out():
    items, ann = _toy()
    ann = ann.copy()
    ann.loc[0, "label"] = "sarcastic"          # not a gold class
    ann.loc[1, "label"] = None                 # missing label
    ann.loc[2, "item_id"] = "nope"             # unknown item
    ann = pd.concat([ann, ann.iloc[[5]]], ignore_index=True)  # duplicate item x configuration
    ann = ann.drop(index=[10, 11]).reset_index(drop=True)       # configuration m1/p1 lacks two items
    items = items.copy()
    items.loc[3, "gold"] = None                # item without gold
    items.loc[4, "grp"] = None                 # no group
    data, data_issues = load.encode(items, ann, ["grp"])
    assert _issue(data_issues, "invalid_labels") == 1
    assert _issue(data_issues, "missing_labels") == 1
    assert _issue(data_issues, "unknown_items") == 1
    assert _issue(data_issues, "duplicate_annotations") == 1
    assert _issue(data_issues, "missing_gold") == 1
    assert _issue(data_issues, "annotations_of_items_without_gold") == 4
    assert _issue(data_issues, "missing_group_value") == 1
    assert _issue(data_issues, "partial_coverage") >= 1
    # every row is either kept or counted
    kept = len(data.ann_label)
    assert kept == len(ann) - 1 - 1 - 1 - 1 - 4
    assert "sarcastic" in next(i.detail for i in data_issues if i.check == "invalid_labels")


def test_duplicate_item_ids_are_an_error():
    items, ann = _toy()
    items.loc[1, "item_id"] = items.loc[0, "item_id"]
    with pytest.raises(InputError, match="item_id 't0' appears more than once"):
        load.encode(items, ann, ["grp"])


def test_no_seed_column_gives_seed_zero_and_a_note():
    items, ann = _toy()
    data, data_issues = load.encode(items, ann.drop(columns="seed"), ["grp"])
    assert (data.configs["seed"] == 0).all()
    assert _issue(data_issues, "no_seed_column") == 1
    grid, _ = analysis.run_grid(data, None, min_group_size=10)
    assert analysis.pairs_frame(grid)["seed"].eq(0).all()


def test_integer_and_string_ids_match():
    items, ann = _toy()
    items["item_id"] = np.arange(len(items))
    ann["item_id"] = ann["item_id"].str[1:].astype(int)
    data, data_issues = load.encode(items, ann, ["grp"])
    assert data_issues == ()
    ann["item_id"] = ann["item_id"].astype(str)
    data2, data2_issues = load.encode(items, ann, ["grp"])
    assert np.array_equal(data.ann_item, data2.ann_item)


def test_small_groups_and_degenerate_gold_are_skipped_and_counted():
    items, ann = _toy()
    items = items.copy()
    items.loc[:4, "grp"] = "tiny"
    data, data_issues = load.encode(items, ann, ["grp"])
    grid, _ = analysis.run_grid(data, None, min_group_size=10)
    reasons = set(grid.skipped["reason"])
    assert any("min_group_size" in r for r in reasons)
    assert len(grid.hypotheses) + len(grid.skipped) == 3 * 3  # 3 level pairs x 3 classes
    issues = analysis.grid_issues(grid)
    assert _issue(issues, "hypotheses_skipped") == len(grid.skipped)


def test_unknown_hypothesis_column_is_an_error(tmp_path):
    items, ann = _toy()
    data, data_issues = load.encode(items, ann, ["grp"])
    hyps = pd.DataFrame({"hypothesis_id": ["h1"], "label_value": ["pos"], "group_column": ["colour"],
                         "group_a": ["x"], "group_b": ["y"]})
    with pytest.raises(InputError, match="group_column 'colour'"):
        analysis.run_grid(data, hyps)


def test_hypotheses_file_roundtrip(tmp_path):
    items, ann = _toy()
    data, data_issues = load.encode(items, ann, ["grp"])
    hyps = pd.DataFrame({"hypothesis_id": ["h1", "h2"], "label_value": ["pos", "maybe"], "group_column": ["grp", "grp"],
                         "group_a": ["x", "x"], "group_b": ["y", "y"]})
    path = tmp_path / "h.csv"
    hyps.to_csv(path, index=False)
    grid, _ = analysis.run_grid(data, load.read_hypotheses(path)[0], min_group_size=10)
    assert list(grid.hypotheses["hypothesis_id"]) == ["h1"]
    assert grid.skipped["reason"].iloc[0] == "label_value is not a gold class"
    bad = tmp_path / "bad.csv"
    hyps.drop(columns="group_b").to_csv(bad, index=False)
    with pytest.raises(InputError, match="missing column 'group_b'"):
        load.read_hypotheses(bad)


def test_params_validation():
    with pytest.raises(ParamError, match="alpha"):
        Params.validate_mapping({"alpha": 1.5})
    with pytest.raises(ParamError, match="sentiment_max_items"):
        Params.validate_mapping({"sentiment_max_items": 10})
    with pytest.raises(ParamError, match="unknown parameter"):
        Params.validate_mapping({"alhpa": 0.1})
    p = Params.validate_mapping({"human_sample_sizes": [400, 100, 100]})
    assert p.human_sample_sizes == [100, 400]
    assert p.dataset == "files" and p.sentiment_embeddings == "auto"


def test_missing_input_file_is_param_error(tmp_path):
    with pytest.raises(ParamError, match="items_path"):
        Params.load(overrides={"items_path": str(tmp_path / "none.csv")})


def test_row_order_does_not_matter():
    """Run-length configuration encoding gives the same configurations and counts on shuffled rows."""
    items, ann = _toy()
    ann = ann.assign(temperature=np.where(ann["prompt"] == "p2", 0.7, 0.0))
    a, a_issues = load.encode(items, ann, ["grp"])
    shuffled = ann.sample(frac=1.0, random_state=1).reset_index(drop=True)
    b, b_issues = load.encode(items, shuffled, ["grp"])
    pd.testing.assert_frame_equal(a.configs, b.configs)
    ga, gb = analysis.run_grid(a, None, min_group_size=10)[0], analysis.run_grid(b, None, min_group_size=10)[0]
    assert np.array_equal(ga.x_a, gb.x_a) and np.array_equal(ga.n_b, gb.n_b)
    np.testing.assert_array_equal(ga.p_value, gb.p_value)


def test_parquet_and_csv_inputs_agree(tmp_path):
    items, ann = _toy()
    ann.to_csv(tmp_path / "a.csv", index=False)
    ann.to_parquet(tmp_path / "a.parquet", index=False)
    a, a_issues = load.encode(items, load.read_annotations(tmp_path / "a.csv"), ["grp"])
    b, b_issues = load.encode(items, load.read_annotations(tmp_path / "a.parquet"), ["grp"])
    pd.testing.assert_frame_equal(a.configs, b.configs)
    assert np.array_equal(a.ann_label, b.ann_label) and np.array_equal(a.ann_item, b.ann_item)


def test_no_testable_hypothesis_is_a_clear_error():
    items, ann = _toy()
    data, data_issues = load.encode(items, ann, ["grp"])
    with pytest.raises(InputError, match="no hypothesis can be tested .*min_group_size"):
        analysis.run_grid(data, None, min_group_size=10_000)
    items1 = items.assign(grp="x")
    with pytest.raises(InputError, match="fewer than two levels"):
        analysis.run_grid(load.encode(items1, ann, ["grp"])[0], None)


def test_labels_that_differ_only_in_case_are_folded_to_the_gold_class():
    items, ann = _toy()
    clean, _ = load.encode(items, ann, ["grp"])
    # the issue's case: gold written in capitals, labels in lower case (was "ValueError: x_a: empty input")
    upper = items.assign(gold=items["gold"].str.upper())
    data, issues = load.encode(upper, ann, ["grp"])
    assert _issue(issues, "label_case_folded") == len(ann) and _issue(issues, "invalid_labels") == 0
    assert data.classes == ("NEG", "NEU", "POS") and np.array_equal(data.ann_label, clean.ann_label)
    # one configuration in capitals with spaces, categorical (Parquet-like) labels too
    ann2 = ann.copy()
    m1 = ann2["model"] == "m1"
    ann2.loc[m1, "label"] = " " + ann2.loc[m1, "label"].str.title() + " "
    for labels in (ann2["label"], ann2["label"].astype("category")):
        data, issues = load.encode(items, ann2.assign(label=labels), ["grp"])
        assert _issue(issues, "label_case_folded") == int(m1.sum())
        assert np.array_equal(data.ann_label, clean.ann_label)
    analysis.run_grid(data, None)  # the grid runs
    # human_single written differently: folded and reported under its own check
    data, issues = load.encode(items.assign(human_single=items["gold"].str.upper()), ann, ["grp"])
    assert _issue(issues, "human_single_case_folded") == len(items) and (data.human == data.gold).all()


def test_gold_classes_differing_only_in_case_and_labels_matching_nothing_are_one_line_errors():
    items, ann = _toy()
    two = items.copy()
    two.loc[:9, "gold"] = two.loc[:9, "gold"].str.title()
    with pytest.raises(InputError, match="differ only in case") as exc:
        load.encode(two, ann, ["grp"])
    assert "\n" not in str(exc.value)
    with pytest.raises(InputError, match="no annotation label is a gold class .*'positive'") as exc:
        load.encode(items, ann.assign(label=ann["label"].map({"pos": "positive", "neg": "negative",
                                                               "neu": "neutral"})), ["grp"])
    assert "\n" not in str(exc.value)


def test_sentiment_real_without_the_embeddings_extra_says_so(monkeypatch):
    """Unit: the parameters of one sentiment_real run. With sentiment_embeddings 'auto' and no embeddings
    extra, 3 of 5 annotator families run: a data issue says so (it reaches the run's last line)."""
    from types import SimpleNamespace

    from studykit.studies.annotation_robustness import annotators, sentiment_inputs as ar_load

    params = SimpleNamespace(dataset="sentiment_real", sentiment_embeddings="auto")
    monkeypatch.setattr(annotators, "embeddings_available", lambda: False)
    (issue,) = ar_load.embeddings_left_out(params)
    assert issue.check == "embeddings_not_run" and issue.count == 2 and "3 of 5" in issue.rule
    assert ar_load.embeddings_left_out(SimpleNamespace(dataset="sentiment_real", sentiment_embeddings="off")) == ()
    assert ar_load.embeddings_left_out(SimpleNamespace(dataset="simulated", sentiment_embeddings="auto")) == ()
    monkeypatch.setattr(annotators, "embeddings_available", lambda: True)
    assert ar_load.embeddings_left_out(params) == ()
