"""Effect sizes with confidence intervals.

Every function returns an :class:`~studykit.stats.results.EffectSize`
(``estimate``, ``ci_low``, ``ci_high``, ``method``, ``confidence``, ``n``,
``note``), except :func:`pearson_r` and :func:`spearman_rho` which return a
:class:`~studykit.stats.results.TestResult` whose ``effect`` is the
correlation with its CI (and which expose ``.estimate``, ``.ci_low`` and
``.ci_high`` like every effect size).  Bad input raises ``ValueError`` naming
the problem; a NaN interval end is only returned with the reason in ``note``.

Size: one module for the effect-size family, as in pingouin; each function is
short and self-contained, and splitting the family would scatter the shared CI
helpers it uses.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import special, stats

from studykit.stats import _validate as _v
from studykit.stats._ci import clip, nct_ci, ncx2_ci, wilson, z_crit
from studykit.stats.results import EffectSize, TestResult

__all__ = [
    "cohens_d", "hedges_g", "cohens_h", "risk_difference", "risk_ratio", "odds_ratio",
    "pearson_r", "spearman_rho", "cramers_v", "phi", "vargha_delaney_a", "rank_biserial",
    "cliffs_delta", "kendalls_w",
]

_NAN = math.nan
_NCT_NOTE = ("|t| is too large for an accurate noncentral t inversion: large-sample CI "
             "d +- z sqrt(1/n_eff + d^2/(2 df)) (Hedges & Olkin 1985) used instead")


# ----------------------------------------------------------------------------- standardized mean differences
def _two_groups(x, y):
    xa = _v.vector(x, "x", min_n=2)
    ya = _v.vector(y, "y", min_n=2)
    return xa, ya


def _pooled_d(xa: np.ndarray, ya: np.ndarray) -> tuple[float, float, int]:
    n1, n2 = xa.size, ya.size
    df = n1 + n2 - 2
    sp2 = ((n1 - 1) * xa.var(ddof=1) + (n2 - 1) * ya.var(ddof=1)) / df
    if sp2 == 0:
        raise ValueError("x and y: zero variance in both groups (pooled SD is 0)")
    return (xa.mean() - ya.mean()) / math.sqrt(sp2), math.sqrt(n1 * n2 / (n1 + n2)), df


def _hedges_j(df: float) -> float:
    """Exact small-sample correction ``J(df) = Gamma(df/2) / (sqrt(df/2) Gamma((df-1)/2))``."""
    return float(math.exp(special.gammaln(df / 2) - 0.5 * math.log(df / 2) - special.gammaln((df - 1) / 2)))


def cohens_d(x, y=None, *, paired: bool = False, confidence: float = 0.95) -> EffectSize:
    r"""Cohen's d with an exact (noncentral t) confidence interval.

    Independent groups: :math:`d = (\bar x - \bar y) / s_p`,
    :math:`s_p^2 = ((n_1-1)s_1^2 + (n_2-1)s_2^2)/(n_1+n_2-2)`.
    One sample (``y=None``) or ``paired=True``: :math:`d_z = \bar D / s_D` with
    :math:`D = x - y` (Cohen 1988, eq. 2.3.5).

    The CI inverts the noncentral t distribution of
    :math:`t = d\sqrt{n_1 n_2/(n_1+n_2)}` (resp. :math:`d_z\sqrt n`) in its
    noncentrality (Steiger & Fouladi 1997; the method of R ``effectsize``), so
    it is exact under normality.

    Parameters
    ----------
    x, y : array_like
        Samples. ``y=None`` gives the one-sample :math:`d = \bar x / s_x`.
    paired : bool
        Treat ``x`` and ``y`` as pairs (same length) and return :math:`d_z`.
    confidence : float

    Returns
    -------
    EffectSize

    References
    ----------
    Cohen, J. (1988). *Statistical Power Analysis for the Behavioral Sciences*.
    Steiger, J. H., & Fouladi, R. T. (1997). Noncentrality interval estimation.

    Examples
    --------
    >>> r = cohens_d([5.1, 4.9, 6.2, 5.8, 6.0], [4.1, 4.5, 5.0, 4.4, 4.8])
    >>> round(r.estimate, 3)
    2.197
    """
    confidence = _v.confidence(confidence)
    if y is None or paired:
        xa = _v.vector(x, "x", min_n=2)
        if y is not None:
            ya = _v.vector(y, "y", min_n=2)
            _v.same_length(xa, ya)
            diff = xa - ya
            label = "Cohen's d_z (paired)"
        else:
            diff = xa
            label = "Cohen's d (one sample)"
        n = diff.size
        sd = diff.std(ddof=1)
        if sd == 0:
            raise ValueError(("x - y" if y is not None else "x") + ": zero variance (all values equal)")
        d = diff.mean() / sd
        lo, hi, exact = nct_ci(d * math.sqrt(n), n - 1, confidence)
        return EffectSize(float(d), lo / math.sqrt(n), hi / math.sqrt(n), f"{label}, noncentral t CI",
                          confidence, n, "" if exact else _NCT_NOTE)
    xa, ya = _two_groups(x, y)
    d, scale, df = _pooled_d(xa, ya)
    lo, hi, exact = nct_ci(d * scale, df, confidence)
    return EffectSize(float(d), lo / scale, hi / scale, "Cohen's d (pooled SD), noncentral t CI",
                      confidence, xa.size + ya.size, "" if exact else _NCT_NOTE)


def hedges_g(x, y, *, confidence: float = 0.95) -> EffectSize:
    r"""Hedges' g: Cohen's d with the exact small-sample bias correction.

    :math:`g = J(\nu)\,d`, :math:`J(\nu) = \Gamma(\nu/2) / (\sqrt{\nu/2}\,\Gamma((\nu-1)/2))`,
    :math:`\nu = n_1 + n_2 - 2` (Hedges 1981); :math:`J \approx 1 - 3/(4\nu - 1)`.
    The CI is the noncentral-t CI of d multiplied by :math:`J` (as R ``effectsize``).

    Parameters
    ----------
    x, y : array_like
        The two independent samples.
    confidence : float

    Returns
    -------
    EffectSize

    References
    ----------
    Hedges, L. V. (1981). Distribution theory for Glass's estimator of effect size. *J. Educ. Stat.* 6(2).

    Examples
    --------
    >>> round(hedges_g([5.1, 4.9, 6.2, 5.8, 6.0], [4.1, 4.5, 5.0, 4.4, 4.8]).estimate, 3)
    1.984
    """
    confidence = _v.confidence(confidence)
    xa, ya = _two_groups(x, y)
    d, scale, df = _pooled_d(xa, ya)
    j = _hedges_j(df)
    lo, hi, exact = nct_ci(d * scale, df, confidence)
    return EffectSize(float(j * d), j * lo / scale, j * hi / scale,
                      "Hedges' g (exact J), noncentral t CI", confidence, xa.size + ya.size,
                      "" if exact else _NCT_NOTE)


# ----------------------------------------------------------------------------- two proportions
def cohens_h(x1, n1, x2, n2, *, confidence: float = 0.95) -> EffectSize:
    r"""Cohen's h for two proportions with a closed-form CI.

    :math:`h = 2\arcsin\sqrt{p_1} - 2\arcsin\sqrt{p_2}`; the arcsine transform
    stabilises the variance, :math:`\operatorname{Var}(2\arcsin\sqrt{\hat p}) \approx 1/n`,
    so :math:`h \pm z_{1-\alpha/2}\sqrt{1/n_1 + 1/n_2}` (Cohen 1988, ch. 6), clipped to
    :math:`[-\pi, \pi]`.

    Parameters
    ----------
    x1, n1, x2, n2 : int
        Successes and trials in groups 1 and 2.
    confidence : float

    Returns
    -------
    EffectSize

    Examples
    --------
    >>> round(cohens_h(30, 50, 20, 50).estimate, 4)
    0.4027
    """
    confidence = _v.confidence(confidence)
    x1, n1 = _v.counts(x1, n1, "group 1")
    x2, n2 = _v.counts(x2, n2, "group 2")
    h = 2 * math.asin(math.sqrt(x1 / n1)) - 2 * math.asin(math.sqrt(x2 / n2))
    half = z_crit(confidence) * math.sqrt(1 / n1 + 1 / n2)
    return EffectSize(h, max(-math.pi, h - half), min(math.pi, h + half), "Cohen's h, arcsine Wald CI",
                      confidence, n1 + n2)


def risk_difference(x1, n1, x2, n2, *, confidence: float = 0.95) -> EffectSize:
    r"""Risk difference :math:`p_1 - p_2` with Newcombe's hybrid Wilson score CI.

    With Wilson intervals :math:`(l_i, u_i)` for each proportion (Newcombe 1998, method 10):
    :math:`L = \hat\delta - \sqrt{(p_1-l_1)^2 + (u_2-p_2)^2}`,
    :math:`U = \hat\delta + \sqrt{(u_1-p_1)^2 + (p_2-l_2)^2}`.

    Parameters
    ----------
    x1, n1, x2, n2 : int
    confidence : float

    Returns
    -------
    EffectSize

    References
    ----------
    Newcombe, R. G. (1998). Interval estimation for the difference between independent proportions:
    comparison of eleven methods. *Statistics in Medicine* 17, 873-890 (Table II).

    Examples
    --------
    >>> r = risk_difference(56, 70, 48, 80)
    >>> round(r.ci_low, 4), round(r.ci_high, 4)
    (0.0524, 0.3339)
    """
    confidence = _v.confidence(confidence)
    x1, n1 = _v.counts(x1, n1, "group 1")
    x2, n2 = _v.counts(x2, n2, "group 2")
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson(x1, n1, confidence)
    l2, u2 = wilson(x2, n2, confidence)
    d = p1 - p2
    lo = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    hi = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return EffectSize(d, max(-1.0, lo), min(1.0, hi), "risk difference, Newcombe hybrid Wilson score CI",
                      confidence, n1 + n2)


def risk_ratio(x1, n1, x2, n2, *, confidence: float = 0.95, haldane: bool = False) -> EffectSize:
    r"""Risk ratio :math:`p_1/p_2` with the log-Wald (Katz) CI.

    :math:`\log RR \pm z\sqrt{1/x_1 - 1/n_1 + 1/x_2 - 1/n_2}` (Katz et al. 1978).
    A zero count makes the log-scale SE infinite: by default the CI is NaN with
    the reason in ``note`` (estimate 0 or inf as it is); ``haldane=True`` adds
    0.5 to every cell of the 2x2 table (successes + 0.5, trials + 1) for the
    estimate and the CI.

    Parameters
    ----------
    x1, n1, x2, n2 : int
    confidence : float
    haldane : bool, default False
        Apply the Haldane-Anscombe correction when a success count is zero.

    Returns
    -------
    EffectSize

    Examples
    --------
    >>> round(risk_ratio(30, 100, 15, 100).estimate, 3)
    2.0
    """
    confidence = _v.confidence(confidence)
    x1, n1 = _v.counts(x1, n1, "group 1")
    x2, n2 = _v.counts(x2, n2, "group 2")
    note = ""
    fx1, fn1, fx2, fn2 = float(x1), float(n1), float(x2), float(n2)
    if x1 == 0 or x2 == 0:
        if haldane:
            fx1, fn1, fx2, fn2 = fx1 + 0.5, fn1 + 1, fx2 + 0.5, fn2 + 1
            note = "zero success count: Haldane-Anscombe correction (+0.5 per cell) applied"
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                est = float(np.divide(fx1 / fn1, fx2 / fn2))
            return EffectSize(est, _NAN, _NAN, "risk ratio, log-Wald CI", confidence, n1 + n2,
                              "zero success count: log-scale SE is infinite; pass haldane=True for a corrected CI")
    rr = (fx1 / fn1) / (fx2 / fn2)
    se = math.sqrt(1 / fx1 - 1 / fn1 + 1 / fx2 - 1 / fn2)
    z = z_crit(confidence)
    return EffectSize(rr, rr * math.exp(-z * se), rr * math.exp(z * se), "risk ratio, log-Wald CI",
                      confidence, n1 + n2, note)


def odds_ratio(table_2x2, *, exact: bool = False, confidence: float = 0.95,
               haldane: bool = False) -> EffectSize:
    r"""Odds ratio of a 2x2 table ``[[a, b], [c, d]]`` (rows: groups, columns: event / no event).

    Sample OR :math:`ad/(bc)` with the log-Wald (Woolf 1955) CI
    :math:`\log OR \pm z\sqrt{1/a+1/b+1/c+1/d}`.  ``exact=True`` gives the
    conditional maximum-likelihood OR with the exact CI that inverts Fisher's
    noncentral hypergeometric test (via :func:`scipy.stats.contingency.odds_ratio`;
    R ``fisher.test``), defined with zero cells.

    Zero cell, ``exact=False``: by default the CI is NaN and ``note`` says why
    (the estimate is 0, inf or NaN as the arithmetic gives); ``haldane=True``
    adds 0.5 to every cell (Haldane 1956; Anscombe 1956) first.

    Parameters
    ----------
    table_2x2 : array_like, shape (2, 2)
    exact : bool, default False
    confidence : float
    haldane : bool, default False

    Returns
    -------
    EffectSize

    Examples
    --------
    >>> round(odds_ratio([[20, 10], [10, 20]]).estimate, 3)
    4.0
    """
    confidence = _v.confidence(confidence)
    t = _v.table(table_2x2, "table_2x2", shape2x2=True)
    n = int(t.sum())
    if exact:
        if np.any(t != np.round(t)):
            raise ValueError("table_2x2: exact=True needs integer counts")
        res = stats.contingency.odds_ratio(t.astype(np.int64), kind="conditional")
        ci = res.confidence_interval(confidence_level=confidence)
        return EffectSize(float(res.statistic), float(ci.low), float(ci.high),
                          "odds ratio, conditional MLE, exact (Fisher) CI", confidence, n)
    note = ""
    if np.any(t == 0):
        if haldane:
            t = t + 0.5
            note = "zero cell: Haldane-Anscombe correction (+0.5 per cell) applied"
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                est = float(np.divide(t[0, 0] * t[1, 1], t[0, 1] * t[1, 0]))
            return EffectSize(est, _NAN, _NAN, "odds ratio, log-Wald (Woolf) CI", confidence, n,
                              "zero cell: log-scale SE is infinite; pass haldane=True or exact=True")
    a, b, c, d = t.ravel()
    lor = math.log(a * d / (b * c))
    se = math.sqrt(1 / a + 1 / b + 1 / c + 1 / d)
    z = z_crit(confidence)
    return EffectSize(math.exp(lor), math.exp(lor - z * se), math.exp(lor + z * se),
                      "odds ratio, log-Wald (Woolf) CI", confidence, n, note)


# ----------------------------------------------------------------------------- correlations
def _paired_vectors(x, y, min_n: int):
    xa = _v.vector(x, "x", min_n=min_n)
    ya = _v.vector(y, "y", min_n=min_n)
    _v.same_length(xa, ya)
    _v.nonconstant(xa, "x")
    _v.nonconstant(ya, "y")
    return xa, ya


def _fisher_ci(r: float, se_z: float, confidence: float) -> tuple[float, float]:
    if abs(r) >= 1:
        return float(r), float(r)
    z = math.atanh(r)
    h = z_crit(confidence) * se_z
    return math.tanh(z - h), math.tanh(z + h)


def pearson_r(x, y, *, confidence: float = 0.95, alternative: str = "two-sided") -> TestResult:
    r"""Pearson correlation with its t test and the Fisher-z CI.

    :math:`t = r\sqrt{(n-2)/(1-r^2)}` on :math:`n-2` df (via :func:`scipy.stats.pearsonr`);
    CI :math:`\tanh(\operatorname{atanh} r \pm z_{1-\alpha/2}/\sqrt{n-3})` (Fisher 1921).
    The CI is always two-sided at ``confidence``.

    Parameters
    ----------
    x, y : array_like
        Paired observations, at least 4, neither constant.
    confidence : float
    alternative : {"two-sided", "greater", "less"}

    Returns
    -------
    TestResult
        ``statistic`` is r, ``df = n - 2``, ``effect`` the r with its CI.

    Examples
    --------
    >>> res = pearson_r([1, 2, 3, 4, 5, 6], [2, 1, 4, 3, 6, 5])
    >>> round(res.statistic, 4)
    0.8286
    """
    confidence = _v.confidence(confidence)
    alternative = _v.alternative(alternative)
    xa, ya = _paired_vectors(x, y, 4)
    n = xa.size
    res = stats.pearsonr(xa, ya, alternative=alternative)
    r = float(res.statistic)
    lo, hi = _fisher_ci(r, 1 / math.sqrt(n - 3), confidence)
    eff = EffectSize(r, lo, hi, "Pearson r, Fisher-z CI", confidence, n)
    return TestResult(r, float(res.pvalue), alternative, "Pearson correlation t test", n - 2, eff)


def spearman_rho(x, y, *, confidence: float = 0.95, alternative: str = "two-sided") -> TestResult:
    r"""Spearman rank correlation with its test and the Bonett-Wright Fisher-z CI.

    p-value from :func:`scipy.stats.spearmanr` (t approximation on :math:`n-2` df).
    CI :math:`\tanh(\operatorname{atanh}\rho \pm z\sqrt{(1+\rho^2/2)/(n-3)})`
    (Bonett & Wright 2000), which keeps nominal coverage where the plain
    :math:`1/\sqrt{n-3}` is too narrow.

    Parameters
    ----------
    x, y : array_like
    confidence : float
    alternative : {"two-sided", "greater", "less"}

    Returns
    -------
    TestResult

    References
    ----------
    Bonett, D. G., & Wright, T. A. (2000). Sample size requirements for estimating Pearson, Kendall and
    Spearman correlations. *Psychometrika* 65(1), 23-28.

    Examples
    --------
    >>> round(spearman_rho([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]).statistic, 4)
    0.8208
    """
    confidence = _v.confidence(confidence)
    alternative = _v.alternative(alternative)
    xa, ya = _paired_vectors(x, y, 4)
    n = xa.size
    res = stats.spearmanr(xa, ya, alternative=alternative)
    rho = float(res.statistic)
    lo, hi = _fisher_ci(rho, math.sqrt((1 + rho * rho / 2) / (n - 3)), confidence)
    eff = EffectSize(rho, lo, hi, "Spearman rho, Bonett-Wright Fisher-z CI", confidence, n)
    return TestResult(rho, float(res.pvalue), alternative, "Spearman rank correlation (t approximation)",
                      n - 2, eff)


# ----------------------------------------------------------------------------- contingency tables
def _no_empty_margins(t: np.ndarray, name: str) -> None:
    for axis, what in ((1, "row"), (0, "column")):
        s = t.sum(axis=axis)
        if np.any(s == 0):
            raise ValueError(f"{name}: {what} {int(np.flatnonzero(s == 0)[0])} sums to zero")


def _chi2_stat(t: np.ndarray) -> float:
    n = t.sum()
    e = np.outer(t.sum(1), t.sum(0)) / n
    return float(((t - e) ** 2 / e).sum())


def cramers_v(table, *, bias_correction: bool = True, confidence: float = 0.95) -> EffectSize:
    r"""Cramér's V of an r x k table, bias-corrected by default, with a noncentral chi-square CI.

    :math:`V = \sqrt{\tilde\varphi^2 / \min(\tilde k - 1, \tilde r - 1)}` with Bergsma's (2013)
    correction :math:`\tilde\varphi^2 = \max(0, \chi^2/n - (k-1)(r-1)/(n-1))`,
    :math:`\tilde k = k - (k-1)^2/(n-1)`, :math:`\tilde r = r - (r-1)^2/(n-1)`;
    ``bias_correction=False`` gives :math:`\sqrt{\chi^2/(n(\min(k,r)-1))}`.
    The CI inverts the noncentral :math:`\chi^2_{df}(\lambda)` distribution of the
    Pearson statistic in :math:`\lambda` and maps :math:`\lambda` to
    :math:`\sqrt{\lambda/(n(m-1))}` with the same denominator ``m`` as the
    estimate (Smithson 2003; as R ``effectsize``); its lower end is 0 when
    :math:`\lambda = 0` cannot be rejected, its upper end at most 1.  Should the
    interval miss the estimate (possible only without the bias correction, which
    is biased upward when :math:`\chi^2` is near its df) it is extended to the
    estimate and ``note`` says so.

    Parameters
    ----------
    table : array_like, shape (r, k)
        Counts, no empty row or column.
    bias_correction : bool, default True
    confidence : float

    Returns
    -------
    EffectSize

    References
    ----------
    Bergsma, W. (2013). A bias-correction for Cramér's V and Tschuprow's T. *J. Korean Stat. Soc.* 42, 323-328.

    Examples
    --------
    >>> round(cramers_v([[30, 10], [10, 30]], bias_correction=False).estimate, 3)
    0.5
    """
    confidence = _v.confidence(confidence)
    t = _v.table(table, "table")
    _no_empty_margins(t, "table")
    n = t.sum()
    r, k = t.shape
    chi2 = _chi2_stat(t)
    df = (r - 1) * (k - 1)
    if bias_correction:
        if n <= 1:
            raise ValueError("table: bias correction needs more than 1 observation")
        phi2 = max(0.0, chi2 / n - df / (n - 1))
        rc, kc = r - (r - 1) ** 2 / (n - 1), k - (k - 1) ** 2 / (n - 1)
        m = min(rc, kc)
        if m <= 1:
            raise ValueError(f"table: too few observations (n={n:g}) for the bias-corrected V")
        method = "Cramér's V (Bergsma bias-corrected), noncentral chi2 CI"
    else:
        phi2 = chi2 / n
        m = min(r, k)
        method = "Cramér's V, noncentral chi2 CI"
    est = math.sqrt(phi2 / (m - 1))
    lam_lo, lam_hi = ncx2_ci(chi2, df, confidence)
    lo = min(1.0, math.sqrt(lam_lo / (n * (m - 1))))
    hi = min(1.0, math.sqrt(lam_hi / (n * (m - 1))))
    note = ""
    if lam_hi == 0:
        note = ("chi2 is below the lower a/2 point of the central chi2 (fits better than chance): "
                "the test-inversion CI is degenerate at 0")
    if not lo <= est <= hi:
        note = ("the noncentral-chi2 CI did not contain the estimate (the uncorrected V is biased "
                "upward when chi2 is near its df); the CI end was extended to the estimate")
        lo, hi = min(lo, est), max(hi, est)
    return EffectSize(est, lo, hi, method, confidence, int(round(n)), note)


def phi(table_2x2, *, confidence: float = 0.95) -> EffectSize:
    r"""Signed phi coefficient of a 2x2 table with a delta-method Fisher-z CI.

    :math:`\varphi = (ad - bc)/\sqrt{(a+b)(c+d)(a+c)(b+d)}` (the Pearson
    correlation of the two binary variables; Matthews' correlation).  Its
    multinomial delta-method variance is
    :math:`\operatorname{Var}\hat\varphi \approx n^{-1}[\sum_{ij} p_{ij} g_{ij}^2 - (\sum_{ij} p_{ij} g_{ij})^2]`
    with :math:`g_{ij} = \partial\varphi/\partial p_{ij}`, and the CI is built on
    :math:`\operatorname{atanh}\varphi` (Bishop, Fienberg & Holland 1975, sec. 14.6).

    Parameters
    ----------
    table_2x2 : array_like, shape (2, 2)
        Counts, no empty row or column.
    confidence : float

    Returns
    -------
    EffectSize

    Examples
    --------
    >>> round(phi([[30, 10], [10, 30]]).estimate, 3)
    0.5
    """
    confidence = _v.confidence(confidence)
    t = _v.table(table_2x2, "table_2x2", shape2x2=True)
    _no_empty_margins(t, "table_2x2")
    n = t.sum()
    p = t / n
    rows, cols = p.sum(1), p.sum(0)
    den = math.sqrt(rows.prod() * cols.prod())
    num = p[0, 0] * p[1, 1] - p[0, 1] * p[1, 0]
    est = num / den
    dnum = np.array([[p[1, 1], -p[1, 0]], [-p[0, 1], p[0, 0]]])
    g = dnum / den - est * 0.5 * (1 / rows[:, None] + 1 / cols[None, :])
    var = max(float((p * g * g).sum() - (p * g).sum() ** 2), 0.0) / n
    note = ""
    if abs(est) >= 1 - 1e-12 or var == 0:
        lo, hi = _NAN, _NAN
        note = "phi is +-1 (a zero diagonal): the delta-method variance is 0, no CI"
    else:
        lo, hi = _fisher_ci(est, math.sqrt(var) / (1 - est * est), confidence)
    return EffectSize(float(est), lo, hi, "phi, delta-method Fisher-z CI", confidence, int(round(n)), note)


# ----------------------------------------------------------------------------- rank-based
def _brunner_munzel(xa: np.ndarray, ya: np.ndarray):
    """A = P(X>Y) + P(X=Y)/2 with the Brunner-Munzel variance and Satterthwaite df."""
    n1, n2 = xa.size, ya.size
    rc = stats.rankdata(np.concatenate([xa, ya]))
    px = rc[:n1] - stats.rankdata(xa)   # placements: #y below x_i (+ ties/2)
    py = rc[n1:] - stats.rankdata(ya)   # #x below y_j
    a = px.mean() / n2
    sx, sy = px.var(ddof=1), py.var(ddof=1)
    var = sx / (n1 * n2 * n2) + sy / (n2 * n1 * n1)
    num = (n1 * sx + n2 * sy) ** 2
    den = (n1 * sx) ** 2 / (n1 - 1) + (n2 * sy) ** 2 / (n2 - 1)
    df = num / den if den > 0 else _NAN
    return float(a), float(var), float(df)


def _a_interval(xa, ya, confidence):
    a, var, df = _brunner_munzel(xa, ya)
    if var <= 0:
        return a, _NAN, _NAN, ("Brunner-Munzel variance is 0 (complete separation or all values tied): "
                               "no CI")
    half = stats.t.ppf(0.5 + confidence / 2, df) * math.sqrt(var)
    return a, clip(a - half, 0, 1), clip(a + half, 0, 1), ""


def vargha_delaney_a(x, y, *, confidence: float = 0.95) -> EffectSize:
    r"""Vargha-Delaney A (probability of superiority) with the Brunner-Munzel CI.

    :math:`A = P(X > Y) + \tfrac12 P(X = Y) = U_x / (n_1 n_2)`.  With placements
    :math:`P_i = R_i - R^{(x)}_i` (combined minus within-sample midranks),
    :math:`\hat A = \bar P_x / n_2` and
    :math:`\widehat{\operatorname{Var}} = S_x^2/(n_1 n_2^2) + S_y^2/(n_2 n_1^2)`;
    the CI is :math:`\hat A \pm t_{\hat\nu}\,\widehat{SE}` with the Satterthwaite
    df of the Brunner-Munzel test (Brunner & Munzel 2000), clipped to [0, 1].
    It excludes 0.5 exactly when :func:`scipy.stats.brunnermunzel` rejects.

    Parameters
    ----------
    x, y : array_like
        Independent samples, at least 2 each.
    confidence : float

    Returns
    -------
    EffectSize

    References
    ----------
    Vargha, A., & Delaney, H. D. (2000). *J. Educ. Behav. Stat.* 25(2), 101-132.
    Brunner, E., & Munzel, U. (2000). *Biometrical Journal* 42(1), 17-25.

    Examples
    --------
    >>> round(vargha_delaney_a([3, 4, 5, 6], [1, 2, 3, 4]).estimate, 4)
    0.875
    """
    confidence = _v.confidence(confidence)
    xa, ya = _two_groups(x, y)
    a, lo, hi, note = _a_interval(xa, ya, confidence)
    return EffectSize(a, lo, hi, "Vargha-Delaney A, Brunner-Munzel CI", confidence, xa.size + ya.size, note)


def cliffs_delta(x, y, *, confidence: float = 0.95) -> EffectSize:
    r"""Cliff's delta :math:`P(X>Y) - P(X<Y) = 2A - 1` with the Brunner-Munzel CI.

    The CI is :math:`2[\text{CI of } A] - 1` (see :func:`vargha_delaney_a`).

    Parameters
    ----------
    x, y : array_like
    confidence : float

    Returns
    -------
    EffectSize

    References
    ----------
    Cliff, N. (1993). Dominance statistics. *Psychological Bulletin* 114(3), 494-509.

    Examples
    --------
    >>> round(cliffs_delta([3, 4, 5, 6], [1, 2, 3, 4]).estimate, 4)
    0.75
    """
    confidence = _v.confidence(confidence)
    xa, ya = _two_groups(x, y)
    a, lo, hi, note = _a_interval(xa, ya, confidence)
    return EffectSize(2 * a - 1, 2 * lo - 1, 2 * hi - 1, "Cliff's delta, Brunner-Munzel CI",
                      confidence, xa.size + ya.size, note)


def _paired_rank_biserial(d: np.ndarray, confidence: float):
    d = d[d != 0]
    n = d.size
    if n == 0:
        raise ValueError("x - y: all differences are zero")
    ranks = stats.rankdata(np.abs(d))
    s_total = ranks.sum()
    r = float((ranks[d > 0].sum() - ranks[d < 0].sum()) / s_total)
    if n < 3:
        return r, _NAN, _NAN, n, "fewer than 3 non-zero differences: no CI"
    # U-statistic projection: h_i = mean_{j != i} sign(d_i + d_j)  (T+ counts positive Walsh averages)
    h = np.empty(n)
    chunk = max(1, 2_000_000 // n)
    for s in range(0, n, chunk):
        blk = d[s:s + chunk]
        h[s:s + chunk] = (np.sign(blk[:, None] + d[None, :]).sum(1) - np.sign(2 * blk)) / (n - 1)
    var = 4 * h.var(ddof=1) / n
    if abs(r) >= 1 or var <= 0:
        return r, _NAN, _NAN, n, "all non-zero differences have the same sign (r = +-1): no CI"
    lo, hi = _fisher_ci(r, math.sqrt(var) / (1 - r * r), confidence)
    return r, lo, hi, n, ""


def rank_biserial(x, y=None, *, paired: bool = False, confidence: float = 0.95) -> EffectSize:
    r"""Rank-biserial correlation, independent or matched pairs, with a CI.

    Independent (Glass 1965; Kerby 2014): :math:`r = (U_x - U_y)/(n_1 n_2) = 2A - 1`, positive when
    ``x`` tends to be larger; the CI is the Brunner-Munzel CI of A mapped by
    :math:`2A-1` (as :func:`cliffs_delta`, which is the same quantity).

    Matched pairs (``paired=True`` or ``y=None``; King & Minium 2003; Kerby 2014):
    with :math:`D = x - y`, zeros dropped (Wilcoxon's convention) and
    :math:`R_i` the midranks of :math:`|D_i|`,
    :math:`r = (T^+ - T^-)/(T^+ + T^-)`.  Since :math:`T^+` counts the positive
    Walsh averages, r is a U-statistic of degree 2 with kernel
    :math:`\operatorname{sign}(D_i + D_j)`; its variance is estimated by the
    Hoeffding projection :math:`4\widehat{\operatorname{Var}}(h_i)/n` with
    :math:`h_i = \operatorname{mean}_{j\ne i}\operatorname{sign}(D_i + D_j)`,
    and the CI is built on :math:`\operatorname{atanh} r`.  (R ``effectsize``
    uses the null SE, which under-covers away from 0.)

    Parameters
    ----------
    x : array_like
    y : array_like or None
    paired : bool
    confidence : float

    Returns
    -------
    EffectSize

    Examples
    --------
    >>> round(rank_biserial([3, 4, 5, 6], [1, 2, 3, 4]).estimate, 4)
    0.75
    >>> round(rank_biserial([1.5, -0.5, 2.0, 3.0, 0.7], paired=True).estimate, 4)
    0.8667
    """
    confidence = _v.confidence(confidence)
    if paired or y is None:
        xa = _v.vector(x, "x")
        if y is not None:
            ya = _v.vector(y, "y")
            _v.same_length(xa, ya)
            xa = xa - ya
        r, lo, hi, n, note = _paired_rank_biserial(xa, confidence)
        return EffectSize(r, lo, hi, "matched-pairs rank-biserial r, U-statistic Fisher-z CI",
                          confidence, n, note)
    xa, ya = _two_groups(x, y)
    a, lo, hi, note = _a_interval(xa, ya, confidence)
    return EffectSize(2 * a - 1, 2 * lo - 1, 2 * hi - 1, "rank-biserial r, Brunner-Munzel CI",
                      confidence, xa.size + ya.size, note)


def kendalls_w(ratings_2d, *, confidence: float = 0.95) -> EffectSize:
    r"""Kendall's coefficient of concordance W (tie-corrected) with a jackknife CI.

    Rows are the n subjects (objects rated), columns the m raters; each rater's
    column is converted to midranks :math:`r_{ij}`, :math:`R_i = \sum_j r_{ij}`,
    :math:`S = \sum_i (R_i - \bar R)^2`,
    :math:`W = 12S / (m^2(n^3-n) - m\sum_j\sum_g (t_g^3 - t_g))` (Kendall & Babington Smith 1939).

    CI: W is an affine map of the mean pairwise Spearman correlation between raters,
    :math:`W = (1 + (m-1)\bar r_s)/m` (exact without ties); :math:`\bar r_s` is a
    U-statistic over raters, so its jackknife SE (leave one rater out, computed
    from the m x m correlation matrix) gives
    :math:`W \pm t_{m-1}\,\tfrac{m-1}{m}\widehat{SE}_{jack}(\bar r_s)`, clipped to [0, 1].
    The interval is for the expected W of m raters drawn from the same population;
    it needs at least 3 raters.

    Parameters
    ----------
    ratings_2d : array_like, shape (n_subjects, n_raters)
    confidence : float

    Returns
    -------
    EffectSize

    Examples
    --------
    >>> round(kendalls_w([[1, 1, 2], [2, 3, 1], [3, 2, 3], [4, 4, 4]]).estimate, 4)
    0.7778
    """
    confidence = _v.confidence(confidence)
    x = _v.matrix(ratings_2d, "ratings_2d", min_rows=2, min_cols=2)
    n, m = x.shape
    ranks = stats.rankdata(x, axis=0)
    rsum = ranks.sum(axis=1)
    s = float(((rsum - rsum.mean()) ** 2).sum())
    ties = 0.0
    for j in range(m):
        _, cnt = np.unique(x[:, j], return_counts=True)
        ties += float((cnt ** 3 - cnt).sum())
    den = m * m * (n ** 3 - n) - m * ties
    if den <= 0:
        raise ValueError("ratings_2d: every rater gives all subjects the same rating")
    w = 12 * s / den
    note = ""
    lo = hi = _NAN
    if m < 3:
        note = "fewer than 3 raters: no jackknife CI"
    elif np.any(np.ptp(x, axis=0) == 0):
        note = "a rater gives every subject the same rating: pairwise Spearman undefined, no CI"
    else:
        c = np.corrcoef(ranks, rowvar=False)
        off = c.sum() - m
        loo = (off - 2 * (c.sum(axis=1) - 1)) / ((m - 1) * (m - 2))
        se = math.sqrt((m - 1) / m * ((loo - loo.mean()) ** 2).sum())
        half = stats.t.ppf(0.5 + confidence / 2, m - 1) * se * (m - 1) / m
        lo, hi = clip(w - half, 0, 1), clip(w + half, 0, 1)
    return EffectSize(float(w), lo, hi, "Kendall's W (tie-corrected), jackknife CI over raters",
                      confidence, n, note)
