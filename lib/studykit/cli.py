"""The ``studykit`` command (also ``python -m studykit``).

::

    studykit list
    studykit params STUDY
    studykit run STUDY|all [--profile NAME | --params FILE] [--set KEY=VALUE ...] [--out DIR] [--force] [--jobs N]
    studykit report [RUN_FOLDER] [--out DIR] [--outputs DIR]
    studykit simulate STUDY|all [--out DIR]
    studykit sweep STUDY [--grid FILE] [--profile P] [--jobs N | --dask ADDRESS] [--out DIR] [--force] [--yes]
    studykit doctor | check STUDY|all | workshop init DIR     (see studykit.teaching.cli_workshop)

Every :class:`~studykit.contract.errors.StudykitError` is printed as one line on
stderr and the process exits with its ``exit_code`` (2 for bad parameters or
input data, 1 for a failing notebook); no traceback.

Each subcommand is one ``cmd_<name>(args) -> exit code`` function with its
arguments declared in one ``add_<name>(subparsers)`` function; both are listed
in :data:`COMMANDS`. Studies add their own subcommands (code_survival's ``studykit mine``) in their
descriptor (:attr:`studykit.contract.registry.Study.commands`); ``studykit --help`` lists them with the others.
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence

from studykit.teaching import cli_workshop
from studykit.contract.errors import ParamError, StudykitError


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
    from studykit.contract import registry
    if value == "all":
        return list(registry.names())
    registry.module(value)  # one-line error for an unknown study
    return [value]


def add_list(sub) -> None:
    p = sub.add_parser("list", help="the studies, their notebooks and parameter profiles")
    p.add_argument("--names", action="store_true", help="only the study names, one per line (for scripts)")


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


def build_parser(study_commands_too: bool = True) -> argparse.ArgumentParser:
    """The parser of every subcommand; ``study_commands_too=False`` leaves out the ones studies add (listing
    those imports every study's package, which a built-in command does not need)."""
    p = _Parser(prog="studykit", description="Run, cache and report the studykit study notebooks.")
    from studykit import __version__

    p.add_argument("--version", action="version", version=f"studykit {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for add, _ in COMMANDS.values():
        add(sub)
    from studykit.contract.registry import resolve

    for command in (study_commands().values() if study_commands_too else ()):
        resolve(command.add)(sub)
    return p


def study_commands() -> dict:
    """The subcommands studies add (:attr:`studykit.contract.registry.Study.commands`), by name."""
    from studykit.contract import registry
    found = {}
    for name in registry.names():
        for command in registry.get(name).commands:
            if command.name in COMMANDS or command.name in found:
                raise ParamError(f"study {name} adds the command '{command.name}', which already exists")
            found[command.name] = command
    return found


# ------------------------------------------------------------------------------------------
def _jobs(requested: int, what: str = "--jobs") -> int:
    """``--jobs N`` checked (at least 1) and capped by the machine's cores and memory, with a note when capped."""
    from studykit.runs.workers import cap_workers

    if requested < 1:
        raise ParamError(f"{what} must be at least 1, got {requested}")
    jobs, note = cap_workers(requested, what)
    _notes([note] if note else [])
    return jobs


def _notes(notes) -> None:
    for note in notes:
        print(note, file=sys.stderr, flush=True)


def cmd_list(args: argparse.Namespace) -> int:
    from studykit.files import paths
    from studykit.contract.profiles import list_profiles
    from studykit.contract.registry import names

    if args.names:
        print("\n".join(names()))
        return 0
    rows = []
    for s in names():
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

    from studykit.contract.params import _value_text
    from studykit.contract.profiles import list_profiles, params_class

    cls = params_class(args.study)
    rows = cls.describe_fields()
    head = {"name": "parameter", "type": "type", "default": "default", "range": "range", "description": "description"}
    cols = ["name", "type", "default", "range"]
    if args.profile:
        if args.profile not in list_profiles(args.study):
            raise ParamError(f"unknown profile '{args.profile}' of {args.study} (known: "
                             f"{', '.join(list_profiles(args.study))})")
        from studykit.files import paths
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
    from studykit.runs.runner import RunAllError, run_all, run_study

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
    from studykit.site.report import build_report

    if args.run and args.outputs:
        raise ParamError("report: give a RUN_FOLDER or --outputs, not both")
    index = build_report(out_dir=_user_path(args.out), outputs_root=_user_path(args.run or args.outputs),
                         on_note=lambda line: print(line, file=sys.stderr, flush=True))
    print(f"report: {index}")
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from studykit.runs.simdata import simulate_into, target_claims

    for study, claim in target_claims(_studies_arg(args.study), _user_path(args.out), args.study == "all").items():
        written = simulate_into(study, claim)
        print(f"{study}: wrote {len(written)} files to {claim.folder}")
    return 0


def add_sweep(sub) -> None:
    sw = sub.add_parser("sweep", help="run a study over a grid of choices: table, specification curve, page")
    sw.add_argument("study", help="a study name")
    sw.add_argument("--grid", metavar="FILE", help="grid YAML (default: the study's own multiverse grid, "
                    "params/<study>/multiverse.yaml)")
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

    if args.grid is None:
        from studykit.files.paths import multiverse_grid

        grid = multiverse_grid(args.study)
        if not grid.is_file():
            raise ParamError(f"sweep {args.study}: the study has no multiverse grid ({grid} not found); give --grid FILE")
    else:
        grid = _user_path(args.grid)
    res = run_sweep(args.study, grid, profile=args.profile, jobs=jobs, dask=args.dask,
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
    "sweep": (add_sweep, cmd_sweep),
    **cli_workshop.COMMANDS,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (also used as ``sys.exit(main())``)."""
    argv = list(argv) if argv is not None else sys.argv[1:]
    try:
        first = next((a for a in argv if not a.startswith("-")), None)
        args = build_parser(study_commands_too=first not in COMMANDS).parse_args(argv)
        from studykit.contract.registry import resolve

        run = COMMANDS[args.command][1] if args.command in COMMANDS else resolve(study_commands()[args.command].run)
        return run(args)
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
        from studykit.files.folders import os_error_text

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
