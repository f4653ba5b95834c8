"""Reliability of a multi-item scale: Cronbach's alpha with the Feldt interval."""
from __future__ import annotations

import numpy as np
from scipy import stats

from studykit.stats import _validate as _v
from studykit.stats.results import EffectSize

__all__ = ["cronbach_alpha"]

_METHOD = "Cronbach's alpha, Feldt F CI"


def cronbach_alpha(items, *, confidence: float = 0.95) -> EffectSize:
    r"""Cronbach's alpha of ``k`` items answered by ``n`` respondents, with the Feldt (1965) CI.

    .. math::

        \alpha = \frac{k}{k-1}\left(1 - \frac{\sum_{i=1}^k s_i^2}{s_T^2}\right)

    with :math:`s_i^2` the variance of item :math:`i` and :math:`s_T^2` the variance of
    the item sum (both with ``ddof=1``). Rows with any missing answer (NaN) are left out
    (listwise deletion). The interval uses
    :math:`(1-\hat\alpha)/(1-\alpha) \sim F(n-1, (n-1)(k-1))`:

    .. math::

        \left[\,1 - (1-\hat\alpha)\,F_{1-\gamma/2},\; 1 - (1-\hat\alpha)\,F_{\gamma/2}\,\right],
        \qquad \gamma = 1 - \text{confidence}.

    References: Cronbach (1951), Psychometrika 16:297-334; Feldt (1965), Psychometrika
    30:357-370. Equal to ``pingouin.cronbach_alpha(data, nan_policy="listwise")``
    (pingouin rounds its CI to 3 decimals).

    Parameters
    ----------
    items : array_like, shape (n, k)
        Rows = respondents, columns = items (reverse-keyed items already reversed).
        NaN marks an unanswered item; infinite values are refused.
    confidence : float
        Level of the two-sided interval.

    Returns
    -------
    EffectSize
        ``estimate`` is alpha, ``n`` the complete rows used. With fewer than 2 complete
        rows or 2 items, or an item sum without variance, alpha and its CI are NaN and
        ``note`` says why.

    Examples
    --------
    >>> res = cronbach_alpha([[1, 2, 2], [2, 3, 3], [3, 3, 4], [4, 5, 4], [5, 4, 5]])
    >>> round(res.estimate, 4), round(res.ci_low, 3), round(res.ci_high, 3)
    (0.9333, 0.663, 0.993)
    """
    confidence = _v.confidence(confidence)
    try:
        x = np.asarray(items, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"items: values must be numeric ({exc})") from None
    if x.ndim != 2:
        raise ValueError(f"items: expected a 2-D array (rows = respondents, columns = items), got shape {x.shape}")
    if np.isinf(x).any():
        raise ValueError(f"items: contains {int(np.isinf(x).sum())} infinite value(s)")
    x = x[~np.isnan(x).any(axis=1)]  # listwise deletion of incomplete rows
    n, k = x.shape
    if n < 2 or k < 2:
        return EffectSize(np.nan, np.nan, np.nan, _METHOD, confidence, n,
                          f"need at least 2 complete rows and 2 items (got {n} and {k})")
    total_var = x.sum(axis=1).var(ddof=1)
    if total_var == 0:
        return EffectSize(np.nan, np.nan, np.nan, _METHOD, confidence, n, "item sum has zero variance")
    a = k / (k - 1) * (1 - x.var(axis=0, ddof=1).sum() / total_var)
    df1, df2 = n - 1, (n - 1) * (k - 1)
    lo = 1 - (1 - a) * stats.f.isf((1 - confidence) / 2, df1, df2)
    hi = 1 - (1 - a) * stats.f.isf((1 + confidence) / 2, df1, df2)
    return EffectSize(float(a), float(lo), float(hi), _METHOD, confidence, n)
