r"""Small-cluster corrections: a wild cluster bootstrap of a score test and a delete-one-cluster jackknife interval.

With :math:`G` clusters between about 10 and 50 the cluster-robust sandwich with a :math:`t_{G-1}` or
:math:`F_{k, G-k}` reference is unreliable in either direction: a score test whose variance is the sum of the
clusters' squared score sums (evaluated under the null) is conservative, because its statistic is
self-normalised (:math:`|t| \le \sqrt{G-1}`), and a percentile cluster bootstrap interval of a ratio of totals
under-covers. Two corrections from the econometrics of few clusters:

**Wild cluster bootstrap of the score** (:func:`wild_cluster_score_test`). Given the cluster sums
:math:`U_c \in \mathbb R^k` of unit score contributions evaluated *under the null* (e.g. the Cox score
residuals at :math:`\beta = 0`, whose sum is the log-rank numerator),

.. math::

    T(w) = U(w)^\top \Big(\sum_c w_c^2\, U_c U_c^\top\Big)^{+} U(w), \qquad U(w) = \sum_c w_c U_c,

the observed statistic is :math:`T(\mathbf 1)` and the p-value is the share of weight vectors :math:`w` with
:math:`T(w) \ge T(\mathbf 1)`. The weights are drawn per cluster, independent of the data, with mean 0 and
variance 1: Rademacher (:math:`\pm 1`, each with probability 1/2) or Webb's six-point distribution
(:math:`\pm\sqrt{3/2}, \pm 1, \pm\sqrt{1/2}`, each 1/6), which has more distinct values when :math:`G` is
small. With Rademacher weights :math:`\sum_c w_c^2 U_c U_c^\top` does not depend on :math:`w`, and when
:math:`2^{G-1}` is small enough every sign vector is enumerated (:math:`w` and :math:`-w` give the same
statistic): the test is then the exact sign-flip randomisation test, valid in finite samples when the
:math:`U_c` are independent and symmetric about 0 under the null (Canay, Romano & Shaikh 2017), and
asymptotically valid otherwise (Kline & Santos 2012). With random draws the p-value is
:math:`(1 + \#\{T(w_b) \ge T(\mathbf 1)\}) / (B + 1)`.

**Delete-one-cluster jackknife interval** (:func:`cluster_jackknife_ci`). For a smooth statistic
:math:`\hat\theta = f(\sum_c X_c)` of cluster totals :math:`X_c \in \mathbb R^m` (e.g. a difference of two
ratios of totals), :math:`\hat\theta_{(g)} = f(\sum_{c \ne g} X_c)` and

.. math::

    V_{CV3} = \frac{G-1}{G} \sum_g \big(\hat\theta_{(g)} - \hat\theta\big)^2, \qquad
    \hat\theta \pm t_{G-1,\,1-\alpha/2} \sqrt{V_{CV3}},

the CV3 variance (MacKinnon, Nielsen & Webb 2023), which for a linear statistic equals the CR3 sandwich
(for the mean of unit values, :math:`\frac{G-1}{G}\sum_g ((Y_g - n_g \hat\theta)/(n - n_g))^2`).

References
----------
Cameron, A. C., Gelbach, J. B. & Miller, D. L. (2008). Bootstrap-based improvements for inference with
clustered errors. Review of Economics and Statistics 90(3), 414-427.
Kline, P. & Santos, A. (2012). A score based approach to wild bootstrap inference. Journal of Econometric
Methods 1(1), 23-41.
Canay, I. A., Romano, J. P. & Shaikh, A. M. (2017). Randomization tests under an approximate symmetry
assumption. Econometrica 85(3), 1013-1030.
MacKinnon, J. G. & Webb, M. D. (2017). Wild bootstrap inference for wildly different cluster sizes. Journal of
Applied Econometrics 32(2), 233-254.
Webb, M. D. (2023). Reworking wild bootstrap-based inference for clustered errors. Canadian Journal of
Economics 56(3), 839-858.
MacKinnon, J. G., Nielsen, M. Ø. & Webb, M. D. (2023). Cluster-robust inference: A guide to empirical
practice. Journal of Econometrics 232(2), 272-299.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from studykit.contract.errors import InputError
from studykit.stats.results import Result

__all__ = ["WildScoreTest", "wild_cluster_score_test", "wild_weights", "ClusterJackknife", "cluster_jackknife_ci"]

WEIGHTS = ("rademacher", "webb")
_WEBB = np.array([-np.sqrt(1.5), -1.0, -np.sqrt(0.5), np.sqrt(0.5), 1.0, np.sqrt(1.5)])


def wild_weights(kind: str, n_clusters: int, n_resamples: int, rng: np.random.Generator) -> np.ndarray:
    """A ``n_resamples x n_clusters`` matrix of wild bootstrap weights (mean 0, variance 1) drawn from ``rng``.

    ``kind``: ``"rademacher"`` (:math:`\\pm 1`) or ``"webb"`` (six points, module docstring).
    """
    if kind == "rademacher":
        return rng.integers(0, 2, (n_resamples, n_clusters)).astype(float) * 2.0 - 1.0
    if kind == "webb":
        return _WEBB[rng.integers(0, 6, (n_resamples, n_clusters))]
    raise InputError(f"wild_weights: weights must be one of {', '.join(WEIGHTS)}, not {kind!r}")


def _sign_vectors(G: int) -> np.ndarray:
    """All :math:`2^{G-1}` sign vectors with the first sign +1 (``-w`` gives the same statistic)."""
    codes = np.arange(2 ** (G - 1), dtype=np.int64)
    bits = (codes[:, None] >> np.arange(G - 1)) & 1
    return np.column_stack([np.ones(len(codes)), 1.0 - 2.0 * bits])


def _statistics(W: np.ndarray, Uc: np.ndarray) -> np.ndarray:
    """:math:`T(w)` for each row of ``W`` (module docstring)."""
    k = Uc.shape[1]
    Uw = W @ Uc  # (B, k)
    outer = (Uc[:, :, None] * Uc[:, None, :]).reshape(len(Uc), k * k)
    S = ((W ** 2) @ outer).reshape(len(W), k, k)
    if k == 1:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(S[:, 0, 0] > 0, Uw[:, 0] ** 2 / S[:, 0, 0], 0.0)
    Sp = np.linalg.pinv(S, hermitian=True)
    return np.einsum("bi,bij,bj->b", Uw, Sp, Uw)


@dataclass(frozen=True)
class WildScoreTest(Result):
    """A wild cluster bootstrap score test.

    Attributes
    ----------
    statistic : float
        :math:`T(\\mathbf 1) = U^\\top (\\sum_c U_c U_c^\\top)^+ U` (the CR0 robust score statistic).
    df : int
        Dimension :math:`k` of the score.
    p_value : float
    n_clusters : int
    n_resamples : int
        Weight vectors used (:math:`2^{G-1}` when enumerated).
    weights : str
    enumerated : bool
        True when every Rademacher sign vector was used (the exact randomisation test).
    method : str
    note : str
    """

    statistic: float
    df: int
    p_value: float
    n_clusters: int
    n_resamples: int
    weights: str
    enumerated: bool
    method: str
    note: str = ""


def wild_cluster_score_test(scores, clusters, *, weights: str = "rademacher", n_resamples: int = 9999,
                            seed: int = 0, max_enumerate: int = 2 ** 15) -> WildScoreTest:
    """Wild cluster bootstrap test that a score evaluated under the null has mean zero.

    Parameters
    ----------
    scores : array-like (n,) or (n, k)
        Unit score contributions evaluated under the null hypothesis (restricted), e.g. Cox score residuals
        at :math:`\\beta = 0` (:func:`studykit.stats.survival.score_residuals`).
    clusters : array-like (n,)
        Cluster label of each unit; clusters are independent, units within one are not.
    weights : {"rademacher", "webb"}
        Distribution of the per-cluster weights (module docstring).
    n_resamples : int
        Random weight vectors when the sign vectors are not enumerated.
    seed : int
        Seed of the random weights (the result is deterministic).
    max_enumerate : int
        With Rademacher weights and :math:`2^{G-1} \\le` ``max_enumerate`` every sign vector is used.

    Returns
    -------
    WildScoreTest
        With fewer clusters than :math:`k + 1` the p-value is NaN and ``note`` says why.

    Notes
    -----
    :math:`T(w) = U(w)^\\top (\\sum_c w_c^2 U_c U_c^\\top)^{+} U(w)`; p-value
    :math:`\\#\\{T(w) \\ge T(\\mathbf 1)\\} / 2^{G-1}` (enumerated) or
    :math:`(1 + \\#\\{T(w_b) \\ge T(\\mathbf 1)\\}) / (B + 1)` (module docstring).

    References
    ----------
    Cameron, Gelbach & Miller (2008); Kline & Santos (2012); Canay, Romano & Shaikh (2017); MacKinnon & Webb
    (2017); Webb (2023).

    Examples
    --------
    >>> r = wild_cluster_score_test([1.0, 0.5, -0.2, 0.8, 1.1, 0.3], ["a", "a", "b", "c", "d", "e"])
    >>> r.n_clusters, r.n_resamples, r.enumerated, round(r.p_value, 4)
    (5, 16, True, 0.125)
    """
    if weights not in WEIGHTS:
        raise InputError(f"wild_cluster_score_test: weights must be one of {', '.join(WEIGHTS)}, not {weights!r}")
    U = np.asarray(scores, float)
    U = U.reshape(len(U), -1)
    labels = np.asarray(clusters)
    if len(labels) != len(U):
        raise InputError("wild_cluster_score_test: scores and clusters differ in length")
    if not np.all(np.isfinite(U)):
        raise InputError("wild_cluster_score_test: scores must be finite")
    if n_resamples < 1:
        raise InputError("wild_cluster_score_test: n_resamples must be at least 1")
    codes, uniq = pd.factorize(labels)
    G, k = len(uniq), U.shape[1]
    Uc = np.zeros((G, k))
    np.add.at(Uc, codes, U)
    enumerated = weights == "rademacher" and G >= 1 and 2 ** (G - 1) <= max_enumerate
    method = (f"wild cluster bootstrap of the score ({weights} weights, "
              + ("all sign vectors" if enumerated else f"{n_resamples} draws") + f", G = {G})")
    stat = float(_statistics(np.ones((1, G)), Uc)[0]) if G else float("nan")
    if G <= k:
        return WildScoreTest(stat, k, float("nan"), G, 0, weights, False, method,
                             f"not estimable: {G} clusters for {k} degrees of freedom")
    tol = 1e-10 * max(abs(stat), 1.0)
    if enumerated:
        W = _sign_vectors(G)
        T = _statistics(W, Uc)
        p = float(np.mean(T >= stat - tol))
        B = len(W)
    else:
        rng = np.random.default_rng(seed)
        hits, B = 0, int(n_resamples)
        for start in range(0, B, 4096):  # chunks bound the memory of (B, k, k)
            T = _statistics(wild_weights(weights, G, min(4096, B - start), rng), Uc)
            hits += int(np.sum(T >= stat - tol))
        p = (1 + hits) / (B + 1)
    return WildScoreTest(stat, k, p, G, B, weights, enumerated, method)


@dataclass(frozen=True)
class ClusterJackknife(Result):
    """A delete-one-cluster jackknife (CV3) interval of a statistic of cluster totals.

    Attributes
    ----------
    estimate, se, ci_low, ci_high : float
    df : int
        :math:`G - 1`, the degrees of freedom of the :math:`t` reference.
    n_clusters : int
    method : str
    note : str
    """

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    df: int
    n_clusters: int
    method: str
    note: str = ""


def cluster_jackknife_ci(cluster_totals, statistic: Callable[[np.ndarray], np.ndarray], *,
                         confidence: float = 0.95) -> ClusterJackknife:
    """CV3 jackknife interval with a :math:`t_{G-1}` reference for :math:`f(\\sum_c X_c)`.

    Parameters
    ----------
    cluster_totals : array-like (G, m)
        Per-cluster totals :math:`X_c` (e.g. modified and eligible lines per author type).
    statistic : callable
        :math:`f`: maps an array ``(..., m)`` of summed totals to ``(...)`` (vectorised over leading axes).
    confidence : float

    Returns
    -------
    ClusterJackknife
        ``estimate`` :math:`f(\\sum_c X_c)`, ``se`` :math:`\\sqrt{V_{CV3}}` (module docstring), the
        :math:`t_{G-1}` interval. With fewer than 2 clusters, or when leaving out a cluster makes the statistic
        undefined (e.g. removes every unit of a group), the interval is NaN and ``note`` says why.

    References
    ----------
    MacKinnon, Nielsen & Webb (2023), the CV3 variance.

    Examples
    --------
    >>> X = np.array([[2, 10], [5, 10], [3, 10], [6, 10]])  # successes, trials per cluster
    >>> r = cluster_jackknife_ci(X, lambda s: s[..., 0] / s[..., 1])
    >>> round(r.estimate, 4), round(r.se, 4), r.df
    (0.4, 0.0913, 3)
    """
    from scipy.stats import t as t_dist

    if not 0 < confidence < 1:
        raise InputError("cluster_jackknife_ci: confidence must be in (0, 1)")
    X = np.asarray(cluster_totals, float)
    if X.ndim != 2:
        raise InputError("cluster_jackknife_ci: cluster_totals must be a (clusters x totals) array")
    G = X.shape[0]
    method = f"delete-one-cluster jackknife (CV3), t({G - 1}) reference"
    total = X.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        est = float(statistic(total))
        loo = np.asarray(statistic(total[None, :] - X), float)
    nan = float("nan")
    if G < 2:
        return ClusterJackknife(est, nan, nan, nan, max(G - 1, 0), G, method, f"not estimable: {G} cluster")
    if not np.isfinite(est) or not np.all(np.isfinite(loo)):
        bad = int(np.sum(~np.isfinite(loo)))
        return ClusterJackknife(est, nan, nan, nan, G - 1, G, method,
                                f"not estimable: the statistic is undefined without {bad} of the {G} clusters")
    se = float(np.sqrt((G - 1) / G * np.sum((loo - est) ** 2)))
    crit = float(t_dist.ppf(0.5 + confidence / 2, G - 1))
    return ClusterJackknife(est, se, est - crit * se, est + crit * se, G - 1, G, method)
