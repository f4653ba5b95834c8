"""Small numerical helpers for confidence intervals (private)."""
from __future__ import annotations

import math

import numpy as np
from scipy import optimize, stats


def z_crit(confidence: float) -> float:
    """Two-sided normal critical value ``Phi^{-1}(1 - (1 - confidence) / 2)``."""
    return float(stats.norm.ppf(0.5 + confidence / 2))


def _solve_decreasing(f, target: float, guess: float, step: float) -> float:
    """Root of ``f(x) = target`` for ``f`` decreasing in ``x``, bracketing outward from ``guess``."""
    lo, hi = guess - step, guess + step
    for _ in range(60):
        if f(lo) >= target:
            break
        lo -= step
        step *= 2
    step2 = step
    for _ in range(60):
        if f(hi) <= target:
            break
        hi += step2
        step2 *= 2
    return float(optimize.brentq(lambda v: f(v) - target, lo, hi, xtol=1e-12, rtol=1e-12, maxiter=500))


def nct_ci(t_obs: float, df: float, confidence: float) -> tuple[float, float]:
    r"""CI for the noncentrality parameter of a noncentral t by test inversion.

    Finds ``ncp_lo``, ``ncp_hi`` with ``F(t_obs; df, ncp_lo) = 1 - a/2`` and
    ``F(t_obs; df, ncp_hi) = a/2`` (Steiger & Fouladi 1997).

    The inversion is exact; for extreme ``|t|`` where scipy's noncentral t
    cdf loses accuracy (NaN or a non-monotone bracket), it falls back to the
    large-sample interval :math:`t \pm z\sqrt{1 + t^2/(2\,df)}` (Hedges & Olkin
    1985, eq. 5.14) and returns ``exact=False``.

    Returns
    -------
    (lo, hi, exact)
    """
    a = 1 - confidence

    def cdf(ncp):
        v = float(stats.nct.cdf(t_obs, df, ncp))
        if not math.isfinite(v):
            raise ArithmeticError("noncentral t cdf is not finite")
        return v

    step = 1.0 + math.sqrt(1 + t_obs * t_obs / (2 * df))
    try:
        with np.errstate(all="ignore"):
            lo = _solve_decreasing(cdf, 1 - a / 2, t_obs, step)
            hi = _solve_decreasing(cdf, a / 2, t_obs, step)
        if lo <= t_obs <= hi or (lo <= hi and abs(lo - t_obs) < 10 * step):
            return lo, hi, True
    except (ArithmeticError, ValueError, RuntimeError):
        pass
    half = z_crit(confidence) * math.sqrt(1 + t_obs * t_obs / (2 * df))
    return float(t_obs - half), float(t_obs + half), False


def ncx2_ci(chi2_obs: float, df: float, confidence: float) -> tuple[float, float]:
    """CI for the noncentrality ``lambda`` of a noncentral chi-square by test inversion.

    Bounds are truncated at 0 where even ``lambda = 0`` is inside the interval.
    """
    a = 1 - confidence

    def cdf(nc):
        if nc <= 0:
            return float(stats.chi2.cdf(chi2_obs, df))
        return float(stats.ncx2.cdf(chi2_obs, df, nc))

    c0 = cdf(0.0)
    step = max(1.0, math.sqrt(chi2_obs + 1.0))
    guess = max(chi2_obs - df, 0.0)
    lo = 0.0 if c0 < 1 - a / 2 else _solve_decreasing(cdf, 1 - a / 2, guess, step)
    hi = 0.0 if c0 < a / 2 else _solve_decreasing(cdf, a / 2, guess, step)
    return max(lo, 0.0), max(hi, 0.0)


def wilson(x: int, n: int, confidence: float) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (Wilson 1927)."""
    z = z_crit(confidence)
    p = x / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def clip(v: float, lo: float, hi: float) -> float:
    return float(np.clip(v, lo, hi))
