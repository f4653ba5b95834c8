"""Executing a notebook with papermill on the ``studykit`` kernel.

:class:`StudykitEngine` is papermill's nbclient engine with a cell listener
(:class:`studykit.runs.progress.Progress`) passed per call; it is registered once,
as ``"studykit"``, when this module is imported. :func:`execute_notebook`
turns every failure into a one-line :class:`~studykit.contract.errors.NotebookError`
chosen by the exception's class: a failing cell (naming the committed
notebook's cell number and the exception), a missing kernel, a kernel that
died, a cell that timed out.

This module imports papermill, nbclient, jupyter_client and nbformat, which
take seconds; it is imported only when a notebook executes. What a cached run
needs (the kernel's name, :data:`KERNEL_ENV`, the cell numbering) lives in
:mod:`studykit.runs.kernelinfo`, re-exported here.

Kernels start with :data:`KERNEL_ENV` (``PYTHONHASHSEED=0``, one BLAS/OpenMP
thread) unless the caller set those variables, so runs are deterministic.
"""
from __future__ import annotations

import contextlib
import logging
import os
import sys
import warnings
from pathlib import Path
from typing import Any, Iterator, Mapping

from studykit.runs.nbimport import notebook_stack

with notebook_stack():  # without the IRI grammar nobody here uses (seconds of CPU per process)
    import nbformat
    import papermill as pm
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from papermill.engines import NBClientEngine, NotebookExecutionManager, papermill_engines
    from papermill.exceptions import PapermillExecutionError

from studykit.contract.errors import InputError, NotebookError, ParamError, StudykitError
from studykit.runs.kernelinfo import (ADDED_CELL_TAGS, KERNEL_ENV, KERNEL_NAME, cell_timeout, kernel_env, last_line,
                                 rel_to_project, source_cell_number)
from studykit.runs.progress import Progress

ENGINE_NAME = "studykit"
#: exit code of a failing cell by the name of the exception the kernel reported: studykit's
#: bad-input errors mean "fix your data or parameters" (2); any other exception is a failure (1)
_CELL_EXIT_CODES = {cls.__name__: cls.exit_code for cls in (InputError, ParamError)}


class _ListeningManager(NotebookExecutionManager):
    """papermill's execution manager that also tells a :class:`Progress` about each cell."""

    def __init__(self, *args: Any, listener: Progress, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.listener = listener

    def cell_start(self, cell, cell_index=None, **kwargs):
        self.listener.cell_start(cell, cell_index or 0)
        return super().cell_start(cell, cell_index, **kwargs)

    def cell_complete(self, cell, cell_index=None, **kwargs):
        out = super().cell_complete(cell, cell_index, **kwargs)
        self.listener.cell_complete(cell, cell_index or 0)
        return out


class StudykitEngine(NBClientEngine):
    """nbclient execution reporting progress to the ``listener`` keyword (papermill's own bar off)."""

    @classmethod
    def execute_notebook(cls, nb, kernel_name, output_path=None, progress_bar=False, log_output=False,
                         autosave_cell_every=30, listener: Progress | None = None, **kwargs):
        listener = listener or Progress("", "off")
        nb_man = _ListeningManager(nb, output_path=output_path, progress_bar=False, log_output=False,
                                   autosave_cell_every=autosave_cell_every, listener=listener)
        listener.start(nb_man.nb)
        nb_man.notebook_start()
        try:
            cls.execute_managed_notebook(nb_man, kernel_name, log_output=False, **kwargs)
        finally:
            nb_man.cleanup_pbar()
            nb_man.notebook_complete()
            listener.close()
        return nb_man.nb


papermill_engines.register(ENGINE_NAME, StudykitEngine)


@contextlib.contextmanager
def _quiet_jupyter() -> Iterator[None]:
    """Silence the Jupyter libraries' logging and warnings; studykit reports what matters itself."""
    names = ("papermill", "traitlets", "nbclient", "jupyter_client", "asyncio")
    saved = {n: logging.getLogger(n).level for n in names}
    for n in names:
        logging.getLogger(n).setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for n, lvl in saved.items():
            logging.getLogger(n).setLevel(lvl)


def _failed_cell(nb: Any) -> int | None:
    """Index of the cell that raised: papermill's mark first, else the first error output."""
    for i, cell in enumerate(nb.cells):
        meta = cell.get("metadata", {}).get("papermill", {})
        if meta.get("exception") or meta.get("status") == "failed":
            return i
    for i, cell in enumerate(nb.cells):
        if any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            return i
    return None


def check_kernel() -> None:
    """The ``studykit`` kernel must run this environment's Python (else: one-line error, exit 2).

    A ``studykit`` kernel registered by another checkout or environment (e.g. in
    ``~/.local/share/jupyter/kernels``) would run the notebook with *that*
    library silently; this refuses instead.
    """
    try:
        spec = KernelSpecManager().get_kernel_spec(KERNEL_NAME)
    except NoSuchKernel:
        raise ParamError(f"the Jupyter kernel '{KERNEL_NAME}' is not installed: run `make setup`") from None
    exe = spec.argv[0] if spec.argv else ""
    if not os.path.isabs(exe):
        return  # "python" on PATH: nothing reliable to compare
    kernel_prefix = os.path.dirname(os.path.dirname(os.path.abspath(exe)))
    if os.path.realpath(kernel_prefix) != os.path.realpath(sys.prefix):
        raise ParamError(
            f"the Jupyter kernel '{KERNEL_NAME}' ({spec.resource_dir}) runs {exe}, not this environment "
            f"({sys.prefix}): run `make setup`, or `jupyter kernelspec remove {KERNEL_NAME}` for the stray one"
        )


def _cell_failure(exc: PapermillExecutionError, output_notebook: Path, rel_nb: str) -> NotebookError:
    """The one-line error of a failing cell, numbered as in the committed notebook."""
    nb = nbformat.read(str(output_notebook), as_version=4)
    idx = _failed_cell(nb)
    cell_no = source_cell_number(nb, idx) if idx is not None else exc.cell_index + 1
    message = last_line(f"{exc.ename}: {exc.evalue}") or exc.ename
    err = NotebookError(f"{rel_nb} failed in cell {cell_no} (In [{exc.exec_count}]): {message}")
    err.exit_code = _CELL_EXIT_CODES.get(exc.ename, NotebookError.exit_code)
    return err


def _execution_failure(exc: Exception, rel_nb: str) -> NotebookError:
    """The one-line error of a notebook that could not be executed, by the exception's class."""
    detail = last_line(str(exc)) or type(exc).__name__
    if isinstance(exc, NoSuchKernel):
        detail = f"kernel '{KERNEL_NAME}' is not installed: run `make setup`"
    elif isinstance(exc, DeadKernelError):
        detail = f"the kernel died ({detail})"
    elif isinstance(exc, (CellTimeoutError, TimeoutError)):
        detail = f"a cell timed out ({detail})"
    return NotebookError(f"{rel_nb} could not be executed: {detail}")


def execute_notebook(
    notebook: Path,
    output_notebook: Path,
    parameters: Mapping[str, Any],
    *,
    progress: Progress | None = None,
    timeout: float | None = None,
) -> Any:
    """papermill-execute ``notebook`` into ``output_notebook`` and return the executed notebook.

    The working directory is the notebook's folder and ``parameters`` are
    injected after the cell tagged ``parameters``. Raises :class:`NotebookError`
    naming the failing cell; its ``exit_code`` is 2 when the notebook itself
    raised a studykit ``InputError`` or ``ParamError`` (bad data), 1 otherwise.
    """
    rel_nb = rel_to_project(notebook)
    try:
        with kernel_env(), _quiet_jupyter():
            pm.execute_notebook(
                str(notebook),
                str(output_notebook),
                parameters=dict(parameters),
                kernel_name=KERNEL_NAME,
                engine_name=ENGINE_NAME,
                listener=progress or Progress("", "off"),
                cwd=str(notebook.parent),
                progress_bar=False,
                log_output=False,
                request_save_on_cell_execute=True,
                execution_timeout=timeout,
                start_timeout=120,
                # the kernel's own start-up chatter (e.g. the TCP transport warning) is not for users
                extra_arguments=["--IPKernelApp.log_level=CRITICAL"],
            )
    except PapermillExecutionError as exc:
        raise _cell_failure(exc, output_notebook, rel_nb) from None
    except StudykitError:
        raise
    except Exception as exc:  # kernel missing or died, timeout, unreadable notebook file
        raise _execution_failure(exc, rel_nb) from None
    return nbformat.read(str(output_notebook), as_version=4)


__all__ = ["KERNEL_NAME", "KERNEL_ENV", "StudykitEngine", "execute_notebook", "check_kernel", "cell_timeout",
           "source_cell_number", "kernel_env", "last_line", "rel_to_project", "ADDED_CELL_TAGS"]
