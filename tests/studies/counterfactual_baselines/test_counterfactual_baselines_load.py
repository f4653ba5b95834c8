"""Loading: the long-format checks and the MedPerturb adapter (hand-made frames and, if present, the real file).

Unit: one input table per test; no statistic is estimated.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from studykit.contract.errors import InputError, ParamError
from studykit.studies.counterfactual_baselines import Params, flips, load as L
from studykit.studies.counterfactual_baselines.design import build_design
from studykit.studies.counterfactual_baselines.schema import MEDPERTURB_PAIRS

MEDPERTURB = Path("/work/shared/data/medperturb/data_with_baselines.csv")
if not MEDPERTURB.is_file():
    from studykit.files.paths import resolve

    MEDPERTURB = resolve("../shared/data/medperturb/data_with_baselines.csv")
needs_medperturb = pytest.mark.skipif(not MEDPERTURB.is_file(), reason="MedPerturb file not available")


def long_frame(n_items=6, **extra):
    rows = []
    for i in range(n_items):
        for v, k in (("original", "original"), ("swap", "target"), ("swap_baseline", "baseline")):
            rows.append({"item_id": f"i{i}", "variant": v, "variant_kind": k, "model": "m",
                         "prediction": (i + (v == "swap")) % 2, **extra})
    return pd.DataFrame(rows)


# ---- long format --------------------------------------------------------------------------------------
def test_validate_long_types_and_defaults():
    df, issues = L.validate_long(long_frame())
    assert set(df["task"]) == {"all"} and set(df["repeat"]) == {"0"}
    assert set(df["prediction"]) == {"0", "1"}  # 0/1 read as numbers become labels
    assert [i.check for i in issues] == ["blank_prediction"] and issues[0].count == 0


def test_missing_column_names_it():
    with pytest.raises(InputError, match="missing column 'variant_kind'"):
        L.validate_long(long_frame().drop(columns="variant_kind"))


def test_unknown_variant_kind():
    df = long_frame()
    df.loc[0, "variant_kind"] = "control"
    with pytest.raises(InputError, match="variant_kind.*'control'"):
        L.validate_long(df)


def test_probability_outside_unit_interval():
    df = long_frame(p_positive=0.5)
    df.loc[3, "p_positive"] = 1.2
    with pytest.raises(InputError, match=r"p_positive.*outside \[0, 1\]"):
        L.validate_long(df)


def test_direction_must_be_plus_minus_one():
    df = long_frame(direction=np.nan)
    df.loc[1, "direction"] = 2
    with pytest.raises(InputError, match="direction"):
        L.validate_long(df)


def test_duplicate_rows_need_a_repeat_column():
    """Unit: one hand-made frame; an exact copy is dropped and reported, a conflicting one refused."""
    exact = pd.concat([long_frame(), long_frame().iloc[:2]])
    out, issues = L.validate_long(exact)
    assert len(out) == len(long_frame())
    assert [(i.check, i.count) for i in issues if i.check == "duplicate_rows"] == [("duplicate_rows", 2)]
    conflict = long_frame().iloc[:1].assign(prediction=lambda d: 1 - d["prediction"])
    with pytest.raises(InputError, match="repeat"):
        L.validate_long(pd.concat([long_frame(), conflict]))


def test_blank_answers_are_counted_not_dropped_silently():
    df = long_frame()
    df["prediction"] = df["prediction"].astype(object)
    df.loc[[0, 4], "prediction"] = [None, " "]
    out, issues = L.validate_long(df)
    blank = [i for i in issues if i.check == "blank_prediction"][0]
    assert blank.count == 2 and out["prediction"].isna().sum() == 2


def test_read_long_missing_file_is_one_line(tmp_path):
    with pytest.raises(InputError, match="not found"):
        L.read_long(tmp_path / "nope.csv")


def test_pairs_param_validation():
    with pytest.raises(ParamError, match="pairs"):
        Params.validate_mapping({"pairs": {}})
    with pytest.raises(ParamError, match="more than one target"):
        Params.validate_mapping({"pairs": {"a": "b", "c": "b"}})
    with pytest.raises(ParamError, match="unknown parameter"):
        Params.validate_mapping({"n_bootstrap": 10})


# ---- MedPerturb adapter on a hand-made wide frame -------------------------------------------------------
def wide_frame():
    text = "A 40-year-old woman with a three-week cough and mild fever asks whether she should see a doctor."
    rows = []
    for c, g in (("1", "F"), ("2", "M"), ("3", "F")):
        for vid in range(1, 10):
            ctx = text
            if (c, vid) == ("1", 6):
                ctx = "I can't reliably hit a 120% token-level edit distance target without your tokenizer."
            if (c, vid) == ("2", 7):
                ctx = "Short."
            row = {"dataset": "askadoc", "dataset_id": vid, "context_id": c, "original_patient_gender": g,
                   "clinical_context": ctx}
            for t in ("MANAGE", "VISIT", "RESOURCE"):
                row[f"LLAMA3_{t}"] = float((vid + int(c)) % 2)
                row[f"GPT4_{t}"] = float(vid % 2) if vid <= 5 else np.nan
                for k in (1, 2, 3):
                    row[f"{t}_{k}"] = float(k % 2) if vid <= 5 else np.nan
            rows.append(row)
    return pd.DataFrame(rows)


def test_adapter_variants_kinds_direction_and_clinicians():
    sd, sd_issues = L.adapt_medperturb(wide_frame(), exclude_defective=False)
    f = sd.frame
    assert set(f["variant"]) == set(L.MEDPERTURB_VARIANTS.values())
    kinds = f.drop_duplicates("variant").set_index("variant")["variant_kind"]
    assert kinds["original"] == "original" and kinds["gender_swap"] == "target"
    assert kinds["colorful_baseline"] == "baseline"
    gs = f[(f["variant"] == "gender_swap") & (f["model"] == "LLAMA3")].drop_duplicates("item_id")
    assert dict(zip(gs["item_id"], gs["direction"])) == {"askadoc:1": -1.0, "askadoc:2": 1.0, "askadoc:3": -1.0}
    assert f.loc[f["variant"] != "gender_swap", "direction"].isna().all()
    # GPT4 did not answer the baselines: no rows, reported
    assert not ((f["model"] == "GPT4") & (f["variant_kind"] == "baseline")).any()
    assert any(i.check == "not_answered.GPT4" and i.count == 4 for i in sd_issues)
    # clinicians: three reads as repeats, variants 1-5 only
    cl = f[f["model"] == L.CLINICIANS]
    assert set(cl["repeat"]) == {"1", "2", "3"} and set(cl["variant_kind"]) == {"original", "target"}


def test_adapter_flags_and_excludes_defective_baselines():
    sd, sd_issues = L.adapt_medperturb(wide_frame(), min_length_ratio=0.5)
    d = sd.defects.set_index(["item_id", "variant"])
    assert d.loc[("askadoc:1", "gender_swap_baseline"), "wording"]
    assert d.loc[("askadoc:2", "gender_remove_baseline"), "too_short"]
    assert int(sd.defects["defective"].sum()) == 2
    f = sd.frame
    gone = f[(f["item_id"] == "askadoc:1") & (f["variant"] == "gender_swap_baseline")]
    assert gone.empty
    rep = [i for i in sd_issues if i.check == "defective_baseline_rows"][0]
    assert rep.count == 2
    kept = L.adapt_medperturb(wide_frame(), exclude_defective=False)[0].frame
    assert len(kept[(kept["item_id"] == "askadoc:1") & (kept["variant"] == "gender_swap_baseline")]) == 3


def test_adapter_drops_ambiguous_duplicates_and_reports():
    w = wide_frame()
    w = pd.concat([w, w[(w["context_id"] == "3") & (w["dataset_id"] == 2)]], ignore_index=True)
    sd, sd_issues = L.adapt_medperturb(w)
    rep = [i for i in sd_issues if i.check == "ambiguous_duplicate_rows"][0]
    assert rep.count == 2 and "askadoc:3" in rep.detail
    assert sd.frame[(sd.frame["item_id"] == "askadoc:3") & (sd.frame["variant"] == "gender_swap")].empty


def test_adapter_bad_dataset_id():
    w = wide_frame()
    w.loc[0, "dataset_id"] = 12
    with pytest.raises(InputError, match="dataset_id"):
        L.adapt_medperturb(w)


def test_adapter_needs_answer_columns():
    w = wide_frame()[["dataset", "dataset_id", "context_id", "original_patient_gender", "clinical_context"]]
    with pytest.raises(InputError, match="LLAMA3_MANAGE"):
        L.adapt_medperturb(w)


# ---- the real file ------------------------------------------------------------------------------------------
@needs_medperturb
def test_real_medperturb_defects_and_readme_sanity_numbers():
    sd, _ = L.read_medperturb(MEDPERTURB)
    n_def = int(sd.defects["defective"].sum())
    assert 40 <= n_def <= 46, n_def  # README: about 40-45 of the 600 baseline rows
    # LLAMA3, MANAGE: gender swap about 8% against about 11% for its paraphrase baseline (README)
    design, _ = build_design(sd.frame, MEDPERTURB_PAIRS, baseline_models=["LLAMA3"])
    rates = flips.flip_rates(design.answers, design.pairs).set_index(["model", "task", "variant"])["flip_rate"]
    assert rates[("LLAMA3", "MANAGE", "gender_swap")] == pytest.approx(0.08, abs=0.015)
    assert rates[("LLAMA3", "MANAGE", "gender_swap_baseline")] == pytest.approx(0.11, abs=0.015)
    # the same with the defective rows kept
    sd_all, _ = L.read_medperturb(MEDPERTURB, exclude_defective=False)
    d_all, _ = build_design(sd_all.frame, MEDPERTURB_PAIRS, baseline_models=["LLAMA3"])
    r_all = flips.flip_rates(d_all.answers, d_all.pairs).set_index(["model", "task", "variant"])["flip_rate"]
    assert r_all[("LLAMA3", "MANAGE", "gender_swap_baseline")] == pytest.approx(0.11, abs=0.015)
    # every flagged row really reads like a non-paraphrase or is truncated
    flagged = sd.defects[sd.defects["defective"]]
    assert (flagged["wording"] | (flagged["length_ratio"] < 0.5)).all()
    # models other than LLAMA3 (and LLAMA3-70, see the profile) have no baseline rows
    assert not sd.frame[(sd.frame["model"].isin(["GPT4", "PALMYRA-MED"]))
                        & (sd.frame["variant_kind"] == "baseline")].shape[0]


@pytest.mark.parametrize("profile", ["default", "workshop", "medperturb"])
def test_profiles_validate(profile):
    from studykit.files.paths import params_dir

    values = Params.read_profile(params_dir("counterfactual_baselines") / f"{profile}.yaml")
    p = Params.validate_mapping(values, profile)
    assert set(values) <= set(Params.model_fields)
    if profile == "medperturb":
        assert p.data_format == "medperturb" and p.pairs == MEDPERTURB_PAIRS and p.baseline_models == ["LLAMA3"]
