"""Shared test setup for the whole suite.

- Runs never write into the project's ``outputs/``: ``STUDYKIT_OUTPUTS`` points at
  a per-session temporary folder (the default output folder of ``run_study``).
- Figures render with the Agg backend; no window is ever opened.
- ``sk_outputs`` gives a test its own empty outputs folder.
- ``study_run(study, profile)`` executes a study profile once per session and shares its run folder
  between every test that reads it, across pytest-xdist workers (``make test`` runs them in parallel).
"""
from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path
from typing import Any, Callable, Mapping

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

# Property-based tests (the fuzzers) draw the same examples on every run, so that `make test` and CI are
# deterministic; HYPOTHESIS_PROFILE=explore draws new random examples (and remembers failures) for hunting.
try:
    from hypothesis import settings as _hypothesis_settings

    _hypothesis_settings.register_profile("studykit", derandomize=True, database=None, print_blob=True,
                                          deadline=None)  # no timing: tests run in parallel (xdist)
    _hypothesis_settings.register_profile("explore", derandomize=False)
    _hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "studykit"))
except ImportError:  # pragma: no cover - hypothesis is in the dev extra
    pass


@pytest.fixture(scope="session", autouse=True)
def _isolated_outputs(tmp_path_factory):
    old = os.environ.get("STUDYKIT_OUTPUTS")
    os.environ["STUDYKIT_OUTPUTS"] = str(tmp_path_factory.mktemp("outputs"))
    yield
    if old is None:
        os.environ.pop("STUDYKIT_OUTPUTS", None)
    else:
        os.environ["STUDYKIT_OUTPUTS"] = old


@pytest.fixture
def sk_outputs(tmp_path, monkeypatch):
    """A fresh outputs root for one test (also the default of ``studykit run``)."""
    root = tmp_path / "outputs"
    monkeypatch.setenv("STUDYKIT_OUTPUTS", str(root))
    return root


# ---- runs shared by the whole session ------------------------------------------------------------------
def shared_session_dir(tmp_path_factory) -> Path:
    """A folder every pytest-xdist worker of this session sees (the controller's base temp), else the base temp.

    Under xdist each worker's base temp is ``<session base temp>/popen-gwN``; its parent is the session's.
    """
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent
    return base


def _snapshot(folder: Path) -> dict[str, str]:
    """Every file of ``folder`` (relative path) with the SHA-256 of its bytes."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _read_only(folder: Path) -> None:
    """Make the files of a shared run read-only (an accidental write fails, except for root; the
    session-end check below catches that too)."""
    for p in folder.rglob("*"):
        if p.is_file():
            p.chmod(p.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


@pytest.fixture(scope="session")
def shared_runs_root(tmp_path_factory) -> Path:
    """The outputs root of the shared runs (``<study>/<run name>`` below it), the same in every worker."""
    return shared_session_dir(tmp_path_factory) / "shared-runs"


@pytest.fixture(scope="session")
def study_run(shared_runs_root) -> Callable[..., Any]:
    """``study_run(study, profile="workshop", overrides=None)``: the run of that profile, shared and read-only.

    Every test of the session (and every xdist worker) that asks for the same study, profile and overrides gets
    the same folder, ``<session temp>/shared-runs/<study>/<run name>``: the first call executes the notebook
    through :func:`studykit.runs.runner.run_study`; later calls, here or in another worker (which waits on the
    runner's folder lock), find it in the runner's own cache. The returned ``RunResult`` always names a
    complete run (:func:`studykit.runs.cachekey.cached_run_valid`); its ``status`` says whether this call executed it.

    Tests only read a shared run: its files are made read-only, and when the session ends every shared run used
    by this process must still hold exactly the files it had (same bytes, nothing added or removed), else the
    session fails naming the folder and the files. A test that needs a changed run makes its own
    (``run_study(..., out_dir=tmp_path / ...)``).
    """
    from studykit.runs.cachekey import cached_run_valid
    from studykit.runs.runner import run_study

    root = shared_runs_root
    seen: dict[Path, dict[str, str]] = {}

    def get(study: str, profile: str = "workshop", overrides: Mapping[str, Any] | None = None):
        res = run_study(study, profile=profile, overrides=dict(overrides) if overrides else None, out_root=root,
                        progress=False)
        assert cached_run_valid(res.out_dir, res.cache_key), f"{res.out_dir} is not a complete run"
        if res.out_dir in seen:
            assert res.status == "cached" and _snapshot(res.out_dir) == seen[res.out_dir], (
                f"a test changed the shared run {res.out_dir}")
        else:
            _read_only(res.out_dir)
            seen[res.out_dir] = _snapshot(res.out_dir)
        return res

    yield get
    changed = []
    for folder, files in seen.items():
        now = _snapshot(folder) if folder.is_dir() else {}
        diff = sorted(k for k in files.keys() | now.keys() if files.get(k) != now.get(k))
        if diff:
            changed.append(f"{folder}: {', '.join(diff[:5])}")
    assert not changed, "tests changed shared run folders (make your own run instead): " + "; ".join(changed)
