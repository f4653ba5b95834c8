"""The numbers a run records in ``results.json``, with undefined ones reported, never silent.

A summary number can be undefined on some data: the median exaggeration ratio when no
pair is significant with the gold sign under both labellings, a hacking share when no
hypothesis is eligible (no gold null, or no gold-significant hypothesis), Spearman's rho
of accuracy and risk with fewer than three configurations or constant values, an error
rate of the mitigation study when no hypothesis is eligible for it. Rule: such a number is
recorded as ``null`` and reported as one ``not_estimable`` data issue naming the keys.
"""
from __future__ import annotations

import math
from typing import Any, Mapping

from studykit.contract.issues import DataIssue, Issues, examples

NOT_ESTIMABLE_RULE = ("undefined on these data (no eligible hypothesis, pair or configuration); recorded as "
                      "null in results.json")


def _undefined(value: Any) -> bool:
    """True for None, NaN and infinities (numbers that cannot be reported)."""
    if value is None:
        return True
    if isinstance(value, (str, bool)):
        return False
    try:
        return not math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def recordable(values: Mapping[str, Any], what: str) -> tuple[dict[str, Any], Issues]:
    """``values`` ready for ``out.record_many`` and the issue naming those that are undefined.

    Parameters
    ----------
    values : mapping
        Result key -> number (or string / bool).
    what : str
        What the numbers are (e.g. ``"exaggeration"``), for the issue's detail.

    Returns
    -------
    (dict, tuple of DataIssue)
        The values with NaN, infinities and None as None, and one ``not_estimable``
        issue (count = number of undefined keys) when any is undefined.
    """
    clean = {k: (None if _undefined(v) else v) for k, v in values.items()}
    missing = [k for k, v in values.items() if _undefined(v)]
    if not missing:
        return clean, ()
    return clean, (DataIssue("not_estimable", len(missing), NOT_ESTIMABLE_RULE, f"{what}: {examples(missing)}"),)
