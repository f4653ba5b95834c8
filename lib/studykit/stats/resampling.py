"""Vectorised, seeded, chunked bootstrap confidence intervals and permutation tests.

Both functions resample in batches of ``batch_size`` rows, so peak memory is
bounded by about ``batch_size * n`` values whatever ``n_resamples`` is, and
both take their random draws from ``numpy.random.default_rng(seed)`` as
``integers(0, n, (rows, n))`` blocks, so chunking does not change the result:
the interval equals an unchunked computation with the same seed.  For one
sample or paired samples the draws are exactly scipy's, so the interval also
equals :func:`scipy.stats.bootstrap` with ``rng=np.random.default_rng(seed)``;
unpaired multi-sample data use one child stream per sample
(``SeedSequence(seed).spawn(k)``), which keeps them batch-invariant.

Statistics that are linear in sample means (:data:`mean`, :data:`mean_diff`,
or any :class:`MeanContrast`) are declared as such: the bootstrap then gathers
one combined vector instead of every sample, and BCa's jackknife uses the
exact O(n) leave-one-out formula instead of n evaluations on n - 1 values.
Any other vectorised ``statistic(*samples, axis=-1)`` works too, with a
chunked jackknife.
"""
from __future__ import annotations

import math
from math import comb
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import special

from studykit.stats import _validate as _v
from studykit.stats.results import BootstrapResult, TestResult

__all__ = ["bootstrap_ci", "permutation_test", "MeanContrast", "mean", "mean_diff", "cluster_bootstrap_weights"]

_TARGET_ELEMENTS = 1 << 18   # values per batch array (2 MB of float64: stays in cache, fastest here)


class MeanContrast:
    r"""A statistic :math:`\sum_k w_k \bar x_k` declared linear in the sample means.

    Calling it behaves like any vectorised statistic; :func:`bootstrap_ci` and
    :func:`permutation_test` recognise it and use closed forms (one gather per
    resample for paired data; exact leave-one-out means for the jackknife:
    :math:`\bar x_{(i)} = (n\bar x - x_i)/(n-1)`).

    Parameters
    ----------
    weights : sequence of float
        One weight per sample.
    name : str

    Examples
    --------
    >>> md = MeanContrast((1.0, -1.0), "mean_diff")
    >>> float(md(np.array([3.0, 5.0]), np.array([1.0, 2.0])))
    2.5
    """

    def __init__(self, weights: Sequence[float], name: str = "mean_contrast"):
        self.weights = tuple(float(w) for w in weights)
        self.name = name

    def __call__(self, *samples, axis=-1):
        if len(samples) != len(self.weights):
            raise ValueError(f"{self.name}: expected {len(self.weights)} sample(s), got {len(samples)}")
        return sum(w * np.mean(s, axis=axis) for w, s in zip(self.weights, samples))

    def __repr__(self):
        return f"MeanContrast({self.weights}, {self.name!r})"


mean = MeanContrast((1.0,), "mean")
mean_diff = MeanContrast((1.0, -1.0), "mean_diff")


def _resolve_statistic(statistic, k: int):
    if isinstance(statistic, str):
        if statistic == "mean" and k == 1:
            return mean
        if statistic == "mean_diff" and k == 2:
            return mean_diff
        raise ValueError(f"statistic: {statistic!r} is not a known statistic for {k} sample(s) "
                         "(use 'mean' for one sample, 'mean_diff' for two, or a callable)")
    if not callable(statistic):
        raise ValueError("statistic: must be a callable statistic(*samples, axis=-1) or a known name")
    if isinstance(statistic, MeanContrast) and len(statistic.weights) != k:
        raise ValueError(f"statistic: {statistic.name} takes {len(statistic.weights)} sample(s), got {k}")
    return statistic


def _batch_rows(batch_size, n_resamples: int, width: int) -> int:
    if batch_size is None:
        return max(1, min(n_resamples, _TARGET_ELEMENTS // max(width, 1)))
    b = int(batch_size)
    if b < 1:
        raise ValueError(f"batch_size: must be a positive integer, got {batch_size}")
    return min(b, n_resamples)


def _draw_indices(rng: np.random.Generator, n: int, rows: int) -> np.ndarray:
    # uint32 draws are the same values as scipy's default int64 draws (numpy uses 32-bit Lemire
    # for ranges below 2**32 either way) at less than half the cost.
    # (uint32 indices are also faster to gather with than intp ones)
    if n <= np.iinfo(np.uint32).max:
        return rng.integers(0, n, (rows, n), dtype=np.uint32)
    return rng.integers(0, n, (rows, n))


def _theta(statistic, samples, axis=-1) -> np.ndarray:
    with np.errstate(all="ignore"):
        return np.asarray(statistic(*samples, axis=axis), dtype=float)


def _jackknife_generic(statistic, data, paired: bool, chunk_elems: int):
    """Leave-one-out statistics, chunked: no n x n matrix is built."""
    out = []
    if paired:
        groups = [list(range(len(data)))]
    else:
        groups = [[j] for j in range(len(data))]
    for members in groups:
        n = data[members[0]].size
        rows = max(1, min(n, chunk_elems // max(n, 1)))
        vals = np.empty(n)
        base = np.arange(n - 1)
        heads = {j: data[j][:-1] for j in members}
        tails = {j: data[j][1:] for j in members}
        for k in range(0, n, rows):
            r = min(rows, n - k)
            # row i of the chunk is the sample without observation k + i: position p holds
            # x[p] before the gap and x[p + 1] after it (a select, cheaper than a gather)
            before_gap = base[None, :] < np.arange(k, k + r)[:, None]
            samples = [(np.where(before_gap, heads[j], tails[j]) if j in members else s[None, :])
                       for j, s in enumerate(data)]
            vals[k:k + r] = _theta(statistic, samples)
        out.append(vals)
    return out


def _jackknife_linear(stat: MeanContrast, data, paired: bool):
    if paired:
        n = data[0].size
        w = sum(wk * s for wk, s in zip(stat.weights, data))
        return [(w.sum() - w) / (n - 1)]
    full = [s.mean() for s in data]
    out = []
    for j, s in enumerate(data):
        n = s.size
        loo = (s.sum() - s) / (n - 1)
        rest = sum(wk * m for k, (wk, m) in enumerate(zip(stat.weights, full)) if k != j)
        out.append(stat.weights[j] * loo + rest)
    return out


def _bca_alphas(theta_b, theta_hat, jack, alpha):
    """Efron & Tibshirani (1993) eq. 14.9-14.15, in scipy's exact arithmetic."""
    b = theta_b.size
    pct = (np.count_nonzero(theta_b < theta_hat) + np.count_nonzero(theta_b <= theta_hat)) / (2 * b)
    z0 = special.ndtri(pct)
    nums, dens = 0.0, 0.0
    for th in jack:
        n = float(th.size)
        u = (n - 1) * (th.mean() - th)
        nums += np.sum(u ** 3) / n ** 3
        dens += np.sum(u ** 2) / n ** 2
    with np.errstate(all="ignore"):
        a_hat = nums / (6.0 * dens ** 1.5)
        z_a = float(special.ndtri(alpha))
        num1 = z0 + z_a
        a1 = special.ndtr(z0 + num1 / (1 - a_hat * num1))
        num2 = z0 - z_a
        a2 = special.ndtr(z0 + num2 / (1 - a_hat * num2))
    return float(a1), float(a2), float(a_hat), float(z0)


def bootstrap_ci(data, statistic, *, n_resamples: int = 10_000, method: str = "bca", paired: bool = False,
                 confidence: float = 0.95, seed: int = 0, batch_size: int | None = None) -> BootstrapResult:
    r"""Bootstrap confidence interval (percentile or BCa), paired or unpaired, chunked.

    Percentile: the :math:`\alpha/2` and :math:`1-\alpha/2` quantiles of the
    bootstrap distribution :math:`\hat\theta^*_b`.  BCa (Efron 1987; Efron &
    Tibshirani 1993, ch. 14): quantiles at
    :math:`\alpha_{1,2} = \Phi(\hat z_0 + (\hat z_0 + z_{\alpha/2, 1-\alpha/2})/(1 - \hat a(\hat z_0 + z)))`
    with :math:`\hat z_0 = \Phi^{-1}(\#\{\hat\theta^*_b < \hat\theta\}/B)` (ties counted half)
    and the jackknife acceleration
    :math:`\hat a = \sum U_i^3 / (6(\sum U_i^2)^{3/2})`, :math:`U_i = (n-1)(\bar\theta_{(\cdot)} - \hat\theta_{(i)})`.
    Quantiles are linear-interpolated (type 7).  The result does not depend on
    ``batch_size``; for one sample or ``paired=True`` it equals
    :func:`scipy.stats.bootstrap` with ``rng=np.random.default_rng(seed)``
    (same draws, same formulas); unpaired samples draw from one child stream each.

    Parameters
    ----------
    data : sequence of array_like
        One 1-D array per sample, e.g. ``(x,)`` or ``(x, y)``.
    statistic : callable or {"mean", "mean_diff"}
        Vectorised ``statistic(*samples, axis=-1)``; a :class:`MeanContrast`
        (such as :data:`mean_diff`) is recognised and computed in closed form.
    n_resamples : int
    method : {"bca", "percentile"}
    paired : bool
        Resample the same indices in every array (arrays must have equal length);
        the jackknife leaves out one pair at a time.
    confidence : float
    seed : int
    batch_size : int or None
        Resamples per batch; default keeps each batch array near 2**18 values.

    Returns
    -------
    BootstrapResult
        NaN ends with a ``note`` when the bootstrap distribution is degenerate.

    References
    ----------
    Efron, B. (1987). Better bootstrap confidence intervals. *JASA* 82(397), 171-185.
    Efron, B., & Tibshirani, R. (1993). *An Introduction to the Bootstrap*. Chapman & Hall.

    Examples
    --------
    >>> x = np.arange(20.0)
    >>> res = bootstrap_ci((x,), "mean", n_resamples=2000, seed=1)
    >>> res.ci_low < 9.5 < res.ci_high
    True
    """
    confidence = _v.confidence(confidence)
    if method not in ("bca", "percentile"):
        raise ValueError(f"method: must be 'bca' or 'percentile', got {method!r}")
    if isinstance(data, np.ndarray) and data.ndim == 1:
        raise ValueError("data: must be a sequence of samples, e.g. (x,) or (x, y)")
    data = [_v.vector(s, f"data[{j}]", min_n=2) for j, s in enumerate(data)]
    if not data:
        raise ValueError("data: empty (no samples)")
    n_resamples = int(n_resamples)
    if n_resamples < 2:
        raise ValueError(f"n_resamples: must be at least 2, got {n_resamples}")
    if paired:
        for j, s in enumerate(data[1:], 1):
            if s.size != data[0].size:
                raise ValueError(f"data: paired samples have mismatched lengths {data[0].size} and {s.size}")
    stat = _resolve_statistic(statistic, len(data))
    linear = isinstance(stat, MeanContrast)
    rng = np.random.default_rng(seed)
    theta_hat = float(_theta(stat, data))
    if not math.isfinite(theta_hat):
        raise ValueError("statistic: is not finite on the observed data")

    theta_b = np.empty(n_resamples)
    if paired:
        n = data[0].size
        width = n if linear else n * (len(data) + 1)
        rows = _batch_rows(batch_size, n_resamples, width)
        combined = sum(w * s for w, s in zip(stat.weights, data)) if linear else None
        for k in range(0, n_resamples, rows):
            r = min(rows, n_resamples - k)
            idx = _draw_indices(rng, n, r)
            if linear:
                theta_b[k:k + r] = combined[idx].mean(axis=-1)
            else:
                theta_b[k:k + r] = _theta(stat, [s[idx] for s in data])
    else:
        # one stream per sample (the seed's first stream for a single sample, as scipy), so that the
        # draws of sample j do not depend on the batch size
        rngs = [rng] if len(data) == 1 else [np.random.default_rng(c) for c in
                                             np.random.SeedSequence(seed).spawn(len(data))]
        width = max(s.size for s in data) * (len(data) + 1)
        rows = _batch_rows(batch_size, n_resamples, width)
        for k in range(0, n_resamples, rows):
            r = min(rows, n_resamples - k)
            theta_b[k:k + r] = _theta(stat, [s[_draw_indices(g, s.size, r)] for g, s in zip(rngs, data)])

    note = ""
    se = float(theta_b.std(ddof=1)) if np.all(np.isfinite(theta_b)) else math.nan
    alpha = (1 - confidence) / 2
    label = method + (", paired" if paired else "")
    if not np.all(np.isfinite(theta_b)):
        return BootstrapResult(theta_hat, math.nan, math.nan, se, label, confidence, n_resamples,
                               "statistic is not finite on some resamples: no interval")
    if method == "percentile":
        lo_q, hi_q = alpha, 1 - alpha
    else:
        chunk = _TARGET_ELEMENTS
        jack = _jackknife_linear(stat, data, paired) if linear else _jackknife_generic(stat, data, paired, chunk)
        lo_q, hi_q, _, _ = _bca_alphas(theta_b, theta_hat, jack, alpha)
        if not (math.isfinite(lo_q) and math.isfinite(hi_q)):
            return BootstrapResult(theta_hat, math.nan, math.nan, se, label, confidence, n_resamples,
                                   "BCa undefined: degenerate bootstrap or jackknife distribution "
                                   "(e.g. constant data); use method='percentile'")
    lo, hi = np.quantile(theta_b, [lo_q, hi_q])
    return BootstrapResult(theta_hat, float(lo), float(hi), se, label, confidence, n_resamples, note)


# ----------------------------------------------------------------------------- permutation test
def _pvalue(null: np.ndarray, observed: float, alternative: str, exact: bool) -> float:
    gamma = abs(np.finfo(float).eps * 100 * observed)
    adj = 0 if exact else 1
    b = null.size
    p_less = (np.count_nonzero(null <= observed + gamma) + adj) / (b + adj)
    p_greater = (np.count_nonzero(null >= observed - gamma) + adj) / (b + adj)
    if alternative == "less":
        return float(p_less)
    if alternative == "greater":
        return float(p_greater)
    return float(min(1.0, 2 * min(p_less, p_greater)))


def _random_bits(rng: np.random.Generator, rows: int, n: int) -> np.ndarray:
    """(rows, n) fair coin flips; each row consumes whole 32-bit words, so batches do not shift the stream."""
    words = -(-n // 32)
    raw = rng.integers(0, 2 ** 32, size=(rows, words), dtype=np.uint32)
    return np.unpackbits(raw.view(np.uint8), axis=1, count=n).view(bool)


def permutation_test(x, y, statistic="mean_diff", *, paired: bool = False, n_resamples: int = 10_000,
                     alternative: str = "two-sided", seed: int = 0, batch_size: int | None = None) -> TestResult:
    r"""Permutation test of two samples: sign flips (paired) or relabelling (unpaired).

    Paired: under :math:`H_0` the two members of each pair are exchangeable, so
    each pair is swapped with probability 1/2 (for :data:`mean_diff` this flips
    the sign of :math:`D_i = x_i - y_i`).  Unpaired: the pooled sample is
    randomly re-split into groups of the original sizes.  If the number of
    distinct rearrangements (:math:`2^n`, resp. :math:`\binom{n_x+n_y}{n_x}`) is at
    most ``n_resamples``, all of them are enumerated and the p-value is exact;
    otherwise :math:`p = (1 + \#\{T^* \text{ at least as extreme}\})/(1 + B)`
    (Phipson & Smyth 2010).  Two-sided p is twice the smaller one-sided p
    (capped at 1), with scipy's tolerance for floating-point ties, so exact
    p-values equal :func:`scipy.stats.permutation_test`'s.

    Parameters
    ----------
    x, y : array_like
    statistic : "mean_diff" or callable
        ``statistic(x, y, axis=-1)`` vectorised; "mean_diff" is :math:`\bar x - \bar y`.
    paired : bool
    n_resamples : int
    alternative : {"two-sided", "greater", "less"}
    seed : int
    batch_size : int or None

    Returns
    -------
    TestResult
        ``statistic`` is the observed statistic; ``note`` says whether the null was exact.

    References
    ----------
    Phipson, B., & Smyth, G. K. (2010). Permutation p-values should never be zero.
    *Stat. Appl. Genet. Mol. Biol.* 9(1).

    Examples
    --------
    >>> res = permutation_test([1.2, 2.3, 3.1, 4.8], [0.1, 0.2, 0.9, 1.1], paired=True)
    >>> res.p_value
    0.125
    """
    alternative = _v.alternative(alternative)
    xa = _v.vector(x, "x")
    ya = _v.vector(y, "y")
    n_resamples = int(n_resamples)
    if n_resamples < 1:
        raise ValueError(f"n_resamples: must be positive, got {n_resamples}")
    stat = _resolve_statistic(statistic, 2)
    linear = isinstance(stat, MeanContrast)
    rng = np.random.default_rng(seed)
    observed = float(_theta(stat, [xa, ya]))
    if not math.isfinite(observed):
        raise ValueError("statistic: is not finite on the observed data")
    chunks = []
    if paired:
        _v.same_length(xa, ya)
        n = xa.size
        exact = n < 63 and 2 ** n <= n_resamples
        total = 2 ** n if exact else n_resamples
        rows = _batch_rows(batch_size, total, n * 3)
        if linear:
            w = stat.weights
            d = w[0] * xa + w[1] * ya       # contribution of a pair in its observed order
            dswap = w[0] * ya + w[1] * xa   # ... and swapped
            base, delta = dswap, d - dswap
        for k in range(0, total, rows):
            r = min(rows, total - k)
            if exact:
                codes = np.arange(k, k + r, dtype=np.int64)[:, None]
                keep = ((codes >> np.arange(n)) & 1).astype(bool)
            else:
                keep = _random_bits(rng, r, n)
            if linear:
                chunks.append((base.sum() + keep.astype(float) @ delta) / n)
            else:
                chunks.append(_theta(stat, [np.where(keep, xa, ya), np.where(keep, ya, xa)]))
    else:
        pooled = np.concatenate([xa, ya])
        n1, big_n = xa.size, pooled.size
        n_comb = comb(big_n, n1)
        exact = n_comb <= n_resamples
        total = n_comb if exact else n_resamples
        rows = _batch_rows(batch_size, total, big_n * 3)
        if exact:
            from itertools import combinations
            combos = combinations(range(big_n), n1)
        for k in range(0, total, rows):
            r = min(rows, total - k)
            if exact:
                first = np.array([next(combos) for _ in range(r)], dtype=np.intp).reshape(r, n1)
                mask = np.zeros((r, big_n), dtype=bool)
                mask[np.arange(r)[:, None], first] = True
                order = np.argsort(~mask, axis=1, kind="stable")
            else:
                order = rng.permuted(np.broadcast_to(np.arange(big_n), (r, big_n)), axis=1)
            if linear:
                w = stat.weights
                sx = pooled[order[:, :n1]].sum(axis=1)
                chunks.append(w[0] * sx / n1 + w[1] * (pooled.sum() - sx) / (big_n - n1))
            else:
                perm = pooled[order]
                chunks.append(_theta(stat, [perm[:, :n1], perm[:, n1:]]))
    null = np.concatenate(chunks)
    p = _pvalue(null, observed, alternative, exact)
    kind = "sign-flip" if paired else "relabelling"
    note = (f"exact: all {null.size} rearrangements" if exact else f"Monte Carlo: {null.size} random rearrangements")
    return TestResult(observed, p, alternative, f"permutation test ({kind}, {getattr(stat, 'name', 'custom statistic')})",
                      None, None, note)


def cluster_bootstrap_weights(labels, n_resamples: int, seed=0) -> tuple[np.ndarray, np.ndarray]:
    r"""The cluster (block) bootstrap as multiplicities: whole clusters are drawn with replacement.

    Replicate *b* draws :math:`G` of the :math:`G` clusters with replacement; the count of cluster *c*,
    :math:`m_{bc}`, is a row of :math:`\mathrm{Multinomial}(G, (1/G, \dots, 1/G))`, drawn with
    ``numpy.random.default_rng(seed).multinomial``. A unit's weight in replicate *b* is the count of its
    cluster, so a weighted statistic (e.g. a ratio of weighted totals) of the replicate equals the statistic of
    the resampled data set; percentile intervals follow from the replicates (Cameron, Gelbach & Miller 2008,
    "pairs cluster bootstrap").

    Parameters
    ----------
    labels : array (n,)
        Cluster label of each unit or row.
    n_resamples : int
        Replicates :math:`B`.
    seed : int or SeedSequence

    Returns
    -------
    codes : ndarray of int (n,)
        Cluster code of each row (clusters in order of first appearance).
    counts : ndarray of float (n_resamples, G)
        :math:`m_{bc}`; ``counts[:, codes]`` are the rows' weights.

    References
    ----------
    Cameron, A. C., Gelbach, J. B. & Miller, D. L. (2008). Bootstrap-based improvements for inference with
    clustered errors. Review of Economics and Statistics 90(3), 414-427.

    Examples
    --------
    >>> codes, counts = cluster_bootstrap_weights(["a", "a", "b", "c"], 5, seed=1)
    >>> codes.tolist(), counts.shape, counts.sum(axis=1).tolist()
    ([0, 0, 1, 2], (5, 3), [3.0, 3.0, 3.0, 3.0, 3.0])
    """
    codes, uniq = pd.factorize(np.asarray(labels))
    if (codes < 0).any():
        raise ValueError(f"labels: {int((codes < 0).sum())} missing cluster label(s)")
    if int(n_resamples) < 1:
        raise ValueError(f"n_resamples: must be at least 1, got {n_resamples}")
    G = len(uniq)
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(G, np.full(G, 1.0 / G), size=int(n_resamples)).astype(float)
    return codes, counts
