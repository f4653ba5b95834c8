r"""Flip rates: how often an edit or a paraphrase changes the answer to the original prompt.

Flip indicator :math:`f_i^{v} = 1[y_i^{v} \ne y_i^{o}]` and flip rate
:math:`\bar f^{v} = n^{-1}\sum_i f_i^{v}` over the items with both answers
(notation of :mod:`.design`).

References
----------
Wilson, E. B. (1927). Probable inference, the law of succession, and statistical inference. JASA 22(158).
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd

from studykit.contract.errors import InputError

from .design import wide_answers


def item_flips(answers: pd.DataFrame) -> pd.DataFrame:
    """Per model x task x item x variant: ``flip`` = 1[answer differs from the original answer]."""
    w = wide_answers(answers)
    if "original" not in w.columns:
        raise InputError("counterfactual data: no answers to the variant 'original'")
    kinds = answers.drop_duplicates("variant").set_index("variant")["variant_kind"]
    rows = []
    for v in w.columns:
        if kinds.get(v) == "original":
            continue
        both = w[v].notna() & w["original"].notna()
        f = (w.loc[both, v] != w.loc[both, "original"]).astype(int)
        rows.append(pd.DataFrame({"variant": v, "variant_kind": kinds[v], "flip": f}).reset_index())
    return pd.concat(rows, ignore_index=True)


def flip_rates(answers: pd.DataFrame, pairs: Mapping[str, str], *, confidence: float = 0.95) -> pd.DataFrame:
    r"""Flip rate of every variant against the original, per model x task, with a Wilson interval.

    :math:`\hat r = k/n`, :math:`k` = items whose answer differs from the
    original answer, :math:`n` = items with both answers. Interval: Wilson
    score (Wilson 1927), exact enough at :math:`k = 0`.
    Columns: model, task, variant, variant_kind, pair (the target a baseline
    belongs to, or the target itself), n_items, flips, flip_rate, ci_low, ci_high.
    """
    from statsmodels.stats.proportion import proportion_confint

    fl = item_flips(answers)
    g = fl.groupby(["model", "task", "variant", "variant_kind"], sort=True)["flip"].agg(["size", "sum"])
    g = g.rename(columns={"size": "n_items", "sum": "flips"}).reset_index()
    g["flip_rate"] = g["flips"] / g["n_items"]
    lo, hi = proportion_confint(g["flips"], g["n_items"], alpha=1 - confidence, method="wilson")
    g["ci_low"], g["ci_high"] = np.asarray(lo, float), np.asarray(hi, float)
    inv = {b: t for t, b in pairs.items()}
    g["pair"] = [v if k == "target" else inv.get(v, v) for v, k in zip(g["variant"], g["variant_kind"])]
    return g[["model", "task", "variant", "variant_kind", "pair", "n_items", "flips", "flip_rate",
              "ci_low", "ci_high"]]




def flip_rate_records(rates: pd.DataFrame, name: Callable[[Any], str]) -> dict[str, float]:
    """``flip_rate.<model>.<task>.<variant>`` for every row of :func:`flip_rates`.

    ``name`` maps a name taken from data to a key-safe one (the notebook passes ``out.name``,
    which keeps the mapping in ``manifest.json``).
    """
    return {f"flip_rate.{name(r.model)}.{name(r.task)}.{name(r.variant)}": float(r.flip_rate)
            for r in rates.itertuples()}
