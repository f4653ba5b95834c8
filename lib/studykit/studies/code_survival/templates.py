"""Own-data templates of the workshop kit (:attr:`studykit.contract.registry.Study.templates`).

Cut deterministically from the embedded data, so the committed
``workshop/templates/code_survival/`` can be checked
against a regeneration.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd


def own_data_templates(data: Path) -> dict[str, pd.DataFrame]:
    """The template tables of this study, by file name, cut from its embedded data folder ``data``."""
    from .schema import REQUIRED_COLUMNS

    lines = pd.read_csv(data / "line_events_sim.csv")
    repos = sorted(lines["repo"].unique())[:2]
    return {"line_events.csv": lines[lines["repo"].isin(repos)][list(REQUIRED_COLUMNS)]}
