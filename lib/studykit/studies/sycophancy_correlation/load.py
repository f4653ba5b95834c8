"""Readers for the persona and response tables, with schema checks and documented rules.

Bad input never reaches a statistics call silently. Schema violations (missing
column, non-numeric score, item answer out of range, duplicate persona rows)
raise a one-line :class:`~studykit.contract.errors.InputError`; data problems that have
a sensible rule (unknown stance strings, personas without a score, ...) are
returned as :class:`~studykit.contract.issues.DataIssue` records (each reader returns
``(data, issues)``; the notebook writes them with ``out.note_issues``) and handled
by the rule named in the record.

This module reads the personas table; the response table (17.7M rows at paper
scale, never loaded whole) is read by :mod:`.responses`, whose readers are
re-exported here so that ``load`` holds every reader.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from studykit.contract.errors import InputError
from studykit.contract.issues import DataIssue, examples
from studykit.files.paths import resolve
from studykit.files.tables import numeric_column, read_table, require_columns
from studykit.studies.sycophancy_correlation.names import MAX_NAME_CHARS, check_name_length
from studykit.studies.sycophancy_correlation.responses import (
    ResponseCells, aggregate_responses, connect, prompt_scores)
from studykit.studies.sycophancy_correlation.schema import BASELINE_ID, ITEM_RE, PERSONA_COLUMNS

__all__ = ["PersonaData", "load_personas", "load_rates", "score_items", "ResponseCells", "aggregate_responses",
           "prompt_scores", "connect", "MAX_NAME_CHARS"]


@dataclass(frozen=True)
class PersonaData:
    """Agreeableness per model x persona.

    ``scores``: model, persona_id, agreeableness (NaN rows removed and reported);
    ``items``: the item answers after reverse-keying (None without item columns);
    ``sizes``: model -> model_params_b (None when the column is absent);
    ``score_source``: ``"column"`` or ``"items"``.
    """

    scores: pd.DataFrame
    items: pd.DataFrame | None
    sizes: pd.Series | None
    score_source: str


def score_items(items: pd.DataFrame, reverse_keyed: list[str], likert_points: int,
                what: str = "personas") -> pd.DataFrame:
    """Reverse-key item answers: :math:`x' = (L + 1) - x` for items in ``reverse_keyed``.

    Answers must be numbers in 1..``likert_points`` (missing allowed); anything
    else raises InputError naming the column.
    """
    out = pd.DataFrame(index=items.index)
    for col in items.columns:
        v = pd.to_numeric(items[col], errors="coerce")
        bad_type = v.isna() & items[col].notna()
        if bad_type.any():
            raise InputError(f"{what}: column '{col}' has {int(bad_type.sum())} non-numeric answers "
                             f"(e.g. {items[col][bad_type].iloc[0]!r})")
        out_of_range = v.notna() & ((v < 1) | (v > likert_points))
        if out_of_range.any():
            raise InputError(f"{what}: column '{col}' has {int(out_of_range.sum())} answers outside "
                             f"1..{likert_points} (e.g. {v[out_of_range].iloc[0]:g}); set likert_points")
        out[col] = (likert_points + 1 - v) if col in reverse_keyed else v
    return out


#: Tukey's far-out fence multiplier for a score column on an unknown scale (:func:`check_score_range`).
FAR_OUT_IQR = 10.0


def check_score_range(score: pd.Series, column: str, likert_points: int, path: Path) -> None:
    r"""Refuse (one line naming the column and the file) agreeableness scores outside their valid range.

    The ``agreeableness`` column is the NEO-IPIP score, the mean of item answers on 1..``likert_points``:
    a value outside that interval is not a score of the instrument (a typo, 1e308, a percent). Another
    column (an external rating, on a scale studykit does not know) must lie within Tukey's far-out fences
    widened tenfold, :math:`[Q_1 - 10\,IQR,\ Q_3 + 10\,IQR]` (no normal sample of any realistic size reaches
    them: that is 14 SD from the median); with :math:`IQR = 0` only finiteness is checked.
    """
    v = score.dropna()
    if not len(v):
        return
    if column == "agreeableness":
        lo, hi = 1.0, float(likert_points)
        why = f"outside 1..{likert_points}, the answer scale of the items (likert_points)"
    else:
        q1, q3 = np.quantile(v.to_numpy(float), [0.25, 0.75])
        iqr = q3 - q1
        if iqr <= 0:
            return
        lo, hi = q1 - FAR_OUT_IQR * iqr, q3 + FAR_OUT_IQR * iqr
        why = f"outside [{lo:.4g}, {hi:.4g}] (Q1 - 10 IQR, Q3 + 10 IQR)"
    bad = (v < lo) | (v > hi)
    if bad.any():
        raise InputError(f"personas file {path}: column '{column}' has {int(bad.sum())} values {why}, e.g. "
                         f"{v[bad].iloc[0]:g}")


def load_personas(path: str | Path, *, reverse_keyed: list[str], likert_points: int = 5,
                  score_column: str = "agreeableness") -> tuple[PersonaData, tuple[DataIssue, ...]]:
    """Read the personas table; score agreeableness from items when no score column is given.

    Returns ``(PersonaData, issues)``.

    Score (as in the paper, NEO-IPIP scoring): the mean of the item answers after
    reverse-keying, :math:`A = \\frac{1}{k}\\sum_i x'_i`, on the 1..L answer scale.
    The score column ``score_column`` (default ``agreeableness``), when present, takes
    precedence over items (items then feed only the reliability analysis); naming another
    column (an external rating of the persona, say) scores agreeableness from outside the
    model, and ``""`` scores from the items even when a score column exists. A persona with any item unanswered (or a
    missing score) has no score: it is reported and left out of every analysis. Scores outside their valid
    range are refused (:func:`check_score_range`).
    """
    df = _read_persona_table(path)
    issues: list[DataIssue] = []
    df = _without_repeated_personas(df, issues)
    item_cols = sorted((c for c in df.columns if ITEM_RE.match(str(c))),
                       key=lambda c: tuple(int(x) for x in c[1:].split("_")))
    items = None
    if item_cols:
        missing_rk = [c for c in reverse_keyed if c not in item_cols]
        if missing_rk:
            raise InputError(f"personas: parameter reverse_keyed names item '{missing_rk[0]}' "
                             f"that is not a column of {resolve(path).name}")
        scored = score_items(df[item_cols], reverse_keyed, likert_points)
        items = pd.concat([df[["model", "persona_id"]], scored], axis=1)
    score, source = _agreeableness_score(df, items, item_cols, score_column, likert_points, resolve(path))
    scores = df[["model", "persona_id"]].assign(agreeableness=score.astype(float))
    missing = scores["agreeableness"].isna()
    if missing.any():
        ex = scores.loc[missing, ["model", "persona_id"]].astype(str).agg("/".join, axis=1)
        issues.append(DataIssue(
            "personas_without_score", int(missing.sum()),
            "persona has no agreeableness score (missing value or an unanswered item); left out of "
            "every per-persona analysis, its responses unused", examples(ex)))
        scores = scores.loc[~missing]
    sizes = _model_sizes(df, issues) if "model_params_b" in df.columns else None
    return PersonaData(scores.reset_index(drop=True), items, sizes, source), tuple(issues)


def _read_persona_table(path: str | Path) -> pd.DataFrame:
    """The personas table with model and persona_id as text (as written in a CSV, so '007' stays '007').

    Refused: a missing column, empty model or persona_id, no rows, names longer than the limit.
    """
    df = read_table(path, what="personas")
    require_columns(df, PERSONA_COLUMNS, "personas")
    name = resolve(path).name.lower()
    if name.endswith((".csv", ".tsv", ".csv.gz")):
        # ids are text: re-read them as written so that '007' stays '007' (as in the responses file)
        ids = pd.read_csv(resolve(path), sep="\t" if name.endswith(".tsv") else ",",
                          usecols=list(PERSONA_COLUMNS), dtype=str, keep_default_na=False, na_values=[""])
        df = df.assign(model=ids["model"].to_numpy(), persona_id=ids["persona_id"].to_numpy())
    if df["model"].isna().any() or df["persona_id"].isna().any():
        col = "model" if df["model"].isna().any() else "persona_id"
        raise InputError(f"personas: column '{col}' has {int(df[col].isna().sum())} empty values")
    if df.empty:
        raise InputError(f"personas file {resolve(path)}: no data rows")
    df = df.assign(model=df["model"].astype(str), persona_id=df["persona_id"].astype(str))
    for col in PERSONA_COLUMNS:
        check_name_length(df[col], "personas", col)
    return df


def _without_repeated_personas(df: pd.DataFrame, issues: list[DataIssue]) -> pd.DataFrame:
    """``df`` with exactly repeated rows kept once (reported).

    Rows identical in every column are one persona written twice; rows repeating a
    (model, persona_id) with different values, and the reserved baseline persona_id, are refused.
    """
    exact = df.duplicated(keep="first")
    if exact.any():
        ex = df.loc[exact, "model"] + "/" + df.loc[exact, "persona_id"]
        issues.append(DataIssue("duplicate_persona_rows", int(exact.sum()),
                                "row identical to an earlier row of the personas table: dropped (one kept)",
                                examples(ex)))
        df = df.loc[~exact].reset_index(drop=True)
    dup = df.duplicated(["model", "persona_id"], keep=False)
    if dup.any():
        first = df.loc[dup, ["model", "persona_id"]].iloc[0]
        raise InputError(f"personas: {int(dup.sum())} rows repeat a (model, persona_id) pair with different "
                         f"values, e.g. ({first['model']}, {first['persona_id']})")
    if (df["persona_id"] == BASELINE_ID).any():
        raise InputError(f"personas: persona_id '{BASELINE_ID}' is reserved for the plain-assistant rows "
                         "of the responses table")
    return df


def _agreeableness_score(df: pd.DataFrame, items: pd.DataFrame | None, item_cols: list[str], score_column: str,
                         likert_points: int, path: Path) -> tuple[pd.Series, str]:
    """Each persona's agreeableness score and where it comes from ("column ...", or "items").

    The score column takes precedence over the items; its values must be in range
    (:func:`check_score_range`).
    """
    if score_column and score_column != "agreeableness" and score_column not in df.columns:
        raise InputError(f"personas: missing column '{score_column}' (parameter agreeableness_column)")
    if score_column and score_column in df.columns:
        score = numeric_column(df, score_column, "personas")
        check_score_range(score, score_column, likert_points, path)
        source = "column" if score_column == "agreeableness" else f"column {score_column}"
    elif items is not None:
        score = items[item_cols].astype(float).mean(axis=1, skipna=False)
        source = "items"
    else:
        raise InputError(f"personas: missing column '{score_column or 'agreeableness'}' "
                         "(or item columns named like A1_1)")
    return score, source


def _model_sizes(df: pd.DataFrame, issues: list[DataIssue]) -> pd.Series:
    """Each model's size (``model_params_b``, billions of parameters), one value per model.

    Refused: non-numeric values, a size differing between rows of one model. A size that is
    not a positive finite number is no size (reported).
    """
    s = pd.to_numeric(df["model_params_b"], errors="coerce")
    if (s.isna() & df["model_params_b"].notna()).any():
        raise InputError("personas: column 'model_params_b' has non-numeric values")
    per_model = s.groupby(df["model"]).agg(["min", "max"])
    varying = per_model.index[(per_model["max"] != per_model["min"]) & per_model["max"].notna()]
    if len(varying):
        raise InputError(f"personas: column 'model_params_b' differs between rows of model '{varying[0]}'")
    sizes = per_model["max"].dropna().rename("model_params_b")
    # A size is a positive finite number of parameters (billions); anything else is no size.
    invalid = ~np.isfinite(sizes) | (sizes <= 0)
    if invalid.any():
        issues.append(DataIssue(
            "model_size_invalid", int(invalid.sum()),
            "model_params_b not a positive finite number: the model has no size (left out of the size "
            "association; per_model.model_params_b empty)",
            examples(f"{m}={v:g}" for m, v in sizes[invalid].items())))
        sizes = sizes[~invalid]
    return sizes


def load_rates(params) -> tuple["RateRows", tuple[DataIssue, ...]]:
    """The aggregated-rates input of ``params.data_format`` (``rates``: :func:`.aggregated.read_rates` on
    ``rates_path``; ``personality_illusion``: Han et al.'s folder through :mod:`.personality_illusion`)."""
    from studykit.studies.sycophancy_correlation.aggregated import read_rates
    from studykit.studies.sycophancy_correlation.personality_illusion import read_personality_illusion

    if params.data_format == "personality_illusion":
        return read_personality_illusion(params.personality_illusion_dir, likert_points=params.likert_points)
    if params.data_format == "rates":
        return read_rates(params.rates_path, condition_columns=params.rates_condition_columns,
                          score_column=params.agreeableness_column or "agreeableness",
                          likert_points=params.likert_points)
    raise InputError(f"load_rates: data_format '{params.data_format}' is not an aggregated-rates format")
