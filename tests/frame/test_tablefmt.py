"""Tables for reading: the CSV keeps full precision, HTML/LaTeX and the report round by a rule per column.

Unit: one value (the formatting rules) or one table written through Outputs.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from studykit.contract.outputs import Outputs
from studykit.files.tablefmt import (
    P_VALUE_NAME,
    column_formatter,
    format_count,
    format_csv_rows,
    format_float,
    format_p_value,
    latex_escape,
)


@pytest.mark.parametrize("value, shown", [
    (0.0123456, "0.0123"), (0.5, "0.5"), (1.0, "1"), (0.001, "0.001"), (0.000999, "9.99e-04"),
    (1.578e-23, "1.58e-23"), (0.0, "0"), (math.nan, "NaN"),
])
def test_p_values_have_three_significant_digits_scientific_below_0_001(value, shown):
    assert format_p_value(value) == shown


def test_counts_are_integers_and_other_floats_have_four_significant_digits():
    assert format_count(12345.0) == "12345" and format_count(math.nan) == "NaN"
    assert format_float(0.123456789) == "0.1235" and format_float(-1.5e6) == "-1.5e+06"
    assert format_float(math.inf) == "inf"


@pytest.mark.parametrize("name", ["p", "q", "p_value", "gold_p_value", "pvalue", "P-value", "p_adjusted",
                                  "p_holm", "p_one_sided", "spearman_p", "slope_p", "q_value", "did_p_holm",
                                  "ai_change_p_doc", "p_value_corrected", "did_p_value_corrected_documents",
                                  "shift_p_value_given_baseline", "excess_p_value_corrected", "pearson_p_value_log10"])
def test_p_value_column_names(name):
    assert P_VALUE_NAME.search(name)


@pytest.mark.parametrize("name", ["p_positive", "true_p_a", "p_a", "prevalence", "pearson_r", "gap", "prompt",
                                  "persona_id", "n_pairs", "freq", "freq_prev", "freq_expected"])
def test_columns_that_are_not_p_values(name):
    assert not P_VALUE_NAME.search(name)


def test_rule_is_chosen_from_name_and_values():
    assert column_formatter("p_value", [1.0, 0.5]) is format_p_value
    assert column_formatter("n", [3.0, np.nan, 12345.0]) is format_count
    assert column_formatter("estimate", [3.0, 0.25]) is format_float
    assert column_formatter(("level", "p_value"), [0.1]) is format_p_value


def test_csv_keeps_full_precision_html_and_tex_round(tmp_path):
    df = pd.DataFrame({"model": ["a_1", "b"], "estimate": [0.123456789012, -2.5], "n": [12345.0, np.nan],
                       "k": [3, 4], "p_value": [0.000123456, 0.0456789]})
    out = Outputs("x", None, tmp_path / "run")
    out.save_table(df, "t", caption="Estimates")
    csv = (tmp_path / "run" / "tables" / "t.csv").read_text()
    assert "0.123456789" in csv and "0.000123456" in csv and "12345" in csv
    html = (tmp_path / "run" / "tables" / "t.html").read_text()
    for shown in ("<td>0.1235</td>", "<td>-2.5</td>", "<td>12345</td>", "<td>NaN</td>", "<td>1.23e-04</td>",
                  "<td>0.0457</td>", "<td>3</td>"):
        assert shown in html, shown
    assert "0.123456789" not in html
    tex = (tmp_path / "run" / "tables" / "t.tex").read_text()
    assert "a\\_1 & 0.1235 & 12345 & 3 & 1.23e-04 \\\\" in tex
    assert "\\begin{tabular}{lrrrr}" in tex  # numbers stay right-aligned


def test_report_inline_rows_use_the_same_rule():
    header = ["model", "estimate", "n", "p_value", "id"]
    rows = [["a", "0.123456789", "3", "0.0001234", "007"], ["b", "-2.5", "12", "0.5", "008"],
            ["c", "", "4", "1e-30", "009"]]
    assert format_csv_rows(header, rows) == [
        ["a", "0.1235", "3", "1.23e-04", "007"], ["b", "-2.5", "12", "0.5", "008"], ["c", "", "4", "1.00e-30", "009"]]


def test_latex_escape_matches_pandas_for_special_characters():
    """Tables of ordinary data keep the bytes pandas' own escaping gave them."""
    text = "a_b & 50% $x$ #1 {y} ~z ^w \\v ~ ^ \\ end"
    styled = pd.DataFrame({"c": [text]}).to_latex(index=False, escape=True)
    assert latex_escape(text) in styled
