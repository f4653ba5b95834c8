"""Reading the raw data: the long format, and the MedPerturb adapter (BBQ: :mod:`.bbq`).

Every function returns the data plus the data issues found
(:class:`studykit.contract.issues.DataIssue`: the problem and the documented rule applied),
which the notebook reports through :meth:`studykit.contract.outputs.Outputs.note_issues`;
nothing is dropped silently and the raw file is only read.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from studykit.contract.errors import InputError
from studykit.contract.issues import DataIssue
from studykit.files.paths import resolve
from studykit.stats.results import Result
from studykit.files.tables import read_table, require_columns

from .bbq import BBQ_COLUMNS, REFERENCE_WORDING, bbq_long
from .schema import ALL_TASKS, KINDS, MEDPERTURB_COLUMNS, OPTIONAL, REQUIRED

@dataclass(frozen=True, eq=False)
class StudyData(Result):
    """The validated long frame and (MedPerturb) the defective-baseline audit.

    ``source`` is ``"long"``, ``"medperturb"`` or ``"bbq"``; ``n_rows`` the rows of ``frame``.
    """

    frame: pd.DataFrame
    defects: pd.DataFrame = field(default_factory=pd.DataFrame)
    source: str = "long"

    @property
    def n_rows(self) -> int:
        return len(self.frame)


# ---------------------------------------------------------------------------------------------
# long format
# ---------------------------------------------------------------------------------------------
def shown(value: Any, width: int = 60) -> str:
    """A value from data as it may appear in a one-line message: control characters escaped, cut to ``width``."""
    text = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in str(value))
    return text if len(text) <= width else text[: width - 3] + "..."


def _canonical_label(v: Any) -> Any:
    """0/1 read as floats become '0'/'1'; strings are stripped; blanks become NaN."""
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return np.nan
    if isinstance(v, (bool, np.bool_)):
        return str(int(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return str(int(v)) if float(v).is_integer() else repr(float(v))
    s = str(v).strip()
    if s == "" or s.lower() in ("nan", "na", "none", "null"):
        return np.nan
    try:
        f = float(s)
        if f.is_integer():
            return str(int(f))
    except ValueError:
        pass
    return s


def validate_long(df: pd.DataFrame, what: str = "input") -> tuple[pd.DataFrame, list[DataIssue]]:
    """Check a long-format frame and return a typed copy plus the data issues found.

    Raises :class:`InputError` (one line naming the column) for a missing
    column, an unknown ``variant_kind``, a variant with two kinds,
    ``p_positive`` outside [0, 1], a ``direction`` other than +1/-1, or two
    different rows for the same item x variant x model x task x repeat.
    Reported rules: blank answers are kept as missing (the item is left out
    of every comparison that needs that answer); rows that repeat an earlier
    row exactly are dropped.
    """
    require_columns(df, REQUIRED, what)
    if len(df) == 0:
        raise InputError(f"{what}: no rows")
    out = pd.DataFrame({c: df[c] for c in REQUIRED + tuple(c for c in OPTIONAL if c in df.columns)})
    for c in ("item_id", "variant", "variant_kind", "model"):
        if out[c].isna().any():
            raise InputError(f"{what}: column '{c}' has {int(out[c].isna().sum())} blank value(s)")
        out[c] = out[c].astype(str).str.strip()
        if (out[c] == "").any():
            raise InputError(f"{what}: column '{c}' has {int((out[c] == '').sum())} blank value(s)")
    out["variant_kind"] = out["variant_kind"].str.lower()
    bad = sorted(set(out["variant_kind"]) - set(KINDS))
    if bad:
        raise InputError(f"{what}: column 'variant_kind' has value '{shown(bad[0])}' (allowed: {', '.join(KINDS)})")
    kinds = out.groupby("variant")["variant_kind"].nunique()
    if (kinds > 1).any():
        v = kinds[kinds > 1].index[0]
        raise InputError(f"{what}: variant '{shown(v)}' appears with more than one variant_kind")
    if "task" in out.columns:
        out["task"] = out["task"].where(out["task"].notna(), ALL_TASKS).astype(str).str.strip()
    else:
        out["task"] = ALL_TASKS
    if "repeat" in out.columns:
        if out["repeat"].isna().any():
            raise InputError(f"{what}: column 'repeat' has {int(out['repeat'].isna().sum())} blank value(s)")
        out["repeat"] = out["repeat"].astype(str)
    else:
        out["repeat"] = "0"
    out["prediction"] = out["prediction"].map(_canonical_label).astype(object)
    issues: list[DataIssue] = []
    if "p_positive" in out.columns:
        p = pd.to_numeric(out["p_positive"], errors="coerce")
        nonnum = p.isna() & out["p_positive"].notna()
        if nonnum.any():
            raise InputError(f"{what}: column 'p_positive' has {int(nonnum.sum())} non-numeric value(s)")
        outside = p.notna() & ((p < 0) | (p > 1))
        if outside.any():
            i = outside.idxmax()
            raise InputError(f"{what}: column 'p_positive' has {int(outside.sum())} value(s) outside [0, 1] "
                             f"(e.g. {p[i]:g} for item {shown(out.at[i, 'item_id'])})")
        out["p_positive"] = p.astype(float)
        if p.isna().all():
            out = out.drop(columns="p_positive")
        elif p.isna().any():
            issues.append(DataIssue("blank_probability", int(p.isna().sum()),
                                    "rows with a blank p_positive are left out of the distributional metrics "
                                    "(JS, KL) and the logit regression; their answers are still used"))
    if "direction" in out.columns:
        d = pd.to_numeric(out["direction"], errors="coerce")
        bad_d = out["direction"].notna() & ~d.isin([1, -1])
        if bad_d.any():
            i = bad_d.idxmax()
            raise InputError(f"{what}: column 'direction' must be +1 or -1 (got {shown(out.at[i, 'direction'])!r} "
                             f"for item {shown(out.at[i, 'item_id'])})")
        out["direction"] = d.astype(float)
        if d.isna().all():
            out = out.drop(columns="direction")
    if "group" in out.columns:
        out["group"] = out["group"].astype("string").astype(object)
    key = ["item_id", "variant", "model", "task", "repeat"]
    exact = out.duplicated(keep="first")
    if exact.any():
        ex = out[exact].iloc[0]
        issues.append(DataIssue("duplicate_rows", int(exact.sum()),
                                "rows identical to an earlier row in every column are dropped (one copy kept); "
                                "rows that share item_id x variant x model x task x repeat but differ are an "
                                "error",
                                f"e.g. item {shown(ex.item_id)}, variant {shown(ex.variant)}, model {shown(ex.model)}"))
        out = out[~exact]
    dup = out.duplicated(key, keep=False)
    if dup.any():
        r = out[dup].iloc[0]
        raise InputError(f"{what}: {int(dup.sum())} rows share item_id x variant x model x task x repeat "
                         f"(e.g. item {shown(r.item_id)}, variant {shown(r.variant)}, model {shown(r.model)}); "
                         "add a 'repeat' column for repeated answers")
    blank = out["prediction"].isna()
    issues.append(DataIssue("blank_prediction", int(blank.sum()),
                            "a blank answer counts as missing: the item is left out of every flip or "
                            "comparison that needs it (no imputation); reported even when there are none"))
    return out.reset_index(drop=True), issues


def read_long(path: str | Path) -> tuple[pd.DataFrame, list[DataIssue]]:
    """Read and validate a long-format file (CSV, TSV, Parquet or JSONL)."""
    df = read_table(path, what="counterfactual data")
    return validate_long(df, what=f"counterfactual data {resolve(path).name}")


# ---------------------------------------------------------------------------------------------
# MedPerturb
# ---------------------------------------------------------------------------------------------
#: MedPerturb ``dataset_id`` -> variant name (README of the data).
MEDPERTURB_VARIANTS = {
    1: "original", 2: "gender_swap", 3: "gender_remove", 4: "uncertain", 5: "colorful",
    6: "gender_swap_baseline", 7: "gender_remove_baseline", 8: "uncertain_baseline", 9: "colorful_baseline",
}
MEDPERTURB_MODELS = ("GPT4", "LLAMA3", "LLAMA3-70", "PALMYRA-MED")
MEDPERTURB_TASKS = ("MANAGE", "VISIT", "RESOURCE")
CLINICIANS = "CLINICIANS"

#: Wording of the paraphrasing model talking about its task instead of paraphrasing:
#: refusals and requests mention the tokenizer, the edit-distance target or the paraphrase itself,
#: or leak chat-template tokens. None of the 800 original and perturbed texts contains these words.
DEFECT_WORDING = re.compile(
    r"tokeni[sz]er|edit[- ]?distance|token[- ](?:level|edit|change)|of (?:the )?tokens|\bparaphras|"
    r"assistant to=|\blevenshtein\b",
    re.IGNORECASE,
)


def _kind_of(variant: str) -> str:
    if variant == "original":
        return "original"
    return "baseline" if variant.endswith("_baseline") else "target"


def detect_defective_baselines(wide: pd.DataFrame, min_length_ratio: float = 0.5) -> pd.DataFrame:
    """Flag baseline rows (``dataset_id`` 6-9) that are not paraphrases.

    A baseline is flagged when its text uses the wording of the paraphrasing
    task (:data:`DEFECT_WORDING`: refusals, requests for the tokenizer,
    template leaks), or when it is shorter than ``min_length_ratio`` times
    its original (a truncated rewrite cannot preserve the meaning).

    Returns one row per baseline row: ``row`` (index in ``wide``), ``item_id``,
    ``variant``, ``length_ratio`` = len(baseline) / len(original) (characters),
    ``wording``, ``too_short``, ``defective``, ``excerpt``.
    """
    w = wide.copy()
    w["item_id"] = w["dataset"].astype(str) + ":" + w["context_id"].astype(str)
    orig = w[w["dataset_id"] == 1].drop_duplicates("item_id").set_index("item_id")["clinical_context"]
    b = w[w["dataset_id"] >= 6]
    text = b["clinical_context"].fillna("").astype(str)
    olen = b["item_id"].map(orig.fillna("").astype(str).str.len())
    ratio = text.str.len() / olen.where(olen > 0)
    wording = text.str.contains(DEFECT_WORDING)
    short = ratio.notna() & (ratio < min_length_ratio)
    res = pd.DataFrame({
        "row": b.index, "item_id": b["item_id"].values,
        "variant": b["dataset_id"].map(MEDPERTURB_VARIANTS).values,
        "length_ratio": ratio.values, "wording": wording.values, "too_short": short.values,
    })
    res["defective"] = res["wording"] | res["too_short"]
    res["excerpt"] = text.str.slice(0, 90).str.replace(r"\s+", " ", regex=True).values
    return res.reset_index(drop=True)


def adapt_medperturb(
    wide: pd.DataFrame,
    *,
    min_length_ratio: float = 0.5,
    include_clinicians: bool = True,
    exclude_defective: bool = True,
) -> tuple[StudyData, tuple[DataIssue, ...]]:
    """MedPerturb's wide CSV -> the study's long format, and the data issues found.

    * item_id = ``dataset:context_id``; variant from ``dataset_id`` (1-9, see
      :data:`MEDPERTURB_VARIANTS`); variant_kind original / target / baseline.
    * one row per item x variant x model x task, prediction = ``<MODEL>_<TASK>``
      (0/1); blank cells are missing answers. Models that did not answer a
      variant (GPT4 and PALMYRA-MED on the baselines) have blank cells there:
      those rows are not created, and this is reported, not treated as blanks.
    * ``group`` = original patient gender; ``direction`` on gender_swap rows
      = +1 for a male->female swap and -1 for female->male.
    * clinicians (optional): model ``CLINICIANS`` with the three clinicians'
      reads as repeats 1-3 (variants 1-5 only), a human reference.
    * rows sharing ``dataset`` x ``context_id`` x ``dataset_id`` are ambiguous
      (the real file has two such pairs): all copies are dropped and reported.
    * baseline rows flagged by :func:`detect_defective_baselines` are dropped
      when ``exclude_defective`` (default) and reported either way.
    """
    w, models = _checked_wide(wide)
    w, issues = _without_ambiguous_rows(w)
    defects = detect_defective_baselines(w, min_length_ratio)
    issues.append(_defective_baselines_issue(defects, min_length_ratio, exclude_defective))
    w = w.join(defects.set_index("row")[["defective"]], how="left")
    w["defective"] = w["defective"].astype("boolean").fillna(False).astype(bool)
    w = _with_variant_columns(w)

    base = ["item_id", "variant", "variant_kind", "group", "direction", "defective"]
    parts, not_answered = _model_answer_rows(w, models, base)
    if include_clinicians:
        parts += _clinician_rows(w, base)
    long = pd.concat(parts, ignore_index=True)
    issues += _not_answered_issues(not_answered)
    if exclude_defective:
        long = long[~(long["defective"] & (long["variant_kind"] == "baseline"))]
    long = long.drop(columns="defective")
    frame, more = validate_long(long, what="MedPerturb data (adapted)")
    return StudyData(frame=frame, defects=defects, source="medperturb"), tuple(issues + more)


def _checked_wide(wide: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """A copy of the wide file with integer dataset_id, and the models with an answer column.

    Refused: a missing column, no ``<MODEL>_<TASK>`` column, a dataset_id outside 1-9.
    """
    require_columns(wide, MEDPERTURB_COLUMNS, "MedPerturb data")
    models = [m for m in MEDPERTURB_MODELS if any(f"{m}_{t}" in wide.columns for t in MEDPERTURB_TASKS)]
    if not models:
        raise InputError("MedPerturb data: no answer column '<MODEL>_<TASK>' (e.g. 'LLAMA3_MANAGE')")
    ids = pd.to_numeric(wide["dataset_id"], errors="coerce")
    bad_ids = ~ids.isin(list(MEDPERTURB_VARIANTS))
    if bad_ids.any():
        raise InputError(f"MedPerturb data: column 'dataset_id' has {int(bad_ids.sum())} value(s) outside 1-9 "
                         f"(e.g. {wide.loc[bad_ids.idxmax(), 'dataset_id']!r})")
    w = wide.copy()
    w["dataset_id"] = ids.astype(int)
    return w, models


def _without_ambiguous_rows(w: pd.DataFrame) -> tuple[pd.DataFrame, list[DataIssue]]:
    """``w`` without every copy of rows sharing dataset x context_id x dataset_id, and the issue reporting them."""
    issues: list[DataIssue] = []
    dup = w.duplicated(["dataset", "context_id", "dataset_id"], keep=False)
    if dup.any():
        d = w[dup]
        detail = "; ".join(sorted({f"{r.dataset}:{r.context_id} variant {MEDPERTURB_VARIANTS[r.dataset_id]}"
                                   for r in d.itertuples()}))
        issues.append(DataIssue("ambiguous_duplicate_rows", int(dup.sum()),
                                "rows sharing dataset x context_id x dataset_id cannot be told apart: all copies "
                                "are dropped (that variant counts as missing for that case)", detail))
        w = w[~dup]
    return w, issues


def _defective_baselines_issue(defects: pd.DataFrame, min_length_ratio: float, exclude_defective: bool) -> DataIssue:
    """The issue reporting the defective baseline rows (task wording, too short) and what is done with them."""
    n_def = int(defects["defective"].sum())
    n_w = int(defects["wording"].sum())
    n_s = int((defects["too_short"] & ~defects["wording"]).sum())
    rule = ("excluded from the baselines (results with them included are shown as a sensitivity analysis)"
            if exclude_defective else "kept (exclude_defective is false)")
    return DataIssue("defective_baseline_rows", n_def,
                     f"baseline texts that are not paraphrases are {rule}",
                     f"{n_w} with task wording (refusals, tokenizer/edit-distance requests, template "
                     f"leaks), {n_s} more shorter than {min_length_ratio:g} x the original; "
                     f"of {len(defects)} baseline rows")


def _with_variant_columns(w: pd.DataFrame) -> pd.DataFrame:
    """Add item_id, variant, variant_kind, group (original gender) and the gender swap's direction."""
    w["item_id"] = w["dataset"].astype(str) + ":" + w["context_id"].astype(str)
    w["variant"] = w["dataset_id"].map(MEDPERTURB_VARIANTS)
    w["variant_kind"] = w["variant"].map(_kind_of)
    gender = w["original_patient_gender"].astype(str).str.strip().str.upper()
    w["group"] = gender.where(gender.isin(["F", "M"]))
    w["direction"] = np.where(w["variant"].isin(["gender_swap", "gender_swap_baseline"]),
                              np.where(gender == "M", 1.0, np.where(gender == "F", -1.0, np.nan)), np.nan)
    # the baseline of gender_swap is not directional: only the target carries the direction
    w.loc[w["variant"] != "gender_swap", "direction"] = np.nan
    return w


def _model_answer_rows(w: pd.DataFrame, models: list[str],
                       base: list[str]) -> tuple[list[pd.DataFrame], dict[str, set[str]]]:
    """Long rows of every model x task answer column, and per model the variants it did not answer.

    A model that answered no row of a variant did not run that variant: it gets no rows there.
    """
    parts = []
    not_answered: dict[str, set[str]] = {}
    for m in models:
        for t in MEDPERTURB_TASKS:
            col = f"{m}_{t}"
            if col not in w.columns:
                continue
            part = w[base].copy()
            part["model"], part["task"], part["repeat"] = m, t, "0"
            part["prediction"] = w[col].map(_canonical_label).astype(object)
            answered = part.groupby("variant")["prediction"].apply(lambda s: s.notna().any())
            skipped = answered[~answered].index.tolist()
            if skipped:
                not_answered.setdefault(m, set()).update(skipped)
                part = part[~part["variant"].isin(skipped)]
            parts.append(part)
    return parts, not_answered


def _clinician_rows(w: pd.DataFrame, base: list[str]) -> list[pd.DataFrame]:
    """Long rows of the three clinicians' reads (model CLINICIANS, repeats 1-3; variants 1-5 only)."""
    parts = []
    for t in MEDPERTURB_TASKS:
        for k in (1, 2, 3):
            col = f"{t}_{k}"
            if col not in w.columns:
                continue
            part = w.loc[w["dataset_id"] <= 5, base].copy()
            part["model"], part["task"], part["repeat"] = CLINICIANS, t, str(k)
            part["prediction"] = w.loc[w["dataset_id"] <= 5, col].map(_canonical_label).astype(object)
            parts.append(part)
    return parts


def _not_answered_issues(not_answered: dict[str, set[str]]) -> list[DataIssue]:
    """One issue per model with variants it did not answer (it gets raw flip rates only there)."""
    issues = []
    for m, vs in sorted(not_answered.items()):
        kinds = {_kind_of(v) for v in vs}
        what = "baselines" if kinds == {"baseline"} else "variants"
        issues.append(DataIssue(f"not_answered.{m}", len(vs),
                                f"{m} has no answers on these {what}: it gets raw perturbation flip rates only, "
                                "no target-vs-baseline test", ", ".join(sorted(vs))))
    return issues


def read_medperturb(path: str | Path, **kw: Any) -> tuple[StudyData, tuple[DataIssue, ...]]:
    """Read the MedPerturb CSV (with baselines) and adapt it (see :func:`adapt_medperturb`)."""
    wide = read_table(path, what="MedPerturb data")
    return adapt_medperturb(wide, **kw)


# ---------------------------------------------------------------------------------------------
# BBQ (the rules are in .bbq)
# ---------------------------------------------------------------------------------------------
def adapt_bbq(raw: pd.DataFrame, *, reference: str = REFERENCE_WORDING) -> tuple[StudyData, tuple[DataIssue, ...]]:
    """BBQ answers by model x instruction wording x example -> the validated long format and the data issues
    (answer roles, gender-swap pairs and variants: :func:`.bbq.bbq_long`)."""
    long, issues = bbq_long(raw, reference=reference)
    frame, more = validate_long(long, what="BBQ data (adapted)")
    return StudyData(frame=frame, source="bbq"), tuple(issues + more)


def read_bbq(path: str | Path, **kw: Any) -> tuple[StudyData, tuple[DataIssue, ...]]:
    """Read the BBQ predictions file (CSV, optionally gzipped) and adapt it (see :func:`adapt_bbq`)."""
    raw = read_table(path, columns=BBQ_COLUMNS, what="BBQ data")
    return adapt_bbq(raw, **kw)


def load(params: Any) -> tuple[StudyData, tuple[DataIssue, ...]]:
    """Read ``params.data_path`` in ``params.data_format`` and validate it; return the data and its issues."""
    if params.data_format == "bbq":
        return read_bbq(params.data_path)
    if params.data_format == "medperturb":
        return read_medperturb(params.data_path, min_length_ratio=params.min_length_ratio,
                               include_clinicians=params.include_clinicians,
                               exclude_defective=params.exclude_defective)
    frame, issues = read_long(params.data_path)
    return StudyData(frame=frame, source="long"), tuple(issues)
