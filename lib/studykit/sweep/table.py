"""The sweep table: one row per point with its choices, headline result, conclusion and status.

The table is built from the point folders alone (``results.json`` and the
manifest's validated parameters), in the grid file's order, so it is
byte-identical whether the points ran one at a time, in parallel processes, on
a Dask cluster, or partly in an earlier, interrupted sweep. How each point ran
(executed or served from the cache, and how long it took) is not part of it.

Conclusion of a point (Simonsohn, Simmons & Nelson 2020, "Specification curve
analysis", *Nature Human Behaviour* 4, 1208-1214): ``above`` or ``below`` when
the headline estimate lies on that side of the null value and is significant,
``not significant`` otherwise. Significance is the headline's ``significant``
result when given, else :math:`p < \\alpha` (``alpha`` a number or the point's
value of the named parameter), else a confidence interval that excludes the
null; with neither, ``above``/``below`` is the side of the null alone
(the significance column left empty).
"""
from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any, Mapping, Sequence

from studykit.files.floats import round_sig
from studykit.runs.resultsfile import results_or_problem
from studykit.sweep.grid import Grid, Headline, value_text

CONCLUSIONS = ("above", "below", "not significant")
STATUS_COLUMNS = ("status", "error")


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _flag(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    x = number(value)
    return None if x is None else bool(x)


def significance(head: Headline, results: Mapping[str, Any], parameters: Mapping[str, Any]) -> bool | None:
    """Whether the headline is significant at this point (``None``: nothing to decide it by)."""
    if head.significant:
        return _flag(results.get(head.significant))
    if head.p:
        p = number(results.get(head.p))
        alpha = number(parameters.get(head.alpha)) if isinstance(head.alpha, str) else head.alpha
        return None if p is None or alpha is None else p < alpha
    if head.ci_low and head.ci_high:
        lo, hi = number(results.get(head.ci_low)), number(results.get(head.ci_high))
        return None if lo is None or hi is None else not (lo <= head.no_effect <= hi)
    return None


def conclusion(head: Headline, estimate: float | None, significant: bool | None) -> str:
    """``above``, ``below`` or ``not significant`` (empty when there is no estimate)."""
    if estimate is None:
        return ""
    if significant is False or estimate == head.no_effect:
        return "not significant"
    return "above" if estimate > head.no_effect else "below"


def columns(grid: Grid) -> list[str]:
    """Column names: point, the choices, the headline keys, significant, conclusion, more keys, status, error."""
    return ["point", *grid.choices, *grid.headline.result_keys(), "significant", "conclusion", *grid.keys,
            *STATUS_COLUMNS]


def build_rows(grid: Grid, sweep_dir: Path, failures: Mapping[str, str]) -> list[dict[str, Any]]:
    """One row per point in grid order; ``failures`` maps a failed point to its one-line error."""
    head = grid.headline
    rows = []
    for point in grid.points:
        row: dict[str, Any] = {"point": point.name}
        # a choice's value as text ("null" for an explicit null); None when the point keeps the profile's value
        for c in grid.choices:
            row[c] = value_text(point.params[c]) if c in point.params else None
        folder = sweep_dir / point.name
        results = None if point.name in failures else results_or_problem(folder)[0]
        manifest = (_read_json(folder / "manifest.json") or {}) if results is not None else {}
        results = results or {}
        for k in [*head.result_keys(), *grid.keys]:
            row[k] = results.get(k)
        sig = significance(head, results, manifest.get("parameters") or {}) if results else None
        row["significant"] = sig
        row["conclusion"] = conclusion(head, number(results.get(head.estimate)), sig) if results else ""
        if point.name in failures:
            row["status"], row["error"] = "failed", failures[point.name]
        elif not results:
            row["status"], row["error"] = "failed", f"no results.json in {point.name}/"
        else:
            row["status"], row["error"] = "ok", ""
        rows.append(row)
    return rows


def cell_text(value: Any) -> str:
    """Canonical text of a table cell: floats by repr of their 10-significant-digit value
    (:mod:`studykit.files.floats`), true/false, empty for missing."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(round_sig(value)) if math.isfinite(value) else ""
    if isinstance(value, (list, tuple, dict)):
        return value_text(value)
    return str(value)


def table_csv(grid: Grid, rows: Sequence[Mapping[str, Any]]) -> str:
    """The table as CSV text (``\\n`` line ends, every cell via :func:`cell_text`)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    cols = columns(grid)
    w.writerow(cols)
    for row in rows:
        w.writerow([cell_text(row.get(c)) for c in cols])
    return buf.getvalue()


def shares(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Share of the successful points reaching each conclusion (and the counts)."""
    ok = [r for r in rows if r.get("status") == "ok" and r.get("conclusion")]
    counts = {c: sum(1 for r in ok if r["conclusion"] == c) for c in CONCLUSIONS}
    n = len(ok)
    return {
        "n_points": len(rows),
        "n_ok": n,
        "n_failed": sum(1 for r in rows if r.get("status") == "failed"),
        "counts": counts,
        "shares": {c: (counts[c] / n if n else None) for c in CONCLUSIONS},
    }


__all__ = ["build_rows", "table_csv", "shares", "columns", "cell_text", "significance", "conclusion",
           "CONCLUSIONS", "number"]
