"""Frozen result types returned by every function in :mod:`studykit.stats`.

All results are frozen dataclasses with an ``as_dict()`` method whose values
are plain Python scalars (or lists for the vectorised results), ready for
``Outputs.record`` or a table row.  A NaN in a result is only ever returned
together with the reason in ``note``.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["EffectSize", "TestResult", "BootstrapResult", "LogitTestResult", "Retrodesign"]


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if dataclasses.is_dataclass(value) and hasattr(value, "as_dict"):
        return value.as_dict()
    return value


@dataclass(frozen=True)
class EffectSize:
    """An effect size with its confidence interval.

    Attributes
    ----------
    estimate, ci_low, ci_high : float
        Point estimate and the two-sided ``confidence`` interval.
    method : str
        The estimator and the interval method, e.g. ``"Cohen's d (noncentral t CI)"``.
    confidence : float
        Confidence level of the interval.
    n : int or None
        Number of observations (or pairs, or subjects) used.
    note : str
        Why an interval end or the estimate is NaN or degenerate, if it is.
    """

    estimate: float
    ci_low: float
    ci_high: float
    method: str
    confidence: float = 0.95
    n: int | None = None
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        """Plain dict of the fields (floats, str, int)."""
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}

    def contains(self, value: float) -> bool:
        """True if ``ci_low <= value <= ci_high`` (False when the CI is NaN)."""
        return bool(self.ci_low <= value <= self.ci_high)


@dataclass(frozen=True)
class TestResult:
    """A hypothesis test: statistic, p-value and (where one belongs) an effect size.

    Attributes
    ----------
    statistic : float
    p_value : float
    alternative : str
        ``"two-sided"``, ``"greater"`` or ``"less"``.
    method : str
    df : float or None
        Degrees of freedom where the reference distribution has them.
    effect : EffectSize or None
    note : str
    """

    __test__ = False  # not a pytest test class

    statistic: float
    p_value: float
    alternative: str
    method: str
    df: float | None = None
    effect: EffectSize | None = None
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        """Plain dict; the effect is flattened to ``effect_*`` keys."""
        d = {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self) if f.name != "effect"}
        if self.effect is not None:
            for k, v in self.effect.as_dict().items():
                d[f"effect_{k}"] = v
        return d


@dataclass(frozen=True)
class BootstrapResult:
    """A bootstrap confidence interval.

    Attributes
    ----------
    estimate : float
        The statistic on the original data.
    ci_low, ci_high : float
    se : float
        Standard deviation of the bootstrap distribution (ddof=1).
    method : str
        ``"bca"`` or ``"percentile"`` (with ``", paired"`` when paired).
    confidence : float
    n_resamples : int
    note : str
    """

    estimate: float
    ci_low: float
    ci_high: float
    se: float
    method: str
    confidence: float
    n_resamples: int
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        """Plain dict of the fields."""
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}


@dataclass(frozen=True)
class LogitTestResult:
    """Vectorised two-group binomial-GLM (logit link) Wald tests.

    Every field is an array with the broadcast shape of the inputs (0-d
    inputs give 0-d arrays; use ``float(res.p_value)``).

    Attributes
    ----------
    log_odds_ratio : ndarray
        ``logit(p_a) - logit(p_b)``, the GLM coefficient of the group-a indicator.
    se : ndarray
        ``sqrt(1/x_a + 1/(n_a-x_a) + 1/x_b + 1/(n_b-x_b))``.
    z : ndarray
    p_value : ndarray
    diff : ndarray
        ``p_a - p_b`` (defined everywhere).
    p_a, p_b : ndarray
    valid : ndarray of bool
        False where a proportion is 0 or 1 (the MLE does not exist); there
        ``log_odds_ratio``, ``se``, ``z`` and ``p_value`` are NaN.
    alternative : str
    note : str
    """

    log_odds_ratio: np.ndarray
    se: np.ndarray
    z: np.ndarray
    p_value: np.ndarray
    diff: np.ndarray
    p_a: np.ndarray
    p_b: np.ndarray
    valid: np.ndarray
    alternative: str = "two-sided"
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        """Plain dict (arrays become lists, 0-d arrays scalars)."""
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}

    def to_frame(self):
        """The array fields as a pandas DataFrame (1-D results only)."""
        import pandas as pd

        cols = ["log_odds_ratio", "se", "z", "p_value", "diff", "p_a", "p_b", "valid"]
        return pd.DataFrame({c: np.atleast_1d(getattr(self, c)) for c in cols})


@dataclass(frozen=True)
class Retrodesign:
    """Design analysis of Gelman & Carlin (2014).

    Attributes
    ----------
    power : float
        Probability that the estimate is significant given the true effect.
    type_s : float
        Probability that a significant estimate has the wrong sign.
    exaggeration : float
        Expected ``|estimate| / |true_effect|`` among significant estimates (Type M).
    sim_power, sim_type_s, sim_exaggeration : float
        The same from ``n_sims`` simulated estimates (NaN when ``n_sims=0``).
    """

    power: float
    type_s: float
    exaggeration: float
    sim_power: float = math.nan
    sim_type_s: float = math.nan
    sim_exaggeration: float = math.nan

    def as_dict(self) -> dict[str, Any]:
        """Plain dict of the fields."""
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}
