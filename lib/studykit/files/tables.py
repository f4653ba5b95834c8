"""Reading raw data tables with schema checks that name the column and the file.

Duplicated column names are refused in every format (one line naming the column and the file): pandas
would silently rename the second CSV/TSV column ``x`` to ``x.1`` (and read the first), DuckDB to ``x_1``,
a JSON object keeps the last of two equal keys, and Parquet files may hold two fields of one name; in each
case one of the two columns would be ignored without a word. :func:`check_unique_columns` is the check,
:func:`header_columns` the raw names (readers that do not use :func:`read_table` call them too).
"""
from __future__ import annotations

import csv
import gzip
import io
import json
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

from studykit.contract.errors import InputError
from studykit.contract.names import cut
from studykit.files.paths import resolve

if TYPE_CHECKING:  # pandas is imported when a table is read, not by the parameter checks that import READERS
    import pandas as pd

READERS = {".csv": "csv", ".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl",
           ".json": "jsonl", ".csv.gz": "csv", ".jsonl.gz": "jsonl"}


def _kind(path: Path) -> str:
    name = path.name.lower()
    for suffix, kind in sorted(READERS.items(), key=lambda kv: -len(kv[0])):
        if name.endswith(suffix):
            return kind
    raise InputError(f"{path}: unsupported file type (use CSV, TSV, Parquet or JSONL)")


def _duplicate_error(p: Path, what: str, name: str, n: int, where: str) -> InputError:
    return InputError(f"{what} file {p}: column '{name}' appears {n} times in the {where} (each column name "
                      "once: rename or drop the copy)")


def declared_columns(declared: Any, params: Any) -> tuple[list[str], str]:
    """The columns an input declares (``InputPath(columns=...)``) under ``params``, and the reason when they
    depend on another parameter (``{"data_format": {"bbq": [...]}}`` -> ``" (data_format: bbq)"``)."""
    if not isinstance(declared, Mapping):
        return list(declared or []), ""
    for other, by_value in declared.items():
        value = str(getattr(params, other))
        if value in by_value:
            return list(by_value[value]), f" ({other}: {value})"
    return [], ""


def missing_columns_message(path: str | Path, have: list[str], required: list[str], why: str = "") -> str:
    """``"<path> has no column 'x' (and 2 more: ...); its columns: ..."`` for the ``required`` columns (an entry
    ``"a|b"`` asks for one of the two) that ``have`` lacks; empty when none is missing (or ``have`` is empty:
    JSONL has no header)."""
    missing = [c for c in required if not set(c.split("|")) & set(have)] if have else []
    if not missing:
        return ""
    names = [" or ".join(f"'{a}'" for a in c.split("|")) for c in missing]
    more = f" (and {len(missing) - 1} more: {', '.join(names[1:])})" if len(missing) > 1 else ""
    return (f"{path} has no column {names[0]}{more}{why}; its columns: "
            f"{', '.join(cut(str(h)) for h in have[:12])}{', ...' if len(have) > 12 else ''}")


def header_columns(path: str | Path, what: str = "input") -> list[str]:
    """The column names of a CSV / TSV (first row, as written) or Parquet file (schema), duplicates kept.

    JSONL has no header: :func:`check_unique_columns` checks every object instead.
    """
    p = resolve(path)
    kind = _kind(p)
    try:
        if kind == "parquet":
            import pyarrow.parquet as pq

            return list(pq.read_schema(p).names)
        if kind in ("csv", "tsv"):
            raw = gzip.open(p, "rb") if p.name.lower().endswith(".gz") else open(p, "rb")
            with raw, io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace", newline="") as fh:
                row = next(csv.reader(fh, delimiter="\t" if kind == "tsv" else ","), [])
            return list(row)
    except (OSError, EOFError, csv.Error, ValueError) as exc:
        last = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{what} file {p}: cannot be read as {kind}: {last}") from None
    except Exception as exc:  # pyarrow errors
        last = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{what} file {p}: cannot be read as {kind}: {last}") from None
    return []


class _DuplicateKey(ValueError):
    def __init__(self, key: str, n: int):
        super().__init__(key)
        self.key, self.n = key, n


def _pairs_unique(pairs: list[tuple[str, object]]) -> dict:
    if len(pairs) > 1:
        counts = Counter(k for k, _ in pairs)
        if len(counts) < len(pairs):
            key, n = next((k, c) for k, c in counts.items() if c > 1)
            raise _DuplicateKey(key, n)
    return dict(pairs)


def json_loads_unique(text: str | bytes):
    """``json.loads`` that raises ``ValueError`` (with ``.key``) when an object repeats a key."""
    return json.loads(text, object_pairs_hook=_pairs_unique)


def check_unique_columns(path: str | Path, what: str = "input") -> None:
    """Refuse (one-line InputError naming the column and the file) a duplicated column name.

    CSV/TSV: the header row; Parquet: the schema; JSONL: every object (a key given twice in one record).
    """
    p = resolve(path)
    kind = _kind(p)
    if kind == "jsonl":
        opener = gzip.open if p.name.lower().endswith(".gz") else open
        try:
            with opener(p, "rb") as fh:
                for i, line in enumerate(fh, 1):
                    if b'"' not in line:
                        continue
                    try:
                        json_loads_unique(line)
                    except _DuplicateKey as dup:
                        raise _duplicate_error(p, what, dup.key, dup.n, f"object on line {i:,}") from None
                    except ValueError:  # not JSON: the reader reports it
                        continue
        except OSError as exc:
            raise InputError(f"{what} file {p}: cannot be read as jsonl: {exc}") from None
        return
    names = header_columns(p, what)
    counts = Counter(names)
    dup = next((c for c in names if counts[c] > 1), None)
    if dup is not None:
        raise _duplicate_error(p, what, dup, counts[dup], "schema" if kind == "parquet" else "header")


def read_table(path: str | Path, *, columns: Sequence[str] | None = None, what: str = "input") -> pd.DataFrame:
    """Read CSV / TSV / Parquet / JSONL by extension; one-line errors for missing or unreadable files.

    ``columns`` restricts the read (Parquet reads only those columns).
    Raw files are only ever read. A duplicated column name is refused
    (:func:`check_unique_columns`).
    """
    import pandas as pd

    p = resolve(path)
    if not p.is_file():
        raise InputError(f"{what} file not found: {p}")
    kind = _kind(p)
    check_unique_columns(p, what)
    try:
        if kind == "csv":
            df = pd.read_csv(p, usecols=lambda c: columns is None or c in columns, low_memory=False)
        elif kind == "tsv":
            df = pd.read_csv(p, sep="\t", usecols=lambda c: columns is None or c in columns, low_memory=False)
        elif kind == "parquet":
            import pyarrow.parquet as pq

            have = pq.read_schema(p).names
            df = pd.read_parquet(p, columns=[c for c in columns if c in have] if columns else None)
        else:
            df = pd.read_json(p, lines=True)
            if columns is not None:
                df = df[[c for c in df.columns if c in columns]]
    except InputError:
        raise
    except Exception as exc:  # parser errors from pandas / pyarrow
        last = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{what} file {p}: cannot be read as {kind}: {last}") from None
    return df


def require_columns(df: pd.DataFrame, required: Iterable[str], what: str = "input") -> None:
    """Raise InputError naming the first required column that ``df`` lacks."""
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise InputError(f"{what}: missing column '{missing[0]}'" + (
            f" (and {len(missing) - 1} more: {', '.join(missing[1:])})" if len(missing) > 1 else ""))


def numeric_column(df: pd.DataFrame, column: str, what: str = "input") -> pd.Series:
    """Column ``column`` of ``df`` as floats; InputError naming it when a value is not a number or is infinite.

    Missing values stay NaN (the caller's rule decides about them); a text that is not a number, or +-inf, is
    refused in one line with the count and the first bad value (cut to 40 characters).
    """
    import numpy as np
    import pandas as pd

    v = pd.to_numeric(df[column], errors="coerce")
    bad = v.isna() & df[column].notna()
    if bad.any():
        raise InputError(f"{what}: column '{column}' has {int(bad.sum())} non-numeric values "
                         f"(e.g. {str(df[column][bad].iloc[0])[:40]!r})")
    if np.isinf(v).any():
        raise InputError(f"{what}: column '{column}' has {int(np.isinf(v).sum())} infinite values")
    return v.astype(float)
