"""``studykit mine``: the command code_survival adds to studykit (:attr:`studykit.contract.registry.Study.commands`).

``studykit mine REPO... --out FILE [--observation-end ISO] [--exclude GLOB ...] [--agent-rules FILE]`` mines
local git repositories into the line-survival table the study reads (:mod:`.mining`, :mod:`.parallel`).
"""
from __future__ import annotations

import argparse
import sys

from studykit.cli import _jobs, _user_path
from studykit.contract.errors import ParamError

__all__ = ["add_mine", "cmd_mine"]


def add_mine(sub) -> None:
    m = sub.add_parser("mine", help="mine git repositories into a line-survival table (code_survival)")
    m.add_argument("repos", nargs="+", metavar="REPO", help="local git repositories")
    m.add_argument("--out", required=True, metavar="FILE", help="output table: .csv, .csv.gz or .parquet")
    m.add_argument("--observation-end", metavar="ISO", help="censoring date (default: each repository's HEAD)")
    m.add_argument("--exclude", action="append", default=[], metavar="GLOB", help="path glob to skip; repeatable")
    m.add_argument("--agent-rules", metavar="FILE", help="YAML or JSON file of agent rules (a list of {agent, field, "
                   "pattern, repos}; replaces the defaults; the study's agent_rules parameter takes the same file)")
    m.add_argument("--no-progress", action="store_true", help="no progress bar")
    where = m.add_mutually_exclusive_group()
    where.add_argument("--jobs", type=int, default=1, metavar="N", help="repositories mined at a time in processes")
    where.add_argument("--dask", metavar="ADDRESS", help="a Dask scheduler (tcp://host:8786) mining the repositories")


def _parse_iso(value: str | None):
    """``--observation-end``: ISO date or timestamp (UTC when naive), not after the run, not before 1980."""
    if value is None:
        return None
    import datetime as dt

    try:
        dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ParamError(f"--observation-end: '{value}' is not an ISO date or timestamp") from None
    from studykit.studies.code_survival.minetable import parse_observation_end

    return parse_observation_end(value, what="--observation-end").to_pydatetime()


def cmd_mine(args: argparse.Namespace) -> int:
    from studykit.files.fileio import check_owned_file, owned_file_path
    from studykit.studies.code_survival.mining import PARQUET_MARK, written_by_mine

    out = _user_path(args.out)
    name = out.name.lower()
    if name.endswith((".csv", ".csv.gz")):
        fmt = "csv"
    elif name.endswith((".parquet", ".pq")):
        fmt = "parquet"
    else:
        raise ParamError(f"--out {args.out}: use a .csv, .csv.gz or .parquet file name")
    check_owned_file(out, written_by_mine, "--out")  # before mining: a folder or a user's file is refused now
    repos = []
    for r in args.repos:
        p = _user_path(r)
        if not p.is_dir():
            raise ParamError(f"repository not found: {p}")
        repos.append(str(p))
    end = _parse_iso(args.observation_end)
    from studykit.studies.code_survival.parallel import mine_many
    from studykit.studies.code_survival.rules import load_agent_rules

    rules = None
    if args.agent_rules is not None:
        rules = load_agent_rules(str(_user_path(args.agent_rules)), what="--agent-rules")

    jobs = _jobs(args.jobs) if args.dask is None else args.jobs
    df = mine_many(repos, jobs=jobs, dask=args.dask, observation_end=end, exclude_globs=args.exclude or None,
                   agent_rules=rules,
                   progress=not args.no_progress and jobs == 1 and args.dask is None)
    from studykit.files.floats import FLOAT_FORMAT, stable_frame

    df = stable_frame(df)
    with owned_file_path(out, written_by_mine, "--out") as tmp:
        if fmt == "csv":
            df.to_csv(tmp, index=False, lineterminator="\n", float_format=FLOAT_FORMAT,
                      compression="gzip" if name.endswith(".gz") else None)
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(df, preserve_index=False)
            pq.write_table(table.replace_schema_metadata({**(table.schema.metadata or {}),
                                                          PARQUET_MARK[0]: PARQUET_MARK[1]}), tmp)
    print(f"mined {len(df):,} rows from {len(repos)} repositories -> {out}")
    from studykit.studies.code_survival.load import mining_issues

    for issue in mining_issues(df.attrs.get("mining_report", [])):
        print(f"data issue {issue.check} {issue.count:,}: {issue.rule}" + (f" [{issue.detail}]" if issue.detail
                                                                          else ""), file=sys.stderr)
    return 0

