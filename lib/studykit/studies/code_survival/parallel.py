"""Mining many repositories at once: local processes or a Dask cluster, one identical table.

Each repository is mined independently by :func:`.mining.mine_repository` (the
miner is sequential within a repository: a line's history depends on every
earlier commit), so repositories are the unit of parallel work. The tables
are concatenated in the order the repositories were given and the repository
names are fixed before any work starts (the folder name, ``-2``, ``-3`` on
clashes, as :func:`.mining.mine_repositories` names them), so the table is
identical, byte for byte once written, whether it was mined serially, in
``jobs`` processes or on a cluster.

``dask`` is a scheduler address (``tcp://host:8786``; start one with
``dask scheduler`` and workers with ``dask worker tcp://host:8786``, on
machines that have studykit installed and can read the repositories at the
same paths) or a ``distributed.Client``.
"""
from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from studykit.contract.errors import InputError, ParamError

__all__ = ["repository_names", "mine_many"]


def repository_names(repos: Sequence[str | os.PathLike]) -> list[str]:
    """The ``repo`` name of each repository: its folder name, suffixed ``-2``, ``-3`` on clashes."""
    used: dict[str, int] = {}
    names = []
    for r in repos:
        base = Path(r).expanduser().resolve().name or "repo"
        k = used.get(base, 0) + 1
        used[base] = k
        names.append(base if k == 1 else f"{base}-{k}")
    return names


def commit_count(repo: str | os.PathLike) -> int:
    """Commits reachable from HEAD (``git rev-list --count``), the scheduling estimate of a repository's mining
    time; 0 when it cannot be read (mining it then raises the one-line error)."""
    from .gitio import check_repository, run_git

    try:
        with check_repository(repo).view() as view:
            return int(run_git(view, "rev-list", "--count", "HEAD").strip() or 0)
    except Exception:  # noqa: BLE001 - only an estimate; the miner reports the problem
        return 0


def _mine_one(task: tuple[str, str, dict[str, Any]]) -> tuple[pd.DataFrame, dict[str, Any]]:
    from .mining import mine_repository

    repo, name, options = task
    return mine_repository(repo, name=name, progress=False, **options)


def mine_many(repos: Sequence[str | os.PathLike], *, jobs: int = 1, dask: Any = None, observation_end: Any = None,
              exclude_globs: Sequence[str] | None = None, allow_shallow: bool = False,
              progress: bool = False, agent_rules: Any = None) -> pd.DataFrame:
    """Mine every repository (``jobs`` processes, or the Dask cluster ``dask``) into one table.

    Same columns and rules as :func:`.mining.mine_repositories` (``agent_rules``:
    a rule list, None for the defaults; default intent rules); ``df.attrs["mining_report"]`` holds one report per
    repository, in order. A repository that cannot be mined stops the whole
    run with its one-line error.
    """
    repos = [str(r) for r in repos]
    if not repos:
        raise InputError("no repositories given to mine")
    if jobs < 1:
        raise ParamError(f"--jobs must be at least 1 (got {jobs})")
    from .mining import parse_observation_end

    from .rules import check_rule_repos, normalise_agent_rules

    parse_observation_end(observation_end)
    rules = None if agent_rules is None else normalise_agent_rules(agent_rules)
    names = repository_names(repos)
    check_rule_repos(rules, names)
    options = {"observation_end": observation_end, "exclude_globs": list(exclude_globs) if exclude_globs is not None
               else None, "allow_shallow": allow_shallow, "agent_rules": rules}
    tasks = [(r, n, options) for r, n in zip(repos, names)]
    if dask is not None:
        parts = _on_dask(tasks, dask)
    elif jobs > 1 and len(tasks) > 1:
        # the longest histories first (longest-processing-time scheduling: a large repository started last would
        # leave the other processes idle while it runs); the table keeps the given order
        first = sorted(range(len(tasks)), key=lambda i: -commit_count(tasks[i][0]))
        with ProcessPoolExecutor(max_workers=min(jobs, len(tasks))) as pool:
            futures = {i: pool.submit(_mine_one, tasks[i]) for i in first}
            parts = [futures[i].result() for i in range(len(tasks))]
    else:
        if progress:
            from .mining import mine_repository

            parts = [mine_repository(r, name=n, progress=True, **o) for r, n, o in tasks]
        else:
            parts = [_mine_one(t) for t in tasks]
    frames = [p[0] for p in parts]
    out = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    out.attrs["mining_report"] = [p[1] for p in parts]
    return out


def _on_dask(tasks: list, dask: Any) -> list:
    from studykit.runs.daskutil import connect

    with connect(dask) as client:
        return client.gather(client.map(_mine_one, tasks, pure=False))
