"""Run a study notebook headlessly: validate, hash, execute with papermill, swap into place.

The flow of :func:`run_study`:

1. **Validate.** ``Params.load(profile file, --set overrides)`` coerces and
   range-checks every value, runs ``prepare()`` (which may generate cached
   simulated inputs) and checks every input file (:mod:`studykit.contract.profiles`).
   The output folder and its ``.failed`` sibling must be absent, empty or
   run folders holding only what their listing names (studykit's one folder
   rule, :func:`studykit.runs.runfolder.check_run_folders`); a mount point, a path
   through a file or a read-only file system is refused here too, before
   anything executes. Any problem is a one-line
   :class:`~studykit.contract.errors.ParamError` and nothing is written.
2. **Cache key** (:mod:`studykit.runs.cachekey`). If the output folder holds a
   complete run with the same key and unchanged outputs, the run is
   ``cached`` and nothing executes.
3. **Execute** (:mod:`studykit.runs.engine`, imported only now: a cached run never
   loads papermill). papermill runs
   ``notebooks/<study>.ipynb`` on the ``studykit`` kernel with the parameters
   injected (plus ``output_dir``, a marked temporary folder beside the final
   one), reporting progress per cell (:mod:`studykit.runs.progress`).
4. **Swap** (:mod:`studykit.files.folders`). On success the manifest gains its
   ``run`` section, the marker lists every file of the run, and the temporary
   folder replaces the old one (:func:`~studykit.files.folders.replace_dir`, which
   checks ownership again: a file saved into the old folder while the run
   executed stops the swap, and the new results are discarded). On failure the
   old folder is untouched and the partial run is kept beside it as
   ``<name>.failed/``. A full disk or a file system that turns read-only is one
   line naming the folder; the temporary folder is removed.

One run at a time per output folder: a second one waits for the lock, then
usually finds the first one's result in the cache.
"""
from __future__ import annotations

import datetime as _dt
import errno
import json
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from studykit.files import paths
from studykit.runs.cachekey import cache_key, cached_run_valid
from studykit.runs.kernelinfo import KERNEL_NAME, cell_timeout, last_line, rel_to_project
from studykit.contract.errors import NotebookError, StudykitError
from studykit.files.fileio import dumps_json, sha256_file
from studykit.files.folders import (FolderRefused, delete_owned, folder_lock, marker_kind, remove_stale_siblings,
                              replace_dir, seal, temp_dir_beside, writing)
from studykit.contract.profiles import RunSpec, resolve_run
from studykit.runs.progress import Progress, progress_mode
from studykit.runs.runsummary import summary_line
from studykit.runs.runfolder import annotate_manifest, check_run_folders, failed_dir, keep_failed, note_output_dir

RUN_STATUSES = ("executed", "cached")


@dataclass(frozen=True)
class RunResult:
    """What one ``run_study`` call did.

    ``status`` is ``"executed"`` or ``"cached"``; ``seconds`` is the wall time
    of this call (the execution time of the cached run is in its manifest).
    """

    study: str
    profile: str
    status: str
    out_dir: Path
    seconds: float
    cache_key: str = ""
    notebook: Path = field(default_factory=Path)
    source: str = ""
    #: notes about the parameters used (e.g. a worker count capped by the machine)
    notes: tuple[str, ...] = ()

    def describe(self) -> str:
        """``study/name (profile default --set k=v): executed in 3.1 s -> outputs/study/name``."""
        what = "executed" if self.status == "executed" else "cached (nothing changed)"
        source = f" ({self.source})" if self.source and self.source != f"profile {self.profile}" else ""
        return (f"{self.study}/{self.profile}{source}: {what} in {self.seconds:.1f} s -> "
                f"{display_path(self.out_dir)}")

    def summary(self) -> str:
        """The run's data issues and model fallbacks in one line (:func:`studykit.runs.runsummary.summary_line`)."""
        return f"{self.study}/{self.profile}: {summary_line(self.out_dir)}"


def display_path(p: Path) -> str:
    """``p`` relative to the current directory when below it, else as given."""
    try:
        return str(Path(p).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(p)


def default_out_dir(study: str, name: str) -> Path:
    """``outputs/<study>/<name>/`` (``STUDYKIT_OUTPUTS`` moves ``outputs/``)."""
    return paths.outputs_dir() / study / name


def _run_info(study: str, spec: RunSpec, key: str, force: bool, started: _dt.datetime,
              seconds: float) -> dict[str, Any]:
    """The manifest's ``run`` section (``profile`` is the run's name, ``base_profile`` what it started from)."""
    nb = paths.notebook_path(study)
    profile = paths.profile_file(study, spec.profile)
    return {
        "cache_key": key,
        "profile": spec.name,
        "base_profile": spec.profile,
        "profile_file": rel_to_project(spec.params_file) if spec.params_file is not None
        else (rel_to_project(profile) if profile.is_file() else None),
        "overrides": json.loads(dumps_json(spec.overrides)),
        "notebook": rel_to_project(nb),
        "notebook_sha256": sha256_file(nb),
        "kernel": KERNEL_NAME,
        "started_at": started.isoformat(timespec="seconds"),
        "finished_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "seconds": round(seconds, 3),
        "forced": bool(force),
    }


def run_study(
    study: str,
    profile: str = "default",
    params_file: str | os.PathLike | None = None,
    overrides: Mapping[str, Any] | Sequence[str] | None = None,
    out_dir: str | os.PathLike | None = None,
    force: bool = False,
    progress: bool | str = False,
    out_root: str | os.PathLike | None = None,
) -> RunResult:
    """Run one study under one profile (see the module docstring for the flow).

    Raises :class:`ParamError` for bad parameters, missing inputs or an output
    folder studykit did not write (nothing is written) and
    :class:`NotebookError` when a cell fails (the previous output folder stays
    intact; the partial run is kept in ``<out_dir>.failed``). Without
    ``out_dir`` the run goes to ``<out_root>/<study>/<run name>``, ``out_root``
    defaulting to ``outputs/``.
    """
    t0 = time.perf_counter()
    spec = resolve_run(study, profile, params_file, overrides)
    params, name = spec.params, spec.name
    nb = paths.notebook_path(study)
    key = cache_key(study, params)  # also checks that the notebook exists
    if out_dir is not None:
        final = Path(paths.resolve(out_dir))
    elif out_root is not None:
        final = Path(paths.resolve(out_root)) / study / name
    else:
        final = default_out_dir(study, name)
    check_run_folders(final)
    prog = Progress(f"{study}/{name}", progress_mode(progress))

    def done(status: str) -> RunResult:
        return RunResult(study, name, status, final, time.perf_counter() - t0, key, final / "notebook.ipynb",
                         spec.source(), spec.notes)

    if not force and cached_run_valid(final, key):
        return done("cached")
    params.check_columns()  # a missing column is one line naming the file before a kernel starts
    # the execution stack (papermill, nbclient, nbformat: seconds to import) only when a notebook executes
    from studykit.runs.engine import check_kernel, execute_notebook

    check_kernel()

    with writing(final, "run"), folder_lock(final, on_wait=lambda: prog.say("waiting for another run of the "
                                                                               "same folder")):
        if not force and cached_run_valid(final, key):  # another process finished it meanwhile
            return done("cached")
        check_run_folders(final)
        remove_stale_siblings(final, "run")
        remove_stale_siblings(failed_dir(final), "failed-run")
        marker_info = {"study": study, "profile": name}
        tmp = temp_dir_beside(final, "run", marker_info)
        started = _dt.datetime.now(_dt.timezone.utc)
        t_exec = time.perf_counter()
        try:
            executed = execute_notebook(nb, tmp / "notebook.ipynb", {**params.to_notebook(), "output_dir": str(tmp)},
                                        progress=prog, timeout=cell_timeout())
            info = _run_info(study, spec, key, force, started, time.perf_counter() - t_exec)
            note_output_dir(tmp / "notebook.ipynb", executed, final)
            annotate_manifest(tmp, executed, info, study)
            seal(tmp, "run", marker_info)
        except StudykitError as exc:
            disk = _disk_failure(exc)
            if disk is not None:  # the disk is full or read-only: keeping the partial run would fail too
                shutil.rmtree(tmp, ignore_errors=True)
                raise OSError(disk, os.strerror(disk), str(final)) from None
            kept = keep_failed(tmp, final, str(exc))
            msg = f"{exc}; partial notebook kept in {display_path(kept / 'notebook.ipynb')}"
            err = NotebookError(msg) if isinstance(exc, NotebookError) else type(exc)(msg)
            err.exit_code = exc.exit_code
            raise err from None
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        try:
            replace_dir(tmp, final, "run")
        except FolderRefused as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            raise FolderRefused(f"{exc} (it changed while the run executed: the new results were discarded)") \
                from None
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        stale = failed_dir(final)
        if marker_kind(stale) == "failed-run":
            delete_owned(stale)
    return done("executed")


#: errors of the file system that no notebook can fix: the run's folder cannot be written
_DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EROFS, getattr(errno, "EDQUOT", errno.ENOSPC)})


def _disk_failure(exc: Exception) -> int | None:
    """The errno when a notebook failed because the disk is full or read-only (``OSError: [Errno 28] ...``
    in a cell, or papermill unable to save the notebook), else None."""
    m = re.search(r"\[Errno (\d+)\]", str(exc))
    return int(m.group(1)) if m and int(m.group(1)) in _DISK_ERRNOS else None


class RunAllError(StudykitError):
    """Some studies of ``run all`` failed; ``results`` holds the ones that ran."""

    def __init__(self, message: str, results: list[RunResult] | None = None, exit_code: int = 1):
        super().__init__(message)
        self.results = list(results or [])
        self.exit_code = exit_code


def _run_one(kwargs: dict[str, Any]) -> RunResult | StudykitError:
    try:
        return run_study(**kwargs)
    except StudykitError as exc:
        return exc


def run_all(
    studies: Sequence[str] | None = None,
    profile: str = "default",
    jobs: int = 1,
    *,
    overrides: Mapping[str, Any] | Sequence[str] | None = None,
    out_root: str | os.PathLike | None = None,
    force: bool = False,
    progress: bool | str = False,
    on_result: Callable[[str, RunResult | StudykitError], None] | None = None,
) -> list[RunResult]:
    """Run several studies, ``jobs`` at a time in separate processes.

    Every study runs even if another fails; then a :class:`RunAllError`
    (exit code: the worst of the failures) lists the failures, with the
    successful results in ``.results``. ``out_root`` puts each run in
    ``<out_root>/<study>/<run name>``.
    """
    from studykit.contract.registry import names

    studies = list(studies or names())
    jobs = max(1, int(jobs))
    mode = progress_mode(progress)
    if jobs > 1 and mode == "bar":
        mode = "lines"  # interleaved bars from several processes are unreadable
    tasks = []
    for s in studies:
        kw: dict[str, Any] = dict(study=s, profile=profile, overrides=overrides, force=force, progress=mode)
        if out_root is not None:
            kw["out_root"] = Path(paths.resolve(out_root))
        tasks.append(kw)
    outcomes: dict[str, RunResult | StudykitError] = {}
    if jobs == 1 or len(tasks) == 1:
        for kw in tasks:
            outcomes[kw["study"]] = res = _run_one(kw)
            if on_result:
                on_result(kw["study"], res)
    else:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor, as_completed

        # fork where the platform has it: workers start at once and inherit the caller's study registry
        ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
        with ProcessPoolExecutor(max_workers=min(jobs, len(tasks)), mp_context=ctx) as pool:
            futs = {pool.submit(_run_one, kw): kw["study"] for kw in tasks}
            for fut in as_completed(futs):
                s = futs[fut]
                try:
                    res = fut.result()
                except Exception as exc:  # a crash of the worker itself
                    res = NotebookError(f"{s}: worker process failed: {last_line(str(exc)) or type(exc).__name__}")
                outcomes[s] = res
                if on_result:
                    on_result(s, res)
    results = [outcomes[s] for s in studies if isinstance(outcomes[s], RunResult)]
    failures = [(s, outcomes[s]) for s in studies if isinstance(outcomes[s], StudykitError)]
    if failures:
        msg = f"{len(failures)} of {len(studies)} studies failed: " + "; ".join(f"{s}: {e}" for s, e in failures)
        raise RunAllError(msg, results, exit_code=max(getattr(e, "exit_code", 1) for _, e in failures))
    return results


__all__ = [
    "RunResult", "RunAllError", "run_study", "run_all", "cache_key", "default_out_dir", "failed_dir", "KERNEL_NAME",
]
