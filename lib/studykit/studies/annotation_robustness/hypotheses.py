"""Hypotheses: generated from the group columns or read from a file, and matched to the data.

A hypothesis asks whether the share of items with label ``label_value`` differs between
the items with ``group_column == group_a`` and those with ``group_column == group_b``.
"""
from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd

from studykit.contract.errors import InputError

from .load import AnnotationData
from .columns import HYPOTHESIS_COLUMNS


def hypothesis_id(label_value: str, group_column: str, group_a: str, group_b: str) -> str:
    """Readable identifier, e.g. ``'economy ~ party: left vs right'``."""
    return f"{label_value} ~ {group_column}: {group_a} vs {group_b}"


def generate_hypotheses(classes, levels_by_column: dict[str, tuple[str, ...]]) -> pd.DataFrame:
    """Every class against the rest x every pair of levels (sorted) of every group column."""
    rows = []
    for col, levels in levels_by_column.items():
        for a, b in combinations(sorted(levels), 2):
            for c in classes:
                rows.append((hypothesis_id(c, col, a, b), c, col, a, b))
    return pd.DataFrame(rows, columns=list(HYPOTHESIS_COLUMNS))


def resolve_hypotheses(data: AnnotationData, hypotheses: pd.DataFrame | None, min_group_size: int,
                       ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Match hypotheses to the encoded data; split into evaluated and skipped.

    Returns ``(evaluated, skipped)``. ``evaluated`` adds integer columns ``col_idx``, ``a``,
    ``b``, ``k`` (positions of the column, levels and class) and the gold counts
    ``gold_x_a, gold_n_a, gold_x_b, gold_n_b``. A hypothesis is skipped, with its
    ``reason``, when its label is not a gold class, a level does not occur, a group has
    fewer than ``min_group_size`` items, or the gold proportion is 0 or 1 in a group (the
    logit MLE does not exist: a share of 1 for class k is a share of 0 for the rest).
    """
    cols = list(data.groups)
    if hypotheses is None:
        hypotheses = generate_hypotheses(data.classes, {c: data.groups[c][1] for c in cols})
    else:
        unknown = sorted(set(hypotheses["group_column"]) - set(cols))
        if unknown:
            raise InputError(f"hypotheses: group_column '{unknown[0]}' is not one of group_columns "
                             f"({', '.join(cols)})")
    h = hypotheses.reset_index(drop=True).copy()
    n = len(h)
    col_idx = np.array([cols.index(c) for c in h["group_column"]], dtype=np.int64)
    k = pd.Index(data.classes).get_indexer(h["label_value"])
    a = np.full(n, -1)
    b = np.full(n, -1)
    for j, c in enumerate(cols):
        m = col_idx == j
        if m.any():
            lv = pd.Index(data.groups[c][1])
            a[m] = lv.get_indexer(h.loc[m, "group_a"])
            b[m] = lv.get_indexer(h.loc[m, "group_b"])
    gold_counts = {c: gold_level_counts(data, c) for c in cols}
    xa = np.zeros(n, dtype=np.int64)
    na = np.zeros(n, dtype=np.int64)
    xb = np.zeros(n, dtype=np.int64)
    nb = np.zeros(n, dtype=np.int64)
    ok = (k >= 0) & (a >= 0) & (b >= 0)
    for j, c in enumerate(cols):
        m = ok & (col_idx == j)
        cnt = gold_counts[c]
        tot = cnt.sum(axis=1)
        xa[m] = cnt[a[m], k[m]]
        xb[m] = cnt[b[m], k[m]]
        na[m] = tot[a[m]]
        nb[m] = tot[b[m]]
    reason = np.full(n, "", dtype=object)
    reason[(a < 0) | (b < 0)] = "group level not in items"
    reason[k < 0] = "label_value is not a gold class"
    same = ok & (a == b)
    reason[same] = "group_a equals group_b"
    small = ok & ~same & ((na < min_group_size) | (nb < min_group_size))
    reason[small] = f"a group has fewer than min_group_size={min_group_size} items"
    degenerate = ok & ~same & ~small & ((xa == 0) | (xb == 0) | (xa == na) | (xb == nb))
    reason[degenerate] = "gold proportion is 0 or 1 in a group"
    h["col_idx"], h["a"], h["b"], h["k"] = col_idx, a, b, k
    h["gold_x_a"], h["gold_n_a"], h["gold_x_b"], h["gold_n_b"] = xa, na, xb, nb
    skipped_mask = reason != ""
    skipped = h.loc[skipped_mask, list(HYPOTHESIS_COLUMNS) + ["gold_x_a", "gold_n_a", "gold_x_b", "gold_n_b"]].copy()
    skipped["reason"] = reason[skipped_mask]
    evaluated = h.loc[~skipped_mask].reset_index(drop=True)
    return evaluated, skipped.reset_index(drop=True)


def gold_level_counts(data: AnnotationData, column: str, labels: np.ndarray | None = None,
                      mask: np.ndarray | None = None) -> np.ndarray:
    """Counts of items by (level, class) for one group column; shape (n_levels + 1, n_classes).

    The last row holds items with NA in the column. ``labels`` defaults to gold; codes < 0
    (missing) are left out; ``mask`` restricts to a subset of items.
    """
    codes, levels = data.groups[column]
    lab = data.gold if labels is None else labels
    K = len(data.classes)
    keep = lab >= 0
    if mask is not None:
        keep = keep & mask
    key = codes[keep].astype(np.int64) * K + lab[keep]
    return np.bincount(key, minlength=(len(levels) + 1) * K).reshape(len(levels) + 1, K)
