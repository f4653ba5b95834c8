"""The study registry: every study declares itself once, and every list of studies is read from here.

A study is a package that exports ``STUDY``, a :class:`Study` descriptor (its name, title, ``Params`` class,
simulator, own-data templates and command-line additions). Two places hold studies, read once per value of
the environment variable (papermill's pattern: registries filled once, looked up by name):

- the subpackages of :mod:`studykit.studies` (the project's studies; their notebook, profiles, embedded data,
  reference values and docs live in the project's ``notebooks/``, ``params/<name>/``, ``data/<name>/``,
  ``reference/<name>/`` and ``docs/studies/<name>.md``);
- study folders outside the project: every subfolder with an ``__init__.py`` of each folder listed in
  ``STUDYKIT_STUDY_PATH`` (``os.pathsep``-separated). Such a folder is the whole study: the package, its
  notebook ``<name>.ipynb``, ``params/``, ``data/``, ``reference/`` and ``README.md`` (its doc). Its parent
  folder is put on the kernel's ``PYTHONPATH`` so the notebook can ``import <name>``.

Listing names imports nothing; :func:`get` imports the one study asked for. The framework, the Makefile
(``studykit list --names``), the workshop kit and the tests derive their lists from :func:`names`, so a new
study is a folder plus its notebook, parameters, docs and tests, with no edit to shared code
(CONTRIBUTING.md, "Adding a study").
"""
from __future__ import annotations

import importlib
import importlib.util
import os
import pkgutil
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

from studykit.contract.errors import ParamError

__all__ = ["ENV", "Study", "Command", "Ref", "resolve", "names", "get", "module", "folder_of", "python_path"]

#: the environment variable listing folders of studies outside the project
ENV = "STUDYKIT_STUDY_PATH"


#: a function, or where to find it as ``"package.module:function"`` (imported on first use, so that declaring a
#: study imports neither pandas nor the study's analysis modules)
Ref = Callable[..., Any] | str


def resolve(ref: Ref | None) -> Callable[..., Any] | None:
    """The function ``ref`` names (itself when it is one already)."""
    if ref is None or callable(ref):
        return ref
    module, _, attr = str(ref).partition(":")
    return getattr(importlib.import_module(module), attr)


@dataclass(frozen=True)
class Command:
    """A ``studykit`` subcommand a study adds (e.g. code_survival's ``mine``).

    ``add(subparsers)`` declares its parser; ``run(args) -> int`` runs it (each a :data:`Ref`).
    """

    name: str
    add: Ref
    run: Ref


@dataclass(frozen=True)
class Study:
    """What a study declares about itself, once, in its package: ``STUDY = Study(...)``.

    Parameters
    ----------
    name : the study's name (its package and notebook name, ``[a-z0-9_]``).
    title : one line for listings and the report.
    params : its :class:`studykit.contract.params.StudyParams` subclass.
    write_embedded : ``write_embedded(out_dir) -> list[Path]``, the seeded simulator of the embedded data
        (``studykit simulate``), or None.
    templates : ``templates(data_dir) -> {file name: DataFrame}`` (a :data:`Ref`), the own-data templates of the
        workshop kit cut from the embedded data (deterministically), or None; ``template_rule`` says how.
    commands : subcommands the study adds to ``studykit``.

    Where its files are (notebook, profiles, embedded data, reference values, doc, multiverse grid) is one
    layout in :mod:`studykit.files.paths` (``notebook_path``, ``params_dir``, ``data_dir``, ``reference_dir``,
    ``multiverse_grid``), which also knows the folder of a study outside the project (:func:`folder_of`).
    """

    name: str
    title: str
    params: type
    write_embedded: Callable[[Path], list[Path]] | None = None
    templates: Ref | None = None
    template_rule: str = ""
    commands: tuple[Command, ...] = ()


def _study_path() -> tuple[tuple[Path, int], ...]:
    """The folders of ``STUDYKIT_STUDY_PATH`` with their modification times (a study added to one is seen)."""
    out = []
    for p in os.environ.get(ENV, "").split(os.pathsep):
        if p.strip():
            folder = Path(p).resolve()
            out.append((folder, folder.stat().st_mtime_ns if folder.is_dir() else -1))
    return tuple(out)


@lru_cache(maxsize=8)
def _discover(study_path: tuple[tuple[Path, int], ...]) -> tuple[dict[str, None], dict[str, Path]]:
    import studykit.studies as pkg

    builtin = {m.name: None for m in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name)
               if m.ispkg and not m.name.startswith("_")}
    outside: dict[str, Path] = {}
    for root, _ in study_path:
        if not root.is_dir():
            raise ParamError(f"{ENV}: {root} is not a folder")
        for sub in sorted(root.iterdir()):
            if (sub / "__init__.py").is_file() and sub.name.isidentifier() and not sub.name.startswith("_"):
                if sub.name in builtin or sub.name in outside:
                    raise ParamError(f"{ENV}: study '{sub.name}' in {root} is already defined "
                                     f"({outside.get(sub.name) or 'studykit.studies'})")
                outside[sub.name] = sub
    return builtin, outside


def names() -> tuple[str, ...]:
    """Every registered study, sorted by name (imports none of them)."""
    builtin, outside = _discover(_study_path())
    return tuple(sorted([*builtin, *outside]))


def folder_of(name: str) -> Path | None:
    """The folder of a study outside the project, None for the project's (or an unknown) study."""
    return _discover(_study_path())[1].get(name)


def python_path() -> list[str]:
    """The folders a kernel needs on ``sys.path`` to import the studies outside the project."""
    return sorted({str(p.parent) for p in _discover(_study_path())[1].values()})


def module(name: str) -> ModuleType:
    """Import the package of study ``name``; a one-line error for an unknown name."""
    builtin, outside = _discover(_study_path())
    if name in builtin:
        return importlib.import_module(f"studykit.studies.{name}")
    if name in outside:
        if name not in sys.modules:
            spec = importlib.util.spec_from_file_location(name, outside[name] / "__init__.py",
                                                          submodule_search_locations=[str(outside[name])])
            mod = importlib.util.module_from_spec(spec)
            sys.modules[name] = mod
            try:
                spec.loader.exec_module(mod)
            except BaseException:
                sys.modules.pop(name, None)
                raise
        return sys.modules[name]
    raise ParamError(f"unknown study '{name}' (known: {', '.join(names())})")


def get(name: str) -> Study:
    """The descriptor of study ``name`` (imports its package; one-line errors for an unknown or undeclared study)."""
    mod = module(name)
    study = getattr(mod, "STUDY", None)
    if not isinstance(study, Study):
        raise ParamError(f"study '{name}' does not declare itself: its package has no STUDY = Study(...)")
    if study.name != name:
        raise ParamError(f"study folder '{name}' declares the name '{study.name}' (they must be the same)")
    return study
