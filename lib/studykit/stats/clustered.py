r"""Cluster-robust inference: the sandwich from cluster score sums (CR0/CR1), the delete-one-cluster jackknife
of refitted coefficients (CV3), and OLS with cluster-robust standard errors.

**Sandwich** (:func:`cluster_robust_cov`). For an M-estimator :math:`\hat\beta` with per-unit (or per-row)
score contributions :math:`\psi_i` and bread :math:`B = \mathcal I^{-1}` (the inverse of the observed
information, or :math:`(X^\top X)^{-1}` for OLS), with :math:`U_c = \sum_{i \in c} \psi_i` the score sum of
cluster *c* of :math:`G`,

.. math::

    V_{CR0} = B\Big(\sum_{c=1}^G U_c U_c^\top\Big)B, \qquad V_{CR1} = \frac{G}{G-1}\, V_{CR0}

(Liang & Zeger 1986; for the Cox model with score residuals, Lin & Wei 1989; CR1: Cameron & Miller 2015).

**Jackknife** (:func:`jackknife_cov`). With :math:`\hat\beta_{(g)}` the estimate refitted without cluster *g*,

.. math::

    V_{CV3} = \frac{G-1}{G}\sum_{g=1}^G \big(\hat\beta_{(g)} - \hat\beta\big)\big(\hat\beta_{(g)} - \hat\beta\big)^\top,

closer to nominal than CR1 with few clusters (MacKinnon, Nielsen & Webb 2023). For a statistic of cluster
totals (no refit) see :func:`studykit.stats.smallcluster.cluster_jackknife_ci`.

**OLS** (:func:`ols_clustered`). :math:`y = X\beta + \varepsilon`, errors correlated within clusters:
:math:`B = (X^\top X)^{-1}`, :math:`\psi_i = x_i\hat\varepsilon_i` and the CR1 variance with the
finite-sample factor :math:`\frac{G}{G-1}\frac{N-1}{N-K}`, a :math:`t_{G-1}` reference (Cameron & Miller 2015),
computed by statsmodels (``OLS(...).fit(cov_type="cluster", use_t=True)``). The slope of one regressor with
two-way clustering or frequency weights is :func:`studykit.stats.regression.ols_slope_clustered`.

References
----------
Liang, K.-Y. & Zeger, S. L. (1986). Longitudinal data analysis using generalized linear models. Biometrika 73, 13-22.
Lin, D. Y. & Wei, L. J. (1989). The robust inference for the Cox proportional hazards model. JASA 84, 1074-1078.
Cameron, A. C. & Miller, D. L. (2015). A practitioner's guide to cluster-robust inference. J. Hum. Resour. 50(2),
317-372.
MacKinnon, J. G., Nielsen, M. Ø. & Webb, M. D. (2023). Cluster-robust inference: A guide to empirical
practice. Journal of Econometrics 232(2), 272-299.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from studykit.stats import _validate as _v
from studykit.stats.results import Result

__all__ = ["ClusterCovariance", "cluster_sums", "cluster_robust_cov", "jackknife_cov", "ClusteredOLS",
           "ols_clustered"]

CR0, CR1, CV3 = "CR0", "CR1", "CV3"


def cluster_sums(U: np.ndarray, labels) -> np.ndarray:
    """Sum the rows of ``U`` (n x p) within each cluster of ``labels`` (clusters in order of first appearance)."""
    U = np.asarray(U, float)
    codes, _ = pd.factorize(np.asarray(labels))
    if len(codes) != U.shape[0]:
        raise ValueError(f"clusters: {len(codes)} labels for {U.shape[0]} score rows")
    if (codes < 0).any():
        raise ValueError(f"clusters: {int((codes < 0).sum())} missing label(s)")
    Uc = np.zeros((codes.max() + 1, U.shape[1]))
    np.add.at(Uc, codes, U)
    return Uc


@dataclass(frozen=True)
class ClusterCovariance(Result):
    """A cluster-robust covariance matrix of coefficients; the matrix is excluded from records.

    Attributes
    ----------
    n_clusters : int
        :math:`G`.
    correction : str
        ``"CR0"`` (plain sandwich), ``"CR1"`` (times :math:`G/(G-1)`) or ``"CV3"`` (jackknife).
    covariance : ndarray (p, p)
    """

    n_clusters: int
    correction: str
    covariance: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)), compare=False, repr=False)

    @property
    def se(self) -> np.ndarray:
        """Standard errors :math:`\\sqrt{\\mathrm{diag}\\,V}`."""
        return np.sqrt(np.diag(self.covariance))


def cluster_robust_cov(bread, scores, clusters, *, small_sample: bool = True) -> ClusterCovariance:
    r"""Cluster-robust (sandwich) covariance :math:`B(\sum_c U_c U_c^\top)B`, CR1 with ``small_sample``.

    Parameters
    ----------
    bread : array (p, p)
        :math:`B`, e.g. the inverse observed information of a Cox fit (``CoxFit.covariance``).
    scores : array (n, p)
        Score contributions :math:`\psi_i` of the units or rows (e.g. Cox score residuals, whose sum is the
        score; a row standing for several units carries their sum, and every unit of a row must belong to the
        row's cluster).
    clusters : array (n,)
        Cluster label of each row; no missing label.
    small_sample : bool
        Multiply by :math:`G/(G-1)` (CR1; Cameron & Miller 2015), else CR0.

    Returns
    -------
    ClusterCovariance
        ``covariance`` :math:`V` (module docstring), ``n_clusters`` :math:`G`, ``correction``.

    References
    ----------
    Liang & Zeger (1986); Lin & Wei (1989); Cameron & Miller (2015) (module docstring).

    Examples
    --------
    >>> psi = np.array([[1.0], [-0.5], [0.25], [-0.75]])
    >>> r = cluster_robust_cov(np.array([[2.0]]), psi, ["a", "a", "b", "b"])
    >>> r.n_clusters, r.correction, float(r.covariance[0, 0])
    (2, 'CR1', 4.0)
    """
    bread = np.asarray(bread, float)
    scores = np.asarray(scores, float)
    if scores.ndim != 2 or bread.shape != (scores.shape[1], scores.shape[1]):
        raise ValueError(f"cluster_robust_cov: bread of shape {bread.shape} for scores of shape {scores.shape}")
    Uc = cluster_sums(scores, clusters)
    G = Uc.shape[0]
    V = bread @ (Uc.T @ Uc) @ bread
    if small_sample and G > 1:
        return ClusterCovariance(G, CR1, V * (G / (G - 1)))
    return ClusterCovariance(G, CR0, V)


def jackknife_cov(estimate, labels, refit: Callable[[np.ndarray], np.ndarray], threads: int = 1) -> ClusterCovariance:
    r"""Delete-one-cluster jackknife covariance (CV3) of the coefficients ``estimate``.

    Parameters
    ----------
    estimate : array (p,)
        :math:`\hat\beta` on all units.
    labels : array (n,)
        Cluster label of each unit (clusters in order of first appearance).
    refit : callable
        ``refit(keep)`` returns the coefficients (array (p,)) of the same model fitted on the units where the
        boolean mask ``keep`` is true. Its errors propagate (the caller decides what a failed refit means).
    threads : int
        Refits run at once in threads (numpy releases the GIL in its array loops, so two threads use two
        cores); the covariance is the same for any number.

    Returns
    -------
    ClusterCovariance
        ``covariance`` :math:`V_{CV3}` (module docstring), ``correction = "CV3"``.

    Raises
    ------
    ValueError
        When a refit returns a different number of coefficients (leaving out a cluster changed the model).

    References
    ----------
    MacKinnon, Nielsen & Webb (2023), the CV3 variance.

    Examples
    --------
    >>> y = np.array([1.0, 2.0, 4.0, 7.0])
    >>> r = jackknife_cov(np.array([y.mean()]), np.array([0, 0, 1, 1]), lambda keep: np.array([y[keep].mean()]))
    >>> float(r.covariance[0, 0])
    4.0
    """
    beta = np.asarray(estimate, float).reshape(-1)
    codes, groups = pd.factorize(np.asarray(labels))  # clusters in order of first appearance, as pd.unique
    G = len(groups)
    dev = np.empty((G, len(beta)))

    def one(i: int) -> np.ndarray:
        return np.asarray(refit(codes != i), float).reshape(-1)

    def check(coefs) -> None:  # in cluster order: the first failure (error or changed model) is raised
        for i, coef in enumerate(coefs):
            if len(coef) != len(beta):
                raise ValueError(f"jackknife_cov: leaving out one cluster changes the model ({len(coef)} "
                                 "coefficients)")
            dev[i] = coef - beta

    if threads > 1 and G > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=min(int(threads), G)) as pool:
            check(pool.map(one, range(G)))
    else:
        check(one(i) for i in range(G))
    return ClusterCovariance(G, CV3, (G - 1) / G * dev.T @ dev)


@dataclass(frozen=True)
class ClusteredOLS(Result):
    """OLS coefficients with cluster-robust (CR1) standard errors and :math:`t_{G-1}` intervals.

    Attributes
    ----------
    n_obs, n_clusters : int
    df : float
        :math:`G - 1`, the degrees of freedom of the :math:`t` reference.
    confidence : float
    method : str
    names : tuple of str
        The terms, in the order of the columns of ``X``.
    coef, se, ci_low, ci_high, p_value : ndarray (p,)
        Per term; p-values two-sided.
    """

    n_obs: int
    n_clusters: int
    df: float
    confidence: float
    method: str
    names: tuple = field(default=(), compare=False, repr=False)
    coef: np.ndarray = field(default_factory=lambda: np.zeros(0), compare=False, repr=False)
    se: np.ndarray = field(default_factory=lambda: np.zeros(0), compare=False, repr=False)
    ci_low: np.ndarray = field(default_factory=lambda: np.zeros(0), compare=False, repr=False)
    ci_high: np.ndarray = field(default_factory=lambda: np.zeros(0), compare=False, repr=False)
    p_value: np.ndarray = field(default_factory=lambda: np.zeros(0), compare=False, repr=False)

    def table(self) -> pd.DataFrame:
        """One row per term: term, coef, se, ci_low, ci_high, p_value."""
        return pd.DataFrame({"term": list(self.names), "coef": self.coef, "se": self.se, "ci_low": self.ci_low,
                             "ci_high": self.ci_high, "p_value": self.p_value})

    def term(self, name: str) -> dict[str, float]:
        """``coef``, ``se``, ``ci_low``, ``ci_high``, ``p_value`` of one term (KeyError naming it)."""
        if name not in self.names:
            raise KeyError(f"ClusteredOLS: no term {name!r} (terms: {', '.join(self.names)})")
        j = self.names.index(name)
        return {k: float(getattr(self, k)[j]) for k in ("coef", "se", "ci_low", "ci_high", "p_value")}


def ols_clustered(y, X, clusters, *, names: Sequence[str] | None = None, confidence: float = 0.95) -> ClusteredOLS:
    r"""OLS of ``y`` on the columns of ``X`` (no intercept added) with cluster-robust CR1 standard errors.

    :math:`\hat\beta = (X^\top X)^{-1}X^\top y`, :math:`V = \frac{G}{G-1}\frac{N-1}{N-K}
    (X^\top X)^{-1}\big(\sum_c X_c^\top\hat\varepsilon_c\hat\varepsilon_c^\top X_c\big)(X^\top X)^{-1}`,
    intervals :math:`\hat\beta_k \pm t_{G-1,(1+c)/2}\sqrt{V_{kk}}` and two-sided :math:`t_{G-1}` p-values
    (Cameron & Miller 2015). Computed by statsmodels ``OLS(y, X).fit(cov_type="cluster",
    cov_kwds={"groups": codes}, use_t=True)``.

    Parameters
    ----------
    y : array (n,)
    X : DataFrame or array (n, K)
        The design, with its intercept column(s) (e.g. one indicator per cell).
    clusters : array (n,)
        Cluster label of each observation; at least 2 clusters, no missing label.
    names : sequence of str, optional
        Term names (default: the columns of a DataFrame ``X``, else ``x0, x1, ...``).
    confidence : float

    Returns
    -------
    ClusteredOLS

    Raises
    ------
    ValueError
        Lengths that differ, fewer than 2 clusters, a missing label; statsmodels' own errors (e.g. a
        singular design) propagate.

    References
    ----------
    Cameron & Miller (2015) (module docstring).

    Examples
    --------
    >>> x = np.array([-1.0, 1.0] * 4)
    >>> r = ols_clustered(np.array([0.1, 1.2, -0.2, 0.9, 0.3, 1.4, 0.0, 1.0]),
    ...                   np.column_stack([np.ones(8), x]), [0, 0, 1, 1, 2, 2, 3, 3], names=["const", "x"])
    >>> {k: round(v, 4) for k, v in r.term("x").items() if k in ("coef", "se")}, r.df
    ({'coef': 0.5375, 'se': 0.0135}, 3.0)
    """
    from statsmodels.regression.linear_model import OLS  # not statsmodels.api: it imports every submodule

    confidence = _v.confidence(confidence)
    ya = np.asarray(y, float)
    n = len(ya)
    if names is None:
        names = [str(c) for c in X.columns] if isinstance(X, pd.DataFrame) else None
    Xa = np.asarray(X, float)
    Xa = Xa[:, None] if Xa.ndim == 1 else Xa
    names = tuple(names) if names is not None else tuple(f"x{j}" for j in range(Xa.shape[1]))
    if Xa.ndim != 2 or Xa.shape[0] != n or len(names) != Xa.shape[1]:
        raise ValueError(f"ols_clustered: y has {n} values, X shape {Xa.shape}, {len(names)} names")
    labels = np.asarray(clusters)
    if len(labels) != n:
        raise ValueError(f"clusters: {len(labels)} labels for {n} observations")
    if pd.isna(labels).any():
        raise ValueError(f"clusters: {int(pd.isna(labels).sum())} missing label(s)")
    uniq, codes = np.unique(labels, return_inverse=True)
    if len(uniq) < 2:
        raise ValueError(f"clusters: {len(uniq)} cluster(s), at least 2 needed")
    fit = OLS(ya, Xa).fit(cov_type="cluster", cov_kwds={"groups": codes}, use_t=True)
    ci = np.asarray(fit.conf_int(alpha=1 - confidence))
    G = len(uniq)
    return ClusteredOLS(n, G, float(G - 1), confidence, f"OLS, cluster-robust SE (CR1; {G} clusters), t(G - 1)",
                        names, np.asarray(fit.params), np.asarray(fit.bse), ci[:, 0], ci[:, 1],
                        np.asarray(fit.pvalues))
