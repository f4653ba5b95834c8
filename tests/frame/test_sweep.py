"""`studykit sweep`: grid files, point names, the table, resuming from the cache, local vs Dask execution.

The executed sweeps use the frame fixture study (a notebook of a few cells, so each point costs one kernel
start) and one real study on its workshop profile with two points.
"""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
import yaml

from studykit.contract.errors import ParamError
from studykit.contract.registry import names
from studykit.sweep import grid as gridmod
from studykit.sweep import load_grid, parse_grid, point_name, run_sweep, sweep_pages
from studykit.sweep.table import conclusion, significance

NAME = "frame_fixture"
ROOT = Path(__file__).resolve().parents[2]
STUDIES = names()
DETERMINISTIC = ("sweep.csv", "sweep.json", "index.html", "speccurve.png")

FIXTURE_GRID = {
    "description": "Fixture <b>sweep</b> & friends",
    "headline": {"label": "mean difference b - a", "estimate": "diff.estimate", "ci_low": "diff.ci_low",
                 "ci_high": "diff.ci_high", "no_effect": 0, "above": "b larger", "below": "a larger"},
    "keys": ["n"],
    "grid": {"n_boot": [20, 40]},
    "specifications": [{"name": "planted_failure", "set": {"fail": True, "n_boot": 20}}],
}


def _write_grid(folder: Path, data: dict, name: str = "fixture_grid.yaml") -> Path:
    p = folder / name
    p.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return p


def _files(folder: Path) -> dict[str, bytes]:
    return {n: (folder / n).read_bytes() for n in DETERMINISTIC}


# ------------------------------------------------------------------------------------------
# grid files (no execution)
# ------------------------------------------------------------------------------------------
def test_grid_crosses_values_and_names_points_deterministically():
    """Unit: one grid file. Crossed points in file order, named from sorted key-value pairs."""
    g = parse_grid({"headline": {"estimate": "x"}, "grid": {"b": [1, 2], "a": ["u v", None]},
                    "specifications": [{"name": "paper", "set": {"a": "w"}}]}, "mv.yaml")
    assert [p.params for p in g.points] == [{"b": 1, "a": "u v"}, {"b": 1, "a": None}, {"b": 2, "a": "u v"},
                                            {"b": 2, "a": None}, {"a": "w"}]
    names = [p.name for p in g.points]
    assert names[1] == "a-null_b-1" and names[4] == "paper" and g.name == "mv"
    assert names[0].startswith("a-u_v_b-1-") and len(set(names)) == 5  # unsafe value: slug with a hash
    assert point_name({"b": 1, "a": None}) == point_name({"a": None, "b": 1})
    assert point_name({"g": [2023, 2024]}) == "g-2023.2024"
    assert g.choices == ("b", "a")


@pytest.mark.parametrize("data, message", [
    ({"headline": {"estimate": "x"}, "grid": {"nope": [1]}}, "'nope' is not a parameter"),
    ({"headline": {"estimate": "x"}, "fixed": {"nope": 1}, "grid": {"a": [1]}}, "'nope' is not a parameter"),
    ({"headline": {"estimate": "x"}}, "name parameters to cross"),
    ({"headline": {"estimate": "x"}, "grid": {"a": 1}}, "must be a non-empty list"),
    ({"grid": {"a": [1]}}, "'estimate'"),
    ({"headline": {"estimate": "x", "ci_low": "l"}, "grid": {"a": [1]}}, "both 'ci_low' and 'ci_high'"),
    ({"headline": {"estimate": "x", "null": 0}, "grid": {"a": [1]}}, "unknown headline key"),
    ({"headline": {"estimate": "x"}, "grid": {"a": [1]}, "specifications": [{"name": "a-1", "set": {"a": 2}}]},
     "both named 'a-1'"),
    ({"headline": {"estimate": "x"}, "grid": {"a": [1]}, "extra": 1}, "unknown key 'extra'"),
])
def test_bad_grid_files_are_one_line_errors_naming_the_file(data, message):
    """Unit: one grid file. Every mistake is a ParamError naming the file, before anything runs."""
    with pytest.raises(ParamError) as exc:
        parse_grid(data, "bad.yaml", param_names={"a", "b"})
    assert message in str(exc.value) and "bad.yaml" in str(exc.value) and "\n" not in str(exc.value)


@pytest.mark.parametrize("study", STUDIES)
def test_shipped_multiverse_files_use_only_parameters_of_the_study(study):
    """Unit: one study's multiverse.yaml. Its choices and fixed values are Params fields; the values validate."""
    from studykit.files.paths import multiverse_grid
    from studykit.contract.registry import get
    from studykit.sweep import study_param_names

    g = load_grid(multiverse_grid(study), param_names=study_param_names(study))
    params_cls = get(study).params
    for p in g.points:
        params_cls.validate_mapping({**g.overrides(p)}, p.name)  # types and ranges, without reading data
    assert g.headline.estimate and 4 <= len(g.points) <= 12


def test_conclusion_reads_significance_from_p_interval_or_flag():
    """Unit: one point's results. p < alpha (a number or the point's parameter), else CI, else a flag."""
    h = gridmod.Headline(estimate="e", ci_low="l", ci_high="h", p="p", alpha="alpha", no_effect=1.0)
    assert significance(h, {"p": 0.02}, {"alpha": 0.05}) is True
    assert significance(h, {"p": 0.02}, {"alpha": 0.01}) is False
    h_ci = gridmod.Headline(estimate="e", ci_low="l", ci_high="h", no_effect=1.0)
    assert significance(h_ci, {"l": 0.7, "h": 0.9}, {}) is True
    assert significance(h_ci, {"l": 0.7, "h": 1.1}, {}) is False
    assert significance(gridmod.Headline(estimate="e", significant="s"), {"s": True}, {}) is True
    assert significance(gridmod.Headline(estimate="e"), {"e": 3.0}, {}) is None
    assert conclusion(h, 0.8, True) == "below" and conclusion(h, 1.2, True) == "above"
    assert conclusion(h, 1.2, False) == "not significant" and conclusion(h, None, None) == ""
    assert conclusion(h, 1.2, None) == "above"  # untested: the side of the no-effect value


# ------------------------------------------------------------------------------------------
# executed sweeps on the fixture study
# ------------------------------------------------------------------------------------------
def test_sweep_table_is_identical_with_one_or_two_jobs_and_on_dask(fixture_project, tmp_path, capsys):
    """Unit: one sweep of three points (two crossed, one named that fails).

    The failing point is a row with its one-line error and does not stop the sweep; the table, summary,
    page and figure are byte-identical whether the points run one at a time, in two processes or on a
    Dask LocalCluster; a repeated sweep is served from the cache.
    """
    from studykit.cli import main

    grid = _write_grid(tmp_path, FIXTURE_GRID)
    one = tmp_path / "jobs1"
    assert main(["sweep", NAME, "--grid", str(grid), "--jobs", "1", "--out", str(one)]) == 1
    captured = capsys.readouterr()
    assert "3/3 points" in captured.err and "1 of 3 points failed" in captured.err
    assert "ETA" in captured.err  # progress: points done / total with the time left

    rows = list(csv.reader(io.StringIO((one / "sweep.csv").read_text())))
    assert rows[0] == ["point", "n_boot", "fail", "diff.estimate", "diff.ci_low", "diff.ci_high", "significant",
                       "conclusion", "n", "status", "error"]
    assert [r[0] for r in rows[1:]] == ["n_boot-20", "n_boot-40", "planted_failure"]
    ok = rows[1]
    assert ok[-2:] == ["ok", ""] and ok[2] == "" and ok[7] in ("above", "below", "not significant") and ok[8] == "40"
    failed = rows[3]
    assert failed[-2] == "failed" and "planted failure for the tests" in failed[-1]
    assert "kept in" not in failed[-1]
    summary = json.loads((one / "sweep.json").read_text())
    assert summary["n_ok"] == 2 and summary["n_failed"] == 1 and sum(summary["counts"].values()) == 2
    page = (one / "index.html").read_text()
    assert "Fixture &lt;b&gt;sweep&lt;/b&gt; &amp; friends" in page and "<b>sweep</b>" not in page
    assert 'src="speccurve.png"' in page and "planted_failure.failed/notebook.ipynb" in page

    two = run_sweep(NAME, grid, jobs=2, out_dir=tmp_path / "jobs2", progress=False)
    assert {r.status for r in two.runs.values()} == {"executed", "failed"}
    assert _files(tmp_path / "jobs2") == _files(one)

    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0") as cluster:
        on_dask = run_sweep(NAME, grid, dask=cluster.scheduler_address, out_dir=tmp_path / "dask",
                            progress=False)
    assert {r.status for r in on_dask.runs.values()} == {"executed", "failed"}
    assert _files(tmp_path / "dask") == _files(one)

    again = run_sweep(NAME, grid, out_dir=one, progress=False)
    assert {n: r.status for n, r in again.runs.items()} == {
        "n_boot-20": "cached", "n_boot-40": "cached", "planted_failure": "failed"}
    assert _files(one) == _files(tmp_path / "jobs2")


def test_interrupted_sweep_resumes_from_the_cache(fixture_project, tmp_path, monkeypatch):
    """Unit: one sweep of two points, interrupted (Ctrl-C) after its first point, then run again.

    The finished point is served from the cache, only the other one executes, and the table equals that
    of a sweep that ran through.
    """
    from studykit.sweep import execute

    data = {**FIXTURE_GRID, "specifications": []}
    grid = _write_grid(tmp_path, data)
    through = run_sweep(NAME, grid, out_dir=tmp_path / "through", progress=False)
    assert {r.status for r in through.runs.values()} == {"executed"}

    real_update = execute.Progress.update

    def interrupt_after_first(self, run):
        real_update(self, run)
        raise KeyboardInterrupt

    monkeypatch.setattr(execute.Progress, "update", interrupt_after_first)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(NAME, grid, out_dir=tmp_path / "resumed", progress=False)
    monkeypatch.setattr(execute.Progress, "update", real_update)
    assert not (tmp_path / "resumed" / "sweep.csv").exists()

    resumed = run_sweep(NAME, grid, out_dir=tmp_path / "resumed", progress=False)
    assert {n: r.status for n, r in resumed.runs.items()} == {"n_boot-20": "cached", "n_boot-40": "executed"}
    assert _files(tmp_path / "resumed") == _files(tmp_path / "through")

    # a sweep over a subset first (points=...), then the whole grid: the subset is cached
    part = run_sweep(NAME, grid, out_dir=tmp_path / "subset", points=["n_boot-40"], progress=False)
    assert [r["status"] for r in part.rows] == ["failed", "ok"] and part.rows[0]["error"] == "not run"
    whole = run_sweep(NAME, grid, out_dir=tmp_path / "subset", progress=False)
    assert {n: r.status for n, r in whole.runs.items()} == {"n_boot-20": "executed", "n_boot-40": "cached"}
    assert _files(tmp_path / "subset") == _files(tmp_path / "through")


def test_sweep_pages_lists_every_sweep_and_refuses_foreign_folders(fixture_project, tmp_path):
    """Unit: one outputs root. Pages are found as (study, name, relative path); a folder studykit did not
    write is never written into."""
    data = {**FIXTURE_GRID, "grid": {"n_boot": [20]}, "specifications": []}
    grid = _write_grid(tmp_path, data, "tiny.yaml")
    res = run_sweep(NAME, grid, progress=False)
    assert res.out_dir == fixture_project.outputs / NAME / "sweeps" / "tiny"
    assert sweep_pages(fixture_project.outputs) == [(NAME, "tiny", f"{NAME}/sweeps/tiny/index.html")]

    # the report copies the sweep's page, table, figure and point notebooks and links them from its index
    from studykit.site.report import build_report

    from .sitecheck import static_problems

    index = build_report(tmp_path / "site", fixture_project.outputs)
    assert f'href="sweeps/{NAME}/tiny/index.html"' in index.read_text()
    assert (tmp_path / "site" / "sweeps" / NAME / "tiny" / "sweep.csv").is_file()
    assert not static_problems(tmp_path / "site")

    # a sweep killed before its first point finished leaves its marker, the runner's lock file and
    # temporary folder: resumable
    from studykit.files import folders
    killed = tmp_path / "killed"
    killed.mkdir()
    folders.seal(killed, "sweep", files=["sweep.csv", "index.html"])
    (killed / ".n_boot-20.studykit-lock").write_text("")
    folders.temp_dir_beside(killed / "n_boot-20", "run")
    run_sweep(NAME, grid, out_dir=killed, progress=False)
    assert (killed / "sweep.csv").is_file()

    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(ParamError, match="studykit did not write it"):
        run_sweep(NAME, grid, out_dir=foreign, progress=False)
    assert sorted(p.name for p in foreign.iterdir()) == ["notes.txt"]


# ------------------------------------------------------------------------------------------
# a real study, two points of its shipped multiverse on the workshop profile
# ------------------------------------------------------------------------------------------
def test_real_multiverse_two_points_on_workshop(tmp_path):
    """Unit: two specifications of lexical_prevalence's multiverse.yaml on the workshop profile (en, de).

    The headline result key exists in the study's results.json, so every point has an estimate and a
    conclusion; the figure and page are written.
    """
    g = load_grid(ROOT / "params" / "lexical_prevalence" / "multiverse.yaml")
    chosen = [p.name for p in g.points if p.params["post_years"] == [2023, 2024]][:2]
    res = run_sweep("lexical_prevalence", ROOT / "params" / "lexical_prevalence" / "multiverse.yaml",
                    profile="workshop", out_dir=tmp_path / "mv", points=chosen, progress=False)
    done = [r for r in res.rows if r["point"] in chosen]
    assert [r["status"] for r in done] == ["ok", "ok"], [r["error"] for r in done]
    assert all(isinstance(r[g.headline.estimate], float) and r["conclusion"] for r in done)
    assert (tmp_path / "mv" / "speccurve.png").stat().st_size > 1000
