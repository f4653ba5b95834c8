"""Frozen result types returned by every function in :mod:`studykit.stats` and by the studies.

Every result is a frozen dataclass deriving from :class:`Result`, which gives

- ``as_dict()``: the fields as plain Python values (nested results flattened
  to ``<field>_<key>``, arrays to lists);
- ``as_record(prefix)``: the scalar fields as ``{"<prefix>.<field>": value}``
  with NaN and infinities mapped to ``None``, so that it can always be passed
  to :meth:`studykit.contract.outputs.Outputs.record_result` (the reason for a NaN is in
  the result's ``note``, which is recorded too);
- ``summary()``: a one-row DataFrame of the scalar fields;
- ``_repr_html_()``: that row as HTML, for JupyterLab.

A NaN in a result is only ever returned together with the reason in ``note``.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Result", "EffectSize", "TestResult", "BootstrapResult", "LogitTestResult", "Retrodesign"]


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.item() if value.ndim == 0 else value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Result):
        return value.as_dict()
    return value


def _finite_or_none(value: Any) -> Any:
    """``None`` for NaN and infinities, the value otherwise."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, (bool, int, float, str))


class Result:
    """Base of every frozen result type: plain-dict, record, summary and HTML views.

    Subclasses are frozen dataclasses. A field holding another :class:`Result`
    is flattened to ``<field>_<key>`` keys; fields holding lists or arrays
    with more than one element (vectorised results) appear in ``as_dict()``
    but not in ``as_record()`` or ``summary()``: use the result's own
    ``to_frame()`` and ``Outputs.save_table`` for those.

    The model-fallback channel (:mod:`studykit.runs.runsummary` lists both keys at the end of a run):
    a subclass that sets ``_record_not_estimable = True`` also records
    ``<prefix>.not_estimable`` = its note when the note starts with "not
    estimable"; a subclass whose :meth:`fallback` returns a text (the model used
    instead of the planned one, and why) records it as ``<prefix>.fallback``.
    """

    _record_not_estimable = False

    def fallback(self) -> str | None:
        """What was used instead of the planned model, and why; None when the planned model was used."""
        return None

    def as_dict(self) -> dict[str, Any]:
        """Plain dict of the fields (floats, ints, str, bool, None, lists); nested results flattened."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if isinstance(value, Result):
                for k, v in value.as_dict().items():
                    out[f"{f.name}_{k}"] = v
            elif value is None and f.name in getattr(self, "_nested", ()):
                continue
            else:
                out[f.name] = _plain(value)
        return out

    def _scalars(self) -> dict[str, Any]:
        return {k: v for k, v in self.as_dict().items() if _scalar(v)}

    def as_record(self, prefix: str = "") -> dict[str, Any]:
        """``{"<prefix>.<field>": value}`` for every scalar field, NaN and infinities as ``None``.

        Always accepted by :meth:`studykit.contract.outputs.Outputs.record`; a ``None``
        value means "not defined", and the result's ``note`` (recorded with it)
        says why.
        """
        sep = "." if prefix else ""
        rec = {f"{prefix}{sep}{k}": _finite_or_none(v) for k, v in self._scalars().items()}
        note = getattr(self, "note", "")
        if self._record_not_estimable and isinstance(note, str) and note.startswith("not estimable"):
            rec[f"{prefix}{sep}not_estimable"] = note
        if used_instead := self.fallback():
            rec[f"{prefix}{sep}fallback"] = used_instead
        return rec

    def summary(self):
        """The scalar fields as a one-row :class:`pandas.DataFrame`."""
        import pandas as pd

        return pd.DataFrame([self._scalars()])

    def _repr_html_(self) -> str:
        return (f"<p><b>{type(self).__name__}</b></p>"
                + self.summary().to_html(index=False, border=0, float_format=lambda x: f"{x:.4g}"))


@dataclass(frozen=True)
class EffectSize(Result):
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


    def contains(self, value: float) -> bool:
        """True if ``ci_low <= value <= ci_high`` (False when the CI is NaN)."""
        return bool(self.ci_low <= value <= self.ci_high)


@dataclass(frozen=True)
class TestResult(Result):
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

    _nested = ("effect",)

    # The effect size's estimate and CI, so that a correlation (a TestResult whose
    # effect is r with its CI) reads like every other effect size.
    @property
    def estimate(self) -> float:
        """``effect.estimate`` (NaN when the test has no effect size)."""
        return self.effect.estimate if self.effect is not None else math.nan

    @property
    def ci_low(self) -> float:
        """``effect.ci_low`` (NaN when the test has no effect size)."""
        return self.effect.ci_low if self.effect is not None else math.nan

    @property
    def ci_high(self) -> float:
        """``effect.ci_high`` (NaN when the test has no effect size)."""
        return self.effect.ci_high if self.effect is not None else math.nan


@dataclass(frozen=True)
class BootstrapResult(Result):
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



@dataclass(frozen=True)
class LogitTestResult(Result):
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


    def to_frame(self):
        """The array fields as a pandas DataFrame (1-D results only)."""
        import pandas as pd

        cols = ["log_odds_ratio", "se", "z", "p_value", "diff", "p_a", "p_b", "valid"]
        return pd.DataFrame({c: np.atleast_1d(getattr(self, c)) for c in cols})


@dataclass(frozen=True)
class Retrodesign(Result):
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

