"""Multiple-testing corrections (family-wise error and false discovery rate)."""
from __future__ import annotations

import numpy as np

__all__ = ["adjust_pvalues", "METHODS"]

METHODS = ("bonferroni", "holm", "hochberg", "fdr_bh", "fdr_by")


def adjust_pvalues(p, method: str = "holm", *, nan_policy: str = "raise") -> np.ndarray:
    r"""Adjusted p-values for a family of m tests (vectorised, order-preserving).

    With sorted :math:`p_{(1)} \le \dots \le p_{(m)}`:

    - ``bonferroni``: :math:`\min(1, m p_i)`.
    - ``holm`` (Holm 1979): :math:`\tilde p_{(i)} = \max_{j\le i} \min(1, (m-j+1)p_{(j)})`.
    - ``hochberg`` (Hochberg 1988): :math:`\tilde p_{(i)} = \min_{j\ge i} \min(1, (m-j+1)p_{(j)})`.
    - ``fdr_bh`` (Benjamini & Hochberg 1995): :math:`\tilde p_{(i)} = \min_{j\ge i} \min(1, m p_{(j)}/j)`.
    - ``fdr_by`` (Benjamini & Yekutieli 2001): BH times :math:`c_m = \sum_{k=1}^m 1/k`.
    - ``none``: no correction, :math:`\tilde p_i = p_i` (checked like the others), so that a study's
      ``correction`` parameter can name it without a special case at each call.

    Identical to :func:`statsmodels.stats.multitest.multipletests` (its ``pvals_corrected``).

    Parameters
    ----------
    p : array_like
        p-values in [0, 1], any shape (adjusted over all elements as one family).
    method : {"bonferroni", "holm", "hochberg", "fdr_bh", "fdr_by", "none"}
    nan_policy : {"raise", "omit"}
        "omit": NaN p-values stay NaN and the family is the non-NaN ones.

    Returns
    -------
    ndarray
        Same shape as ``p``.

    Examples
    --------
    >>> adjust_pvalues([0.01, 0.04, 0.03], "holm").round(4).tolist()
    [0.03, 0.06, 0.06]
    """
    if method not in METHODS and method != "none":
        raise ValueError(f"method: must be one of {METHODS} or 'none', got {method!r}")
    if nan_policy not in ("raise", "omit"):
        raise ValueError(f"nan_policy: must be 'raise' or 'omit', got {nan_policy!r}")
    arr = np.asarray(p, dtype=float)
    if arr.size == 0:
        raise ValueError("p: empty input")
    flat = arr.ravel()
    nan = np.isnan(flat)
    if nan.any() and nan_policy == "raise":
        raise ValueError(f"p: contains {int(nan.sum())} NaN p-value(s); pass nan_policy='omit' to skip them")
    ok = flat[~nan]
    if np.any((ok < 0) | (ok > 1)):
        raise ValueError("p: p-values must lie in [0, 1]")
    out = np.full(flat.shape, np.nan)
    out[~nan] = ok if method == "none" else _adjust(ok, method)
    return out.reshape(arr.shape)


def _adjust(p: np.ndarray, method: str) -> np.ndarray:
    m = p.size
    if m == 0:
        return p
    if method == "bonferroni":
        return np.minimum(1.0, p * m)
    order = np.argsort(p, kind="stable")
    ps = p[order]
    rank = np.arange(1, m + 1)
    if method == "holm":
        adj = np.maximum.accumulate(np.minimum(1.0, (m - rank + 1) * ps))
    elif method == "hochberg":
        adj = np.minimum.accumulate(((m - rank + 1) * ps)[::-1])[::-1]
        adj = np.minimum(1.0, adj)
    else:
        c = 1.0 if method == "fdr_bh" else float(np.sum(1.0 / rank))
        adj = np.minimum.accumulate((ps * m * c / rank)[::-1])[::-1]
        adj = np.minimum(1.0, adj)
    out = np.empty(m)
    out[order] = adj
    return out
