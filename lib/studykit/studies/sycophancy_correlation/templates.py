"""Own-data templates of the workshop kit (:attr:`studykit.contract.registry.Study.templates`).

Cut deterministically from the embedded data, so the committed
``workshop/templates/sycophancy_correlation/`` can be checked
against a regeneration.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd


def own_data_templates(data: Path) -> dict[str, pd.DataFrame]:
    """The template tables of this study, by file name, cut from its embedded data folder ``data``."""
    personas = pd.read_csv(data / "personas.csv", dtype={"persona_id": str})
    models = sorted(personas["model"].unique())[:3]
    personas = personas[personas["model"].isin(models)].groupby("model", sort=True).head(40)
    responses = pd.read_parquet(data / "responses.parquet")
    prompts = sorted(responses["prompt_id"].unique())[:30]
    keep = set(zip(personas["model"], personas["persona_id"]))
    responses = responses[responses["prompt_id"].isin(prompts) & responses["model"].isin(models)]
    responses = responses[[(m, p) in keep or p == "baseline"
                           for m, p in zip(responses["model"], responses["persona_id"])]]
    return {"personas.csv": personas, "responses.csv": responses}
