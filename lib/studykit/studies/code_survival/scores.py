r"""Unit-level Cox score residuals and their cluster sums (Lin & Wei 1989).

:func:`score_residuals` at :math:`\beta = 0` gives the log-rank numerator of the clustered
log-rank test (:func:`.survival.logrank`); :func:`cluster_robust_cov` is the unit-level (Breslow-form)
sandwich, the reference against which the tests and ``benchmarks/bench_cox_aggregated.py`` check
the exact row-level sandwich of :mod:`.coxfit`.

References
----------
Lin, D. Y. & Wei, L. J. (1989). The robust inference for the Cox proportional hazards model. JASA 84, 1074-1078.
"""
from __future__ import annotations

import numpy as np
import pandas as pd


def score_residuals(T: np.ndarray, E: np.ndarray, X: np.ndarray, beta: np.ndarray,
                    strata: np.ndarray | None = None) -> np.ndarray:
    r"""Score residuals of a Cox model, one row per unit in the input order (Lin & Wei 1989).

    :math:`U_i = \delta_i (x_i - \bar x(t_i)) - r_i \sum_{t_j \le t_i} \delta_j (x_i - \bar x(t_j)) / S_0(t_j)`,
    :math:`r_i = e^{x_i^\top\beta}`, :math:`S_0(t) = \sum_{T_k \ge t} r_k`,
    :math:`\bar x(t) = \sum_{T_k \ge t} r_k x_k / S_0(t)`, risk sets within each stratum
    (Breslow form; identical to the Efron form without tied event times). Their sum is the score
    :math:`U(\beta)`; at :math:`\beta = 0` with group indicators it is the log-rank numerator
    :math:`O - E`. Vectorised with cumulative sums, :math:`O(np)`.
    """
    T = np.asarray(T, float)
    E = np.asarray(E, float)
    X = np.asarray(X, float).reshape(len(T), -1)
    out = np.zeros_like(X)
    if strata is None:
        parts = [np.arange(len(T))]
    else:
        codes, _ = pd.factorize(np.asarray(strata))
        order = np.argsort(codes, kind="mergesort")
        parts = np.split(order, np.flatnonzero(np.diff(codes[order])) + 1)
    for idx in parts:
        order = idx[np.argsort(T[idx], kind="mergesort")]
        t, e, x = T[order], E[order], X[order]
        r = np.exp(x @ beta)
        rc_r = np.cumsum(r[::-1])[::-1]  # S0 at each sorted position: sum over units with T >= t
        rc_rx = np.cumsum((r[:, None] * x)[::-1], axis=0)[::-1]
        first = np.searchsorted(t, t, side="left")  # tied times share the risk set of their first member
        last = np.searchsorted(t, t, side="right") - 1
        S0 = rc_r[first]
        xbar = rc_rx[first] / S0[:, None]
        cum_h = np.cumsum(e / S0)  # Breslow cumulative hazard increments up to each time
        cum_g = np.cumsum((e / S0)[:, None] * xbar, axis=0)
        out[order] = e[:, None] * (x - xbar) - r[:, None] * (x * cum_h[last][:, None] - cum_g[last])
    return out


def cluster_sums(U: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Sum the rows of ``U`` within each cluster (clusters in order of first appearance)."""
    codes, _ = pd.factorize(np.asarray(labels))
    Uc = np.zeros((codes.max() + 1, U.shape[1]))
    np.add.at(Uc, codes, U)
    return Uc


def cluster_robust_cov(T: np.ndarray, E: np.ndarray, X: np.ndarray, beta: np.ndarray, inv_info: np.ndarray,
                       groups: np.ndarray, strata: np.ndarray | None = None, small_sample: bool = False
                       ) -> np.ndarray:
    r"""Cluster-robust (sandwich) covariance of Cox coefficients (Lin & Wei 1989).

    :math:`V = \mathcal I^{-1} \big(\sum_c U_c U_c^\top\big) \mathcal I^{-1}`, where
    :math:`U_c` sums the :func:`score_residuals` of cluster *c*; with ``small_sample`` the CR1
    factor :math:`G/(G-1)` for :math:`G` clusters (Cameron & Miller 2015). Breslow-form residuals, one per
    unit: equal to lifelines' ``cluster_col`` variance and to the exact Efron-form row sandwich of
    :func:`.coxfit.cluster_robust_cov` (which the study's models use) on tie-free data, an approximation with
    tied event times; kept as the unit-level reference of the tests and the benchmark.
    """
    Uc = cluster_sums(score_residuals(T, E, X, beta, strata), groups)
    V = inv_info @ (Uc.T @ Uc) @ inv_info
    G = Uc.shape[0]
    return V * (G / (G - 1)) if small_sample and G > 1 else V
