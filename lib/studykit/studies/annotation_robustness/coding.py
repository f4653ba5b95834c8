"""Integer codes of table columns, for the counting hot path of :mod:`.encoding`.

Pure functions of arrays and Series: values as strings, sorted factorisations in linear time,
mixed-radix combinations of codes, and position look-ups of integer ids.
"""
from __future__ import annotations

import numpy as np
import pandas as pd


def str_values(s: pd.Series) -> pd.Series:
    """Values as strings with NA kept (integers without a trailing .0)."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        s = s.astype(object)
    if pd.api.types.is_float_dtype(s) and s.dropna().apply(float.is_integer).all():
        s = s.astype("Int64")
    out = s.astype("string")
    return out


def rank_codes(codes: np.ndarray, uniques: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Renumber codes so that uniques are sorted (as strings for objects); -1 stays -1."""
    keyed = np.asarray([str(u) for u in uniques]) if uniques.dtype == object else uniques
    order = np.argsort(keyed, kind="stable")
    rank = np.empty(len(uniques) + 1, dtype=np.int32)
    rank[order] = np.arange(len(uniques), dtype=np.int32)
    rank[-1] = -1
    return rank[codes], uniques[order]


def sorted_codes(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Sorted factorisation (codes int32, uniques); NA -> -1. Linear time: hash, then rank the uniques."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        return rank_codes(s.cat.codes.to_numpy().astype(np.int32), np.asarray(s.cat.categories, dtype=object))
    codes, uniques = pd.factorize(s, sort=False, use_na_sentinel=True)
    return rank_codes(codes.astype(np.int32), np.asarray(uniques))


def raw_codes(s: pd.Series) -> np.ndarray:
    """Integer codes (any order) of a column: categorical codes as they are, others hashed."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        return s.cat.codes.to_numpy()
    return pd.factorize(s, use_na_sentinel=True)[0]


def head_values(s: pd.Series, raw: np.ndarray, heads: np.ndarray) -> pd.Series:
    """The values of column ``s`` at the run heads, as strings."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        cats = np.asarray(s.cat.categories.astype(str), dtype=object)
        return pd.Series(cats[raw[heads]], dtype=object)
    return pd.Series(s.to_numpy()[heads]).astype(str)


def combine_codes(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Mixed-radix combination of sorted codes -> (dense sorted codes, used combined values)."""
    n = len(parts[0][0])
    size = 1
    for _, u in parts:
        size *= max(len(u), 1)
    combo = np.zeros(n, dtype=np.int64)
    for codes, uniques in parts:
        combo *= len(uniques)
        combo += codes
    if size <= 50_000_000:
        used = np.bincount(combo, minlength=size) > 0
        rank = (np.cumsum(used) - 1).astype(np.int32)
        return rank[combo], np.flatnonzero(used)
    codes, uniques = pd.factorize(combo, sort=True)
    return codes.astype(np.int32), uniques


def int_lookup(keys: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Position of each value in ``keys`` (-1 if absent); a dense table when the ids are compact."""
    keys = keys.astype(np.int64)
    lo, hi = int(keys.min()), int(keys.max())
    vmin, vmax = int(values.min()), int(values.max())
    if hi - lo <= 8 * len(keys) + 1_000_000:
        lut = np.full(hi - lo + 1, -1, dtype=np.int32)
        lut[keys - lo] = np.arange(len(keys), dtype=np.int32)
        if vmin >= lo and vmax <= hi:  # all in range: one gather, no int64 copy
            return lut[values - values.dtype.type(lo)] if lo else lut[values]
        v = values.astype(np.int64) - lo
        out = np.full(len(values), -1, dtype=np.int32)
        inside = (v >= 0) & (v <= hi - lo)
        out[inside] = lut[v[inside]]
        return out
    return pd.Index(keys).get_indexer(values).astype(np.int32)
