"""A table as people read it: the HTML and LaTeX files of :meth:`studykit.contract.outputs.Outputs.save_table`.

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

Numbers are shown rounded by a rule per float column (the CSV keeps the 10 significant digits
of :mod:`studykit.files.floats`);
:func:`column_formatter` chooses it from the column's name and values:

- p-values (a name such as ``p``, ``q``, ``p_value``, ``gold_p_value``,
  ``p_adjusted``, ``p_holm``, ``spearman_p``): 3 significant digits, and
  scientific notation below 0.001 (``0.0123``, ``4.56e-05``);
- counts (every value a whole number, e.g. an ``n`` column that holds NaN):
  integers, in full (``12345``);
- any other float: 4 significant digits (``0.1235``, ``1.235e+06``).

Integer, text and boolean columns are shown as they are. The report's inline
view of a table applies the same rule to the CSV's first rows
(:func:`format_csv_rows`).
"""
from __future__ import annotations

import html
import math
import numbers
import re
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

if TYPE_CHECKING:  # pandas is imported by the functions that take a DataFrame (the report reads CSV text only)
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


#: column names of p-values (and q-values): shown with 3 significant digits, scientific below 0.001
P_VALUE_NAME = re.compile(
    r"(^|[_ .-])p[_ .-]?val(ue)?s?($|[_ .-])|^[pq]$|^q[_ .-]?val(ue)?s?$|[_ .-]p$"
    r"|(^|[_ .-])p[_ .-](adj|adjusted|holm|bonferroni|hochberg|bh|by|fdr|perm|permutation|raw|corrected|exact|doc|docs"
    r"|one[_ .-]sided|two[_ .-]sided)($|[_ .-])",
    re.I,
)


def format_p_value(v: float) -> str:
    """3 significant digits; scientific notation below 0.001 (``4.56e-05``)."""
    if not math.isfinite(v):
        return _NONFINITE[str(v)]
    if v != 0 and abs(v) < 1e-3:
        return f"{v:.2e}"
    return f"{v:.3g}"


def format_count(v: float) -> str:
    """A whole number in full (``12345``)."""
    return f"{v:.0f}" if math.isfinite(v) else _NONFINITE[str(v)]


def format_float(v: float) -> str:
    """4 significant digits (``0.1235``, ``1.235e+06``)."""
    return f"{v:.4g}" if math.isfinite(v) else _NONFINITE[str(v)]


_NONFINITE = {"nan": "NaN", "inf": "inf", "-inf": "-inf"}


def _column_name(label: Any) -> str:
    """The name a rule looks at: the label, or the last level of a MultiIndex column."""
    return str(label[-1] if isinstance(label, tuple) and label else label)


def column_formatter(name: Any, values: Any) -> Callable[[float], str]:
    """How the float column ``name`` with ``values`` is shown (the rule in the module docstring)."""
    if P_VALUE_NAME.search(_column_name(name)):
        return format_p_value
    arr = np.asarray(values, dtype=float)
    finite = arr[np.isfinite(arr)]
    if finite.size and np.all(finite == np.round(finite)) and np.all(np.abs(finite) < 2**53):
        return format_count
    return format_float


def _float_columns(df: pd.DataFrame) -> list[int]:
    import pandas as pd

    return [i for i in range(df.shape[1]) if pd.api.types.is_float_dtype(df.dtypes.iloc[i])]


def format_csv_rows(header: list[str], rows: list[list[str]]) -> list[list[str]]:
    """The rows of a CSV (as text) with every float column shown by its rule; other cells unchanged.

    A column is a float column when every non-empty cell is a number and one is not a whole number
    written as such (the CSV writes ``3.0`` as ``3``, so whole-number columns are left as they are).
    """
    out = [list(r) for r in rows]
    for j, name in enumerate(header):
        cells = [r[j] for r in rows if j < len(r) and r[j] != ""]
        if not cells or not all(_NUMBER.match(c) for c in cells) or all(_INTEGER.match(c) for c in cells):
            continue
        fmt = column_formatter(name, [float(c) for c in cells])
        for r in out:
            if j < len(r) and r[j] != "":
                r[j] = fmt(float(r[j]))
    return out


_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^[+-]?inf$|^nan$", re.I)
_INTEGER = re.compile(r"^[+-]?\d+$")


def _is_text(value: Any) -> bool:
    """True for a cell that is shown as a string (not a number, bool or missing value)."""
    if value is None or isinstance(value, (numbers.Number, bool)):
        return False
    import pandas as pd

    try:
        return not bool(pd.isna(value))
    except (TypeError, ValueError):  # lists and other containers
        return True


def _map_labels(index: pd.Index, fn: Callable[[Any], Any]) -> pd.Index:
    """``index`` with ``fn`` applied to every string label and level name."""
    import pandas as pd

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
    import pandas as pd

    out = df.copy()
    out.columns = _map_labels(df.columns, latex_escape)
    out.index = _map_labels(df.index, latex_escape)
    for i in range(out.shape[1]):
        col = out.iloc[:, i]
        if col.dtype == object or isinstance(col.dtype, (pd.CategoricalDtype, pd.StringDtype)):
            out.isetitem(i, col.astype(object).map(lambda v: latex_escape(v) if _is_text(v) else v))
    return out


def to_html_fragment(df: pd.DataFrame, caption: str = "", *, index: bool = False) -> str:
    """``<figure class='table'>`` with the escaped caption and the table (its first rows when long);
    floats rounded by their column's rule."""
    show = df if len(df) <= HTML_MAX_ROWS else df.head(HTML_MAX_ROWS)
    note = "" if show is df else f"<p>First {HTML_MAX_ROWS:,} of {len(df):,} rows; the CSV has all.</p>"
    formatters: list[Callable[[float], str] | None] = [None] * df.shape[1]
    for i in _float_columns(df):
        formatters[i] = column_formatter(df.columns[i], df.iloc[:, i])
    return (f"<figure class='table'><figcaption>{html.escape(caption, quote=False)}</figcaption>"
            + show.to_html(index=index, formatters=formatters, float_format=format_float, border=0,
                           classes="dataframe", escape=True)
            + note + "</figure>\n")


#: how a LaTeX table shows a missing number (NaN or None) in a paper view: an en dash
MISSING = "--"

_SHOWN_NUMBER = re.compile(r"^[+-]?(\d[\d,]*\.?\d*|\.\d+)([eE][+-]?\d+)?( \[.*, .*\])?$")


def _numeric_column(col: pd.Series) -> bool:
    """Right-align a column of numbers: a numeric dtype, or text that shows rounded numbers (as a
    ``tex_columns`` view writes them, ``0.12 [0.05, 0.2]`` included), blanks and NaN allowed."""
    import pandas as pd

    if pd.api.types.is_bool_dtype(col):
        return False
    if pd.api.types.is_numeric_dtype(col):
        return True
    shown = [str(v) for v in col if not (isinstance(v, float) and math.isnan(v)) and str(v) not in ("", "NaN", "nan", MISSING)]
    return bool(shown) and all(_SHOWN_NUMBER.match(v) or _NUMBER.match(v) for v in shown)


def to_latex_table(df: pd.DataFrame, caption: str = "", label: str = "", *, index: bool = False) -> str:
    """A ``table`` environment with ``booktabs`` rules; caption, header, index and cells escaped,
    floats rounded by their column's rule."""
    safe = _latex_safe_frame(df)
    floats = set(_float_columns(df))

    def other(v: Any) -> Any:  # a float inside a text column: 4 significant digits
        return format_float(v) if isinstance(v, float) else v

    formatters = {safe.columns[i]: column_formatter(df.columns[i], df.iloc[:, i]) if i in floats else other
                  for i in range(df.shape[1])}
    align = "".join("r" if _numeric_column(df.iloc[:, i]) else "l" for i in range(df.shape[1]))
    return safe.to_latex(
        index=index, formatters=formatters, float_format=format_float,
        column_format=("l" * df.index.nlevels if index else "") + align,
        caption=latex_escape(caption) if caption else None, label=label or None, escape=False,
    )


def mask_word(word: str) -> str:
    """``word`` as shown by :func:`mask_words`: its first letter, then one ``*`` per further character."""
    return word[:1] + "*" * (len(word) - 1)


def mask_words(df: pd.DataFrame, words: Any) -> pd.DataFrame:
    """A copy of ``df`` for *display* with every listed word masked (``"f***"``); the saved table is untouched.

    For teaching: a top-words list drawn from real text can hold words a room should not see on the projector.
    A text cell equal to a listed word (case-insensitive, surrounding spaces ignored) is masked, and so is
    each item of a comma-separated list cell (``"emphasize,enhance,..."``, like ``results.json``'s
    ``top.<lang>``). Index labels are masked the same way. Numbers, other text and ``df`` itself are
    unchanged; an empty ``words`` returns an unchanged copy. Never pass the masked copy to
    :meth:`studykit.contract.outputs.Outputs.save_table`: saved results always keep the data's words.
    """
    if isinstance(words, str):
        words = [words]
    listed = {str(w).strip().casefold() for w in (words or ()) if str(w).strip()}

    def one(value: Any) -> Any:
        if not listed or not isinstance(value, str):
            return value
        parts = value.split(",")
        if not any(part.strip().casefold() in listed for part in parts):
            return value
        return ",".join(part.replace(part.strip(), mask_word(part.strip()), 1) if part.strip().casefold() in listed
                        else part for part in parts)

    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or str(out[col].dtype) in ("string", "category"):
            out[col] = out[col].map(one)
    out.index = _map_labels(out.index, one)
    return out


__all__ = ["MISSING", "latex_escape", "to_html_fragment", "to_latex_table", "column_formatter", "format_csv_rows",
           "mask_words", "mask_word",
           "format_p_value", "format_count", "format_float", "P_VALUE_NAME", "HTML_MAX_ROWS"]
