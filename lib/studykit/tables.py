"""Reading raw data tables with schema checks that name the column and the file."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Sequence

from studykit.errors import InputError
from studykit.paths import resolve

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


def read_table(path: str | Path, *, columns: Sequence[str] | None = None, what: str = "input") -> pd.DataFrame:
    """Read CSV / TSV / Parquet / JSONL by extension; one-line errors for missing or unreadable files.

    ``columns`` restricts the read (Parquet reads only those columns).
    Raw files are only ever read.
    """
    import pandas as pd

    p = resolve(path)
    if not p.is_file():
        raise InputError(f"{what} file not found: {p}")
    kind = _kind(p)
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
