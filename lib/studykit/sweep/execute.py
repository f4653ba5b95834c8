"""Running the points of a sweep: one at a time, in local processes, or on a Dask cluster.

Every point is an ordinary :func:`studykit.runs.runner.run_study` call into its own
folder, so the runner's cache makes a repeated sweep instant and an
interrupted one resume where it stopped. A point that fails (bad parameter
value, failing cell) is recorded with its one-line error; the sweep goes on.

What a point's run returns is only its status, time and error; the table is
built afterwards from the point folders by the calling process, so it does not
depend on where or in which order the points ran.
"""
from __future__ import annotations

import re
import sys
import time
import traceback
from dataclasses import dataclass
from typing import Any, Callable, Sequence

#: the runner appends where it kept a failed run; the table names the folder instead (stable across machines)
_KEPT_SUFFIX = re.compile(r"; partial notebook kept in .*$")


@dataclass(frozen=True)
class PointRun:
    """What running one point did: ``status`` is ``executed``, ``cached`` or ``failed``."""

    point: str
    status: str
    seconds: float
    error: str = ""


def one_line(text: str) -> str:
    """The last non-blank line of an error message, without the runner's 'kept in' note."""
    lines = [ln.strip() for ln in str(text).strip().splitlines() if ln.strip()]
    return _KEPT_SUFFIX.sub("", lines[-1] if lines else "")


def run_point(task: dict[str, Any]) -> PointRun:
    """Run one point (picklable: used by process pools and Dask workers); never raises for a failed run."""
    from studykit.contract.errors import StudykitError
    from studykit.runs.runner import run_study

    t0 = time.perf_counter()
    name = task["point"]
    try:
        res = run_study(task["study"], profile=task["profile"], overrides=task["overrides"],
                        out_dir=task["out_dir"], force=task.get("force", False), progress=False)
    except StudykitError as exc:
        return PointRun(name, "failed", time.perf_counter() - t0, one_line(str(exc)) or type(exc).__name__)
    except Exception as exc:  # anything else is still this point's failure, not the sweep's
        last = traceback.format_exception_only(type(exc), exc)[-1]
        return PointRun(name, "failed", time.perf_counter() - t0, one_line(last))
    return PointRun(name, res.status, time.perf_counter() - t0)


def _fmt_seconds(s: float) -> str:
    s = max(0, int(round(s)))
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else (f"{s // 60}m{s % 60:02d}s" if s >= 60 else f"{s}s")


class Progress:
    """Points done / total with an ETA, one line per finished point (stderr)."""

    def __init__(self, label: str, total: int, workers: int, stream=None, enabled: bool = True):
        self.label, self.total, self.workers = label, total, max(1, workers)
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.done = 0
        self.counts = {"executed": 0, "cached": 0, "failed": 0}
        self.busy = 0.0  # seconds spent on points that ran (cached ones take no time)
        self.t0 = time.perf_counter()

    def eta(self) -> float | None:
        """Remaining seconds: the mean time of the points that ran, times the points left, over the workers."""
        ran = self.counts["executed"] + self.counts["failed"]
        if not ran:
            return None
        return self.busy / ran * (self.total - self.done) / self.workers

    def update(self, run: PointRun) -> None:
        self.done += 1
        self.counts[run.status] = self.counts.get(run.status, 0) + 1
        if run.status != "cached":
            self.busy += run.seconds
        if not self.enabled:
            return
        eta = self.eta()
        left = "" if self.done == self.total else (f", ETA {_fmt_seconds(eta)}" if eta is not None else "")
        what = f"FAILED: {run.error}" if run.status == "failed" else f"{run.status} in {run.seconds:.1f} s"
        print(f"[sweep {self.label}] {self.done}/{self.total} points{left}: {run.point} {what}",
              file=self.stream, flush=True)


def run_points(
    tasks: Sequence[dict[str, Any]],
    *,
    jobs: int = 1,
    dask: Any = None,
    on_done: Callable[[PointRun], None] | None = None,
    on_workers: Callable[[int], None] | None = None,
) -> dict[str, PointRun]:
    """Run every task; ``jobs`` local processes, or ``dask`` (a scheduler address or a ``distributed.Client``).

    ``on_done`` is called with each finished point, ``on_workers`` with the number of Dask worker threads
    once connected (for the ETA).
    """
    out: dict[str, PointRun] = {}

    def finish(run: PointRun) -> None:
        out[run.point] = run
        if on_done:
            on_done(run)

    if dask is not None:
        _run_dask(tasks, dask, finish, on_workers)
    elif jobs <= 1 or len(tasks) <= 1:
        for task in tasks:
            finish(run_point(task))
    else:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor, as_completed

        # fork where the platform has it: workers start at once and share the caller's study registry
        ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
        with ProcessPoolExecutor(max_workers=min(jobs, len(tasks)), mp_context=ctx) as pool:
            futs = {pool.submit(run_point, t): t["point"] for t in tasks}
            try:
                for fut in as_completed(futs):
                    try:
                        run = fut.result()
                    except Exception as exc:  # the worker process itself died
                        run = PointRun(futs[fut], "failed", 0.0, f"worker process failed: {one_line(str(exc))}")
                    finish(run)
            except BaseException:
                for f in futs:
                    f.cancel()
                raise
    return out


def _run_dask(tasks: Sequence[dict[str, Any]], dask: Any, finish: Callable[[PointRun], None],
              on_workers: Callable[[int], None] | None = None) -> None:
    from distributed import as_completed

    from studykit.runs.daskutil import connect

    with connect(dask) as client:
        if on_workers:
            on_workers(sum(client.nthreads().values()))
        futs = {client.submit(run_point, t, pure=False, key=f"sweep-{t['point']}-{time.time_ns()}"): t["point"]
                for t in tasks}
        try:
            for fut in as_completed(list(futs)):
                try:
                    run = fut.result()
                except Exception as exc:  # the worker died or could not import studykit
                    run = PointRun(futs[fut], "failed", 0.0, f"dask worker failed: {one_line(str(exc))}")
                finish(run)
        except BaseException:
            client.cancel(list(futs))
            raise


def describe_runs(runs: dict[str, PointRun]) -> str:
    counts = {s: sum(1 for r in runs.values() if r.status == s) for s in ("executed", "cached", "failed")}
    return ", ".join(f"{n} {s}" for s, n in counts.items() if n)


__all__ = ["PointRun", "Progress", "run_point", "run_points", "one_line", "describe_runs"]


