"""Effect sizes against gold: sign and magnitude errors of every configuration, significant or not.

With many items nearly every test is significant, so the significance-based risk mostly
measures power; the effect sizes say how far each configuration's estimate
:math:`\\hat\\Delta = \\hat p_a - \\hat p_b` is from the gold one :math:`\\Delta_{gold}`,
whatever the p-values (Gelman & Carlin 2014, *Perspectives on Psychological Science*
9:641-651, with the gold estimate in the place of the true effect):

sign error
    :math:`\\operatorname{sign}\\hat\\Delta \\ne \\operatorname{sign}\\Delta_{gold}`, over the pairs
    with a defined estimate and :math:`\\Delta_{gold} \\ne 0`; also over the gold-significant
    hypotheses only, where the gold sign is itself reliable.
absolute error
    :math:`|\\hat\\Delta - \\Delta_{gold}|` (median, in share points).
Type M
    the exaggeration ratio :math:`|\\hat\\Delta| / |\\Delta_{gold}|` over the gold-significant
    hypotheses (median and share above 1), without requiring the configuration's test to be
    significant, so it is not selected on significance.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from studykit import stats

from .analysis import Grid

COLUMNS = ("n_pairs", "sign_error_rate", "n_pairs_gold_significant", "sign_error_rate_gold_significant",
           "median_abs_error", "type_M_median", "share_exaggerated")


def _summary(effect: np.ndarray, gold: np.ndarray, gold_sig: np.ndarray) -> dict[str, float]:
    defined = ~np.isnan(effect) & (gold != 0)
    sig = defined & gold_sig
    sign_error = np.sign(effect) != np.sign(gold)
    ratio = np.asarray(stats.exaggeration_ratio(effect[sig], gold[sig]), dtype=float) if sig.any() else np.empty(0)
    return {"n_pairs": int(defined.sum()),
            "sign_error_rate": float(sign_error[defined].mean()) if defined.any() else np.nan,
            "n_pairs_gold_significant": int(sig.sum()),
            "sign_error_rate_gold_significant": float(sign_error[sig].mean()) if sig.any() else np.nan,
            "median_abs_error": float(np.median(np.abs(effect - gold)[defined])) if defined.any() else np.nan,
            "type_M_median": float(np.median(ratio)) if ratio.size else np.nan,
            "share_exaggerated": float((ratio > 1).mean()) if ratio.size else np.nan}


def effect_size_errors(grid: Grid, by: str = "model") -> pd.DataFrame:
    """Sign errors, absolute errors and Type M of the effects, overall (``all``) and by ``by``.

    Columns: ``by``, then :data:`COLUMNS` (definitions in the module docstring); a rate
    with no eligible pair is NaN.
    """
    gold = np.broadcast_to(grid.hypotheses["gold_effect"].to_numpy(dtype=float)[:, None], grid.shape)
    gold_sig = np.broadcast_to(grid.gold_significant[:, None], grid.shape)
    levels = grid.configs[by].to_numpy()
    rows = []
    for name in ["all", *sorted(set(levels))]:
        cm = np.ones(len(levels), dtype=bool) if name == "all" else levels == name
        rows.append({by: name, **_summary(grid.effect[:, cm].ravel(), gold[:, cm].ravel(), gold_sig[:, cm].ravel())})
    return pd.DataFrame(rows, columns=[by, *COLUMNS])
