"""Shared test setup for the whole suite.

- Runs never write into the project's ``outputs/``: ``STUDYKIT_OUTPUTS`` points at
  a per-session temporary folder (the default output folder of ``run_study``).
- Figures render with the Agg backend; no window is ever opened.
- ``sk_outputs`` gives a test its own empty outputs folder.
"""
from __future__ import annotations

import os

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

# Property-based tests (the fuzzers) draw the same examples on every run, so that `make test` and CI are
# deterministic; HYPOTHESIS_PROFILE=explore draws new random examples (and remembers failures) for hunting.
try:
    from hypothesis import settings as _hypothesis_settings

    _hypothesis_settings.register_profile("studykit", derandomize=True, database=None, print_blob=True)
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
