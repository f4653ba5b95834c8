"""Recovery of the planted truth on simulated data (the truth files written by :mod:`.simulate`)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from studykit import stats
from studykit.files.paths import resolve

from .analysis import Grid, NONE
from .columns import ERROR_TYPES

#: the truth file's planted population shares, named as shares in the recovery table (a bare ``p`` is a p-value)
TRUTH_SHARES = {"true_p_a": "true_share_a", "true_p_b": "true_share_b"}


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
        th[["hypothesis_id", "true_p_a", "true_p_b", "true_diff", "true_null"]].rename(columns=TRUTH_SHARES),
        on="hypothesis_id", how="inner")
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


def _read_truth(truth_dir: Path) -> pd.DataFrame:
    return pd.read_csv(truth_dir / "truth_hypotheses.csv", dtype={"group_a": str, "group_b": str})


def risk_against_truth(grid: Grid, truth_dir: Path) -> tuple[pd.DataFrame, dict[str, float]]:
    """Errors of every pair against the planted truth, beside the errors against gold.

    The truth conclusion of a hypothesis is ``none`` for a planted null (equal shares) and
    the sign of the planted difference otherwise; every pair's conclusion is classified
    against it with :func:`studykit.stats.classify_conclusion` (reference p-value 0 for a
    planted effect, 1 for a planted null), as it is against gold. Against the truth,
    Type II includes planted effects too small for any sample of this size to find; the
    gold labels' own errors against the truth (row ``gold (human)``) are that floor.

    Returns
    -------
    (DataFrame, dict)
        Per ``model`` (``all`` first, then each model, then ``gold (human)``): ``n_pairs``,
        ``risk_vs_gold``, ``risk_vs_truth`` and the truth-based ``type_I``, ``type_II``,
        ``type_S`` shares; and the summary keys ``risk_vs_truth``, ``type_I_vs_truth``,
        ``type_II_vs_truth``, ``type_S_vs_truth``, ``gold_risk_vs_truth``,
        ``gold_type_I_true_effect_share`` (share of the pairs called Type I against gold
        whose hypothesis has a planted effect of the sign the configuration found),
        ``excess_risk_vs_truth`` = ``risk_vs_truth - gold_risk_vs_truth`` (the risk the
        annotators add beyond what the human gold labels of the same items already get
        wrong), and ``risk_vs_truth_gold_right`` with ``n_hypotheses_gold_right``: the risk
        against the truth on the hypotheses whose gold conclusion equals the truth's (the
        effects a full human annotation of these items can detect, and the nulls it keeps).

    All of them are shares of all (hypothesis, configuration) pairs, as ``risk.*`` is; the
    mitigation table's rates are conditional (Type I among null pairs, ...).
    """
    th = _read_truth(truth_dir).set_index("hypothesis_id")
    ids = grid.hypotheses["hypothesis_id"].astype(str)
    known = ids.isin(th.index).to_numpy()
    if not known.any():  # hypotheses named differently from the simulator's: nothing to compare
        empty = pd.DataFrame(columns=["model", "n_pairs", "risk_vs_gold", "risk_vs_truth", *ERROR_TYPES[1:]])
        return empty, dict.fromkeys(("risk_vs_truth", "type_I_vs_truth", "type_II_vs_truth", "type_S_vs_truth",
                                     "gold_risk_vs_truth", "gold_type_I_true_effect_share", "excess_risk_vs_truth",
                                     "risk_vs_truth_gold_right", "n_hypotheses_gold_right"), np.nan)
    t = th.loc[ids[known]]
    true_diff = t["true_diff"].to_numpy(dtype=float)
    true_p = np.where(t["true_null"].astype(bool).to_numpy(), 1.0, 0.0)
    effect = np.nan_to_num(grid.effect[known])
    p = np.where(grid.conclusion[known] == NONE, 1.0, 0.0)
    vs_truth = np.asarray(stats.classify_conclusion(effect, p, true_diff[:, None], true_p[:, None], alpha=0.5))
    vs_gold = np.asarray(ERROR_TYPES, dtype=object)[grid.error[known]]
    h = grid.hypotheses.loc[known]
    gold_p = np.where(h["gold_conclusion"].to_numpy() == "none", 1.0, 0.0)
    gold_vs_truth = np.asarray(stats.classify_conclusion(h["gold_effect"].to_numpy(), gold_p, true_diff, true_p,
                                                         alpha=0.5))
    rows = []
    models = grid.configs["model"].to_numpy()
    for name in ["all", *sorted(set(models))]:
        cm = np.ones(len(models), dtype=bool) if name == "all" else models == name
        t_err, g_err = vs_truth[:, cm].ravel(), vs_gold[:, cm].ravel()
        rows.append({"model": name, "n_pairs": int(t_err.size), "risk_vs_gold": float((g_err != "correct").mean()),
                     "risk_vs_truth": float((t_err != "correct").mean()),
                     **{e: float((t_err == e).mean()) for e in ERROR_TYPES[1:]}})
    rows.append({"model": "gold (human)", "n_pairs": int(gold_vs_truth.size), "risk_vs_gold": 0.0,
                 "risk_vs_truth": float((gold_vs_truth != "correct").mean()),
                 **{e: float((gold_vs_truth == e).mean()) for e in ERROR_TYPES[1:]}})
    table = pd.DataFrame(rows)
    overall = table.iloc[0]
    type_i = vs_gold == "type_I"
    real_same_sign = (~t["true_null"].astype(bool).to_numpy())[:, None] & (np.sign(effect) == np.sign(true_diff)[:, None])
    summary = {"risk_vs_truth": float(overall["risk_vs_truth"]),
               "type_I_vs_truth": float(overall["type_I"]), "type_II_vs_truth": float(overall["type_II"]),
               "type_S_vs_truth": float(overall["type_S"]),
               "gold_risk_vs_truth": float(table.iloc[-1]["risk_vs_truth"]),
               "gold_type_I_true_effect_share": float((type_i & real_same_sign).sum() / type_i.sum())
               if type_i.any() else np.nan}
    summary["excess_risk_vs_truth"] = summary["risk_vs_truth"] - summary["gold_risk_vs_truth"]
    gold_right = gold_vs_truth == "correct"
    summary["n_hypotheses_gold_right"] = int(gold_right.sum())
    summary["risk_vs_truth_gold_right"] = (float((vs_truth[gold_right] != "correct").mean()) if gold_right.any()
                                           else np.nan)
    return table, summary
