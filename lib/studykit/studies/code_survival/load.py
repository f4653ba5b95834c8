"""Reading and checking line-events tables (mined or simulated).

Rules (each problem is reported as a :class:`studykit.contract.issues.DataIssue` for
``out.note_issues``, or raises a one-line :class:`InputError` naming the column):

- a required column missing, an empty table, or ``author_type`` / ``event``
  holding other values than ``agent``/``human`` and 0/1: error;
- ``repo`` or ``unit_id`` empty or NaN: the row is dropped and counted
  (``missing_ids``; a unit without identity cannot be clustered or deduplicated);
- exact duplicate rows: all but the first dropped and counted
  (``duplicate_rows``); two different rows with the same ``(repo, unit_id)``:
  error (which one is right cannot be told);
- ``born_at`` unparseable: error with the number of rows (the birth time is the
  origin of every duration, so no rule can repair it);
- ``ended_at`` unparseable or missing where ``event = 1``: the row is dropped
  and counted (``bad_end_time``);
- ``born_at`` or ``ended_at`` later than the time of the run (impossible for
  mined history; typically a wrong year): the row is dropped and counted
  (``future_dates``); earlier than 1980-01-01 (:data:`.minetable.DATE_FLOOR`,
  a clock at the Unix epoch): dropped and counted (``dates_before_floor``);
- ``observed_until`` later than the time of the run: set to the repository's
  latest ``born_at``/``ended_at`` and counted (``observed_until_capped``), so
  follow-up never reaches into the future; earlier than 1980: treated as
  missing (``observed_until_before_floor``);
- no ``observed_until`` column (or an empty or unparseable value): each
  repository is censored at its latest ``born_at``/``ended_at``
  (``observed_until_inferred``); ``born_at`` after ``observed_until``: the
  row is dropped and counted (``born_after_observed_until``);
- an end before the birth (clock skew between rebased commits): the duration is
  set to 0 and counted (``negative_durations``);
- optional process columns absent (``commit_lines_added``,
  ``commit_lines_deleted``, ``commit_files``): filled with a constant (1, 0, 1)
  and counted (``optional_columns_absent``); the Cox models then drop the
  constant covariate (reported there); ``file_ext`` absent: taken from the path;
- optional process values that are not whole numbers between 0 and
  :data:`MAX_COMMIT_LINES` (text such as ``"many"``, NaN, negative, 1e30):
  replaced by the column's median of valid values and counted
  (``bad_commit_size``);
- no agent units or no human units at all: error (nothing to compare);
  repositories with only one author type are kept and counted
  (``repos_single_author_type``): they add to the baselines; the stratified
  Cox model uses only repositories with both.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from studykit.contract.errors import InputError
from studykit.contract.issues import DataIssue, examples
from studykit.files.tables import read_table, require_columns
from studykit.studies.code_survival.minetable import DATE_FLOOR
from studykit.studies.code_survival.schema import REQUIRED_COLUMNS

#: Largest valid number of lines (or files) of one commit; larger values are data errors.
MAX_COMMIT_LINES = 10**9
#: Optional process columns and the constant used when a column is absent.
PROCESS_DEFAULTS = (("commit_lines_added", 1), ("commit_lines_deleted", 0), ("commit_files", 1))


def _parse_times(s: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(s):
        return s.dt.tz_localize("UTC") if s.dt.tz is None else s.dt.tz_convert("UTC")
    s2 = s.astype("string").str.strip().replace({"": pd.NA})
    return pd.to_datetime(s2, utc=True, errors="coerce", format="ISO8601")


def _blank(s: pd.Series) -> pd.Series:
    """True where a value is missing or only whitespace."""
    return _per_distinct(s, _blank_values, missing=True)


def _blank_values(s: pd.Series) -> pd.Series:
    return s.isna() | s.astype("string").str.strip().fillna("").eq("")


def _per_distinct(s: pd.Series, f, missing: Any = None) -> pd.Series:
    """``f(s)`` (an elementwise map of a Series) computed once per distinct value: a column of millions of rows
    holds few repositories, agents or author types. Used when every value is text (equal values are then the same
    string, so they map alike); missing values get ``missing``; otherwise ``f(s)`` itself."""
    if s.dtype != object or len(s) == 0:
        return f(s)
    codes, uniques = pd.factorize(s.to_numpy())
    if not all(isinstance(u, str) for u in uniques) or ((codes < 0).any() and missing is None):
        return f(s)
    mapped = f(pd.Series(uniques, dtype=object)).to_numpy()
    if (codes < 0).any():
        mapped = np.append(mapped, np.array([missing], dtype=mapped.dtype))
    return pd.Series(mapped[codes], index=s.index, name=s.name)


def _as_text(s: pd.Series) -> pd.Series:
    """``s.fillna("").astype(str)``; a column that is already all text (no missing value) is returned as is."""
    if s.dtype == object and pd.api.types.infer_dtype(s, skipna=False) == "string":
        return s
    return s.fillna("").astype(str)


def _process_column(out: pd.DataFrame, col: str, default: int, issues: list[DataIssue]) -> None:
    """Coerce one optional process column to int64 by the module's rules (in place)."""
    raw = out[col]
    num = pd.to_numeric(raw, errors="coerce").astype(float)
    bad = ~np.isfinite(num) | (num < 0) | (num > MAX_COMMIT_LINES) | (num != np.floor(num))
    if bad.any():
        good = num[~bad]
        fill = int(np.median(good)) if len(good) else default
        issues.append(DataIssue("bad_commit_size", int(bad.sum()),
                                f"'{col}' values that are not whole numbers in 0..{MAX_COMMIT_LINES:,} replaced by "
                                f"the column median ({fill})", examples(raw[bad])))
        num = num.where(~bad, fill)
    out[col] = num.astype(np.int64)


def prepare_events(df: pd.DataFrame, what: str = "line events", now: Any = None
                   ) -> tuple[pd.DataFrame, tuple[DataIssue, ...]]:
    """Check and normalise a line-events table; return (clean copy, issues). See the module rules.

    ``now`` is the time of the run (default: the current time; tests pass a fixed one). The rules run in
    order: identifiers, column types, dates, censoring and durations, normalised columns, both author types.
    """
    require_columns(df, REQUIRED_COLUMNS, what)
    issues: list[DataIssue] = []
    if len(df) == 0:
        raise InputError(f"{what}: the table has no rows")
    now = pd.Timestamp.now(tz="UTC") if now is None else pd.Timestamp(now)
    out = _with_unique_ids(df, what, issues)
    out = _with_checked_types(out, what, issues)
    out = _within_dates(out, what, now, issues)
    out = _with_durations(out, what, now, issues)
    out = _with_normalised_columns(out, issues)
    _check_both_author_types(out, what, issues)
    return out.reset_index(drop=True), tuple(issues)


def _with_unique_ids(df: pd.DataFrame, what: str, issues: list[DataIssue]) -> pd.DataFrame:
    """Rows without repo or unit_id dropped, exact duplicate rows dropped; an id shared by differing rows refused."""
    out = df.copy()
    noid = _blank(out["repo"]) | _blank(out["unit_id"])
    if noid.any():
        issues.append(DataIssue("missing_ids", int(noid.sum()), "rows with an empty repo or unit_id dropped"))
        out = out[~noid].copy()
        if len(out) == 0:
            raise InputError(f"{what}: every row has an empty 'repo' or 'unit_id'")
    out["repo"] = _per_distinct(out["repo"], lambda v: v.astype(str).str.strip())
    out["unit_id"] = _per_distinct(out["unit_id"], lambda v: v.astype(str).str.strip())
    same_id = out.duplicated(["repo", "unit_id"], keep=False)
    if same_id.any():  # exact duplicate rows share their id: only then is there anything to look for
        try:
            dup = out.duplicated()
        except TypeError:  # unhashable cells (lists read from JSONL): compare their text
            dup = out.astype(str).duplicated()
        if dup.any():
            issues.append(DataIssue("duplicate_rows", int(dup.sum()), "exact duplicate rows dropped (the first "
                                    "kept)"))
            out = out[~dup].copy()
        same_id = out.duplicated(["repo", "unit_id"], keep=False)
    if same_id.any():
        raise InputError(f"{what}: column 'unit_id' is not unique within a repository ({int(same_id.sum())} rows "
                         f"share an id but differ, e.g. {out.loc[same_id, 'unit_id'].iloc[0]!r})")
    return out


def _with_checked_types(out: pd.DataFrame, what: str, issues: list[DataIssue]) -> pd.DataFrame:
    """author_type (agent/human), event (0/1) and the two times parsed; a recorded end without a time dropped."""
    at = _per_distinct(out["author_type"], lambda v: v.astype("string").str.strip().str.lower(), missing=pd.NA)
    bad = ~at.isin(["agent", "human"]).fillna(False).astype(bool)
    if bad.any():
        raise InputError(f"{what}: column 'author_type' must be agent or human "
                         f"({int(bad.sum())} rows hold e.g. {at[bad].iloc[0]!r})")
    out["author_type"] = at.astype(object)
    ev = pd.to_numeric(out["event"], errors="coerce")
    if not ev.isin([0, 1]).all():
        raise InputError(f"{what}: column 'event' must be 0 or 1 ({int((~ev.isin([0, 1])).sum())} rows are not)")
    out["event"] = ev.astype(np.int64)
    out["born_at"] = _parse_times(out["born_at"])
    if out["born_at"].isna().any():
        raise InputError(f"{what}: column 'born_at' has {int(out['born_at'].isna().sum())} unparseable or empty "
                         "dates (ISO 8601 expected)")
    out["ended_at"] = _parse_times(out["ended_at"])
    badend = (out["event"] == 1) & out["ended_at"].isna()
    if badend.any():
        issues.append(DataIssue("bad_end_time", int(badend.sum()), "rows with event=1 and no parseable ended_at dropped"))
        out = out[~badend].copy()
    out.loc[out["event"] == 0, "ended_at"] = pd.NaT
    return out


def _within_dates(out: pd.DataFrame, what: str, now: pd.Timestamp, issues: list[DataIssue]) -> pd.DataFrame:
    """Rows dated after the time of the run or before :data:`DATE_FLOOR` dropped."""
    future = (out["born_at"] > now) | (out["ended_at"] > now)
    if future.any():
        issues.append(DataIssue("future_dates", int(future.sum()),
                                "rows with born_at or ended_at after the time of the run dropped",
                                examples(out.loc[future, "born_at"].dt.strftime("%Y-%m-%d"))))
        out = out[~future].copy()
    early = (out["born_at"] < DATE_FLOOR) | (out["ended_at"] < DATE_FLOOR)
    if early.any():
        issues.append(DataIssue("dates_before_floor", int(early.sum()),
                                f"rows with born_at or ended_at before {DATE_FLOOR:%Y-%m-%d} (a clock at the Unix "
                                "epoch) dropped", examples(out.loc[early, "born_at"].dt.strftime("%Y-%m-%d"))))
        out = out[~early].copy()
    if len(out) == 0:
        raise InputError(f"{what}: no rows left after the date rules (see the data issues: every born_at or "
                         "ended_at is after the time of the run or before 1980)")
    return out


def _with_durations(out: pd.DataFrame, what: str, now: pd.Timestamp, issues: list[DataIssue]) -> pd.DataFrame:
    """observed_until checked, capped or inferred per repository; ``duration_days`` from birth to end or censoring."""
    if "observed_until" in out.columns:
        out["observed_until"] = _parse_times(out["observed_until"])
    else:
        out["observed_until"] = pd.Series(pd.NaT, index=out.index, dtype="datetime64[ns, UTC]")
    last = pd.concat([out["born_at"], out["ended_at"]], axis=1).max(axis=1)
    per_repo = last.groupby(out["repo"]).transform("max")
    before_floor = out["observed_until"] < DATE_FLOOR
    if before_floor.any():
        out.loc[before_floor, "observed_until"] = pd.NaT
        issues.append(DataIssue("observed_until_before_floor", int(before_floor.sum()),
                                f"observed_until before {DATE_FLOOR:%Y-%m-%d}: treated as missing (below)"))
    capped = out["observed_until"] > now
    if capped.any():
        out.loc[capped, "observed_until"] = per_repo[capped]
        issues.append(DataIssue("observed_until_capped", int(capped.sum()),
                                "observed_until after the time of the run: set to the repository's latest "
                                "born_at/ended_at (follow-up cannot reach into the future)",
                                examples(sorted(out.loc[capped, "repo"].unique()))))
    miss = out["observed_until"].isna()
    if miss.any():
        out.loc[miss, "observed_until"] = per_repo[miss]
        issues.append(DataIssue("observed_until_inferred", int(miss.sum()),
                                "censoring time set to the repository's latest born_at/ended_at"))
    late = out["born_at"] > out["observed_until"]
    if late.any():
        issues.append(DataIssue("born_after_observed_until", int(late.sum()),
                                "rows born after their observed_until dropped"))
        out = out[~late].copy()
    if len(out) == 0:
        raise InputError(f"{what}: no rows left after the rules above (see the data issues)")
    stop = out["ended_at"].where(out["event"] == 1, out["observed_until"])
    dur = (stop - out["born_at"]).dt.total_seconds() / 86400.0
    neg = dur < 0
    if neg.any():
        issues.append(DataIssue("negative_durations", int(neg.sum()),
                                "end before birth (clock skew): duration set to 0"))
        dur = dur.clip(lower=0.0)
    out["duration_days"] = dur.astype(float)
    return out


def _with_normalised_columns(out: pd.DataFrame, issues: list[DataIssue]) -> pd.DataFrame:
    """Text columns as text, agents of human lines blank (unknown agent named), file_ext, process columns."""
    for c in ("agent", "end_intent", "text", "path"):
        out[c] = _as_text(out[c])
    out.loc[out["author_type"] == "human", "agent"] = ""
    out.loc[(out["author_type"] == "agent") & (_per_distinct(out["agent"], lambda v: v.str.strip()) == ""),
            "agent"] = "unknown"
    if "file_ext" not in out.columns:
        out["file_ext"] = out["path"].str.extract(r"(\.[^./]+)$", expand=False).fillna("").str.lower()
    absent = [c for c, _ in PROCESS_DEFAULTS if c not in out.columns]
    if absent:
        issues.append(DataIssue("optional_columns_absent", len(out),
                                "absent process columns set to a constant (1 line added, 0 deleted, 1 file); "
                                "the Cox models drop constant covariates", ", ".join(absent)))
    for c, default in PROCESS_DEFAULTS:
        if c not in out.columns:
            out[c] = default
        _process_column(out, c, default, issues)
    return out


def _check_both_author_types(out: pd.DataFrame, what: str, issues: list[DataIssue]) -> None:
    """Refuse a table without agent or without human lines; note repositories with only one of them."""
    n_agent = int((out["author_type"] == "agent").sum())
    if n_agent == 0 or n_agent == len(out):
        missing = "agent" if n_agent == 0 else "human"
        raise InputError(f"{what}: no {missing}-authored units; agent vs human comparisons need both "
                         "(check the agent rules)")
    kinds = out.groupby("repo")["author_type"].nunique()
    single = kinds[kinds < 2]
    if len(single):
        issues.append(DataIssue("repos_single_author_type", int(len(single)),
                                "kept: they add to the baselines; the stratified Cox model uses only repositories "
                                "with both", examples(single.index, k=10)))


def load_line_events(path: Any) -> tuple[pd.DataFrame, tuple[DataIssue, ...]]:
    """Read a line-events table (CSV/TSV/Parquet/JSONL) and check it with :func:`prepare_events`."""
    df = read_table(path, what="line events")
    return prepare_events(df, what=f"line events file {path}")


#: Mining report keys that become data issues (``mining_<key>``), with their rules; see :mod:`.mining` and
#: :mod:`.minetable` for each rule.
MINING_RULES = {
    "binary_files_skipped": "binary file versions skipped (no line units)",
    "special_files_skipped": "submodules and symlinks skipped",
    "excluded_lines": "lines added to excluded paths are not units",
    "merge_born_lines": "lines written in merge commits (conflict resolutions) are not units",
    "unknown_base_lines": "diff lines against unknown content (binary->text) treated as non-units",
    "invalid_dates": "commit time not a positive integer: replaced by the latest parent's time (a root's: the "
                     "earliest valid time)",
    "future_dates": "commit dated after the time of the run: replaced by the latest parent's time, so it cannot "
                    "move the observation end",
    "dates_before_floor": "commit dated before 1980-01-01: replaced by the latest parent's time",
    "dates_out_of_order": "commit dated outside [latest parent, earliest child]: moved to the nearer end",
    "observation_end_after_last_commit": "kept: the repository is taken as unchanged from its last commit until "
                                         "the observation end",
    "merge_dropped_units": "side-branch lines deleted by a merge (a conflict resolved for the other side, "
                           "-s ours) end at the merge",
    "merge_duplicate_units": "side-branch lines a merge kept only as the identical line of another parent "
                             "(cherry-picks, the same line added twice): censored at the merge, not modified",
    "units_kept_by_merge": "lines a branch removed but a merge kept (HEAD holds them): alive at the observation end",
    "missing_parent_states": "commits whose parent was not mined first: started from an empty file state",
    "line_count_mismatch": "HEAD invariant broken: the mined lines of a file differ from its line count at HEAD "
                           "(sum of |difference| over files); rows kept as mined, please report the repository",
    "surviving_units_not_in_head": "HEAD invariant broken: units counted as surviving that HEAD does not hold; "
                                   "rows kept as mined, please report the repository",
    "non_utf8_lines": "line text decoded with U+FFFD replacement",
    "non_utf8_paths": "path shown with U+FFFD replacement",
    "born_after_observation_end": "units born after the observation end dropped",
    "shallow_boundary_units": "units of shallow-clone boundary commits dropped",
}


def mining_issues(report: list[dict[str, Any]]) -> tuple[DataIssue, ...]:
    """Turn the miner's per-repository report into data issues (only non-zero counts, :data:`MINING_RULES`)."""
    out = []
    for key, rule in MINING_RULES.items():
        total = sum(int(r.get(key, 0) or 0) for r in report)
        if total:
            parts = []
            for r in report:
                if r.get(key):
                    extra = (r.get("details") or {}).get(key, "")
                    parts.append(f"{r['repo']}={r.get(key, 0)}" + (f" ({extra})" if extra else ""))
            out.append(DataIssue(f"mining_{key}", total, rule, "; ".join(parts)))
    return tuple(out)


def load_input(params: Any, progress: bool = False) -> tuple[pd.DataFrame, tuple[DataIssue, ...], list[dict[str, Any]]]:
    """The analysis input named by the parameters: (events, issues, mining report)."""
    if params.line_events_path:
        df, issues = load_line_events(params.line_events_path)
        return df, issues, []
    if not params.repos:
        raise InputError("no input: give line_events_path or repos")
    from studykit.files.paths import resolve
    from studykit.studies.code_survival.parallel import mine_many
    from studykit.studies.code_survival.rules import load_agent_rules

    raw = mine_many([resolve(r) for r in params.repos], jobs=getattr(params, "mine_jobs", 1),
                    observation_end=params.observation_end, exclude_globs=params.exclude_globs,
                    progress=progress, agent_rules=load_agent_rules(getattr(params, "agent_rules", None)))
    report = raw.attrs.get("mining_report", [])
    df, issues = prepare_events(raw, what="mined line events")
    return df, mining_issues(report) + issues, report


def events_for_output(df: pd.DataFrame, parquet_above: int = 100_000) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """The line-events table as written to ``tables/line_events``: ISO UTC times; CSV, or Parquet when large.

    The mining report kept with a Parquet table (``attrs["mining_report"]``) names each clone by its path
    relative to the project (``.cache/code_survival/bundles/...``), not by this machine's absolute path, so
    that the file is the same bytes in every checkout.
    """
    from studykit.runs.kernelinfo import rel_to_project

    out = df.copy(deep=False)  # the time columns are replaced below, the others are only read
    if out.attrs.get("mining_report"):
        out.attrs = {**out.attrs, "mining_report": [{**r, "path": rel_to_project(r["path"])} if "path" in r else r
                                                    for r in out.attrs["mining_report"]]}
    for c in ("born_at", "ended_at", "observed_until"):
        if c in out.columns:
            out[c] = iso_utc_seconds(pd.to_datetime(out[c], utc=True))
    return out, (("parquet",) if len(out) > parquet_above else ("csv",))


def iso_utc_seconds(times: pd.Series) -> pd.Series:
    """``times.dt.strftime("%Y-%m-%dT%H:%M:%SZ").fillna("")`` of UTC times, formatted by numpy's
    ``datetime_as_string`` (the same text, seconds truncated, in C instead of one call per value: 4.3 million
    times in a second instead of a minute)."""
    values = times.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[ns]")
    text = np.datetime_as_string(values.astype("datetime64[s]"), unit="s", timezone="UTC").astype(object)
    text[np.isnat(values)] = ""
    return pd.Series(text, index=times.index, name=times.name, dtype=object)


def units_summary(df: pd.DataFrame) -> pd.DataFrame:
    """Units, events and commits per repository and author type."""
    g = df.groupby(["repo", "author_type"])
    return pd.DataFrame({"units": g.size(), "events": g["event"].sum(), "commits": g["commit"].nunique(),
                         "median_follow_up_days": g["duration_days"].median()}).reset_index()


def read_truth(path: Any) -> dict[str, Any]:
    """The truth JSON written beside simulated line events."""
    import json

    from studykit.files.paths import resolve

    p = resolve(path)
    if not p.is_file():
        raise InputError(f"truth file not found: {p}")
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(f"truth file {p}: not valid JSON ({exc.msg}, line {exc.lineno})") from None


def truth_beside(path: Any) -> dict[str, Any] | None:
    """The ``truth.json`` next to a simulated line-events file, or None (real data has none)."""
    if not path:
        return None
    from studykit.files.paths import resolve

    p = resolve(path).with_name("truth.json")
    return read_truth(p) if p.is_file() else None
