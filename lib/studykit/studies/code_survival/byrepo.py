"""Per-repository tables: who the agent rules marked in each repository, and the agent HR within each one.

With many repositories the primary result pools them (clustered by repository); these tables show what each
repository contributes. ``agents_by_repo`` counts, per repository and agent, the commits the agent rules marked
(from the miner's report: every non-merge commit, also one that added no line unit), the commits and line units
in the analysed table and the units modified. ``hr_by_repo`` fits the unadjusted Cox model of the agent indicator
within each repository, clustered by commit (one repository has no between-repository variance to estimate); a
repository without agent or human lines, or without modified lines, is reported as not estimable with the reason.
"""
from __future__ import annotations

from typing import Any

import pandas as pd

from studykit.studies.code_survival import cox as cx

ALL_AGENTS = "(all agents)"
AGENT_COLUMNS = ("repo", "agent", "marked_commits", "commits", "units", "modified")


def agents_by_repo(events: pd.DataFrame, report: list[dict[str, Any]] | None = None) -> pd.DataFrame:
    """Agent commits and line units per repository and agent, with a ``(all agents)`` row per repository.

    ``marked_commits`` comes from the mining report (``agent_commits_by_agent``: non-merge commits); a table that was not mined in
    the run (``line_events_path``) has no report, and the column is left out rather than filled with guesses."""
    repos = sorted(events["repo"].astype(str).unique())
    agent = events[events["author_type"] == "agent"]
    rows = []
    marked = {str(r.get("repo")): r for r in (report or []) if "agent_commits_by_agent" in r}
    for repo in repos:
        sub = agent[agent["repo"].astype(str) == repo]
        names = sorted(set(sub["agent"].astype(str)) | set((marked.get(repo) or {}).get("agent_commits_by_agent", {})))
        for name in names + [ALL_AGENTS]:
            part = sub if name == ALL_AGENTS else sub[sub["agent"].astype(str) == name]
            row = {"repo": repo, "agent": name, "commits": int(part["commit"].nunique()), "units": int(len(part)),
                   "modified": int(part["event"].sum())}
            if repo in marked:
                by = marked[repo]["agent_commits_by_agent"]
                row["marked_commits"] = int(sum(by.values()) if name == ALL_AGENTS else by.get(name, 0))
            rows.append(row)
    cols = [c for c in AGENT_COLUMNS if c != "marked_commits" or marked]
    return pd.DataFrame(rows, columns=cols)


def hr_by_repo(events: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Unadjusted agent-vs-human HR within each repository, clustered by commit (see the module docstring)."""
    rows = []
    for repo, sub in events.groupby(events["repo"].astype(str), sort=True):
        n_agent = int((sub["author_type"] == "agent").sum())
        base = {"repo": repo, "units": int(len(sub)), "agent_units": n_agent, "events": int(sub["event"].sum())}
        if n_agent == 0 or n_agent == len(sub):
            res = cx.not_estimable("unadjusted, within the repository", "no agent lines" if n_agent == 0
                                   else "no human lines", len(sub), base["events"])
        else:
            clusters = cx.choose_clusters(sub, min_repos=2)  # one repository: clustered by commit
            res, _, _ = cx.cox_agent(sub, adjusted=False, confidence=confidence, ph_test=False, clusters=clusters)
        rows.append({**base, "hr": res.hr, "ci_low": res.ci_low, "ci_high": res.ci_high, "p_value": res.p_value,
                     "variance": res.variance, "note": res.note})
    return pd.DataFrame(rows)


__all__ = ["agents_by_repo", "hr_by_repo", "ALL_AGENTS"]
