r"""Bootstrap for crossed designs: two random factors (e.g. documents x words, persons x items).

In a crossed design every observation :math:`x_{ij}` belongs to a row unit
:math:`i` (a document) and a column unit :math:`j` (a word), and *both* are
samples from larger populations. A bootstrap that resamples only rows treats
the columns as fixed and misses the column-to-column variance (a word-specific
drift, an item effect); its intervals are too narrow and its tests too liberal.

The pigeonhole bootstrap (Owen 2007) resamples rows and columns independently,
with replacement: row :math:`i` is drawn :math:`w_i` times and column
:math:`j` :math:`u_j` times, :math:`w \sim \mathrm{Mult}(R, 1/R)`,
:math:`u \sim \mathrm{Mult}(C, 1/C)` (within each stratum, keeping the
stratum's size), and the resampled data are all pairs of a drawn row and a
drawn column. A statistic built from weighted sums
:math:`\sum_{ij} w_i u_j x_{ij}` is therefore recomputed from the weights alone,
without building the resampled table. For the mean, Owen shows that the
bootstrap variance is
:math:`\sigma^2_A/R + \sigma^2_B/C + \sigma^2_E/(RC)` plus terms of order
:math:`1/(RC)`: it estimates the row and column components correctly and
counts the interaction once more (mildly conservative, never liberal), unlike
the one-way bootstrap. The same decomposition underlies the multiway
cluster-robust variance of Cameron, Gelbach & Miller (2011),
:math:`V = V_A + V_B - V_{A \cap B}` (:func:`studykit.stats.ols_slope_clustered`).
"""
from __future__ import annotations

from typing import Callable

import numpy as np
from scipy import stats as sps

from studykit.stats import _validate as _v

__all__ = ["stratified_weights", "pigeonhole_bootstrap", "unit_bootstrap", "replicate_test"]


def _strata(labels, name: str) -> tuple[np.ndarray, list[np.ndarray]]:
    arr = np.asarray(labels)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name}: must be a non-empty 1-D array of stratum labels, got shape {arr.shape}")
    _, codes = np.unique(arr, return_inverse=True)
    return codes, [np.flatnonzero(codes == k) for k in range(int(codes.max()) + 1)]


def stratified_weights(strata, n_resamples: int, seed=0) -> np.ndarray:
    r"""Bootstrap multiplicities: how often each unit is drawn when every stratum is resampled with replacement.

    Within a stratum of :math:`n_s` units, :math:`n_s` draws with replacement (unit
    :math:`\lfloor U n_s \rfloor`, :math:`U` uniform on [0, 1)) give counts
    :math:`w \sim \mathrm{Multinomial}(n_s, 1/n_s, \dots, 1/n_s)`, so :math:`\sum_{i \in s} w_i = n_s`
    (Efron & Tibshirani 1993, ch. 6; the stratified bootstrap keeps each stratum's size).

    Parameters
    ----------
    strata : array_like, shape (n,)
        Stratum label of each unit (one label for an unstratified bootstrap).
    n_resamples : int
        Number of rows of weights.
    seed : int, SeedSequence or Generator
        Seed of ``numpy.random.default_rng`` (a Generator is used as it is).

    Returns
    -------
    ndarray, shape (n_resamples, n)
        Non-negative integer weights (float64).

    References
    ----------
    Efron, B. & Tibshirani, R. J. (1993). *An Introduction to the Bootstrap.* Chapman & Hall.

    Examples
    --------
    >>> w = stratified_weights(["a", "a", "b", "b", "b"], 4, seed=1)
    >>> w.shape, w[:, :2].sum(axis=1).tolist(), w[:, 2:].sum(axis=1).tolist()
    ((4, 5), [2.0, 2.0, 2.0, 2.0], [3.0, 3.0, 3.0, 3.0])
    """
    codes, groups = _strata(strata, "strata")
    b = int(n_resamples)
    if b < 1:
        raise ValueError(f"n_resamples: must be a positive integer, got {n_resamples}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    n = codes.size
    order = np.concatenate(groups)                       # units grouped by stratum
    sizes = np.concatenate([np.full(g.size, g.size) for g in groups])
    offsets = np.concatenate([np.full(g.size, start) for g, start in
                              zip(groups, np.cumsum([0] + [g.size for g in groups[:-1]]))])
    # one draw per (replicate, position) in row-major order: a replicate's draws do not depend on b
    idx = order[offsets + (rng.random((b, n)) * sizes).astype(np.int64)]
    flat = (np.arange(b, dtype=np.int64)[:, None] * n + idx).ravel()
    return np.bincount(flat, minlength=b * n).reshape(b, n).astype(np.float64)


def pigeonhole_bootstrap(statistic: Callable[[np.ndarray, np.ndarray], np.ndarray], row_strata, col_strata, *,
                         n_resamples: int = 1000, seed=0, batch_size: int = 200) -> np.ndarray:
    r"""Replicates of a statistic under the two-way (pigeonhole) bootstrap of rows and columns.

    Each replicate draws row weights :math:`w` (rows resampled with replacement within each row stratum) and,
    independently, column weights :math:`u` (columns within each column stratum), and evaluates
    ``statistic(w, u)`` (Owen 2007; module docstring). For data :math:`x_{ij}` the resampled sum is
    :math:`\sum_{ij} w_i u_j x_{ij} = w^\top X u`, so any statistic of such sums (ratios, log shares,
    differences in differences) is computed from the weights without building the resampled table.

    Parameters
    ----------
    statistic : callable
        ``statistic(row_weights, col_weights)`` with arrays of shape (b, R) and (b, C); returns an array of
        shape (b,) or (b, k) (vectorised over replicates).
    row_strata, col_strata : array_like
        Stratum label of each row (length R) and each column (length C); one label = unstratified.
    n_resamples : int
    seed : int, SeedSequence or Generator
        Rows and columns draw from two independent child streams of ``SeedSequence(seed)`` (a Generator is
        used as it is, rows first), so the result does not depend on ``batch_size``.
    batch_size : int
        Replicates evaluated at once (memory: about ``batch_size * (R + C)`` weights).

    Returns
    -------
    ndarray, shape (n_resamples,) or (n_resamples, k)

    References
    ----------
    Owen, A. B. (2007). The pigeonhole bootstrap. *The Annals of Applied Statistics* 1(2), 386-411.
    Cameron, A. C., Gelbach, J. B. & Miller, D. L. (2011). Robust inference with multiway clustering.
    *Journal of Business & Economic Statistics* 29(2), 238-249.

    Examples
    --------
    >>> x = np.arange(12.0).reshape(4, 3)
    >>> reps = pigeonhole_bootstrap(lambda w, u: np.einsum("bi,ij,bj->b", w, x, u) / 12, [0] * 4, [0] * 3,
    ...                             n_resamples=2000, seed=3)
    >>> reps.shape, bool(abs(reps.mean() - x.mean()) < 0.3)
    ((2000,), True)
    """
    rows, _ = _strata(row_strata, "row_strata")
    cols, _ = _strata(col_strata, "col_strata")
    b_total = int(n_resamples)
    if b_total < 1:
        raise ValueError(f"n_resamples: must be a positive integer, got {n_resamples}")
    if int(batch_size) < 1:
        raise ValueError(f"batch_size: must be a positive integer, got {batch_size}")
    if isinstance(seed, np.random.Generator):
        rng_rows = rng_cols = seed
    else:
        s = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        rng_rows, rng_cols = (np.random.default_rng(c) for c in s.spawn(2))
    out = []
    for start in range(0, b_total, int(batch_size)):
        b = min(int(batch_size), b_total - start)
        w = stratified_weights(row_strata, b, rng_rows)
        u = stratified_weights(col_strata, b, rng_cols)
        with np.errstate(all="ignore"):
            out.append(np.asarray(statistic(w, u), dtype=float))
    return np.concatenate(out)


def unit_bootstrap(statistic: Callable[[np.ndarray], np.ndarray], strata, *, n_resamples: int = 1000, seed=0,
                   batch_size: int = 100) -> np.ndarray:
    r"""Replicates of a statistic under the bootstrap of the units that many estimates share.

    When many estimates (tests of many hypotheses, scores of many annotators) are computed on the *same*
    units (items, texts), their errors are dependent through the units, and a bootstrap over the estimates
    treats them as independent (its interval is too narrow when they move together). Resampling the units
    keeps that dependence: a replicate draws unit weights :math:`w` (units resampled with replacement within
    each stratum, :func:`stratified_weights`) and recomputes *every* estimate, and the statistic of them,
    from the weighted data (the one-way case of :func:`pigeonhole_bootstrap`; Davison & Hinkley 1997,
    sec. 3.8). A statistic of weighted sums :math:`\sum_i w_i x_i` over per-unit contributions (counts of
    the labels of a unit) is recomputed from the weights alone, e.g. as ``W @ X`` with a sparse ``X``.

    Parameters
    ----------
    statistic : callable
        ``statistic(weights)`` with weights of shape (b, n); returns shape (b,) or (b, k).
    strata : array_like, shape (n,)
        Stratum label of each unit (one label = unstratified).
    n_resamples : int
    seed : int, SeedSequence or Generator
        Seed of ``numpy.random.default_rng``; a replicate's weights do not depend on ``batch_size``.
    batch_size : int
        Replicates evaluated at once (memory: about ``batch_size * n`` weights and what the statistic needs).

    Returns
    -------
    ndarray, shape (n_resamples,) or (n_resamples, k)

    References
    ----------
    Davison, A. C. & Hinkley, D. V. (1997). *Bootstrap Methods and their Application.* Cambridge University
    Press, sec. 3.8 (hierarchical data: resample the units that the observations share).

    Examples
    --------
    >>> x = np.arange(10.0)
    >>> reps = unit_bootstrap(lambda w: w @ x / w.sum(axis=1), [0] * 10, n_resamples=2000, seed=2)
    >>> reps.shape, bool(abs(reps.std() - x.std() / np.sqrt(10)) < 0.1)
    ((2000,), True)
    """
    _strata(strata, "strata")
    b_total = int(n_resamples)
    if b_total < 1:
        raise ValueError(f"n_resamples: must be a positive integer, got {n_resamples}")
    if int(batch_size) < 1:
        raise ValueError(f"batch_size: must be a positive integer, got {batch_size}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    out = []
    for start in range(0, b_total, int(batch_size)):
        w = stratified_weights(strata, min(int(batch_size), b_total - start), rng)
        with np.errstate(all="ignore"):
            out.append(np.asarray(statistic(w), dtype=float))
    return np.concatenate(out)


def replicate_test(estimate, replicates, *, confidence: float = 0.95) -> dict[str, np.ndarray]:
    r"""Normal-approximation test and percentile interval from bootstrap replicates.

    :math:`SE = \mathrm{SD}(\theta^*)` (ddof 1), :math:`p = 2\Phi(-|\hat\theta|/SE)` (a zero SE gives p = 1
    when :math:`\hat\theta = 0` and 0 otherwise), interval: the :math:`\alpha/2` and :math:`1-\alpha/2`
    quantiles of :math:`\theta^*` (Efron & Tibshirani 1993, ch. 13).

    Parameters
    ----------
    estimate : float or array_like, shape (k,)
        The statistic on the original data.
    replicates : array_like, shape (B,) or (B, k)
    confidence : float

    Returns
    -------
    dict
        ``se``, ``p_value``, ``ci_low``, ``ci_high`` (arrays of shape (k,), or 0-d for a scalar estimate).

    References
    ----------
    Efron, B. & Tibshirani, R. J. (1993). *An Introduction to the Bootstrap.* Chapman & Hall.

    Examples
    --------
    >>> r = replicate_test(0.5, np.random.default_rng(0).normal(0.5, 0.25, 4000))
    >>> round(float(r["se"]), 2), round(float(r["p_value"]), 3)
    (0.25, 0.045)
    """
    level = _v.confidence(confidence)
    reps = np.asarray(replicates, dtype=float)
    est = np.asarray(estimate, dtype=float)
    if reps.ndim == 0 or reps.shape[0] < 2:
        raise ValueError("replicates: need at least 2 bootstrap replicates")
    if reps.shape[1:] != est.shape:
        raise ValueError(f"replicates: shape {reps.shape} does not match the estimate's {est.shape}")
    se = reps.std(axis=0, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(se > 0, 2 * sps.norm.sf(np.abs(est) / se), np.where(est == 0, 1.0, 0.0))
    a = 1 - level
    lo, hi = np.quantile(reps, [a / 2, 1 - a / 2], axis=0)
    return {"se": se, "p_value": p, "ci_low": lo, "ci_high": hi}
