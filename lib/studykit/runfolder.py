"""The content of a run's output folder beyond what the notebook writes.

After a successful execution the runner saves the executed notebook as
``notebook.ipynb``, notes in its injected parameters cell where the temporary
``output_dir`` ended up, and completes ``manifest.json`` (written by the
notebook's ``out.close()``) with a ``run`` section and, for every output and
recorded number, the notebook cell that wrote it. A failed execution is kept
beside the last good output as ``<name>.failed/``, marked failed.

Every folder here carries :data:`studykit.folders.RUN_MARKER`. Folders written
by studykit before markers existed are recognised by their exact content
(:func:`written_before_markers`).
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Mapping

from studykit.cachekey import read_manifest
from studykit.kernelinfo import rel_to_project, source_cell_number
from studykit.errors import NotebookError
from studykit.fileio import sha256_file, write_json_atomic
from studykit.folders import RUN_MARKER, check_replaceable, replace_dir


def failed_dir(final: Path) -> Path:
    """Where the partial run of a failed execution is kept (beside the last good output)."""
    return final.parent / f"{final.name}.failed"


def _files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() or p.is_symlink()}


def written_before_markers(folder: Path) -> bool:
    """A run or failed-run folder of a studykit without markers, holding only what studykit wrote there.

    A run folder: a manifest with a ``run`` section and no file besides the
    manifest and the outputs it lists. A failed-run folder: ``FAILED.txt``, a
    notebook marked failed, and otherwise only tables, figures, ``results.json``
    and ``manifest.json``. Anything else (a user's file among them) is not.
    """
    files = _files(folder)
    man = read_manifest(folder)
    if man is not None and isinstance(man.get("run"), dict) and man["run"].get("cache_key"):
        listed = {str(e.get("path")) for e in man.get("outputs", []) if isinstance(e, dict)}
        return files <= listed | {"manifest.json"}
    if "FAILED.txt" in files and "notebook.ipynb" in files:
        import nbformat  # here, not at the top: a cached run never reads a notebook

        try:
            nb = nbformat.read(str(folder / "notebook.ipynb"), as_version=4)
        except Exception:  # not a notebook: not ours
            return False
        if (nb.metadata.get("studykit") or {}).get("status") != "failed":
            return False
        extra = files - {"FAILED.txt", "notebook.ipynb", "manifest.json", "results.json"}
        return all(f.startswith(("tables/", "figures/")) for f in extra)
    return False


def check_run_folders(final: Path) -> None:
    """Refuse (ParamError, nothing touched) when ``final`` or its ``.failed`` sibling is not studykit's."""
    check_replaceable(final, RUN_MARKER, "output folder", written_before_markers=written_before_markers)
    check_replaceable(failed_dir(final), RUN_MARKER, "failed-run folder",
                      written_before_markers=written_before_markers)


def keep_failed(tmp: Path, final: Path, message: str) -> Path:
    """Mark the partial run in ``tmp`` failed and move it to ``<final>.failed``; return that folder.

    When ``<final>.failed`` is (now) something studykit did not write, ``tmp``
    is deleted and the ParamError raised instead.
    """
    target = failed_dir(final)
    try:
        check_run_folders(final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    nb_path = tmp / "notebook.ipynb"
    if nb_path.is_file():
        import nbformat

        try:
            nb = nbformat.read(str(nb_path), as_version=4)
            nb.metadata.setdefault("studykit", {}).update({"status": "failed", "error": message})
            nbformat.write(nb, str(nb_path))
        except Exception:  # an unreadable partial notebook is kept as it is
            pass
    (tmp / "FAILED.txt").write_text(message + "\n", encoding="utf-8")
    replace_dir(tmp, target)
    return target


def note_output_dir(nb_path: Path, nb: Any, final: Path) -> None:
    """Say in the injected parameters cell where the temporary ``output_dir`` ended up (a comment)."""
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


__all__ = ["failed_dir", "written_before_markers", "check_run_folders", "keep_failed", "note_output_dir",
           "annotate_manifest"]
