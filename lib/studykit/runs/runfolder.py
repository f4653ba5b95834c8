"""The content of a run's output folder beyond what the notebook writes.

After a successful execution the runner saves the executed notebook as
``notebook.ipynb``, notes in its injected parameters cell where the temporary
``output_dir`` ended up, and completes ``manifest.json`` (written by the
notebook's ``out.close()``) with a ``run`` section and, for every output and
recorded number, the notebook cell that wrote it. A failed execution is kept
beside the last good output as ``<name>.failed/``, marked failed.

Both folders follow studykit's one folder rule (:mod:`studykit.files.folders`): a
marker listing every file the run wrote, checked before the run and again at
the swap.
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Mapping

from studykit.runs.cachekey import read_manifest
from studykit.runs.kernelinfo import rel_to_project, source_cell_number
from studykit.contract.errors import NotebookError
from studykit.files.fileio import sha256_file, write_json_atomic
from studykit.files.folders import check_folder, read_marker, replace_dir, seal


def failed_dir(final: Path) -> Path:
    """Where the partial run of a failed execution is kept (beside the last good output)."""
    return final.parent / f"{final.name}.failed"


def check_run_folders(final: Path) -> None:
    """Refuse (:class:`~studykit.files.folders.FolderRefused`, nothing touched) when ``final`` or its ``.failed``
    sibling may not be replaced by a run (:func:`studykit.files.folders.check_folder`)."""
    check_folder(final, "run", replace=True)
    check_folder(failed_dir(final), "failed-run", replace=True)


def keep_failed(tmp: Path, final: Path, message: str) -> Path:
    """Mark the partial run in ``tmp`` failed and move it to ``<final>.failed``; return that folder.

    When ``<final>.failed`` is (now) something studykit may not replace, or
    the disk is full, ``tmp`` is deleted and the error raised instead.
    """
    target = failed_dir(final)
    try:
        check_run_folders(final)
        nb_path = tmp / "notebook.ipynb"
        if nb_path.is_file():
            from studykit.runs.nbimport import notebook_stack

            with notebook_stack():  # here, not at the top: a cached run never reads a notebook
                import nbformat

            try:
                nb = nbformat.read(str(nb_path), as_version=4)
                nb.metadata.setdefault("studykit", {}).update({"status": "failed", "error": message})
                nbformat.write(nb, str(nb_path))
            except OSError:
                raise
            except Exception:  # an unreadable partial notebook is kept as it is
                pass
        (tmp / "FAILED.txt").write_text(message + "\n", encoding="utf-8")
        info = {k: v for k, v in read_marker(tmp).items() if k in ("study", "profile")}
        seal(tmp, "failed-run", info)
        replace_dir(tmp, target, "failed-run")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def note_output_dir(nb_path: Path, nb: Any, final: Path) -> None:
    """Say in the injected parameters cell where the temporary ``output_dir`` ended up (a comment)."""
    from studykit.runs.nbimport import notebook_stack

    with notebook_stack():
        import nbformat

    for cell in nb.cells:
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            cell.source = (cell.source.rstrip("\n") + "\n# output_dir is a temporary folder, renamed to "
                           f"{rel_to_project(final)} when the run succeeded")
            nbformat.write(nb, str(nb_path))
            return


def annotate_manifest(tmp: Path, nb: Any, run_info: Mapping[str, Any], study: str) -> None:
    """Add the run section, the notebook and each output's cell to the manifest written by close()."""
    man = read_manifest(tmp)
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
        ref = {"cell_index": i + 1, "source_cell": source_cell_number(nb, i)}
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
    write_json_atomic(tmp / "manifest.json", man)


__all__ = ["failed_dir", "check_run_folders", "keep_failed", "note_output_dir",
           "annotate_manifest"]
