"""The workshop kit: doctor, check, participant workspaces, the lessons site, extras, offline bundles.

Unit: one command or function call on a folder built in the test; no statistics are estimated here.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from studykit import cli

from studykit.files import folders, paths

from studykit.runs import doctor
from studykit.runs.check import compare, snapshot
from studykit.site.docsite import build_docs_site, sources
from studykit.contract.errors import ParamError
from studykit.contract.registry import names
from studykit.contract.extras import require
from studykit.teaching.workshop import YOUR_TURN, init_workspace, participant_copy

from .sitecheck import browser_problems, find_chromium, static_problems

ROOT = paths.project_root()


# ---------------------------------------------------------------------------------------------- doctor
def test_doctor_passes_here_and_names_the_fix_for_a_missing_package(monkeypatch, capsys):
    checks = doctor.run_checks(run=False)
    assert [c.name for c in checks] == ["python", "packages", "extras", "kernel", "write access"]
    assert all(c.ok for c in checks), doctor.format_checks(checks)
    assert cli.main(["doctor", "--no-run"]) == 0
    real = doctor.core_pins
    monkeypatch.setattr(doctor, "core_pins", lambda: {**real(), "surely-not-installed-pkg": "1.0"})
    assert cli.main(["doctor", "--no-run"]) == 1
    out = capsys.readouterr().out
    assert "FAIL  packages" in out and "surely-not-installed-pkg" in out and "fix: make setup" in out


def test_doctor_workshop_run_is_timed_against_its_budget(monkeypatch):
    from studykit.runs.runner import RunResult

    def fake_run(study, **kw):
        return RunResult(study=study, profile="workshop", status="executed", out_dir=kw["out_dir"], seconds=0.0)

    monkeypatch.setattr("studykit.runs.runner.run_study", fake_run)
    fast = doctor._check_run("sycophancy_correlation", budget_seconds=30)
    assert fast.ok and not fast.warn
    slow = doctor._check_run("sycophancy_correlation", budget_seconds=-1)  # any run is slower than this
    assert slow.ok and slow.warn and "more than the budget" in slow.found
    text = doctor.format_checks([fast, slow])
    assert "warn  workshop run" in text and text.endswith("all checks passed (1 warning)")
    monkeypatch.setenv("STUDYKIT_DOCTOR_BUDGET", "45")
    assert doctor.budget_from_env() == 45.0
    monkeypatch.setenv("STUDYKIT_DOCTOR_BUDGET", "soon")
    with pytest.raises(ParamError, match="STUDYKIT_DOCTOR_BUDGET"):
        doctor.budget_from_env()


# ---------------------------------------------------------------------------------------------- check
def _fake_run(folder: Path, results: dict, rows: int = 3) -> Path:
    (folder / "tables").mkdir(parents=True, exist_ok=True)
    (folder / "results.json").write_text(json.dumps(results))
    (folder / "tables" / "t.csv").write_text("a,b\n" + "".join(f"{i},{i}\n" for i in range(rows)))
    return folder


def test_check_tolerances_and_statuses(tmp_path):
    base = {"n": 10, "p": 0.0123456789, "flag": True, "label": "x", "none": None}
    ref = snapshot(_fake_run(tmp_path / "ref", base), "s", "workshop")
    assert compare(ref, tmp_path / "ref").ok
    near = _fake_run(tmp_path / "near", {**base, "p": 0.0123456789 * (1 + 1e-8), "new_key": 1})
    rep = compare(ref, near)
    assert rep.ok and rep.count("extra") == 1
    far = _fake_run(tmp_path / "far", {**base, "p": 0.0124, "n": 11})
    rep = compare(ref, far)
    assert not rep.ok and rep.count("differ") == 2
    gone = _fake_run(tmp_path / "gone", {k: v for k, v in base.items() if k != "label"}, rows=4)
    rep = compare(ref, gone)
    assert rep.count("missing") == 1 and any(r[0] == "tables/t.csv" and r[3] == "differ" for r in rep.rows)


def test_check_cli_exit_codes_and_update(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("studykit.runs.check.reference_path", lambda s, p: tmp_path / "reference" / s / f"{p}.json")
    run = _fake_run(tmp_path / "run", {"n": 1, "x": 0.5})
    assert cli.main(["check", "sycophancy_correlation", "--profile", "workshop", "--run", str(run), "--update"]) == 0
    assert cli.main(["check", "sycophancy_correlation", "--profile", "workshop", "--run", str(run)]) == 0
    (run / "results.json").write_text(json.dumps({"n": 2, "x": 0.5}))
    assert cli.main(["check", "sycophancy_correlation", "--profile", "workshop", "--run", str(run)]) == 1
    out = capsys.readouterr().out
    assert "MISMATCH" in out and "differ" in out
    assert cli.main(["check", "sycophancy_correlation", "--profile", "nope", "--run", str(run)]) == 2


def test_check_all_reports_every_study_when_one_has_no_run(tmp_path, monkeypatch, capsys):
    """Unit: `studykit check all` over an outputs folder where no study has run: one line per study, exit 1
    (was: stopped at the first study with an error)."""
    monkeypatch.setenv("STUDYKIT_OUTPUTS", str(tmp_path / "outputs"))
    assert cli.main(["check", "all", "--profile", "workshop"]) == 1
    lines = capsys.readouterr().out.strip().splitlines()
    assert [ln.split(":")[0] for ln in lines] == [f"{s}/workshop" for s in names()]
    assert all("not checked: " in ln and "results.json is missing (run the study first" in ln for ln in lines)


def _run_from_reference(folder: Path, ref: dict) -> Path:
    """A run folder whose results and table shapes are exactly those of a shipped reference document."""
    (folder / "tables").mkdir(parents=True)
    (folder / "results.json").write_text(json.dumps(ref["results"]))
    for name, shape in ref["tables"].items():
        rows = "".join(",".join("0" for _ in shape["columns"]) + "\n" for _ in range(shape["n_rows"]))
        (folder / "tables" / f"{name}.csv").write_text(",".join(shape["columns"]) + "\n" + rows)
    return folder


def test_check_all_without_profile_covers_every_reference_and_says_why_it_skipped(tmp_path, monkeypatch, capsys):
    """Unit: `studykit check all` with no --profile: every (study, profile) with reference values is checked
    when its run is here; a real-data profile whose input file is absent is skipped naming the parameter and
    path, any other missing run is skipped as not run; exit 1 when a checked run differs."""
    from studykit.runs.check import reference_path, reference_profiles

    assert {"sentiment_real", "default", "workshop"} <= set(reference_profiles("annotation_robustness"))
    assert {"medperturb", "bbq_gender"} <= set(reference_profiles("counterfactual_baselines"))
    assert "agent_repos" in reference_profiles("code_survival")
    assert "ja_tech_blogs" in reference_profiles("lexical_prevalence")
    outputs = tmp_path / "outputs"
    monkeypatch.setenv("STUDYKIT_OUTPUTS", str(outputs))
    ref = json.loads(reference_path("sycophancy_correlation", "workshop").read_text())
    run = _run_from_reference(outputs / "sycophancy_correlation" / "workshop", ref)
    away = tmp_path / "medperturb.yaml"  # the medperturb profile on a machine without ../shared
    away.write_text("data_path: /nonexistent/shared/medperturb.csv\ndata_format: medperturb\n")
    real_profile_file = paths.profile_file
    monkeypatch.setattr(paths, "profile_file", lambda s, p: away if (s, p) == (
        "counterfactual_baselines", "medperturb") else real_profile_file(s, p))
    assert cli.main(["check", "all"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1].startswith("check all: 1 runs checked, 0 differing,")
    assert "sycophancy_correlation/workshop: " in "\n".join(lines) and any(ln.endswith("-> OK") for ln in lines)
    medperturb = next(ln for ln in lines if ln.startswith("counterfactual_baselines/medperturb:"))
    assert "data are not on this machine" in medperturb and "data_path" in medperturb
    assert "/nonexistent/shared/medperturb.csv" in medperturb
    assert "annotation_robustness/default: skipped: not run yet (studykit run annotation_robustness " \
        "--profile default)" in lines
    (run / "results.json").write_text(json.dumps({**ref["results"], next(iter(ref["results"])): "changed"}))
    assert cli.main(["check", "all"]) == 1
    assert "1 differing" in capsys.readouterr().out
    monkeypatch.setenv("STUDYKIT_OUTPUTS", str(tmp_path / "empty"))
    assert cli.main(["check", "all"]) == 1
    assert "nothing to check" in capsys.readouterr().out


# ---------------------------------------------------------------------------------------------- workspace
def test_workspace_init_copies_strips_solutions_and_never_overwrites(tmp_path, monkeypatch):
    ws = tmp_path / "ws"
    rep = init_workspace(ws)
    assert folders.marker_kind(ws) == "workspace" and paths.workspace_root(ws / "notebooks") == ws
    assert sorted(p.name for p in (ws / "notebooks").glob("*.ipynb")) == sorted(
        p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
    for ex in (ws / "exercises").glob("*.ipynb"):
        nb = nbformat.read(ex, as_version=4)
        assert not any("solution" in c.metadata.get("tags", []) for c in nb.cells)
    edited = ws / "notebooks" / "sycophancy_correlation.ipynb"
    edited.write_text("participant's edit")
    again = init_workspace(ws)
    assert edited.read_text() == "participant's edit"
    assert "notebooks/sycophancy_correlation.ipynb" in again.kept and not again.written
    (ws / "my_own.ipynb").write_text("{}")  # a participant's file: init only adds, so it is fine
    init_workspace(ws)
    assert (ws / "my_own.ipynb").read_text() == "{}"
    monkeypatch.delenv("STUDYKIT_OUTPUTS", raising=False)
    monkeypatch.chdir(ws / "notebooks")
    assert paths.outputs_dir() == ws.resolve() / "outputs"
    assert rep.written


def test_workspace_init_refuses_a_folder_with_other_files(tmp_path):
    precious = tmp_path / "thesis"
    (precious / "sub").mkdir(parents=True)
    (precious / "important.txt").write_text("keep me")
    (precious / "sub" / "thesis.tex").write_text("\\section{}")
    before = {p: p.read_bytes() for p in precious.rglob("*") if p.is_file()}
    with pytest.raises(ParamError, match="not empty"):
        init_workspace(precious)
    assert {p: p.read_bytes() for p in precious.rglob("*") if p.is_file()} == before
    assert cli.main(["workshop", "init", str(precious)]) == 2


def test_participant_copy_replaces_solution_cells_only():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("task"),
        nbformat.v4.new_code_cell("answer = 42", metadata={"tags": ["solution"]}),
        nbformat.v4.new_code_cell("assert answer == 42", metadata={"tags": ["check"]}),
    ])
    copy = participant_copy(nb)
    assert [c.source for c in copy.cells] == ["task", YOUR_TURN, "assert answer == 42"]
    assert nb.cells[1].source == "answer = 42"  # the original is untouched


# ---------------------------------------------------------------------------------------------- lessons site
@pytest.fixture(scope="module")
def docs_site(tmp_path_factory):
    out = tmp_path_factory.mktemp("docs") / "site"
    build_docs_site(out)
    return out


def test_lessons_site_has_every_page_and_no_broken_link(docs_site):
    pages = sources()
    names = {p.rel for p in pages}
    assert "index.html" in names
    assert sum(p.section == "Episodes" for p in pages) >= 6
    assert {f"docs/studies/{s}.html" for s in ("code_survival", "sycophancy_correlation")} <= names
    assert not static_problems(docs_site)
    index = (docs_site / "index.html").read_text()
    assert 'href="workshop/episodes/01-sycophancy_correlation.html"' in index


def test_lessons_site_navigation_shows_page_titles_not_file_names(docs_site):
    """Unit: the navigation of the built site. Every link's text is its page's first heading as plain text
    (pages starting at ``##`` showed their file name, e.g. "code_survival"; code spans showed backticks)."""
    import re

    index = (docs_site / "index.html").read_text(encoding="utf-8")
    nav = index[index.index("<nav>"):index.index("</nav>")]
    links = dict(re.findall(r'<a[^>]*href="([^"]+\.html)">([^<]+)</a>', nav))
    pages = sources()
    assert len(links) >= len(pages)
    stems = {p.path.stem for p in pages}
    for href, text in links.items():
        assert not text.endswith((".md", ".html")) and text not in stems, f"{href}: link text {text!r}"
        assert not re.fullmatch(r"[\w-]*[_.][\w.-]*", text), f"{href}: link text {text!r} looks like a file name"
        assert "`" not in text and "**" not in text, f"{href}: Markdown in link text {text!r}"
    for page in pages:
        assert page.title != page.path.stem, page.path


def test_lessons_site_refuses_a_foreign_folder(tmp_path):
    (tmp_path / "mine.txt").write_text("x")
    with pytest.raises(ParamError, match="studykit did not write it"):
        build_docs_site(tmp_path)
    assert (tmp_path / "mine.txt").read_text() == "x"


def test_lessons_site_is_copied_when_its_sources_did_not_change(docs_site, tmp_path, monkeypatch):
    """A rebuild from the same sources (studykit report after a cached reproduce) copies the previous folder
    byte for byte without rendering; a changed source page renders again."""
    import shutil

    import mistune

    def files(folder):
        return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*")
                if p.is_file() and p.name != ".studykit-docs"}

    monkeypatch.setattr(mistune, "create_markdown", lambda *a, **k: pytest.fail("rendered again"))
    build_docs_site(tmp_path / "again", reuse=docs_site)
    assert files(tmp_path / "again") == files(docs_site)
    monkeypatch.undo()

    root = tmp_path / "project"
    for top in ("workshop", "docs"):
        shutil.copytree(ROOT / top, root / top)
    build_docs_site(tmp_path / "copy", root=root, reuse=docs_site)  # same sources elsewhere: reused
    assert files(tmp_path / "copy") == files(docs_site)
    page = root / "docs" / "studies" / "code_survival.md"
    page.write_text(page.read_text(encoding="utf-8") + "\nAn added closing line.\n", encoding="utf-8")
    build_docs_site(tmp_path / "changed", root=root, reuse=docs_site)
    assert "An added closing line." in (tmp_path / "changed" / "docs" / "studies" / "code_survival.html").read_text()
    assert "An added closing line." not in (docs_site / "docs" / "studies" / "code_survival.html").read_text()


@pytest.mark.browser
def test_lessons_site_opens_in_headless_chromium(docs_site):
    chromium = find_chromium()
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (make test installs it via scripts/ensure-chromium.sh)")
    problems, n_pages = browser_problems(docs_site, chromium)
    assert n_pages >= 10 and not problems, problems


# ---------------------------------------------------------------------------------------------- extras, offline
def test_missing_extra_is_one_line_with_the_install_command(monkeypatch):
    monkeypatch.setattr("studykit.contract.extras.installed", lambda extra: False)
    with pytest.raises(ParamError) as info:
        require("japanese", "profile ja_tech_blogs")
    msg = str(info.value)
    assert "\n" not in msg and 'make setup EXTRAS="japanese"' in msg and "requirements/japanese.lock" in msg


def _bundle(lock: Path, bundle: Path) -> Path:
    """``scripts/offline_bundle.py BUNDLE --lock LOCK`` (skipped when the package index cannot be reached)."""
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "offline_bundle.py"), str(bundle),
                           "--lock", str(lock)], capture_output=True, text=True)
    if proc.returncode != 0 and "network" in (proc.stderr + proc.stdout).lower():
        pytest.skip("the package index cannot be reached to build the bundle")
    assert proc.returncode == 0, proc.stderr
    return bundle


def test_offline_bundle_installs_with_no_index(tmp_path):
    """A bundle of two pinned pure-Python packages of the core lock installs into a fresh venv with
    ``pip --no-index --find-links`` (the same command as ``make setup OFFLINE=DIR``)."""
    pins = [ln for ln in (ROOT / "requirements" / "core.lock").read_text().splitlines()
            if ln.startswith(("latex2mathml==", "tqdm=="))]
    assert len(pins) == 2
    lock = tmp_path / "mini.lock"
    lock.write_text("\n".join(pins) + "\n")
    bundle = _bundle(lock, tmp_path / "wheels")
    assert (bundle / "INSTALL.txt").is_file()
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = venv / "bin" / "python"
    pip_wheel = next(bundle.glob("pip-*.whl"))
    subprocess.run([str(py), str(pip_wheel / "pip"), "install", "--quiet", "--no-index", "--find-links", str(bundle),
                    "-r", str(lock)], check=True, env={"PATH": "/usr/bin:/bin", "PIP_CONFIG_FILE": "/dev/null"})
    out = subprocess.run([str(py), "-c", "import tqdm, latex2mathml; print(tqdm.__version__)"],
                         capture_output=True, text=True, check=True).stdout.strip()
    assert pins[1].endswith(out) or pins[0].endswith(out)


def test_offline_bundle_refuses_a_users_folder(tmp_path):
    """Unit: one offline_bundle.py invocation into a prepared folder of a user's files: a one-line refusal,
    exit 2, every file byte for byte, nothing added (the network is never used)."""
    users = tmp_path / "mine"
    (users / "sub").mkdir(parents=True)
    (users / "INSTALL.txt").write_text("my own notes\n")
    (users / "sub" / "thesis.tex").write_text("\\section{x}\n")
    before = {p: p.read_bytes() for p in users.rglob("*") if p.is_file()}
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "offline_bundle.py"), str(users)],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "refusing" in proc.stderr and str(users) in proc.stderr
    assert {p: p.read_bytes() for p in users.rglob("*") if p.is_file()} == before


def test_offline_bundle_downloads_a_no_deps_lock_without_dependencies(tmp_path):
    """Unit: one offline_bundle.py invocation with a lock marked for --no-deps (as requirements/embeddings.lock):
    python-dateutil declares tzdata, which the bundle must not fetch (every bundle downloads exactly the pins of
    its complete locks), and the marked lock is recognised for INSTALL.txt's separate --no-deps line."""
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import offline_bundle
    finally:
        sys.path.pop(0)
    pin = next(ln for ln in (ROOT / "requirements" / "core.lock").read_text().splitlines()
               if ln.startswith("python-dateutil=="))
    lock = tmp_path / "marked.lock"
    lock.write_text("# Install with pip's --no-deps (this lock is complete): a test.\n" + pin + "\n")
    assert offline_bundle.no_deps(lock) and offline_bundle.no_deps(ROOT / "requirements" / "embeddings.lock")
    assert not offline_bundle.no_deps(ROOT / "requirements" / "core.lock")
    bundle = _bundle(lock, tmp_path / "wheels")
    names = {p.name.split("-")[0].lower() for p in bundle.glob("*.whl")}
    assert names == {"python_dateutil", "pip"}, names


def test_studykit_lab_puts_this_installation_first_on_the_path(tmp_path):
    """Unit: one `studykit lab DIR` from a shell whose PATH has no .venv (a fresh terminal): JupyterLab gets
    this installation's bin folder first, so `studykit` and `jupyter` resolve there in its terminal."""
    import shutil

    from studykit.teaching.cli_workshop import lab_command

    exe = Path(sys.executable).parent / "studykit"
    proc = subprocess.run([str(exe), "lab", str(tmp_path), "--dry-run"], capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    assert f"--ServerApp.root_dir={tmp_path}" in proc.stdout and f"PATH starts with {exe.parent}" in proc.stdout
    cmd, env = lab_command(tmp_path, {"PATH": "/usr/bin:/bin"})
    assert shutil.which("studykit", path=env["PATH"]) == str(exe)
    assert shutil.which("jupyter", path=env["PATH"]) == str(exe.parent / "jupyter")
    assert cmd[:3] == [sys.executable, "-m", "jupyterlab"]
    bad = subprocess.run([str(exe), "lab", str(tmp_path / "nope")], capture_output=True, text=True)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "workshop init" in bad.stderr


def test_workspace_init_copies_the_lessons_and_keeps_a_participants_edit(tmp_path):
    """Unit: one workspace. ``init`` puts every lesson page (episodes, own data, setup) under ``lessons/`` so that
    JupyterLab opened on the workspace opens them; a re-init keeps an edited page and restores a deleted one."""
    from studykit.teaching.workshop import LESSONS

    ws = tmp_path / "ws"
    init_workspace(ws)
    wdir = ROOT / "workshop"
    for ep in (wdir / "episodes").glob("*.md"):
        copy = ws / LESSONS / "episodes" / ep.name
        assert copy.read_bytes() == ep.read_bytes(), copy
    assert (ws / LESSONS / "own-data.md").is_file() and (ws / LESSONS / "README.md").is_file()
    assert not list((ws / LESSONS).glob("templates")) and not list((ws / LESSONS).rglob("*.ipynb"))
    assert f"`{LESSONS}/`" in (ws / "README.md").read_text(encoding="utf-8")
    edited = ws / LESSONS / "episodes" / "01-sycophancy_correlation.md"
    edited.write_text("my notes on episode 1\n", encoding="utf-8")
    gone = ws / LESSONS / "own-data.md"
    gone.unlink()
    again = init_workspace(ws)
    assert edited.read_text(encoding="utf-8") == "my notes on episode 1\n"
    assert f"{LESSONS}/episodes/01-sycophancy_correlation.md" in again.kept
    assert again.written == (f"{LESSONS}/own-data.md",) and gone.read_bytes() == (wdir / "own-data.md").read_bytes()
