"""From the miner's state to the line-events table: commit dates, censoring, and the HEAD invariant.

:mod:`.mining` walks the history and leaves, per unit, its born commit, the commit that ended it (or none)
and the merge at which a duplicate of it left the history (or none), plus the file states at ``HEAD``.
This module turns that into one row per unit, with these documented rules (each count is in the mining
report and becomes a data issue through :func:`.load.mining_issues`):

Commit dates (committer time; what "born" and "ended" mean)
-----------------------------------------------------------
1. Not a positive integer: invalid (``invalid_dates``).
2. After the time of the run (``future_dates``; a clock set decades ahead, a typo'd year) or before
   :data:`DATE_FLOOR` (``dates_before_floor``; a clock at the Unix epoch): invalid too. The floor is
   1980-01-01: histories imported from CVS or SVN reach back to the 1980s, so the git epoch (2005) would
   wrongly reject real dates; only artificial reconstructions are older.
3. An invalid date is replaced by the latest parent's (repaired) time, a root's by the earliest valid time.
4. Out of order (``dates_out_of_order``): a commit with both parents and children whose time lies outside
   ``[latest parent time, earliest child time]`` (when that interval is not empty) is moved to the nearer
   end of it: a commit can be neither older than its parent nor newer than its child, and when only one
   commit of a chain is off, its neighbours say where it belongs. The largest shift is in the detail.
   Commits at the ends of the history (roots, ``HEAD``) have one side only and keep their time.

These rules cannot stretch follow-up: after them no commit is later than the run or (unless its
neighbours agree) later than its children, so no single bad date moves the observation end or a birth.

Observation end (censoring time)
--------------------------------
Default: the latest repaired commit time. A given ``observation_end`` after the time of the run is refused
(``ParamError``: lines cannot be followed into the future); one after the repository's last commit is kept
(the repository is taken as unchanged until then, e.g. the day it was cloned) and counted
(``observation_end_after_last_commit``, the gap in days in the detail). Units born after it are dropped
(``born_after_observation_end``); ends after it are censored.

Units the history merged away (see :mod:`.mining`, "Branches and merges")
-------------------------------------------------------------------------
- ``merge_dropped_units``: a side branch's unit whose line the merge deleted (conflict resolved by taking
  the other side, a merge made with ``-s ours``): it ends at the merge.
- ``merge_duplicate_units``: a side branch's unit whose *identical* line the merge kept under the first
  parent's unit (a cherry-picked fix, the same line added on both branches): the line did not change, so
  this is not an event; the unit is censored at the merge (its ``observed_until`` is the merge time).
- ``units_kept_by_merge``: a unit that one branch removed but a merge kept and ``HEAD`` still holds: it is
  alive at the observation end (censored), whatever the branch did.

The HEAD invariant (checked on every mined repository)
------------------------------------------------------
Each text file at ``HEAD`` has as many entries in the miner's final state as lines, and the surviving units
(censored at the observation end) are exactly the units in those entries, each on one line. ``head_lines``
(text files at ``HEAD``), ``head_unit_lines`` (of them, lines that are units; the rest are lines of
excluded paths, conflict resolutions written in merges and lines of unknown base) and the surviving units
per author class are in the report; any difference is reported as ``line_count_mismatch`` (the sum over
files of ``|entries - lines|`` plus units on two lines, ``units_twice_in_head``; the files in the detail)
and ``surviving_units_not_in_head`` (units counted as surviving that ``HEAD`` does not hold). Both are 0 on
every history shape the tests build and on the twelve real repositories of ``../shared/data/code_survival``.
"""
from __future__ import annotations

import datetime as _dt
import itertools
import posixpath
from typing import Any

import numpy as np
import pandas as pd

from studykit.contract.errors import InputError, ParamError

#: Commit dates before this are invalid (rule 2 of the module docstring).
DATE_FLOOR = pd.Timestamp("1980-01-01", tz="UTC")
#: Slack for "after the time of the run" (clock differences between machines).
FUTURE_SLACK_S = 86_400
_MAX_NS_SECONDS = 9_223_372_035  # last whole second representable as datetime64[ns] (2262-04-11)

__all__ = ["DATE_FLOOR", "parse_observation_end", "repair_commit_times", "to_frame", "head_invariant"]


def _now(now: Any = None) -> pd.Timestamp:
    return pd.Timestamp.now(tz="UTC") if now is None else pd.Timestamp(now).tz_convert("UTC") \
        if pd.Timestamp(now).tzinfo else pd.Timestamp(now).tz_localize("UTC")


def _to_utc(ts: np.ndarray) -> pd.DatetimeIndex:
    return pd.to_datetime(ts, unit="s", utc=True)


def parse_observation_end(value: Any, now: Any = None, what: str = "observation_end") -> pd.Timestamp | None:
    """ISO string / datetime / Timestamp -> UTC Timestamp (naive values are taken as UTC); None passes.

    A time after the run (``now``, default the current time; one day of slack for clocks) or before
    :data:`DATE_FLOOR` is refused with a one-line ParamError naming ``what``.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError):
        raise ParamError(f"{what}: not an ISO date or datetime (got {value!r})") from None
    if ts is pd.NaT:
        raise ParamError(f"{what}: not an ISO date or datetime (got {value!r})")
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    run_time = _now(now)
    if ts > run_time + pd.Timedelta(seconds=FUTURE_SLACK_S):
        raise ParamError(f"{what} {ts:%Y-%m-%d} is after the time of the run ({run_time:%Y-%m-%d}): lines cannot "
                         "be followed into the future")
    if ts < DATE_FLOOR:
        raise ParamError(f"{what} {ts:%Y-%m-%d} is before {DATE_FLOOR:%Y-%m-%d}, the earliest date studykit "
                         "accepts for a commit")
    return ts


def _int_time(s: str) -> int | None:
    try:
        v = int(s.strip())
    except ValueError:
        return None
    return v if v > 0 else None


def _span(seconds: float) -> str:
    if seconds >= 86400:
        return f"{seconds / 86400:.1f} days"
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds:.0f} s"


def repair_commit_times(raw: list[str], parents: list[list[int]], now: Any = None
                        ) -> tuple[np.ndarray, dict[str, int], dict[str, str]]:
    """Commit times after rules 1-4 of the module docstring: (seconds, counts, details).

    ``raw``: committer times as text, in topological order (parents first); ``parents``: indices of each
    commit's parents in that order.
    """
    n = len(raw)
    hi_ok = int(_now(now).timestamp()) + FUTURE_SLACK_S
    lo_ok = int(DATE_FLOOR.timestamp())
    vals = [_int_time(x) for x in raw]
    counts = {"invalid_dates": 0, "future_dates": 0, "dates_before_floor": 0, "dates_out_of_order": 0}
    details: dict[str, str] = {}
    bad_future, bad_floor = [], []
    for i, v in enumerate(vals):
        if v is None:
            counts["invalid_dates"] += 1
        elif v > hi_ok:
            counts["future_dates"] += 1
            bad_future.append(v)
            vals[i] = None
        elif v < lo_ok:
            counts["dates_before_floor"] += 1
            bad_floor.append(v)
            vals[i] = None
    valid = [v for v in vals if v is not None]
    if not valid:
        raise InputError("no commit has a valid timestamp (all are missing, before 1980 or after the run)")
    for key, bad in (("future_dates", bad_future), ("dates_before_floor", bad_floor)):
        if bad:
            details[key] = ", ".join(sorted({_dt.datetime.fromtimestamp(min(max(b, 0), 253402300799),
                                                                         _dt.timezone.utc).strftime("%Y-%m-%d")
                                             for b in bad})[:5])
    earliest = min(valid)
    ct = np.zeros(n, dtype=np.int64)
    for i in range(n):  # rule 3 (topological order: parents are repaired first)
        v = vals[i]
        if v is None:
            ps = [ct[p] for p in parents[i]]
            v = max(ps) if ps else earliest
        ct[i] = v
    # rule 4: isolated out-of-order commits, judged on the times of rule 3 (order-independent)
    children_min = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    has_child = np.zeros(n, dtype=bool)
    for i in range(n):
        for p in parents[i]:
            has_child[p] = True
            if ct[i] < children_min[p]:
                children_min[p] = ct[i]
    out = ct.copy()
    shifts = []
    for i in range(n):
        if not parents[i] or not has_child[i]:
            continue
        lo = max(ct[p] for p in parents[i])
        hi = children_min[i]
        if lo > hi:
            continue
        t = ct[i]
        if t < lo or t > hi:
            out[i] = lo if t < lo else hi
            shifts.append(abs(int(out[i]) - int(t)))
    if shifts:
        counts["dates_out_of_order"] = len(shifts)
        details["dates_out_of_order"] = f"largest shift {_span(max(shifts))}"
    return out, counts, details


def head_invariant(m: Any, head_text_lines: dict[str, int]) -> dict[str, Any]:
    """The HEAD invariant of the module docstring for miner ``m`` (its final state and units).

    ``head_text_lines``: path -> line count of every text file at ``HEAD`` (no binary, symlink or
    submodule), decoded like the miner's paths.
    """
    final = m.final_state
    mismatch = 0
    files: list[str] = []
    for path in sorted(set(final) | set(head_text_lines)):
        a = len(final.get(path, ()))
        b = head_text_lines.get(path, 0)
        if a != b:
            mismatch += abs(a - b)
            files.append(path)
    n = len(m.ended)
    alive = np.zeros(n, dtype=bool)
    twice = 0
    if n:
        ids = np.fromiter(itertools.chain.from_iterable(final.values()), dtype=np.int64)
        ids = ids[ids >= 0]
        alive[ids] = True
        twice = int(len(ids) - alive.sum())  # a unit is one line: an id on two lines is a second survivor
    from studykit.studies.code_survival.gitio import display_path

    return {"head_lines": int(sum(head_text_lines.values())), "head_unit_lines": int(alive.sum()),
            "line_count_mismatch": int(mismatch) + twice, "line_count_mismatch_files": len(files),
            "units_twice_in_head": twice,
            "line_count_mismatch_detail": ", ".join(display_path(f) for f in files[:5]), "_alive": alive}


def _decode_texts(raw: list[bytes]) -> tuple[list[str], int]:
    """Texts of added lines (``+``-prefixed, no newline) -> (str without the ``+`` and one trailing CR, bad count).

    All lines are joined and decoded at once; only when that fails is each line
    decoded on its own (strict, else with U+FFFD replacement, counted).
    """
    if not raw:
        return [], 0
    blob = b"\n".join(raw)
    try:
        text = blob.decode("utf-8")
    except UnicodeDecodeError:
        texts = []
        bad = 0
        for t in raw:
            t = t[1:]
            if t.endswith(b"\r"):
                t = t[:-1]
            try:
                texts.append(t.decode("utf-8"))
            except UnicodeDecodeError:
                bad += 1
                texts.append(t.decode("utf-8", "replace"))
        return texts, bad
    if "\r" in text:
        text = text.replace("\r\n+", "\n+")
        if text.endswith("\r"):
            text = text[:-1]
    return text[1:].split("\n+"), 0


def _iso(seconds: int) -> str:
    return _dt.datetime.fromtimestamp(seconds, _dt.timezone.utc).isoformat().replace("+00:00", "Z")


def to_frame(m: Any, observation_end: Any, head_text_lines: dict[str, int], now: Any = None,
             columns: tuple[str, ...] = ()) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The line-events table (``columns``) and mining report of miner ``m`` (see the module docstring)."""
    from studykit.studies.code_survival.gitio import display_path

    info = m.info
    rep: dict[str, Any] = dict(m.report)
    commits = m.commits
    n_c = len(commits)
    idx_of = {c.sha: i for i, c in enumerate(commits)}
    parents = [[idx_of[p] for p in c.parents if p in idx_of] for c in commits]
    try:
        ct, date_counts, date_details = repair_commit_times([c.ct for c in commits], parents, now)
    except InputError as exc:
        raise InputError(f"{info.path}: {exc}") from None
    rep.update(date_counts)
    rep["details"] = dict(date_details)
    last_commit = int(ct.max())
    obs = parse_observation_end(observation_end, now)
    obs_s = last_commit if obs is None else int(obs.timestamp())
    rep["observation_end"] = _iso(obs_s)
    rep["observation_end_after_last_commit"] = int(obs_s > last_commit)
    if obs_s > last_commit:
        rep["details"]["observation_end_after_last_commit"] = f"{info.name}: {_span(obs_s - last_commit)}"

    # commit-level labels (computed in _Miner.apply)
    agent = np.empty(n_c, dtype=object)
    rule = np.empty(n_c, dtype=object)
    bot = np.zeros(n_c, dtype=bool)
    for i, c in enumerate(commits):
        agent[i], rule[i] = c.label
        bot[i] = c.bot

    u_commit = np.asarray(m.u_commit, dtype=np.int64)
    ended = np.asarray(m.ended, dtype=np.int64)
    censored = np.asarray(m.censored, dtype=np.int64)
    n = len(u_commit)
    inv = head_invariant(m, head_text_lines)
    alive_final = inv.pop("_alive")
    kept_by_merge = alive_final & ((ended >= 0) | (censored >= 0))
    rep["units_kept_by_merge"] = int(kept_by_merge.sum())
    ended = np.where(alive_final, -1, ended)
    censored = np.where(alive_final, -1, censored)
    rep["surviving_units_not_in_head"] = int(np.sum(~alive_final & (ended < 0) & (censored < 0)))
    rep["details"]["line_count_mismatch"] = inv.pop("line_count_mismatch_detail")
    rep.update(inv)
    is_agent_unit = (agent[u_commit] != "") if n else np.zeros(0, dtype=bool)
    rep["head_unit_lines_agent"] = int(np.sum(alive_final & is_agent_unit))
    rep["head_unit_lines_human"] = int(np.sum(alive_final & ~is_agent_unit))

    keep = np.ones(n, dtype=bool)
    if info.shallow:
        roots = np.array([c.sha in info.shallow_roots for c in commits], dtype=bool)
        drop = roots[u_commit] if n else np.zeros(0, dtype=bool)
        rep["shallow_boundary_units"] = int(drop.sum())
        keep &= ~drop
    born_s = ct[u_commit] if n else np.zeros(0, dtype=np.int64)
    after = born_s > obs_s
    rep["born_after_observation_end"] = int(np.sum(after & keep))
    keep &= ~after
    end_s = np.where(ended >= 0, ct[np.maximum(ended, 0)], -1) if n else np.zeros(0, dtype=np.int64)
    event = (ended >= 0) & (end_s <= obs_s)
    # censoring time of each unit: the merge that dropped its duplicate, else the observation end
    cens_s = np.where(censored >= 0, np.minimum(ct[np.maximum(censored, 0)], obs_s), obs_s) if n \
        else np.zeros(0, dtype=np.int64)
    cens_s = np.where(event, obs_s, cens_s)

    texts, rep["non_utf8_lines"] = _decode_texts(m.u_text)
    paths = [display_path(p) for p in m.paths]
    rep["non_utf8_paths"] = sum(1 for p, q in zip(m.paths, paths) if p != q)
    exts = [(posixpath.splitext(p)[1].lower() or posixpath.basename(p).lower()) for p in paths]

    all_kept = bool(keep.all())
    kept = np.arange(n, dtype=np.int64) if all_kept else np.flatnonzero(keep)
    born_commit = u_commit[kept]
    path_idx = np.asarray(m.u_path, dtype=np.int64)[kept]
    end_commit_idx = ended[kept]
    ev = event[kept]
    sha = np.array([c.sha for c in commits], dtype=object)
    intent = np.full(n_c, "", dtype=object)
    end_commit_of = np.full(n_c, "", dtype=object)
    for c in np.unique(end_commit_idx[ev]).tolist():
        intent[c] = m.intents.classify(commits[c].message)
        end_commit_of[c] = sha[c]
    end_or_0 = np.where(ev, end_commit_idx, 0)  # ending commit of each unit; 0 (masked below) when censored
    added = np.array([c.added for c in commits], dtype=np.int64)
    deleted = np.array([c.deleted for c in commits], dtype=np.int64)
    nfiles = np.array([c.files for c in commits], dtype=np.int64)
    if int(ct.max()) <= _MAX_NS_SECONDS:  # every time fits datetime64[ns]: convert per commit, then gather
        born = _to_utc(ct).take(born_commit)
        end_ns = np.where(ev, end_s[kept] * 1_000_000_000, np.iinfo(np.int64).min)
        end_times = pd.DatetimeIndex(end_ns.view("M8[ns]")).tz_localize("UTC")
    else:  # pragma: no cover - unreachable since rule 2 (no time after the run)
        born = _to_utc(ct[born_commit])
        end_times = pd.Series(_to_utc(np.where(ev, end_s[kept], 0)))
        end_times[~ev] = pd.NaT
        end_times = pd.to_datetime(end_times.values, utc=True)
    cens_kept = cens_s[kept]
    obs_col = pd.DatetimeIndex((cens_kept * 1_000_000_000).view("M8[ns]")).tz_localize("UTC")
    stop = np.where(ev, end_s[kept], cens_kept)
    paths_arr = np.array(paths, dtype=object)
    exts_arr = np.array(exts, dtype=object)
    ag = agent[born_commit]
    prefix = f"{info.name}:"
    unit_id = np.array([prefix + s for s in map(str, kept.tolist())], dtype=object)
    text = np.array(texts if all_kept else [texts[i] for i in kept.tolist()], dtype=object)
    end_intent = np.where(ev, intent[end_or_0], "")
    end_commit = np.where(ev, end_commit_of[end_or_0], "")
    if not len(kept):  # no unit kept: empty lists, so these columns are float64 like the others
        unit_id, end_intent, end_commit, text = [], [], [], []
    df = pd.DataFrame({
        "unit_id": unit_id,
        "repo": info.name,
        "path": paths_arr[path_idx] if len(path_idx) else np.array([], dtype=object),
        "commit": sha[born_commit],
        "author_type": np.where(ag != "", "agent", "human").astype(object),
        "agent": ag,
        "agent_rule": rule[born_commit],
        "born_at": born,
        "ended_at": end_times,
        "event": ev.astype(np.int64),
        "end_intent": end_intent,
        "end_commit": end_commit,
        "text": text,
        "line_no": np.asarray(m.u_line, dtype=np.int64)[kept],
        "file_ext": exts_arr[path_idx] if len(path_idx) else np.array([], dtype=object),
        "commit_lines_added": added[born_commit],
        "commit_lines_deleted": deleted[born_commit],
        "commit_files": nfiles[born_commit],
        "is_bot": bot[born_commit],
        "observed_until": obs_col,
        "duration_days": (stop - ct[born_commit]) / 86400.0,
    }, columns=list(columns), copy=False)  # every array above is freshly built: no copy needed
    alive_kept = (~ev) & (cens_kept == obs_s)
    rep.update({"repo": info.name, "path": str(info.path), "head": info.head, "units": int(len(df)),
                "agent_units": int((df["author_type"] == "agent").sum()), "shallow": info.shallow,
                "agent_commits": int(np.sum(agent != "")), "human_commits": int(np.sum(agent == "")),
                "surviving_agent": int(np.sum(alive_kept & (ag != ""))),
                "surviving_human": int(np.sum(alive_kept & (ag == "")))})
    return df, rep

