"""Runs of the committed profiles, shared by the tests that read their outputs (once per session).

Unit: one whole-notebook run of a committed profile; the tests that use it check its outputs.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from studykit.paths import resolve
from studykit.runner import run_study

# the medperturb profile reads ../shared/ from the project root; a git worktree elsewhere finds it at /work/shared
MEDPERTURB = resolve("../shared/data/medperturb/data_with_baselines.csv")
if not MEDPERTURB.is_file():
    MEDPERTURB = Path("/work/shared/data/medperturb/data_with_baselines.csv")


@pytest.fixture(scope="session")
def default_run(tmp_path_factory) -> Path:
    """The default profile (embedded data, every parameter at its default), run once."""
    run = run_study("counterfactual_baselines", profile="default", out_dir=tmp_path_factory.mktemp("cf") / "default")
    assert run.status == "executed"
    return run.out_dir


@pytest.fixture(scope="session")
def medperturb_run(tmp_path_factory) -> Path:
    """The medperturb profile (real data) as committed, run once; skipped when the data are not there."""
    if not MEDPERTURB.is_file():
        pytest.skip("MedPerturb file not available")
    run = run_study("counterfactual_baselines", profile="medperturb", overrides={"data_path": str(MEDPERTURB)},
                    out_dir=tmp_path_factory.mktemp("cf") / "medperturb")
    assert run.status == "executed"
    return run.out_dir
