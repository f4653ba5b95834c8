"""Before a sweep runs: each specification once, and a large grid only when someone said yes.

**Duplicates.** Two grid points can differ as written and be the same
specification once validated (``horizon_days: [30, 30.0]`` is 30 twice). Each
point's parameters are validated on top of the base profile; a point whose
validated parameters equal an earlier point's is dropped, reported (the note
and ``sweep.json`` ``"duplicates"``: dropped -> kept) and so counted once in the
shares. A point that does not validate is kept: it fails with its one-line
error like any other.

**Size.** A sweep of more than :data:`MAX_POINTS_UNASKED` points estimates its
time (:func:`estimate`) and asks on a terminal; elsewhere it needs ``--yes``.
"""
from __future__ import annotations

import json
import statistics
from dataclasses import replace
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from studykit.files import paths
from studykit.files.fileio import dumps_json
from studykit.sweep.grid import Grid, Point

#: a sweep of more points than this asks before it starts (or needs --yes)
MAX_POINTS_UNASKED = 200


def dedupe(study: str, grid: Grid) -> tuple[Grid, dict[str, str]]:
    """``grid`` without points that validate to the same parameters as an earlier one, and dropped -> kept."""
    from studykit.contract.profiles import params_class

    cls = params_class(study)
    pf = paths.profile_file(study, grid.profile)
    base = cls.read_profile(pf) if pf.is_file() else {}
    seen: dict[str, str] = {}
    kept: list[Point] = []
    dropped: dict[str, str] = {}
    for p in grid.points:
        try:
            key = dumps_json(cls.model_validate({**base, **grid.overrides(p)}).model_dump(mode="json"))
        except (ValidationError, ValueError, TypeError):
            kept.append(p)
            continue
        if key in seen:
            dropped[p.name] = seen[key]
            continue
        seen[key] = p.name
        kept.append(p)
    return (replace(grid, points=tuple(kept)) if dropped else grid), dropped


def _run_seconds(folder: Path) -> float | None:
    try:
        man = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        seconds = float(man["run"]["seconds"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return seconds if seconds >= 0 else None


def _duration(s: float) -> str:
    s = int(round(s))
    if s >= 3600:
        return f"{s / 3600:.1f} h"
    return f"{s // 60} min {s % 60:02d} s" if s >= 60 else f"{s} s"


def estimate(study: str, grid: Grid, out: Path, points: list[Point], workers: int) -> str:
    """How long running ``points`` may take, in words, from earlier runs of this study.

    Points whose folder already holds a run are probably served from the cache
    and counted as free; each other point is timed like the median of the
    sweep's earlier points, else like the base profile's last run.
    """
    todo = [p for p in points if not (out / p.name / "manifest.json").is_file()]
    times = [t for p in grid.points if (t := _run_seconds(out / p.name)) is not None]
    if times:
        per, basis = statistics.median(times), f"the median of {len(times)} earlier points"
    else:
        t = _run_seconds(paths.outputs_dir() / study / grid.profile)
        if t is None:
            return (f"{len(todo):,} to execute; time unknown (no earlier run of {study}/{grid.profile} to time: "
                    f"run it once first)")
        per, basis = t, f"the {t:.1f} s the '{grid.profile}' profile's last run took"
    n = max(1, workers)
    return (f"{len(todo):,} to execute, about {_duration(per * len(todo) / n)} with {n} process"
            f"{'es' if n != 1 else ''} ({basis})")


def check_size(study: str, grid: Grid, out: Path, points: list[Point], workers: int, *, yes: bool,
               confirm: Any = None) -> None:
    """Refuse (ParamError) a sweep of more than :data:`MAX_POINTS_UNASKED` points unless ``yes`` or ``confirm``
    (a function asking the question on a terminal) says yes."""
    from studykit.contract.errors import ParamError

    if len(points) <= MAX_POINTS_UNASKED or yes:
        return
    what = f"{study}/sweeps/{grid.name}: {len(points):,} points (more than {MAX_POINTS_UNASKED}; " \
           f"{estimate(study, grid, out, points, workers)})"
    if confirm is None:
        raise ParamError(f"{what}: run again with --yes to start it, or cut the grid; nothing was run")
    if not confirm(f"{what}. Start it?"):
        raise ParamError(f"{what}: not started; nothing was run")


__all__ = ["MAX_POINTS_UNASKED", "dedupe", "estimate", "check_size"]
