"""Runs of the committed profiles, shared by the tests that read their outputs (once per session, through
the suite's ``study_run``: one run per profile for every module and xdist worker).

Unit: one whole-notebook run of a committed profile; the tests that use it check its outputs.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from studykit.files.paths import resolve

# the medperturb profile reads ../shared/ from the project root; a git worktree elsewhere finds it at /work/shared
MEDPERTURB = resolve("../shared/data/medperturb/data_with_baselines.csv")
if not MEDPERTURB.is_file():
    MEDPERTURB = Path("/work/shared/data/medperturb/data_with_baselines.csv")
BBQ = resolve("../shared/data/bbq_prompt_variants/bbq_gender_predictions.csv.gz")
if not BBQ.is_file():
    BBQ = Path("/work/shared/data/bbq_prompt_variants/bbq_gender_predictions.csv.gz")


@pytest.fixture(scope="session")
def default_run(study_run) -> Path:
    """The default profile (embedded data, every parameter at its default), run once."""
    return study_run("counterfactual_baselines", "default").out_dir


@pytest.fixture(scope="session")
def medperturb_run(study_run) -> Path:
    """The medperturb profile (real data) as committed, run once; skipped when the data are not there."""
    if not MEDPERTURB.is_file():
        pytest.skip("MedPerturb file not available")
    return study_run("counterfactual_baselines", "medperturb", overrides={"data_path": str(MEDPERTURB)}).out_dir


@pytest.fixture(scope="session")
def bbq_gender_run(study_run) -> Path:
    """The bbq_gender profile (real data) as committed, run once; skipped when the data are not there."""
    if not BBQ.is_file():
        pytest.skip(f"BBQ predictions not available ({BBQ}; see docs/studies/counterfactual_baselines.md)")
    return study_run("counterfactual_baselines", "bbq_gender", overrides={"data_path": str(BBQ)}).out_dir
