"""The one line that ends every run: data issues found and model fallbacks taken.

Read from the run folder: the data issues are the rows of
``tables/data_issues.csv`` with a positive count (or, without that table, the
``data_issues.*`` numbers of ``results.json``); a model fallback is a
``results.json`` key ending in ``.fallback`` or ``.not_estimable`` whose value
is a non-empty string (what was used instead, or why) or ``true``. The
``data_issues.*`` counts are data issues, never fallbacks (a check named
``not_estimable`` is counted once, as a data issue).

A check whose name ends in ``_not_run`` (:data:`NOT_RUN_SUFFIX`) says that part
of the analysis did not run (e.g. ``embeddings_not_run``: ``sentiment_real``
without the ``embeddings`` extra runs 3 of 5 annotator families). Such checks
are listed first, never hidden behind "and N more", and their rule (what did
not run and how to run it) ends the line.
"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

FALLBACK_SUFFIXES = (".fallback", ".not_estimable")
#: a data issue saying that part of the analysis did not run: shown first, with its rule (module docstring)
NOT_RUN_SUFFIX = "_not_run"
_SHOWN = 3


def _results(folder: Path) -> dict[str, Any]:
    from studykit.runs.resultsfile import results_or_problem

    return results_or_problem(folder)[0] or {}


def data_issues(folder: Path) -> dict[str, float]:
    """Check -> count for every data issue with a positive count, in the order found."""
    table = folder / "tables" / "data_issues.csv"
    counts: dict[str, float] = {}
    if table.is_file():
        with open(table, newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                try:
                    n = float(row.get("count") or 0)
                except ValueError:
                    n = 0.0
                if n > 0:
                    counts[row.get("check") or "?"] = counts.get(row.get("check") or "?", 0.0) + n
        return counts
    for key, value in _results(folder).items():
        if key.startswith("data_issues.") and isinstance(value, (int, float)) and not isinstance(value, bool) \
                and value > 0:
            counts[key[len("data_issues."):]] = float(value)
    return counts


def fallbacks(folder: Path) -> dict[str, str]:
    """Results key -> what was used instead, for every model fallback recorded."""
    out = {}
    for key, value in sorted(_results(folder).items()):
        if key.endswith(FALLBACK_SUFFIXES) and not key.startswith("data_issues.") \
                and value not in (None, False, "", 0):
            out[key] = "yes" if value is True else str(value)
    return out


def _not_run_rules(folder: Path, checks: list[str]) -> list[str]:
    """The ``rule`` of each ``checks`` row of ``tables/data_issues.csv`` (the check name when it has none)."""
    rules = {}
    table = folder / "tables" / "data_issues.csv"
    if table.is_file():
        with open(table, newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                if row.get("check") in checks and row.get("rule"):
                    rules.setdefault(row["check"], row["rule"])
    return [f"{c}: {rules.get(c, 'part of the analysis did not run')}" for c in checks]


def _count(n: float) -> str:
    return f"{int(n):,}" if float(n).is_integer() else f"{n:g}"


def summary_line(folder: Path) -> str:
    """``3 data issues (see tables/data_issues.csv): a 12, b 3, c 1; 1 model fallback: pooled.fallback = two-stage``."""
    found = data_issues(folder)
    not_run = [k for k in found if k.endswith(NOT_RUN_SUFFIX)]
    issues = {k: found[k] for k in not_run} | {k: v for k, v in found.items() if k not in not_run}
    if issues:
        shown = ", ".join(f"{k} {_count(v)}" for k, v in list(issues.items())[:_SHOWN])
        more = f", and {len(issues) - _SHOWN} more" if len(issues) > _SHOWN else ""
        n = len(issues)
        text = f"{n} data issue{'s' if n != 1 else ''} (see tables/data_issues.csv): {shown}{more}"
    else:
        text = "no data issues"
    falls = fallbacks(folder)
    if falls:
        n = len(falls)
        text += f"; {n} model fallback{'s' if n != 1 else ''}: " + ", ".join(f"{k} = {v}" for k, v in falls.items())
    else:
        text += "; no model fallbacks"
    return "; ".join([text, *_not_run_rules(folder, not_run)])


__all__ = ["summary_line", "data_issues", "fallbacks", "FALLBACK_SUFFIXES", "NOT_RUN_SUFFIX"]
