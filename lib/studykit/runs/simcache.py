"""Generated inputs kept in a git-ignored cache, keyed by what generated them.

Large simulated inputs (``paper_scale`` profiles) are never committed; they
are made on first use into ``.cache/simulated/<study>/<key>/`` where ``key``
hashes the simulator's name, version and parameters, so changing any of them
makes a new folder and an unchanged one is reused. Two processes asking for the same
folder at once (``run all --jobs``, parallel tests) generate it once: the second waits
for the first's lock and then finds it complete.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Callable, Mapping

from studykit.files.folders import building_dir, folder_lock
from studykit.files.paths import cache_dir


def cache_key(name: str, version: str, params: Mapping[str, Any]) -> str:
    blob = json.dumps({"name": name, "version": version, "params": dict(params)}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def ensure_generated(
    study: str,
    name: str,
    version: str,
    params: Mapping[str, Any],
    writer: Callable[[Path], Any],
) -> Path:
    """Return the cached folder for (study, name, version, params), generating it once.

    ``writer(folder)`` writes the files into an empty temporary folder; the
    folder is renamed into place only when ``writer`` returns, so an
    interrupted generation never leaves a half-written cache entry.
    """
    root = cache_dir() / "simulated" / study
    target = root / f"{name}-{cache_key(name, version, params)}"
    if (target / ".complete").is_file():
        return target
    root.mkdir(parents=True, exist_ok=True)
    with folder_lock(target):
        if (target / ".complete").is_file():  # another process made it while this one waited
            return target
        with building_dir(target) as tmp:
            writer(tmp)
            (tmp / ".complete").write_text(json.dumps({"name": name, "version": version, "params": dict(params)},
                                                     sort_keys=True, default=str))
    return target
