"""``Outputs.save``: a step's declared exhibits written with one call.

Unit: one step result (a frozen dataclass with ``exhibits(name)``) saved into a fresh run folder.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from studykit.contract.exhibits import Figure, Record, Table, ci_label, html_view
from studykit.contract.issues import DataIssue
from studykit.contract.outputs import Outputs
from studykit.stats.results import TestResult


@dataclass(frozen=True)
class _Step:
    frame: pd.DataFrame
    model: str

    def exhibits(self, name):
        def draw():
            fig, ax = plt.subplots()
            ax.plot(self.frame["x"], self.frame["y"])
            return fig

        return [DataIssue("dropped_rows", 2, "rows without y are left out"),
                Table("fit", self.frame, f"Fit with its {ci_label(0.9)}", formats=("csv",)),
                Figure("fit", draw, "The fit"),
                Record("test", TestResult(statistic=2.0, p_value=0.04, alternative="two-sided", method="t", df=3.0)),
                Record("slope", {name(self.model): 0.5})]


def test_save_writes_every_exhibit_in_order_and_returns_the_step(tmp_path):
    out = Outputs("demo", None, tmp_path / "run")
    step = _Step(pd.DataFrame({"x": [1.0, 2.0], "y": [2.0, 3.0]}), "gpt 4/x")
    assert out.save(step) is step
    out.close()
    run = tmp_path / "run"
    assert (run / "tables" / "fit.csv").read_text().splitlines()[0] == "x,y"
    assert (run / "figures" / "fit.png").is_file() and (run / "figures" / "fit.svg").is_file()
    res = json.loads((run / "results.json").read_text())
    assert res["test.p_value"] == 0.04 and res["data_issues.dropped_rows"] == 2
    slope_keys = [k for k in res if k.startswith("slope.")]
    assert len(slope_keys) == 1 and slope_keys[0] != "slope.gpt 4/x"  # the model's name went through out.name
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["names"][slope_keys[0].split(".", 1)[1]] == "gpt 4/x"
    captions = {e["kind"]: e["caption"] for e in manifest["outputs"] if e["name"] == "fit"}
    assert captions == {"table": "Fit with its 90% CI", "figure": "The fit"}


def test_save_refuses_what_is_not_a_step_or_not_an_exhibit(tmp_path):
    out = Outputs("demo", None, tmp_path / "run")
    with pytest.raises(TypeError, match="declares no exhibits"):
        out.save(pd.DataFrame())

    @dataclass(frozen=True)
    class Bad:
        def exhibits(self, name):
            return ["a table"]

    with pytest.raises(TypeError, match="Bad lists str, not an exhibit"):
        out.save(Bad())


def test_html_view_escapes_text_and_shows_the_table():
    html = html_view(["<b>3 of 5</b>"], pd.DataFrame({"a": [1]}))
    assert "&lt;b&gt;3 of 5&lt;/b&gt;" in html and "<table" in html
