"""The crossed-design slope: personas and prompts both as samples (two-way clustered by persona and prompt).

The per-model correlation and slope of :mod:`.per_model` work on the persona rates
:math:`R_{mp}`, means over the *fixed* set of prompts. They generalise to new personas
answering these prompts, not to new prompts: when the agreeableness slope varies by prompt
(:math:`\\beta_{mj} = \\beta_m + v_{mj}`), the prompts' mean deviation :math:`\\bar v_m` is one
fixed offset shared by every persona, invisible in the spread of the persona rates.

Here the unit is the (persona, prompt) cell: for model :math:`m`, the score :math:`s_{mpj}` of
persona :math:`p` on prompt :math:`j` is regressed on :math:`A_{mp}`,
:math:`s_{mpj} = \\beta_0 + \\beta_1 A_{mp} + \\varepsilon_{mpj}`, with a two-way cluster-robust
variance by persona and by prompt (Cameron, Gelbach & Miller 2011;
:func:`studykit.stats.regression.ols_slope_clustered`) and a :math:`t` reference with
:math:`\\min(G_{persona}, G_{prompt}) - 1` df. With every cell answered, :math:`\\hat\\beta_1`
equals the persona-averaged OLS slope; only its standard error differs (it now contains the
prompts' slope variation). The duplicate rule leaves one response per (model, persona, prompt)
key, so each kept response is its own cell; the computation runs on the integer codes of
:class:`.responses.ResponseRows`, one model at a time (about 1.4M cells per model at paper scale).
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pandas as pd
from scipy import stats as sps

from studykit import stats
from studykit.stats.regression import slope_se
from studykit.studies.sycophancy_correlation.rates import Rates
from studykit.studies.sycophancy_correlation.responses import ResponseCells

CROSSED_COLUMNS = ["model", "n_cells", "n_personas_crossed", "n_prompts_crossed", "slope_crossed",
                   "slope_crossed_se", "slope_crossed_ci_low", "slope_crossed_ci_high", "slope_crossed_t",
                   "slope_crossed_df", "slope_crossed_p_value", "slope_crossed_p_value_two_sided", "crossed_note"]
#: the columns :func:`add_crossed_columns` puts into the per-model table
PER_MODEL_CROSSED = ["slope_crossed", "slope_crossed_ci_low", "slope_crossed_ci_high", "slope_crossed_se",
                     "slope_crossed_df", "slope_crossed_p_value", "slope_crossed_p_value_corrected",
                     "significant_crossed"]


def crossed_slopes(cells: ResponseCells, rates: Rates, *, confidence: float = 0.95) -> pd.DataFrame:
    """Per analysable model, the slope of the cell score on agreeableness, clustered by persona and prompt.

    Cells: the scored responses of the model's analysable personas (baseline rows and personas
    without a score are not used). ``slope_crossed_p_value`` is one-sided (positive association, as the
    other association tests), ``slope_crossed_p_value_two_sided`` beside it. Returns the columns
    :data:`CROSSED_COLUMNS`, one row per model in name order.
    """
    rows = cells.rows
    if rows is None:
        raise ValueError("crossed_slopes: cells without response rows (use aggregate_responses)")
    personas = rates.analysable()[["model", "persona_id", "agreeableness"]]
    models = sorted(personas["model"].unique())
    pairs = rows.pairs.reset_index(names="pair")
    pairs["model"] = pairs["model"].astype(str)
    pairs["persona_id"] = pairs["persona_id"].astype(str)
    hit = pairs.merge(personas, on=["model", "persona_id"])
    x_of_pair = np.full(len(pairs), np.nan)
    x_of_pair[hit["pair"].to_numpy()] = hit["agreeableness"].to_numpy(dtype=float)
    model_of_pair = np.full(len(pairs), -1, dtype=np.int16)
    model_of_pair[hit["pair"].to_numpy()] = np.searchsorted(models, hit["model"].to_numpy())
    scored = ~np.isnan(rows.score_values)
    model_of_row = np.where(scored[rows.score_code], model_of_pair[rows.pair], -1)
    out = []
    for k, m in enumerate(models):
        idx = np.flatnonzero(model_of_row == k)
        pair, prompt = rows.pair[idx], rows.prompt[idx]
        x, y = x_of_pair[pair], rows.score_values[rows.score_code[idx]]
        row = {"model": m, "n_cells": int(idx.size),
               "n_personas_crossed": int(np.count_nonzero(np.bincount(pair, minlength=len(pairs)))),
               "n_prompts_crossed": int(np.count_nonzero(np.bincount(prompt, minlength=len(rows.prompts)))),
               "crossed_note": ""}
        if row["n_prompts_crossed"] < 2:
            row["crossed_note"] = "fewer than 2 prompts: no crossed-design test"
            out.append(row)
            continue
        groups = pd.DataFrame({"persona": pair, "prompt": prompt}, copy=False)
        one = stats.ols_slope_clustered(x, y, groups, confidence=confidence, alternative="greater")
        row.update(slope_crossed=one.estimate, slope_crossed_se=slope_se(one),
                   slope_crossed_ci_low=one.ci_low, slope_crossed_ci_high=one.ci_high,
                   slope_crossed_t=one.statistic, slope_crossed_df=one.df, slope_crossed_p_value=one.p_value,
                   slope_crossed_p_value_two_sided=float(min(1.0, 2 * sps.t.sf(abs(one.statistic), one.df))),
                   crossed_note=one.note)
        out.append(row)
    return pd.DataFrame(out, columns=CROSSED_COLUMNS)


def add_crossed_columns(per_model: pd.DataFrame, crossed: pd.DataFrame, *, alpha: float = 0.05,
                        correction: str = "holm") -> pd.DataFrame:
    """The per-model table with the crossed-design columns (:data:`PER_MODEL_CROSSED`) filled in.

    ``slope_crossed_p_value_corrected`` adjusts the one-sided crossed p-values across the models that have
    one with ``correction`` (the study's parameter, as for the Pearson p-values; "none" leaves them);
    ``significant_crossed`` is ``slope_crossed_p_value_corrected < alpha`` (False without a test).
    """
    out = per_model.copy()
    by_model = crossed.set_index("model")
    for c in ("slope_crossed", "slope_crossed_ci_low", "slope_crossed_ci_high", "slope_crossed_se",
              "slope_crossed_df", "slope_crossed_p_value"):
        out[c] = out["model"].map(by_model[c]).astype(float)
    p = out["slope_crossed_p_value"].to_numpy(dtype=float)
    adjusted = (stats.adjust_pvalues(p, correction, nan_policy="omit") if (~np.isnan(p)).any()
                else np.full(p.shape, np.nan))
    out["slope_crossed_p_value_corrected"] = adjusted
    out["significant_crossed"] = np.nan_to_num(adjusted, nan=1.0) < alpha
    notes = out["model"].map(by_model["crossed_note"]).fillna("")
    out["note"] = [("; ".join(filter(None, [a, f"crossed: {b}" if b else ""]))) for a, b in zip(out["note"], notes)]
    return out


def headline(per_model: pd.DataFrame, *, name: Callable[[Any], str]) -> dict:
    """The crossed-design numbers the notebook records: ``n_models_significant_crossed`` and, per model,
    ``slope_crossed.<model>``, ``slope_crossed_ci_low.<model>``, ``slope_crossed_ci_high.<model>``,
    ``slope_crossed_p_value_corrected.<model>``, ``significant_crossed.<model>`` (None where not tested)."""
    def num(v):
        return None if pd.isna(v) else float(v)

    out: dict = {"n_models_significant_crossed": int(per_model["significant_crossed"].sum())}
    for _, r in per_model.iterrows():
        key = name(r["model"])
        for c in ("slope_crossed", "slope_crossed_ci_low", "slope_crossed_ci_high", "slope_crossed_p_value_corrected"):
            out[f"{c}.{key}"] = num(r[c])
        out[f"significant_crossed.{key}"] = bool(r["significant_crossed"])
    return out
