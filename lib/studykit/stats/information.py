"""Information-theoretic divergences between discrete distributions, vectorised over rows."""
from __future__ import annotations

import math

import numpy as np
from scipy import special

__all__ = ["jensen_shannon", "kl_divergence", "mutual_information", "entropy"]


def _distributions(p, q, axis: int, names=("p", "q")):
    pa = np.asarray(p, dtype=float)
    qa = np.asarray(q, dtype=float)
    for arr, name in ((pa, names[0]), (qa, names[1])):
        if arr.size == 0:
            raise ValueError(f"{name}: empty input")
        if np.isnan(arr).any():
            raise ValueError(f"{name}: contains NaN")
        if np.isinf(arr).any():
            raise ValueError(f"{name}: contains infinite values")
        if (arr < 0).any():
            raise ValueError(f"{name}: contains negative values")
    try:
        pa, qa = np.broadcast_arrays(pa, qa)
    except ValueError:
        raise ValueError(f"p and q: mismatched shapes {pa.shape} and {qa.shape}") from None
    for arr, name in ((pa, names[0]), (qa, names[1])):
        if (arr.sum(axis=axis) == 0).any():
            raise ValueError(f"{name}: a distribution sums to zero")
    pa = pa / pa.sum(axis=axis, keepdims=True)
    qa = qa / qa.sum(axis=axis, keepdims=True)
    return pa, qa


def _log_base(base) -> float:
    if base is None:
        return 1.0
    b = float(base)
    if b <= 0 or b == 1:
        raise ValueError(f"base: must be positive and not 1, got {base}")
    return math.log(b)


def _scalar(v):
    return float(v) if np.ndim(v) == 0 else v


def kl_divergence(p, q, *, axis: int = -1, base: float = 2, eps: float | None = None):
    r"""Kullback-Leibler divergence :math:`D(p\|q) = \sum_i p_i \log(p_i/q_i)`.

    Inputs are normalised to sum to 1 along ``axis`` (counts are fine).  Terms
    with :math:`p_i = 0` contribute 0; where :math:`q_i = 0 < p_i` the divergence
    is ``inf`` (mathematically correct).  ``eps`` adds that pseudo-count to
    every cell of both distributions before normalising (additive smoothing),
    which makes it finite.

    Parameters
    ----------
    p, q : array_like
        Non-negative weights; broadcast against each other.
    axis : int
        Axis holding the categories; the others are vectorised over.
    base : float
        Logarithm base (2: bits; ``math.e``: nats).
    eps : float or None
        Additive smoothing pseudo-count.

    Returns
    -------
    float or ndarray

    References
    ----------
    Kullback, S., & Leibler, R. A. (1951). On information and sufficiency. *Ann. Math. Stat.* 22(1).
    Equals :func:`scipy.stats.entropy(p, q, base=base)`.

    Examples
    --------
    >>> kl_divergence([0.5, 0.5], [0.25, 0.75])
    0.2075187496394219
    """
    lb = _log_base(base)
    if eps is not None:
        if not eps > 0:
            raise ValueError(f"eps: must be positive, got {eps}")
        p = np.asarray(p, dtype=float) + eps
        q = np.asarray(q, dtype=float) + eps
    pa, qa = _distributions(p, q, axis)
    out = special.rel_entr(pa, qa).sum(axis=axis) / lb
    return _scalar(np.maximum(out, 0.0))   # Gibbs: >= 0 (rounding can give -1e-63)


def jensen_shannon(p, q, *, axis: int = -1, base: float = 2):
    r"""Jensen-Shannon divergence :math:`\tfrac12 D(p\|m) + \tfrac12 D(q\|m)`, :math:`m = (p+q)/2`.

    Symmetric, finite and bounded by :math:`\log_{base} 2` (1 bit).  This is the
    divergence; :func:`scipy.spatial.distance.jensenshannon` returns its square
    root (the JS distance).  Vectorised over all axes but ``axis``.

    Parameters
    ----------
    p, q : array_like
        Non-negative weights, normalised along ``axis``.
    axis : int
    base : float

    Returns
    -------
    float or ndarray

    References
    ----------
    Lin, J. (1991). Divergence measures based on the Shannon entropy. *IEEE Trans. Inf. Theory* 37(1).

    Examples
    --------
    >>> jensen_shannon([1, 0], [0, 1])
    1.0
    """
    lb = _log_base(base)
    pa, qa = _distributions(p, q, axis)
    # D(p||m) = sum p log(2p/(p+q)) = log 2 + sum p log(p/(p+q)): p + q cannot underflow where
    # (p + q)/2 can (subnormal inputs), so this form stays finite
    tot = pa + qa
    nats = math.log(2) + 0.5 * (special.rel_entr(pa, tot).sum(axis=axis) + special.rel_entr(qa, tot).sum(axis=axis))
    return _scalar(np.clip(nats, 0.0, math.log(2)) / lb)


def entropy(p, *, axis: int = -1, base: float = 2):
    r"""Shannon entropy :math:`H(p) = -\sum_i p_i \log p_i` of normalised weights.

    Parameters
    ----------
    p : array_like
        Non-negative weights, normalised along ``axis``.
    axis : int
    base : float

    Returns
    -------
    float or ndarray

    References
    ----------
    Shannon, C. E. (1948). A mathematical theory of communication. *Bell Syst. Tech. J.* 27.
    Equals :func:`scipy.stats.entropy(p, base=base)`.

    Examples
    --------
    >>> entropy([0.5, 0.5])
    1.0
    """
    lb = _log_base(base)
    pa, _ = _distributions(p, p, axis)
    return _scalar(special.entr(pa).sum(axis=axis) / lb)


def mutual_information(x, y, *, base: float = 2) -> float:
    r"""Plug-in mutual information of two discrete label sequences.

    :math:`I(X;Y) = \sum_{x,y} \hat p(x,y)\log\frac{\hat p(x,y)}{\hat p(x)\hat p(y)}`
    from the joint contingency table of the labels (any hashable values).
    The plug-in estimate is biased upward by about :math:`(|X|-1)(|Y|-1)/(2n)`
    nats (Miller 1955).

    Parameters
    ----------
    x, y : array_like
        Labels of equal length; NaN / None labels are rejected.
    base : float

    Returns
    -------
    float

    References
    ----------
    Cover, T. M., & Thomas, J. A. (2006). *Elements of Information Theory*, eq. 2.28.
    Equals :func:`sklearn.metrics.mutual_info_score` (nats) divided by ``log(base)``.

    Examples
    --------
    >>> mutual_information(["a", "a", "b", "b"], [1, 1, 2, 2])
    1.0
    """
    import pandas as pd

    lb = _log_base(base)
    xs, ys = pd.Series(list(np.asarray(x, dtype=object).ravel())), pd.Series(list(np.asarray(y, dtype=object).ravel()))
    if xs.size == 0 or ys.size == 0:
        raise ValueError("x and y: empty input")
    if xs.size != ys.size:
        raise ValueError(f"x and y: mismatched lengths {xs.size} and {ys.size}")
    for s, name in ((xs, "x"), (ys, "y")):
        if s.isna().any():
            raise ValueError(f"{name}: contains {int(s.isna().sum())} missing label(s)")
    cx, _ = pd.factorize(xs, sort=True)
    cy, _ = pd.factorize(ys, sort=True)
    joint = np.zeros((cx.max() + 1, cy.max() + 1))
    np.add.at(joint, (cx, cy), 1.0)
    pxy = joint / joint.sum()
    px, py = pxy.sum(1, keepdims=True), pxy.sum(0, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(pxy > 0, pxy * np.log(pxy / (px * py)), 0.0)
    return float(max(terms.sum(), 0.0) / lb)
