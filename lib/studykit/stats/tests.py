"""Hypothesis tests returning :class:`~studykit.stats.results.TestResult` with the matching effect size.

The tests wrap scipy / statsmodels where they are right and fast; this module
adds input checks that name the problem, the effect size that belongs to each
test, and the vectorised closed-form two-group logistic (binomial GLM) Wald
test used millions of times by the annotation studies.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
from scipy import special, stats

from studykit.stats import _validate as _v
from studykit.stats.effects import cohens_d, cramers_v, hedges_g, kendalls_w, rank_biserial, _no_empty_margins
from studykit.stats.results import EffectSize, LogitTestResult, TestResult

__all__ = ["welch_t", "mean_difference_t", "paired_t", "one_sample_t", "mann_whitney", "wilcoxon", "friedman",
           "chi2_independence", "mcnemar", "two_proportion_logit"]


def welch_t(x, y, *, alternative: str = "two-sided", confidence: float = 0.95) -> TestResult:
    r"""Welch's unequal-variance t test; effect = Hedges' g.

    :math:`t = (\bar x - \bar y)/\sqrt{s_x^2/n_x + s_y^2/n_y}` with Welch-Satterthwaite df
    :math:`\nu = (s_x^2/n_x + s_y^2/n_y)^2 / [s_x^4/(n_x^2(n_x-1)) + s_y^4/(n_y^2(n_y-1))]`
    (Welch 1947), via :func:`scipy.stats.ttest_ind` with ``equal_var=False``.

    Parameters
    ----------
    x, y : array_like
        Independent samples (at least 2 each, not both constant).
    alternative : {"two-sided", "greater", "less"}
        "greater": mean of x exceeds mean of y.
    confidence : float
        For the effect's CI.

    Returns
    -------
    TestResult

    Examples
    --------
    >>> res = welch_t([5.1, 4.9, 6.2, 5.8, 6.0], [4.1, 4.5, 5.0, 4.4, 4.8])
    >>> round(res.statistic, 3), round(res.df, 2)
    (3.474, 6.65)
    """
    alternative = _v.alternative(alternative)
    xa = _v.vector(x, "x", min_n=2)
    ya = _v.vector(y, "y", min_n=2)
    vx, vy = xa.var(ddof=1) / xa.size, ya.var(ddof=1) / ya.size
    if vx + vy == 0:
        raise ValueError("x and y: zero variance in both groups")
    res = stats.ttest_ind(xa, ya, equal_var=False, alternative=alternative)
    df = (vx + vy) ** 2 / (vx ** 2 / (xa.size - 1) + vy ** 2 / (ya.size - 1))
    return TestResult(float(res.statistic), float(res.pvalue), alternative, "Welch two-sample t test",
                      float(df), hedges_g(xa, ya, confidence=confidence))


def mean_difference_t(x, y=None, *, alternative: str = "two-sided", confidence: float = 0.95) -> TestResult:
    r"""t test of a mean (``y`` None: :math:`H_0: E[x] = 0`) or of a difference of means (Welch), with the raw
    mean or difference and its t interval as the effect.

    One sample: :math:`t = \bar x/(s/\sqrt n)` on :math:`n-1` df, interval :math:`\bar x \pm t_{n-1} s/\sqrt n`.
    Two samples: Welch's :math:`t` and df as :func:`welch_t`, interval
    :math:`\bar x - \bar y \pm t_\nu \sqrt{s_x^2/n_x + s_y^2/n_y}` (the interval the two-sided test inverts),
    via :func:`scipy.stats.ttest_1samp` / :func:`scipy.stats.ttest_ind` and their ``confidence_interval``.
    Use it where the difference itself, on the data's scale, is the effect (a shift in a rate); the interval
    is always two-sided.

    Parameters
    ----------
    x : array_like
        A sample (at least 2).
    y : array_like or None
        The second, independent sample (at least 2), or None for the one-sample test.
    alternative : {"two-sided", "greater", "less"}
        "greater": the mean of x (minus that of y) exceeds 0.
    confidence : float
        Level of the interval.

    Returns
    -------
    TestResult
        ``statistic`` t, ``df`` (Welch-Satterthwaite for two samples), ``effect`` the mean or difference with its
        interval (``effect.n``: the observations of both samples).

    Examples
    --------
    >>> res = mean_difference_t([5.1, 4.9, 6.2, 5.8, 6.0], [4.1, 4.5, 5.0, 4.4, 4.8])
    >>> e = res.effect
    >>> round(e.estimate, 2), round(e.ci_low, 3), round(e.ci_high, 3), round(res.df, 2)
    (1.04, 0.325, 1.755, 6.65)
    """
    confidence = _v.confidence(confidence)
    alternative = _v.alternative(alternative)
    xa = _v.vector(x, "x", min_n=2)
    if y is None:
        if xa.var(ddof=1) == 0:
            raise ValueError("x: zero variance")
        res = stats.ttest_1samp(xa, 0.0, alternative=alternative)
        ci = stats.ttest_1samp(xa, 0.0).confidence_interval(confidence)
        eff = EffectSize(float(xa.mean()), float(ci.low), float(ci.high), "mean, one-sample t interval",
                         confidence, int(xa.size))
        return TestResult(float(res.statistic), float(res.pvalue), alternative, "one-sample t test",
                          float(xa.size - 1), eff)
    ya = _v.vector(y, "y", min_n=2)
    vx, vy = xa.var(ddof=1) / xa.size, ya.var(ddof=1) / ya.size
    if vx + vy == 0:
        raise ValueError("x and y: zero variance in both groups")
    with warnings.catch_warnings():  # one constant sample is allowed; scipy warns about its zero variance
        warnings.filterwarnings("ignore", "Precision loss occurred", RuntimeWarning)
        res = stats.ttest_ind(xa, ya, equal_var=False, alternative=alternative)
        ci = (res if alternative == "two-sided" else stats.ttest_ind(xa, ya, equal_var=False)).confidence_interval(
            confidence)
    df = (vx + vy) ** 2 / (vx ** 2 / (xa.size - 1) + vy ** 2 / (ya.size - 1))
    eff = EffectSize(float(xa.mean() - ya.mean()), float(ci.low), float(ci.high),
                     "difference of means, Welch t interval", confidence, int(xa.size + ya.size))
    return TestResult(float(res.statistic), float(res.pvalue), alternative, "Welch two-sample t test", float(df), eff)


def paired_t(x, y, *, alternative: str = "two-sided", confidence: float = 0.95) -> TestResult:
    r"""Paired t test on :math:`D = x - y`; effect = Cohen's :math:`d_z`.

    :math:`t = \bar D / (s_D/\sqrt n)` on :math:`n-1` df (:func:`scipy.stats.ttest_rel`).

    Parameters
    ----------
    x, y : array_like
        Paired samples of equal length.
    alternative : {"two-sided", "greater", "less"}
    confidence : float

    Returns
    -------
    TestResult

    Examples
    --------
    >>> round(paired_t([1.0, 2.0, 3.0, 4.5], [0.5, 1.0, 2.5, 3.0]).statistic, 3)
    3.656
    """
    alternative = _v.alternative(alternative)
    xa = _v.vector(x, "x", min_n=2)
    ya = _v.vector(y, "y", min_n=2)
    _v.same_length(xa, ya)
    eff = cohens_d(xa, ya, paired=True, confidence=confidence)
    res = stats.ttest_rel(xa, ya, alternative=alternative)
    return TestResult(float(res.statistic), float(res.pvalue), alternative, "paired t test",
                      float(xa.size - 1), eff)


def one_sample_t(x, mu: float = 0.0, *, alternative: str = "two-sided", confidence: float = 0.95) -> TestResult:
    r"""One-sample t test of :math:`H_0: E[x] = \mu`; effect = :math:`(\bar x - \mu)/s`.

    :math:`t = (\bar x - \mu)/(s/\sqrt n)` on :math:`n-1` df (:func:`scipy.stats.ttest_1samp`).

    Parameters
    ----------
    x : array_like
    mu : float
    alternative : {"two-sided", "greater", "less"}
    confidence : float

    Returns
    -------
    TestResult

    Examples
    --------
    >>> round(one_sample_t([0.3, 0.1, 0.5, 0.4, 0.2]).statistic, 3)
    4.243
    """
    alternative = _v.alternative(alternative)
    xa = _v.vector(x, "x", min_n=2)
    if not math.isfinite(mu):
        raise ValueError(f"mu: must be finite, got {mu}")
    eff = cohens_d(xa - mu, confidence=confidence)
    res = stats.ttest_1samp(xa, mu, alternative=alternative)
    return TestResult(float(res.statistic), float(res.pvalue), alternative, "one-sample t test",
                      float(xa.size - 1), eff)


def mann_whitney(x, y, *, alternative: str = "two-sided", confidence: float = 0.95,
                 method: str = "auto") -> TestResult:
    r"""Mann-Whitney U test; effect = rank-biserial r (= Cliff's delta), positive when x is larger.

    :math:`U_x = \sum_i R_i - n_x(n_x+1)/2` with midranks of the pooled sample;
    exact or normal approximation with tie and continuity correction, via
    :func:`scipy.stats.mannwhitneyu` (``method`` passed through).

    Parameters
    ----------
    x, y : array_like
    alternative : {"two-sided", "greater", "less"}
        "greater": x stochastically larger than y.
    confidence : float
    method : {"auto", "exact", "asymptotic"}

    Returns
    -------
    TestResult
        ``statistic`` is :math:`U_x`.

    Examples
    --------
    >>> round(mann_whitney([3, 4, 5, 6], [1, 2, 3, 4]).statistic, 1)
    14.0
    """
    alternative = _v.alternative(alternative)
    xa = _v.vector(x, "x", min_n=2)
    ya = _v.vector(y, "y", min_n=2)
    if np.ptp(np.concatenate([xa, ya])) == 0:
        raise ValueError("x and y: all values are equal (zero variance)")
    res = stats.mannwhitneyu(xa, ya, alternative=alternative, method=method)
    eff = rank_biserial(xa, ya, confidence=confidence)
    return TestResult(float(res.statistic), float(res.pvalue), alternative, "Mann-Whitney U test",
                      None, eff)


def wilcoxon(x, y=None, *, alternative: str = "two-sided", confidence: float = 0.95,
             method: str = "auto") -> TestResult:
    r"""Wilcoxon signed-rank test on :math:`D = x - y` (or x); effect = matched-pairs rank-biserial.

    Zero differences are dropped (Wilcoxon's convention, ``zero_method="wilcox"``);
    :math:`T^+ = \sum_{D_i>0} R_i`; p-value from :func:`scipy.stats.wilcoxon`.

    Parameters
    ----------
    x : array_like
    y : array_like or None
    alternative : {"two-sided", "greater", "less"}
    confidence : float
    method : {"auto", "exact", "approx"}

    Returns
    -------
    TestResult
        ``statistic`` is scipy's (``min(T+, T-)`` for two-sided, ``T+`` otherwise).

    Examples
    --------
    >>> res = wilcoxon([1.5, -0.5, 2.0, 3.0, 0.7, 1.1])
    >>> round(res.effect.estimate, 4)
    0.9048
    """
    alternative = _v.alternative(alternative)
    xa = _v.vector(x, "x")
    if y is not None:
        ya = _v.vector(y, "y")
        _v.same_length(xa, ya)
        d = xa - ya
    else:
        d = xa
    if np.all(d == 0):
        raise ValueError("x - y: all differences are zero")
    res = stats.wilcoxon(d, alternative=alternative, zero_method="wilcox", method=method)
    eff = rank_biserial(d, paired=True, confidence=confidence)
    return TestResult(float(res.statistic), float(res.pvalue), alternative, "Wilcoxon signed-rank test",
                      None, eff)


def friedman(ratings_2d, *, confidence: float = 0.95) -> TestResult:
    r"""Friedman test; effect = Kendall's W.

    Rows are the subjects (blocks), columns the conditions (at least 3, as in
    :func:`scipy.stats.friedmanchisquare`); ranks are taken within each row and
    :math:`Q = 12/(nk(k+1))\sum_j R_j^2 - 3n(k+1)` (tie-corrected) is
    referred to :math:`\chi^2_{k-1}`.  Kendall's :math:`W = Q/(n(k-1))` is the
    agreement of the subjects' rankings of the conditions, i.e.
    ``kendalls_w(ratings_2d.T)`` (there the conditions are ranked by each subject).

    Parameters
    ----------
    ratings_2d : array_like, shape (n_subjects, k_conditions)
    confidence : float

    Returns
    -------
    TestResult

    Examples
    --------
    >>> round(friedman([[1, 2, 3], [2, 3, 1], [1, 3, 2], [1, 2, 3]]).effect.estimate, 4)
    0.4375
    """
    x = _v.matrix(ratings_2d, "ratings_2d", min_rows=2, min_cols=3)
    if np.all(np.ptp(x, axis=1) == 0):
        raise ValueError("ratings_2d: every subject gives all conditions the same value")
    res = stats.friedmanchisquare(*x.T)
    eff = kendalls_w(x.T, confidence=confidence)
    return TestResult(float(res.statistic), float(res.pvalue), "two-sided", "Friedman test",
                      float(x.shape[1] - 1), eff)


def chi2_independence(table, *, correction: bool = False, confidence: float = 0.95) -> TestResult:
    r"""Pearson chi-square test of independence; effect = bias-corrected Cramér's V.

    :math:`\chi^2 = \sum (O - E)^2/E` on :math:`(r-1)(k-1)` df via
    :func:`scipy.stats.chi2_contingency`; ``correction=True`` applies Yates'
    continuity correction (2x2 only).  ``note`` warns when an expected count is below 5.

    Parameters
    ----------
    table : array_like, shape (r, k)
    correction : bool, default False
    confidence : float

    Returns
    -------
    TestResult

    Examples
    --------
    >>> round(chi2_independence([[30, 10], [10, 30]]).statistic, 3)
    20.0
    """
    t = _v.table(table, "table")
    _no_empty_margins(t, "table")
    res = stats.chi2_contingency(t, correction=correction)
    note = ""
    emin = float(res.expected_freq.min())
    if emin < 5:
        note = f"smallest expected count is {emin:.3g} (< 5): the chi-square approximation may be poor"
    return TestResult(float(res.statistic), float(res.pvalue), "two-sided",
                      "Pearson chi-square test of independence" + (" (Yates)" if correction and t.shape == (2, 2) else ""),
                      float(res.dof), cramers_v(t, confidence=confidence), note)


def mcnemar(table_2x2, *, exact: bool = True, confidence: float = 0.95) -> TestResult:
    r"""McNemar's test for paired binary outcomes; effect = matched-pairs odds ratio b/c.

    Accepts the 2x2 table of pairs ``[[a, b], [c, d]]`` or the discordant counts ``(b, c)``.
    ``exact=True``: two-sided binomial test of :math:`b \sim Bin(b+c, 1/2)`;
    ``exact=False``: :math:`\chi^2 = (|b-c|-1)^2/(b+c)` on 1 df (Edwards' continuity
    correction), as :func:`statsmodels.stats.contingency_tables.mcnemar`.
    The effect is the conditional odds ratio :math:`b/c` with the exact
    Clopper-Pearson CI of :math:`b/(b+c)` mapped by :math:`p/(1-p)`.

    Parameters
    ----------
    table_2x2 : array_like, shape (2, 2) or (2,)
    exact : bool, default True
    confidence : float

    Returns
    -------
    TestResult

    References
    ----------
    McNemar, Q. (1947). *Psychometrika* 12(2), 153-157.

    Examples
    --------
    >>> round(mcnemar((10, 2)).p_value, 5)
    0.03857
    """
    confidence = _v.confidence(confidence)
    arr = np.asarray(table_2x2, dtype=float)
    if arr.shape == (2,):
        b, c = arr
    elif arr.shape == (2, 2):
        b, c = arr[0, 1], arr[1, 0]
    else:
        raise ValueError(f"table_2x2: expected a 2x2 table or (b, c), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0) or np.any(arr != np.round(arr)):
        raise ValueError("table_2x2: counts must be finite non-negative integers")
    b, c = int(b), int(c)
    n = b + c
    if n == 0:
        raise ValueError("table_2x2: no discordant pairs (b + c = 0), McNemar's test is undefined")
    ci = stats.binomtest(b, n).proportion_ci(confidence_level=confidence, method="exact")
    with np.errstate(divide="ignore"):
        est = float(np.divide(float(b), float(c)))
        lo = float(np.divide(ci.low, 1 - ci.low))
        hi = float(np.divide(ci.high, 1 - ci.high)) if ci.high < 1 else math.inf
    eff = EffectSize(est, lo, hi, "matched-pairs odds ratio b/c, exact Clopper-Pearson CI", confidence, n)
    if exact:
        p = float(stats.binomtest(b, n, 0.5).pvalue)
        return TestResult(float(min(b, c)), p, "two-sided", "McNemar exact (binomial) test", None, eff)
    stat = (abs(b - c) - 1) ** 2 / n
    return TestResult(float(stat), float(stats.chi2.sf(stat, 1)), "two-sided",
                      "McNemar chi-square test (continuity-corrected)", 1.0, eff)


def two_proportion_logit(x_a, n_a, x_b, n_b, *, alternative: str = "two-sided") -> LogitTestResult:
    r"""Vectorised two-group logistic regression (binomial GLM) Wald test, in closed form.

    Model: :math:`\operatorname{logit} P(y=1) = a + b\,1[\text{group } a]`.  With two
    groups the MLE is saturated: :math:`\hat b = \operatorname{logit}\hat p_a - \operatorname{logit}\hat p_b`,
    and the inverse Fisher information gives
    :math:`SE(\hat b) = \sqrt{1/x_a + 1/(n_a - x_a) + 1/x_b + 1/(n_b - x_b)}`,
    :math:`z = \hat b / SE`, two-sided :math:`p = 2\Phi(-|z|)` -- exactly what
    ``statsmodels.GLM(..., family=Binomial()).fit()`` reports, without the
    iterations, for millions of tests at once.

    Where a proportion is 0 or 1 the MLE does not exist (the GLM "converges" to a
    huge coefficient with a meaningless SE): there ``valid`` is False and
    ``log_odds_ratio``, ``se``, ``z``, ``p_value`` are NaN (``diff`` is still defined).

    Parameters
    ----------
    x_a, n_a, x_b, n_b : array_like of int
        Successes and trials per group; broadcast together.
    alternative : {"two-sided", "greater", "less"}
        "greater": :math:`b > 0`, i.e. :math:`p_a > p_b`.

    Returns
    -------
    LogitTestResult

    References
    ----------
    Agresti, A. (2013). *Categorical Data Analysis*, 3rd ed., sec. 3.1 and 5.2 (Wald test of a logit coefficient).

    Examples
    --------
    >>> res = two_proportion_logit(30, 50, 20, 50)
    >>> round(float(res.p_value), 5)
    0.04699
    """
    alternative = _v.alternative(alternative)
    arrs = []
    for v, name in ((x_a, "x_a"), (n_a, "n_a"), (x_b, "x_b"), (n_b, "n_b")):
        a = np.asarray(v, dtype=float)
        if a.size == 0:
            raise ValueError(f"{name}: empty input")
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{name}: contains NaN or infinite values")
        if np.any(a < 0):
            raise ValueError(f"{name}: contains negative counts")
        arrs.append(a)
    try:
        xa, na, xb, nb = np.broadcast_arrays(*arrs)
    except ValueError:
        raise ValueError("x_a, n_a, x_b, n_b: shapes cannot be broadcast together") from None
    if np.any(na == 0) or np.any(nb == 0):
        raise ValueError("n_a, n_b: a group has zero trials")
    if np.any(xa > na) or np.any(xb > nb):
        raise ValueError("x_a, x_b: successes exceed trials")
    pa, pb = xa / na, xb / nb
    valid = (xa > 0) & (xa < na) & (xb > 0) & (xb < nb)
    with np.errstate(divide="ignore", invalid="ignore"):
        lor = np.where(valid, np.log(xa) - np.log(na - xa) - np.log(xb) + np.log(nb - xb), np.nan)
        se = np.where(valid, np.sqrt(1 / xa + 1 / (na - xa) + 1 / xb + 1 / (nb - xb)), np.nan)
        z = lor / se
    if alternative == "two-sided":
        p = 2 * special.ndtr(-np.abs(z))
    elif alternative == "greater":
        p = special.ndtr(-z)
    else:
        p = special.ndtr(z)
    note = ""
    if not np.all(valid):
        note = (f"{int((~valid).sum())} test(s) with a proportion of 0 or 1: the logistic MLE does not exist, "
                "p_value is NaN there (valid=False)")
    return LogitTestResult(lor, se, z, p, pa - pb, pa, pb, valid, alternative, note)
