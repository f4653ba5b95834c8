"""Mining line events from git histories in one pass.

Size: one algorithm whose parts share the miner's state (per-commit file
states, unit arrays, the merge-diff feed); split, they would pass that state
through every call. Git plumbing is in :mod:`.gitio`, stream parsing in
:mod:`._logparse`, authorship and intent rules in :mod:`.rules`.

A *unit* is one line added to a text file by a non-merge commit. It is born
at its commit's committer time and ends (``event = 1``) at the first later
commit that deletes or changes it (a changed line is a deletion plus an
addition in the diff); otherwise it is censored at the observation end.

Algorithm (cost linear in the size of the history's diffs)
----------------------------------------------------------
1. ``git rev-list --parents HEAD`` gives every commit's parents, hence the
   number of children of each commit.
2. For merge commits only, one ``git diff-tree --stdin`` call gives the
   zero-context diff of the merge against each of its parents.
3. One ``git log --topo-order --reverse --no-merges -p --unified=0 -M`` pass
   (started first, so git walks the history while steps 1-2 run) is parsed
   by :mod:`._logparse` (large reads, one ``bytes.split`` per chunk); texts stay bytes until the table is
   built and are then decoded in one call. For each commit we keep,
   per file, the list of unit ids in line order (``-1`` for lines that are
   not units). A commit's state is its first parent's state with the diff
   applied: deleted positions end their units, added lines become new units.
   States are handed from parent to child without copying; a commit with
   several children is copied shallowly (per-file lists are never mutated in
   place, so they are shared safely).

Branches and merges: all commits reachable from HEAD are followed (not only
``--first-parent``), so lines written on a side branch keep the side
branch's commit (and its author, which matters for agent pull requests).
At a merge, a file identical to a non-first parent's takes that parent's
units whole; otherwise each line of the merged file is traced to the first
parent in which it is unchanged (both are ``git blame``'s rules; a unit
holds one line, so a second copy of it is merge-born); lines that exist in no
parent (conflict resolutions written in the merge) are not units, because
merges are not authored changes. A unit present in the first parent and
removed by the merge ends at the merge unless a side-branch commit already
ended it (the earliest deletion in topological order counts). Every unit of
another parent that the merged state does not hold leaves at the merge
(:meth:`_Miner._drop_orphans`): if the merge's diff against that parent
deletes its line (a conflict resolved for the other side, ``-s ours``) it
ends there (``merge_dropped_units``); otherwise its line is still there but
traced to another parent's identical line (a cherry-picked fix merged back,
the same line added on two branches) and it is censored at the last merge
that drops it (``merge_duplicate_units``), because the line did not change.
A unit that a branch removed but a merge kept, and that HEAD holds, is alive
at the observation end (``units_kept_by_merge``). Before these rules a
duplicate stayed "surviving" for ever although HEAD held its line once
(+5,288 surviving lines in fastmcp, 763 merges), and a kept line counted as
modified. The HEAD invariant (:mod:`.minetable`) checks every repository.

Renames (``-M``, git's default 50 % similarity) move a file's list to its
new path, so lines keep their identity. Binary files (git's "Binary files
differ" marker, which honours ``.gitattributes``), submodules and symlinks
are skipped; lines added to paths matched by the exclusion globs are not
units (the globs are matched on the path at the time the line is added).

Rules for bad input (each raises a one-line :class:`InputError` or is
counted in the mining report, ``DataFrame.attrs["mining_report"]``):

- missing path, folder that is not a git repository, empty repository: error;
- shallow clone: error unless ``allow_shallow=True``; then the units born in
  the grafted boundary commits (whose diffs add the whole tree) are dropped
  and counted (``shallow_boundary_units``);
- commit timestamps that are not positive integers, in the future or before
  1980, and isolated out-of-order ones: repaired by the rules of
  :mod:`.minetable` and counted (``invalid_dates``, ``future_dates``,
  ``dates_before_floor``, ``dates_out_of_order``);
- non-UTF-8 line content: decoded with U+FFFD replacement, counted
  (``non_utf8_lines``); non-UTF-8 paths likewise (``non_utf8_paths``);
- observation end before some commits: units born after it are dropped
  (``born_after_observation_end``) and ends after it are censored.

The mined repository is never written to and its configuration runs nothing:
every git call goes through :mod:`studykit.files.gitsafe` (a view of the objects;
``rev-parse``, ``rev-list``, ``log``, ``diff-tree``, ``ls-tree``,
``cat-file`` only). Commit dates, censoring and the HEAD invariant are applied
by :mod:`.minetable`.
"""
from __future__ import annotations

import os
import queue
import threading
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import pandas as pd

from studykit.contract.errors import InputError
from studykit.files.gitsafe import RepoView
from studykit.studies.code_survival.gitio import (
    DIFF_OPTS, FileDiff, RepoInfo, _is_hex, check_repository, run_git,
)
from studykit.studies.code_survival._logparse import iter_records, parse_bytes
from studykit.studies.code_survival.minetable import parse_observation_end, to_frame
from studykit.studies.code_survival.rules import AgentClassifier, IntentClassifier, PathFilter, is_bot

LOG_FORMAT = "%x00C%x00%H%x00%P%x00%an%x00%ae%x00%cn%x00%ce%x00%at%x00%ct%x00%B%x00E%x00"

LINE_EVENT_COLUMNS = (
    "unit_id", "repo", "path", "commit", "author_type", "agent", "agent_rule", "born_at", "ended_at", "event",
    "end_intent", "end_commit", "text", "line_no", "file_ext", "commit_lines_added", "commit_lines_deleted",
    "commit_files", "is_bot", "observed_until", "duration_days",
)


class _Commit:
    __slots__ = ("sha", "parents", "author", "committer", "at", "ct", "message", "added", "deleted", "files",
                 "label", "bot")

    def __init__(self, sha, parents, author, committer, at, ct, message):
        self.sha, self.parents, self.author, self.committer = sha, parents, author, committer
        self.at, self.ct, self.message = at, ct, message
        self.added = self.deleted = self.files = 0


def _header_fields(buf: bytes) -> tuple[str, list[str], str, str, str, str, str]:
    """(sha, parents, author, committer, author time, committer time, message) of a LOG_FORMAT header."""
    parts = buf.split(b"\x00")
    # parts: ['', 'C', H, P, an, ae, cn, ce, at, ct, B, 'E', '\n']
    sha, parents, an, ae, cn, ce, at, ct, body = (p.decode("utf-8", "replace") for p in parts[2:11])
    return sha, parents.split(), f"{an} <{ae}>", f"{cn} <{ce}>", at, ct, body


class _Miner:
    """State of one repository's pass. See the module docstring."""

    def __init__(self, info: RepoInfo, path_filter: PathFilter, agents: AgentClassifier,
                 intents: IntentClassifier):
        self.info = info
        self.pf = path_filter
        self.agents = agents
        self.intents = intents
        self.commits: list[_Commit] = []
        self.u_commit: list[int] = []
        self.u_path: list[int] = []
        self.u_line: list[int] = []
        self.u_text: list[bytes] = []
        self.ended: list[int] = []
        self.censored: list[int] = []  # merge at which a duplicate unit left the history (-1: never)
        self.paths: list[str] = []
        self.path_ids: dict[str, int] = {}
        self.states: dict[str, dict[str, list[int]]] = {}
        self.children: dict[str, int] = {}
        self.final_state: dict[str, list[int]] = {}
        self.report: dict[str, int] = {"commits": 0, "merges": 0, "binary_files_skipped": 0,
                                       "special_files_skipped": 0, "excluded_lines": 0, "merge_born_lines": 0,
                                       "unknown_base_lines": 0, "missing_parent_states": 0,
                                       "merge_dropped_units": 0, "merge_duplicate_units": 0}
        self._labels: dict[tuple[str, str, str], tuple[str, str]] = {}
        self._bots: dict[str, bool] = {}

    # ---- helpers ------------------------------------------------------------------
    def _pid(self, path: str) -> int:
        i = self.path_ids.get(path)
        if i is None:
            i = self.path_ids[path] = len(self.paths)
            self.paths.append(path)
        return i

    def _take(self, parent: str) -> dict[str, list[int]]:
        """The parent's file states for a child to modify: a copy while other children still need them."""
        st = self._peek_release(parent)
        return dict(st) if parent in self.states else st

    def _peek_release(self, parent: str) -> dict[str, list[int]]:
        st = self.states.get(parent)
        if st is None:
            self.report["missing_parent_states"] += 1
            return {}
        left = self.children[parent] - 1
        self.children[parent] = left
        if left <= 0:
            del self.states[parent]
        return st

    def _carry(self, old: Sequence[int], fd: FileDiff, first: int | None = None,
               holes: list[int] | None = None) -> tuple[list, list[int]]:
        """Apply ``fd``'s hunks to ``old``. Returns (new list, deleted ids).

        Added positions get consecutive ids from ``first`` (``-1`` for
        ``first=-1``: non-units) or None placeholders (``first=None``: merges;
        their positions are appended to ``holes`` when given).
        """
        out: list = []
        deleted: list[int] = []
        pos = 0
        n = len(old)
        nxt = first
        for a, b, c, d in fd.hunks:
            start = a if b == 0 else a - 1
            if start < pos:
                raise InputError(f"{self.info.path}: overlapping hunks in the diff of {fd.new_path}")
            if start + b > n:  # base content unknown (e.g. binary -> text): pad with non-units
                self.report["unknown_base_lines"] += start + b - n
                old = list(old) + [-1] * (start + b - n)
                n = len(old)
            out.extend(old[pos:start])
            if b:
                deleted.extend(old[start:start + b])
            if d:
                if nxt is None:
                    if holes is not None:
                        holes.extend(range(len(out), len(out) + d))
                    out.extend([None] * d)
                elif nxt < 0:
                    out.extend([-1] * d)
                else:
                    out.extend(range(nxt, nxt + d))
                    nxt += d
            pos = start + b
        out.extend(old[pos:])
        return out, deleted

    def _end(self, units: Iterable[int], cidx: int, keep: set | None = None) -> None:
        ended = self.ended
        for u in units:
            if u >= 0 and ended[u] < 0 and (keep is None or u not in keep):
                ended[u] = cidx

    def _register(self, fd: FileDiff, cidx: int) -> int:
        """Create the units of ``fd``'s added lines; return the first id (-1: excluded path, no units)."""
        d_total = len(fd.added)
        if d_total == 0:
            return -1
        if self.pf.excluded(fd.new_path):
            self.report["excluded_lines"] += d_total
            return -1
        pid = self._pid(fd.new_path)
        first = len(self.u_commit)
        self.u_commit.extend([cidx] * d_total)
        self.u_path.extend([pid] * d_total)
        self.u_text.extend(fd.added)
        self.ended.extend([-1] * d_total)
        self.censored.extend([-1] * d_total)
        for a, b, c, d in fd.hunks:
            self.u_line.extend(range(c, c + d))
        gap = len(self.u_commit) - len(self.u_line)  # only for a malformed diff
        if gap > 0:
            self.u_line.extend([0] * gap)
        elif gap < 0:
            del self.u_line[gap:]
        return first

    # ---- one commit ------------------------------------------------------------------
    def _classify(self, commit: _Commit) -> None:
        """Agent label and bot flag (pure functions of the commit's names and message; identical inputs share
        one call). Done while git streams, where the main thread would otherwise wait."""
        key = (commit.author, commit.committer, commit.message)
        lab = self._labels.get(key)
        if lab is None:
            lab = self._labels[key] = self.agents.classify(*key)
        commit.label = lab
        b = self._bots.get(commit.author)
        if b is None:
            b = self._bots[commit.author] = is_bot(commit.author)
        commit.bot = b

    def apply(self, commit: _Commit, files: list[FileDiff], extra: list[list[FileDiff]]) -> None:
        self._classify(commit)
        cidx = len(self.commits)
        self.commits.append(commit)
        parents = commit.parents
        base = self._take(parents[0]) if parents else {}
        if len(parents) > 1:
            self._apply_merge(base, files, extra, cidx)
        else:
            self._apply_plain(base, files, cidx, commit)
        if self.children.get(commit.sha, 0) > 0:
            self.states[commit.sha] = base
        self.final_state = base

    def _apply_plain(self, base: dict, files: list[FileDiff], cidx: int, commit: _Commit) -> None:
        updates = []
        for fd in files:
            old = base.get(fd.old_path) if fd.old_path is not None else None
            commit.files += 1
            if fd.binary or fd.special:
                self.report["binary_files_skipped" if fd.binary else "special_files_skipped"] += 1
                if old:
                    self._end(old, cidx)
                updates.append((fd.old_path, fd.new_path, None))
                continue
            commit.deleted += fd.n_deleted
            commit.added += len(fd.added)
            if fd.new_path is None:
                if old:
                    self._end(old, cidx)
                updates.append((fd.old_path, None, None))
                continue
            new, deleted = self._carry(old or (), fd, self._register(fd, cidx))
            self._end(deleted, cidx)
            updates.append((fd.old_path, fd.new_path, new))
        self._commit_updates(base, updates)

    @staticmethod
    def _commit_updates(base: dict, updates: list) -> None:
        for op, np_, _ in updates:
            if op is not None and op != np_:
                base.pop(op, None)
        for op, np_, new in updates:
            if np_ is not None:
                if new is None:
                    base.pop(np_, None)
                else:
                    base[np_] = new

    def _apply_merge(self, base: dict, files: list[FileDiff], extra: list[list[FileDiff]], cidx: int) -> None:
        self.report["merges"] += 1
        commit = self.commits[cidx]
        others = []
        for k, pk in enumerate(commit.parents[1:]):
            st = self._peek_release(pk)
            diffs = extra[k] if k < len(extra) else []
            others.append((st, {fd.new_path: fd for fd in diffs if fd.new_path is not None}, diffs))
        updates = []
        for fd in files:
            old = base.get(fd.old_path) if fd.old_path is not None else None
            if fd.binary or fd.special or fd.new_path is None:
                if old:
                    self._end(old, cidx)
                updates.append((fd.old_path, fd.new_path, None))
                continue
            holes: list[int] = []
            new, deleted1 = self._carry(old or (), fd, None, holes)
            same = self._identical_parent(fd.new_path, len(new), others)
            if same is not None:  # git blame's rule: a parent holding the identical file gives every line
                new, holes = list(same), []
            present = {u for u in new if u is not None and u >= 0}
            for st, by_path, _ in others:
                if not holes:
                    break
                fdk = by_path.get(fd.new_path)
                if fdk is None:
                    lk = st.get(fd.new_path)
                    if lk is None or len(lk) != len(new):
                        continue
                elif fdk.binary or fdk.special:
                    continue
                else:
                    lk, _ = self._carry(st.get(fdk.old_path, ()) if fdk.old_path is not None else (), fdk)
                    if len(lk) != len(new):
                        continue
                for i in holes:
                    u = lk[i]
                    if u is not None and u not in present:  # a unit holds one line: a second copy is merge-born
                        new[i] = u
                        if u >= 0:
                            present.add(u)
                holes = [i for i in holes if new[i] is None]
            if holes:
                self.report["merge_born_lines"] += len(holes)
                for i in holes:
                    new[i] = -1
            if deleted1:
                self._end(deleted1, cidx, keep=present)
            if same is not None and old:  # the first parent's unchanged lines are now the other parent's units
                gone = set(deleted1)
                self._censor((u for u in old if u >= 0 and u not in present and u not in gone), cidx)
            updates.append((fd.old_path, fd.new_path, new))
        self._commit_updates(base, updates)
        for st, _, diffs in others:
            self._drop_orphans(base, st, diffs, cidx)

    @staticmethod
    def _identical_parent(path: str, n: int, others: list) -> list | None:
        """The unit list of the first non-first parent whose file at ``path`` is identical to the merge's."""
        for st, by_path, _ in others:
            if path not in by_path:  # the merge's diff against this parent does not touch the file
                lk = st.get(path)
                if lk is not None and len(lk) == n:
                    return lk
        return None

    def _censor(self, units: Iterable[int], cidx: int) -> None:
        """Duplicates leaving the history at merge ``cidx`` (not ended units): censored at the last such merge."""
        ended, censored = self.ended, self.censored
        for u in units:
            if ended[u] >= 0:
                continue
            if censored[u] < 0:
                self.report["merge_duplicate_units"] += 1
            censored[u] = cidx

    def _drop_orphans(self, merged: dict, st: dict, diffs: list[FileDiff], cidx: int) -> None:
        """Units of a non-first parent's state ``st`` that are not in the ``merged`` state: each ends or is
        censored at the merge (see the module docstring, "Branches and merges").

        Only files whose unit list differs from the merged one are looked at (lists are shared, never
        mutated, so an identical object means identical units).
        """
        diff_paths = [p for p, lk in st.items() if lk and merged.get(p) is not lk]
        if not diff_paths:
            return
        present: set[int] = set()
        for p, lm in merged.items():
            if st.get(p) is not lm:
                present.update(lm)
        dropped: set[int] = set()  # lines the merge's diff against this parent deletes (or whole files)
        for fdk in diffs:
            oldk = st.get(fdk.old_path) if fdk.old_path is not None else None
            if not oldk:
                continue
            if fdk.binary or fdk.special or fdk.new_path is None:
                dropped.update(oldk)
            else:
                dropped.update(self._carry(oldk, fdk)[1])
        ended = self.ended
        dup = []
        for p in diff_paths:
            for u in st[p]:
                if u < 0 or u in present or ended[u] >= 0:
                    continue
                if u in dropped:
                    ended[u] = cidx
                    self.report["merge_dropped_units"] += 1
                else:  # censored at the last merge that drops it (its branch may go on holding it)
                    dup.append(u)
        self._censor(dup, cidx)


def _group_merge_diffs(records: Iterable[tuple[bytes, list[FileDiff]]], requests: list[tuple[str, str]]
                       ) -> Iterable[tuple[str, list[list[FileDiff]]]]:
    """(merge, [diffs vs parent 1, diffs vs parent 2, ...]) from diff-tree's records, one per request line."""
    cur: list[list[FileDiff]] = []
    k = 0
    for _hdr, files in records:
        if k >= len(requests):
            break
        cur.append(files)
        mm = requests[k][0]
        k += 1
        if k == len(requests) or requests[k][0] != mm:
            yield mm, cur
            cur = []


def _merge_diffs_thread(view: RepoView, merges: list[tuple[str, list[str]]], q: "queue.Queue") -> None:
    """Diffs of each merge against every parent (positions only), from one ``diff-tree --stdin`` process.

    Runs in a background thread while the main ``git log`` pass streams. It
    only collects git's output (I/O, which releases the GIL, so it does not
    compete with the main thread's parsing) and puts ``("raw", bytes,
    requests)`` on ``q``; the main thread parses it when it reaches the first
    merge (:class:`_MergeFeed`). An exception object is put on failure.
    """
    try:
        requests = [(mm, p) for mm, ps in merges for p in ps]
        stdin = b"".join(f"{mm} {p}\n".encode() for mm, p in requests)
        out = run_git(view, "diff-tree", "--stdin", "--always", "-r", "-p", *DIFF_OPTS, input=stdin)
        q.put(("raw", out, requests))
    except BaseException as exc:  # handed to the main thread
        q.put(exc)


class _MergeFeed:
    """The main thread's side of :func:`_merge_diffs_thread`: ``get()`` returns the next item."""

    def __init__(self, q: "queue.Queue", hexlen: int):
        self.q = q
        self.hexlen = hexlen
        self.items: Iterator | None = None

    def get(self) -> Any:
        if self.items is not None:
            return next(self.items, None)
        item = self.q.get()
        if isinstance(item, tuple) and len(item) == 3 and item[0] == "raw":
            self.items = iter(list(_group_merge_diffs(parse_bytes(item[1], keep_text=False, hexlen=self.hexlen),
                                                      item[2])))
            return next(self.items, None)
        return item


def mine_repository(
    repo: str | os.PathLike,
    *,
    name: str | None = None,
    observation_end: Any = None,
    exclude_globs: Sequence[str] | None = None,
    agent_rules: Iterable[Any] | None = None,
    intent_rules: Iterable[Any] | None = None,
    progress: bool = True,
    allow_shallow: bool = False,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Mine one repository; return (line-events table, mining report). See :func:`mine_repositories`."""
    info = check_repository(repo, name)
    if info.shallow and not allow_shallow:
        raise InputError(f"{info.path} is a shallow clone: its oldest commits would claim every older line; "
                         "run `git fetch --unshallow` (or pass allow_shallow=True to drop those lines)")
    pf = exclude_globs if isinstance(exclude_globs, PathFilter) else PathFilter(exclude_globs)
    agents = agent_rules if isinstance(agent_rules, AgentClassifier) else AgentClassifier(agent_rules)
    agents = agents.for_repo(info.name)  # rules restricted to other repositories (``repos``) are left out
    intents = intent_rules if isinstance(intent_rules, IntentClassifier) else IntentClassifier(intent_rules)
    m = _Miner(info, pf, agents, intents)
    with info.view() as view:
        # the main pass is the plain `git log -p --unified=0 -M --no-merges` pass in topological order; it starts
        # first so that git walks the history while the small commands below run
        records = iter_records(view, "log", "--topo-order", "--reverse", "--no-merges", "-p", *DIFF_OPTS,
                               "--encoding=UTF-8", f"--format={LOG_FORMAT}", "HEAD", "--", keep_text=True)
        try:
            return _mine(m, info, view, records, observation_end, progress)
        finally:
            records.close()


def _mine(m: _Miner, info: RepoInfo, view: RepoView, records: Any, observation_end: Any, progress: bool
          ) -> tuple[pd.DataFrame, dict[str, Any]]:
    revs = run_git(view, "rev-list", "--topo-order", "--reverse", "--parents", "HEAD").decode().split("\n")
    order: list[list[str]] = []
    merges = []
    for ln in revs:
        parts = ln.split()
        if not parts:
            continue
        order.append(parts)
        m.children.setdefault(parts[0], 0)
        for p in parts[1:]:
            m.children[p] = m.children.get(p, 0) + 1
        if len(parts) > 2:
            merges.append((parts[0], parts[1:]))
    merge_meta: dict[str, _Commit] = {}
    q: queue.Queue = queue.Queue()
    if merges:
        for header, _ in iter_records(view, "log", "--merges", "--no-patch", "--encoding=UTF-8",
                                      f"--format={LOG_FORMAT}", "HEAD", "--", keep_text=False):
            c = _Commit(*_header_fields(header))
            merge_meta[c.sha] = c
        threading.Thread(target=_merge_diffs_thread, args=(view, merges, q), daemon=True).start()
    merge_feed = _MergeFeed(q, len(info.head))

    from tqdm.auto import tqdm

    bar = tqdm(total=len(order), disable=not progress, unit="commit", desc=info.name, mininterval=0.5, leave=False)
    stream = iter(records)
    early: dict[str, tuple[_Commit, list[FileDiff]]] = {}

    def next_plain(sha: str) -> tuple[_Commit, list[FileDiff]]:
        if sha in early:
            return early.pop(sha)
        for header, files in stream:
            c = _Commit(*_header_fields(header))
            if c.sha == sha:
                return c, files
            early[c.sha] = (c, files)  # a different but valid topological order: keep until needed
        raise InputError(f"{info.path}: git log did not list commit {sha}")

    try:
        for parts in order:
            sha = parts[0]
            if len(parts) > 2:
                item = merge_feed.get()
                if isinstance(item, BaseException):
                    raise item
                if item is None or item[0] != sha:
                    raise InputError(f"{info.path}: merge diffs out of order at {sha}")
                diffs = item[1]
                m.apply(merge_meta[sha], diffs[0], diffs[1:])
            else:
                c, files = next_plain(sha)
                m.apply(c, files, [])
            bar.update(1)
        for _ in stream:  # drain (normally empty)
            pass
    finally:
        bar.close()
    m.report["commits"] = len(m.commits)
    by_agent: dict[str, int] = {}
    for c in m.commits:  # non-merge commits the agent rules mark (also those that added no line unit; the report's
        # agent_commits, set by to_frame, counts merge commits too)
        if c.label[0] and len(c.parents) < 2:
            by_agent[c.label[0]] = by_agent.get(c.label[0], 0) + 1
    m.report["agent_commits_by_agent"] = dict(sorted(by_agent.items()))
    return to_frame(m, observation_end, head_text_lines(view), columns=LINE_EVENT_COLUMNS)


def head_text_lines(view: RepoView, rev: str = "HEAD") -> dict[str, int]:
    """Path -> line count of every text file at ``rev`` (binary files, symlinks and submodules left out)."""
    from studykit.studies.code_survival.gitio import EMPTY_TREE, decode_path

    special = set()
    for ent in run_git(view, "ls-tree", "-r", "-z", rev).split(b"\x00"):
        if ent and ent[:6] in (b"160000", b"120000"):
            special.add(ent.split(b"\t", 1)[1])
    out: dict[str, int] = {}
    for it in run_git(view, "diff-tree", "-r", "--numstat", "-z", "--no-renames", EMPTY_TREE, rev).split(b"\x00"):
        if not it:
            continue
        added, _deleted, path = it.split(b"\t", 2)
        if added != b"-" and path not in special:
            out[decode_path(path)] = int(added)
    return out


def mine_repositories(
    repos: Sequence[str | os.PathLike] | str | os.PathLike,
    observation_end: Any = None,
    exclude_globs: Sequence[str] | None = None,
    progress: bool = True,
    agent_rules: Iterable[Any] | None = None,
    intent_rules: Iterable[Any] | None = None,
    allow_shallow: bool = False,
) -> pd.DataFrame:
    """Mine line events from git repositories: one row per line added by a non-merge commit.

    Parameters
    ----------
    repos : path or sequence of paths
        Git repositories (working trees or bare). The repository name (the
        ``repo`` column) is the folder name, suffixed ``-2``, ``-3`` on clashes.
    observation_end : ISO string, datetime or None
        Censoring time; None uses each repository's last commit time.
    exclude_globs : sequence of str or None
        Globs of paths whose added lines are not units; None uses
        :data:`~studykit.studies.code_survival.rules.DEFAULT_EXCLUDE_GLOBS`;
        ``[]`` excludes nothing.
    progress : bool
        Show a tqdm progress bar per repository.
    agent_rules, intent_rules : rule lists or None
        See :mod:`studykit.studies.code_survival.rules`; None uses the defaults.
    allow_shallow : bool
        Mine shallow clones, dropping the units of their boundary commits.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`LINE_EVENT_COLUMNS`. ``born_at``/``ended_at``/``observed_until``
        are UTC timestamps (``ended_at`` NaT when censored; ``end_intent`` and
        ``end_commit`` empty then); ``duration_days`` is
        :math:`(\\min(\\text{end}, \\text{observation end}) - \\text{born}) / 86400`.
        ``df.attrs["mining_report"]`` holds one dict per repository with the
        counts of every rule applied (see the module docstring).
    """
    if isinstance(repos, (str, os.PathLike)):
        repos = [repos]
    repos = list(repos)
    if not repos:
        raise InputError("no repositories given to mine")
    pf = PathFilter(exclude_globs)
    agents = AgentClassifier(agent_rules)
    intents = IntentClassifier(intent_rules)
    parse_observation_end(observation_end)
    from .rules import check_rule_repos

    names, used = [], {}  # the folder name, -2, -3 on clashes (as parallel.repository_names)
    for r in repos:
        base = Path(r).expanduser().resolve().name or "repo"
        used[base] = used.get(base, 0) + 1
        names.append(base if used[base] == 1 else f"{base}-{used[base]}")
    check_rule_repos(agents.all_rules, names)
    frames, reports = [], []
    for r, name in zip(repos, names):
        df, rep = mine_repository(r, name=name, observation_end=observation_end, exclude_globs=pf,
                                  agent_rules=agents, intent_rules=intents, progress=progress,
                                  allow_shallow=allow_shallow)
        frames.append(df)
        reports.append(rep)
    out = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    out.attrs["mining_report"] = reports
    return out


def blame_counts(repo: str | os.PathLike, exclude_globs: Sequence[str] | None = None,
                 rev: str = "HEAD") -> dict[str, int]:
    """Lines per commit by ``git blame --line-porcelain`` over every text file at ``rev``.

    Binary files (numstat ``-``), submodules, symlinks and paths matched by
    ``exclude_globs`` (same rule as the miner; None = defaults) are skipped.
    Used to cross-check the miner: alive units by born commit must agree.
    """
    info = check_repository(repo)
    pf = exclude_globs if isinstance(exclude_globs, PathFilter) else PathFilter(exclude_globs)
    from studykit.studies.code_survival.gitio import EMPTY_TREE, decode_path, unquote_path

    counts: dict[str, int] = {}
    with info.view() as view:
        raw = run_git(view, "diff-tree", "-r", "--numstat", "-z", "--no-renames", EMPTY_TREE, rev)
        items = raw.split(b"\x00")
        modes = {}
        for ent in run_git(view, "ls-tree", "-r", "-z", rev).split(b"\x00"):
            if ent:
                meta, path = ent.split(b"\t", 1)
                modes[path] = meta.split()[0]
        for it in items:
            if not it:
                continue
            added, _deleted, path = it.split(b"\t", 2)
            if added == b"-" or modes.get(path) in (b"160000", b"120000"):
                continue
            p = decode_path(path)
            if pf.excluded(p):
                continue
            out = run_git(view, "blame", "--line-porcelain", "--root", rev, "--", p)
            for ln in out.split(b"\n"):
                if len(ln) > 40 and ln[:1] != b"\t" and ln[40:41] == b" " and _is_hex(ln[:40]):
                    s = ln[:40].decode()
                    counts[s] = counts.get(s, 0) + 1
    return counts


__all__ = ["mine_repositories", "mine_repository", "blame_counts", "LINE_EVENT_COLUMNS",
           "parse_observation_end"]

#: key and value of the Parquet schema metadata that marks a table ``studykit mine`` wrote
PARQUET_MARK = (b"studykit", b"mine")


def written_by_mine(path: Path) -> bool:
    """Whether ``path`` is a table ``studykit mine`` wrote, so that ``mine --out`` may replace it: a CSV (or
    gzip CSV) whose header is exactly the mined columns, or a Parquet file carrying :data:`PARQUET_MARK` in its
    schema metadata. Anything else is a user's file and is never overwritten."""
    name = path.name.lower()
    try:
        if name.endswith((".parquet", ".pq")):
            import pyarrow.parquet as pq

            meta = pq.read_schema(path).metadata or {}
            return meta.get(PARQUET_MARK[0]) == PARQUET_MARK[1]
        import gzip

        opener = gzip.open if name.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8", newline="") as fh:
            header = fh.readline(4096).rstrip("\r\n")
    except Exception:  # unreadable, not a table: not ours
        return False
    return header == ",".join(LINE_EVENT_COLUMNS)
