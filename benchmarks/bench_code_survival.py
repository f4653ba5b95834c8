"""Benchmark: the code_survival miner vs one plain `git log -p --unified=0 -M` pass and vs PyDriller.

Builds (once, under .cache/bench/) a simulated repository of about 2,000 non-merge commits (plus the merge
commits of agent pull requests) with realistic file sizes, then times on the same history:

1. plain:     `git log -p --unified=0 -M --no-merges` (output read through a pipe and discarded);
   git floor: the git commands the miner itself runs (rev-list, merge headers, `diff-tree --stdin` of every
              merge against each parent, the topological log pass), run one after another, output discarded;
2. miner:     `mine_repositories([repo])` (rev-list + merge diffs + one log pass + parsing + table);
3. pydriller: `Repository(repo).traverse_commits()` reading every modified file's parsed diff.

Prints wall and CPU times (CPU = this process + its git children, from getrusage; best of N each) and the
ratios miner/plain, miner/git floor and pydriller/miner. CPU ratios are the ones to trust on a loaded machine.
Usage: .venv/bin/python benchmarks/bench_code_survival.py [--repeats 3] [--commits 2600] [--no-pydriller]
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import time
from pathlib import Path

from studykit.files.paths import cache_dir
from studykit.studies.code_survival.mining import mine_repositories
from studykit.studies.code_survival.reposim import RepoSimConfig, build_stream, write_repo


def build(commits: int) -> Path:
    path = cache_dir() / "bench" / f"code_survival_repo_{commits}_v2"
    if not (path / ".git").is_dir():
        cfg = RepoSimConfig(n_commits=commits, agent_share=0.3, initial_files=80, initial_functions=60)
        write_repo(path, build_stream(7, 0, cfg))
    return path


def _cpu() -> float:
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


def best(fn, repeats: int) -> tuple[float, float]:
    """Best wall time and best CPU time (this process + git children) over ``repeats`` runs."""
    walls, cpus = [], []
    for _ in range(repeats):
        c0, t = _cpu(), time.perf_counter()
        fn()
        walls.append(time.perf_counter() - t)
        cpus.append(_cpu() - c0)
    return min(walls), min(cpus)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--commits", type=int, default=2600)
    ap.add_argument("--no-pydriller", action="store_true")
    a = ap.parse_args()
    repo = build(a.commits)
    n_nonmerge = int(subprocess.run(["git", "-C", str(repo), "rev-list", "--no-merges", "--count", "HEAD"],
                                    capture_output=True, text=True).stdout)
    n_all = int(subprocess.run(["git", "-C", str(repo), "rev-list", "--count", "HEAD"], capture_output=True,
                               text=True).stdout)

    def plain():
        subprocess.run(["git", "-C", str(repo), "log", "-p", "--unified=0", "-M", "--no-merges", "--no-color"],
                       stdout=subprocess.PIPE, check=True)

    def miner():
        return mine_repositories([repo], progress=False)

    def git_floor():
        """The git commands the miner runs (same options), output read and discarded: its lower bound."""
        from studykit.studies.code_survival.gitio import DIFF_OPTS, check_repository, run_git
        from studykit.studies.code_survival.mining import LOG_FORMAT

        with check_repository(repo).view() as view:
            revs = run_git(view, "rev-list", "--topo-order", "--reverse", "--parents", "HEAD").decode().splitlines()
            req = b"".join(f"{r.split()[0]} {p}\n".encode() for r in revs if len(r.split()) > 2
                           for p in r.split()[1:])
            run_git(view, "log", "--merges", "--no-patch", "--encoding=UTF-8", f"--format={LOG_FORMAT}", "HEAD", "--")
            run_git(view, "diff-tree", "--stdin", "--always", "-r", "-p", *DIFF_OPTS, input=req)
            run_git(view, "log", "--topo-order", "--reverse", "--no-merges", "-p", *DIFF_OPTS, "--encoding=UTF-8",
                    f"--format={LOG_FORMAT}", "HEAD", "--")

    units = len(miner())
    t_plain = best(plain, a.repeats)
    t_floor = best(git_floor, a.repeats)
    t_miner = best(miner, a.repeats)
    rows = [("git log -p --unified=0 -M (plain pass)", t_plain),
            ("miner's git commands only (serial)", t_floor), ("studykit miner", t_miner)]
    t_pyd = None
    if not a.no_pydriller:
        from pydriller import Repository

        def pyd():
            n = 0
            for c in Repository(str(repo), only_no_merge=True).traverse_commits():
                for m in c.modified_files:
                    d = m.diff_parsed
                    n += len(d["added"]) + len(d["deleted"])
            return n

        t_pyd = best(pyd, 1)
        rows.append(("PyDriller traversal (diff_parsed)", t_pyd))
    print(f"repository: {repo}\ncommits: {n_nonmerge} non-merge, {n_all} total; units mined: {units:,}")
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (wall times inflate under load)")
    print(f"{'method':<42} {'wall s':>8} {'vs plain':>9} {'CPU s':>8} {'vs plain':>9}")
    for name, (w, c) in rows:
        print(f"{name:<42} {w:>8.2f} {w / t_plain[0]:>8.2f}x {c:>8.2f} {c / t_plain[1]:>8.2f}x")
    print(f"miner / plain pass = {t_miner[0] / t_plain[0]:.2f} wall, {t_miner[1] / t_plain[1]:.2f} CPU (target <= 2)")
    print(f"miner / its own git commands = {t_miner[0] / t_floor[0]:.2f} wall, {t_miner[1] / t_floor[1]:.2f} CPU "
          "(the Python share: parsing, line tracking, classification, table)")
    if t_pyd is not None:
        print(f"PyDriller / miner  = {t_pyd[0] / t_miner[0]:.1f} wall, {t_pyd[1] / t_miner[1]:.1f} CPU")


if __name__ == "__main__":
    main()
