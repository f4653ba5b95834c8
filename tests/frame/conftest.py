"""The frame fixture study, registered as if it were a real study.

``fixture_project`` copies ``tests/frame/fixtures`` into a temporary project
(notebook and study module side by side, its data file, a ``default`` profile
pointing at that copy, a small ``lib/`` stand-in) and points the runner there:
``studykit.studies.STUDIES``/``get_study``, ``paths.notebook_path``,
``paths.lib_dir``, ``paths.params_dir`` and ``STUDYKIT_OUTPUTS``. The real
``lib/`` is hashed by its own test; here a stand-in keeps the cache tests
independent of other people editing the library while the suite runs.
"""
from __future__ import annotations

import importlib
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

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
        p = self.params_dir / NAME / f"{name}.yaml"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
        return p


def _setup(root: Path, monkeypatch) -> FixtureProject:
    import studykit.paths as paths
    import studykit.studies as studies

    nbdir = root / "notebooks"
    nbdir.mkdir(parents=True)
    shutil.copy(FIXTURES / f"{NAME}.ipynb", nbdir / f"{NAME}.ipynb")
    shutil.copy(FIXTURES / f"{NAME}.py", nbdir / f"{NAME}.py")
    data = root / "data" / NAME / "values.csv"
    data.parent.mkdir(parents=True)
    shutil.copy(FIXTURES / "data" / "values.csv", data)
    lib = root / "lib"
    (lib / "pkg").mkdir(parents=True)
    (lib / "pkg" / "helpers.py").write_text("VALUE = 1\n")
    params_root = root / "params"
    outputs = root / "outputs"

    monkeypatch.syspath_prepend(str(nbdir))
    sys.modules.pop(NAME, None)
    module = importlib.import_module(NAME)
    real_get = studies.get_study
    monkeypatch.setattr(studies, "STUDIES", tuple(studies.STUDIES) + (NAME,))
    monkeypatch.setattr(studies, "get_study", lambda n: module if n == NAME else real_get(n))
    real_nb = paths.notebook_path
    monkeypatch.setattr(paths, "notebook_path", lambda s: nbdir / f"{s}.ipynb" if s == NAME else real_nb(s))
    monkeypatch.setattr(paths, "lib_dir", lambda: lib)
    real_params_dir = paths.params_dir
    monkeypatch.setattr(paths, "params_dir",
                        lambda s=None: params_root / s if s == NAME else real_params_dir(s))
    monkeypatch.setenv("STUDYKIT_OUTPUTS", str(outputs))
    proj = FixtureProject(root, nbdir / f"{NAME}.ipynb", data, params_root, lib, outputs, module)
    proj.write_profile("default", f"data_file: {data}\n")
    proj.write_profile("small", f"data_file: {data}\nn_boot: 50\n")
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
