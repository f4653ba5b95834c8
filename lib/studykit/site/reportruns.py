"""The runs a report shows, read defensively: every name checked, no link followed, no shape assumed.

A run folder may come from anywhere (a colleague's zip, a hand-edited
manifest), so the report treats its ``manifest.json`` and ``results.json`` as
untrusted input:

- **No path is built from a name in a file.** The site's folder of a run is
  ``<study>/<profile>``, taken from the run folder's own location
  (``<outputs>/<study>/<profile>/``); a single run folder (``studykit report
  RUN_FOLDER``) takes its study from the manifest only when that names a known
  study. An output path from the manifest is used only when it stays inside the
  run folder (relative, no ``..``).
- **No link is followed.** A file is read or copied only when it is a regular
  file reached from the run folder without a symbolic link (:func:`safe_file`);
  a ``tables/x.csv`` linked to a secret file elsewhere is skipped with a note on
  the run's page. A run folder, manifest or results file that is a link makes
  the run unreadable (the outputs root and its study folders are the user's
  layout and may be links).
- **No shape is assumed.** A manifest or results file that is not JSON, or whose
  fields do not have the types studykit writes (:func:`manifest_problem`), makes
  the run *unreadable*: it is listed with one line on the index page (and
  printed by ``studykit report``) and the report still builds.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studykit.runs.resultsfile import RESULTS_FILE, json_or_problem, results_or_problem

#: fields of manifest.json the report reads, with the JSON type each must have
_MANIFEST_TYPES = {"outputs": list, "run": dict, "records": dict, "parameters": dict, "inputs": list,
                   "environment": dict, "git": dict, "names": dict, "seeds": dict}
_ENTRY_TYPES = {"path": str, "kind": str, "name": str, "caption": str}


@dataclass
class Exhibit:
    kind: str  # table | figure
    name: str
    caption: str
    number: int
    files: list[dict[str, Any]] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{'Table' if self.kind == 'table' else 'Figure'} {self.number}"

    @property
    def cell(self) -> dict[str, Any]:
        return self.files[0] if self.files else {}


@dataclass
class Unreadable:
    """A run folder the report cannot show, and why (one line)."""

    study: str
    profile: str
    folder: Path
    reason: str

    def line(self) -> str:
        return f"{self.folder}: {self.reason}"


def safe_file(folder: Path, rel: str) -> Path | None:
    """``folder/rel`` when it is a regular file inside ``folder`` reached without a symbolic link, else None."""
    parts = Path(rel).parts
    if not parts or Path(rel).is_absolute() or ".." in parts:
        return None
    p = Path(folder)
    for part in parts:
        p = p / part
        if p.is_symlink():
            return None
    return p if p.is_file() else None


def _type_name(x: Any) -> str:
    return {dict: "object", list: "list", str: "text", int: "number", float: "number", bool: "true/false",
            type(None): "null"}.get(type(x), type(x).__name__)


def manifest_problem(man: Any) -> str | None:
    """Why ``man`` is not a manifest the report can show (None: it is)."""
    if not isinstance(man, dict):
        return f"manifest.json is not a JSON object (got {_type_name(man)})"
    for key, typ in _MANIFEST_TYPES.items():
        if key in man and man[key] is not None and not isinstance(man[key], typ):
            return f"manifest.json: '{key}' must be a JSON {_type_name(typ())} (got {_type_name(man[key])})"
    for i, entry in enumerate(man.get("outputs") or []):
        if not isinstance(entry, dict):
            return f"manifest.json: outputs[{i}] must be a JSON object (got {_type_name(entry)})"
        for key, typ in _ENTRY_TYPES.items():
            if key in entry and not isinstance(entry[key], typ) or (key == "path" and key not in entry):
                return f"manifest.json: outputs[{i}].{key} must be text (got {_type_name(entry.get(key))})"
        count = entry.get("execution_count")
        if count is not None and (isinstance(count, bool) or not isinstance(count, int)):
            return f"manifest.json: outputs[{i}].execution_count must be a whole number or null"
    for i, entry in enumerate(man.get("inputs") or []):
        if not isinstance(entry, dict):
            return f"manifest.json: inputs[{i}] must be a JSON object (got {_type_name(entry)})"
    for key in ("packages",):
        env = man.get("environment") or {}
        if key in env and not isinstance(env[key], dict):
            return f"manifest.json: environment.{key} must be a JSON object (got {_type_name(env[key])})"
    if not all(isinstance(v, dict) for v in (man.get("records") or {}).values()):
        return "manifest.json: every entry of 'records' must be a JSON object"
    return None


@dataclass
class Run:
    study: str
    profile: str
    folder: Path
    manifest: dict[str, Any]
    results: dict[str, Any]
    #: output entries skipped (outside the folder, a link, missing), one note each
    skipped: list[str] = field(default_factory=list)

    @property
    def slug(self) -> str:
        return f"{self.study}/{self.profile}"

    @property
    def outputs(self) -> list[dict[str, Any]]:
        """The manifest's output entries that are regular files inside the run folder, reached without a link
        (a manifest from elsewhere cannot make the report copy, show or link a file outside it)."""
        return [e for e in self.manifest.get("outputs") or [] if safe_file(self.folder, e["path"]) is not None]

    @property
    def has_notebook(self) -> bool:
        """False for a run written from an interactive session (no executed notebook is kept)."""
        return safe_file(self.folder, "notebook.ipynb") is not None

    @property
    def info(self) -> dict[str, Any]:
        """The manifest's ``run`` section (the runner's), with the start and end of an interactive run."""
        times = {k: self.manifest[k] for k in ("started_at", "finished_at") if k in self.manifest}
        return {**times, **(self.manifest.get("run") or {})}

    def exhibits(self) -> list[Exhibit]:
        groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for e in self.outputs:
            if e.get("kind") in ("table", "figure"):
                groups.setdefault((e["kind"], str(e.get("name") or e["path"])), []).append(e)

        def order(item):
            (kind, name), files = item
            cell = files[0].get("execution_count")
            return (kind != "table", cell if cell is not None else 10**9, name)

        out, counters = [], {"table": 0, "figure": 0}
        for (kind, name), files in sorted(groups.items(), key=order):
            if kind == "table" and name == "data_issues":
                continue  # shown in its own section
            counters[kind] += 1
            ext_order = {"csv": 0, "png": 0, "svg": 1, "pdf": 2, "tex": 1, "html": 2, "parquet": 3}
            files = sorted(files, key=lambda f: ext_order.get(f["path"].rsplit(".", 1)[-1], 9))
            out.append(Exhibit(kind, name, files[0].get("caption", ""), counters[kind], files))
        return out


def is_run_folder(folder: str | os.PathLike) -> bool:
    """True for one run's output folder: it holds ``manifest.json`` and ``results.json``."""
    folder = Path(folder)
    return (folder / "manifest.json").is_file() and (folder / "results.json").is_file()


def load_run(folder: Path, study: str | None = None, known: tuple[str, ...] | None = None) -> Run | Unreadable:
    """The run in ``folder``, or why it cannot be shown.

    ``study`` is the study of the folder's location; without it (a single run
    folder) the manifest's ``study`` is used when it is one of ``known``.
    """
    folder = Path(folder)
    profile = folder.name
    where = study or folder.parent.name
    if folder.is_symlink():
        return Unreadable(where, profile, folder, "a symbolic link (the report does not follow links)")
    man, problem = json_or_problem(folder, "manifest.json")
    if problem is None:
        problem = manifest_problem(man)
    if problem is not None:
        return Unreadable(where, profile, folder, problem)
    results, problem = results_or_problem(folder) if (folder / RESULTS_FILE).exists() \
        or (folder / RESULTS_FILE).is_symlink() else ({}, None)
    if problem is not None:
        return Unreadable(where, profile, folder, problem)
    if study is None:
        named = man.get("study")
        if not isinstance(named, str) or named not in (known or ()):
            shown = json.dumps(named)[:60] if not isinstance(named, str) else repr(named[:60])
            return Unreadable(where, profile, folder,
                              f"manifest.json names the study {shown}, which is not a study of this project")
        study = named
    run = Run(study, profile, folder, man, results)
    for e in man.get("outputs") or []:
        if safe_file(folder, e["path"]) is None:
            p = folder / e["path"] if not Path(e["path"]).is_absolute() else Path(e["path"])
            why = ("outside the run folder" if Path(e["path"]).is_absolute() or ".." in Path(e["path"]).parts
                   else "a symbolic link" if p.is_symlink() or any(q.is_symlink() for q in p.parents if
                                                                  folder in q.parents) else "missing")
            run.skipped.append(f"{e['path'][:120]}: {why}; not copied or shown")
    return run


def scan_runs(outputs_root: Path) -> tuple[list[Run], list[Unreadable]]:
    """Every completed run folder ``<root>/<study>/<profile>/`` (site and dot-folders skipped), and those
    that cannot be read."""
    runs: list[Run] = []
    bad: list[Unreadable] = []
    if not outputs_root.is_dir():
        return runs, bad
    for man_path in sorted(outputs_root.glob("*/*/manifest.json")):
        folder = man_path.parent
        if folder.name.startswith(".") or folder.parent.name.startswith(".") or folder.parent.name == "site":
            continue
        if folder.name.endswith(".failed"):
            continue
        if not (folder / "notebook.ipynb").exists() and not (folder / "notebook.ipynb").is_symlink():
            continue  # an interactive run or an incomplete folder
        run = load_run(folder, study=folder.parent.name)
        if isinstance(run, Run) and not isinstance(run.manifest.get("run"), dict):
            continue  # an interactive run
        (runs if isinstance(run, Run) else bad).append(run)
    return runs, bad


def find_runs(outputs_root: Path) -> list[Run]:
    """The readable runs of :func:`scan_runs`."""
    return scan_runs(outputs_root)[0]


def read_failure(folder: Path, study: str, profile: str) -> tuple[str, str, Path, str]:
    """(study, profile, folder, message) of a kept failed run (``FAILED.txt``, cut to one line of 500 characters)."""
    msg_file = safe_file(folder, "FAILED.txt")
    msg = "failed"
    if msg_file is not None:
        try:
            msg = " ".join(msg_file.read_text(encoding="utf-8", errors="replace").split())[:500] or "failed"
        except OSError:
            pass
    return study, profile, folder, msg


def find_failures(outputs_root: Path) -> list[tuple[str, str, Path, str]]:
    """(study, profile, folder, message) of every kept failed run (links skipped)."""
    if not outputs_root.is_dir():
        return []
    return [read_failure(folder, folder.parent.name, folder.name[: -len(".failed")])
            for folder in sorted(outputs_root.glob("*/*.failed"))
            if folder.is_dir() and not folder.is_symlink()]


__all__ = ["Exhibit", "Run", "Unreadable", "safe_file", "manifest_problem", "is_run_folder", "load_run",
           "scan_runs", "find_runs", "find_failures", "read_failure"]
