"""Simple linear regression: the OLS slope with its t test and interval, model-based or cluster-robust."""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from studykit.stats import _validate as _v
from studykit.stats.results import EffectSize, TestResult

__all__ = ["ols_slope", "ols_slope_clustered", "slope_se"]


def _xy(x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    """``x`` and ``y`` as float vectors of the same length (at least 3), ``x`` not constant (ValueError)."""
    xa = _v.vector(x, "x", min_n=3)
    ya = _v.vector(y, "y", min_n=3)
    _v.same_length(xa, ya)
    _v.nonconstant(xa, "x")
    return xa, ya


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
    xa, ya = _xy(x, y)
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


#: a dense count of the intersection clusters when G_A x G_B is at most this many times the observations
_DENSE_FACTOR = 4


def _cluster_codes(clusters, n: int) -> list[np.ndarray]:
    """Integer codes (0..G-1) of each cluster dimension; one ValueError naming the problem."""
    arr = np.asarray(clusters, dtype=object) if not hasattr(clusters, "shape") else clusters
    if isinstance(arr, pd.DataFrame):
        columns = [arr.iloc[:, k].to_numpy() for k in range(arr.shape[1])]
    else:
        arr = np.asarray(arr)
        if arr.ndim == 1:
            columns = [arr]
        elif arr.ndim == 2 and arr.shape[1] in (1, 2):
            columns = [arr[:, k] for k in range(arr.shape[1])]
        else:
            raise ValueError(f"clusters: expected labels of shape (n,) or (n, 2), got shape {arr.shape}")
    codes = []
    for k, col in enumerate(columns):
        if len(col) != n:
            raise ValueError(f"clusters: {len(col)} labels in dimension {k + 1} for {n} observations")
        col = np.asarray(col)
        if col.dtype.kind in "iu" and col.size and col.min() >= 0 and col.max() < max(_DENSE_FACTOR * n, 1 << 16):
            # small non-negative integer labels (codes): numbered in label order by one count, no hashing
            present = np.bincount(col) > 0
            c, n_uniq = (np.cumsum(present) - 1)[col], int(present.sum())
        else:
            c, uniq = pd.factorize(col, sort=False)
            n_uniq = len(uniq)
            if (c < 0).any():
                raise ValueError(f"clusters: dimension {k + 1} has {int((c < 0).sum())} missing label(s)")
        if n_uniq < 2:
            raise ValueError(f"clusters: dimension {k + 1} has {n_uniq} cluster(s), at least 2 needed")
        codes.append(c.astype(np.int64, copy=False))
    return codes


def _cr1(psi: np.ndarray, codes: np.ndarray, n_groups: int, n_obs: float, dense: bool = True) -> tuple[float, int]:
    r""":math:`c_G \sum_g (\sum_{i \in g} \psi_i)^2` with the CR1 factor, and the number of non-empty clusters.

    ``dense``: every code in ``range(n_groups)`` occurs (else the non-empty clusters are counted)."""
    sums = np.bincount(codes, weights=psi, minlength=n_groups)
    g = n_groups if dense else int(np.count_nonzero(np.bincount(codes, minlength=n_groups)))
    factor = g / (g - 1) * (n_obs - 1) / (n_obs - 2) if g > 1 else math.nan
    return float(factor * np.dot(sums, sums)), g


def ols_slope_clustered(x, y, clusters, *, weights=None, confidence: float = 0.95,
                        alternative: str = "two-sided") -> TestResult:
    r"""OLS slope of ``y`` on ``x`` with a one- or two-way cluster-robust (CR1) standard error.

    Model :math:`y_i = \beta_0 + \beta_1 x_i + \varepsilon_i`, with errors that may be
    correlated within a cluster of each dimension (two-way: within a row *or* a column of a
    crossed design, e.g. persona x prompt). With frequency weights :math:`w_i` (default 1),
    :math:`N = \sum_i w_i`, :math:`\bar x = \sum_i w_i x_i / N`,
    :math:`S_{xx} = \sum_i w_i (x_i - \bar x)^2`, :math:`\hat\beta_1 = \sum_i w_i (x_i - \bar x) y_i / S_{xx}`,
    the slope's score of observation *i* is :math:`\psi_i = w_i (x_i - \bar x)\hat\varepsilon_i`.
    The one-way variance over the :math:`G` clusters :math:`g` is

    .. math::

        V_G = \frac{G}{G-1}\,\frac{N-1}{N-2}\; \frac{\sum_g \big(\sum_{i \in g}\psi_i\big)^2}{S_{xx}^2}

    (CR1, Cameron & Miller 2015). Two-way (Cameron, Gelbach & Miller 2011, JBES 29(2), eq. 2.11):
    :math:`V = V_A + V_B - V_{A\cap B}`, each term CR1 with its own number of clusters, where
    :math:`A\cap B` clusters the observations sharing both labels (a cell of a crossed design).
    Reference distribution: :math:`t` with :math:`\min(G_A, G_B) - 1` df (one-way: :math:`G-1`), as
    Cameron, Gelbach & Miller (2011, sec. 2.3) recommend, since the variance is estimated from at most
    :math:`\min(G_A, G_B)` independent cluster sums; interval
    :math:`\hat\beta_1 \pm t_{\min G - 1,(1+c)/2}\sqrt V`. If the two-way :math:`V` is not positive
    (possible in small samples, CGM 2011 sec. 2.3), the larger one-way variance is used and ``note`` says so.
    Equal to ``statsmodels`` ``OLS(y, X).fit(cov_type="cluster", cov_kwds={"groups": G}, use_t=True)``
    (``G`` of one or two columns; that is the fit on the observations repeated :math:`w_i` times).

    Parameters
    ----------
    x, y : array_like
        Observations, at least 3; ``x`` not constant. With ``weights``, ``y_i`` is the mean of the
        :math:`w_i` observations that row *i* stands for (they share ``x_i`` and every cluster label).
    clusters : array_like
        Cluster labels: shape (n,) for one-way clustering, (n, 2) (array or two-column DataFrame) for two-way;
        at least 2 clusters in each dimension, no missing label.
    weights : array_like, optional
        Positive frequency weights (e.g. the number of responses a cell aggregates).
    confidence : float
        Level of the interval.
    alternative : {"two-sided", "greater", "less"}

    Returns
    -------
    TestResult
        ``statistic`` is t, ``df = min(G) - 1``, ``effect`` the slope with its interval (``n`` = observations
        :math:`N`; :func:`slope_se` recovers the standard error); ``method`` names the clusters counted.

    Examples
    --------
    >>> x = [1, 2, 3] * 3                      # persona p = 0, 1, 2 (score x) answers prompts q = 0, 1, 2
    >>> y = [0.6, 1.2, 1.6, 0.1, 1.3, 1.6, 0.3, 1.2, 1.6]
    >>> res = ols_slope_clustered(x, y, [[p, q] for q in (0, 1, 2) for p in (0, 1, 2)])
    >>> round(res.estimate, 3), round(res.ci_low, 3), round(res.ci_high, 3), res.df
    (0.633, 0.284, 0.983, 2.0)
    """
    confidence = _v.confidence(confidence)
    alternative = _v.alternative(alternative)
    xa, ya = _xy(x, y)
    if weights is None:
        w = None
    else:
        w = _v.vector(weights, "weights")
        _v.same_length(xa, w, "x and weights")
        if (w <= 0).any():
            raise ValueError(f"weights: must be positive, got {int((w <= 0).sum())} value(s) <= 0")
    codes = _cluster_codes(clusters, xa.size)
    if w is None:  # the same formulas with w = 1, without the multiplications
        n_obs = float(xa.size)
        xc = xa - xa.mean()
        sxx = float(np.dot(xc, xc))
        b = float(np.dot(xc, ya) / sxx)
        psi = xc * (ya - ya.mean() - b * xc)
    else:
        n_obs = float(w.sum())
        if n_obs <= 2:
            raise ValueError(f"weights: the observations must number more than 2, got {n_obs:g}")
        xc = xa - np.dot(w, xa) / n_obs
        sxx = float(np.dot(w, xc * xc))
        b = float(np.dot(w * xc, ya) / sxx)
        psi = w * xc * (ya - np.dot(w, ya) / n_obs - b * xc)
    parts = [_cr1(psi, c, int(c.max()) + 1, n_obs) for c in codes]
    v = parts[0][0]
    n_clusters = [g for _, g in parts]
    note = ""
    if len(codes) == 2:
        ga, gb = int(codes[0].max()) + 1, int(codes[1].max()) + 1
        if ga * gb <= max(_DENSE_FACTOR * xa.size, 1 << 16):
            both, size, dense = codes[0] * gb + codes[1], ga * gb, False
        else:
            both = pd.factorize(codes[0] * gb + codes[1])[0].astype(np.int64)
            size, dense = int(both.max()) + 1, True
        v_both, g_both = _cr1(psi, both, size, n_obs, dense)
        v = parts[0][0] + parts[1][0] - v_both
        if not v > 0:
            v = max(parts[0][0], parts[1][0])
            note = "two-way variance not positive: the larger one-way variance used"
        method = (f"OLS slope, two-way cluster-robust SE (CR1, Cameron-Gelbach-Miller; {n_clusters[0]} x "
                  f"{n_clusters[1]} clusters, {g_both} cells), t(min G - 1)")
    else:
        method = f"OLS slope, cluster-robust SE (CR1; {n_clusters[0]} clusters), t(G - 1)"
    v /= sxx * sxx
    se = math.sqrt(v) if v > 0 else 0.0
    df = float(min(n_clusters) - 1)
    if se > 1e-12 * abs(b):
        t = b / se
        h = float(stats.t.ppf(0.5 + confidence / 2, df)) * se
        lo, hi = b - h, b + h
    else:
        t = math.copysign(math.inf, b) if b != 0 else 0.0
        lo = hi = b
        note = "; ".join(filter(None, [note, "residual scores zero: standard error 0"]))
    if alternative == "greater":
        p = float(stats.t.sf(t, df))
    elif alternative == "less":
        p = float(stats.t.cdf(t, df))
    else:
        p = float(min(1.0, 2 * stats.t.sf(abs(t), df)))
    eff = EffectSize(b, float(lo), float(hi), method, confidence, int(round(n_obs)), note)
    return TestResult(float(t), p, alternative, method, df, eff, note)
