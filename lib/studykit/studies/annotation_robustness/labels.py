"""Labels written differently from the gold classes: the case-folding rule of :mod:`.load`.

A label (or ``human_single`` value) that is not a gold class but equals one up to Unicode case folding and
surrounding spaces is that class, counted as ``label_case_folded`` (``human_single_case_folded``); gold
classes that differ only that way are refused by :func:`.encoding.encode`.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from studykit.contract.errors import InputError
from studykit.contract.issues import examples


def fold(label: str) -> str:
    """The comparison form of a label: Unicode case folding, surrounding spaces removed."""
    return str(label).strip().casefold()


def fold_unmatched(codes: np.ndarray, values: pd.Series, fold_index: pd.Index, issues: Any,
                    column: str, weights: np.ndarray | None = None) -> np.ndarray:
    """Codes of ``values`` with the unmatched ones (-1) matched again after :func:`fold`.

    Rule ``label_case_folded`` (``human_single_case_folded``): a label that is not a gold class but equals
    one up to case and surrounding spaces (``Economy``, ``ECONOMY ``) is that class; the rows are counted
    (``weights``: rows per value when ``values`` are categories).
    """
    miss = (codes == -1) & values.notna().to_numpy()
    if not miss.any():
        return codes
    again = fold_index.get_indexer([fold(v) for v in values[miss]])
    if not (again >= 0).any():
        return codes
    out = codes.copy()
    idx = np.flatnonzero(miss)
    hit = again >= 0
    out[idx[hit]] = again[hit]
    n = int(weights[idx[hit]].sum()) if weights is not None else int(hit.sum())
    issues.add(f"{column}_case_folded", n, f"'{column}' values equal to a gold class up to case or surrounding "
               "spaces are that class", detail=examples(values[miss][hit]))
    return out


def folded_classes(classes: tuple[str, ...], what: str) -> pd.Index:
    """The folded form of each gold class; refuses (one line) classes that differ only in case or spaces."""
    folded: dict[str, list[str]] = {}
    for c in classes:
        folded.setdefault(fold(c), []).append(c)
    clash = next((v for v in folded.values() if len(v) > 1), None)
    if clash:
        raise InputError(f"{what}: column 'gold' has classes that differ only in case or surrounding spaces "
                         f"({', '.join(repr(c) for c in clash)}): write each class one way")
    return pd.Index([fold(c) for c in classes])


def no_label_matches(bad: pd.Series | None, classes: tuple[str, ...], what: str) -> InputError:
    """The one-line error when no annotation label is a gold class (``bad``: the labels that are not)."""
    seen = bad.value_counts().head(3).index.tolist() if bad is not None else []
    return InputError(f"{what}: no annotation label is a gold class ("
                      + (f"labels such as {', '.join(repr(x) for x in seen)}; " if seen else "")
                      + f"gold classes {', '.join(repr(c) for c in classes[:5])})")
