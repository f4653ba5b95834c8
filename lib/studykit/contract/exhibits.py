"""What an analysis step produces, declared by the step itself, so that a notebook saves it with one call.

A step's result (a frozen dataclass) has a method ``exhibits(name)`` returning, in the order they are written,

- :class:`Table` -- a DataFrame saved as ``tables/<name>.csv`` (and ``.tex``/``.html``), with its caption;
- :class:`Figure` -- a function drawing a matplotlib figure, saved as ``figures/<name>.png`` and ``.svg``;
- :class:`Record` -- numbers for ``results.json``: a :class:`studykit.stats.results.Result` under a prefix
  (``as_record(prefix)``), or a mapping of keys to values;
- :class:`studykit.contract.issues.DataIssue` -- a data problem and the rule applied (``tables/data_issues.csv``).

``name`` is :meth:`studykit.contract.outputs.Outputs.name`: a step that builds keys or file names from data (a model, a
language) passes them through it. :meth:`studykit.contract.outputs.Outputs.save` writes every exhibit and returns the
step, so a notebook cell reads ``fit = out.save(steps.fit(data, params))`` and then shows ``fit`` (its
``_repr_html_``). Captions come from the step's own parameters (a confidence level is never typed twice).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Union

from studykit.contract.issues import DataIssue

__all__ = ["Table", "Figure", "Record", "Exhibit", "ci_label"]


@dataclass(frozen=True)
class Table:
    """A table to save: ``save_table(frame, name, caption, formats=..., tex_columns=...)``."""

    name: str
    frame: Any
    caption: str = ""
    formats: tuple[str, ...] = ("csv", "tex", "html")
    tex_columns: Any = None


@dataclass(frozen=True)
class Figure:
    """A figure to save: ``draw()`` returns the matplotlib figure (called only when saving)."""

    name: str
    draw: Callable[[], Any]
    caption: str = ""


@dataclass(frozen=True)
class Record:
    """Numbers for ``results.json``: a Result recorded under ``prefix`` (``Outputs.record_result``), or a mapping
    recorded as it is, keys prefixed with ``prefix.`` when ``prefix`` is not empty (``Outputs.record_many``)."""

    prefix: str
    value: Any


Exhibit = Union[Table, Figure, Record, DataIssue]


def ci_label(confidence: float) -> str:
    """``"95% CI"`` for ``confidence`` 0.95 (captions built from the run's parameter)."""
    return f"{100 * confidence:g}% CI"


def html_view(lines: tuple[str, ...] | list[str] = (), frame: Any = None) -> str:
    """A step's ``_repr_html_``: a few lines of text (escaped) above a table (``DataFrame.to_html``)."""
    import html

    text = "".join(f"<p>{html.escape(line)}</p>" for line in lines)
    return text + ("" if frame is None else frame.to_html(index=False))
