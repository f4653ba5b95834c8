"""Per-model and pooled tests on aggregated rates (``data_format: rates``; rows from :mod:`.aggregated`).

Unit of inference: the **persona** within a model (its rows -- conditions and repeats -- averaged by
:func:`.aggregated.persona_table`), the **baseline row** (a repeat without a persona) on the baseline side, and
the **model** for the pooled numbers. Conditions (prompt strategies, temperatures) are fixed factors, balanced
across personas; rows of one persona are not independent observations, so no per-model test uses rows.

Per model (two-sided, corrected across models with ``correction``):

* **shift**: mean persona rate minus mean baseline rate, Welch t of the persona means against the baseline rows
  (:func:`studykit.stats.mean_difference_t`: Welch's t and interval);
* **manipulation check**: the same for the agreeableness score (does the persona raise it?);
* **association**: OLS slope of the persona rate on the persona's agreeableness over the model's personas, t on
  (personas - 2) df (equivalent to the Pearson test of ``persona_r``); needs 3 personas with differing scores.
  ``rows_r`` (over the model's persona rows) is descriptive only.

Pooled: the study's pooled model (:func:`.pooled.pooled_slope`) on the persona means of the models whose
association is testable, agreeableness centred within each model (the within-model slope; models as clusters,
t on models - 1 df); the between-model association of the models' mean score and rate (:func:`between_models`,
one point per model); and one-sample t over models of the per-model
shifts and manipulation differences (t on models - 1 df). Row-level correlations over all models are reported
as descriptive numbers (they mix between-model and within-model variation).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from studykit import stats
from studykit.contract.issues import DataIssue, examples
from studykit.stats.results import Result
from studykit.studies.sycophancy_correlation.aggregated import RateRows, persona_table
from studykit.studies.sycophancy_correlation.pooled import Pooled, pooled_slope

#: columns of :func:`per_model_rates`
PER_MODEL_RATE_COLUMNS = [
    "model", "n_personas", "n_rows", "n_baseline_rows", "persona_rate", "baseline_rate",
    "shift", "shift_ci_low", "shift_ci_high", "shift_df", "shift_p_value", "shift_p_value_corrected",
    "shift_significant",
    "persona_agreeableness", "baseline_agreeableness", "manipulation", "manipulation_ci_low",
    "manipulation_ci_high", "manipulation_df", "manipulation_p_value", "manipulation_p_value_corrected",
    "manipulation_significant", "agreeableness_range", "persona_r", "slope", "slope_ci_low", "slope_ci_high",
    "slope_df", "slope_p_value", "slope_p_value_corrected", "slope_significant", "rows_r", "note",
]
MIN_PERSONAS = 3


def _two_groups(x: np.ndarray, y: np.ndarray, confidence: float) -> dict:
    """Welch t of x against y with the interval of the difference; NaN and a note when not testable."""
    x, y = x[np.isfinite(x)], y[np.isfinite(y)]
    if len(x) < 2 or len(y) < 2:
        return {"note": f"{len(x)} persona means and {len(y)} baseline rows (need 2 each)"}
    if _constant(x) and _constant(y):
        return {"diff": float(x.mean() - y.mean()), "note": "no variation in either group"}
    # a group equal up to rounding (means of equal scores) is made exactly equal: its variance is 0, not noise
    x, y = (np.full(len(v), v.mean()) if _constant(v) else v for v in (x, y))
    t = stats.mean_difference_t(x, y, confidence=confidence)
    e = t.effect
    return {"diff": e.estimate, "ci_low": e.ci_low, "ci_high": e.ci_high, "df": t.df, "p": t.p_value}


def _constant(x: np.ndarray) -> bool:
    """Equal up to rounding (means of equal scores can differ in the last bits)."""
    return len(x) == 0 or bool(np.ptp(x) <= 1e-9 * max(1.0, float(np.abs(x).max())))


def _corr(x: np.ndarray, y: np.ndarray) -> float:
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if len(x) < 3 or _constant(x) or _constant(y):
        return float("nan")
    return float(np.corrcoef(x, y)[0, 1])


def per_model_rates(data: RateRows, *, alpha: float = 0.05, correction: str = "holm",
                    confidence: float = 0.95) -> tuple[pd.DataFrame, tuple[DataIssue, ...]]:
    """One row per model with personas (columns :data:`PER_MODEL_RATE_COLUMNS`); see the module docstring."""
    personas = persona_table(data)
    base = data.baseline
    rows = data.personas
    out, few, constant = [], [], []
    for model, p in personas.groupby("model", sort=True):
        b = base[base["model"] == model]
        r = rows[rows["model"] == model]
        notes = []
        shift = _two_groups(p["rate"].to_numpy(float), b["rate"].to_numpy(float), confidence)
        manip = _two_groups(p["agreeableness"].to_numpy(float), b["agreeableness"].to_numpy(float), confidence)
        for what, res in (("shift", shift), ("manipulation", manip)):
            if "note" in res:
                notes.append(f"{what}: {res['note']}")
        scored = p[p["agreeableness"].notna()]
        a = scored["agreeableness"].to_numpy(float)
        assoc: dict = {}
        if len(scored) < MIN_PERSONAS:
            few.append(model)
            notes.append(f"association: {len(scored)} personas with a score (need {MIN_PERSONAS})")
        elif _constant(a) or _constant(scored["rate"].to_numpy(float)):
            constant.append(model)
            notes.append("association: the persona means of agreeableness or rate do not vary")
        else:
            fit = stats.ols_slope(a, scored["rate"].to_numpy(float), confidence=confidence)
            assoc = {"slope": fit.estimate, "ci_low": fit.ci_low, "ci_high": fit.ci_high, "df": fit.df,
                     "p": fit.p_value, "r": _corr(a, scored["rate"].to_numpy(float))}
        nan = float("nan")
        out.append({
            "model": model, "n_personas": int(len(p)), "n_rows": int(len(r)), "n_baseline_rows": int(len(b)),
            "persona_rate": float(p["rate"].mean()), "baseline_rate": float(b["rate"].mean()) if len(b) else nan,
            "shift": shift.get("diff", nan), "shift_ci_low": shift.get("ci_low", nan),
            "shift_ci_high": shift.get("ci_high", nan), "shift_df": shift.get("df", nan),
            "shift_p_value": shift.get("p", nan),
            "persona_agreeableness": float(scored["agreeableness"].mean()) if len(scored) else nan,
            "baseline_agreeableness": float(b["agreeableness"].mean()) if b["agreeableness"].notna().any() else nan,
            "manipulation": manip.get("diff", nan), "manipulation_ci_low": manip.get("ci_low", nan),
            "manipulation_ci_high": manip.get("ci_high", nan), "manipulation_df": manip.get("df", nan),
            "manipulation_p_value": manip.get("p", nan),
            "agreeableness_range": float(np.ptp(a)) if len(a) else nan,
            "persona_r": assoc.get("r", nan), "slope": assoc.get("slope", nan),
            "slope_ci_low": assoc.get("ci_low", nan), "slope_ci_high": assoc.get("ci_high", nan),
            "slope_df": assoc.get("df", nan), "slope_p_value": assoc.get("p", nan),
            "rows_r": _corr(r["agreeableness"].to_numpy(float), r["rate"].to_numpy(float)),
            "note": "; ".join(notes),
        })
    table = pd.DataFrame(out)
    for name in ("shift", "manipulation", "slope"):
        if not len(table):
            table[f"{name}_p_value_corrected"], table[f"{name}_significant"] = [], []
            continue
        p = table[f"{name}_p_value"].to_numpy(float)
        adj = stats.adjust_pvalues(p, correction, nan_policy="omit")
        table[f"{name}_p_value_corrected"] = adj
        table[f"{name}_significant"] = np.where(np.isfinite(adj), adj < alpha, False).astype(bool)
    table = table.reindex(columns=PER_MODEL_RATE_COLUMNS)
    issues = []
    if few:
        issues.append(DataIssue("model_too_few_personas", len(few),
                                f"fewer than {MIN_PERSONAS} scored personas: no association test", examples(few)))
    if constant:
        issues.append(DataIssue("constant_agreeableness", len(constant),
                                "persona means of agreeableness (or of the rate) equal: no association test",
                                examples(constant)))
    return table, tuple(issues)


@dataclass(frozen=True)
class RatesPooled(Result):
    """Numbers across models: shift and manipulation (one-sample t over the models' differences, t on
    ``n_models - 1`` df) and the descriptive row-level correlations (``rows_r``: persona rows of every model;
    ``rows_r_with_baseline``: with the baseline rows; ``rows_r_within_model``: after removing each model's
    means; ``persona_r``: over the persona means of every model)."""

    n_models: int
    shift: float
    shift_ci_low: float
    shift_ci_high: float
    shift_p_value: float
    n_models_shift_up: int
    manipulation: float
    manipulation_ci_low: float
    manipulation_ci_high: float
    manipulation_p_value: float
    n_models_manipulation_up: int
    rows_r: float
    rows_r_with_baseline: float
    rows_r_within_model: float
    persona_r: float
    df: float
    note: str = ""


def _across(values: pd.Series, confidence: float) -> tuple[float, float, float, float]:
    v = values.dropna().to_numpy(float)
    if len(v) < 2 or np.ptp(v) == 0:
        return (float(v.mean()) if len(v) else float("nan")), float("nan"), float("nan"), float("nan")
    t = stats.mean_difference_t(v, confidence=confidence)
    return t.effect.estimate, t.effect.ci_low, t.effect.ci_high, t.p_value


def pooled_rates(data: RateRows, per_model: pd.DataFrame, *,
                 confidence: float = 0.95) -> tuple[RatesPooled, Pooled | None]:
    """The numbers across models (:class:`RatesPooled`) and the pooled slope on persona means of the models whose
    association was tested (None when fewer than 2 such models)."""
    sh = _across(per_model["shift"], confidence)
    mn = _across(per_model["manipulation"], confidence)
    rows = data.personas
    allrows = data.rows
    centred = rows.assign(a=rows["agreeableness"] - rows.groupby("model")["agreeableness"].transform("mean"),
                          y=rows["rate"] - rows.groupby("model")["rate"].transform("mean"))
    pers = persona_table(data)
    notes = []
    if per_model["shift"].notna().sum() < 2:
        notes.append("shift across models needs 2 models with a shift")
    summary = RatesPooled(
        int(len(per_model)), *sh, int((per_model["shift"] > 0).sum()), *mn,
        int((per_model["manipulation"] > 0).sum()),
        _corr(rows["agreeableness"].to_numpy(float), rows["rate"].to_numpy(float)),
        _corr(allrows["agreeableness"].to_numpy(float), allrows["rate"].to_numpy(float)),
        _corr(centred["a"].to_numpy(float), centred["y"].to_numpy(float)),
        _corr(pers["agreeableness"].to_numpy(float), pers["rate"].to_numpy(float)),
        float(per_model["shift"].notna().sum() - 1), "; ".join(notes))
    tested = per_model.loc[per_model["slope"].notna(), "model"]
    if len(tested) < 2:
        return summary, None
    use = pers[pers["model"].isin(set(tested)) & pers["agreeableness"].notna()]
    # centred within each model: the slope is the within-model (persona-level) one; the models' mean scores,
    # which differ between models, would otherwise mix the between-model association into it
    use = use.assign(agreeableness=use["agreeableness"] - use.groupby("model")["agreeableness"].transform("mean"))
    return summary, pooled_slope(use[["model", "agreeableness", "rate"]], confidence=confidence)


def between_models(data: RateRows, *, confidence: float = 0.95):
    """Pearson r between the models' mean agreeableness and mean rate under a persona (the model is the unit:
    one point per model, t on models - 2 df); None with fewer than 4 models."""
    pers = persona_table(data)
    means = pers.groupby("model", sort=True)[["agreeableness", "rate"]].mean().dropna()
    if len(means) < 4 or _constant(means["agreeableness"].to_numpy(float)):
        return None
    return stats.pearson_r(means["agreeableness"], means["rate"], confidence=confidence)
