"""Classifying a study's conclusion against a reference (Type I / II / S errors, exaggeration).

Vectorised over arrays: the annotation-robustness study calls these on
millions of (estimate, p) pairs at once.
"""
from __future__ import annotations

import numpy as np

from studykit.stats import _validate as _v

__all__ = ["classify_conclusion", "exaggeration_ratio", "conclusion_label", "CONCLUSIONS"]

CONCLUSIONS = ("correct", "type_I", "type_II", "type_S", "undefined")


def _arrays(*arrays, names):
    arrs = [np.asarray(a, dtype=float) for a in arrays]
    for a, name in zip(arrs, names):
        if a.size == 0:
            raise ValueError(f"{name}: empty input")
    try:
        return np.broadcast_arrays(*arrs)
    except ValueError:
        raise ValueError(f"{', '.join(names)}: shapes cannot be broadcast together") from None


def classify_conclusion(estimate, p, reference_estimate, reference_p, alpha: float = 0.05) -> np.ndarray:
    r"""Classify each (estimate, p) against a reference (estimate, p) at level alpha.

    With :math:`s = p < \alpha` and :math:`s_{ref} = p_{ref} < \alpha`:

    ============================  ==============
    condition                     label
    ============================  ==============
    not s, not s_ref              ``correct``
    s, s_ref, same sign           ``correct``
    s, not s_ref                  ``type_I``
    not s, s_ref                  ``type_II``
    s, s_ref, opposite signs      ``type_S``
    any input NaN                 ``undefined``
    ============================  ==============

    A significant estimate of exactly 0 has no sign and is counted as the
    reference's sign (``correct``).  Type S follows Gelman & Tuerlinckx (2000);
    the reference plays the role of the truth (e.g. the full-data or
    expert-label result).

    Parameters
    ----------
    estimate, p, reference_estimate, reference_p : array_like
        Broadcast together.
    alpha : float

    Returns
    -------
    ndarray of str
        One of :data:`CONCLUSIONS` per element (0-d array for scalar input).

    References
    ----------
    Gelman, A., & Tuerlinckx, F. (2000). Type S error rates for classical and Bayesian single and
    multiple comparison procedures. *Computational Statistics* 15, 373-390.

    Examples
    --------
    >>> classify_conclusion([0.3, -0.3, 0.1], [0.01, 0.01, 0.5], 0.2, 0.001).tolist()
    ['correct', 'type_S', 'type_II']
    """
    alpha = _v.alpha(alpha)
    est, pv, ref, rp = _arrays(estimate, p, reference_estimate, reference_p,
                               names=("estimate", "p", "reference_estimate", "reference_p"))
    undefined = np.isnan(est) | np.isnan(pv) | np.isnan(ref) | np.isnan(rp)
    sig, rsig = pv < alpha, rp < alpha
    opposite = np.sign(est) * np.sign(ref) < 0
    return np.select(
        [undefined, sig & ~rsig, ~sig & rsig, sig & rsig & opposite],
        ["undefined", "type_I", "type_II", "type_S"],
        default="correct",
    )


def exaggeration_ratio(estimate, reference_estimate) -> np.ndarray:
    r"""Type M (magnitude) ratio :math:`|\hat\theta| / |\theta_{ref}|`, element-wise.

    Apply it to the pairs where both are significant with the same sign (Gelman
    & Carlin 2014); a reference of exactly 0 gives ``inf`` (``nan`` if the
    estimate is 0 too), without warnings.

    Parameters
    ----------
    estimate, reference_estimate : array_like

    Returns
    -------
    ndarray (0-d for scalar input)

    Examples
    --------
    >>> exaggeration_ratio([0.4, -0.1], [0.2, -0.2]).tolist()
    [2.0, 0.5]
    """
    est, ref = _arrays(estimate, reference_estimate, names=("estimate", "reference_estimate"))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.abs(est) / np.abs(ref)


def conclusion_label(estimate, p, alpha: float = 0.05, labels=("a_larger", "b_larger", "none")) -> np.ndarray:
    r"""Label each result: ``labels[0]`` if significant and estimate > 0, ``labels[1]`` if
    significant and estimate < 0, else ``labels[2]`` (NaN p or estimate also gives ``labels[2]``).

    Parameters
    ----------
    estimate, p : array_like
    alpha : float
    labels : tuple of 3 str

    Returns
    -------
    ndarray of str

    References
    ----------
    Gelman, A., & Tuerlinckx, F. (2000): the sign of a significant estimate is the conclusion drawn.

    Examples
    --------
    >>> conclusion_label([0.2, -0.2, 0.2], [0.01, 0.01, 0.2]).tolist()
    ['a_larger', 'b_larger', 'none']
    """
    alpha = _v.alpha(alpha)
    if len(labels) != 3:
        raise ValueError(f"labels: expected 3 labels, got {len(labels)}")
    est, pv = _arrays(estimate, p, names=("estimate", "p"))
    sig = pv < alpha
    return np.select([sig & (est > 0), sig & (est < 0)], [labels[0], labels[1]], default=labels[2])
