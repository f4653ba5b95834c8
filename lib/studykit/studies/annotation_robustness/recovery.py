"""Recovery of the planted truth on simulated data (the truth files written by :mod:`.simulate`)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from studykit.paths import resolve

from .analysis import Grid


def truth_dir_for(items_path: str | None) -> Path | None:
    """The folder holding ``truth_hypotheses.csv`` beside the items file, or None (real data)."""
    if not items_path:
        return None
    d = resolve(items_path).parent
    return d if (d / "truth_hypotheses.csv").is_file() and (d / "truth_configurations.csv").is_file() else None


def truth_recovery(grid: Grid, quality: pd.DataFrame, truth_dir: Path, *, big_effect: float = 0.05
                   ) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, float]]:
    """Compare gold conclusions with the planted effects, and measured with planted accuracy.

    Returns ``(hypotheses, configurations, summary)``. Summary keys:
    ``gold_finds_big_effects`` (share of planted effects with |true diff| >= ``big_effect`` that
    the gold test finds with the right sign), ``gold_type_I_on_true_nulls`` (share of planted
    nulls the gold test calls significant; about alpha), ``accuracy_max_abs_error`` and
    ``accuracy_correlation`` (measured accuracy against 1 - planted error rate).
    """
    th = pd.read_csv(truth_dir / "truth_hypotheses.csv", dtype={"group_a": str, "group_b": str})
    h = grid.hypotheses[["hypothesis_id", "gold_effect", "gold_p_value", "gold_conclusion"]].merge(
        th[["hypothesis_id", "true_p_a", "true_p_b", "true_diff", "true_null"]], on="hypothesis_id", how="inner")
    big = ~h["true_null"] & (h["true_diff"].abs() >= big_effect)
    right = np.where(h["true_diff"] > 0, "a_larger", "b_larger")
    found = (h["gold_conclusion"] == right) & big
    nulls = h["true_null"].astype(bool)
    tc = pd.read_csv(truth_dir / "truth_configurations.csv")
    c = quality.merge(tc, on=["model", "prompt", "temperature", "seed"], how="inner")
    c["planted_accuracy_on_valid"] = 1.0 - c["planted_error_rate"]
    err = (c["accuracy"] - c["planted_accuracy_on_valid"]).abs()
    summary = {
        "n_planted_big_effects": int(big.sum()),
        "gold_finds_big_effects": float(found.sum() / big.sum()) if big.any() else np.nan,
        "n_planted_nulls": int(nulls.sum()),
        "gold_type_I_on_true_nulls": float((h.loc[nulls, "gold_conclusion"] != "none").mean()) if nulls.any() else np.nan,
        "accuracy_max_abs_error": float(err.max()),
        "accuracy_correlation": float(np.corrcoef(c["accuracy"], c["planted_accuracy_on_valid"])[0, 1]),
    }
    cfg = c[["model", "prompt", "temperature", "seed", "accuracy", "planted_accuracy_on_valid",
             "planted_systematic_share", "risk"]]
    return h, cfg, summary
