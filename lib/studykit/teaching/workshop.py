"""``studykit workshop init DIR``: a participant's own workspace, so the tracked notebooks stay untouched.

The workspace holds copies of the five study notebooks (``notebooks/``), the
exercise notebooks with their solutions removed (``exercises/``), the lesson
pages (``lessons/``: ``workshop/**/*.md``, so JupyterLab opened on the
workspace opens the episodes beside the exercises), the own-data templates
(``templates/``), a README, and studykit's folder marker
(:data:`studykit.files.folders.MARKER`, kind ``workspace``). Runs started from inside it (JupyterLab opened on the
workspace, or ``studykit run`` from a terminal there) write to
``DIR/outputs/`` (:func:`studykit.files.paths.outputs_dir`); the data, parameters and
library are the project's.

Safety: studykit's one folder rule (:func:`studykit.files.folders.check_folder`): a
folder that exists, is not empty and is not a workspace is refused (one line,
nothing written), as are a file, a link and a path through a file. ``init``
only adds files (``adds_only``): running it again on a workspace adds the files
that are missing and never overwrites or deletes a file the participant may
have edited or added.

Exercise notebooks (``workshop/exercises/*.ipynb``) mark solution cells with
the cell tag ``solution`` and self-checks with ``check``; the participant copy
replaces each solution cell by an empty "your turn" cell and keeps the checks.
The test suite runs every exercise notebook with its solutions, so a solution
that stops working fails CI.
"""
from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from studykit.runs.nbimport import notebook_stack

with notebook_stack():
    import nbformat

from studykit.files import paths
from studykit.files.fileio import write_text_atomic
from studykit.files.floats import csv_text
from studykit.files.folders import MARKER, Claim, check_folder, seal, writing

__all__ = ["init_workspace", "participant_copy", "InitReport", "YOUR_TURN", "SOLUTION_TAG", "CHECK_TAG", "LESSONS"]

#: the cell tag of an exercise's solution cells (removed from participant copies) and of its self-checks
SOLUTION_TAG, CHECK_TAG = "solution", "check"

#: the workspace folder holding copies of the lesson pages (``workshop/**/*.md``: README, setup, episodes, ...)
LESSONS = "lessons"

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
        if SOLUTION_TAG in tags:
            cells.append(nbformat.v4.new_code_cell(YOUR_TURN, metadata={"tags": ["your-turn"]}))
        else:
            cells.append(cell)
    out.cells = cells
    return out


def _sources() -> list[tuple[str, Path, str]]:
    """(relative destination, source path, kind) of every file a workspace gets."""
    from studykit.contract.registry import names

    root = paths.project_root()
    notebooks = [paths.notebook_path(s) for s in names()]
    items = [(f"notebooks/{p.name}", p, "copy") for p in notebooks if p.is_file()]
    items += [(f"exercises/{p.name}", p, "exercise") for p in sorted((root / "workshop" / "exercises").glob("*.ipynb"))]
    wdir = root / "workshop"
    lessons = [p for p in sorted(wdir.rglob("*.md")) if p.relative_to(wdir).parts[0] not in ("templates", "exercises")
               and not any(part.startswith(".") for part in p.relative_to(wdir).parts)]  # no .ipynb_checkpoints
    items += [(f"{LESSONS}/{p.relative_to(wdir).as_posix()}", p, "copy") for p in lessons]
    tdir = root / "workshop" / "templates"
    items += [(f"templates/{p.relative_to(tdir).as_posix()}", p, "copy") for p in sorted(tdir.rglob("*")) if p.is_file()]
    return items


README = """# studykit workshop workspace

Your own copies of the study notebooks (`notebooks/`) and the exercises (`exercises/`); edit them freely.
Every run you start here writes into `outputs/` in this folder. The lessons are in `lessons/` (in JupyterLab:
right-click an episode in `lessons/episodes/`, Open With, Markdown Preview; also on the report's "Lessons" page);
templates for your own data are in `templates/`.

Open JupyterLab here:  {lab}
"""


def init_workspace(dest: str | Path) -> InitReport:
    """Create (or complete) a participant workspace in ``dest``; see the module docstring.

    When a write fails (a full disk), the files and folders this call created are removed again, so a
    failed ``init`` leaves ``dest`` as it was.
    """
    dest = Path(os.path.abspath(Path(dest).expanduser()))
    claim = check_folder(dest, "workspace", adds_only=True)
    made: list[Path] = []
    try:
        with writing(dest, "workspace"):
            return _fill(dest, claim, made)
    except BaseException:
        for p in reversed(made):  # newest first: files, then the folders that held them
            try:
                p.rmdir() if p.is_dir() and not p.is_symlink() else p.unlink()
            except OSError:
                pass
        raise


def _mkdirs(folder: Path, made: list[Path]) -> None:
    """``folder`` and its missing parents, each created one recorded in ``made``."""
    missing = [p for p in (folder, *folder.parents) if not p.exists()]
    for p in reversed(missing):
        p.mkdir()
        made.append(p)


def _fill(dest: Path, claim: Claim, made: list[Path]) -> InitReport:
    _mkdirs(dest, made)
    written, kept = [], []
    for rel, src, kind in _sources():
        target = dest / rel
        if target.exists():
            kept.append(rel)
            continue
        _mkdirs(target.parent, made)
        made.append(target)
        if kind == "exercise":
            nb = participant_copy(nbformat.read(src, as_version=4))
            write_text_atomic(target, nbformat.writes(nb) + "\n")
        else:
            shutil.copyfile(src, target)
        written.append(rel)
    _mkdirs(dest / "outputs", made)
    if not (dest / "README.md").exists():
        lab = f"{paths.project_root() / '.venv' / 'bin' / 'jupyter'} lab --notebook-dir {dest}"
        made.append(dest / "README.md")
        write_text_atomic(dest / "README.md", README.format(lab=lab))
        written.append("README.md")
    if not (dest / MARKER).exists():
        made.append(dest / MARKER)
    seal(dest, "workspace", {"project": str(paths.project_root())}, files=set(claim.files) | set(written))
    return InitReport(dest, tuple(written), tuple(kept))


def write_templates(out_dir: str | Path) -> list[Path]:
    """Write the own-data templates (one folder per study, in each study's documented schema) into ``out_dir``.

    Each study that has templates cuts them from its embedded data (:attr:`studykit.contract.registry.Study.templates`,
    the rule in its ``template_rule``), deterministically, so the committed ``workshop/templates/`` can be
    checked against a regeneration.
    """
    from studykit.contract import registry
    out_dir = Path(out_dir)
    written: list[Path] = []
    for name in registry.names():
        study = registry.get(name)
        if study.templates is None:
            continue
        for file, frame in registry.resolve(study.templates)(paths.data_dir(name)).items():
            target = out_dir / name / file
            target.parent.mkdir(parents=True, exist_ok=True)
            write_text_atomic(target, csv_text(frame))
            written.append(target)
    return written
