"""The cache key of a run and whether an output folder already holds that run.

The key is the SHA-256 of canonical JSON over everything a run depends on
(:func:`cache_components`): the notebook's bytes, every file under ``lib/``
(relative path and content, sorted; bytecode caches left out), the validated
parameters, the content fingerprint of every input (file hash, folder tree
hash, or a git repository's HEAD commit: see :mod:`studykit.files.gitsafe`), the locks in ``requirements/``, the
Python version and the kernel name. A folder is served from the cache only if
its manifest has the same key and every output it lists is unchanged on disk
(:func:`cached_run_valid`).
"""
from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from studykit.files import paths
from studykit.runs.kernelinfo import KERNEL_NAME
from studykit.contract.errors import ParamError
from studykit.files.fileio import sha256_files, dumps_json, sha256_file
from studykit.runs.provenance import fingerprint

_LIB_EXCLUDE_DIRS = {"__pycache__", ".ipynb_checkpoints", ".pytest_cache"}
_LIB_EXCLUDE_SUFFIXES = (".pyc", ".pyo", ".egg-info")


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
    root = root or paths.lib_dir()
    h = hashlib.sha256()
    for p in _lib_files(root):
        h.update(p.relative_to(root).as_posix().encode() + b"\0" + sha256_file(p).encode() + b"\n")
    return h.hexdigest()


def cache_components(study: str, params: Any) -> dict[str, Any]:
    """Everything a run depends on, each as a hash or a canonical value."""
    from studykit.contract.registry import folder_of

    nb = paths.notebook_path(study)
    if not nb.is_file():
        raise ParamError(f"study {study} has no notebook: {nb} not found")
    inputs = [{"key": key, "kind": kind, "sha256": fingerprint(kind, path)}
              for key, kind, path in params.input_paths()]
    return {
        "study": study,
        "notebook": sha256_file(nb),
        "lib": lib_fingerprint(),
        **({"study_code": lib_fingerprint(folder)} if (folder := folder_of(study)) is not None else {}),
        "parameters": json.loads(dumps_json(params.to_notebook())),
        "inputs": inputs,
        "lock": sha256_files(paths.lock_files()),
        "python": sys.version.split()[0],
        "kernel": KERNEL_NAME,
    }


def cache_key(study: str, params: Any) -> str:
    """SHA-256 of :func:`cache_components` as canonical JSON."""
    return hashlib.sha256(dumps_json(cache_components(study, params)).encode()).hexdigest()


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """``folder/manifest.json`` as a dict (None when absent or not JSON)."""
    try:
        man = json.loads((Path(folder) / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return man if isinstance(man, dict) else None


def cached_run_valid(folder: Path, key: str) -> bool:
    """True when ``folder`` is a complete run with cache key ``key`` and untouched outputs."""
    man = read_manifest(folder)
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


__all__ = ["cache_key", "cache_components", "cached_run_valid", "lib_fingerprint", "read_manifest"]
