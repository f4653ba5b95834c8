"""Input checks shared by the stats modules: one ValueError naming the problem."""
from __future__ import annotations

import numpy as np

ALTERNATIVES = ("two-sided", "greater", "less")


def vector(x, name: str = "x", *, min_n: int = 1) -> np.ndarray:
    """1-D float array without NaN/inf and with at least ``min_n`` values."""
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: values must be numeric ({exc})") from None
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D array, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name}: empty input")
    n_nan = int(np.isnan(arr).sum())
    if n_nan:
        raise ValueError(f"{name}: contains {n_nan} NaN value(s)")
    n_inf = int(np.isinf(arr).sum())
    if n_inf:
        raise ValueError(f"{name}: contains {n_inf} infinite value(s)")
    if arr.size < min_n:
        raise ValueError(f"{name}: needs at least {min_n} observations, got {arr.size}")
    return arr


def same_length(x: np.ndarray, y: np.ndarray, names: str = "x and y") -> None:
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"{names}: mismatched lengths {x.shape[0]} and {y.shape[0]}")


def nonconstant(x: np.ndarray, name: str) -> None:
    if np.ptp(x) == 0:
        raise ValueError(f"{name}: zero variance (all values equal {x[0]:g})")


def confidence(level: float) -> float:
    level = float(level)
    if not 0 < level < 1:
        raise ValueError(f"confidence: must be in (0, 1), got {level}")
    return level


def alpha(a: float) -> float:
    a = float(a)
    if not 0 < a < 1:
        raise ValueError(f"alpha: must be in (0, 1), got {a}")
    return a


def alternative(alt: str) -> str:
    if alt not in ALTERNATIVES:
        raise ValueError(f"alternative: must be one of {ALTERNATIVES}, got {alt!r}")
    return alt


def counts(x, n, name: str) -> tuple[int, int]:
    """Success count and trials as ints with 0 <= x <= n, n > 0."""
    for v, label in ((x, f"{name} successes"), (n, f"{name} trials")):
        fv = float(v)
        if not np.isfinite(fv):
            raise ValueError(f"{label}: must be finite, got {v}")
        if fv != int(fv) or fv < 0:
            raise ValueError(f"{label}: must be a non-negative integer, got {v}")
    xi, ni = int(x), int(n)
    if ni == 0:
        raise ValueError(f"{name} trials: must be positive, got 0")
    if xi > ni:
        raise ValueError(f"{name}: successes {xi} exceed trials {ni}")
    return xi, ni


def table(t, name: str = "table", *, shape2x2: bool = False) -> np.ndarray:
    """Contingency table of non-negative finite counts, at least 2x2, no empty row/column."""
    try:
        arr = np.asarray(t, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: values must be numeric ({exc})") from None
    if arr.size == 0:
        raise ValueError(f"{name}: empty table")
    if arr.ndim != 2:
        raise ValueError(f"{name}: expected a 2-D table, got shape {arr.shape}")
    if shape2x2 and arr.shape != (2, 2):
        raise ValueError(f"{name}: expected a 2x2 table, got shape {arr.shape}")
    if arr.shape[0] < 2 or arr.shape[1] < 2:
        raise ValueError(f"{name}: needs at least 2 rows and 2 columns (one group), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: contains NaN or infinite counts")
    if np.any(arr < 0):
        raise ValueError(f"{name}: contains negative counts")
    if arr.sum() == 0:
        raise ValueError(f"{name}: all counts are zero")
    return arr


def matrix(m, name: str = "ratings", *, min_rows: int = 2, min_cols: int = 2) -> np.ndarray:
    try:
        arr = np.asarray(m, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: values must be numeric ({exc})") from None
    if arr.ndim != 2:
        raise ValueError(f"{name}: expected a 2-D array, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name}: empty input")
    if np.isnan(arr).any():
        raise ValueError(f"{name}: contains {int(np.isnan(arr).sum())} NaN value(s)")
    if np.isinf(arr).any():
        raise ValueError(f"{name}: contains infinite values")
    if arr.shape[0] < min_rows:
        raise ValueError(f"{name}: needs at least {min_rows} rows, got {arr.shape[0]}")
    if arr.shape[1] < min_cols:
        raise ValueError(f"{name}: needs at least {min_cols} columns, got {arr.shape[1]}")
    return arr
