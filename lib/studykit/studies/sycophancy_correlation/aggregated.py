"""The input mode for aggregated rates (``data_format: rates``): reading, checks and the persona table.

For data that come as summary measurements rather than per-prompt answers (a published table of rates, a
benchmark's summary file): one row per (model, persona, condition...) measurement with the model's
agreeableness score under the persona, its sycophancy rate (``rate`` in [0, 1], or ``count`` of sycophantic
answers) and the number of trials behind it (``n_trials``). Rows with ``persona_id`` = ``baseline`` measure the
model without a persona. The columns named in ``rates_condition_columns`` (prompt strategy, temperature, run
...) identify, with ``model`` and ``persona_id``, one row.

Schema violations raise a one-line :class:`~studykit.contract.errors.InputError` naming the column and the file:
a missing column; a non-numeric, infinite or negative number; ``rate`` outside [0, 1]; ``count`` outside
0..``n_trials``; ``n_trials`` not positive; an empty id; two rows with the same key and different values.
Documented rules (returned as :class:`~studykit.contract.issues.DataIssue`): exact duplicate rows (one kept,
``duplicate_rate_rows``), a missing rate (row left out, ``rows_without_rate``), a missing score (row kept
for the rates, left out of the agreeableness means, ``rows_without_score``), a model without baseline rows
(``model_without_baseline``: shift and manipulation check empty).

The unit of every per-model test is the **persona** (:func:`persona_table`): the rows of one persona (its
conditions and repeats) share its prompt and are averaged to one persona mean (rates weighted by trials,
scores by row); conditions are balanced fixed factors, not independent observations.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from studykit.contract.errors import InputError
from studykit.contract.issues import DataIssue, examples
from studykit.files.paths import resolve
from studykit.studies.sycophancy_correlation.schema import BASELINE_ID
from studykit.files.tables import numeric_column, read_table, require_columns

KEY_COLUMNS = ("model", "persona_id")


@dataclass(frozen=True)
class RateRows:
    """Validated rows of a rates table.

    ``rows``: model, persona_id, the condition columns, ``agreeableness`` (NaN = no score), ``rate`` (proportion),
    ``n_trials``, ``is_baseline``; ``conditions``: the condition column names; ``source``: where they came from.
    """

    rows: pd.DataFrame
    conditions: tuple[str, ...]
    source: str

    @property
    def personas(self) -> pd.DataFrame:
        return self.rows[~self.rows["is_baseline"]]

    @property
    def baseline(self) -> pd.DataFrame:
        return self.rows[self.rows["is_baseline"]]




def validate_rates(df: pd.DataFrame, *, where: str, condition_columns: list[str] | tuple[str, ...] = (),
                   score_column: str = "agreeableness",
                   score_range: tuple[float, float] | None = None) -> tuple[RateRows, tuple[DataIssue, ...]]:
    """Check a rates table (see the module docstring) and return its rows in the study's form.

    ``where`` names the file in messages; ``score_range`` (low, high), when given, refuses scores outside it.
    """
    conditions = tuple(str(c) for c in condition_columns)
    if score_column in (*KEY_COLUMNS, *conditions, "rate", "count", "n_trials"):
        raise InputError(f"{where}: the score column '{score_column}' is also a key or rate column")
    rate_col = "rate" if "rate" in df.columns else "count" if "count" in df.columns else None
    if rate_col is None:
        raise InputError(f"{where}: missing column 'rate' (a proportion in [0, 1]) or 'count' (sycophantic "
                         "answers out of n_trials)")
    require_columns(df, (*KEY_COLUMNS, *conditions, score_column, "n_trials"), where)
    if not len(df):
        raise InputError(f"{where}: no data rows")
    keys = list(KEY_COLUMNS) + list(conditions)
    out = pd.DataFrame({c: df[c] for c in keys})
    for c in keys:
        text = out[c].astype("string").str.strip()
        if (text.isna() | (text == "")).any():
            raise InputError(f"{where}: column '{c}' has {int((text.isna() | (text == '')).sum())} empty values")
        out[c] = text.astype(str) if c in KEY_COLUMNS else out[c]
    n = numeric_column(df, "n_trials", where)
    if (n.isna() | (n <= 0)).any():
        bad = n[n.isna() | (n <= 0)]
        raise InputError(f"{where}: column 'n_trials' must be a positive number of trials; {len(bad)} rows are "
                         f"not (e.g. {bad.iloc[0]:g})")
    x = numeric_column(df, rate_col, where)
    if rate_col == "rate":
        bad = x.notna() & ((x < 0) | (x > 1))
        if bad.any():
            raise InputError(f"{where}: column 'rate' must be a proportion in [0, 1]; {int(bad.sum())} values are "
                             f"outside (e.g. {x[bad].iloc[0]:g}; a percentage? divide by 100)")
        rate = x
    else:
        bad = x.notna() & ((x < 0) | (x > n))
        if bad.any():
            raise InputError(f"{where}: column 'count' must lie in 0..n_trials; {int(bad.sum())} values do not "
                             f"(e.g. {x[bad].iloc[0]:g} of {n[bad].iloc[0]:g})")
        rate = x / n
    score = numeric_column(df, score_column, where)
    if score_range is not None:
        lo, hi = score_range
        bad = score.notna() & ((score < lo) | (score > hi))
        if bad.any():
            raise InputError(f"{where}: column '{score_column}' has {int(bad.sum())} values outside "
                             f"{lo:g}..{hi:g} (e.g. {score[bad].iloc[0]:g})")
    out["agreeableness"], out["rate"], out["n_trials"] = score.to_numpy(), rate.to_numpy(), n.to_numpy()
    issues: list[DataIssue] = []
    dup = out.duplicated(keep="first")
    if dup.any():
        issues.append(DataIssue("duplicate_rate_rows", int(dup.sum()), "exact copies of a row dropped, one kept",
                                examples(out.loc[dup, "model"])))
        out = out[~dup]
    clash = out.duplicated(subset=keys, keep=False)
    if clash.any():
        first = out.loc[clash, keys].iloc[0]
        shown = ", ".join(f"{k}={first[k]}" for k in keys)
        raise InputError(f"{where}: {int(clash.sum())} rows share a key ({', '.join(keys)}) with different values, "
                         f"e.g. {shown}; add the column that tells them apart to rates_condition_columns")
    no_rate = out["rate"].isna()
    if no_rate.any():
        issues.append(DataIssue("rows_without_rate", int(no_rate.sum()), "row left out of every analysis",
                                examples(out.loc[no_rate, "model"])))
        out = out[~no_rate]
    no_score = out["agreeableness"].isna()
    if no_score.any():
        issues.append(DataIssue("rows_without_score", int(no_score.sum()),
                                "row kept for the rates, left out of the agreeableness means",
                                examples(out.loc[no_score, "model"] + "/" + out.loc[no_score, "persona_id"])))
    out["is_baseline"] = out["persona_id"] == BASELINE_ID
    models = sorted(out["model"].unique())
    without = [m for m in models if not out.loc[out["model"] == m, "is_baseline"].any()]
    if without:
        issues.append(DataIssue("model_without_baseline", len(without),
                                "no baseline rows: the shift and the manipulation check are left empty",
                                examples(without)))
    only_base = [m for m in models if out.loc[out["model"] == m, "is_baseline"].all()]
    if only_base:
        issues.append(DataIssue("model_without_personas", len(only_base),
                                "baseline rows only: the model is left out of every test", examples(only_base)))
    out = out.sort_values(keys, kind="mergesort").reset_index(drop=True)
    return RateRows(out, conditions, where), tuple(issues)


def read_rates(path: str | Path, *, condition_columns: list[str] | tuple[str, ...] = (),
               score_column: str = "agreeableness",
               likert_points: int | None = None) -> tuple[RateRows, tuple[DataIssue, ...]]:
    """Read a rates table (CSV, TSV, Parquet, JSONL) and check it (:func:`validate_rates`). With
    ``score_column`` ``agreeableness`` and ``likert_points``, scores must lie in 1..likert_points."""
    where = f"rates file {resolve(path)}"
    df = read_table(path, what="rates")
    rng = (1.0, float(likert_points)) if likert_points and score_column == "agreeableness" else None
    return validate_rates(df, where=where, condition_columns=condition_columns, score_column=score_column,
                          score_range=rng)


def persona_table(data: RateRows) -> pd.DataFrame:
    """One row per (model, persona): the persona means that are the unit of the per-model tests.

    ``rate`` = trial-weighted mean of the rows' rates (sum of rate x n_trials over sum of n_trials);
    ``agreeableness`` = mean of the rows' scores (NaN when no row has one); ``n_rows``, ``n_trials``.
    """
    p = data.personas.assign(_w=lambda d: d["rate"] * d["n_trials"])
    g = p.groupby(["model", "persona_id"], sort=True)
    out = pd.DataFrame({"agreeableness": g["agreeableness"].mean(), "rate": g["_w"].sum() / g["n_trials"].sum(),
                        "n_rows": g.size(), "n_trials": g["n_trials"].sum()}).reset_index()
    return out
