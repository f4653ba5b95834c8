"""``studykit sweep``: run a study across a grid of analyst choices and compare the conclusions.

::

    studykit sweep STUDY --grid FILE [--profile P] [--jobs N | --dask ADDRESS] [--out DIR] [--force] [--yes]

Each point of the grid (see :mod:`studykit.sweep.grid` for the file) is an
ordinary cached run of the study in ``outputs/<study>/sweeps/<name>/<point>/``,
so an interrupted sweep resumes and a repeated one is served from the cache.
The sweep then writes, beside the point folders:

``sweep.csv``
    one row per point (its choices, the headline result keys, the conclusion,
    further result keys, ``ok``/``failed`` and the one-line error);
    byte-identical however the points were run (:mod:`studykit.sweep.table`).
``speccurve.png``
    the specification curve (:mod:`studykit.sweep.speccurve`).
``sweep.json``
    the grid as run and the share of specifications reaching each conclusion.
``index.html``
    the sweep's page (:mod:`studykit.sweep.page`; listed by :func:`sweep_pages`).
``runs.json``
    how each point ran this time (executed, cached or failed, seconds); the
    only file that changes between identical sweeps.

The sweep folder follows studykit's one folder rule (:mod:`studykit.files.folders`):
it must be new, empty, or a sweep folder whose marker lists the sweep's files,
holding nothing else but its point run folders (each under the same rule).
A user's folder (one holding ``sweep.json``, ``index.html``, a sub-folder named
like a point, only dot-files), a link, or a file is refused before anything
runs. Points that validate to the same specification run once
(:func:`studykit.sweep.plan.dedupe`); a grid of more than
:data:`~studykit.sweep.plan.MAX_POINTS_UNASKED` points asks first
(:func:`studykit.sweep.plan.check_size`).
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Sequence

from studykit.files import paths
from studykit.contract.errors import ParamError
from studykit.files.fileio import dumps_json, write_text_atomic
from studykit.files.floats import dumps_stable_json
from studykit.files.folders import check_folder, seal, writing
from studykit.sweep.execute import PointRun, Progress, describe_runs, run_points
from studykit.sweep.grid import SWEEP_FILES, Grid, Headline, Point, load_grid, parse_grid, point_name
from studykit.sweep.page import render_page, sweep_pages
from studykit.sweep.plan import check_size, dedupe
from studykit.sweep.table import build_rows, number, shares, table_csv


@dataclass(frozen=True)
class SweepResult:
    """What a sweep did: its folder, the table rows, conclusion shares and how each point ran."""

    study: str
    name: str
    out_dir: Path
    rows: list[dict[str, Any]]
    summary: dict[str, Any]
    runs: dict[str, PointRun]
    seconds: float
    grid: Grid = field(repr=False, default=None)  # type: ignore[assignment]
    #: points dropped as the same specification as another after validation: dropped -> kept
    duplicates: dict[str, str] = field(default_factory=dict)

    @property
    def table(self) -> Path:
        return self.out_dir / "sweep.csv"

    @property
    def n_failed(self) -> int:
        return int(self.summary["n_failed"])

    def describe(self) -> str:
        return (f"{self.study}/sweeps/{self.name}: {len(self.rows)} points ({describe_runs(self.runs)}) in "
                f"{self.seconds:.1f} s -> {self.out_dir / 'index.html'}")


def default_out_dir(study: str, name: str) -> Path:
    return paths.outputs_dir() / study / "sweeps" / name


def study_param_names(study: str) -> set[str]:
    from studykit.contract.profiles import params_class

    return set(params_class(study).model_fields)


def run_sweep(
    study: str,
    grid_file: str | os.PathLike,
    *,
    profile: str | None = None,
    jobs: int = 1,
    dask: Any = None,
    out_dir: str | os.PathLike | None = None,
    force: bool = False,
    progress: bool = True,
    points: Sequence[str] | None = None,
    yes: bool = False,
    confirm: Callable[[str], bool] | None = None,
    on_note: Callable[[str], None] | None = None,
) -> SweepResult:
    """Run every point of ``grid_file`` for ``study`` and write the table, figure and page.

    ``profile`` replaces the grid file's base profile; ``jobs`` runs that many
    points at a time in local processes; ``dask`` (a scheduler address such as
    ``tcp://host:8786``, or a ``distributed.Client``) sends the points to a
    Dask cluster instead. ``points`` restricts the run to the named points (the
    table still lists every point; those not run yet are read from their
    folders when complete, else marked ``not run``). A failing point is a row
    with its one-line error, never an exception; bad grid files and unknown
    parameters are a :class:`ParamError` before anything runs. More than
    :data:`~studykit.sweep.plan.MAX_POINTS_UNASKED` points need ``yes`` or a
    ``confirm(question)`` that returns True; ``on_note`` receives one line per
    point dropped as a duplicate.
    """
    t0 = time.perf_counter()
    if jobs < 1:
        raise ParamError(f"--jobs must be at least 1, got {jobs}")
    grid = load_grid(paths.resolve(grid_file))
    if grid.study and grid.study != study:
        raise ParamError(f"{grid.source} is the grid of study '{grid.study}', not '{study}'")
    grid = load_grid(paths.resolve(grid_file), param_names=study_param_names(study))
    grid = replace(grid, source=_rel(grid.source), profile=profile or grid.profile)
    out = Path(paths.resolve(out_dir)) if out_dir is not None else default_out_dir(study, grid.name)
    claim = check_folder(out, "sweep")
    grid, duplicates = dedupe(study, grid)
    for dropped, kept in duplicates.items():
        if on_note is not None:
            on_note(f"note: point {dropped} is the same specification as {kept} after validation; run and "
                    "counted once")
    chosen = list(grid.points)
    if points is not None:
        chosen = list({n: grid.point(n) for n in (duplicates.get(x, x) for x in points)}.values())
    workers = 1 if dask is None and jobs <= 1 else jobs
    check_size(study, grid, out, chosen, workers, yes=yes, confirm=confirm)
    info = {"study": study, "name": grid.name}
    with writing(out, "sweep"):
        out.mkdir(parents=True, exist_ok=True)
        seal(out, "sweep", info, files=set(claim.files) | set(SWEEP_FILES))
        tasks = [{"study": study, "profile": grid.profile, "overrides": grid.overrides(p),
                  "out_dir": str(out / p.name), "force": force, "point": p.name} for p in chosen]
        prog = Progress(f"{study}/{grid.name}", len(tasks), workers, enabled=progress)
        runs = run_points(tasks, jobs=jobs, dask=dask, on_done=prog.update,
                          on_workers=lambda n: setattr(prog, "workers", max(1, n)))
        failures = {n: r.error for n, r in runs.items() if r.status == "failed"}
        if points is not None:
            for p in grid.points:
                if p.name not in runs and not (out / p.name / "manifest.json").is_file():
                    failures[p.name] = "not run"
        rows = build_rows(grid, out, failures)
        summary = shares(rows)
        write_outputs(study, grid, out, rows, summary, duplicates)
        seconds = time.perf_counter() - t0
        write_text_atomic(out / "runs.json", dumps_json({
            "seconds": round(seconds, 3),
            "where": f"dask {dask}" if isinstance(dask, str) else ("dask" if dask is not None else f"jobs {jobs}"),
            "points": {n: {"status": r.status, "seconds": round(r.seconds, 3), "error": r.error}
                       for n, r in sorted(runs.items())},
        }))
        seal(out, "sweep", info, files={f for f in SWEEP_FILES if (out / f).is_file()})
    return SweepResult(study, grid.name, out, rows, summary, runs, seconds, grid, duplicates)


def curve_rows(grid: Grid, rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The table rows in the form :func:`studykit.sweep.speccurve.specification_curve` draws."""
    head = grid.headline
    out = []
    for r in rows:
        if r.get("status") != "ok":
            continue
        item = {"point": r["point"], "estimate": number(r.get(head.estimate)), "conclusion": r.get("conclusion")}
        if head.ci_low and head.ci_high:
            item["ci_low"], item["ci_high"] = number(r.get(head.ci_low)), number(r.get(head.ci_high))
        for c in grid.choices:
            item[c] = r[c] if r.get(c) is not None else "(profile)"
        out.append(item)
    return out


def write_outputs(study: str, grid: Grid, out: Path, rows: Sequence[dict[str, Any]], summary: dict[str, Any],
                  duplicates: dict[str, str] | None = None) -> None:
    """Write sweep.csv, sweep.json, speccurve.png and index.html into the sweep folder."""
    from studykit.sweep.speccurve import save_png, specification_curve

    head = grid.headline
    write_text_atomic(out / "sweep.csv", table_csv(grid, rows))
    spec = {
        "study": study, "name": grid.name, "grid_file": grid.source, "profile": grid.profile,
        "fixed": grid.fixed, "choices": list(grid.choices),
        "points": {p.name: p.params for p in grid.points},
        "headline": {k: v for k, v in head.__dict__.items() if v not in (None, "")},
        "keys": list(grid.keys), **summary,
        **({"duplicates": dict(sorted(duplicates.items()))} if duplicates else {}),
    }
    write_text_atomic(out / "sweep.json", dumps_stable_json(spec))
    figure = None
    crow = curve_rows(grid, rows)
    if any(r["estimate"] is not None for r in crow):
        fig = specification_curve(crow, grid.choices, null=head.no_effect, label=head.label or head.estimate,
                                  conclusion_names={"above": head.above, "below": head.below},
                                  title=f"{study}: {head.label or head.estimate}")
        tmp = out / ".speccurve.png.tmp"
        save_png(fig, tmp)
        os.replace(tmp, out / "speccurve.png")
        figure = "speccurve.png"
    elif (out / "speccurve.png").exists():
        (out / "speccurve.png").unlink()
    write_text_atomic(out / "index.html", render_page(study, grid, rows, summary, figure))


def _rel(p: str) -> str:
    try:
        return Path(p).resolve().relative_to(paths.project_root()).as_posix()
    except ValueError:
        return str(p)


__all__ = ["run_sweep", "SweepResult", "sweep_pages", "load_grid", "parse_grid", "point_name", "Grid", "Headline",
           "Point", "PointRun", "default_out_dir", "SWEEP_FILES"]
