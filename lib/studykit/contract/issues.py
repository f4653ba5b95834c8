"""Data issues: a problem found in the raw data and the documented rule applied to it.

Every study reports data problems the same way: a load or analysis step returns
``(result, issues)`` where ``issues`` is a tuple of :class:`DataIssue`, and the
notebook writes them with :meth:`studykit.contract.outputs.Outputs.note_issues`, which adds
one row per issue to ``tables/data_issues.csv`` and records
``data_issues.<check>`` = count in ``results.json``. Nothing is dropped silently.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

__all__ = ["DataIssue", "Issues", "examples"]


@dataclass(frozen=True)
class DataIssue:
    """One data problem and the rule applied to it.

    Attributes
    ----------
    check : str
        Short snake_case name of the check, e.g. ``"duplicate_rows"``; becomes the
        key ``data_issues.<check>`` in ``results.json``.
    count : int
        How many rows (or units named in ``rule``) the problem concerns.
    rule : str
        What was done about it, in one sentence (e.g. "exact duplicates dropped").
    detail : str
        Examples or extra context (first few offending values), may be empty.
    """

    check: str
    count: int
    rule: str
    detail: str = ""

    def as_dict(self) -> dict:
        """``{"check", "count", "rule", "detail"}`` with plain values."""
        return {"check": self.check, "count": int(self.count), "rule": self.rule, "detail": self.detail}


Issues = tuple[DataIssue, ...]


def examples(values: Iterable, k: int = 5) -> str:
    """The first ``k`` distinct values as a short comma-separated string for ``DataIssue.detail``."""
    seen: list[str] = []
    for v in values:
        s = str(v)
        if len(s) > 60:
            s = s[:57] + "..."
        if s not in seen:
            seen.append(s)
        if len(seen) == k:
            break
    return ", ".join(seen)
