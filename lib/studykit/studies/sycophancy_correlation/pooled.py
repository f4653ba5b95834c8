"""Pooled slope of sycophancy rate on agreeableness across models (mixed model, two-stage fallback)."""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

from studykit import stats
from studykit.contract.errors import InputError
from studykit.stats.regression import slope_se
from studykit.stats.results import Result


@dataclass(frozen=True)
class Pooled(Result):
    """Pooled slope of rate on agreeableness across models.

    ``method``: "mixedlm" (random intercept and slope by model), the fallback
    "two_stage" (mean of per-model OLS slopes with a t interval over models), or
    "single_model" (only one analysable model: its OLS slope; no between-model SD);
    ``attempts``: what was tried and why it was rejected; ``df``: degrees of freedom of the
    :math:`t` reference of the interval and p-value (models - 1; the single model's n - 2).
    """

    slope: float
    slope_se: float
    slope_ci_low: float
    slope_ci_high: float
    slope_p_value: float
    method: str
    converged: bool
    n_models: int
    n_obs: int
    slope_sd_between: float
    attempts: tuple[str, ...] = ()
    df: float = float("nan")

    def fallback(self) -> str | None:
        """The two-stage or single-model estimate when the mixed model was not accepted, with the reasons."""
        if self.method == "mixedlm":
            return None
        return f"{self.method} instead of mixedlm ({'; '.join(self.attempts)})"


def pooled_slope(persona_rates: pd.DataFrame, *, confidence: float = 0.95,
                 optimizers: tuple[str, ...] = ("lbfgs", "bfgs", "powell", "nm")) -> Pooled:
    """Mixed model :math:`R_{mp} = \\beta_0 + \\beta_1 A^c_{mp} + u_{0m} + u_{1m} A^c_{mp} + \\varepsilon_{mp}`.

    :math:`A^c` is agreeableness centred on its grand mean; :math:`(u_{0m}, u_{1m})` are
    bivariate normal random effects by model (``statsmodels`` MixedLM, REML,
    ``re_formula="~agreeableness"``). The pooled estimate is :math:`\\hat\\beta_1`; its interval and
    p-value use a :math:`t` reference with :math:`M - 1` df (:math:`M` models), not the normal: the slope's
    standard error is driven by the between-model slope variance, estimated from :math:`M` model slopes
    (the two-stage fallback's df; a z interval at :math:`M = 13` is about 10% too narrow).

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
    t_crit = sps.t.ppf(0.5 + confidence / 2, len(models) - 1) if len(models) >= 2 else float("nan")
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
                return Pooled(b, se, float(b - t_crit * se), float(b + t_crit * se),
                              float(2 * sps.t.sf(abs(b / se), len(models) - 1)),
                              "mixedlm", True, len(models), len(df),
                              float(math.sqrt(max(cov[1, 1], 0.0))) * sd_y,
                              tuple(attempts + [f"{opt}: accepted"]), float(len(models) - 1))
            why = ("not converged" if not res.converged else
                   f"ConvergenceWarning: {str(conv_warn[0].message).splitlines()[0][:80]}" if conv_warn else
                   "random-effects covariance not positive definite" if not pd_ok else "SE not finite")
            attempts.append(f"{opt}: {why}")
    else:
        attempts.append(f"mixedlm: only {len(models)} models (need 3)")
    slopes = np.array([stats.ols_slope(s["agreeableness"], s["rate"]).estimate
                       for _, s in df.groupby("model", sort=True)])
    m = len(slopes)
    b = float(slopes.mean()) if m else float("nan")
    if m >= 2:
        sd = float(slopes.std(ddof=1))
        se = sd / math.sqrt(m)
        t = sps.t.ppf(0.5 + confidence / 2, m - 1)
        p = float(2 * sps.t.sf(abs(b / se), m - 1)) if se > 0 else 0.0
        return Pooled(b, se, float(b - t * se), float(b + t * se), p, "two_stage", False, m, len(df), sd,
                      tuple(attempts), float(m - 1))
    if m == 1:
        one = stats.ols_slope(df["agreeableness"], df["rate"], confidence=confidence)
        return Pooled(one.estimate, slope_se(one), one.ci_low, one.ci_high, one.p_value, "single_model",
                      False, 1, len(df), float("nan"), tuple(attempts + ["one model: its OLS slope"]),
                      float(one.df))
    raise InputError("pooled slope: no analysable model")


def pooled_table(pooled: Pooled) -> pd.DataFrame:
    """One row per fitting attempt, the accepted estimate on every row."""
    base = {k: v for k, v in pooled.as_dict().items() if k != "attempts"}
    attempts = pooled.attempts or ("",)
    if pooled.method == "two_stage":
        attempts = (*attempts, "two_stage: fallback used")
    return pd.DataFrame([{**base, "attempt": a} for a in attempts])
