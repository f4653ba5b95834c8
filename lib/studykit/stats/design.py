"""Design analysis: retrospective power, Type S and Type M errors, power and sample size, MDE."""
from __future__ import annotations

import math

import numpy as np
from scipy import optimize, stats

from studykit.stats import _validate as _v
from studykit.stats.results import Retrodesign

__all__ = ["retrodesign", "power_two_proportions", "power_two_means", "minimum_detectable_effect"]


def _positive(v, name):
    v = float(v)
    if not (math.isfinite(v) and v > 0):
        raise ValueError(f"{name}: must be a positive finite number, got {v}")
    return v


def retrodesign(true_effect: float, se: float, *, alpha: float = 0.05, df: float = math.inf,
                n_sims: int = 0, seed: int = 0) -> Retrodesign:
    r"""Power, Type S rate and exaggeration ratio of an unbiased estimate (Gelman & Carlin 2014).

    The estimate is :math:`\hat\theta = D + s\,T` with :math:`T \sim t_{df}`
    (normal for ``df=inf``); it is significant when :math:`|\hat\theta| > s\,z`,
    :math:`z = F^{-1}(1-\alpha/2)`.  With :math:`\lambda = D/s`:

    - power :math:`= [1 - F(z - \lambda)] + F(-z - \lambda)`;
    - Type S :math:`= F(-z-\lambda)/\text{power}` for :math:`D > 0` (mirrored for :math:`D<0`);
    - exaggeration :math:`= E[|\hat\theta| \mid \text{significant}]/|D|`, in closed form from
      :math:`E[T; T > a] = \tfrac{df + a^2}{df - 1} f_{df}(a)` (normal: :math:`\varphi(a)`):
      :math:`E[|\hat\theta|;\,sig] = D(1-F(z-\lambda)) + s\,g(z-\lambda) - D F(-z-\lambda) + s\,g(z+\lambda)`.

    ``n_sims > 0`` also draws that many estimates (seeded) and reports the
    simulated values, the check used in Gelman & Carlin's R function.
    Worked example (Gelman & Carlin 2014, sec. 2.3, beauty and sex ratio):
    ``retrodesign(2, 8.1)`` gives power 0.057 (paper: 0.06), Type S 0.24 and exaggeration 9.5.

    Parameters
    ----------
    true_effect : float
        Hypothesised true effect D (non-zero).
    se : float
        Standard error s of the estimate.
    alpha : float
    df : float
        Degrees of freedom of the t reference (``inf``: normal); must exceed 1.
    n_sims : int
    seed : int

    Returns
    -------
    Retrodesign

    References
    ----------
    Gelman, A., & Carlin, J. (2014). Beyond power calculations: assessing Type S (sign) and Type M
    (magnitude) errors. *Perspectives on Psychological Science* 9(6), 641-651.

    Examples
    --------
    >>> r = retrodesign(2, 8.1)
    >>> round(r.power, 3), round(r.type_s, 2), round(r.exaggeration, 1)
    (0.057, 0.24, 9.5)
    """
    alpha = _v.alpha(alpha)
    d = float(true_effect)
    if not math.isfinite(d) or d == 0:
        raise ValueError(f"true_effect: must be finite and non-zero, got {true_effect}")
    s = _positive(se, "se")
    df = float(df)
    if not df > 1:
        raise ValueError(f"df: must exceed 1 (the mean of |t| must exist), got {df}")
    dist = stats.norm if math.isinf(df) else stats.t(df)

    def g(a):  # E[T; T > a]
        if math.isinf(df):
            return float(stats.norm.pdf(a))
        return float((df + a * a) / (df - 1) * dist.pdf(a))

    z = float(dist.ppf(1 - alpha / 2))
    lam = abs(d) / s
    p_hi = float(dist.sf(z - lam))
    p_lo = float(dist.cdf(-z - lam))
    power = p_hi + p_lo
    type_s = p_lo / power
    dd = abs(d)
    e_abs = dd * p_hi + s * g(z - lam) - dd * p_lo + s * g(z + lam)
    exaggeration = e_abs / power / dd
    sim = (math.nan, math.nan, math.nan)
    if n_sims:
        n_sims = int(n_sims)
        if n_sims < 0:
            raise ValueError(f"n_sims: must be non-negative, got {n_sims}")
        rng = np.random.default_rng(seed)
        draws = rng.standard_normal(n_sims) if math.isinf(df) else rng.standard_t(df, n_sims)
        est = dd + s * draws
        sig = np.abs(est) > s * z
        if sig.any():
            sim = (float(sig.mean()), float((est[sig] < 0).mean()), float(np.abs(est[sig]).mean() / dd))
        else:
            sim = (0.0, math.nan, math.nan)
    return Retrodesign(power, type_s, exaggeration, *sim)


def _power_normal(effect: float, n: float, alpha: float) -> float:
    z = stats.norm.ppf(1 - alpha / 2)
    nc = abs(effect) * math.sqrt(n / 2)
    return float(stats.norm.sf(z - nc) + stats.norm.cdf(-z - nc))


def power_two_proportions(p1: float, p2: float, n_per_group: float | None = None, *, power: float | None = None,
                          alpha: float = 0.05) -> float:
    r"""Power of a two-sided two-proportion test, or the n per group for a given power.

    Uses Cohen's :math:`h = 2\arcsin\sqrt{p_1} - 2\arcsin\sqrt{p_2}` and the normal
    approximation :math:`1-\beta = \Phi(|h|\sqrt{n/2} - z_{1-\alpha/2}) + \Phi(-|h|\sqrt{n/2} - z_{1-\alpha/2})`
    (Cohen 1988, ch. 6; identical to ``statsmodels NormalIndPower`` with
    ``proportion_effectsize``).  Give exactly one of ``n_per_group`` and ``power``.

    Parameters
    ----------
    p1, p2 : float
        Proportions in (0, 1), different.
    n_per_group : float or None
    power : float or None
    alpha : float

    Returns
    -------
    float
        The power, or the (fractional) n per group; round it up.

    Examples
    --------
    >>> round(power_two_proportions(0.5, 0.6, power=0.8), 1)
    387.2
    """
    alpha = _v.alpha(alpha)
    for v, name in ((p1, "p1"), (p2, "p2")):
        if not 0 < float(v) < 1:
            raise ValueError(f"{name}: must be in (0, 1), got {v}")
    if p1 == p2:
        raise ValueError("p1 and p2: equal proportions have no power to detect")
    h = 2 * math.asin(math.sqrt(p1)) - 2 * math.asin(math.sqrt(p2))
    return _solve(lambda n: _power_normal(h, n, alpha), n_per_group, power, alpha)


def _power_t(d: float, n: float, alpha: float) -> float:
    df = 2 * n - 2
    tc = stats.t.ppf(1 - alpha / 2, df)
    nc = abs(d) * math.sqrt(n / 2)
    return float(stats.nct.sf(tc, df, nc) + stats.nct.cdf(-tc, df, nc))


def _solve(power_fn, n_per_group, power, alpha) -> float:
    if (n_per_group is None) == (power is None):
        raise ValueError("n_per_group and power: give exactly one of them")
    if n_per_group is not None:
        n = float(n_per_group)
        if not n >= 2:
            raise ValueError(f"n_per_group: must be at least 2, got {n_per_group}")
        return power_fn(n)
    pw = float(power)
    if not alpha < pw < 1:
        raise ValueError(f"power: must be in (alpha, 1), got {power}")
    hi = 4.0
    while power_fn(hi) < pw:
        hi *= 2
        if hi > 1e12:
            raise ValueError("effect is too small to reach the requested power")
    return float(optimize.brentq(lambda n: power_fn(n) - pw, 2.0, hi, xtol=1e-10))


def power_two_means(d: float, n_per_group: float | None = None, *, power: float | None = None,
                    alpha: float = 0.05) -> float:
    r"""Power of a two-sided two-sample t test for standardised difference d, or n per group.

    :math:`1-\beta = P(|T'| > t_{1-\alpha/2, 2n-2})`, :math:`T' \sim t'_{2n-2}(d\sqrt{n/2})`
    (noncentral t; Cohen 1988, ch. 2; identical to ``statsmodels TTestIndPower``).

    Parameters
    ----------
    d : float
        Standardised mean difference (non-zero).
    n_per_group : float or None
    power : float or None
    alpha : float

    Returns
    -------
    float

    Examples
    --------
    >>> round(power_two_means(0.5, power=0.8), 2)
    63.77
    """
    alpha = _v.alpha(alpha)
    d = float(d)
    if not math.isfinite(d) or d == 0:
        raise ValueError(f"d: must be finite and non-zero, got {d}")
    return _solve(lambda n: _power_t(d, n, alpha), n_per_group, power, alpha)


def minimum_detectable_effect(se: float | None = None, *, n_per_group: float | None = None,
                              alpha: float = 0.05, power: float = 0.8) -> float:
    r"""Minimum detectable effect at the given power (two-sided test).

    From a standard error (Bloom 1995): :math:`MDE = (z_{1-\alpha/2} + z_{power})\,SE`,
    in the units of the estimate.  From ``n_per_group``: the standardised d at
    which a two-sample t test has that power (solves :func:`power_two_means`; as
    ``statsmodels TTestIndPower.solve_power(effect_size=None)``).

    Parameters
    ----------
    se : float or None
    n_per_group : float or None
    alpha : float
    power : float

    Returns
    -------
    float

    References
    ----------
    Bloom, H. S. (1995). Minimum detectable effects. *Evaluation Review* 19(5), 547-556.

    Examples
    --------
    >>> round(minimum_detectable_effect(0.1), 4)
    0.2802
    """
    alpha = _v.alpha(alpha)
    if not alpha < float(power) < 1:
        raise ValueError(f"power: must be in (alpha, 1), got {power}")
    if (se is None) == (n_per_group is None):
        raise ValueError("se and n_per_group: give exactly one of them")
    if se is not None:
        s = _positive(se, "se")
        return float((stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)) * s)
    n = float(n_per_group)
    if not n >= 2:
        raise ValueError(f"n_per_group: must be at least 2, got {n_per_group}")
    hi = 1.0
    while _power_t(hi, n, alpha) < power:
        hi *= 2
    return float(optimize.brentq(lambda d: _power_t(d, n, alpha) - power, 1e-9, hi, xtol=1e-12))
