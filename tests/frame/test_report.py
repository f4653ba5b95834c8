"""The report: offline notebook HTML, exhibits traced to cells, every link resolves, opens in chromium.

Unit: one report site built from the fixture project's runs (one folder of HTML pages), or one
HTML string for the converters.
"""
from __future__ import annotations

import json
import re

import pytest

from studykit import cli

from studykit.site import report
from studykit.runs.runner import run_study

from .sitecheck import browser_problems, find_chromium, static_problems

NAME = "frame_fixture"


@pytest.fixture(scope="module")
def site(fixture_project_module):
    run_study(NAME)
    code = cli.main(["report"])
    assert code == 0
    return fixture_project_module.outputs / "site"


def test_report_pages_list_exhibits_numbers_and_manifest(site, fixture_project_module):
    fixture_project = fixture_project_module
    index = (site / "index.html").read_text()
    assert f'href="{NAME}/default/index.html"' in index
    assert "Not run yet" in index  # the five real studies have no runs in this temporary project
    page = (site / NAME / "default" / "index.html").read_text()
    # exhibit list: Table/Figure -> caption -> cell (linked into the notebook page) -> files
    assert "Table 1" in page and "Figure 1" in page
    assert "Values by group" in page and "Bootstrap distribution of the difference" in page
    assert 'href="notebook.html#cell-id=cell-05"' in page  # the table's cell in the committed notebook
    assert 'href="files/tables/group_summary.csv"' in page and 'href="files/tables/group_summary.tex"' in page
    assert 'src="files/figures/bootstrap.png"' in page
    # the inline table is rounded for reading (4 significant digits); the copied CSV keeps full precision
    assert "<td>0.7812</td>" in page and "0.7811844534" not in page
    assert "0.7811844534" in (site / NAME / "default" / "files" / "tables" / "group_summary.csv").read_text()
    results = json.loads((fixture_project.out() / "results.json").read_text())
    assert "diff.estimate" in page and f"{results['diff.estimate']:.6g}" in page
    assert "manifest.json" in page and "cache key" in page
    # copied files are the run's files
    for rel in ("tables/group_summary.csv", "figures/bootstrap.png", "results.json", "manifest.json"):
        assert (site / NAME / "default" / "files" / rel).read_bytes() == (fixture_project.out() / rel).read_bytes()


def test_index_links_the_replication_scorecard_and_it_says_what_has_not_run(site):
    """Unit: the scorecard page of a site whose project ran no real-data profile: every headline is named, each
    real-data cell says "not run" with the command, and the index and the docs navigation link it."""
    assert 'href="scorecard.html"' in (site / "index.html").read_text()
    page = (site / "scorecard.html").read_text()
    assert "Replication scorecard" in page and "HR 0.842" in page
    assert "not run (studykit run code_survival --profile agent_repos)" in page
    assert "status-ok" not in page.split("<table>", 1)[1]  # no verdict without a run
    docs = site / "docs" / "index.html"
    if docs.is_file():
        assert 'href="../scorecard.html"' in docs.read_text()


def test_index_shows_the_overridden_settings_of_a_run(fixture_project_module, tmp_path):
    """Unit: one run with --set overrides (folder default+<hash>): the index row names the overridden keys and
    values, so a participant's variant runs are told apart (issue 23, item 5). The run is removed afterwards:
    the other tests of this module count the fixture project's runs."""
    import shutil

    res = run_study(NAME, overrides={"n_boot": 123, "alpha": 0.01})
    try:
        html = report.build_report(out_dir=tmp_path / "site").read_text()
        assert res.out_dir.name.startswith("default+") and res.out_dir.name in html
        assert "--set alpha=0.01, n_boot=123" in html
    finally:
        shutil.rmtree(res.out_dir)


def test_notebook_html_is_offline_with_math_as_mathml(site):
    html = (site / NAME / "default" / "notebook.html").read_text()
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=[\"']https?://", html, re.I)
    assert "cdnjs" not in html and "mathjax" not in html.lower()
    assert "<math" in html and "STUDYKITMATH" not in html
    assert 'id="cell-id=cell-05"' in html


def test_every_link_and_image_resolves(site):
    assert static_problems(site) == []


def test_offline_html_strips_cdn_scripts_and_styles():
    html = ('<script src="https://cdn.x/require.js"></script><link rel="stylesheet" href="http://cdn.x/a.css">'
            '<script type="text/x-mathjax-config">MathJax.Hub.Config({})</script>'
            '<script type="module">import m from "https://cdn.x/mermaid.mjs"</script>'
            '<a href="https://doi.org/10.1/x">paper</a>')
    assert report.offline_html(html) == '<a href="https://doi.org/10.1/x">paper</a>'


def test_math_outside_code_becomes_mathml_and_code_is_untouched():
    store: dict[str, str] = {}
    src = "Cost $5 and $6. Formula $\\beta_1$ and\n$$x^2$$\n`$not math$`\n```\n$also not$\n```"
    out = report._protect_math(src, store)
    assert "`$not math$`" in out and "$also not$" in out and "Cost $5 and $6." in out
    assert len(store) == 2
    values = list(store.values())
    assert values[0].startswith("<math") and 'display="inline"' in values[0]
    assert 'display="block"' in values[1]


@pytest.mark.browser
def test_site_opens_in_headless_chromium_without_errors(site):
    chromium = find_chromium()
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (make test installs it via scripts/ensure-chromium.sh)")
    pytest.importorskip("playwright", reason="the playwright package is not installed in .venv")
    problems, n_pages = browser_problems(site, chromium)
    assert n_pages >= 3
    assert problems == []


def test_rebuilding_the_report_reuses_unchanged_notebook_pages(site, monkeypatch):
    page = site / NAME / "default" / "notebook.html"
    before = page.read_bytes()
    calls = []
    real = report.notebook_to_html
    monkeypatch.setattr(report, "notebook_to_html", lambda *a, **k: calls.append(a) or real(*a, **k))
    assert cli.main(["report"]) == 0
    assert calls == [], "an unchanged run's notebook was converted again"
    assert page.read_bytes() == before


def test_output_files_and_folders_are_readable_by_others(site):
    import os
    import stat

    mask = os.umask(0)
    os.umask(mask)
    for p in [site, site / "index.html", site / NAME / "default" / "files" / "tables" / "group_summary.csv"]:
        mode = stat.S_IMODE(p.stat().st_mode)
        expected = (0o777 if p.is_dir() else 0o666) & ~mask
        assert mode == expected, f"{p}: {oct(mode)} != {oct(expected)}"


def test_notebook_title_is_the_first_markdown_heading(tmp_path):
    from studykit.site.report import notebook_title

    nb = {"cells": [{"cell_type": "code", "source": "# not a heading\n"},
                    {"cell_type": "markdown", "source": ["Intro\n", "# The question?\n"]}]}
    (tmp_path / "a.ipynb").write_text(json.dumps(nb))
    assert notebook_title(tmp_path / "a.ipynb") == "The question?"
    assert notebook_title(tmp_path / "missing.ipynb") == ""


def test_report_of_one_run_folder(site, fixture_project_module, capsys):
    """`studykit report RUN_FOLDER` builds a site of that run alone, beside it in RUN_FOLDER.site by
    default; the run folder gets no ``site/`` (it did: a run folder then held a folder the run did not write).

    Unit: one run folder.
    """
    import shutil

    run_folder = fixture_project_module.out()
    before = {p.relative_to(run_folder).as_posix(): p.read_bytes() if p.is_file() else None
              for p in run_folder.rglob("*")}
    one = run_folder.with_name(run_folder.name + report.SITE_SUFFIX)
    try:
        assert cli.main(["report", str(run_folder)]) == 0
        assert one.name == "default.site" and not (run_folder / "site").exists()
        assert {p.relative_to(run_folder).as_posix(): p.read_bytes() if p.is_file() else None
                for p in run_folder.rglob("*")} == before
        assert str(one / "index.html") in capsys.readouterr().out
        index = (one / "index.html").read_text()
        assert f'href="{NAME}/default/index.html"' in index and "Not run yet" not in index
        page = (one / NAME / "default" / "index.html").read_text()
        assert "Values by group" in page and 'href="notebook.html#cell-id=cell-05"' in page
        assert (one / NAME / "default" / "files" / "tables" / "group_summary.csv").read_bytes() == \
            (run_folder / "tables" / "group_summary.csv").read_bytes()
        assert static_problems(one) == []
        # the run folder's own files are untouched, and the full report does not take the site for a run
        assert json.loads((run_folder / "manifest.json").read_text())["run"]
        assert [r.folder for r in report.find_runs(fixture_project_module.outputs)] == [run_folder]
        # asked to write inside the run folder: one line, nothing written
        assert cli.main(["report", str(run_folder), "--out", str(run_folder / "site")]) == 2
        assert "inside the run folder" in capsys.readouterr().err and not (run_folder / "site").exists()
    finally:
        shutil.rmtree(one, ignore_errors=True)
    one.mkdir()  # a folder of the user's where the site would go: refused, kept
    (one / "mine.txt").write_text("mine")
    try:
        assert cli.main(["report", str(run_folder)]) == 2
        assert (one / "mine.txt").read_text() == "mine" and sorted(p.name for p in one.iterdir()) == ["mine.txt"]
    finally:
        shutil.rmtree(one)


def test_report_of_an_interactive_run_folder(fixture_project_module, tmp_path):
    """A run written from a notebook session (no executed notebook, no runner section) is reported too.

    Unit: one interactive output folder.
    """
    import pandas as pd

    from studykit.contract.outputs import Outputs

    out = Outputs("frame_fixture", {"n_boot": 10}, tmp_path / "interactive")
    out.save_table(pd.DataFrame({"group": ["a", "b"], "mean": [1.5, 2.25]}), "means", caption="Group means")
    out.record("diff.estimate", 0.75)
    out.close()
    index = report.build_report(outputs_root=tmp_path / "interactive")
    assert index == tmp_path / f"interactive{report.SITE_SUFFIX}" / "index.html"  # beside the run, never inside
    assert not (tmp_path / "interactive" / "site").exists()
    page = (index.parent / NAME / "interactive" / "index.html").read_text()
    assert "Group means" in page and "diff.estimate" in page and "notebook.html" not in page
    assert "n_boot" in page
    assert static_problems(index.parent) == []


def test_report_of_a_missing_folder_is_a_one_line_error(tmp_path, capsys):
    assert cli.main(["report", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "nope" in err
    assert cli.main(["report", str(tmp_path), "--outputs", str(tmp_path)]) == 2
