"""Code survival: do lines written by AI coding agents outlive lines written by people?

Reproduces the design of Rahman & Shihab (2026), "Will It Survive? Deciphering
the Fate of AI-Generated Code in Open Source": mine line units from git
histories (:mod:`.mining`), then Kaplan-Meier, log-rank and Cox models of time
to modification, intent profiles of the ending changes and prediction of
modification-prone lines (:mod:`.analysis`); :mod:`.steps` holds the notebook's
steps and :mod:`.saves` what each saves (``out.save(step)``).
"""
from __future__ import annotations

from pathlib import Path

from studykit.contract.registry import Command, Study
from studykit.studies.code_survival.schema import NAME, Params


def write_embedded(out_dir: Path) -> list[Path]:
    """Write the embedded simulated data, its truth and SHA256SUMS into ``out_dir`` (:mod:`.simulate`; imported
    here on use, so that reading a profile's ``Params`` does not import the simulator's numpy and pandas)."""
    from studykit.studies.code_survival.simulate import write_embedded as _write

    return _write(Path(out_dir))


STUDY = Study(
    name=NAME,
    title="Do lines written by AI coding agents outlive lines written by people?",
    params=Params,
    write_embedded=write_embedded,
    templates="studykit.studies.code_survival.templates:own_data_templates",
    template_rule="2 repositories of the simulated line-events table, the required columns only",
    commands=(Command("mine", "studykit.studies.code_survival.cli:add_mine",
                      "studykit.studies.code_survival.cli:cmd_mine"),),
)

__all__ = ["NAME", "Params", "STUDY", "write_embedded"]
