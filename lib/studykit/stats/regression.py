"""Simple linear regression: the OLS slope with its t test and interval."""
from __future__ import annotations

import math

import numpy as np
from scipy import stats

from studykit.stats import _validate as _v
from studykit.stats.results import EffectSize, TestResult

__all__ = ["ols_slope", "slope_se"]


def ols_slope(x, y, *, confidence: float = 0.95, alternative: str = "two-sided") -> TestResult:
    r"""OLS slope of ``y`` on ``x`` (with an intercept), its t test and t interval.

    Model :math:`y_i = \beta_0 + \beta_1 x_i + \varepsilon_i`. Estimate
    :math:`\hat\beta_1 = S_{xy}/S_{xx}`, standard error
    :math:`\widehat{se} = \sqrt{\hat\sigma^2/S_{xx}}` with
    :math:`\hat\sigma^2 = \sum_i \hat\varepsilon_i^2/(n-2)`; test statistic
    :math:`t = \hat\beta_1/\widehat{se}` on :math:`n-2` df against :math:`H_0: \beta_1 = 0`
    (``alternative`` "greater" tests :math:`\beta_1 > 0`); interval
    :math:`\hat\beta_1 \pm t_{n-2, (1+c)/2}\,\widehat{se}`, always two-sided. Computed by
    ``statsmodels.OLS`` (Draper & Smith 1998, ch. 1). A perfect fit has
    :math:`\widehat{se} = 0`: the statistic is infinite (0 for a zero slope), the p-value 0
    (or 1/2), the interval a point, and ``note`` says so.

    Parameters
    ----------
    x, y : array_like
        Paired observations, at least 3; ``x`` not constant.
    confidence : float
        Level of the interval.
    alternative : {"two-sided", "greater", "less"}

    Returns
    -------
    TestResult
        ``statistic`` is t, ``df = n - 2``, ``effect`` the slope with its interval
        (:func:`slope_se` recovers the standard error from it).

    Examples
    --------
    >>> res = ols_slope([1, 2, 3, 4, 5], [1.2, 1.9, 3.2, 3.8, 5.1])
    >>> round(res.estimate, 3), round(res.ci_low, 3), round(res.ci_high, 3), res.df
    (0.97, 0.766, 1.174, 3.0)
    """
    from statsmodels.regression.linear_model import OLS  # not statsmodels.api: it imports every submodule
    from statsmodels.tools.tools import add_constant

    confidence = _v.confidence(confidence)
    alternative = _v.alternative(alternative)
    xa = _v.vector(x, "x", min_n=3)
    ya = _v.vector(y, "y", min_n=3)
    _v.same_length(xa, ya)
    _v.nonconstant(xa, "x")
    res = OLS(ya, add_constant(xa)).fit()
    b, se, df = float(res.params[1]), float(res.bse[1]), float(res.df_resid)
    lo, hi = res.conf_int(alpha=1 - confidence)[1]
    note = ""
    # A perfect fit leaves only rounding error in the residuals (se ~ 1e-16 |b|): treat it as 0.
    if se > 1e-12 * abs(b):
        t = b / se
    else:
        t = math.copysign(math.inf, b) if b != 0 else 0.0
        lo = hi = b
        note = "perfect fit: residual variance zero, standard error 0"
    if alternative == "greater":
        p = float(stats.t.sf(t, df))
    elif alternative == "less":
        p = float(stats.t.cdf(t, df))
    else:
        p = float(min(1.0, 2 * stats.t.sf(abs(t), df)))
    eff = EffectSize(b, float(lo), float(hi), "OLS slope, t CI", confidence, int(xa.size), note)
    return TestResult(t, p, alternative, "OLS slope t test", df, eff, note)


def slope_se(result: TestResult) -> float:
    r"""Standard error of the slope of an :func:`ols_slope` result, from its interval.

    :math:`\widehat{se} = (\text{ci\_high} - \text{ci\_low}) / (2\,t_{df,(1+c)/2})`, the inverse
    of the t interval (Draper & Smith 1998, ch. 1).

    Parameters
    ----------
    result : TestResult
        A result of :func:`ols_slope`.

    Returns
    -------
    float

    Examples
    --------
    >>> round(slope_se(ols_slope([1, 2, 3, 4, 5], [1.2, 1.9, 3.2, 3.8, 5.1])), 4)
    0.064
    """
    eff = result.effect
    if eff is None or result.df is None:
        raise ValueError("slope_se: expected a result of ols_slope")
    return float((eff.ci_high - eff.ci_low) / (2 * stats.t.ppf(0.5 + eff.confidence / 2, result.df)))
