"""Strings from data and parameters are text in every HTML and LaTeX output, never markup or commands.

A payload carrying ``<script>``, ``<img onerror>``, an attribute break-out and
``\\input{/etc/passwd}`` goes through every string that :class:`Outputs` writes
(table caption, column and index names, cells, ids, figure caption and labels,
recorded strings, data-issue rows, parameter names and values, run and profile
names, a failure message) and through two real studies run on copies of their
embedded data with such names; the report built from them must show the
payload literally and run no script in headless Chromium.

The real-study cases run three notebooks (about two minutes) and are marked
slow; the Outputs-level case is their fast sibling (the same escaping code,
every kind of string, about 20 s).

Unit: one output folder (or one report site) per case; every file in it is checked.
"""
from __future__ import annotations

import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import nbformat  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from studykit.site import report  # noqa: E402
from studykit.contract.issues import DataIssue  # noqa: E402
from studykit.contract.outputs import Outputs  # noqa: E402
from studykit.files.paths import project_root  # noqa: E402
from studykit.files.tablefmt import latex_escape  # noqa: E402

from .sitecheck import SENTINEL, browser_problems, find_chromium, static_problems  # noqa: E402

#: each payload would run a script (setting ``window.__pwned``) or read a file if it were not escaped
PAYLOADS = (
    f"<script>window.{SENTINEL}=1</script>",
    f'<img src=x onerror="window.{SENTINEL}=2">',
    f"'\"><svg onload=window.{SENTINEL}=3>",
    "\\input{/etc/passwd}",
    "& 50% $x_1$ #~^{}",
)
EVIL = " ".join(PAYLOADS)
#: a payload that can be a folder name (no '/'): run, study and profile names
EVIL_DIR = f"<img src=x onerror=window.{SENTINEL}=4>"
#: the raw markup that must never appear in an HTML file
RAW_MARKUP = ("<script>window", "<img src=x", "<svg onload")
#: LaTeX commands an escaped table may contain (pandas' table layout and the escapes)
LATEX_COMMANDS = {"begin", "end", "toprule", "midrule", "bottomrule", "caption", "label", "textbackslash",
                  "textasciitilde", "textasciicircum", "space", "multicolumn", "multirow", "cline"}


class _Text(HTMLParser):
    """The text of an HTML page (entities decoded) and its tags with attributes."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def html_problems(path: Path, must_show: str | None = EVIL) -> list[str]:
    """Raw payload markup or event-handler attributes in an HTML file; ``must_show`` missing from its text."""
    raw = path.read_text(encoding="utf-8")
    problems = [f"{path.name}: raw {m!r}" for m in RAW_MARKUP if m in raw]
    parsed = _Text()
    parsed.feed(raw)
    for tag, attrs in parsed.tags:
        handlers = [a for a in attrs if a.lower().startswith("on")]
        if handlers:
            problems.append(f"{path.name}: <{tag}> has event handler {handlers}")
    if must_show is not None and must_show not in re.sub(r"\s+", " ", "".join(parsed.text)):
        problems.append(f"{path.name}: the payload is not shown literally")
    return problems


def latex_problems(path: Path, must_show: str | None = EVIL) -> list[str]:
    """LaTeX commands other than the table layout and escapes (``\\input`` among them)."""
    tex = path.read_text(encoding="utf-8")
    commands = set(re.findall(r"(?<!\\)(?:\\\\)*\\([A-Za-z]+)", tex))
    problems = [f"{path.name}: command \\{c}" for c in sorted(commands - LATEX_COMMANDS)]
    if must_show is not None and latex_escape(must_show) not in tex:
        problems.append(f"{path.name}: the payload is not printed literally")
    return problems


def _write_run(root: Path) -> Path:
    """An output folder written through Outputs with the payload in every string it takes."""
    folder = root / EVIL_DIR / EVIL_DIR
    out = Outputs(EVIL_DIR, {EVIL: EVIL, "input_path": EVIL, "levels": [EVIL, 1]}, folder)
    table_name = out.name(EVIL)
    df = pd.DataFrame({"id": [EVIL, "plain"], EVIL: [EVIL, "x"], "p_value": [0.01234, 0.5], "n": [3, 4]},
                      index=pd.Index([EVIL, "b"], name=EVIL))
    out.save_table(df, table_name, caption=EVIL, index=True)
    wide = pd.DataFrame([[1.5, EVIL]], columns=pd.MultiIndex.from_tuples([(EVIL, "a"), ("b", EVIL)],
                                                                          names=[EVIL, "level"]))
    out.save_table(wide, "multi_header", caption=EVIL)
    fig, ax = plt.subplots()
    ax.bar([EVIL, "b"], [1, 2])
    ax.set_title(EVIL)
    ax.set_xlabel(EVIL)
    out.save_figure(fig, out.name(EVIL + " figure"), caption=EVIL)
    plt.close(fig)
    out.record(f"estimate.{out.name(EVIL)}", 1.25)
    out.record("label", EVIL)
    out.note_issues(DataIssue(EVIL, 2, EVIL, EVIL))
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(f"# Question about `{EVIL}`"),
                nbformat.v4.new_code_cell("print(name)", execution_count=1,
                                          outputs=[nbformat.v4.new_output("stream", name="stdout", text=EVIL)])]
    nbformat.write(nb, str(folder / "notebook.ipynb"))
    out.close(extra={"run": {"started_at": EVIL, "finished_at": EVIL, "seconds": EVIL, "notebook": EVIL,
                             "profile_file": EVIL, "overrides": [EVIL], "cache_key": EVIL}})
    failed = folder.with_name(EVIL_DIR + "2.failed")
    shutil.copytree(folder, failed)
    (failed / "FAILED.txt").write_text(EVIL, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def evil_run(tmp_path_factory) -> tuple[Path, Path]:
    """(run folder, report site) of the Outputs-level case."""
    root = tmp_path_factory.mktemp("inject") / "outputs"
    folder = _write_run(root)
    site = report.build_report(out_dir=root.parent / "site", outputs_root=root).parent
    return folder, site


def test_table_and_figure_files_escape_every_string(evil_run):
    folder, _ = evil_run
    tables = sorted((folder / "tables").glob("*.html"))
    assert len(tables) == 2
    problems = [p for t in tables for p in html_problems(t)]
    problems += [p for t in sorted((folder / "tables").glob("*.tex")) for p in latex_problems(t)]
    for svg in sorted((folder / "figures").glob("*.svg")):
        text = svg.read_text(encoding="utf-8")
        problems += [f"{svg.name}: raw {m!r}" for m in RAW_MARKUP if m in text]
    assert problems == []


def test_latex_escape_makes_input_inert():
    assert latex_escape("\\input{/etc/passwd}") == "\\textbackslash input\\{/etc/passwd\\}"
    assert latex_escape("a\n\nb ~ c^d") == "a  b \\textasciitilde \\space c\\textasciicircum d"
    assert latex_escape("50% & $5_{1}$ #") == "50\\% \\& \\$5\\_\\{1\\}\\$ \\#"


def test_report_pages_show_the_payload_as_text(evil_run):
    folder, site = evil_run
    page_dir = site / EVIL_DIR / EVIL_DIR
    assert static_problems(site) == []
    problems = html_problems(page_dir / "index.html")
    problems += html_problems(site / "index.html", must_show=EVIL_DIR)
    problems += html_problems(page_dir / "notebook.html")
    failed = site / EVIL_DIR / (EVIL_DIR + "2") / "failed.html"
    assert failed.is_file()
    assert EVIL in re.sub(r"\s+", " ", "".join(_parsed_text(site / "index.html")))  # the failure message
    assert problems == []


def _parsed_text(path: Path) -> list[str]:
    p = _Text()
    p.feed(path.read_text(encoding="utf-8"))
    return p.text


def _browser_check(site: Path) -> tuple[list[str], dict[str, str]]:
    chromium = find_chromium()
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (make test installs it via scripts/ensure-chromium.sh)")
    pytest.importorskip("playwright", reason="the playwright package is not installed in .venv")
    texts: dict[str, str] = {}
    problems, n = browser_problems(site, chromium, texts=texts)
    assert n >= 3
    return problems, texts


@pytest.mark.browser
def test_no_script_runs_in_chromium_and_text_is_literal(evil_run):
    _, site = evil_run
    problems, texts = _browser_check(site)
    assert problems == []
    run_page = f"{EVIL_DIR}/{EVIL_DIR}/index.html"
    shown = {rel: re.sub(r"\s+", " ", t) for rel, t in texts.items()}
    assert EVIL in shown[run_page] and EVIL_DIR in shown["index.html"] and EVIL in shown["index.html"]
    fragments = [rel for rel in shown if "/files/tables/" in rel and rel.endswith(".html")]
    assert len(fragments) == 2 and all(EVIL in shown[rel] for rel in fragments)


# ------------------------------------------------------------------------------------------
# Real studies on copies of their embedded data with malicious names
# ------------------------------------------------------------------------------------------
def _sycophancy_inputs(folder: Path) -> dict[str, str]:
    """The embedded personas and responses with the model 'simlm-0.6b' renamed to the payload."""
    data = project_root() / "data" / "sycophancy_correlation"
    personas = pd.read_csv(data / "personas.csv")
    personas["model"] = personas["model"].replace("simlm-0.6b", EVIL)
    responses = pd.read_parquet(data / "responses.parquet")
    responses["model"] = responses["model"].astype(str).replace("simlm-0.6b", EVIL)
    personas.to_csv(folder / "personas.csv", index=False)
    responses.to_parquet(folder / "responses.parquet", index=False)
    return {"personas_path": str(folder / "personas.csv"), "responses_path": str(folder / "responses.parquet")}


def _annotation_inputs(folder: Path) -> dict[str, str]:
    """The embedded data's hypotheses as an explicit file, one id replaced by the payload (also the
    specification-curve hypothesis, whose id goes into a table caption)."""
    data = project_root() / "data" / "annotation_robustness"
    hyp = pd.read_csv(data / "truth_hypotheses.csv")[
        ["hypothesis_id", "label_value", "group_column", "group_a", "group_b"]]
    hyp.loc[0, "hypothesis_id"] = EVIL
    hyp.to_csv(folder / "hypotheses.csv", index=False)
    return {"hypotheses_path": str(folder / "hypotheses.csv"), "spec_curve_hypothesis": EVIL}


def _counterfactual_inputs(folder: Path) -> dict[str, str]:
    """The embedded counterfactual table with the model 'model_a' renamed to the payload."""
    data = pd.read_csv(project_root() / "data" / "counterfactual_baselines" / "counterfactual.csv",
                       keep_default_na=False, na_values=[""])
    data["model"] = data["model"].replace("model_a", EVIL)
    data.to_csv(folder / "counterfactual.csv", index=False)
    return {"data_path": str(folder / "counterfactual.csv")}


STUDY_CASES = {
    "sycophancy_correlation": _sycophancy_inputs,
    "annotation_robustness": _annotation_inputs,
    "counterfactual_baselines": _counterfactual_inputs,
}


@pytest.fixture(scope="module")
def study_site(tmp_path_factory):
    """Both studies run (workshop profile) on their malicious copies, and the report of the two runs."""
    from studykit.contract.errors import NotebookError
    from studykit.runs.runner import run_study

    root = tmp_path_factory.mktemp("inject_studies")
    outputs = root / "outputs"
    crashed: dict[str, str] = {}
    for study, make_inputs in STUDY_CASES.items():
        inputs = root / "inputs" / study
        inputs.mkdir(parents=True)
        try:
            run_study(study, profile="workshop", overrides=make_inputs(inputs),
                      out_dir=outputs / study / "injection")
        except NotebookError as exc:
            crashed[study] = str(exc).splitlines()[0][:300]
    site = report.build_report(out_dir=root / "site", outputs_root=outputs).parent
    return outputs, site, crashed


@pytest.mark.slow
@pytest.mark.parametrize("study", sorted(STUDY_CASES))
def test_study_outputs_escape_names_from_data(study_site, study):
    outputs, _, crashed = study_site
    if study in crashed:
        pytest.xfail(f"{study} fails on a name from data (the study's bug, not the report's): {crashed[study]}")
    folder = outputs / study / "injection"
    problems = [p for t in sorted(folder.glob("tables/*.html")) for p in html_problems(t, must_show=None)]
    problems += [p for t in sorted(folder.glob("tables/*.tex")) for p in latex_problems(t, must_show=None)]
    assert problems == []
    shown = [t for t in folder.glob("tables/*.html") if EVIL in re.sub(r"\s+", " ", "".join(_parsed_text(t)))]
    assert shown, "no table shows the malicious name: the case does not exercise the escaping"
    assert (folder / "manifest.json").is_file() and json.loads((folder / "manifest.json").read_text())


@pytest.mark.slow
@pytest.mark.browser
def test_study_report_runs_no_script_in_chromium(study_site):
    outputs, site, crashed = study_site
    if len(crashed) == len(STUDY_CASES):
        pytest.xfail(f"every study failed on names from data: {crashed}")
    problems, texts = _browser_check(site)
    assert problems == []
    for study in set(STUDY_CASES) - set(crashed):
        page = re.sub(r"\s+", " ", texts[f"{study}/injection/index.html"])
        assert EVIL in page, f"{study}: the malicious name is not shown literally on the run page"


def test_a_manifest_cannot_make_the_report_copy_files_from_outside_its_run(tmp_path):
    """Unit: one hand-made run folder whose manifest lists paths outside it."""
    run = tmp_path / "run"
    (run / "tables").mkdir(parents=True)
    (run / "tables" / "ok.csv").write_text("a\n1\n")
    (tmp_path / "secret.txt").write_text("secret")
    outputs = [{"path": p, "kind": "table", "name": n, "caption": ""}
               for p, n in (("tables/ok.csv", "ok"), ("../secret.txt", "up"), (str(tmp_path / "secret.txt"), "abs"))]
    (run / "manifest.json").write_text(json.dumps({"study": "sycophancy_correlation", "outputs": outputs}))
    (run / "results.json").write_text("{}")
    site = report.build_report(outputs_root=run, out_dir=tmp_path / "site").parent
    copied = sorted(p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file())
    assert "sycophancy_correlation/run/files/tables/ok.csv" in copied
    assert not any("secret" in p for p in copied)
    page = (site / "sycophancy_correlation" / "run" / "index.html").read_text()
    assert not re.search(r'(href|src)="[^"]*secret', page)
    assert "../secret.txt: outside the run folder; not copied or shown" in page
    assert static_problems(site) == []
