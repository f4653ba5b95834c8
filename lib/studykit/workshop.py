"""``studykit workshop init DIR``: a participant's own workspace, so the tracked notebooks stay untouched.

The workspace holds copies of the five study notebooks (``notebooks/``), the
exercise notebooks with their solutions removed (``exercises/``), the own-data
templates (``templates/``), a README, and the marker file
``.studykit-workspace``. Runs started from inside it (JupyterLab opened on the
workspace, or ``studykit run`` from a terminal there) write to
``DIR/outputs/`` (:func:`studykit.paths.outputs_dir`); the data, parameters and
library are the project's.

Safety: a folder that exists, is not empty and is not a workspace is refused
(one line, nothing written). Running ``init`` again on a workspace adds the
files that are missing and never overwrites a file the participant may have
edited.

Exercise notebooks (``workshop/exercises/*.ipynb``) mark solution cells with
the cell tag ``solution`` and self-checks with ``check``; the participant copy
replaces each solution cell by an empty "your turn" cell and keeps the checks.
The test suite runs every exercise notebook with its solutions, so a solution
that stops working fails CI.
"""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import nbformat

from studykit import paths
from studykit.errors import ParamError
from studykit.fileio import write_text_atomic

__all__ = ["init_workspace", "participant_copy", "InitReport", "YOUR_TURN"]

YOUR_TURN = ("# Your turn: write your answer here (see the task above), run it, then run the check cell below.\n")


@dataclass(frozen=True)
class InitReport:
    """What :func:`init_workspace` did: the workspace, files written and files kept as they were."""

    root: Path
    written: tuple[str, ...]
    kept: tuple[str, ...]


def participant_copy(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook with every cell tagged ``solution`` replaced by an empty "your turn" code cell."""
    out = nbformat.from_dict(json.loads(json.dumps(nb)))
    cells = []
    for cell in out.cells:
        tags = cell.get("metadata", {}).get("tags", [])
        if "solution" in tags:
            cells.append(nbformat.v4.new_code_cell(YOUR_TURN, metadata={"tags": ["your-turn"]}))
        else:
            cells.append(cell)
    out.cells = cells
    return out


def _sources() -> list[tuple[str, Path, str]]:
    """(relative destination, source path, kind) of every file a workspace gets."""
    root = paths.project_root()
    items = [(f"notebooks/{p.name}", p, "copy") for p in sorted((root / "notebooks").glob("*.ipynb"))]
    items += [(f"exercises/{p.name}", p, "exercise") for p in sorted((root / "workshop" / "exercises").glob("*.ipynb"))]
    tdir = root / "workshop" / "templates"
    items += [(f"templates/{p.relative_to(tdir).as_posix()}", p, "copy") for p in sorted(tdir.rglob("*")) if p.is_file()]
    return items


README = """# studykit workshop workspace

Your own copies of the study notebooks (`notebooks/`) and the exercises (`exercises/`); edit them freely.
Every run you start here writes into `outputs/` in this folder. The lessons are in the project's
`workshop/` folder (and on the report's "Lessons" page); templates for your own data are in `templates/`.

Open JupyterLab here:  {lab}
"""


def init_workspace(dest: str | Path) -> InitReport:
    """Create (or complete) a participant workspace in ``dest``; see the module docstring."""
    dest = Path(dest).expanduser().resolve()
    marker = dest / paths.WORKSPACE_MARKER
    if dest.exists() and not dest.is_dir():
        raise ParamError(f"workshop init: {dest} is a file, not a folder")
    if dest.is_dir() and any(dest.iterdir()) and not marker.is_file():
        raise ParamError(f"workshop init: {dest} is not empty and is not a studykit workspace; "
                         f"choose a new or empty folder (nothing was written)")
    dest.mkdir(parents=True, exist_ok=True)
    written, kept = [], []
    for rel, src, kind in _sources():
        target = dest / rel
        if target.exists():
            kept.append(rel)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if kind == "exercise":
            nb = participant_copy(nbformat.read(src, as_version=4))
            write_text_atomic(target, nbformat.writes(nb) + "\n")
        else:
            shutil.copyfile(src, target)
        written.append(rel)
    (dest / "outputs").mkdir(exist_ok=True)
    if not (dest / "README.md").exists():
        lab = f"{paths.project_root() / '.venv' / 'bin' / 'jupyter'} lab --notebook-dir {dest}"
        write_text_atomic(dest / "README.md", README.format(lab=lab))
        written.append("README.md")
    if not marker.is_file():
        write_text_atomic(marker, json.dumps({"project": str(paths.project_root())}, indent=1) + "\n")
    return InitReport(dest, tuple(written), tuple(kept))
