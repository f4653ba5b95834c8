"""The frame fixture study, registered the way any study outside the project is.

``fixture_project`` copies the study folder ``tests/frame/fixtures/frame_fixture`` (package, notebook, data)
into a temporary folder, adds ``default`` and ``small`` profiles pointing at that copy's data, and registers it
by naming the folder's parent in ``STUDYKIT_STUDY_PATH`` (:mod:`studykit.contract.registry`). It also points
``paths.lib_dir`` at a small ``lib/`` stand-in and ``STUDYKIT_OUTPUTS`` at the project's own outputs: the real
``lib/`` is hashed by its own test; the stand-in keeps the cache tests independent of other people editing
the library while the suite runs.
"""
from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from studykit.contract import registry
FIXTURES = Path(__file__).parent / "fixtures"
NAME = "frame_fixture"


@dataclass
class FixtureProject:
    root: Path
    notebook: Path
    data: Path
    params_dir: Path
    lib: Path
    outputs: Path
    module: object

    def out(self, profile: str = "default") -> Path:
        return self.outputs / NAME / profile

    def write_profile(self, name: str, text: str) -> Path:
        p = self.params_dir / f"{name}.yaml"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
        return p


def _setup(root: Path, monkeypatch) -> FixtureProject:
    import studykit.files.paths as paths

    studies = root / "studies"
    folder = studies / NAME
    shutil.copytree(FIXTURES / NAME, folder)
    lib = root / "lib"
    (lib / "pkg").mkdir(parents=True)
    (lib / "pkg" / "helpers.py").write_text("VALUE = 1\n")
    outputs = root / "outputs"

    monkeypatch.setenv(registry.ENV, str(studies))  # the one registration: a study folder outside the project
    monkeypatch.setattr(paths, "lib_dir", lambda: lib)
    monkeypatch.setenv("STUDYKIT_OUTPUTS", str(outputs))
    sys.modules.pop(NAME, None)
    proj = FixtureProject(root, folder / f"{NAME}.ipynb", folder / "data" / "values.csv", folder / "params", lib,
                          outputs, registry.module(NAME))
    proj.write_profile("default", f"data_file: {proj.data}\n")
    proj.write_profile("small", f"data_file: {proj.data}\nn_boot: 50\n")
    return proj


@pytest.fixture
def fixture_project(tmp_path, monkeypatch) -> FixtureProject:
    yield _setup(tmp_path / "project", monkeypatch)
    sys.modules.pop(NAME, None)


@pytest.fixture(scope="module")
def fixture_project_module(tmp_path_factory) -> FixtureProject:
    """The same, shared by the tests of one module (for read-only checks of one run)."""
    with pytest.MonkeyPatch.context() as mp:
        yield _setup(tmp_path_factory.mktemp("project"), mp)
    sys.modules.pop(NAME, None)
