"""Provenance for the manifest: git state, environment, input hashes.

Git runs only through :mod:`studykit.files.gitsafe`: a repository input's cache key is its ``HEAD`` commit (plus
shallow list and ``info/attributes``), never ``git status``, whose index refresh would run the repository's
``core.fsmonitor`` and clean filters.
"""
from __future__ import annotations

import platform
import subprocess
import sys
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

from studykit.files.fileio import sha256_file, sha256_files, sha256_tree
from studykit.files.paths import lock_files, project_root

KEY_PACKAGES = (
    "numpy", "pandas", "scipy", "statsmodels", "lifelines", "scikit-learn", "matplotlib", "seaborn",
    "pyarrow", "pydantic", "papermill", "nbconvert", "ipykernel", "polars", "duckdb", "simplemma",
    "wordfreq", "dask", "distributed", "vaderSentiment", "textblob", "afinn",
)


def _git(args: list[str], cwd: Path) -> str | None:
    from studykit.files.gitsafe import git_argv, hardened_env

    try:
        res = subprocess.run(git_argv(*args, config=(f"safe.directory={Path(cwd).resolve()}",), cwd_repo=cwd),
                             capture_output=True, text=True, timeout=30, env=hardened_env())
    except (OSError, subprocess.TimeoutExpired):
        return None
    return res.stdout.strip() if res.returncode == 0 else None


def git_info(root: Path | None = None) -> dict[str, Any]:
    """Commit of the project checkout and whether its tree is dirty (outputs excluded).

    This is studykit's own checkout (not a data repository); ``git status`` runs there with the hardened
    command line of :mod:`studykit.files.gitsafe` (no fsmonitor, hook, pager or filter command).
    """
    root = root or project_root()
    commit = _git(["rev-parse", "HEAD"], root)
    status = _git(["status", "--porcelain", "--untracked-files=no"], root)
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


@lru_cache(maxsize=1)
def environment_info() -> dict[str, Any]:
    """Python, platform and the versions of the packages that shape results."""
    versions = {}
    for name in KEY_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "packages": versions,
        "lock_sha256": sha256_files(lock_files()),
        "numerics": numerics_info(),
    }


def numerics_info() -> dict[str, Any]:
    """What may change a result's last bits: numpy's SIMD code paths and the BLAS/OpenMP threads.

    ``simd_baseline`` is what this numpy build always uses; ``simd_dispatched`` the optional
    code paths in use on this CPU (``NPY_DISABLE_CPU_FEATURES`` removes some, shown under
    ``simd_disabled``); ``thread_pools`` the native libraries' pools as threadpoolctl sees them.
    Results follow :mod:`studykit.files.floats`, so these differ between machines while the
    byte-identical outputs do not.
    """
    import os

    info: dict[str, Any] = {}
    try:
        from numpy._core import _multiarray_umath as mu
    except ImportError:  # numpy < 2
        try:
            from numpy.core import _multiarray_umath as mu  # type: ignore[no-redef]
        except ImportError:
            mu = None
    if mu is not None:
        feats = getattr(mu, "__cpu_features__", {})
        info["simd_baseline"] = list(getattr(mu, "__cpu_baseline__", []))
        info["simd_dispatched"] = [f for f in getattr(mu, "__cpu_dispatch__", []) if feats.get(f)]
    info["simd_disabled"] = os.environ.get("NPY_DISABLE_CPU_FEATURES", "")
    try:
        from threadpoolctl import threadpool_info

        info["thread_pools"] = sorted(
            ({"api": d.get("internal_api"), "threads": d.get("num_threads"),
              "architecture": d.get("architecture")} for d in threadpool_info()),
            key=lambda d: (str(d["api"]), str(d["architecture"])))
    except Exception:  # threadpoolctl missing or a library it cannot query
        pass
    return info


def repo_fingerprint(path: Path) -> str:
    """A git repository's identity for caching (see :func:`studykit.files.gitsafe.repo_fingerprint`)."""
    from studykit.files.gitsafe import repo_fingerprint as fp

    return fp(path)


def fingerprint(kind: str, path: Path) -> str:
    if kind == "file":
        return sha256_file(path)
    if kind == "repo":
        return repo_fingerprint(path)
    return sha256_tree(path)


def describe_inputs(params: Any) -> list[dict[str, Any]]:
    """Key, path, kind, size and sha256 (or repo fingerprint) of every input."""
    out = []
    for key, kind, path in params.input_paths():
        entry: dict[str, Any] = {"key": key, "kind": kind, "path": str(path)}
        if path.exists():
            entry["sha256"] = fingerprint(kind, path)
            if kind == "file":
                entry["bytes"] = path.stat().st_size
        out.append(entry)
    return out
