"""Own-data templates of the workshop kit (:attr:`studykit.contract.registry.Study.templates`).

Cut deterministically from the embedded data, so the committed
``workshop/templates/annotation_robustness/`` can be checked
against a regeneration.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd


def own_data_templates(data: Path) -> dict[str, pd.DataFrame]:
    """The template tables of this study, by file name, cut from its embedded data folder ``data``."""
    items = pd.read_csv(data / "items.csv", dtype=str).head(300)
    ann = pd.read_parquet(data / "annotations.parquet")
    first_models = sorted(ann["model"].unique())[:2]
    ann = ann[ann["item_id"].isin(items["item_id"]) & ann["model"].isin(first_models)]
    return {"items.csv": items, "annotations.csv": ann}
