"""The float rule of every byte-identical output (studykit.files.floats) and where it is applied.

Unit: one column, one JSON document or one saved table under the rule.
"""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from studykit.files.floats import (NOISE_RATIO, SIG_DIGITS, csv_text, dumps_stable_json, round_sig, snapped_cells,
                             stable_array, stable_frame, stable_json)
from studykit.contract.outputs import Outputs


def test_round_sig_is_the_number_percent_10g_prints():
    assert SIG_DIGITS == 10
    assert round_sig(0.9782644323772143) == round_sig(0.9782644323772144) == 0.9782644324
    assert repr(round_sig(1 / 3)) == "0.3333333333"
    assert round_sig(123456789012.0) == 123456789000.0
    assert round_sig(2.5e-300) == 2.5e-300
    assert math.copysign(1, round_sig(-0.0)) == 1.0  # -0 is written as 0
    assert math.isnan(round_sig(float("nan"))) and round_sig(float("inf")) == float("inf")


def test_cancellation_noise_in_a_signed_column_is_zero_and_nothing_else_moves():
    col = [0.3722722859, -0.02431677217, 1.387778781e-17, -2e-18, 0.0, float("nan"), 4.1e-12]
    out = stable_array(col)
    assert out[2] == 0.0 and out[3] == 0.0 and math.copysign(1, out[3]) == 1.0
    assert out[0] == 0.3722722859 and out[1] == -0.02431677217 and out[4] == 0.0 and math.isnan(out[5])
    assert out[6] == 4.1e-12  # above 1e-12 x the column's scale (0.37): a value, kept
    assert snapped_cells(col) == 2
    # the threshold is relative to the column: the same tiny value next to numbers of its own size is kept
    assert list(stable_array([1.4e-17, -3e-17])) == [1.4e-17, -3e-17]
    assert NOISE_RATIO == 1e-12


def test_p_values_and_other_columns_in_unit_interval_are_never_snapped():
    p = [0.9, 2.871256819930716e-48, 1e-125, 0.0]
    assert snapped_cells(p) == 0
    assert list(stable_array(p)) == [0.9, 2.871256820e-48, 1e-125, 0.0]


def test_frame_rounds_float_and_object_columns_and_keeps_the_rest():
    df = pd.DataFrame({"x": [1 / 3, -2e-17], "n": [3, 4], "mixed": pd.Series([0.1 + 0.2, None], dtype=object),
                       "text": ["a", 1 / 7], "flag": [True, False]})
    out = stable_frame(df)
    assert out["x"].tolist() == [0.3333333333, 0.0]
    assert out["n"].dtype == df["n"].dtype and out["flag"].tolist() == [True, False]
    assert out["mixed"].tolist()[0] == 0.3 and out["mixed"].tolist()[1] is None
    assert out["text"].tolist() == ["a", 0.1428571429]
    assert df["x"].tolist()[0] == 1 / 3  # the caller's frame is left as it was
    assert csv_text(df) == "x,n,mixed,text,flag\n0.3333333333,3,0.3,a,True\n0,4,,0.1428571429,False\n"


def test_json_rounds_every_float_and_treats_a_list_of_numbers_as_a_column():
    doc = {"hr": {"devin": 0.9782644323772144}, "n": 3, "flag": True, "name": "x",
           "diffs": [0.25, -1.387778781e-17, 2], "p": [1e-40, 0.5]}
    out = stable_json(doc)
    assert out == {"hr": {"devin": 0.9782644324}, "n": 3, "flag": True, "name": "x", "diffs": [0.25, 0.0, 2],
                   "p": [1e-40, 0.5]}
    assert isinstance(out["diffs"][2], int)
    text = dumps_stable_json(doc)
    assert "0.9782644324" in text and json.loads(text) == out


def test_save_table_and_record_write_the_rule(tmp_path):
    out = Outputs("demo", None, tmp_path)
    df = pd.DataFrame({"estimate": [0.1234567890123, -1.4e-17, 2.0], "p_value": [1e-30, 0.5, 0.04]})
    out.save_table(df, "t", caption="demo")
    assert (tmp_path / "tables" / "t.csv").read_text() == "estimate,p_value\n0.123456789,1e-30\n0,0.5\n2,0.04\n"
    html = (tmp_path / "tables" / "t.html").read_text()
    assert "1.4e-17" not in html and "1.00e-30" in html  # the HTML shows what the CSV holds
    assert out.record("k", 0.9782644323772144) == 0.9782644323772144  # the notebook keeps its number
    assert json.loads((tmp_path / "results.json").read_text()) == {"k": 0.9782644324}


@pytest.mark.parametrize("values", [np.random.default_rng(1).normal(size=1000)])
def test_rounding_hides_last_bit_differences(values):
    """A difference of one unit in the last place (another CPU's exp or log) does not reach 10 digits
    except at a rounding boundary: in 1,000 values none does."""
    up = np.nextafter(values, np.inf)
    assert np.array_equal(stable_array(values), stable_array(up))


def test_text_columns_skip_the_per_cell_float_check_and_mixed_columns_still_round():
    """Unit: one object column. An all-text column is returned as it is (the fast path of ``stable_frame``);
    a text column with one float cell, or with a missing value among text, still goes through the cell check."""
    import pandas as pd

    from studykit.files.floats import _may_hold_floats, stable_frame

    text = pd.Series(["a", "b", "c"], dtype=object)
    mixed = pd.Series(["a", 0.123456789012345, "c"], dtype=object)
    holes = pd.Series(["a", None, "c"], dtype=object)
    assert not _may_hold_floats(text) and _may_hold_floats(mixed) and _may_hold_floats(holes)
    out = stable_frame(pd.DataFrame({"text": text, "mixed": mixed, "holes": holes}))
    assert out["text"].tolist() == ["a", "b", "c"] and out["holes"].tolist() == ["a", None, "c"]
    assert out["mixed"].tolist() == ["a", 0.1234567890, "c"]
