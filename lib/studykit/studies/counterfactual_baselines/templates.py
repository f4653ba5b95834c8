"""Own-data templates of the workshop kit (:attr:`studykit.contract.registry.Study.templates`).

Cut deterministically from the embedded data, so the committed
``workshop/templates/counterfactual_baselines/`` can be checked
against a regeneration.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd


def own_data_templates(data: Path) -> dict[str, pd.DataFrame]:
    """The template tables of this study, by file name, cut from its embedded data folder ``data``."""
    cf = pd.read_csv(data / "counterfactual.csv", dtype={"prediction": str})
    return {"counterfactual.csv": cf[cf["item_id"].isin(sorted(cf["item_id"].unique())[:40])]}
