"""Benchmark: importing what executes notebooks (``studykit.runs.engine``), with and without the IRI grammar.

Every process that executes a notebook (``studykit run``, each sweep worker, each test worker) imports
nbformat, papermill, nbclient and jupyter_client. jsonschema, under nbformat, imports ``rfc3987_syntax`` when it
is installed and compiles a Lark grammar for an ``iri`` format studykit never checks; ``studykit.runs.nbimport``
hides it during that import. Compared, each in a fresh interpreter (CPU time of the import, user + sys):

* studykit  -- ``import studykit.runs.engine`` (the grammar hidden)
* plain     -- ``import nbformat, papermill`` as any other program does (the obvious alternative)

Usage: .venv/bin/python benchmarks/bench_notebook_stack.py [--repeat 5]
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHILD = r'''
import resource, sys
r0 = resource.getrusage(resource.RUSAGE_SELF)
if sys.argv[1] == "studykit":
    import studykit.runs.engine
else:
    import nbformat, papermill, nbclient, jupyter_client
r1 = resource.getrusage(resource.RUSAGE_SELF)
print((r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime), "rfc3987_syntax" in sys.modules)
'''


def one(kind: str) -> tuple[float, bool]:
    out = subprocess.run([sys.executable, "-c", CHILD, kind], check=True, capture_output=True, text=True,
                         env={"PYTHONPATH": str(ROOT / "lib"), "PATH": "/usr/bin:/bin"}).stdout.split()
    return float(out[0]), out[1] == "True"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    times: dict[str, list[float]] = {"studykit": [], "plain": []}
    grammar: dict[str, bool] = {}
    for _ in range(args.repeat):
        for kind in times:
            t, loaded = one(kind)
            times[kind].append(t)
            grammar[kind] = loaded
    base = statistics.median(times["plain"])
    print(f"{'contender':<10} {'median CPU s':>13} {'plain / this':>13}  grammar compiled")
    for kind, ts in times.items():
        med = statistics.median(ts)
        print(f"{kind:<10} {med:13.2f} {base / med:13.2f}  {grammar[kind]}")


if __name__ == "__main__":
    main()
