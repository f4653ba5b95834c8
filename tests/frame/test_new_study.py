"""A sixth study is a folder: every command works on it and no shared file is edited.

The frame's fixture study (``tests/frame/fixtures/frame_fixture``: package with ``STUDY``, notebook, embedded
data, multiverse grid, doc) is copied outside the project and registered only by naming its parent folder in
``STUDYKIT_STUDY_PATH`` (:mod:`studykit.contract.registry`). Every command then runs in a fresh ``studykit`` process (no
monkeypatch reaches it): ``list``, ``params``, ``run``, ``check --update`` and ``check``, ``sweep``,
``simulate``, ``workshop init`` and ``report``. The project's tracked and untracked files are the same before
and after (``git status``), so none of this needed an edit to shared code.

Unit: one study folder outside the project and the sequence of commands a study author runs on it.
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from studykit.contract import registry

from studykit.files import paths
from studykit.files.paths import project_root

from .conftest import NAME


def _studykit(*args: str, ok: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "studykit", *args], capture_output=True, text=True, timeout=600)
    if ok:
        assert proc.returncode == 0, f"studykit {' '.join(args)}: {proc.stderr[-2000:]}"
    return proc


def _git_status() -> str:
    proc = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=project_root(),
                          capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        pytest.skip("the project is not a git checkout here")
    return proc.stdout


def test_a_study_folder_outside_the_project_runs_every_command(fixture_project, tmp_path):
    before = _git_status()
    folder = fixture_project.notebook.parent
    assert registry.folder_of(NAME) == folder and registry.get(NAME).name == NAME
    assert paths.notebook_path(NAME) == fixture_project.notebook and paths.multiverse_grid(NAME).is_file()

    listed = _studykit("list").stdout.splitlines()
    row = next(ln for ln in listed if ln.startswith(NAME + " "))
    assert f"{NAME}.ipynb" in row and "default, small" in row
    assert NAME in _studykit("list", "--names").stdout.split()
    assert "n_boot" in _studykit("params", NAME).stdout

    run = _studykit("run", NAME, "--profile", "small", "--quiet")
    out = fixture_project.out("small")
    results = json.loads((out / "results.json").read_text())
    assert results["n"] == 40 and results["diff.ci_low"] < results["diff.estimate"] < results["diff.ci_high"]
    assert "cached" in _studykit("run", NAME, "--profile", "small").stdout  # the study's code is in the key

    _studykit("check", NAME, "--profile", "small", "--update")
    assert (folder / "reference" / "small.json").is_file()  # the study's own folder, not the project's
    assert "0 differing" in _studykit("check", NAME, "--profile", "small").stdout

    sweep = _studykit("sweep", NAME, "--yes")  # the grid: the study folder's params/multiverse.yaml
    table = fixture_project.outputs / NAME / "sweeps" / "multiverse" / "sweep.csv"
    assert table.is_file(), sweep.stdout
    assert len(table.read_text().strip().splitlines()) == 3  # header + the grid's two points

    sim = tmp_path / "simulated"
    _studykit("simulate", NAME, "--out", str(sim))
    assert (sim / "values.csv").read_bytes() == fixture_project.data.read_bytes()

    ws = tmp_path / "workspace"
    _studykit("workshop", "init", str(ws))
    assert (ws / "notebooks" / f"{NAME}.ipynb").read_bytes() == fixture_project.notebook.read_bytes()

    _studykit("report")
    index = (fixture_project.outputs / "site" / "index.html").read_text(encoding="utf-8")
    assert NAME in index and "small" in index

    assert _git_status() == before, "a command wrote into the project"
    assert run.returncode == 0


@pytest.mark.parametrize("case, message", [
    ("no_study", "does not declare itself: its package has no STUDY = Study(...)"),
    ("wrong_name", "declares the name 'other'"),
    ("duplicate", "study 'code_survival' in"),
])
def test_a_bad_study_folder_is_one_line_naming_it(tmp_path, monkeypatch, case, message):
    """Unit: one study folder on STUDYKIT_STUDY_PATH. A folder that does not declare itself, declares another
    name, or reuses a project study's name is refused in one line naming it; a path that is not a folder too."""
    from studykit.contract.errors import ParamError

    name = {"no_study": "plain", "wrong_name": "renamed", "duplicate": "code_survival"}[case]
    body = {"no_study": "X = 1\n",
            "wrong_name": "from studykit.contract.registry import Study\nfrom studykit.contract.params import StudyParams\n"
                          "class Params(StudyParams):\n    study = 'other'\n"
                          "STUDY = Study(name='other', title='t', params=Params)\n",
            "duplicate": "X = 1\n"}[case]
    (tmp_path / name).mkdir()
    (tmp_path / name / "__init__.py").write_text(body)
    monkeypatch.setenv(registry.ENV, str(tmp_path))
    with pytest.raises(ParamError, match=message.replace("(", r"\(").replace(")", r"\)")) as info:
        registry.get(name)
    assert "\n" not in str(info.value)
    monkeypatch.setenv(registry.ENV, str(tmp_path / "missing"))
    with pytest.raises(ParamError, match="is not a folder"):
        registry.names()
    monkeypatch.delenv(registry.ENV)
    with pytest.raises(ParamError, match="unknown study 'plain'"):
        registry.get("plain")
