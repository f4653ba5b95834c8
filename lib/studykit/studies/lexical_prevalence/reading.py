"""Reading a corpus file in chunks of rows (CSV, TSV, Parquet, JSONL), never as one DataFrame of strings."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Iterator

import pandas as pd
import pyarrow as pa

from studykit.contract.errors import InputError
from studykit.files.tables import _kind, check_unique_columns, header_columns, json_loads_unique


def peek_columns(path: Path) -> list[str]:
    """Column names of a CSV / TSV / Parquet / JSONL file without reading it.

    A duplicated column name in a CSV/TSV header or Parquet schema is refused (one line naming it); in JSONL
    a key repeated within one object is refused while reading (:func:`iter_batches`).
    """
    kind = _kind(path)
    if kind != "jsonl":
        check_unique_columns(path, "corpus")
    try:
        if kind in ("parquet", "csv", "tsv"):
            return header_columns(path, "corpus")
        cols: dict[str, None] = {}
        with open(path, "rb") as fh:
            for i, line in enumerate(fh):
                if i >= 200:
                    break
                line = line.strip()
                if line:
                    try:
                        rec = json.loads(line.decode("utf-8", errors="replace"))
                    except json.JSONDecodeError:
                        continue
                    if isinstance(rec, dict):
                        cols.update(dict.fromkeys(rec))
        return list(cols)
    except InputError:
        raise
    except Exception as exc:
        last = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{path}: cannot be read as {kind}: {last}") from None


def count_rows(path: Path) -> int | None:
    """Number of rows when cheap to know (Parquet metadata); else None."""
    if _kind(path) == "parquet":
        import pyarrow.parquet as pq

        return pq.ParquetFile(path).metadata.num_rows
    return None


def iter_batches(path: Path, columns: list[str], chunk_rows: int,
                 reader_issues: Counter | None = None) -> Iterator[pa.RecordBatch | dict[str, list]]:
    """Yield chunks of ``chunk_rows`` rows: Arrow record batches (Parquet) or dicts of column lists.

    Text is decoded as UTF-8 with undecodable bytes replaced by U+FFFD (the
    counting kernel reports such texts); JSONL lines that are not JSON
    objects are skipped and counted in ``reader_issues['bad_json_line']``.
    """
    kind = _kind(path)
    if kind == "parquet":
        import pyarrow.parquet as pq

        pf = pq.ParquetFile(path)
        yield from pf.iter_batches(batch_size=chunk_rows, columns=columns)
        return
    if kind in ("csv", "tsv"):
        reader = pd.read_csv(path, sep="\t" if kind == "tsv" else ",", usecols=columns, dtype=str,
                             keep_default_na=False, chunksize=chunk_rows, encoding="utf-8",
                             encoding_errors="replace")
        try:
            for chunk in reader:
                yield {c: chunk[c].tolist() for c in columns}
        except Exception as exc:
            last = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
            raise InputError(f"{path}: cannot be read as {kind}: {last}") from None
        return
    buf: dict[str, list] = {c: [] for c in columns}
    n = 0
    with open(path, "rb") as fh:
        for i, line in enumerate(fh, 1):
            line = line.strip()
            if not line:
                continue
            try:
                rec = json_loads_unique(line.decode("utf-8", errors="replace"))
            except json.JSONDecodeError:
                rec = None
            except ValueError as exc:  # a key given twice in one object
                raise InputError(f"corpus file {path}: column '{getattr(exc, 'key', exc)}' appears "
                                 f"{getattr(exc, 'n', 2)} times in the object on line {i:,} (each column name "
                                 "once: rename or drop the copy)") from None
            if not isinstance(rec, dict):
                if reader_issues is not None:
                    reader_issues[("bad_json_line", "")] += 1
                continue
            for c in columns:
                buf[c].append(rec.get(c))
            n += 1
            if n >= chunk_rows:
                yield buf
                buf = {c: [] for c in columns}
                n = 0
    if n:
        yield buf
