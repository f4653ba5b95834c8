"""Run a study notebook headlessly: validate, hash, execute with papermill, swap into place.

The flow of :func:`run_study`:

1. **Validate.** ``Params.load(profile file, --set overrides)`` coerces and
   range-checks every value, runs ``prepare()`` (which may generate cached
   simulated inputs) and checks that every input file exists. Any problem is
   a one-line :class:`~studykit.errors.ParamError` and nothing is written.
2. **Cache key.** SHA-256 over the notebook's bytes, every file under
   ``lib/`` (path and content, sorted), the validated parameters as canonical
   JSON, the content fingerprint of every input (file hash, folder tree hash or
   git HEAD + status), ``requirements.lock`` and the Python version. If the
   output folder holds a complete run with the same key (and its outputs are
   unchanged on disk), the run is ``cached`` and nothing executes.
3. **Execute.** papermill runs ``notebooks/<study>.ipynb`` on the ``studykit``
   kernel, with ``notebooks/`` as working directory and the parameters injected
   after the cell tagged ``parameters`` (plus ``output_dir``, a temporary folder
   beside the final one). The notebook writes through
   :class:`studykit.outputs.Outputs`, whose ``close()`` writes ``manifest.json``.
4. **Swap.** On success the executed notebook is saved as ``notebook.ipynb``,
   the manifest gains a ``run`` section (cache key, timing, the cell of every
   output) and the temporary folder replaces the old one (old renamed away,
   new renamed in, old deleted). On failure the old folder is untouched and the
   partial run is kept beside it as ``<profile>.failed/`` for inspection.

Determinism: kernels start with ``PYTHONHASHSEED=0`` and one BLAS/OpenMP
thread (unless the caller set these), so the same inputs and parameters give
byte-identical tables and ``results.json``; timings live only in the manifest.
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import logging
import os
import shutil
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

from studykit import paths
from studykit.errors import NotebookError, ParamError, StudykitError
from studykit.fileio import dumps_json, sha256_file, temp_dir_beside, write_json_atomic

KERNEL_NAME = "studykit"
RUN_STATUSES = ("executed", "cached")
#: environment every kernel starts with (only where the caller has not set the variable)
KERNEL_ENV = {
    "PYTHONHASHSEED": "0",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
    "PYDEVD_DISABLE_FILE_VALIDATION": "1",
}
_LIB_EXCLUDE_DIRS = {"__pycache__", ".ipynb_checkpoints", ".pytest_cache"}
_LIB_EXCLUDE_SUFFIXES = (".pyc", ".pyo", ".egg-info")

log = logging.getLogger("studykit.runner")


# --------------------------------------------------------------------------------------------
# Result
# --------------------------------------------------------------------------------------------
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

    def describe(self) -> str:
        what = "executed" if self.status == "executed" else "cached (nothing changed)"
        return f"{self.study}/{self.profile}: {what} in {self.seconds:.1f} s -> {_display_path(self.out_dir)}"


def _display_path(p: Path) -> str:
    try:
        return str(Path(p).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(p)


# --------------------------------------------------------------------------------------------
# Locations (module-level functions so tests can point them elsewhere)
# --------------------------------------------------------------------------------------------
def notebook_path(study: str) -> Path:
    return paths.notebooks_dir() / f"{study}.ipynb"


def lib_dir() -> Path:
    return paths.project_root() / "lib"


def lock_file() -> Path:
    return paths.project_root() / "requirements.lock"


def profile_file(study: str, profile: str) -> Path:
    return paths.params_dir(study) / f"{profile}.yaml"


def list_profiles(study: str) -> list[str]:
    d = paths.params_dir(study)
    names = sorted(p.stem for p in d.glob("*.yaml")) if d.is_dir() else []
    if "default" not in names:
        names.insert(0, "default")
    return names


def default_out_dir(study: str, profile: str) -> Path:
    return paths.outputs_dir() / study / profile


# --------------------------------------------------------------------------------------------
# Parameters
# --------------------------------------------------------------------------------------------
def resolve_params(
    study: str,
    profile: str = "default",
    params_file: str | os.PathLike | None = None,
    overrides: Mapping[str, Any] | Sequence[str] | None = None,
) -> tuple[Any, str]:
    """Validated, prepared parameters of a study and the profile name they run under.

    ``params_file`` (a YAML file anywhere) replaces the profile; its stem names
    the output folder. A missing ``default.yaml`` means the class defaults. A
    list of ``KEY=VALUE`` strings is accepted as ``overrides``.
    """
    from studykit.studies import get_study

    mod = get_study(study)
    params_cls = getattr(mod, "Params", None)
    if params_cls is None:
        raise ParamError(f"study '{study}' does not define Params")
    if overrides is not None and not isinstance(overrides, Mapping):
        overrides = params_cls.parse_overrides(overrides)
    if params_file is not None:
        pf = paths.resolve(params_file)
        if not pf.is_file():
            raise ParamError(f"parameter file not found: {pf}")
        name = pf.stem
    else:
        if not profile or "/" in profile or profile.startswith("."):
            raise ParamError(f"bad profile name '{profile}'")
        pf = profile_file(study, profile)
        name = profile
        if not pf.is_file():
            if profile != "default":
                raise ParamError(
                    f"profile '{profile}' not found for study {study}: no {pf} "
                    f"(profiles: {', '.join(list_profiles(study))})"
                )
            pf = None
    params = params_cls.load(pf, dict(overrides or {}))
    return params, name


# --------------------------------------------------------------------------------------------
# Cache key
# --------------------------------------------------------------------------------------------
def _lib_files(root: Path) -> list[Path]:
    out = []
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root)
        if any(part in _LIB_EXCLUDE_DIRS or part.endswith(".egg-info") for part in rel.parts):
            continue
        if p.is_file() and not p.name.endswith(_LIB_EXCLUDE_SUFFIXES):
            out.append(p)
    return out


def lib_fingerprint(root: Path | None = None) -> str:
    """Hash of every file under ``lib/`` (relative path and content, sorted)."""
    root = root or lib_dir()
    h = hashlib.sha256()
    for p in _lib_files(root):
        h.update(p.relative_to(root).as_posix().encode() + b"\0" + sha256_file(p).encode() + b"\n")
    return h.hexdigest()


def cache_components(study: str, params: Any) -> dict[str, Any]:
    """Everything a run depends on, each as a hash or a canonical value."""
    from studykit.provenance import fingerprint

    nb = notebook_path(study)
    if not nb.is_file():
        raise ParamError(f"study {study} has no notebook: {nb} not found")
    lock = lock_file()
    inputs = []
    for key, kind, path in params.input_paths():
        inputs.append({"key": key, "kind": kind, "sha256": fingerprint(kind, path)})
    return {
        "study": study,
        "notebook": sha256_file(nb),
        "lib": lib_fingerprint(),
        "parameters": json.loads(dumps_json(params.to_notebook())),
        "inputs": inputs,
        "lock": sha256_file(lock) if lock.is_file() else None,
        "python": sys.version.split()[0],
        "kernel": KERNEL_NAME,
    }


def cache_key(study: str, params: Any) -> str:
    """SHA-256 of :func:`cache_components` as canonical JSON."""
    return hashlib.sha256(dumps_json(cache_components(study, params)).encode()).hexdigest()


def _read_manifest(folder: Path) -> dict[str, Any] | None:
    try:
        return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def cached_run_valid(folder: Path, key: str) -> bool:
    """True when ``folder`` is a complete run with cache key ``key`` and untouched outputs."""
    man = _read_manifest(folder)
    if not man or (man.get("run") or {}).get("cache_key") != key:
        return False
    if not (folder / "notebook.ipynb").is_file():
        return False
    for entry in man.get("outputs", []):
        p = folder / entry.get("path", "")
        if not p.is_file() or p.stat().st_size != entry.get("bytes"):
            return False
        if entry.get("kind") != "notebook" and sha256_file(p) != entry.get("sha256"):
            return False
    return True


def is_output_folder(folder: Path) -> bool:
    """An existing folder the runner may replace: empty, or a previous studykit run."""
    if not folder.exists():
        return True
    if not folder.is_dir():
        return False
    if not any(folder.iterdir()):
        return True
    man = _read_manifest(folder)
    return bool(man and "study" in man) or (folder / "notebook.ipynb").is_file()


# --------------------------------------------------------------------------------------------
# Progress
# --------------------------------------------------------------------------------------------
def _cell_title(cell: Mapping[str, Any], width: int = 48) -> str:
    for line in str(cell.get("source", "")).splitlines():
        line = line.strip().lstrip("#").strip()
        if line:
            return line if len(line) <= width else line[: width - 1] + "…"
    return "(empty cell)"


class _Progress:
    """Cells done / total and the current cell: a tqdm bar on a terminal, log lines otherwise."""

    def __init__(self, label: str, mode: str, stream=None):
        self.label, self.mode = label, mode  # mode: "bar", "lines" or "off"
        self.stream = stream or sys.stderr
        self.total = 0
        self.done = 0
        self.bar = None

    def start(self, nb: Any) -> None:
        self.total = sum(1 for c in nb.cells if c.get("cell_type") == "code")
        if self.mode == "bar":
            from tqdm import tqdm

            self.bar = tqdm(total=self.total, unit="cell", desc=self.label, file=self.stream,
                            dynamic_ncols=True, leave=False)
        elif self.mode == "lines":
            print(f"[{self.label}] executing {self.total} code cells", file=self.stream, flush=True)

    def cell_start(self, cell: Any, index: int) -> None:
        if cell.get("cell_type") != "code":
            return
        tags = cell.get("metadata", {}).get("tags", [])
        title = ("(injected parameters)" if "injected-parameters" in tags
                 else "(parameters)" if "parameters" in tags else _cell_title(cell))
        if self.bar is not None:
            self.bar.set_postfix_str(title, refresh=True)
        elif self.mode == "lines":
            print(f"[{self.label}] cell {self.done + 1}/{self.total}: {title}", file=self.stream, flush=True)

    def cell_complete(self, cell: Any, index: int) -> None:
        if cell.get("cell_type") != "code":
            return
        self.done += 1
        if self.bar is not None:
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def progress_mode(progress: bool | str, stream=None) -> str:
    if progress in ("bar", "lines", "off"):
        return str(progress)
    if not progress:
        return "off"
    stream = stream or sys.stderr
    return "bar" if getattr(stream, "isatty", lambda: False)() else "lines"


# --------------------------------------------------------------------------------------------
# Execution (papermill with an engine that reports cell progress)
# --------------------------------------------------------------------------------------------
def _make_engine(progress: _Progress):
    from papermill.engines import NBClientEngine, NotebookExecutionManager

    class _Manager(NotebookExecutionManager):
        def cell_start(self, cell, cell_index=None, **kwargs):
            progress.cell_start(cell, cell_index or 0)
            return super().cell_start(cell, cell_index, **kwargs)

        def cell_complete(self, cell, cell_index=None, **kwargs):
            out = super().cell_complete(cell, cell_index, **kwargs)
            progress.cell_complete(cell, cell_index or 0)
            return out

    class _Engine(NBClientEngine):
        @classmethod
        def execute_notebook(cls, nb, kernel_name, output_path=None, progress_bar=False, log_output=False,
                             autosave_cell_every=30, **kwargs):
            nb_man = _Manager(nb, output_path=output_path, progress_bar=False, log_output=False,
                              autosave_cell_every=autosave_cell_every)
            progress.start(nb_man.nb)
            nb_man.notebook_start()
            try:
                cls.execute_managed_notebook(nb_man, kernel_name, log_output=False, **kwargs)
            finally:
                nb_man.cleanup_pbar()
                nb_man.notebook_complete()
                progress.close()
            return nb_man.nb

    return _Engine


@contextlib.contextmanager
def _kernel_env() -> Iterator[None]:
    """Set :data:`KERNEL_ENV` for kernels started inside the block (caller's values win)."""
    added = {k: v for k, v in KERNEL_ENV.items() if k not in os.environ}
    os.environ.update(added)
    try:
        yield
    finally:
        for k in added:
            os.environ.pop(k, None)


@contextlib.contextmanager
def _quiet_jupyter() -> Iterator[None]:
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


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in str(text).strip().splitlines() if ln.strip()]
    return lines[-1] if lines else ""


def _source_cell_number(executed_nb: Any, index: int) -> int:
    """1-based number of executed cell ``index`` in the committed notebook (injected cells removed)."""
    added_tags = {"injected-parameters", "papermill-error-cell-tag"}
    injected = sum(
        1 for c in executed_nb.cells[:index] if added_tags & set(c.get("metadata", {}).get("tags", []))
    )
    return index + 1 - injected


def _failed_cell(nb: Any) -> tuple[int, Any] | None:
    for i, cell in enumerate(nb.cells):
        meta = cell.get("metadata", {}).get("papermill", {})
        if meta.get("exception") or meta.get("status") == "failed":
            return i, cell
    for i, cell in enumerate(nb.cells):
        if any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            return i, cell
    return None


def check_kernel() -> None:
    """The ``studykit`` kernel must run this environment's Python (else: one-line error, exit 2).

    A ``studykit`` kernel registered by another checkout or environment (e.g. in
    ``~/.local/share/jupyter/kernels``) would run the notebook with *that*
    library silently; this refuses instead.
    """
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

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


def execute_notebook(
    study: str,
    notebook: Path,
    output_notebook: Path,
    parameters: Mapping[str, Any],
    *,
    progress: _Progress | None = None,
    timeout: float | None = None,
) -> Any:
    """papermill-execute ``notebook`` into ``output_notebook``; NotebookError naming the failing cell.

    A failing cell's exception is re-raised as :class:`NotebookError` whose
    ``exit_code`` is 2 when the notebook itself raised a studykit
    ``InputError`` or ``ParamError`` (bad data), 1 otherwise.
    """
    import nbformat
    import papermill as pm
    from papermill.engines import papermill_engines
    from papermill.exceptions import PapermillExecutionError

    progress = progress or _Progress(study, "off")
    engine_name = f"studykit-{id(progress)}"
    papermill_engines.register(engine_name, _make_engine(progress))
    rel_nb = _rel(notebook)
    try:
        with _kernel_env(), _quiet_jupyter():
            pm.execute_notebook(
                str(notebook),
                str(output_notebook),
                parameters=dict(parameters),
                kernel_name=KERNEL_NAME,
                engine_name=engine_name,
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
        nb = nbformat.read(str(output_notebook), as_version=4)
        where = _failed_cell(nb)
        if where is not None:
            idx, cell = where
            cell_no = _source_cell_number(nb, idx)
        else:
            cell_no = exc.cell_index + 1
        last = _last_line(f"{exc.ename}: {exc.evalue}") or exc.ename
        err = NotebookError(f"{rel_nb} failed in cell {cell_no} (In [{exc.exec_count}]): {last}")
        if exc.ename in ("InputError", "ParamError"):
            err.exit_code = 2
        raise err from None
    except StudykitError:
        raise
    except Exception as exc:  # kernel missing or died, timeout, bad notebook file
        name = type(exc).__name__
        msg = _last_line(str(exc)) or name
        if name == "NoSuchKernel":
            msg = f"kernel '{KERNEL_NAME}' is not installed: run `make setup`"
        elif name in ("DeadKernelError",):
            msg = f"the kernel died ({msg})"
        elif name in ("CellTimeoutError", "TimeoutError"):
            msg = f"a cell timed out ({msg})"
        raise NotebookError(f"{rel_nb} could not be executed: {msg}") from None
    finally:
        papermill_engines._engines.pop(engine_name, None)
    return nbformat.read(str(output_notebook), as_version=4)


def _rel(p: Path) -> str:
    try:
        return Path(p).resolve().relative_to(paths.project_root()).as_posix()
    except ValueError:
        return str(p)


# --------------------------------------------------------------------------------------------
# Folder handling
# --------------------------------------------------------------------------------------------
@contextlib.contextmanager
def _folder_lock(final: Path, progress: _Progress) -> Iterator[None]:
    """One run at a time per output folder (a second one waits, then usually hits the cache)."""
    final.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: no cross-process lock
        yield
        return
    lock_path = final.parent / f".{final.name}.lock"
    with open(lock_path, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if progress.mode != "off":
                print(f"[{progress.label}] waiting for another run of the same folder", file=progress.stream)
            fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _swap_into_place(tmp: Path, final: Path) -> None:
    """Replace ``final`` by ``tmp``: rename the old folder away, rename the new one in, delete the old."""
    old = None
    if final.exists():
        old = final.parent / f".{final.name}.old-{os.getpid()}-{time.monotonic_ns()}"
        os.replace(final, old)
    try:
        os.replace(tmp, final)
    except BaseException:
        if old is not None and not final.exists():
            os.replace(old, final)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def failed_dir(final: Path) -> Path:
    """Where the partial run of a failed execution is kept (beside the last good output)."""
    return final.parent / f"{final.name}.failed"


def _keep_failed(tmp: Path, final: Path, message: str) -> Path:
    import nbformat

    target = failed_dir(final)
    nb_path = tmp / "notebook.ipynb"
    if nb_path.is_file():
        try:
            nb = nbformat.read(str(nb_path), as_version=4)
            nb.metadata.setdefault("studykit", {}).update({"status": "failed", "error": message})
            nbformat.write(nb, str(nb_path))
        except Exception:  # the partial notebook is kept as is
            pass
    (tmp / "FAILED.txt").write_text(message + "\n", encoding="utf-8")
    if target.exists():
        shutil.rmtree(target)
    os.replace(tmp, target)
    return target


def _note_output_dir(nb_path: Path, nb: Any, final: Path) -> None:
    """Say in the injected parameters cell where the temporary ``output_dir`` ended up (comment only)."""
    import nbformat

    for cell in nb.cells:
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            cell.source = (cell.source.rstrip("\n") + "\n# output_dir is a temporary folder, renamed to "
                           f"{_rel(final)} when the run succeeded")
            nbformat.write(nb, str(nb_path))
            return


def _annotate_manifest(tmp: Path, nb: Any, run_info: Mapping[str, Any], study: str) -> None:
    """Add the run section, the notebook and each output's cell to the manifest written by close()."""
    man_path = tmp / "manifest.json"
    man = _read_manifest(tmp)
    if man is None:
        raise NotebookError(
            f"notebook {study} wrote no manifest.json: its last cell must call out.close()"
        )
    by_count: dict[int, tuple[int, Any]] = {}
    for i, cell in enumerate(nb.cells):
        if cell.get("cell_type") == "code" and cell.get("execution_count") is not None:
            by_count[int(cell["execution_count"])] = (i, cell)

    def cell_ref(info: Mapping[str, Any]) -> dict[str, Any]:
        count = info.get("execution_count")
        if count is None or int(count) not in by_count:
            return {}
        i, cell = by_count[int(count)]
        ref = {"cell_index": i + 1, "source_cell": _source_cell_number(nb, i)}
        if cell.get("id"):
            ref["cell_id"] = cell["id"]
        return ref

    for entry in man.get("outputs", []):
        entry.update(cell_ref(entry))
    for info in (man.get("records") or {}).values():
        if isinstance(info, dict):
            info.update(cell_ref(info))
    nb_file = tmp / "notebook.ipynb"
    man["outputs"] = [e for e in man.get("outputs", []) if e.get("path") != "notebook.ipynb"] + [{
        "path": "notebook.ipynb", "kind": "notebook", "name": "notebook", "caption": "The executed notebook",
        "bytes": nb_file.stat().st_size, "sha256": sha256_file(nb_file),
    }]
    man["run"] = dict(run_info)
    write_json_atomic(man_path, man)


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------
def run_study(
    study: str,
    profile: str = "default",
    params_file: str | os.PathLike | None = None,
    overrides: Mapping[str, Any] | Sequence[str] | None = None,
    out_dir: str | os.PathLike | None = None,
    force: bool = False,
    progress: bool | str = False,
) -> RunResult:
    """Run one study under one profile (see the module docstring for the flow).

    Raises :class:`ParamError` for bad parameters or missing inputs (nothing is
    written) and :class:`NotebookError` when a cell fails (the previous output
    folder stays intact; the partial run is kept in ``<out_dir>.failed``).
    """
    t0 = time.perf_counter()
    params, name = resolve_params(study, profile, params_file, overrides)
    nb = notebook_path(study)
    key = cache_key(study, params)  # also checks that the notebook exists
    final = Path(paths.resolve(out_dir)) if out_dir is not None else default_out_dir(study, name)
    if not is_output_folder(final):
        raise ParamError(f"refusing to replace {final}: it exists and is not a studykit output folder")
    prog = _Progress(f"{study}/{name}", progress_mode(progress))

    if not force and cached_run_valid(final, key):
        return RunResult(study, name, "cached", final, time.perf_counter() - t0, key, final / "notebook.ipynb")
    check_kernel()

    with _folder_lock(final, prog):
        if not force and cached_run_valid(final, key):  # another process finished it meanwhile
            return RunResult(study, name, "cached", final, time.perf_counter() - t0, key,
                             final / "notebook.ipynb")
        tmp = temp_dir_beside(final)
        started = _dt.datetime.now(_dt.timezone.utc)
        t_exec = time.perf_counter()
        try:
            executed = execute_notebook(
                study, nb, tmp / "notebook.ipynb",
                {**params.to_notebook(), "output_dir": str(tmp)},
                progress=prog, timeout=_cell_timeout(),
            )
            run_info = {
                "cache_key": key,
                "profile": name,
                "profile_file": _rel(paths.resolve(params_file)) if params_file is not None
                else (_rel(profile_file(study, name)) if profile_file(study, name).is_file() else None),
                "overrides": json.loads(dumps_json(dict(overrides))) if isinstance(overrides, Mapping)
                else list(overrides or []),
                "notebook": _rel(nb),
                "notebook_sha256": sha256_file(nb),
                "kernel": KERNEL_NAME,
                "started_at": started.isoformat(timespec="seconds"),
                "finished_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                "seconds": round(time.perf_counter() - t_exec, 3),
                "forced": bool(force),
            }
            _note_output_dir(tmp / "notebook.ipynb", executed, final)
            _annotate_manifest(tmp, executed, run_info, study)
        except StudykitError as exc:
            kept = _keep_failed(tmp, final, str(exc))
            msg = f"{exc}; partial notebook kept in {_display_path(kept / 'notebook.ipynb')}"
            err = NotebookError(msg) if isinstance(exc, NotebookError) else type(exc)(msg)
            err.exit_code = exc.exit_code
            raise err from None
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        _swap_into_place(tmp, final)
        stale = failed_dir(final)
        if stale.exists():
            shutil.rmtree(stale, ignore_errors=True)
    return RunResult(study, name, "executed", final, time.perf_counter() - t0, key, final / "notebook.ipynb")


def _cell_timeout() -> float | None:
    raw = os.environ.get("STUDYKIT_CELL_TIMEOUT")
    try:
        return float(raw) if raw else None
    except ValueError:
        raise ParamError(f"STUDYKIT_CELL_TIMEOUT must be a number of seconds, got '{raw}'") from None


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
    ``<out_root>/<study>/<profile>``.
    """
    from studykit.studies import STUDIES

    studies = list(studies or STUDIES)
    jobs = max(1, int(jobs))
    mode = progress_mode(progress)
    if jobs > 1 and mode == "bar":
        mode = "lines"  # interleaved bars from several processes are unreadable
    tasks = []
    for s in studies:
        kw: dict[str, Any] = dict(study=s, profile=profile, overrides=overrides, force=force, progress=mode)
        if out_root is not None:
            kw["out_dir"] = Path(paths.resolve(out_root)) / s / profile
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
                    res = NotebookError(f"{s}: worker process failed: {_last_line(str(exc)) or type(exc).__name__}")
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
    "RunResult", "RunAllError", "run_study", "run_all", "cache_key", "cache_components", "resolve_params",
    "list_profiles", "notebook_path", "default_out_dir", "failed_dir", "KERNEL_NAME",
]
