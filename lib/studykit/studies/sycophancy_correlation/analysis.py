"""Per-model and pooled analysis of agreeableness vs sycophancy (pure functions).

Notation: for model :math:`m` and persona :math:`p`, :math:`A_{mp}` is the persona's
agreeableness score and :math:`R_{mp} = \\frac{1}{n_{mp}}\\sum_j s_{mpj}` its sycophancy
rate (mean stance score over prompts); :math:`B_m` is the model's baseline
(plain-assistant) rate and :math:`\\Delta_{mp} = R_{mp} - B_m` the persona-induced shift.

Per model (Shah, Mishra & Silpasuwanchai 2026, section 4): Pearson :math:`r` with a
Fisher-z CI, Spearman :math:`\\rho`, a median split into high and low agreeableness
with Welch's t, Mann-Whitney U, a permutation test of the mean difference, Cohen's d
and Hedges' g, the OLS slope of :math:`R` on :math:`A`, and a one-sample t test of the
persona rates against :math:`B_m`. Tests of association are one-sided (positive), as in
the paper; two-sided p-values are reported beside them.

Decision rules:
* primary: a model is *significant* when its one-sided Pearson p-value, adjusted
  across models with ``correction`` (default Holm), is below ``alpha``;
* the paper's rule: at least 3 of the 6 tests (Pearson, Spearman, Welch, Mann-Whitney,
  permutation, OLS slope) with unadjusted one-sided p < ``alpha``. Note that the OLS
  slope t test and the Pearson t test are the same test, so the paper's count double-counts it.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats as sps

from studykit import stats
from studykit.errors import InputError
from studykit.studies.sycophancy_correlation.load import DataIssue, PersonaData, ResponseCells
from studykit.studies.sycophancy_correlation.schema import BASELINE_ID

MIN_PERSONAS = 4  # Pearson with a Fisher-z CI needs n > 3; a median split needs 2 + 2
PAPER_TESTS = ("pearson_p", "spearman_p", "welch_p", "mwu_p", "perm_p", "slope_p")
PER_MODEL_COLUMNS = [
    "model", "n_personas", "pearson_r", "r_ci_low", "r_ci_high", "pearson_p", "spearman_rho", "spearman_p",
    "cohens_d", "d_ci_low", "d_ci_high", "hedges_g", "welch_p", "mwu_p", "perm_p", "slope", "baseline_rate",
    "mean_shift", "p_adjusted", "significant",
    # beyond the issue's list
    "pearson_p_two_sided", "spearman_p_two_sided", "g_ci_low", "g_ci_high", "slope_ci_low", "slope_ci_high",
    "slope_p", "n_high", "n_low", "rate_high", "rate_low", "shift_t", "shift_p", "n_tests_significant",
    "significant_paper_rule", "notes",
]


# --------------------------------------------------------------------------- rates
@dataclass(frozen=True)
class Rates:
    """Sycophancy rates.

    ``personas``: model, persona_id, agreeableness, n, rate (scored personas with responses);
    ``baseline``: model, n_baseline, baseline_rate (models with baseline rows);
    ``categories``: model, persona_id, category, n, rate (persona x category cells);
    ``models``: model, n_personas, has_baseline, status ("ok" or the exclusion reason).
    """

    personas: pd.DataFrame
    baseline: pd.DataFrame
    categories: pd.DataFrame
    models: pd.DataFrame
    issues: tuple[DataIssue, ...] = field(default_factory=tuple)

    def analysable(self) -> pd.DataFrame:
        """Persona rows of the models whose status is ``ok``."""
        ok = self.models.loc[self.models["status"] == "ok", "model"]
        return self.personas[self.personas["model"].isin(ok)].reset_index(drop=True)


def compute_rates(cells: ResponseCells | pd.DataFrame, personas: PersonaData | pd.DataFrame,
                  *, min_personas: int = MIN_PERSONAS) -> Rates:
    """Persona, baseline and persona x category rates, and each model's eligibility.

    :math:`R_{mp} = \\sum_k T_{mpk} / \\sum_k n_{mpk}` over categories ``k`` (``T`` the
    summed scores, ``n`` the scored responses). Rules (each reported as a DataIssue):

    * responses of a persona without an agreeableness score: not used;
    * a scored persona with no scored response: left out;
    * a model with no baseline rows: baseline rate, shift and the one-sample test are
      not computed for it (reported empty with a note); the correlation tests run;
    * a model with fewer than ``min_personas`` usable personas, constant agreeableness, or
      constant rates: left out of every per-model test and of the pooled model (its
      correlation is undefined).
    """
    cell_df = cells.cells if isinstance(cells, ResponseCells) else cells
    scores = personas.scores if isinstance(personas, PersonaData) else personas
    issues: list[DataIssue] = []
    cell_df = cell_df[cell_df["n"] > 0]
    cats = cell_df.assign(rate=cell_df["total"] / cell_df["n"])
    is_base = cats["persona_id"] == BASELINE_ID
    base = (cats[is_base].groupby("model", sort=True)[["n", "total"]].sum().reset_index()
            .rename(columns={"n": "n_baseline"}))
    base["baseline_rate"] = base["total"] / base["n_baseline"]
    base = base[["model", "n_baseline", "baseline_rate"]]
    per = cats[~is_base].groupby(["model", "persona_id"], sort=True)[["n", "total"]].sum().reset_index()
    per["rate"] = per["total"] / per["n"]
    merged = per.merge(scores, on=["model", "persona_id"], how="outer", indicator=True)
    no_score = merged[merged["_merge"] == "left_only"]
    if len(no_score):
        ex = no_score["model"] + "/" + no_score["persona_id"]
        issues.append(DataIssue(
            "responses_without_persona_score", len(no_score),
            "model x persona pairs with responses but no agreeableness score: their responses are not used",
            f"{int(no_score['n'].sum())} scored responses in these pairs; e.g. {_ex(ex)}"))
    no_resp = merged[merged["_merge"] == "right_only"]
    if len(no_resp):
        ex = no_resp["model"] + "/" + no_resp["persona_id"]
        issues.append(DataIssue("personas_without_responses", len(no_resp),
                                "scored persona with no scored response: left out", _ex(ex)))
    both = (merged[merged["_merge"] == "both"][["model", "persona_id", "agreeableness", "n", "rate"]]
            .sort_values(["model", "persona_id"]).reset_index(drop=True))
    both["n"] = both["n"].astype(np.int64)
    cats_p = cats[~is_base].merge(both[["model", "persona_id", "agreeableness"]], on=["model", "persona_id"])
    cats_p = cats_p[["model", "persona_id", "category", "agreeableness", "n", "rate"]]
    all_models = sorted(set(cell_df["model"]) | set(scores["model"]))
    rows = []
    for m in all_models:
        sub = both[both["model"] == m]
        n = len(sub)
        status = "ok"
        if n < min_personas:
            status = f"fewer than {min_personas} personas with a score and responses ({n})"
        elif sub["agreeableness"].nunique() < 2:
            status = "constant agreeableness: correlation undefined"
        elif sub["rate"].nunique() < 2:
            status = "constant sycophancy rate: correlation undefined"
        rows.append({"model": m, "n_personas": n, "has_baseline": bool((base["model"] == m).any()),
                     "status": status})
    models = pd.DataFrame(rows, columns=["model", "n_personas", "has_baseline", "status"])
    for check, prefix, rule in (
        ("model_too_few_personas", "fewer than", f"model with fewer than {min_personas} usable personas: left "
                                                 "out of the per-model tests and the pooled model"),
        ("constant_agreeableness", "constant agreeableness", "all personas of the model have the same score: "
                                                            "left out of the per-model tests and the pooled model"),
        ("constant_rate", "constant sycophancy", "all personas of the model have the same rate: left out of "
                                                 "the per-model tests and the pooled model"),
    ):
        bad = models[models["status"].str.startswith(prefix)]
        if len(bad):
            issues.append(DataIssue(check, len(bad), rule, _ex(bad["model"])))
    nob = models[~models["has_baseline"]]
    if len(nob):
        issues.append(DataIssue(
            "model_without_baseline", len(nob),
            f"no '{BASELINE_ID}' rows: baseline rate, shift and the one-sample test are left empty for the "
            "model (noted in per_model.notes); its correlation tests still run", _ex(nob["model"])))
    return Rates(both, base, cats_p.sort_values(["model", "persona_id", "category"]).reset_index(drop=True),
                 models, tuple(issues))


def _ex(values, k: int = 5) -> str:
    values = [str(v) for v in values]
    return ", ".join(values[:k]) + (f" (+{len(values) - k} more)" if len(values) > k else "")


# --------------------------------------------------------------------------- per model
def median_split(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """High (:math:`A > \\tilde A`) and low (:math:`A < \\tilde A`) masks; ties at the median are in neither."""
    a = np.asarray(a, dtype=float)
    med = np.median(a)
    return a > med, a < med


def ols_slope(x: np.ndarray, y: np.ndarray, confidence: float = 0.95) -> dict:
    """OLS slope of ``y`` on ``x`` with a t CI and one-sided (slope > 0) p-value (statsmodels OLS)."""
    import statsmodels.api as sm

    res = sm.OLS(np.asarray(y, float), sm.add_constant(np.asarray(x, float))).fit()
    b, se, df = float(res.params[1]), float(res.bse[1]), float(res.df_resid)
    lo, hi = res.conf_int(alpha=1 - confidence)[1]
    t = b / se if se > 0 else math.copysign(math.inf, b) if b != 0 else 0.0
    return {"slope": b, "slope_se": se, "slope_ci_low": float(lo), "slope_ci_high": float(hi),
            "slope_p": float(sps.t.sf(t, df)), "intercept": float(res.params[0])}


def model_tests(agreeableness, rates, baseline_rate: float | None, *, n_perm: int = 10_000, seed: int = 0,
                confidence: float = 0.95) -> dict:
    """Every per-model statistic for one model (one row of the per-model table, before correction).

    Median split: high = personas above the median score, low = below it (ties at the
    median in neither group). Permutation test: :math:`\\bar R_{high} - \\bar R_{low}` against
    ``n_perm`` random relabellings (vectorised), one-sided. The one-sample t test compares the
    persona rates with :math:`B_m` (two-sided):
    :math:`t = (\\bar R - B_m) / (s_R / \\sqrt{n})`.
    """
    a = np.asarray(agreeableness, dtype=float)
    r = np.asarray(rates, dtype=float)
    notes = []
    pr1 = stats.pearson_r(a, r, confidence=confidence, alternative="greater")
    pr2 = stats.pearson_r(a, r, confidence=confidence, alternative="two-sided")
    sr1 = stats.spearman_rho(a, r, confidence=confidence, alternative="greater")
    sr2 = stats.spearman_rho(a, r, confidence=confidence, alternative="two-sided")
    hi, lo = median_split(a)
    row = {
        "n_personas": int(len(a)),
        "pearson_r": pr2.effect.estimate, "r_ci_low": pr2.effect.ci_low, "r_ci_high": pr2.effect.ci_high,
        "pearson_p": pr1.p_value, "pearson_p_two_sided": pr2.p_value,
        "spearman_rho": sr2.effect.estimate if sr2.effect is not None else sr2.statistic,
        "spearman_p": sr1.p_value, "spearman_p_two_sided": sr2.p_value,
        "n_high": int(hi.sum()), "n_low": int(lo.sum()),
    }
    row.update(ols_slope(a, r, confidence))
    x_hi, x_lo = r[hi], r[lo]
    if hi.sum() >= 2 and lo.sum() >= 2 and np.var(np.r_[x_hi, x_lo]) > 0:
        d = stats.cohens_d(x_hi, x_lo, confidence=confidence)
        g = stats.hedges_g(x_hi, x_lo, confidence=confidence)
        row.update(cohens_d=d.estimate, d_ci_low=d.ci_low, d_ci_high=d.ci_high,
                   hedges_g=g.estimate, g_ci_low=g.ci_low, g_ci_high=g.ci_high,
                   welch_p=stats.welch_t(x_hi, x_lo, alternative="greater").p_value,
                   mwu_p=stats.mann_whitney(x_hi, x_lo, alternative="greater").p_value,
                   perm_p=stats.permutation_test(x_hi, x_lo, "mean_diff", n_resamples=n_perm,
                                                 alternative="greater", seed=seed).p_value,
                   rate_high=float(x_hi.mean()), rate_low=float(x_lo.mean()))
    else:
        notes.append("median split leaves fewer than 2 personas in a group (or no variance): "
                     "d, g, Welch, Mann-Whitney and permutation not computed")
    if baseline_rate is not None and np.isfinite(baseline_rate):
        ost = stats.one_sample_t(r, mu=baseline_rate, alternative="two-sided")
        row.update(baseline_rate=float(baseline_rate), mean_shift=float(r.mean() - baseline_rate),
                   shift_t=ost.statistic, shift_p=ost.p_value)
    else:
        notes.append("no baseline rows: baseline_rate, mean_shift and the one-sample test not computed")
    row["notes"] = "; ".join(notes)
    return row


def per_model_table(rates: Rates, *, alpha: float = 0.05, correction: str = "holm", n_perm: int = 10_000,
                    seed: int = 0, confidence: float = 0.95, sizes: pd.Series | None = None) -> pd.DataFrame:
    """The per-model table (columns :data:`PER_MODEL_COLUMNS`), one row per analysable model.

    The permutation test of the ``i``-th model (models sorted by name) uses seed ``seed + i``.
    Rows are ordered by model size when ``sizes`` is given, else by name.
    ``p_adjusted`` adjusts the one-sided Pearson p-values across the models in the table
    (``correction`` "none" leaves them as they are); ``significant`` is ``p_adjusted < alpha``.
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
            df[c] = np.nan if c != "notes" else ""
    if len(df):
        p = df["pearson_p"].to_numpy(dtype=float)
        df["p_adjusted"] = p if correction == "none" else stats.adjust_pvalues(p, method=correction)
        df["significant"] = df["p_adjusted"] < alpha
        tests = df[list(PAPER_TESTS)].to_numpy(dtype=float)
        df["n_tests_significant"] = np.sum(np.nan_to_num(tests, nan=1.0) < alpha, axis=1).astype(int)
        df["significant_paper_rule"] = df["n_tests_significant"] >= 3
    out = df[PER_MODEL_COLUMNS].copy()
    if sizes is not None:
        out.insert(1, "model_params_b", out["model"].map(sizes).astype(float))
        out = out.sort_values(["model_params_b", "model"], kind="stable", na_position="last")
    return out.reset_index(drop=True)


def trait_truthfulness_gap(per_model: pd.DataFrame) -> pd.DataFrame:
    """Trait-truthfulness gap: how far personas move the model from its assistant baseline.

    :math:`G^{high}_m = \\bar R_{m,high} - B_m`, :math:`G^{low}_m = \\bar R_{m,low} - B_m` and
    :math:`G_m = \\bar R_m - B_m` (the mean shift). ``zone`` is "deceptive" when even the
    high-agreeableness personas' rate exceeds the baseline (:math:`G^{high}_m > 0`), else "truthful"
    (the persona framing lowers sycophancy below the plain assistant's). Models without a baseline
    are listed with zone "no baseline".
    """
    df = per_model[["model", "baseline_rate", "rate_low", "rate_high", "mean_shift"]].copy()
    df["gap_low"] = df["rate_low"] - df["baseline_rate"]
    df["gap_high"] = df["rate_high"] - df["baseline_rate"]
    df["zone"] = np.where(df["baseline_rate"].isna(), "no baseline",
                          np.where(df["gap_high"] > 0, "deceptive", "truthful"))
    return df


# --------------------------------------------------------------------------- categories, size
def category_correlations(rates: Rates, *, confidence: float = 0.95,
                          min_personas: int = MIN_PERSONAS) -> tuple[pd.DataFrame, tuple[DataIssue, ...]]:
    r"""Pearson r between agreeableness and the per-category rate, per model x category (vectorised).

    For every cell at once: :math:`r = S_{xy}/\sqrt{S_{xx}S_{yy}}` from centred sums,
    :math:`t = r\sqrt{(n-2)/(1-r^2)}` with a two-sided p on :math:`n-2` df, and the Fisher-z CI
    :math:`\tanh(\operatorname{atanh} r \pm z_{1-\alpha/2}/\sqrt{n-3})` -- the same quantities as
    :func:`studykit.stats.pearson_r` (checked in the tests), without 400+ Python calls.
    Cells with fewer than ``min_personas`` personas or constant values have no r; they
    are kept in the table with ``note`` saying why, and counted in a DataIssue.
    """
    ok = rates.models.loc[rates.models["status"] == "ok", "model"]
    cats = rates.categories[rates.categories["model"].isin(ok)][["model", "category", "agreeableness", "rate"]]
    keys = ["model", "category"]
    g = cats.groupby(keys, sort=True)
    means = g[["agreeableness", "rate"]].transform("mean")
    dx = cats["agreeableness"] - means["agreeableness"]
    dy = cats["rate"] - means["rate"]
    sums = (cats[keys].assign(sxx=dx * dx, syy=dy * dy, sxy=dx * dy, one=1)
            .groupby(keys, sort=True)[["sxx", "syy", "sxy", "one"]].sum())
    mean_rate = g["rate"].mean()
    n = sums["one"].to_numpy()
    sxx, syy, sxy = (sums[c].to_numpy() for c in ("sxx", "syy", "sxy"))
    # constant values: zero centred sum of squares (relative to the scale of the data)
    defined = (n >= min_personas) & (sxx > 1e-24) & (syy > 1e-24)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(defined, sxy / np.sqrt(sxx * syy), np.nan)
        r = np.clip(r, -1.0, 1.0)
        df_ = n - 2
        t = r * np.sqrt(df_ / np.maximum(1 - r * r, 1e-300))
        p = np.where(defined, np.minimum(1.0, 2 * sps.t.sf(np.abs(t), np.maximum(df_, 1))), np.nan)
        z = np.arctanh(np.clip(r, -1 + 1e-15, 1 - 1e-15))
        h = sps.norm.ppf(0.5 + confidence / 2) / np.sqrt(np.maximum(n - 3, 1))
        lo, hi = np.where(defined, np.tanh(z - h), np.nan), np.where(defined, np.tanh(z + h), np.nan)
    table = sums.index.to_frame(index=False)
    table["n_personas"] = n.astype(int)
    table["mean_rate"] = mean_rate.to_numpy()
    table["r"], table["r_ci_low"], table["r_ci_high"], table["p_two_sided"] = r, lo, hi, p
    table["note"] = np.where(defined, "", f"fewer than {min_personas} personas or constant values: r undefined")
    issues = ()
    if (~defined).any():
        bad = table.loc[~defined, "model"] + "/" + table.loc[~defined, "category"]
        issues = (DataIssue("category_r_undefined", int((~defined).sum()),
                            f"model x category cell with fewer than {min_personas} personas or constant values: "
                            "r left empty (blank in the heatmap)", _ex(bad)),)
    return table, issues


def size_association(per_model: pd.DataFrame, sizes: pd.Series | None) -> pd.DataFrame:
    """Spearman rho (and Pearson r on log10 size) of model size with r, d and slope across models.

    Needs at least 4 models with a size (the Fisher-z CI needs n > 3); otherwise the row
    says why in ``note`` and the statistics are empty.
    """
    if sizes is None:
        return pd.DataFrame(columns=["statistic", "n_models", "spearman_rho", "spearman_p", "pearson_r_log10",
                                     "pearson_p_log10", "note"])
    df = per_model.assign(size=per_model["model"].map(sizes).astype(float)).dropna(subset=["size"])
    rows = []
    for col in ("pearson_r", "cohens_d", "slope", "mean_shift"):
        sub = df.dropna(subset=[col])
        row = {"statistic": col, "n_models": len(sub), "spearman_rho": np.nan, "spearman_p": np.nan,
               "pearson_r_log10": np.nan, "pearson_p_log10": np.nan, "note": ""}
        if len(sub) >= 4 and np.ptp(sub["size"]) > 0 and np.ptp(sub[col]) > 0:
            s = stats.spearman_rho(sub["size"], sub[col])
            p = stats.pearson_r(np.log10(sub["size"]), sub[col])
            row.update(spearman_rho=s.effect.estimate if s.effect is not None else s.statistic,
                       spearman_p=s.p_value, pearson_r_log10=p.effect.estimate, pearson_p_log10=p.p_value)
        else:
            row["note"] = "fewer than 4 models with a size, or constant values: not computed"
        rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- pooled
@dataclass(frozen=True)
class Pooled:
    """Pooled slope of rate on agreeableness across models.

    ``method``: "mixedlm" (random intercept and slope by model), the fallback
    "two_stage" (mean of per-model OLS slopes with a t interval over models), or
    "single_model" (only one analysable model: its OLS slope; no between-model SD);
    ``attempts``: what was tried and why it was rejected.
    """

    slope: float
    slope_se: float
    slope_ci_low: float
    slope_ci_high: float
    slope_p: float
    method: str
    converged: bool
    n_models: int
    n_obs: int
    slope_sd_between: float
    attempts: tuple[str, ...] = ()

    def as_dict(self) -> dict:
        """Fields except ``attempts``; an undefined value (NaN) becomes None."""
        out = {}
        for k in self.__dataclass_fields__:
            if k == "attempts":
                continue
            v = getattr(self, k)
            out[k] = None if isinstance(v, float) and math.isnan(v) else v
        return out


def pooled_slope(persona_rates: pd.DataFrame, *, confidence: float = 0.95,
                 optimizers: tuple[str, ...] = ("lbfgs", "bfgs", "powell", "nm")) -> Pooled:
    """Mixed model :math:`R_{mp} = \\beta_0 + \\beta_1 A^c_{mp} + u_{0m} + u_{1m} A^c_{mp} + \\varepsilon_{mp}`.

    :math:`A^c` is agreeableness centred on its grand mean; :math:`(u_{0m}, u_{1m})` are
    bivariate normal random effects by model (``statsmodels`` MixedLM, REML,
    ``re_formula="~agreeableness"``). The pooled estimate is :math:`\\hat\\beta_1` with a Wald CI.

    Convergence rule: the optimizers are tried in order; a fit is accepted when it
    reports convergence, raises no ConvergenceWarning and has a positive-definite
    random-effects covariance with a finite SE. If none is accepted (or fewer than 3 models),
    the fallback is the two-stage estimate: the mean of the per-model OLS slopes with a
    t interval on :math:`M-1` df, :math:`\\bar b \\pm t_{M-1} s_b/\\sqrt M`, which also
    treats slopes as varying between models. The method used is reported.
    """
    import statsmodels.formula.api as smf
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    df = persona_rates[["model", "agreeableness", "rate"]].copy()
    df["a_c"] = df["agreeableness"] - df["agreeableness"].mean()
    # Fit on the standardised rate: on the raw scale (variances ~1e-3) statsmodels flags a false
    # "MLE on the boundary"; the slope and its SE are back-transformed exactly (times sd_y).
    sd_y = float(df["rate"].std(ddof=1)) or 1.0
    df["y"] = (df["rate"] - df["rate"].mean()) / sd_y
    models = sorted(df["model"].unique())
    attempts: list[str] = []
    z = sps.norm.ppf(0.5 + confidence / 2)
    if len(models) >= 3:
        for opt in optimizers:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    res = smf.mixedlm("y ~ a_c", df, groups=df["model"], re_formula="~a_c").fit(
                        reml=True, method=[opt])
                except (np.linalg.LinAlgError, ValueError) as exc:
                    attempts.append(f"{opt}: {type(exc).__name__}: {str(exc).splitlines()[0][:80]}")
                    continue
            conv_warn = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
            cov = np.asarray(res.cov_re, dtype=float)
            se = float(res.bse_fe["a_c"]) if "a_c" in res.bse_fe.index else float("nan")
            pd_ok = bool(np.all(np.linalg.eigvalsh(cov) > 1e-12)) if cov.size else False
            if res.converged and not conv_warn and pd_ok and np.isfinite(se) and se > 0:
                b = float(res.fe_params["a_c"]) * sd_y
                se *= sd_y
                return Pooled(b, se, float(b - z * se), float(b + z * se), float(2 * sps.norm.sf(abs(b / se))),
                              "mixedlm", True, len(models), len(df),
                              float(math.sqrt(max(cov[1, 1], 0.0))) * sd_y,
                              tuple(attempts + [f"{opt}: accepted"]))
            why = ("not converged" if not res.converged else
                   f"ConvergenceWarning: {str(conv_warn[0].message).splitlines()[0][:80]}" if conv_warn else
                   "random-effects covariance not positive definite" if not pd_ok else "SE not finite")
            attempts.append(f"{opt}: {why}")
    else:
        attempts.append(f"mixedlm: only {len(models)} models (need 3)")
    slopes = np.array([ols_slope(s["agreeableness"], s["rate"])["slope"]
                       for _, s in df.groupby("model", sort=True)])
    m = len(slopes)
    b = float(slopes.mean()) if m else float("nan")
    if m >= 2:
        sd = float(slopes.std(ddof=1))
        se = sd / math.sqrt(m)
        t = sps.t.ppf(0.5 + confidence / 2, m - 1)
        p = float(2 * sps.t.sf(abs(b / se), m - 1)) if se > 0 else 0.0
        return Pooled(b, se, float(b - t * se), float(b + t * se), p, "two_stage", False, m, len(df), sd,
                      tuple(attempts))
    if m == 1:
        o = ols_slope(df["agreeableness"], df["rate"], confidence)
        p_two = 2 * min(o["slope_p"], 1 - o["slope_p"])
        return Pooled(o["slope"], o["slope_se"], o["slope_ci_low"], o["slope_ci_high"], p_two, "single_model",
                      False, 1, len(df), float("nan"), tuple(attempts + ["one model: its OLS slope"]))
    raise InputError("pooled slope: no analysable model")


# --------------------------------------------------------------------------- reliability
def cronbach_alpha(items, confidence: float = 0.95) -> dict:
    """Cronbach's alpha with the Feldt (1965) F-based CI (listwise deletion of incomplete rows).

    :math:`\\alpha = \\frac{k}{k-1}\\left(1 - \\frac{\\sum_i s_i^2}{s_T^2}\\right)`, with :math:`s_i^2`
    the item variances and :math:`s_T^2` the variance of the item sum (ddof 1). CI:
    :math:`1 - (1-\\hat\\alpha) F_{q}(n-1, (n-1)(k-1))` at :math:`q = 1 - (1-c)/2` (lower) and
    :math:`q = (1-c)/2` (upper). Reference: Cronbach (1951), Psychometrika 16:297; Feldt (1965).
    """
    x = np.asarray(items, dtype=float)
    x = x[~np.isnan(x).any(axis=1)]
    n, k = x.shape
    if n < 2 or k < 2:
        return {"alpha": float("nan"), "ci_low": float("nan"), "ci_high": float("nan"), "n": n, "k": k,
                "note": "need at least 2 complete rows and 2 items"}
    total_var = x.sum(axis=1).var(ddof=1)
    if total_var == 0:
        return {"alpha": float("nan"), "ci_low": float("nan"), "ci_high": float("nan"), "n": n, "k": k,
                "note": "item sum has zero variance"}
    a = k / (k - 1) * (1 - x.var(axis=0, ddof=1).sum() / total_var)
    df1, df2 = n - 1, (n - 1) * (k - 1)
    lo = 1 - (1 - a) * sps.f.isf((1 - confidence) / 2, df1, df2)
    hi = 1 - (1 - a) * sps.f.isf((1 + confidence) / 2, df1, df2)
    return {"alpha": float(a), "ci_low": float(lo), "ci_high": float(hi), "n": n, "k": k, "note": ""}


def reliability_table(items: pd.DataFrame | None, confidence: float = 0.95) -> pd.DataFrame:
    """Cronbach's alpha of the reverse-keyed items per model and over all rows ("all models")."""
    cols = ["model", "n", "k", "alpha", "ci_low", "ci_high", "note"]
    if items is None:
        return pd.DataFrame(columns=cols)
    item_cols = [c for c in items.columns if c not in ("model", "persona_id")]
    rows = [{"model": m, **cronbach_alpha(s[item_cols], confidence)} for m, s in items.groupby("model", sort=True)]
    rows.append({"model": "all models", **cronbach_alpha(items[item_cols], confidence)})
    return pd.DataFrame(rows)[cols]


# --------------------------------------------------------------------------- summary
def headline(per_model: pd.DataFrame, *, n_personas: int, n_prompts: int) -> dict:
    """The per-model numbers the notebook records (issue 8's ``results.json`` keys, plus a few more)."""
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
        out[f"pearson_r.{r['model']}"] = float(r["pearson_r"])
        out[f"cohens_d.{r['model']}"] = None if pd.isna(r["cohens_d"]) else float(r["cohens_d"])
        out[f"slope.{r['model']}"] = float(r["slope"])
        out[f"significant.{r['model']}"] = bool(r["significant"])
    return out


def pooled_record(pooled: Pooled) -> dict:
    """``pooled.*`` keys for ``results.json``."""
    return {f"pooled.{k}": v for k, v in pooled.as_dict().items()}


def pooled_table(pooled: Pooled) -> pd.DataFrame:
    """One row per fitting attempt, the accepted estimate on every row."""
    base = pooled.as_dict()
    attempts = pooled.attempts or ("",)
    if pooled.method == "two_stage":
        attempts = (*attempts, "two_stage: fallback used")
    return pd.DataFrame([{**base, "attempt": a} for a in attempts])


def split_groups(persona_rates: pd.DataFrame) -> pd.DataFrame:
    """Persona rates with ``group`` = "high", "low" or "median" (the per-model median split)."""
    parts = []
    for _, sub in persona_rates.groupby("model", sort=True):
        hi, lo = median_split(sub["agreeableness"].to_numpy())
        parts.append(sub.assign(group=np.where(hi, "high", np.where(lo, "low", "median"))))
    if not parts:
        return persona_rates.assign(group=pd.Series(dtype=str))
    return pd.concat(parts, ignore_index=True)


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
