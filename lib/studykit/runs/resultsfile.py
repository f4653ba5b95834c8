"""The one reader of a run's ``results.json``: the run summary, sweep tables, ``studykit check``, the report,
the scorecard and the docs-numbers tests all read it through here.

A results file is a JSON object mapping result keys (``pooled.slope``, ``data_issues.duplicates``) to scalars:
numbers, text, true/false or ``null`` (a value that is not defined; the result's ``note`` says why). It is
written only by :class:`studykit.contract.outputs.Outputs`, but a run folder is read as untrusted input (a report of
someone else's outputs, a sweep point a user edited), so every reading states what is wrong in one line:
missing, a symbolic link (never followed), not UTF-8, not JSON, not an object, or a value that is not a scalar.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from studykit.contract.errors import ParamError

__all__ = ["RESULTS_FILE", "json_or_problem", "read_results", "results_or_problem"]

RESULTS_FILE = "results.json"


def json_or_problem(folder: str | Path, name: str) -> tuple[Any, str | None]:
    """``(value, None)`` of the JSON file ``folder/name`` of a run, or ``(None, why)`` in one line: missing, a
    symbolic link (never followed), not UTF-8, not JSON. Also the report's reader of ``manifest.json``."""
    path = Path(folder) / name
    if path.is_symlink():
        return None, f"{name} is a symbolic link (not followed)"
    if not path.is_file():
        return None, f"{name} is missing"
    try:
        return json.loads(path.read_text(encoding="utf-8")), None
    except UnicodeDecodeError:
        return None, f"{name} is not UTF-8 text"
    except (OSError, ValueError) as exc:
        return None, f"{name} is not valid JSON ({str(exc).splitlines()[0][:80]})"


def results_or_problem(folder: str | Path) -> tuple[dict[str, Any] | None, str | None]:
    """``(results, None)``, or ``(None, why)`` when the folder's results file cannot be used (one line)."""
    data, problem = json_or_problem(folder, RESULTS_FILE)
    if problem is not None:
        return None, problem
    if not isinstance(data, dict):
        return None, f"{RESULTS_FILE} is not a JSON object of result keys (got {type(data).__name__})"
    bad = next((k for k, v in data.items() if not (v is None or isinstance(v, (bool, int, float, str)))), None)
    if bad is not None:
        return None, f"{RESULTS_FILE}: the value of '{bad[:80]}' is not a number, text, true/false or null"
    return data, None


def read_results(folder: str | Path) -> dict[str, Any]:
    """The results of the run in ``folder``; a one-line :class:`~studykit.contract.errors.ParamError` naming the folder
    when they cannot be read (see the module docstring)."""
    data, problem = results_or_problem(folder)
    if problem is not None:
        hint = " (run the study first: studykit run ...)" if problem.endswith("is missing") else ""
        raise ParamError(f"{folder}: {problem}{hint}")
    return data
