"""What the runner knows about the ``studykit`` kernel and executed notebooks, without the execution stack.

The cache-hit path of :func:`studykit.runs.runner.run_study` (validate, hash,
find the run unchanged) needs the kernel's name and a few helpers, but no
notebook execution. Importing papermill, nbclient, jupyter_client and nbformat
(whose validator compiles a URI grammar when it is imported) takes seconds, so
they live in :mod:`studykit.runs.engine`, which is imported only when a notebook
executes; this module holds what both need and imports nothing heavy.
(``tests/frame/test_lazy_imports.py`` checks that a cached run stays light.)
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any, Iterator

from studykit.files import paths
from studykit.contract.errors import ParamError

KERNEL_NAME = "studykit"
#: environment every kernel starts with (only where the caller has not set the variable)
KERNEL_ENV = {
    "PYTHONHASHSEED": "0",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
    "PYDEVD_DISABLE_FILE_VALIDATION": "1",
}
#: tags of the cells papermill adds to the executed notebook
ADDED_CELL_TAGS = frozenset({"injected-parameters", "papermill-error-cell-tag"})
#: the modules that execute notebooks; none of them is imported by a cached run
EXECUTION_MODULES = ("papermill", "nbclient", "nbformat", "jupyter_client")


@contextlib.contextmanager
def kernel_env() -> Iterator[None]:
    """Set :data:`KERNEL_ENV` for kernels started inside the block (caller's values win), and put the folders
    of studies outside the project (:func:`studykit.contract.registry.python_path`) first on ``PYTHONPATH``."""
    from studykit.contract.registry import python_path

    added = {k: v for k, v in KERNEL_ENV.items() if k not in os.environ}
    old_path = os.environ.get("PYTHONPATH")
    study_path = python_path()  # the parents of studies outside the project, so their notebooks import them
    os.environ.update(added)
    if study_path:
        os.environ["PYTHONPATH"] = os.pathsep.join([*study_path, *([old_path] if old_path else [])])
    try:
        yield
    finally:
        for k in added:
            os.environ.pop(k, None)
        if study_path:
            os.environ.pop("PYTHONPATH", None) if old_path is None else os.environ.update(PYTHONPATH=old_path)


def last_line(text: str) -> str:
    """The last non-blank line of ``text`` (a traceback's message line)."""
    lines = [ln.strip() for ln in str(text).strip().splitlines() if ln.strip()]
    return lines[-1] if lines else ""


def rel_to_project(p: str | os.PathLike) -> str:
    """``p`` relative to the project root when inside it, else as given."""
    try:
        return Path(p).resolve().relative_to(paths.project_root()).as_posix()
    except ValueError:
        return str(p)


def source_cell_number(executed_nb: Any, index: int) -> int:
    """1-based number of executed cell ``index`` in the committed notebook (cells papermill added removed)."""
    added = sum(1 for c in executed_nb.cells[:index]
                if ADDED_CELL_TAGS & set(c.get("metadata", {}).get("tags", [])))
    return index + 1 - added


def cell_timeout() -> float | None:
    """``STUDYKIT_CELL_TIMEOUT`` in seconds (None: no limit)."""
    raw = os.environ.get("STUDYKIT_CELL_TIMEOUT")
    try:
        return float(raw) if raw else None
    except ValueError:
        raise ParamError(f"STUDYKIT_CELL_TIMEOUT must be a number of seconds, got '{raw}'") from None


__all__ = ["KERNEL_NAME", "KERNEL_ENV", "ADDED_CELL_TAGS", "EXECUTION_MODULES", "kernel_env", "last_line",
           "rel_to_project", "source_cell_number", "cell_timeout"]
