"""Benchmark: the code_survival profile agent_repos_all (twelve git bundles from ../shared) from an empty cache.

Runs ``studykit run code_survival --profile agent_repos_all --force`` in a child process with a fresh, empty
``STUDYKIT_CACHE`` (so the bundles are cloned and every repository is mined) and a temporary output folder,
and prints wall time, CPU time (user + sys of the run and every process it started, from getrusage) and the
load average before and after (wall time is only meaningful on an idle machine). Target (issue 22): under
3 minutes wall on the 2-core machine.

``--breakdown`` first clones the bundles and mines every repository once on its own (``mine_jobs`` processes),
printing clone time and each repository's mining wall time and units, so the profile's time can be split into
cloning, mining and the analysis (the notebook's remaining cells).
Usage: .venv/bin/python benchmarks/bench_agent_repos_all.py [--breakdown]
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _children_cpu() -> float:
    c = resource.getrusage(resource.RUSAGE_CHILDREN)
    return c.ru_utime + c.ru_stime


def _breakdown(cache: Path) -> None:
    from concurrent.futures import ProcessPoolExecutor

    import yaml

    from studykit.files.paths import resolve
    from studykit.studies.code_survival.bundles import clone_bundles
    from studykit.studies.code_survival.parallel import repository_names
    from studykit.studies.code_survival.rules import load_agent_rules

    prof = yaml.safe_load((ROOT / "params" / "code_survival" / "agent_repos_all.yaml").read_text())
    t = time.perf_counter()
    clones = clone_bundles([resolve(b) for b in prof["bundles"]], cache / "code_survival" / "bundles",
                           jobs=prof["mine_jobs"])
    print(f"clone {len(clones)} bundles ({prof['mine_jobs']} at a time): {time.perf_counter() - t:.1f} s wall")
    rules = load_agent_rules(prof["agent_rules"])
    names = repository_names([str(c) for c in clones])
    t = time.perf_counter()
    with ProcessPoolExecutor(max_workers=prof["mine_jobs"]) as pool:
        for name, (secs, units, commits) in zip(names, pool.map(_mine_timed, [(str(c), n, rules) for c, n in
                                                                              zip(clones, names)])):
            print(f"  mine {name:24s} {secs:7.1f} s wall  {commits:6d} commits  {units:9,d} units")
    print(f"mine all ({prof['mine_jobs']} processes): {time.perf_counter() - t:.1f} s wall")


def _mine_timed(task) -> tuple[float, int, int]:
    from studykit.studies.code_survival.mining import mine_repository

    repo, name, rules = task
    t = time.perf_counter()
    df, rep = mine_repository(repo, name=name, agent_rules=rules, progress=False)
    return time.perf_counter() - t, len(df), int(rep["commits"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--breakdown", action="store_true", help="clone and mine each repository on its own first")
    args = ap.parse_args()
    if not (ROOT.parent / "shared" / "data" / "code_survival" / "aider.bundle").is_file():
        sys.exit("the twelve bundles are not in ../shared/data/code_survival/ (see the data availability table)")
    with tempfile.TemporaryDirectory(prefix="bench_agent_repos_all_") as tmp:
        cache, out = Path(tmp) / "cache", Path(tmp) / "out"
        if args.breakdown:
            _breakdown(Path(tmp) / "breakdown_cache")
        load0 = os.getloadavg()
        cpu0, t0 = _children_cpu(), time.perf_counter()
        env = {**os.environ, "STUDYKIT_CACHE": str(cache)}
        res = subprocess.run([sys.executable, "-m", "studykit", "run", "code_survival", "--profile",
                              "agent_repos_all", "--force", "--out", str(out)], cwd=ROOT, env=env)
        wall, cpu = time.perf_counter() - t0, _children_cpu() - cpu0
        load1 = os.getloadavg()
        if res.returncode != 0:
            sys.exit(f"the run failed (exit {res.returncode})")
        print(f"agent_repos_all from an empty cache: {wall:.1f} s wall, {cpu:.1f} s CPU (user+sys, all processes); "
              f"load average {load0[0]:.2f} before, {load1[0]:.2f} after; target 180 s wall")


if __name__ == "__main__":
    main()
