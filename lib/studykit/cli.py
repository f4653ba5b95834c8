"""The ``studykit`` command (also ``python -m studykit``).

::

    studykit list
    studykit params STUDY
    studykit run STUDY|all [--profile NAME | --params FILE] [--set KEY=VALUE ...] [--out DIR] [--force] [--jobs N]
    studykit report [RUN_FOLDER] [--out DIR] [--outputs DIR]
    studykit simulate STUDY|all [--out DIR]
    studykit mine REPO... --out FILE [--observation-end ISO] [--exclude GLOB ...] [--agent-rules FILE]
                  [--jobs N | --dask ADDRESS]
    studykit sweep STUDY --grid FILE [--profile P] [--jobs N | --dask ADDRESS] [--out DIR] [--force] [--yes]
    studykit doctor | check STUDY|all | workshop init DIR     (see studykit.cli_workshop)

Every :class:`~studykit.errors.StudykitError` is printed as one line on
stderr and the process exits with its ``exit_code`` (2 for bad parameters or
input data, 1 for a failing notebook); no traceback.

Each subcommand is one ``cmd_<name>(args) -> exit code`` function with its
arguments declared in one ``add_<name>(subparsers)`` function; both are listed
in :data:`COMMANDS`.
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence

from studykit import cli_workshop
from studykit.errors import ParamError, StudykitError


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as a one-line ParamError (exit 2)."""

    def error(self, message: str):  # type: ignore[override]
        raise ParamError(f"{self.prog}: {message} (see `{self.prog} --help`)")


def _user_path(value: str | None):
    """A path typed on the command line: relative to the current directory (unlike parameter values,
    which are relative to the project root so that notebooks and the CLI agree)."""
    if value is None:
        return None
    from pathlib import Path

    return Path(os.path.expanduser(value)).absolute()


def _studies_arg(value: str) -> list[str]:
    from studykit.studies import STUDIES, get_study

    if value == "all":
        return list(STUDIES)
    get_study(value)  # one-line error for an unknown study
    return [value]


def add_list(sub) -> None:
    sub.add_parser("list", help="the studies, their notebooks and parameter profiles")


def add_params(sub) -> None:
    p = sub.add_parser("params", help="a study's parameters: type, default, range and description")
    p.add_argument("study", help="a study name")
    p.add_argument("--profile", help="add a column with the values this profile sets (blank: the default)")


def add_run(sub) -> None:
    r = sub.add_parser("run", help="execute study notebooks (cached), writing outputs/<study>/<profile>/")
    r.add_argument("study", help="a study name or 'all'")
    g = r.add_mutually_exclusive_group()
    g.add_argument("--profile", default="default", help="params/<study>/<NAME>.yaml (default: default)")
    g.add_argument("--params", dest="params_file", metavar="FILE",
                   help="a YAML parameter file instead of a profile (its relative paths: relative to FILE)")
    r.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override one parameter (VALUE read as YAML; relative paths: relative to the current "
                        "directory); repeatable. The run goes to <profile>+<hash>/, not the profile's folder")
    r.add_argument("--out", metavar="DIR", help="output folder (with 'all': DIR/<study>/<run name>)")
    r.add_argument("--force", action="store_true", help="execute even if the cached run is up to date")
    r.add_argument("--jobs", type=int, default=1, metavar="N", help="studies run in parallel processes (all)")
    r.add_argument("--quiet", action="store_true", help="no progress output")


def add_report(sub) -> None:
    rep = sub.add_parser("report", help="build the HTML report of every run (outputs/site/index.html)")
    rep.add_argument("--out", metavar="DIR", help="site folder (default: outputs/site)")
    rep.add_argument("--outputs", metavar="DIR", help="runs to report (default: outputs/)")
    rep.add_argument("run", nargs="?", metavar="RUN_FOLDER",
                     help="report only this run's folder (manifest.json + results.json); site beside it in "
                          "RUN_FOLDER.site (never inside the run folder)")


def add_simulate(sub) -> None:
    s = sub.add_parser("simulate", help="regenerate a study's embedded data with its seeded simulator")
    s.add_argument("study", help="a study name or 'all'")
    s.add_argument("--out", metavar="DIR", help="target folder (default: data/<study>/; with 'all': DIR/<study>)")


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


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="studykit", description="Run, cache and report the studykit study notebooks.")
    from studykit import __version__

    p.add_argument("--version", action="version", version=f"studykit {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for add, _ in COMMANDS.values():
        add(sub)
    return p


# ------------------------------------------------------------------------------------------
def _jobs(requested: int, what: str = "--jobs") -> int:
    """``--jobs N`` checked (at least 1) and capped by the machine's cores and memory, with a note when capped."""
    from studykit.workers import cap_workers

    if requested < 1:
        raise ParamError(f"{what} must be at least 1, got {requested}")
    jobs, note = cap_workers(requested, what)
    _notes([note] if note else [])
    return jobs


def _notes(notes) -> None:
    for note in notes:
        print(note, file=sys.stderr, flush=True)


def cmd_list(args: argparse.Namespace) -> int:
    from studykit import paths
    from studykit.profiles import list_profiles
    from studykit.studies import STUDIES

    rows = []
    for s in STUDIES:
        nb = paths.notebook_path(s)
        nb_s = os.path.relpath(nb, paths.project_root()) if nb.is_file() else "(no notebook yet)"
        data = paths.data_dir(s)
        data_s = os.path.relpath(data, paths.project_root()) + "/" if data.is_dir() else "(no data yet)"
        rows.append((s, nb_s, ", ".join(list_profiles(s)), data_s))
    head = ("study", "notebook", "profiles", "embedded data")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(4)]
    for r in [head, *rows]:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    return 0


def cmd_params(args: argparse.Namespace) -> int:
    import shutil
    import textwrap

    from studykit.params import _value_text
    from studykit.profiles import list_profiles, params_class

    cls = params_class(args.study)
    rows = cls.describe_fields()
    head = {"name": "parameter", "type": "type", "default": "default", "range": "range", "description": "description"}
    cols = ["name", "type", "default", "range"]
    if args.profile:
        if args.profile not in list_profiles(args.study):
            raise ParamError(f"unknown profile '{args.profile}' of {args.study} (known: "
                             f"{', '.join(list_profiles(args.study))})")
        from studykit import paths

        file = paths.params_dir(args.study) / f"{args.profile}.yaml"
        values = cls.read_profile(file) if file.is_file() else {}
        head["profile"] = args.profile
        for r in rows:
            r["profile"] = _value_text(values[r["name"]]) if r["name"] in values else ""
        cols.append("profile")
    cut = {"type": 24, "default": 24, "range": 18, "profile": 24}
    for r in [head, *rows]:  # long values are cut: the whole value is in the YAML and the docs
        for c in cols[1:]:
            r[c] = r[c] if len(r[c]) <= cut[c] else r[c][:cut[c] - 1] + "…"
    widths = {c: max(len(r[c]) for r in [head, *rows]) for c in cols}
    left = sum(widths.values()) + 2 * len(cols)
    room = max(30, shutil.get_terminal_size((120, 24)).columns - left)
    for r in [head, *rows]:
        lines = textwrap.wrap(r["description"], room) or [""]
        print("  ".join(r[c].ljust(widths[c]) for c in cols) + "  " + lines[0])
        for more in lines[1:]:
            print(" " * left + more)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from studykit.runner import RunAllError, run_all, run_study

    studies = _studies_arg(args.study)
    progress = not args.quiet
    jobs = _jobs(args.jobs)
    if args.study != "all":
        res = run_study(studies[0], profile=args.profile, params_file=_user_path(args.params_file),
                        overrides=args.overrides, out_dir=_user_path(args.out), force=args.force, progress=progress)
        _notes(res.notes)
        print(res.describe())
        print(res.summary(), flush=True)
        return 0
    if args.params_file:
        raise ParamError("--params FILE names one study's parameters; use it with one study, not 'all'")

    def report(study: str, res) -> None:
        if isinstance(res, StudykitError):
            print(f"{study}: FAILED: {res}", file=sys.stderr, flush=True)
        else:
            _notes(res.notes)
            print(res.describe())
            print(res.summary(), flush=True)

    try:
        run_all(studies, profile=args.profile, jobs=jobs, overrides=args.overrides or None,
                out_root=_user_path(args.out), force=args.force, progress=progress, on_result=report)
    except RunAllError as exc:
        n_failed = exc.args[0].split(" ", 1)[0]
        raise RunAllError(f"{n_failed} of {len(studies)} studies failed (see above)",
                          exc.results, exc.exit_code) from None
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from studykit.report import build_report

    if args.run and args.outputs:
        raise ParamError("report: give a RUN_FOLDER or --outputs, not both")
    index = build_report(out_dir=_user_path(args.out), outputs_root=_user_path(args.run or args.outputs),
                         on_note=lambda line: print(line, file=sys.stderr, flush=True))
    print(f"report: {index}")
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from studykit.simdata import simulate_into, target_claims

    for study, claim in target_claims(_studies_arg(args.study), _user_path(args.out), args.study == "all").items():
        written = simulate_into(study, claim)
        print(f"{study}: wrote {len(written)} files to {claim.folder}")
    return 0


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
    from studykit.fileio import check_owned_file, owned_file_path
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
    from studykit.floats import FLOAT_FORMAT, stable_frame

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


def add_sweep(sub) -> None:
    sw = sub.add_parser("sweep", help="run a study over a grid of choices: table, specification curve, page")
    sw.add_argument("study", help="a study name")
    sw.add_argument("--grid", required=True, metavar="FILE", help="grid YAML, e.g. params/<study>/multiverse.yaml")
    sw.add_argument("--profile", help="base profile of every point (default: the grid file's, else default)")
    where = sw.add_mutually_exclusive_group()
    where.add_argument("--jobs", type=int, default=1, metavar="N", help="points run at a time in local processes")
    where.add_argument("--dask", metavar="ADDRESS", help="a Dask scheduler (tcp://host:8786) running the points")
    sw.add_argument("--out", metavar="DIR", help="sweep folder (default: outputs/<study>/sweeps/<name>)")
    sw.add_argument("--force", action="store_true", help="execute every point even if its cached run is current")
    sw.add_argument("--yes", action="store_true",
                    help="start a grid of more than 200 points without asking (needed when not on a terminal)")
    sw.add_argument("--quiet", action="store_true", help="no progress output")


def cmd_sweep(args: argparse.Namespace) -> int:
    from studykit.sweep import run_sweep

    if args.study == "all":
        raise ParamError("sweep runs one study; give its name (its grid file names that study's parameters)")
    _studies_arg(args.study)
    jobs = _jobs(args.jobs) if args.dask is None else args.jobs

    def ask(question: str) -> bool:
        print(f"{question} [y/N] ", end="", file=sys.stderr, flush=True)
        return sys.stdin.readline().strip().lower() in ("y", "yes")

    res = run_sweep(args.study, _user_path(args.grid), profile=args.profile, jobs=jobs, dask=args.dask,
                    out_dir=_user_path(args.out), force=args.force, progress=not args.quiet, yes=args.yes,
                    confirm=ask if sys.stdin.isatty() else None, on_note=lambda line: _notes([line]))
    print(res.describe())
    if res.n_failed:
        print(f"{res.n_failed} of {len(res.rows)} points failed (see {res.table})", file=sys.stderr)
        return 1
    return 0


#: subcommand -> (function declaring its arguments, function running it)
COMMANDS = {
    "list": (add_list, cmd_list),
    "params": (add_params, cmd_params),
    "run": (add_run, cmd_run),
    "report": (add_report, cmd_report),
    "simulate": (add_simulate, cmd_simulate),
    "mine": (add_mine, cmd_mine),
    "sweep": (add_sweep, cmd_sweep),
    **cli_workshop.COMMANDS,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (also used as ``sys.exit(main())``)."""
    parser = build_parser()
    try:
        args = parser.parse_args(list(argv) if argv is not None else None)
        return COMMANDS[args.command][1](args)
    except StudykitError as exc:
        sys.stdout.flush()
        text = str(exc)
        while text.startswith("studykit: "):  # a message that already names the program is not named twice
            text = text[len("studykit: "):]
        print(f"studykit: error: {text.removeprefix('error: ')}", file=sys.stderr, flush=True)
        return int(getattr(exc, "exit_code", 1))
    except BrokenPipeError:  # `studykit params X | head`: the reader stopped early; not an error
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # Python's exit flush stays quiet
        except OSError:
            pass
        return 0
    except OSError as exc:  # a write no writer mapped (disk full, read-only file system): still one line
        from studykit.folders import os_error_text

        sys.stdout.flush()
        print(f"studykit: error: {os_error_text(exc)}", file=sys.stderr, flush=True)
        return 2
    except KeyboardInterrupt:
        print("studykit: interrupted", file=sys.stderr)
        return 130


def entry() -> None:  # pragma: no cover - console script wrapper
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
