"""Reading and checking line-events tables (mined or simulated).

Rules (each problem is reported as a :class:`studykit.issues.DataIssue` for
``out.note_issues``, or raises a one-line :class:`InputError`):

- a required column missing, or ``author_type`` / ``event`` holding other
  values than ``agent``/``human`` and 0/1: error naming the column;
- ``born_at`` unparseable: error with the number of rows (the birth time is the
  origin of every duration, so no rule can repair it);
- ``ended_at`` unparseable or missing where ``event = 1``: the row is dropped
  and counted (``bad_end_time``);
- no ``observed_until`` column: each repository is censored at its latest
  ``born_at``/``ended_at`` (``observed_until_inferred``);
- an end before the birth (clock skew between rebased commits): the duration is
  set to 0 and counted (``negative_durations``);
- no agent units or no human units at all: error (nothing to compare);
  repositories with only one author type are kept and counted
  (``repos_single_author_type``): they add to the baselines; the stratified
  Cox model uses only repositories with both.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from studykit.errors import InputError
from studykit.issues import DataIssue
from studykit.tables import read_table, require_columns
from studykit.studies.code_survival.schema import REQUIRED_COLUMNS


def _parse_times(s: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(s):
        return s.dt.tz_localize("UTC") if s.dt.tz is None else s.dt.tz_convert("UTC")
    s2 = s.astype("string").str.strip().replace({"": pd.NA})
    return pd.to_datetime(s2, utc=True, errors="coerce", format="ISO8601")


def prepare_events(df: pd.DataFrame, what: str = "line events") -> tuple[pd.DataFrame, tuple[DataIssue, ...]]:
    """Check and normalise a line-events table; return (clean copy, issues). See the module rules."""
    require_columns(df, REQUIRED_COLUMNS, what)
    issues: list[DataIssue] = []
    out = df.copy()
    if len(out) == 0:
        raise InputError(f"{what}: the table has no rows")
    at = out["author_type"].astype("string").str.strip().str.lower()
    bad = ~at.isin(["agent", "human"])
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
        issues.append(DataIssue("bad_end_time", int(badend.sum()), "rows with event=1 and no parseable ended_at dropped", ""))
        out = out[~badend].copy()
    out.loc[out["event"] == 0, "ended_at"] = pd.NaT
    if "observed_until" in out.columns:
        out["observed_until"] = _parse_times(out["observed_until"])
    else:
        out["observed_until"] = pd.Series(pd.NaT, index=out.index, dtype="datetime64[ns, UTC]")
    miss = out["observed_until"].isna()
    if miss.any():
        last = pd.concat([out["born_at"], out["ended_at"]], axis=1).max(axis=1)
        per_repo = last.groupby(out["repo"]).transform("max")
        out.loc[miss, "observed_until"] = per_repo[miss]
        issues.append(DataIssue("observed_until_inferred", int(miss.sum()),
                       "censoring time set to the repository's latest born_at/ended_at", ""))
    stop = out["ended_at"].where(out["event"] == 1, out["observed_until"])
    dur = (stop - out["born_at"]).dt.total_seconds() / 86400.0
    neg = dur < 0
    if neg.any():
        issues.append(DataIssue("negative_durations", int(neg.sum()), "end before birth (clock skew): duration set to 0", ""))
        dur = dur.clip(lower=0.0)
    out["duration_days"] = dur.astype(float)
    for c in ("agent", "end_intent", "text", "path"):
        out[c] = out[c].fillna("").astype(str)
    out.loc[out["author_type"] == "human", "agent"] = ""
    out.loc[(out["author_type"] == "agent") & (out["agent"] == ""), "agent"] = "unknown"
    if "file_ext" not in out.columns:
        out["file_ext"] = out["path"].str.extract(r"(\.[^./]+)$", expand=False).fillna("").str.lower()
    for c, default in (("commit_lines_added", 1), ("commit_lines_deleted", 0), ("commit_files", 1)):
        if c not in out.columns:
            out[c] = default
        out[c] = pd.to_numeric(out[c], errors="coerce").fillna(default).astype(np.int64)
    n_agent = int((out["author_type"] == "agent").sum())
    if n_agent == 0 or n_agent == len(out):
        missing = "agent" if n_agent == 0 else "human"
        raise InputError(f"{what}: no {missing}-authored units; agent vs human comparisons need both "
                         "(check the agent rules)")
    kinds = out.groupby("repo")["author_type"].nunique()
    single = kinds[kinds < 2]
    if len(single):
        issues.append(DataIssue("repos_single_author_type", int(len(single)),
                       "kept: they add to the baselines; the stratified Cox model uses only repositories with both",
                       ", ".join(map(str, single.index[:10]))))
    return out.reset_index(drop=True), tuple(issues)


def load_line_events(path: Any) -> tuple[pd.DataFrame, tuple[DataIssue, ...]]:
    """Read a line-events table (CSV/TSV/Parquet/JSONL) and check it with :func:`prepare_events`."""
    df = read_table(path, what="line events")
    return prepare_events(df, what=f"line events file {path}")


def mining_issues(report: list[dict[str, Any]]) -> tuple[DataIssue, ...]:
    """Turn the miner's per-repository report into data issues (only non-zero counts)."""
    rules = {
        "binary_files_skipped": "binary file versions skipped (no line units)",
        "special_files_skipped": "submodules and symlinks skipped",
        "excluded_lines": "lines added to excluded paths are not units",
        "merge_born_lines": "lines written in merge commits (conflict resolutions) are not units",
        "unknown_base_lines": "diff lines against unknown content (binary->text) treated as non-units",
        "invalid_dates": "commit time replaced by the latest parent time",
        "non_utf8_lines": "line text decoded with U+FFFD replacement",
        "non_utf8_paths": "path shown with U+FFFD replacement",
        "born_after_observation_end": "units born after the observation end dropped",
        "shallow_boundary_units": "units of shallow-clone boundary commits dropped",
        "units_ended_but_in_head": "identical lines matched differently across a merge (ends kept as mined)",
    }
    out = []
    for key, rule in rules.items():
        total = sum(int(r.get(key, 0) or 0) for r in report)
        if total:
            detail = ", ".join(f"{r['repo']}={r.get(key, 0)}" for r in report if r.get(key))
            out.append(DataIssue(f"mining_{key}", total, rule, detail))
    return tuple(out)


def load_input(params: Any, progress: bool = False) -> tuple[pd.DataFrame, tuple[DataIssue, ...], list[dict[str, Any]]]:
    """The analysis input named by the parameters: (events, issues, mining report)."""
    if params.line_events_path:
        df, issues = load_line_events(params.line_events_path)
        return df, issues, []
    if not params.repos:
        raise InputError("no input: give line_events_path or repos")
    from studykit.paths import resolve
    from studykit.studies.code_survival.mining import mine_repositories

    raw = mine_repositories([resolve(r) for r in params.repos], observation_end=params.observation_end,
                            exclude_globs=params.exclude_globs, progress=progress)
    report = raw.attrs.get("mining_report", [])
    df, issues = prepare_events(raw, what="mined line events")
    return df, mining_issues(report) + issues, report


def events_for_output(df: pd.DataFrame, parquet_above: int = 100_000) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """The line-events table as written to ``tables/line_events``: ISO UTC times; CSV, or Parquet when large."""
    out = df.copy()
    for c in ("born_at", "ended_at", "observed_until"):
        if c in out.columns:
            out[c] = pd.to_datetime(out[c], utc=True).dt.strftime("%Y-%m-%dT%H:%M:%SZ").fillna("")
    return out, (("parquet",) if len(out) > parquet_above else ("csv",))


def units_summary(df: pd.DataFrame) -> pd.DataFrame:
    """Units, events and commits per repository and author type."""
    g = df.groupby(["repo", "author_type"])
    return pd.DataFrame({"units": g.size(), "events": g["event"].sum(), "commits": g["commit"].nunique(),
                         "median_follow_up_days": g["duration_days"].median()}).reset_index()


def read_truth(path: Any) -> dict[str, Any]:
    """The truth JSON written beside simulated line events."""
    import json

    from studykit.paths import resolve

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
    from studykit.paths import resolve

    p = resolve(path).with_name("truth.json")
    return read_truth(p) if p.is_file() else None
