"""Reliability of the agreeableness score: Cronbach's alpha of the item answers per model and overall."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from studykit import stats
from studykit.contract.issues import DataIssue, examples
from studykit.stats.results import Result

RELIABILITY_COLUMNS = ["model", "n", "k", "alpha", "ci_low", "ci_high", "note"]
ALL_MODELS = "all models"


def _alpha_row(items: pd.DataFrame, confidence: float) -> dict:
    res = stats.cronbach_alpha(items.to_numpy(dtype=float), confidence=confidence)
    return {"n": res.n, "k": items.shape[1], "alpha": res.estimate, "ci_low": res.ci_low, "ci_high": res.ci_high,
            "note": res.note}


def reliability_table(items: pd.DataFrame | None,
                      confidence: float = 0.95) -> tuple[pd.DataFrame, tuple[DataIssue, ...]]:
    """Cronbach's alpha (:func:`studykit.stats.cronbach_alpha`, Feldt CI) of the reverse-keyed items,
    per model and over all rows (model "all models").

    Returns ``(table, issues)``: an empty table without item columns; one issue naming the
    rows whose alpha is undefined (fewer than 2 complete personas, or no variance).
    """
    if items is None:
        return pd.DataFrame(columns=RELIABILITY_COLUMNS), ()
    item_cols = [c for c in items.columns if c not in ("model", "persona_id")]
    rows = [{"model": m, **_alpha_row(s[item_cols], confidence)} for m, s in items.groupby("model", sort=True)]
    rows.append({"model": ALL_MODELS, **_alpha_row(items[item_cols], confidence)})
    table = pd.DataFrame(rows)[RELIABILITY_COLUMNS]
    undefined = table[table["alpha"].isna()]
    issues = ()
    if len(undefined):
        issues = (DataIssue("reliability_undefined", len(undefined),
                            "Cronbach's alpha undefined (fewer than 2 complete personas, or an item sum without "
                            "variance): left empty with the reason in reliability.note",
                            examples(undefined["model"])),)
    return table, issues


@dataclass(frozen=True)
class Reliability(Result):
    """``alpha_all_models``: alpha over every persona row; ``alpha_min_model``: the lowest per-model alpha
    (undefined alphas are skipped; None in ``results.json`` when no alpha is defined, with a data issue)."""

    alpha_all_models: float
    alpha_min_model: float


def reliability_summary(table: pd.DataFrame) -> Reliability | None:
    """The two reliability numbers recorded in ``results.json``, or None without item columns."""
    if not len(table):
        return None
    per_model = table.loc[table["model"] != ALL_MODELS, "alpha"].to_numpy(dtype=float)
    overall = float(table.loc[table["model"] == ALL_MODELS, "alpha"].iloc[0])
    lowest = float(np.nanmin(per_model)) if np.isfinite(per_model).any() else float("nan")
    return Reliability(overall, lowest)
