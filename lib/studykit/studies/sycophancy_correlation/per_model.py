"""Per-model tests of agreeableness against sycophancy, the correction across models and both decision rules.

Per model (Shah, Mishra & Silpasuwanchai 2026, section 4): Pearson :math:`r` with a
Fisher-z CI, Spearman :math:`\\rho`, a median split into high and low agreeableness
with Welch's t, Mann-Whitney U, a permutation test of the mean difference, Cohen's d
and Hedges' g, the OLS slope of :math:`R` on :math:`A`, and the baseline rate :math:`B_m`
(the shift from it is tested over prompts by :mod:`.baseline_gap`). Tests of association are one-sided (positive), as
in the paper; two-sided p-values are reported beside them.

Decision rules:

* primary for prompts like these (new prompts of the same population): the crossed-design
  slope test of :mod:`.crossed` (``significant_crossed``), adjusted across models with ``correction``;
* conditional on the fixed prompt set (the persona rates as the data): a model is
  *significant* when its one-sided Pearson p-value, adjusted across models with
  ``correction`` (default Holm), is below ``alpha``;
* the paper's rule: at least 3 of the 6 tests (Pearson, Spearman, Welch, Mann-Whitney,
  permutation, OLS slope) with unadjusted one-sided p < ``alpha``. The OLS slope t test
  and the Pearson t test are the same test, so the paper's count double-counts it.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pandas as pd

from studykit import stats
from studykit.contract.errors import InputError
from studykit.studies.sycophancy_correlation.rates import MIN_PERSONAS, Rates

PAPER_TESTS = ("pearson_p_value", "spearman_p_value", "welch_p_value", "mwu_p_value", "perm_p_value", "slope_p_value")
PER_MODEL_COLUMNS = [
    "model", "n_personas", "pearson_r", "r_ci_low", "r_ci_high", "pearson_p_value", "spearman_rho", "spearman_p_value",
    "cohens_d", "d_ci_low", "d_ci_high", "hedges_g", "welch_p_value", "mwu_p_value", "perm_p_value", "slope",
    "baseline_rate",
    "mean_shift", "p_value_corrected", "significant",
    # beyond the paper's table
    "pearson_p_value_two_sided", "spearman_p_value_two_sided", "g_ci_low", "g_ci_high", "slope_ci_low", "slope_ci_high",
    "slope_p_value",
    # the crossed-design slope (persona x prompt clustered; :mod:`.crossed`), filled by crossed.add_crossed_columns
    "slope_crossed", "slope_crossed_ci_low", "slope_crossed_ci_high", "slope_crossed_se", "slope_crossed_df",
    "slope_crossed_p_value", "slope_crossed_p_value_corrected", "significant_crossed",
    "n_high", "n_low", "rate_high", "rate_low", "shift_t", "shift_p_value", "shift_p_value_corrected", "shift_df",
    "shift_ci_low",
    "shift_ci_high", "shift_t_given_baseline", "shift_p_value_given_baseline", "n_tests_significant",
    "significant_paper_rule", "note",
]


def median_split(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """High (:math:`A > \\tilde A`) and low (:math:`A < \\tilde A`) masks; ties at the median are in neither."""
    a = np.asarray(a, dtype=float)
    med = np.median(a)
    return a > med, a < med


def model_tests(agreeableness, rates, baseline_rate: float | None, *, n_perm: int = 10_000, seed: int = 0,
                confidence: float = 0.95) -> dict:
    """Every per-model statistic for one model (one row of the per-model table, before correction).

    Median split: high = personas above the median score, low = below it (ties at the
    median in neither group). Permutation test: :math:`\\bar R_{high} - \\bar R_{low}` against
    ``n_perm`` random relabellings (vectorised), one-sided. The shift columns are left empty
    here and filled by :func:`.baseline_gap.add_shift_columns` (paired over prompts).
    """
    a = np.asarray(agreeableness, dtype=float)
    r = np.asarray(rates, dtype=float)
    notes = []
    pearson_one_sided = stats.pearson_r(a, r, confidence=confidence, alternative="greater")
    pearson_two_sided = stats.pearson_r(a, r, confidence=confidence, alternative="two-sided")
    spearman_one_sided = stats.spearman_rho(a, r, confidence=confidence, alternative="greater")
    spearman_two_sided = stats.spearman_rho(a, r, confidence=confidence, alternative="two-sided")
    slope = stats.ols_slope(a, r, confidence=confidence, alternative="greater")
    hi, lo = median_split(a)
    row = {
        "n_personas": int(len(a)),
        "pearson_r": pearson_two_sided.estimate, "r_ci_low": pearson_two_sided.ci_low,
        "r_ci_high": pearson_two_sided.ci_high,
        "pearson_p_value": pearson_one_sided.p_value, "pearson_p_value_two_sided": pearson_two_sided.p_value,
        "spearman_rho": spearman_two_sided.estimate,
        "spearman_p_value": spearman_one_sided.p_value, "spearman_p_value_two_sided": spearman_two_sided.p_value,
        "n_high": int(hi.sum()), "n_low": int(lo.sum()),
        "slope": slope.estimate, "slope_ci_low": slope.ci_low, "slope_ci_high": slope.ci_high,
        "slope_p_value": slope.p_value,
    }
    x_hi, x_lo = r[hi], r[lo]
    # d, g and Welch need variation within the groups (a pooled SD above 0), not only between them
    if hi.sum() >= 2 and lo.sum() >= 2 and (x_hi.var(ddof=1) > 0 or x_lo.var(ddof=1) > 0):
        d = stats.cohens_d(x_hi, x_lo, confidence=confidence)
        g = stats.hedges_g(x_hi, x_lo, confidence=confidence)
        row.update(cohens_d=d.estimate, d_ci_low=d.ci_low, d_ci_high=d.ci_high,
                   hedges_g=g.estimate, g_ci_low=g.ci_low, g_ci_high=g.ci_high,
                   welch_p_value=stats.welch_t(x_hi, x_lo, alternative="greater").p_value,
                   mwu_p_value=stats.mann_whitney(x_hi, x_lo, alternative="greater").p_value,
                   perm_p_value=stats.permutation_test(x_hi, x_lo, "mean_diff", n_resamples=n_perm,
                                                 alternative="greater", seed=seed).p_value,
                   rate_high=float(x_hi.mean()), rate_low=float(x_lo.mean()))
    else:
        notes.append("median split leaves fewer than 2 personas in a group (or no variance within groups): "
                     "d, g, Welch, Mann-Whitney and permutation not computed")
    if baseline_rate is not None and np.isfinite(baseline_rate):
        row["baseline_rate"] = float(baseline_rate)
    else:
        notes.append("no baseline rows: baseline_rate and the paired shift test not computed")
    row["note"] = "; ".join(notes)
    return row


def per_model_table(rates: Rates, *, alpha: float = 0.05, correction: str = "holm", n_perm: int = 10_000,
                    seed: int = 0, confidence: float = 0.95, sizes: pd.Series | None = None) -> pd.DataFrame:
    """The per-model table (columns :data:`PER_MODEL_COLUMNS`), one row per analysable model.

    The permutation test of the ``i``-th model (models sorted by name) uses seed ``seed + i``.
    Rows are ordered by model size when ``sizes`` is given, else by name.
    ``p_value_corrected`` adjusts the one-sided Pearson p-values across the models in the table
    (``correction`` "none" leaves them as they are); ``significant`` is ``p_value_corrected < alpha``.
    ``n_tests_significant`` counts the paper's six tests with unadjusted p < ``alpha``;
    ``significant_paper_rule`` is ``n_tests_significant >= 3``.
    """
    data = rates.analysable()
    if data.empty:
        raise InputError("no model has at least %d personas with an agreeableness score, responses and varying "
                         "values (see tables/models.csv)" % MIN_PERSONAS)
    base = rates.baseline.set_index("model")["baseline_rate"]
    rows = []
    for i, (m, sub) in enumerate(data.groupby("model", sort=True)):
        b = float(base[m]) if m in base.index else None
        row = {"model": m, **model_tests(sub["agreeableness"].to_numpy(), sub["rate"].to_numpy(), b,
                                         n_perm=n_perm, seed=seed + i, confidence=confidence)}
        rows.append(row)
    df = pd.DataFrame(rows)
    for c in PER_MODEL_COLUMNS:
        if c not in df.columns:
            df[c] = np.nan if c != "note" else ""
    if len(df):
        p = df["pearson_p_value"].to_numpy(dtype=float)
        df["p_value_corrected"] = p if correction == "none" else stats.adjust_pvalues(p, method=correction)
        df["significant"] = df["p_value_corrected"] < alpha
        tests = df[list(PAPER_TESTS)].to_numpy(dtype=float)
        # a test that could not be computed (NaN) counts as not significant
        df["n_tests_significant"] = np.sum(np.nan_to_num(tests, nan=1.0) < alpha, axis=1).astype(int)
        df["significant_paper_rule"] = df["n_tests_significant"] >= 3
    out = df[PER_MODEL_COLUMNS].copy()
    if sizes is not None:
        out.insert(1, "model_params_b", out["model"].map(sizes).astype(float))
        out = out.sort_values(["model_params_b", "model"], kind="stable", na_position="last")
    return out.reset_index(drop=True)


def headline(per_model: pd.DataFrame, *, n_personas: int, n_prompts: int, name: Callable[[Any], str]) -> dict:
    """The per-model numbers the notebook records in ``results.json``.

    Counts, the largest r and d, and ``pearson_r.<model>``, ``cohens_d.<model>``,
    ``slope.<model>``, ``significant.<model>``; ``name`` maps a model name to its key
    (``out.name``, which also records the mapping in the manifest; :meth:`.steps.PerModel.records`).
    """
    out = {
        "n_models": int(len(per_model)),
        "n_personas": int(n_personas),
        "n_prompts": int(n_prompts),
        "n_models_significant": int(per_model["significant"].sum()),
        "n_models_significant_paper_rule": int(per_model["significant_paper_rule"].sum()),
        "max_pearson_r": float(per_model["pearson_r"].max()),
        "max_cohens_d": float(per_model["cohens_d"].max()) if per_model["cohens_d"].notna().any() else None,
    }
    for _, r in per_model.iterrows():
        key = name(r["model"])
        out[f"pearson_r.{key}"] = float(r["pearson_r"])
        out[f"cohens_d.{key}"] = None if pd.isna(r["cohens_d"]) else float(r["cohens_d"])
        out[f"slope.{key}"] = float(r["slope"])
        out[f"significant.{key}"] = bool(r["significant"])
    return out


def split_groups(persona_rates: pd.DataFrame) -> pd.DataFrame:
    """Persona rates with ``group`` = "high", "low" or "median" (the per-model median split)."""
    parts = []
    for _, sub in persona_rates.groupby("model", sort=True):
        hi, lo = median_split(sub["agreeableness"].to_numpy())
        parts.append(sub.assign(group=np.where(hi, "high", np.where(lo, "low", "median"))))
    if not parts:
        return persona_rates.assign(group=pd.Series(dtype=str))
    return pd.concat(parts, ignore_index=True)
