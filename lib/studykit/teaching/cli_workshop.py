"""The workshop subcommands of ``studykit``: ``doctor``, ``check`` and ``workshop init``.

::

    studykit doctor [--no-run] [--study STUDY]
    studykit check STUDY|all [--profile P] [--run DIR] [--update] [--all-keys]
                                 (all without --profile: every profile with reference values)
    studykit workshop init DIR
"""
from __future__ import annotations

import argparse
from pathlib import Path


def add_doctor(sub) -> None:
    d = sub.add_parser("doctor", help="check this installation (Python, packages, kernel, write access, one run)")
    d.add_argument("--no-run", action="store_true", help="skip the timed workshop run")
    d.add_argument("--study", default="sycophancy_correlation", help="the study of the workshop run")
    d.add_argument("--budget", type=float, default=None, metavar="SECONDS",
                   help="seconds the workshop run should take; slower is a warning, not a failure "
                        "(default: $STUDYKIT_DOCTOR_BUDGET or 30)")


def add_check(sub) -> None:
    c = sub.add_parser("check", help="compare a run's results with the reference values in reference/")
    c.add_argument("study", help="a study name or 'all'")
    c.add_argument("--profile", default=None,
                   help="the profile (default: 'default'; with 'all', every profile that has reference values "
                        "and a run here, saying which were skipped and why)")
    c.add_argument("--run", metavar="DIR", help="the run folder (default: outputs/<study>/<profile>/)")
    c.add_argument("--update", action="store_true", help="maintainers: write the reference from the run")
    c.add_argument("--all-keys", action="store_true", help="list matching keys too")


def add_workshop(sub) -> None:
    w = sub.add_parser("workshop", help="participant workspaces for workshops")
    wsub = w.add_subparsers(dest="workshop_command", metavar="ACTION")
    wsub.required = True
    i = wsub.add_parser("init", help="copy the notebooks and exercises into DIR (outputs go there)")
    i.add_argument("dir", metavar="DIR")


def cmd_doctor(args: argparse.Namespace) -> int:
    from studykit.runs.doctor import format_checks, run_checks

    if args.budget is not None and not args.budget > 0:
        from studykit.contract.errors import ParamError

        raise ParamError(f"--budget {args.budget:g}: give a positive number of seconds")
    checks = run_checks(run=not args.no_run, study=args.study, budget_seconds=args.budget)
    print(format_checks(checks))
    return 0 if all(c.ok for c in checks) else 1


def cmd_check(args: argparse.Namespace) -> int:
    from studykit.files import paths
    from studykit.runs.check import check_run, format_report, write_reference
    from studykit.contract.errors import ParamError
    from studykit.contract import registry
    studies = list(registry.names()) if args.study == "all" else [registry.get(args.study).name]
    if args.run and len(studies) > 1:
        raise ParamError("check: --run names one run folder; give one study, not 'all'")
    if args.study == "all" and args.profile is None:
        if args.update:
            raise ParamError("check all --update: name the profile to write (--profile P)")
        return _check_every_profile(studies)
    profile = args.profile or "default"
    failed = 0
    for study in studies:
        run_dir = Path(args.run).resolve() if args.run else paths.outputs_dir() / study / profile
        if args.update:
            print(f"wrote {write_reference(run_dir, study, profile)}")
            continue
        try:
            report = check_run(study, profile, run_dir)
        except ParamError as exc:  # one study without a run or a reference: say so and check the others
            if len(studies) == 1:
                raise
            print(f"{study}/{profile}: not checked: {exc}")
            failed += 1
            continue
        print(format_report(report, show_matching=args.all_keys))
        failed += not report.ok
    return 1 if failed else 0


def _check_every_profile(studies: list[str]) -> int:
    """``check all``: every (study, profile) with reference values; skipped ones say why. 1 if any differs or none ran."""
    from studykit.files import paths
    from studykit.runs.check import check_run, format_report, reference_profiles, why_not_checked

    checked, failed, skipped = 0, 0, 0
    for study in studies:
        for profile in reference_profiles(study):
            run_dir = paths.outputs_dir() / study / profile
            reason = why_not_checked(study, profile, run_dir)
            if reason:
                print(f"{study}/{profile}: {reason}")
                skipped += 1
                continue
            report = check_run(study, profile, run_dir)
            print(format_report(report))
            checked += 1
            failed += not report.ok
    print(f"check all: {checked} runs checked, {failed} differing, {skipped} skipped"
          + ("" if checked else " (nothing to check: run the studies first, e.g. make reproduce)"))
    return 1 if failed or not checked else 0


def add_lab(sub) -> None:
    lab = sub.add_parser("lab", help="open JupyterLab on a folder with the studykit kernel and `studykit` on the PATH")
    lab.add_argument("dir", nargs="?", default=".", metavar="DIR", help="the folder to open (default: this one)")
    lab.add_argument("--dry-run", action="store_true", help="print the command and the PATH it gets, start nothing")


def lab_command(folder: Path, env: dict[str, str] | None = None) -> tuple[list[str], dict[str, str]]:
    """The JupyterLab command for ``folder`` and its environment: this installation's ``bin`` (or
    ``Scripts``) folder first on the PATH, so that ``studykit`` and ``jupyter`` work in JupyterLab's terminal
    and in a notebook's ``!`` lines without activating anything."""
    import os
    import sys

    env = dict(os.environ if env is None else env)
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join([bindir] + [p for p in env.get("PATH", "").split(os.pathsep) if p and p != bindir])
    cmd = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={folder}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    return cmd, env


def cmd_lab(args: argparse.Namespace) -> int:
    import subprocess

    from studykit.contract.errors import ParamError

    folder = Path(args.dir).expanduser().absolute()
    if not folder.is_dir():
        raise ParamError(f"lab: {folder} is not a folder (make one with: studykit workshop init {args.dir})")
    cmd, env = lab_command(folder)
    if args.dry_run:
        print(" ".join(cmd))
        print(f"PATH starts with {env['PATH'].split(__import__('os').pathsep)[0]}")
        return 0
    return subprocess.call(cmd, env=env)


def cmd_workshop(args: argparse.Namespace) -> int:
    from studykit.teaching.workshop import init_workspace

    rep = init_workspace(args.dir)
    print(f"workspace {rep.root}: {len(rep.written)} files written"
          + (f", {len(rep.kept)} kept as they were" if rep.kept else "")
          + f"; open it with: studykit lab {rep.root}")
    return 0


#: subcommand -> (function declaring its arguments, function running it), merged into studykit.cli.COMMANDS
COMMANDS = {"doctor": (add_doctor, cmd_doctor), "check": (add_check, cmd_check), "workshop": (add_workshop, cmd_workshop),
            "lab": (add_lab, cmd_lab)}
