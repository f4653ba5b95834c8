"""The one rule for floats in everything studykit calls byte-identical.

The same inputs and parameters give the same bytes on any CPU (SIMD level) and any
number of BLAS/OpenMP threads in these outputs: the embedded data under ``data/<study>/``
with their truth files and ``SHA256SUMS``, every run's ``tables/*.csv`` and
``results.json``, the sweep table (``sweep.csv``, ``sweep.json``), mined line tables and
the workshop templates. Their floats are written by this module, with one rule:

1. **10 significant digits.** Every float is rounded to :data:`SIG_DIGITS` = 10
   significant digits (``%.10g``) before it is written or hashed; JSON holds the rounded
   number (``0.9782644324``), CSV the same digits. Another CPU's maths library (numpy's
   AVX512 ``exp``/``log``, OpenBLAS kernels, a sum split over two threads) changes a
   result in its last bits, about the 16th digit; rounding to 10 digits hides that unless
   the value sits within that difference of a rounding boundary (of the order of 1e-6 per
   cell for a difference of a few units in the last place). A writer may ask for fewer
   digits, never more (the counterfactual simulator writes its data with 6).
2. **Cancellation noise is 0.** In a float column of a table (or a list of numbers in a
   JSON file), a value whose magnitude is below :data:`NOISE_RATIO` = 1e-12 times the
   largest finite magnitude in the column is written as 0: it is the rounding residue of
   subtracting equal numbers of the column's size (``0.09434009058 - 0.09434009058`` is
   ``1.4e-17`` on one CPU and ``0`` on another), not a value. Columns whose values all lie
   in [0, 1] -- p-values, probabilities, shares -- are **not** snapped: their tiny values are
   real (a p-value of 1e-40 comes from a tail function with full relative precision) and
   are written with their 10 digits. A single number (a ``results.json`` entry) has no
   column to compare with and is never snapped; noise there is fixed where it is computed.
3. ``-0`` is written as ``0``; NaN and infinities are left as they are (CSV writes them as
   pandas does; ``results.json`` refuses them, see :meth:`studykit.contract.outputs.Outputs.record`).

The HTML and LaTeX views of a table are made from the same rounded and snapped frame, so
they never show a number the CSV does not have. What rounding cannot hide is fixed where it
is computed: an order-dependent sum is made exact (DuckDB's score sums, in fixed point), an
iterative fit is run to a tolerance where a last-bit change does not reach the 10th digit,
and a value that is 0 by construction is set to 0; see README "Cache and determinism".
"""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["SIG_DIGITS", "NOISE_RATIO", "FLOAT_FORMAT", "round_sig", "stable_array", "stable_frame",
           "stable_json", "csv_text", "write_csv", "dumps_stable_json", "write_stable_json", "snapped_cells"]

#: significant digits of every float in a byte-identical output
SIG_DIGITS = 10
#: a value below this share of its column's largest magnitude is cancellation noise (written as 0)
NOISE_RATIO = 1e-12
#: the CSV float format (the same digits as :func:`round_sig`)
FLOAT_FORMAT = f"%.{SIG_DIGITS}g"


def round_sig(x: float, digits: int = SIG_DIGITS) -> float:
    """``x`` rounded to ``digits`` significant digits (the number ``%.{digits}g`` prints); ``-0`` -> 0."""
    x = float(x)
    if not math.isfinite(x):
        return x
    return float(f"{x:.{digits}g}") + 0.0


def _round_array(x: np.ndarray, digits: int) -> np.ndarray:
    fmt = f"%.{digits}g"
    out = x.copy()
    fin = np.isfinite(out)
    if fin.any():
        out[fin] = np.array([float(fmt % v) for v in out[fin].tolist()], dtype=float)
    return out + 0.0


def _noise_mask(x: np.ndarray) -> np.ndarray:
    """Cells of ``x`` (float array) that rule 2 of the module docstring writes as 0."""
    fin = np.isfinite(x)
    if not fin.any():
        return np.zeros(x.shape, dtype=bool)
    vals = x[fin]
    if vals.min() >= 0.0 and vals.max() <= 1.0:  # p-values, probabilities, shares: never snapped
        return np.zeros(x.shape, dtype=bool)
    scale = float(np.abs(vals).max())
    return fin & (x != 0.0) & (np.abs(x) < NOISE_RATIO * scale)


def stable_array(values: Any, digits: int = SIG_DIGITS) -> np.ndarray:
    """A float column under the rule: noise snapped to 0 (rule 2), then rounded (rule 1)."""
    x = np.array(values, dtype=float)
    x[_noise_mask(x)] = 0.0
    return _round_array(x, digits)


def snapped_cells(values: Any) -> int:
    """How many cells of a float column rule 2 writes as 0 (for reports and tests)."""
    return int(_noise_mask(np.array(values, dtype=float)).sum())


def _is_float(v: Any) -> bool:
    return isinstance(v, (float, np.floating)) and not isinstance(v, bool)


def _may_hold_floats(col: "pd.Series") -> bool:
    """False for an object column that holds only strings (pandas' C-level type inference; a column of
    text answers it in one pass instead of a Python call per cell), True otherwise."""
    import pandas as pd

    return pd.api.types.infer_dtype(col, skipna=False) != "string"


def stable_frame(df: "pd.DataFrame", digits: int = SIG_DIGITS) -> "pd.DataFrame":
    """A copy of ``df`` whose float columns follow the rule (object columns: their float cells are
    rounded; a column of floats and missing values counts as a float column). Other cells are kept."""
    import pandas as pd

    out = df.copy()
    for i in range(out.shape[1]):
        col = out.iloc[:, i]
        if pd.api.types.is_float_dtype(col.dtype):
            arr = stable_array(col.to_numpy(dtype=float, na_value=np.nan), digits)
            out.isetitem(i, pd.Series(arr, index=col.index, name=col.name).astype(col.dtype))
        elif col.dtype == object and _may_hold_floats(col) and col.map(_is_float).any():
            floats = col.map(_is_float)
            if (floats | col.isna()).all():  # numbers and missing values: a float column
                arr = stable_array(pd.to_numeric(col.where(floats), errors="coerce").to_numpy(dtype=float), digits)
                new = pd.Series([float(a) if f else v for a, f, v in zip(arr, floats, col)], index=col.index,
                                dtype=object, name=col.name)
            else:
                new = col.map(lambda v: round_sig(v, digits) if _is_float(v) else v)
            out.isetitem(i, new)
    return out


def stable_json(obj: Any, digits: int = SIG_DIGITS) -> Any:
    """``obj`` with every float rounded (rule 1); a list of numbers is a column (rule 2)."""
    if isinstance(obj, dict):
        return {k: stable_json(v, digits) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        nums = [v for v in obj if _is_float(v) or (isinstance(v, int) and not isinstance(v, bool))]
        if nums and len(nums) == len(obj) and any(_is_float(v) for v in obj):
            arr = stable_array([float(v) for v in obj], digits)
            return [float(a) if _is_float(v) else v for a, v in zip(arr, obj)]
        return [stable_json(v, digits) for v in obj]
    if _is_float(obj):
        return round_sig(obj, digits)
    return obj


def csv_text(df: "pd.DataFrame", *, index: bool = False, digits: int = SIG_DIGITS) -> str:
    """``df`` as CSV text under the rule (``\\n`` line ends)."""
    return stable_frame(df, digits).to_csv(index=index, float_format=f"%.{digits}g", lineterminator="\n")


def write_csv(df: "pd.DataFrame", target: str | os.PathLike, *, index: bool = False,
              digits: int = SIG_DIGITS) -> Path:
    """Write ``df`` as CSV under the rule, atomically; return the path."""
    from studykit.files.fileio import write_text_atomic

    return write_text_atomic(target, csv_text(df, index=index, digits=digits))


def dumps_stable_json(obj: Any, digits: int = SIG_DIGITS) -> str:
    """Canonical JSON (:func:`studykit.files.fileio.dumps_json`) of ``obj`` under the rule."""
    from studykit.files.fileio import dumps_json

    return dumps_json(stable_json(obj, digits))


def write_stable_json(target: str | os.PathLike, obj: Any, digits: int = SIG_DIGITS) -> Path:
    from studykit.files.fileio import write_text_atomic

    return write_text_atomic(target, dumps_stable_json(obj, digits))
