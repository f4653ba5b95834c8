r"""Unit-level Cox score residuals and their cluster sums (Lin & Wei 1989).

:func:`score_residuals` (now in :mod:`studykit.stats.survival`) at :math:`\beta = 0` gives the log-rank numerator of the clustered
log-rank test (:func:`.survival.logrank`); :func:`cluster_robust_cov` is the unit-level (Breslow-form)
sandwich, the reference against which the tests and ``benchmarks/bench_cox_aggregated.py`` check
the exact row-level sandwich of :mod:`.coxfit`.

References
----------
Lin, D. Y. & Wei, L. J. (1989). The robust inference for the Cox proportional hazards model. JASA 84, 1074-1078.
"""
from __future__ import annotations

import numpy as np

from studykit.stats.survival import cluster_sums, score_residuals  # noqa: F401 (moved to studykit.stats)


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
