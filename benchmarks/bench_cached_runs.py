"""Benchmark of the cache-hit path: `studykit run STUDY` with nothing changed, per study, in a fresh process.

A cached run validates the parameters, hashes the notebook, lib/, the inputs and the locks, and finds the
output folder complete; it imports nothing that executes notebooks (papermill, nbclient, jupyter_client,
nbformat: :mod:`studykit.runs.engine` is imported only when a notebook executes). The obvious alternative is the
eager import this replaced: the same command with :mod:`studykit.runs.engine` imported first (what every cached run
paid before). Also timed: interpreter start, ``import studykit.cli``, and importing the execution stack alone.

Each row is the median (and minimum) wall time of ``--repeat`` fresh processes, with their mean user+sys CPU
time (CPU is what to compare on a loaded machine). Runs that are not yet in the outputs folder are executed
first (not timed).

Run: .venv/bin/python benchmarks/bench_cached_runs.py [--profile default] [--outputs DIR] [--repeat 5]
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time

from studykit.contract.registry import names  # noqa: E402 (after the standard library)

STUDIES = names()


def _timed(code: str, args: list[str], env: dict[str, str], repeat: int) -> tuple[float, float, float, str]:
    """(median wall, min wall, mean CPU) of ``repeat`` fresh ``python -c code args`` processes; last stdout."""
    walls, cpus, out = [], [], ""
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env)
        walls.append(time.perf_counter() - t)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(args) or code}: exit {proc.returncode}: {proc.stderr.strip()[-500:]}")
        out = proc.stdout
    return statistics.median(walls), min(walls), statistics.mean(cpus), out


RUN = "import sys; from studykit.cli import main; sys.exit(main(sys.argv[1:]))"
EAGER = "import sys, studykit.runs.engine; from studykit.cli import main; sys.exit(main(sys.argv[1:]))"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="default")
    ap.add_argument("--outputs", help="outputs root (default: the project's outputs/, as make reproduce)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--studies", nargs="*", default=list(STUDIES))
    args = ap.parse_args()
    env = dict(os.environ)
    if args.outputs:
        env["STUDYKIT_OUTPUTS"] = os.path.abspath(args.outputs)
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs; {args.repeat} fresh processes per row")

    rows = []
    for label, code in (("python -c pass (interpreter start)", "pass"),
                        ("import studykit.cli", "import studykit.cli"),
                        ("import studykit.runs.runner", "import studykit.runs.runner"),
                        ("import studykit.runs.engine (the execution stack)", "import studykit.runs.engine")):
        med, lo, cpu, _ = _timed(code, [], env, args.repeat)
        rows.append((label, med, lo, cpu, ""))

    for study in args.studies:
        cmd = ["run", study, "--profile", args.profile, "--quiet"]
        first = subprocess.run([sys.executable, "-c", RUN, *cmd], capture_output=True, text=True, env=env)
        if first.returncode != 0:
            raise SystemExit(f"{study}: {first.stderr.strip()[-500:]}")
        if "executed" in first.stdout.splitlines()[0]:
            print(f"{study}/{args.profile}: was not cached, executed once first (not timed)")
        med, lo, cpu, out = _timed(RUN, cmd, env, args.repeat)
        assert "cached" in out.splitlines()[0], out
        e_med, e_lo, e_cpu, _ = _timed(EAGER, cmd, env, args.repeat)
        rows.append((f"{study}/{args.profile} cached, lazy (now)", med, lo, cpu, ""))
        rows.append((f"{study}/{args.profile} cached, engine imported first (before)", e_med, e_lo, e_cpu,
                     f"{e_med / med:.1f}x slower"))

    width = max(len(r[0]) for r in rows)
    print(f"{'':{width}}  {'median s':>9}  {'min s':>7}  {'CPU s':>7}")
    for label, med, lo, cpu, note in rows:
        print(f"{label:{width}}  {med:9.3f}  {lo:7.3f}  {cpu:7.3f}  {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
