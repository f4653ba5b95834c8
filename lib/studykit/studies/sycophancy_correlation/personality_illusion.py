"""The Personality Illusion adapter (``data_format: personality_illusion``): Han et al.'s folder -> a rates table.

Data: Han, Kocielnik, Song, Debnath, Mobbs, Anandkumar & Alvarez (2026), *The Personality Illusion: Revealing
Dissociation Between Self-Reports & Behavior in LLMs* (ICML 2026), repository psychology-of-AI/Personality-Illusion
(MIT), read in place from ``../shared/data/sycophancy_personality_illusion/``. Files read:

* ``data/persona_injection/agreeableness/prompt_strategy_{1,2,3}.csv``: per model x persona (``persona_index``
  1-3: three agreeable personas) x temperature (``temp``) x run, the model's Big-Five self-report under the persona
  (``agreeableness`` on 1-5) and ``sycophancy_rate`` (percent of 52 moral dilemmas on which the model changed its
  answer after push-back). The strategy is the wording of the persona prompt.
* ``data/baseline_responses/instruct_models_behavioral_tasks.csv`` (``sycophancy_rate``) and
  ``instruct_models_selfreport.csv`` (``agreeableness``): the same models without a persona, joined on
  (model, persona_index, temp, run) -- upstream numbers its 27 baseline repeats per model by those columns.

Rows of the rates table: ``model``, ``persona_id`` = ``p<persona_index>`` (``baseline`` without a persona; one
persona is the same adjectives under every strategy), conditions ``strategy`` (1-3; ``none`` for the baseline),
``temperature``, ``run`` (the baseline's ``persona_index`` is folded into ``run`` as ``<index>.<run>``), the
self-reported ``agreeableness``, ``rate`` = sycophancy_rate / 100 and ``n_trials`` = 52. A percentage outside
0-100 or a missing file or column is one line naming the file. Some rates are not a whole number of the 52
dilemmas (upstream dropped unparsable answers from a run's denominator); the rate is kept as published, weighted
by 52 trials, and the number of such rows is reported (``rate_not_whole_count``).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from studykit.contract.errors import InputError
from studykit.contract.issues import DataIssue
from studykit.files.paths import resolve
from studykit.studies.sycophancy_correlation.aggregated import RateRows, validate_rates
from studykit.studies.sycophancy_correlation.schema import BASELINE_ID
from studykit.files.tables import read_table, require_columns

N_DILEMMAS = 52
STRATEGIES = (1, 2, 3)
PERSONA_DIR = Path("data/persona_injection/agreeableness")
BEHAVIOUR = Path("data/baseline_responses/instruct_models_behavioral_tasks.csv")
SELF_REPORT = Path("data/baseline_responses/instruct_models_selfreport.csv")
UPSTREAM_KEYS = ("Model", "persona_index", "temp", "run")
CONDITIONS = ("strategy", "temperature", "run")


def _read(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    if not path.is_file():
        raise InputError(f"personality_illusion: file not found: {path} (the upstream folder's layout is expected)")
    df = read_table(path, what=f"personality_illusion file {path}")
    require_columns(df, columns, f"personality_illusion file {path}")
    return df[list(columns)]


def _percent(df: pd.DataFrame, path: Path) -> pd.Series:
    v = pd.to_numeric(df["sycophancy_rate"], errors="coerce")
    bad = v.notna() & ((v < 0) | (v > 100))
    if bad.any():
        raise InputError(f"personality_illusion file {path}: column 'sycophancy_rate' is a percentage; "
                         f"{int(bad.sum())} values lie outside 0-100 (e.g. {v[bad].iloc[0]:g})")
    return v.where(v.notna(), df["sycophancy_rate"])  # non-numeric text stays for the schema check's message


def upstream_table(folder: str | Path) -> tuple[pd.DataFrame, tuple[DataIssue, ...]]:
    """The upstream CSVs as one rates table (persona rows of the three strategies, then the baseline)."""
    root = resolve(folder)
    if not root.is_dir():
        raise InputError(f"personality_illusion: folder not found: {root}")
    cols = (*UPSTREAM_KEYS, "agreeableness", "sycophancy_rate")
    parts = []
    for s in STRATEGIES:
        path = root / PERSONA_DIR / f"prompt_strategy_{s}.csv"
        df = _read(path, cols)
        parts.append(pd.DataFrame({
            "model": df["Model"], "persona_id": "p" + df["persona_index"].astype(str), "strategy": str(s),
            "temperature": df["temp"].astype(str), "run": df["run"].astype(str),
            "agreeableness": df["agreeableness"], "rate": _percent(df, path)}))
    beh = _read(root / BEHAVIOUR, (*UPSTREAM_KEYS, "sycophancy_rate"))
    beh = beh.assign(sycophancy_rate=_percent(beh, root / BEHAVIOUR))
    rep = _read(root / SELF_REPORT, (*UPSTREAM_KEYS, "agreeableness"))
    for name, df in (("behaviour", beh), ("self-report", rep)):
        dup = df.duplicated(list(UPSTREAM_KEYS))
        if dup.any():
            path = root / (BEHAVIOUR if name == "behaviour" else SELF_REPORT)
            raise InputError(f"personality_illusion file {path}: {int(dup.sum())} rows repeat a "
                             f"({', '.join(UPSTREAM_KEYS)}) key")
    base = beh.merge(rep, on=list(UPSTREAM_KEYS), how="outer", indicator=True)
    issues = []
    unmatched = base["_merge"] != "both"
    if unmatched.any():
        issues.append(DataIssue("baseline_unmatched", int(unmatched.sum()),
                                "baseline row without its self-report (or the reverse): kept with the missing "
                                "value empty", f"{int((base['_merge'] == 'left_only').sum())} behaviour only, "
                                f"{int((base['_merge'] == 'right_only').sum())} self-report only"))
    parts.append(pd.DataFrame({
        "model": base["Model"], "persona_id": BASELINE_ID, "strategy": "none",
        "temperature": base["temp"].astype(str),
        "run": base["persona_index"].astype(str) + "." + base["run"].astype(str),
        "agreeableness": base["agreeableness"], "rate": base["sycophancy_rate"]}))
    table = pd.concat(parts, ignore_index=True)
    pct = pd.to_numeric(table["rate"], errors="coerce")
    table["rate"] = (pct / 100).where(pct.notna(), table["rate"])
    table["n_trials"] = N_DILEMMAS
    count = pct * N_DILEMMAS / 100
    fractional = count.notna() & (np.abs(count - count.round()) > 1e-6)
    if fractional.any():
        issues.append(DataIssue("rate_not_whole_count", int(fractional.sum()),
                                f"rate kept as published and weighted by {N_DILEMMAS} trials (upstream left "
                                "unparsable answers out of a run's denominator)",
                                f"{int(fractional[table['persona_id'] != BASELINE_ID].sum())} persona rows, "
                                f"{int(fractional[table['persona_id'] == BASELINE_ID].sum())} baseline rows"))
    return table, tuple(issues)


def read_personality_illusion(folder: str | Path, *, likert_points: int = 5) -> tuple[RateRows, tuple[DataIssue, ...]]:
    """Read Han et al.'s folder into validated rate rows (:func:`.aggregated.validate_rates`)."""
    table, issues = upstream_table(folder)
    rows, more = validate_rates(table, where=f"personality_illusion folder {resolve(folder)}",
                                condition_columns=CONDITIONS, score_range=(1.0, float(likert_points)))
    return rows, issues + more
