"""Code survival: do lines written by AI coding agents outlive lines written by people?

Reproduces the design of Rahman & Shihab (2026), "Will It Survive? Deciphering
the Fate of AI-Generated Code in Open Source": mine line units from git
histories (:mod:`.mining`), then Kaplan-Meier, log-rank and Cox models of time
to modification, intent profiles of the ending changes and prediction of
modification-prone lines (:mod:`.analysis`).
"""
from __future__ import annotations

from pathlib import Path

from studykit.registry import Command, Study
from studykit.studies.code_survival.schema import NAME, Params


def write_embedded(out_dir: Path) -> list[Path]:
    """Write the embedded simulated data, its truth and SHA256SUMS into ``out_dir`` (:mod:`.simulate`; imported
    here on use, so that reading a profile's ``Params`` does not import the simulator's numpy and pandas)."""
    from studykit.studies.code_survival.simulate import write_embedded as _write

    return _write(Path(out_dir))


def _templates(data: Path) -> dict:
    """The own-data templates of the workshop kit (:mod:`.templates`; pandas is imported on use)."""
    from studykit.studies.code_survival.templates import own_data_templates

    return own_data_templates(Path(data))


def _add_mine(sub) -> None:
    from studykit.studies.code_survival.cli import add_mine

    add_mine(sub)


def _run_mine(args) -> int:
    from studykit.studies.code_survival.cli import cmd_mine

    return cmd_mine(args)


STUDY = Study(
    name=NAME,
    title="Do lines written by AI coding agents outlive lines written by people?",
    params=Params,
    write_embedded=write_embedded,
    templates=_templates,
    template_rule="2 repositories of the simulated line-events table, the required columns only",
    commands=(Command("mine", _add_mine, _run_mine),),
)

__all__ = ["NAME", "Params", "STUDY", "write_embedded"]
