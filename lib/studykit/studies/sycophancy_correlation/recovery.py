"""Recovery of the simulator's planted slopes (simulated data only)."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from studykit.stats.results import Result


def recovery_table(per_model: pd.DataFrame, truth: dict) -> pd.DataFrame:
    """Estimated vs planted slopes (simulated data only): does each CI cover the truth?

    ``truth`` is the simulator's ``truth.json``; ``planted_null`` marks models with slope 0.
    """
    t = pd.DataFrame(truth["models"])[["model", "slope"]].rename(columns={"slope": "true_slope"})
    df = per_model[["model", "slope", "slope_ci_low", "slope_ci_high", "pearson_r", "significant"]].merge(
        t, on="model", how="left")
    df["covered"] = (df["slope_ci_low"] <= df["true_slope"]) & (df["true_slope"] <= df["slope_ci_high"])
    df["error"] = df["slope"] - df["true_slope"]
    df["planted_null"] = df["true_slope"] == 0
    return df[["model", "true_slope", "slope", "slope_ci_low", "slope_ci_high", "covered", "error",
               "planted_null", "pearson_r", "significant"]]


@dataclass(frozen=True)
class RecoverySummary(Result):
    """How many per-model slope CIs cover the planted slope, how many planted nulls are called
    significant, and the planted pooled slope (``recovery.*`` keys)."""

    n_covered: int
    n_models: int
    n_planted_null_significant: int
    true_pooled_slope: float


def recovery_summary(table: pd.DataFrame, truth: dict) -> RecoverySummary:
    """Counts of :func:`recovery_table` and the planted pooled slope of ``truth``."""
    return RecoverySummary(int(table["covered"].sum()), int(len(table)),
                           int((table["planted_null"] & table["significant"]).sum()),
                           float(truth["pooled_slope"]))
