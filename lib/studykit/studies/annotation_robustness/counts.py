"""The hot path: label counts per configuration x group level x class, and per hypothesis.

All counting is one :func:`numpy.bincount` per group column over the annotation rows,
with a mixed-radix key ``(config * (L + 1) + level) * K + label`` (NA levels get code ``L``),
so 13M labels are counted in well under a second and no Python loop runs over pairs.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .load import AnnotationData


def label_counts(data: AnnotationData, column: str, row_mask: np.ndarray | None = None) -> np.ndarray:
    """Counts of valid labels by (configuration, level, class); shape (C, L + 1, K).

    The last level row holds items with NA in ``column``. ``row_mask`` restricts to a
    subset of annotation rows.
    """
    codes, levels = data.groups[column]
    L1 = len(levels) + 1
    K = len(data.classes)
    C = data.n_configs
    lvl = codes[data.ann_item]
    conf = data.ann_config
    lab = data.ann_label
    if row_mask is not None:
        lvl, conf, lab = lvl[row_mask], conf[row_mask], lab[row_mask]
    dt = np.int32 if C * L1 * K < 2**31 else np.int64
    key = conf.astype(dt, copy=False) * dt(L1 * K)
    key += lvl.astype(dt, copy=False) * dt(K)
    key += lab
    return np.bincount(key, minlength=C * L1 * K).reshape(C, L1, K)


def confusion_counts(data: AnnotationData, column: str | None = None, row_mask: np.ndarray | None = None,
                     reference: np.ndarray | None = None) -> np.ndarray:
    """Counts by (configuration, [level,] label, reference label); shape (C, [L + 1,] K, K).

    ``reference`` is a class code per item (default: gold; codes < 0 are left out).
    """
    K = len(data.classes)
    C = data.n_configs
    ref = data.gold if reference is None else reference
    ref_rows = ref[data.ann_item]
    conf, lab = data.ann_config, data.ann_label
    keep = ref_rows >= 0
    if row_mask is not None:
        keep &= row_mask
    conf, lab, ref_rows = conf[keep], lab[keep], ref_rows[keep]
    if column is None:
        key = (conf.astype(np.int64) * K + lab) * K + ref_rows
        return np.bincount(key, minlength=C * K * K).reshape(C, K, K)
    codes, levels = data.groups[column]
    L1 = len(levels) + 1
    lvl = codes[data.ann_item][keep]
    key = ((conf.astype(np.int64) * L1 + lvl) * K + lab) * K + ref_rows
    return np.bincount(key, minlength=C * L1 * K * K).reshape(C, L1, K, K)


def hypothesis_counts(per_column: dict[str, np.ndarray], columns: list[str], hyps: pd.DataFrame
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Successes and trials of group a and b for every (hypothesis, configuration).

    ``per_column[col]`` is a (C, L + 1, K) count array from :func:`label_counts`;
    ``hyps`` has integer columns ``col_idx``, ``a``, ``b``, ``k``. Returns ``x_a, n_a, x_b,
    n_b``, each of shape (H, C), gathered with fancy indexing (no loop over pairs).
    """
    H = len(hyps)
    C = next(iter(per_column.values())).shape[0] if per_column else 0
    out = [np.zeros((H, C), dtype=np.int64) for _ in range(4)]
    col_idx = hyps["col_idx"].to_numpy()
    a, b, k = hyps["a"].to_numpy(), hyps["b"].to_numpy(), hyps["k"].to_numpy()
    for j, col in enumerate(columns):
        m = np.flatnonzero(col_idx == j)
        if not len(m):
            continue
        cnt = per_column[col]
        tot = cnt.sum(axis=2)  # (C, L+1)
        out[0][m] = cnt[:, a[m], k[m]].T
        out[1][m] = tot[:, a[m]].T
        out[2][m] = cnt[:, b[m], k[m]].T
        out[3][m] = tot[:, b[m]].T
    return tuple(out)  # type: ignore[return-value]
