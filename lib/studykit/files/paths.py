"""Where things live: project root, data, params, outputs and caches."""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=1)
def project_root() -> Path:
    """The folder holding ``pyproject.toml`` and ``lib/studykit``.

    ``STUDYKIT_ROOT`` overrides the search (used by tests that copy the project).
    """
    env = os.environ.get("STUDYKIT_ROOT")
    if env:
        return Path(env).resolve()
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "pyproject.toml").is_file() and (parent / "lib" / "studykit").is_dir():
            return parent
    return Path.cwd().resolve()


def resolve(path: str | os.PathLike) -> Path:
    """Resolve a user path: absolute as is, relative to the project root otherwise.

    Notebooks run with ``notebooks/`` as working directory and the CLI from
    anywhere, so a path parameter in a notebook or a committed profile is taken
    relative to the project root. (The command line makes ``--set`` paths and
    ``--params`` file paths absolute before they get here:
    :meth:`studykit.contract.params.StudyParams.with_paths_from`.)
    """
    p = Path(os.path.expanduser(str(path)))
    return p if p.is_absolute() else (project_root() / p)


def notebooks_dir() -> Path:
    return project_root() / "notebooks"


def _outside(study: str | None) -> Path | None:
    """The folder of a study outside the project (:mod:`studykit.contract.registry`), else None."""
    if not study:
        return None
    from studykit.contract.registry import folder_of

    return folder_of(study)


def data_dir(study: str | None = None) -> Path:
    """``data/`` or a study's embedded data, ``data/<study>/`` (outside the project: ``<folder>/data/``)."""
    if (f := _outside(study)) is not None:
        return f / "data"
    d = project_root() / "data"
    return d / study if study else d


def params_dir(study: str | None = None) -> Path:
    """``params/`` or a study's profiles, ``params/<study>/`` (outside the project: ``<folder>/params/``)."""
    if (f := _outside(study)) is not None:
        return f / "params"
    d = project_root() / "params"
    return d / study if study else d


def reference_dir(study: str) -> Path:
    """A study's reference values for ``studykit check``: ``reference/<study>/`` (``<folder>/reference/``)."""
    if (f := _outside(study)) is not None:
        return f / "reference"
    return project_root() / "reference" / study


def multiverse_grid(study: str) -> Path:
    """A study's multiverse grid (``studykit sweep``): ``<params_dir>/multiverse.yaml``."""
    return params_dir(study) / "multiverse.yaml"


def workspace_root(start: str | os.PathLike | None = None) -> Path | None:
    """The participant workspace (``studykit workshop init DIR``) holding ``start`` (default: the
    current folder), recognised by its folder marker of kind ``workspace``, or None."""
    from studykit.files.folders import marker_kind

    here = Path(start or os.getcwd()).resolve()
    for folder in (here, *here.parents):
        if marker_kind(folder) == "workspace":
            return folder
    return None


def outputs_dir() -> Path:
    """Root of the output folders: ``STUDYKIT_OUTPUTS``, else ``outputs/`` of the participant workspace
    the current folder is in, else ``outputs/`` of the project."""
    env = os.environ.get("STUDYKIT_OUTPUTS")
    if env:
        return Path(env)
    ws = workspace_root()
    return (ws or project_root()) / "outputs"


def cache_dir() -> Path:
    """Git-ignored cache for generated inputs (paper-scale simulations, downloads)."""
    return Path(os.environ.get("STUDYKIT_CACHE", project_root() / ".cache"))


def notebook_path(study: str) -> Path:
    """The committed notebook of a study: ``notebooks/<study>.ipynb`` (outside the project: ``<folder>/<study>.ipynb``)."""
    if (f := _outside(study)) is not None:
        return f / f"{study}.ipynb"
    return notebooks_dir() / f"{study}.ipynb"


def profile_file(study: str, profile: str) -> Path:
    """A parameter profile: ``params/<study>/<profile>.yaml``."""
    return params_dir(study) / f"{profile}.yaml"


def lib_dir() -> Path:
    """The library folder every run's cache key hashes."""
    return project_root() / "lib"


def lock_files() -> list[Path]:
    """The pinned environment: ``requirements/core.lock`` and every extra's lock, part of every run's cache key."""
    return sorted((project_root() / "requirements").glob("*.lock"))
