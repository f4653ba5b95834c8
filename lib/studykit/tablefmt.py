"""A table as people read it: the HTML and LaTeX files of :meth:`studykit.outputs.Outputs.save_table`.

Every string of a table -- caption, column and index names, index labels and
cells -- may come from data or parameters (a model, a hypothesis id, a file
name), so every one is escaped in both formats:

- HTML: ``&``, ``<`` and ``>`` become entities (the caption here; pandas'
  ``to_html(escape=True)`` does the header and cells), so ``<script>`` is
  shown as text, never run.
- LaTeX: the ten special characters ``\\ { } $ & # % _ ~ ^`` become their
  escaped forms (:func:`latex_escape`, the same output as pandas'
  ``escape=True``) in the caption, header, index and cells, and line breaks
  become spaces, so ``\\input{/etc/passwd}`` is printed, never executed.
"""
from __future__ import annotations

import html
import numbers
import re
from typing import Any, Callable

import pandas as pd

#: rows written to a table's HTML file (the CSV has all)
HTML_MAX_ROWS = 2000

_LATEX_SPECIAL = re.compile(r"([\\~^])( ?)|([&%$#_{}])|(\r\n|[\r\n])")
_LATEX_WORDS = {"\\": "\\textbackslash ", "~": "\\textasciitilde ", "^": "\\textasciicircum "}


def latex_escape(text: Any) -> str:
    """``text`` as LaTeX that prints it literally.

    ``\\``, ``~`` and ``^`` become ``\\textbackslash``, ``\\textasciitilde`` and
    ``\\textasciicircum`` (followed by ``\\space`` where a space follows, which
    these commands would swallow); ``& % $ # _ { }`` get a backslash; line
    breaks become spaces (a blank line inside a caption or cell is an error).

    Examples
    --------
    >>> latex_escape("\\\\input{/etc/passwd}")
    '\\\\textbackslash input\\\\{/etc/passwd\\\\}'
    """
    def sub(m: re.Match) -> str:
        if m.group(1):
            return _LATEX_WORDS[m.group(1)] + ("\\space " if m.group(2) else "")
        if m.group(3):
            return "\\" + m.group(3)
        return " "

    return _LATEX_SPECIAL.sub(sub, str(text))


def _is_text(value: Any) -> bool:
    """True for a cell that is shown as a string (not a number, bool or missing value)."""
    if value is None or isinstance(value, (numbers.Number, bool)):
        return False
    try:
        return not bool(pd.isna(value))
    except (TypeError, ValueError):  # lists and other containers
        return True


def _map_labels(index: pd.Index, fn: Callable[[Any], Any]) -> pd.Index:
    """``index`` with ``fn`` applied to every string label and level name."""
    def one(v: Any) -> Any:
        return fn(v) if isinstance(v, str) else v

    names = [one(n) for n in index.names]
    if isinstance(index, pd.MultiIndex):
        return pd.MultiIndex.from_tuples([tuple(one(v) for v in t) for t in index], names=names)
    if index.dtype == object or isinstance(index.dtype, (pd.CategoricalDtype, pd.StringDtype)):
        return pd.Index([one(v) for v in index], name=names[0], dtype=object)
    return index.rename(names[0])


def _latex_safe_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose column names, index and text cells are LaTeX-escaped."""
    out = df.copy()
    out.columns = _map_labels(df.columns, latex_escape)
    out.index = _map_labels(df.index, latex_escape)
    for i in range(out.shape[1]):
        col = out.iloc[:, i]
        if col.dtype == object or isinstance(col.dtype, (pd.CategoricalDtype, pd.StringDtype)):
            out.isetitem(i, col.astype(object).map(lambda v: latex_escape(v) if _is_text(v) else v))
    return out


def to_html_fragment(df: pd.DataFrame, caption: str = "", *, index: bool = False,
                     float_format: Callable[[float], str] | None = None) -> str:
    """``<figure class='table'>`` with the escaped caption and the table (its first rows when long)."""
    show = df if len(df) <= HTML_MAX_ROWS else df.head(HTML_MAX_ROWS)
    note = "" if show is df else f"<p>First {HTML_MAX_ROWS:,} of {len(df):,} rows; the CSV has all.</p>"
    return (f"<figure class='table'><figcaption>{html.escape(caption, quote=False)}</figcaption>"
            + show.to_html(index=index, float_format=float_format, border=0, classes="dataframe", escape=True)
            + note + "</figure>\n")


def to_latex_table(df: pd.DataFrame, caption: str = "", label: str = "", *, index: bool = False,
                   float_format: Callable[[float], str] | None = None) -> str:
    """A ``table`` environment with ``booktabs`` rules; caption, header, index and cells escaped."""
    return _latex_safe_frame(df).to_latex(
        index=index, float_format=float_format, caption=latex_escape(caption) if caption else None,
        label=label or None, escape=False,
    )


__all__ = ["latex_escape", "to_html_fragment", "to_latex_table", "HTML_MAX_ROWS"]
