"""``studykit check``: do a run's numbers match the reference values shipped with the project?

A replication workshop needs every participant to see the same numbers. The
reference of study ``S`` and profile ``P`` is ``reference/S/P.json``, written by
``studykit check S --profile P --update`` (maintainers, after a change that
moves results on purpose). It holds

- ``results``: the run's ``results.json``;
- ``tables``: for each CSV table, its columns and number of rows (the shape);
- ``tolerance``: the rule below.

Tolerances: integers, booleans, strings and nulls must be equal; floats match
when :math:`|a - b| \\le \\max(\\text{abs}, \\text{rel} \\cdot \\max(|a|, |b|))`
with ``rel = 1e-6`` and ``abs = 1e-9`` unless the reference file overrides
them (per key, under ``tolerance.keys``). The same installation gives
byte-identical results; the tolerance absorbs last-digit differences of
another platform's maths libraries, never a changed conclusion.

References exist for the ``default`` and ``workshop`` profiles and for every
real-data profile (``sentiment_real``, ``medperturb``, ``bbq_gender``,
``agent_repos``, ``ja_tech_blogs``, ...), all under the same tolerance: their
runs are deterministic, so a rerun on another machine differs only in the last
digits. ``studykit check all`` with no ``--profile`` checks every profile that
has a reference and a run folder, and says for each other one why it was
skipped (:func:`plan_all`): not run yet, or its data are not on this machine.

Statuses per key: ``match``, ``differ`` (the values disagree), ``missing``
(in the reference, not in the run), ``extra`` (in the run only; reported but
not a failure). A table whose columns or row count differ is ``differ``.
"""
from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from studykit.files import paths
from studykit.contract.errors import ParamError
from studykit.files.floats import write_stable_json

__all__ = ["DEFAULT_TOLERANCE", "reference_path", "snapshot", "compare", "CheckReport", "format_report",
           "reference_profiles", "why_not_checked"]

DEFAULT_TOLERANCE = {"rel": 1e-6, "abs": 1e-9}


def reference_path(study: str, profile: str) -> Path:
    return paths.reference_dir(study) / f"{profile}.json"


def reference_profiles(study: str) -> list[str]:
    """The profiles of ``study`` that have shipped reference values (``default`` first, then by name)."""
    d = paths.reference_dir(study)
    names = sorted(p.stem for p in d.glob("*.json")) if d.is_dir() else []
    return sorted(names, key=lambda n: (n != "default", n))


def why_not_checked(study: str, profile: str, run_dir: Path) -> str | None:
    """None when ``run_dir`` holds a run to check; else one line saying why it cannot be checked.

    A missing run of a profile whose input files are absent (a real-data profile
    away from ``../shared``) is named as such, with the parameter and path; any
    other missing run is "not run yet", with the command that runs it.
    """
    if (run_dir / "results.json").is_file():
        return None
    from studykit.contract.profiles import params_class

    missing = None
    profile_file = paths.profile_file(study, profile)
    if profile_file.is_file():
        cls = params_class(study)
        try:  # validate_mapping: a profile that does not validate here is a one-line ParamError too
            cls.validate_mapping(cls.read_profile(profile_file), str(profile_file)).check_inputs()
        except ParamError as exc:
            missing = str(exc)
    if missing:
        return f"skipped: its data are not on this machine ({missing})"
    return f"skipped: not run yet (studykit run {study} --profile {profile})"


def _table_shapes(run_dir: Path) -> dict[str, dict[str, Any]]:
    shapes = {}
    for f in sorted((run_dir / "tables").glob("*.csv")):
        with f.open(newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            header = next(reader, [])
            n = sum(1 for _ in reader)
        shapes[f.stem] = {"columns": header, "n_rows": n}
    return shapes


def _results(run_dir: Path) -> dict[str, Any]:
    from studykit.runs.resultsfile import read_results

    return read_results(run_dir)


def snapshot(run_dir: Path, study: str, profile: str) -> dict[str, Any]:
    """The reference document of a run folder (see the module docstring)."""
    return {"study": study, "profile": profile, "tolerance": dict(DEFAULT_TOLERANCE),
            "results": _results(run_dir), "tables": _table_shapes(run_dir)}


def write_reference(run_dir: Path, study: str, profile: str) -> Path:
    """Write ``reference/<study>/<profile>.json`` from a run folder."""
    return write_stable_json(reference_path(study, profile), snapshot(run_dir, study, profile))


def _same(ref: Any, got: Any, rel: float, abs_: float) -> bool:
    if isinstance(ref, bool) or isinstance(got, bool) or ref is None or got is None:
        return ref == got
    if isinstance(ref, (int, float)) and isinstance(got, (int, float)):
        if isinstance(ref, int) and isinstance(got, int):
            return ref == got
        a, b = float(ref), float(got)
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return abs(a - b) <= max(abs_, rel * max(abs(a), abs(b)))
    return ref == got


@dataclass(frozen=True)
class CheckReport:
    """Rows (key, reference, run, status) and their counts; ``ok`` when nothing differs or is missing."""

    study: str
    profile: str
    rows: tuple[tuple[str, str, str, str], ...]

    def count(self, status: str) -> int:
        return sum(r[3] == status for r in self.rows)

    @property
    def ok(self) -> bool:
        return self.count("differ") == 0 and self.count("missing") == 0


def _show(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    s = json.dumps(v, ensure_ascii=False) if not isinstance(v, str) else v
    return s if len(s) <= 40 else s[:37] + "..."


def compare(reference: dict[str, Any], run_dir: Path) -> CheckReport:
    """Compare a run folder with a reference document (see the module docstring)."""
    tol = reference.get("tolerance", DEFAULT_TOLERANCE)
    per_key = tol.get("keys", {})
    got = _results(run_dir)
    rows = []
    for key, ref in sorted(reference.get("results", {}).items()):
        if key not in got:
            rows.append((key, _show(ref), "", "missing"))
            continue
        t = per_key.get(key, {})
        same = _same(ref, got[key], t.get("rel", tol.get("rel", 1e-6)), t.get("abs", tol.get("abs", 1e-9)))
        rows.append((key, _show(ref), _show(got[key]), "match" if same else "differ"))
    for key in sorted(set(got) - set(reference.get("results", {}))):
        rows.append((key, "", _show(got[key]), "extra"))
    shapes = _table_shapes(run_dir)
    for name, ref in sorted(reference.get("tables", {}).items()):
        have = shapes.get(name)
        label = f"tables/{name}.csv"
        if have is None:
            rows.append((label, f"{ref['n_rows']} rows", "", "missing"))
        elif have != ref:
            what = "columns" if have["columns"] != ref["columns"] else "rows"
            rows.append((label, f"{ref['n_rows']} rows", f"{have['n_rows']} rows ({what} differ)", "differ"))
        else:
            rows.append((label, f"{ref['n_rows']} rows", f"{have['n_rows']} rows", "match"))
    return CheckReport(reference.get("study", ""), reference.get("profile", ""), tuple(rows))


def check_run(study: str, profile: str, run_dir: Path) -> CheckReport:
    """Compare ``run_dir`` with the shipped reference of (study, profile)."""
    ref = reference_path(study, profile)
    if not ref.is_file():
        raise ParamError(f"no reference values for {study} profile '{profile}' ({ref}); "
                         f"maintainers write them with: studykit check {study} --profile {profile} --update")
    return compare(json.loads(ref.read_text(encoding="utf-8")), run_dir)


def format_report(report: CheckReport, *, show_matching: bool = False) -> str:
    """A table of the non-matching keys (all keys with ``show_matching``) and a summary line."""
    rows = [r for r in report.rows if show_matching or r[3] not in ("match",)]
    lines = []
    if rows:
        w = min(60, max(len(r[0]) for r in rows))
        lines.append(f"{'key':<{w}}  {'reference':<20} {'this run':<20} status")
        for key, ref, got, status in rows:
            lines.append(f"{key[:w]:<{w}}  {ref[:20]:<20} {got[:20]:<20} {status}")
    lines.append(f"{report.study}/{report.profile}: {report.count('match')} matching, {report.count('differ')} "
                 f"differing, {report.count('missing')} missing, {report.count('extra')} extra -> "
                 + ("OK" if report.ok else "MISMATCH"))
    return "\n".join(lines)
